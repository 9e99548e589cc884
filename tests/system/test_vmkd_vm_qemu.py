"""Interoperability: QEMU as the vhost-user front end of a vmkd VM port.

vmkd's VM ports are a vhost-user back end (docs/vms.md); any front end
that follows QEMU's docs/interop/vhost-user.rst must work, not only vmx.
Here the front end is QEMU itself, running a real Linux guest (Debian's
cloud kernel and a busybox initramfs, linux_guest.build_net_initramfs)
under TCG on the pc machine (microvm cannot boot that kernel under TCG),
with its RAM in a shared memfd and a virtio-net-pci device on a
vhost-user netdev whose socket QEMU serves.  vmkd attaches it to a port
group with network.vm.port.add and connects as the client.

The device has no MSI-X (vectors=0: legacy INTx): QEMU 7.2 under TCG
crashes (SIGSEGV) when a vhost-user virtio-pci device's MSI-X vectors are
unmasked at DRIVER_OK, whatever the back end: vhost_net_start turns off
guest-notifier masking for vhost-user, so virtio_pci_vq_vector_unmask
takes its KVM irqfd branch (kvm_virtio_pci_irqfd_use), whose vector_irqfd
array exists only with KVM.  romfile= leaves out the iPXE option ROM.

The guest's own driver (virtio_net over virtio_pci) sets up the rings;
QEMU relays them to vmkd; the guest's frames then go straight between
its memory and vmkd's switch.  Checks: the guest pings a VMkernel
adapter on its port group, vmkping from the host reaches the guest, a
guest on a port group with another VLAN is not reachable until that
VLAN changes, and network.vm.port.remove detaches it.

Each test puts its port groups on VLANs of their own (61, 62), away from
vmk0 (Management Network, VLAN 0): on one L2 segment with vmk1, vmk0
would answer the guest's ARP requests for vmk1's address too (Linux's
default arp_ignore=0 in the stack's namespace), and the guest's replies
could go to vmk0's MAC, where `vmkping -I vmk1` never sees them.

Bounds: the guest powers itself off after GUEST_SECONDS; QEMU is killed
at teardown in any case; every wait has a deadline.  QEMU has no network
other than the vhost-user socket and runs in the host's namespace.
"""
import os
import signal
import subprocess
import time

import pytest

from conftest import BUILD, QEMU
from linux_guest import build_net_initramfs, bzimage
from vmkd_util import VS, Host, add_vmknic, close_hosts, ping_ok, ping_stats, vmkping
from vmkd_vm_util import RpcError, call, fails

GUEST_SECONDS = 150  # the guest's whole life after its network is up
MEM_MB = 256


@pytest.fixture(scope="module")
def linux():
    """The kernel and the initramfs, or a loud skip saying what is missing."""
    if not QEMU:
        pytest.skip("qemu-system-x86_64 is not installed: install qemu-system-x86")
    if not os.path.exists("/bin/busybox"):
        pytest.skip("no /bin/busybox: install busybox-static")
    bz = bzimage()
    if not bz:
        pytest.skip("no /boot/vmlinuz-*: install linux-image-cloud-amd64")
    return bz, build_net_initramfs(BUILD)


@pytest.fixture
def qhost():
    h = Host().start()
    vms = []
    h.qemu_vms = vms
    yield h
    for vm in vms:
        vm.close()
    close_hosts(h)


