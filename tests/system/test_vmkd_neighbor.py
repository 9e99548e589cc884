"""Neighbour tables and connections of the TCP/IP stacks: `esxcli network
ip neighbor list|remove` and `esxcli network ip connection list`.

A host with a vSwitch whose uplink vmnic1 is a veth to a peer namespace
of the test's (10.61.0.9, a fixed MAC), vmk1 (defaultTcpipStack,
10.61.0.1) and vmk2 (stack "other", 10.61.0.2) on its port group.  TCP
runs between processes the test starts inside the stacks' namespaces,
over that vSwitch; nothing has a route out of the test's namespaces, and
every process is bounded in time."""
import json
import subprocess
import sys
import uuid

import pytest

from vmkd_util import (DEFAULT_STACK, Host, add_portgroup, add_vmknic, add_vswitch,
                       close_hosts, no_ipv6, ping_ok, stack_ns)
from vmkd_ip_util import cubic_allowed, ipj, wait_for

NEIGH = ("network", "ip", "neighbor")
CONN = ("network", "ip", "connection")
PEER_MAC = "02:00:00:61:00:09"
PEER_IP = "10.61.0.9"
PORT = 41861


@pytest.fixture
def lab():
    h = Host().start()
    peer = "vmkn-" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", peer], check=True)
    try:
        subprocess.run(["ip", "-n", peer, "link", "add", "p0", "address", PEER_MAC, "type",
                        "veth", "peer", "name", "vmnic1", "netns", h.ns], check=True)
        no_ipv6(h.ns, "vmnic1")
        subprocess.run(["ip", "-n", h.ns, "link", "set", "vmnic1", "up"], check=True)
        subprocess.run(["ip", "-n", peer, "addr", "add", PEER_IP + "/24", "dev", "p0"],
                       check=True)
        subprocess.run(["ip", "-n", peer, "link", "set", "p0", "up"], check=True)
        add_vswitch(h, "vSwitch1", uplinks=("vmnic1",))
        add_portgroup(h, "Lab")
        add_vmknic(h, "vmk1", "Lab", "10.61.0.1")
        add_vmknic(h, "vmk2", "Lab", "10.61.0.2", stack="other")
        h.peer = peer
        yield h
    finally:
        close_hosts(h)
        subprocess.run(["ip", "netns", "del", peer], check=False)


def entries(h, *args):
    return h.json(*NEIGH, "list", *args)


def entry(h, ip, *args):
    found = [e for e in entries(h, *args) if e["Neighbor"] == ip]
    assert len(found) <= 1, found
    return found[0] if found else None


def vmk_mac(h, vmk):
    return [i for i in h.json("network", "ip", "interface", "list")
            if i["Name"] == vmk][0]["MACAddress"]


def test_list_shows_the_peer_learned_by_a_ping(lab):
    h = lab
    assert ping_ok(h, "-I", "vmk1", PEER_IP)
    e = entry(h, PEER_IP)
    assert e is not None, entries(h)
    assert (e["MacAddress"], e["Vmknic"], e["Type"]) == (PEER_MAC, "vmk1", "Dynamic")
    assert e["State"] in ("Reachable", "Stale", "Delay", "Probe"), e
    if e["State"] == "Reachable":
        sec = int(e["Expiry"].split()[0])
        assert e["Expiry"] == "%d sec" % sec and 0 <= sec <= 60, e
    else:
        assert e["Expiry"] == "", e
    # the human table, its columns as the reference names them
    out = h.ok(*NEIGH, "list").splitlines()
    assert out[0].split() == ["Neighbor", "Mac", "Address", "Vmknic", "Expiry", "State",
                              "Type"]
    assert any(PEER_IP in line and PEER_MAC in line and "vmk1" in line for line in out[2:])
    # the same as -i, -v 4, -N of the adapter's stack; nothing for IPv6 pings not sent
    assert entry(h, PEER_IP, "-i", "vmk1")["MacAddress"] == PEER_MAC
    assert entry(h, PEER_IP, "-N", DEFAULT_STACK, "-v", "4")["MacAddress"] == PEER_MAC
    assert entry(h, PEER_IP, "-v", "6") is None
    assert entry(h, PEER_IP, "-v", "all")["MacAddress"] == PEER_MAC
    # only VMkernel adapters: the kernel's entries are all on vmkN
    assert {e["Vmknic"] for e in entries(h, "-v", "all")} <= {"vmk0", "vmk1"}


