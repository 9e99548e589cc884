"""Helpers for vmkd's system tests: a host (one vmkd instance) in a network
namespace of its own, esxcli against it, and dumps of its whole config.

Host() makes a namespace `vmkt-<id>` and a VMK_ROOT temporary directory,
starts `ip netns exec NS vmkd --instance <id>` there, and removes both at
close().  NICs for uplink tests are veth pairs: the end named vmnicN (or
any name) lives in the host's namespace, its peer in a second namespace
of the test's (`<ns>-p`), so the host sees only the NICs the test made.
Nothing here touches the machine's own interfaces.

The `host` fixture gives a fresh host per test; `shared_host` one per
module (for tests that do not change it, or compare it unchanged).
"""
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import BUILD

VMKD = os.path.join(BUILD, "src", "host", "vmkd")
ESXCLI = os.path.join(BUILD, "src", "cli", "esxcli")

# vmkernel.log: "2025-01-31T09:12:45.123Z In(182) vmkernel: cpu1:4242)Net: 212: text"
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
                      r"(In\(182\) vmkernel|Wa\(180\) vmkwarning): cpu\d+:\d+\)"
                      r"(WARNING: )?[A-Za-z]+: \d+: .+$")


class Result:
    """One esxcli run."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self):
        return "rc=%s\n--- stdout ---\n%s--- stderr ---\n%s" % (self.rc, self.out, self.err)


class Host:
    def __init__(self, mgmt_ip=None):
        self.name = "t" + uuid.uuid4().hex[:10]
        self.ns = "vmkt-" + self.name
        self.peer_ns = None
        self.root = tempfile.mkdtemp(prefix="vmk-")
        self.env = dict(os.environ, VMK_ROOT=self.root)
        self.env.pop("VMK_INSTANCE", None)
        self.mgmt_ip = mgmt_ip
        self.proc = None
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True)

    # ---- paths ----
    @property
    def run_dir(self):
        return os.path.join(self.root, "run", "vmk", self.name)

    @property
    def sock(self):
        return os.path.join(self.run_dir, "vmkd.sock")

    @property
    def db(self):
        return os.path.join(self.root, "var", "lib", "vmk", self.name, "vmk.db")

    @property
    def log_path(self):
        return os.path.join(self.root, "var", "log", "vmk", self.name, "vmkernel.log")

    # ---- the daemon ----
    def vmkd_argv(self, *extra):
        argv = ["ip", "netns", "exec", self.ns, VMKD, "--instance", self.name]
        if self.mgmt_ip:
            argv += ["--mgmt-ip", self.mgmt_ip]
        return argv + list(extra)

    def start(self, *extra, timeout=10):
        assert self.proc is None or self.proc.poll() is not None
        self.proc = subprocess.Popen(self.vmkd_argv(*extra), env=self.env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("vmkd exited with %s: %s" % (self.proc.returncode,
                                                                  self.proc.stderr.read()))
            if self._answers():
                return self
            time.sleep(0.01)
        raise AssertionError("vmkd did not start within %ss" % timeout)

    def _answers(self):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(self.sock)
            s.close()
            return True
        except OSError:
            return False

    def stop(self, timeout=10):
        """SIGTERM; returns vmkd's exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        self.proc.communicate(timeout=timeout)
        return self.proc.returncode

    def kill9(self):
        """kill -9 of vmkd itself (ip netns exec replaced itself with it)."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.communicate(timeout=10)

    def restart(self):
        self.stop()
        return self.start()

    # ---- clients ----
    def esxcli(self, *args):
        p = subprocess.run([ESXCLI, "--instance", self.name] + list(args), env=self.env,
                           capture_output=True, text=True, timeout=30)
        return Result(p)

    def ok(self, *args):
        r = self.esxcli(*args)
        assert r.rc == 0, r
        return r.out

    def json(self, *args):
        return json.loads(self.ok("--formatter=json", *args))

    def fail(self, *args):
        """Runs a command that must fail; returns its one-line message."""
        r = self.esxcli(*args)
        assert r.rc != 0, r
        assert r.out == "", r
        first = r.err.split("\n")[0]
        assert first.startswith("Error: "), r
        return first

    def rpc(self, line):
        """Sends raw request bytes, returns the raw reply line."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.sock)
        s.sendall(line)
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        return data

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    # ---- NICs ----
    def add_nic(self, name, up=True):
        """A veth end called `name` in the host's namespace; its peer in ours."""
        if self.peer_ns is None:
            self.peer_ns = self.ns + "-p"
            subprocess.run(["ip", "netns", "add", self.peer_ns], check=True)
        peer = "p" + uuid.uuid4().hex[:8]
        subprocess.run(["ip", "-n", self.ns, "link", "add", name, "type", "veth", "peer",
                        "name", peer, "netns", self.peer_ns], check=True)
        if up:
            subprocess.run(["ip", "-n", self.ns, "link", "set", name, "up"], check=True)
            subprocess.run(["ip", "-n", self.peer_ns, "link", "set", peer, "up"], check=True)
        return name

    def del_nic(self, name):
        subprocess.run(["ip", "-n", self.ns, "link", "del", name], check=True)

    # ---- whole-config dumps ----
    def dump(self):
        """Every list and get, as JSON: the config as esxcli shows it."""
        vs = "network vswitch standard".split()
        d = {"hostname": self.json("system", "hostname", "get"),
             "version": self.json("system", "version", "get"),
             "vswitches": self.json(*vs, "list"),
             "portgroups": self.json(*vs, "portgroup", "list"),
             "nics": self.json("network", "nic", "list")}
        for v in d["vswitches"]:
            for pol in ("failover", "security", "shaping"):
                d["vs %s %s" % (v["Name"], pol)] = self.json(*vs, "policy", pol, "get",
                                                             "-v", v["Name"])
        for p in d["portgroups"]:
            for pol in ("failover", "security", "shaping"):
                d["pg %s %s" % (p["Name"], pol)] = self.json(*vs, "portgroup", "policy", pol,
                                                             "get", "-p", p["Name"])
        return d

    def db_dump(self):
        """Every row of every table of the store (read-only, beside vmkd)."""
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True)
        try:
            tables = [r[0] for r in con.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")]
            out = {t: sorted(con.execute("SELECT * FROM \"%s\"" % t).fetchall(), key=repr)
                   for t in tables}
            out["user_version"] = con.execute("PRAGMA user_version").fetchone()[0]
            return out
        finally:
            con.close()

    def snapshot(self):
        return {"esxcli": self.dump(), "store": self.db_dump()}

    # ---- teardown ----
    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        subprocess.run(["ip", "netns", "del", self.ns], check=False)
        if self.peer_ns:
            subprocess.run(["ip", "netns", "del", self.peer_ns], check=False)
        # the namespaces of its TCP/IP stacks outlive vmkd by design
        prefix = "vmk-%s-" % self.name
        for ns in os.listdir("/run/netns") if os.path.isdir("/run/netns") else []:
            if ns.startswith(prefix):
                subprocess.run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def host():
    h = Host().start()
    yield h
    h.close()


@pytest.fixture(scope="module")
def shared_host():
    h = Host().start()
    yield h
    h.close()


# ---- several hosts on one machine: cables, a physical switch, stacks, vmkping ----
#
# For the datapath tests (test_vmkd_datapath.py, test_vmkd_multihost.py).
# Uplinks are veth pairs between the hosts' namespaces (a cable), or from a
# host to a Linux bridge in a namespace of the test's (a physical switch,
# VLAN-unaware: tagged frames cross it as they are).  Nothing here touches
# the machine's own interfaces, and no namespace has a route out.

VMKPING = os.path.join(BUILD, "src", "cli", "vmkping")
VS = ("network", "vswitch", "standard")
DEFAULT_STACK = "defaultTcpipStack"


def wire(a, b, nic_a="vmnic0", nic_b="vmnic0", up=True):
    """A cable: a veth pair with nic_a in host a's namespace and nic_b in
    host b's.  It goes away with either namespace."""
    subprocess.run(["ip", "link", "add", nic_a, "netns", a.ns, "type", "veth", "peer", "name",
                    nic_b, "netns", b.ns], check=True)
    no_ipv6(a.ns, nic_a)
    no_ipv6(b.ns, nic_b)
    if up:
        set_link(a, nic_a, True)
        set_link(b, nic_b, True)


def set_link(host, nic, up):
    subprocess.run(["ip", "-n", host.ns, "link", "set", nic, "up" if up else "down"], check=True)


def no_ipv6(ns, dev):
    """Keeps the kernel's own IPv6 off a cable end (no link-local address,
    so no DAD, router solicitation or MLD report when its link comes up):
    as on a physical NIC, only the vSwitch sends on it."""
    subprocess.run(["ip", "-n", ns, "link", "set", dev, "addrgenmode", "none"], check=True)


class Fabric:
    """A physical switch: a Linux bridge in a namespace of its own."""

    def __init__(self):
        self.ns = "vmkf-" + uuid.uuid4().hex[:8]
        self.nports = 0
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "add", "br0", "type", "bridge"], check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "br0", "up"], check=True)

    def plug(self, host, nic="vmnic0"):
        port = "f%d" % self.nports
        self.nports += 1
        subprocess.run(["ip", "link", "add", nic, "netns", host.ns, "type", "veth", "peer",
                        "name", port, "netns", self.ns], check=True)
        no_ipv6(host.ns, nic)
        no_ipv6(self.ns, port)
        subprocess.run(["ip", "-n", self.ns, "link", "set", port, "master", "br0", "up"],
                       check=True)
        set_link(host, nic, True)

    def close(self):
        subprocess.run(["ip", "netns", "del", self.ns], check=False)


