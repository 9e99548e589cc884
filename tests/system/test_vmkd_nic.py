"""`esxcli network nic get`, `nic stats get` and `nic down|up`: a NIC's
details from ethtool, its counters from rtnetlink, its admin state.

NICs are veth pairs the tests make (vmkd_util.Host.add_nic: the vmnic end
in the host's namespace, its peer in a namespace of the test's), or
cables between two hosts (vmkd_util.wire), with traffic from vmkping
between VMkernel adapters on each side.  The counters are checked against
the kernel's own (`ip -s link`), read before and after.

Network safety: only the namespaces and veths these tests make; no route
out; every ping is bounded in count and time."""
import json
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

from test_vmkd_datapath import carried, teamed  # noqa: F401 (the teamed pair of hosts)
from vmkd_util import (Host, add_portgroup, add_vmknic, add_vswitch, close_hosts,
                      host, link_info, ping_ok, ping_stats, shared_host, vmkping,
                      wait_link, wire)  # noqa: F401 (fixtures)

NIC = ("network", "nic")


def nic_row(h, name):
    return {n["Name"]: n for n in h.json(*NIC, "list")}[name]


# ---- nic get ----

def test_get_shows_ethtool_details(host):
    host.add_nic("vmnic0")
    host.add_nic("eth3")
    subprocess.run(["ip", "-n", host.ns, "link", "set", "vmnic0", "mtu", "9000"], check=True)
    mac = link_info(host.ns, "vmnic0")["address"]
    g = host.json(*NIC, "get", "-n", "vmnic0")
    assert g["Name"] == "vmnic0"
    assert g["VirtualAddress"] == mac
    assert g["MACAddress"] == "N/A"  # a veth has no permanent address
    assert g["MTU"] == 9000
    assert g["DriverInfo"]["Driver"] == "veth"
    assert g["DriverInfo"]["BusInfo"] == "N/A"
    assert g["AdminStatus"] == "Up" and g["LinkStatus"] == "Up" and g["LinkDetected"] is True
    assert g["Speed"] == 10000 and g["Duplex"] == "Full"
    assert g["CableType"] == "Twisted Pair"
    assert g["Wakeon"] == ["None"] and g["SupportsWakeon"] is False
    assert g["AdvertisedLinkModes"] == [] and g["AutoNegotiation"] is False
    # an alias: the Linux name behind vmnic1 is eth3
    alias = host.json(*NIC, "get", "-n", "vmnic1")
    assert alias["Name"] == "vmnic1"
    assert alias["VirtualAddress"] == link_info(host.ns, "eth3")["address"]

    lines = host.ok(*NIC, "get", "-n", "vmnic0").splitlines()
    assert "   Driver Info: " in lines
    i = lines.index("   Driver Info: ")
    assert lines[i + 1:i + 5] == ["         Bus Info: N/A", "         Driver: veth",
                                  "         Firmware Version: N/A", "         Version: 1.0"]
    for want in ("   Link Status: Up", "   Name: vmnic0", "   MTU: 9000",
                 "   Virtual Address: %s" % mac, "   Wakeon: None",
                 "   Advertised Link Modes: "):
        assert want in lines, (want, lines)


def test_get_of_a_nic_without_link(host):
    host.add_nic("vmnic2", up=False)
    g = host.json(*NIC, "get", "-n", "vmnic2")
    assert g["AdminStatus"] == "Down" and g["LinkStatus"] == "Down"
    assert g["LinkDetected"] is False
    assert g["Speed"] == 0 and g["Duplex"] == "Half"


def test_get_formatters(host):
    host.add_nic("vmnic0")
    mac = link_info(host.ns, "vmnic0")["address"]
    root = ET.fromstring(host.ok("--formatter=xml", *NIC, "get", "-n", "vmnic0"))
    ns = "{http://www.vmware.com/Products/ESX/5.0/esxcli/}"
    top = root.find(ns + "root/" + ns + "structure")
    assert top.get("typeName") == "NICInfo"
    drv = top.find(ns + "field[@name='DriverInfo']/" + ns + "structure")
    assert drv.get("typeName") == "NICDriverInfo"
    assert drv.find(ns + "field[@name='Driver']/" + ns + "string").text == "veth"
    kv = host.ok("--formatter=keyvalue", *NIC, "get", "-n", "vmnic0").splitlines()
    assert "NICInfo.DriverInfo.NICDriverInfo.Driver.string=veth" in kv
    assert "NICInfo.VirtualAddress.string=%s" % mac in kv
    assert "NICInfo.Wakeon.string[]=None" in kv
    csv = host.ok("--formatter=csv", *NIC, "get", "-n", "vmnic0").splitlines()
    assert csv[0].startswith("AdminStatus,AdvertisedAutoNegotiation,")
    assert len(csv) == 2 and '""Driver"":""veth""' in csv[1]


# ---- nic stats get ----

@pytest.fixture
def cabled():
    """A's vmnic0 cabled to B's; on both vSwitch1 with it as uplink and vmk1
    on port group "Nic" (10.91.0.1 and .2)."""
    a, b = Host(), Host()
    try:
        wire(a, b)
        for h, n in ((a.start(), 1), (b.start(), 2)):
            add_vswitch(h)
            add_portgroup(h, "Nic")
            add_vmknic(h, "vmk1", "Nic", "10.91.0.%d" % n)
        assert ping_ok(a, "-I", "vmk1", "10.91.0.2")
        yield a, b
    finally:
        close_hosts(a, b)


def kernel_stats(h, dev):
    return link_info(h.ns, dev)["stats64"]