class QemuGuest:
    """One QEMU process: the Linux guest with a vhost-user NIC, serving SOCK."""

    def __init__(self, host, linux, name, mac, ip, peer):
        kernel, initrd = linux
        self.name = name
        self.host = host
        self.sock = os.path.join(host.root, name + ".sock")
        self.serial = os.path.join(host.root, name + ".serial")
        self.errlog = os.path.join(host.root, name + ".stderr")
        cmdline = ("console=ttyS0 panic=-1 reboot=k quiet vmk.ip=%s vmk.peer=%s "
                   "vmk.seconds=%d" % (ip, peer, GUEST_SECONDS))
        argv = ["ip", "netns", "exec", host.ns, QEMU, "-M", "pc", "-accel", "tcg",
                "-m", "%d" % MEM_MB, "-nodefaults", "-no-user-config", "-nographic",
                "-monitor", "none", "-no-reboot", "-serial", "file:" + self.serial,
                "-kernel", kernel, "-initrd", initrd, "-append", cmdline,
                "-object", "memory-backend-memfd,id=mem,size=%dM,share=on" % MEM_MB,
                "-numa", "node,memdev=mem",
                "-chardev", "socket,id=c0,path=%s,server=on,wait=off" % self.sock,
                "-netdev", "vhost-user,id=n0,chardev=c0",
                "-device", "virtio-net-pci,netdev=n0,mac=%s,vectors=0,romfile=" % mac]
        self.err = open(self.errlog, "wb")
        # its own process group, so that close() reaches nothing else
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.err,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        host.qemu_vms.append(self)
        self._wait(lambda: os.path.exists(self.sock), 30, "QEMU's vhost-user socket")

    def _wait(self, cond, timeout, what):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return
            if self.proc.poll() is not None:
                raise AssertionError("QEMU exited (%s) waiting for %s\n%s" %
                                     (self.proc.returncode, what, self.diag()))
            time.sleep(0.1)
        raise AssertionError("timed out waiting for %s\n%s" % (what, self.diag()))

    def output(self):
        try:
            with open(self.serial, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stderr(self):
        try:
            with open(self.errlog, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def diag(self):
        log = self.host.log() if os.path.exists(self.host.log_path) else ""
        return ("--- guest serial ---\n%s\n--- QEMU stderr ---\n%s\n--- vmkernel.log ---\n%s" %
                (self.output()[-3000:], self.stderr()[-2000:], log[-3000:]))

    def wait_serial(self, text, timeout=90):
        self._wait(lambda: text in self.output(), timeout, repr(text) + " from the guest")

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.err.close()


def attach(h, name, pg, sock, mac):
    assert call(h, "network.vm.port.add", name=name, portgroup=pg, socket=sock, mac=mac) is True


def unreachable(h, ip):
    """vmkping gets no answer at all (3 tries, one second each)."""
    r = vmkping(h, "-I", "vmk1", "-c", "3", "-W", "1", ip)
    return r.rc != 0 and ping_stats(r)[1] == 0


def carriers(g, state):
    return g.output().count("vmk-init: carrier %d" % state)


def test_qemu_linux_guest_on_vm_network(linux, qhost):
    """The guest pings vmk1, vmkping reaches the guest, remove detaches it
    (QEMU drops the guest's link), and attached again it is back."""
    h = qhost
    h.ok(*VS, "portgroup", "set", "-p", "VM Network", "-v", "61")
    add_vmknic(h, "vmk1", "VM Network", "10.61.0.1")
    g = QemuGuest(h, linux, "qemu0", "52:54:00:61:00:02", "10.61.0.2/24", "10.61.0.1")
    attach(h, "qemu0", "VM Network", g.sock, "52:54:00:61:00:02")
    assert "VM port qemu0 added on port group 'VM Network'" in h.log()

    g.wait_serial("vmk-init: eth0 up 10.61.0.2/24 52:54:00:61:00:02")
    g.wait_serial("vmk-init: ping ok")  # guest -> vmk1
    assert ping_ok(h, "-I", "vmk1", "10.61.0.2", deadline=30), g.diag()  # vmk1 -> guest
    r = vmkping(h, "-I", "vmk1", "-c", "3", "-W", "2", "10.61.0.2")
    assert r.rc == 0 and ping_stats(r)[1] >= 1, (r, g.diag())

    # the MAC is taken now, and the name too
    assert "already in use" in fails(h, "network.vm.port.add", name="qemu1", portgroup="VM Network",
                                     socket=g.sock, mac="52:54:00:61:00:02")
    assert "already exists" in fails(h, "network.vm.port.add", name="qemu0",
                                     portgroup="VM Network", socket=g.sock,
                                     mac="52:54:00:61:00:09")

    up = carriers(g, 1)
    assert call(h, "network.vm.port.remove", name="qemu0") is True
    assert "VM port qemu0 removed" in h.log()
    assert unreachable(h, "10.61.0.2"), g.diag()
    g._wait(lambda: carriers(g, 0) >= 1, 30, "the guest's link to go down")
    with pytest.raises(RpcError):
        call(h, "network.vm.port.remove", name="qemu0")
    assert g.proc.poll() is None, g.diag()  # QEMU outlives its back end

    # QEMU still serves the socket: attached again, it replays the device
    # state to the new connection (vhost-user reconnect) and the guest is back.
    attach(h, "qemu0", "VM Network", g.sock, "52:54:00:61:00:02")
    g._wait(lambda: carriers(g, 1) > up, 30, "the guest's link to come back")
    assert ping_ok(h, "-I", "vmk1", "10.61.0.2", deadline=30), g.diag()


def test_qemu_linux_guest_across_vlans(linux, qhost):
    """A guest on port group Blue (VLAN 62) does not reach vmk1 on VM
    Network (VLAN 61), nor vmk1 it; with Blue moved to VLAN 61 both do."""
    h = qhost
    h.ok(*VS, "portgroup", "set", "-p", "VM Network", "-v", "61")
    h.ok(*VS, "portgroup", "add", "-v", "vSwitch0", "-p", "Blue")
    h.ok(*VS, "portgroup", "set", "-p", "Blue", "-v", "62")
    add_vmknic(h, "vmk1", "VM Network", "10.62.0.1")
    g = QemuGuest(h, linux, "qemu0", "52:54:00:62:00:02", "10.62.0.2/24", "10.62.0.1")
    attach(h, "qemu0", "Blue", g.sock, "52:54:00:62:00:02")

    g.wait_serial("vmk-init: eth0 up 10.62.0.2/24")
    g.wait_serial("vmk-init: carrier 1")  # connected: QEMU's link is up
    assert unreachable(h, "10.62.0.2"), g.diag()
    assert "vmk-init: ping ok" not in g.output(), g.diag()

    # the control: the same guest, the VLAN made equal, answers both ways
    h.ok(*VS, "portgroup", "set", "-p", "Blue", "-v", "61")
    assert ping_ok(h, "-I", "vmk1", "10.62.0.2", deadline=30), g.diag()
    g.wait_serial("vmk-init: ping ok")
