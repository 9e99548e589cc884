"""--formatter=json|xml|csv|keyvalue on every output shape: a list of
structs (vswitch list), a table (portgroup list, nic list), one struct
(policy get, version get) and a scalar (uptime)."""
import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest

from vmkd_util import shared_host  # noqa: F401

NS = "{http://www.vmware.com/Products/ESX/5.0/esxcli/}"
VS = ["network", "vswitch", "standard"]


@pytest.fixture(scope="module")
def h(shared_host):
    shared_host.add_nic("vmnic0")
    shared_host.add_nic("vmnic1")
    shared_host.ok(*VS, "uplink", "add", "-u", "vmnic0", "-v", "vSwitch0")
    shared_host.ok(*VS, "uplink", "add", "-u", "vmnic1", "-v", "vSwitch0")
    shared_host.ok(*VS, "portgroup", "add", "-p", 'odd, "name" <&>', "-v", "vSwitch0")
    return shared_host


def test_json(h):
    vs = h.json(*VS, "list")
    assert list(vs[0].keys()) == ["Name", "Class", "NumPorts", "UsedPorts", "ConfiguredPorts",
                                  "MTU", "CDPStatus", "BeaconEnabled", "BeaconInterval",
                                  "BeaconThreshold", "BeaconRequiredBy", "Uplinks",
                                  "Portgroups"]
    assert vs[0]["Uplinks"] == ["vmnic0", "vmnic1"] and vs[0]["BeaconEnabled"] is False
    assert isinstance(h.json("system", "stats", "uptime", "get"), int)
    v = h.json("system", "version", "get")
    assert list(v) == ["Product", "Version", "Build", "Update", "Patch"]
    # set commands print nothing, whatever the formatter
    assert h.ok("--formatter=json", *VS, "set", "-v", "vSwitch0", "-m", "1500") == ""


def xml_root(h, *args):
    out = h.ok("--formatter=xml", *args)
    assert out.startswith('<?xml version="1.0" encoding="utf-8"?>\n')
    root = ET.fromstring(out.split("\n", 1)[1])
    assert root.tag == NS + "output"
    return root.find(NS + "root")


def test_xml(h):
    root = xml_root(h, *VS, "list")
    structs = root.find(NS + "list").findall(NS + "structure")
    assert root.find(NS + "list").get("type") == "structure"
    assert [s.get("typeName") for s in structs] == ["VirtualSwitch"]
    fields = {f.get("name"): f for f in structs[0].findall(NS + "field")}
    assert fields["Name"].find(NS + "string").text == "vSwitch0"
    assert fields["MTU"].find(NS + "integer").text == "1500"
    assert fields["BeaconEnabled"].find(NS + "boolean").text == "false"
    up = fields["Uplinks"].find(NS + "list")
    assert up.get("type") == "string"
    assert [e.text for e in up.findall(NS + "string")] == ["vmnic0", "vmnic1"]
    pgs = [e.text for e in fields["Portgroups"].find(NS + "list").findall(NS + "string")]
    assert 'odd, "name" <&>' in pgs
    one = xml_root(h, *VS, "policy", "security", "get", "-v", "vSwitch0")
    s = one.find(NS + "structure")
    assert s.get("typeName") == "SecurityPolicy"
    assert [f.get("name") for f in s.findall(NS + "field")] == \
        ["AllowPromiscuous", "AllowMACAddressChange", "AllowForgedTransmits"]
    up = xml_root(h, "system", "stats", "uptime", "get")
    assert int(up.find(NS + "integer").text) > 0


def test_csv(h):
    out = h.ok("--formatter=csv", *VS, "list")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:3] == ["Name", "Class", "NumPorts"]
    row = dict(zip(rows[0], rows[1]))
    assert row["Uplinks"] == "vmnic0,vmnic1,"  # list: each element, then a comma
    assert row["BeaconRequiredBy"] == ""
    assert row["BeaconEnabled"] == "false"
    pg = list(csv.DictReader(io.StringIO(h.ok("--formatter=csv", *VS, "portgroup", "list"))))
    assert list(pg[0]) == ["Name", "VirtualSwitch", "ActiveClients", "VLANID"]
    assert 'odd, "name" <&>' in [p["Name"] for p in pg]
    ver = list(csv.DictReader(io.StringIO(h.ok("--formatter=csv", "system", "version",
                                                "get"))))
    assert ver == [{"Product": "vmk", "Version": ver[0]["Version"], "Build": "Releasebuild-0",
                    "Update": "0", "Patch": "0"}]


def test_keyvalue(h):
    lines = h.ok("--formatter=keyvalue", "system", "version", "get").splitlines()
    assert lines[0] == "VersionGet.Product.string=vmk"
    assert lines[1].startswith("VersionGet.Version.string=")
    kv = h.ok("--formatter=keyvalue", *VS, "list").splitlines()
    assert "VirtualSwitch.Name.string=vSwitch0" in kv
    assert "VirtualSwitch.MTU.integer=1500" in kv
    assert "VirtualSwitch.BeaconEnabled.boolean=false" in kv
    assert "VirtualSwitch.Uplinks.string[]=vmnic0,vmnic1" in kv
    nic = h.ok("--formatter=keyvalue", "network", "nic", "list").splitlines()
    assert "PhysicalNic.Name.string=vmnic0" in nic and "PhysicalNic.Speed.integer=10000" in nic
    up = h.ok("--formatter=keyvalue", "system", "stats", "uptime", "get")
    assert up.startswith("Uptime.integer=")


def test_human_scalar_and_struct(h):
    assert h.ok("system", "stats", "uptime", "get").strip().isdigit()
    out = h.ok("system", "version", "get")
    assert out.splitlines()[0] == "   Product: vmk"
    assert out.splitlines()[2] == "   Build: Releasebuild-0"


def test_formatter_option_forms(h):
    a = h.ok("--formatter", "json", "system", "hostname", "get")
    b = h.ok("--formatter=json", "system", "hostname", "get")
    assert a == b and json.loads(a)["HostName"]
