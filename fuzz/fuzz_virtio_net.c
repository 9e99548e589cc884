/*
 * libFuzzer target for virtio-net (src/vmm/devices/virtio/net.c) on the
 * virtio-mmio transport (mmio.c), driven the way a hostile guest can:
 * register accesses of any width and value in the device's 4 KiB window,
 * the feature handshake (MRG_RXBUF, CSUM, TSO and the rest), arbitrary
 * bytes in guest RAM (descriptor tables, rings, frames, rx buffers),
 * queue notifications, and a second vCPU that refills a ring while the
 * device works on it.  The host side is fuzzed too: frames of any length
 * arrive on the "TAP", and the I/O thread's wakeups come in any order.
 *
 * net.c is #included, not linked, so the checks can look at its state
 * (the held rx chains, the events it asked for).  tap.c is replaced:
 * tap_open() hands the device one end of an AF_UNIX SOCK_SEQPACKET pair;
 * the harness reads transmitted frames from the other end and injects
 * received ones there.  The event loop is replaced by stubs that record
 * the callback and the events the device asked for; op 10 plays the I/O
 * thread and calls it.
 *
 * The fake VM is built once per process, as tests/unit/test_virtio_net.c
 * builds it: RAM_SIZE bytes of guest RAM at guest-physical 0 (one heap
 * allocation of exactly that size, so ASan sees accesses past it), an
 * MMIO bus, stub slot / irq functions, one virtio-net device.  Every
 * input starts from the same state: guest RAM zeroed, both socket
 * directions drained, the device reset by writing 0 to Status.
 *
 * Oracles besides ASan/UBSan:
 *  - readv/writev are wrapped (-Wl,--wrap): every iovec the device hands
 *    the kernel must lie inside guest RAM (the kernel's own copies are
 *    invisible to ASan), except readv's last, which must be exactly the
 *    device's overflow buffer; at most UIO_MAXIOV of them; a transmitted
 *    frame has at least the 12-byte header.  The readv wrapper reads like
 *    a TAP: the frame's full length even when it was truncated;
 *  - every tx chain popped is pushed (last_avail == next_used, always),
 *    and after each receive pass every rx chain popped is either pushed
 *    or held (last_avail - next_used == the number held);
 *  - bounded work per entry into the device (virtio_mmio_pop is wrapped
 *    to count): a register write pops at most NET_TX_BUDGET tx chains and
 *    no rx chain; an I/O wakeup at most NET_TX_BUDGET tx chains and
 *    NET_RX_BATCH * 2 * NET_RX_POPS rx chains, however fast the "second
 *    vCPU" (op 15) refills the rings;
 *  - the device's idea of its event-loop registration matches the stub's.
 *
 * Input: a script of operations, each an opcode byte then its operands
 * (little-endian); a truncated last operation is dropped.
 *
 *   op % 18:
 *   0  MMIO write   off:u16 (& 0xfff)  w:u8 (len = 1 + w % 8)  value:len bytes
 *   1  MMIO read    off:u16 (& 0xfff)  w:u8
 *   2  RAM write    gpa:u32 (% RAM_SIZE)  n:u8  bytes:n  (clipped at the end)
 *   3  notify       q:u16    (QueueNotify = q)
 *   4  register     r:u8 (off = 4 * (r % 64))  value:u32   (32-bit write)
 *   5  setup        feat:u16  l2rx:u8  l2tx:u8
 *                   the whole driver handshake, both queues at the
 *                   harness's addresses, sizes 1 << (l2 % 9) (256 is the
 *                   maximum; l2 % 16 > 8 asks for 1 << (l2 % 16), refused).
 *                   feat bits: 0 MRG_RXBUF, 1 CSUM, 2 GUEST_CSUM,
 *                   3 HOST_TSO4, 4 HOST_TSO6, 5 GUEST_TSO4, 6 GUEST_TSO6,
 *                   7 EVENT_IDX, 8 MAC, 9 STATUS, 10 a bit not offered,
 *                   11 skip FEATURES_OK, 12 skip DRIVER_OK, 13 no
 *                   VERSION_1, 14 TUNSETOFFLOAD fails, 15 DRIVER_OK before
 *                   the queues are set up
 *   6  raw chain    qf:u8 (bit 0 queue, bit 1 no kick)  n:u8 (1 + n % 4)
 *                   then n x {addr:u32 len:u32 flags:u8} written at the
 *                   queue's next free descriptors, chained with NEXT
 *                   (flags bit 0 breaks the chain early, bit 1 WRITE,
 *                   bit 2 INDIRECT, bit 7 keeps addr whole, else
 *                   addr %= RAM_SIZE), then published
 *   7  tx frame     len:u16  hdr0:u8  hdr1:u8  layout:u8
 *                   a frame of 12 + len % TX_MAX bytes in the harness's tx
 *                   area (header flags = hdr0, gso_type = hdr1, the rest a
 *                   pattern).  layout bit 0: header in its own descriptor,
 *                   bit 1: through an indirect table, bit 2: no kick,
 *                   bit 3: payload in up to 3 more pieces, bit 4: a
 *                   writable descriptor at the end
 *   8  rx buffers   count:u8 (1 + count % 64)  seglen:u16  layout:u8
 *                   count chains of seglen bytes (0 allowed) each, laid
 *                   over the rx area again and again.  layout bit 0: two
 *                   segments per chain, bit 1: through an indirect table,
 *                   bit 2: no kick, bit 3: a readable segment first
 *   9  inject       len:u16  hi:u8  fill:u8
 *                   the host sends a frame of len + (hi % 3) * 65536
 *                   bytes (header included) on the TAP
 *   10 io           ev:u8  the I/O thread's turn: the device's callback
 *                   with the events it asked for that the socket has
 *                   (ev bit 7: ev & 0x05 instead, EPOLLIN / EPOLLOUT
 *                   whether asked for or not: a stale wakeup); ev % 8 ==
 *                   7 without bit 7 and bit 6 set: EPOLLHUP (TAP gone)
 *   11 reset        Status = 0
 *   12 ack          InterruptACK = InterruptStatus
 *   13 avail idx    q:u8  idx:u16  written as queue q % 2's available
 *                   index, and kicked
 *   14 queue ready  q:u8  v:u8  QueueSel = q % 2, QueueReady = v % 2
 *   15 second vCPU  q:u8  head:u16  count:u16  from now on, every buffer
 *                   address the device resolves (gmem_ptr) makes the
 *                   harness publish head on queue q % 2 again, count
 *                   times in all
 *   16 drain        n:u8  up to 1 + n % 64 EPOLLOUT wakeups, while the
 *                   device asks for them (a tx backlog), the socket
 *                   drained in between
 *   17 faults       f:u8  from now on: bit 0 evloop_add/mod fail, bit 1
 *                   TUNSETOFFLOAD fails, bit 2 readv fails (EIO), bit 3
 *                   writev fails (EIO)
 *
 * FUZZ_VERBOSE=1 in the environment prints the device's status and
 * counters (cumulative over the process) after each input.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/virtio/net.c"         /* the device under test, whole */
