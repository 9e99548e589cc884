#!/usr/bin/python3
"""esxcli round trip against a live vmkd: process start, one connect, one
request, one reply, formatting.  Reads and writes separately (a write
waits for its commit to reach disk), and the same with 4,000 port groups
and then 1,000 VMkernel adapters (real TAPs) to show that commands do not
slow down more than linearly.  Goal: median
<= 5 ms per command (the reference's esxcli takes about a second).

Adding adapters must stay flat: each `ip interface add` is timed, and the
mean of adds 901-1,000 is set against that of adds 1-100 (goal: ratio
about 1; it was 10 before multicast filtering, docs/benchmarks.md).

usage: bench/esxcli.py [runs]     (VMK_BUILD selects the build, default build/)
"""
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "system"))
from vmkd_util import ESXCLI, Host  # noqa: E402

from common import report  # noqa: E402


def median_ms(h, runs, *args):
    argv = [ESXCLI, "--instance", h.name] + list(args)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(argv, env=h.env, stdout=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def measure(h, runs, label):
    return [
        ("%s: system version get" % label, median_ms(h, runs, "system", "version", "get"), "ms"),
        ("%s: vswitch standard list" % label,
         median_ms(h, runs, "network", "vswitch", "standard", "list"), "ms"),
        ("%s: portgroup set (a write)" % label,
         median_ms(h, runs, "network", "vswitch", "standard", "portgroup", "set",
                   "-p", "VM Network", "-v", "7"), "ms"),
    ]


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    h = Host()
    try:
        h.start()
        rows = measure(h, runs, "empty host")
        h.ok("network", "vswitch", "standard", "add", "-v", "vSwitchBig", "-P", "4096")
        t0 = time.perf_counter()
        for i in range(4000):
            h.ok("network", "vswitch", "standard", "portgroup", "add", "-p", "pg%d" % i,
                 "-v", "vSwitchBig")
        rows.append(("adding 4,000 port groups, per command",
                     (time.perf_counter() - t0) * 1000 / 4000, "ms"))
        rows += measure(h, max(runs // 10, 5), "4,000 port groups")
        # 1,000 VMkernel adapters: each is a real TAP in the kernel.
        adds = []
        for i in range(1000):
            adds.append(median_ms(h, 1, "network", "ip", "interface", "add",
                                  "-i", "vmk%d" % (i + 10), "-p", "pg%d" % i))
        first, last = statistics.mean(adds[:100]), statistics.mean(adds[900:])
        rows += [("adding 1,000 adapters, per command", statistics.mean(adds), "ms"),
                 ("adding adapters 1-100, mean", first, "ms"),
                 ("adding adapters 901-1,000, mean", last, "ms"),
                 ("adding: ratio 901-1,000 / 1-100", last / first, "")]
        few = max(runs // 10, 5)
        rows += measure(h, few, "1,000 adapters")
        rows.append(("1,000 adapters: ip interface list",
                     median_ms(h, few, "network", "ip", "interface", "list"), "ms"))
        rows.append(("1,000 adapters: ip interface ipv4 set (a write)",
                     median_ms(h, few, "network", "ip", "interface", "ipv4", "set", "-i", "vmk10",
                               "-t", "static", "-I", "10.9.0.1", "-N", "255.255.0.0"), "ms"))
        report("esxcli round trip, median of %d runs (goal <= 5 ms)" % runs, rows)
    finally:
        h.close()


if __name__ == "__main__":
    main()
