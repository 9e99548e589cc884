"""vmkd as a daemon: instance paths and lock, first-start defaults, the
store's durability across SIGTERM and kill -9, vmkernel.log, and the raw
JSON-RPC API."""
import json
import os
import re
import sqlite3
import subprocess
import threading
import time

from vmkd_util import ESXCLI, LOG_LINE, VMKD, Host, host  # noqa: F401

VS = ["network", "vswitch", "standard"]


def test_instance_paths(host):
    assert os.path.exists(host.sock)
    assert os.path.exists(host.db)
    assert os.path.exists(host.log_path)
    with open(os.path.join(host.run_dir, "vmkd.pid")) as f:
        assert int(f.read()) == host.proc.pid


def test_second_start_refused(host):
    r = subprocess.run(host.vmkd_argv(), env=host.env, capture_output=True, text=True,
                       timeout=10)
    assert r.returncode != 0
    assert r.stderr.strip() == "vmkd: instance '%s' is already running (pid %d)" % (
        host.name, host.proc.pid)
    host.ok("system", "version", "get")  # the first one still serves


def test_bad_instance_and_options():
    for args, msg in [(["--instance", "a/b"], "invalid instance name 'a/b'"),
                      (["--instance", "x" * 33], "invalid instance name"),
                      (["--mgmt-ip", "10.0.0.1"], "invalid --mgmt-ip '10.0.0.1'"),
                      (["--mgmt-ip", "10.0.0.1/33"], "invalid --mgmt-ip"),
                      (["stray"], "unexpected argument 'stray'")]:
        r = subprocess.run([VMKD] + args, capture_output=True, text=True, timeout=10,
                           env=dict(os.environ, VMK_ROOT="/nonexistent-vmk-root"))
        assert r.returncode != 0, args
        assert msg in r.stderr, (args, r.stderr)


