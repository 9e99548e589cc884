"""VMkernel adapters of IPv4 type DHCP: vmkd's DHCP client against a real
DHCP server (dnsmasq) on the far end of the host's uplink.

The host is a vmkd in a namespace of its own (vmkd_util.Host); its vmnic0
is one end of a veth pair whose other end, srv0 (10.79.0.1/24), is in a
namespace the test made for the server.  dnsmasq serves 10.79.0.100-149
there, with a router (10.79.0.1) and a DNS server option, and keeps its
leases in a file of the test's: a lease appears in it when granted, its
expiry moves on when renewed, and it goes when the client releases it.

Renewal: dnsmasq's shortest lease is 2 minutes, so the renewal test has
the server send T1 = 5 s and T2 = 100 s (options 58 and 59, which the
client honours as RFC 2131 says): the client renews 5 s after it got the
lease, unicast to the server.  The wait for it is bounded.

Network safety: only the namespaces and the veth pair this test makes;
no route out; dnsmasq answers DHCP on srv0 only (no DNS: --port=0); every
wait is bounded."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import pytest

from vmkd_util import (VS, Host, add_portgroup, add_vswitch, close_hosts, no_ipv6, ping_ok,
                      stack_ns)

DNSMASQ = shutil.which("dnsmasq") or ("/usr/sbin/dnsmasq" if os.path.exists(
    "/usr/sbin/dnsmasq") else None)
IPV4 = ("network", "ip", "interface", "ipv4")
POOL = ["10.79.0.%d" % n for n in range(100, 150)]

if DNSMASQ is None:
    print("\nSKIPPED test_vmkd_dhcp: dnsmasq is not installed (apt-get install dnsmasq-base; "
          "scripts/deps.sh installs it)")
pytestmark = pytest.mark.skipif(DNSMASQ is None, reason="dnsmasq (dnsmasq-base) is not "
                                "installed: the DHCP tests need a DHCP server")


class Server:
    """dnsmasq in a namespace of its own, cabled to the host's vmnic0."""

    def __init__(self, host, extra=()):
        self.ns = "vmkd-" + uuid.uuid4().hex[:8]
        self.dir = tempfile.mkdtemp(prefix="vmk-dhcp-")
        self.leases = os.path.join(self.dir, "leases")
        self.proc = None
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "link", "add", "vmnic0", "netns", host.ns, "type", "veth",
                        "peer", "name", "srv0", "netns", self.ns], check=True)
        no_ipv6(host.ns, "vmnic0")
        no_ipv6(self.ns, "srv0")
        for ns, dev in ((host.ns, "vmnic0"), (self.ns, "srv0"), (self.ns, "lo")):
            subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
        subprocess.run(["ip", "-n", self.ns, "addr", "add", "10.79.0.1/24", "dev", "srv0"],
                       check=True)
        self.start(extra)

    def start(self, extra=()):
        argv = ["ip", "netns", "exec", self.ns, DNSMASQ, "--keep-in-foreground",
                "--conf-file=/dev/null", "--port=0", "--interface=srv0", "--bind-interfaces",
                "--user=root", "--group=root", "--no-ping", "--dhcp-authoritative",
                "--dhcp-range=10.79.0.100,10.79.0.149,255.255.255.0,2m",
                "--dhcp-option=option:router,10.79.0.1",
                "--dhcp-option=option:dns-server,10.79.0.53",
                "--dhcp-leasefile=" + self.leases, "--pid-file=" + os.path.join(self.dir, "pid"),
                "--log-dhcp", "--log-facility=" + os.path.join(self.dir, "log")] + list(extra)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        time.sleep(0.3)
        assert self.proc.poll() is None, self.proc.communicate()

    def lease_lines(self):
        """[(expiry, mac, ip)] of dnsmasq's lease file."""
        try:
            with open(self.leases) as f:
                return [tuple(l.split()[:3]) for l in f if l.strip()]
        except FileNotFoundError:
            return []

    def lease_of(self, mac):
        for expiry, m, ip in self.lease_lines():
            if m.lower() == mac.lower():
                return int(expiry), ip
        return None

    def log(self):
        try:
            with open(os.path.join(self.dir, "log")) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.communicate()
        subprocess.run(["ip", "netns", "del", self.ns], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def until(fn, timeout, what):
    """fn()'s first true value within timeout seconds."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("within %ss: %s" % (timeout, what))
        time.sleep(0.2)


@pytest.fixture
def net(request):
    """A host with vSwitch1 on vmnic0 and port group "DHCP Net", and the
    server; extra dnsmasq arguments as the test's parameter (indirect)."""
    host = Host()
    server = None
    try:
        server = Server(host, getattr(request, "param", ()))
        host.start()
        add_vswitch(host)
        add_portgroup(host, "DHCP Net")
        yield host, server
    finally:
        close_hosts(host)
        if server:
            server.close()


def add_dhcp_vmknic(host, vmk, stack="defaultTcpipStack"):
    host.ok("network", "ip", "interface", "add", "-i", vmk, "-p", "DHCP Net", "-N", stack)
    host.ok(*IPV4, "set", "-i", vmk, "-t", "dhcp")
    return host.json("network", "ip", "interface", "get", "-i", vmk)["MACAddress"]


def ipv4(host, vmk):
    rows = host.json(*IPV4, "get", "-i", vmk)
    assert len(rows) == 1
    return rows[0]


def leased(host, vmk, timeout=30):
    """Waits for the adapter's lease; its `ipv4 get` row."""
    return until(lambda: (lambda r: r if r["IPv4Address"] != "0.0.0.0" else None)(
        ipv4(host, vmk)), timeout, "%s has a DHCP address" % vmk)


def kernel_addrs(host, vmk, stack="defaultTcpipStack"):
    out = subprocess.run(["ip", "-4", "-o", "-n", stack_ns(host, stack), "addr", "show", "dev",
                          vmk], capture_output=True, text=True, check=True).stdout
    return out


def test_dhcp_adapter_gets_an_address_and_reaches_the_server(net):
    host, server = net
    mac = add_dhcp_vmknic(host, "vmk1")
    row = leased(host, "vmk1")
    assert row["IPv4Address"] in POOL, row
    assert row["IPv4Netmask"] == "255.255.255.0"
    assert row["IPv4Broadcast"] == "10.79.0.255"
    assert row["AddressType"] == "DHCP"
    # the stack has no default gateway: the router option is the adapter's
    assert row["Gateway"] == "10.79.0.1"
    assert row["DHCPDNS"] is False
    # the server's binding is this adapter's MAC and that address
    assert until(lambda: server.lease_of(mac), 10, "the lease file has vmk1")[1] == \
        row["IPv4Address"]
    # the kernel has it with the lease's lifetime, not forever
    addrs = kernel_addrs(host, "vmk1")
    assert "%s/24" % row["IPv4Address"] in addrs, addrs
    assert "valid_lft forever" not in addrs, addrs
    assert ping_ok(host, "-I", "vmk1", "10.79.0.1")
    # esxcli's table view shows the same row
    out = host.ok(*IPV4, "get", "-i", "vmk1")
    assert re.search(r"vmk1\s+%s\s+255\.255\.255\.0\s+10\.79\.0\.255\s+DHCP\s+10\.79\.0\.1\s+"
                     r"false" % re.escape(row["IPv4Address"]), out), out
    log = host.log()
    assert re.search(r"DHCP: \d+: vmk1: lease of %s netmask 255\.255\.255\.0 obtained from "
                     r"10\.79\.0\.1 for 120 s" % re.escape(row["IPv4Address"]), log), log


def test_one_client_per_adapter_in_its_own_stack(net):
    """Two DHCP adapters, one in defaultTcpipStack and one in a stack of
    their own: each gets its own address, and each reaches the server
    from its stack."""
    host, server = net
    host.ok("network", "ip", "netstack", "add", "-N", "dhcpstack")
    mac1 = add_dhcp_vmknic(host, "vmk1")
    mac2 = add_dhcp_vmknic(host, "vmk2", stack="dhcpstack")
    a1 = leased(host, "vmk1")["IPv4Address"]
    a2 = leased(host, "vmk2")["IPv4Address"]
    assert a1 != a2 and a1 in POOL and a2 in POOL
    assert until(lambda: server.lease_of(mac1) and server.lease_of(mac2), 10, "two leases")
    assert a2 in kernel_addrs(host, "vmk2", "dhcpstack")
    assert a2 not in kernel_addrs(host, "vmk1")
    assert ping_ok(host, "-I", "vmk1", "10.79.0.1")
    assert ping_ok(host, "-S", "dhcpstack", "10.79.0.1")


@pytest.mark.parametrize("net", [("--dhcp-option=option:T1,5", "--dhcp-option=option:T2,100")],
                         indirect=True, ids=["T1=5s"])
def test_lease_is_renewed_at_t1(net):
    host, server = net
    mac = add_dhcp_vmknic(host, "vmk1")
    addr = leased(host, "vmk1")["IPv4Address"]
    first = until(lambda: server.lease_of(mac), 10, "the lease file has vmk1")
    assert re.search(r"obtained from 10\.79\.0\.1 for 120 s \(T1 5 s, T2 100 s", host.log())
    # renewed (unicast to the server) a few seconds later: the server's
    # expiry moves on, the address stays, the log says so
    renewed = until(lambda: (lambda l: l if l and l[0] > first[0] else None)(
        server.lease_of(mac)), 30, "the server's lease of vmk1 renewed")
    assert renewed[1] == addr
    assert until(lambda: re.search(r"vmk1: lease of %s renewed by 10\.79\.0\.1 for 120 s" %
                                   re.escape(addr), host.log()), 10, "renewal logged")
    assert ipv4(host, "vmk1")["IPv4Address"] == addr
    assert ping_ok(host, "-I", "vmk1", "10.79.0.1")


def test_static_and_removal_release_the_lease(net):
    host, server = net
    mac = add_dhcp_vmknic(host, "vmk1")
    addr = leased(host, "vmk1")["IPv4Address"]
    until(lambda: server.lease_of(mac), 10, "the lease file has vmk1")
    host.ok(*IPV4, "set", "-i", "vmk1", "-t", "static", "-I", "10.79.0.7", "-N",
            "255.255.255.0")
    until(lambda: server.lease_of(mac) is None, 10, "the server saw DHCPRELEASE")
    row = ipv4(host, "vmk1")
    assert (row["IPv4Address"], row["AddressType"], row["Gateway"]) == \
        ("10.79.0.7", "STATIC", "0.0.0.0")
    addrs = kernel_addrs(host, "vmk1")
    assert "10.79.0.7/24" in addrs and addr not in addrs, addrs
    assert "released (IPv4 set to static)" in host.log()
    # back to DHCP, then the adapter removed: released again
    host.ok(*IPV4, "set", "-i", "vmk1", "-t", "dhcp")
    assert leased(host, "vmk1")["IPv4Address"] in POOL
    until(lambda: server.lease_of(mac), 10, "the lease file has vmk1 again")
    host.ok("network", "ip", "interface", "remove", "-i", "vmk1")
    until(lambda: server.lease_of(mac) is None, 10, "the server saw DHCPRELEASE on removal")


def test_set_to_none_releases_and_removes_the_address(net):
    host, server = net
    mac = add_dhcp_vmknic(host, "vmk1")
    addr = leased(host, "vmk1")["IPv4Address"]
    until(lambda: server.lease_of(mac), 10, "the lease file has vmk1")
    host.ok(*IPV4, "set", "-i", "vmk1", "-t", "none")
    until(lambda: server.lease_of(mac) is None, 10, "the server saw DHCPRELEASE")
    assert addr not in kernel_addrs(host, "vmk1")
    row = ipv4(host, "vmk1")
    assert (row["IPv4Address"], row["AddressType"]) == ("0.0.0.0", "NONE")


def test_kill9_and_restart_obtains_the_address_again(net):
    host, server = net
    mac = add_dhcp_vmknic(host, "vmk1")
    addr = leased(host, "vmk1")["IPv4Address"]
    until(lambda: server.lease_of(mac), 10, "the lease file has vmk1")
    host.kill9()
    host.start()
    assert leased(host, "vmk1")["IPv4Address"] == addr
    assert ping_ok(host, "-I", "vmk1", "10.79.0.1")


def test_clean_stop_keeps_the_lease_with_the_server(net):
    """vmkd stopping is the host going down: no DHCPRELEASE (the adapter
    is still a DHCP one and asks again at the next start)."""
    host, server = net
    mac = add_dhcp_vmknic(host, "vmk1")
    addr = leased(host, "vmk1")["IPv4Address"]
    until(lambda: server.lease_of(mac), 10, "the lease file has vmk1")
    assert host.stop() == 0
    time.sleep(1)   # a DHCPRELEASE, had one been sent, would have arrived
    assert server.lease_of(mac) is not None
    assert "DHCPRELEASE" not in server.log()
    host.start()
    assert leased(host, "vmk1")["IPv4Address"] == addr


def test_disable_releases_and_enable_asks_again(net):
    """The "bounce DHCP" idiom (interface set -e false, then -e true):
    disabling releases the lease, enabling obtains one again."""
    host, server = net
    mac = add_dhcp_vmknic(host, "vmk1")
    addr = leased(host, "vmk1")["IPv4Address"]
    until(lambda: server.lease_of(mac), 10, "the lease file has vmk1")
    host.ok("network", "ip", "interface", "set", "-i", "vmk1", "-e", "false")
    until(lambda: server.lease_of(mac) is None, 10, "the server saw DHCPRELEASE")
    assert ipv4(host, "vmk1")["IPv4Address"] == "0.0.0.0"
    assert "released (interface disabled)" in host.log()
    host.ok("network", "ip", "interface", "set", "-i", "vmk1", "-e", "true")
    # the client asks for the address it had, and the server has it free
    assert leased(host, "vmk1")["IPv4Address"] == addr
    assert ping_ok(host, "-I", "vmk1", "10.79.0.1")
