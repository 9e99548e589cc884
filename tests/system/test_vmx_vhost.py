"""vmx as a vhost-user front end (docs/vmx.md, docs/vms.md).

Two kinds of back end:
  - vhost_backend.Backend, a small Python back end that records what vmx
    sends and serves the rings by hand: the handshake, the memory table,
    ring addresses and bases, kicks (KVM ioeventfd), calls, link state,
    hang-up and replay, hostile replies;
  - vmk-dpswitch run --vhost NAME=SOCKET (the real datapath) with a TAP in
    a namespace the test made: the guest pings the TAP's address, `ping`
    in the namespace gets answers from the responder guest, and traffic
    flows again after the datapath was killed and started again.
"""
import json
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import time

import pytest

from conftest import BUILD, VMX, guest
from vhost_backend import (Backend, GET_FEATURES, GET_PROTOCOL_FEATURES, SET_FEATURES,
                           SET_MEM_TABLE, SET_OWNER, SET_PROTOCOL_FEATURES,
                           SET_VRING_ADDR, SET_VRING_BASE, SET_VRING_ENABLE,
                           SET_VRING_KICK, SET_VRING_CALL, GET_VRING_BASE)

DPSWITCH = os.path.join(BUILD, "src", "host", "datapath", "vmk-dpswitch")
GUEST_MAC = "52:54:00:12:34:56"
GUEST_IP, PEER_IP = "10.77.0.15", "10.77.0.1"
PEER_MAC = bytes.fromhex("020000aabbcc")


def wait_for(pred, seconds=10, what="condition"):
    deadline = time.monotonic() + seconds
    while not pred():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.02)


class Control:
    def __init__(self, path):
        wait_for(lambda: os.path.exists(path), what=path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(20)
        self.sock.connect(path)
        self.file = self.sock.makefile("r")
        self.next_id = 1

    def call(self, method):
        self.sock.sendall(json.dumps({"id": self.next_id, "method": method}).encode() + b"\n")
        reply = json.loads(self.file.readline())
        self.next_id += 1
        return reply

    def result(self, method):
        reply = self.call(method)
        assert "result" in reply, reply
        return reply["result"]

    def close(self):
        self.sock.close()


class Vmx:
    """vmx running a guest with vhost-user adapters, serial to a file."""

    def __init__(self, tmp_path, cmdline, *extra, netns=None, nics=1, paused=False):
        self.socks = [str(tmp_path / ("eth%d.sock" % i)) for i in range(nics)]
        self.ctl = str(tmp_path / "ctl.sock")
        self.serial = str(tmp_path / "serial.log")
        argv = [VMX, "--kernel", guest("net"), "--debug-exit", "--cmdline", cmdline,
                "--control", self.ctl, "--serial", "file:" + self.serial]
        argv += ["--net", "vhost-user=%s,mac=%s" % (self.socks[0], GUEST_MAC)]
        for s in self.socks[1:]:
            argv += ["--net", "vhost-user=" + s]
        if paused:
            argv.append("--paused")
        argv += list(extra)
        if netns:
            argv = ["ip", "netns", "exec", netns] + argv
        self.proc = subprocess.Popen(argv, stderr=subprocess.PIPE)
        self.c = Control(self.ctl)

    def out(self):
        with open(self.serial, errors="replace") as f:
            return f.read()

    def wait_exit(self, seconds=60):
        try:
            self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail("vmx did not exit in %ds\n%s" % (seconds, self.out()))
        return self.proc.returncode

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.c.close()
        return self.proc.stderr.read().decode(errors="replace")

    def stats(self):
        return self.c.result("stats")["devices"]["virtio-net0"]


@pytest.fixture
def vms():
    made = []
    yield made
    for v in made:
        v.stop()


# ---- frames ----

def mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(":"))


def ip_bytes(s):
    return socket.inet_aton(s)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def arp(oper, src_mac, src_ip, dst_mac, dst_ip, eth_dst):
    a = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, oper, src_mac, ip_bytes(src_ip),
                    dst_mac, ip_bytes(dst_ip))
    return eth_dst + src_mac + b"\x08\x06" + a + bytes(18)