def test_version_and_help_of_vmkd():
    r = subprocess.run([VMKD, "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("vmkd ")
    r = subprocess.run([VMKD, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--instance NAME" in r.stdout


def test_sigterm_stops_cleanly(host):
    assert host.stop() == 0
    assert not os.path.exists(host.sock)
    assert not os.path.exists(os.path.join(host.run_dir, "vmkd.pid"))
    assert "vmkd stopped" in host.log()
    r = host.esxcli("system", "version", "get")
    assert r.rc == 1 and r.err.startswith("Error: Cannot connect to vmkd of instance")


def test_first_start_defaults():
    h = Host(mgmt_ip="192.168.50.11/24")
    try:
        h.start()
        vs = h.json(*VS, "list")
        assert len(vs) == 1
        v = vs[0]
        assert (v["Name"], v["Class"], v["ConfiguredPorts"], v["MTU"], v["CDPStatus"]) == \
            ("vSwitch0", "cswitch", 128, 1500, "listen")
        assert v["Portgroups"] == ["VM Network", "Management Network"]
        assert v["Uplinks"] == [] and v["UsedPorts"] == 1
        assert h.json(*VS, "portgroup", "list") == [
            {"Name": "Management Network", "VirtualSwitch": "vSwitch0", "ActiveClients": 1,
             "VLANID": 0},
            {"Name": "VM Network", "VirtualSwitch": "vSwitch0", "ActiveClients": 0,
             "VLANID": 0}]
        con = sqlite3.connect("file:%s?mode=ro" % h.db, uri=True)
        row = con.execute("SELECT k.name, p.name, n.name, k.mac, k.mtu, k.enabled, k.ipv4_type, "
                          "k.ipv4_address, k.ipv4_netmask, k.tags FROM vmknic k "
                          "JOIN portgroup p ON k.portgroup = p.id "
                          "JOIN netstack n ON k.netstack = n.id").fetchall()
        assert con.execute("PRAGMA user_version").fetchone()[0] == 4
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        con.close()
        assert len(row) == 1
        name, pg, stack, mac, mtu, enabled, t, addr, mask, tags = row[0]
        assert (name, pg, stack, mtu, enabled, tags) == \
            ("vmk0", "Management Network", "defaultTcpipStack", 1500, 1, "Management")
        assert re.fullmatch(r"00:50:56:6[0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}", mac), mac
        assert (t, addr, mask) == ("STATIC", "192.168.50.11", "255.255.255.0")
        hn = h.json("system", "hostname", "get")
        assert hn == {"DomainName": "", "FullyQualifiedDomainName": h.name, "HostName": h.name}
        # the option only seeds a new store
        h.stop()
        h.mgmt_ip = "10.9.9.9/8"
        h.start()
        con = sqlite3.connect("file:%s?mode=ro" % h.db, uri=True)
        assert con.execute("SELECT ipv4_address FROM vmknic").fetchone()[0] == "192.168.50.11"
        con.close()
        assert "--mgmt-ip ignored" in h.log()
    finally:
        h.close()


def test_first_start_without_mgmt_ip(host):
    con = sqlite3.connect("file:%s?mode=ro" % host.db, uri=True)
    assert con.execute("SELECT ipv4_type, ipv4_address FROM vmknic").fetchall() == [("NONE", "")]
    con.close()


def test_default_policies(host):
    assert host.json(*VS, "policy", "failover", "get", "-v", "vSwitch0") == {
        "LoadBalancing": "srcport", "NetworkFailureDetection": "link", "NotifySwitches": True,
        "Failback": True, "ActiveAdapters": [], "StandbyAdapters": [], "UnusedAdapters": []}
    assert host.json(*VS, "policy", "security", "get", "-v", "vSwitch0") == {
        "AllowPromiscuous": False, "AllowMACAddressChange": True, "AllowForgedTransmits": True}
    assert host.json(*VS, "policy", "shaping", "get", "-v", "vSwitch0") == {
        "Enabled": False, "AverageBandwidth": 100000, "PeakBandwidth": 100000,
        "BurstSize": 102400}


def build_config(h):
    """A config touching every kind of object and every policy."""
    for n in ("vmnic0", "vmnic1", "vmnic2", "eth9"):
        h.add_nic(n)
    h.ok(*VS, "add", "-v", "vSwitch1", "-P", "256")
    h.ok(*VS, "set", "-v", "vSwitch1", "-m", "9000", "-c", "both")
    h.ok(*VS, "uplink", "add", "-u", "vmnic0", "-v", "vSwitch1")
    h.ok(*VS, "uplink", "add", "-u", "vmnic1", "-v", "vSwitch1")
    h.ok(*VS, "uplink", "add", "-u", "vmnic2", "-v", "vSwitch0")
    h.ok(*VS, "portgroup", "add", "-p", "vMotion", "-v", "vSwitch1")
    h.ok(*VS, "portgroup", "add", "-p", "Storage A", "-v", "vSwitch1")
    h.ok(*VS, "portgroup", "set", "-p", "vMotion", "-v", "200")
    h.ok(*VS, "portgroup", "set", "-p", "Storage A", "-v", "4095")
    h.ok(*VS, "policy", "failover", "set", "-v", "vSwitch1", "-a", "vmnic1", "-s", "vmnic0",
         "-l", "explicit", "-b", "false")
    h.ok(*VS, "policy", "security", "set", "-v", "vSwitch1", "-p", "true", "-f", "false")
    h.ok(*VS, "policy", "shaping", "set", "-v", "vSwitch1", "-e", "true", "-b", "50000",
         "-k", "80000", "-t", "4096")
    h.ok(*VS, "portgroup", "policy", "failover", "set", "-p", "vMotion", "-a", "vmnic0",
         "-s", "vmnic1", "-n", "false")
    h.ok(*VS, "portgroup", "policy", "security", "set", "-p", "Storage A", "-m", "false")
    h.ok(*VS, "portgroup", "policy", "shaping", "set", "-p", "vMotion", "-e", "false")
    h.ok("system", "hostname", "set", "--fqdn", "esx01.lab.example")


def test_restart_keeps_everything(host):
    build_config(host)
    before = host.snapshot()
    assert host.stop() == 0
    host.start()
    assert host.snapshot() == before


def test_kill9_keeps_everything(host):
    build_config(host)
    before = host.snapshot()
    host.kill9()
    host.start()  # a stale socket and pid file are left behind: start must cope
    assert host.snapshot() == before


def test_kill9_under_load_loses_nothing_acknowledged(host):
    """A client adds port groups as fast as it can; vmkd is killed -9
    meanwhile.  Every add that esxcli reported done is there after the
    restart, and at most the one in flight beyond them."""
    acked = []
    stop = threading.Event()

    def writer():
        for i in range(100000):
            if stop.is_set():
                return
            r = host.esxcli(*VS, "portgroup", "add", "-p", "pg%d" % i, "-v", "vSwitch0")
            if r.rc != 0:
                return
            acked.append("pg%d" % i)

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(0.5)
    host.kill9()
    stop.set()
    t.join(timeout=30)
    assert len(acked) > 5
    host.start()
    names = {p["Name"] for p in host.json(*VS, "portgroup", "list")}
    for n in acked:
        assert n in names
    extra = names - set(acked) - {"Management Network", "VM Network"}
    assert len(extra) <= 1, extra


def test_vmkernel_log_format_and_changes(host):
    host.ok(*VS, "add", "-v", "vSwitchL")
    host.ok(*VS, "portgroup", "add", "-p", "LogPG", "-v", "vSwitchL")
    host.ok(*VS, "portgroup", "set", "-p", "LogPG", "-v", "12")
    host.ok(*VS, "policy", "security", "set", "-v", "vSwitchL", "-p", "true")
    host.ok("system", "hostname", "set", "-H", "loghost")
    host.fail(*VS, "add", "-v", "vSwitchL")  # refused: nothing logged
    lines = host.log().splitlines()
    assert lines
    for line in lines:
        assert LOG_LINE.match(line), line
    text = "\n".join(lines)
    assert "vSwitch vSwitchL added with 128 ports" in text
    assert "port group 'LogPG' added to vSwitch vSwitchL" in text
    assert "port group 'LogPG' VLAN ID set to 12" in text
    assert "vSwitch vSwitchL security policy set: allow-promiscuous=true" in text
    assert "host name set to 'loghost'" in text
    assert text.count("vSwitchL added") == 1


def test_default_instance_log_path(tmp_path):
    """The default instance logs to $VMK_ROOT/var/log/vmkernel.log."""
    h = Host()
    try:
        h.name = "default"
        h.start()
        assert os.path.exists(os.path.join(h.root, "var", "log", "vmkernel.log"))
        assert os.path.exists(os.path.join(h.root, "run", "vmk", "default", "vmkd.sock"))
        # esxcli without --instance reaches the default instance; VMK_INSTANCE too
        r = subprocess.run([ESXCLI, "system", "version", "get"], env=h.env,
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    finally:
        h.close()


def test_vmk_instance_environment(host):
    env = dict(host.env, VMK_INSTANCE=host.name)
    r = subprocess.run([ESXCLI, "system", "hostname", "get"], env=env, capture_output=True,
                       text=True)
    assert r.returncode == 0 and "Host Name: %s" % host.name in r.stdout


# ---- raw JSON-RPC ----

def reply(h, obj):
    return json.loads(h.rpc((json.dumps(obj) + "\n").encode()))


def test_rpc_result_and_id(host):
    r = reply(host, {"jsonrpc": "2.0", "id": 7, "method": "system.version.get"})
    assert r["jsonrpc"] == "2.0" and r["id"] == 7 and r["result"]["Product"] == "vmk"
    r = reply(host, {"jsonrpc": "2.0", "id": "abc", "method": "network.vswitch.standard.add",
                     "params": {"vswitch-name": "vRPC"}})
    assert r == {"jsonrpc": "2.0", "id": "abc", "result": True}


def test_rpc_errors(host):
    r = reply(host, {"jsonrpc": "2.0", "id": 1, "method": "network.nope"})
    assert r["error"]["code"] == -32601
    r = reply(host, {"jsonrpc": "2.0", "id": 1, "method": "network.vswitch.standard.add"})
    assert r["error"] == {"code": -32602,
                          "message": "Missing required parameter -v|--vswitch-name"}
    r = reply(host, {"jsonrpc": "2.0", "id": 1, "method": "network.vswitch.standard.add",
                     "params": {"vswitch-name": 5}})
    assert r["error"]["code"] == -32602 and "--vswitch-name" in r["error"]["message"]
    r = reply(host, {"jsonrpc": "2.0", "id": 1, "method": "network.vswitch.standard.add",
                     "params": ["x"]})
    assert r["error"]["code"] == -32602
    r = reply(host, {"jsonrpc": "2.0", "id": 1, "method": "network.vswitch.standard.remove",
                     "params": {"vswitch-name": "vSwitch0"}})
    assert r["error"]["code"] == -32000 and "in use by vmk0" in r["error"]["message"]
    r = json.loads(host.rpc(b"{not json\n"))
    assert r["error"]["code"] == -32700 and r["id"] is None
    r = reply(host, {"id": 3})
    assert r["error"]["code"] == -32600


def test_rpc_pipelined_requests_and_notifications(host):
    lines = [json.dumps({"jsonrpc": "2.0", "method": "network.vswitch.standard.add",
                         "params": {"vswitch-name": "vNotified"}}),  # notification
             json.dumps({"jsonrpc": "2.0", "id": 1, "method": "system.hostname.get"}),
             json.dumps({"jsonrpc": "2.0", "id": 2, "method": "network.vswitch.standard.list",
                         "params": {"vswitch-name": "vNotified"}})]
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(host.sock)
    s.sendall(("\n".join(lines) + "\n").encode())
    data = b""
    while data.count(b"\n") < 2:
        data += s.recv(65536)
    s.close()
    replies = [json.loads(x) for x in data.splitlines()]
    assert [r["id"] for r in replies] == [1, 2]
    assert replies[1]["result"][0]["Name"] == "vNotified"


def test_uptime_counts_microseconds(host):
    a = int(host.ok("system", "stats", "uptime", "get"))
    time.sleep(0.2)
    b = int(host.ok("system", "stats", "uptime", "get"))
    assert 150000 <= b - a <= 5000000
