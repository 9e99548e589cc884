"""A real Linux kernel (Debian's linux-image-cloud-amd64) under vmx.

Where KVM emulates guest code (kvm_pvm, as on the project's build
machines) a whole boot takes far too long, so the test boots far enough
for the kernel to print its banner, the command line and the e820 map
vmx gave it, and checks those against what vmx passed.  Where KVM runs
guests natively it boots to a busybox initramfs that loads the virtio
modules, reads a virtio-blk disk, pings over virtio-net and powers off.
Each test says in its output which form ran and why.
"""
import hashlib
import os
import re
import subprocess
import threading
import time
import uuid

import pytest

from conftest import BUILD, QEMU, VMX
from linux_guest import bzimage, build_initramfs, extract_vmlinux, kvm_backend

MEMORY_MB = 512


def expected_e820(mem_mb):
    """vmx's map for RAM below the 32-bit MMIO gap."""
    top = mem_mb << 20
    return [(0x0, 0x9FBFF, "usable"), (0x9FC00, 0xFFFFF, "reserved"),
            (0x100000, top - 1, "usable")]


def boot_until(argv, patterns, timeout):
    """Runs argv, collecting output until every pattern matched or the time is up."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = []
    done = threading.Event()

    def reader():
        for line in proc.stdout:
            out.append(line.decode(errors="replace"))
            text = "".join(out)
            if all(re.search(p, text) for p in patterns):
                done.set()
                return
        done.set()

    t = threading.Thread(target=reader, daemon=True)
    t0 = time.monotonic()
    t.start()
    done.wait(timeout)
    elapsed = time.monotonic() - t0
    proc.kill()
    proc.wait()
    t.join(5)
    return "".join(out), elapsed


def check_early_boot(text, cmdline):
    assert "Linux version" in text, text[-3000:]
    m = re.search(r"Command line: (.*)", text)
    assert m, text[-3000:]
    # vmx appends nothing when there are no virtio devices: the line is ours, exactly.
    assert m.group(1).strip() == cmdline, m.group(1)
    got = re.findall(r"BIOS-e820: \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\] (\w+)", text)
    got = [(int(a, 16), int(b, 16), t) for a, b, t in got]
    assert got == expected_e820(MEMORY_MB), got


def early_boot(kernel, timeout):
    cmdline = "earlyprintk=ttyS0 console=ttyS0 vmk.test=%s" % uuid.uuid4().hex[:8]
    argv = [VMX, "--kernel", kernel, "--memory", "%dM" % MEMORY_MB, "--cmdline", cmdline]
    text, secs = boot_until(argv, [r"BIOS-e820: \[mem 0x0*100000-"], timeout)
    print("early boot of %s: %.1f s" % (os.path.basename(kernel), secs))
    check_early_boot(text, cmdline)


@pytest.fixture(scope="module")
def kernels():
    bz = bzimage()
    if not bz:
        pytest.skip("no /boot/vmlinuz-*: install linux-image-cloud-amd64")
    return {"bzimage": bz, "vmlinux": extract_vmlinux(bz, BUILD)}


@pytest.mark.slow
def test_linux_pvh_early_boot(kernels):
    """Debian's vmlinux through its PVH entry: banner, command line, e820 map."""
    print("form: early boot (KVM backend: %s)" % kvm_backend())
    early_boot(kernels["vmlinux"], timeout=240)


@pytest.mark.slow
def test_linux_bzimage_early_boot(kernels):
    """Debian's bzImage through the 64-bit boot protocol: it decompresses itself, then the same checks."""
    print("form: early boot (KVM backend: %s)" % kvm_backend())
    early_boot(kernels["bzimage"], timeout=400)


def full_boot_argv(vmm, kernel, initrd, disk, tap):
    cmdline = "console=ttyS0 panic=-1 reboot=k"
    if vmm == "vmx":
        return [VMX, "--kernel", kernel, "--initrd", initrd, "--memory", "%dM" % MEMORY_MB,
                "--cmdline", cmdline, "--disk", disk + ",ro", "--net", "tap=" + tap]
    # Under TCG, Debian's kernel cannot calibrate its TSC on microvm and
    # stalls; the pc machine (virtio over PCI) boots in seconds.
    return [QEMU, "-M", "pc", "-accel", "tcg", "-m", "%d" % MEMORY_MB, "-nodefaults",
            "-no-user-config", "-nographic", "-serial", "stdio", "-kernel", kernel,
            "-initrd", initrd, "-append", cmdline,
            "-drive", "id=d0,file=%s,format=raw,if=none,readonly=on" % disk,
            "-device", "virtio-blk-pci,drive=d0",
            "-netdev", "tap,id=n0,ifname=%s,script=no,downscript=no" % tap,
            "-device", "virtio-net-pci,netdev=n0"]


def full_boot(vmm, kernels, netns, tmp_path):
    initrd = build_initramfs(BUILD)
    disk = str(tmp_path / "disk.img")
    sector = os.urandom(512)
    open(disk, "wb").write(sector + b"\0" * (1 << 20))
    netns.ip("tuntap", "add", "dev", "vmkl0", "mode", "tap", "vnet_hdr")
    netns.ip("addr", "add", "10.78.0.1/24", "dev", "vmkl0")
    netns.ip("link", "set", "vmkl0", "up")
    argv = ["ip", "netns", "exec", netns.name] + full_boot_argv(
        vmm, kernels["bzimage"], initrd, disk, "vmkl0")
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, timeout=120)
    text = r.stdout.decode(errors="replace")
    print("%s full boot: %.1f s, exit %d" % (vmm, time.monotonic() - t0, r.returncode))
    assert "vmk-init: started" in text, text[-4000:]
    assert "vmk-init: disk " + hashlib.md5(sector).hexdigest() in text, text[-4000:]
    assert "vmk-init: ping ok" in text, text[-4000:]
    assert "vmk-init: powering off" in text
    if vmm == "vmx":
        assert r.returncode == 0, r.stderr.decode()


@pytest.mark.slow
def test_linux_full_boot(kernels, netns, tmp_path):
    backend = kvm_backend()
    if backend not in ("intel", "amd"):
        pytest.skip("KVM here is %s: it emulates guest code, so a full Linux boot is "
                    "impossible; the early-boot tests ran instead" % backend)
    full_boot("vmx", kernels, netns, tmp_path)


@pytest.mark.slow
@pytest.mark.reference
def test_linux_full_boot_reference_qemu(kernels, netns, tmp_path):
    """The same initramfs under QEMU's TCG: proves the guest side of the full-boot test."""
    if not QEMU:
        pytest.skip("qemu-system-x86_64 is not installed: no reference run")
    full_boot("qemu", kernels, netns, tmp_path)