def stack_ns(host, stack=DEFAULT_STACK):
    """The network namespace of one of the host's TCP/IP stacks."""
    return host.ns if stack == DEFAULT_STACK else "vmk-%s-%s" % (host.name, stack)


def close_hosts(*hosts):
    """Stops hosts (SIGTERM: the datapath's own cleanup runs), closes them
    and removes the namespaces of their stacks."""
    for h in hosts:
        try:
            h.stop()
        except subprocess.TimeoutExpired:
            pass
        h.close()
        prefix = "vmk-%s-" % h.name
        for ns in os.listdir("/run/netns") if os.path.isdir("/run/netns") else []:
            if ns.startswith(prefix):
                subprocess.run(["ip", "netns", "del", ns], check=False)


def vmkping(host, *args, timeout=60):
    p = subprocess.run([VMKPING, "--instance", host.name] + list(args), env=host.env,
                       capture_output=True, text=True, timeout=timeout)
    return Result(p)


def ping_stats(result):
    """(transmitted, received) from vmkping's summary line."""
    m = re.search(r"(\d+) packets transmitted, (\d+) packets received", result.out)
    assert m, result
    return int(m.group(1)), int(m.group(2))


def ping_ok(host, *args, deadline=10):
    """Pings (vmkping ARGS -c 1) until a reply comes or `deadline` seconds
    pass, for a network that is still settling (links coming up, ARP)."""
    end = time.monotonic() + deadline
    while True:
        r = vmkping(host, "-c", "1", "-W", "1", *args)
        if r.rc == 0 or time.monotonic() > end:
            return r.rc == 0
        time.sleep(0.2)


