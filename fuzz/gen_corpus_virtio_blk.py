#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_virtio_blk (fuzz/corpus/virtio_blk/).

Each seed is a script in the fuzzer's operation format (see the comment at
the top of fuzz_virtio_blk.c): a driver handshake, then requests the way
Linux lays them out and in the other layouts the spec allows, plus a few
hostile ones.  The committed files were made by this script; run it again
after changing the script format.
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, 'corpus', 'virtio_blk')

T_IN, T_OUT, T_FLUSH, T_GET_ID, T_BAD = 0, 1, 2, 3, 4   # indexes, op 7
NEXT, WRITE, INDIRECT = 1, 2, 4

# registers
STATUS, QSEL, QNUM, QREADY, NOTIFY, ISR, ACK = 0x70, 0x30, 0x38, 0x44, 0x50, 0x60, 0x64
DESC_LO, DRV_LO, DEV_LO = 0x80, 0x90, 0xa0
DRVF, DRVF_SEL, DEVF, DEVF_SEL = 0x20, 0x24, 0x10, 0x14


def mmio_w(off, val, width=4):
    return bytes([0]) + struct.pack('<HB', off, width - 1) + \
        val.to_bytes(8, 'little')[:width]


def mmio_r(off, width=4):
    return bytes([1]) + struct.pack('<HB', off, width - 1)


def ram(gpa, data):
    return bytes([2]) + struct.pack('<HB', gpa, len(data)) + data


def notify(q=0):
    return bytes([3]) + struct.pack('<H', q)


