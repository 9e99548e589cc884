"""IPv6 routes of the TCP/IP stacks: `esxcli network ip route ipv6
list|add|remove`, set in the stack's namespace through netlink (protocol
86, as the IPv4 ones).  Traffic is checked through a veth the test moves
into a stack's namespace, towards a namespace of its own; nothing has a
route out of the test's namespaces."""
import subprocess

import pytest

from vmkd_ip_util import (DEFAULT, IF, NETSTACK, ROUTE6, Peer, iphost, ip_snapshot,  # noqa: F401
                          ipj, stack_ns, vmkping)


def kernel6(ns):
    """(dst, gateway, protocol) of the IPv6 main table of ns, ours only."""
    return sorted((r["dst"], r.get("gateway"), r["protocol"])
                  for r in ipj(ns, "-6", "route", "show") if r.get("protocol") == "86")


def test_list_add_remove(iphost):
    h = iphost
    h.ok(*IF, "ipv6", "address", "add", "-i", "vmk0", "-I", "fd00:50::11/64")
    h.ok(*ROUTE6, "add", "-n", "default", "-g", "fd00:50::1")
    h.ok(*ROUTE6, "add", "-n", "FD00:99:0::/48", "-g", "fd00:50::0254")
    out = h.ok(*ROUTE6, "list")
    assert out.splitlines()[0].split() == ["Network", "Netmask", "Gateway", "Interface",
                                           "Source"]
    rows = h.json(*ROUTE6, "list")
    assert {"Network": "default", "Netmask": 0, "Gateway": "fd00:50::1", "Interface": "vmk0",
            "Source": "MANUAL"} in rows
    assert {"Network": "fd00:99::", "Netmask": 48, "Gateway": "fd00:50::254",
            "Interface": "vmk0", "Source": "MANUAL"} in rows
    assert {"Network": "fd00:50::", "Netmask": 64, "Gateway": "::", "Interface": "vmk0",
            "Source": "MANUAL"} in rows
    assert {"Network": "fe80::", "Netmask": 64, "Gateway": "::", "Interface": "vmk0",
            "Source": "MANUAL"} in rows
    assert h.json(*ROUTE6, "list", "-N", DEFAULT) == rows
    assert kernel6(h.ns) == [("default", "fd00:50::1", "86"),
                             ("fd00:99::/48", "fd00:50::254", "86")]
    # the IPv4 routes are not mixed in, nor these there
    assert all(":" not in r["Network"] for r in h.json("network", "ip", "route", "ipv4",
                                                        "list"))
    h.ok(*ROUTE6, "remove", "-n", "default", "-g", "fd00:50::1")
    h.ok(*ROUTE6, "remove", "-n", "fd00:99::/48", "-g", "fd00:50::254", "-N", DEFAULT)
    assert kernel6(h.ns) == []
    assert [r for r in h.json(*ROUTE6, "list") if r["Gateway"] != "::"] == []
    log = h.log()
    assert "IPv6 route default via fd00:50::1 added" in log
    assert "IPv6 route fd00:99::/48 via fd00:50::254 removed" in log


def test_routes_of_a_stack_carry_traffic_and_survive_restarts(iphost):
    h = iphost
    h.ok(*NETSTACK, "add", "-N", "lab")
    ns = stack_ns(h, "lab")
    p = Peer(ns, "veth0", "192.0.2.1/24", "192.0.2.2/24")
    try:
        p.ip("addr", "add", "fd00:90::2/64", "dev", "p0", "nodad")
        p.ip("addr", "add", "fd00:91::1/128", "dev", "lo")
        h.ok(*IF, "add", "-i", "vmk1", "-p", "VM Network", "-N", "lab")
        subprocess_ip(ns, "addr", "add", "fd00:90::1/64", "dev", "veth0", "nodad")
        h.ok(*ROUTE6, "add", "-N", "lab", "-n", "fd00:91::/64", "-g", "fd00:90::2")
        assert kernel6(ns) == [("fd00:91::/64", "fd00:90::2", "86")]
        assert kernel6(h.ns) == []                  # only in its own stack
        r = vmkping(h, "-S", "lab", "-6", "-c", "1", "-W", "3", "fd00:91::1")
        assert r.returncode == 0, r.stdout + r.stderr
        # IPv6 off: the route leaves the kernel, stays in the store; on: back
        h.ok(*NETSTACK, "set", "-N", "lab", "-i", "false")
        assert kernel6(ns) == []
        msg = h.fail(*ROUTE6, "add", "-N", "lab", "-n", "fd00:92::/64", "-g", "fd00:90::2")
        assert "IPv6 is disabled on netstack lab" in msg
        h.ok(*NETSTACK, "set", "-N", "lab", "-i", "true")
        subprocess_ip(ns, "addr", "replace", "fd00:90::1/64", "dev", "veth0", "nodad")
        h.ok(*IF, "set", "-i", "vmk1", "-m", "1500")  # an adapter change re-adds routes
        assert kernel6(ns) == [("fd00:91::/64", "fd00:90::2", "86")]
        before = ip_snapshot(h)
        h.kill9()
        h.start()
        assert ip_snapshot(h) == before
        assert kernel6(ns) == [("fd00:91::/64", "fd00:90::2", "86")]
    finally:
        p.close()


