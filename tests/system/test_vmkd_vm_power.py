"""Reset and soft shutdown of a running VM.  power.reset restarts the
guest in the same vmx process (its vCPU threads, and so its World ID,
are new); power.shutdown needs the guest's cooperation, which vmk's
test guests cannot give: it fails as the reference does without Tools,
and the VM keeps running.
"""
import os

from vmkd_vm_util import (alive, call, fails, register, running_vms, state, vmhost, wait_for,
                          wait_serial, write_vmx)

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


def test_shutdown_without_a_guest_agent_fails_and_changes_nothing(vmhost):
    h = vmhost
    path = write_vmx(h, "soft")
    vmid = register(h, path)
    call(h, "vmsvc.power.on", vmid=vmid)
    pid = running_vms(h)[0]["VMXCartelID"]
    msg = fails(h, "vmsvc.power.shutdown", vmid=vmid)
    assert msg.startswith("Shutdown failed: (vim.fault.ToolsUnavailable)"), msg
    assert "power.off" in msg
    assert state(h, vmid) == "Powered on" and alive(pid)
    call(h, "vmsvc.power.off", vmid=vmid)
    assert "current state (Powered off)" in fails(h, "vmsvc.power.shutdown", vmid=vmid)
