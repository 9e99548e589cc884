"""Two network namespaces joined either by vmk's datapath (a vSwitch with
two VMkernel-adapter TAPs, run by build/src/host/datapath/vmk-dpswitch) or
by a Linux bridge with veths (in a namespace of its own), for the
switch_*.py benchmarks.  Both give namespace a 10.251.0.1/24 and b
10.251.0.2/24.

Network safety: only namespaces and interfaces created here (named
dpb<pid>...), no routes out, deleted on exit."""
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BUILD  # noqa: E402

DPSWITCH = os.path.join(BUILD, "src", "host", "datapath", "vmk-dpswitch")
PREFIX = "dpb%d" % os.getpid()
MAC_A, MAC_B = "00:50:56:7b:00:01", "00:50:56:7b:00:02"
IP_A, IP_B = "10.251.0.1", "10.251.0.2"


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True)


def ns_exec(ns, cmd):
    return "ip netns exec %s %s" % (ns, cmd)


def rx_packets(ns, dev):
    out = subprocess.run(["ip", "-n", ns, "-j", "-s", "link", "show", "dev", dev],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)[0]["stats64"]["rx"]["packets"]


class Topology:
    """Base: namespaces a and b with one interface each (dev_a, dev_b)."""

    name = "?"
    tag = ""           # distinguishes topologies that are up side by side

    def __init__(self):
        self.ns_a, self.ns_b = PREFIX + self.tag + "a", PREFIX + self.tag + "b"
        self.extra_ns = []

    def _namespaces(self, names):
        for ns in names:
            sh("ip netns add %s && ip -n %s link set lo up" % (ns, ns))

    def _address(self):
        for ns, dev, ip, mac in ((self.ns_a, self.dev_a, IP_A, MAC_A),
                                 (self.ns_b, self.dev_b, IP_B, MAC_B)):
            sh("ip -n %s link set %s address %s" % (ns, dev, mac))
            sh("ip -n %s addr add %s/24 dev %s && ip -n %s link set %s up"
               % (ns, ip, dev, ns, dev))

    def __exit__(self, *exc):
        for ns in [self.ns_a, self.ns_b] + self.extra_ns:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


class VmkSwitch(Topology):
    name = "vmk vSwitch (TAP-TAP)"
    tag = "v"

    def __enter__(self):
        self.dev_a, self.dev_b = "vmk1", "vmk2"
        self._namespaces([self.ns_a, self.ns_b])
        self.proc = subprocess.Popen(
            [DPSWITCH, "run", "--mtu", "1500",
             "--tap", "vmk1@%s=%s" % (self.ns_a, MAC_A),
             "--tap", "vmk2@%s=%s" % (self.ns_b, MAC_B)],
            stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("vmk-dpswitch did not start")
        self._address()
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        self.stats = self.proc.communicate(timeout=10)[0]
        super().__exit__(*exc)


class LinuxBridge(Topology):
    name = "Linux bridge (veth-veth)"
    tag = "l"

    def __enter__(self):
        self.dev_a, self.dev_b = "eth0", "eth0"
        br = PREFIX + self.tag + "br"
        self.extra_ns = [br]
        self._namespaces([self.ns_a, self.ns_b, br])
        sh("ip -n %s link add br0 type bridge && ip -n %s link set br0 up" % (br, br))
        for ns, port in ((self.ns_a, "pa"), (self.ns_b, "pb")):
            sh("ip -n %s link add %s type veth peer name eth0 netns %s" % (br, port, ns))
            sh("ip -n %s link set %s master br0 && ip -n %s link set %s up"
               % (br, port, br, port))
        self._address()
        return self


TOPOLOGIES = (VmkSwitch, LinuxBridge)


def interleaved(measure, runs):
    """Brings both topologies up side by side and alternates the runs
    between them (vSwitch, bridge, vSwitch, ...), so that whatever else
    the machine is doing weighs on both alike.  Returns {name: [values]}."""
    import contextlib
    with contextlib.ExitStack() as stack:
        topos = [stack.enter_context(cls()) for cls in TOPOLOGIES]
        result = {t.name: [] for t in topos}
        for _ in range(runs):
            for t in topos:
                result[t.name].append(measure(t))
        return result


def preflight():
    if os.geteuid() != 0:
        sys.exit("needs root (namespaces, TAPs, veths)")
    if not os.access(DPSWITCH, os.X_OK):
        sys.exit("no %s: build first (./scripts/build.sh)" % DPSWITCH)
