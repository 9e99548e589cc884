"""Bad input for every command: esxcli exits non-zero with a one-line
message that names the bad field or value, and the host's whole config
(every list and get, and every row of the store) is unchanged."""
import pytest

from vmkd_util import shared_host  # noqa: F401

VS = "network vswitch standard"
PG = VS + " portgroup"

# (command line, words the one-line message must contain)
CASES = [
    # VMs (the rest of their bad input: test_vmkd_vm_bad_input.py)
    ("vm process kill -t soft -w 999999", ["999999"]),
    ("vm process kill -t gentle -w 1", ["gentle"]),
    ("vm process kill -w 1", ["-t|--type"]),
    ("network vm port list -w 999999", ["999999"]),
    # system
    ("system hostname set", ["one of -H|--host"]),
    ("system hostname set -H bad_name", ["--host 'bad_name'"]),
    ("system hostname set -H -lead", ["--host '-lead'"]),
    ("system hostname set -H " + "a" * 64, ["--host"]),
    ("system hostname set -d a..b", ["--domain 'a..b'"]),
    ("system hostname set -f x.y -H z", ["--fqdn 'x.y'", "cannot be combined"]),
    ("system hostname set -f bad_fqdn.com", ["--fqdn 'bad_fqdn.com'"]),
    ("system version get --extra", ["Invalid option --extra"]),
    ("system uptime get", ["Unknown command or namespace system uptime get"]),
    # vswitch
    (VS + " list -v nosuch", ["--vswitch-name 'nosuch'", "no such virtual switch"]),
    (VS + " add", ["Missing required parameter -v|--vswitch-name"]),
    (VS + " add -v vSwitch0", ["--vswitch-name 'vSwitch0'", "already exists"]),
    (VS + " add -v vSwitch1", ["--vswitch-name 'vSwitch1'", "already exists"]),
    (VS + " add -v a\\ b", ["--vswitch-name 'a b'"]),
    (VS + " add -v " + "v" * 33, ["--vswitch-name '" + "v" * 33 + "'"]),
    (VS + " add -v x -P 4", ["--ports '4'", "(8 - 4096)"]),
    (VS + " add -v x -P 5000", ["--ports '5000'", "(8 - 4096)"]),
    (VS + " add -v x -P many", ["'--ports'", "Expecting integer value. Got 'many'"]),
    (VS + " remove -v nosuch", ["--vswitch-name 'nosuch'"]),
    (VS + " remove -v vSwitch0", ["vSwitch0", "'Management Network' is in use by vmk0"]),
    (VS + " set -v nosuch -m 1500", ["--vswitch-name 'nosuch'"]),
    (VS + " set -v vSwitch1 -m 1279", ["--mtu '1279'", "(1280 - 9000)"]),
    (VS + " set -v vSwitch1 -m 9001", ["--mtu '9001'", "(1280 - 9000)"]),
    (VS + " set -v vSwitch1 -m jumbo", ["'--mtu'", "Got 'jumbo'"]),
    (VS + " set -v vSwitch1 -c loud", ["--cdp-status 'loud'"]),
    (VS + " uplink add -u vmnic9 -v vSwitch1", ["--uplink-name 'vmnic9'", "no such NIC"]),
    (VS + " uplink add -u vmnic2 -v nosuch", ["--vswitch-name 'nosuch'"]),
    (VS + " uplink add -u vmnic0 -v vSwitch0", ["--uplink-name 'vmnic0'",
                                                 "already an uplink of vSwitch1"]),
    (VS + " uplink add -u vmnic0 -v vSwitch1", ["--uplink-name 'vmnic0'",
                                                 "already an uplink of vSwitch1"]),
    (VS + " uplink add -v vSwitch1", ["Missing required parameter -u|--uplink-name"]),
    (VS + " uplink remove -u vmnic2 -v vSwitch1", ["--uplink-name 'vmnic2'",
                                                    "not an uplink of vSwitch1"]),
    (VS + " uplink remove -u vmnic0 -v vSwitch0", ["--uplink-name 'vmnic0'"]),
    (VS + " uplink remove -u vmnic0 -v nosuch", ["--vswitch-name 'nosuch'"]),
    # port groups
    (PG + " add -p PG1 -v vSwitch1", ["--portgroup-name 'PG1'", "already exists"]),
    (PG + " add -p VM\\ Network -v vSwitch1", ["--portgroup-name 'VM Network'",
                                                "already exists on vSwitch0"]),
    (PG + " add -p new -v nosuch", ["--vswitch-name 'nosuch'"]),
    (PG + " add -p '' -v vSwitch1", ["--portgroup-name ''"]),
    (PG + " add -p ' lead' -v vSwitch1", ["--portgroup-name ' lead'"]),
    (PG + " add -p " + "p" * 64 + " -v vSwitch1", ["--portgroup-name"]),
    (PG + " add -p new", ["Missing required parameter -v|--vswitch-name"]),
    (PG + " remove -p nosuch -v vSwitch1", ["--portgroup-name 'nosuch'"]),
    (PG + " remove -p PG1 -v vSwitch0", ["--portgroup-name 'PG1'", "not a port group of vSwitch0"]),
    (PG + " remove -p Management\\ Network -v vSwitch0", ["'Management Network'",
                                                          "in use by vmk0"]),
    (PG + " remove -p PG1 -v nosuch", ["--vswitch-name 'nosuch'"]),
    (PG + " set -p nosuch -v 10", ["--portgroup-name 'nosuch'"]),
    (PG + " set -p PG1 -v 4096", ["--vlan-id '4096'", "(0 - 4095)"]),
    (PG + " set -p PG1 -v -1", ["--vlan-id '-1'", "(0 - 4095)"]),
    (PG + " set -p PG1 -v LT-3100", ["'--vlan-id'", "Got 'LT-3100'"]),
    (PG + " set -p PG1", ["Missing required parameter -v|--vlan-id"]),
    # vSwitch policies
    (VS + " policy failover get -v nosuch", ["--vswitch-name 'nosuch'"]),
    (VS + " policy failover set -v nosuch -l mac", ["--vswitch-name 'nosuch'"]),
    (VS + " policy failover set -v vSwitch1 -l roundrobin", ["--load-balancing 'roundrobin'"]),
    (VS + " policy failover set -v vSwitch1 -f ping", ["--failure-detection 'ping'"]),
    (VS + " policy failover set -v vSwitch1 -a vmnic2", ["--active-uplinks 'vmnic2'",
                                                          "not an uplink of vSwitch1"]),
    (VS + " policy failover set -v vSwitch1 -s vmnic9", ["--standby-uplinks 'vmnic9'"]),
    (VS + " policy failover set -v vSwitch1 -a vmnic0,vmnic0", ["--active-uplinks",
                                                                 "listed twice"]),
    (VS + " policy failover set -v vSwitch1 -a vmnic0, ", ["--active-uplinks", "empty"]),
    (VS + " policy failover set -v vSwitch1 -a vmnic0 -s vmnic0", ["--standby-uplinks 'vmnic0'",
                                                                   "also an active uplink"]),
    (VS + " policy failover set -v vSwitch1 -l iphash", ["--load-balancing 'iphash'",
                                                         "standby uplinks"]),
    (VS + " policy failover set -v vSwitch1 -a vmnic0,vmnic1 -l iphash -f beacon",
     ["--failure-detection 'beacon'", "IP hash"]),
    (VS + " policy failover set -v vSwitch1 -b maybe", ["'--failback'", "Got 'maybe'"]),
    (VS + " policy security get -v nosuch", ["--vswitch-name 'nosuch'"]),
    (VS + " policy security set -v nosuch -p true", ["--vswitch-name 'nosuch'"]),
    (VS + " policy security set -v vSwitch1 -p perhaps", ["'--allow-promiscuous'"]),
    (VS + " policy security set -v vSwitch1 -o true", ["Invalid option -o"]),
    (VS + " policy shaping get -v nosuch", ["--vswitch-name 'nosuch'"]),
    (VS + " policy shaping set -v vSwitch1 -e true", ["--enabled 'true'", "--avg-bandwidth"]),
    (VS + " policy shaping set -v vSwitch1 -e true -b 100 -k 50 -t 10",
     ["--peak-bandwidth '50'", "lower than the average"]),
    (VS + " policy shaping set -v vSwitch1 -b 200000", ["--avg-bandwidth '200000'"]),
    (VS + " policy shaping set -v vSwitch1 -b 0", ["--avg-bandwidth '0'"]),
    (VS + " policy shaping set -v nosuch -e false", ["--vswitch-name 'nosuch'"]),
    # port group policies
    (PG + " policy failover get -p nosuch", ["--portgroup-name 'nosuch'"]),
    (PG + " policy failover set -p nosuch -u", ["--portgroup-name 'nosuch'"]),
    (PG + " policy failover set -p PG1 -a vmnic2", ["--active-uplinks 'vmnic2'",
                                                     "not an uplink of vSwitch1"]),
    (PG + " policy failover set -p PG1 -l iphash", ["--load-balancing 'iphash'"]),
    (PG + " policy failover set -p PG1 -l bogus", ["--load-balancing 'bogus'"]),
    (PG + " policy security get -p nosuch", ["--portgroup-name 'nosuch'"]),
    (PG + " policy security set -p nosuch -o true", ["--portgroup-name 'nosuch'"]),
    (PG + " policy security set -p PG1 -o sometimes", ["'--allow-promiscuous'"]),
    (PG + " policy shaping get -p nosuch", ["--portgroup-name 'nosuch'"]),
    (PG + " policy shaping set -p PG1 -k 10 -u", ["--peak-bandwidth '10'"]),
    (PG + " policy shaping set -p PG1 -e true -b 5", ["--enabled 'true'"]),
    (PG + " policy shaping set -p nosuch -e false", ["--portgroup-name 'nosuch'"]),
]


