#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_dhcp (fuzz/corpus/dhcp/).

Each seed is the control byte (see fuzz_dhcp.c) and an IPv4/UDP packet to
port 68 carrying a DHCP reply, as dnsmasq and ISC dhcpd send them, plus
malformed ones: options running past the end, option overload into the
file and sname fields, a fragment, bad checksums.  The committed files
were made by this script; run it again after changing the input format.
"""
import os
import struct
import sys

MAC = bytes.fromhex("0050566a0b0c")
XID = 0x12345678


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ip(s):
    return bytes(int(x) for x in s.split("."))


def dhcp(msg_type, yiaddr="192.0.2.10", opts=b"", sname=b"", file=b"", xid=XID):
    fixed = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 2, 1, 6, 0, xid, 0, 0, ip("0.0.0.0"),
                        ip(yiaddr), ip("192.0.2.1"), ip("0.0.0.0"), MAC, sname, file)
    base = bytes([53, 1, msg_type]) if msg_type else b""
    return fixed + b"\x63\x82\x53\x63" + base + opts + b"\xff"


def std_opts(lease=120, t1=None, t2=None):
    o = bytes([54, 4]) + ip("192.0.2.1") + bytes([1, 4]) + ip("255.255.255.0")
    o += bytes([3, 4]) + ip("192.0.2.1") + bytes([6, 8]) + ip("192.0.2.53") + ip("192.0.2.54")
    o += bytes([51, 4]) + struct.pack("!I", lease)
    if t1 is not None:
        o += bytes([58, 4]) + struct.pack("!I", t1)
    if t2 is not None:
        o += bytes([59, 4]) + struct.pack("!I", t2)
    return o


def packet(payload, src="192.0.2.1", dst="255.255.255.255", frag=0, udp_csum=True):
    udp_len = 8 + len(payload)
    udp = struct.pack("!HHHH", 67, 68, udp_len, 0) + payload
    if udp_csum:
        pseudo = ip(src) + ip(dst) + struct.pack("!BBH", 0, 17, udp_len)
        c = csum(pseudo + udp) or 0xffff
        udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, frag, 64, 17, 0, ip(src),
                      ip(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + udp


def main(out):
    os.makedirs(out, exist_ok=True)
    seeds = {
        # SELECTING, matched: an offer, and one with the default times
        "offer": bytes([0x04]) + packet(dhcp(2, opts=std_opts())),
        # REQUESTING: the ACK, with T1/T2 as dnsmasq sends when told
        "ack": bytes([0x14]) + packet(dhcp(5, opts=std_opts(120, 5, 100))),
        "ack_infinite": bytes([0x14]) + packet(dhcp(5, opts=std_opts(0xffffffff))),
        "ack_bad_times": bytes([0x14]) + packet(dhcp(5, opts=std_opts(100, 90, 50))),
        # RENEWING and REBINDING: ACK and NAK
        "renew_ack": bytes([0x34]) + packet(dhcp(5, opts=std_opts(600)), dst="192.0.2.10"),
        "rebind_nak": bytes([0x44]) + packet(dhcp(6, "0.0.0.0", bytes([56, 9]) +
                                                   b"no lease\x07")),
        "nak": bytes([0x14]) + packet(dhcp(6, "0.0.0.0")),
        # options in file and sname (overload 3)
        "overload": bytes([0x14]) + packet(dhcp(5, opts=bytes([52, 1, 3]),
                                                 file=bytes([54, 4]) + ip("192.0.2.1") +
                                                 b"\xff", sname=bytes([51, 4, 0, 0, 1, 0]) +
                                                 b"\xff")),
        # checksum left to offload (kernel says pending), bare message
        "csum_pending": bytes([0x05]) + packet(dhcp(2, opts=std_opts()))[:26] + b"\0\0" +
        packet(dhcp(2, opts=std_opts()))[28:],
        "bare": bytes([0x06]) + dhcp(2, opts=std_opts()),
        # malformed
        "truncated_option": bytes([0x06]) + dhcp(5, opts=bytes([51, 200, 0])),
        "fragment": bytes([0x04]) + packet(dhcp(2, opts=std_opts()), frag=0x2000),
        "bad_udp_csum": bytes([0x04]) + packet(dhcp(2, opts=std_opts()))[:-1] + b"\x01",
        "no_cookie": bytes([0x06]) + dhcp(2)[:236] + b"\0\0\0\0",
        "wrong_sizes": bytes([0x16]) + dhcp(5, opts=bytes([51, 3, 0, 0, 9, 1, 5, 1, 2, 3, 4,
                                                          5, 3, 3, 1, 1, 1])),
        "bootp": bytes([0x06]) + dhcp(0),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else
         os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "dhcp"))
