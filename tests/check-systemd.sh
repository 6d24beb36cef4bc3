#!/bin/bash
# check-systemd.sh: callrole under a real systemd, as a user would meet it
# ('make check-systemd'; BUILD names the build folder, default "build").
#
# Boots systemd 252 as PID 1 in a systemd-nspawn container of a minimal
# Debian 12 (debootstrap; the root file system is cached as a tarball under
# $CALLROLE_TEST_CACHE, default /var/cache/callrole-test, so only the first
# run waits for the mirror), installs callrole into it with
# 'make install PREFIX=/usr', and then, inside the container:
#   systemctl enable --now callrole.socket; the first callrolectl starts the
#   service; systemctl status shows its STATUS= line; data survives
#   'systemctl reload' and 'restart'; the service runs as user callrole with
#   no capabilities in its sandbox; decisions reach the journal with
#   CALLROLE_* fields; and with pam_callrole.so in common-account, 'su -
#   agent' works while 'su - noaccess' is refused naming the role.
# How booting a container works on these machines: ../shared/notes/real-systemd.md.
#
# Prints "ok"/"FAIL" per check and ends with
#     check-systemd: N passed, N failed
# It skips (exit 0, "SKIP: reason") only where it cannot run: not root, no
# systemd-nspawn/debootstrap, no Debian mirror.  With CALLROLE_REQUIRE_ALL=1
# (CI) a skip is a failure instead: same message, exit 1, so a CI job cannot
# pass without having run anything.  Set CALLROLE_KEEP_CONTAINER=1 to keep
# the container's root file system for inspection.
set -u -o pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
CACHE=${CALLROLE_TEST_CACHE:-/var/cache/callrole-test}
SUITE=bookworm
# The container needs systemd and the runtime libraries of callroled,
# callrolectl and the PAM module; procps provides the kill of ExecReload=.
INCLUDE=systemd,systemd-sysv,dbus,libpam-modules,libpam-systemd,libnss-systemd,libsqlite3-0,libsystemd0,libjson-c5,procps
OUT=$BUILD/check-systemd
STAGE_BUILD=$BUILD/nspawn          # compiled with PREFIX=/usr, for the container
NAME=callrole-test-$$
passed=0
failed=0
ROOT=""
NSPAWN=""
LEADER=""
CGROUPS=""

say() { printf '%s\n' "$*"; }
skip() {
        if [ "${CALLROLE_REQUIRE_ALL:-}" = 1 ]; then
                say "FAIL: cannot run, and CALLROLE_REQUIRE_ALL=1 forbids skipping: $*"
                say "check-systemd: 0 passed, 1 failed (could not run)"
                exit 1
        fi
        say "SKIP: $*"
        say "check-systemd: 0 passed, 0 failed (skipped)"
        exit 0
}
summary() {
        say "check-systemd: $passed passed, $failed failed"
        [ "$failed" -eq 0 ]
}
pass() {
        passed=$((passed + 1))
        say "ok   - $1"
}
fail() {
        failed=$((failed + 1))
        say "FAIL - $1"
        if [ -n "${2:-}" ]; then printf '%s\n' "$2" | tail -n 25 | sed 's/^/       | /'; fi
}
# Gives up on the rest (the container is unusable), still with a summary.
abort() {
        fail "$1" "${2:-}"
        say "check-systemd: stopping early; later checks were not run"
        exit 1
}

# ---- preconditions -----------------------------------------------------------

[ "$(id -u)" = 0 ] || skip "needs root (debootstrap and systemd-nspawn); run 'sudo make check-systemd'"
if ! command -v systemd-nspawn >/dev/null || ! command -v debootstrap >/dev/null; then
        # As 'make check' does for its own packages.
        say "check-systemd: installing systemd-container and debootstrap"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd-container debootstrap; } \
                >/dev/null 2>&1
        command -v systemd-nspawn >/dev/null || skip "no systemd-nspawn (Debian package systemd-container) and it could not be installed"
        command -v debootstrap >/dev/null || skip "no debootstrap (Debian package debootstrap) and it could not be installed"
fi
command -v nsenter >/dev/null || skip "no nsenter (Debian package util-linux)"

