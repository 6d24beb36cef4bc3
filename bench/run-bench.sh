#!/bin/bash
# run-bench.sh: the driver of `make bench` and `make bench-quick`.
#
# Runs every benchmark program ($BUILD/bench/bench-* built from
# bench/bench-*.c, in section order) and then bench/casbin/run.sh when it
# exists, each under a time limit, collects the table rows and TARGET lines
# they print on stdout (bench/README.md, "Output"), and writes
# bench/results.md (build/bench/results.md for a quick or partial run): the
# machine, one table, the targets, and a summary.
# Prints the same, ending with "bench: N targets passed, M failed".  Exits 1
# when a target failed or a program failed.
#
# Environment: BUILD (build directory, default build), BENCH_QUICK=1 (the
# reduced run), BENCH_TIMEOUT (seconds per program), BENCH_BUILT=1 (the
# Makefile already built everything), BENCH_ONLY="latency changes" (run
# only these programs; the results file then says so).
set -u

src=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in
/*) build=$BUILD ;;
*) build=$src/$BUILD ;;
esac
if [ -n "${BENCH_QUICK:-}" ] && [ "${BENCH_QUICK}" != 0 ]; then
        mode=quick
        export BENCH_QUICK=1
        limit=${BENCH_TIMEOUT:-120}
else
        mode=full
        unset BENCH_QUICK
        limit=${BENCH_TIMEOUT:-900}
fi
export CALLROLE_BUILD=$build CALLROLE_SOURCE=$src

# Section order first, then any other program.
programs=()
for p in latency throughput pam scale changes; do
        [ -f "$src/bench/bench-$p.c" ] && programs+=("bench-$p")
done
for f in "$src"/bench/bench-*.c; do
        p=$(basename "$f" .c)
        [ "$p" = bench-util ] && continue
        case " ${programs[*]} " in *" $p "*) continue ;; esac
        programs+=("$p")
done
if [ -n "${BENCH_ONLY:-}" ]; then
        only=()
        for p in "${programs[@]}"; do
                case " $BENCH_ONLY " in *" ${p#bench-} "* | *" $p "*) only+=("$p") ;; esac
        done
        programs=("${only[@]}")
fi

if [ -z "${BENCH_BUILT:-}" ]; then
        bins=()
        for p in "${programs[@]}"; do bins+=("$BUILD/bench/$p"); done
        make -C "$src" --no-print-directory BUILD="$BUILD" all "${bins[@]}" >/dev/null || {
                echo "bench: build failed" >&2
                exit 1
        }
fi

out=$build/bench
mkdir -p "$out"
failed_programs=()
current=
trap '[ -n "$current" ] && kill -TERM "$current" 2>/dev/null; wait; echo "bench: interrupted" >&2; exit 130' INT TERM

# run NAME COMMAND...: stdout to $out/NAME.out, stderr to $out/NAME.log.
run() {
        local name=$1 start end rc
        shift
        printf 'bench: %s (%s)... ' "$name" "$mode" >&2
        start=$(date +%s.%N)
        timeout --kill-after=10 "$limit" "$@" >"$out/$name.out" 2>"$out/$name.log" &
        current=$!
        wait "$current"
        rc=$?
        current=
        end=$(date +%s.%N)
        if [ "$rc" -eq 0 ]; then
                awk -v a="$start" -v b="$end" 'BEGIN { printf "done in %.1f s\n", b - a }' >&2
        else
                if [ "$rc" -eq 124 ]; then
                        printf 'FAILED: no result within %s s\n' "$limit" >&2
                else
                        printf 'FAILED (exit status %s)\n' "$rc" >&2
                fi
                tail -n 20 "$out/$name.log" | sed 's/^/    /' >&2
                failed_programs+=("$name")
        fi
}

for p in "${programs[@]}"; do
        run "$p" "$build/bench/$p"
done
outputs=()
for p in "${programs[@]}"; do outputs+=("$out/$p.out"); done
if [ -f "$src/bench/casbin/run.sh" ] && [ -z "${BENCH_ONLY:-}" ]; then
        run casbin bash "$src/bench/casbin/run.sh"
        outputs+=("$out/casbin.out")
fi

# ---- results.md ------------------------------------------------------------
commit=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)
branch=$(git -C "$src" rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
if ! git -C "$src" diff --quiet HEAD -- . ':!bench/results.md' 2>/dev/null; then
        commit="$commit (with uncommitted changes)"
fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
load=$(cut -d' ' -f1-3 /proc/loadavg)
rows=$(cat "${outputs[@]}" 2>/dev/null | grep '^| ' | sort -s -t'|' -k2,2n)
targets=$(cat "${outputs[@]}" 2>/dev/null | grep '^TARGET ')
passed=$(printf '%s\n' "$targets" | grep -c '^TARGET PASS')
failed=$(printf '%s\n' "$targets" | grep -c '^TARGET FAIL')
summary="bench: $passed targets passed, $failed failed"
if [ ${#failed_programs[@]} -gt 0 ]; then
        summary="$summary; ${#failed_programs[@]} program(s) failed: ${failed_programs[*]}"
fi

# Only a whole full run is the record kept in the tree; a quick or partial
# run must not overwrite it.
results=$src/bench/results.md
if [ "$mode" = quick ] || [ -n "${BENCH_ONLY:-}" ]; then
        results=$out/results.md
fi
{
        echo "# callrole benchmark results"
        echo
        echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
        echo "- commit: $commit on $branch"
        echo "- machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $(uname -sr), $mem memory; load average at the end $load"
        echo "- mode: $mode$([ "$mode" = quick ] && echo " (BENCH_QUICK=1: smaller sizes, shorter windows)")"
        [ -n "${BENCH_ONLY:-}" ] && echo "- only: $BENCH_ONLY"
        echo
        echo "Ratios are judged, absolute times are not: every baseline was measured in the same run."
        echo
        echo "| section | figure | measured | baseline | ratio | target |"
        echo "|---|---|---|---|---|---|"
        [ -n "$rows" ] && printf '%s\n' "$rows"
        echo
        echo "## Targets"
        echo
        [ -n "$targets" ] && printf '%s\n' "$targets" | sed 's/^/- /'
        for p in "${failed_programs[@]}"; do
                echo "- PROGRAM FAILED $p (its log: $out/$p.log)"
        done
        echo
        echo "$summary"
} >"$results"

echo >&2
cat "$results"
[ "$failed" -eq 0 ] && [ ${#failed_programs[@]} -eq 0 ]
