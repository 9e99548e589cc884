"""vim-cmd vmsvc/reload, vmsvc/power.reboot and vmsvc/get.guest against a
real vmkd: the vim-cmd binary as an administrator runs it, and the
inventory (getallvms, get.summary) before and after.

VMs run the test guests (hello, net); the one NIC is on the default
host's "VM Network", inside the host's own namespace.
"""
import os
import re
import subprocess

from conftest import BUILD
from vmkd_vm_util import call, guest, register, state, vmhost, wait_for, write_vmx

assert vmhost  # a fixture

VIMCMD = os.path.join(BUILD, "src", "cli", "vim-cmd")
MAC = "00:50:56:00:07:02"


def vimcmd(h, *args):
    p = subprocess.run([VIMCMD, "--instance", h.name] + list(args), env=h.env,
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def nic(pg="VM Network", mac=MAC):
    return ['ethernet0.present = "TRUE"', 'ethernet0.networkName = "%s"' % pg,
            'ethernet0.virtualDev = "vmxnet3"', 'ethernet0.addressType = "static"',
            'ethernet0.address = "%s"' % mac]


def edit(path, **keys):
    """Sets (or adds) KEY = "value" lines in the .vmx, as an editor would."""
    lines = open(path).read().splitlines()
    for key, value in keys.items():
        key = key.replace("_", ".")
        new = '%s = "%s"' % (key, value)
        for i, line in enumerate(lines):
            if line.split("=")[0].strip() == key:
                lines[i] = new
                break
        else:
            lines.append(new)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def summary(h, vmid):
    rc, out, err = vimcmd(h, "vmsvc/get.summary", str(vmid))
    assert rc == 0, (out, err)
    return out


def inventory(h, vmid):
    """What an administrator sees of the VM: its getallvms row and summary."""
    return [v for v in call(h, "vmsvc.getallvms") if v["vmid"] == vmid], \
        call(h, "vmsvc.get.summary", vmid=vmid)


# ---- reload ---------------------------------------------------------------------

def test_reload_shows_a_hand_edit_only_once_reloaded(vmhost):
    h = vmhost
    path = write_vmx(h, "edited", memsize=64)
    vmid = register(h, path)
    edit(path, displayName="renamed", memsize="128", numvcpus="2", guestOS="otherlinux-64",
         virtualHW_version="21")
    # as the reference's hostd: the inventory keeps what it read until reload
    rows, s = inventory(h, vmid)
    assert rows[0]["name"] == "edited" and s["memory_mb"] == 64, (rows, s)

    rc, out, err = vimcmd(h, "vmsvc/reload", str(vmid))
    assert (rc, out, err) == (0, "", "")
    rc, out, _ = vimcmd(h, "vmsvc/getallvms")
    row = [line for line in out.splitlines() if line.startswith(str(vmid) + " ")][0]
    assert re.match(r"%d +renamed +\[datastore1\] edited/edited\.vmx +otherlinux-64 +vmx-21 "
                    % vmid, row), row
    out = summary(h, vmid)
    for want in ('name = "renamed"', "memorySizeMB = 128", "numCpu = 2",
                 'guestId = "otherlinux-64"', 'hwVersion = "vmx-21"'):
        assert want in out, (want, out)
    assert "VM %d (renamed): configuration reloaded from %s" % (vmid, path) in h.log()


def test_reload_of_a_running_vm_changes_the_view_not_the_vm(vmhost):
    h = vmhost
    path = write_vmx(h, "live", memsize=64)
    vmid = register(h, path)
    call(h, "vmsvc.power.on", vmid=vmid)
    edit(path, memsize="96")
    rc, out, err = vimcmd(h, "vmsvc/reload", str(vmid))
    assert (rc, out, err) == (0, "", "")
    assert state(h, vmid) == "Powered on"
    assert "memorySizeMB = 96" in summary(h, vmid)
    assert "the running VM is unchanged until its next power-on" in h.log()


def test_reload_of_a_broken_vmx_is_a_fault_and_keeps_the_inventory(vmhost):
    h = vmhost
    path = write_vmx(h, "broken", memsize=64)
    vmid = register(h, path)
    before = inventory(h, vmid)
    summary_before = summary(h, vmid)
    edit(path, memsize="66")  # not a multiple of 4
    line = [i for i, text in enumerate(open(path).read().splitlines(), 1)
            if text.startswith("memsize")][0]

    rc, out, err = vimcmd(h, "vmsvc/reload", str(vmid))
    assert rc == 1 and err == "", (out, err)
    assert out.startswith("Reload failed: (vim.fault.GenericVmConfigFault) {\n"), out
    assert '   reason = "%s:%d: memsize: ' % (path, line) in out, out
    assert '   msg = "%s:%d: memsize: ' % (path, line) in out, out
    assert inventory(h, vmid) == before
    assert summary(h, vmid) == summary_before

    with open(path, "a") as f:
        f.write("this is not a vmx line\n")
    rc, out, err = vimcmd(h, "vmsvc/reload", str(vmid))
    assert rc == 1 and out.startswith("Reload failed: (vim.fault.GenericVmConfigFault)"), out
    assert inventory(h, vmid) == before


def test_reload_to_a_name_another_vm_has_is_refused(vmhost):
    h = vmhost
    register(h, write_vmx(h, "first"))
    path = write_vmx(h, "second")
    vmid = register(h, path)
    before = inventory(h, vmid)
    edit(path, displayName="first")
    rc, out, err = vimcmd(h, "vmsvc/reload", str(vmid))
    assert rc == 1 and out.startswith("Reload failed: (vim.fault.DuplicateName) {\n"), out
    assert '   name = "first"\n' in out, out
    assert inventory(h, vmid) == before


def test_reload_bad_input_gives_the_errors_of_the_other_commands(vmhost):
    h = vmhost
    for cmd in ("vmsvc/reload", "vmsvc/get.guest", "vmsvc/power.reboot"):
        verb = cmd.split("/")[1]
        rc, out, err = vimcmd(h, cmd)
        assert rc == 1 and out == "" and err == (
            "vim-cmd %s: insufficient arguments: vmid is required (usage: %s vmid)\n"
            % (cmd, verb)), err
        rc, out, err = vimcmd(h, cmd, "abc")
        assert rc == 1 and out == "" and err == (
            "vim-cmd %s: invalid vmid 'abc': expected a number from 1 to 2147483647 "
            "(usage: %s vmid)\n" % (cmd, verb)), err
        rc, out, err = vimcmd(h, cmd, "42")
        assert rc == 1 and out == "" and err == (
            'vim-cmd %s: Unable to find a VM corresponding to "42"\n' % cmd), err
        # the same as an existing command's
        assert vimcmd(h, "vmsvc/get.summary", "42")[2] == err.replace(cmd, "vmsvc/get.summary")
        rc, out, _ = vimcmd(h, cmd, "--help")
        assert rc == 0 and out.startswith("Usage: %s vmid\n" % verb), out


# ---- power.reboot --------------------------------------------------------------

def test_reboot_of_an_off_vm_is_invalid_power_state(vmhost):
    h = vmhost
    vmid = register(h, write_vmx(h, "off"))
    rc, out, err = vimcmd(h, "vmsvc/power.reboot", str(vmid))
    assert rc == 1 and err == "", err
    assert out == ('Reboot guest failed: (vim.fault.InvalidPowerState) {\n'
                   '   faultCause = (vmodl.MethodFault) null, \n'
                   '   faultMessage = <unset>, \n'
                   '   requestedState = "poweredOn", \n'
                   '   existingState = "poweredOff"\n'
                   '   msg = "The attempted operation cannot be performed in the current state '
                   '(Powered off)."\n}\n'), out
    assert state(h, vmid) == "Powered off"


def test_reboot_of_an_on_vm_is_tools_unavailable_and_changes_nothing(vmhost):
    h = vmhost
    path = write_vmx(h, "on")
    vmid = register(h, path)
    call(h, "vmsvc.power.on", vmid=vmid)
    pid = call(h, "vmsvc.get.summary", vmid=vmid)["pid"]
    rc, out, err = vimcmd(h, "vmsvc/power.reboot", str(vmid))
    assert rc == 1 and err == "", err
    lines = out.splitlines()
    assert lines[:3] == ["Reboot guest failed: (vim.fault.ToolsUnavailable) {",
                         "   faultCause = (vmodl.MethodFault) null, ",
                         "   faultMessage = <unset>"], out
    assert lines[3].startswith('   msg = "VM %d (on): the guest runs no VMware Tools' % vmid)
    assert "vmsvc/power.reset" in lines[3] and "vmsvc/power.shutdown" in lines[3]
    assert lines[4:] == ["}"], out
    assert state(h, vmid) == "Powered on"
    assert call(h, "vmsvc.get.summary", vmid=vmid)["pid"] == pid  # not restarted


# ---- get.guest --------------------------------------------------------------------

def guest_dump(state_, connected, guest_id="other-64", full="Other (64-bit)"):
    return ("Guest information:\n\n(vim.vm.GuestInfo) {\n"
            '   toolsStatus = "toolsNotInstalled", \n'
            '   toolsVersionStatus2 = "guestToolsNotInstalled", \n'
            '   toolsRunningStatus = "guestToolsNotRunning", \n'
            '   guestId = "%s", \n'
            '   guestFullName = "%s", \n'
            "   hostName = <unset>, \n"
            "   ipAddress = <unset>, \n"
            "   net = (vim.vm.GuestInfo.NicInfo) [\n"
            "      (vim.vm.GuestInfo.NicInfo) {\n"
            '         network = "VM Network", \n'
            "         ipAddress = (string) [], \n"
            '         macAddress = "%s", \n'
            "         connected = %s, \n"
            "         deviceConfigId = 4000\n"
            "      }\n"
            "   ], \n"
            "   disk = (vim.vm.GuestInfo.DiskInfo) [], \n"
            "   screen = (vim.vm.GuestInfo.ScreenInfo) null, \n"
            '   guestState = "%s"\n'
            "}\n") % (guest_id, full, MAC, connected, state_)


def test_get_guest_of_an_off_and_an_on_vm(vmhost):
    h = vmhost
    path = write_vmx(h, "gi", kernel=guest("net"), extra=nic(),
                     cmdline="ip=10.12.0.2 net.mode=respond net.seconds=60")
    vmid = register(h, path)
    rc, out, err = vimcmd(h, "vmsvc/get.guest", str(vmid))
    assert rc == 0 and err == "", err
    assert out == guest_dump("notRunning", "false"), out

    call(h, "vmsvc.power.on", vmid=vmid)

    def connected():
        return vimcmd(h, "vmsvc/get.guest", str(vmid))[1] == guest_dump("running", "true")
    wait_for(connected, timeout=15, what="ethernet0's port to connect")
    print(vimcmd(h, "vmsvc/get.guest", str(vmid))[1])  # the docs' sample

    call(h, "vmsvc.power.off", vmid=vmid)
    assert vimcmd(h, "vmsvc/get.guest", str(vmid))[1] == guest_dump("notRunning", "false")


def test_get_guest_without_nics_and_json(vmhost):
    h = vmhost
    vmid = register(h, write_vmx(h, "nonic"))
    rc, out, _ = vimcmd(h, "vmsvc/get.guest", str(vmid))
    assert rc == 0 and "   net = (vim.vm.GuestInfo.NicInfo) [], \n" in out, out
    r = call(h, "vmsvc.get.guest", vmid=vmid)
    assert r["guest_state"] == "notRunning" and r["net"] == [] and r["host_name"] == ""


def test_get_guest_of_an_adapter_that_does_not_start_connected(vmhost):
    h = vmhost
    path = write_vmx(h, "unplugged", kernel=guest("net"),
                     extra=nic() + ['ethernet0.startConnected = "FALSE"'],
                     cmdline="ip=10.12.0.3 net.mode=respond net.seconds=60")
    vmid = register(h, path)
    call(h, "vmsvc.power.on", vmid=vmid)
    r = call(h, "vmsvc.get.guest", vmid=vmid)
    assert r["guest_state"] == "running" and r["net"] == [
        {"network": "VM Network", "mac_address": MAC, "connected": False,
         "device_config_id": 4000, "ip_address": []}], r


def test_a_restarted_vmkd_reads_the_file_again(vmhost):
    """As the reference's hostd after a restart: no view kept, the file
    as it is now."""
    h = vmhost
    path = write_vmx(h, "again", memsize=64)
    vmid = register(h, path)
    edit(path, memsize="128")
    assert call(h, "vmsvc.get.summary", vmid=vmid)["memory_mb"] == 64
    h.restart()
    assert call(h, "vmsvc.get.summary", vmid=vmid)["memory_mb"] == 128


def test_reload_after_a_restart_applies_a_new_display_name(vmhost):
    """A vmkd that restarted has read nothing yet: reload compares the new
    displayName with the inventory's name, not with the edited file."""
    h = vmhost
    path = write_vmx(h, "before", memsize=64)
    vmid = register(h, path)
    h.restart()
    edit(path, displayName="after")
    rc, out, err = vimcmd(h, "vmsvc/reload", str(vmid))
    assert (rc, out, err) == (0, "", "")
    rows, _ = inventory(h, vmid)
    assert rows[0]["name"] == "after", rows
