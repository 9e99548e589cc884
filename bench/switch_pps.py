#!/usr/bin/python3
"""Small-frame forwarding rate: 64-byte frames (60 + FCS) per second from
namespace a to namespace b through vmk's vSwitch datapath (TAP to TAP)
against a Linux bridge with veths.  One generator thread in a
(vmk-dpswitch blast: AF_PACKET sendmmsg, qdisc bypassed, EtherType
0x88b5) offers as many as it can for SECONDS; the rate is what b's
interface received, per second.  RUNS runs, median.

usage: bench/switch_pps.py [SECONDS [RUNS]]   (default 3 3; as root)"""
import statistics
import subprocess
import sys
import time

from switch_common import DPSWITCH, MAC_B, TOPOLOGIES, preflight, rx_packets


def blast(topo, seconds):
    before = rx_packets(topo.ns_b, topo.dev_b)
    t0 = time.monotonic()
    out = subprocess.run([DPSWITCH, "blast", "--netns", topo.ns_a, "--dev", topo.dev_a,
                          "--dst", MAC_B, "--seconds", str(seconds)],
                         check=True, capture_output=True, text=True).stdout
    elapsed = time.monotonic() - t0
    time.sleep(0.3)
    got = rx_packets(topo.ns_b, topo.dev_b) - before
    sent = int(out.split()[1])
    return got / elapsed, sent / elapsed


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    preflight()
    rate = {}
    for cls in TOPOLOGIES:
        with cls() as topo:
            got = [blast(topo, seconds) for _ in range(runs)]
        rate[cls.name] = statistics.median(g[0] for g in got)
        print("  %-28s received %s kframes/s (offered median %.0f kframes/s)" % (
            cls.name, " ".join("%.0f" % (g[0] / 1e3) for g in got),
            statistics.median(g[1] for g in got) / 1e3), flush=True)
    vmk, br = (rate[c.name] for c in TOPOLOGIES)
    print("64-byte forwarding rate ratio vSwitch/bridge: %.2f" % (vmk / br))


if __name__ == "__main__":
    main()
