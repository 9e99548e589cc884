"""VMkernel adapters: `esxcli network ip interface list|get|add|remove|set`,
`ipv4 get|set`, `ipv6 get|set|address`, `tag add|remove|get`, and what each
does in the kernel: a TAP vmkN in the namespace of the adapter's stack,
with its MAC, MTU, link state and addresses."""
import re
import subprocess

from vmkd_ip_util import (DEFAULT, IF, addrs, all_addrs, ip_snapshot, iphost,  # noqa: F401
                          link, route_get, routes, rules, stack_namespaces, stack_ns, sysctl,
                          vmkping)
from vmkd_util import VS

PG = VS + ("portgroup",)
MAC_RE = r"00:50:56:6[0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}"


def test_vmk0_from_the_first_start_is_realized(iphost):
    h = iphost
    out = h.ok(*IF, "list")
    mac = h.json(*IF, "list")[0]["MACAddress"]
    assert re.fullmatch(MAC_RE, mac)
    assert out == (
        "vmk0\n"
        "   Name: vmk0\n"
        "   MAC Address: %s\n"
        "   Enabled: true\n"
        "   Portset: vSwitch0\n"
        "   Portgroup: Management Network\n"
        "   Netstack Instance: defaultTcpipStack\n"
        "   VDS Name: N/A\n"
        "   VDS UUID: N/A\n"
        "   VDS Port: N/A\n"
        "   VDS Connection: -1\n"
        "   Opaque Network ID: N/A\n"
        "   Opaque Network Type: N/A\n"
        "   External ID: N/A\n"
        "   MTU: 1500\n"
        "   TSO MSS: 65535\n"
        "   RXDispQueue Size: 1\n"
        "   Port ID: 33554443\n"
        "\n" % mac)
    l = link(h.ns, "vmk0")
    assert l["address"] == mac and l["mtu"] == 1500 and "UP" in l["flags"]
    assert addrs(h.ns, "vmk0") == ["192.168.50.11/24"]
    assert h.ok(*IF, "ipv4", "get") == (
        "Name  IPv4 Address   IPv4 Netmask   IPv4 Broadcast  Address Type  Gateway  DHCP DNS\n"
        "----  -------------  -------------  --------------  ------------  -------  --------\n"
        "vmk0  192.168.50.11  255.255.255.0  192.168.50.255  STATIC        0.0.0.0     false\n")
    assert h.json(*IF, "tag", "get", "-i", "vmk0") == {"Tags": ["Management"]}
    # vmk0 is not a NIC of the host
    assert [n["Name"] for n in h.json("network", "nic", "list")] == []


def test_one_line_form_of_the_product_description(iphost):
    h = iphost
    h.ok(*IF, "add", "-i", "vmk1", "-p", "Management Network", "-M", "192.168.1.11",
         "-N", "255.255.255.0", "-g", "192.168.1.1")
    v4 = h.json(*IF, "ipv4", "get", "-i", "vmk1")
    assert v4 == [{"Name": "vmk1", "IPv4Address": "192.168.1.11",
                   "IPv4Netmask": "255.255.255.0", "IPv4Broadcast": "192.168.1.255",
                   "AddressType": "STATIC", "Gateway": "192.168.1.1", "DHCPDNS": False}]
    k = h.json(*IF, "list")[1]
    assert k["Name"] == "vmk1" and k["NetstackInstance"] == DEFAULT
    assert re.fullmatch(MAC_RE, k["MACAddress"]) and k["PortID"] == 33554444
    assert addrs(h.ns, "vmk1") == ["192.168.1.11/24"]
    # the adapter's gateway: not in the stack's table, used by its own traffic
    assert [r["dst"] for r in routes(h.ns)] == ["192.168.1.0/24", "192.168.50.0/24"]
    assert routes(h.ns, "table", "10001") == [
        {"dst": "default", "gateway": "192.168.1.1", "dev": "vmk1", "protocol": "87",
         "flags": []}]


