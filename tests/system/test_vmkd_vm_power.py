"""Reset and soft shutdown of a running VM.  power.reset restarts the
guest in the same vmx process (its vCPU threads, and so its World ID,
are new); power.shutdown presses the VM's ACPI power button and returns
at once: the `button` test guest powers off, the `hello` guest ignores
it and keeps running, as a guest without an OS would.
"""
import os

from vmkd_vm_util import (alive, call, fails, guest, register, running_vms, state, vmhost,
                          wait_for, wait_serial, write_vmx)

assert vmhost  # a fixture


def serial_count(path, text):
    log = os.path.join(os.path.dirname(path), "serial.log")
    try:
        return open(log, errors="replace").read().count(text)
    except OSError:
        return 0


def test_reset_restarts_the_guest_in_the_same_vmx(vmhost):
    h = vmhost
    path = write_vmx(h, "rst")
    vmid = register(h, path)
    call(h, "vmsvc.power.on", vmid=vmid)
    wait_serial(path, "sum 1..1000 = 500500")
    before = running_vms(h)[0]
    log = os.path.join(os.path.dirname(path), "serial.log")
    reset_at = os.stat(log).st_mtime_ns

    assert call(h, "vmsvc.power.reset", vmid=vmid) is True

    def reset_done():
        procs = running_vms(h)
        return len(procs) == 1 and procs[0]["WorldID"] != before["WorldID"]
    wait_for(reset_done, 20, "a new World ID after the reset")
    after = running_vms(h)[0]
    assert after["VMXCartelID"] == before["VMXCartelID"]  # the same vmx process
    assert alive(after["VMXCartelID"])
    assert os.path.exists("/proc/%d/task/%d" % (after["VMXCartelID"], after["WorldID"]))
    # the restarted guest writes its console again (vmx reopens the file)
    wait_for(lambda: os.stat(log).st_mtime_ns > reset_at and
             serial_count(path, "sum 1..1000 = 500500") >= 1, 20, "the guest to run again")
    assert state(h, vmid) == "Powered on"
    assert "VM %d (rst): reset requested" % vmid in h.log()
    call(h, "vmsvc.power.off", vmid=vmid)
    assert "current state (Powered off)" in fails(h, "vmsvc.power.reset", vmid=vmid)


def test_shutdown_powers_off_a_guest_that_acts_on_the_button(vmhost):
    h = vmhost
    path = write_vmx(h, "soft", kernel=guest("button"), cmdline="button.seconds=60")
    vmid = register(h, path)
    call(h, "vmsvc.power.on", vmid=vmid)
    wait_serial(path, "button: waiting for the power button")
    assert call(h, "vmsvc.power.shutdown", vmid=vmid) is True
    wait_for(lambda: state(h, vmid) == "Powered off", 20, "the guest to power off")
    wait_serial(path, "button: power button pressed")
    log = h.log()
    assert "VM %d (soft): shutdown requested (ACPI power button)" % vmid in log
    assert "VM %d (soft): Powered off: the guest powered off (vmsvc/power.shutdown)" % vmid in log
    assert running_vms(h) == []
    assert "current state (Powered off)" in fails(h, "vmsvc.power.shutdown", vmid=vmid)


def test_shutdown_ignored_by_the_guest_leaves_it_running(vmhost):
    h = vmhost
    path = write_vmx(h, "deaf")
    vmid = register(h, path)
    call(h, "vmsvc.power.on", vmid=vmid)
    wait_serial(path, "sum 1..1000 = 500500")
    pid = running_vms(h)[0]["VMXCartelID"]
    assert call(h, "vmsvc.power.shutdown", vmid=vmid) is True
    assert state(h, vmid) == "Powered on" and alive(pid)
    call(h, "vmsvc.power.off", vmid=vmid)
    assert not alive(pid)
