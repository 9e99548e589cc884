"""esxcli's usage and help output, in the reference's shapes: the root
usage, every namespace's usage, every command's --help, and the errors
for unknown commands, options and formatters."""
import re
import subprocess

import pytest

from vmkd_util import ESXCLI, shared_host  # noqa: F401

NAMESPACES = [
    "network", "network diag", "network ip", "network ip connection", "network ip dns",
    "network ip dns search", "network ip dns server", "network ip interface",
    "network ip interface ipv4", "network ip interface ipv6", "network ip interface ipv6 address",
    "network ip interface tag", "network ip neighbor", "network ip netstack", "network ip route",
    "network ip route ipv4", "network ip route ipv6",
    "network nic", "network nic stats", "network vm", "network vm port", "network vswitch", "network vswitch standard",
    "network vswitch standard policy", "network vswitch standard policy failover",
    "network vswitch standard policy security", "network vswitch standard policy shaping",
    "network vswitch standard portgroup", "network vswitch standard portgroup policy",
    "network vswitch standard portgroup policy failover",
    "network vswitch standard portgroup policy security",
    "network vswitch standard portgroup policy shaping", "network vswitch standard uplink",
    "storage", "storage filesystem",
    "system", "system hostname", "system stats", "system stats uptime", "system version",
    "vm", "vm process"]