def test_two_step_form_and_defaults(iphost):
    h = iphost
    h.ok(*PG, "add", "-p", "Storage", "-v", "vSwitch0")
    h.ok(*IF, "add", "-p", "Storage")              # lowest free name, generated MAC
    h.ok(*IF, "ipv4", "set", "-i", "vmk1", "-I", "10.10.0.5", "-N", "255.255.0.0",
         "-t", "static")
    k = h.json(*IF, "get", "-i", "vmk1")
    assert (k["Portgroup"], k["MTU"], k["Enabled"], k["IPv4Address"], k["Gateway"]) == \
        ("Storage", 1500, True, "10.10.0.5", "0.0.0.0")
    assert addrs(h.ns, "vmk1") == ["10.10.0.5/16"]
    h.ok(*IF, "add", "-i", "vmk7", "-p", "VM Network", "-M", "00:50:56:AA:BB:CC", "-m", "9000")
    k = h.json(*IF, "get", "-i", "vmk7")
    assert (k["MACAddress"], k["MTU"], k["AddressType"], k["IPv4Address"]) == \
        ("00:50:56:aa:bb:cc", 9000, "NONE", "0.0.0.0")
    l = link(h.ns, "vmk7")
    assert l["address"] == "00:50:56:aa:bb:cc" and l["mtu"] == 9000
    assert [i["Name"] for i in h.json(*IF, "list")] == ["vmk0", "vmk1", "vmk7"]
    pgs = {p["Name"]: p["ActiveClients"] for p in h.json(*PG, "list")}
    assert pgs == {"Management Network": 1, "Storage": 1, "VM Network": 1}
    assert h.json(*VS, "list")[0]["UsedPorts"] == 3


def test_interface_get(iphost):
    h = iphost
    h.ok(*IF, "ipv6", "address", "add", "-i", "vmk0", "-I", "fd00:50::11/64")
    out = h.ok(*IF, "get", "-i", "vmk0")
    assert out.startswith("   Name: vmk0\n   MAC Address: ")
    assert out.endswith("   Port ID: 33554443\n"
                        "   IPv4 Address: 192.168.50.11\n"
                        "   IPv4 Netmask: 255.255.255.0\n"
                        "   IPv4 Broadcast: 192.168.50.255\n"
                        "   Address Type: STATIC\n"
                        "   Gateway: 0.0.0.0\n"
                        "   IPv6 Addresses: fd00:50::11/64\n"
                        "   Tags: Management\n")


def test_set_enabled_and_mtu(iphost):
    h = iphost
    h.ok(*IF, "set", "-i", "vmk0", "-m", "9000")
    assert link(h.ns, "vmk0")["mtu"] == 9000
    assert h.json(*IF, "list")[0]["MTU"] == 9000
    h.ok(*IF, "set", "-i", "vmk0", "-e", "false")
    assert "UP" not in link(h.ns, "vmk0")["flags"]
    assert h.json(*IF, "list")[0]["Enabled"] is False
    assert routes(h.ns) == []
    h.ok(*IF, "set", "-i", "vmk0", "-e", "true")
    assert "UP" in link(h.ns, "vmk0")["flags"]
    assert [r["dst"] for r in routes(h.ns)] == ["192.168.50.0/24"]
    assert addrs(h.ns, "vmk0") == ["192.168.50.11/24"]
    log = h.log()
    assert "vmk0 MTU set to 9000" in log and "vmk0 disabled" in log and "vmk0 enabled" in log


def test_remove(iphost):
    h = iphost
    h.ok(*PG, "add", "-p", "Storage", "-v", "vSwitch0")
    h.ok(*IF, "add", "-i", "vmk1", "-p", "Storage")
    h.ok(*IF, "add", "-i", "vmk2", "-p", "VM Network")
    assert link(h.ns, "vmk1") and link(h.ns, "vmk2")
    h.ok(*IF, "remove", "-i", "vmk1")
    h.ok(*IF, "remove", "-p", "VM Network")
    assert link(h.ns, "vmk1") is None and link(h.ns, "vmk2") is None
    assert [i["Name"] for i in h.json(*IF, "list")] == ["vmk0"]
    h.ok(*PG, "remove", "-p", "Storage", "-v", "vSwitch0")
    assert "vmk1 removed from netstack defaultTcpipStack" in h.log()
    # vmk0 goes too, and its port group can then go
    h.ok(*IF, "remove", "-i", "vmk0")
    assert link(h.ns, "vmk0") is None
    h.ok(*PG, "remove", "-p", "Management Network", "-v", "vSwitch0")


