/*
 * Unit tests for virtio-net (src/vmm/devices/virtio/net.c) on the
 * virtio-mmio transport, with a hostile guest.
 *
 * A fake VM (guest RAM = a malloc'd buffer in a gmem, an MMIO bus, stub
 * slot/irq functions) gets a virtio-net device whose TAP is one end of an
 * AF_UNIX SOCK_SEQPACKET pair (tap_open and tap_set_offload are stubbed
 * here, tap.c is not linked): the test writes received frames into the
 * other end and reads transmitted ones from it.  readv is wrapped
 * (-Wl,--wrap=readv) to behave like a TAP, which returns a frame's full
 * length even when it had to truncate it to the buffers.  The event loop
 * is stubbed too: the device's callback and the events it asks for are
 * recorded, and the test plays the I/O thread by calling it.
 *
 * Some tests play a second vCPU that keeps refilling a ring while the
 * device works on it.  To do that deterministically, gmem_ptr (which
 * virtq_pop calls for each descriptor's buffer) is wrapped as well
 * (-Wl,--wrap=gmem_ptr): while `refeed` is non-zero, each call re-posts
 * a chain on the ring, exactly as a vCPU racing with the device could.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/net.h"
#include "devices/virtio/tap.h"
#include "devices/virtio/virtio_defs.h"
#include "evloop.h"
#include "vm.h"

#include "fake_vm.h"
#include "virtq_driver.h"

#define RAM_SIZE (1u << 20)
#define QSIZE 256
#define RXQ 0
#define TXQ 1
/* per queue: descriptors, avail ring, used ring */
#define DESC_GPA(q) (0x10000u + 0x10000u * (q))
#define AVAIL_GPA(q) (DESC_GPA(q) + 0x1000)
#define USED_GPA(q) (DESC_GPA(q) + 0x2000)
#define BUF_GPA 0x40000u        /* rx buffers, tx frames */
#define HDR 12

/* ---- TAP: a socketpair; readv as a TAP does it ---- */

static int tap_fd = -1, peer_fd = -1;

int tap_open(const char *name, char *err, size_t errlen)
{
	int sv[2];

	(void)name;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	int big = 1 << 20;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	tap_fd = sv[0];
	peer_fd = sv[1];
	return sv[0];
}

int tap_set_offload(int fd, uint64_t guest_features)
{
	(void)fd;
	(void)guest_features;
	return 0;
}

ssize_t __real_readv(int fd, const struct iovec *iov, int cnt);
ssize_t __wrap_readv(int fd, const struct iovec *iov, int cnt);

ssize_t __wrap_readv(int fd, const struct iovec *iov, int cnt)
{
	if (fd != tap_fd)
		return __real_readv(fd, iov, cnt);
	/* a TAP: the frame's whole length, however much of it fitted */
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };
	return recvmsg(fd, &mh, MSG_TRUNC);
}

/* ---- the other vCPU ---- */

static struct vqd vq[2];        /* the driver's rx and tx queues */

/* while refeed > 0, each buffer the device resolves re-posts refeed_head */
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

/* fills queue q's ring with head, and has it re-posted `more` times */
static void keep_feeding(unsigned int q, uint16_t head, unsigned int more)
{
	for (unsigned int i = 0; i < QSIZE; i++)
		vqd_publish(&vq[q], head);
	refeed_q = q;
	refeed_head = head;
	refeed = more;
}

/* ---- event loop: recorded ---- */

static evloop_fn ev_fn;
static void *ev_opaque;
static uint32_t ev_events;

int evloop_add(int fd, uint32_t events, evloop_fn fn, void *opaque)
{
	(void)fd;
	ev_fn = fn;
	ev_opaque = opaque;
	ev_events = events;
	return 0;
}

int evloop_mod(int fd, uint32_t events, evloop_fn fn, void *opaque)
{
	return evloop_add(fd, events, fn, opaque);
}

void evloop_del(int fd)
{
	(void)fd;
	ev_fn = NULL;
	ev_events = 0;
}

/* the I/O thread's turn: one callback with these events */
static void io_event(uint32_t events)
{
	assert_non_null(ev_fn);
	ev_fn(ev_opaque, events);
}

/* ---- driver side (../support/virtq_driver.h) ---- */

static struct virtio_mmio *t;
static struct vdrv drv;

static uint32_t rd(uint64_t off)
{
	return vdrv_rd(&drv, off);
}

static void wr(uint64_t off, uint32_t v)
{
	vdrv_wr(&drv, off, v);
}

static void setup_queue(unsigned int q)
{
	vdrv_setup_queue(&drv, q, &vq[q]);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 1);
}