#include "evloop.h"
#include "log.h"
#include "vm.h"

#include "fake_vm.h"
#include "fuzz_input.h"
#include "virtio_fuzz.h"
#include "virtq_driver.h"

#define RAM_SIZE 0x40000u
#define NQ 2

/* guest RAM layout the harness uses */
#define RX_DESC 0x0000
#define RX_AVAIL 0x1000
#define RX_USED 0x2000
#define TX_DESC 0x3000
#define TX_AVAIL 0x4000
#define TX_USED 0x5000
#define TX_IND 0x6000           /* op 7's indirect table: 6 slots */
#define TX_BUF 0x6100           /* op 7's frames, to RX_IND */
#define RX_IND 0xf000           /* op 8's indirect tables: 64 x 64 bytes */
#define RX_BUF 0x10000          /* op 8's buffers, to the end of RAM */
#define TX_MAX (RX_IND - TX_BUF - VIRTIO_NET_HDR_LEN)

_Static_assert(RX_IND + 64 * 64 <= RX_BUF, "rx indirect tables");

/* ---- the TAP: a socketpair ---- */

static int tap_fd = -1, peer_fd = -1;
static bool offload_fail;

int tap_open(const char *name, char *err, size_t errlen)
{
	int sv[2];
	int big = 1 << 20;

	(void)name;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	}
	tap_fd = sv[0];
	peer_fd = sv[1];
	return sv[0];
}