def test_ipv4_types(iphost):
    h = iphost
    h.ok(*IF, "ipv4", "set", "-i", "vmk0", "-t", "dhcp", "-P", "true")
    assert addrs(h.ns, "vmk0") == []
    assert h.ok(*IF, "ipv4", "get", "-i", "vmk0").splitlines()[2] == \
        "vmk0  0.0.0.0       0.0.0.0       0.0.0.0         DHCP          0.0.0.0      true"
    h.ok(*IF, "ipv4", "set", "-i", "vmk0", "-t", "none")
    assert h.json(*IF, "ipv4", "get")[0]["AddressType"] == "NONE"
    h.ok(*IF, "ipv4", "set", "-i", "vmk0", "-t", "STATIC", "-I", "172.20.0.2",
         "-N", "255.255.255.252", "-g", "172.20.0.1")
    assert addrs(h.ns, "vmk0") == ["172.20.0.2/30"]
    assert routes(h.ns, "table", "10000")[0]["gateway"] == "172.20.0.1"
    # a new static address without -g: no gateway any more
    h.ok(*IF, "ipv4", "set", "-i", "vmk0", "-t", "static", "-I", "172.20.0.3",
         "-N", "255.255.255.0")
    assert addrs(h.ns, "vmk0") == ["172.20.0.3/24"]
    assert routes(h.ns, "table", "10000") == []
    assert h.json(*IF, "ipv4", "get")[0]["Gateway"] == "0.0.0.0"


def test_adapter_gateway_is_for_the_adapters_traffic_only(iphost):
    h = iphost
    h.ok(*IF, "add", "-i", "vmk1", "-p", "VM Network", "-M", "192.168.1.11",
         "-N", "255.255.255.0", "-g", "192.168.1.1")

    def get(*args):
        return route_get(h.ns, *args)
    assert get("10.99.0.1") is None                       # not for the stack
    r = get("10.99.0.1", "oif", "vmk1")                    # bound to vmk1
    assert (r["gateway"], r["dev"]) == ("192.168.1.1", "vmk1")
    r = get("10.99.0.1", "from", "192.168.1.11")           # from its address
    assert (r["gateway"], r["dev"]) == ("192.168.1.1", "vmk1")
    r = get("192.168.1.77", "oif", "vmk1")                 # its own network: direct
    assert "gateway" not in r and r["dev"] == "vmk1"
    # a stack default route stays the default of everything else
    h.ok("network", "ip", "route", "ipv4", "add", "-n", "default", "-g", "192.168.50.1")
    assert get("10.99.0.1")["gateway"] == "192.168.50.1"
    assert get("10.99.0.1", "oif", "vmk1")["gateway"] == "192.168.1.1"
    # removing the adapter removes its rules and table
    h.ok(*IF, "remove", "-i", "vmk1")
    assert not [r for r in rules(h.ns) if r.get("table") == "10001"]


def test_ipv6(iphost):
    h = iphost
    assert h.ok(*IF, "ipv6", "get") == (
        "Name  DHCPv6 Enabled  Router Adv Enabled  DHCP DNS\n"
        "----  --------------  ------------------  --------\n"
        "vmk0           false               false     false\n")
    h.ok(*IF, "ipv6", "address", "add", "-i", "vmk0", "-I", "FD00:50::0011/64")
    h.ok(*IF, "ipv6", "address", "add", "-i", "vmk0", "-I", "2001:db8::11/48")
    assert sorted(addrs(h.ns, "vmk0", "inet6")) == ["2001:db8::11/48", "fd00:50::11/64"]
    assert h.ok(*IF, "ipv6", "address", "list") == (
        "Interface  Address       Netmask  Type    Status\n"
        "---------  ------------  -------  ------  ---------\n"
        "vmk0       fd00:50::11        64  STATIC  PREFERRED\n"
        "vmk0       2001:db8::11       48  STATIC  PREFERRED\n")
    # usable at once (no duplicate address detection): ping it from its stack
    r = vmkping(h, "-6", "-c", "1", "-W", "2", "fd00:50::11")
    assert r.returncode == 0, r.stdout + r.stderr
    h.ok(*IF, "ipv6", "address", "remove", "-i", "vmk0", "-I", "fd00:50::11/64")
    assert addrs(h.ns, "vmk0", "inet6") == ["2001:db8::11/48"]
    h.ok(*IF, "ipv6", "set", "-i", "vmk0", "-r", "true", "-d", "true")
    assert sysctl(h.ns, "ipv6/conf/vmk0/accept_ra") == "1"
    assert sysctl(h.ns, "ipv6/conf/vmk0/autoconf") == "1"
    assert h.json(*IF, "ipv6", "get", "-i", "vmk0") == [
        {"Name": "vmk0", "DHCPv6Enabled": True, "RouterAdvEnabled": True, "DHCPDNS": False}]
    h.ok(*IF, "ipv6", "set", "-i", "vmk0", "-r", "false")
    assert sysctl(h.ns, "ipv6/conf/vmk0/accept_ra") == "0"
    # disabled and enabled again: the static address comes back
    h.ok(*IF, "set", "-i", "vmk0", "-e", "false")
    h.ok(*IF, "set", "-i", "vmk0", "-e", "true")
    assert addrs(h.ns, "vmk0", "inet6") == ["2001:db8::11/48"]


