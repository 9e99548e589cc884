/*
 * Unit tests for vmx's vhost-user front end (src/vmm/devices/virtio/
 * net_vhost.c) on the fake VM: a back end thread on the other end of the
 * real Unix socket records every request (src/lib/vhost_user.c does the
 * wire format) and acknowledges it; the event loop is recorded here and
 * the tests play the I/O thread by calling its callbacks.  What the
 * system test (tests/system/test_vmx_vhost.py) cannot make a guest do is
 * checked here: device and queue resets, the kick fallback without KVM
 * ioeventfds, the call path, the link bit in config space.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus.h"
#include "config.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/net_vhost.h"
#include "devices/virtio/virtio_defs.h"
#include "evloop.h"
#include "fake_vm.h"
#include "virtq_driver.h"
#include "vhost_user.h"

#define RAM_SIZE (1u << 20)
#define QSIZE 16
#define DESC_GPA(q) (0x10000u + (q) * 0x1000u)
#define AVAIL_GPA(q) (DESC_GPA(q) + 0x400u)
#define USED_GPA(q) (DESC_GPA(q) + 0x800u)
#define MAX_LOG 128

/* ---- KVM ioeventfd: an eventfd KVM would signal, or none ---- */

static bool have_ioeventfd;

int vm_ioeventfd(struct vm *vm, uint64_t addr, uint32_t datamatch)
{
	(void)vm;
	(void)addr;
	(void)datamatch;
	if (!have_ioeventfd) {
		errno = ENOSYS;
		return -1;
	}
	return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

/* ---- event loop: recorded per fd ---- */

#define MAX_WATCH 16
static struct { int fd; uint32_t events; evloop_fn fn; void *opaque; } watch[MAX_WATCH];

static int watch_slot(int fd, bool make)
{
	for (int i = 0; i < MAX_WATCH; i++)
		if (watch[i].fn && watch[i].fd == fd)
			return i;
	for (int i = 0; make && i < MAX_WATCH; i++)
		if (!watch[i].fn)
			return i;
	return -1;
}

int evloop_add(int fd, uint32_t events, evloop_fn fn, void *opaque)
{
	int i = watch_slot(fd, true);
	if (i < 0)
		return -1;
	watch[i].fd = fd;
	watch[i].events = events;
	watch[i].fn = fn;
	watch[i].opaque = opaque;
	return 0;
}

int evloop_mod(int fd, uint32_t events, evloop_fn fn, void *opaque)
{
	return evloop_add(fd, events, fn, opaque);
}

void evloop_del(int fd)
{
	int i = watch_slot(fd, false);
	if (i >= 0)
		watch[i].fn = NULL;
}

/* The I/O thread's turn for fd: its callback, if fd is watched. */
static void io_event(int fd)
{
	int i = watch_slot(fd, false);
	assert_true(i >= 0);
	watch[i].fn(watch[i].opaque, EPOLLIN);
}

static uint32_t watched_events(int fd)
{
	int i = watch_slot(fd, false);
	return i < 0 ? 0 : watch[i].events;
}

/* ---- the back end: a thread that logs and acknowledges ---- */

struct logged {
	uint32_t request;
	uint64_t u64;
	struct vhu_vring_state state;
	unsigned int nfds;
};

static struct {
	pthread_t thread;
	int fd;
	pthread_mutex_t lock;
	struct logged log[MAX_LOG];
	unsigned int n;
	int kick[2], call[2];
	uint64_t features;
} be;

static void be_reply(struct vhu_msg *m, uint32_t size)
{
	m->hdr.flags = VHU_FLAG_REPLY;
	m->hdr.size = size;
	assert_int_equal(vhu_send(be.fd, m, NULL, 0), 0);
}

static void be_keep_fd(const struct vhu_msg *m, int *fds, unsigned int nfds)
{
	unsigned int q = m->payload.u64 & VHU_VRING_IDX_MASK;
	int *slot = m->hdr.request == VHU_SET_VRING_KICK ? be.kick : be.call;

	if (nfds == 1 && q < 2) {
		if (slot[q] >= 0)
			close(slot[q]);
		slot[q] = fds[0];
	}
}

static void be_answer(struct vhu_msg *m)
{
	switch (m->hdr.request) {
	case VHU_GET_FEATURES:
		m->payload.u64 = be.features;
		be_reply(m, 8);
		return;
	case VHU_GET_PROTOCOL_FEATURES:
		m->payload.u64 = 1u << VHU_PROTOCOL_F_REPLY_ACK;
		be_reply(m, 8);
		return;
	case VHU_GET_VRING_BASE:
		m->payload.state.num = 7;
		be_reply(m, sizeof(m->payload.state));
		return;
	}
	if (m->hdr.flags & VHU_FLAG_NEED_REPLY) {
		m->payload.u64 = 0;
		be_reply(m, 8);
	}
}

static void *be_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p = { .fd = be.fd, .events = POLLIN };
		struct vhu_msg m;
		int fds[VHU_MAX_FDS];
		unsigned int nfds = 0;

		if (poll(&p, 1, 5000) <= 0)
			return NULL;
		if (vhu_recv(be.fd, &m, fds, &nfds, NULL) < 0)
			return NULL;
		pthread_mutex_lock(&be.lock);
		if (be.n < MAX_LOG)
			be.log[be.n++] = (struct logged){ m.hdr.request, m.payload.u64,
							  m.payload.state, nfds };
		pthread_mutex_unlock(&be.lock);
		if (m.hdr.request == VHU_SET_VRING_KICK || m.hdr.request == VHU_SET_VRING_CALL)
			be_keep_fd(&m, fds, nfds);
		else
			for (unsigned int i = 0; i < nfds; i++)
				close(fds[i]);
		be_answer(&m);
	}
}

