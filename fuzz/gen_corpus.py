#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_virtq (fuzz/corpus/virtq/).

Each seed is the fuzzer's header (see fuzz_virtq.c) followed by guest
memory laid out the way a driver would: a descriptor table, available and
used rings, data buffers and indirect tables.  The committed files were
made by this script; run it again after changing the input format.
"""
import os
import struct
import sys

NEXT, WRITE, INDIRECT = 1, 2, 4
BASES = {0: 0, 1: 0x1000, 2: 0x100000}


class Seed:
    def __init__(self, size_log2, mem_len=1024, base_sel=1, event_idx=False,
                 desc=0x0, avail=0x100, used=0x200):
        self.size = 1 << size_log2
        self.size_log2 = size_log2
        self.mem = bytearray(mem_len)
        self.base_sel = base_sel
        self.base = BASES[base_sel]
        self.event_idx = event_idx
        self.desc, self.avail, self.used = desc, avail, used
        self.heads = []
        self.start = 0
        self.two = False
        self.split = 0
        self.gap = 0
        self.copy_off = 0
        self.used_event = 0
        self.avail_flags = 0
        self.reset = False

    def gpa(self, off):
        """guest address of memory offset `off` (second region shifted)"""
        if self.two and off >= self.split:
            return self.base + off + 16 * self.gap
        return self.base + off

    def put_desc(self, table_off, i, off, length, flags, nxt=0):
        struct.pack_into('<QIHH', self.mem, table_off + 16 * i,
                         self.gpa(off), length, flags, nxt)

    def header(self):
        flags = (1 if self.event_idx else 0) | (2 if self.two else 0) \
            | (self.base_sel << 2) | (0x20 if self.reset else 0)
        avail_idx = (self.start + len(self.heads)) & 0xffff
        return struct.pack('<BBHHHHHHHHHHH', flags, self.size_log2, 0,
                           self.desc, self.avail, self.used, avail_idx,
                           self.start, self.split, self.gap, self.copy_off,
                           self.used_event, self.avail_flags)

    def data(self):
        for n, head in enumerate(self.heads):
            slot = (self.start + n) % self.size
            struct.pack_into('<H', self.mem, self.avail + 4 + 2 * slot, head)
        hdr = self.header()
        assert len(hdr) == 24
        return hdr + bytes(self.mem)


def seeds():
    # one readable + one writable buffer
    s = Seed(3)
    s.put_desc(s.desc, 0, 0x300, 16, NEXT, 1)
    s.put_desc(s.desc, 1, 0x310, 16, WRITE)
    s.heads = [0]
    yield 'simple', s

    # several chains, out of order descriptor use, copy offset
    s = Seed(3)
    s.put_desc(s.desc, 5, 0x300, 3, NEXT, 2)
    s.put_desc(s.desc, 2, 0x310, 5, NEXT, 7)
    s.put_desc(s.desc, 7, 0x320, 8, WRITE | NEXT, 0)
    s.put_desc(s.desc, 0, 0x330, 8, WRITE)
    s.put_desc(s.desc, 1, 0x340, 0, 0)
    s.put_desc(s.desc, 3, 0x350, 32, WRITE)
    s.heads = [5, 1, 3]
    s.copy_off = 4
    yield 'chains', s

    # indirect table after a direct header
    s = Seed(2)
    s.put_desc(s.desc, 0, 0x300, 8, NEXT, 1)
    s.put_desc(s.desc, 1, 0x380, 48, INDIRECT)
    s.put_desc(0x380, 0, 0x310, 8, NEXT, 2)
    s.put_desc(0x380, 2, 0x320, 16, WRITE | NEXT, 1)
    s.put_desc(0x380, 1, 0x330, 16, WRITE)
    s.heads = [0]
    yield 'indirect', s

    # EVENT_IDX, indices wrapping past 65535, reset and re-enable
    s = Seed(2, event_idx=True)
    s.start = 65534
    for i in range(3):
        s.put_desc(s.desc, i, 0x300 + 0x20 * i, 16, WRITE)
    s.heads = [0, 1, 2]
    s.used_event = 65535
    s.reset = True
    yield 'event_idx_wrap', s

    # two regions with a gap: buffers in the second one
    s = Seed(3, mem_len=2048, base_sel=2)
    s.two, s.split, s.gap = True, 1024, 0x100
    s.put_desc(s.desc, 0, 0x500, 64, NEXT, 1)
    s.put_desc(s.desc, 1, 0x600, 64, WRITE)
    s.heads = [0]
    yield 'two_regions', s

    # NO_INTERRUPT, a queue of one
    s = Seed(0, base_sel=0)
    s.put_desc(s.desc, 0, 0x300, 1, 0)
    s.heads = [0]
    s.avail_flags = 1
    yield 'size1', s

    # 1025 one-byte buffers through an indirect table: one more than
    # VIRTQ_MAX_SEGS, so the queue breaks (a mutation away from the limit)
    n = 1025
    s = Seed(2, mem_len=0x400 + 16 * n)
    for i in range(n):
        s.put_desc(0x400, i, 0x300 + i % 64, 1,
                   NEXT if i + 1 < n else 0, i + 1 if i + 1 < n else 0)
    s.put_desc(s.desc, 0, 0x400, 16 * n, INDIRECT)
    s.heads = [0]
    yield 'max_segs', s

    # malformed: a loop
    s = Seed(2)
    s.put_desc(s.desc, 0, 0x300, 4, NEXT, 1)
    s.put_desc(s.desc, 1, 0x300, 4, NEXT, 0)
    s.heads = [0]
    yield 'loop', s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), 'corpus', 'virtq')
    os.makedirs(out, exist_ok=True)
    for name, s in seeds():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(s.data())


if __name__ == '__main__':
    main()
