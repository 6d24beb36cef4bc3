#!/bin/sh
# Section 7 of the callrole benchmarks (optional): the same role checks with
# node-casbin, the best-known general-purpose peer.  Installs the pinned
# casbin from the npm registry into bench/casbin/node_modules (ignored by git)
# and runs bench.js, which prints the section's table rows on stdout.
#
# Optional means it never fails the suite: without node or npm, or when the
# registry does not answer, it prints one row saying why and exits 0.  An
# install that already matches the lock file is reused without asking the
# registry, so a machine that installed it once can run it offline.
# BENCH_QUICK=1 runs 1k users only (a few seconds).

here=$(cd "$(dirname "$0")" && pwd)

skip() {
        printf '| 7 casbin | node-casbin comparison | not run: %s | — | — | optional |\n' "$1"
        exit 0
}

command -v node >/dev/null 2>&1 || skip "node is not installed"
command -v npm >/dev/null 2>&1 || skip "npm is not installed"

wanted=$(node -e 'console.log(require(process.argv[1]).dependencies.casbin)' "$here/package.json" 2>/dev/null)
have=$(node -e 'console.log(require(process.argv[1]).version)' "$here/node_modules/casbin/package.json" 2>/dev/null)

if [ -z "$wanted" ] || [ "$have" != "$wanted" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
        echo "casbin: installing casbin $wanted into $here/node_modules" >&2
        timeout 10 npm view --fetch-retries=0 casbin version >/dev/null 2>&1 ||
                skip "the npm registry did not answer (npm view casbin, 10 s limit)"
        if [ -f "$here/package-lock.json" ]; then
                (cd "$here" && timeout 300 npm ci --no-audit --no-fund) >&2 ||
                        skip "npm ci failed"
        else
                (cd "$here" && timeout 300 npm install --no-audit --no-fund) >&2 ||
                        skip "npm install failed"
        fi
fi

node "$here/bench.js" || {
        rc=$?
        printf '| 7 casbin | node-casbin comparison | bench.js stopped (exit %s), see stderr | — | — | optional |\n' "$rc"
}
exit 0
