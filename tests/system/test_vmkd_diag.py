"""`esxcli network diag ping`: the reference's options and its Trace and
Summary output, run by esxcli inside the stack's namespace after asking
vmkd what the adapter and stack names mean.  Targets are the host's own
adapters and the far end of veths the test makes; nothing leaves the
test's namespaces."""
import json
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

from vmkd_ip_util import IF, NETSTACK, ROUTE, Peer, close_host, stack_ns
from vmkd_util import VS, Host

PING = ("network", "diag", "ping")
NS = "{http://www.vmware.com/Products/ESX/5.0/esxcli/}"


@pytest.fixture(scope="module")
def h():
    """vmk0 192.168.50.11 (default stack), vmk1 10.71.0.1 + fd00:71::1 on
    the vmotion stack, whose veth leads to a peer 10.72.0.2 (MTU 1500)."""
    host = Host(mgmt_ip="192.168.50.11/24").start()
    host.ok(*VS, "portgroup", "add", "-p", "vMotion", "-v", "vSwitch0")
    host.ok(*IF, "add", "-i", "vmk1", "-p", "vMotion", "-N", "vmotion", "-m", "9000")
    host.ok(*IF, "ipv4", "set", "-i", "vmk1", "-t", "static", "-I", "10.71.0.1",
            "-N", "255.255.255.0")
    host.ok(*IF, "ipv6", "address", "add", "-i", "vmk1", "-I", "fd00:71::1/64")
    peer = Peer(stack_ns(host, "vmotion"), "veth0", "10.72.0.1/24", "10.72.0.2/24")
    yield host
    peer.close()
    close_host(host)


TRACE = re.compile(
    r"         Received Bytes: (\d+)\n"
    r"         Host: (\S+)\n"
    r"         ICMP Seq: (\d+)\n"
    r"         TTL: (\d+)\n"
    r"         Round-trip Time: (\d+) us\n"
    r"         Dup: (true|false)\n"
    r"         Detail: (.*)\n"
    r"      \n")
SUMMARY = re.compile(
    r"   Summary: \n"
    r"         Host Addr: (\S+)\n"
    r"         Transmitted: (\d+)\n"
    r"         Recieved: (\d+)\n"
    r"         Duplicated: (\d+)\n"
    r"         Packet Lost: (\d+)\n"
    r"         Round-trip Min: (\d+) us\n"
    r"         Round-trip Avg: (\d+) us\n"
    r"         Round-trip Max: (\d+) us\n$")


def parse(out):
    assert out.startswith("   Trace: \n"), out
    body, _, _ = out[len("   Trace: \n"):].partition("   Summary: \n")
    traces = TRACE.findall(body)
    assert "".join(TRACE.sub("", body)) == "", body
    m = SUMMARY.search(out)
    assert m, out
    return traces, m.groups()


def test_ping_an_adapter_of_a_stack(h):
    out = h.ok(*PING, "-I", "vmk1", "-H", "10.71.0.1", "-c", "2", "-i", "0.2")
    traces, summary = parse(out)
    assert [(t[0], t[1], t[2], t[3], t[5], t[6]) for t in traces] == \
        [("64", "10.71.0.1", "0", "64", "false", ""), ("64", "10.71.0.1", "1", "64", "false", "")]
    assert summary[:5] == ("10.71.0.1", "2", "2", "0", "0")
    assert int(summary[5]) <= int(summary[6]) <= int(summary[7])
    # by netstack, and the default count of 3
    traces, summary = parse(h.ok(*PING, "--netstack", "vmotion", "-H", "10.72.0.2",
                                 "-i", "0.2"))
    assert len(traces) == 3 and summary[:5] == ("10.72.0.2", "3", "3", "0", "0")


def test_size_ttl_and_ipv6(h):
    traces, _ = parse(h.ok(*PING, "--netstack", "vmotion", "-H", "10.72.0.2", "-c", "1",
                           "-s", "1000", "-t", "7"))
    assert traces[0][0] == "1008"
    traces, summary = parse(h.ok(*PING, "--netstack", "vmotion", "--ipv6", "-H", "fd00:71::1",
                                 "-c", "1"))
    assert traces[0][:2] == ("64", "fd00:71::1") and summary[2] == "1"