def test_stats_count_the_traffic(cabled):
    a, _ = cabled
    first = a.json(*NIC, "stats", "get", "-n", "vmnic0")
    r = vmkping(a, "-I", "vmk1", "-c", "10", "-i", "0.05", "10.91.0.2")
    assert r.rc == 0 and ping_stats(r) == (10, 10), r
    before = kernel_stats(a, "vmnic0")
    s = a.json(*NIC, "stats", "get", "-n", "vmnic0")
    after = kernel_stats(a, "vmnic0")
    assert s["Packetssent"] - first["Packetssent"] >= 10
    assert s["Packetsreceived"] - first["Packetsreceived"] >= 10
    assert s["Bytessent"] - first["Bytessent"] >= 10 * 98
    # the kernel's counters, read around ours
    for key, (d, k) in {"Packetsreceived": ("rx", "packets"), "Packetssent": ("tx", "packets"),
                        "Bytesreceived": ("rx", "bytes"), "Bytessent": ("tx", "bytes"),
                        "Receivepacketsdropped": ("rx", "dropped"),
                        "Transmitpacketsdropped": ("tx", "dropped"),
                        "Totalreceiveerrors": ("rx", "errors"),
                        "Totaltransmiterrors": ("tx", "errors")}.items():
        assert before[d][k] <= s[key] <= after[d][k], (key, before, s, after)
    for key in ("Broadcastpacketsreceived", "Broadcastpacketssent", "Multicastpacketssent"):
        assert s[key] == 0  # Linux does not count them
    assert "Heading" not in s

    lines = a.ok(*NIC, "stats", "get", "-n", "vmnic0").splitlines()
    assert lines[0] == "NIC statistics for vmnic0"
    assert lines[1].startswith("   Packets received: ")
    assert lines[-1] == "   Transmit window errors: 0"
    assert len(lines) == 24
    kv = a.ok("--formatter=keyvalue", *NIC, "stats", "get", "-n", "vmnic0").splitlines()
    assert len(kv) == 23 and kv[0].startswith("NICStats.Packetsreceived.integer=")


# ---- nic down / up ----

def test_down_fails_the_uplink_and_up_restores_it(cabled):
    a, _ = cabled
    a.ok(*NIC, "down", "-n", "vmnic0")
    row = nic_row(a, "vmnic0")
    assert row["AdminStatus"] == "Down" and row["LinkStatus"] == "Down"
    assert "UP" not in link_info(a.ns, "vmnic0")["flags"]
    assert a.json(*NIC, "get", "-n", "vmnic0")["LinkStatus"] == "Down"
    a.ok(*NIC, "down", "-n", "vmnic0")  # already down: nothing to do
    r = vmkping(a, "-I", "vmk1", "-c", "3", "-i", "0.1", "-W", "1", "10.91.0.2")
    assert ping_stats(r)[1] == 0, r

    a.ok(*NIC, "up", "-n", "vmnic0")
    assert nic_row(a, "vmnic0")["AdminStatus"] == "Up"
    wait_link(a, "vmnic0")
    assert ping_ok(a, "-I", "vmk1", "10.91.0.2")
    assert nic_row(a, "vmnic0")["LinkStatus"] == "Up"
    log = a.log()
    assert re.search(r"WARNING: Uplink: \d+: vmnic0 \(vmnic0\): brought down "
                     r"\(esxcli network nic down\)", log), log
    assert re.search(r"\)Uplink: \d+: vmnic0 \(vmnic0\): brought up "
                     r"\(esxcli network nic up\)", log), log
    assert re.search(r"WARNING: Uplink: \d+: vmnic0: link down", log), log
    assert log.count("brought down") == 1


def test_down_active_uplink_fails_over(teamed):
    a, _ = teamed
    on0, on1 = carried(a)
    assert on0 >= 10 and on1 == 0, (on0, on1)
    a.ok(*NIC, "down", "-n", "vmnic0")
    assert ping_ok(a, "-I", "vmk1", "10.76.0.2")
    on0, on1 = carried(a)
    assert on0 == 0 and on1 >= 10, (on0, on1)
    a.ok(*NIC, "up", "-n", "vmnic0")
    wait_link(a, "vmnic0")
    assert ping_ok(a, "-I", "vmk1", "10.76.0.2")
    on0, on1 = carried(a)
    assert on0 >= 10 and on1 <= 2, (on0, on1)  # failback


# ---- bad input ----

NAMED = [("get",), ("stats", "get"), ("down",), ("up",)]  # the commands taking -n


@pytest.mark.parametrize("cmd", NAMED)
def test_bad_nic_names(host, cmd):
    host.add_nic("vmnic0")
    host.add_nic("eth3")  # vmnic1
    before = (host.snapshot(), link_info(host.ns, "vmnic0")["flags"],
              link_info(host.ns, "eth3")["flags"], link_info(host.ns, "lo")["flags"])
    for bad in ("vmnic9", "eth3", "lo", "vmk0", "", "vmnic0x"):
        msg = host.fail(*NIC, *cmd, "-n", bad)
        assert msg == ("Error: Invalid --nic-name '%s': no such NIC (see esxcli network "
                       "nic list)" % bad), msg
    assert "--nic-name" in host.fail(*NIC, *cmd)
    after = (host.snapshot(), link_info(host.ns, "vmnic0")["flags"],
             link_info(host.ns, "eth3")["flags"], link_info(host.ns, "lo")["flags"])
    assert after == before
    assert "brought" not in host.log()


def test_help(shared_host):
    out = shared_host.ok(*NIC, "get", "--help")
    assert "-n|--nic-name=<str>" in out
    assert "get" in shared_host.ok(*NIC, "stats")
    for verb in ("down", "up"):
        assert "-n|--nic-name=<str>" in shared_host.ok(*NIC, verb, "--help")
    assert json.loads(shared_host.ok("--formatter=json", *NIC, "list")) == []
