"""vmkd's VMs without networking: datastores, registration, power
operations, vm process, cgroups, exits and re-adoption after a kill -9 of
vmkd.  The VMs run the hello test guest, which prints and then halts, so
a VM stays powered on until it is stopped.
"""
import os
import re
import signal
import sqlite3

from vmkd_util import Host, LOG_LINE
from vmkd_vm_util import (CGROUP, alive, call, cgroup_dirs, close_vm_host, datastore, fails,
                          register, running_vms, state, vmhost, wait_for, wait_serial,
                          write_vmx)

assert vmhost  # a fixture


def test_default_datastore(vmhost):
    fs = vmhost.json("storage", "filesystem", "list")
    assert len(fs) == 1, fs
    d = fs[0]
    assert d["VolumeName"] == "datastore1" and d["MountPoint"] == datastore(vmhost)
    assert d["Mounted"] is True and d["Size"] > 0 and 0 <= d["Free"] <= d["Size"]
    assert d["Type"] and "VMFS" not in d["Type"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{12}", d["UUID"]), d
    assert os.path.isdir(datastore(vmhost))
    # the same after a restart: created once
    vmhost.restart()
    again = vmhost.json("storage", "filesystem", "list")
    for x in (fs, again):
        del x[0]["Free"]  # the machine's disk is shared
    assert again == fs


def test_register_power_on_off_unregister(vmhost):
    h = vmhost
    path = write_vmx(h, "vm1")
    assert call(h, "vmsvc.getallvms") == []
    vmid = register(h, path)
    assert vmid == 1
    # what the reference generates is written back
    text = open(path).read()
    assert re.search(r'^uuid\.bios = "56 4d( [0-9a-f]{2}){6}-[0-9a-f]{2}( [0-9a-f]{2}){7}"$',
                     text, re.M), text
    assert call(h, "vmsvc.getallvms") == [
        {"vmid": 1, "name": "vm1", "file": "[datastore1] vm1/vm1.vmx", "guest_os": "other-64",
         "version": "vmx-19", "annotation": ""}]
    assert state(h, vmid) == "Powered off"
    assert running_vms(h) == []

    assert call(h, "vmsvc.power.on", vmid=vmid) is True
    assert state(h, vmid) == "Powered on"
    procs = running_vms(h)
    assert len(procs) == 1
    p = procs[0]
    pid = p["VMXCartelID"]
    assert alive(pid) and p["ProcessID"] == 0 and p["DisplayName"] == "vm1"
    assert p["ConfigFile"] == os.path.realpath(path)
    assert os.path.exists("/proc/%d/task/%d" % (pid, p["WorldID"]))
    assert re.fullmatch(r"56 4d( [0-9a-f]{2}){6}-[0-9a-f]{2}( [0-9a-f]{2}){7}", p["UUID"])
    assert h.json("vm", "process", "list") == procs  # esxcli shows the same
    text = h.ok("vm", "process", "list")
    assert text.startswith("vm1\n   World ID: %d\n   Process ID: 0\n   VMX Cartel ID: %d\n"
                           % (p["WorldID"], pid)), text
    # its own session, its own cgroups
    assert os.getsid(pid) == pid
    cg = open("/proc/%d/cgroup" % pid).read()
    if os.path.exists(os.path.join(CGROUP, "cpu", "cgroup.procs")):
        assert re.search(r"^\d+:cpu:/vmk\.%s/vm1$" % h.name, cg, re.M), cg
        assert re.search(r"^\d+:memory:/vmk\.%s/vm1$" % h.name, cg, re.M), cg
    else:
        print("no cgroup v1 cpu hierarchy here: cgroup membership not checked")
    # the guest ran, vmx logs beside the .vmx
    wait_serial(path, "sum 1..1000 = 500500")
    wait_serial(path, "vmk-test=vm1")
    vmware_log = os.path.join(os.path.dirname(path), "vmware.log")
    assert "powering on VM 1" in open(vmware_log).read()
    assert "current state (Powered on)" in fails(h, "vmsvc.power.on", vmid=vmid)
    assert "Powered on" in fails(h, "vmsvc.unregister", vmid=vmid)

    assert call(h, "vmsvc.power.off", vmid=vmid) is True
    assert state(h, vmid) == "Powered off"
    assert not alive(pid)
    assert running_vms(h) == []
    assert cgroup_dirs(h) == []
    assert not os.path.exists(os.path.join(h.run_dir, "vms", "1"))
    assert "current state (Powered off)" in fails(h, "vmsvc.power.off", vmid=vmid)
    log = h.log()
    assert "VM 1 (vm1): Powered on: vmx pid %d" % pid in log
    assert "VM 1 (vm1): Powered off: powered off by request" in log
    for line in log.splitlines():
        assert LOG_LINE.match(line), line

    assert call(h, "vmsvc.unregister", vmid=vmid) is True
    assert call(h, "vmsvc.getallvms") == []
    assert "Unable to find a VM" in fails(h, "vmsvc.power.getstate", vmid=vmid)
    # vmids are not reused
    assert register(h, path) == 2


def test_vmx_killed_is_powered_off_with_a_reason(vmhost):
    h = vmhost
    vmid = register(h, write_vmx(h, "dies"))
    call(h, "vmsvc.power.on", vmid=vmid)
    pid = running_vms(h)[0]["VMXCartelID"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: state(h, vmid) == "Powered off", what="Powered off")
    assert "VM 1 (dies): Powered off: vmx was killed by signal 9" in h.log()
    assert running_vms(h) == [] and cgroup_dirs(h) == []
    # and it powers on again
    call(h, "vmsvc.power.on", vmid=vmid)
    assert state(h, vmid) == "Powered on"


def test_process_kill(vmhost):
    h = vmhost
    ids = [register(h, write_vmx(h, n)) for n in ("soft", "hard", "force")]
    for vmid in ids:
        call(h, "vmsvc.power.on", vmid=vmid)
    procs = {p["DisplayName"]: p for p in running_vms(h)}
    assert sorted(procs) == ["force", "hard", "soft"]
    assert "Invalid --type 'gentle'" in fails(h, "vm.process.kill", type="gentle",
                                              **{"world-id": procs["soft"]["WorldID"]})
    assert "no running VM" in fails(h, "vm.process.kill", type="soft", **{"world-id": 1})
    for kind in ("soft", "hard", "force"):
        h.ok("vm", "process", "kill", "-t", kind, "-w", str(procs[kind]["WorldID"]))
    assert state(h, ids[2]) == "Powered off"  # force: cleaned up before the reply
    for vmid in ids:
        wait_for(lambda: state(h, vmid) == "Powered off", what="VM %d off" % vmid)
    log = h.log()
    assert "Powered off: vmx exited with status 0" in log  # soft: SIGTERM, a clean stop
    assert "Powered off: vmx was killed by signal 9" in log
    assert "Powered off: killed (vm process kill --type force)" in log
    assert not any(alive(p["VMXCartelID"]) for p in procs.values())


def test_kill9_vmkd_readopts_running_vm(vmhost):
    h = vmhost
    path = write_vmx(h, "keeper")
    vmid = register(h, path)
    call(h, "vmsvc.power.on", vmid=vmid)
    before = running_vms(h)[0]
    h.kill9()
    assert alive(before["VMXCartelID"])  # the VM outlives vmkd
    h.start()
    assert state(h, vmid) == "Powered on"
    assert running_vms(h) == [before]
    assert "VM 1 (keeper): re-adopted running vmx pid %d" % before["VMXCartelID"] in h.log()
    # still under control: it powers off
    call(h, "vmsvc.power.off", vmid=vmid)
    assert not alive(before["VMXCartelID"]) and cgroup_dirs(h) == []
    # a clean stop of vmkd leaves VMs running too
    call(h, "vmsvc.power.on", vmid=vmid)
    pid = running_vms(h)[0]["VMXCartelID"]
    assert h.stop() == 0
    assert alive(pid)
    h.start()
    assert running_vms(h)[0]["VMXCartelID"] == pid


def test_vmx_gone_while_vmkd_down(vmhost):
    h = vmhost
    vmid = register(h, write_vmx(h, "lost"))
    call(h, "vmsvc.power.on", vmid=vmid)
    pid = running_vms(h)[0]["VMXCartelID"]
    h.kill9()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not alive(pid), what="vmx gone")
    h.start()
    assert state(h, vmid) == "Powered off"
    assert "VM 1 (lost): Powered off: vmx (pid %d) is no longer running" % pid in h.log()
    assert cgroup_dirs(h) == []
    con = sqlite3.connect("file:%s?mode=ro" % h.db, uri=True)
    assert con.execute("SELECT count(*) FROM vm_runtime").fetchone()[0] == 0
    con.close()


