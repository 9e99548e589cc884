"""DNS per TCP/IP stack: `esxcli network ip dns server|search`, the
stack's resolv.conf that vmkd writes, and vmkping / esxcli network diag
ping resolving names with the stack's servers (docs/esxcli.md, "DNS").

Name resolution runs a tiny DNS responder (below) inside a peer namespace
of the test's, wired by a veth to the test's stack only: it listens on
the peer's address there, answers a bounded number of queries within a
bounded time, and nothing leaves the test's namespaces.
"""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from vmkd_ip_util import (DEFAULT, NETSTACK, Peer, iphost, ip_snapshot,  # noqa: F401
                          stack_ns)
from vmkd_util import ESXCLI, VMKPING, Result

DNS = ("network", "ip", "dns")
SERVER = DNS + ("server",)
SEARCH = DNS + ("search",)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")


def servers(h, stack=None):
    args = ["-N", stack] if stack else []
    return h.json(*SERVER, "list", *args)["DNSServers"]


def domains(h, stack=None):
    args = ["-N", stack] if stack else []
    return h.json(*SEARCH, "list", *args)["DNSSearchDomains"]


def resolv_path(h, stack):
    if stack == DEFAULT:
        return os.path.join(h.run_dir, "resolv.conf." + DEFAULT)
    return os.path.join(h.root, "etc", "netns", stack_ns(h, stack), "resolv.conf")


def resolv_lines(h, stack):
    with open(resolv_path(h, stack)) as f:
        return [l.rstrip("\n") for l in f if not l.startswith("#")]


def test_servers_and_domains_per_stack(iphost):
    h = iphost
    h.ok(*NETSTACK, "add", "-N", "lab")
    assert servers(h) == [] and domains(h) == []
    h.ok(*SERVER, "add", "-s", "10.0.0.1")
    h.ok(*SERVER, "add", "--server=fd00::53")
    h.ok(*SERVER, "add", "-s", "10.0.0.2", "-N", DEFAULT)
    h.ok(*SERVER, "add", "-s", "10.9.9.9", "-N", "lab")
    h.ok(*SEARCH, "add", "-d", "lab.example")
    h.ok(*SEARCH, "add", "-d", "corp.example", "-N", "lab")
    assert servers(h) == ["10.0.0.1", "fd00::53", "10.0.0.2"]
    assert servers(h, "lab") == ["10.9.9.9"]
    assert domains(h) == ["lab.example"] and domains(h, "lab") == ["corp.example"]
    # the reference's text shape: one struct, one list field
    assert h.ok(*SERVER, "list") == "   DNSServers: 10.0.0.1, fd00::53, 10.0.0.2\n"
    assert h.ok(*SEARCH, "list", "-N", "lab") == "   DNSSearch Domains: corp.example\n"
    # every formatter
    xml = h.ok("--formatter=xml", *SERVER, "list")
    assert ET.fromstring(xml) is not None and "fd00::53" in xml
    assert "10.0.0.1" in h.ok("--formatter=csv", *SERVER, "list")
    assert "10.0.0.1" in h.ok("--formatter=keyvalue", *SERVER, "list")
    assert "--server=<str>" in h.ok(*SERVER, "add", "--help")
    # the files
    assert resolv_lines(h, DEFAULT) == ["nameserver 10.0.0.1", "nameserver fd00::53",
                                        "nameserver 10.0.0.2", "search lab.example"]
    assert resolv_lines(h, "lab") == ["nameserver 10.9.9.9", "search corp.example"]
    assert not os.path.exists("/etc/netns/" + stack_ns(h, "lab"))
    # removal
    h.ok(*SERVER, "remove", "-s", "fd00:0::53")
    assert servers(h) == ["10.0.0.1", "10.0.0.2"]
    h.ok(*SERVER, "remove", "-a")
    h.ok(*SEARCH, "remove", "-d", "lab.example")
    assert servers(h) == [] and domains(h) == [] and servers(h, "lab") == ["10.9.9.9"]
    assert resolv_lines(h, DEFAULT) == []
    log = h.log()
    assert "DNS server 10.0.0.1 added" in log and "all DNS servers removed" in log
    assert "DNS search domain lab.example removed" in log


