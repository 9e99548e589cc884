#!/bin/sh
# The demo: installs dependencies, builds vmk, boots each test guest under
# vmx with its console on this terminal, then brings up a host (vmkd in a
# network namespace of its own), inspects and changes its network with
# esxcli and checks it with vmkping.  Nothing outlives the demo: the host
# keeps its state under a temporary VMK_ROOT.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (needs /dev/kvm)" >&2; exit 1; }
sh scripts/deps.sh
b=$(sh scripts/build.sh)
vmx=$b/src/vmm/vmx
g=$b/tests/guests
tmp=$(mktemp -d)
ns=vmkdemo$$
hostns=vmkdemohost$$
vmkd_pid=
cleanup() {
	set +e	# every step runs, whatever the one before it did
	[ -n "$vmkd_pid" ] && kill "$vmkd_pid" 2>/dev/null && wait "$vmkd_pid" 2>/dev/null
	# VMs outlive vmkd by design (it re-adopts them): stop the demo's own.
	pkill -KILL -f -- "$tmp/host/" 2>/dev/null || true
	for n in $ns $hostns vmk-demo-vmotion; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
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

# A host: vmkd with its own namespace as defaultTcpipStack.
echo
echo "### a vmk host: vmkd --instance demo (in network namespace $hostns)"
export VMK_ROOT="$tmp/host" VMK_INSTANCE=demo
mkdir -p "$VMK_ROOT"
ip netns add $hostns
ip netns exec $hostns "$b/src/host/vmkd" --instance demo --mgmt-ip 192.168.77.10/24 &
vmkd_pid=$!
i=0
while [ $i -lt 100 ] && ! "$b/src/cli/esxcli" system version get >/dev/null 2>&1; do
	sleep 0.1; i=$((i + 1))
done
esx() {
	echo "# esxcli $*"
	"$b/src/cli/esxcli" "$@"
}
esx system version get
esx network vswitch standard list
esx network vswitch standard portgroup list
esx network ip interface list
esx network ip interface ipv4 get
echo
echo "### a vMotion adapter on its own TCP/IP stack, on the same vSwitch"
esx network vswitch standard portgroup add -p vMotion -v vSwitch0
esx network ip interface add -i vmk1 -p vMotion -N vmotion
esx network ip interface ipv4 set -i vmk1 -t static -I 192.168.77.20 -N 255.255.255.0
esx network ip interface tag get -i vmk1
esx network ip netstack list
echo
echo "### vmkping from the vmotion stack across vSwitch0 to vmk0"
"$b/src/cli/vmkping" -S vmotion -c 3 192.168.77.10 || true
echo
echo "### each TCP/IP stack has its own routing table"
esx network ip route ipv4 list
esx network ip route ipv4 list -N vmotion
echo
echo "### a VM on \"VM Network\": a .vmx in datastore1, registered and powered on with vim-cmd"
ds="$VMK_ROOT/var/lib/vmk/demo/volumes/datastore1"
mkdir -p "$ds/web01"
cat > "$ds/web01/web01.vmx" <<VMX
.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "19"
displayName = "web01"
guestOS = "other-64"
memsize = "64"
numvcpus = "1"
ethernet0.present = "TRUE"
ethernet0.networkName = "VM Network"
ethernet0.virtualDev = "vmxnet3"
serial0.present = "TRUE"
serial0.fileType = "file"
serial0.fileName = "serial.log"
vmk.kernel = "$(realpath "$g/net.elf")"
vmk.cmdline = "ip=192.168.77.50 net.mode=respond net.seconds=120"
VMX
vim() {
	echo "# vim-cmd $*"
	"$b/src/cli/vim-cmd" "$@"
}
vim solo/registervm "$ds/web01/web01.vmx"
vim vmsvc/getallvms
vmid=$("$b/src/cli/vim-cmd" vmsvc/getallvms | awk '$2 == "web01" { print $1 }')
vim vmsvc/power.on "$vmid"
vim vmsvc/power.getstate "$vmid"
esx vm process list
esx network vm list
grep -E "^ethernet0\.(generatedAddress|addressType)|^uuid\.bios" "$ds/web01/web01.vmx"
echo
echo "### vmkping from vmk0 to the VM, across vSwitch0 through its vhost-user port"
"$b/src/cli/vmkping" -I vmk0 -c 3 192.168.77.50 || true
echo
echo "### what vmk0 learned, and what the host knows of the guest"
esx network ip neighbor list -i vmk0
vim vmsvc/get.guest "$vmid"
vim vmsvc/power.off "$vmid"
vim vmsvc/power.getstate "$vmid"
echo
echo "### vmkernel.log"
tail -n 12 "$VMK_ROOT/var/log/vmk/demo/vmkernel.log" 2>/dev/null || find "$VMK_ROOT" -name vmkernel.log -exec tail -n 12 {} \;
