"""Policies of vSwitches and port groups: defaults, set, inheritance,
per-field overrides, --use-vswitch, teaming lists following uplinks."""
import pytest

from vmkd_util import host  # noqa: F401

VS = ["network", "vswitch", "standard"]
PG = VS + ["portgroup"]


@pytest.fixture
def teamed(host):
    """vSwitch1 with uplinks vmnic0..2 and port groups A and B."""
    for i in range(3):
        host.add_nic("vmnic%d" % i)
    host.ok(*VS, "add", "-v", "vSwitch1")
    for i in range(3):
        host.ok(*VS, "uplink", "add", "-u", "vmnic%d" % i, "-v", "vSwitch1")
    host.ok(*PG, "add", "-p", "A", "-v", "vSwitch1")
    host.ok(*PG, "add", "-p", "B", "-v", "vSwitch1")
    return host


def vs_get(h, pol, vs="vSwitch1"):
    return h.json(*VS, "policy", pol, "get", "-v", vs)


def pg_get(h, pol, pg):
    return h.json(*PG, "policy", pol, "get", "-p", pg)


def test_failover_get_shape(teamed):
    teamed.ok(*VS, "policy", "failover", "set", "-v", "vSwitch1", "-s", "vmnic2")
    assert teamed.ok(*VS, "policy", "failover", "get", "-v", "vSwitch1") == (
        "   Load Balancing: srcport\n"
        "   Network Failure Detection: link\n"
        "   Notify Switches: true\n"
        "   Failback: true\n"
        "   Active Adapters: vmnic0, vmnic1\n"
        "   Standby Adapters: vmnic2\n"
        "   Unused Adapters: \n")


def test_failover_set_vswitch(teamed):
    h = teamed
    assert h.ok(*VS, "policy", "failover", "set", "-v", "vSwitch1", "-a", "vmnic1",
                "-s", "vmnic0", "-l", "explicit", "-f", "beacon", "-n", "false",
                "-b", "false") == ""
    assert vs_get(h, "failover") == {
        "LoadBalancing": "explicit", "NetworkFailureDetection": "beacon",
        "NotifySwitches": False, "Failback": False, "ActiveAdapters": ["vmnic1"],
        "StandbyAdapters": ["vmnic0"], "UnusedAdapters": ["vmnic2"]}
    for given, shown in [("portid", "srcport"), ("mac", "srcmac"), ("explicit", "explicit")]:
        h.ok(*VS, "policy", "failover", "set", "-v", "vSwitch1", "-l", given)
        assert vs_get(h, "failover")["LoadBalancing"] == shown
    # -a alone moves an uplink out of standby; '' clears a list
    h.ok(*VS, "policy", "failover", "set", "-v", "vSwitch1", "-a", "vmnic0,vmnic2")
    fo = vs_get(h, "failover")
    assert (fo["ActiveAdapters"], fo["StandbyAdapters"], fo["UnusedAdapters"]) == \
        (["vmnic0", "vmnic2"], [], ["vmnic1"])
    h.ok(*VS, "policy", "failover", "set", "-v", "vSwitch1", "-a", "")
    assert vs_get(h, "failover")["UnusedAdapters"] == ["vmnic0", "vmnic1", "vmnic2"]
    h.ok(*VS, "policy", "failover", "set", "-v", "vSwitch1", "-a", "vmnic0,vmnic1,vmnic2",
         "-f", "link", "-l", "iphash")
    assert vs_get(h, "failover")["LoadBalancing"] == "iphash"
    # beacon shows in the vSwitch list
    h.ok(*VS, "policy", "failover", "set", "-v", "vSwitch1", "-l", "portid", "-f", "beacon")
    v = h.json(*VS, "list", "-v", "vSwitch1")[0]
    assert v["BeaconEnabled"] is True
    assert v["BeaconRequiredBy"] == ["vSwitch1", "A", "B"]


