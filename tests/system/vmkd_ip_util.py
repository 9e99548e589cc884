"""Helpers for the tests of vmkd's IP side (VMkernel adapters, TCP/IP
stacks, routes, diag ping): whole-config dumps that include them, a host
fixture that also deletes the stacks' namespaces vmkd made, and looks at
the kernel (`ip -n`, `ip -j`).

A stack other than defaultTcpipStack is the namespace vmk-INSTANCE-STACK;
defaultTcpipStack is the host's own namespace (vmkd's).  Tests only touch
namespaces and veths they (or vmkd) made; nothing has a route out.
"""
import json
import os
import subprocess
import time
import uuid

import pytest

from vmkd_util import BUILD, Host

IF = ("network", "ip", "interface")
NETSTACK = ("network", "ip", "netstack")
ROUTE = ("network", "ip", "route", "ipv4")
ROUTE6 = ("network", "ip", "route", "ipv6")
DEFAULT = "defaultTcpipStack"
VMKPING = os.path.join(BUILD, "src", "cli", "vmkping")


def ip_dump(h):
    """Every list and get of the host, the IP side included."""
    d = h.dump()
    d["interfaces"] = h.json(*IF, "list")
    d["ipv4"] = h.json(*IF, "ipv4", "get")
    d["ipv6"] = h.json(*IF, "ipv6", "get")
    d["ipv6 addresses"] = h.json(*IF, "ipv6", "address", "list")
    d["netstacks"] = h.json(*NETSTACK, "list")
    for s in d["netstacks"]:
        d["netstack " + s["Name"]] = h.json(*NETSTACK, "get", "-N", s["Name"])
        d["routes " + s["Name"]] = h.json(*ROUTE, "list", "-N", s["Name"])
        d["routes6 " + s["Name"]] = h.json(*ROUTE6, "list", "-N", s["Name"])
    for i in d["interfaces"]:
        d["get " + i["Name"]] = h.json(*IF, "get", "-i", i["Name"])
        d["tags " + i["Name"]] = h.json(*IF, "tag", "get", "-i", i["Name"])
    return d


def ip_snapshot(h):
    return {"esxcli": ip_dump(h), "store": h.db_dump()}


def stack_ns(h, stack):
    return h.ns if stack == DEFAULT else "vmk-%s-%s" % (h.name, stack)


def stack_namespaces(h):
    """The names of this host's stacks under /run/netns."""
    prefix = "vmk-%s-" % h.name
    return sorted(n for n in os.listdir("/run/netns") if n.startswith(prefix))


def delete_stack_namespaces(h):
    for n in stack_namespaces(h):
        subprocess.run(["ip", "netns", "del", n], check=False)


def ipj(ns, *args):
    """`ip -j -n NS ARGS` as Python objects."""
    p = subprocess.run(["ip", "-j", "-n", ns] + list(args), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout or "[]")


def link(ns, dev):
    """The link dev in ns, or None."""
    p = subprocess.run(["ip", "-j", "-n", ns, "link", "show", "dev", dev],
                       capture_output=True, text=True)
    return json.loads(p.stdout)[0] if p.returncode == 0 else None


def addrs(ns, dev, family="inet"):
    """'addr/len' of dev in ns (link-local IPv6 left out)."""
    out = []
    for i in ipj(ns, "addr", "show", "dev", dev):
        for a in i.get("addr_info", []):
            if a["family"] == family and not a["local"].startswith("fe80:"):
                out.append("%s/%d" % (a["local"], a["prefixlen"]))
    return out


def routes(ns, *args):
    return ipj(ns, "route", "show", *args)


def route_get(ns, *args):
    """`ip route get ARGS` in ns: the route the kernel picks, or None."""
    p = subprocess.run(["ip", "-j", "-n", ns, "route", "get"] + list(args),
                       capture_output=True, text=True)
    return json.loads(p.stdout)[0] if p.returncode == 0 else None


def rules(ns):
    return ipj(ns, "rule")


def all_addrs(ns):
    return [a["local"] for i in ipj(ns, "addr") for a in i.get("addr_info", [])]


def sysctl(ns, key):
    p = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/sys/net/" + key],
                       capture_output=True, text=True)
    return p.stdout.strip()


def cubic_allowed():
    """Whether a namespace may use cubic (the machine's allowed list)."""
    with open("/proc/sys/net/ipv4/tcp_allowed_congestion_control") as f:
        return "cubic" in f.read().split()


def vmkping(h, *args, timeout=30):
    return subprocess.run([VMKPING, "--instance", h.name] + list(args), env=h.env,
                          capture_output=True, text=True, timeout=timeout)


def wait_for(pred, timeout=5.0):
    """Polls pred (bounded); returns its last value."""
    end = time.monotonic() + timeout
    v = pred()
    while not v and time.monotonic() < end:
        time.sleep(0.05)
        v = pred()
    return v


class Peer:
    """A namespace of the test's joined by a veth to a namespace of the
    host (a stack's): the far end of a route, a gateway to ping.  Its end
    of the veth is `p0`; the host's end is `name` in `ns`."""

    def __init__(self, ns, name, host_addr, peer_addr, mtu=1500):
        self.ns = "vmkp-" + uuid.uuid4().hex[:8]
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "add", "p0", "mtu", str(mtu), "type",
                        "veth", "peer", "name", name, "mtu", str(mtu), "netns", ns], check=True)
        subprocess.run(["ip", "-n", self.ns, "addr", "add", peer_addr, "dev", "p0"], check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "p0", "up"], check=True)
        subprocess.run(["ip", "-n", ns, "addr", "add", host_addr, "dev", name], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", name, "up"], check=True)
        self._settle(ns, name)

    @staticmethod
    def _settle(ns, name):
        """Waits (bounded) for the kernel's link-local IPv6 route on the
        host's end, which it adds a moment after the link comes up: a
        snapshot of the stack's routes taken before would miss it."""
        if sysctl(ns, "ipv6/conf/%s/disable_ipv6" % name) != "0":
            return
        wait_for(lambda: any(r.get("dst") == "fe80::/64" and r.get("dev") == name
                             for r in ipj(ns, "-6", "route")), timeout=5.0)

    def ip(self, *args):
        subprocess.run(["ip", "-n", self.ns] + list(args), check=True)

    def close(self):
        subprocess.run(["ip", "netns", "del", self.ns], check=False)


def close_host(h):
    h.close()
    delete_stack_namespaces(h)


@pytest.fixture
def iphost():
    h = Host(mgmt_ip="192.168.50.11/24").start()
    yield h
    close_host(h)
