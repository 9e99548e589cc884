#!/usr/bin/python3
"""Power-on latency: from `vim-cmd vmsvc/power.on` to the guest's first
instruction, against QEMU microvm (KVM) started on the same guest.
Goal: vim-cmd power.on -> first instruction, median <= 20 ms.

The guest is made here: a PVH ELF whose very first instructions write
one byte to COM1 (port 0x3f8) and then leave through the debug-exit port
(0xf4), so "the first instruction ran" is "the first serial byte came
out", and the VM powers itself off at once.  vmx writes serial output to
its file with one write() per byte; an inotify watch on the VM's folder,
read by a thread blocked in poll() before the command starts, stamps the
first write.  QEMU and bare vmx write the byte to a pipe read by the same
kind of thread.  Nothing else is between the two stamps.

Rows, each a median over the runs (interleaved, so that load from other
work on the machine falls on all alike):
  vim-cmd power.on        the whole path an administrator takes: vim-cmd
                          starts, JSON-RPC to vmkd, .vmx checks, cgroup,
                          vmx spawned, KVM set up, guest entered
  JSON-RPC power.on       the same without starting the vim-cmd process
  ... right after another the same, started as soon as the previous VM
                          was off (see below)
  vmx alone               vmx spawned directly (no vmkd), to the byte
  qemu microvm (kvm)      the peer, spawned directly, to the byte
and when vim-cmd returned (vmkd answers once vmx's control socket does,
which can be before or after the guest's first instruction).

Cold and warm: on cgroup v1 (these machines) putting a process into a
cgroup waits for an RCU grace period the first time after a quiet spell
(the kernel's cgroup_threadgroup_rwsem), about 10-15 ms here; a second
move soon after the first does not wait.  An administrator's power-on is
the cold case, so the vim-cmd and JSON-RPC rows start after COLD_PAUSE of
quiet; the "right after another" row shows the warm case.

usage: bench/poweron.py [runs]     (VMK_BUILD selects the build, default build/)
"""
import ctypes
import json
import os
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "system"))
from vmkd_util import Host  # noqa: E402
from vmkd_vm_util import close_vm_host  # noqa: E402

from common import BUILD, QEMU, VMX, median, qemu_microvm, report  # noqa: E402

VIMCMD = os.path.join(BUILD, "src", "cli", "vim-cmd")
TIMEOUT = 10.0  # seconds for any one wait; a run that takes longer fails the benchmark
COLD_PAUSE = 0.25  # quiet before a cold power-on (module comment)

# ---- the guest ----

# 32-bit protected mode, paging off (PVH entry): the first instruction
# already aims at COM1.
CODE = bytes([
    0x66, 0xBA, 0xF8, 0x03,  # mov $0x3f8, %dx
    0xB0, 0x21,              # mov $'!', %al
    0xEE,                    # out %al, %dx        <- the byte that is timed
    0x66, 0xBA, 0xF4, 0x00,  # mov $0xf4, %dx
    0x30, 0xC0,              # xor %al, %al
    0xEE,                    # out %al, %dx        debug exit, status 1
    0xFA, 0xF4,              # cli; hlt            (without a debug-exit device)
    0xEB, 0xFC,              # jmp back to the hlt
])
LOAD = 0x100000


def first_insn_guest(path):
    """A minimal ELF64 (x86-64): one PT_LOAD at 1 MiB with CODE, one PT_NOTE
    with the Xen PVH entry note (type 18) pointing at its first byte."""
    note = struct.pack("<III4sI", 4, 4, 18, b"Xen\0", LOAD)
    ehsize, phsize = 64, 56
    note_off = ehsize + 2 * phsize
    code_off = 0x1000
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    eh = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, LOAD, ehsize, 0, 0, ehsize, phsize, 2,
                             64, 0, 0)
    ph_load = struct.pack("<IIQQQQQQ", 1, 5, code_off, LOAD, LOAD, len(CODE), len(CODE), 0x1000)
    ph_note = struct.pack("<IIQQQQQQ", 4, 4, note_off, 0, 0, len(note), len(note), 4)
    img = eh + ph_load + ph_note + note
    img += bytes(code_off - len(img)) + CODE
    with open(path, "wb") as f:
        f.write(img)
    return path


