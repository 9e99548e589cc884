"""IPv4 routes of the TCP/IP stacks: `esxcli network ip route ipv4
list|add|remove`, set in the stack's namespace through netlink.  Traffic is
checked through veths the test moves into a stack's namespace, towards a
namespace of its own; nothing has a route out of the test's namespaces."""
import pytest

from vmkd_ip_util import (DEFAULT, IF, NETSTACK, ROUTE, Peer, iphost, ip_snapshot,  # noqa: F401
                          routes, stack_ns, vmkping)


@pytest.fixture
def lab(iphost):
    """A host with a stack "lab" joined by a veth to a peer that owns
    10.91.0.1 (behind 10.90.0.2) and 10.92.0.1."""
    h = iphost
    h.ok(*NETSTACK, "add", "-N", "lab")
    p = Peer(stack_ns(h, "lab"), "veth0", "10.90.0.1/24", "10.90.0.2/24")
    p.ip("addr", "add", "10.91.0.1/32", "dev", "lo")
    p.ip("addr", "add", "10.92.0.1/32", "dev", "lo")
    yield h
    p.close()


def test_list_add_remove(iphost):
    h = iphost
    h.ok(*IF, "add", "-i", "vmk1", "-p", "VM Network", "-M", "172.30.30.176",
         "-N", "255.255.255.0")
    h.ok(*ROUTE, "add", "-n", "default", "-g", "172.30.30.1")
    h.ok(*ROUTE, "add", "-n", "10.20.183/24", "-g", "192.168.50.254")
    assert h.ok(*ROUTE, "list") == (
        "Network       Netmask        Gateway         Interface  Source\n"
        "------------  -------------  --------------  ---------  ------\n"
        "default       0.0.0.0        172.30.30.1     vmk1       MANUAL\n"
        "10.20.183.0   255.255.255.0  192.168.50.254  vmk0       MANUAL\n"
        "172.30.30.0   255.255.255.0  0.0.0.0         vmk1       MANUAL\n"
        "192.168.50.0  255.255.255.0  0.0.0.0         vmk0       MANUAL\n")
    assert h.ok(*ROUTE, "list", "-N", DEFAULT) == h.ok(*ROUTE, "list")
    k = sorted((r["dst"], r.get("gateway"), r["protocol"]) for r in routes(h.ns))
    assert ("default", "172.30.30.1", "86") in k and ("10.20.183.0/24", "192.168.50.254", "86") in k
    assert h.json(*ROUTE, "list")[0] == {"Network": "default", "Netmask": "0.0.0.0",
                                         "Gateway": "172.30.30.1", "Interface": "vmk1",
                                         "Source": "MANUAL"}
    h.ok(*ROUTE, "remove", "-n", "default", "-g", "172.30.30.1")
    h.ok(*ROUTE, "remove", "-n", "10.20.183.0/24", "-g", "192.168.50.254", "-N", DEFAULT)
    assert [r["Network"] for r in h.json(*ROUTE, "list")] == ["172.30.30.0", "192.168.50.0"]
    assert [r["dst"] for r in routes(h.ns)] == ["172.30.30.0/24", "192.168.50.0/24"]
    log = h.log()
    assert "route default via 172.30.30.1 added" in log
    assert "route 10.20.183.0/24 via 192.168.50.254 removed" in log


def test_routes_of_a_stack_carry_traffic(lab):
    h = lab
    r = vmkping(h, "-S", "lab", "-c", "1", "-W", "1", "10.91.0.1")
    assert "Network is unreachable" in r.stdout, r.stdout
    h.ok(*ROUTE, "add", "-N", "lab", "-n", "10.91.0.0/24", "-g", "10.90.0.2")
    r = vmkping(h, "-S", "lab", "-c", "2", "-i", "0.2", "-W", "2", "10.91.0.1")
    assert r.returncode == 0 and "2 packets received" in r.stdout, r.stdout + r.stderr
    assert h.json(*ROUTE, "list", "-N", "lab") == [
        {"Network": "10.90.0.0", "Netmask": "255.255.255.0", "Gateway": "0.0.0.0",
         "Interface": "veth0", "Source": "MANUAL"},
        {"Network": "10.91.0.0", "Netmask": "255.255.255.0", "Gateway": "10.90.0.2",
         "Interface": "veth0", "Source": "MANUAL"}]
    # the default stack knows nothing of it
    assert [r["Network"] for r in h.json(*ROUTE, "list")] == ["192.168.50.0"]
    r = vmkping(h, "-c", "1", "-W", "1", "10.91.0.1")
    assert r.returncode == 1
    # a default route of the stack
    h.ok(*ROUTE, "add", "-N", "lab", "-n", "default", "-g", "10.90.0.2")
    assert vmkping(h, "-S", "lab", "-c", "1", "-W", "2", "10.92.0.1").returncode == 0
    h.ok(*ROUTE, "remove", "-N", "lab", "-n", "default", "-g", "10.90.0.2")
    r = vmkping(h, "-S", "lab", "-c", "1", "-W", "1", "10.92.0.1")
    assert "Network is unreachable" in r.stdout