def split(cmdline):
    import shlex
    return shlex.split(cmdline)


@pytest.fixture(scope="module")
def configured(shared_host):
    """vSwitch1 with uplinks vmnic0 (active) and vmnic1 (standby), a free
    vmnic2, port group PG1 on vSwitch1 with its own overrides."""
    h = shared_host
    for n in ("vmnic0", "vmnic1", "vmnic2"):
        h.add_nic(n)
    h.ok(*split(VS + " add -v vSwitch1"))
    h.ok(*split(VS + " uplink add -u vmnic0 -v vSwitch1"))
    h.ok(*split(VS + " uplink add -u vmnic1 -v vSwitch1"))
    h.ok(*split(VS + " policy failover set -v vSwitch1 -a vmnic0 -s vmnic1"))
    h.ok(*split(PG + " add -p PG1 -v vSwitch1"))
    h.ok(*split(PG + " set -p PG1 -v 100"))
    h.ok(*split(PG + " policy security set -p PG1 -o true"))
    h.ok(*split(VS + " policy shaping set -v vSwitch1 -e true -b 100000 -k 150000 -t 1000"))
    h.snap = h.snapshot()
    return h


@pytest.mark.parametrize("cmdline,words", CASES, ids=[c[0] for c in CASES])
def test_bad_input(configured, cmdline, words):
    h = configured
    r = h.esxcli(*split(cmdline))
    assert r.rc != 0, r
    assert r.out == "", r
    lines = r.err.split("\n")
    assert lines[0].startswith("Error: "), r
    local = ("Error: While processing", "Error: Missing required", "Error: Invalid option",
             "Error: Unknown command")
    if r.err.count("\n") > 1:
        # esxcli's own argument errors: the line, a blank line, the usage
        assert lines[0].startswith(local) and lines[1] == "", r
        assert lines[0].startswith("Error: Unknown") or lines[2].startswith("Usage: esxcli "), r
    else:
        assert not lines[0].startswith("Error: Unknown"), r  # vmkd's refusals: one line
    for w in words:
        assert w in lines[0], (w, r)
    assert h.snapshot() == h.snap


