"""vmx's soft power-off: the control method `shutdown` presses the ACPI
power button (a Generic Event Device interrupt, see
src/vmm/devices/acpi_ged.h) and returns at once; the guest decides what
follows.  The `button` test guest acts on it as an OS would and powers
off through ACPI S5, so vmx exits 0.  vmx alone: no QEMU involved."""
import os
import subprocess
import time

from conftest import VMX, guest
from test_control import Control

WAITING = "button: waiting for the power button"
PRESSED = "button: power button pressed"


def serial_text(path):
    with open(path, errors="replace") as f:
        return f.read()


def wait_serial(path, text, proc, seconds=30):
    deadline = time.monotonic() + seconds
    while text not in serial_text(path):
        assert proc.poll() is None, "vmx exited early:\n" + serial_text(path)
        assert time.monotonic() < deadline, "no %r on the console:\n%s" % (
            text, serial_text(path))
        time.sleep(0.05)


def start_button_guest(tmp_path):
    ctl = str(tmp_path / "ctl.sock")
    out = str(tmp_path / "serial.log")
    p = subprocess.Popen([VMX, "--kernel", guest("button"), "--debug-exit",
                          "--cmdline", "button.seconds=60", "--control", ctl,
                          "--serial", "file:" + out], stderr=subprocess.PIPE)
    return p, ctl, out


def test_shutdown_presses_the_power_button_and_the_guest_powers_off(tmp_path):
    p, ctl, out = start_button_guest(tmp_path)
    try:
        c = Control(ctl)
        wait_serial(out, WAITING, p)
        reply = c.call("shutdown")
        assert reply["result"] == {"state": "shutdown requested"}, reply
        assert p.wait(timeout=30) == 0, serial_text(out)   # ACPI S5 power-off
        text = serial_text(out)
        assert PRESSED in text and "FAIL" not in text, text
        assert not os.path.exists(ctl)
    finally:
        p.kill()
        p.wait()


def test_a_press_while_paused_reaches_the_guest_on_resume(tmp_path):
    p, ctl, out = start_button_guest(tmp_path)
    try:
        c = Control(ctl)
        wait_serial(out, WAITING, p)
        assert c.call("pause")["result"]["state"] == "paused"
        assert c.call("shutdown")["result"] == {"state": "shutdown requested"}
        time.sleep(0.5)
        assert p.poll() is None and PRESSED not in serial_text(out), "guest ran while paused"
        assert c.call("query")["result"]["state"] == "paused"
        assert c.call("resume")["result"]["state"] == "running"
        assert p.wait(timeout=30) == 0, serial_text(out)
        assert PRESSED in serial_text(out)
    finally:
        p.kill()
        p.wait()


def test_the_guest_ignoring_the_button_keeps_running(tmp_path):
    """Soft power-off needs the guest's cooperation: a guest with no
    handler for the interrupt (dirty never unmasks the pin) goes on
    running, and `stop` still ends it."""
    ctl = str(tmp_path / "ctl.sock")
    out = str(tmp_path / "serial.log")
    p = subprocess.Popen([VMX, "--kernel", guest("dirty"), "--debug-exit", "--cmdline",
                          "dirty.mb=2 dirty.rate=200 dirty.seconds=0", "--control", ctl,
                          "--serial", "file:" + out], stderr=subprocess.PIPE)
    try:
        c = Control(ctl)
        assert c.call("shutdown")["result"] == {"state": "shutdown requested"}
        time.sleep(0.5)
        assert p.poll() is None
        assert c.call("query")["result"]["state"] == "running"
        assert c.call("stop")["result"]["state"] == "stopping"
        assert p.wait(timeout=20) == 0
    finally:
        p.kill()
        p.wait()