def test_kill9_and_restart_keep_them(iphost):
    h = iphost
    h.ok(*NETSTACK, "add", "-N", "lab")
    h.ok(*SERVER, "add", "-s", "10.1.1.1", "-N", "lab")
    h.ok(*SEARCH, "add", "-d", "a.example", "-N", "lab")
    os.unlink(resolv_path(h, "lab"))     # rewritten at start
    # a temp file a kill -9 left beside the directory goes at start
    stale = os.path.dirname(resolv_path(h, "lab")) + ".resolv.conf.tmp"
    with open(stale, "w") as f:
        f.write("nameserver 10.9.9.9\n")
    h.kill9()
    h.start()
    assert servers(h, "lab") == ["10.1.1.1"] and domains(h, "lab") == ["a.example"]
    assert resolv_lines(h, "lab") == ["nameserver 10.1.1.1", "search a.example"]
    assert not os.path.exists(stale)
    # nothing but resolv.conf in the directory `ip netns exec` mounts from
    assert os.listdir(os.path.dirname(resolv_path(h, "lab"))) == ["resolv.conf"]


def test_files_go_with_the_stack(iphost):
    h = iphost
    h.ok(*NETSTACK, "add", "-N", "lab")
    h.ok(*SERVER, "add", "-s", "10.1.1.1", "-N", "lab")
    path = resolv_path(h, "lab")
    assert os.path.exists(path)
    h.ok(*NETSTACK, "remove", "-N", "lab")
    assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path))
    assert h.db_dump()["dns_server"] == []
    # a stack made again starts with no servers
    h.ok(*NETSTACK, "add", "-N", "lab")
    assert servers(h, "lab") == [] and resolv_lines(h, "lab") == []


LONG = "a" * 60 + "." + "b" * 59   # 120 characters


BAD = [
    (SERVER + ("add", "-s", "fe80::53"), "Invalid --server 'fe80::53'"),
    (SERVER + ("add", "-s", "10.0.0"), "Invalid --server '10.0.0': not a unicast"),
    (SERVER + ("add", "-s", "224.0.0.1"), "Invalid --server '224.0.0.1'"),
    (SERVER + ("add", "-s", "10.0.0.1"), "already a DNS server of netstack defaultTcpipStack"),
    (SERVER + ("add", "-s", "10.0.0.4"), "it has 3 servers already, the most the resolver "
     "uses (glibc's MAXNS)"),
    (SERVER + ("add", "-s", "10.0.0.4", "-N", "nope"), "Invalid --netstack 'nope': no such"),
    (SERVER + ("list", "-N", "nope"), "Invalid --netstack 'nope': no such netstack"),
    (SERVER + ("remove", "-s", "10.0.0.9"), "not a DNS server of netstack"),
    (SERVER + ("remove",), "Give either -s|--server or -a|--all"),
    (SERVER + ("remove", "-a", "-s", "10.0.0.1"), "Give either"),
    (SEARCH + ("add", "-d", "bad_domain.example"), "Invalid --domain 'bad_domain.example'"),
    (SEARCH + ("add", "-d", "-x.example"), "Invalid --domain '-x.example'"),
    (SEARCH + ("add", "-d", "a..b"), "Invalid --domain 'a..b'"),
    (SEARCH + ("add", "-d", "A.Example"), "already a search domain"),
    (SEARCH + ("remove", "-d", "z.example"), "not a search domain of netstack"),
    (SEARCH + ("list", "-N", "nope"), "Invalid --netstack 'nope': no such netstack"),
]


def test_search_list_fits_the_resolver(iphost):
    """All search domains, each with a byte more, fit in glibc's 256."""
    h = iphost
    h.ok(*SEARCH, "add", "-d", LONG + ".one")
    h.ok(*SEARCH, "add", "-d", LONG + ".two")
    before = ip_snapshot(h)
    r = h.esxcli(*SEARCH, "add", "-d", "c" * 30 + ".example")
    assert r.rc != 0 and "would be longer than the resolver keeps (255 characters)" in r.err, r
    assert ip_snapshot(h) == before


@pytest.mark.parametrize("args, words", BAD)
def test_bad_input(iphost, args, words):
    h = iphost
    for s in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        h.ok(*SERVER, "add", "-s", s)
    h.ok(*SEARCH, "add", "-d", "a.example")
    before, before_file = ip_snapshot(h), resolv_lines(h, DEFAULT)
    r = h.esxcli(*args)
    assert r.rc != 0, r
    assert r.err.count("\n") == 1 and r.err.startswith("Error: ") and words in r.err, r
    assert ip_snapshot(h) == before and resolv_lines(h, DEFAULT) == before_file


