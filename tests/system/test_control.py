"""vmx's control socket (JSON lines) and console back ends."""
import json
import os
import socket
import subprocess
import time

from conftest import VMX, guest


def wait_for(path, seconds=10):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        assert time.monotonic() < deadline, "no socket at " + path
        time.sleep(0.02)


class Control:
    def __init__(self, path):
        wait_for(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(20)
        self.sock.connect(path)
        self.file = self.sock.makefile("r")
        self.next_id = 1

    def call(self, method):
        self.sock.sendall(json.dumps({"id": self.next_id, "method": method}).encode() + b"\n")
        reply = json.loads(self.file.readline())
        assert reply["id"] == self.next_id
        self.next_id += 1
        return reply

    def raw(self, line):
        self.sock.sendall(line + b"\n")
        return json.loads(self.file.readline())


def start_dirtier(tmp_path, *extra):
    ctl = str(tmp_path / "ctl.sock")
    out = str(tmp_path / "serial.log")
    p = subprocess.Popen([VMX, "--kernel", guest("dirty"), "--debug-exit", "--cmdline",
                          "dirty.mb=2 dirty.rate=200 dirty.seconds=0", "--control", ctl,
                          "--serial", "file:" + out] + list(extra),
                         stderr=subprocess.PIPE)
    return p, Control(ctl), out


def test_query_pause_resume_stop(tmp_path):
    p, c, out = start_dirtier(tmp_path, "--cpus", "2")
    try:
        q = c.call("query")["result"]
        assert q["state"] == "running" and q["cpus"] == 2 and q["pid"] == p.pid
        assert c.call("pause")["result"]["state"] == "paused"
        size = os.path.getsize(out)
        time.sleep(1.5)
        assert os.path.getsize(out) == size, "guest ran while paused"
        assert c.call("resume")["result"]["state"] == "running"
        deadline = time.monotonic() + 20
        while os.path.getsize(out) == size:
            assert time.monotonic() < deadline, "guest did not run after resume"
            time.sleep(0.1)
        assert c.call("stop")["result"]["state"] == "stopping"
        assert p.wait(timeout=20) == 0
        assert not os.path.exists(str(tmp_path / "ctl.sock"))
    finally:
        p.kill()
        p.wait()


def test_stats(tmp_path):
    p, c, _ = start_dirtier(tmp_path)
    try:
        time.sleep(1)
        s = c.call("stats")["result"]
        assert len(s["vcpus"]) == 1
        v = s["vcpus"][0]
        assert v["run_ns"] > 0 and v["exits"]["io"] > 0, s
        serial = [d for name, d in s["devices"].items() if "serial" in name]
        assert serial and max(serial[0].values()) > 0, s
    finally:
        p.kill()
        p.wait()


def test_bad_requests(tmp_path):
    p, c, _ = start_dirtier(tmp_path)
    try:
        assert c.raw(b"{not json")["error"]["code"] == -32700
        assert c.raw(b'{"id": 7}')["error"]["code"] == -32600
        assert c.raw(b'{"id": 8, "method": "explode"}')["error"]["code"] == -32601
        assert c.call("query")["result"]["state"] == "running"
    finally:
        p.kill()
        p.wait()


def test_sigterm_stops_cleanly(tmp_path):
    p, c, _ = start_dirtier(tmp_path)
    p.terminate()
    assert p.wait(timeout=20) == 0
    assert not os.path.exists(str(tmp_path / "ctl.sock"))


def test_unix_console(tmp_path):
    con = str(tmp_path / "con.sock")
    p = subprocess.Popen([VMX, "--kernel", guest("dirty"), "--debug-exit", "--cmdline",
                          "dirty.mb=1 dirty.rate=100 dirty.seconds=3", "--serial", "unix:" + con])
    try:
        wait_for(con)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(con)
        s.settimeout(30)
        data = b""
        while b"PASS dirty" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        assert b"dirty: gen=" in data and b"PASS dirty" in data, data
        assert p.wait(timeout=30) == 1
        assert not os.path.exists(con)
    finally:
        p.kill()
        p.wait()
