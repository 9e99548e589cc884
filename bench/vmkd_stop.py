#!/usr/bin/python3
"""How long vmkd takes to stop (SIGTERM to exit) with many VMkernel
adapters.  Each adapter is a real TAP; stopping closes them all.

For each N: a fresh host in a namespace of its own, a vSwitch of 4,096
ports with one port group, N adapters added with esxcli (half of them in
defaultTcpipStack, half in a stack of their own, so that both kinds of
namespace are torn down), then SIGTERM and the wall time until vmkd has
exited.  Then it checks that no vmkN TAP is left in either namespace, and
starts the host again to time the start with N adapters (not the goal,
shown for comparison).  Nothing here touches the machine's interfaces.

usage: bench/vmkd_stop.py [N ...]   (default 100 500; VMK_BUILD selects the build)
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "system"))
from vmkd_util import ESXCLI, Host, close_hosts  # noqa: E402

from common import report  # noqa: E402

STACK = "benchStop"


def add_adapters(h, n):
    h.ok("network", "vswitch", "standard", "add", "-v", "vSwitchBig", "-P", "4096")
    h.ok("network", "vswitch", "standard", "portgroup", "add", "-p", "pgBig",
         "-v", "vSwitchBig")
    h.ok("network", "ip", "netstack", "add", "-N", STACK)
    for i in range(n):
        stack = STACK if i % 2 else "defaultTcpipStack"
        subprocess.run([ESXCLI, "--instance", h.name, "network", "ip", "interface", "add",
                        "-i", "vmk%d" % (i + 10), "-p", "pgBig", "-N", stack],
                       env=h.env, stdout=subprocess.DEVNULL, check=True)


def taps(ns):
    out = subprocess.run(["ip", "-n", ns, "-o", "link", "show"], capture_output=True,
                         text=True).stdout
    return sum(1 for line in out.splitlines() if line.split(":")[1].strip().startswith("vmk"))


def stop_ms(h):
    t = time.perf_counter()
    h.proc.send_signal(signal.SIGTERM)
    h.proc.communicate(timeout=300)
    ms = (time.perf_counter() - t) * 1000
    if h.proc.returncode != 0:
        raise RuntimeError("vmkd exited with %d" % h.proc.returncode)
    return ms


def one(n):
    h = Host()
    try:
        h.start()
        add_adapters(h, n)
        stack_ns = "vmk-%s-%s" % (h.name, STACK)
        before = taps(h.ns) + taps(stack_ns)
        ms = stop_ms(h)
        left = taps(h.ns) + taps(stack_ns)
        t = time.perf_counter()
        h.start(timeout=300)
        start = (time.perf_counter() - t) * 1000
        again = taps(h.ns) + taps(stack_ns)
        print("N=%d: vmk TAPs before stop %d, after stop %d, after restart %d"
              % (n, before, left, again))
        if left:
            raise RuntimeError("%d TAPs left after the stop" % left)
        return [("N=%d: stop (SIGTERM to exit)" % n, ms, "ms"),
                ("N=%d: stop, per adapter" % n, ms / n, "ms"),
                ("N=%d: start again with N adapters" % n, start, "ms")]
    finally:
        close_hosts(h)


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [100, 500]
    rows = []
    for n in sizes:
        rows += one(n)
    report("vmkd stop with N VMkernel adapters (half in defaultTcpipStack, half in %s)"
           % STACK, rows)


if __name__ == "__main__":
    main()