def test_sched_settings_reach_the_cgroup(vmhost):
    if not os.path.exists(os.path.join(CGROUP, "cpu", "cpu.shares")):
        print("SKIP: no cgroup v1 cpu/memory hierarchies on this machine")
        import pytest
        pytest.skip("no cgroup v1 cpu/memory hierarchies on this machine")
    h = vmhost
    vmid = register(h, write_vmx(h, "sched", memsize=128, extra=[
        'sched.cpu.shares = "high"', 'sched.cpu.max = "500"', 'sched.mem.max = "96"',
        'sched.mem.minsize = "32"']))
    call(h, "vmsvc.power.on", vmid=vmid)
    cpu = os.path.join(CGROUP, "cpu", "vmk." + h.name, "vm%d" % vmid)
    mem = os.path.join(CGROUP, "memory", "vmk." + h.name, "vm%d" % vmid)

    def rd(d, f):
        return int(open(os.path.join(d, f)).read())
    assert rd(cpu, "cpu.shares") == 2048  # high: 2000 per vCPU -> 2x Linux's default
    mhz = float(re.search(r"cpu MHz\s*:\s*([\d.]+)", open("/proc/cpuinfo").read()).group(1))
    assert rd(cpu, "cpu.cfs_period_us") == 100000
    assert rd(cpu, "cpu.cfs_quota_us") == max(1000, int(100000 * 500 // int(mhz)))
    assert rd(mem, "memory.limit_in_bytes") == 96 << 20
    assert rd(mem, "memory.soft_limit_in_bytes") == 32 << 20
    call(h, "vmsvc.power.off", vmid=vmid)
    assert not os.path.exists(cpu) and not os.path.exists(mem)


def test_migrated_store_gets_the_default_datastore():
    from test_vmkd_ip_restart import SCHEMA_1
    h = Host()
    try:
        os.makedirs(os.path.dirname(h.db))
        con = sqlite3.connect(h.db)
        con.executescript(SCHEMA_1)
        con.close()
        h.start()
        assert h.db_dump()["user_version"] == 4
        assert [d["VolumeName"] for d in h.json("storage", "filesystem", "list")] == \
            ["datastore1"]
        assert os.path.isdir(datastore(h))
    finally:
        close_vm_host(h)


def test_vim_cmd_against_vmkd(vmhost):
    """The real vim-cmd client against vmkd: the reference's outputs."""
    import subprocess
    from conftest import BUILD
    vimcmd = os.path.join(BUILD, "src", "cli", "vim-cmd")
    h = vmhost

    def run(*args):
        p = subprocess.run([vimcmd, "--instance", h.name] + list(args), env=h.env,
                           capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout, p.stderr
    path = write_vmx(h, "cli")
    rc, out, err = run("solo/registervm", path)
    assert rc == 0 and out.strip() == "1", (rc, out, err)
    rc, out, err = run("vmsvc/getallvms")
    assert rc == 0 and "[datastore1] cli/cli.vmx" in out and out.startswith("Vmid"), out
    rc, out, err = run("vmsvc/power.on", "1")
    assert rc == 0 and out.startswith("Powering on VM:"), (out, err)
    assert run("vmsvc/power.getstate", "1")[1] == "Retrieved runtime info\nPowered on\n"
    rc, out, err = run("vmsvc/power.on", "1")
    assert rc != 0 and "InvalidPowerState" in out + err, (out, err)
    rc, out, err = run("vmsvc/power.off", "1")
    assert rc == 0 and out.startswith("Powering off VM:"), (out, err)
    assert run("vmsvc/power.getstate", "1")[1] == "Retrieved runtime info\nPowered off\n"