def reg(off, val):
    return bytes([4, off // 4]) + struct.pack('<I', val)


def setup(flags=0, log2=4, desc=0x0, avail=0x1000, used=0x2000):
    return bytes([5, flags, log2]) + struct.pack('<HHH', desc, avail, used)


def chain(*descs):
    """descs: (addr, len, flags) with flags bit0 end, 2 WRITE, 4 INDIRECT, 0x80 far."""
    b = bytes([6, len(descs) - 1])
    for a, l, f in descs:
        b += struct.pack('<IIB', a, l, f)
    return b


def request(kind, sector=0, nsect=1, layout=0):
    return bytes([7, kind]) + struct.pack('<HBB', sector, nsect, layout)


def reset():
    return bytes([8])


def ack():
    return bytes([9])


def select(d):
    return bytes([10, d])


def avail_idx(i):
    return bytes([11]) + struct.pack('<H', i)


def big_chain(out, count, seglen):
    return bytes([12, 1 if out else 0]) + struct.pack('<HH', count - 2, seglen)


def shrink(sectors):
    return bytes([13, sectors])


def hdr(gpa, typ, sector):
    return ram(gpa, struct.pack('<IIQ', typ, 0, sector))


SEEDS = {
    'read': setup() + request(T_IN, 3, 2) + ack(),
    'write_read': setup() + request(T_OUT, 5, 2) + request(T_IN, 5, 2),
    'flush_getid_bad': setup() + request(T_FLUSH, 0, 0) +
        request(T_GET_ID, 0, 1) + request(T_BAD, 0, 1),
    'layouts': setup(flags=1) + request(T_IN, 7, 1, 1) + request(T_IN, 8, 3, 2) +
        request(T_OUT, 9, 1, 2 | 1) + request(T_IN, 1, 1, 8),
    'batch': setup() + request(T_IN, 1, 1, 4) + request(T_IN, 2, 1, 4) +
        request(T_OUT, 3, 1, 4) + notify(0),
    'out_of_range': setup() + request(T_IN, 255, 2) + request(T_OUT, 256, 1) +
        request(T_IN, 0xffff, 1) + request(T_IN, 255, 1),
    'readonly': select(1) + setup(flags=8) + request(T_OUT, 2, 1) +
        request(T_IN, 2, 1) + request(T_FLUSH, 0, 0),
    'raw_chain': setup() + hdr(0x5000, 0, 4) +
        chain((0x5000, 16, 0), (0x6000, 512, WRITE), (0x7000, 1, WRITE)),
    'write_hdr_data_one_buf': setup() + hdr(0x5000, 1, 9) +
        ram(0x5010, b'\xcd' * 64) +
        chain((0x5000, 16 + 512, 0), (0x7000, 1, WRITE)),
    'no_status': setup() + hdr(0x5000, 1, 0) +
        chain((0x5000, 16, 0), (0x6000, 512, 0)),
    'broken_then_reset': setup() +
        chain((0x3800, 16, 0), (0xff00, 512, WRITE | 0x80), (0x3900, 1, WRITE)) +
        mmio_r(STATUS) + mmio_r(ISR) + ack() + reset() + setup() + request(T_IN, 1, 1),
    'indirect_raw': setup() + hdr(0x5000, 0, 2) +
        ram(0x3000, struct.pack('<QIHH', 0x5000, 16, NEXT, 1) +
            struct.pack('<QIHH', 0x6000, 512, NEXT | WRITE, 2) +
            struct.pack('<QIHH', 0x7000, 1, WRITE, 0)) +
        chain((0x3000, 48, INDIRECT)),
    'manual_handshake': mmio_r(0) + mmio_r(4) + mmio_r(8) + mmio_r(0xc) +
        reg(DEVF_SEL, 0) + mmio_r(DEVF) + reg(DEVF_SEL, 1) + mmio_r(DEVF) +
        reg(STATUS, 3) + reg(DRVF_SEL, 0) + reg(DRVF, 0x244) +
        reg(DRVF_SEL, 1) + reg(DRVF, 1) + reg(STATUS, 11) + mmio_r(STATUS) +
        reg(QSEL, 0) + mmio_r(0x34) + reg(QNUM, 8) + reg(DESC_LO, 0) +
        reg(DRV_LO, 0x1000) + reg(DEV_LO, 0x2000) + reg(QREADY, 1) +
        mmio_r(QREADY) + reg(STATUS, 15) + request(T_IN, 0, 1),
    'config_space': b''.join(mmio_r(0x100 + o, w) for o, w in
                             ((0, 8), (0, 4), (4, 4), (12, 4), (20, 4), (34, 2),
                              (35, 1), (32, 4), (33, 4), (36, 1), (0, 3), (1, 8))) +
        mmio_w(0x100, 0x1234, 4) + mmio_r(0xfc),
    'odd_widths': mmio_w(0x70, 3, 1) + mmio_w(0x72, 3, 2) + mmio_r(0x70, 2) +
        mmio_w(0x71, 1, 4) + mmio_r(0x73, 4) + mmio_w(0x70, 0xf, 8) + mmio_r(0x70, 8),
    'queue_regs_live': setup() + reg(QNUM, 4) + reg(DESC_LO, 0x8000) +
        reg(QREADY, 0) + mmio_r(QREADY) + reg(QNUM, 256) + reg(QREADY, 1) +
        reg(QSEL, 1) + reg(QREADY, 1) + notify(1) + notify(0xffff),
    'event_idx_small_queue': setup(flags=1, log2=2) + request(T_IN, 1, 1) +
        request(T_IN, 2, 1) + request(T_IN, 3, 1) + request(T_IN, 4, 1, 4) + notify(0),
    'bad_avail_idx': setup() + avail_idx(100) + mmio_r(STATUS) + reset() +
        setup(log2=8, desc=0x8000, avail=0x9000, used=0xa000) + request(T_IN, 4, 4),
    'status_games': setup(flags=4) + request(T_IN, 1, 1) + reg(STATUS, 15) +
        reg(STATUS, 0x8f) + reg(STATUS, 0x4f) + request(T_IN, 2, 1) +
        setup(flags=16) + request(T_IN, 3, 1) + setup(flags=2) + request(T_FLUSH, 0, 0),
    'big_chain': setup() + big_chain(False, 66, 512) + big_chain(False, 1010, 128) +
        big_chain(True, 1010, 128) + big_chain(False, 1026, 32) +
        mmio_r(STATUS) + reset() + setup() + big_chain(True, 1024, 32) +
        reset() + setup() + big_chain(False, 1100, 32),
    'shrunk_disk': setup() + shrink(10) + request(T_IN, 8, 4) + request(T_IN, 12, 1) +
        request(T_OUT, 20, 2) + big_chain(False, 130, 256) + shrink(0) +
        request(T_FLUSH, 0, 0) + request(T_IN, 255, 1),
    'both_devices': setup() + select(1) + setup() + request(T_IN, 5, 1) +
        select(0) + request(T_OUT, 5, 1) + select(1) + request(T_IN, 5, 1),
}


def main():
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
