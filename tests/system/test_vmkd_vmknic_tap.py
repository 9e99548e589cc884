"""The kernel side of a VMkernel adapter: a TAP vmkN in its stack's
namespace.  In a stack other than defaultTcpipStack the TAP is created
inside that namespace (vmkd opens /dev/net/tun from a thread that entered
it) instead of being moved there; it must come out the same as one in
defaultTcpipStack: a non-persistent single-queue TAP with a virtio-net
header, the instance's netdev group, the MAC and MTU asked for, and up
only while the adapter is enabled.  Checked after an add and after a
restart (the start realizes adapters the same way)."""
from vmkd_ip_util import (DEFAULT, IF, NETSTACK, close_host, iphost, ipj, link,  # noqa: F401
                          stack_ns)

STACK = "tapStack"
MAC = "00:50:56:6a:70:01"
TAP = {"type": "tap", "pi": False, "vnet_hdr": True, "multi_queue": False, "persist": False}


def check_tap(ns, name, mac, mtu, group):
    assert link(ns, name) is not None, "%s not in %s" % (name, ns)
    l = ipj(ns, "-d", "link", "show", "dev", name)[0]     # `ip -d link`: the TAP's details
    assert l["linkinfo"]["info_kind"] == "tun"
    data = l["linkinfo"]["info_data"]
    assert {k: data.get(k) for k in TAP} == TAP, data
    assert str(l["group"]) == group
    assert l["address"] == mac
    assert l["mtu"] == mtu
    assert "UP" in l["flags"]


def test_tap_in_custom_stack_is_like_default(iphost):
    h = iphost
    h.ok(*NETSTACK, "add", "-N", STACK)
    h.ok(*IF, "add", "-i", "vmk1", "-p", "VM Network", "-N", STACK, "-M", MAC, "-m", "9000")
    h.ok(*IF, "add", "-i", "vmk2", "-p", "VM Network", "-N", DEFAULT)
    ns = stack_ns(h, STACK)
    group = str(link(h.ns, "vmk0")["group"])
    assert group != "default" and group != "0"
    vmk2_mac = link(h.ns, "vmk2")["address"]
    for _ in range(2):      # after the add, then after a restart
        check_tap(ns, "vmk1", MAC, 9000, group)
        check_tap(h.ns, "vmk2", vmk2_mac, 1500, group)
        assert link(h.ns, "vmk1") is None
        assert [l["Name"] for l in h.json(*IF, "list", "-N", STACK)] == ["vmk1"]
        h.restart()

    h.ok(*IF, "set", "-i", "vmk1", "-e", "false")
    assert "UP" not in link(ns, "vmk1")["flags"]
    h.ok(*IF, "set", "-i", "vmk1", "-e", "true")
    assert "UP" in link(ns, "vmk1")["flags"]

    h.ok(*IF, "remove", "-i", "vmk1")
    assert link(ns, "vmk1") is None
