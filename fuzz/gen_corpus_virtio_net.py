#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_virtio_net (fuzz/corpus/virtio_net/).

Each seed is a script in the fuzzer's operation format (see the comment at
the top of fuzz_virtio_net.c): a driver handshake with the features Linux
negotiates (or fewer), rx buffers, frames both ways, and the hostile
cases the device must survive: frames longer than every buffer, rx chains
too small for the header, a second vCPU refilling the rings, queue resets
under held buffers, malformed chains, a TAP that goes away.  The
committed files were made by this script; run it again after changing
the script format.
"""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, 'corpus', 'virtio_net')

# op 5 feature bits
MRG, CSUM, GCSUM, HTSO4, HTSO6, GTSO4, GTSO6, EVIDX, MAC, STATUS = \
    (1 << i for i in range(10))
UNOFFERED, NO_FOK, NO_DOK, NO_V1, OFFLOAD_FAIL, DOK_EARLY = \
    (1 << i for i in range(10, 16))
LINUX = MRG | CSUM | GCSUM | HTSO4 | HTSO6 | GTSO4 | GTSO6 | EVIDX | MAC | STATUS

RXQ, TXQ = 0, 1
NEXT_BREAK, WRITE, INDIRECT, FAR = 1, 2, 4, 0x80
EPOLLIN, EPOLLOUT = 1, 4

STATUS_REG, QSEL, QNUM, QREADY, NOTIFY, ISR = 0x70, 0x30, 0x38, 0x44, 0x50, 0x60
DEVF, DEVF_SEL, CONFIG = 0x10, 0x14, 0x100


def mmio_w(off, val, width=4):
    return bytes([0]) + struct.pack('<HB', off, width - 1) + \
        val.to_bytes(8, 'little')[:width]


def mmio_r(off, width=4):
    return bytes([1]) + struct.pack('<HB', off, width - 1)


def ram(gpa, data):
    return bytes([2]) + struct.pack('<IB', gpa, len(data)) + data


def notify(q):
    return bytes([3]) + struct.pack('<H', q)


def reg(off, val):
    return bytes([4, off // 4]) + struct.pack('<I', val)


def setup(feat=LINUX, l2rx=8, l2tx=8):
    return bytes([5]) + struct.pack('<HBB', feat, l2rx, l2tx)


def chain(q, descs, kick=True):
    """descs: (addr, len, flags): flags bit0 end, 2 WRITE, 4 INDIRECT, 0x80 far."""
    b = bytes([6, q | (0 if kick else 2), len(descs) - 1])
    for a, l, f in descs:
        b += struct.pack('<IIB', a, l, f)
    return b


def tx(length, layout=0, h0=0, h1=0):
    return bytes([7]) + struct.pack('<HBBB', length, h0, h1, layout)


def rxbuf(count, seglen, layout=0):
    return bytes([8, count - 1]) + struct.pack('<HB', seglen, layout)


def inject(length, fill=0x5a):
    return bytes([9]) + struct.pack('<HBB', length & 0xffff, length >> 16, fill)


def io(ev=0):
    return bytes([10, ev])


def reset():
    return bytes([11])


def ack():
    return bytes([12])


def avail_idx(q, idx):
    return bytes([13, q]) + struct.pack('<H', idx)


def qready(q, v):
    return bytes([14, q, v])


def vcpu2(q, head, count):
    return bytes([15, q]) + struct.pack('<HH', head, count)


def drain(n=63):
    return bytes([16, n])


EVLOOP_FAIL, OFFLOAD_FAILS, READV_FAIL, WRITEV_FAIL = 1, 2, 4, 8


def faults(f):
    return bytes([17, f])


seeds = {
    # Linux's handshake, a few frames each way
    'linux': setup() + rxbuf(40, 2048) + inject(12 + 60) + inject(12 + 1500) +
    io() + tx(60) + tx(1500, 1) + io() + ack(),
    # no MRG_RXBUF: one chain a frame; a frame too big for it is dropped
    'no_mrg': setup(CSUM | MAC) + rxbuf(4, 1600) + inject(12 + 1514) +
    inject(3000) + io() + io() + tx(100) + reset(),
    # GSO-sized frames spread over many merged buffers
    'mrg_gso': setup() + rxbuf(64, 2048) + inject(65536 + 12 + 54) + io() +
    rxbuf(64, 1500, 1) + inject(40000) + io(),
    # a frame longer than the held buffers and the overflow buffer
    'overlong': setup(MRG) + rxbuf(64, 2048) + rxbuf(64, 1024) +
    inject(2 * 65536 + 5000) + io() + inject(200) + io(),
    # rx chains too small for the header, refilled by another vCPU
    'small_rx_chains': setup(MRG) + rxbuf(64, 4) + vcpu2(RXQ, 0, 60000) +
    inject(100) + io() + setup(0) + rxbuf(8, 0) + vcpu2(RXQ, 1, 60000) +
    inject(100) + io(),
    # tx ring kept full by another vCPU: a batch per kick, then EPOLLOUT
    'tx_backlog': setup() + vcpu2(TXQ, 0, 3000) + tx(60) + drain() + drain(),
    'tx_backlog_reset': setup(EVIDX) + tx(60, 4) + vcpu2(TXQ, 0, 600) +
    notify(TXQ) + reset() + io(0x85) + setup() + tx(70) + drain(),
    # QueueReady 0 then 1 on the rx queue while chains are held
    'rx_queue_reset': setup(0) + rxbuf(2, 2048) + io(0x81) + qready(RXQ, 0) +
    qready(RXQ, 1) + rxbuf(2, 2048) + inject(200) + io() + qready(RXQ, 0) +
    inject(200) + io(0x81),
    # every tx layout op 7 has
    'tx_layouts': setup() + b''.join(tx(64 + l, l) + (notify(TXQ) if l & 4 else b'')
                                     for l in range(32)) + drain(),
    # every rx layout op 8 has, with the readable-first one
    'rx_layouts': setup() + b''.join(rxbuf(3, 700, l) + inject(1000 + l) + io()
                                     for l in range(16)),
    # malformed chains on both queues: loops, out of RAM, nested indirect
    'bad_chains': setup() + chain(TXQ, [(0x6100, 64, 0), (0x6100, 8, WRITE),
                                        (0x6100, 8, 0)]) + reset() +
    setup() + chain(RXQ, [(0x3ffff0, 64, WRITE | FAR)]) + io(0x81) + reset() +
    setup() + chain(TXQ, [(0x6000, 48, INDIRECT)]) + setup() +
    ram(0x3000, struct.pack('<QIHH', 0x6100, 64, 1, 0)) + avail_idx(TXQ, 1),
    # register window and config space at odd widths and offsets
    'config_space': setup() + b''.join(mmio_r(CONFIG + o, w) for o in range(0, 12)
                                       for w in (1, 2, 4, 8)) +
    mmio_w(CONFIG, 0x1122334455, 8) + mmio_r(CONFIG, 8) +
    reg(DEVF_SEL, 1) + mmio_r(DEVF) + reg(DEVF_SEL, 7) + mmio_r(DEVF) +
    mmio_r(0xffc, 8) + mmio_r(0x101, 3),
    # status and feature games
    'status_games': setup(UNOFFERED) + tx(60) + setup(NO_FOK) + tx(60) +
    setup(NO_V1) + notify(RXQ) + setup(DOK_EARLY) + rxbuf(2, 2048) + inject(80) +
    io() + setup(NO_DOK) + notify(TXQ) + reg(STATUS_REG, 0xff) + tx(60) +
    reg(STATUS_REG, 0x0f) + notify(TXQ),
    # small rings with EVENT_IDX; queue sizes refused or out of range
    'small_rings': setup(EVIDX | MRG, 1, 0) + rxbuf(5, 2048) + inject(3000) + io() +
    tx(60) + tx(60) + tx(60) + setup(LINUX, 12, 9) + tx(60) + notify(5) +
    notify(0xffff),
    # bad avail indices
    'avail_idx': setup() + tx(60, 4) + avail_idx(TXQ, 300) + reset() + setup() +
    rxbuf(2, 2048) + avail_idx(RXQ, 0x8000) + inject(100) + io(),
    # TUNSETOFFLOAD fails; then the TAP goes away
    'tap_gone': setup(LINUX | OFFLOAD_FAIL) + rxbuf(4, 2048) + io(0x47) +
    inject(100) + io() + notify(RXQ) + tx(60) + reset() + setup(),
    # stale wakeups: events the device did not ask for, or no longer wants
    'stale_events': setup() + io(0x85) + io(0x81) + io(0x84) + reset() + io(0x85) +
    setup(0) + inject(50) + io(0x81) + rxbuf(1, 2048, 4) + io(0x81),
    # the host fails: the event loop, TUNSETOFFLOAD, reads and writes on the TAP
    'faults': setup() + faults(WRITEV_FAIL) + tx(60) + faults(READV_FAIL) +
    rxbuf(4, 2048) + inject(100) + io() + notify(RXQ) + io() + faults(0) + io() +
    faults(EVLOOP_FAIL | OFFLOAD_FAILS) + reset() + setup() + notify(RXQ) +
    vcpu2(TXQ, 0, 600) + tx(60) + faults(0) + notify(RXQ) + notify(TXQ) + drain(),
    # runt frames from the host: shorter than the header
    'runts': setup() + rxbuf(4, 2048) + inject(1) + inject(11) + inject(12) + io() +
    io() + io(),
}


def main():
    os.makedirs(out, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
    print('\n'.join(sorted(seeds)))


if __name__ == '__main__':
    main()