def icmp_echo(typ, src_mac, src_ip, dst_mac, dst_ip, ident, seq, payload):
    c = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + payload
    c = c[:2] + struct.pack("!H", csum(c)) + c[4:]
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(c), seq, 0x4000, 64, 1, 0,
                    ip_bytes(src_ip), ip_bytes(dst_ip))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return dst_mac + src_mac + b"\x08\x00" + h + c


def parse(frame):
    """('arp', oper, sender ip, target ip) / ('icmp', type, id, seq, payload, src ip)."""
    if frame[12:14] == b"\x08\x06":
        oper = struct.unpack("!H", frame[20:22])[0]
        return ("arp", oper, socket.inet_ntoa(frame[28:32]), socket.inet_ntoa(frame[38:42]))
    if frame[12:14] == b"\x08\x00" and frame[23] == 1:
        ihl = (frame[14] & 15) * 4
        tot = struct.unpack("!H", frame[16:18])[0]
        c = frame[14 + ihl:14 + tot]
        typ, _, _, ident, seq = struct.unpack("!BBHHH", c[:8])
        return ("icmp", typ, ident, seq, c[8:], socket.inet_ntoa(frame[26:30]))
    return ("other",)


def reflect(be, seconds):
    """Plays the peer PEER_IP for a ping-mode guest: answers its ARP and echo requests."""
    deadline, answered = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        for f in be.frames(0.2):
            p = parse(f)
            gmac = f[6:12]
            if p[0] == "arp" and p[1] == 1 and p[3] == PEER_IP:
                assert be.inject(arp(2, PEER_MAC, PEER_IP, gmac, p[2], gmac))
                answered += 1
            elif p[0] == "icmp" and p[1] == 8:
                assert be.inject(icmp_echo(0, PEER_MAC, PEER_IP, gmac, p[5], p[2], p[3], p[4]))
                answered += 1
                if answered >= 4:
                    return answered
    return answered


def ping_guest(be, seq):
    """Sends one echo request to a responder guest; True when its reply came."""
    payload = bytes(range(56))
    assert be.inject(icmp_echo(8, PEER_MAC, PEER_IP, mac_bytes(GUEST_MAC), GUEST_IP,
                               0x4242, seq, payload)), "guest posted no RX buffer"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for f in be.frames(0.2):
            p = parse(f)
            if p[:4] == ("icmp", 0, 0x4242, seq) and p[4] == payload:
                return True
    return False


RESPOND = "ip=%s net.mode=respond net.seconds=%%d" % GUEST_IP
PING = "ip=%s peer=%s" % (GUEST_IP, PEER_IP)


# ---- command line and socket ----