int tap_set_offload(int fd, uint64_t guest_features)
{
	(void)guest_features;
	if (fd != tap_fd)
		__builtin_trap();
	if (offload_fail) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* ---- the event loop: recorded ---- */

static bool ev_registered, evloop_fail;
static bool readv_fail, writev_fail;
static evloop_fn ev_fn;
static void *ev_opaque;
static uint32_t ev_events;

int evloop_add(int fd, uint32_t events, evloop_fn fn, void *opaque)
{
	if (fd != tap_fd || evloop_fail || ev_registered)
		return -1;
	ev_registered = true;
	ev_fn = fn;
	ev_opaque = opaque;
	ev_events = events;
	return 0;
}

int evloop_mod(int fd, uint32_t events, evloop_fn fn, void *opaque)
{
	if (fd != tap_fd || evloop_fail || !ev_registered)
		return -1;
	ev_fn = fn;
	ev_opaque = opaque;
	ev_events = events;
	return 0;
}

void evloop_del(int fd)
{
	if (fd != tap_fd)
		__builtin_trap();
	ev_registered = false;
	ev_fn = NULL;
	ev_events = 0;
}

/* ---- the device's system calls and pops, checked ---- */

static struct virtio_net *net;  /* the device: ev_opaque at creation */

ssize_t __real_readv(int fd, const struct iovec *iov, int cnt);
ssize_t __real_writev(int fd, const struct iovec *iov, int cnt);
ssize_t __wrap_readv(int fd, const struct iovec *iov, int cnt);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int cnt);

ssize_t __wrap_readv(int fd, const struct iovec *iov, int cnt)
{
	if (fd != tap_fd || cnt < 2 || cnt > NET_READV_MAX)
		__builtin_trap();
	for (int i = 0; i + 1 < cnt; i++)
		if (!fake_vm_in_ram(iov[i].iov_base, iov[i].iov_len))
			__builtin_trap();
	/* behind the guest's buffers: the device's own overflow buffer */
	if (iov[cnt - 1].iov_base != net->overflow ||
	    iov[cnt - 1].iov_len != sizeof(net->overflow))
		__builtin_trap();
	if (readv_fail) {
		errno = EIO;
		return -1;
	}
	/* a TAP: the frame's whole length, however much of it fitted */
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };
	return recvmsg(fd, &mh, MSG_TRUNC | MSG_DONTWAIT);
}

ssize_t __wrap_writev(int fd, const struct iovec *iov, int cnt)
{
	uint64_t total = 0;

	if (fd != tap_fd || cnt < 1 || cnt > NET_READV_MAX)
		__builtin_trap();
	for (int i = 0; i < cnt; i++) {
		if (!fake_vm_in_ram(iov[i].iov_base, iov[i].iov_len))
			__builtin_trap();
		total += iov[i].iov_len;
	}
	if (total < VIRTIO_NET_HDR_LEN)
		__builtin_trap();
	if (writev_fail) {
		errno = EIO;
		return -1;
	}
	return __real_writev(fd, iov, cnt);
}

/* pops per entry into the device, by queue */
static unsigned long pops[NQ];

int __real_virtio_mmio_pop(struct virtio_mmio *t, unsigned int q, struct virtq_chain *c);
int __wrap_virtio_mmio_pop(struct virtio_mmio *t, unsigned int q, struct virtq_chain *c);

int __wrap_virtio_mmio_pop(struct virtio_mmio *t, unsigned int q, struct virtq_chain *c)
{
	if (q >= NQ)
		__builtin_trap();
	pops[q]++;
	return __real_virtio_mmio_pop(t, q, c);
}

/* ---- driver side (../tests/support/virtq_driver.h) ---- */

