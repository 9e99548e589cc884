#!/usr/bin/python3
"""TCP throughput between two namespaces through vmk's vSwitch datapath
(two VMkernel-adapter TAPs with virtio-net headers and TSO, forwarded by
vmk-dpswitch) against the same two namespaces joined by a Linux bridge
with veths.  iperf3, one stream, RUNS runs of SECONDS each, alternating
between the two, median.

usage: bench/switch_tcp.py [SECONDS [RUNS]]   (default 5 5; as root)

The goal (issue 3) is a ratio >= 1.0.  Both peers share this machine's
CPUs with iperf3's two ends; the bridge forwards in the sender's softirq
without copying, the vSwitch in a user-space thread that copies each
64 KiB segment out of one TAP and into the other."""
import json
import shutil
import statistics
import subprocess
import sys
import time

from switch_common import IP_B, TOPOLOGIES, interleaved, ns_exec, preflight


def iperf(topo, seconds):
    subprocess.run(ns_exec(topo.ns_b, "iperf3 -s -1 -D -B %s" % IP_B), shell=True, check=True)
    time.sleep(0.3)
    out = subprocess.run(ns_exec(topo.ns_a, "iperf3 -J -c %s -t %d" % (IP_B, seconds)),
                         shell=True, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    preflight()
    if not shutil.which("iperf3"):
        sys.exit("needs iperf3 (apt-get install iperf3)")
    result = interleaved(lambda t: iperf(t, seconds), runs)
    for cls in TOPOLOGIES:
        print("  %-28s %s Gbit/s  (median %.2f)" % (
            cls.name, " ".join("%.2f" % g for g in result[cls.name]),
            statistics.median(result[cls.name])))
    vmk, br = (statistics.median(result[c.name]) for c in TOPOLOGIES)
    print("TCP throughput ratio vSwitch/bridge: %.2f" % (vmk / br))

if __name__ == "__main__":
    main()