# ---- stamping the first byte ----

IN_MODIFY = 0x2
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
_libc = ctypes.CDLL(None, use_errno=True)


class FirstByte(threading.Thread):
    """Waits, in a thread of its own, for the first byte; `stamp` is the
    perf_counter() at which it was seen (None if it never came)."""

    def __init__(self, fd, ready_check):
        super().__init__(daemon=True)
        self.fd = fd
        self.ready_check = ready_check
        self.stamp = None

    def run(self):
        p = select.poll()
        p.register(self.fd, select.POLLIN | select.POLLHUP)
        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end:
            if not p.poll(int((end - time.monotonic()) * 1000) + 1):
                continue
            t = time.perf_counter()
            try:
                if self.ready_check():
                    self.stamp = t
                    return
            except EOFError:  # the process ended without a byte
                return


def serial_watch(folder, name):
    """An inotify watch on folder that fires when `name` has its first byte."""
    fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
    if fd < 0 or _libc.inotify_add_watch(fd, folder.encode(), IN_MODIFY) < 0:
        raise OSError(ctypes.get_errno(), "inotify on " + folder)
    path = os.path.join(folder, name)

    def ready():
        try:
            while os.read(fd, 4096):
                pass
        except BlockingIOError:
            pass
        try:
            with open(path, "rb") as f:
                b = f.read(1)
        except FileNotFoundError:
            return False
        if b and b != b"!":
            raise RuntimeError("%s begins with %r, not the guest's '!'" % (path, b))
        return len(b) > 0
    return fd, ready


def pipe_ready(fd):
    def ready():
        b = os.read(fd, 1)
        if not b:
            raise EOFError
        if b != b"!":
            raise RuntimeError("the first byte on the serial line is %r, not the guest's '!'" % b)
        return True
    return ready


# ---- the runs ----

def spawn_to_first_byte(argv):
    """Seconds from spawning argv to its first byte on stdout; then waits for it to end."""
    r, w = os.pipe()
    watcher = FirstByte(r, pipe_ready(r))
    watcher.start()
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=w, stderr=subprocess.PIPE)
    os.close(w)
    watcher.join(TIMEOUT + 1)
    try:
        _, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    os.close(r)
    if watcher.stamp is None:
        raise RuntimeError("%s: no serial byte within %ds: %s" % (argv[0], TIMEOUT, err.decode()))
    return watcher.stamp - t0


def rpc(h, method, **params):
    req = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    reply = json.loads(h.rpc((json.dumps(req) + "\n").encode()))
    if "error" in reply:
        raise RuntimeError("%s: %s" % (method, reply["error"]["message"]))
    return reply["result"]


def vmkd_power_on(h, vmid, folder, via):
    """(first instruction, reply) in seconds from the start of the command."""
    serial = os.path.join(folder, "serial.log")
    if os.path.exists(serial):
        os.unlink(serial)
    fd, ready = serial_watch(folder, "serial.log")
    watcher = FirstByte(fd, ready)
    watcher.start()
    t0 = time.perf_counter()
    if via == "vim-cmd":
        r = subprocess.run([VIMCMD, "--instance", h.name, "vmsvc/power.on", str(vmid)],
                           env=h.env, capture_output=True, text=True, timeout=TIMEOUT)
        if r.returncode != 0:
            raise RuntimeError("vim-cmd power.on: " + r.stdout + r.stderr)
    else:
        rpc(h, "vmsvc.power.on", vmid=vmid)
    t_reply = time.perf_counter()
    watcher.join(TIMEOUT + 1)
    os.close(fd)
    if watcher.stamp is None:
        raise RuntimeError("VM %d: no serial byte within %ds (see its vmware.log)" %
                           (vmid, TIMEOUT))
    rpc(h, "vmsvc.power.off", vmid=vmid)  # returns once vmx is gone
    return watcher.stamp - t0, t_reply - t0


