"""vmkping: ICMP echo from a VMkernel TCP/IP stack (docs/vmkping.md).

Each test builds a fake vmk instance by hand, the way vmkd lays one out
in the kernel (docs/vmkd.md), without vmkd:

  vmkt-T-dflt      stands in for vmkd's namespace (defaultTcpipStack): a
                   sleeping process in it is "vmkd", its pid in
                   $VMK_ROOT/run/vmk/T/vmkd.pid; adapter vmk0 10.66.0.1/24
  vmk-T-vmotion    stack "vmotion": adapter vmk1 10.77.0.1/24, fd00:77::1/64
  vmk-T-other      stack "other": nothing but lo
  vmkt-T-peer      the far end of both veth pairs: 10.66.0.2, 10.77.0.2,
                   fd00:77::2 (not a stack of the instance)

Network safety: only these namespaces and the veth pairs between them;
the machine's own interfaces are never touched, no namespace has a route
out (the only routes added point at the peer namespace, which has none),
every wait is bounded, and everything is deleted after each test.
"""
import os
import re
import signal
import subprocess
import time
import uuid

import pytest

from conftest import BUILD

VMKPING = os.path.join(BUILD, "src", "cli", "vmkping")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")


def sh(*argv, check=True):
    return subprocess.run(list(argv), check=check, capture_output=True, text=True, timeout=30)


