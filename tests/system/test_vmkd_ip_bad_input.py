"""Bad input for every command of `esxcli network ip interface`: esxcli
exits 1 with one line naming the bad field and value, and the host's whole
configuration (every list and get, the IP side included, and every row of
the store) and its kernel side (links and addresses) are unchanged."""
import pytest

from vmkd_ip_util import (IF, NETSTACK, all_addrs, close_host, ip_snapshot, ipj,
                          stack_namespaces, stack_ns)
from vmkd_util import VS, Host

PG = VS + ("portgroup",)
IF_ = " ".join(IF)


@pytest.fixture(scope="module")
def h():
    """vmk0 192.168.50.11/24 (default stack), vmk1 on the vmotion stack
    (10.71.0.1/24), vmk2 on the custom stack "lab", a vSwitch "tiny" of 8
    ports full of adapters, IPv6 fd00::11/64 on vmk0."""
    host = Host(mgmt_ip="192.168.50.11/24").start()
    host.ok(*PG, "add", "-p", "vMotion", "-v", "vSwitch0")
    host.ok(*IF, "add", "-i", "vmk1", "-p", "vMotion", "-N", "vmotion")
    host.ok(*IF, "ipv4", "set", "-i", "vmk1", "-t", "static", "-I", "10.71.0.1",
            "-N", "255.255.255.0")
    host.ok(*NETSTACK, "add", "-N", "lab")
    host.ok(*IF, "add", "-i", "vmk2", "-p", "VM Network", "-N", "lab", "-M", "00:50:56:01:02:03")
    host.ok(*IF, "ipv6", "address", "add", "-i", "vmk0", "-I", "fd00::11/64")
    host.ok(*VS, "add", "-v", "tiny", "-P", "8")
    host.ok(*PG, "add", "-p", "Full", "-v", "tiny")
    for i in range(10, 18):
        host.ok(*IF, "add", "-i", "vmk%d" % i, "-p", "Full")
    yield host
    close_host(host)


def kernel(h):
    return {ns: (sorted(l["ifname"] for l in ipj(ns, "link")), sorted(all_addrs(ns)))
            for ns in [h.ns, stack_ns(h, "vmotion"), stack_ns(h, "lab")]}


