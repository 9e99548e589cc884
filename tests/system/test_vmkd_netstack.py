"""TCP/IP stacks: `esxcli network ip netstack list|add|remove|get|set`.
defaultTcpipStack is vmkd's own namespace; any other stack is the named
namespace vmk-INSTANCE-STACK, made by `add` (vmotion and
vSphereProvisioning also by their first adapter) and gone with `remove`,
which lets go of everything vmkd held in it."""
import os
import subprocess

import pytest

from vmkd_ip_util import (DEFAULT, IF, NETSTACK, Peer, addrs, close_host,  # noqa: F401
                          cubic_allowed, iphost, ip_snapshot, link, stack_namespaces, stack_ns,
                          sysctl, wait_for)
from vmkd_util import VMKD, VS, Host

PG = VS + ("portgroup",)


def test_list_and_get(iphost):
    h = iphost
    assert h.ok(*NETSTACK, "list") == (
        "defaultTcpipStack\n"
        "   Key: defaultTcpipStack\n"
        "   Name: defaultTcpipStack\n"
        "   State: 4660\n"
        "\n")
    assert h.ok(*NETSTACK, "get", "-N", DEFAULT) == (
        "   Key: defaultTcpipStack\n"
        "   Name: defaultTcpipStack\n"
        "   Enabled: true\n"
        "   Max Connections: 11000\n"
        "   Current Max Connections: 11000\n"
        "   Congestion Control Algorithm: newreno\n"
        "   IPv6 Enabled: true\n"
        "   Current IPv6 Enabled: true\n"
        "   State: 4660\n")
    assert stack_namespaces(h) == []
    assert "NetStackInstance.Key.string=defaultTcpipStack" in \
        h.ok("--formatter=keyvalue", *NETSTACK, "list")


def test_add_custom_stack(iphost):
    h = iphost
    h.ok(*NETSTACK, "add", "-N", "New_Stack")
    ns = stack_ns(h, "New_Stack")
    assert stack_namespaces(h) == [ns]
    assert "UP" in link(ns, "lo")["flags"]
    assert [s["Name"] for s in h.json(*NETSTACK, "list")] == [DEFAULT, "New_Stack"]
    h.ok(*IF, "add", "-i", "vmk1", "-p", "VM Network", "-N", "New_Stack")
    assert link(ns, "vmk1") and link(h.ns, "vmk1") is None
    assert "netstack New_Stack added" in h.log()


def test_vmotion_and_provisioning_on_demand(iphost):
    h = iphost
    h.ok(*PG, "add", "-p", "vMotion", "-v", "vSwitch0")
    h.ok(*IF, "add", "-i", "vmk1", "-p", "vMotion", "-N", "vmotion")
    h.ok(*IF, "add", "-i", "vmk2", "-p", "VM Network", "-N", "vSphereProvisioning")
    assert [s["Name"] for s in h.json(*NETSTACK, "list")] == \
        [DEFAULT, "vmotion", "vSphereProvisioning"]
    assert stack_namespaces(h) == sorted([stack_ns(h, "vmotion"),
                                          stack_ns(h, "vSphereProvisioning")])
    # a stack stays when its last adapter goes, and goes by remove
    h.ok(*IF, "remove", "-i", "vmk1")
    assert "vmotion" in [s["Name"] for s in h.json(*NETSTACK, "list")]
    h.ok(*NETSTACK, "remove", "-N", "vmotion")
    assert stack_namespaces(h) == [stack_ns(h, "vSphereProvisioning")]
    # other names are not made on demand
    msg = h.fail(*IF, "add", "-i", "vmk3", "-p", "VM Network", "-N", "other")
    assert msg == "Error: Invalid --netstack 'other': no such netstack"


def test_set(iphost):
    h = iphost
    h.ok(*NETSTACK, "add", "-N", "lab")
    ns = stack_ns(h, "lab")
    assert sysctl(ns, "ipv4/tcp_congestion_control") == "reno"
    algo = "cubic" if cubic_allowed() else "newreno"
    h.ok(*NETSTACK, "set", "-N", "lab", "-c", algo, "-m", "20000")
    assert sysctl(ns, "ipv4/tcp_congestion_control") == ("cubic" if algo == "cubic" else "reno")
    g = h.json(*NETSTACK, "get", "-N", "lab")
    assert (g["CongestionControlAlgorithm"], g["MaxConnections"],
            g["CurrentMaxConnections"]) == (algo, 20000, 20000)
    h.ok(*IF, "add", "-i", "vmk1", "-p", "VM Network", "-N", "lab")
    h.ok(*IF, "ipv6", "address", "add", "-i", "vmk1", "-I", "fd00:1::1/64")
    h.ok(*NETSTACK, "set", "-N", "lab", "-i", "false")
    assert sysctl(ns, "ipv6/conf/all/disable_ipv6") == "1"
    assert sysctl(ns, "ipv6/conf/default/disable_ipv6") == "1"
    assert h.json(*NETSTACK, "get", "-N", "lab")["IPv6Enabled"] is False
    msg = h.fail(*IF, "ipv6", "address", "add", "-i", "vmk1", "-I", "fd00:1::2/64")
    assert "IPv6 is disabled on netstack lab" in msg
    h.ok(*NETSTACK, "set", "-N", "lab", "-i", "true")
    assert sysctl(ns, "ipv6/conf/all/disable_ipv6") == "0"
    assert addrs(ns, "vmk1", "inet6") == ["fd00:1::1/64"]
    # the default stack is vmkd's namespace
    h.ok(*NETSTACK, "set", "-N", DEFAULT, "-m", "12000")
    assert h.json(*NETSTACK, "get", "-N", DEFAULT)["MaxConnections"] == 12000


