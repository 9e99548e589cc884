"""Standard vSwitches, uplinks, port groups and NICs through esxcli, with
the reference's human output shapes."""
import re

from vmkd_util import host  # noqa: F401

VS = ["network", "vswitch", "standard"]
PG = VS + ["portgroup"]


def test_vswitch_list_shape(host):
    out = host.ok(*VS, "list")
    assert out == ("vSwitch0\n"
                   "   Name: vSwitch0\n"
                   "   Class: cswitch\n"
                   "   Num Ports: 128\n"
                   "   Used Ports: 1\n"
                   "   Configured Ports: 128\n"
                   "   MTU: 1500\n"
                   "   CDP Status: listen\n"
                   "   Beacon Enabled: false\n"
                   "   Beacon Interval: 1\n"
                   "   Beacon Threshold: 3\n"
                   "   Beacon Required By: \n"
                   "   Uplinks: \n"
                   "   Portgroups: VM Network, Management Network\n"
                   "\n")


def test_vswitch_add_set_remove(host):
    assert host.ok(*VS, "add", "-v", "vSwitch1") == ""
    assert host.ok(*VS, "add", "--vswitch-name=vSwitch2", "--ports=4096") == ""
    names = [v["Name"] for v in host.json(*VS, "list")]
    assert names == ["vSwitch0", "vSwitch1", "vSwitch2"]
    v1 = host.json(*VS, "list", "-v", "vSwitch1")
    assert len(v1) == 1 and v1[0]["ConfiguredPorts"] == 128 and v1[0]["Portgroups"] == []
    assert host.json(*VS, "list", "-v", "vSwitch2")[0]["NumPorts"] == 4096
    assert host.ok(*VS, "set", "-v", "vSwitch1", "-m", "9000") == ""
    assert host.ok(*VS, "set", "-v", "vSwitch1", "--cdp-status=advertise") == ""
    v1 = host.json(*VS, "list", "-v", "vSwitch1")[0]
    assert (v1["MTU"], v1["CDPStatus"]) == (9000, "advertise")
    host.ok(*VS, "set", "-v", "vSwitch1", "-m", "1280", "-c", "down")
    v1 = host.json(*VS, "list", "-v", "vSwitch1")[0]
    assert (v1["MTU"], v1["CDPStatus"]) == (1280, "down")
    host.ok(*PG, "add", "-p", "PG on 1", "-v", "vSwitch1")
    assert host.ok(*VS, "remove", "-v", "vSwitch1") == ""
    assert [v["Name"] for v in host.json(*VS, "list")] == ["vSwitch0", "vSwitch2"]
    # its port group went with it, and the name is free again
    assert "PG on 1" not in [p["Name"] for p in host.json(*PG, "list")]
    host.ok(*PG, "add", "-p", "PG on 1", "-v", "vSwitch2")


def test_vswitch_limit_of_127(host):
    for i in range(1, 127):
        host.ok(*VS, "add", "-v", "vs%d" % i)
    msg = host.fail(*VS, "add", "-v", "one-too-many")
    assert msg == ("Error: Cannot add virtual switch 'one-too-many': the host already has "
                   "127 virtual switches")


def test_nic_list(host):
    host.add_nic("vmnic0")
    host.add_nic("vmnic5", up=False)
    host.add_nic("eth3")
    host.add_nic("ens4")
    nics = host.json("network", "nic", "list")
    by_linux = {n["LinuxName"]: n for n in nics}
    assert [n["Name"] for n in nics] == ["vmnic0", "vmnic1", "vmnic2", "vmnic5"]
    assert by_linux["vmnic0"]["Name"] == "vmnic0"
    assert by_linux["vmnic5"]["Name"] == "vmnic5"
    assert {by_linux["eth3"]["Name"], by_linux["ens4"]["Name"]} == {"vmnic1", "vmnic2"}
    up = by_linux["vmnic0"]
    assert (up["AdminStatus"], up["LinkStatus"], up["Speed"], up["Duplex"], up["Driver"],
            up["MTU"]) == ("Up", "Up", 10000, "Full", "veth", 1500)
    assert re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", up["MACAddress"])
    down = by_linux["vmnic5"]
    assert (down["AdminStatus"], down["LinkStatus"], down["Speed"], down["Duplex"]) == \
        ("Down", "Down", 0, "Half")
    lines = host.ok("network", "nic", "list").splitlines()
    assert lines[0].split() == ["Name", "Linux", "Name", "PCI", "Device", "Driver", "Admin",
                                "Status", "Link", "Status", "Speed", "Duplex", "MAC", "Address",
                                "MTU", "Description"]
    assert set(lines[1]) == {"-", " "}
    # numbers right-aligned under their headers
    speed_end = lines[0].index("Speed") + len("Speed")
    for ln in lines[2:]:
        assert ln[speed_end - 1] != " "


def test_nic_aliases_persist(host):
    host.add_nic("eth1")
    first = host.json("network", "nic", "list")
    assert [(n["Name"], n["LinuxName"]) for n in first] == [("vmnic0", "eth1")]
    host.add_nic("eth0")
    assert [(n["Name"], n["LinuxName"]) for n in host.json("network", "nic", "list")] == \
        [("vmnic0", "eth1"), ("vmnic1", "eth0")]
    # an absent NIC keeps its alias: a new one does not take it
    host.del_nic("eth1")
    host.add_nic("eth2")
    assert [(n["Name"], n["LinuxName"]) for n in host.json("network", "nic", "list")] == \
        [("vmnic1", "eth0"), ("vmnic2", "eth2")]
    host.restart()
    host.add_nic("eth1")
    assert [(n["Name"], n["LinuxName"]) for n in host.json("network", "nic", "list")] == \
        [("vmnic0", "eth1"), ("vmnic1", "eth0"), ("vmnic2", "eth2")]