def test_each_stack_shows_its_own_entries(lab):
    h = lab
    assert ping_ok(h, "-I", "vmk2", PEER_IP)
    other = entries(h, "-N", "other")
    assert [(e["Neighbor"], e["MacAddress"], e["Vmknic"]) for e in other] == \
        [(PEER_IP, PEER_MAC, "vmk2")], other
    assert entry(h, PEER_IP, "-i", "vmk2")["Vmknic"] == "vmk2"   # -i alone: vmk2's stack
    assert entry(h, PEER_IP) is None                            # the default stack has none
    assert entry(h, PEER_IP, "-i", "vmk1") is None


def test_remove(lab):
    h = lab
    assert ping_ok(h, "-I", "vmk1", PEER_IP)
    assert ping_ok(h, "-I", "vmk2", PEER_IP)
    assert entry(h, PEER_IP) is not None
    h.ok(*NEIGH, "remove", "-a", PEER_IP, "-v", "4")
    assert entry(h, PEER_IP) is None
    assert not [n for n in ipj(h.ns, "neigh", "show", "to", PEER_IP) if n.get("lladdr")]
    assert entry(h, PEER_IP, "-N", "other") is not None    # the other stack's stays
    msg = h.fail(*NEIGH, "remove", "-a", PEER_IP, "-v", "4")
    assert msg == ("Error: Invalid --neighbor-addr '%s': netstack %s has no neighbor entry "
                   "for it" % (PEER_IP, DEFAULT_STACK)), msg
    h.ok(*NEIGH, "remove", "-a", PEER_IP, "-v", "4", "--netstack=other", "-i", "vmk2")
    assert entries(h, "-N", "other") == []
    assert "Neighbor: " in h.log() and \
        "netstack other: neighbor %s on vmk2 removed" % PEER_IP in h.log()


# (arguments after `network ip neighbor`, the message after "Error: ")
BAD = [
    (("list", "-N", "nosuch"), "Invalid --netstack 'nosuch': no such netstack"),
    (("list", "-i", "vmk9"), "Invalid --interface-name 'vmk9': no such VMkernel network "
                             "interface"),
    (("list", "-i", "vmk1", "-N", "other"), "Invalid --interface-name 'vmk1': the interface "
                                            "is on netstack defaultTcpipStack, not other"),
    (("list", "-v", "5"), "Invalid --version '5': must be 4, 6 or all"),
    (("remove", "-a", PEER_IP, "-v", "all"), "Invalid --version 'all': must be 4, 6"),
    (("remove", "-a", "10.61.0.300", "-v", "4"), "Invalid --neighbor-addr '10.61.0.300': "
                                                 "not an IPv4 address"),
    (("remove", "-a", PEER_IP, "-v", "6"), "Invalid --neighbor-addr '%s': not an IPv6 "
                                           "address" % PEER_IP),
    (("remove", "-a", PEER_IP, "-v", "4", "-N", "nosuch"), "Invalid --netstack 'nosuch': "
                                                           "no such netstack"),
    (("remove", "-a", PEER_IP, "-v", "4", "-i", "vmk2"), "Invalid --neighbor-addr '%s': "
     "netstack other has no neighbor entry for it on vmk2" % PEER_IP),
]


@pytest.mark.parametrize("args, msg", BAD)
def test_bad_input_changes_nothing(lab, args, msg):
    h = lab
    assert ping_ok(h, "-I", "vmk1", PEER_IP)
    before = entry(h, PEER_IP)["MacAddress"]
    assert h.fail(*NEIGH, *args) == "Error: " + msg
    assert entry(h, PEER_IP)["MacAddress"] == before


# ---- connections ----

LISTENER = """
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", %d))
s.listen(4)
print("listening", flush=True)
s.settimeout(20)
c, _ = s.accept()
print("accepted", flush=True)
time.sleep(20)
""" % PORT

CLIENT = """
import socket, time
c = socket.create_connection(("10.61.0.2", %d), timeout=10)
print("connected %%d" %% c.getsockname()[1], flush=True)
time.sleep(20)
""" % PORT


def spawn(ns, code):
    return subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", code],
                            stdout=subprocess.PIPE, text=True)


