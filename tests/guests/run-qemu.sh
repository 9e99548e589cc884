#!/bin/bash
# Runs one test guest under QEMU (the reference peer) with the options it
# needs, and turns the isa-debug-exit status back into the guest's code.
#
#   tests/guests/run-qemu.sh GUEST_DIR GUEST [tcg|kvm] [extra cmdline...]
#
# GUEST_DIR holds the built *.elf (e.g. build/tests/guests).  Exit status:
# 0 when the guest passed, the guest's exit code when it failed, 124 on
# timeout, 125 on a usage or set-up error.  blk makes two scratch disk
# images; net makes a network namespace with a TAP (10.0.2.2/24) and runs
# QEMU inside it, so it needs root; both are removed afterwards.
set -u

dir=${1:?usage: run-qemu.sh GUEST_DIR GUEST [tcg|kvm] [cmdline...]}
guest=${2:?guest name}
accel=${3:-tcg}
shift $(( $# < 3 ? $# : 3 ))
extra="$*"
elf="$dir/$guest.elf"
[ -f "$elf" ] || { echo "run-qemu: no $elf" >&2; exit 125; }

tmp=$(mktemp -d /tmp/vmk-guest.XXXXXX)
ns=""
cleanup() {
	[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

machine=microvm
append="$extra"
args=()
wrap=()
limit=30
case "$guest" in
smp)
	args+=(-smp 4)
	;;
blk)
	machine=microvm,acpi=off     # QEMU then lists the devices on the command line
	head -c 1048576 /dev/zero >"$tmp/d0.img"
	python3 -c "import sys; sys.stdout.buffer.write(bytes(range(256)) * 2 + bytes(1048576 - 512))" >"$tmp/d1.img"
	args+=(-global virtio-mmio.force-legacy=false
	       -drive id=d0,file="$tmp/d0.img",format=raw,if=none -device virtio-blk-device,drive=d0
	       -drive id=d1,file="$tmp/d1.img",format=raw,if=none,readonly=on -device virtio-blk-device,drive=d1)
	;;
net)
	ns=vmkguest-$$
	ip netns add "$ns" || exit 125
	ip netns exec "$ns" ip link set lo up
	ip netns exec "$ns" ip tuntap add dev tap0 mode tap || exit 125
	ip netns exec "$ns" ip addr add 10.0.2.2/24 dev tap0
	ip netns exec "$ns" ip link set tap0 up
	wrap=(ip netns exec "$ns")
	args+=(-global virtio-mmio.force-legacy=false
	       -netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device virtio-net-device,netdev=n0)
	append="ip=10.0.2.15 peer=10.0.2.2 $extra"
	;;
dirty)
	limit=0                      # dirty.seconds=0 runs until killed
	;;
esac

tmo=()
[ "$limit" -gt 0 ] && tmo=(timeout "$limit")
"${tmo[@]}" "${wrap[@]}" qemu-system-x86_64 -M "$machine" -accel "$accel" -m 256 \
	-nodefaults -no-user-config -nographic -serial stdio \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-kernel "$elf" -append "$append" "${args[@]}" </dev/null
rc=$?
case $rc in
124) exit 124 ;;
1) exit 0 ;;
*) if (( rc & 1 )); then exit $(( rc >> 1 )); fi
   echo "run-qemu: QEMU exited with status $rc (no debug-exit write)" >&2
   exit 125 ;;
esac