def test_nic_list_excludes_vmk_devices(host):
    import subprocess
    subprocess.run(["ip", "-n", host.ns, "tuntap", "add", "vmk7", "mode", "tap"], check=True)
    host.add_nic("vmnic0")
    assert [n["Name"] for n in host.json("network", "nic", "list")] == ["vmnic0"]


def test_uplinks(host):
    host.add_nic("vmnic0")
    host.add_nic("vmnic1")
    host.add_nic("eth5")
    host.ok(*VS, "add", "-v", "vSwitch1")
    assert host.ok(*VS, "uplink", "add", "-u", "vmnic0", "-v", "vSwitch1") == ""
    host.ok(*VS, "uplink", "add", "--uplink-name=vmnic1", "--vswitch-name=vSwitch1")
    host.ok(*VS, "uplink", "add", "-u", "vmnic2", "-v", "vSwitch0")  # eth5's alias
    v1 = host.json(*VS, "list", "-v", "vSwitch1")[0]
    assert v1["Uplinks"] == ["vmnic0", "vmnic1"] and v1["UsedPorts"] == 2
    assert "   Uplinks: vmnic0, vmnic1\n" in host.ok(*VS, "list", "-v", "vSwitch1")
    fo = host.json(*VS, "policy", "failover", "get", "-v", "vSwitch1")
    assert fo["ActiveAdapters"] == ["vmnic0", "vmnic1"]
    assert host.ok(*VS, "uplink", "remove", "-u", "vmnic0", "-v", "vSwitch1") == ""
    assert host.json(*VS, "list", "-v", "vSwitch1")[0]["Uplinks"] == ["vmnic1"]
    assert host.json(*VS, "policy", "failover", "get", "-v", "vSwitch1")["ActiveAdapters"] == \
        ["vmnic1"]
    # free again: another vSwitch may take it
    host.ok(*VS, "uplink", "add", "-u", "vmnic0", "-v", "vSwitch0")
    assert host.json(*VS, "list", "-v", "vSwitch0")[0]["Uplinks"] == ["vmnic2", "vmnic0"]
    # removing the vSwitch frees its uplinks
    host.ok(*VS, "remove", "-v", "vSwitch1")
    host.ok(*VS, "add", "-v", "vSwitch3")
    host.ok(*VS, "uplink", "add", "-u", "vmnic1", "-v", "vSwitch3")


def test_uplink_needs_a_free_port(host):
    for i in range(9):
        host.add_nic("vmnic%d" % i)
    host.ok(*VS, "add", "-v", "small", "-P", "8")
    for i in range(8):
        host.ok(*VS, "uplink", "add", "-u", "vmnic%d" % i, "-v", "small")
    assert host.json(*VS, "list", "-v", "small")[0]["UsedPorts"] == 8
    before = host.snapshot()
    assert host.fail(*VS, "uplink", "add", "-u", "vmnic8", "-v", "small") == \
        "Error: Cannot add uplink 'vmnic8': all 8 ports of virtual switch 'small' are in use"
    assert host.snapshot() == before


def test_portgroups(host):
    host.ok(*VS, "add", "-v", "vSwitch1")
    assert host.ok(*PG, "add", "-p", "Prod 10", "-v", "vSwitch1") == ""
    host.ok(*PG, "add", "--portgroup-name=backup", "--vswitch-name=vSwitch1")
    assert host.ok(*PG, "set", "-p", "Prod 10", "-v", "10") == ""
    host.ok(*PG, "set", "--portgroup-name", "backup", "--vlan-id", "4095")
    assert host.ok(*PG, "list") == (
        "Name                Virtual Switch  Active Clients  VLAN ID\n"
        "------------------  --------------  --------------  -------\n"
        "Management Network  vSwitch0                     1        0\n"
        "Prod 10             vSwitch1                     0       10\n"
        "VM Network          vSwitch0                     0        0\n"
        "backup              vSwitch1                     0     4095\n")
    assert host.json(*VS, "list", "-v", "vSwitch1")[0]["Portgroups"] == ["backup", "Prod 10"]
    host.ok(*PG, "set", "-p", "backup", "-v", "0")
    assert host.ok(*PG, "remove", "-p", "backup", "-v", "vSwitch1") == ""
    host.ok(*PG, "remove", "-p", "VM Network", "-v", "vSwitch0")
    assert [p["Name"] for p in host.json(*PG, "list")] == ["Management Network", "Prod 10"]


def test_many_portgroups_and_vswitches_stay_fast(host):
    """Thousands of port groups: list and change stay well inside the
    round-trip budget."""
    import json
    import time
    for i in range(20):
        host.ok(*VS, "add", "-v", "bulk%d" % i, "-P", "4096")
    # bulk-load through one connection of JSON-RPC requests
    lines = "".join(json.dumps({"jsonrpc": "2.0", "id": i,
                                "method": "network.vswitch.standard.portgroup.add",
                                "params": {"portgroup-name": "pg%d" % i,
                                           "vswitch-name": "bulk%d" % (i % 20)}}) + "\n"
                    for i in range(4000))
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(120)
    s.connect(host.sock)
    s.sendall(lines.encode())
    data = b""
    while data.count(b"\n") < 4000:
        data += s.recv(1 << 20)
    s.close()
    assert b'"error"' not in data
    # How fast these are is bench/esxcli.py's business; here: they work at scale.
    pgs = host.json(*PG, "list")
    assert len(pgs) == 4002
    host.ok(*PG, "set", "-p", "pg3999", "-v", "12")
    assert next(p for p in host.json(*PG, "list") if p["Name"] == "pg3999")["VLANID"] == 12
    host.json(*VS, "list")
