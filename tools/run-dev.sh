#!/bin/sh
# run-dev.sh BUILD: 'make run'.  Starts callroled in the foreground on a
# socket and database under BUILD/run, trusting the person who started it
# as an administrator, and seeds a fresh database with a demo so the first
# 'callrolectl check' shows something real.
set -eu
build=${1:-build}
dir=$(cd "$build" && pwd)/run
mkdir -p "$dir"
sock=$dir/socket
db=$dir/roles.db
fresh=0
[ -f "$db" ] || fresh=1

"$build/callroled" --foreground --socket "$sock" --db "$db" --admin-uid "$(id -u)" --profile-dir "$(pwd)/profiles" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid; exit 0' INT TERM
i=0
until [ -S "$sock" ] && "$build/callrolectl" --socket "$sock" status >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 50 ] || ! kill -0 $pid 2>/dev/null; then
                echo "callroled did not start; see the messages above" >&2
                exit 1
        fi
        sleep 0.1
done

ctl() {
        if ! "$build/callrolectl" --socket "$sock" "$@" >/dev/null; then
                echo "make run: seeding the demo failed at 'callrolectl $*'" >&2
                kill -TERM $pid 2>/dev/null
                wait $pid
                rm -f "$db" "$db-wal" "$db-shm"
                exit 1
        fi
}
if [ $fresh = 1 ]; then
        ctl profile load calltracks
        ctl account add acme --attr billing=customer
        ctl profile load ctm --account acme
        ctl account set acme --plan growth
        ctl account add budget --parent acme --plan starter
        ctl user add alice --role calls-only --display-name "Alice Calls"
        ctl user add ivan --role view-inbound-calls-only --display-name "Ivan Inbound"
        ctl user add nora --role no-access --display-name "Nora Questionnaire"
        ctl user add sam --role customer-super-admin --display-name "Sam Super"
        ctl user add adam --role call-agent --account acme --display-name "Adam Agent"
        ctl user add carol --role billing-manager --account acme --display-name "Carol Billing"
        ctl user add dora --role administrator --account acme --display-name "Dora Admin"
        echo "callrole: seeded a demo (profiles calltracks and ctm; users alice, ivan, nora, sam, adam, carol, dora)"
fi
cat <<MSG

callroled is running (pid $pid).  In another terminal:

    export CALLROLE_SOCKET=$sock
    $build/callrolectl user list
    $build/callrolectl check nora login          # deny: No Access
    $build/callrolectl check carol softphone.use # deny: Billing Manager
    $build/callrolectl check adam calls.view --attr assignee=bob

Stop with Ctrl-C.
MSG
wait $pid
