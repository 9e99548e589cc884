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
ns=vmkdemo$$
trap 'rm -rf "$tmp"; ip netns del $ns 2>/dev/null || true' EXIT
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

# virtio-net: a TAP in a network namespace made for the demo (no route out).
ip netns add $ns
ip -n $ns tuntap add dev vmkdemo0 mode tap vnet_hdr
ip -n $ns addr add 10.99.0.1/24 dev vmkdemo0
ip -n $ns link set vmkdemo0 up
echo
echo "### ip netns exec $ns vmx --kernel net.elf --net tap=vmkdemo0 (guest 10.99.0.2 pings 10.99.0.1)"
set +e
ip netns exec $ns "$vmx" --debug-exit --kernel "$g/net.elf" --net tap=vmkdemo0 \
	--cmdline "ip=10.99.0.2 peer=10.99.0.1"
echo "### exit status $?"
set -e

# A real Linux kernel: Debian's vmlinux through its PVH entry.
vmlinux=$(/usr/bin/python3 -c "
import sys; sys.path.insert(0, 'tests/system')
from linux_guest import bzimage, extract_vmlinux
print(extract_vmlinux(bzimage(), '$b'))")
echo
echo "### vmx --kernel $vmlinux --memory 512M (Debian's kernel, PVH; first lines of its boot)"
"$vmx" --kernel "$vmlinux" --memory 512M --cmdline "earlyprintk=ttyS0 console=ttyS0" \
	--serial "file:$tmp/linux.log" &
pid=$!
i=0
while [ $i -lt 60 ] && ! grep -q "BIOS-e820: \[mem 0x0*100000" "$tmp/linux.log" 2>/dev/null; do
	sleep 0.5; i=$((i + 1))
done
kill $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
grep -E "Linux version|Command line|BIOS-e820" "$tmp/linux.log" || true
echo "### (stopped after the e820 map: see docs/architecture.md on this machine's emulated KVM)"
