"""The vSwitch datapath of vmkd, as an administrator meets it: VLANs, MTU,
the security policy (forged transmits, MAC address changes, promiscuous
mode), traffic shaping, and NIC teaming failover and failback.

Hosts are vmkd instances in namespaces of their own (vmkd_util.Host); two
hosts are joined by veth pairs named vmnicN at both ends (vmkd_util.wire),
their adapters are made with esxcli and checked with vmkping.  Frames are
sent and captured with AF_PACKET sockets inside the adapters' stacks (the
FRAMES script below, run with `ip netns exec`).

Network safety: only the namespaces and veths these tests make; no route
out; every traffic loop is bounded in count and in time."""
import json
import shutil
import subprocess
import sys
import time
import types

import pytest

from vmkd_util import (VMKPING, VS, Host, add_portgroup, add_vmknic, add_vswitch,
                      close_hosts, link_info, ping_ok, ping_stats, set_link, stack_ns,
                      tx_packets, vmkping, wait_link, wire)

# send DEV DST SRC COUNT: COUNT frames of EtherType 0x88b5 (local
# experimental), 10 ms apart.  capture DEV SECONDS: every frame DEV
# receives for SECONDS, as JSON [dst, src, ethertype, vlan, first bytes].
FRAMES = r"""
import json, socket, struct, sys, time
def mac(s):
    return bytes.fromhex(s.replace(":", ""))
def send(dev, dst, src, count):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((dev, 0))
    frame = mac(dst) + mac(src) + b"\x88\xb5" + b"vmk-test".ljust(46, b"\0")
    for _ in range(int(count)):
        s.send(frame)
        time.sleep(0.01)
def vlan_of(anc):
    for level, kind, data in anc:
        if level == 263 and kind == 8 and len(data) >= 16:  # SOL_PACKET, PACKET_AUXDATA
            status, _, _, _, _, tci = struct.unpack("IIIHHH", data[:18])
            if status & 0x10:  # TP_STATUS_VLAN_VALID
                return tci & 0xfff
    return None
def capture(dev, seconds):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.setsockopt(263, 8, 1)
    s.bind((dev, 0))
    s.settimeout(0.1)
    print("ready", flush=True)
    end, out = time.monotonic() + float(seconds), []
    while time.monotonic() < end and len(out) < 10000:
        try:
            data, anc, _, addr = s.recvmsg(65536, 1024)
        except socket.timeout:
            continue
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        vlan, etype = vlan_of(anc), data[12:14].hex()
        if etype == "8100":
            vlan, etype, data = int(data[14:16].hex(), 16) & 0xfff, data[16:18].hex(), data[:12] + data[16:]
        out.append([data[:6].hex(":"), data[6:12].hex(":"), etype, vlan, data[14:40].hex()])
    print(json.dumps(out))
{"send": send, "capture": capture}[sys.argv[1]](*sys.argv[2:])
"""

SEC = ("portgroup", "policy", "security", "set")


def frames(ns, *args, timeout=30):
    return subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", FRAMES] + list(args),
                          capture_output=True, text=True, timeout=timeout, check=True).stdout


class Capture:
    """Frames received on DEV in namespace NS for SECONDS, in the background."""

    def __init__(self, ns, dev, seconds):
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", FRAMES,
                                      "capture", dev, str(seconds)],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def result(self):
        out, _ = self.proc.communicate(timeout=60)
        return json.loads(out)


def mac_of(host, vmk, stack):
    return link_info(stack_ns(host, stack), vmk)["address"]


@pytest.fixture
def hosts2():
    """Two hosts, A's vmnic0 cabled to B's vmnic0."""
    a, b = Host(), Host()
    try:
        wire(a, b)
        yield a.start(), b.start()
    finally:
        close_hosts(a, b)


@pytest.fixture
def host1():
    """One host; vSwitch1 without uplinks and port group "Sec" on it."""
    h = Host()
    try:
        h.start()
        add_vswitch(h, uplinks=())
        add_portgroup(h, "Sec")
        yield h
    finally:
        close_hosts(h)