def conns(h, *args):
    return h.json(*CONN, "list", *args)


def test_connections_of_two_stacks(lab):
    h = lab
    if cubic_allowed():
        h.ok("network", "ip", "netstack", "set", "-N", "other", "-c", "cubic")
    other_cc = "cubic" if cubic_allowed() else "newreno"
    assert ping_ok(h, "-I", "vmk1", "10.61.0.2")
    server = spawn(stack_ns(h, "other"), LISTENER)
    client = None
    try:
        assert server.stdout.readline().strip() == "listening"
        listen = [c for c in conns(h, "-N", "other") if c["State"] == "LISTEN"]
        assert listen == [{"Proto": "tcp", "RecvQ": 0, "SendQ": 0,
                           "LocalAddress": "0.0.0.0:%d" % PORT,
                           "ForeignAddress": "0.0.0.0:0", "State": "LISTEN",
                           "WorldID": server.pid, "CCAlgo": listen[0]["CCAlgo"],
                           "WorldName": listen[0]["WorldName"]}], listen
        assert listen[0]["WorldName"].startswith("python")
        assert listen[0]["CCAlgo"] in ("newreno", "cubic")
        # the default stack has no such listener
        assert not [c for c in conns(h) if c["LocalAddress"].endswith(":%d" % PORT)]
        client = spawn(h.ns, CLIENT)
        line = client.stdout.readline().split()
        assert line[0] == "connected", line
        cport = int(line[1])
        assert server.stdout.readline().strip() == "accepted"
        mine = "10.61.0.1:%d" % cport
        theirs = "10.61.0.2:%d" % PORT
        est = wait_for(lambda: [c for c in conns(h, "-N", "other")
                                if c["State"] == "ESTABLISHED"])
        assert [(c["LocalAddress"], c["ForeignAddress"], c["WorldID"], c["CCAlgo"])
                for c in est] == [(theirs, mine, server.pid, other_cc)], est
        here = [c for c in conns(h, "-t", "tcp") if c["LocalAddress"] == mine]
        assert [(c["Proto"], c["ForeignAddress"], c["State"], c["WorldID"], c["CCAlgo"])
                for c in here] == [("tcp", theirs, "ESTABLISHED", client.pid, "newreno")], here
        # --type filters; UDP has no state and no algorithm
        assert all(c["Proto"] == "udp" for c in conns(h, "-N", "other", "-t", "udp"))
        assert not [c for c in conns(h, "-N", "other", "-t", "udp") if c["State"] or
                    c["CCAlgo"]]
        out = h.ok(*CONN, "list", "-N", "other", "-t", "tcp").splitlines()
        assert out[0].split() == ["Proto", "Recv", "Q", "Send", "Q", "Local", "Address",
                                  "Foreign", "Address", "State", "World", "ID", "CC", "Algo",
                                  "World", "Name"]
        assert any(theirs in line and mine in line and "ESTABLISHED" in line
                   for line in out[2:]), out
        for fmt in ("xml", "csv", "keyvalue"):
            r = h.esxcli("--formatter=" + fmt, *CONN, "list", "-N", "other")
            assert r.rc == 0 and theirs in r.out, r
    finally:
        for p in (server, client):
            if p:
                p.kill()
                p.wait(timeout=10)


# (arguments after `network ip connection`, the message after "Error: ")
CONN_BAD = [
    (("list", "-N", "nosuch"), "Invalid --netstack 'nosuch': no such netstack"),
    (("list", "-t", "sctp"), "Invalid --type 'sctp': must be ip, tcp, udp or all"),
]


@pytest.mark.parametrize("args, msg", CONN_BAD)
def test_connection_bad_input(lab, args, msg):
    assert lab.fail(*CONN, *args) == "Error: " + msg


def test_json_shapes(lab):
    h = lab
    assert ping_ok(h, "-I", "vmk1", PEER_IP)
    e = json.loads(h.ok("--formatter=json", *NEIGH, "list"))
    assert set(e[0]) == {"Neighbor", "MacAddress", "Vmknic", "Expiry", "State", "Type"}
    r = h.esxcli("--formatter=keyvalue", *NEIGH, "list")
    assert r.rc == 0 and "Neighbor.MacAddress.string=%s" % PEER_MAC in r.out, r