# The machine's own Debian mirror: deb822 sources first, then sources.list.
mirror() {
        local f
        if [ -n "${CALLROLE_TEST_MIRROR:-}" ]; then
                say "$CALLROLE_TEST_MIRROR"
                return
        fi
        for f in /etc/apt/sources.list.d/*.sources; do
                [ -f "$f" ] || continue
                awk -v suite="$SUITE" '
                        /^[ \t]*$/ { if (uri != "" && ok) { print uri; exit } uri = ""; ok = 0; next }
                        tolower($1) == "uris:" { uri = $2 }
                        tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
                        END { if (uri != "" && ok) print uri }' "$f" | head -n 1
        done | head -n 1 | grep . && return
        awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }
                               $1 == "deb" && $2 ~ /^\[/ && $4 == suite { print $3; exit }' \
                /etc/apt/sources.list 2>/dev/null | head -n 1
}
MIRROR=$(mirror)
[ -n "$MIRROR" ] || skip "no Debian $SUITE mirror in /etc/apt/sources.list(.d); set CALLROLE_TEST_MIRROR=URL"

# ---- cleanup, whatever happens -------------------------------------------------

cleanup() {
        local i cg left
        if [ -n "$NSPAWN" ] && kill -0 "$NSPAWN" 2>/dev/null; then
                [ -n "$LEADER" ] && timeout 20 nsenter -t "$LEADER" -a systemctl poweroff >/dev/null 2>&1
                for i in $(seq 1 300); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.1; done
                # Killing the container's init ends its whole pid namespace;
                # killing only nspawn would leave it running.
                if kill -0 "$NSPAWN" 2>/dev/null; then
                        [ -n "$LEADER" ] && kill -KILL "$LEADER" 2>/dev/null
                        kill -KILL "$NSPAWN" 2>/dev/null
                fi
                wait "$NSPAWN" 2>/dev/null
        fi
        if [ -n "$LEADER" ] && kill -0 "$LEADER" 2>/dev/null; then
                kill -KILL "$LEADER" 2>/dev/null
        fi
        # nspawn --keep-unit leaves its payload/supervisor cgroups under the
        # cgroup it ran in, which we made for it; they empty as the
        # container's processes are reaped.
        for i in $(seq 1 50); do
                for cg in $CGROUPS; do
                        [ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
                done
                left=0
                for cg in $CGROUPS; do [ -d "$cg" ] && left=1; done
                [ $left = 0 ] && break
                sleep 0.1
        done
        if [ -n "$ROOT" ] && [ -d "$ROOT" ]; then
                if [ -n "${CALLROLE_KEEP_CONTAINER:-}" ]; then
                        say "check-systemd: kept the container's root file system in $ROOT"
                else
                        rm -rf --one-file-system "$ROOT"
                fi
        fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$OUT" "$CACHE"
rm -f "$OUT/transcript.txt"

# ---- build for /usr, and the cached Debian root file system ---------------------

say "check-systemd: building callrole with PREFIX=/usr in $STAGE_BUILD"
if ! log=$(make -C "$SRC" --no-print-directory BUILD="$STAGE_BUILD" PREFIX=/usr all 2>&1); then
        fail "make all PREFIX=/usr" "$log"
        summary
        exit 1
fi

key=$(printf '%s\n' "$SUITE" "$INCLUDE" "$(dpkg --print-architecture)" minbase | sha256sum | cut -c1-12)
TARBALL=$CACHE/debian-$SUITE-$key.tar.gz
(
        flock 9
        if [ ! -s "$TARBALL" ]; then
                say "check-systemd: debootstrap $SUITE from $MIRROR (once; cached as $TARBALL)"
                tmp=$(mktemp -d "$CACHE/rootfs.XXXXXX")
                chmod 0755 "$tmp"        # it becomes the container's /
                if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$tmp" "$MIRROR" \
                        >"$OUT/debootstrap.log" 2>&1; then
                        rm -rf --one-file-system "$tmp"
                        exit 3
                fi
                # Left as a pure root file system: no package caches.
                rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
                tar -C "$tmp" --numeric-owner -cf - . | gzip -1 >"$TARBALL.tmp" && mv "$TARBALL.tmp" "$TARBALL"
                rm -rf --one-file-system "$tmp"
        fi
) 9>"$CACHE/lock"
rc=$?
if [ $rc -ne 0 ]; then
        if grep -qiE "Failed getting release file|Couldn't download|unable to (resolve|connect)|Temporary failure" \
                "$OUT/debootstrap.log"; then
                skip "the Debian mirror $MIRROR cannot be reached (see $OUT/debootstrap.log)"
        fi
        fail "debootstrap $SUITE" "$(tail -n 20 "$OUT/debootstrap.log")"
        summary
        exit 1
fi

ROOT=$(mktemp -d /var/tmp/callrole-nspawn.XXXXXX)
tar -C "$ROOT" --numeric-owner -xzf "$TARBALL" || abort "unpack $TARBALL"
# mktemp made it 0700; as the container's / it must let every user through.
chmod 0755 "$ROOT"
if log=$(make -C "$SRC" --no-print-directory BUILD="$STAGE_BUILD" PREFIX=/usr DESTDIR="$ROOT" install 2>&1); then
        pass "make install DESTDIR=<container> PREFIX=/usr"
else
        abort "make install DESTDIR=<container> PREFIX=/usr" "$log"
fi
for f in usr/sbin/callroled usr/bin/callrolectl lib/systemd/system/callrole.socket \
        lib/systemd/system/callrole.service usr/lib/sysusers.d/callrole.conf usr/share/callrole/profiles/calltracks.profile; do
        [ -e "$ROOT/$f" ] || fail "installed /$f" "make install did not put it there"
done
ls "$ROOT"/lib/*/security/pam_callrole.so >/dev/null 2>&1 || fail "installed pam_callrole.so" "not in /lib/<multiarch>/security"

# ---- boot ------------------------------------------------------------------------

# nspawn --keep-unit makes its payload/supervisor cgroups below the cgroup
# it runs in; give it one of its own in the hierarchies systemd uses, so
# two runs (or two engineers) never share them.
if [ "$(cat /proc/1/comm)" != systemd ]; then
        for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
                [ -f "$h/cgroup.procs" ] && mkdir "$h/$NAME" 2>/dev/null && CGROUPS="$CGROUPS $h/$NAME"
        done
        if [ -z "$CGROUPS" ] && [ -f /sys/fs/cgroup/cgroup.procs ]; then
                mkdir "/sys/fs/cgroup/$NAME" 2>/dev/null && CGROUPS=/sys/fs/cgroup/$NAME
        fi
fi
(
        for cg in $CGROUPS; do echo $BASHPID >"$cg/cgroup.procs" 2>/dev/null; done
        exec setsid systemd-nspawn -D "$ROOT" -M "$NAME" --boot --register=no --keep-unit --private-network \
                --console=read-only
) </dev/null >"$OUT/container.log" 2>&1 &
NSPAWN=$!

# nspawn's first child sets up and forks the container's init; the leader
# is the child that has become systemd.
for i in $(seq 1 300); do
        kill -0 "$NSPAWN" 2>/dev/null || break
        for c in $(cat "/proc/$NSPAWN/task/$NSPAWN/children" 2>/dev/null); do
                [ "$(cat "/proc/$c/comm" 2>/dev/null)" = systemd ] && LEADER=$c
        done
        [ -n "$LEADER" ] && break
        sleep 0.1
done
[ -n "$LEADER" ] || abort "boot the container" "$(tail -n 30 "$OUT/container.log")"
# PID 1 answers on its private bus only once it is up: retry until it does.
for i in $(seq 1 120); do
        state=$(timeout 120 nsenter -t "$LEADER" -a systemctl is-system-running --wait 2>&1)
        case $state in *"Failed to connect"* | *"No such file"*) sleep 0.5 ;; *) break ;; esac