def subprocess_ip(ns, *args):
    subprocess.run(["ip", "-n", ns] + list(args), check=True)


# (arguments after "network ip route ipv6", words of the message)
BAD = [
    (("add", "-n", "fd00:9::/64", "-g", "fd00:77::1"),
     ["--gateway 'fd00:77::1'", "not reachable on netstack defaultTcpipStack"]),
    (("add", "-n", "default", "-g", "fd00:50::1", "-N", "nosuch"),
     ["--netstack 'nosuch'", "no such netstack"]),
    (("add", "-n", "fd00:9::1/64", "-g", "fd00:50::1"),
     ["--network 'fd00:9::1/64'", "host bits are set (the network is fd00:9::/64)"]),
    (("add", "-n", "fd00:9::", "-g", "fd00:50::1"), ["--network 'fd00:9::'"]),
    (("add", "-n", "fd00:9::/129", "-g", "fd00:50::1"), ["--network 'fd00:9::/129'"]),
    (("add", "-n", "10.0.0.0/8", "-g", "fd00:50::1"), ["--network '10.0.0.0/8'"]),
    (("add", "-n", "fd00:9::/64", "-g", "gw"), ["--gateway 'gw'", "not an IPv6 address"]),
    (("add", "-n", "fd00:9::/64", "-g", "192.168.50.1"), ["--gateway '192.168.50.1'"]),
    (("add", "-n", "fd00:9::/64", "-g", "ff02::1"), ["--gateway 'ff02::1'",
                                                      "not a unicast IPv6"]),
    (("add", "-n", "fd00:9::/64", "-g", "::"), ["--gateway '::'"]),
    (("add", "-n", "fd00:9::/64", "-g", "fe80::1"), ["--gateway 'fe80::1'", "link-local"]),
    (("add", "-n", "fd00:9::/64"), ["Missing required parameter -g|--gateway"]),
    (("add", "-g", "fd00:50::1"), ["Missing required parameter -n|--network"]),
    (("add", "-n", "fd00:70::/32", "-g", "fd00:50::9"),
     ["--network 'fd00:70::/32'", "already has a route to fd00:70::/32 (via fd00:50::8)"]),
    (("remove", "-n", "fd00:71::/32", "-g", "fd00:50::1"),
     ["--network 'fd00:71::/32'", "has no IPv6 route to fd00:71::/32"]),
    (("remove", "-n", "fd00:70::/32", "-g", "fd00:50::1"),
     ["--gateway 'fd00:50::1'", "goes via fd00:50::8"]),
    (("list", "-N", "nosuch"), ["--netstack 'nosuch'"]),
]


@pytest.mark.parametrize("args, words", BAD)
def test_bad_input(iphost, args, words):
    h = iphost
    h.ok(*IF, "ipv6", "address", "add", "-i", "vmk0", "-I", "fd00:50::11/64")
    h.ok(*ROUTE6, "add", "-n", "fd00:70::/32", "-g", "fd00:50::8")
    before = ip_snapshot(h)
    msg = h.fail(*ROUTE6, *args)
    for w in words:
        assert w in msg, msg
    assert ip_snapshot(h) == before