/* Requests logged from index `from` on, as a list of request numbers. */
static unsigned int be_requests(unsigned int from, uint32_t *out, unsigned int max)
{
	unsigned int k = 0;

	pthread_mutex_lock(&be.lock);
	for (unsigned int i = from; i < be.n && k < max; i++)
		out[k++] = be.log[i].request;
	pthread_mutex_unlock(&be.lock);
	return k;
}

static struct logged be_find(unsigned int from, uint32_t request, unsigned int nth)
{
	struct logged l = { 0 };

	pthread_mutex_lock(&be.lock);
	for (unsigned int i = from; i < be.n; i++)
		if (be.log[i].request == request && nth-- == 0) {
			l = be.log[i];
			break;
		}
	pthread_mutex_unlock(&be.lock);
	return l;
}

static unsigned int be_count(void)
{
	pthread_mutex_lock(&be.lock);
	unsigned int n = be.n;
	pthread_mutex_unlock(&be.lock);
	return n;
}

/* ---- driver side ---- */

static char sock_path[64];
static struct vhost_net *dev;
static struct virtio_mmio *t;
static int listen_fd;

static struct vdrv drv;          /* ../support/virtq_driver.h */
static struct vqd vq[2];

static uint32_t rd(uint64_t off)
{
	return vdrv_rd(&drv, off);
}

static void wr(uint64_t off, uint32_t v)
{
	vdrv_wr(&drv, off, v);
}

static uint8_t link_status(void)
{
	uint8_t v = 0;
	vdrv_access(&drv, VIRTIO_MMIO_CONFIG + 6, &v, 1, false);
	return v;
}

static void setup_queue(unsigned int q)
{
	vdrv_setup_queue(&drv, q, &vq[q]);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 1);
}

static void driver_ok(uint64_t features)
{
	vdrv_negotiate(&drv, features | VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(0);
	setup_queue(1);
	vdrv_driver_ok(&drv);
}

static uint64_t stat_of(const char *name)
{
	uint64_t v = 0;

	if (virtio_stat(t, name, &v) < 0)
		fail_msg("no counter %s", name);
	return v;
}

/* A back end connects: the thread starts, the I/O thread accepts. */
static void connect_backend(void)
{
	be.fd = vhu_connect(sock_path);
	assert_true(be.fd >= 0);
	assert_int_equal(pthread_create(&be.thread, NULL, be_main, NULL), 0);
	io_event(listen_fd);
}

static void backend_gone(void)
{
	shutdown(be.fd, SHUT_RDWR);
	pthread_join(be.thread, NULL);
	close(be.fd);
	be.fd = -1;
}

/* ---- fixtures ---- */

static int setup_common(bool ioeventfd)
{
	struct nic_config nic = { .mac = { 2, 0, 0, 0, 0, 9 }, .mac_set = true };
	char err[256];

	assert_int_equal(fake_vm_init(RAM_SIZE), 0);
	fvm.vm.mem_fd = memfd_create("test-ram", MFD_CLOEXEC);
	assert_true(fvm.vm.mem_fd >= 0);
	memset(watch, 0, sizeof(watch));
	memset(&be.log, 0, sizeof(be.log));
	be.n = 0;
	be.fd = -1;
	be.kick[0] = be.kick[1] = be.call[0] = be.call[1] = -1;
	be.features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VHU_F_PROTOCOL_FEATURES) |
		      VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
	pthread_mutex_init(&be.lock, NULL);
	have_ioeventfd = ioeventfd;
	snprintf(sock_path, sizeof(sock_path), "/tmp/vmk-test-vhost-%d.sock", (int)getpid());
	nic.vhost_user = sock_path;
	dev = virtio_net_vhost_init(&fvm.vm, &nic, err, sizeof(err));
	assert_non_null(dev);
	t = virtio_mmio_get(0);
	drv.base = virtio_mmio_base(t);
	for (unsigned int q = 0; q < 2; q++)
		vq[q] = (struct vqd){ .size = QSIZE, .desc = DESC_GPA(q),
				      .avail = AVAIL_GPA(q), .used = USED_GPA(q) };
	/* the listening socket is the first fd the device watched */
	listen_fd = watch[0].fd;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	return setup_common(true);
}

