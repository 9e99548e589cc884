"""The IP side across restarts: after kill -9 (and after a clean stop) vmkd
comes back with the identical configuration and realizes it again in the
kernel: the stacks' namespaces (left behind and reused), new TAPs (the old
ones died with the old process's fds), addresses, routes and the adapters'
gateways.  Namespace names of stacks the store no longer has are deleted.
A store of schema version 1 is migrated."""
import os
import sqlite3
import subprocess

from vmkd_ip_util import (DEFAULT, IF, NETSTACK, ROUTE, Peer, addrs, close_host, cubic_allowed,
                          ip_snapshot, link, routes, rules, stack_namespaces, stack_ns, sysctl,
                          vmkping)
from vmkd_util import VS, Host

PG = VS + ("portgroup",)


def build(h):
    """A host with something of everything."""
    h.ok(*PG, "add", "-p", "vMotion", "-v", "vSwitch0")
    h.ok(*PG, "add", "-p", "Storage", "-v", "vSwitch0")
    h.ok(*IF, "add", "-i", "vmk1", "-p", "vMotion", "-N", "vmotion")
    h.ok(*IF, "ipv4", "set", "-i", "vmk1", "-t", "static", "-I", "10.71.0.1",
         "-N", "255.255.255.0", "-g", "10.71.0.254")
    h.ok(*IF, "ipv6", "address", "add", "-i", "vmk1", "-I", "fd00:71::1/64")
    h.ok(*IF, "add", "-i", "vmk2", "-p", "Storage", "-M", "10.72.0.1", "-N", "255.255.0.0",
         "-g", "10.72.0.254")
    h.ok(*IF, "set", "-i", "vmk2", "-m", "9000")
    h.ok(*IF, "tag", "add", "-i", "vmk2", "-t", "VSAN")
    h.ok(*NETSTACK, "add", "-N", "custom")
    h.ok(*NETSTACK, "set", "-N", "custom", "-c", "cubic" if cubic_allowed() else "newreno",
         "-m", "5000")
    h.ok(*IF, "add", "-i", "vmk3", "-p", "VM Network", "-N", "custom", "-M", "00:50:56:01:02:03")
    h.ok(*IF, "ipv4", "set", "-i", "vmk3", "-t", "static", "-I", "10.73.0.1",
         "-N", "255.255.255.0")
    h.ok(*ROUTE, "add", "-n", "default", "-g", "192.168.50.1")
    h.ok(*ROUTE, "add", "-N", "vmotion", "-n", "10.80.0.0/16", "-g", "10.71.0.2")
    h.ok(*ROUTE, "add", "-N", "custom", "-n", "default", "-g", "10.73.0.2")


def kernel_state(h):
    """What the kernel has of the host's IP configuration."""
    k = {}
    for stack, dev in ((DEFAULT, "vmk0"), ("vmotion", "vmk1"), (DEFAULT, "vmk2"),
                       ("custom", "vmk3")):
        ns = stack_ns(h, stack)
        l = link(ns, dev)
        k[dev] = (l and (l["address"], l["mtu"], "UP" in l["flags"]), addrs(ns, dev),
                  addrs(ns, dev, "inet6"))
    for stack in (DEFAULT, "vmotion", "custom"):
        ns = stack_ns(h, stack)
        k["routes " + stack] = sorted((r["dst"], r.get("gateway", ""), r.get("dev", ""))
                                      for r in routes(ns))
        k["rules " + stack] = sorted(repr(sorted(r.items())) for r in rules(ns))
    k["gw tables"] = (routes(stack_ns(h, "vmotion"), "table", "10001"),
                      routes(h.ns, "table", "10002"))
    k["ccalgo custom"] = sysctl(stack_ns(h, "custom"), "ipv4/tcp_congestion_control")
    return k


