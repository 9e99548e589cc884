"""A small vhost-user back end in Python, for testing vmx as the front end.

It speaks the protocol of QEMU's docs/interop/vhost-user.rst as a client
of vmx's socket, records every request, maps the guest memory vmx sends
(SET_MEM_TABLE), and serves a virtio-net device's split rings by hand:
`inject(frame)` puts a frame into an RX buffer the guest posted, `frames()`
collects what the guest transmitted.  Enough to check what vmx tells a
back end (features, memory table, ring addresses and bases), that kicks
arrive (KVM ioeventfd) and calls are turned into interrupts, without the
real datapath.  `hostile=` makes it answer with garbage instead.

Every wait is bounded; nothing here touches a network.
"""
import mmap
import os
import select
import socket
import struct
import threading
import time

GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE = 1, 2, 3, 4, 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 12, 13, 14
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, SET_VRING_ENABLE = 15, 16, 17, 18

F_PROTOCOL_FEATURES = 1 << 30
PROTOCOL_F_REPLY_ACK = 1 << 3
REPLY, NEED_REPLY = 1 << 2, 1 << 3

# what vmk's back end offers (docs/vms.md)
NET_FEATURES = ((1 << 32) | (1 << 15) | (1 << 0) | (1 << 1) | (1 << 11) | (1 << 12) |
                (1 << 7) | (1 << 8) | (1 << 13) | (1 << 9) | (1 << 29) | (1 << 28) |
                F_PROTOCOL_FEATURES)
HDR = 12  # virtio_net_hdr_v1


class Ring:
    def __init__(self):
        self.num = 0
        self.base = None
        self.desc = self.avail = self.used = None
        self.kick = self.call = None
        self.enabled = False
        self.last_avail = 0