static void handshake(uint64_t features)
{
	vdrv_negotiate(&drv, features | VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(RXQ);
	setup_queue(TXQ);
	vdrv_driver_ok(&drv);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

static uint64_t stat(const char *name)
{
	uint64_t v = 0;

	if (virtio_stat(t, name, &v) < 0)
		fail_msg("no counter %s", name);
	return v;
}

/* the host sends a frame of len bytes (virtio-net header included) */
static void inject(size_t len, uint8_t fill)
{
	uint8_t *f = malloc(len);
	assert_non_null(f);
	memset(f, fill, len);
	memset(f, 0, HDR);
	assert_int_equal(send(peer_fd, f, len, MSG_DONTWAIT), (ssize_t)len);
	free(f);
}

/* ---- fixtures ---- */

static int setup(void **state)
{
	struct nic_config nic = { .tap = "vmktest0", .mac = { 2, 0, 0, 0, 0, 1 },
				  .mac_set = true };
	char err[256];

	(void)state;
	assert_int_equal(fake_vm_init(RAM_SIZE), 0);
	fvm.irqfd_max = 0;              /* interrupts are pulses */
	ev_fn = NULL;
	ev_events = 0;
	for (unsigned int q = 0; q < 2; q++)
		vq[q] = (struct vqd){ .size = QSIZE, .desc = DESC_GPA(q),
				      .avail = AVAIL_GPA(q), .used = USED_GPA(q) };
	refeed = 0;
	assert_int_equal(virtio_net_init(&fvm.vm, &nic, err, sizeof(err)), 0);
	t = virtio_mmio_get(0);
	assert_non_null(t);
	drv.base = virtio_mmio_base(t);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	virtio_mmio_destroy_all();      /* closes tap_fd */
	close(peer_fd);
	tap_fd = peer_fd = -1;
	fake_vm_free();
	return 0;
}

/* ---- tests ---- */

static void test_rx_tx_basic(void **state)
{
	uint8_t frame[HDR + 60];

	(void)state;
	handshake(0);
	assert_true(ev_events & EPOLLIN);
	/* rx: one 2 KiB buffer, one 100-byte frame */
	vqd_put_desc(vq[RXQ].desc, 0, BUF_GPA, 2048, VIRTQ_DESC_F_WRITE, 0);
	vqd_publish(&vq[RXQ], 0);
	inject(HDR + 100, 0xab);
	io_event(EPOLLIN);
	assert_int_equal(vqd_used_idx(&vq[RXQ]), 1);
	assert_int_equal(vqd_used_id(&vq[RXQ], 0), 0);
	assert_int_equal(vqd_used_len(&vq[RXQ], 0), HDR + 100);
	assert_int_equal(fvm.ram[BUF_GPA + 10], 1);          /* num_buffers */
	assert_int_equal(fvm.ram[BUF_GPA + HDR + 99], 0xab);
	/* tx: one frame in one descriptor */
	memset(fvm.ram + BUF_GPA + 0x10000, 0x5a, sizeof(frame));
	memset(fvm.ram + BUF_GPA + 0x10000, 0, HDR);
	vqd_put_desc(vq[TXQ].desc, 3, BUF_GPA + 0x10000, sizeof(frame), 0, 0);
	vqd_publish(&vq[TXQ], 3);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	assert_int_equal(vqd_used_idx(&vq[TXQ]), 1);
	assert_int_equal(vqd_used_id(&vq[TXQ], 0), 3);
	assert_int_equal(recv(peer_fd, frame, sizeof(frame), MSG_DONTWAIT),
			 (ssize_t)sizeof(frame));
	assert_int_equal(frame[HDR], 0x5a);
	assert_false(ev_events & EPOLLOUT);
}

/*
 * A frame longer than the held buffers plus the overflow buffer (a TAP
 * reports the full length of a frame it truncated): dropped, nothing is
 * copied from past the overflow buffer into guest RAM.
 */
static void test_rx_frame_longer_than_overflow(void **state)
{
	(void)state;
	handshake(VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	for (uint16_t i = 0; i < 64; i++) {
		vqd_put_desc(vq[RXQ].desc, i, BUF_GPA + 2048u * i, 2048, VIRTQ_DESC_F_WRITE, 0);
		vqd_publish(&vq[RXQ], i);
	}
	/* 2 KiB held + 64.5 KiB overflow + 4 KiB more: the 60 chains left
	 * could take the rest, but the rest is not there to give */
	inject(2048 + 65536 + 1024 + 4096, 0xcd);
	io_event(EPOLLIN);
	assert_int_equal(vqd_used_idx(&vq[RXQ]), 0);
	assert_int_equal(stat("rx_drops"), 1);
	assert_int_equal(stat("rx_frames"), 0);
	/* a frame that fits still goes through */
	inject(HDR + 1000, 0xee);
	io_event(EPOLLIN);
	assert_int_equal(vqd_used_idx(&vq[RXQ]), 1);
	assert_int_equal(stat("rx_frames"), 1);
}

/*
 * QueueReady=0 then 1 on the rx queue, without a device reset: the
 * chain the device held from the old ring must not get the next frame,
 * nor its head pushed onto the new ring.
 */
static void test_rx_held_chain_dropped_on_queue_reset(void **state)
{
	(void)state;
	handshake(0);
	vqd_put_desc(vq[RXQ].desc, 5, BUF_GPA, 2048, VIRTQ_DESC_F_WRITE, 0);
	vqd_publish(&vq[RXQ], 5);
	io_event(EPOLLIN);              /* takes the chain; no frame yet */
	assert_int_equal(vqd_used_idx(&vq[RXQ]), 0);

	wr(VIRTIO_MMIO_QUEUE_SEL, RXQ);
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	memset(fvm.ram + AVAIL_GPA(RXQ), 0, 0x2000);
	memset(fvm.ram + USED_GPA(RXQ), 0, 0x1000);
	vqd_reset(&vq[RXQ]);
	setup_queue(RXQ);
	vqd_put_desc(vq[RXQ].desc, 7, BUF_GPA + 0x8000, 2048, VIRTQ_DESC_F_WRITE, 0);
	vqd_publish(&vq[RXQ], 7);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);

	inject(HDR + 64, 0x77);
	io_event(EPOLLIN);
	assert_int_equal(vqd_used_idx(&vq[RXQ]), 1);
	assert_int_equal(vqd_used_id(&vq[RXQ], 0), 7);
	assert_int_equal(fvm.ram[BUF_GPA + 0x8000 + HDR], 0x77);
	assert_int_equal(fvm.ram[BUF_GPA + HDR], 0);        /* old buffer untouched */
}

/*
 * A guest that keeps posting rx chains too small for the header (each
 * goes straight back) must not keep the I/O thread in the device.
 */
static void test_rx_small_chains_bounded(void **state)
{
	for (int mrg = 0; mrg < 2; mrg++) {
		if (mrg) {
			teardown(state);
			setup(state);
		}
		handshake(mrg ? VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) : 0);
		vqd_put_desc(vq[RXQ].desc, 0, BUF_GPA, 4, VIRTQ_DESC_F_WRITE, 0);
		inject(HDR + 64, 0x11);
		keep_feeding(RXQ, 0, 100000);
		io_event(EPOLLIN);
		/* one ring's worth, not what the other vCPU kept adding */
		assert_int_equal(stat("rx_errors"), QSIZE);
		assert_int_equal(refeed, 100000 - QSIZE);
		refeed = 0;
		assert_int_equal(stat("rx_frames"), 0);
		/* nothing usable held: it stopped watching the TAP */
		assert_false(ev_events & EPOLLIN);
	}
}

/*
 * A guest that keeps the tx ring full from another vCPU: one kick sends
 * a bounded batch and leaves the rest to EPOLLOUT wakeups of the I/O
 * thread, which send it all.
 */
static void put_tx_frame(uint16_t head)
{
	memset(fvm.ram + BUF_GPA, 0, HDR + 60);
	vqd_put_desc(vq[TXQ].desc, head, BUF_GPA, HDR + 60, 0, 0);
}

static void test_tx_budget(void **state)
{
	uint8_t buf[256];

	(void)state;
	handshake(0);
	put_tx_frame(9);
	keep_feeding(TXQ, 9, 10000);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	/* one ring's worth, then back to the guest */
	assert_int_equal(vqd_used_idx(&vq[TXQ]), QSIZE);
	assert_int_equal(refeed, 10000 - QSIZE);
	assert_true(ev_events & EPOLLOUT);
	assert_true(ev_events & EPOLLIN);       /* rx watching unchanged */

	/* the I/O thread sends the rest, a batch per wakeup */
	for (int i = 0; i < 1000 && (ev_events & EPOLLOUT); i++) {
		while (recv(peer_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
		io_event(EPOLLOUT);
	}
	assert_false(ev_events & EPOLLOUT);
	assert_int_equal(refeed, 0);
	assert_int_equal(vq[TXQ].avail_idx, QSIZE + 10000);
	assert_int_equal(vqd_used_idx(&vq[TXQ]), vq[TXQ].avail_idx);
	assert_int_equal(stat("tx_frames") + stat("tx_drops"), vq[TXQ].avail_idx);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

/* A reset drops the tx backlog's EPOLLOUT with everything else. */
static void test_reset_clears_events(void **state)
{
	(void)state;
	handshake(0);
	put_tx_frame(1);
	keep_feeding(TXQ, 1, QSIZE);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, TXQ);
	assert_true(ev_events & EPOLLOUT);
	wr(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(ev_events, 0);
	io_event(EPOLLOUT | EPOLLIN);   /* a stale wakeup: nothing happens */
	assert_int_equal(ev_events, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rx_tx_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_frame_longer_than_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_held_chain_dropped_on_queue_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_small_chains_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_clears_events, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