CASES = [
    # add
    ("add -p Nosuch", ["--portgroup-name 'Nosuch'", "no such port group"]),
    ("add", ["Missing required parameter -p|--portgroup-name"]),
    ("add -i vmk1 -p VM\\ Network", ["--interface-name 'vmk1'", "already exists"]),
    ("add -i eth0 -p VM\\ Network", ["--interface-name 'eth0'", "vmkX, where X is a number 0-9999"]),
    ("add -i vmk01 -p VM\\ Network", ["--interface-name 'vmk01'"]),
    ("add -i vmk10000 -p VM\\ Network", ["--interface-name 'vmk10000'"]),
    ("add -i vmk -p VM\\ Network", ["--interface-name 'vmk'"]),
    ("add -p VM\\ Network -M 00:50:56:01:02:03", ["--mac-address '00:50:56:01:02:03'",
                                                  "already the MAC address of vmk2"]),
    ("add -p VM\\ Network -M 00:50:56:01:02", ["--mac-address '00:50:56:01:02'",
                                               "not a MAC address"]),
    ("add -p VM\\ Network -M zz:50:56:01:02:03", ["--mac-address 'zz:50:56:01:02:03'"]),
    ("add -p VM\\ Network -M 01:00:5e:00:00:01", ["--mac-address '01:00:5e:00:00:01'",
                                                  "not a unicast MAC address"]),
    ("add -p VM\\ Network -M 00:00:00:00:00:00", ["--mac-address '00:00:00:00:00:00'"]),
    ("add -p VM\\ Network -m 1279", ["--mtu '1279'", "(1280 - 9000)"]),
    ("add -p VM\\ Network -m 9001", ["--mtu '9001'", "(1280 - 9000)"]),
    ("add -p VM\\ Network -m jumbo", ["'--mtu'", "Got 'jumbo'"]),
    ("add -p VM\\ Network -N nosuch", ["--netstack 'nosuch'", "no such netstack"]),
    ("add -p VM\\ Network -M 10.1.1.1", ["--mac-address '10.1.1.1'", "needs its netmask"]),
    ("add -p VM\\ Network -N 255.255.255.0", ["--netstack '255.255.255.0'",
                                              "a netmask needs an IPv4 address"]),
    ("add -p VM\\ Network -M 10.1.1.1 -N 255.0.255.0", ["--netstack '255.0.255.0'",
                                                        "not a valid IPv4 netmask"]),
    ("add -p VM\\ Network -M 10.1.1.0 -N 255.255.255.0", ["--mac-address '10.1.1.0'",
                                                          "network address"]),
    ("add -p VM\\ Network -M 10.1.1.255 -N 255.255.255.0", ["--mac-address '10.1.1.255'",
                                                            "broadcast address"]),
    ("add -p VM\\ Network -M 127.0.0.5 -N 255.0.0.0", ["--mac-address '127.0.0.5'"]),
    ("add -p VM\\ Network -M 224.1.1.1 -N 255.0.0.0", ["--mac-address '224.1.1.1'"]),
    ("add -p VM\\ Network -M 192.168.50.11 -N 255.255.255.0",
     ["--mac-address '192.168.50.11'", "already the IPv4 address of vmk0"]),
    ("add -p VM\\ Network -M 10.1.1.1 -N 255.255.255.0 -g 10.2.2.1",
     ["--gateway '10.2.2.1'", "not reachable: not on the interface's network 10.1.1.0/24"]),
    ("add -p VM\\ Network -M 10.1.1.1 -N 255.255.255.0 -g 10.1.1.1",
     ["--gateway '10.1.1.1'", "own address"]),
    ("add -p VM\\ Network -M 10.1.1.1 -N 255.255.255.0 -g bad", ["--gateway 'bad'"]),
    ("add -p VM\\ Network -g 10.1.1.1", ["--gateway '10.1.1.1'", "needs an IPv4 address"]),
    ("add -p Full", ["Cannot add vmk3", "every port of virtual switch 'tiny' is in use"]),
    ("add -p VM\\ Network --bogus", ["Invalid option --bogus"]),
    # remove
    ("remove -i vmk9", ["--interface-name 'vmk9'", "no such VMkernel network interface"]),
    ("remove", ["Missing required parameter -i|--interface-name"]),
    ("remove -p Nosuch", ["--portgroup-name 'Nosuch'"]),
    ("remove -p Full", ["--portgroup-name 'Full'", "several interfaces are on it"]),
    ("remove -i vmk1 -p VM\\ Network", ["--portgroup-name 'VM Network'", "vmk1 is not on it"]),
    # set
    ("set -i vmk9 -m 1500", ["--interface-name 'vmk9'"]),
    ("set -i vmk0", ["Nothing to set"]),
    ("set -i vmk0 -m 100", ["--mtu '100'", "(1280 - 9000)"]),
    ("set -i vmk0 -e maybe", ["'--enabled'", "Expecting boolean value. Got 'maybe'"]),
    ("set -m 1500", ["Missing required parameter -i|--interface-name"]),
    # get, list
    ("get -i vmk9", ["--interface-name 'vmk9'"]),
    ("get", ["Missing required parameter -i|--interface-name"]),
    ("list -N nosuch", ["--netstack 'nosuch'"]),
    # ipv4
    ("ipv4 get -i vmk9", ["--interface-name 'vmk9'"]),
    ("ipv4 get -N nosuch", ["--netstack 'nosuch'"]),
    ("ipv4 set -i vmk9 -t none", ["--interface-name 'vmk9'"]),
    ("ipv4 set -i vmk0", ["Missing required parameter -t|--type"]),
    ("ipv4 set -i vmk0 -t auto", ["--type 'auto'", "dhcp, none, static"]),
    ("ipv4 set -i vmk0 -t static -I 10.1.1.1", ["Missing required parameter -N|--netmask"]),
    ("ipv4 set -i vmk0 -t static -N 255.0.0.0", ["Missing required parameter -I|--ipv4"]),
    ("ipv4 set -i vmk0 -t static -I 10.1.1 -N 255.0.0.0", ["--ipv4 '10.1.1'"]),
    ("ipv4 set -i vmk0 -t static -I 10.1.1.1 -N 255.0.0.1", ["--netmask '255.0.0.1'"]),
    ("ipv4 set -i vmk0 -t static -I 10.1.1.1 -N 0.0.0.0", ["--netmask '0.0.0.0'"]),
    ("ipv4 set -i vmk0 -t static -I 0.0.0.0 -N 255.0.0.0", ["--ipv4 '0.0.0.0'"]),
    ("ipv4 set -i vmk0 -t static -I 10.71.0.1 -N 255.255.255.0 -g 10.72.0.1",
     ["--gateway '10.72.0.1'", "not reachable"]),
    ("ipv4 set -i vmk2 -t static -I 10.71.0.1 -N 255.255.255.0 -g 255.255.255.255",
     ["--gateway '255.255.255.255'"]),
    ("ipv4 set -i vmk10 -t static -I 192.168.50.11 -N 255.255.255.0",
     ["--ipv4 '192.168.50.11'", "already the IPv4 address of vmk0 on netstack "
      "defaultTcpipStack"]),
    ("ipv4 set -i vmk0 -t dhcp -I 10.1.1.1", ["--ipv4 '10.1.1.1'", "only with --type static"]),
    ("ipv4 set -i vmk0 -t none -g 10.1.1.1", ["--gateway '10.1.1.1'", "only with --type static"]),
    ("ipv4 set -i vmk0 -t static -I 10.1.1.1 -N 255.0.0.0 -P true",
     ["--peer-dns", "only with --type dhcp"]),
    # ipv6
    ("ipv6 get -i vmk9", ["--interface-name 'vmk9'"]),
    ("ipv6 set -i vmk9 -r true", ["--interface-name 'vmk9'"]),
    ("ipv6 set -i vmk0", ["Nothing to set"]),
    ("ipv6 set -i vmk0 -d perhaps", ["'--enable-dhcpv6'", "Got 'perhaps'"]),
    ("ipv6 address add -i vmk0 -I fd00::12", ["--ipv6 'fd00::12'", "prefix length"]),
    ("ipv6 address add -i vmk0 -I fd00::12/129", ["--ipv6 'fd00::12/129'"]),
    ("ipv6 address add -i vmk0 -I 10.1.1.1/24", ["--ipv6 '10.1.1.1/24'"]),
    ("ipv6 address add -i vmk0 -I fe80::5/64", ["--ipv6 'fe80::5/64'", "link-local"]),
    ("ipv6 address add -i vmk0 -I ff02::1/64", ["--ipv6 'ff02::1/64'"]),
    ("ipv6 address add -i vmk0 -I ::1/128", ["--ipv6 '::1/128'"]),
    ("ipv6 address add -i vmk10 -I fd00::11/64", ["--ipv6 'fd00::11/64'",
                                                  "already an address of vmk0"]),
    ("ipv6 address add -i vmk9 -I fd00::12/64", ["--interface-name 'vmk9'"]),
    ("ipv6 address add -i vmk0", ["Missing required parameter -I|--ipv6"]),
    ("ipv6 address remove -i vmk0 -I fd00::12/64", ["--ipv6 'fd00::12/64'",
                                                    "not an address of vmk0"]),
    ("ipv6 address remove -i vmk0 -I fd00::11/48", ["--ipv6 'fd00::11/48'"]),
    ("ipv6 address list -i vmk9", ["--interface-name 'vmk9'"]),
    # tags
    ("tag add -i vmk0 -t Management", ["--tagname 'Management'",
                                       "Vmknic is already tagged with Management"]),
    ("tag add -i vmk0 -t Backup", ["--tagname 'Backup'", "not a tag"]),
    ("tag add -i vmk9 -t VSAN", ["--interface-name 'vmk9'"]),
    ("tag add -i vmk1 -t Management", ["--tagname 'Management'",
                                       "vmk1 is on the vmotion netstack, which carries VMotion "
                                       "only"]),
    ("tag add -i vmk1 -t vSphereProvisioning", ["vmotion netstack, which carries VMotion only"]),
    ("tag add -i vmk0 -t VMotion", ["--tagname 'VMotion'", "the vmotion netstack carries "
                                    "VMotion on this host (vmk1 is on it)"]),
    ("tag add -i vmk2 -t VSAN", ["--tagname 'VSAN'", "vmk2 is on the custom netstack lab, "
                                 "whose interfaces carry no service tags"]),
    ("tag add -i vmk0", ["Missing required parameter -t|--tagname"]),
    ("tag remove -i vmk0 -t VSAN", ["--tagname 'VSAN'", "vmk0 is not tagged with VSAN"]),
    ("tag remove -i vmk0 -t Nope", ["--tagname 'Nope'", "not a tag"]),
    ("tag get -i vmk9", ["--interface-name 'vmk9'"]),
    # a port group or stack in use
    ("-- " + " ".join(PG) + " remove -p vMotion -v vSwitch0",
     ["Cannot remove port group 'vMotion': it is in use by vmk1"]),
    ("-- " + " ".join(NETSTACK) + " remove -N vmotion",
     ["Cannot remove netstack vmotion: it is in use by vmk1"]),
]


def argv(line):
    import shlex
    words = shlex.split(line)
    if words[0] == "--":
        return words[1:]
    return list(IF) + words


@pytest.mark.parametrize("line, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input(h, line, words):
    before, k, names = ip_snapshot(h), kernel(h), stack_namespaces(h)
    msg = h.fail(*argv(line))
    for w in words:
        assert w in msg, msg
    assert ip_snapshot(h) == before
    assert kernel(h) == k and stack_namespaces(h) == names