def test_kill9_and_restart_give_the_same_config_realized_again():
    h = Host(mgmt_ip="192.168.50.11/24").start()
    try:
        build(h)
        before, kernel = ip_snapshot(h), kernel_state(h)
        assert kernel["vmk1"][1] == ["10.71.0.1/24"] and kernel["vmk2"][0][1] == 9000
        assert kernel["ccalgo custom"] == ("cubic" if cubic_allowed() else "reno")
        names = stack_namespaces(h)
        assert names == ["vmk-%s-custom" % h.name, "vmk-%s-vmotion" % h.name]
        h.kill9()
        # the TAPs died with vmkd's fds; the namespace names stay
        assert link(h.ns, "vmk0") is None and link(stack_ns(h, "vmotion"), "vmk1") is None
        assert stack_namespaces(h) == names
        h.start()
        assert ip_snapshot(h) == before
        assert kernel_state(h) == kernel
        assert "reusing the namespace vmk-%s-vmotion" % h.name in h.log()
        r = vmkping(h, "-S", "vmotion", "-c", "1", "-W", "2", "10.71.0.1")
        assert r.returncode == 0, r.stdout + r.stderr
        # and once more with a clean stop
        assert h.stop() == 0
        assert link(h.ns, "vmk2") is None and stack_namespaces(h) == names
        h.start()
        assert ip_snapshot(h) == before and kernel_state(h) == kernel
    finally:
        close_host(h)


def test_routes_through_a_test_veth_survive_kill9():
    h = Host(mgmt_ip="192.168.50.11/24").start()
    peer = None
    try:
        h.ok(*NETSTACK, "add", "-N", "lab")
        ns = stack_ns(h, "lab")
        peer = Peer(ns, "veth0", "10.90.0.1/24", "10.90.0.2/24")
        peer.ip("addr", "add", "10.91.0.1/32", "dev", "lo")
        h.ok(*ROUTE, "add", "-N", "lab", "-n", "10.91.0.0/24", "-g", "10.90.0.2")
        assert vmkping(h, "-S", "lab", "-c", "1", "-W", "2", "10.91.0.1").returncode == 0
        before = ip_snapshot(h)
        h.kill9()
        h.start()
        assert ip_snapshot(h) == before
        assert [(r["dst"], r["gateway"]) for r in routes(ns) if "gateway" in r] == \
            [("10.91.0.0/24", "10.90.0.2")]
        r = vmkping(h, "-S", "lab", "-c", "1", "-W", "2", "10.91.0.1")
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        if peer:
            peer.close()
        close_host(h)


def test_stale_namespaces_are_deleted_and_leftovers_reused():
    h = Host().start()
    try:
        h.ok(*NETSTACK, "add", "-N", "keep")
        h.stop()
        ghost = "vmk-%s-ghost" % h.name
        subprocess.run(["ip", "netns", "add", ghost], check=True)
        other = "vmk-%sx-other" % h.name          # another instance's: left alone
        subprocess.run(["ip", "netns", "add", other], check=True)
        try:
            h.start()
            assert stack_namespaces(h) == ["vmk-%s-keep" % h.name]
            assert os.path.exists("/run/netns/" + other)
            assert "deleted the namespace %s: no such netstack" % ghost in h.log()
            assert "reusing the namespace vmk-%s-keep" % h.name in h.log()
        finally:
            subprocess.run(["ip", "netns", "del", other], check=False)
    finally:
        close_host(h)


