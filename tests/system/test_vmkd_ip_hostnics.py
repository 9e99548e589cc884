"""The IPv6 setting of TCP/IP stacks touches vmk's own devices only: vmkd's
namespace (defaultTcpipStack) also holds the host's NICs, whose IPv6 is the
administrator's.  Starting vmkd, creating a stack, and switching IPv6 off
and on for defaultTcpipStack leave the NICs' and the namespace-wide
(conf/all, conf/default) settings as they were; the adapters follow their
stack's setting, device by device."""
import json
import subprocess

from vmkd_ip_util import IF, NETSTACK, close_host, link, stack_ns, sysctl
from vmkd_util import Host


def set_sysctl(ns, key, value):
    subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                    "net.%s=%s" % (key.replace("/", "."), value)], check=True)


def host_side(h):
    """The IPv6 switches of the host's namespace that vmkd must not move."""
    return {k: sysctl(h.ns, "ipv6/conf/%s/disable_ipv6" % k)
            for k in ("all", "default", "vmnic0", "vmnic1")}


def test_stacks_leave_the_host_nics_ipv6_alone():
    h = Host(mgmt_ip="192.168.50.11/24")
    try:
        # the administrator's choice: IPv6 off everywhere but on vmnic1
        h.add_nic("vmnic0")
        h.add_nic("vmnic1")
        set_sysctl(h.ns, "ipv6/conf/all/disable_ipv6", "1")
        set_sysctl(h.ns, "ipv6/conf/default/disable_ipv6", "1")
        set_sysctl(h.ns, "ipv6/conf/vmnic1/disable_ipv6", "0")
        before = host_side(h)
        assert before == {"all": "1", "default": "1", "vmnic0": "1", "vmnic1": "0"}

        h.start()
        assert host_side(h) == before
        # defaultTcpipStack has IPv6 on: its adapter has, device by device
        assert sysctl(h.ns, "ipv6/conf/vmk0/disable_ipv6") == "0"
        assert any(a["family"] == "inet6" for a in link_addrs(h.ns, "vmk0"))

        # a new stack: its namespace's own settings only
        h.ok(*NETSTACK, "add", "-N", "lab")
        assert host_side(h) == before
        assert sysctl(stack_ns(h, "lab"), "ipv6/conf/all/disable_ipv6") == "0"

        # IPv6 off and on again for defaultTcpipStack: vmk0 follows, NICs do not
        h.ok(*IF, "ipv6", "address", "add", "-i", "vmk0", "-I", "fd00:50::11/64")
        h.ok(*NETSTACK, "set", "-N", "defaultTcpipStack", "-i", "false")
        assert host_side(h) == before
        assert sysctl(h.ns, "ipv6/conf/vmk0/disable_ipv6") == "1"
        h.ok(*IF, "add", "-i", "vmk1", "-p", "VM Network")
        assert sysctl(h.ns, "ipv6/conf/vmk1/disable_ipv6") == "1"
        h.ok(*NETSTACK, "set", "-N", "defaultTcpipStack", "-i", "true")
        assert host_side(h) == before
        assert sysctl(h.ns, "ipv6/conf/vmk0/disable_ipv6") == "0"
        assert sysctl(h.ns, "ipv6/conf/vmk1/disable_ipv6") == "0"
        assert "fd00:50::11" in [a["local"] for a in link_addrs(h.ns, "vmk0")]

        # and a restart realizes the same without touching the NICs
        h.restart()
        assert host_side(h) == before
        assert sysctl(h.ns, "ipv6/conf/vmk0/disable_ipv6") == "0"
        assert link(h.ns, "vmk1") is not None
    finally:
        close_host(h)


def link_addrs(ns, dev):
    p = subprocess.run(["ip", "-j", "-n", ns, "addr", "show", "dev", dev],
                       capture_output=True, text=True, check=True)
    return [a for i in json.loads(p.stdout) for a in i.get("addr_info", [])]