def make_vm(h, kernel):
    folder = os.path.join(h.root, "var", "lib", "vmk", h.name, "volumes", "datastore1", "first")
    os.makedirs(folder)
    path = os.path.join(folder, "first.vmx")
    with open(path, "w") as f:
        f.write('.encoding = "UTF-8"\nconfig.version = "8"\nvirtualHW.version = "19"\n'
                'displayName = "first"\nguestOS = "other-64"\nmemsize = "32"\n'
                'numvcpus = "1"\nvmk.kernel = "%s"\n'
                'serial0.present = "TRUE"\nserial0.fileType = "file"\n'
                'serial0.fileName = "serial.log"\n' % kernel)
    return rpc(h, "solo.registervm", path=path)["vmid"], folder


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    if not os.path.exists("/dev/kvm"):
        print("poweron: no /dev/kvm, nothing to measure")
        return
    tmp = tempfile.mkdtemp(prefix="vmk-poweron-")
    kernel = first_insn_guest(os.path.join(tmp, "first.elf"))
    vmx_argv = [VMX, "--kernel", kernel, "--memory", "32M", "--debug-exit", "--serial", "stdio"]
    qemu_argv = qemu_microvm(kernel, "kvm", ["-m", "32"]) if QEMU else None
    h = Host()
    try:
        h.start()
        vmid, folder = make_vm(h, kernel)
        vimcmd, vimcmd_reply, jsonrpc, warm, bare, q = [], [], [], [], [], []
        for _ in range(runs):
            time.sleep(COLD_PAUSE)
            first, reply = vmkd_power_on(h, vmid, folder, "vim-cmd")
            vimcmd.append(first)
            vimcmd_reply.append(reply)
            time.sleep(COLD_PAUSE)
            jsonrpc.append(vmkd_power_on(h, vmid, folder, "json-rpc")[0])
            warm.append(vmkd_power_on(h, vmid, folder, "json-rpc")[0])
            bare.append(spawn_to_first_byte(vmx_argv))
            if QEMU:
                q.append(spawn_to_first_byte(qemu_argv))
    finally:
        close_vm_host(h)  # and any vmx a failed run left behind
        shutil.rmtree(tmp, ignore_errors=True)
    ms = 1000
    rows = [("vim-cmd power.on -> 1st insn, median", median(vimcmd) * ms, "ms"),
            ("vim-cmd power.on -> 1st insn, min", min(vimcmd) * ms, "ms"),
            ("vim-cmd power.on -> vim-cmd done, median", median(vimcmd_reply) * ms, "ms"),
            ("JSON-RPC power.on -> 1st insn, median", median(jsonrpc) * ms, "ms"),
            ("... right after another, median", median(warm) * ms, "ms"),
            ("vmx alone: spawn -> 1st insn, median", median(bare) * ms, "ms")]
    if QEMU:
        rows += [("qemu microvm (kvm): spawn -> 1st insn, median", median(q) * ms, "ms"),
                 ("qemu microvm (kvm): spawn -> 1st insn, min", min(q) * ms, "ms"),
                 ("ratio vim-cmd path/qemu (median)", median(vimcmd) / median(q), "x"),
                 ("ratio vmx alone/qemu (median)", median(bare) / median(q), "x")]
    else:
        print("qemu-system-x86_64 not installed: no peer, no ratio")
    report("power-on to the guest's first instruction, %d runs each" % runs, rows)
    print("  goal: vim-cmd power.on -> 1st insn median <= 20 ms: %s" %
          ("met" if median(vimcmd) * ms <= 20 else "NOT met"))


if __name__ == "__main__":
    main()
