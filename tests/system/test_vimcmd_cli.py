"""vim-cmd on its own: usage, help, bad arguments, and its output shapes.

No vmkd runs here.  Where a test needs replies, a fake vmkd (a Unix
socket in a private VMK_ROOT, answering JSON-RPC lines from a table the
test gives) stands in, and records what vim-cmd asked: so the tests check
both the request (method, params) and the printing of the reply.  The
end-to-end tests against the real vmkd are tests/system/test_vmkd_vm*.py.
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import BUILD

VIMCMD = os.path.join(BUILD, "src", "cli", "vim-cmd")

FAILED = -32000          # JSONRPC_FAILED: vmkd refused the operation
INVALID_PARAMS = -32602  # JSONRPC_INVALID_PARAMS

pytestmark = pytest.mark.skipif(not os.path.exists(VIMCMD),
                                reason="vim-cmd not built: " + VIMCMD)


def vimcmd(*args, env=None):
    e = dict(os.environ)
    e.pop("VMK_INSTANCE", None)
    e["VMK_ROOT"] = "/nonexistent-vmk-root"  # no real vmkd is ever reached
    e.update(env or {})
    return subprocess.run([VIMCMD] + list(args), capture_output=True, text=True, env=e,
                          timeout=30)


class FakeVmkd:
    """Answers each request line with replies[method] (a result, or an
    ("error", code, message) tuple); records the requests."""

    def __init__(self, instance="fake"):
        self.root = tempfile.mkdtemp(prefix="vimcmd", dir="/tmp")
        self.instance = instance
        d = os.path.join(self.root, "run", "vmk", instance)
        os.makedirs(d)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(os.path.join(d, "vmkd.sock"))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.replies = {}
        self.requests = []
        self.done = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        deadline = time.monotonic() + 120  # bounded, whatever the test does
        while not self.done and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                buf = b""
                while b"\n" not in buf and len(buf) < 1 << 20:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
                req = json.loads(buf.split(b"\n")[0])
                self.requests.append(req)
                reply = self.replies.get(req["method"], ("error", -32601, "no such method"))
                if isinstance(reply, tuple):
                    msg = {"jsonrpc": "2.0", "id": req["id"],
                           "error": {"code": reply[1], "message": reply[2]}}
                else:
                    msg = {"jsonrpc": "2.0", "id": req["id"], "result": reply}
                conn.sendall(json.dumps(msg).encode() + b"\n")

    def run(self, *args, env=None):
        """vim-cmd against this fake: by --instance, or by VMK_INSTANCE in env."""
        e = {"VMK_ROOT": self.root}
        e.update(env or {})
        if "VMK_INSTANCE" not in e:
            args = ("--instance", self.instance) + args
        return vimcmd(*args, env=e)

    def close(self):
        self.done = True
        self.thread.join(5)
        self.sock.close()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def fake():
    f = FakeVmkd()
    yield f
    f.close()


def one_line_error(p):
    assert p.returncode == 1, p
    assert p.stdout == "", p
    assert p.stderr.count("\n") == 1 and p.stderr.endswith("\n"), p.stderr
    return p.stderr


# ---- help and usage --------------------------------------------------------

@pytest.mark.parametrize("args", [[], ["help"]])
def test_root_lists_namespaces(args):
    p = vimcmd(*args)
    assert p.returncode == 0, p
    assert p.stdout.splitlines()[0] == "Commands available under /:"
    words = p.stdout.split()
    for ns in ("hostsvc/", "solo/", "vmsvc/", "help"):
        assert ns in words
    assert "datastore/" not in words  # nested: under hostsvc/


def test_nested_namespace():
    p = vimcmd("hostsvc")
    assert p.returncode == 0 and p.stdout.split() == [
        "Commands", "available", "under", "hostsvc/:", "datastore/"], p
    p = vimcmd("hostsvc/datastore")
    assert p.returncode == 0 and p.stdout.split()[3:] == [
        "hostsvc/datastore/:", "listsummary", "localcreate", "remove"], p
    p = vimcmd("help", "hostsvc/datastore/localcreate")
    assert p.returncode == 0 and p.stdout.startswith("Usage: localcreate name path\n"), p


@pytest.mark.parametrize("args", [["vmsvc"], ["vmsvc/"], ["help", "vmsvc"]])
def test_namespace_lists_commands(args):
    p = vimcmd(*args)
    assert p.returncode == 0, p
    assert p.stdout.splitlines()[0] == "Commands available under vmsvc/:"
    for verb in ("getallvms", "power.on", "power.off", "power.shutdown", "power.reset",
                 "power.getstate", "get.summary", "unregister"):
        assert verb in p.stdout.split()
    p = vimcmd("help", "solo")
    assert p.stdout.split()[-1] == "registervm"


@pytest.mark.parametrize("args", [["help", "vmsvc/power.on"], ["vmsvc/power.on", "--help"],
                                  ["vmsvc/power.on", "7", "-h"]])
def test_command_usage(args):
    p = vimcmd(*args)
    assert p.returncode == 0, p
    assert p.stdout.startswith("Usage: power.on vmid\n\nPower on the specified virtual machine.\n")
    assert "  vmid " in p.stdout


def test_registervm_usage():
    p = vimcmd("help", "solo/registervm")
    assert p.returncode == 0
    assert p.stdout.startswith("Usage: registervm path [name]\n")


@pytest.mark.parametrize("word", ["vmsvc/power.up", "vmsvc/getallvms/x", "nosuchsvc",
                                  "nosuchsvc/getallvms", "/power.on", "hostsvc/nosuch",
                                  "hostsvc/datastore/nosuch"])
def test_unknown_command(word):
    err = one_line_error(vimcmd(word))
    assert "unknown command '%s'" % word in err
    err = one_line_error(vimcmd("help", word))
    assert "unknown command" in err


def test_unknown_option():
    assert "unknown option '--bogus'" in one_line_error(vimcmd("--bogus", "vmsvc/getallvms"))
    assert "--instance needs a NAME" in one_line_error(vimcmd("--instance"))


# ---- bad arguments: refused before anything is sent -------------------------

@pytest.mark.parametrize("args,want", [
    (["vmsvc/power.on"], "insufficient arguments: vmid is required"),
    (["vmsvc/power.off", "abc"], "invalid vmid 'abc': expected a number"),
    (["vmsvc/power.getstate", "0"], "invalid vmid '0'"),
    (["vmsvc/get.summary", "-5"], "invalid vmid '-5'"),
    (["vmsvc/power.reset", "99999999999999999999"], "invalid vmid"),
    (["vmsvc/unregister", "1x"], "invalid vmid '1x'"),
    (["vmsvc/power.shutdown", ""], "invalid vmid ''"),
    (["vmsvc/power.on", "1", "2"], "too many arguments, from '2'"),
    (["vmsvc/getallvms", "1"], "too many arguments, from '1'"),
    (["solo/registervm"], "insufficient arguments: path is required"),
    (["solo/registervm", "/a.vmx", "n", "x"], "too many arguments, from 'x'"),
])
def test_bad_arguments(fake, args, want):
    err = one_line_error(fake.run(*args))
    assert want in err
    assert err.startswith("vim-cmd %s: " % args[0])
    assert fake.requests == []


def test_no_vmkd():
    err = one_line_error(vimcmd("--instance", "novmkd", "vmsvc/getallvms"))
    assert "Cannot connect to vmkd of instance 'novmkd'" in err


# ---- requests and output shapes --------------------------------------------

def test_getallvms_empty_prints_header(fake):
    fake.replies["vmsvc.getallvms"] = []
    p = fake.run("vmsvc/getallvms")
    assert p.returncode == 0, p
    assert p.stdout == "Vmid   Name   File   Guest OS   Version   Annotation\n"
    assert fake.requests[0]["method"] == "vmsvc.getallvms"
    assert fake.requests[0]["params"] == {}


def test_getallvms_widths_from_content(fake):
    fake.replies["vmsvc.getallvms"] = [
        {"vmid": 1, "name": "web01", "file": "[datastore1] web01/web01.vmx",
         "guest_os": "otherlinux-64", "version": "vmx-21", "annotation": "front end"},
        {"vmid": 12345, "name": "db", "file": "[datastore1] db/db.vmx",
         "guest_os": "other", "version": "", "annotation": ""},
    ]
    p = fake.run("vmsvc/getallvms")
    assert p.returncode == 0, p
    lines = p.stdout.splitlines()
    assert lines == [
        "Vmid    Name    File                           Guest OS        Version   Annotation",
        "1       web01   [datastore1] web01/web01.vmx   otherlinux-64   vmx-21    front end",
        "12345   db      [datastore1] db/db.vmx         other                     ",
    ]


@pytest.mark.parametrize("verb,banner", [("power.on", "Powering on VM:\n"),
                                         ("power.off", "Powering off VM:\n"),
                                         ("power.reset", "Reset VM:\n"),
                                         ("power.shutdown", ""),
                                         ("unregister", "")])
def test_power_ok(fake, verb, banner):
    fake.replies["vmsvc." + verb] = True
    p = fake.run("vmsvc/" + verb, "3")
    assert p.returncode == 0, p
    assert p.stdout == banner
    assert p.stderr == ""
    assert fake.requests == [{"jsonrpc": "2.0", "id": 1, "method": "vmsvc." + verb,
                              "params": {"vmid": 3}}]


def test_power_on_config_fault(fake):
    msg = 'vm.vmx:4: memsize: 66 MB is not a multiple of 4'
    fake.replies["vmsvc.power.on"] = ("error", FAILED, "Power on failed: " + msg)
    p = fake.run("vmsvc/power.on", "1")
    assert p.returncode == 1, p
    assert p.stdout == (
        "Powering on VM:\n"
        "Power on failed: (vim.fault.GenericVmConfigFault) {\n"
        "   faultCause = (vmodl.MethodFault) null, \n"
        "   faultMessage = <unset>, \n"
        '   reason = "%s"\n'
        '   msg = "%s"\n'
        "}\n" % (msg, msg))


def test_fault_without_operation_uses_the_commands(fake):
    fake.replies["vmsvc.power.on"] = ("error", FAILED, "vm.vmx:9: ethernet0: no port group 'x'")
    p = fake.run("vmsvc/power.on", "1")
    assert p.returncode == 1
    assert "Power on failed: (vim.fault.GenericVmConfigFault) {\n" in p.stdout
    assert "msg = \"vm.vmx:9: ethernet0: no port group 'x'\"\n" in p.stdout


def test_invalid_power_state_fault(fake):
    fake.replies["vmsvc.power.reset"] = (
        "error", FAILED, 'Reset failed: (vim.fault.InvalidPowerState) requestedState = '
        '"poweredOn", existingState = "poweredOff": The attempted operation cannot be '
        'performed in the current state (Powered off).')
    p = fake.run("vmsvc/power.reset", "2")
    assert p.returncode == 1
    assert p.stdout == (
        "Reset VM:\n"
        "Reset failed: (vim.fault.InvalidPowerState) {\n"
        "   faultCause = (vmodl.MethodFault) null, \n"
        "   faultMessage = <unset>, \n"
        '   requestedState = "poweredOn", \n'
        '   existingState = "poweredOff"\n'
        '   msg = "The attempted operation cannot be performed in the current state '
        '(Powered off)."\n'
        "}\n")


def test_fault_type_without_members(fake):
    fake.replies["vmsvc.unregister"] = (
        "error", FAILED, "Unregister failed: (vim.fault.InvalidPowerState) The attempted "
        "operation cannot be performed in the current state (Powered on).")
    p = fake.run("vmsvc/unregister", "2")
    assert p.returncode == 1
    assert p.stdout == (
        "Unregister failed: (vim.fault.InvalidPowerState) {\n"
        "   faultCause = (vmodl.MethodFault) null, \n"
        "   faultMessage = <unset>\n"
        '   msg = "The attempted operation cannot be performed in the current state '
        '(Powered on)."\n'
        "}\n")


def test_invalid_params_is_one_line(fake):
    fake.replies["vmsvc.power.on"] = ("error", INVALID_PARAMS,
                                      'Unable to find a VM corresponding to "9"')
    err = one_line_error(fake.run("vmsvc/power.on", "9"))
    assert err == 'vim-cmd vmsvc/power.on: Unable to find a VM corresponding to "9"\n'


def test_getstate(fake):
    fake.replies["vmsvc.power.getstate"] = {"state": "Powered off"}
    p = fake.run("vmsvc/power.getstate", "4")
    assert p.returncode == 0
    assert p.stdout == "Retrieved runtime info\nPowered off\n"


def test_get_summary(fake):
    fake.replies["vmsvc.get.summary"] = {
        "vmid": 4, "name": "web01", "file": "[datastore1] web01/web01.vmx",
        "vmx_path": "/x/volumes/datastore1/web01/web01.vmx", "guest_os": "otherlinux-64",
        "version": "vmx-21", "annotation": "", "power_state": "poweredOn",
        "memory_mb": 256, "num_cpu": 2, "num_ethernet": 1, "num_disks": 1,
        "uuid": "56 4d 67 fa b9 f2 da 11-aa 79 47 50 07 db 8b 71", "pid": 100,
        "world_id": 101}
    p = fake.run("vmsvc/get.summary", "4")
    assert p.returncode == 0, p
    out = p.stdout
    assert out.startswith("Listsummary:\n(vim.vm.Summary) {\n   vm = 'vim.VirtualMachine:4', \n")
    assert out.endswith('   overallStatus = "green"\n}\n')
    for line in ('      powerState = "poweredOn"\n',
                 '   config = (vim.vm.Summary.ConfigSummary) {\n',
                 '      name = "web01", \n',
                 '      vmPathName = "[datastore1] web01/web01.vmx", \n',
                 '      memorySizeMB = 256, \n', '      numCpu = 2, \n',
                 '      numEthernetCards = 1, \n', '      numVirtualDisks = 1, \n',
                 '      uuid = "564d67fa-b9f2-da11-aa79-475007db8b71", \n',
                 '      guestId = "otherlinux-64", \n', '      hwVersion = "vmx-21"\n'):
        assert line in out


def test_registervm(fake):
    fake.replies["solo.registervm"] = {"vmid": 17}
    p = fake.run("solo/registervm", "/vmfs/volumes/datastore1/a/a.vmx", "my vm")
    assert p.returncode == 0, p
    assert p.stdout == "17\n"
    assert fake.requests[0]["params"] == {"path": "/vmfs/volumes/datastore1/a/a.vmx",
                                          "name": "my vm"}
    fake.run("solo/registervm", "/a.vmx")
    assert fake.requests[1]["params"] == {"path": "/a.vmx"}


def test_instance_from_environment(fake):
    fake.replies["vmsvc.getallvms"] = []
    p = fake.run("vmsvc/getallvms", env={"VMK_INSTANCE": fake.instance})
    assert p.returncode == 0, p
    assert len(fake.requests) == 1
    p = vimcmd("--instance=" + fake.instance, "vmsvc/getallvms", env={"VMK_ROOT": fake.root})
    assert p.returncode == 0, p
    assert len(fake.requests) == 2
