#!/bin/sh
# install-deps.sh build|test: installs the Debian packages callrole needs,
# only those missing.  Used by 'make run' (build) and 'make check' (test).
set -eu
build="gcc make pkg-config libsqlite3-dev libsystemd-dev libpam0g-dev libjson-c-dev"
test="$build e2fsprogs cppcheck clang libclang-rt-14-dev valgrind libcmocka-dev libpam-wrapper libuid-wrapper libnss-wrapper pamtester sqlite3 systemd"
case "${1:-build}" in
build) want=$build ;;
test) want=$test ;;
*) echo "usage: $0 build|test" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "callrole: installing missing Debian packages:$missing"
if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
elif command -v sudo >/dev/null 2>&1; then
        sudo apt-get update -qq
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
else
        echo "callrole: run as root: apt-get install$missing" >&2
        exit 1
fi
