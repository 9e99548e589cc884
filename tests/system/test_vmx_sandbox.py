"""vmx's sandbox: every vCPU thread runs under its seccomp filter
(src/vmm/sandbox.h), the main thread does not, and --no-sandbox leaves
them all unfiltered.  The guests of the other tests prove the filter
allows what running a guest needs; tests/unit/test_sandbox.c proves it
stops what it must."""
import os
import subprocess

from conftest import VMX, guest
from test_control import Control
from test_vmx_button import WAITING, wait_serial


def seccomp_modes(pid):
    """{tid: the Seccomp field of its status (0 none, 2 filter)}."""
    modes = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            for line in f:
                if line.startswith("Seccomp:"):
                    modes[int(tid)] = int(line.split()[1])
    return modes


def run_guest(tmp_path, *extra):
    ctl, out = str(tmp_path / "ctl.sock"), str(tmp_path / "serial.log")
    p = subprocess.Popen([VMX, "--kernel", guest("button"), "--cpus", "2", "--verbose",
                          "--cmdline", "button.seconds=60", "--control", ctl,
                          "--serial", "file:" + out] + list(extra),
                         stderr=subprocess.PIPE, text=True)
    try:
        c = Control(ctl)
        wait_serial(out, WAITING, p)
    except BaseException:
        p.kill()     # a set-up that failed leaves no VM running
        p.wait()
        raise
    return p, c


def stop(p, c):
    c.call("stop")
    assert p.wait(timeout=30) == 0
    return p.stderr.read()


def test_vcpu_threads_are_filtered_and_the_main_thread_is_not(tmp_path):
    p, c = run_guest(tmp_path)
    try:
        vcpus = c.call("query")["result"]["vcpu_tids"]
        modes = seccomp_modes(p.pid)
        assert len(vcpus) == 2 and all(modes[t] == 2 for t in vcpus), (vcpus, modes)
        assert modes[p.pid] == 0, modes
        log = stop(p, c)
        assert "vmx: sandbox: vCPU threads confined by seccomp" in log, log
    finally:
        p.kill()
        p.wait()


def test_no_sandbox(tmp_path):
    p, c = run_guest(tmp_path, "--no-sandbox")
    try:
        assert set(seccomp_modes(p.pid).values()) == {0}
        assert "sandbox" not in stop(p, c)
    finally:
        p.kill()
        p.wait()
