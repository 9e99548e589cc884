"""Basic multicast filtering of VMkernel adapters' ports (datapath/mcast.c,
switching_mcast.c): a multicast frame reaches an adapter only if its stack
joined the group, as on the reference's standard vSwitch; broadcast always;
a promiscuous adapter everything.  IPv6 between two stacks works at once
after its addresses are added (their solicited-node groups are let through
before the kernel has joined them).

Frames are sent and received with AF_PACKET sockets made inside the stacks'
namespaces (vmkd made them for this test's host); nothing leaves them.
Absence is checked by order, not by waiting: a broadcast marker sent after
a frame arrives after it, so once the marker is in, the frame would be too.
"""
import ctypes
import os
import select
import socket
import subprocess
import time

from vmkd_ip_util import IF, NETSTACK, iphost, link, stack_ns, vmkping, wait_for  # noqa: F401

ETH_P = 0x88b5                 # IEEE local experimental ethertype
CLONE_NEWNET = 0x40000000
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_DROP_MEMBERSHIP = 2
PACKET_MR_MULTICAST = 0
BCAST = bytes.fromhex("ffffffffffff")
UNJOINED = bytes.fromhex("333300001234")
ALL_NODES = bytes.fromhex("333300000001")

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


def packet_socket(ns, dev):
    """An AF_PACKET socket bound to dev, made inside namespace ns."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/" + ns, os.O_RDONLY)
    try:
        _setns(target)
        try:
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P))
            s.bind((dev, ETH_P))
        finally:
            _setns(home)
    finally:
        os.close(home)
        os.close(target)
    s.setblocking(False)
    return s


def membership(s, dev_index, mac, op):
    mreq = dev_index.to_bytes(4, "little") + PACKET_MR_MULTICAST.to_bytes(2, "little") + \
        (6).to_bytes(2, "little") + mac + bytes(2)
    s.setsockopt(SOL_PACKET, op, mreq)


class Pair:
    """vmk1 in stack sA sends, vmk2 in stack sB receives."""

    def __init__(self, h):
        for st, vmk, ip in (("sA", "vmk1", "fd00:77::1/64"), ("sB", "vmk2", "fd00:77::2/64")):
            h.ok(*NETSTACK, "add", "-N", st)
            h.ok(*IF, "add", "-i", vmk, "-p", "Management Network", "-N", st)
            h.ok(*IF, "ipv6", "address", "add", "-i", vmk, "-I", ip)
        self.ns_a, self.ns_b = stack_ns(h, "sA"), stack_ns(h, "sB")
        self.src = bytes.fromhex(link(self.ns_a, "vmk1")["address"].replace(":", ""))
        self.vmk2_index = link(self.ns_b, "vmk2")["ifindex"]
        self.tx = packet_socket(self.ns_a, "vmk1")
        self.rx = packet_socket(self.ns_b, "vmk2")
        self.seq = 0

    def close(self):
        self.tx.close()
        self.rx.close()

    def send(self, dst):
        """Sends a numbered frame to dst; returns its number."""
        self.seq += 1
        self.tx.send(dst + self.src + ETH_P.to_bytes(2, "big") +
                     self.seq.to_bytes(4, "big") + bytes(42))
        return self.seq

    def received(self, until, timeout=5.0):
        """Numbers of the frames vmk2 gets, up to and with frame `until`."""
        got, end = [], time.monotonic() + timeout
        while until not in got and time.monotonic() < end:
            r, _, _ = select.select([self.rx], [], [], 0.2)
            if not r:
                continue
            f = self.rx.recv(2048)
            if len(f) >= 18 and f[12:14] == ETH_P.to_bytes(2, "big"):
                got.append(int.from_bytes(f[14:18], "big"))
        return got

    def passes(self, dst):
        """Whether a frame to dst reaches vmk2 (a broadcast marker after it)."""
        n = self.send(dst)
        marker = self.send(BCAST)
        got = self.received(marker)
        assert marker in got, "the broadcast marker did not arrive"
        return n in got


def test_multicast_reaches_only_the_adapters_that_joined(iphost):
    p = Pair(iphost)
    try:
        assert not p.passes(UNJOINED)
        assert p.passes(ALL_NODES)          # the kernel joined it for vmk2
        # a group joined inside the stack: the switch learns it from the kernel
        membership(p.rx, p.vmk2_index, UNJOINED, PACKET_ADD_MEMBERSHIP)
        assert wait_for(lambda: p.passes(UNJOINED)), "the joined group is still filtered"
        membership(p.rx, p.vmk2_index, UNJOINED, PACKET_DROP_MEMBERSHIP)
        assert wait_for(lambda: not p.passes(UNJOINED)), "the left group still passes"
        # a promiscuous adapter gets every multicast frame
        subprocess.run(["ip", "-n", p.ns_b, "link", "set", "vmk2", "promisc", "on"], check=True)
        assert wait_for(lambda: p.passes(UNJOINED)), "promiscuous vmk2 is still filtered"
    finally:
        p.close()


def test_ipv6_across_stacks_right_after_the_addresses_are_added(iphost):
    h = iphost
    p = Pair(h)
    p.close()
    # neighbour discovery for fd00:77::2 goes to its solicited-node group
    r = vmkping(h, "-I", "vmk1", "-6", "-c", "1", "-W", "3", "fd00:77::2")
    assert r.returncode == 0, r.stdout + r.stderr
    h.ok(*IF, "ipv6", "address", "add", "-i", "vmk2", "-I", "fd00:78::2/64")
    h.ok(*IF, "ipv6", "address", "add", "-i", "vmk1", "-I", "fd00:78::1/64")
    r = vmkping(h, "-I", "vmk1", "-6", "-c", "1", "-W", "3", "fd00:78::2")
    assert r.returncode == 0, r.stdout + r.stderr
