#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_vhost_user (fuzz/corpus/vhost_user/).

Each seed is a list of the target's operations (see fuzz_vhost_user.c):
messages, the canned handshake, pokes into guest memory that lay out
descriptors and ring indices the way a driver would, and TX/RX work.  The
committed files were made by this script; run it again after changing
the input format.
"""
import os
import struct
import sys

GPA = 0x100000
NEXT, WRITE = 1, 2
F_CSUM, F_GUEST_CSUM, F_GUEST_TSO4, F_HOST_TSO4, F_MRG = 0, 1, 7, 11, 15
F_INDIRECT, F_EVENT_IDX, F_PROTO, F_V1 = 28, 29, 30, 32
ALL = (1 << 64) - 1

(GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE,
 SET_LOG_BASE, SET_LOG_FD, SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE,
 GET_VRING_BASE, SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR,
 GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM,
 SET_VRING_ENABLE) = range(1, 19)


def bit(*ns):
    v = 0
    for n in ns:
        v |= 1 << n
    return v


class Seed:
    def __init__(self):
        self.b = bytearray()

    def msg(self, req, payload=b'', flags=1, nfds=0, kinds=0):
        self.b += bytes([0, req, flags]) + struct.pack('<H', len(payload))
        self.b += bytes([(nfds & 15) | (kinds << 4)]) + payload
        return self

    def handshake(self, log2, features):
        self.b += bytes([1, log2]) + struct.pack('<Q', features)
        return self

    def poke(self, off, data):
        for i in range(0, len(data), 255):
            chunk = data[i:i + 255]
            self.b += bytes([2]) + struct.pack('<HB', off + i, len(chunk)) + chunk
        return self

    def desc(self, q, i, off, length, flags, nxt=0):
        return self.poke(q * 0x4000 + 16 * i,
                         struct.pack('<QIHH', GPA + off, length, flags, nxt))

    def avail(self, q, idx, heads, size):
        base = q * 0x4000 + 0x1000
        for n, h in enumerate(heads):
            self.poke(base + 4 + 2 * ((idx - len(heads) + n) % size),
                      struct.pack('<H', h))
        return self.poke(base + 2, struct.pack('<H', idx & 0xffff))

    def tx(self, n):
        self.b += bytes([3, n])
        return self

    def rx(self, length, hdr=b'\0' * 10):
        self.b += bytes([4]) + struct.pack('<H', length) + hdr
        return self

    def signal(self):
        self.b += bytes([5])
        return self

    def hangup(self):
        self.b += bytes([6])
        return self


def tx_frames():
    s = Seed().handshake(4, ALL)
    for i in range(4):
        s.desc(1, i, 0x8000 + 0x100 * i, 12 + 60, 0)
    return s.avail(1, 4, [0, 1, 2, 3], 16).tx(8).signal()


def tx_chains():
    s = Seed().handshake(3, ALL & ~bit(F_MRG))
    s.desc(1, 0, 0x8000, 12, NEXT, 1).desc(1, 1, 0x8100, 1500, 0)
    s.desc(1, 2, 0x9000, 12, NEXT, 3).desc(1, 3, 0x9100, 100, NEXT, 2)  # loop
    return s.avail(1, 2, [0, 2], 8).tx(4)


def tx_gso():
    s = Seed().handshake(3, ALL)
    hdr = struct.pack('<BBHHHHH', 1, 1, 54, 1448, 34, 16, 0)
    s.poke(0x8000, hdr).desc(1, 0, 0x8000, 12 + 2000, 0)
    return s.avail(1, 1, [0], 8).tx(1)


def rx_mergeable():
    s = Seed().handshake(4, ALL)
    for i in range(8):
        s.desc(0, i, 0x8000 + 0x200 * i, 0x200, WRITE)
    s.avail(0, 8, list(range(8)), 16)
    return s.rx(1500).rx(64).rx(3000).signal()


def rx_small():
    s = Seed().handshake(2, ALL & ~bit(F_MRG, F_V1))
    for i in range(4):
        s.desc(0, i, 0x8000 + 0x100 * i, 0x100 if i else 8, WRITE)
    s.avail(0, 4, [0, 1, 2, 3], 4)
    return s.rx(100).rx(60, struct.pack('<BBHHHH', 1, 0, 0, 0, 14, 6)).rx(40)


def event_idx():
    s = Seed().handshake(3, bit(F_EVENT_IDX, F_MRG, F_V1, F_PROTO))
    for i in range(4):
        s.desc(0, i, 0x8000 + 0x400 * i, 0x400, WRITE)
    s.avail(0, 4, [0, 1, 2, 3], 8)
    s.poke(0x1000 + 4 + 2 * 8, struct.pack('<H', 2))  # used_event
    return s.rx(60).signal().rx(60).signal().rx(60).signal()


def messages():
    s = Seed()
    s.msg(GET_FEATURES).msg(GET_PROTOCOL_FEATURES).msg(GET_QUEUE_NUM)
    s.msg(SET_PROTOCOL_FEATURES, struct.pack('<Q', bit(0, 3)))
    s.msg(SET_OWNER, flags=1 | 8)
    s.msg(SET_VRING_NUM, struct.pack('<II', 0, 256), flags=1 | 8)
    s.msg(SET_VRING_ADDR, struct.pack('<IIQQQQ', 0, 0, 0x7f0000000000,
                                      0x7f0000001000, 0x7f0000002000, 0))
    s.msg(SET_VRING_KICK, struct.pack('<Q', 0), nfds=1, kinds=1)
    s.msg(SET_VRING_CALL, struct.pack('<Q', 0x100))
    s.msg(SET_VRING_ERR, struct.pack('<Q', 1), nfds=1, kinds=1)
    s.msg(SET_MEM_TABLE, struct.pack('<II', 1, 0) +
          struct.pack('<QQQQ', GPA, 0x10000, 0x7f0000000000, 0), nfds=1)
    s.msg(SET_VRING_ENABLE, struct.pack('<II', 0, 1))
    s.msg(GET_VRING_BASE, struct.pack('<II', 0, 0))
    return s


def bad_messages():
    s = Seed()
    s.msg(SET_MEM_TABLE, struct.pack('<II', 2, 0) +
          struct.pack('<QQQQ', 0, 0x10000, 0x1000, 0) +
          struct.pack('<QQQQ', 0x8000, 0x10000, 0x100000, 0), nfds=2)
    s.msg(SET_MEM_TABLE, struct.pack('<II', 1, 0) +
          struct.pack('<QQQQ', 0, 0x20000, 0, 0), nfds=1)
    s.msg(SET_VRING_KICK, struct.pack('<Q', 1), nfds=1, kinds=0)
    s.msg(SET_VRING_KICK, struct.pack('<Q', 1), nfds=9)
    s.msg(SET_LOG_BASE, b'\0' * 16, nfds=1)
    s.msg(99, b'\0' * 8)
    s.msg(SET_FEATURES, struct.pack('<Q', ALL))
    s.msg(SET_VRING_NUM, struct.pack('<II', 5, 3))
    return s.msg(SET_OWNER, flags=2)


def remap_live():
    s = tx_frames()
    s.msg(SET_MEM_TABLE, struct.pack('<II', 1, 0) +
          struct.pack('<QQQQ', GPA, 0x8000, 0x7f0000000000, 0), nfds=1)
    s.msg(SET_MEM_TABLE, struct.pack('<II', 1, 0) +
          struct.pack('<QQQQ', GPA, 0x10000, 0x7f0000000000, 0), nfds=1)
    return s.tx(4).hangup().handshake(1, ALL).tx(1)


def reconnect():
    s = tx_frames().msg(GET_VRING_BASE, struct.pack('<II', 1, 0)).hangup()
    return s.handshake(4, ALL).msg(SET_VRING_BASE, struct.pack('<II', 1, 4)).tx(4)


SEEDS = {
    'tx_frames': tx_frames, 'tx_chains': tx_chains, 'tx_gso': tx_gso,
    'rx_mergeable': rx_mergeable, 'rx_small': rx_small,
    'event_idx': event_idx, 'messages': messages,
    'bad_messages': bad_messages, 'remap_live': remap_live,
    'reconnect': reconnect,
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), 'corpus', 'vhost_user')
    os.makedirs(out, exist_ok=True)
    for name, fn in SEEDS.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(bytes(fn().b))


if __name__ == '__main__':
    main()