done
case $state in
running | degraded) pass "systemd booted as PID 1 in the container ($state)" ;;
*) abort "systemd booted as PID 1 in the container" "$(tail -n 15 "$OUT/container.log")
state: $state (console in $OUT/container.log)" ;;
esac

# Runs a command inside as a transient unit of the container's systemd (so
# it lives in its cgroups and sessions), output merged; returns its status.
inside() {
        timeout 60 nsenter -t "$LEADER" -a systemd-run --wait --pipe --quiet --collect --service-type=exec \
                -- "$@" </dev/null 2>&1
}
# check DESCRIPTION EXPECT REGEX CMD...: EXPECT is "ok" (exit 0) or "exitN"
# (exactly exit N, e.g. exit1: callrolectl's deny, as opposed to 3, daemon
# unreachable); REGEX (may be empty) must match the output.
check() {
        local what=$1 expect=$2 re=$3 out rc
        shift 3
        out=$(inside "$@")
        rc=$?
        printf '### %s (exit %d): %s\n%s\n\n' "$what" $rc "$*" "$out" >>"$OUT/transcript.txt"
        if { [ "$expect" = ok ] && [ $rc -eq 0 ]; } || [ "$expect" = "exit$rc" ]; then
                if [ -z "$re" ] || printf '%s\n' "$out" | grep -qE -- "$re"; then
                        pass "$what"
                        return 0
                fi
                fail "$what" "output lacks /$re/ (exit $rc):
$out"
                return 1
        fi
        fail "$what" "exit $rc, expected $expect:
$out"
        return 1
}
value() { inside "$@" | tr -d '\r' | tail -n 1; }