@pytest.mark.parametrize("net, why", [
    ("vhost-user=", "expected tap=NAME or vhost-user=PATH"),
    ("tap=vmkt0,vhost-user=/tmp/x.sock", "give one of tap=NAME and vhost-user=PATH"),
    ("vhost-user=/tmp/" + "x" * 120, "socket path longer than 107 bytes"),
    ("vhost-user=/tmp/x.sock,mac=01:00:00:00:00:01", "multicast"),
    ("vhost-user=/tmp/x.sock,foo=1", "expected tap=NAME or vhost-user=PATH"),
])
def test_bad_net_option(net, why):
    r = subprocess.run([VMX, "--kernel", guest("net"), "--net", net], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and why in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not os.path.exists("/tmp/x.sock")


def test_same_socket_twice_and_not_a_socket(tmp_path):
    s = str(tmp_path / "a.sock")
    r = subprocess.run([VMX, "--kernel", guest("net"), "--net", "vhost-user=" + s,
                        "--net", "vhost-user=" + s], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "socket path given twice" in r.stderr, r.stderr
    f = tmp_path / "file"
    f.write_text("keep me")
    r = subprocess.run([VMX, "--kernel", guest("net"), "--net", "vhost-user=%s" % f],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "not a socket" in r.stderr, r.stderr
    assert f.read_text() == "keep me"


def test_socket_mode_stale_socket_and_removal(tmp_path, vms):
    path = tmp_path / "eth0.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))          # a socket file nobody listens on: replaced
    stale.close()
    v = Vmx(tmp_path, RESPOND % 30)
    vms.append(v)
    st = os.stat(v.socks[0])
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    # while vmx listens, a second vmx on the same path refuses to start
    r = subprocess.run([VMX, "--kernel", guest("net"), "--net", "vhost-user=" + v.socks[0]],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "socket in use" in r.stderr, r.stderr
    v.c.result("stop")
    assert v.wait_exit() == 0
    assert not os.path.exists(v.socks[0]) and not os.path.exists(v.ctl)


# ---- with the Python back end ----

def test_handshake_memory_rings_and_ping(tmp_path, vms):
    """Ping-mode guest through the Python back end: ARP + 3 echoes, all via vmx's rings."""
    v = Vmx(tmp_path, PING, paused=True)
    vms.append(v)
    q = v.c.result("query")
    assert q["nics"] == [{"index": 0, "mac": GUEST_MAC, "backend": "vhost-user",
                          "path": v.socks[0], "connected": False}]
    assert len(q["vcpu_tids"]) == 1 and q["vcpu_tids"][0] != q["pid"]
    assert os.path.exists("/proc/%d/task/%d" % (q["pid"], q["vcpu_tids"][0]))
    be = Backend(v.socks[0])
    try:
        be.wait(lambda: SET_OWNER in be.requests(), what="SET_OWNER")
        assert be.requests()[:4] == [GET_FEATURES, GET_PROTOCOL_FEATURES,
                                     SET_PROTOCOL_FEATURES, SET_OWNER]
        wait_for(lambda: v.c.result("query")["nics"][0]["connected"], what="connected")
        v.c.result("resume")
        be.wait(lambda: be.running(0) and be.running(1), what="both rings")
        reqs = be.requests()
        feats = [struct.unpack("<Q", p[:8])[0] for r, p, _ in be.log if r == SET_FEATURES]
        assert len(feats) == 1
        # the guest took VERSION_1 and MAC; MAC is vmx's own, PROTOCOL_FEATURES was offered
        assert feats[0] == (1 << 32) | (1 << 30), hex(feats[0])
        assert reqs.index(SET_FEATURES) < reqs.index(SET_MEM_TABLE) < reqs.index(SET_VRING_ADDR)
        (gpa, size, uva, off, _), = be.regions
        assert (gpa, size, off) == (0, 256 << 20, 0)
        bases = [struct.unpack("<II", p[:8]) for r, p, _ in be.log if r == SET_VRING_BASE]
        assert sorted(bases) == [(0, 0), (1, 0)]
        enables = [struct.unpack("<II", p[:8]) for r, p, _ in be.log if r == SET_VRING_ENABLE]
        assert sorted(enables) == [(0, 1), (1, 1)]
        assert [n for r, _, n in be.log if r in (SET_VRING_KICK, SET_VRING_CALL)] == [1] * 4
        assert reflect(be, 30) >= 4
        assert v.wait_exit() == 1, v.out()
    finally:
        be.close()
    out = v.out()
    assert "ping ok replies=3" in out and "PASS net" in out, out


def test_kicks_by_ioeventfd_and_calls_interrupt(tmp_path, vms):
    v = Vmx(tmp_path, RESPOND % 60)
    vms.append(v)
    be = Backend(v.socks[0])
    try:
        be.wait(lambda: be.running(0) and be.running(1), what="rings")
        assert ping_guest(be, 1)
        st = v.stats()
        assert st["connected"] == 1 and st["connects"] == 1
        assert st["calls"] >= 2 and st["interrupts"] >= 2, st
        if st["ioeventfd"]:
            # the guest's notifies reached the kick fds without an exit to vmx
            assert st["notifications"] == 0 and st["relayed_kicks"] == 0, st
        else:
            print("note: KVM has no ioeventfd here; vmx relayed the kicks")
            assert st["relayed_kicks"] >= 1, st
    finally:
        be.close()


def test_hangup_link_down_then_replay_from_used_index(tmp_path, vms):
    v = Vmx(tmp_path, RESPOND % 120)
    vms.append(v)
    be = Backend(v.socks[0])
    be.wait(lambda: be.running(0) and be.running(1), what="rings")
    for seq in (1, 2):
        assert ping_guest(be, seq)
    used = [be.used_idx(0), be.used_idx(1)]
    assert used[0] >= 2 and used[1] >= 2
    be.close()
    wait_for(lambda: not v.c.result("query")["nics"][0]["connected"], what="link down")
    st = v.stats()
    assert st["disconnects"] == 1
    # config space: the link is down (status at config offset 6 via the guest is
    # not visible here; the config-change interrupt is)
    be2 = Backend(v.socks[0])
    try:
        be2.wait(lambda: be2.running(0) and be2.running(1), what="rings again")
        bases = dict(struct.unpack("<II", p[:8]) for r, p, _ in be2.log if r == SET_VRING_BASE)
        assert bases == {0: used[0], 1: used[1]}, (bases, used)
        assert ping_guest(be2, 3)
        assert v.c.result("query")["nics"][0]["connected"]
    finally:
        be2.close()
    assert v.proc.poll() is None


def test_second_backend_waits_for_the_first(tmp_path, vms):
    v = Vmx(tmp_path, RESPOND % 60)
    vms.append(v)
    be = Backend(v.socks[0])
    be.wait(lambda: be.running(1), what="rings")
    be2 = Backend(v.socks[0])
    try:
        time.sleep(0.5)
        assert be2.requests() == [], "a second back end was served while one is connected"
        be.close()
        be2.wait(lambda: be2.running(0) and be2.running(1), what="the second back end")
        assert ping_guest(be2, 1)
    finally:
        be.close()
        be2.close()


def garbage(be, req, payload):
    be.sock.sendall(os.urandom(64))


def wrong_reply(be, req, payload):
    # a reply for another request, claiming a huge payload
    be.sock.sendall(struct.pack("<III", req + 1, 1 | 4, 0xffffff))


def refuse(be, req, payload):
    if req in (GET_FEATURES,):
        be._reply(req, struct.pack("<Q", 1 << 32 | 1 << 30))
    elif req == GET_PROTOCOL_FEATURES:
        be._reply(req, struct.pack("<Q", 1 << 3))
    else:
        be._reply(req, struct.pack("<Q", 1))      # REPLY_ACK: failed


def silent(be, req, payload):
    pass


def short_reply(be, req, payload):
    be.sock.sendall(struct.pack("<III", req, 1 | 4, 2) + b"\0\0")


@pytest.mark.parametrize("hostile", [garbage, wrong_reply, refuse, silent, short_reply])
def test_hostile_backend(tmp_path, vms, hostile):
    """A back end that answers garbage is dropped; vmx and the guest go on."""
    v = Vmx(tmp_path, RESPOND % 60)
    vms.append(v)
    for _ in range(2):
        bad = Backend(v.socks[0], hostile=hostile)
        bad.wait(lambda: bad.closed or len(bad.log) > 0, what="a request")
        wait_for(lambda: v.stats()["vhost_errors"] >= 1 or bad.closed, what="drop")
        bad.close()
    wait_for(lambda: not v.c.result("query")["nics"][0]["connected"], what="dropped")
    assert v.proc.poll() is None
    be = Backend(v.socks[0])
    try:
        be.wait(lambda: be.running(0) and be.running(1), what="a good back end")
        assert ping_guest(be, 7)
    finally:
        be.close()
    err = v.stop()
    assert "back end dropped" in err, err


def test_backend_lacking_guest_features_is_refused(tmp_path, vms):
    v = Vmx(tmp_path, RESPOND % 60)
    vms.append(v)
    wait_for(lambda: "respond:" in v.out(), what="guest ready")
    be = Backend(v.socks[0], features=(1 << 30))     # no VERSION_1
    try:
        be.wait(lambda: be.closed, what="vmx to hang up")
    finally:
        be.close()
    assert SET_FEATURES not in be.requests()
    assert v.proc.poll() is None
    assert "lacks features" in v.stop()


def test_control_reset_ends_vmx_and_backend_sees_hangup(tmp_path, vms):
    v = Vmx(tmp_path, RESPOND % 60)
    vms.append(v)
    be = Backend(v.socks[0])
    try:
        be.wait(lambda: be.running(0) and be.running(1), what="rings")
        v.c.result("reset")            # --on-reset shutdown: vmx exits 0
        assert v.wait_exit() == 0
        be.wait(lambda: be.closed, what="hang-up")
    finally:
        be.close()
    assert not os.path.exists(v.socks[0])


# ---- control: reset, shutdown ----

def test_control_reset_restart_and_shutdown(tmp_path, vms):
    v = Vmx(tmp_path, RESPOND % 60, "--on-reset", "restart")
    vms.append(v)
    q = v.c.result("query")
    # the power button: this guest does not act on it and keeps running
    assert v.c.result("shutdown") == {"state": "shutdown requested"}
    assert v.c.result("query")["state"] == "running"
    assert v.c.result("reset")["on_reset"] == "restart"
    # the same process re-executes itself: a fresh VM on the same sockets
    v.c.close()
    deadline, q2 = time.monotonic() + 20, None
    while q2 is None or q2["vcpu_tids"] == q["vcpu_tids"]:
        assert time.monotonic() < deadline, "vmx did not come back after reset"
        time.sleep(0.05)
        try:
            v.c = Control(v.ctl)
            q2 = v.c.result("query")
        except (OSError, ValueError):
            q2 = None
    assert q2["pid"] == q["pid"] and os.path.exists(v.socks[0])
    assert q2["nics"][0]["path"] == v.socks[0]


# ---- with the real datapath ----

def dpswitch_has_vhost():
    if not os.path.exists(DPSWITCH):
        return False
    r = subprocess.run([DPSWITCH, "run", "--help"], capture_output=True, text=True)
    return "--vhost" in r.stdout + r.stderr


def ping_cmd():
    if shutil.which("ping"):
        return ["ping"]
    if shutil.which("busybox"):
        return ["busybox", "ping"]
    return None


class Dpswitch:
    def __init__(self, netns, sock, log):
        self.log = open(log, "w")
        self.proc = subprocess.Popen([DPSWITCH, "run", "--seconds", "300", "--vhost",
                                      "vm0=" + sock, "--tap", "vmkt0@%s=%s" % (
                                          netns.name, "02:00:00:77:00:01")],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        assert "ready" in line, line

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()


@pytest.fixture
def dpswitch_ns(netns):
    if not dpswitch_has_vhost():
        pytest.skip("SKIPPED LOUDLY: vmk-dpswitch has no --vhost yet (engineer A's work)")
    yield netns


def tap_up(netns):
    wait_for(lambda: netns.ip("link", "show", "vmkt0", check=False).returncode == 0,
             what="TAP vmkt0")
    netns.ip("addr", "add", PEER_IP + "/24", "dev", "vmkt0")
    netns.ip("link", "set", "vmkt0", "up")


def test_dpswitch_guest_pings_tap(tmp_path, vms, dpswitch_ns):
    ns = dpswitch_ns
    v = Vmx(tmp_path, PING, paused=True)
    vms.append(v)
    sw = Dpswitch(ns, v.socks[0], str(tmp_path / "dp.log"))
    try:
        tap_up(ns)
        wait_for(lambda: v.c.result("query")["nics"][0]["connected"], what="back end")
        v.c.result("resume")
        assert v.wait_exit() == 1, v.out()
    finally:
        sw.kill()
    assert "ping ok replies=3" in v.out()


def test_dpswitch_responder_and_backend_restart(tmp_path, vms, dpswitch_ns):
    ns = dpswitch_ns
    ping = ping_cmd()
    if not ping:
        pytest.skip("SKIPPED LOUDLY: no ping (iputils or busybox) on this machine")
    v = Vmx(tmp_path, RESPOND % 120)
    vms.append(v)
    sw = Dpswitch(ns, v.socks[0], str(tmp_path / "dp.log"))
    try:
        tap_up(ns)
        wait_for(lambda: v.c.result("query")["nics"][0]["connected"], what="back end")
        r = ns.exec(*ping, "-c", "3", "-W", "2", GUEST_IP, timeout=60)
        assert r.returncode == 0 and "3 packets received" in r.stdout + r.stderr, r.stdout
        sw.kill()
        wait_for(lambda: not v.c.result("query")["nics"][0]["connected"], what="link down")
        sw = Dpswitch(ns, v.socks[0], str(tmp_path / "dp2.log"))
        tap_up(ns)
        wait_for(lambda: v.c.result("query")["nics"][0]["connected"], what="back end again")
        r = ns.exec(*ping, "-c", "3", "-W", "2", GUEST_IP, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        sw.kill()
    assert v.proc.poll() is None
