#!/usr/bin/python3
"""What vmx's vCPU sandbox (a seccomp filter on every vCPU thread, see
docs/vmx.md "Sandbox") costs: the exits test guest makes N port-I/O and N
MMIO exits, each a KVM_RUN and the exit handler's system calls, all of
them run through the filter; the peer is the same vmx with --no-sandbox,
in the same run, runs alternating.  Wall time of whole runs, median.

usage: bench/sandbox.py [N [RUNS]]   (default 50000 7; VMK_BUILD selects
                                      the build, default build/)
It prints; it never asserts."""
import os
import subprocess
import sys
import tempfile
import time

from common import VMX, guest, median


def run(extra, n, disk):
    argv = [VMX] + extra + ["--disk", disk, "--kernel", guest("exits"), "--debug-exit",
                            "--cmdline", "exits.pio=%d exits.mmio=%d exits.calibrate=0" % (n, n)]
    t0 = time.perf_counter()
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - t0
    if "PASS exits" not in r.stdout:
        raise RuntimeError("vmx %s: %s%s" % (" ".join(extra), r.stdout[-300:], r.stderr[-300:]))
    return seconds


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    with tempfile.NamedTemporaryFile(prefix="vmk-bench-disk-") as disk:
        disk.truncate(1 << 20)
        times = {"sandboxed": [], "--no-sandbox": []}
        for _ in range(runs):
            times["sandboxed"].append(run([], n, disk.name))
            times["--no-sandbox"].append(run(["--no-sandbox"], n, disk.name))
    print("vmx exits guest, %d PIO + %d MMIO exits, %d runs each, %d CPUs" % (
        n, n, runs, os.cpu_count()))
    for name, t in times.items():
        print("  %-14s median %.3f s (%s)" % (name, median(t), " ".join("%.3f" % x for x in t)))
    us = lambda name: median(times[name]) / (2 * n) * 1e6  # noqa: E731
    print("  per exit: %.2f us sandboxed, %.2f us without" % (us("sandboxed"), us("--no-sandbox")))
    print("ratio sandboxed/unsandboxed (median): %.3f" % (
        median(times["sandboxed"]) / median(times["--no-sandbox"])))


if __name__ == "__main__":
    main()