def test_tags(iphost):
    h = iphost
    h.ok(*IF, "tag", "add", "-i", "vmk0", "-t", "VMotion")
    h.ok(*IF, "tag", "add", "-i", "vmk0", "-t", "vsan")             # any case
    assert h.ok(*IF, "tag", "get", "-i", "vmk0") == "   Tags: Management, VMotion, VSAN\n"
    h.ok(*IF, "tag", "remove", "-i", "vmk0", "-t", "Management")
    assert h.json(*IF, "tag", "get", "-i", "vmk0") == {"Tags": ["VMotion", "VSAN"]}
    for t in ("faultToleranceLogging", "vSphereReplication", "vSphereReplicationNFC",
              "VSANWitness", "vSphereBackupNFC", "PTP", "NVMeTCP", "NVMeRDMA",
              "vSphereProvisioning", "Management"):
        h.ok(*IF, "tag", "add", "-i", "vmk0", "-t", t)
    assert len(h.json(*IF, "tag", "get", "-i", "vmk0")["Tags"]) == 12
    # an adapter on the vmotion stack: VMotion only, and the default stack's
    # adapters lose VMotion (the vmotion stack carries it now)
    h.ok(*PG, "add", "-p", "vMotion", "-v", "vSwitch0")
    h.ok(*IF, "add", "-i", "vmk1", "-p", "vMotion", "-N", "vmotion")
    assert h.json(*IF, "tag", "get", "-i", "vmk1") == {"Tags": ["VMotion"]}
    assert "VMotion" not in h.json(*IF, "tag", "get", "-i", "vmk0")["Tags"]
    assert "vmk0 untagged VMotion: the vmotion netstack carries it now" in h.log()
    h.ok(*IF, "tag", "remove", "-i", "vmk1", "-t", "VMotion")
    h.ok(*IF, "tag", "add", "-i", "vmk1", "-t", "VMotion")
    # provisioning likewise
    h.ok(*IF, "add", "-i", "vmk2", "-p", "VM Network", "-N", "vSphereProvisioning")
    assert h.json(*IF, "tag", "get", "-i", "vmk2") == {"Tags": ["vSphereProvisioning"]}
    assert "vSphereProvisioning" not in h.json(*IF, "tag", "get", "-i", "vmk0")["Tags"]


def test_stack_isolation(iphost):
    h = iphost
    h.ok(*PG, "add", "-p", "vMotion", "-v", "vSwitch0")
    h.ok(*IF, "add", "-i", "vmk1", "-p", "vMotion", "-N", "vmotion")
    h.ok(*IF, "ipv4", "set", "-i", "vmk1", "-t", "static", "-I", "10.71.0.1",
         "-N", "255.255.255.0")
    ns = stack_ns(h, "vmotion")
    assert addrs(ns, "vmk1") == ["10.71.0.1/24"]
    assert link(h.ns, "vmk1") is None                   # not in the default stack
    for i in all_addrs(h.ns):
        assert i != "10.71.0.1"
    assert "UP" in link(ns, "lo")["flags"]               # the stack's loopback is up
    # reachable in its stack, not from the default one
    r = vmkping(h, "-S", "vmotion", "-c", "1", "-W", "2", "10.71.0.1")
    assert r.returncode == 0 and "1 packets received" in r.stdout, r.stdout + r.stderr
    r = vmkping(h, "-I", "vmk1", "-c", "1", "-W", "2", "10.71.0.1")
    assert r.returncode == 0, r.stdout + r.stderr
    r = vmkping(h, "-c", "1", "-W", "1", "10.71.0.1")
    assert r.returncode == 1 and "0 packets received" in r.stdout, r.stdout + r.stderr
    assert h.json(*IF, "list", "-N", "vmotion")[0]["Name"] == "vmk1"
    assert [i["Name"] for i in h.json(*IF, "list", "-N", DEFAULT)] == ["vmk0"]
    # the same address may exist in two stacks
    h.ok(*IF, "add", "-i", "vmk2", "-p", "VM Network", "-M", "10.71.0.1", "-N", "255.255.255.0")
    assert addrs(h.ns, "vmk2") == ["10.71.0.1/24"]