static bool mmio(const struct vdrv *d, uint64_t off, void *data, unsigned int len,
		 bool w);

static struct vdrv drv = { .access = mmio };
static struct vqd vq[NQ];
static struct virtio_mmio *t;
static unsigned int rx_slot;    /* op 8 rotates through the rx area */
static bool verbose;

/* the second vCPU (op 15) */
static unsigned int refeed, refeed_q;
static uint16_t refeed_head;

void *__real_gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len);
void *__wrap_gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len);

void *__wrap_gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	if (refeed > 0) {
		refeed--;
		vqd_publish(&vq[refeed_q], refeed_head);
	}
	return __real_gmem_ptr(m, gpa, len);
}

static void check_state(void);

/* every register access a vCPU makes, and the checks after it */
static bool mmio(const struct vdrv *d, uint64_t off, void *data, unsigned int len,
		 bool w)
{
	pops[0] = pops[1] = 0;
	bool hit = bus_access(&fvm.vm.mmio, d->base + off, data, len, w);
	/* a vCPU never receives; it sends one batch at most */
	if (pops[NET_RXQ] != 0 || pops[NET_TXQ] > NET_TX_BUDGET)
		__builtin_trap();
	check_state();
	return hit;
}

static void kick(unsigned int q)
{
	vdrv_wr(&drv, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static void reset_drv(void)
{
	static const uint64_t desc[NQ] = { RX_DESC, TX_DESC };
	static const uint64_t avail[NQ] = { RX_AVAIL, TX_AVAIL };
	static const uint64_t used[NQ] = { RX_USED, TX_USED };

	for (unsigned int q = 0; q < NQ; q++)
		vq[q] = (struct vqd){ .size = VIRTIO_NET_QUEUE_SIZE, .desc = desc[q],
				      .avail = avail[q], .used = used[q] };
	rx_slot = 0;
}

static const unsigned int feat_bits[11] = {
	VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM,
	VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_GUEST_TSO4,
	VIRTIO_NET_F_GUEST_TSO6, VIRTIO_F_RING_EVENT_IDX, VIRTIO_NET_F_MAC,
	VIRTIO_NET_F_STATUS, 22 /* VIRTIO_NET_F_MQ: not offered */,
};

static void setup_queue(unsigned int q, uint8_t l2)
{
	struct vqd *d = &vq[q];
	unsigned int sh = l2 % 16 > 8 ? l2 % 16 : l2 % 9;

	d->size = (uint16_t)(1u << sh);
	vqd_reset(d);
	/* fresh rings, as a driver allocates them (sizes for the largest queue) */
	memset(fvm.ram + d->avail, 0, 4 + 2 * VIRTIO_NET_QUEUE_SIZE + 2);
	memset(fvm.ram + d->used, 0, 4 + 8 * VIRTIO_NET_QUEUE_SIZE + 2);
	vdrv_setup_queue(&drv, q, d);
}

static void setup(uint16_t feat, uint8_t l2rx, uint8_t l2tx)
{
	uint64_t f = feat & (1u << 13) ? 0 : VIRTIO_BIT(VIRTIO_F_VERSION_1);
	uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	for (unsigned int i = 0; i < 11; i++)
		if (feat & (1u << i))
			f |= VIRTIO_BIT(feat_bits[i]);
	offload_fail = feat & (1u << 14);
	reset_drv();
	vdrv_wr(&drv, VIRTIO_MMIO_STATUS, 0);
	vdrv_wr(&drv, VIRTIO_MMIO_STATUS, st);
	vdrv_features(&drv, f);
	if (!(feat & (1u << 11)))
		st |= VIRTIO_STATUS_FEATURES_OK;
	vdrv_wr(&drv, VIRTIO_MMIO_STATUS, st);
	if (feat & (1u << 15))
		vdrv_wr(&drv, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
	setup_queue(NET_RXQ, l2rx);
	setup_queue(NET_TXQ, l2tx);
	if (!(feat & (1u << 12)))
		vdrv_driver_ok(&drv);
}

/* ---- the I/O thread ---- */

static void drain_peer(void)
{
	static uint8_t buf[1 << 18];
	ssize_t r;

	while ((r = recv(peer_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC)) >= 0)
		if (r < VIRTIO_NET_HDR_LEN)
			__builtin_trap();       /* one writev, one whole frame */
}

static void io_event(uint32_t events)
{
	if (!ev_registered || !ev_fn)
		return;
	bool rx_runs = (events & EPOLLIN) && !(events & (EPOLLERR | EPOLLHUP)) &&
		       net->watching && virtio_mmio_running(t);
	pops[0] = pops[1] = 0;
	ev_fn(ev_opaque, events);
	if (pops[NET_TXQ] > NET_TX_BUDGET ||
	    pops[NET_RXQ] > (unsigned long)NET_RX_BATCH * 2 * NET_RX_POPS)
		__builtin_trap();
	if (rx_runs) {
		/* after a receive pass: every rx chain popped is pushed or held */
		const struct virtq *q = virtio_mmio_queue(t, NET_RXQ);
		uint16_t out = (uint16_t)(q->last_avail - q->next_used);
		if (q->enabled ? out != net->nr_held : net->nr_held != 0)
			__builtin_trap();
	}
	drain_peer();
	check_state();
}

/* the events the device asked for that the socket has, as epoll reports them */
static uint32_t ready_events(void)
{
	struct pollfd p = { .fd = tap_fd, .events = POLLIN | POLLOUT };
	uint32_t ev = 0;

	if (poll(&p, 1, 0) > 0) {
		if (p.revents & POLLIN)
			ev |= EPOLLIN;
		if (p.revents & POLLOUT)
			ev |= EPOLLOUT;
	}
	return ev & ev_events;
}

/* ---- checks after every step ---- */

static void check_state(void)
{
	const struct virtq *tx = virtio_mmio_queue(t, NET_TXQ);

	/* tx chains never stay with the device */
	if (tx->last_avail != tx->next_used)
		__builtin_trap();
	if (net->nr_held > VIRTIO_NET_QUEUE_SIZE || net->held_iov > NET_RX_IOVS ||
	    (net->nr_held == 0 && (net->held_iov || net->held_cap)))
		__builtin_trap();
	/* the device's record of its registration is the event loop's */
	if (net->registered != ev_registered)
		__builtin_trap();
	if (ev_registered &&
	    ev_events != ((net->watching ? EPOLLIN : 0u) | (net->tx_backlog ? EPOLLOUT : 0u)))
		__builtin_trap();
}

/* ---- the script (../tests/support/virtio_fuzz.h: the ops all share) ---- */

static bool op_chain(struct fuzz_in *in)
{
	uint8_t qf;
	uint16_t head;

	if (!FUZZ_TAKE(in, qf) || !vfz_raw_chain(in, &vq[qf & 1], &head))
		return false;
	vqd_publish(&vq[qf & 1], head);
	if (!(qf & 2))
		kick(qf & 1);
	return true;
}

/* segs as one chain on queue q: direct, or through the indirect table at ind */
static void put_chain(unsigned int q, const struct vqd_seg *s, unsigned int n,
		      bool indirect, uint64_t ind, bool do_kick)
{
	uint16_t head = indirect ? vqd_put_chain_indirect(&vq[q], s, n, ind)
				 : vqd_put_chain(&vq[q], s, n);

	vqd_publish(&vq[q], head);
	if (do_kick)
		kick(q);
}

static bool op_tx_frame(struct fuzz_in *in)
{
	uint16_t len16;
	uint8_t h0, h1, layout;
	if (!FUZZ_TAKE(in, len16) || !FUZZ_TAKE(in, h0) || !FUZZ_TAKE(in, h1) || !FUZZ_TAKE(in, layout))
		return false;
	uint32_t len = len16 % TX_MAX;
	uint8_t hdr[VIRTIO_NET_HDR_LEN] = { h0, h1 };
	guest_put(TX_BUF, hdr, sizeof(hdr));
	for (uint32_t i = 0; i < len; i++)
		fvm.ram[TX_BUF + VIRTIO_NET_HDR_LEN + i] = (uint8_t)(i * 7 + len);

	struct vqd_seg s[6];
	unsigned int n = 0;
	if (layout & 1) {
		s[n++] = (struct vqd_seg){ TX_BUF, VIRTIO_NET_HDR_LEN, false };
		if (len && (layout & 8)) {
			uint32_t a = len / 3, b = len / 3, c = len - a - b;
			s[n++] = (struct vqd_seg){ TX_BUF + VIRTIO_NET_HDR_LEN, a, false };
			s[n++] = (struct vqd_seg){ TX_BUF + VIRTIO_NET_HDR_LEN + a, b, false };
			s[n++] = (struct vqd_seg){ TX_BUF + VIRTIO_NET_HDR_LEN + a + b, c, false };
		} else if (len) {
			s[n++] = (struct vqd_seg){ TX_BUF + VIRTIO_NET_HDR_LEN, len, false };
		}
	} else {
		s[n++] = (struct vqd_seg){ TX_BUF, VIRTIO_NET_HDR_LEN + len, false };
	}
	if (layout & 16)
		s[n++] = (struct vqd_seg){ TX_BUF, 64, true };
	put_chain(NET_TXQ, s, n, layout & 2, TX_IND, !(layout & 4));
	return true;
}

static bool op_rx_buffers(struct fuzz_in *in)
{
	uint8_t count, layout;
	uint16_t seglen;
	if (!FUZZ_TAKE(in, count) || !FUZZ_TAKE(in, seglen) || !FUZZ_TAKE(in, layout))
		return false;
	count = 1 + count % 64;
	uint32_t span = RAM_SIZE - RX_BUF;
	uint32_t per = (layout & 1) ? 2u * seglen : seglen;
	for (unsigned int i = 0; i < count; i++) {
		struct vqd_seg s[3];
		unsigned int n = 0;
		uint64_t off = (uint64_t)rx_slot * per;
		if (per == 0 || off + per > span) {
			rx_slot = 0;
			off = 0;
		}
		rx_slot++;
		if (layout & 8)
			s[n++] = (struct vqd_seg){ TX_BUF, 16, false };
		s[n++] = (struct vqd_seg){ RX_BUF + off, seglen, true };
		if (layout & 1)
			s[n++] = (struct vqd_seg){ RX_BUF + off + seglen, seglen, true };
		put_chain(NET_RXQ, s, n, layout & 2, RX_IND + 64 * (i % 64),
			  !(layout & 4) && i + 1 == count);
	}
	return true;
}

static bool op_inject(struct fuzz_in *in)
{
	static uint8_t frame[3 * 65536];
	uint16_t len16;
	uint8_t hi, fill;
	if (!FUZZ_TAKE(in, len16) || !FUZZ_TAKE(in, hi) || !FUZZ_TAKE(in, fill))
		return false;
	size_t len = len16 + (size_t)(hi % 3) * 65536;
	if (len == 0)
		len = 1;
	memset(frame, fill, len);
	/* the kernel's virtio_net_hdr: what it would say for this frame */
	memset(frame, 0, len < VIRTIO_NET_HDR_LEN ? len : VIRTIO_NET_HDR_LEN);
	if (len >= 2)
		frame[0] = fill & 3, frame[1] = fill >> 5;
	/* EAGAIN (the queue is full) or EMSGSIZE: the host dropped it */
	(void)send(peer_fd, frame, len, MSG_DONTWAIT);
	return true;
}

static bool step(struct fuzz_in *in)
{
	uint8_t op;
	if (!FUZZ_TAKE(in, op))
		return false;
	switch (op % 18) {
	case 0:
		return vfz_mmio_write(in, &drv);
	case 1:
		return vfz_mmio_read(in, &drv);
	case 2: {
		uint32_t gpa;
		return FUZZ_TAKE(in, gpa) && vfz_ram_write(in, gpa % RAM_SIZE);
	}
	case 3:
		return vfz_notify(in, &drv);
	case 4:
		return vfz_register(in, &drv);
	case 5: {
		uint16_t feat;
		uint8_t l2rx, l2tx;
		if (!FUZZ_TAKE(in, feat) || !FUZZ_TAKE(in, l2rx) || !FUZZ_TAKE(in, l2tx))
			return false;
		setup(feat, l2rx, l2tx);
		return true;
	}
	case 6:
		return op_chain(in);
	case 7:
		return op_tx_frame(in);
	case 8:
		return op_rx_buffers(in);
	case 9:
		return op_inject(in);
	case 10: {
		uint8_t ev;
		if (!FUZZ_TAKE(in, ev))
			return false;
		if (ev & 0x80)
			io_event(ev & (EPOLLIN | EPOLLOUT));
		else if (ev % 8 == 7 && (ev & 0x40))
			io_event(EPOLLHUP);
		else
			io_event(ready_events());
		return true;
	}
	case 11:
		vdrv_wr(&drv, VIRTIO_MMIO_STATUS, 0);
		reset_drv();
		return true;
	case 12:
		vdrv_ack(&drv);
		return true;
	case 13: {
		uint8_t q;
		uint16_t idx;
		if (!FUZZ_TAKE(in, q) || !FUZZ_TAKE(in, idx))
			return false;
		vqd_set_avail_idx(&vq[q % 2], idx);
		kick(q % 2);
		return true;
	}
	case 14: {
		uint8_t q, v;
		if (!FUZZ_TAKE(in, q) || !FUZZ_TAKE(in, v))
			return false;
		vdrv_wr(&drv, VIRTIO_MMIO_QUEUE_SEL, q % 2);
		vdrv_wr(&drv, VIRTIO_MMIO_QUEUE_READY, v % 2);
		return true;
	}
	case 15: {
		uint8_t q;
		uint16_t head, count;
		if (!FUZZ_TAKE(in, q) || !FUZZ_TAKE(in, head) || !FUZZ_TAKE(in, count))
			return false;
		refeed_q = q % 2;
		refeed_head = head;
		refeed = count;
		return true;
	}
	case 16: {
		uint8_t n;
		if (!FUZZ_TAKE(in, n))
			return false;
		for (unsigned int i = 0; i < 1u + n % 64 && (ev_events & EPOLLOUT); i++)
			io_event(ready_events() & EPOLLOUT);
		return true;
	}
	case 17: {
		uint8_t f;
		if (!FUZZ_TAKE(in, f))
			return false;
		evloop_fail = f & 1;
		offload_fail = f & 2;
		readv_fail = f & 4;
		writev_fail = f & 8;
		return true;
	}
	}
	return false;
}

/* ---- per-process setup and per-input reset ---- */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct nic_config nic = { .tap = "vmkfuzz0", .mac = { 2, 0, 0, 0, 0, 1 },
				  .mac_set = true };
	char err[256];

	(void)argc;
	(void)argv;
	verbose = vfz_init(RAM_SIZE);
	if (virtio_net_init(&fvm.vm, &nic, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_virtio_net: %s\n", err);
		abort();
	}
	t = virtio_mmio_get(0);
	net = ev_opaque;
	if (!t || !net || !ev_registered)
		abort();
	drv.base = virtio_mmio_base(t);
	return 0;
}

static void reset_all(void)
{
	static uint8_t buf[1 << 18];

	memset(fvm.ram, 0, RAM_SIZE);
	refeed = 0;
	offload_fail = evloop_fail = readv_fail = writev_fail = false;
	vdrv_wr(&drv, VIRTIO_MMIO_STATUS, 0);
	if (net->tap_dead) {
		/* op 10's EPOLLHUP is for good; the next input has a new TAP */
		net->tap_dead = false;
	}
	reset_drv();
	drain_peer();
	while (recv(tap_fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
	while (fake_vm_irqfd_count(0) != 0)
		;
	check_state();
}

/* FUZZ_VERBOSE=1: the device's status and counters after each input */
static void dump(void)
{
	fprintf(stderr, "status %#x held %u:", vdrv_rd(&drv, VIRTIO_MMIO_STATUS), net->nr_held);
	vfz_print_stats(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	reset_all();
	vfz_run(data, size, step);
	check_state();
	if (verbose)
		dump();
	return 0;
}
