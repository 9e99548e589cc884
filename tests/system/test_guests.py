"""The test guests under vmx, and under QEMU microvm as the reference.

Each guest checks one thing from inside the VM and reports over serial
("PASS name" / "FAIL name: why") and the debug-exit port (0 = pass,
which makes the VMM exit with status 1).
"""
import hashlib
import json
import os
import re

import pytest

from conftest import QEMU, guest, qemu, vmx

PASS_STATUS = 1  # debug-exit value 0: (0 << 1) | 1


def run_guest(vmm, name, cmdline="", vmx_args=(), qemu_args=(), timeout=60, netns=None):
    if vmm == "qemu":
        if not QEMU:
            pytest.skip("qemu-system-x86_64 is not installed: no reference run")
        return qemu(guest(name), *qemu_args, cmdline=cmdline, timeout=timeout * 2, netns=netns)
    return vmx(guest(name), *vmx_args, cmdline=cmdline, timeout=timeout, netns=netns)


def assert_pass(run, name):
    assert "PASS " + name in run.out, run
    assert run.rc == PASS_STATUS, run


def test_hello(vmm):
    r = run_guest(vmm, "hello", cmdline="hello-arg=42")
    assert_pass(r, "hello")
    assert "Hello from vmk test guest" in r.out
    assert "500500" in r.out
    assert "hello-arg=42" in r.out


@pytest.mark.parametrize("cpus", [1, 2, 4])
def test_smp(vmm, cpus):
    r = run_guest(vmm, "smp", vmx_args=["--cpus", str(cpus)], qemu_args=["-smp", str(cpus)])
    assert_pass(r, "smp")
    assert "cpus=%d" % cpus in r.out, r


def test_timer(vmm):
    r = run_guest(vmm, "timer")
    assert_pass(r, "timer")


def make_disks(tmp_path):
    rw = tmp_path / "rw.img"
    ro = tmp_path / "ro.img"
    rw.write_bytes(b"\0" * (1 << 20))
    ro.write_bytes(bytes((i * 7 + 3) & 0xff for i in range(1 << 20)))
    return str(rw), str(ro)


def blk_run(vmm, rw, ro):
    return run_guest(vmm, "blk",
                     vmx_args=["--disk", rw, "--disk", ro + ",ro"],
                     qemu_args=["-drive", "id=d0,file=%s,format=raw,if=none" % rw,
                                "-device", "virtio-blk-device,drive=d0",
                                "-drive", "id=d1,file=%s,format=raw,if=none,readonly=on" % ro,
                                "-device", "virtio-blk-device,drive=d1"])


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_blk(vmm, tmp_path):
    rw, ro = make_disks(tmp_path)
    before = sha(ro)
    r = blk_run(vmm, rw, ro)
    assert_pass(r, "blk")
    # The read-only disk is unchanged; the writable one holds what the guest wrote.
    assert sha(ro) == before
    assert open(rw, "rb").read(4096) != b"\0" * 4096


@pytest.mark.reference
def test_blk_same_bytes_as_qemu(tmp_path):
    """vmx and QEMU give the guest the same bytes: its printed checksums agree."""
    if not QEMU:
        pytest.skip("qemu-system-x86_64 is not installed: no reference run")
    sums = {}
    for vmm in ("vmx", "qemu"):
        d = tmp_path / vmm
        d.mkdir()
        r = blk_run(vmm, *make_disks(d))
        assert_pass(r, "blk")
        sums[vmm] = sorted(re.findall(r"checksum=0x[0-9a-f]+", r.out))
    assert sums["vmx"] == sums["qemu"] and sums["vmx"], sums


def test_net(vmm, netns):
    netns.ip("tuntap", "add", "dev", "vmkt0", "mode", "tap", "vnet_hdr")
    netns.ip("addr", "add", "10.77.0.1/24", "dev", "vmkt0")
    netns.ip("link", "set", "vmkt0", "up")
    cmdline = "ip=10.77.0.2 peer=10.77.0.1"
    r = run_guest(vmm, "net", cmdline=cmdline,
                  vmx_args=["--net", "tap=vmkt0,mac=52:54:00:12:34:56"],
                  qemu_args=["-netdev", "tap,id=n0,ifname=vmkt0,script=no,downscript=no",
                             "-device", "virtio-net-device,netdev=n0,mac=52:54:00:12:34:56"],
                  netns=netns.name)
    assert_pass(r, "net")
    assert "arp ok" in r.out and "ping ok" in r.out, r
    # The frames really crossed the TAP: the host side counted them both ways.
    stats = json.loads(netns.ip("-s", "-j", "link", "show", "vmkt0").stdout)[0]["stats64"]
    assert stats["rx"]["packets"] >= 2 and stats["tx"]["packets"] >= 2, stats


def test_dirty(vmm):
    r = run_guest(vmm, "dirty", cmdline="dirty.mb=4 dirty.rate=500 dirty.seconds=1")
    assert_pass(r, "dirty")
    assert "dirty: gen=" in r.out
