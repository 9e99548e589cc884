#!/bin/sh
# Runs every benchmark in turn against build/ (or $VMK_BUILD): boot, memory,
# exits, esxcli, switch, vhost, poweron.  Each prints its numbers and ratios
# against its peer (QEMU microvm with KVM; a Linux bridge for switch and vhost);
# none asserts a time.  Exit status: non-zero if any benchmark failed to run.
#
#   bench/run_all.sh            after ./scripts/build.sh
set -u
cd "$(dirname "$0")/.."
VMK_BUILD=${VMK_BUILD:-$PWD/build}
export VMK_BUILD
if [ ! -x "$VMK_BUILD/src/vmm/vmx" ] || [ ! -f "$VMK_BUILD/tests/guests/exits.elf" ]; then
	echo "run_all: no vmx or test guests in $VMK_BUILD (run ./scripts/build.sh)" >&2
	exit 2
fi
echo "vmk benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, kernel $(uname -r), build $VMK_BUILD"
rc=0
for b in boot memory exits sandbox esxcli switch vhost poweron vmkd_stop; do
	echo
	echo "== bench/$b.py"
	/usr/bin/python3 bench/$b.py || { echo "run_all: bench/$b.py failed" >&2; rc=1; }
done
exit $rc
