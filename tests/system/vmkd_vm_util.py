"""Helpers for the VM tests of vmkd (test_vmkd_vm*.py): .vmx files in the
host's datastore, JSON-RPC calls for the vim-cmd methods, and a fixture
that stops every vmx a test left running (VMs outlive vmkd by design, so
closing the host alone would leave them behind).
"""
import glob
import json
import os
import signal
import sqlite3
import time

import pytest

from conftest import GUESTS
from vmkd_util import Host

CGROUP = "/sys/fs/cgroup"


class RpcError(Exception):
    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


def call(host, method, **params):
    """One JSON-RPC request; the result, or RpcError."""
    req = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    reply = json.loads(host.rpc((json.dumps(req) + "\n").encode()))
    if "error" in reply:
        raise RpcError(reply["error"]["code"], reply["error"]["message"])
    return reply["result"]


def fails(host, method, **params):
    """A call that must fail: its message."""
    with pytest.raises(RpcError) as e:
        call(host, method, **params)
    return e.value.message


def datastore(host):
    return os.path.join(host.root, "var", "lib", "vmk", host.name, "volumes", "datastore1")


def guest(name):
    path = os.path.join(GUESTS, name + ".elf")
    assert os.path.exists(path), "test guest not built: " + path
    return path


def write_vmx(host, name, extra=(), kernel=None, serial=True, memsize=64, cmdline=None):
    """A VM folder in datastore1 with NAME.vmx running the hello guest,
    which halts after its output (no debug-exit), so the VM stays on."""
    d = os.path.join(datastore(host), name)
    os.makedirs(d, exist_ok=True)
    lines = ['.encoding = "UTF-8"', 'config.version = "8"', 'virtualHW.version = "19"',
             'displayName = "%s"' % name, 'guestOS = "other-64"', 'memsize = "%d"' % memsize,
             'numvcpus = "1"', 'vmk.kernel = "%s"' % (kernel or guest("hello")),
             'vmk.cmdline = "%s"' % (cmdline or "vmk-test=" + name)]
    if serial:
        lines += ['serial0.present = "TRUE"', 'serial0.fileType = "file"',
                  'serial0.fileName = "serial.log"']
    lines += list(extra)
    path = os.path.join(d, name + ".vmx")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def register(host, path):
    return call(host, "solo.registervm", path=path)["vmid"]


def state(host, vmid):
    return call(host, "vmsvc.power.getstate", vmid=vmid)["state"]


def running_vms(host):
    return call(host, "vm.process.list")


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def wait_for(cond, timeout=15, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def wait_serial(vmx_path, text, timeout=15):
    log = os.path.join(os.path.dirname(vmx_path), "serial.log")

    def seen():
        try:
            return text in open(log, errors="replace").read()
        except OSError:
            return False
    wait_for(seen, timeout, "'%s' in %s" % (text, log))


def cgroup_dirs(host):
    return glob.glob(os.path.join(CGROUP, "*", "vmk." + host.name)) + \
        glob.glob(os.path.join(CGROUP, "vmk." + host.name))


def runtime_pids(host):
    if not os.path.exists(host.db):
        return []
    con = sqlite3.connect("file:%s?mode=ro" % host.db, uri=True)
    try:
        return [r[0] for r in con.execute("SELECT pid FROM vm_runtime")]
    except sqlite3.Error:
        return []
    finally:
        con.close()


def vmx_pids_under(root):
    """Every vmx whose command line names a file under root."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            argv = open("/proc/%s/cmdline" % d, "rb").read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"/vmx") and any(root.encode() in a for a in argv):
            out.append(int(d))
    return out


def close_vm_host(h):
    """Closes the host and kills what it left: vmx processes, cgroups."""
    for pid in set(runtime_pids(h) + vmx_pids_under(h.root)):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    h.close()
    for d in cgroup_dirs(h):
        for sub in glob.glob(os.path.join(d, "vm*")):
            try:
                os.rmdir(sub)
            except OSError:
                pass
        try:
            os.rmdir(d)
        except OSError:
            pass


@pytest.fixture
def vmhost():
    if not os.path.exists("/dev/kvm"):
        pytest.skip("no /dev/kvm: VMs cannot run on this machine")
    h = Host().start()
    yield h
    close_vm_host(h)