static int setup_no_ioeventfd(void **state)
{
	(void)state;
	return setup_common(false);
}

static int teardown(void **state)
{
	(void)state;
	if (be.fd >= 0)
		backend_gone();
	for (int i = 0; i < 2; i++) {
		if (be.kick[i] >= 0)
			close(be.kick[i]);
		if (be.call[i] >= 0)
			close(be.call[i]);
	}
	virtio_mmio_destroy_all();
	close(fvm.vm.mem_fd);
	fake_vm_free();
	assert_int_equal(access(sock_path, F_OK), -1);  /* the socket went with vmx */
	return 0;
}

/* ---- tests ---- */

static void test_handshake_link_and_start(void **state)
{
	uint32_t r[MAX_LOG];

	(void)state;
	assert_int_equal(link_status(), 0);
	assert_int_equal(watched_events(listen_fd), EPOLLIN);
	connect_backend();
	assert_int_equal(be_requests(0, r, MAX_LOG), 4);
	assert_int_equal(r[0], VHU_GET_FEATURES);
	assert_int_equal(r[1], VHU_GET_PROTOCOL_FEATURES);
	assert_int_equal(r[2], VHU_SET_PROTOCOL_FEATURES);
	assert_int_equal(r[3], VHU_SET_OWNER);
	assert_int_equal(link_status(), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(watched_events(listen_fd), 0);   /* one back end at a time */

	driver_ok(VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
		  VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	struct logged f = be_find(0, VHU_SET_FEATURES, 0);
	assert_int_equal(f.u64, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			 VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) |
			 VIRTIO_BIT(VHU_F_PROTOCOL_FEATURES));
	assert_int_equal(be_find(0, VHU_SET_MEM_TABLE, 0).nfds, 1);
	for (unsigned int q = 0; q < 2; q++) {
		struct logged b = be_find(0, VHU_SET_VRING_BASE, q);
		assert_int_equal(b.state.index, q);
		assert_int_equal(b.state.num, 0);
		assert_int_equal(be_find(0, VHU_SET_VRING_ENABLE, q).state.num, 1);
		assert_int_equal(be_find(0, VHU_SET_VRING_NUM, q).state.num, QSIZE);
		assert_true(be.kick[q] >= 0 && be.call[q] >= 0);
	}
	assert_int_equal(stat_of("connected"), 1);
}

static void test_device_reset_stops_rings(void **state)
{
	(void)state;
	connect_backend();
	driver_ok(0);
	unsigned int mark = be_count();
	wr(VIRTIO_MMIO_STATUS, 0);
	for (unsigned int q = 0; q < 2; q++) {
		struct logged e = be_find(mark, VHU_SET_VRING_ENABLE, q);
		assert_int_equal(e.request, VHU_SET_VRING_ENABLE);
		assert_int_equal(e.state.num, 0);
		assert_int_equal(be_find(mark, VHU_GET_VRING_BASE, q).state.index, q);
	}
	/* the driver starts again: everything is sent again, bases from 0 */
	mark = be_count();
	driver_ok(0);
	assert_int_equal(be_find(mark, VHU_SET_FEATURES, 0).request, VHU_SET_FEATURES);
	assert_int_equal(be_find(mark, VHU_SET_VRING_BASE, 1).state.num, 0);
}

static void test_queue_reset_stops_one_ring(void **state)
{
	(void)state;
	connect_backend();
	driver_ok(0);
	unsigned int mark = be_count();
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	struct logged g = be_find(mark, VHU_GET_VRING_BASE, 0);
	assert_int_equal(g.request, VHU_GET_VRING_BASE);
	assert_int_equal(g.state.index, 1);
	assert_int_equal(be_find(mark, VHU_GET_VRING_BASE, 1).request, 0);  /* only q1 */
	mark = be_count();
	setup_queue(1);
	struct logged b = be_find(mark, VHU_SET_VRING_BASE, 0);
	assert_int_equal(b.state.index, 1);
	assert_int_equal(b.state.num, 0);
	assert_int_equal(be_find(mark, VHU_SET_VRING_ENABLE, 0).state.num, 1);
}

static void test_hangup_link_down_and_replay(void **state)
{
	(void)state;
	connect_backend();
	driver_ok(0);
	uint32_t gen = rd(VIRTIO_MMIO_CONFIG_GENERATION);
	/* the guest's rings moved on while the first back end ran */
	guest_put16(USED_GPA(0) + 2, 5);
	backend_gone();
	int fd = -1;
	for (int i = 0; i < MAX_WATCH; i++)
		if (watch[i].fn && watch[i].fd != listen_fd && watch[i].events & EPOLLRDHUP)
			fd = watch[i].fd;
	assert_true(fd >= 0);
	io_event(fd);
	assert_int_equal(link_status(), 0);
	assert_int_not_equal(rd(VIRTIO_MMIO_CONFIG_GENERATION), gen);
	assert_true(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(watched_events(listen_fd), EPOLLIN);
	assert_int_equal(stat_of("disconnects"), 1);

	unsigned int mark = be_count();
	connect_backend();
	assert_int_equal(link_status(), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(be_find(mark, VHU_SET_VRING_BASE, 0).state.num, 5);
	assert_int_equal(be_find(mark, VHU_SET_VRING_BASE, 1).state.num, 0);
}

static void test_call_raises_vring_interrupt(void **state)
{
	uint64_t one = 1;

	(void)state;
	connect_backend();
	driver_ok(0);
	(void)fake_vm_irqfd_count(0);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, 3);
	assert_int_equal(write(be.call[0], &one, 8), 8);
	/* the call fd vmx watches is the one the back end got */
	int fd = -1;
	for (int i = 0; i < MAX_WATCH; i++)
		if (watch[i].fn && watch[i].fd != listen_fd && !(watch[i].events & EPOLLRDHUP) &&
		    watch[i].events == EPOLLIN) {
			struct pollfd p = { .fd = watch[i].fd, .events = POLLIN };
			if (poll(&p, 1, 0) == 1)
				fd = watch[i].fd;
		}
	assert_true(fd >= 0);
	io_event(fd);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING,
			 VIRTIO_MMIO_INT_VRING);
	assert_int_equal(fake_vm_irqfd_count(0), 1);
	assert_int_equal(stat_of("calls"), 1);
}

static void test_kicks_relayed_without_ioeventfd(void **state)
{
	uint64_t v;

	(void)state;
	connect_backend();
	driver_ok(0);
	assert_int_equal(stat_of("ioeventfd"), 0);
	/* drain the nudge at DRIVER_OK and the one after SET_VRING_ENABLE */
	while (read(be.kick[1], &v, 8) == 8)
		;
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	struct pollfd p = { .fd = be.kick[1], .events = POLLIN };
	assert_int_equal(poll(&p, 1, 1000), 1);
	assert_int_equal(read(be.kick[1], &v, 8), 8);
	assert_true(stat_of("relayed_kicks") >= 1);
	/* a notify for a queue the device does not have goes nowhere */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 7);
}

static void test_backend_lacking_features_is_dropped(void **state)
{
	(void)state;
	be.features = VIRTIO_BIT(VIRTIO_F_VERSION_1);
	connect_backend();
	driver_ok(VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	assert_int_equal(be_find(0, VHU_SET_FEATURES, 0).request, 0);
	assert_int_equal(link_status(), 0);
	assert_int_equal(stat_of("connected"), 0);
	assert_int_equal(watched_events(listen_fd), EPOLLIN);
	pthread_join(be.thread, NULL);   /* vmx closed its end: the thread ends */
	close(be.fd);
	be.fd = -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake_link_and_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_reset_stops_rings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_reset_stops_one_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hangup_link_down_and_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_raises_vring_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kicks_relayed_without_ioeventfd,
						setup_no_ioeventfd, teardown),
		cmocka_unit_test_setup_teardown(test_backend_lacking_features_is_dropped,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
