"""Stopping vmkd with many VMkernel adapters (src/host/net/vmknic_tap.c):
every TAP of the instance is in one netdev group; a clean stop deletes
those of each stack namespace with one group delete and closes the rest
(defaultTcpipStack's) from many threads.  The stop removes every TAP,
leaves the stacks' namespaces, and the next start realizes the same
configuration again.  A device that is not one of the instance's TAPs is
never deleted, even in the TAPs' group: in vmkd's own namespace no group
delete is made at all, and in a stack's namespace a foreign member makes
vmkd fall back to closing its TAPs one by one."""
import subprocess

from vmkd_ip_util import DEFAULT, IF, NETSTACK, ROUTE, close_host, ip_snapshot, ipj, link, rules
from vmkd_util import VS, Host

PG = VS + ("portgroup",)
STACK = "lab"
FALLBACK = "its TAPs are closed one by one"


def vmk_links(ns):
    """name -> (MAC, MTU, group) of the vmkN links in ns."""
    return {l["ifname"]: (l["address"], l["mtu"], l.get("group"))
            for l in ipj(ns, "link", "show") if l["ifname"].startswith("vmk")}


def build(h, n=24):
    """n adapters, alternately in defaultTcpipStack and in STACK, with
    addresses, and gateways on some (policy rules to remove at stop)."""
    h.ok(*VS, "add", "-v", "vSwitchStop", "-P", "256")
    h.ok(*PG, "add", "-p", "pgStop", "-v", "vSwitchStop")
    h.ok(*NETSTACK, "add", "-N", STACK)
    for i in range(1, n + 1):
        stack = STACK if i % 2 else DEFAULT
        h.ok(*IF, "add", "-i", "vmk%d" % i, "-p", "pgStop", "-N", stack)
        args = ["-i", "vmk%d" % i, "-t", "static", "-I", "10.%d.%d.1" % (60 + i % 2, i),
                "-N", "255.255.255.0"]
        if i % 3 == 0:
            args += ["-g", "10.%d.%d.254" % (60 + i % 2, i)]
        h.ok(*IF, "ipv4", "set", *args)
    h.ok(*ROUTE, "add", "-N", STACK, "-n", "10.99.0.0/16", "-g", "10.61.1.2")


def gw_rules(ns):
    return [r for r in rules(ns) if str(r.get("table", "")).startswith("100")]


def test_stop_removes_every_tap_and_the_host_restarts_with_the_same_config():
    h = Host(mgmt_ip="192.168.50.11/24").start()
    try:
        build(h)
        lab = "vmk-%s-%s" % (h.name, STACK)
        before = ip_snapshot(h)
        links = (vmk_links(h.ns), vmk_links(lab))
        assert len(links[0]) == 13 and len(links[1]) == 12      # vmk0 + 12, 12
        groups = {g for _, _, g in list(links[0].values()) + list(links[1].values())}
        assert len(groups) == 1 and groups != {"default"} and groups != {0}, groups
        assert gw_rules(h.ns) and gw_rules(lab)
        assert h.stop() == 0
        assert vmk_links(h.ns) == {} and vmk_links(lab) == {}
        assert gw_rules(h.ns) == [] and gw_rules(lab) == []
        assert link(lab, "lo") is not None           # the stack's namespace stays
        assert FALLBACK not in h.log()
        h.start()
        assert ip_snapshot(h) == before
        assert (vmk_links(h.ns), vmk_links(lab)) == links
        assert h.stop() == 0
        assert vmk_links(h.ns) == {} and vmk_links(lab) == {}
    finally:
        close_host(h)


def test_stop_never_deletes_a_device_that_is_not_the_instances_tap():
    h = Host().start()
    try:
        build(h, n=4)
        lab = "vmk-%s-%s" % (h.name, STACK)
        group = str(link(h.ns, "vmk0")["group"])
        # someone else's devices in the TAPs' group: one in vmkd's own
        # namespace (a NIC of the host), one in the stack's namespace
        h.add_nic("vmnic7")
        subprocess.run(["ip", "-n", h.ns, "link", "set", "vmnic7", "group", group], check=True)
        subprocess.run(["ip", "-n", lab, "link", "add", "fgn0", "type", "veth", "peer", "name",
                        "fgn1"], check=True)
        subprocess.run(["ip", "-n", lab, "link", "set", "fgn0", "group", group], check=True)
        assert h.stop() == 0
        assert vmk_links(h.ns) == {} and vmk_links(lab) == {}
        assert str(link(h.ns, "vmnic7")["group"]) == group
        assert str(link(lab, "fgn0")["group"]) == group and link(lab, "fgn1") is not None
        assert "netstack %s: %s" % (STACK, FALLBACK) in h.log()
        assert "fgn0" in h.log()
        h.start()
        assert sorted(vmk_links(h.ns)) == ["vmk0", "vmk2", "vmk4"]
        assert sorted(vmk_links(lab)) == ["vmk1", "vmk3"]
        assert link(lab, "fgn0") is not None
    finally:
        close_host(h)