# ---- the service, as an administrator meets it ----------------------------------

check "callrole user created by sysusers.d" ok '^callrole:' getent passwd callrole
check "systemctl enable --now callrole.socket" ok '' systemctl enable --now callrole.socket
check "socket listening, service not started yet" ok '' sh -c \
        'systemctl is-active -q callrole.socket && ! systemctl is-active -q callrole.service && test -S /run/callrole/socket'
check "socket is srw-rw-rw- (every client may connect)" ok '^srw-rw-rw- ' ls -l /run/callrole/socket
check "first 'callrolectl status' starts callroled on demand" ok '' callrolectl status
check "callrole.service is active after the first client" ok '^active$' systemctl is-active callrole.service

check "profile load calltracks" ok '' callrolectl profile load calltracks
check "user add agent --role calls-only" ok '' callrolectl user add agent --role calls-only
check "user add noaccess --role no-access" ok '' callrolectl user add noaccess --role no-access
check "Unix users agent and noaccess" ok '' sh -c 'useradd -m -s /bin/bash agent && useradd -m -s /bin/bash noaccess'
check "check agent calls.view: allow" ok '' callrolectl check agent calls.view
check "check noaccess login: deny (exit 1)" exit1 'deny|not-granted' callrolectl check noaccess login

status=$(inside env SYSTEMD_COLORS=0 systemctl status --no-pager --lines=12 callrole.service)
printf '%s\n' "$status" >"$OUT/systemctl-status.txt"
if printf '%s\n' "$status" | grep -qE 'Status: "Serving 2 users, [0-9]+ roles'; then
        pass "systemctl status shows the daemon's STATUS= line (copy in $OUT/systemctl-status.txt)"
else
        fail "systemctl status shows the daemon's STATUS= line" "$status"
fi
# journald takes the daemon's messages asynchronously: flush it
# (journalctl --sync) and poll up to 10 s before calling a record missing.
check "denial in the journal with CALLROLE_* fields" ok 'CALLROLE_DECISION=deny' sh -c \
        'for i in $(seq 1 100); do
                journalctl --sync 2>/dev/null
                out=$(journalctl -u callrole.service -o verbose --no-pager CALLROLE_USER=noaccess) || exit 2
                case $out in *CALLROLE_DECISION=deny*) break ;; esac
                sleep 0.1
         done
         printf "%s\n" "$out"'
# The allow for agent was decided before the deny above, which is in the
# journal: had the allow been logged it would be there too.  journalctl must
# itself succeed (exit 2 otherwise), so a broken journal does not pass.
check "allow decisions are not logged at the default level" ok '' sh -c \
        'journalctl --sync 2>/dev/null
         out=$(journalctl -u callrole.service -o verbose --no-pager CALLROLE_DECISION=allow) || exit 2
         if printf "%s\n" "$out" | grep -q CALLROLE_; then printf "%s\n" "$out"; exit 1; fi
         exit 0'

# ---- the sandbox -----------------------------------------------------------------