class Backend:
    def __init__(self, path, hostile=None, features=NET_FEATURES, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.hostile = hostile
        self.features = features
        self.log = []                 # (request, payload bytes, nfds)
        self.regions = []             # (gpa, size, uva, mmap)
        self.rings = [Ring(), Ring()]
        self.protocol = 0
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.closed = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    # ---- protocol ----

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def _recv(self):
        hdr, fds, _, _ = socket.recv_fds(self.sock, 12, 8)
        if not hdr:
            raise EOFError
        if len(hdr) < 12:
            hdr += self._recv_exact(12 - len(hdr))
        req, flags, size = struct.unpack("<III", hdr)
        return req, flags, self._recv_exact(size) if size else b"", fds

    def _reply(self, req, payload):
        self.sock.sendall(struct.pack("<III", req, 1 | REPLY, len(payload)) + payload)

    def _serve(self):
        try:
            while True:
                req, flags, payload, fds = self._recv()
                with self.cond:
                    self.log.append((req, payload, len(fds)))
                    self._handle(req, flags, payload, fds)
                    self.cond.notify_all()
        except (EOFError, OSError, socket.timeout):
            pass
        finally:
            with self.cond:
                self.closed = True
                self.cond.notify_all()

    def _handle(self, req, flags, payload, fds):
        if self.hostile:
            self.hostile(self, req, payload)
            for fd in fds:
                os.close(fd)
            return
        u64 = struct.unpack("<Q", payload[:8])[0] if len(payload) >= 8 else 0
        if req == GET_FEATURES:
            self._reply(req, struct.pack("<Q", self.features))
            return
        if req == GET_PROTOCOL_FEATURES:
            self._reply(req, struct.pack("<Q", PROTOCOL_F_REPLY_ACK))
            return
        if req == GET_VRING_BASE:
            idx = struct.unpack("<I", payload[:4])[0]
            r = self.rings[idx]
            r.enabled = False
            self._reply(req, struct.pack("<II", idx, r.last_avail))
        elif req == SET_PROTOCOL_FEATURES:
            self.protocol = u64
        elif req == SET_MEM_TABLE:
            self._mem_table(payload, fds)
            fds = []
        elif req in (SET_VRING_NUM, SET_VRING_BASE, SET_VRING_ENABLE):
            idx, num = struct.unpack("<II", payload[:8])
            r = self.rings[idx]
            if req == SET_VRING_NUM:
                r.num = num
            elif req == SET_VRING_BASE:
                r.base = r.last_avail = num
            else:
                r.enabled = bool(num)
        elif req == SET_VRING_ADDR:
            idx, _, desc, used, avail, _ = struct.unpack("<IIQQQQ", payload[:40])
            r = self.rings[idx]
            r.desc, r.used, r.avail = desc, used, avail
        elif req in (SET_VRING_KICK, SET_VRING_CALL):
            r = self.rings[u64 & 0xff]
            fd = fds.pop(0) if fds else None
            if req == SET_VRING_KICK:
                r.kick = fd
            else:
                r.call = fd
        for fd in fds:
            os.close(fd)
        if (flags & NEED_REPLY) and req not in (GET_FEATURES, GET_PROTOCOL_FEATURES,
                                                GET_VRING_BASE):
            self._reply(req, struct.pack("<Q", 0))

    def _mem_table(self, payload, fds):
        n = struct.unpack("<I", payload[:4])[0]
        self.regions = []
        for i in range(n):
            gpa, size, uva, off = struct.unpack("<QQQQ", payload[8 + 32 * i:40 + 32 * i])
            m = mmap.mmap(fds[i], size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE,
                          offset=off)
            os.close(fds[i])
            self.regions.append((gpa, size, uva, off, m))

    # ---- guest memory ----

    def _at(self, addr, n, by_uva):
        for gpa, size, uva, _, m in self.regions:
            start = uva if by_uva else gpa
            if start <= addr and addr + n <= start + size:
                return m, addr - start
        raise ValueError("address %#x outside guest memory" % addr)

    def read(self, addr, n, by_uva=False):
        m, o = self._at(addr, n, by_uva)
        return m[o:o + n]

    def write(self, addr, data, by_uva=False):
        m, o = self._at(addr, len(data), by_uva)
        m[o:o + len(data)] = data

    def _u16(self, uva):
        return struct.unpack("<H", self.read(uva, 2, True))[0]

    def used_idx(self, q):
        return self._u16(self.rings[q].used + 2)

    def _pop(self, q):
        """Next avail chain of ring q as [(gpa, len, flags)], or None."""
        r = self.rings[q]
        if self._u16(r.avail + 2) == r.last_avail:
            return None
        head = self._u16(r.avail + 4 + 2 * (r.last_avail % r.num))
        r.last_avail = (r.last_avail + 1) & 0xffff
        chain, i = [], head
        for _ in range(r.num):
            addr, ln, fl, nxt = struct.unpack("<QIHH", self.read(r.desc + 16 * i, 16, True))
            chain.append((addr, ln, fl))
            if not fl & 1:
                break
            i = nxt
        return head, chain

    def _push(self, q, head, written):
        r = self.rings[q]
        idx = self.used_idx(q)
        self.write(r.used + 4 + 8 * (idx % r.num), struct.pack("<II", head, written), True)
        self.write(r.used + 2, struct.pack("<H", (idx + 1) & 0xffff), True)
        if r.call is not None:
            os.write(r.call, struct.pack("<Q", 1))

    # ---- what tests use ----

    def wait(self, pred, seconds=10, what="condition"):
        deadline = time.monotonic() + seconds
        with self.cond:
            while not pred():
                left = deadline - time.monotonic()
                assert left > 0, "back end: timed out waiting for " + what
                self.cond.wait(min(left, 0.1))

    def requests(self):
        with self.lock:
            return [r for r, _, _ in self.log]

    def running(self, q):
        r = self.rings[q]
        return r.enabled and r.kick is not None and r.desc is not None

    def wait_kick(self, q, seconds=10):
        """True when the guest kicked ring q within `seconds`."""
        fd = self.rings[q].kick
        ready, _, _ = select.select([fd], [], [], seconds)
        if ready:
            os.read(fd, 8)
        return bool(ready)

    def frames(self, seconds=5):
        """Frames the guest sent on the TX ring (1) within `seconds`."""
        out, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.lock:
                got = self._pop(1)
                while got:
                    head, chain = got
                    data = b"".join(self.read(a, n) for a, n, fl in chain if not fl & 2)
                    out.append(data[HDR:])
                    self._push(1, head, 0)
                    got = self._pop(1)
            if out:
                return out
            self.wait_kick(1, 0.05)
        return out

    def inject(self, frame, seconds=5):
        """Puts frame into the next RX buffer (ring 0); False if none came."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.lock:
                got = self._pop(0)
                if got:
                    head, chain = got
                    addr, ln, _ = chain[0]
                    data = bytes(HDR) + frame
                    if len(data) > ln:
                        raise ValueError("RX buffer of %d bytes too small" % ln)
                    self.write(addr, data)
                    self._push(0, head, len(data))
                    return True
            time.sleep(0.02)
        return False

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)
        for r in self.rings:
            for fd in (r.kick, r.call):
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
        for *_, m in self.regions:
            try:
                m.close()
            except BufferError:
                pass