class Instance:
    """A hand-made instance T with stacks defaultTcpipStack, vmotion, other."""

    def __init__(self, root):
        self.name = "t" + uuid.uuid4().hex[:7]
        t = self.name
        self.root = root
        self.dflt, self.vmotion, self.other, self.peer = (
            "vmkt-%s-dflt" % t, "vmk-%s-vmotion" % t, "vmk-%s-other" % t, "vmkt-%s-peer" % t)
        self.namespaces = []
        self.holder = None

    def setup(self):
        t = self.name
        for ns in (self.dflt, self.vmotion, self.other, self.peer):
            sh("ip", "netns", "add", ns)
            self.namespaces.append(ns)
            self.ip(ns, "link", "set", "lo", "up")
            # no duplicate address detection: link-local addresses usable at once
            self.sysctl(ns, "net.ipv6.conf.default.accept_dad", "0")
        # vmk1 on the vmotion stack, wired to the peer
        sh("ip", "link", "add", "v1" + t, "netns", self.vmotion, "type", "veth",
           "peer", "name", "p1" + t, "netns", self.peer)
        self.ip(self.vmotion, "link", "set", "v1" + t, "name", "vmk1")
        self.ip(self.vmotion, "addr", "add", "10.77.0.1/24", "dev", "vmk1")
        self.ip(self.vmotion, "addr", "add", "fd00:77::1/64", "dev", "vmk1", "nodad")
        self.ip(self.vmotion, "link", "set", "vmk1", "up")
        self.ip(self.peer, "addr", "add", "10.77.0.2/24", "dev", "p1" + t)
        self.ip(self.peer, "addr", "add", "fd00:77::2/64", "dev", "p1" + t, "nodad")
        self.ip(self.peer, "link", "set", "p1" + t, "up")
        # vmk0 on defaultTcpipStack, wired to the peer
        sh("ip", "link", "add", "v0" + t, "netns", self.dflt, "type", "veth",
           "peer", "name", "p0" + t, "netns", self.peer)
        self.ip(self.dflt, "link", "set", "v0" + t, "name", "vmk0")
        self.ip(self.dflt, "addr", "add", "10.66.0.1/24", "dev", "vmk0")
        self.ip(self.dflt, "link", "set", "vmk0", "up")
        self.ip(self.peer, "addr", "add", "10.66.0.2/24", "dev", "p0" + t)
        self.ip(self.peer, "link", "set", "p0" + t, "up")
        # "vmkd": a process in the default namespace, and its pid file
        self.holder = subprocess.Popen(["ip", "netns", "exec", self.dflt, "sleep", "600"])
        want = os.stat("/run/netns/" + self.dflt).st_ino
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if os.stat("/proc/%d/ns/net" % self.holder.pid).st_ino == want:
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.01)
        else:
            raise RuntimeError("the stand-in vmkd did not enter " + self.dflt)
        run = os.path.join(self.root, "run", "vmk", t)
        os.makedirs(run)
        with open(os.path.join(run, "vmkd.pid"), "w") as f:
            f.write("%d\n" % self.holder.pid)
        self.wait_link_up()

    def ip(self, ns, *args):
        return sh("ip", "-n", ns, *args)

    def sysctl(self, ns, key, value):
        sh("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "%s=%s" % (key, value))

    def wait_link_up(self):
        """Until both ends of vmk1 and vmk0 are up and IPv6 can be used (bounded)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ready = True
            for ns, dev in ((self.vmotion, "vmk1"), (self.peer, "p1" + self.name)):
                out = self.ip(ns, "-6", "addr", "show", "dev", dev).stdout
                up = "LOWER_UP" in self.ip(ns, "link", "show", dev).stdout
                ready = ready and up and "tentative" not in out and "scope link" in out
            if ready:
                return
            time.sleep(0.05)
        raise RuntimeError("vmk1 and its peer did not come up")

    def set_mtu(self, mtu):
        self.ip(self.vmotion, "link", "set", "vmk1", "mtu", str(mtu))
        self.ip(self.peer, "link", "set", "p1" + self.name, "mtu", str(mtu))

    def vmkping(self, *args, netns=None, env_instance=True, timeout=30, root=None):
        env = dict(os.environ, VMK_ROOT=root if root is not None else self.root)
        env.pop("VMK_INSTANCE", None)
        if env_instance:
            env["VMK_INSTANCE"] = self.name
        argv = [VMKPING] + list(args)
        if netns:
            argv = ["ip", "netns", "exec", netns] + argv
        t0 = time.monotonic()
        p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
        p.seconds = time.monotonic() - t0
        return p

    def cleanup(self):
        if self.holder:
            self.holder.kill()
            self.holder.wait()
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.fixture
def inst(tmp_path):
    i = Instance(str(tmp_path))
    try:
        i.setup()
        yield i
    finally:
        i.cleanup()     # also after a setup that failed half way


REPLY = re.compile(r"^(\d+) bytes from ([0-9a-f.:]+): icmp_seq=(\d+) ttl=(\d+) time=(\d+\.\d{3}) ms$")


def replies(out):
    return [REPLY.match(line) for line in out.splitlines() if REPLY.match(line)]


def check_ok(p, host, count, size=56):
    """The reference's output for count answered requests."""
    assert p.returncode == 0, p
    lines = p.stdout.split("\n")
    assert lines[0] == "PING %s (%s): %d data bytes" % (host, host, size), p.stdout
    got = replies(p.stdout)
    assert [int(m.group(3)) for m in got] == list(range(count)), p.stdout
    assert all(int(m.group(1)) == size + 8 and m.group(2) == host for m in got), p.stdout
    assert lines[1 + count] == "", p.stdout
    assert lines[2 + count] == "--- %s ping statistics ---" % host, p.stdout
    assert lines[3 + count] == ("%d packets transmitted, %d packets received, 0%% packet loss"
                                % (count, count)), p.stdout
    assert re.match(r"^round-trip min/avg/max = \d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3} ms$",
                    lines[4 + count]), p.stdout
    assert lines[5:] and p.stdout.endswith("ms\n\n"), p.stdout


def test_interface_reaches_peer(inst):
    """-I vmk1 finds the adapter on the vmotion stack by itself, from the
    machine's own shell, with the reference's defaults (3 requests, 56 bytes)."""
    p = inst.vmkping("-I", "vmk1", "10.77.0.2")
    check_ok(p, "10.77.0.2", 3)
    assert 1.5 < p.seconds < 10, p.seconds      # one a second
    assert p.stderr == ""


def test_instance_option(inst):
    p = inst.vmkping("--instance", inst.name, "-I", "vmk1", "-c", "1", "10.77.0.2",
                     env_instance=False)
    check_ok(p, "10.77.0.2", 1)
    p = inst.vmkping("--instance=" + inst.name, "-c", "1", "-I", "vmk1", "10.77.0.2",
                     env_instance=False)
    check_ok(p, "10.77.0.2", 1)
    # another instance has no vmk1
    p = inst.vmkping("--instance", inst.name + "x", "-I", "vmk1", "10.77.0.2",
                     env_instance=False)
    assert p.returncode == 2 and "Unknown interface 'vmk1'" in p.stderr, p


def test_from_another_namespace(inst):
    """Works from a shell inside some other namespace too."""
    p = inst.vmkping("-I", "vmk1", "-c", "2", "-i", "0.2", "10.77.0.2", netns=inst.other)
    check_ok(p, "10.77.0.2", 2)


def test_netstack_right_and_wrong(inst):
    p = inst.vmkping("-S", "vmotion", "-c", "2", "-i", "0.2", "10.77.0.2")
    check_ok(p, "10.77.0.2", 2)
    p = inst.vmkping("++netstack=vmotion", "-c", "2", "-i", "0.2", "10.77.0.2")
    check_ok(p, "10.77.0.2", 2)
    # the other stack has no way there
    p = inst.vmkping("-S", "other", "-c", "2", "-i", "0.2", "10.77.0.2")
    assert p.returncode == 1, p
    assert p.stdout.count("sendto() failed (Network is unreachable)") == 2, p.stdout
    assert "2 packets transmitted, 0 packets received, 100% packet loss" in p.stdout
    assert "round-trip" not in p.stdout
    # nor has defaultTcpipStack (vmkd's namespace, from the pid file)
    p = inst.vmkping("-S", "defaultTcpipStack", "-c", "1", "10.77.0.2")
    assert p.returncode == 1 and "Network is unreachable" in p.stdout, p


def test_default_stack_is_vmkds_namespace(inst):
    """Without -S and -I, the stack is defaultTcpipStack: vmkd's namespace."""
    p = inst.vmkping("-c", "2", "-i", "0.2", "10.66.0.2")
    check_ok(p, "10.66.0.2", 2)
    p = inst.vmkping("-I", "vmk0", "-c", "1", "10.66.0.2")
    check_ok(p, "10.66.0.2", 1)
    p = inst.vmkping("-I", "vmk0", "-S", "defaultTcpipStack", "-c", "1", "10.66.0.2")
    check_ok(p, "10.66.0.2", 1)


def test_default_stack_without_vmkd(inst, tmp_path):
    """No vmkd pid file: defaultTcpipStack is the caller's own namespace."""
    empty = str(tmp_path / "novmkd")
    os.makedirs(empty)
    p = inst.vmkping("-c", "1", "10.66.0.2", netns=inst.dflt, root=empty)
    check_ok(p, "10.66.0.2", 1)
    p = inst.vmkping("-I", "vmk0", "-c", "1", "10.66.0.2", netns=inst.dflt, root=empty)
    check_ok(p, "10.66.0.2", 1)
    # a stale pid file is ignored as well
    run = tmp_path / "stale" / "run" / "vmk" / inst.name
    os.makedirs(run)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (run / "vmkd.pid").write_text("%d\n" % dead.pid)
    p = inst.vmkping("-c", "1", "10.66.0.2", netns=inst.dflt, root=str(tmp_path / "stale"))
    check_ok(p, "10.66.0.2", 1)


@pytest.mark.parametrize("kind", ["raw", "datagram"])
def test_socket_kinds(inst, kind):
    """A datagram ICMP socket where the stack's ping_group_range allows it,
    else a raw one; the output is the same."""
    inst.sysctl(inst.vmotion, "net.ipv4.ping_group_range",
                "0 2147483647" if kind == "datagram" else "1 0")
    for args, host in ((["-4"], "10.77.0.2"), (["-6"], "fd00:77::2")):
        p = inst.vmkping("-v", "-I", "vmk1", "-c", "2", "-i", "0.2", *args, host)
        check_ok(p, host, 2)
        assert "%s ICMP socket" % kind in p.stderr, p.stderr
        assert "netstack vmotion" in p.stderr and "interface vmk1" in p.stderr, p.stderr


def test_ipv6(inst):
    p = inst.vmkping("-6", "-I", "vmk1", "-c", "2", "-i", "0.2", "fd00:77::2")
    check_ok(p, "fd00:77::2", 2)
    out = inst.ip(inst.peer, "-6", "addr", "show", "dev", "p1" + inst.name, "scope", "link").stdout
    ll = re.search(r"inet6 (fe80::[0-9a-f:]+)/", out).group(1)
    p = inst.vmkping("-6", "-I", "vmk1", "-c", "1", ll)
    check_ok(p, ll, 1)
    p = inst.vmkping("-S", "vmotion", "-c", "1", ll + "%vmk1")
    assert p.returncode == 0 and replies(p.stdout), p
    p = inst.vmkping("-S", "vmotion", "-c", "1", ll)
    assert p.returncode == 2 and "link-local" in p.stderr, p


def test_df_jumbo(inst):
    """-d -s 8972: a 9000-byte IPv4 packet passes at MTU 9000 and fails at
    1500 with the reference's message."""
    inst.set_mtu(9000)
    p = inst.vmkping("-I", "vmk1", "-d", "-s", "8972", "-c", "2", "-i", "0.2", "10.77.0.2")
    check_ok(p, "10.77.0.2", 2, size=8972)
    assert "8980 bytes from 10.77.0.2" in p.stdout
    inst.set_mtu(1500)
    p = inst.vmkping("-I", "vmk1", "-d", "-s", "8972", "10.77.0.2")
    assert p.returncode == 1, p
    assert p.stdout == ("PING 10.77.0.2 (10.77.0.2): 8972 data bytes\n"
                        + "sendto() failed (Message too long)\n" * 3
                        + "\n--- 10.77.0.2 ping statistics ---\n"
                        "3 packets transmitted, 0 packets received, 100% packet loss\n\n"), p.stdout
    # without -d the stack fragments and the ping goes through
    p = inst.vmkping("-I", "vmk1", "-s", "8972", "-c", "1", "10.77.0.2")
    check_ok(p, "10.77.0.2", 1, size=8972)
    # -d at the edge of MTU 1500: 1472 + 8 + 20 = 1500 passes, 1473 does not
    p = inst.vmkping("-I", "vmk1", "-d", "-s", "1472", "-c", "1", "10.77.0.2")
    check_ok(p, "10.77.0.2", 1, size=1472)
    p = inst.vmkping("-I", "vmk1", "-d", "-s", "1473", "-c", "1", "10.77.0.2")
    assert p.returncode == 1 and "sendto() failed (Message too long)" in p.stdout, p
    # IPv6: 1452 + 8 + 40 = 1500
    p = inst.vmkping("-6", "-I", "vmk1", "-d", "-s", "1452", "-c", "1", "fd00:77::2")
    check_ok(p, "fd00:77::2", 1, size=1452)
    p = inst.vmkping("-6", "-I", "vmk1", "-d", "-s", "1453", "-c", "1", "fd00:77::2")
    assert p.returncode == 1 and "sendto() failed (Message too long)" in p.stdout, p


def test_count_and_interval(inst):
    p = inst.vmkping("-I", "vmk1", "-c", "5", "-i", "0.25", "10.77.0.2")
    check_ok(p, "10.77.0.2", 5)
    assert 0.9 < p.seconds < 5, p.seconds
    p = inst.vmkping("-I", "vmk1", "-c", "20", "-i", "0.01", "10.77.0.2")
    check_ok(p, "10.77.0.2", 20)
    assert p.seconds < 5, p.seconds


def test_timeout_when_nothing_answers(inst):
    """The peer ignores echo requests: the run ends -W after the last one."""
    inst.sysctl(inst.peer, "net.ipv4.icmp_echo_ignore_all", "1")
    p = inst.vmkping("-I", "vmk1", "-c", "3", "-i", "0.2", "-W", "0.5", "10.77.0.2")
    assert p.returncode == 1, p
    assert "3 packets transmitted, 0 packets received, 100% packet loss" in p.stdout, p.stdout
    assert 0.8 < p.seconds < 4, p.seconds
    p = inst.vmkping("-I", "vmk1", "-c", "1", "-W", "2", "10.77.0.2")
    assert p.returncode == 1 and 1.8 < p.seconds < 6, (p, p.seconds)


def test_deadline(inst):
    # -w alone: requests until the deadline
    p = inst.vmkping("-I", "vmk1", "-w", "1", "-i", "0.2", "10.77.0.2")
    assert p.returncode == 0, p
    assert 0.9 < p.seconds < 4, p.seconds
    n = len(replies(p.stdout))
    assert 4 <= n <= 6, p.stdout
    assert "%d packets transmitted, %d packets received, 0%% packet loss" % (n, n) in p.stdout
    # the deadline cuts a long count short
    inst.sysctl(inst.peer, "net.ipv4.icmp_echo_ignore_all", "1")
    p = inst.vmkping("-I", "vmk1", "-w", "1", "-c", "100", "-i", "0.2", "-W", "5", "10.77.0.2")
    assert p.returncode == 1, p
    assert 0.9 < p.seconds < 4, p.seconds
    assert re.search(r"^[4-6] packets transmitted, 0 packets received, 100% packet loss$",
                     p.stdout, re.M), p.stdout


def test_interrupt_prints_statistics(inst):
    env = dict(os.environ, VMK_ROOT=inst.root, VMK_INSTANCE=inst.name)
    proc = subprocess.Popen([VMKPING, "-I", "vmk1", "-c", "1000", "-i", "0.1", "10.77.0.2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, (out, err)
    assert "--- 10.77.0.2 ping statistics ---" in out
    n = len(replies(out))
    assert 2 <= n < 1000, out
    assert "%d packets transmitted, %d packets received" % (n, n) in out, out


def test_ttl(inst):
    """-t 1 through a router: the router's Time Exceeded is reported; with
    room to live the reply comes back one hop lower."""
    inst.sysctl(inst.peer, "net.ipv4.ip_forward", "1")
    inst.ip(inst.vmotion, "route", "add", "10.66.0.0/24", "via", "10.77.0.2")
    inst.ip(inst.dflt, "route", "add", "10.77.0.0/24", "via", "10.66.0.2")
    p = inst.vmkping("-I", "vmk1", "-t", "1", "-c", "2", "-i", "0.2", "10.66.0.1")
    assert p.returncode == 1, p
    assert p.stdout.count("From 10.77.0.2: icmp_seq=") == 2, p.stdout
    assert "Time to Live Exceeded" in p.stdout, p.stdout
    p = inst.vmkping("-I", "vmk1", "-c", "1", "10.66.0.1")
    check_ok(p, "10.66.0.1", 1)
    assert replies(p.stdout)[0].group(4) == "63", p.stdout


def test_unreachable_neighbour(inst):
    """Nobody has the address: the stack's own Host Unreachable is shown."""
    inst.sysctl(inst.vmotion, "net.ipv4.ping_group_range", "0 2147483647")
    p = inst.vmkping("-S", "vmotion", "-c", "1", "-W", "6", "10.77.0.99")
    assert p.returncode == 1, p
    assert "From 10.77.0.1: icmp_seq=0 Destination Host Unreachable" in p.stdout, p.stdout
    assert p.seconds < 8


def test_next_hop_bypasses_the_routes(inst):
    """-N: the requests go to the given next hop, whatever the stack's
    routes say, and nothing of it stays in the stack.  The peer owns
    10.99.0.1; the vmotion stack routes 10.99.0.0/24 through 10.77.0.3,
    which nobody answers."""
    inst.ip(inst.peer, "addr", "add", "10.99.0.1/32", "dev", "lo")
    inst.ip(inst.vmotion, "route", "add", "10.99.0.0/24", "via", "10.77.0.3")
    rules = inst.ip(inst.vmotion, "rule").stdout
    routes = inst.ip(inst.vmotion, "route", "show", "table", "all").stdout
    p = inst.vmkping("-I", "vmk1", "-c", "2", "-i", "0.2", "-W", "1", "10.99.0.1")
    assert p.returncode == 1, p     # through 10.77.0.3: no answer
    p = inst.vmkping("-I", "vmk1", "-N", "10.77.0.2", "-c", "2", "-i", "0.2", "10.99.0.1")
    check_ok(p, "10.99.0.1", 2)
    p = inst.vmkping("-I", "vmk1", "-N", "10.77.0.9", "-c", "2", "-i", "0.2", "-W", "1",
                     "10.99.0.1")
    assert p.returncode == 1, p     # a next hop that is not there
    assert inst.ip(inst.vmotion, "rule").stdout == rules
    assert inst.ip(inst.vmotion, "route", "show", "table", "all").stdout == routes


def test_debug_mode(inst):
    """-D pings the stack's loopback, its adapters' addresses and its gateway."""
    inst.ip(inst.vmotion, "route", "add", "default", "via", "10.77.0.2")
    p = inst.vmkping("-D", "-S", "vmotion", "-c", "1")
    assert p.returncode == 0, p
    heads = [l for l in p.stdout.splitlines() if l.startswith("PING ")]
    assert heads == ["PING 127.0.0.1 (127.0.0.1): 56 data bytes",
                     "PING 10.77.0.1 (10.77.0.1): 56 data bytes",
                     "PING 10.77.0.2 (10.77.0.2): 56 data bytes"], p.stdout
    assert len(replies(p.stdout)) == 3
    # the stack of -I
    p = inst.vmkping("-D", "-I", "vmk0", "-c", "1")
    heads = [l for l in p.stdout.splitlines() if l.startswith("PING ")]
    assert heads == ["PING 127.0.0.1 (127.0.0.1): 56 data bytes",
                     "PING 10.66.0.1 (10.66.0.1): 56 data bytes"], p.stdout
    p = inst.vmkping("-D", "-c", "1", "10.77.0.2")
    assert p.returncode == 2 and "-D takes no host" in p.stderr


def test_errors(inst):
    def err(*args):
        p = inst.vmkping(*args)
        assert p.returncode == 2, p
        assert p.stdout == "", p
        lines = p.stderr.splitlines()
        assert len(lines) == 1, p.stderr
        return lines[0]

    assert err("-I", "vmk9", "10.77.0.2") == "Unknown interface 'vmk9': Invalid argument"
    assert err("-S", "nosuch", "10.77.0.2") == "Unknown netstack 'nosuch'"
    assert err("-I", "vmk9", "-S", "vmotion", "10.77.0.2") == \
        "Unknown interface 'vmk9': Invalid argument"
    assert err("-I", "vmk1", "-S", "other", "10.77.0.2") == \
        "Interface 'vmk1' is not on netstack 'other' (it is on 'vmotion')"
    assert err("-I", "vmk1", "-S", "nosuch", "10.77.0.2") == "Unknown netstack 'nosuch'"
    assert "count" in err("-c", "0", "10.77.0.2")
    assert "count" in err("-c", "x", "10.77.0.2")
    assert "size" in err("-s", "70000", "10.77.0.2")
    assert "ttl" in err("-t", "0", "10.77.0.2")
    assert "interval" in err("-i", "0", "10.77.0.2")
    assert "timeout" in err("-W", "-1", "10.77.0.2")
    assert "deadline" in err("-w", "0", "10.77.0.2")
    assert "unknown option" in err("-z", "10.77.0.2")
    assert "needs a value" in err("10.77.0.2", "-c")
    assert err("-N", "10.77.0.254", "10.77.0.2") == "vmkping: -N (next hop) needs -I <interface>"
    assert "next hop" in err("-N", "nexthop", "-I", "vmk1", "10.77.0.2")
    assert "IPv4 only" in err("-6", "-N", "10.77.0.254", "-I", "vmk1", "fd00:77::2")
    assert "unknown host" in err("-4", "fd00:77::2")
    assert "instance" in err("--instance", "bad/name", "10.77.0.2")
    p = inst.vmkping()
    assert p.returncode == 2 and "Usage" in p.stderr
    p = inst.vmkping("-h")
    assert p.returncode == 0 and "-I <interface>" in p.stdout