def test_security_and_shaping_vswitch(host):
    assert host.ok(*VS, "policy", "security", "get", "-v", "vSwitch0") == (
        "   Allow Promiscuous: false\n"
        "   Allow MAC Address Change: true\n"
        "   Allow Forged Transmits: true\n")
    host.ok(*VS, "policy", "security", "set", "-v", "vSwitch0", "-p", "true", "-m", "false",
            "-f", "false")
    assert vs_get(host, "security", "vSwitch0") == {
        "AllowPromiscuous": True, "AllowMACAddressChange": False, "AllowForgedTransmits": False}
    assert host.ok(*VS, "policy", "shaping", "get", "-v", "vSwitch0") == (
        "   Enabled: false\n"
        "   Average Bandwidth: 100000 Kbps\n"
        "   Peak Bandwidth: 100000 Kbps\n"
        "   Burst Size: 102400 Kib\n")
    host.ok(*VS, "policy", "shaping", "set", "-v", "vSwitch0", "-e", "true", "-b", "1000",
            "-k", "2000", "-t", "300")
    assert vs_get(host, "shaping", "vSwitch0") == {
        "Enabled": True, "AverageBandwidth": 1000, "PeakBandwidth": 2000, "BurstSize": 300}
    host.ok(*VS, "policy", "shaping", "set", "-v", "vSwitch0", "-k", "1500")
    host.ok(*VS, "policy", "shaping", "set", "-v", "vSwitch0", "--enabled=false")
    assert vs_get(host, "shaping", "vSwitch0") == {
        "Enabled": False, "AverageBandwidth": 1000, "PeakBandwidth": 1500, "BurstSize": 300}


def test_portgroup_inherits_until_overridden(teamed):
    h = teamed
    sec = pg_get(h, "security", "A")
    assert sec == {"AllowPromiscuous": False, "AllowMACAddressChange": True,
                   "AllowForgedTransmits": True, "OverrideVswitchAllowPromiscuous": False,
                   "OverrideVswitchAllowMACAddressChange": False,
                   "OverrideVswitchAllowForgedTransmits": False}
    # the vSwitch changes: the port group follows
    h.ok(*VS, "policy", "security", "set", "-v", "vSwitch1", "-p", "true")
    assert pg_get(h, "security", "A")["AllowPromiscuous"] is True
    # override one field: only that one is pinned
    h.ok(*PG, "policy", "security", "set", "-p", "A", "-o", "false")
    h.ok(*VS, "policy", "security", "set", "-v", "vSwitch1", "-p", "true", "-f", "false")
    sec = pg_get(h, "security", "A")
    assert (sec["AllowPromiscuous"], sec["OverrideVswitchAllowPromiscuous"]) == (False, True)
    assert (sec["AllowForgedTransmits"], sec["OverrideVswitchAllowForgedTransmits"]) == \
        (False, False)
    assert pg_get(h, "security", "B")["AllowPromiscuous"] is True
    # an override equal to the vSwitch's value is still an override
    h.ok(*PG, "policy", "security", "set", "-p", "B", "-m", "true")
    assert pg_get(h, "security", "B")["OverrideVswitchAllowMACAddressChange"] is True
    # --use-vswitch drops every override of that policy
    h.ok(*PG, "policy", "security", "set", "-p", "A", "-u")
    sec = pg_get(h, "security", "A")
    assert sec["AllowPromiscuous"] is True
    assert not any(v for k, v in sec.items() if k.startswith("Override"))
    # ... and is applied before the other options
    h.ok(*PG, "policy", "security", "set", "-p", "B", "-u", "-f", "true")
    sec = pg_get(h, "security", "B")
    assert (sec["OverrideVswitchAllowMACAddressChange"], sec["OverrideVswitchAllowForgedTransmits"],
            sec["AllowForgedTransmits"]) == (False, True, True)


def test_portgroup_get_shapes(teamed):
    assert teamed.ok(*PG, "policy", "failover", "get", "-p", "A") == (
        "   Load Balancing: srcport\n"
        "   Network Failure Detection: link\n"
        "   Notify Switches: true\n"
        "   Failback: true\n"
        "   Active Adapters: vmnic0, vmnic1, vmnic2\n"
        "   Standby Adapters: \n"
        "   Unused Adapters: \n"
        "   Override Vswitch Load Balancing: false\n"
        "   Override Vswitch Network Failure Detection: false\n"
        "   Override Vswitch Notify Switches: false\n"
        "   Override Vswitch Failback: false\n"
        "   Override Vswitch Uplinks: false\n")
    assert teamed.ok(*PG, "policy", "shaping", "get", "-p", "A").splitlines()[4:] == [
        "   Override Vswitch Enabled: false",
        "   Override Vswitch Average Bandwidth: false",
        "   Override Vswitch Peak Bandwidth: false",
        "   Override Vswitch Burst Size: false"]
    assert teamed.ok(*PG, "policy", "security", "get", "-p", "A").splitlines()[3:] == [
        "   Override Vswitch Allow Promiscuous: false",
        "   Override Vswitch Allow MAC Address Change: false",
        "   Override Vswitch Allow Forged Transmits: false"]


