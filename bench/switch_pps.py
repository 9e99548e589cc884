#!/usr/bin/python3
"""Small-frame forwarding rate: 64-byte frames (60 + FCS) per second from
namespace a to namespace b through vmk's vSwitch datapath (TAP to TAP)
against a Linux bridge with veths.  One generator thread in a
(vmk-dpswitch blast: AF_PACKET sendmmsg, qdisc bypassed, EtherType
0x88b5) offers as many as it can for SECONDS; the rate is what b's
interface received, per second.  RUNS runs, alternating between the
two, median.

Read the offered rate beside it: the bridge forwards inside the
generator's own sendmmsg (its CPU does all the work), while the vSwitch
forwards in its own thread on the other CPU, so when the vSwitch receives
everything offered the figure is the generator's limit, not the switch's.

usage: bench/switch_pps.py [SECONDS [RUNS]]   (default 3 5; as root)"""
import statistics
import subprocess
import sys
import time

from switch_common import DPSWITCH, MAC_B, TOPOLOGIES, interleaved, preflight, rx_packets


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
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    preflight()
    result = interleaved(lambda t: blast(t, seconds), runs)
    rate = {}
    for cls in TOPOLOGIES:
        got = result[cls.name]
        rate[cls.name] = statistics.median(g[0] for g in got)
        offered = statistics.median(g[1] for g in got)
        print("  %-28s received %s kframes/s (offered median %.0f kframes/s%s)" % (
            cls.name, " ".join("%.0f" % (g[0] / 1e3) for g in got), offered / 1e3,
            ": all forwarded, the generator is the limit"
            if rate[cls.name] >= 0.99 * offered else ""))
    vmk, br = (rate[c.name] for c in TOPOLOGIES)
    print("64-byte forwarding rate ratio vSwitch/bridge: %.2f" % (vmk / br))

if __name__ == "__main__":
    main()
