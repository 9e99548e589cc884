"""Each VMkernel adapter answers ARP for its own addresses only.  Two
adapters of one stack on one VLAN: a third stack's adapter must learn
each address at the MAC of the adapter that has it, never the other's
(Linux's defaults let every interface of a namespace answer for all of
its addresses)."""
import subprocess

from vmkd_util import DEFAULT_STACK, add_vmknic, host, ping_ok, stack_ns
from vmkd_ip_util import ipj, sysctl

assert host  # a fixture

PG = "Management Network"


def mac(h, vmk):
    return [i for i in h.json("network", "ip", "interface", "list")
            if i["Name"] == vmk][0]["MACAddress"]


def neigh(ns, ip):
    for n in ipj(ns, "neigh", "show", "to", ip):
        if n.get("lladdr"):
            return n["lladdr"]
    return None


def test_adapters_answer_arp_for_their_own_addresses_only(host):
    h = host
    h.ok("network", "ip", "interface", "ipv4", "set", "-i", "vmk0", "-t", "static",
         "-I", "10.5.0.1", "-N", "255.255.255.0")
    add_vmknic(h, "vmk1", PG, "10.5.0.2")
    add_vmknic(h, "vmk2", PG, "10.5.0.3", stack="other")
    for vmk in ("vmk0", "vmk1"):
        assert sysctl(stack_ns(h, DEFAULT_STACK), "ipv4/conf/%s/arp_ignore" % vmk) == "1"
        assert sysctl(stack_ns(h, DEFAULT_STACK), "ipv4/conf/%s/arp_announce" % vmk) == "2"
    other = stack_ns(h, "other")
    for _ in range(5):  # which reply comes first is a race: try it a few times
        subprocess.run(["ip", "-n", other, "neigh", "flush", "dev", "vmk2"], check=True)
        assert ping_ok(h, "-I", "vmk2", "10.5.0.2")
        assert ping_ok(h, "-I", "vmk2", "10.5.0.1")
        assert neigh(other, "10.5.0.2") == mac(h, "vmk1")
        assert neigh(other, "10.5.0.1") == mac(h, "vmk0")