def test_portgroup_failover_overrides(teamed):
    h = teamed
    h.ok(*PG, "policy", "failover", "set", "-p", "A", "-a", "vmnic2", "-s", "vmnic1",
         "-l", "explicit")
    fo = pg_get(h, "failover", "A")
    assert (fo["ActiveAdapters"], fo["StandbyAdapters"], fo["UnusedAdapters"]) == \
        (["vmnic2"], ["vmnic1"], ["vmnic0"])
    assert (fo["LoadBalancing"], fo["OverrideVswitchLoadBalancing"],
            fo["OverrideVswitchUplinks"], fo["OverrideVswitchFailback"]) == \
        ("explicit", True, True, False)
    # the vSwitch's order no longer reaches A, but still reaches B
    h.ok(*VS, "policy", "failover", "set", "-v", "vSwitch1", "-a", "vmnic0", "-s", "vmnic1,vmnic2",
         "-b", "false")
    assert pg_get(h, "failover", "A")["ActiveAdapters"] == ["vmnic2"]
    assert pg_get(h, "failover", "A")["Failback"] is False
    fo_b = pg_get(h, "failover", "B")
    assert (fo_b["ActiveAdapters"], fo_b["StandbyAdapters"]) == (["vmnic0"], ["vmnic1", "vmnic2"])
    # -s alone on an inheriting port group starts from the inherited order
    h.ok(*PG, "policy", "failover", "set", "-p", "B", "-s", "vmnic0")
    fo_b = pg_get(h, "failover", "B")
    assert (fo_b["ActiveAdapters"], fo_b["StandbyAdapters"], fo_b["OverrideVswitchUplinks"]) \
        == ([], ["vmnic0"], True)
    # a new uplink joins the vSwitch's active list; overriding port groups leave it unused
    h.add_nic("vmnic3")
    h.ok(*VS, "uplink", "add", "-u", "vmnic3", "-v", "vSwitch1")
    assert vs_get(h, "failover")["ActiveAdapters"] == ["vmnic0", "vmnic3"]
    assert pg_get(h, "failover", "A")["UnusedAdapters"] == ["vmnic0", "vmnic3"]
    # a removed uplink leaves every list
    h.ok(*VS, "uplink", "remove", "-u", "vmnic2", "-v", "vSwitch1")
    fo = pg_get(h, "failover", "A")
    assert (fo["ActiveAdapters"], fo["StandbyAdapters"]) == ([], ["vmnic1"])
    assert vs_get(h, "failover")["StandbyAdapters"] == ["vmnic1"]
    h.ok(*PG, "policy", "failover", "set", "-p", "A", "--use-vswitch")
    fo = pg_get(h, "failover", "A")
    assert fo["ActiveAdapters"] == ["vmnic0", "vmnic3"] and not fo["OverrideVswitchUplinks"]


def test_portgroup_shaping_override(teamed):
    h = teamed
    h.ok(*PG, "policy", "shaping", "set", "-p", "A", "-e", "true", "-b", "500", "-k", "900",
         "-t", "64")
    sh = pg_get(h, "shaping", "A")
    assert (sh["Enabled"], sh["AverageBandwidth"], sh["PeakBandwidth"], sh["BurstSize"]) == \
        (True, 500, 900, 64)
    assert all(sh[k] for k in sh if k.startswith("Override"))
    assert pg_get(h, "shaping", "B")["Enabled"] is False
    # peak checked against the inherited average
    h.ok(*VS, "policy", "shaping", "set", "-v", "vSwitch1", "-b", "2000", "-k", "3000")
    h.ok(*PG, "policy", "shaping", "set", "-p", "B", "-k", "2500")
    assert pg_get(h, "shaping", "B")["PeakBandwidth"] == 2500


def test_policies_survive_restart(teamed):
    h = teamed
    h.ok(*PG, "policy", "failover", "set", "-p", "A", "-a", "vmnic1", "-n", "false")
    h.ok(*PG, "policy", "security", "set", "-p", "B", "-o", "true")
    h.ok(*PG, "policy", "shaping", "set", "-p", "B", "-e", "false")
    before = h.dump()
    h.restart()
    assert h.dump() == before
