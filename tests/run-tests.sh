#!/bin/sh
# run-tests.sh TEST...: runs each cmocka test program, keeps its output in
# $BUILD/test-logs/, and ends with one summary line:
#     callrole: N passed, N failed, N skipped
# Exit status is non-zero if any test failed or any program crashed.
set -u
build=${BUILD:-build}
logs=$build/test-logs
mkdir -p "$logs"
export CALLROLE_BUILD=$build
export CALLROLE_SOURCE=$(pwd)
passed=0 failed=0 skipped=0 broken=""
for t in "$@"; do
        name=$(basename "$t")
        log=$logs/$name.log
        CMOCKA_MESSAGE_OUTPUT=stdout "$t" >"$log" 2>&1
        rc=$?
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log" | awk '{s+=$1} END {print s+0}')
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
        s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test(s), listed below:/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
        passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
        status=ok
        if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
                # Crashed or exited early: count it as one failure so it shows.
                failed=$((failed + 1)) status="crashed (exit $rc)"
                broken="$broken $name"
        elif [ "$f" -ne 0 ]; then
                status="FAILED" broken="$broken $name"
        fi
        printf '%-28s %4d passed %3d failed %3d skipped  %s\n' "$name" "$p" "$f" "$s" "$status"
done
if [ -n "$broken" ]; then
        for n in $broken; do
                echo "---- $n (from $logs/$n.log) ----"
                grep -E '^\[  (FAILED|ERROR)|error|Error|FAIL|skip' "$logs/$n.log" | head -40
        done
fi
echo "callrole: $passed passed, $failed failed, $skipped skipped"
# In CI (root, network, mount rights) nothing has a reason to skip: with
# CALLROLE_REQUIRE_ALL=1 a skipped test fails the run instead of passing
# unnoticed.
if [ "${CALLROLE_REQUIRE_ALL:-0}" = 1 ] && [ "$skipped" -ne 0 ]; then
        echo "callrole: $skipped test(s) skipped, and CALLROLE_REQUIRE_ALL=1 requires every test to run" >&2
        exit 1
fi
[ "$failed" -eq 0 ]