def test_df_too_big_and_unreachable(h):
    """-d with more than the path's MTU (the veth's 1500): every send
    fails; a stack without a route: likewise.  The ping itself succeeds."""
    out = h.ok(*PING, "--netstack", "vmotion", "-H", "10.72.0.2", "-c", "2", "-i", "0.2",
               "-d", "-s", "2000", "-W", "0.5")
    traces, summary = parse(out)
    assert all(t[6] == "sendto() failed (Message too long)" and t[0] == "0" for t in traces)
    assert summary[1:5] == ("2", "0", "0", "100")
    out = h.ok(*PING, "-H", "10.71.0.1", "-c", "1", "-W", "0.5")
    traces, summary = parse(out)
    assert traces[0][6] == "sendto() failed (Network is unreachable)"
    assert summary == ("10.71.0.1", "1", "0", "0", "100", "0", "0", "0")


def test_debug_mode_pings_the_stack_itself(h):
    """-D: the stack's loopback and its adapters' addresses, in turn (this
    stack has no default gateway); the Summary counts them all."""
    r = h.json(*PING, "-D", "--netstack", "vmotion", "-c", "1")
    assert [t["Host"] for t in r["Trace"]] == ["127.0.0.1", "10.71.0.1"]
    assert all(t["ReceivedBytes"] == 64 and t["Detail"] == "" for t in r["Trace"])
    assert r["Summary"]["HostAddr"] == "127.0.0.1, 10.71.0.1"
    assert (r["Summary"]["Transmitted"], r["Summary"]["Recieved"]) == (2, 2)
    # --ipv6: ::1, then vmk1's addresses
    r = h.json(*PING, "-D", "--netstack", "vmotion", "--ipv6", "-c", "1")
    hosts = [t["Host"] for t in r["Trace"]]
    assert hosts[0] == "::1" and "fd00:71::1" in hosts
    assert r["Summary"]["Recieved"] == len(hosts)
    # the default stack's gateway is pinged last
    h.ok(*ROUTE, "add", "-n", "default", "-g", "192.168.50.1")
    try:
        r = h.json(*PING, "-D", "-c", "1", "-W", "0.5")
        # nobody owns the gateway here: sent to, no reply in the Trace
        assert [t["Host"] for t in r["Trace"]] == ["127.0.0.1", "192.168.50.11"]
        assert r["Summary"]["HostAddr"] == "127.0.0.1, 192.168.50.11, 192.168.50.1"
        assert (r["Summary"]["Transmitted"], r["Summary"]["Recieved"]) == (3, 2)
    finally:
        h.ok(*ROUTE, "remove", "-n", "default", "-g", "192.168.50.1")


def test_formatters(h):
    j = json.loads(h.ok("--formatter=json", *PING, "-H", "192.168.50.11", "-c", "1"))
    assert list(j) == ["Trace", "Summary"]
    assert list(j["Trace"][0]) == ["ReceivedBytes", "Host", "ICMPSeq", "TTL", "RoundtripTime",
                                   "Dup", "Detail"]
    assert j["Summary"]["HostAddr"] == "192.168.50.11" and j["Summary"]["Recieved"] == 1
    root = ET.fromstring(h.ok("--formatter=xml", *PING, "-H", "192.168.50.11", "-c", "1"))
    s = root.find(NS + "root/" + NS + "structure")
    assert s.get("typeName") == "VMKPing"
    trace = s.find(NS + "field[@name='Trace']/" + NS + "list")
    assert trace.get("type") == "structure"
    assert trace.find(NS + "structure").get("typeName") == "VMKPingTrace"
    summ = s.find(NS + "field[@name='Summary']/" + NS + "structure")
    assert summ.get("typeName") == "VMKPingSummary"
    assert summ.find(NS + "field[@name='Transmitted']/" + NS + "integer").text == "1"
    kv = h.ok("--formatter=keyvalue", *PING, "-H", "192.168.50.11", "-c", "1")
    assert "VMKPing.Trace.VMKPingTrace.ReceivedBytes.integer=64\n" in kv
    assert "VMKPing.Summary.VMKPingSummary.Recieved.integer=1\n" in kv


