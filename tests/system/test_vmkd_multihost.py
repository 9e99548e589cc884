"""Several vmkd hosts on one machine, cabled together: VMkernel adapters
reach each other across hosts on their own TCP/IP stack only, three hosts
talk through a physical switch, and a host killed with -9 comes back with
the same configuration and its traffic flowing again.

Each host is a vmkd in a namespace of its own (vmkd_util.Host); cables are
veth pairs named vmnic0 at both ends (vmkd_util.wire); the physical switch
is a Linux bridge in a namespace of the test's (vmkd_util.Fabric).

Network safety: only the namespaces and veths these tests make; no route
out; every traffic loop is bounded in count and in time."""
import subprocess
import time
import types

import pytest

from vmkd_ip_util import ip_snapshot, ipj, sysctl
from vmkd_util import (VMKPING, VS, Fabric, Host, add_portgroup, add_vmknic, add_vswitch,
                      close_hosts, ping_ok, ping_stats, vmkping, wire)


@pytest.fixture
def hosts2():
    """Two hosts, A's vmnic0 cabled to B's vmnic0."""
    a, b = Host(), Host()
    try:
        wire(a, b)
        yield a.start(), b.start()
    finally:
        close_hosts(a, b)


def two_stacks(h, n):
    """vSwitch1 on vmnic0 with port groups Management2 and vMotion; vmk1 in
    defaultTcpipStack (10.71.0.N/24), vmk2 on the vmotion stack (10.72.0.N/24)."""
    add_vswitch(h)
    add_portgroup(h, "Management2")
    add_portgroup(h, "vMotion")
    add_vmknic(h, "vmk1", "Management2", "10.71.0.%d" % n)
    add_vmknic(h, "vmk2", "vMotion", "10.72.0.%d" % n, stack="vmotion")


def fails(h, *args):
    r = vmkping(h, "-c", "2", "-i", "0.2", "-W", "1", *args)
    return r.rc != 0 and (r.out == "" or ping_stats(r)[1] == 0)


def test_vmkping_across_hosts_on_the_right_stack_only(hosts2):
    a, b = hosts2
    two_stacks(a, 1)
    two_stacks(b, 2)
    assert ping_ok(a, "-I", "vmk1", "10.71.0.2")
    assert ping_ok(a, "-S", "vmotion", "10.72.0.2")
    r = vmkping(a, "-S", "vmotion", "-c", "3", "-i", "0.2", "10.72.0.2")
    assert r.rc == 0 and ping_stats(r) == (3, 3), r
    r = vmkping(b, "-I", "vmk1", "-c", "3", "-i", "0.2", "10.71.0.1")
    assert r.rc == 0 and ping_stats(r) == (3, 3), r
    # the vMotion adapter is not reachable from defaultTcpipStack, nor the
    # management one from the vmotion stack: each stack routes its own
    assert fails(a, "10.72.0.2")
    assert fails(a, "-S", "vmotion", "10.71.0.2")
    assert fails(a, "-I", "vmk2", "10.71.0.2")


def lladdr(ns, dev):
    return [l["address"] for l in ipj(ns, "link", "show", "dev", dev)][0]


def neigh_mac(ns, ip):
    return [n.get("lladdr") for n in ipj(ns, "neigh", "show", "to", ip)]


def test_uplinks_carry_the_vswitch_only(hosts2):
    """The kernel's own stack of a host's namespace stays off its uplinks,
    as off a bridge port: a NIC must never answer ARP for a vmknic's
    address (with Linux's defaults it did, with its own MAC, and the peer
    sent the adapter's traffic to the NIC, around the switch).  While the
    NIC is an uplink its arp_ignore is 8; out of the vSwitch it gets its
    value back.  A cable that is up is an uplink that is up at once (its
    carrier), not when the kernel gets round to telling."""
    a, b = hosts2
    for h, n in ((a, 1), (b, 2)):
        assert sysctl(h.ns, "ipv4/conf/vmnic0/arp_ignore") == "0"
        two_stacks(h, n)
        assert "vmnic0 (vmnic0) connected to vSwitch1, link up" in h.log()
        assert sysctl(h.ns, "ipv4/conf/vmnic0/arp_ignore") == "8"
    vmk1_a, nic_a = lladdr(a.ns, "vmk1"), lladdr(a.ns, "vmnic0")
    for _ in range(5):  # which reply came last was a race: try a few times
        subprocess.run(["ip", "-n", b.ns, "neigh", "flush", "dev", "vmk1"], check=True)
        assert ping_ok(b, "-I", "vmk1", "10.71.0.1")
        assert neigh_mac(b.ns, "10.71.0.1") == [vmk1_a], (vmk1_a, nic_a)
        assert nic_a not in [m for r in ipj(b.ns, "neigh") for m in [r.get("lladdr")]]
    a.ok(*VS, "uplink", "remove", "-v", "vSwitch1", "-u", "vmnic0")
    assert sysctl(a.ns, "ipv4/conf/vmnic0/arp_ignore") == "0"