def local_adapters(h, n, pg="Sec"):
    """vmk1..vmkN on port group pg, each on a stack of its own (s1..sN),
    10.77.0.1..N/24: traffic between them has to cross the vSwitch."""
    for i in range(1, n + 1):
        add_vmknic(h, "vmk%d" % i, pg, "10.77.0.%d" % i, stack="s%d" % i)
    for i in range(2, n + 1):
        assert ping_ok(h, "-I", "vmk1", "10.77.0.%d" % i)


# ---- VLANs ----

def test_vlan_isolation_and_tagging(hosts2):
    """Port groups of VLAN 10 and VLAN 20 on both hosts, all adapters in one
    IP subnet: the same VLAN reaches across hosts, another VLAN does not,
    not even on the same host; frames cross the cable tagged.  A port
    group's VLAN changes under its connected adapter."""
    a, b = hosts2
    for h, n in ((a, 1), (b, 2)):
        add_vswitch(h)
        add_portgroup(h, "V10", vlan=10)
        add_portgroup(h, "V20", vlan=20)
        add_vmknic(h, "vmk1", "V10", "10.74.0.%d" % n)
        add_vmknic(h, "vmk2", "V20", "10.74.0.1%d" % n, stack="iso")
    cap = Capture(b.ns, "vmnic0", 4)
    assert ping_ok(a, "-I", "vmk1", "10.74.0.2")
    assert ping_ok(a, "-S", "iso", "10.74.0.12")
    tags = {f[3] for f in cap.result() if f[2] in ("0800", "0806")}
    assert tags == {10, 20}, tags
    for args in (("-I", "vmk1", "10.74.0.12"),    # B's VLAN 20 from VLAN 10
                 ("-I", "vmk1", "10.74.0.11"),    # A's own VLAN 20 adapter
                 ("-S", "iso", "10.74.0.2")):     # B's VLAN 10 from VLAN 20
        r = vmkping(a, "-c", "2", "-i", "0.2", "-W", "1", *args)
        assert r.rc != 0 and ping_stats(r)[1] == 0, (args, r)
    # B's VLAN 20 port group moves to VLAN 10, its adapter still connected
    b.ok(*VS, "portgroup", "set", "-p", "V20", "-v", "10")
    assert ping_ok(a, "-I", "vmk1", "10.74.0.12")


# ---- MTU ----

def test_mtu_9000_and_1500(hosts2):
    """vSwitch MTU 9000 on both hosts: `vmkping -d -s 8972` (a 9000-byte
    packet) crosses; with the vSwitches back at 1500 it no longer does,
    while 1472 bytes still do.  The uplinks' MTU follows the vSwitch's."""
    a, b = hosts2
    for h, n in ((a, 1), (b, 2)):
        add_vswitch(h, mtu=9000)
        add_portgroup(h, "Jumbo")
        add_vmknic(h, "vmk1", "Jumbo", "10.75.0.%d" % n, mtu=9000)
        assert link_info(h.ns, "vmnic0")["mtu"] == 9000
    assert ping_ok(a, "-I", "vmk1", "10.75.0.2")
    r = vmkping(a, "-I", "vmk1", "-d", "-s", "8972", "-c", "3", "-i", "0.2", "10.75.0.2")
    assert r.rc == 0 and ping_stats(r) == (3, 3), r
    for h in (a, b):
        h.ok(*VS, "set", "-v", "vSwitch1", "-m", "1500")
        assert link_info(h.ns, "vmnic0")["mtu"] == 1500
    r = vmkping(a, "-I", "vmk1", "-d", "-s", "8972", "-c", "2", "-i", "0.2", "-W", "1",
                "10.75.0.2")
    assert r.rc != 0, r
    r = vmkping(a, "-I", "vmk1", "-d", "-s", "1472", "-c", "2", "-i", "0.2", "10.75.0.2")
    assert r.rc == 0, r


# ---- security ----

