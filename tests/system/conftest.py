"""Shared fixtures for vmk's system tests.

The tests run real processes: vmx on /dev/kvm, QEMU as the reference
peer, TAP devices inside network namespaces that the tests create and
delete.  Paths come from the environment that tests/run_all.py sets:
VMK_BUILD (the build directory to test).
"""
import os
import shutil
import subprocess
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("VMK_BUILD", os.path.join(ROOT, "build"))
VMX = os.path.join(BUILD, "src", "vmm", "vmx")
GUESTS = os.path.join(BUILD, "tests", "guests")
QEMU = shutil.which("qemu-system-x86_64")


def guest(name):
    path = os.path.join(GUESTS, name + ".elf")
    assert os.path.exists(path), "test guest not built: " + path
    return path


class Run:
    """The outcome of one VM run."""

    def __init__(self, proc, out, err, seconds):
        self.rc = proc.returncode
        self.out = out
        self.err = err
        self.seconds = seconds

    def __repr__(self):
        return "rc=%s (%.2fs)\n--- serial ---\n%s\n--- stderr ---\n%s" % (
            self.rc, self.seconds, self.out[-4000:], self.err[-2000:])


def run_cmd(argv, timeout=60, netns=None, stdin=subprocess.DEVNULL):
    if netns:
        argv = ["ip", "netns", "exec", netns] + list(argv)
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=stdin)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        out += b"\n[killed by the test after %ds]" % timeout
    return Run(proc, out.decode(errors="replace"), err.decode(errors="replace"),
               time.monotonic() - t0)


def vmx(kernel, *args, cmdline=None, timeout=60, netns=None, debug_exit=True, **kw):
    argv = [VMX, "--kernel", kernel, "--serial", "stdio"]
    if debug_exit:
        argv.append("--debug-exit")
    if cmdline is not None:
        argv += ["--cmdline", cmdline]
    argv += list(args)
    return run_cmd(argv, timeout=timeout, netns=netns, **kw)


def qemu(kernel, *args, cmdline=None, timeout=120, netns=None, accel="tcg"):
    argv = [QEMU, "-M", "microvm", "-accel", accel, "-nodefaults", "-no-user-config",
            "-nographic", "-serial", "stdio", "-kernel", kernel,
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-global", "virtio-mmio.force-legacy=false"]  # modern virtio-mmio, as vmx
    if cmdline is not None:
        argv += ["-append", cmdline]
    argv += list(args)
    return run_cmd(argv, timeout=timeout, netns=netns)


@pytest.fixture
def vmm(request):
    """Runs a guest under vmx or QEMU with the same call: vmm(guest, [vmx args], [qemu args])."""
    return request.param


def pytest_generate_tests(metafunc):
    if "vmm" in metafunc.fixturenames:
        metafunc.parametrize("vmm", ["vmx", pytest.param("qemu", marks=pytest.mark.reference)],
                             indirect=True)


class Netns:
    """A network namespace made by a test, deleted after it."""

    def __init__(self):
        self.name = "vmkt-" + uuid.uuid4().hex[:8]
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.ip("link", "set", "lo", "up")

    def ip(self, *args, check=True):
        return subprocess.run(["ip", "-n", self.name] + list(args), check=check,
                              capture_output=True, text=True)

    def exec(self, *argv, **kw):
        return subprocess.run(["ip", "netns", "exec", self.name] + list(argv),
                              capture_output=True, text=True, **kw)

    def delete(self):
        subprocess.run(["ip", "netns", "del", self.name], check=False)


@pytest.fixture
def netns():
    ns = Netns()
    yield ns
    ns.delete()


@pytest.fixture
def tmpdir_path(tmp_path):
    return str(tmp_path)