pid=$(value systemctl show -p MainPID --value callrole.service)
uid=$(value id -u callrole)
if [ -n "$pid" ] && [ "$pid" != 0 ] && [ -n "$uid" ]; then
        check "daemon runs as user callrole (uid $uid)" ok "^Uid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid\$" \
                grep '^Uid:' /proc/$pid/status
        check "no capabilities at all (CapEff, CapPrm, CapBnd)" ok '' sh -c \
                "grep -qx 'CapEff:[[:space:]]*0000000000000000' /proc/$pid/status &&
                 grep -qx 'CapPrm:[[:space:]]*0000000000000000' /proc/$pid/status &&
                 grep -qx 'CapBnd:[[:space:]]*0000000000000000' /proc/$pid/status"
        check "NoNewPrivs and a seccomp filter" ok '' sh -c \
                "grep -qx 'NoNewPrivs:[[:space:]]*1' /proc/$pid/status && grep -qx 'Seccomp:[[:space:]]*2' /proc/$pid/status"
        check "private network and mount namespaces" ok '' sh -c \
                "[ \"\$(readlink /proc/$pid/ns/net)\" != \"\$(readlink /proc/1/ns/net)\" ] &&
                 [ \"\$(readlink /proc/$pid/ns/mnt)\" != \"\$(readlink /proc/1/ns/mnt)\" ]"
        check "read-only system, private /tmp, hidden /home" ok '' sh -c \
                "awk '\$5 == \"/\" && \$6 ~ /^ro/ { r = 1 } \$5 == \"/tmp\" { t = 1 } \$5 == \"/home\" { h = 1 }
                      END { exit !(r && t && h) }' /proc/$pid/mountinfo"
        check "database owned by callrole, mode 0600" ok '^callrole 600$' stat -c '%U %a' /var/lib/callrole/roles.db
else
        fail "MainPID of callrole.service and uid of callrole" "pid '$pid' uid '$uid'"
fi
sec=$(inside systemd-analyze security --no-pager callrole.service | tr -d '\r')
level=$(printf '%s\n' "$sec" | sed -n 's/.*Overall exposure level for callrole.service: \([0-9.]*\).*/\1/p')
if [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
        pass "systemd-analyze security on the running system: $level"
else
        fail "systemd-analyze security on the running system <= 2.0" "$(printf '%s\n' "$sec" | tail -n 5)"
fi
check "systemd-analyze verify on the installed units" ok '' sh -c \
        'out=$(systemd-analyze verify --man=no callrole.socket callrole.service 2>&1); printf "%s" "$out"; [ -z "$out" ]'

# ---- reload and restart keep the data -------------------------------------------

check "systemctl reload callrole" ok '' systemctl reload callrole.service
check "same process after reload" ok "^$pid\$" systemctl show -p MainPID --value callrole.service
check "reload re-read the database (journal)" ok 'reloaded /var/lib/callrole/roles.db' sh -c \
        'for i in $(seq 1 100); do
                journalctl --sync 2>/dev/null
                out=$(journalctl -u callrole.service --no-pager -o cat) || exit 2
                case $out in *"reloaded /var/lib/callrole/roles.db"*) break ;; esac
                sleep 0.1
         done
         printf "%s\n" "$out"'
check "data kept across reload" ok '' callrolectl check agent calls.view
check "systemctl restart callrole" ok '' systemctl restart callrole.service
newpid=$(value systemctl show -p MainPID --value callrole.service)
if [ -n "$newpid" ] && [ "$newpid" != 0 ] && [ "$newpid" != "$pid" ]; then
        pass "a new process after restart ($pid -> $newpid)"
else
        fail "a new process after restart" "before '$pid', after '$newpid'"
fi
check "data kept across restart" ok '' sh -c \
        'callrolectl check agent calls.view || exit 1
         callrolectl check noaccess login >/dev/null; rc=$?
         [ $rc -eq 1 ] || { echo "check noaccess login: exit $rc, expected 1 (deny)"; exit 1; }
         callrolectl user list | grep -q noaccess'

# ---- logins through PAM ----------------------------------------------------------

check "pam_callrole.so in common-account" ok '' sh -c \
        'echo "account [success=ok new_authtok_reqd=ok ignore=ignore user_unknown=ignore default=bad] pam_callrole.so" >>/etc/pam.d/common-account'
check "su - agent (calls-only) is let in" ok '' su - agent -c true
check "su - noaccess (no-access) is refused, naming the role" exit1 'No Access|no-access' su - noaccess -c true
check "root, unknown to callrole, still logs in" ok '' su - root -c true

# ---- stop --------------------------------------------------------------------------

check "systemctl stop: exit status 0, socket stays for the next client" ok '' sh -c \
        'systemctl stop callrole.service &&
         [ "$(systemctl show -p ExecMainStatus --value callrole.service)" = 0 ] &&
         [ "$(systemctl show -p Result --value callrole.service)" = success ] &&
         test -S /run/callrole/socket && callrolectl status >/dev/null'

summary