def test_routes_come_back_with_their_network(iphost):
    """The kernel drops a route when its gateway's network goes; vmkd puts
    it back when the network returns."""
    h = iphost
    h.ok(*ROUTE, "add", "-n", "10.60.0.0/16", "-g", "192.168.50.1")
    h.ok(*IF, "set", "-i", "vmk0", "-e", "false")
    assert routes(h.ns) == []
    assert h.json(*ROUTE, "list") == []
    assert "route 10.60.0.0/16 via 192.168.50.1 not set" in h.log()
    h.ok(*IF, "set", "-i", "vmk0", "-e", "true")
    assert [r["Network"] for r in h.json(*ROUTE, "list")] == ["10.60.0.0", "192.168.50.0"]
    h.ok(*IF, "ipv4", "set", "-i", "vmk0", "-t", "none")
    assert routes(h.ns) == []
    h.ok(*IF, "ipv4", "set", "-i", "vmk0", "-t", "static", "-I", "192.168.50.11",
         "-N", "255.255.255.0")
    assert ("10.60.0.0/16", "192.168.50.1") in [(r["dst"], r.get("gateway"))
                                                for r in routes(h.ns)]


def test_routes_go_with_their_stack(iphost):
    h = iphost
    h.ok(*NETSTACK, "add", "-N", "gone")
    h.ok(*IF, "add", "-i", "vmk1", "-p", "VM Network", "-N", "gone")
    h.ok(*IF, "ipv4", "set", "-i", "vmk1", "-t", "static", "-I", "10.5.0.1",
         "-N", "255.255.255.0")
    h.ok(*ROUTE, "add", "-N", "gone", "-n", "default", "-g", "10.5.0.2")
    h.ok(*IF, "remove", "-i", "vmk1")
    h.ok(*NETSTACK, "remove", "-N", "gone")
    assert h.db_dump()["route"] == []
    h.ok(*NETSTACK, "add", "-N", "gone")
    assert h.json(*ROUTE, "list", "-N", "gone") == []


# (arguments after "network ip route ipv4", words of the message)
BAD = [
    (("add", "-n", "10.9.0.0/16", "-g", "10.9.9.1"),
     ["--gateway '10.9.9.1'", "not reachable on netstack defaultTcpipStack"]),
    (("add", "-n", "default", "-g", "192.168.50.1", "-N", "nosuch"),
     ["--netstack 'nosuch'", "no such netstack"]),
    (("add", "-n", "10.0.0.5/8", "-g", "192.168.50.1"),
     ["--network '10.0.0.5/8'", "host bits are set (the network is 10.0.0.0/8)"]),
    (("add", "-n", "10.0.0.0", "-g", "192.168.50.1"), ["--network '10.0.0.0'"]),
    (("add", "-n", "10.0.0.0/33", "-g", "192.168.50.1"), ["--network '10.0.0.0/33'"]),
    (("add", "-n", "300.0.0.0/8", "-g", "192.168.50.1"), ["--network '300.0.0.0/8'"]),
    (("add", "-n", "10.0.0.0/8", "-g", "gw"), ["--gateway 'gw'", "not a unicast IPv4"]),
    (("add", "-n", "10.0.0.0/8", "-g", "224.0.0.1"), ["--gateway '224.0.0.1'"]),
    (("add", "-n", "10.0.0.0/8"), ["Missing required parameter -g|--gateway"]),
    (("add", "-g", "192.168.50.1"), ["Missing required parameter -n|--network"]),
    (("add", "-n", "10.70.0.0/16", "-g", "192.168.50.9"),
     ["--network '10.70.0.0/16'", "already has a route to 10.70.0.0/16 (via 192.168.50.8)"]),
    (("remove", "-n", "10.71.0.0/16", "-g", "192.168.50.1"),
     ["--network '10.71.0.0/16'", "has no route to 10.71.0.0/16"]),
    (("remove", "-n", "10.70.0.0/16", "-g", "192.168.50.1"),
     ["--gateway '192.168.50.1'", "goes via 192.168.50.8"]),
    (("list", "-N", "nosuch"), ["--netstack 'nosuch'"]),
]


@pytest.mark.parametrize("args, words", BAD)
def test_bad_input(iphost, args, words):
    h = iphost
    h.ok(*ROUTE, "add", "-n", "10.70.0.0/16", "-g", "192.168.50.8")
    before = ip_snapshot(h)
    msg = h.fail(*ROUTE, *args)
    for w in words:
        assert w in msg, msg
    assert ip_snapshot(h) == before