# command -> its options as the help shows them
COMMANDS = {
    "network ip dns server list": ["-N|--netstack=<str>"],
    "network ip dns server add": ["-N|--netstack=<str>", "-s|--server=<str>"],
    "network ip dns server remove": ["-a|--all", "-N|--netstack=<str>", "-s|--server=<str>"],
    "network ip dns search list": ["-N|--netstack=<str>"],
    "network ip dns search add": ["-d|--domain=<str>", "-N|--netstack=<str>"],
    "network ip dns search remove": ["-d|--domain=<str>", "-N|--netstack=<str>"],
    "network diag ping": [
        "-c|--count=<long>", "-D|--debug", "-d|--df", "-H|--host=<str>", "-I|--interface=<str>",
        "-i|--interval=<str>", "--ipv4", "--ipv6", "--netstack=<str>", "-N|--nexthop=<str>",
        "-s|--size=<long>", "-t|--ttl=<long>", "-W|--wait=<str>"],
    "network ip interface list": ["-N|--netstack=<str>"],
    "network vm list": [],
    "network vm port list": ["-w|--world-id=<long>"],
    "storage filesystem list": [],
    "vm process list": [],
    "vm process kill": ["-t|--type=<str>", "-w|--world-id=<long>"],
    "network ip interface get": ["-i|--interface-name=<str>"],
    "network ip interface add": [
        "-g|--gateway=<str>", "-i|--interface-name=<str>", "-M|--mac-address=<str>",
        "-m|--mtu=<long>", "-N|--netstack=<str>", "-p|--portgroup-name=<str>"],
    "network ip interface remove": ["-i|--interface-name=<str>", "-p|--portgroup-name=<str>"],
    "network ip interface set": ["-e|--enabled=<bool>", "-i|--interface-name=<str>",
                                 "-m|--mtu=<long>"],
    "network ip interface ipv4 get": ["-i|--interface-name=<str>", "-N|--netstack=<str>"],
    "network ip interface ipv4 set": [
        "-g|--gateway=<str>", "-i|--interface-name=<str>", "-I|--ipv4=<str>",
        "-N|--netmask=<str>", "-P|--peer-dns=<bool>", "-t|--type=<str>"],
    "network ip interface ipv6 get": ["-i|--interface-name=<str>", "-N|--netstack=<str>"],
    "network ip interface ipv6 set": [
        "-d|--enable-dhcpv6=<bool>", "-r|--enable-router-adv=<bool>",
        "-i|--interface-name=<str>", "-P|--peer-dns=<bool>"],
    "network ip interface ipv6 address list": ["-i|--interface-name=<str>"],
    "network ip interface ipv6 address add": ["-i|--interface-name=<str>", "-I|--ipv6=<str>"],
    "network ip interface ipv6 address remove": ["-i|--interface-name=<str>",
                                                 "-I|--ipv6=<str>"],
    "network ip interface tag add": ["-i|--interface-name=<str>", "-t|--tagname=<str>"],
    "network ip interface tag get": ["-i|--interface-name=<str>"],
    "network ip interface tag remove": ["-i|--interface-name=<str>", "-t|--tagname=<str>"],
    "network ip netstack list": [],
    "network ip netstack add": ["-N|--netstack=<str>"],
    "network ip netstack remove": ["-N|--netstack=<str>"],
    "network ip netstack get": ["-N|--netstack=<str>"],
    "network ip netstack set": ["-c|--ccalgo=<str>", "-i|--ipv6enabled=<bool>",
                                "-m|--maxconn=<long>", "-N|--netstack=<str>"],
    "network ip route ipv4 list": ["-N|--netstack=<str>"],
    "network ip route ipv4 add": ["-g|--gateway=<str>", "-N|--netstack=<str>",
                                  "-n|--network=<str>"],
    "network ip route ipv4 remove": ["-g|--gateway=<str>", "-N|--netstack=<str>",
                                     "-n|--network=<str>"],
    "network ip route ipv6 list": ["-N|--netstack=<str>"],
    "network ip route ipv6 add": ["-g|--gateway=<str>", "-N|--netstack=<str>",
                                  "-n|--network=<str>"],
    "network ip route ipv6 remove": ["-g|--gateway=<str>", "-N|--netstack=<str>",
                                     "-n|--network=<str>"],
    "network ip neighbor list": ["-i|--interface-name=<str>", "-N|--netstack=<str>",
                                 "-v|--version=<str>"],
    "network ip neighbor remove": ["-i|--interface-name=<str>", "-a|--neighbor-addr=<str>",
                                   "-N|--netstack=<str>", "-v|--version=<str>"],
    "network ip connection list": ["-N|--netstack=<str>", "-t|--type=<str>"],
    "system version get": [],
    "system hostname get": [],
    "system hostname set": ["-d|--domain=<str>", "-f|--fqdn=<str>", "-H|--host=<str>"],
    "system stats uptime get": [],
    "network nic list": [],
    "network nic get": ["-n|--nic-name=<str>"],
    "network nic down": ["-n|--nic-name=<str>"],
    "network nic up": ["-n|--nic-name=<str>"],
    "network nic stats get": ["-n|--nic-name=<str>"],
    "network vswitch standard list": ["-v|--vswitch-name=<str>"],
    "network vswitch standard add": ["-P|--ports=<long>", "-v|--vswitch-name=<str>"],
    "network vswitch standard remove": ["-v|--vswitch-name=<str>"],
    "network vswitch standard set": ["-c|--cdp-status=<str>", "-m|--mtu=<long>",
                                     "-v|--vswitch-name=<str>"],
    "network vswitch standard uplink add": ["-u|--uplink-name=<str>", "-v|--vswitch-name=<str>"],
    "network vswitch standard uplink remove": ["-u|--uplink-name=<str>",
                                               "-v|--vswitch-name=<str>"],
    "network vswitch standard portgroup list": [],
    "network vswitch standard portgroup add": ["-p|--portgroup-name=<str>",
                                               "-v|--vswitch-name=<str>"],
    "network vswitch standard portgroup remove": ["-p|--portgroup-name=<str>",
                                                  "-v|--vswitch-name=<str>"],
    "network vswitch standard portgroup set": ["-p|--portgroup-name=<str>", "-v|--vlan-id=<long>"],
    "network vswitch standard policy failover get": ["-v|--vswitch-name=<str>"],
    "network vswitch standard policy failover set": [
        "-a|--active-uplinks=<str>", "-b|--failback=<bool>", "-f|--failure-detection=<str>",
        "-l|--load-balancing=<str>", "-n|--notify-switches=<bool>", "-s|--standby-uplinks=<str>",
        "-v|--vswitch-name=<str>"],
    "network vswitch standard policy security get": ["-v|--vswitch-name=<str>"],
    "network vswitch standard policy security set": [
        "-f|--allow-forged-transmits=<bool>", "-m|--allow-mac-change=<bool>",
        "-p|--allow-promiscuous=<bool>", "-v|--vswitch-name=<str>"],
    "network vswitch standard policy shaping get": ["-v|--vswitch-name=<str>"],
    "network vswitch standard policy shaping set": [
        "-b|--avg-bandwidth=<long>", "-t|--burst-size=<long>", "-e|--enabled=<bool>",
        "-k|--peak-bandwidth=<long>", "-v|--vswitch-name=<str>"],
    "network vswitch standard portgroup policy failover get": ["-p|--portgroup-name=<str>"],
    "network vswitch standard portgroup policy failover set": [
        "-a|--active-uplinks=<str>", "-b|--failback=<bool>", "-f|--failure-detection=<str>",
        "-l|--load-balancing=<str>", "-n|--notify-switches=<bool>",
        "-p|--portgroup-name=<str>", "-s|--standby-uplinks=<str>", "-u|--use-vswitch"],
    "network vswitch standard portgroup policy security get": ["-p|--portgroup-name=<str>"],
    "network vswitch standard portgroup policy security set": [
        "-f|--allow-forged-transmits=<bool>", "-m|--allow-mac-change=<bool>",
        "-o|--allow-promiscuous=<bool>", "-p|--portgroup-name=<str>", "-u|--use-vswitch"],
    "network vswitch standard portgroup policy shaping get": ["-p|--portgroup-name=<str>"],
    "network vswitch standard portgroup policy shaping set": [
        "-b|--avg-bandwidth=<long>", "-t|--burst-size=<long>", "-e|--enabled=<bool>",
        "-k|--peak-bandwidth=<long>", "-p|--portgroup-name=<str>", "-u|--use-vswitch"],
}

