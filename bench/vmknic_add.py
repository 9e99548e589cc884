#!/usr/bin/python3
"""How long adding a VMkernel adapter takes in a TCP/IP stack other than
defaultTcpipStack, and how long vmkd takes to start with N of them.

For each N: a fresh host in a namespace of its own, a vSwitch of 4,096
ports with one port group, a netstack, then N `esxcli network ip
interface add -N STACK` one after the other (wall time of each esxcli
process, median and total), then a stop and a start (wall time until the
host answers, every adapter realized again).  The same for
defaultTcpipStack, for comparison.  Nothing here touches the machine's
interfaces.

usage: bench/vmknic_add.py [N ...]   (default 200; VMK_BUILD selects the build)
"""
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "system"))
from vmkd_util import ESXCLI, Host, close_hosts  # noqa: E402

from common import report  # noqa: E402

STACK = "benchAdd"


def taps(ns):
    out = subprocess.run(["ip", "-n", ns, "-o", "link", "show"], capture_output=True,
                         text=True).stdout
    return sum(1 for line in out.splitlines() if line.split(":")[1].strip().startswith("vmk"))


def one(n, stack):
    h = Host()
    try:
        h.start()
        h.ok("network", "vswitch", "standard", "add", "-v", "vSwitchBig", "-P", "4096")
        h.ok("network", "vswitch", "standard", "portgroup", "add", "-p", "pgBig",
             "-v", "vSwitchBig")
        ns = h.ns
        if stack != "defaultTcpipStack":
            h.ok("network", "ip", "netstack", "add", "-N", stack)
            ns = "vmk-%s-%s" % (h.name, stack)
        had = taps(ns)          # vmk0 in defaultTcpipStack
        each = []
        for i in range(n):
            t = time.perf_counter()
            subprocess.run([ESXCLI, "--instance", h.name, "network", "ip", "interface", "add",
                            "-i", "vmk%d" % (i + 10), "-p", "pgBig", "-N", stack],
                           env=h.env, stdout=subprocess.DEVNULL, check=True)
            each.append((time.perf_counter() - t) * 1000)
        h.stop(timeout=300)
        t = time.perf_counter()
        h.start(timeout=300)
        start = (time.perf_counter() - t) * 1000
        found = taps(ns)
        if found != had + n:
            raise RuntimeError("%d vmk TAPs in %s after the start, expected %d"
                               % (found, ns, had + n))
        return [("N=%d %s: add, median" % (n, stack), statistics.median(each), "ms"),
                ("N=%d %s: add, all" % (n, stack), sum(each), "ms"),
                ("N=%d %s: start with N adapters" % (n, stack), start, "ms")]
    finally:
        close_hosts(h)


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [200]
    rows = []
    for n in sizes:
        rows += one(n, STACK) + one(n, "defaultTcpipStack")
    report("esxcli network ip interface add, N adapters in one stack", rows)


if __name__ == "__main__":
    main()
