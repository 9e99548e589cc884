"""Helpers shared by vmk's benchmarks: paths, timing, a results table."""
import os
import shutil
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("VMK_BUILD", os.path.join(ROOT, "build"))
VMX = os.path.join(BUILD, "src", "vmm", "vmx")
GUESTS = os.path.join(BUILD, "tests", "guests")
QEMU = shutil.which("qemu-system-x86_64")


def guest(name):
    return os.path.join(GUESTS, name + ".elf")


def qemu_microvm(kernel, accel="kvm", extra=()):
    return [QEMU, "-M", "microvm", "-accel", accel, "-nodefaults", "-no-user-config",
            "-nographic", "-serial", "stdio", "-kernel", kernel,
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"] + list(extra)


def wall_times(argv, runs, expect_rc=None):
    """Wall-clock seconds of `runs` complete runs of argv."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - t0)
        if expect_rc is not None and r.returncode != expect_rc:
            raise RuntimeError("%s exited %d: %s" % (argv[0], r.returncode, r.stderr.decode()))
    return times


def median(xs):
    return statistics.median(xs)


def report(title, rows):
    """rows: (name, value, unit) tuples."""
    print("\n" + title)
    for name, value, unit in rows:
        print("  %-44s %12.3f %s" % (name, value, unit))
