#!/usr/bin/python3
"""Whole run of the hello test guest, process start to exit: vmx against
QEMU microvm (KVM) in the same run.  Goal: vmx <= 0.25 of QEMU's time.

usage: bench/boot.py [runs]     (VMK_BUILD selects the build, default build/)
"""
import sys

from common import QEMU, VMX, guest, median, qemu_microvm, report, wall_times


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    hello = guest("hello")
    vmx_argv = [VMX, "--kernel", hello, "--debug-exit", "--serial", "none"]
    qemu_argv = qemu_microvm(hello, "kvm", ["-serial", "none"]) if QEMU else None
    # Interleaved, one run of each in turn, so that load from other work on
    # the machine falls on both alike.
    vmx, q = [], []
    for _ in range(runs):
        vmx += wall_times(vmx_argv, 1, 1)
        if QEMU:
            q += wall_times(qemu_argv, 1, 1)
    rows = [("vmx hello run, median", median(vmx) * 1000, "ms"),
            ("vmx hello run, min", min(vmx) * 1000, "ms")]
    if QEMU:
        rows += [("qemu microvm (kvm) hello run, median", median(q) * 1000, "ms"),
                 ("qemu microvm (kvm) hello run, min", min(q) * 1000, "ms"),
                 ("ratio vmx/qemu (median; goal <= 0.25)", median(vmx) / median(q), "x")]
    else:
        print("qemu-system-x86_64 not installed: no peer, no ratio")
    report("boot: hello guest, %d runs each" % runs, rows)


if __name__ == "__main__":
    main()