def add_vswitch(host, name="vSwitch1", uplinks=("vmnic0",), mtu=None):
    host.ok(*VS, "add", "-v", name)
    for u in uplinks:
        host.ok(*VS, "uplink", "add", "-v", name, "-u", u)
    if mtu:
        host.ok(*VS, "set", "-v", name, "-m", str(mtu))


def add_portgroup(host, pg, vswitch="vSwitch1", vlan=None):
    host.ok(*VS, "portgroup", "add", "-v", vswitch, "-p", pg)
    if vlan is not None:
        host.ok(*VS, "portgroup", "set", "-p", pg, "-v", str(vlan))


def add_netstack(host, stack):
    if stack != DEFAULT_STACK and stack not in [
            s["Key"] for s in host.json("network", "ip", "netstack", "list")]:
        host.ok("network", "ip", "netstack", "add", "-N", stack)


def add_vmknic(host, vmk, pg, ip, stack=DEFAULT_STACK, mtu=None, mask="255.255.255.0"):
    """A VMkernel adapter with a static IPv4 address, made with esxcli."""
    add_netstack(host, stack)
    args = ["network", "ip", "interface", "add", "-i", vmk, "-p", pg, "-N", stack]
    if mtu:
        args += ["-m", str(mtu)]
    host.ok(*args)
    host.ok("network", "ip", "interface", "ipv4", "set", "-i", vmk, "-t", "static",
            "-I", ip, "-N", mask)


def link_info(ns, dev):
    out = subprocess.run(["ip", "-j", "-s", "-n", ns, "link", "show", "dev", dev],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)[0]


def tx_packets(host, nic):
    return link_info(host.ns, nic)["stats64"]["tx"]["packets"]


def wait_link(host, nic, up=True, timeout=10):
    """Waits until the NIC's link (operstate) is up or down, as vmkd sees it."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if (link_info(host.ns, nic)["operstate"] == "UP") == up:
            time.sleep(0.3)  # vmkd hears of it through rtnetlink
            return
        time.sleep(0.05)
    raise AssertionError("%s of %s did not go %s" % (nic, host.name, "up" if up else "down"))