def test_remove_lets_go_of_the_namespace(iphost):
    """After remove, nothing keeps the namespace alive: a veth in it dies
    with it, so its peer in the test's namespace goes too."""
    h = iphost
    h.ok(*NETSTACK, "add", "-N", "temp")
    ns = stack_ns(h, "temp")
    h.ok(*IF, "add", "-i", "vmk1", "-p", "VM Network", "-N", "temp")
    peer = Peer(ns, "veth0", "10.3.0.1/24", "10.3.0.2/24")
    try:
        msg = h.fail(*NETSTACK, "remove", "-N", "temp")
        assert msg == "Error: Cannot remove netstack temp: it is in use by vmk1"
        h.ok(*IF, "remove", "-i", "vmk1")
        h.ok(*NETSTACK, "remove", "-N", "temp")
        assert stack_namespaces(h) == []
        assert wait_for(lambda: link(peer.ns, "p0") is None), "the namespace is still alive"
        assert [s["Name"] for s in h.json(*NETSTACK, "list")] == [DEFAULT]
        assert "netstack temp removed" in h.log()
    finally:
        peer.close()


# (arguments after "network ip netstack", the message or None)
BAD = [
    (("add", "-N", DEFAULT), "Error: Invalid --netstack 'defaultTcpipStack': a netstack with "
     "this name already exists"),
    (("add", "-N", "bad name"), "Error: Invalid --netstack 'bad name': a netstack name has 1 "
     "to 32 letters, digits, '_' or '-'"),
    (("add", "-N", "a/b"), None),
    (("add", "-N", ""), None),
    (("add", "-N", "x" * 33), None),
    (("add",), "Error: Missing required parameter -N|--netstack"),
    (("add", "-N", "lab"), "Error: Invalid --netstack 'lab': a netstack with this name "
     "already exists"),
    (("remove", "-N", DEFAULT), "Error: Cannot remove netstack defaultTcpipStack: it is the "
     "host's default TCP/IP stack"),
    (("remove", "-N", "nosuch"), "Error: Invalid --netstack 'nosuch': no such netstack"),
    (("get", "-N", "nosuch"), "Error: Invalid --netstack 'nosuch': no such netstack"),
    (("set", "-N", "nosuch", "-m", "5"), "Error: Invalid --netstack 'nosuch': no such netstack"),
    (("set", "-N", "lab"), "Error: Nothing to set: give -c|--ccalgo, -i|--ipv6enabled or "
     "-m|--maxconn"),
    (("set", "-N", "lab", "-c", "bbr"), "Error: Invalid --ccalgo 'bbr': must be newreno or "
     "cubic"),
    (("set", "-N", "lab", "-m", "0"), "Error: Invalid --maxconn '0': this value must be in "
     "the range (1 - 1000000)"),
    (("set", "-N", "lab", "-i", "maybe"), "Error: While processing '--ipv6enabled'. Argument "
     "type mismatch. Expecting boolean value. Got 'maybe'"),
]


@pytest.mark.parametrize("args, msg", BAD)
def test_bad_input(iphost, args, msg):
    h = iphost
    h.ok(*NETSTACK, "add", "-N", "lab")
    before, names = ip_snapshot(h), stack_namespaces(h)
    got = h.fail(*NETSTACK, *args)
    if msg:
        assert got == msg
    else:
        assert got.startswith("Error: Invalid --netstack")
    assert ip_snapshot(h) == before and stack_namespaces(h) == names


def test_instance_names_have_no_dash(tmp_path):
    r = subprocess.run([VMKD, "--instance", "a-b"], env=dict(os.environ, VMK_ROOT=str(tmp_path)),
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    assert r.stderr.strip() == "vmkd: invalid instance name 'a-b': use 1 to 32 letters, " \
        "digits or '_'"


def test_stacks_of_two_hosts_do_not_mix():
    a, b = Host().start(), Host().start()
    try:
        a.ok(*NETSTACK, "add", "-N", "lab")
        b.ok(*NETSTACK, "add", "-N", "lab")
        assert stack_namespaces(a) == [stack_ns(a, "lab")]
        assert stack_namespaces(b) == [stack_ns(b, "lab")]
        a.ok(*NETSTACK, "remove", "-N", "lab")
        assert stack_namespaces(a) == [] and stack_namespaces(b) == [stack_ns(b, "lab")]
    finally:
        close_host(a)
        close_host(b)
