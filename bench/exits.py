#!/usr/bin/python3
"""User-space instructions a VMM spends per VM exit: vmx against QEMU
microvm (KVM), one port-I/O exit and one MMIO exit, counted by callgrind.

usage: bench/exits.py [N1 N2]   (default 2000 12000; VMK_BUILD selects the
                                 build, default build/)

What is counted.  The exits test guest (tests/guests/exits.c) makes
exits.pio=N reads of the UART scratch register (port 0x3ff) and then
exits.mmio=N 32-bit reads of the MagicValue register of the first
virtio-mmio transport (each VMM gets one small virtio-blk disk for that).
Each VMM runs under `valgrind --tool=callgrind --separate-threads=yes`,
which counts every instruction executed in user space (Ir), per thread.
Instruction counts are repeatable where times are not, which matters here:
KVM on these machines emulates the guest, an exit round trip takes ~10 us
and wobbles by more than the VMM's whole share of it.  The kernel's part
of an exit (KVM_RUN itself, the emulation) is not user space and is not
counted, for either VMM.

The guest gets exits.calibrate=0 here: QEMU microvm's PIT is in user
space (split irqchip), so the guest's TSC calibration would make a
time-dependent number of PIT exits there and spoil the differencing.

Three runs per VMM:   base  pio=N1 mmio=N1
                      pio   pio=N2 mmio=N1
                      mmio  pio=N1 mmio=N2
so (pio - base) / (N2 - N1) is the cost of one PIO exit and (mmio - base)
/ (N2 - N1) that of one MMIO exit, with start-up, boot,
device discovery, printing and shutdown cancelled out.  This differencing
is needed because those fixed costs (about 0.6 million instructions for
vmx, 70 million for QEMU) dwarf a few hundred per exit.  The guest prints
N, so the runs differ by a few serial exits for the extra digits: < 0.1 %.

Three figures per exit kind:

  vcpu thread   the Ir delta of the vCPU thread (the thread whose profile
                holds vcpu_thread / kvm_cpu_exec): the whole user-space
                round trip, i.e. the KVM_RUN wrapper, the exit decode, the
                device model, locks, statistics.  This is the headline
                figure and the ratio vmx/QEMU is taken on it.
  dispatch      the inclusive Ir delta of the bus dispatch function:
                vmx bus_access (handle_io / handle_mmio in src/vmm/vcpu.c
                are static and GCC inlines them into vcpu_thread at -O2, so
                callgrind has no symbol for them; --toggle-collect on them
                would count nothing; bus_access is what they call, once per
                exit), QEMU address_space_rw (what kvm_cpu_exec and
                kvm_handle_io call for each MMIO / PIO exit).  It is the
                device-model part of the vCPU thread figure.  QEMU's binary
                is stripped, but it exports these symbols dynamically.
  process       the Ir delta of all threads together.  It exceeds the
                vCPU thread figure only if another thread does work per
                exit (or per unit of time: QEMU's main loop timers).

As a check, the number of calls of the dispatch function must grow by
N2 - N1 between the runs (printed as "calls/exit", expect 1.00).

Also printed: the guest's own TSC measurement of one exit round trip
(median of 5 native runs with the default N=10000 and calibration on).
That is a time, kernel emulation included, and noisy.

Valgrind runs both VMMs as they are: it knows the KVM ioctls vmx uses
(KVM_RUN's kvm_run page is an ordinary shared mapping to it).  For QEMU it
reports seccomp (syscall 317) and KVM_GET/SET_TSC_KHZ (0xaea3/0xaea2) as
unhandled, which is harmless for callgrind; those lines are echoed.

Caveats.  Valgrind hides the vDSO from its client, so clock_gettime is a
real system call under callgrind (about 10 user instructions) where
natively it runs in the vDSO (a few dozen instructions, no kernel entry).
vmx reads the clock twice per exit (vcpu.c, run_ns statistics), so natively
it spends somewhat more than reported here; QEMU's exit path makes no such
call.  The hardware counters (perf stat -e instructions:u) are not
available on these machines, which is why callgrind is used at all.
Benchmarks are not tests: this prints numbers and ratios, it asserts none.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from common import QEMU, VMX, guest, median, report

VALGRIND = shutil.which("valgrind")
ANNOTATE = shutil.which("callgrind_annotate")

VCPU_FN = {"vmx": "vcpu_thread", "qemu": "kvm_cpu_exec"}
DISPATCH_FN = {"vmx": "bus_access", "qemu": "address_space_rw"}


def vmx_argv(cmdline, disk, serial):
    return [VMX, "--kernel", guest("exits"), "--debug-exit",
            "--serial", "none" if serial == "null" else serial,
            "--memory", "128M", "--disk", disk, "--cmdline", cmdline]


def qemu_argv(cmdline, disk, serial):
    # "-serial null", not "none": the guest needs COM1 there (its scratch register)
    return [QEMU, "-M", "microvm", "-accel", "kvm", "-m", "128M", "-nodefaults",
            "-no-user-config", "-nographic", "-serial", serial,
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-kernel", guest("exits"), "-append", cmdline,
            "-global", "virtio-mmio.force-legacy=false",
            "-drive", "id=d0,file=%s,format=raw,if=none" % disk,
            "-device", "virtio-blk-device,drive=d0"]


ANNOTATE_LINE = re.compile(r"^\s*([\d,]+)\s+\([^)]*\)\s+(?:\*\s+)?(.*?):([^\s:]+)\s+\[")
CALL_LINE = re.compile(r"^\s*[\d,]+\s+\([^)]*\)\s+>\s+(.*?):([^\s:]+)\s+\(([\d,]+)x\)")


def fn_base(name):
    return name.split("@")[0].split("'")[0]


def thread_profile(path, fns):
    """Total Ir of one per-thread callgrind file, inclusive Ir and call
    counts of the functions in fns."""
    total = 0
    with open(path) as f:
        for line in f:
            if line.startswith("summary:"):
                total = int(line.split()[1])
    incl = dict.fromkeys(fns, 0)
    calls = dict.fromkeys(fns, 0)
    out = subprocess.run([ANNOTATE, "--inclusive=yes", "--threshold=100", path],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = ANNOTATE_LINE.match(line)
        if m and fn_base(m.group(3)) in fns:
            incl[fn_base(m.group(3))] = max(incl[fn_base(m.group(3))],
                                            int(m.group(1).replace(",", "")))
    out = subprocess.run([ANNOTATE, "--tree=calling", "--threshold=100", path],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        m = CALL_LINE.match(line)
        if m and fn_base(m.group(2)) in fns:
            calls[fn_base(m.group(2))] += int(m.group(3).replace(",", ""))
    return total, incl, calls


def callgrind_run(vmm, argv, workdir, tag):
    """Runs argv under callgrind; returns process Ir, vCPU-thread Ir,
    dispatch-function inclusive Ir and call count (vCPU thread)."""
    prefix = os.path.join(workdir, "%s-%s" % (vmm, tag))
    r = subprocess.run([VALGRIND, "--tool=callgrind", "--separate-threads=yes",
                        "--callgrind-out-file=%s.%%p" % prefix] + argv,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 1:       # the guest's pass through the debug-exit port
        raise RuntimeError("%s under callgrind exited %d:\n%s" % (vmm, r.returncode, r.stderr[-3000:]))
    for line in r.stderr.splitlines() if tag == "base" else ():
        if "unhandled" in line:
            print("  valgrind (%s %s): %s" % (vmm, tag, line.split("== ", 1)[-1]))
    files = [os.path.join(workdir, f) for f in os.listdir(workdir)
             if f.startswith(os.path.basename(prefix) + ".") and "-" in f.rsplit(".", 1)[1]]
    process, vcpu, disp, ncalls = 0, None, 0, 0
    for path in files:
        total, incl, calls = thread_profile(path, [VCPU_FN[vmm], DISPATCH_FN[vmm]])
        process += total
        if incl[VCPU_FN[vmm]]:
            if vcpu is not None:
                raise RuntimeError("%s: more than one vCPU thread" % vmm)
            vcpu = total
            disp, ncalls = incl[DISPATCH_FN[vmm]], calls[DISPATCH_FN[vmm]]
    if vcpu is None:
        raise RuntimeError("%s: no thread ran %s" % (vmm, VCPU_FN[vmm]))
    return {"process": process, "vcpu": vcpu, "dispatch": disp, "calls": ncalls}


def measure(vmm, make_argv, n1, n2, workdir, disk):
    runs = {}
    for tag, pio, mmio in (("base", n1, n1), ("pio", n2, n1), ("mmio", n1, n2)):
        cmdline = "exits.calibrate=0 exits.pio=%d exits.mmio=%d" % (pio, mmio)
        runs[tag] = callgrind_run(vmm, make_argv(cmdline, disk, "null"), workdir, tag)
    dn = float(n2 - n1)
    per = {}
    for kind in ("pio", "mmio"):
        per[kind] = {k: (runs[kind][k] - runs["base"][k]) / dn
                     for k in ("process", "vcpu", "dispatch", "calls")}
    return per


GUEST_LINE = re.compile(r"^exits: (pio|mmio) n=\d+ cycles/exit=(\d+) ns/exit=(\d+)", re.M)


def round_trips(make_argv, disk, runs):
    """Guest-measured time of one exit round trip (TSC, calibrated), native
    runs with the default N: median ns per exit kind over `runs` runs."""
    ns = {"pio": [], "mmio": []}
    for _ in range(runs):
        r = subprocess.run(make_argv("", disk, "stdio"), stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
        if r.returncode != 1:
            raise RuntimeError("exits guest failed (%d): %s" % (r.returncode, r.stdout[-500:]))
        for kind, _cyc, t in GUEST_LINE.findall(r.stdout):
            ns[kind].append(int(t))
    return {k: median(v) for k, v in ns.items()}


def main():
    n1, n2 = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else (2000, 12000)
    if not VALGRIND or not ANNOTATE:
        print("valgrind (callgrind) is not installed: nothing to measure")
        return
    workdir = tempfile.mkdtemp(prefix="vmk-exits.")
    try:
        disk = os.path.join(workdir, "disk.img")
        with open(disk, "wb") as f:
            f.truncate(1 << 20)
        peers = [("vmx", vmx_argv)] + ([("qemu", qemu_argv)] if QEMU else [])
        res = {vmm: measure(vmm, argv, n1, n2, workdir, disk) for vmm, argv in peers}
        rt = {vmm: round_trips(argv, disk, 5) for vmm, argv in peers}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    rows = []
    for vmm, _ in peers:
        for kind in ("pio", "mmio"):
            p = res[vmm][kind]
            label = "%s %s exit" % (vmm, kind.upper())
            rows += [(label + ": vcpu thread", p["vcpu"], "Ir/exit"),
                     (label + ": dispatch (%s)" % DISPATCH_FN[vmm], p["dispatch"], "Ir/exit"),
                     (label + ": whole process", p["process"], "Ir/exit"),
                     (label + ": %s calls/exit" % DISPATCH_FN[vmm], p["calls"], "(expect 1)")]
    for vmm, _ in peers:
        for kind in ("pio", "mmio"):
            rows.append(("%s %s round trip, guest TSC, median of 5" % (vmm, kind.upper()),
                         rt[vmm][kind] / 1000.0, "us (time: noisy)"))
    if QEMU:
        for kind in ("pio", "mmio"):
            rows += [("ratio vmx/qemu %s, vcpu thread" % kind.upper(),
                      res["vmx"][kind]["vcpu"] / res["qemu"][kind]["vcpu"], "x"),
                     ("ratio vmx/qemu %s, dispatch" % kind.upper(),
                      res["vmx"][kind]["dispatch"] / res["qemu"][kind]["dispatch"], "x")]
    else:
        print("qemu-system-x86_64 not installed: no peer, no ratio")
    report("exits: user-space instructions per VM exit (callgrind Ir, "
           "exits.pio/mmio %d vs %d)" % (n1, n2), rows)


if __name__ == "__main__":
    main()
