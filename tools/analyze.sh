#!/bin/sh
# analyze.sh BUILD: the static checks CI runs ('make analyze').
#   1. cppcheck over every C file, warnings as errors.  Its memleak check is
#      off: ownership here is __attribute__((cleanup)), which cppcheck does
#      not model, so every such variable reads as a leak; leaks are caught
#      by LeakSanitizer (make check SANITIZE=1) and valgrind (make
#      check-valgrind) instead.
#   2. gcc -fanalyzer over every C file; any finding not explained in
#      tools/analyzer-known.txt fails.
set -u
build=${1:-build}
mkdir -p "$build"
srcs=$(ls daemon/*.c lib/*.c tools/*.c pam_module/*.c)
status=0

cppcheck --quiet --std=c11 --enable=warning,portability,performance --inline-suppr \
        --suppress=missingIncludeSystem --suppress=memleak --error-exitcode=1 \
        -D_GNU_SOURCE -Iinclude -Ilib -Idaemon -Itools -Ipam_module $srcs || status=1
[ $status -eq 0 ] && echo "cppcheck: clean"

out=$build/analyzer.txt
: > "$out"
for f in $srcs; do
        gcc -std=gnu11 -D_GNU_SOURCE -O1 -fanalyzer -Iinclude -Ilib -Idaemon -Itools -Ipam_module -I"$build" \
                -DCALLROLE_VERSION='"analyze"' $(pkg-config --cflags sqlite3 libsystemd 2>/dev/null) \
                -c "$f" -o /dev/null 2>>"$out"
done
# FILE:LINE:COL: warning: TEXT ‘ID’ ... [CWE-n] [-Wanalyzer-kind]
findings=$(grep -E '^[^ ]+:[0-9]+:[0-9]+: warning: .*\[-Wanalyzer' "$out" |
        sed -E "s/^([^:]+):[0-9]+:[0-9]+: warning: ([^‘]*‘([^’]*)’)?.*\[(-Wanalyzer-[a-z-]+)\]$/\1|\4|\3/" |
        sed -E 's/\|$/|<unknown>/' | sort -u)
echo "$findings" | while IFS='|' read -r file kind id; do
        [ -n "$file" ] || continue
        [ -n "$id" ] || id='<unknown>'
        if ! grep -qF "$file|$kind|$id|" tools/analyzer-known.txt; then
                echo "gcc -fanalyzer: unexplained finding: $file $kind '$id' (see $out)"
                echo x >> "$build/analyzer.unexplained"
        fi
done
if [ -f "$build/analyzer.unexplained" ]; then
        rm -f "$build/analyzer.unexplained"
        status=1
else
        echo "gcc -fanalyzer: $(echo "$findings" | grep -c . ) finding(s), all explained in tools/analyzer-known.txt"
fi
exit $status