def test_a_nic_with_the_hosts_address_keeps_its_arp(hosts2):
    """A NIC that holds an IPv4 address is the host's: made an uplink, it
    is left answering ARP (taking that away would cut the host off on
    it), with a warning that says why."""
    a, _ = hosts2
    subprocess.run(["ip", "-n", a.ns, "addr", "add", "10.79.0.1/24", "dev", "vmnic0"],
                   check=True)
    add_vswitch(a)
    assert sysctl(a.ns, "ipv4/conf/vmnic0/arp_ignore") == "0"
    assert ("vmnic0 (vmnic0) has the host's address 10.79.0.1: the host keeps answering "
            "ARP on it") in a.log()


def test_uplink_and_cable_changes(hosts2):
    """The datapath follows its uplinks: removed with esxcli, traffic
    stops; added back, it flows; the cable pulled out (the veths deleted)
    and a new one put in, it flows again."""
    a, b = hosts2
    two_stacks(a, 1)
    two_stacks(b, 2)
    assert ping_ok(a, "-I", "vmk1", "10.71.0.2")
    a.ok(*VS, "uplink", "remove", "-v", "vSwitch1", "-u", "vmnic0")
    assert fails(a, "-I", "vmk1", "10.71.0.2")
    a.ok(*VS, "uplink", "add", "-v", "vSwitch1", "-u", "vmnic0")
    assert ping_ok(a, "-I", "vmk1", "10.71.0.2")
    subprocess.run(["ip", "-n", a.ns, "link", "del", "vmnic0"], check=True)
    assert fails(a, "-I", "vmk1", "10.71.0.2")
    wire(a, b)
    assert ping_ok(a, "-I", "vmk1", "10.71.0.2")


def test_three_hosts_through_a_physical_switch():
    hosts, fabric = [Host(), Host(), Host()], Fabric()
    try:
        for n, h in enumerate(hosts, 1):
            fabric.plug(h)
            h.start()
            add_vswitch(h)
            add_portgroup(h, "Net", vlan=30)
            add_vmknic(h, "vmk1", "Net", "10.73.0.%d" % n)
        for i, h in enumerate(hosts):
            for n in range(1, 4):
                if n != i + 1:
                    assert ping_ok(h, "-I", "vmk1", "10.73.0.%d" % n), (h.name, n)
    finally:
        close_hosts(*hosts)
        fabric.close()


def test_config_and_traffic_survive_kill9(hosts2):
    """kill -9 of vmkd while B pings it: after a restart its whole
    configuration is identical (esxcli's view, adapters, stacks and routes
    included, and the store) and its adapter answers again, jumbo frames
    included; the echo requests lost meanwhile are counted."""
    a, b = hosts2
    for h, n in ((a, 1), (b, 2)):
        add_vswitch(h, mtu=9000)
        add_portgroup(h, "Data", vlan=42)
        add_vmknic(h, "vmk1", "Data", "10.78.0.%d" % n, mtu=9000)
    a.ok(*VS, "portgroup", "policy", "security", "set", "-p", "Data",
         "--allow-forged-transmits", "false")
    a.ok(*VS, "portgroup", "policy", "shaping", "set", "-p", "Data", "--enabled", "true",
         "--avg-bandwidth", "1000000", "--peak-bandwidth", "2000000", "--burst-size", "100000")
    assert ping_ok(a, "-I", "vmk1", "10.78.0.2")
    before = ip_snapshot(a)
    ping = subprocess.Popen([VMKPING, "--instance", b.name, "-I", "vmk1", "-c", "60", "-i",
                             "0.1", "-W", "1", "10.78.0.1"], env=b.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    a.kill9()
    a.start()
    assert ip_snapshot(a) == before
    assert ping_ok(a, "-I", "vmk1", "10.78.0.2")
    out, _ = ping.communicate(timeout=60)
    sent, got = ping_stats(types.SimpleNamespace(out=out))
    print("\nkill -9 and restart: %d of %d echo requests from B lost" % (sent - got, sent))
    assert got > 0
    r = vmkping(a, "-I", "vmk1", "-d", "-s", "8972", "-c", "3", "-i", "0.2", "10.78.0.2")
    assert r.rc == 0 and ping_stats(r) == (3, 3), r
    r = vmkping(b, "-I", "vmk1", "-c", "3", "-i", "0.2", "10.78.0.1")
    assert r.rc == 0 and ping_stats(r) == (3, 3), r