REQUIRED = {"--vswitch-name", "--portgroup-name", "--uplink-name", "--vlan-id"}

# the required options of the IP commands (by command prefix, longest first)
REQUIRED_IP = [
    ("network vm port list", {"--world-id"}),
    ("vm process kill", {"--type", "--world-id"}),
    ("network ip dns server add", {"--server"}),
    ("network ip dns search list", set()),
    ("network ip dns search", {"--domain"}),
    ("network ip dns", set()),
    ("network ip interface add", {"--portgroup-name"}),
    ("network ip interface list", set()),
    ("network ip interface remove", set()),
    ("network ip interface ipv4 get", set()),
    ("network ip interface ipv4 set", {"--interface-name", "--type"}),
    ("network ip interface ipv6 get", set()),
    ("network ip interface ipv6 address list", set()),
    ("network ip interface ipv6 address", {"--interface-name", "--ipv6"}),
    ("network ip interface tag get", {"--interface-name"}),
    ("network ip interface tag", {"--interface-name", "--tagname"}),
    ("network ip interface", {"--interface-name"}),
    ("network ip netstack", {"--netstack"}),
    ("network ip route ipv4 list", set()),
    ("network ip route ipv4", {"--network", "--gateway"}),
    ("network ip route ipv6 list", set()),
    ("network ip route ipv6", {"--network", "--gateway"}),
    ("network diag ping", set()),
    ("network ip neighbor list", set()),
    ("network ip neighbor remove", {"--neighbor-addr", "--version"}),
    ("network ip connection list", set()),
    ("network nic", {"--nic-name"}),
]


def is_required(command, long):
    for prefix, req in REQUIRED_IP:
        if command.startswith(prefix):
            return long in req
    return long in REQUIRED and command != "network vswitch standard list"


def esxcli(*args):
    return subprocess.run([ESXCLI] + list(args), capture_output=True, text=True, timeout=30)


def test_root_usage():
    for argv in ([], ["--help"], ["-?"]):
        r = esxcli(*argv)
        assert r.returncode == 0, r
        lines = r.stdout.splitlines()
        assert lines[0] == "Usage: esxcli [options] {namespace}+ {cmd} [cmd options]"
        assert "Options:" in lines
        assert "  --formatter=FORMATTER" in lines
        i = lines.index("Available Namespaces:")
        assert [ln[:24].strip() for ln in lines[i + 1:]] == ["network", "storage", "system", "vm"]


