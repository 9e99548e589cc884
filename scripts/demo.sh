#!/bin/sh
# The demo: installs dependencies, builds vmk, and boots each test guest
# under vmx with its console on this terminal.  Later issues grow this
# into a whole demo host (vmkd, a vSwitch, a VM on "VM Network").
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (needs /dev/kvm)" >&2; exit 1; }
sh scripts/deps.sh
b=$(sh scripts/build.sh)
vmx=$b/src/vmm/vmx
g=$b/tests/guests
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() {
	echo
	echo "### vmx $*"
	set +e
	"$vmx" --debug-exit "$@"
	rc=$?
	set -e
	echo "### exit status $rc ($( [ $rc = 1 ] && echo "guest passed" || echo "guest failed"))"
}
run --kernel "$g/hello.elf" --cmdline "greeting=hello-from-the-demo"
run --kernel "$g/smp.elf" --cpus 4
run --kernel "$g/timer.elf"
truncate -s 1M "$tmp/rw.img"
head -c 1048576 /dev/urandom > "$tmp/ro.img"
run --kernel "$g/blk.elf" --disk "$tmp/rw.img" --disk "$tmp/ro.img,ro"
run --kernel "$g/dirty.elf" --cmdline "dirty.mb=4 dirty.rate=1000 dirty.seconds=2"
