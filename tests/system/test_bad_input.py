"""Bad input to vmx: one line naming what is wrong, a non-zero exit, and
nothing left behind (no control or console socket, no TAP)."""
import os
import struct
import subprocess

import pytest

from conftest import VMX, guest, run_cmd


def vmx_fails(args, tmp_path, netns=None):
    control = str(tmp_path / "ctl.sock")
    console = str(tmp_path / "con.sock")
    r = run_cmd([VMX] + args + ["--control", control, "--serial", "unix:" + console],
                timeout=30, netns=netns)
    assert r.rc not in (0, None) and r.rc != -9, r
    lines = [l for l in r.err.splitlines() if l.strip()]
    assert len(lines) == 1, r
    assert lines[0].startswith("vmx: "), r
    assert not os.path.exists(control), "control socket left behind"
    assert not os.path.exists(console), "console socket left behind"
    return lines[0]


def test_missing_kernel(tmp_path):
    line = vmx_fails(["--kernel", str(tmp_path / "nope")], tmp_path)
    assert "nope" in line and "No such file" in line


def test_no_kernel_option(tmp_path):
    assert "--kernel" in vmx_fails([], tmp_path)


def test_corrupt_kernel(tmp_path):
    k = tmp_path / "junk"
    k.write_bytes(os.urandom(8192))
    assert "not an ELF or bzImage" in vmx_fails(["--kernel", str(k)], tmp_path)


def test_empty_kernel(tmp_path):
    k = tmp_path / "empty"
    k.write_bytes(b"")
    assert "empty" in vmx_fails(["--kernel", str(k)], tmp_path)


def elf_without_entry():
    """A minimal valid ELF64 with one PT_LOAD and no PVH note."""
    ehdr = struct.pack("<4sBBBBB7xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0,
                       2, 62, 1, 0x100000, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0x1000, 0x100000, 0x100000, 16, 16, 0x1000)
    body = ehdr + phdr
    return body + b"\0" * (0x1000 - len(body)) + b"\xf4" * 16


def test_elf_without_pvh_note(tmp_path):
    k = tmp_path / "noentry.elf"
    k.write_bytes(elf_without_entry())
    assert "PVH entry note" in vmx_fails(["--kernel", str(k)], tmp_path)


def test_truncated_elf(tmp_path):
    k = tmp_path / "trunc.elf"
    k.write_bytes(open(guest("hello"), "rb").read()[:100])
    line = vmx_fails(["--kernel", str(k)], tmp_path)
    assert "kernel" in line


def test_memory_too_small_for_kernel(tmp_path):
    """Debian's bzImage needs more RAM to decompress than 16 MiB."""
    kernels = sorted(p for p in os.listdir("/boot") if p.startswith("vmlinuz"))
    if not kernels:
        pytest.skip("no /boot/vmlinuz-*: install linux-image-cloud-amd64")
    line = vmx_fails(["--kernel", "/boot/" + kernels[-1], "--memory", "16M"], tmp_path)
    assert "MiB" in line and "RAM" in line


@pytest.mark.parametrize("args,word", [
    (["--bogus"], "--bogus"),
    (["--cpus", "0"], "--cpus"),
    (["--cpus", "many"], "--cpus"),
    (["--memory", "12Q"], "--memory"),
    (["--memory", "1M"], "--memory"),
    (["--serial", "tty"], "--serial"),
    (["--net", "tap=x,mac=01:00:00:00:00:01"], "multicast"),
    (["--net", "mac=52:54:00:00:00:01"], "tap=NAME"),
    (["--net", "tap=x,mac=zz:54:00:00:00:01"], "MAC"),
    (["--disk", "/tmp/x,rw"], "--disk"),
    (["--on-reset", "explode"], "--on-reset"),
])
def test_bad_options(tmp_path, args, word):
    line = vmx_fails(["--kernel", guest("hello")] + args, tmp_path)
    assert word in line


def test_unopenable_disk(tmp_path):
    line = vmx_fails(["--kernel", guest("hello"), "--disk", str(tmp_path / "missing.img")],
                     tmp_path)
    assert "missing.img" in line


def test_bad_tap_leaves_no_tap(tmp_path, netns):
    """A later setup error (a missing disk) removes the TAP vmx created."""
    line = vmx_fails(["--kernel", guest("hello"), "--net", "tap=vmkbad0",
                      "--disk", str(tmp_path / "missing.img")], tmp_path, netns=netns.name)
    assert "missing.img" in line
    links = netns.ip("link", "show").stdout
    assert "vmkbad0" not in links, links


def test_too_many_devices(tmp_path):
    """Disks and adapters share the 16 virtio-mmio slots."""
    disk = tmp_path / "d.img"
    disk.write_bytes(b"\0" * 4096)
    args = ["--kernel", guest("hello")]
    for _ in range(16):
        args += ["--disk", str(disk)]
    args += ["--net", "vhost-user=%s" % (tmp_path / "n.sock")]
    line = vmx_fails(args, tmp_path)
    assert "16 disks and 1 network adapters" in line and "at most 16" in line
    assert not os.path.exists(tmp_path / "n.sock")
    assert "too many disks (at most 16)" in vmx_fails(
        ["--kernel", guest("hello")] + ["--disk", str(disk)] * 17, tmp_path)