def test_forged_transmits(host1):
    """Frames whose source MAC is not the adapter's pass while forged
    transmits are accepted (the default) and are dropped once rejected;
    the adapter's own frames pass either way."""
    h = host1
    local_adapters(h, 2)
    own, dst = mac_of(h, "vmk1", "s1"), mac_of(h, "vmk2", "s2")
    forged = "02:00:00:00:00:99"

    def received():
        cap = Capture(stack_ns(h, "s2"), "vmk2", 1.5)
        frames(stack_ns(h, "s1"), "send", "vmk1", dst, forged, "10")
        frames(stack_ns(h, "s1"), "send", "vmk1", dst, own, "10")
        got = [f[1] for f in cap.result() if f[2] == "88b5"]
        return got.count(forged), got.count(own)

    assert received() == (10, 10)
    h.ok(*VS, *SEC, "-p", "Sec", "--allow-forged-transmits", "false")
    assert received() == (0, 10)


def test_mac_address_change(host1):
    """With MAC address changes rejected, an adapter whose stack set another
    MAC gets no frames; accepted, it does; its own MAC back, it does."""
    h = host1
    local_adapters(h, 2)
    s1, s2 = stack_ns(h, "s1"), stack_ns(h, "s2")
    initial = mac_of(h, "vmk2", "s2")
    h.ok(*VS, *SEC, "-p", "Sec", "--allow-mac-change", "false")

    def set_mac(mac):
        subprocess.run(["ip", "-n", s2, "link", "set", "vmk2", "address", mac], check=True)
        subprocess.run(["ip", "-n", s1, "neigh", "flush", "all"], check=True)
        time.sleep(1.5)  # vmkd reads the adapters' MACs once a second

    set_mac("00:50:56:7e:00:42")
    r = vmkping(h, "-I", "vmk1", "-c", "3", "-i", "0.2", "-W", "1", "10.77.0.2")
    assert r.rc != 0 and ping_stats(r)[1] == 0, r
    h.ok(*VS, *SEC, "-p", "Sec", "--allow-mac-change", "true")
    assert ping_ok(h, "-I", "vmk1", "10.77.0.2")
    h.ok(*VS, *SEC, "-p", "Sec", "--allow-mac-change", "false")
    set_mac(initial)
    assert ping_ok(h, "-I", "vmk1", "10.77.0.2")


def test_promiscuous_mode(host1):
    """A capture on a third adapter sees the unicast between two others
    only while its port group allows promiscuous mode."""
    h = host1
    local_adapters(h, 3)
    dst = mac_of(h, "vmk2", "s2")

    def seen():
        cap = Capture(stack_ns(h, "s3"), "vmk3", 2)
        r = vmkping(h, "-I", "vmk1", "-c", "5", "-i", "0.1", "10.77.0.2")
        assert r.rc == 0, r
        return sum(1 for f in cap.result() if f[0] == dst and f[2] == "0800")

    assert seen() == 0
    h.ok(*VS, *SEC, "-p", "Sec", "--allow-promiscuous", "true")
    assert seen() >= 5
    h.ok(*VS, *SEC, "-p", "Sec", "--allow-promiscuous", "false")
    assert seen() == 0


# ---- traffic shaping ----

