#!/bin/sh
# Installs dependencies, builds vmk twice (plain -Werror, and ASan+UBSan)
# and runs every test.  Ends with "N passed, N failed, N skipped".
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (KVM, TAP devices, network namespaces)" >&2; exit 1; }
exec /usr/bin/python3 tests/run_all.py "$@"