def test_every_command_has_a_bad_input_case():
    from test_vmkd_help import COMMANDS
    covered = set()
    for cmdline, _ in CASES:
        words = split(cmdline)
        for c in COMMANDS:
            if words[:len(c.split())] == c.split():
                covered.add(c)
    covered |= ip_commands_covered(COMMANDS)
    # list commands without options have no bad input but an extra option
    missing = set(COMMANDS) - covered - set(OPTIONLESS)
    assert not missing, missing


def ip_commands_covered(commands):
    """The IP and NIC commands have their bad input in their own files."""
    import test_vmkd_diag
    import test_vmkd_dns
    import test_vmkd_ip_bad_input
    import test_vmkd_neighbor
    import test_vmkd_netstack
    import test_vmkd_nic
    import test_vmkd_route
    import test_vmkd_route6
    lines = [test_vmkd_ip_bad_input.argv(line) for line, _ in test_vmkd_ip_bad_input.CASES]
    lines += [["network", "ip", "route", "ipv4"] + list(a) for a, _ in test_vmkd_route.BAD]
    lines += [["network", "ip", "route", "ipv6"] + list(a) for a, _ in test_vmkd_route6.BAD]
    lines += [["network", "ip", "netstack"] + list(a) for a, _ in test_vmkd_netstack.BAD]
    lines += [["network", "diag", "ping"] + list(a) for a, _ in test_vmkd_diag.BAD]
    lines += [["network", "ip", "neighbor"] + list(a) for a, _ in test_vmkd_neighbor.BAD]
    lines += [["network", "ip", "connection"] + list(a) for a, _ in test_vmkd_neighbor.CONN_BAD]
    lines += [["network", "nic"] + list(c) for c in test_vmkd_nic.NAMED]
    lines += [list(a) for a, _ in test_vmkd_dns.BAD]
    return {c for c in commands for words in lines if words[:len(c.split())] == c.split()}


OPTIONLESS = ["system stats uptime get", "network nic list", "system hostname get",
              PG + " list", "network ip netstack list", "network vm list",
              "vm process list", "storage filesystem list"]


@pytest.mark.parametrize("cmd", OPTIONLESS)
def test_extra_option_on_optionless_command(configured, cmd):
    r = configured.esxcli(*split(cmd), "-x", "1")
    assert r.rc == 1 and r.err.startswith("Error: Invalid option -x\n"), r
    assert configured.snapshot() == configured.snap
