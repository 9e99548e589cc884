"""Bad .vmx files and bad requests: each is refused with one line naming
the file, the line and the key at fault, the VM stays off, and nothing
changes: the whole config (esxcli dump and every store row), the .vmx
itself, no vmx process, no cgroup, no run directory.
"""
import os
import re

from vmkd_vm_util import (alive, call, cgroup_dirs, fails, register, running_vms, state,
                          vmhost, vmx_pids_under, write_vmx)

assert vmhost  # a fixture


def unchanged(h, path, before, vmx_before):
    assert h.snapshot() == before
    if path:
        assert open(path, "rb").read() == vmx_before
    assert running_vms(h) == [] and vmx_pids_under(h.root) == []
    assert cgroup_dirs(h) == []
    assert not os.listdir(os.path.join(h.run_dir, "vms")) \
        if os.path.isdir(os.path.join(h.run_dir, "vms")) else True


def refused_at_registration(h, path, pattern):
    before, text = h.snapshot(), open(path, "rb").read()
    msg = fails(h, "solo.registervm", path=path)
    assert "\n" not in msg
    assert re.search(pattern, msg), msg
    unchanged(h, path, before, text)
    assert call(h, "vmsvc.getallvms") == []
    return msg


def test_syntax_error_names_file_and_line(vmhost):
    h = vmhost
    path = write_vmx(h, "bad", extra=['memsize "64"'])
    refused_at_registration(h, path, r"bad\.vmx:\d+: ")


def test_bad_values_name_the_key(vmhost):
    h = vmhost
    path = write_vmx(h, "bad", extra=['numvcpus = "lots"'])
    refused_at_registration(h, path, r"bad\.vmx:\d+: numvcpus")


def test_missing_kernel(vmhost):
    h = vmhost
    path = write_vmx(h, "nokernel", kernel="/nonexistent/kernel.elf")
    refused_at_registration(h, path, r"nokernel\.vmx:\d+: vmk\.kernel")


def test_outside_a_datastore_and_bad_paths(vmhost, tmp_path):
    h = vmhost
    outside = tmp_path / "x.vmx"
    outside.write_text(open(write_vmx(h, "ok")).read())
    before = h.snapshot()
    assert "not inside a datastore" in fails(h, "solo.registervm", path=str(outside))
    assert "No such file" in fails(h, "solo.registervm", path="/nonexistent/y.vmx")
    assert "Unable to find a VM" in fails(h, "vmsvc.power.on", vmid=42)
    assert "vmid" in fails(h, "vmsvc.power.on", vmid="abc")
    assert "vmid" in fails(h, "vmsvc.power.on")
    assert h.snapshot() == before


def test_duplicate_registration(vmhost):
    h = vmhost
    path = write_vmx(h, "twice")
    register(h, path)
    before = h.snapshot()
    assert "already exists" in fails(h, "solo.registervm", path=path)
    other = write_vmx(h, "other", extra=[])
    assert "already exists" in fails(h, "solo.registervm", path=other, name="twice")
    assert h.snapshot() == before


def power_on_refused(h, path, pattern):
    vmid = register(h, path)
    before, text = h.snapshot(), open(path, "rb").read()
    msg = fails(h, "vmsvc.power.on", vmid=vmid)
    assert "\n" not in msg
    assert re.search(pattern, msg), msg
    assert state(h, vmid) == "Powered off"
    unchanged(h, path, before, text)
    return vmid


def set_key(path, key, value):
    lines = [l for l in open(path).read().splitlines() if not l.startswith(key + " ")]
    lines.append('%s = "%s"' % (key, value))
    open(path, "w").write("\n".join(lines) + "\n")


def test_memsize_beyond_host(vmhost):
    h = vmhost
    path = write_vmx(h, "huge")
    vmid = register(h, path)
    set_key(path, "memsize", str(1024 * 1024))  # 1 TiB
    before, text = h.snapshot(), open(path, "rb").read()
    msg = fails(h, "vmsvc.power.on", vmid=vmid)
    assert re.search(r"huge\.vmx:\d+: memsize: 1048576 MB is more than the host's memory", msg)
    assert state(h, vmid) == "Powered off"
    unchanged(h, path, before, text)


def test_missing_disk_at_power_on(vmhost):
    h = vmhost
    path = write_vmx(h, "disk", extra=['scsi0.present = "TRUE"', 'scsi0:0.present = "TRUE"',
                                       'scsi0:0.fileName = "disk.img"'])
    disk = os.path.join(os.path.dirname(path), "disk.img")
    open(disk, "wb").write(b"\0" * (1 << 20))
    vmid = register(h, path)
    os.unlink(disk)
    before, text = h.snapshot(), open(path, "rb").read()
    msg = fails(h, "vmsvc.power.on", vmid=vmid)
    assert re.search(r"disk\.vmx:\d+: scsi0:0\.fileName", msg), msg
    unchanged(h, path, before, text)


def test_unknown_port_group(vmhost):
    h = vmhost
    path = write_vmx(h, "nonet", extra=['ethernet0.present = "TRUE"',
                                        'ethernet0.networkName = "No Such Network"'])
    power_on_refused(h, path, r"nonet\.vmx:\d+: ethernet0\.networkName: no port group "
                              r"'No Such Network'")


def test_duplicate_mac_with_a_vmknic(vmhost):
    h = vmhost
    vmk0 = h.json("network", "ip", "interface", "list")[0]["MACAddress"]
    path = write_vmx(h, "dupmac", extra=[
        'ethernet0.present = "TRUE"', 'ethernet0.networkName = "VM Network"',
        'ethernet0.addressType = "static"', 'ethernet0.address = "%s"' % vmk0,
        'ethernet0.checkMACAddress = "FALSE"'])
    power_on_refused(h, path, r"dupmac\.vmx:\d+: ethernet0\.address: MAC address %s is already "
                              r"in use by VMkernel adapter vmk0" % vmk0)


def test_duplicate_mac_with_a_running_vm(vmhost):
    h = vmhost
    mac = "00:50:56:00:12:34"
    nic = ['ethernet0.present = "TRUE"', 'ethernet0.networkName = "VM Network"',
           'ethernet0.addressType = "static"', 'ethernet0.address = "%s"' % mac]
    first = register(h, write_vmx(h, "first", extra=nic))
    call(h, "vmsvc.power.on", vmid=first)
    running = running_vms(h)
    second = write_vmx(h, "second", extra=nic)
    vmid = register(h, second)
    before, text = h.snapshot(), open(second, "rb").read()
    msg = fails(h, "vmsvc.power.on", vmid=vmid)
    assert re.search(r"second\.vmx:\d+: ethernet0\.address: MAC address %s is already in use "
                     r"by powered-on VM %d" % (mac, first), msg), msg
    assert state(h, vmid) == "Powered off"
    assert h.snapshot() == before and open(second, "rb").read() == text
    assert running_vms(h) == running and alive(running[0]["VMXCartelID"])
    assert len(vmx_pids_under(h.root)) == 1


def test_process_kill_bad_input(vmhost):
    h = vmhost
    before = h.snapshot()
    assert "no running VM" in fails(h, "vm.process.kill", type="hard", **{"world-id": 12345})
    assert "Invalid --type" in fails(h, "vm.process.kill", type="nice", **{"world-id": 1})
    assert h.snapshot() == before