# (arguments after "network diag ping", the message)
BAD = [
    ((), "Error: Missing required parameter -H|--host"),
    (("-H", "10.71.0.1", "-I", "vmk9"),
     "Error: Invalid --interface 'vmk9': no such VMkernel network interface"),
    (("-H", "10.71.0.1", "--netstack", "nosuch"),
     "Error: Invalid --netstack 'nosuch': no such netstack"),
    (("-H", "10.71.0.1", "-I", "vmk1", "--netstack", "defaultTcpipStack"),
     "Error: Invalid --interface 'vmk1': it is on netstack vmotion, not defaultTcpipStack"),
    (("-H", "10.71.0.1", "--ipv4", "--ipv6"),
     "Error: Invalid --ipv6: --ipv4 and --ipv6 exclude each other"),
    (("-H", "10.71.0.1", "-i", "soon"),
     "Error: Invalid --interval 'soon': a number of seconds (0.001 - 3600)"),
    (("-H", "10.71.0.1", "-W", "-1"), "Error: Invalid --wait '-1': a number of seconds (0 - 3600)"),
    (("-H", "10.71.0.1", "-c", "0"),
     "Error: Invalid --count '0': this value must be in the range (1 - 1000000)"),
    (("-H", "10.71.0.1", "-t", "256"),
     "Error: Invalid --ttl '256': this value must be in the range (1 - 255)"),
    (("-D", "-H", "10.71.0.1"), "Error: Invalid --host '10.71.0.1': debug mode (-D) pings "
     "the netstack's own addresses and takes no host"),
    (("-D", "--netstack", "nosuch"), "Error: Invalid --netstack 'nosuch': no such netstack"),
    (("-H", "10.71.0.1", "-N", "10.71.0.9"),
     "Error: Invalid --nexthop '10.71.0.9': it requires --interface"),
    (("-H", "10.71.0.1", "-I", "vmk1", "-N", "gw"),
     "Error: Invalid --nexthop 'gw': an IPv4 address in dotted quad notation"),
    (("-H", "fd00::1", "-I", "vmk1", "--ipv6", "-N", "10.71.0.9"),
     "Error: Invalid --nexthop '10.71.0.9': IPv4 only, without --debug"),
    (("-H", "no.such.host.invalid", "-c", "1"),
     "Error: Invalid --host 'no.such.host.invalid': unknown host for IPv4"),
    (("-H", "10.71.0.1", "-c", "x"),
     "Error: While processing '--count'. Argument type mismatch. Expecting integer value. "
     "Got 'x'"),
]


@pytest.mark.parametrize("args, msg", BAD)
def test_bad_input(h, args, msg):
    r = h.esxcli(*PING, *args)
    assert r.rc == 1 and r.out == "", r
    assert r.err.split("\n")[0] == msg


def test_the_names_come_from_vmkd(h):
    """The names come from vmkd: an adapter vmkd does not know is refused
    even if an interface of that name exists in the stack."""
    msg = h.fail(*PING, "-H", "10.72.0.1", "-I", "veth0")
    assert msg == "Error: Invalid --interface 'veth0': no such VMkernel network interface"
    assert h.json(*NETSTACK, "list")[1]["Name"] == "vmotion"
    assert h.json(*ROUTE, "list", "-N", "vmotion")[0]["Network"] == "10.71.0.0"


def test_nexthop_overrides_the_routes(h):
    """--nexthop: the requests go through vmk1 to the given next hop,
    whatever the stack's routes say.  10.72.0.2 answers through the
    stack's route (veth0); through vmk1 to 10.71.0.9, which nobody
    answers for, nothing comes back; no rule or route of it stays.
    (test_vmkping.py shows a next hop that answers.)"""
    ns = stack_ns(h, "vmotion")
    rules = subprocess.run(["ip", "-n", ns, "rule"], capture_output=True, text=True).stdout
    _, summary = parse(h.ok(*PING, "--netstack", "vmotion", "-H", "10.72.0.2", "-c", "1"))
    assert summary[:3] == ("10.72.0.2", "1", "1")
    _, summary = parse(h.ok(*PING, "-I", "vmk1", "-N", "10.71.0.9", "-H", "10.72.0.2",
                            "-c", "1", "-W", "1"))
    assert summary[:5] == ("10.72.0.2", "1", "0", "0", "100")
    assert subprocess.run(["ip", "-n", ns, "rule"], capture_output=True,
                          text=True).stdout == rules