def test_formatters(iphost):
    h = iphost
    kv = h.ok("--formatter=keyvalue", *IF, "list")
    assert "NetworkInterface.Name.string=vmk0\n" in kv
    assert "NetworkInterface.PortID.integer=33554443\n" in kv
    assert "NetworkInterface.Enabled.boolean=true\n" in kv
    csv = h.ok("--formatter=csv", *IF, "ipv4", "get").splitlines()
    assert csv == ["Name,IPv4Address,IPv4Netmask,IPv4Broadcast,AddressType,Gateway,DHCPDNS",
                   "vmk0,192.168.50.11,255.255.255.0,192.168.50.255,STATIC,0.0.0.0,false"]
    xml = h.ok("--formatter=xml", *IF, "tag", "get", "-i", "vmk0")
    assert '<structure typeName="TagGet">' in xml and "<string>Management</string>" in xml


def test_log_lines(iphost):
    h = iphost
    h.ok(*IF, "add", "-i", "vmk1", "-p", "VM Network", "-M", "10.1.1.1", "-N", "255.0.0.0")
    h.ok(*IF, "ipv4", "set", "-i", "vmk1", "-t", "none")
    h.ok(*IF, "tag", "add", "-i", "vmk1", "-t", "VSAN")
    h.ok(*IF, "remove", "-i", "vmk1")
    log = h.log()
    for text in ("Vmknic: \\d+: vmk1 added on port group 'VM Network', netstack "
                 "defaultTcpipStack, MAC " + MAC_RE + ", MTU 1500, IPv4 10.1.1.1 netmask "
                 "255.0.0.0",
                 "Vmknic: \\d+: vmk1 IPv4 set to none", "Vmknic: \\d+: vmk1 tagged VSAN",
                 "Vmknic: \\d+: vmk1 removed", "Netstack: \\d+: realized 1 netstacks and 1 "
                 "VMkernel adapters"):
        assert re.search(text, log), text


def test_kernel_refusal_changes_nothing(iphost):
    """A TAP name the kernel already has (a veth the test made) fails the
    add as a whole: store, vmkd's own state and the stack unchanged; a
    stack the request made on demand goes again."""
    h = iphost
    subprocess.run(["ip", "-n", h.ns, "link", "add", "vmk5", "type", "veth", "peer", "name",
                    "vmk-x5"], check=True)
    before = ip_snapshot(h)
    msg = h.fail(*IF, "add", "-i", "vmk5", "-p", "VM Network")
    assert msg == "Error: Cannot add vmk5: vmk5: name already in use"
    assert ip_snapshot(h) == before
    ns = "vmk-%s-vmotion" % h.name
    subprocess.run(["ip", "netns", "add", ns], check=True)
    subprocess.run(["ip", "-n", ns, "link", "add", "vmk6", "type", "veth", "peer", "name",
                    "vmk-x6"], check=True)
    msg = h.fail(*IF, "add", "-i", "vmk6", "-p", "VM Network", "-N", "vmotion")
    assert msg == "Error: Cannot add vmk6: vmk6: name already in use"
    assert ip_snapshot(h) == before and stack_namespaces(h) == []
    # and the same adapter under a free name works
    h.ok(*IF, "add", "-i", "vmk7", "-p", "VM Network", "-N", "vmotion")
    assert link(stack_ns(h, "vmotion"), "vmk7")