@pytest.mark.parametrize("ns", NAMESPACES)
def test_namespace_usage(ns):
    r = esxcli(*ns.split())
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[0] == "Usage: esxcli %s {cmd} [cmd options]" % ns
    children = [n.split()[-1] for n in NAMESPACES if n.startswith(ns + " ")
                and len(n.split()) == len(ns.split()) + 1]
    verbs = [c.split()[-1] for c in COMMANDS if c.rsplit(" ", 1)[0] == ns]
    listed = []
    for ln in lines[1:]:
        if ln.startswith("  "):
            assert len(ln) > 24 and ln[24] != " " and ln[2:24].rstrip() == ln.split()[0], ln
            listed.append(ln.split()[0])
    assert listed == children + verbs
    if children:
        assert "Available Namespaces:" in lines
    if verbs:
        assert "Available Commands:" in lines
    # same output with --help after the namespace
    assert esxcli(*ns.split(), "--help").stdout == r.stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_help(command):
    r = esxcli(*command.split(), "--help")
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[0] == "Usage: esxcli %s [cmd options]" % command
    assert lines[1] == ""
    assert lines[2] == "Description: "
    verb = command.split()[-1]
    assert re.match(r"^  %s +\S" % verb, lines[3]) and lines[3][24] != " ", lines[3]
    assert lines[4] == "" and lines[5] == "Cmd options:"
    shown = []
    for i, ln in enumerate(lines[6:], 6):
        if ln.startswith("  -"):
            names = ln.split()[0]
            shown.append(names)
            text = ln if len(ln) > 24 and ln[24] != " " and len(names) <= 21 else lines[i + 1]
            long = "--" + names.split("--")[1].split("=")[0]
            required = is_required(command, long)
            assert text.endswith("(required)") == required, (ln, text)
            if len(names) > 21:
                assert lines[i + 1].startswith(" " * 24) and lines[i + 1][24] != " "
    assert shown == COMMANDS[command]


def test_unknown_command_and_namespace():
    r = esxcli("system", "uptime", "get")
    assert r.returncode == 1
    assert r.stderr == "Error: Unknown command or namespace system uptime get\n\n"
    assert r.stdout == ""
    r = esxcli("network", "vswitch", "standard", "frobnicate", "-v", "x")
    assert r.returncode == 1
    assert r.stderr.startswith("Error: Unknown command or namespace network vswitch standard "
                               "frobnicate\n")


def test_argument_error_shows_usage():
    r = esxcli("network", "vswitch", "standard", "portgroup", "set", "--portgroup-name=bond0",
               "--vlan-id=LT-3100")
    assert r.returncode == 1
    assert r.stderr.startswith(
        "Error: While processing '--vlan-id'. Argument type mismatch. Expecting integer "
        "value. Got 'LT-3100'\n\nUsage: esxcli network vswitch standard portgroup set "
        "[cmd options]\n\nDescription: \n")
    r = esxcli("network", "vswitch", "standard", "add")
    assert r.returncode == 1
    assert r.stderr.startswith("Error: Missing required parameter -v|--vswitch-name\n\nUsage:")
    r = esxcli("network", "vswitch", "standard", "add", "-v", "x", "--bogus")
    assert r.stderr.startswith("Error: Invalid option --bogus\n")


def test_global_options():
    r = esxcli("--version")
    assert r.returncode == 0 and r.stdout.startswith("Script 'esxcli' version: ")
    r = esxcli("--formatter=yaml", "system", "version", "get")
    assert r.returncode == 1 and r.stderr.startswith("Error: Invalid formatter 'yaml'")
    r = esxcli("--nope", "system", "version", "get")
    assert r.returncode == 1 and r.stderr.startswith("Error: Invalid option --nope")


def test_screen_width_and_debug_accepted(shared_host):
    out = shared_host.ok("--screen-width=80", "system", "version", "get")
    assert "Product: vmk" in out
    r = shared_host.esxcli("--debug", "system", "version", "get")
    assert r.rc == 0 and "request: system.version.get {}" in r.err and "reply after" in r.err


def test_no_daemon_is_a_clear_error(tmp_path):
    r = subprocess.run([ESXCLI, "--instance", "nobody", "system", "version", "get"],
                       env={"VMK_ROOT": str(tmp_path)}, capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.startswith("Error: Cannot connect to vmkd of instance 'nobody' at ")
    assert r.stderr.count("\n") == 1
