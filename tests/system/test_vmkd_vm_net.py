"""VMs on the vSwitch: vmkd attaches each ethernetN of a powered-on VM as
a vhost-user port of its port group.  The net test guest pings (its
default mode) or answers pings (net.mode=respond); VMkernel adapters
ping with vmkping.  Traffic stays inside the host's namespace.
"""
import os

from vmkd_util import VS, add_vmknic, ping_ok, vmkping
from vmkd_vm_util import (call, guest, register, running_vms, state, vmhost, wait_for,
                          wait_serial, write_vmx)

assert vmhost  # a fixture


def nic(pg, mac):
    return ['ethernet0.present = "TRUE"', 'ethernet0.networkName = "%s"' % pg,
            'ethernet0.virtualDev = "vmxnet3"', 'ethernet0.addressType = "static"',
            'ethernet0.address = "%s"' % mac]


def responder(h, name, ip, mac, pg="VM Network", seconds=120):
    path = write_vmx(h, name, kernel=guest("net"), extra=nic(pg, mac),
                     cmdline="ip=%s net.mode=respond net.seconds=%d" % (ip, seconds))
    vmid = register(h, path)
    call(h, "vmsvc.power.on", vmid=vmid)
    return vmid, path


def pinger(h, name, ip, peer, mac, pg="VM Network"):
    path = write_vmx(h, name, kernel=guest("net"), extra=nic(pg, mac) + ['vmk.debugExit = "TRUE"'],
                     cmdline="ip=%s peer=%s net.count=3" % (ip, peer))
    vmid = register(h, path)
    call(h, "vmsvc.power.on", vmid=vmid)
    return vmid, path


def serial(path):
    return open(os.path.join(os.path.dirname(path), "serial.log"), errors="replace").read()


def finished(h, vmid):
    wait_for(lambda: state(h, vmid) == "Powered off", timeout=30, what="the pinger to end")


def test_two_vms_and_a_vmknic_on_vm_network(vmhost):
    h = vmhost
    a, apath = responder(h, "resp", "10.7.0.2", "00:50:56:00:00:02")
    # the ports as esxcli shows them
    world = [p for p in running_vms(h) if p["DisplayName"] == "resp"][0]["WorldID"]
    vms = call(h, "network.vm.list")
    assert vms == [{"WorldID": world, "Name": "resp", "NumPorts": 1, "Networks": ["VM Network"]}]
    ports = call(h, "network.vm.port.list", **{"world-id": world})
    assert len(ports) == 1 and ports[0]["Portgroup"] == "VM Network"
    assert ports[0]["vSwitch"] == "vSwitch0" and ports[0]["MACAddress"] == "00:50:56:00:00:02"

    b, bpath = pinger(h, "ping", "10.7.0.3", "10.7.0.2", "00:50:56:00:00:03")
    finished(h, b)
    out = serial(bpath)
    assert "ping ok" in out and "PASS net" in out, out
    assert "VM 2 (ping): Powered off: vmx exited with status 1" in h.log()  # debug-exit pass

    add_vmknic(h, "vmk1", "VM Network", "10.7.0.1")
    assert ping_ok(h, "-I", "vmk1", "10.7.0.2", deadline=20), vmkping(h, "-c", "1", "10.7.0.2")
    assert state(h, a) == "Powered on"


def test_vlan_isolation_across_port_groups(vmhost):
    h = vmhost
    h.ok(*VS, "portgroup", "add", "-v", "vSwitch0", "-p", "Blue")
    h.ok(*VS, "portgroup", "set", "-p", "Blue", "-v", "20")
    responder(h, "blue", "10.8.0.2", "00:50:56:00:01:02", pg="Blue")
    # across VLANs: no answer
    b, bpath = pinger(h, "red", "10.8.0.3", "10.8.0.2", "00:50:56:00:01:03")
    finished(h, b)
    assert "PASS net" not in serial(bpath)
    # the same VLAN: answers
    c, cpath = pinger(h, "blue2", "10.8.0.4", "10.8.0.2", "00:50:56:00:01:04", pg="Blue")
    finished(h, c)
    assert "ping ok" in serial(cpath), serial(cpath)


def test_traffic_after_vmkd_kill9(vmhost):
    h = vmhost
    a, apath = responder(h, "resp", "10.9.0.2", "00:50:56:00:02:02", seconds=300)
    add_vmknic(h, "vmk1", "VM Network", "10.9.0.1")
    assert ping_ok(h, "-I", "vmk1", "10.9.0.2", deadline=20)
    pid = running_vms(h)[0]["VMXCartelID"]
    h.kill9()
    h.start()
    assert running_vms(h)[0]["VMXCartelID"] == pid
    assert ping_ok(h, "-I", "vmk1", "10.9.0.2", deadline=20), vmkping(h, "-c", "1", "10.9.0.2")
    b, bpath = pinger(h, "ping", "10.9.0.3", "10.9.0.2", "00:50:56:00:02:03")
    finished(h, b)
    assert "ping ok" in serial(bpath), serial(bpath)


def test_port_group_in_use_by_a_vm_is_not_removed(vmhost):
    h = vmhost
    h.ok(*VS, "portgroup", "add", "-p", "Green", "-v", "vSwitch0")
    vmid, _ = responder(h, "green", "10.8.0.2", "00:50:56:00:00:08", pg="Green")
    before = h.dump()
    r = h.esxcli(*VS, "portgroup", "remove", "-p", "Green", "-v", "vSwitch0")
    assert r.rc != 0 and r.out == "" and len(r.err.strip().splitlines()) == 1, r
    assert "Cannot remove port group 'Green': it is in use by VM port vm%d.eth0" % vmid in r.err
    assert h.dump() == before
    assert "Green" in [p["Name"] for p in h.json(*VS, "portgroup", "list")]
    call(h, "vmsvc.power.off", vmid=vmid)
    h.ok(*VS, "portgroup", "remove", "-p", "Green", "-v", "vSwitch0")


def test_an_adapter_that_does_not_start_connected_gets_no_port(vmhost):
    """ethernet0.startConnected = "FALSE" ("Connect at power on" off): the
    VM runs, its adapter has no port on the vSwitch and answers nothing."""
    h = vmhost
    path = write_vmx(h, "unplugged", kernel=guest("net"),
                     extra=nic("VM Network", "00:50:56:00:03:02") +
                     ['ethernet0.startConnected = "FALSE"'],
                     cmdline="ip=10.11.0.2 net.mode=respond net.seconds=60")
    vmid = register(h, path)
    call(h, "vmsvc.power.on", vmid=vmid)
    world = [p for p in running_vms(h) if p["DisplayName"] == "unplugged"][0]["WorldID"]
    assert call(h, "network.vm.port.list", **{"world-id": world}) == []
    add_vmknic(h, "vmk1", "VM Network", "10.11.0.1")
    r = vmkping(h, "-I", "vmk1", "-c", "2", "-i", "0.2", "-W", "1", "10.11.0.2")
    assert r.rc != 0, r
    assert state(h, vmid) == "Powered on"