# ---- name resolution ----

RESPONDER = r'''
import socket, struct, sys, time
addr, name, answer, count, secs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, 53))
print("ready", flush=True)
end = time.monotonic() + secs
for _ in range(count):
    left = end - time.monotonic()
    if left <= 0:
        break
    s.settimeout(left)
    try:
        q, src = s.recvfrom(512)
    except socket.timeout:
        break
    qid, flags = struct.unpack("!HH", q[:4])
    i, labels = 12, []
    while i < len(q) and q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
        i += 1 + q[i]
    qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
    question = q[12:i + 5]
    known = ".".join(labels).lower() == name
    rcode = 0 if known else 3
    ans = b""
    if known and qtype == 1:
        ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(answer)
    hdr = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, 1 if ans else 0, 0, 0)
    s.sendto(hdr + question + ans, src)
    print("query", ".".join(labels), qtype, flush=True)
'''


@pytest.fixture
def lab(iphost):
    """Stack "lab" wired by a veth to a peer 10.83.0.2 that runs the DNS
    responder (answers peer.lab A 10.83.0.2; 20 queries or 60 s)."""
    h = iphost
    h.ok(*NETSTACK, "add", "-N", "lab")
    peer = Peer(stack_ns(h, "lab"), "veth0", "10.83.0.1/24", "10.83.0.2/24")
    dns = subprocess.Popen(["ip", "netns", "exec", peer.ns, sys.executable, "-c", RESPONDER,
                            "10.83.0.2", "peer.lab", "10.83.0.2", "20", "60"],
                           stdout=subprocess.PIPE, text=True)
    assert dns.stdout.readline().strip() == "ready"
    yield h
    dns.kill()
    dns.communicate()
    peer.close()


def vmkping(h, *args):
    p = subprocess.run([VMKPING, "--instance", h.name] + list(args), env=h.env,
                       capture_output=True, text=True, timeout=60)
    return Result(p)


def test_vmkping_resolves_with_the_stack_servers(lab):
    h = lab
    r = vmkping(h, "-S", "lab", "-c", "1", "peer.lab")
    assert r.rc == 2 and "unknown host 'peer.lab'" in r.err, r
    h.ok(*SERVER, "add", "-s", "10.83.0.2", "-N", "lab")
    r = vmkping(h, "-S", "lab", "-c", "1", "-W", "5", "peer.lab")
    assert r.rc == 0 and "PING peer.lab (10.83.0.2)" in r.out, r
    # an IPv6 server after it (unreachable here, never asked: the first answers)
    h.ok(*SERVER, "add", "-s", "fd00:83::99", "-N", "lab")
    # a search domain completes a short name
    h.ok(*SEARCH, "add", "-d", "lab", "-N", "lab")
    r = vmkping(h, "-S", "lab", "-c", "1", "-W", "5", "peer")
    assert r.rc == 0 and "(10.83.0.2)" in r.out, r
    # names the servers do not know fall back to getaddrinfo: /etc/hosts
    r = vmkping(h, "-S", "lab", "-c", "1", "-W", "5", "localhost")
    assert r.rc == 0 and "(127.0.0.1)" in r.out, r
    # a name nobody knows is still unknown
    r = vmkping(h, "-S", "lab", "-c", "1", "nobody.lab")
    assert r.rc == 2 and "unknown host 'nobody.lab'" in r.err, r


def test_diag_ping_resolves_with_the_stack_servers(lab):
    h = lab
    r = h.esxcli("network", "diag", "ping", "-H", "peer.lab", "--netstack", "lab", "-c", "1")
    assert r.rc != 0 and "Invalid --host 'peer.lab': unknown host" in r.err, r
    h.ok(*SERVER, "add", "-s", "10.83.0.2", "-N", "lab")
    out = json.loads(h.ok("--formatter=json", "network", "diag", "ping", "-H", "peer.lab",
                          "--netstack", "lab", "-c", "1", "-W", "5"))
    assert out["Trace"][0]["Host"] == "10.83.0.2" and out["Summary"]["Recieved"] == 1, out


def test_esxcli_help_lists_dns():
    p = subprocess.run([ESXCLI, "network", "ip", "dns"], capture_output=True, text=True,
                       timeout=30)
    assert "server" in p.stdout and "search" in p.stdout, p.stdout
