"""esxcli's `vm process` and `network vm` commands on the client side:
the requests they send and how their results print, against the fake
vmkd of test_vimcmd_cli.py (no vmkd runs here; the end-to-end tests are
test_vmkd_vm*.py)."""
import json
import os
import subprocess

import pytest

from conftest import BUILD
from test_vimcmd_cli import FakeVmkd

ESXCLI = os.path.join(BUILD, "src", "cli", "esxcli")

pytestmark = pytest.mark.skipif(not os.path.exists(ESXCLI),
                                reason="esxcli not built: " + ESXCLI)

PROCESS = [{"WorldID": 2104268, "ProcessID": 0, "VMXCartelID": 2104267,
            "UUID": "56 4d 67 fa b9 f2 da 11-aa 79 47 50 07 db 8b 71",
            "DisplayName": "FR-9-Sophia",
            "ConfigFile": "/vmfs/volumes/60403711-c7bb0e92-7219-a4bf01645e6b/zoe/zoe.vmx"}]


@pytest.fixture
def fake():
    f = FakeVmkd()
    yield f
    f.close()


def esxcli(fake, *args):
    env = dict(os.environ, VMK_ROOT=fake.root)
    return subprocess.run([ESXCLI, "--instance", fake.instance] + list(args), env=env,
                          capture_output=True, text=True, timeout=30)


def test_process_list_as_the_reference(fake):
    fake.replies["vm.process.list"] = PROCESS
    p = esxcli(fake, "vm", "process", "list")
    assert p.returncode == 0, p
    # reference 8.1, byte for byte
    assert p.stdout == (
        "FR-9-Sophia\n"
        "   World ID: 2104268\n"
        "   Process ID: 0\n"
        "   VMX Cartel ID: 2104267\n"
        "   UUID: 56 4d 67 fa b9 f2 da 11-aa 79 47 50 07 db 8b 71\n"
        "   Display Name: FR-9-Sophia\n"
        "   Config File: /vmfs/volumes/60403711-c7bb0e92-7219-a4bf01645e6b/zoe/zoe.vmx\n"
        "\n")
    assert fake.requests[0]["method"] == "vm.process.list"


def test_process_list_heading_is_no_field(fake):
    """The display-name heading shows in no machine formatter."""
    fake.replies["vm.process.list"] = PROCESS
    p = esxcli(fake, "--formatter=csv", "vm", "process", "list")
    assert p.stdout.splitlines()[0] == "WorldID,ProcessID,VMXCartelID,UUID,DisplayName,ConfigFile"
    p = esxcli(fake, "--formatter=keyvalue", "vm", "process", "list")
    assert p.stdout.count("DisplayName") == 1
    assert p.stdout.splitlines()[0] == "VirtualMachine.WorldID.integer=2104268"
    p = esxcli(fake, "--formatter=xml", "vm", "process", "list")
    assert p.stdout.count('<field name="DisplayName">') == 1
    p = esxcli(fake, "--formatter=json", "vm", "process", "list")
    assert list(json.loads(p.stdout)[0]) == ["WorldID", "ProcessID", "VMXCartelID", "UUID",
                                             "DisplayName", "ConfigFile"]


def test_process_kill_params(fake):
    fake.replies["vm.process.kill"] = True
    p = esxcli(fake, "vm", "process", "kill", "-t", "soft", "-w", "2104268")
    assert p.returncode == 0 and p.stdout == "", p
    assert fake.requests[0]["method"] == "vm.process.kill"
    assert fake.requests[0]["params"] == {"type": "soft", "world-id": 2104268}


@pytest.mark.parametrize("args,want", [
    (["-t", "soft"], "Missing required parameter -w|--world-id"),
    (["-w", "5"], "Missing required parameter -t|--type"),
    (["-t", "soft", "-w", "x"], "Expecting integer value. Got 'x'"),
])
def test_process_kill_bad_args(fake, args, want):
    p = esxcli(fake, "vm", "process", "kill", *args)
    assert p.returncode == 1
    assert want in p.stderr.splitlines()[0]
    assert fake.requests == []


def test_network_vm_list_and_ports(fake):
    fake.replies["network.vm.list"] = [{"WorldID": 5, "Name": "a", "NumPorts": 2,
                                        "Networks": ["VM Network", "pg2"]}]
    fake.replies["network.vm.port.list"] = [{
        "PortID": 33554442, "vSwitch": "vSwitch0", "Portgroup": "VM Network", "DVPortID": "",
        "MACAddress": "00:0c:29:00:00:01", "IPAddress": "0.0.0.0", "TeamUplink": "vmnic0",
        "UplinkPortID": 0, "ActiveFilters": ""}]
    p = esxcli(fake, "network", "vm", "list")
    assert p.returncode == 0, p
    assert p.stdout.splitlines() == [
        "World ID  Name  Num Ports  Networks",
        "--------  ----  ---------  ---------------",
        "       5  a             2  VM Network, pg2"]
    p = esxcli(fake, "network", "vm", "port", "list", "-w", "5")
    assert p.returncode == 0, p
    assert fake.requests[-1]["params"] == {"world-id": 5}
    for line in ("   Port ID: 33554442", "   vSwitch: vSwitch0", "   Portgroup: VM Network",
                 "   DVPort ID: ", "   MAC Address: 00:0c:29:00:00:01",
                 "   IP Address: 0.0.0.0", "   Team Uplink: vmnic0", "   Uplink Port ID: 0",
                 "   Active Filters: "):
        assert line in p.stdout.splitlines()
