#!/usr/bin/python3
"""Switching through a whole vmkd host against a Linux bridge.

One vmkd host (in a network namespace of its own) with vSwitch1, port
group "Bench" and two VMkernel adapters made with esxcli: vmk1 on TCP/IP
stack benchA and vmk2 on stack benchB (two stacks, so that traffic between
them has to cross the vSwitch, as between two hosts' adapters).  The peer
is the same two namespaces joined by a Linux bridge with veths
(switch_common.LinuxBridge).  Both give a 10.251.0.1/24 and b
10.251.0.2/24.

  - TCP throughput: iperf3, one stream, SECONDS per run, median of RUNS;
    goal (issue 3): ratio vSwitch/bridge >= 1.0.
  - Small frames: 64-byte frames (60 + FCS) per second that reach b, sent
    from a by one generator thread (vmk-dpswitch blast: AF_PACKET,
    sendmmsg, qdisc bypassed) for SECONDS, median of RUNS.

It prints; it never asserts.

usage: bench/switch.py [SECONDS [RUNS]]   (default 5 3; as root, needs iperf3)

Network safety: only the namespaces made here (dpb<pid>..., the host's
vmk-bench<pid>-benchA/B), no uplink, no route out; all deleted at exit."""
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from switch_common import (DPSWITCH, IP_A, IP_B, MAC_A, MAC_B, PREFIX, LinuxBridge,
                           Topology, ns_exec, preflight, rx_packets)
from common import BUILD

VMKD = os.path.join(BUILD, "src", "host", "vmkd")
ESXCLI = os.path.join(BUILD, "src", "cli", "esxcli")


class VmkdHost(Topology):
    name = "vmkd vSwitch (vmk1-vmk2)"
    tag = "h"

    def __enter__(self):
        self.instance = "bench%d" % os.getpid()
        self.host_ns = PREFIX + "h"
        self.root = tempfile.mkdtemp(prefix="vmk-bench-")
        self.env = dict(os.environ, VMK_ROOT=self.root)
        self.ns_a = "vmk-%s-benchA" % self.instance
        self.ns_b = "vmk-%s-benchB" % self.instance
        self.dev_a, self.dev_b = "vmk1", "vmk2"
        self._namespaces([self.host_ns])
        # only the network namespace: vmkd needs no private mount namespace
        self.proc = subprocess.Popen(["nsenter", "--net=/run/netns/" + self.host_ns, VMKD,
                                      "--instance", self.instance], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_socket()
        self._configure()
        return self

    def _wait_socket(self):
        sock = os.path.join(self.root, "run", "vmk", self.instance, "vmkd.sock")
        for _ in range(500):
            if os.path.exists(sock):
                return
            if self.proc.poll() is not None:
                raise RuntimeError("vmkd exited: " + self.proc.stderr.read().decode())
            time.sleep(0.01)
        raise RuntimeError("vmkd did not start")

    def esxcli(self, *args):
        subprocess.run([ESXCLI, "--instance", self.instance] + list(args), env=self.env,
                       check=True, stdout=subprocess.DEVNULL, timeout=30)

    def _configure(self):
        vs = ("network", "vswitch", "standard")
        self.esxcli(*vs, "add", "-v", "vSwitch1")
        self.esxcli(*vs, "portgroup", "add", "-v", "vSwitch1", "-p", "Bench")
        for vmk, stack, mac, ip in (("vmk1", "benchA", MAC_A, IP_A),
                                    ("vmk2", "benchB", MAC_B, IP_B)):
            self.esxcli("network", "ip", "netstack", "add", "-N", stack)
            self.esxcli("network", "ip", "interface", "add", "-i", vmk, "-p", "Bench",
                        "-N", stack, "-M", mac)
            self.esxcli("network", "ip", "interface", "ipv4", "set", "-i", vmk, "-t",
                        "static", "-I", ip, "-N", "255.255.255.0")

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.communicate(timeout=10)
        self.extra_ns = [self.host_ns]
        super().__exit__(*exc)
        shutil.rmtree(self.root, ignore_errors=True)


TOPOLOGIES = (VmkdHost, LinuxBridge)


def iperf(topo, seconds):
    subprocess.run(ns_exec(topo.ns_b, "iperf3 -s -1 -D -B %s" % IP_B), shell=True, check=True)
    time.sleep(0.3)
    out = subprocess.run(ns_exec(topo.ns_a, "iperf3 -J -c %s -t %d" % (IP_B, seconds)),
                         shell=True, check=True, capture_output=True, text=True,
                         timeout=seconds + 30).stdout
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9


def blast(topo, seconds):
    before = rx_packets(topo.ns_b, topo.dev_b)
    t0 = time.monotonic()
    subprocess.run([DPSWITCH, "blast", "--netns", topo.ns_a, "--dev", topo.dev_a,
                    "--dst", MAC_B, "--seconds", str(seconds)],
                   check=True, capture_output=True, timeout=seconds + 30)
    elapsed = time.monotonic() - t0
    time.sleep(0.3)
    return (rx_packets(topo.ns_b, topo.dev_b) - before) / elapsed


def measure(seconds, runs):
    """Both topologies up side by side, runs alternating between them, so
    that whatever else the machine does weighs on both alike."""
    tcp, pps = {}, {}
    with contextlib.ExitStack() as stack:
        topos = [stack.enter_context(cls()) for cls in TOPOLOGIES]
        for _ in range(runs):
            for t in topos:
                tcp.setdefault(t.name, []).append(iperf(t, seconds))
                pps.setdefault(t.name, []).append(blast(t, seconds))
    for name in tcp:
        print("  %-28s TCP %s Gbit/s (median %.2f); 64-byte %s kframes/s (median %.0f)" % (
            name, " ".join("%.2f" % g for g in tcp[name]), statistics.median(tcp[name]),
            " ".join("%.0f" % (p / 1e3) for p in pps[name]),
            statistics.median(pps[name]) / 1e3), flush=True)
    return tcp, pps


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    preflight()
    if not shutil.which("iperf3"):
        sys.exit("needs iperf3 (apt-get install iperf3)")
    print("vmkd host vs Linux bridge, %d s runs, %d runs, %d CPUs" % (seconds, runs,
                                                                     os.cpu_count()))
    tcp, pps = measure(seconds, runs)
    vmk, br = (c.name for c in TOPOLOGIES)
    print("TCP throughput ratio vSwitch/bridge: %.2f" % (
        statistics.median(tcp[vmk]) / statistics.median(tcp[br])))
    print("64-byte forwarding rate ratio vSwitch/bridge: %.2f" % (
        statistics.median(pps[vmk]) / statistics.median(pps[br])))


if __name__ == "__main__":
    main()