SCHEMA_1 = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE netstack(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE vswitch(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
 ports INTEGER NOT NULL DEFAULT 128, mtu INTEGER NOT NULL DEFAULT 1500,
 cdp TEXT NOT NULL DEFAULT 'listen',
 sec_promisc INTEGER NOT NULL DEFAULT 0, sec_mac_change INTEGER NOT NULL DEFAULT 1,
 sec_forged INTEGER NOT NULL DEFAULT 1,
 shape_enabled INTEGER NOT NULL DEFAULT 0, shape_avg INTEGER NOT NULL DEFAULT 100000,
 shape_peak INTEGER NOT NULL DEFAULT 100000, shape_burst INTEGER NOT NULL DEFAULT 102400,
 team_lb TEXT NOT NULL DEFAULT 'srcport', team_detect TEXT NOT NULL DEFAULT 'link',
 team_notify INTEGER NOT NULL DEFAULT 1, team_failback INTEGER NOT NULL DEFAULT 1,
 team_active TEXT NOT NULL DEFAULT '', team_standby TEXT NOT NULL DEFAULT '');
CREATE TABLE uplink(id INTEGER PRIMARY KEY, nic TEXT NOT NULL UNIQUE,
 vswitch INTEGER NOT NULL REFERENCES vswitch(id) ON DELETE CASCADE);
CREATE INDEX uplink_vswitch ON uplink(vswitch);
CREATE TABLE portgroup(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
 vswitch INTEGER NOT NULL REFERENCES vswitch(id) ON DELETE CASCADE,
 vlan INTEGER NOT NULL DEFAULT 0,
 sec_promisc INTEGER, sec_mac_change INTEGER, sec_forged INTEGER,
 shape_enabled INTEGER, shape_avg INTEGER, shape_peak INTEGER, shape_burst INTEGER,
 team_lb TEXT, team_detect TEXT, team_notify INTEGER, team_failback INTEGER,
 team_active TEXT, team_standby TEXT);
CREATE INDEX portgroup_vswitch ON portgroup(vswitch);
CREATE TABLE nic(name TEXT PRIMARY KEY, linux_name TEXT NOT NULL UNIQUE) WITHOUT ROWID;
CREATE TABLE vmknic(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
 portgroup INTEGER NOT NULL REFERENCES portgroup(id),
 netstack INTEGER NOT NULL REFERENCES netstack(id),
 mac TEXT NOT NULL UNIQUE, mtu INTEGER NOT NULL DEFAULT 1500,
 enabled INTEGER NOT NULL DEFAULT 1,
 ipv4_type TEXT NOT NULL DEFAULT 'NONE', ipv4_address TEXT NOT NULL DEFAULT '',
 ipv4_netmask TEXT NOT NULL DEFAULT '', ipv4_gateway TEXT NOT NULL DEFAULT '',
 tags TEXT NOT NULL DEFAULT '');
CREATE INDEX vmknic_portgroup ON vmknic(portgroup);
INSERT INTO meta VALUES ('host_name', 'old'), ('domain_name', '');
INSERT INTO netstack(name) VALUES ('defaultTcpipStack');
INSERT INTO vswitch(name) VALUES ('vSwitch0');
INSERT INTO portgroup(name, vswitch) VALUES ('Management Network', 1), ('VM Network', 1);
INSERT INTO vmknic(name, portgroup, netstack, mac, ipv4_type, ipv4_address, ipv4_netmask, tags)
 VALUES ('vmk0', 1, 1, '00:50:56:6a:0b:0c', 'STATIC', '192.168.9.9', '255.255.255.0',
         'Management');
PRAGMA user_version = 1;
"""


def test_store_of_schema_1_is_migrated():
    h = Host()
    try:
        os.makedirs(os.path.dirname(h.db))
        con = sqlite3.connect(h.db)
        con.executescript(SCHEMA_1)
        con.close()
        h.start()
        assert h.db_dump()["user_version"] == 4
        assert h.json(*IF, "get", "-i", "vmk0")["IPv4Address"] == "192.168.9.9"
        assert addrs(h.ns, "vmk0") == ["192.168.9.9/24"]
        assert link(h.ns, "vmk0")["address"] == "00:50:56:6a:0b:0c"
        s = h.json(*NETSTACK, "get", "-N", DEFAULT)
        assert (s["MaxConnections"], s["CongestionControlAlgorithm"], s["IPv6Enabled"]) == \
            (11000, "newreno", True)
        h.ok(*ROUTE, "add", "-n", "default", "-g", "192.168.9.1")
        h.ok(*IF, "ipv6", "address", "add", "-i", "vmk0", "-I", "fd00::9/64")
    finally:
        close_host(h)
