#!/usr/bin/python3
"""VM-to-VM frame rate: vmk's vSwitch with two vhost-user VM ports
against a Linux bridge with two TAPs.

vmk: vmk-dpswitch with two --vhost ports; on each, a synthetic VM
(build/bench/vmk-vhostfe: a vhost-user front end with a guest driver of
its own in a memfd, no KVM) is the socket server, as vmx is.  VM A sends
COUNT frames as fast as its TX ring drains; VM B counts what reaches its
RX ring.  Bridge: the same program writes the same frames into one TAP
and reads them from another, both on a Linux bridge in a namespace made
here (TAPs with the 12-byte virtio-net header, as vmknics have).

The rate is frames received per second at B, from its first frame to its
last; what B's ring or TAP queue had no room for is lost and reported.
Frame sizes: 60 bytes (64 on the wire with the FCS) and 1514 (a full
1500-byte MTU frame).  RUNS runs per case, alternating, median.

Network safety: one namespace made here (vhb<pid>), a bridge and two
TAPs inside it, nothing else; deleted on exit.

usage: bench/vhost.py [COUNT64 [RUNS]]   (default 1000000 3; as root)"""
import os
import signal
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import BUILD  # noqa: E402

FE = os.path.join(BUILD, "bench", "vmk-vhostfe")
DPSWITCH = os.path.join(BUILD, "src", "host", "datapath", "vmk-dpswitch")
NS = "vhb%d" % os.getpid()
MAC_A, MAC_B = "00:50:56:7c:00:01", "00:50:56:7c:00:02"
TIMEOUT = 120


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True)


def start(argv, stdin=None):
    return subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, text=True)


def wait_line(proc, want):
    for _ in range(4):
        line = proc.stdout.readline().strip()
        if line == want:
            return
        if not line:
            break
    raise RuntimeError("%s: no '%s'" % (proc.args[0], want))


def finish(proc):
    out = proc.communicate(timeout=TIMEOUT)[0].split()
    return int(out[1]), float(out[4])   # "<verb> N frames in T s"


def run_pair(recv_argv, send_argv, after_ready=None):
    """Starts the receiver, then the sender, says go; returns (received
    per second, sent, received)."""
    rx = start(recv_argv)
    tx = start(send_argv, stdin=subprocess.PIPE)
    try:
        if after_ready:
            after_ready()
        wait_line(rx, "ready")
        wait_line(tx, "ready")
        tx.stdin.write("go\n")
        tx.stdin.flush()
        sent, _ = finish(tx)
        got, secs = finish(rx)
    finally:
        for p in (tx, rx):
            if p.poll() is None:
                p.kill()
                p.wait()
    return (got / secs if secs > 0 else 0.0), sent, got


def vmk_run(size, count, tmp):
    a, b = os.path.join(tmp, "a.sock"), os.path.join(tmp, "b.sock")
    sw = []

    def switch():
        sw.append(start([DPSWITCH, "run", "--mtu", "1500",
                         "--vhost", "vmb=%s@%s" % (b, MAC_B),
                         "--vhost", "vma=%s@%s" % (a, MAC_A)]))
    try:
        return run_pair(
            [FE, "recv", "--socket", b, "--count", str(count)],
            [FE, "send", "--socket", a, "--count", str(count), "--size", str(size),
             "--dst", MAC_B, "--src", MAC_A],
            after_ready=switch)
    finally:
        for p in sw:
            p.send_signal(signal.SIGTERM)
            p.communicate(timeout=10)


def bridge_run(size, count):
    def attach():
        for tap in ("tb", "ta"):
            for _ in range(100):
                if subprocess.run(["ip", "-n", NS, "link", "show", tap],
                                  capture_output=True).returncode == 0:
                    break
                subprocess.run(["sleep", "0.05"])
            sh("ip -n %s link set %s master br0 && ip -n %s link set %s up"
               % (NS, tap, NS, tap))
    return run_pair(
        [FE, "tap-recv", "--tap", "tb@" + NS, "--count", str(count)],
        [FE, "tap-send", "--tap", "ta@" + NS, "--count", str(count),
         "--size", str(size), "--dst", MAC_B, "--src", MAC_A],
        after_ready=attach)


def main():
    count64 = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    if os.geteuid() != 0:
        sys.exit("needs root (namespace, bridge, TAPs)")
    for exe in (FE, DPSWITCH):
        if not os.access(exe, os.X_OK):
            sys.exit("no %s: build first (./scripts/build.sh)" % exe)
    sh("ip netns add %s && ip -n %s link set lo up" % (NS, NS))
    try:
        sh("ip netns exec %s sysctl -qw net.ipv6.conf.all.disable_ipv6=1 "
           "net.ipv6.conf.default.disable_ipv6=1" % NS)
        sh("ip -n %s link add br0 type bridge && ip -n %s link set br0 up" % (NS, NS))
        ratios = {}
        with tempfile.TemporaryDirectory(prefix="vmk-vhb-") as tmp:
            for size, count in ((60, count64), (1514, max(count64 // 4, 1000))):
                res = {"vmk": [], "bridge": []}
                for _ in range(runs):
                    res["vmk"].append(vmk_run(size, count, tmp))
                    res["bridge"].append(bridge_run(size, count))
                rate = {}
                for name, label in (("vmk", "vmk vSwitch (vhost-user VM ports)"),
                                    ("bridge", "Linux bridge (TAPs)")):
                    rs = res[name]
                    rate[name] = statistics.median(r[0] for r in rs)
                    lost = statistics.median(1 - r[2] / r[1] for r in rs)
                    print("  %4d B  %-36s %s kframes/s received (median %.0f; "
                          "lost %.1f%%)" % (size + 4 if size == 60 else size, label,
                                          " ".join("%.0f" % (r[0] / 1e3) for r in rs),
                                          rate[name] / 1e3, 100 * lost))
                ratios[size] = rate["vmk"] / rate["bridge"]
        print("VM-to-VM frame rate ratio vSwitch/bridge: 64 B %.2f, 1514 B %.2f"
              % (ratios[60], ratios[1514]))
    finally:
        subprocess.run(["ip", "netns", "del", NS], stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