def iperf_bps(h, *extra, seconds=3):
    """Goodput from vmk1 (s1) to vmk2 (s2) with iperf3, bounded in time."""
    server = subprocess.Popen(["ip", "netns", "exec", stack_ns(h, "s2"), "iperf3", "-s", "-1",
                               "-B", "10.77.0.2"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        out = subprocess.run(["ip", "netns", "exec", stack_ns(h, "s1"), "iperf3", "-J", "-c",
                              "10.77.0.2", "-t", str(seconds)] + list(extra),
                             capture_output=True, text=True, timeout=seconds + 30).stdout
        end = json.loads(out)["end"]
        return end["sum_received" if "sum_received" in end else "sum"]["bits_per_second"]
    finally:
        server.kill()
        server.wait()


@pytest.mark.skipif(not shutil.which("iperf3"), reason="needs iperf3 (scripts/deps.sh)")
def test_traffic_shaping(host1):
    """Shaping on the port group: a UDP stream offered at twice the average
    bandwidth arrives at about the average (measured with iperf3 and
    reported; checked against the limit with a generous factor only).  A
    TCP stream's rate is reported too."""
    h = host1
    local_adapters(h, 2)
    limit = 20000   # Kbps
    offered = "%dK" % (2 * limit)
    free = iperf_bps(h, "-u", "-b", offered)
    h.ok(*VS, "portgroup", "policy", "shaping", "set", "-p", "Sec", "--enabled", "true",
         "--avg-bandwidth", str(limit), "--peak-bandwidth", str(2 * limit),
         "--burst-size", "1000")
    udp = iperf_bps(h, "-u", "-b", offered)
    tcp = iperf_bps(h)
    print("\nshaping, average %d Mbit/s: UDP offered %d Mbit/s, %.1f Mbit/s unshaped, "
          "%.1f Mbit/s shaped; TCP shaped %.2f Mbit/s"
          % (limit / 1000, 2 * limit / 1000, free / 1e6, udp / 1e6, tcp / 1e6))
    assert free > limit * 1000 * 1.5
    assert 0 < udp < limit * 1000 * 1.5
    assert tcp < limit * 1000 * 1.5


# ---- teaming: failover and failback ----

@pytest.fixture
def teamed():
    """A and B cabled twice (vmnic0-vmnic0, vmnic1-vmnic1); on both,
    vSwitch1 with vmnic0 active and vmnic1 standby, and vmk1 on it."""
    a, b = Host(), Host()
    try:
        wire(a, b, "vmnic0", "vmnic0")
        wire(a, b, "vmnic1", "vmnic1")
        for h, n in ((a.start(), 1), (b.start(), 2)):
            add_vswitch(h, uplinks=("vmnic0", "vmnic1"))
            h.ok(*VS, "policy", "failover", "set", "-v", "vSwitch1", "-a", "vmnic0",
                 "-s", "vmnic1")
            add_portgroup(h, "Team")
            add_vmknic(h, "vmk1", "Team", "10.76.0.%d" % n)
        assert ping_ok(a, "-I", "vmk1", "10.76.0.2")
        yield a, b
    finally:
        close_hosts(a, b)


def carried(a, count=20):
    """Pings B COUNT times; returns the frames each of A's uplinks sent."""
    before = [tx_packets(a, n) for n in ("vmnic0", "vmnic1")]
    r = vmkping(a, "-I", "vmk1", "-c", str(count), "-i", "0.05", "10.76.0.2")
    assert r.rc == 0 and ping_stats(r)[1] == count, r
    return [tx_packets(a, n) - b for n, b in zip(("vmnic0", "vmnic1"), before)]


def ping_through_failure(a, action, count=80):
    """Pings every 0.1 s while `action` runs after 2 s; (sent, received)."""
    ping = subprocess.Popen([VMKPING, "--instance", a.name, "-I", "vmk1", "-c", str(count),
                             "-i", "0.1", "-W", "1", "10.76.0.2"], env=a.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2)
    action()
    out, _ = ping.communicate(timeout=count * 0.1 + 30)
    return ping_stats(types.SimpleNamespace(out=out))


def test_failover_and_failback(teamed):
    """The active uplink's link goes down: traffic moves to the standby
    with a few losses (counted and reported); it comes back: traffic moves
    back (failback on, the default).  With failback off it stays."""
    a, b = teamed
    on0, on1 = carried(a)
    assert on0 >= 20 and on1 == 0, (on0, on1)
    sent, got = ping_through_failure(a, lambda: set_link(a, "vmnic0", False))
    print("\nfailover: %d of %d echo requests lost" % (sent - got, sent))
    assert got >= sent - 30, (sent, got)
    on0, on1 = carried(a)
    assert on0 == 0 and on1 >= 20, (on0, on1)

    set_link(a, "vmnic0", True)
    wait_link(a, "vmnic0")
    wait_link(b, "vmnic0")
    assert ping_ok(a, "-I", "vmk1", "10.76.0.2")
    on0, on1 = carried(a)
    assert on0 >= 20 and on1 <= 2, (on0, on1)

    for h in (a, b):
        h.ok(*VS, "policy", "failover", "set", "-v", "vSwitch1", "--failback", "false")
    set_link(a, "vmnic0", False)
    wait_link(a, "vmnic0", up=False)
    assert ping_ok(a, "-I", "vmk1", "10.76.0.2")
    set_link(a, "vmnic0", True)
    wait_link(a, "vmnic0")
    wait_link(b, "vmnic0")
    on0, on1 = carried(a)
    assert on0 <= 2 and on1 >= 20, (on0, on1)
