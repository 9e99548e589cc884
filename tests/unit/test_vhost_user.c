/*
 * Unit tests for vhost-user: the message layer (src/lib/vhost_user.c),
 * the back end (vhost_user_backend.c) and VM ports (port_vhost.c).
 *
 * The test plays the front end, as vmx does: guest memory is a memfd
 * mapped here, the rings are laid out in it by a small driver below, the
 * kick and call fds are eventfds, and the port connects to a listening
 * Unix socket the test owns.  The port is attached to a dp_switch next to
 * a test port (in-memory queue) and served by a dp_runner that the test
 * polls itself, so everything runs on this thread except the front end's
 * request/reply exchanges (GET_FEATURES and the like), which run in a
 * helper thread while this one polls the runner.
 *
 * Covered: frames both ways with their virtio-net header, VLAN tagging
 * and the forged-transmit policy, GSO/checksum header pass-through,
 * mergeable RX buffers (and a frame that does not fit: dropped, nothing
 * consumed), EVENT_IDX interrupt suppression, hang-up, reconnection of a
 * new port with the ring bases taken from the used indices, a guest that
 * breaks its TX ring, and a set of malformed messages, each of which must
 * leave the port disconnected, vmkd alive and no fd leaked.  Then what a
 * review found: a message that comes in pieces (kept, never waited for),
 * a replaced or stopped kick fd (no stale epoll watch), REPLY_ACK on a
 * refusal, replies nobody reads, SET_FEATURES without PROTOCOL_FEATURES
 * enabling rings, a memory table undone once, and a mergeable frame's
 * buffers published to the used ring together (a second thread watches).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "datapath.h"
#include "vhost_user.h"
#include "vhost_user_backend.h"
#include "virtq.h"

#define MEMSZ (4u << 20)
#define GPA_BASE 0x40000000ull	/* guest-physical != front-end virtual */
#define QSIZE 256
#define TXBUF_SIZE 0x800	/* per descriptor id, at 0x100000 */
#define TXBIG_OFF 0x200000	/* larger frames (one at a time) */
#define RXBUF_SIZE 0x800	/* per descriptor id, at 0x10000 */
#define F(n) ((uint64_t)1 << (n))

static const uint8_t VM_MAC[6] = { 0x00, 0x50, 0x56, 0x00, 0x00, 0x01 };
static const uint8_t PEER_MAC[6] = { 0x00, 0x50, 0x56, 0x00, 0x00, 0x02 };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* ---- the guest's side of a ring ---- */

struct dq {
	unsigned idx;
	uint64_t off_desc, off_avail, off_used;
	uint16_t avail_idx, last_used;
	int kick, call;
};

struct fx {
	char dir[64], path[108];
	int lfd;			/* the front end's listening socket */
	int fd;				/* its accepted connection */
	int memfd;
	uint8_t *mem;
	struct vhu_front f;
	uint64_t want;			/* features the front end asks for */
	struct dq q[2];
	struct dp_switch *sw;
	struct dp_runner *run;
	struct dp_port *vm, *peer;
};

static uint64_t gpa(uint64_t off)
{
	return GPA_BASE + off;
}

static uint64_t uva(struct fx *x, uint64_t off)
{
	return (uint64_t)(uintptr_t)(x->mem + off);
}

static struct virtq_desc *desc(struct fx *x, struct dq *q, unsigned i)
{
	return (struct virtq_desc *)(x->mem + q->off_desc) + i;
}

static uint16_t *avail(struct fx *x, struct dq *q)
{
	return (uint16_t *)(x->mem + q->off_avail);	/* flags, idx, ring[] */
}

static uint16_t *used(struct fx *x, struct dq *q)
{
	return (uint16_t *)(x->mem + q->off_used);	/* flags, idx, then elems */
}

static void dq_init(struct fx *x, unsigned i);

/* New rings and eventfds for the next connection (the old fds closed). */
static void dq_renew(struct fx *x)
{
	for (int i = 0; i < 2; i++) {
		close(x->q[i].kick);
		close(x->q[i].call);
	}
	dq_init(x, 0);
	dq_init(x, 1);
}

static void dq_init(struct fx *x, unsigned i)
{
	struct dq *q = &x->q[i];
	uint64_t base = 0x1000 + i * 0x4000;

	memset(q, 0, sizeof(*q));
	q->idx = i;
	q->off_desc = base;
	q->off_avail = base + 0x1000;
	q->off_used = base + 0x2000;
	memset(x->mem + base, 0, 0x3000);
	q->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	q->call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(q->kick >= 0 && q->call >= 0);
}

static void publish(struct fx *x, struct dq *q, uint16_t head)
{
	uint16_t *a = avail(x, q);

	a[2 + q->avail_idx % QSIZE] = head;
	q->avail_idx++;
	__atomic_store_n(&a[1], q->avail_idx, __ATOMIC_RELEASE);
}

static void kick(struct dq *q)
{
	uint64_t one = 1;

	assert_int_equal(write(q->kick, &one, 8), 8);
}

static uint64_t calls(struct dq *q)
{
	uint64_t v = 0;

	return read(q->call, &v, 8) == 8 ? v : 0;
}

/* Queues a frame on the TX ring: header and frame in one descriptor, or
 * (split) the 12-byte header in one and the frame in a second, whose id
 * is head + QSIZE / 2 (so at most QSIZE / 2 split frames in flight). */
static void tx_queue(struct fx *x, const struct virtio_net_hdr *h,
		     const void *frame, uint32_t len, bool split)
{
	struct dq *q = &x->q[VHU_BE_TXQ];
	uint16_t head = q->avail_idx % (split ? QSIZE / 2 : QSIZE);
	uint64_t off = len + 12 > TXBUF_SIZE ? TXBIG_OFF
					     : 0x100000 + (uint64_t)head * TXBUF_SIZE;
	struct virtio_net_hdr_mrg_rxbuf hdr = { .hdr = h ? *h : (struct virtio_net_hdr){ 0 } };

	memcpy(x->mem + off, &hdr, 12);
	memcpy(x->mem + off + 12, frame, len);
	if (split) {
		uint16_t next = (uint16_t)(head + QSIZE / 2);
		*desc(x, q, head) = (struct virtq_desc){ gpa(off), 12,
							 VIRTQ_DESC_F_NEXT, next };
		*desc(x, q, next) = (struct virtq_desc){ gpa(off + 12), len, 0, 0 };
	} else {
		*desc(x, q, head) = (struct virtq_desc){ gpa(off), 12 + len, 0, 0 };
	}
	publish(x, q, head);
}

static void tx_send(struct fx *x, const struct virtio_net_hdr *h,
		    const void *frame, uint32_t len)
{
	tx_queue(x, h, frame, len, true);
}

/* Offers one writable RX buffer of len bytes. */
static void rx_post(struct fx *x, uint32_t len)
{
	struct dq *q = &x->q[VHU_BE_RXQ];
	uint16_t head = q->avail_idx % QSIZE;

	*desc(x, q, head) = (struct virtq_desc){
		gpa(0x10000 + (uint64_t)head * RXBUF_SIZE), len, VIRTQ_DESC_F_WRITE, 0 };
	publish(x, q, head);
}

static bool used_pop(struct fx *x, struct dq *q, uint32_t *id, uint32_t *len)
{
	uint16_t *u = used(x, q);

	if (__atomic_load_n(&u[1], __ATOMIC_ACQUIRE) == q->last_used)
		return false;
	struct virtq_used_elem *e =
		(struct virtq_used_elem *)(u + 2) + q->last_used % QSIZE;
	*id = e->id;
	*len = e->len;
	q->last_used++;
	return true;
}

static uint8_t *rx_buf(struct fx *x, uint32_t id)
{
	return x->mem + 0x10000 + (uint64_t)id * RXBUF_SIZE;
}

/* ---- frames ---- */

static uint32_t make_frame(uint8_t *buf, const uint8_t *dst, const uint8_t *src,
			   uint32_t len, uint8_t seed)
{
	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	buf[12] = 0x88;
	buf[13] = 0xb5;
	for (uint32_t i = 14; i < len; i++)
		buf[i] = (uint8_t)(seed + i);
	return len;
}

/* ---- running the port ---- */

static void pump(struct fx *x, int rounds)
{
	for (int i = 0; i < rounds; i++)
		dp_runner_poll(x->run, i ? 1 : 0);
}

/* Polls until cond(x) holds or about 2 s passed; returns cond(x). */
static bool pump_until(struct fx *x, bool (*cond)(struct fx *x))
{
	for (int i = 0; i < 2000 && !cond(x); i++)
		dp_runner_poll(x->run, 1);
	return cond(x);
}

static bool peer_has_frame(struct fx *x)
{
	return dp_test_port_pending(x->peer) > 0;
}

static bool vm_gone(struct fx *x)
{
	return !dp_vhost_port_connected(x->vm);
}

struct call {
	struct fx *x;
	int (*fn)(struct fx *x);
	int rc;
	bool done;
};

static void *call_main(void *arg)
{
	struct call *c = arg;

	c->rc = c->fn(c->x);
	__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* Runs a front-end exchange in a thread while this one serves the port. */
static int front_run(struct fx *x, int (*fn)(struct fx *x))
{
	struct call c = { x, fn, -1, false };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, call_main, &c), 0);
	for (int i = 0; i < 5000 && !__atomic_load_n(&c.done, __ATOMIC_ACQUIRE); i++)
		dp_runner_poll(x->run, 1);
	pthread_join(t, NULL);
	return c.rc;
}

static unsigned bases[2];	/* ring bases the next handshake sets */

static int handshake(struct fx *x)
{
	uint64_t feat, pf;
	struct vhu_front_region r = { GPA_BASE, MEMSZ, uva(x, 0), x->memfd, 0 };
	int rc;

	vhu_front_init(&x->f, x->fd);
	if ((rc = vhu_front_get_features(&x->f, &feat)) < 0 ||
	    !(feat & F(VHU_F_PROTOCOL_FEATURES)) ||
	    (rc = vhu_front_set_features(&x->f, feat & x->want)) < 0 ||
	    (rc = vhu_front_get_protocol_features(&x->f, &pf)) < 0 ||
	    (rc = vhu_front_set_protocol_features(&x->f, pf &
		  (F(VHU_PROTOCOL_F_REPLY_ACK) | F(VHU_PROTOCOL_F_MQ)))) < 0 ||
	    (rc = vhu_front_set_owner(&x->f)) < 0 ||
	    (rc = vhu_front_set_mem_table(&x->f, &r, 1)) < 0)
		return rc < 0 ? rc : -EPROTO;
	for (unsigned i = 0; i < 2; i++) {
		struct dq *q = &x->q[i];
		rc = vhu_front_setup_vring(&x->f, i, QSIZE, bases[i],
					   uva(x, q->off_desc), uva(x, q->off_avail),
					   uva(x, q->off_used), q->kick, q->call, true);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void attach(struct fx *x, const char *pg)
{
	char err[256];

	x->vm = dp_vhost_port_new("vm0", x->path, err, sizeof(err));
	assert_non_null(x->vm);
	assert_true(dp_vhost_port_connected(x->vm));
	x->fd = accept4(x->lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(x->fd >= 0);
	assert_int_equal(dp_switch_attach(x->sw, x->vm, pg, VM_MAC), 0);
	assert_int_equal(dp_runner_add(x->run, x->vm), 0);
}

static void detach(struct fx *x)
{
	if (!x->vm)
		return;
	dp_runner_del(x->run, x->vm);
	dp_switch_detach(x->vm);
	dp_port_destroy(x->vm);
	x->vm = NULL;
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
}

/* A connected, set-up port on port group "pg" with the features in want. */
static void connect_vm(struct fx *x, const char *pg)
{
	attach(x, pg);
	assert_int_equal(front_run(x, handshake), 0);
	assert_true(dp_vhost_port_connected(x->vm));
}

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct dp_switch_config sc = { .name = "vSwitch0" };
	struct dp_policy pol;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(x->dir, sizeof(x->dir), "/tmp/vmk-vhu-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->path, sizeof(x->path), "%s/eth0.sock", x->dir);
	memcpy(sa.sun_path, x->path, strlen(x->path));
	x->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(x->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(x->lfd, 4), 0);
	x->fd = -1;
	x->memfd = memfd_create("guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_int_equal(ftruncate(x->memfd, MEMSZ), 0);
	x->mem = mmap(NULL, MEMSZ, PROT_READ | PROT_WRITE, MAP_SHARED, x->memfd, 0);
	assert_true(x->mem != MAP_FAILED);
	dq_init(x, 0);
	dq_init(x, 1);
	x->want = vhu_be_features;
	x->sw = dp_switch_new(&sc);
	x->run = dp_runner_new();
	dp_policy_default(&pol);
	assert_int_equal(dp_pg_set(x->sw, "pg", 0, &pol), 0);
	assert_int_equal(dp_pg_set(x->sw, "vm10", 10, &pol), 0);
	assert_int_equal(dp_pg_set(x->sw, "trunk", DP_VLAN_TRUNK, &pol), 0);
	x->peer = dp_test_port_new("peer");
	bases[0] = bases[1] = 0;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	detach(x);
	dp_switch_detach(x->peer);
	dp_port_destroy(x->peer);
	dp_runner_free(x->run);
	dp_switch_free(x->sw);
	for (int i = 0; i < 2; i++) {
		close(x->q[i].kick);
		close(x->q[i].call);
	}
	munmap(x->mem, MEMSZ);
	close(x->memfd);
	close(x->lfd);
	unlink(x->path);
	rmdir(x->dir);
	free(x);
	return 0;
}

/* Injects a frame from the peer and returns the RX used entries. */
static unsigned inject(struct fx *x, const void *frame, uint32_t len,
		       const struct virtio_net_hdr *h, uint32_t *ids, uint32_t *lens,
		       unsigned max)
{
	struct virtio_net_hdr none = { 0 };
	unsigned n = 0;

	dp_test_port_inject(x->peer, frame, len, h ? h : &none);
	while (n < max && used_pop(x, &x->q[VHU_BE_RXQ], &ids[n], &lens[n]))
		n++;
	return n;
}

/* ---- the message layer ---- */

static void test_msg_fds(void **state)
{
	(void)state;
	int sv[2], fds[VHU_MAX_FDS], many[10];
	unsigned nfds;
	const char *why;
	struct vhu_msg m = { .hdr = { VHU_SET_VRING_KICK, 0, 8 } };

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	int efd = eventfd(0, 0);
	m.payload.u64 = 1;
	assert_int_equal(vhu_send(sv[0], &m, &efd, 1), 0);
	memset(&m, 0, sizeof(m));
	assert_int_equal(vhu_recv(sv[1], &m, fds, &nfds, &why), 0);
	assert_int_equal(m.hdr.request, VHU_SET_VRING_KICK);
	assert_int_equal(nfds, 1);
	assert_int_not_equal(fds[0], efd);
	close(fds[0]);

	/* kick without its fd, and with the no-fd flag: checked per request */
	m = (struct vhu_msg){ .hdr = { VHU_SET_VRING_KICK, 0, 8 }, .payload.u64 = 1 };
	assert_int_equal(vhu_send(sv[0], &m, NULL, 0), 0);
	assert_int_equal(vhu_recv(sv[1], &m, fds, &nfds, &why), -EPROTO);
	assert_non_null(strstr(why, "fds"));
	m = (struct vhu_msg){ .hdr = { VHU_SET_VRING_KICK, 0, 8 },
			      .payload.u64 = 1 | VHU_VRING_NOFD };
	assert_int_equal(vhu_send(sv[0], &m, NULL, 0), 0);
	assert_int_equal(vhu_recv(sv[1], &m, fds, &nfds, &why), 0);

	/* sizes */
	m = (struct vhu_msg){ .hdr = { VHU_SET_VRING_NUM, 0, 4 } };
	assert_int_equal(vhu_send(sv[0], &m, NULL, 0), 0);
	assert_int_equal(vhu_recv(sv[1], &m, fds, &nfds, &why), -EPROTO);
	assert_non_null(strstr(why, "payload of 4 bytes, 8 expected"));

	/* more fds than a message may carry: all closed, none handed over */
	for (int i = 0; i < 10; i++)
		many[i] = efd;
	struct msghdr mh = { 0 };
	union { char buf[CMSG_SPACE(sizeof(int) * 10)]; struct cmsghdr a; } ctl;
	struct vhu_hdr h = { VHU_SET_OWNER, VHU_VERSION, 0 };
	struct iovec iov = { &h, sizeof(h) };
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * 10);
	memcpy(CMSG_DATA(c), many, sizeof(many));
	assert_int_equal(sendmsg(sv[0], &mh, 0), (ssize_t)sizeof(h));
	assert_int_equal(vhu_recv(sv[1], &m, fds, &nfds, &why), -EPROTO);
	assert_int_equal(nfds, 0);

	/* EOF */
	close(sv[0]);
	assert_int_equal(vhu_recv(sv[1], &m, fds, &nfds, &why), -ECONNRESET);
	close(sv[1]);
	close(efd);
}

/* ---- frames both ways ---- */

static void test_frames_both_ways(void **state)
{
	struct fx *x = *state;
	uint8_t fr[1514], got[2048];
	struct virtio_net_hdr vh;
	uint32_t ids[8], lens[8];

	x->want = vhu_be_features & ~F(VIRTIO_NET_F_MRG_RXBUF);
	assert_int_equal(dp_switch_attach(x->sw, x->peer, "pg", PEER_MAC), 0);
	connect_vm(x, "pg");

	/* guest -> peer */
	uint32_t len = make_frame(fr, PEER_MAC, VM_MAC, 100, 1);
	tx_send(x, NULL, fr, len);
	kick(&x->q[VHU_BE_TXQ]);
	assert_true(pump_until(x, peer_has_frame));
	assert_int_equal(dp_test_port_pop(x->peer, got, sizeof(got), &vh), (int)len);
	assert_memory_equal(got, fr, len);
	uint32_t id, ulen;
	assert_true(used_pop(x, &x->q[VHU_BE_TXQ], &id, &ulen));
	assert_int_equal(id, 0);
	assert_true(calls(&x->q[VHU_BE_TXQ]) > 0);	/* TX completion */

	/* peer -> guest: 12-byte header, num_buffers 1 */
	for (int i = 0; i < 4; i++)
		rx_post(x, RXBUF_SIZE);
	len = make_frame(fr, VM_MAC, PEER_MAC, 1514, 7);
	assert_int_equal(inject(x, fr, len, NULL, ids, lens, 8), 1);
	assert_int_equal(lens[0], 12 + len);
	struct virtio_net_hdr_mrg_rxbuf *h = (void *)rx_buf(x, ids[0]);
	assert_int_equal(h->num_buffers, 1);
	assert_int_equal(h->hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	assert_memory_equal(rx_buf(x, ids[0]) + 12, fr, len);
	assert_true(calls(&x->q[VHU_BE_RXQ]) > 0);

	/* a burst larger than what the runner takes from a port in one go
	 * (4 batches) all arrives, in order, after a single kick */
	unsigned want = 200;
	for (unsigned i = 0; i < want; i++) {
		make_frame(fr, PEER_MAC, VM_MAC, 60, (uint8_t)i);
		tx_queue(x, NULL, fr, 60, false);
	}
	kick(&x->q[VHU_BE_TXQ]);
	pump(x, 50);
	assert_int_equal(dp_test_port_pending(x->peer), want);
	for (unsigned i = 0; i < want; i++) {
		assert_int_equal(dp_test_port_pop(x->peer, got, sizeof(got), &vh), 60);
		assert_int_equal(got[20], (uint8_t)(i + 20));
	}

	struct dp_port_stats st;
	dp_port_get_stats(x->vm, &st);
	assert_int_equal(st.in_frames, 1 + want);
	assert_int_equal(st.out_frames, 1);
}

/* ---- VLANs and policy ---- */

static void test_vlan_and_policy(void **state)
{
	struct fx *x = *state;
	uint8_t fr[256], got[512];
	struct virtio_net_hdr vh;
	uint32_t ids[4], lens[4];
	struct dp_policy pol;

	x->want = vhu_be_features & ~F(VIRTIO_NET_F_MRG_RXBUF);
	assert_int_equal(dp_switch_attach(x->sw, x->peer, "trunk", PEER_MAC), 0);
	connect_vm(x, "vm10");

	/* the guest's untagged broadcast leaves the trunk port tagged 10
	 * (unknown unicast would go to uplinks only) */
	make_frame(fr, BCAST, VM_MAC, 80, 3);
	tx_send(x, NULL, fr, 80);
	kick(&x->q[VHU_BE_TXQ]);
	assert_true(pump_until(x, peer_has_frame));
	assert_int_equal(dp_test_port_pop(x->peer, got, sizeof(got), &vh), 84);
	assert_int_equal(got[12], 0x81);
	assert_int_equal(got[13], 0x00);
	assert_int_equal(got[15], 10);
	assert_memory_equal(got + 16, fr + 12, 80 - 12);

	/* a frame tagged 10 reaches the guest untagged; one tagged 20 does not */
	rx_post(x, RXBUF_SIZE);
	rx_post(x, RXBUF_SIZE);
	uint8_t tagged[256];
	memcpy(tagged, fr, 12);
	memcpy(tagged, VM_MAC, 6);
	memcpy(tagged + 6, PEER_MAC, 6);
	tagged[12] = 0x81; tagged[13] = 0; tagged[14] = 0; tagged[15] = 10;
	memcpy(tagged + 16, fr + 12, 80 - 12);
	assert_int_equal(inject(x, tagged, 84, NULL, ids, lens, 4), 1);
	assert_int_equal(lens[0], 12 + 80);
	assert_int_equal(rx_buf(x, ids[0])[12 + 12], 0x88);
	tagged[15] = 20;
	assert_int_equal(inject(x, tagged, 84, NULL, ids, lens, 4), 0);

	/* forged transmits rejected: another source MAC is dropped */
	dp_policy_default(&pol);
	pol.security.allow_forged_transmits = false;
	assert_int_equal(dp_pg_set(x->sw, "vm10", 10, &pol), 0);
	make_frame(fr, BCAST, (const uint8_t[6]){ 0x02, 0, 0, 0, 0, 9 }, 80, 3);
	tx_send(x, NULL, fr, 80);
	kick(&x->q[VHU_BE_TXQ]);
	pump(x, 20);
	assert_int_equal(dp_test_port_pending(x->peer), 0);
	struct dp_port_stats st;
	dp_port_get_stats(x->vm, &st);
	assert_int_equal(st.drops[DP_DROP_FORGED], 1);
}

/* ---- offloads ---- */

static void test_gso_header_passthrough(void **state)
{
	struct fx *x = *state;
	static uint8_t fr[20000], got[24000];
	struct virtio_net_hdr vh, gso = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = 54, .gso_size = 1448,
		.csum_start = 34, .csum_offset = 16,
	};
	uint32_t ids[16], lens[16];

	assert_int_equal(dp_switch_attach(x->sw, x->peer, "pg", PEER_MAC), 0);
	connect_vm(x, "pg");

	/* guest -> peer: a 16 KB TSO frame keeps its header */
	uint32_t len = make_frame(fr, PEER_MAC, VM_MAC, 16000, 5);
	fr[12] = 0x08; fr[13] = 0x00;
	tx_send(x, &gso, fr, len);
	kick(&x->q[VHU_BE_TXQ]);
	assert_true(pump_until(x, peer_has_frame));
	assert_int_equal(dp_test_port_pop(x->peer, got, sizeof(got), &vh), (int)len);
	assert_memory_equal(&vh, &gso, sizeof(gso));
	assert_memory_equal(got, fr, len);

	/* peer -> guest: the header arrives as sent, data across buffers */
	memcpy(fr, VM_MAC, 6);
	memcpy(fr + 6, PEER_MAC, 6);
	for (int i = 0; i < 12; i++)
		rx_post(x, RXBUF_SIZE);
	unsigned n = inject(x, fr, len, &gso, ids, lens, 16);
	assert_int_equal(n, (12 + len + RXBUF_SIZE - 1) / RXBUF_SIZE);
	struct virtio_net_hdr_mrg_rxbuf *h = (void *)rx_buf(x, ids[0]);
	assert_memory_equal(&h->hdr, &gso, sizeof(gso));
	assert_int_equal(h->num_buffers, n);

	/* a TSO header without HOST_TSO4 negotiated is malformed: dropped */
	detach(x);
	dq_renew(x);
	x->want = vhu_be_features & ~F(VIRTIO_NET_F_HOST_TSO4);
	connect_vm(x, "pg");
	memcpy(fr, PEER_MAC, 6);
	memcpy(fr + 6, VM_MAC, 6);
	tx_send(x, &gso, fr, len);
	kick(&x->q[VHU_BE_TXQ]);
	pump(x, 20);
	assert_int_equal(dp_test_port_pending(x->peer), 0);
	struct dp_port_stats st;
	dp_port_get_stats(x->vm, &st);
	assert_int_equal(st.drops[DP_DROP_MALFORMED], 1);
}

/* ---- mergeable RX buffers ---- */

static void test_mergeable(void **state)
{
	struct fx *x = *state;
	uint8_t fr[1514];
	uint8_t joined[2048];
	uint32_t ids[8], lens[8];

	assert_int_equal(dp_switch_attach(x->sw, x->peer, "pg", PEER_MAC), 0);
	connect_vm(x, "pg");

	/* 1000 + 12 bytes into 256-byte buffers: 4 of them, num_buffers 4 */
	for (int i = 0; i < 4; i++)
		rx_post(x, 256);
	uint32_t len = make_frame(fr, VM_MAC, PEER_MAC, 1000, 9);
	assert_int_equal(inject(x, fr, len, NULL, ids, lens, 8), 4);
	struct virtio_net_hdr_mrg_rxbuf *h = (void *)rx_buf(x, ids[0]);
	assert_int_equal(h->num_buffers, 4);
	uint32_t at = 0;
	for (int i = 0; i < 4; i++) {
		memcpy(joined + at, rx_buf(x, ids[i]), lens[i]);
		at += lens[i];
	}
	assert_int_equal(at, 12 + len);
	assert_memory_equal(joined + 12, fr, len);

	/* two buffers cannot hold it: dropped, and both stay available */
	rx_post(x, 256);
	rx_post(x, 256);
	assert_int_equal(inject(x, fr, len, NULL, ids, lens, 8), 0);
	struct dp_port_stats st;
	dp_port_get_stats(x->vm, &st);
	assert_int_equal(st.drops[DP_DROP_TX], 1);
	rx_post(x, 256);
	rx_post(x, 256);
	assert_int_equal(inject(x, fr, len, NULL, ids, lens, 8), 4);
	assert_int_equal(ids[0], 4);	/* the two kept ones come first */
	assert_int_equal(ids[1], 5);
}

/* ---- EVENT_IDX: no interrupt the driver did not ask for ---- */

static void test_event_idx(void **state)
{
	struct fx *x = *state;
	uint8_t fr[128];
	uint32_t ids[4], lens[4];

	assert_int_equal(dp_switch_attach(x->sw, x->peer, "pg", PEER_MAC), 0);
	connect_vm(x, "pg");
	struct dq *q = &x->q[VHU_BE_RXQ];
	uint16_t *used_event = &avail(x, q)[2 + QSIZE];

	for (int i = 0; i < 4; i++)
		rx_post(x, RXBUF_SIZE);
	*used_event = 1;	/* interrupt once used idx passes 1 */
	make_frame(fr, VM_MAC, PEER_MAC, 64, 1);
	assert_int_equal(inject(x, fr, 64, NULL, ids, lens, 4), 1);
	calls(q);	/* the first one always signals */
	assert_int_equal(inject(x, fr, 64, NULL, ids, lens, 4), 1);
	assert_int_equal(calls(q), 1);	/* idx 1 -> 2 crosses used_event 1 */
	*used_event = 10;
	assert_int_equal(inject(x, fr, 64, NULL, ids, lens, 4), 1);
	assert_int_equal(calls(q), 0);
}

/* ---- disconnection and reconnection ---- */

static void test_hangup(void **state)
{
	struct fx *x = *state;
	uint8_t fr[128];
	uint32_t ids[4], lens[4];

	assert_int_equal(dp_switch_attach(x->sw, x->peer, "pg", PEER_MAC), 0);
	connect_vm(x, "pg");
	close(x->fd);
	x->fd = -1;
	assert_true(pump_until(x, vm_gone));
	make_frame(fr, VM_MAC, PEER_MAC, 64, 1);
	rx_post(x, RXBUF_SIZE);
	assert_int_equal(inject(x, fr, 64, NULL, ids, lens, 4), 0);
	struct dp_port_stats st;
	dp_port_get_stats(x->vm, &st);
	assert_int_equal(st.drops[DP_DROP_TX], 1);
}

static void test_reconnect(void **state)
{
	struct fx *x = *state;
	uint8_t fr[128], got[256];
	struct virtio_net_hdr vh;
	uint32_t ids[4], lens[4];

	assert_int_equal(dp_switch_attach(x->sw, x->peer, "pg", PEER_MAC), 0);
	connect_vm(x, "pg");
	for (int i = 0; i < 3; i++) {
		make_frame(fr, PEER_MAC, VM_MAC, 64, (uint8_t)i);
		tx_send(x, NULL, fr, 64);
		rx_post(x, RXBUF_SIZE);
	}
	kick(&x->q[VHU_BE_TXQ]);
	pump(x, 20);
	assert_int_equal(dp_test_port_pending(x->peer), 3);
	dp_test_port_clear(x->peer);
	make_frame(fr, VM_MAC, PEER_MAC, 64, 1);
	assert_int_equal(inject(x, fr, 64, NULL, ids, lens, 4), 1);

	/* vmkd goes away; a new port connects; the front end replays its
	 * state with each ring's base from the used index in its memory */
	detach(x);
	bases[0] = used(x, &x->q[0])[1];
	bases[1] = used(x, &x->q[1])[1];
	assert_int_equal(bases[0], 1);
	assert_int_equal(bases[1], 3);
	connect_vm(x, "pg");

	/* the frames the old port took do not come again; new ones do */
	make_frame(fr, PEER_MAC, VM_MAC, 64, 42);
	tx_send(x, NULL, fr, 64);
	kick(&x->q[VHU_BE_TXQ]);
	assert_true(pump_until(x, peer_has_frame));
	pump(x, 5);
	assert_int_equal(dp_test_port_pending(x->peer), 1);
	assert_int_equal(dp_test_port_pop(x->peer, got, sizeof(got), &vh), 64);
	assert_int_equal(got[20], (uint8_t)(42 + 20));
	/* RX goes on in the buffers the guest had left: ids 1 and 2 */
	make_frame(fr, VM_MAC, PEER_MAC, 64, 2);
	assert_int_equal(inject(x, fr, 64, NULL, ids, lens, 4), 1);
	assert_int_equal(ids[0], 1);
}

/* ---- hostile front ends ---- */

static unsigned count_fds(void)
{
	unsigned n = 0;
	DIR *d = opendir("/proc/self/fd");

	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void send_raw(struct fx *x, const void *buf, size_t len)
{
	assert_int_equal(write(x->fd, buf, len), (ssize_t)len);
}

static void region_msg(struct vhu_msg *m, unsigned n, uint64_t size)
{
	*m = (struct vhu_msg){ .hdr = { VHU_SET_MEM_TABLE, 0, VHU_MEM_TABLE_SIZE(n) } };
	m->payload.mem.nregions = n;
	for (unsigned i = 0; i < n && i < VHU_MAX_REGIONS; i++)
		m->payload.mem.region[i] = (struct vhu_mem_region){
			GPA_BASE + i * MEMSZ, size, 0x7000000000ull + i * MEMSZ, 0 };
}

enum bad {
	BAD_VERSION, BAD_SIZE, BAD_UNKNOWN, BAD_NINE_REGIONS, BAD_REGION_PAST_FILE,
	BAD_REGION_SOCKET, BAD_OVERLAP, BAD_RING_OUTSIDE, BAD_RING_NUM,
	BAD_RING_INDEX, BAD_KICK_NOT_EVENTFD, BAD_FEATURES, BAD_LOG, BAD_TX_LOOP, BAD_MAX
};

static void send_bad(struct fx *x, enum bad which)
{
	struct vhu_msg m;
	int fds[VHU_MAX_FDS + 1];

	for (int i = 0; i <= (int)VHU_MAX_FDS; i++)
		fds[i] = x->memfd;
	switch (which) {
	case BAD_VERSION: {
		struct vhu_hdr h = { VHU_SET_OWNER, 2, 0 };
		send_raw(x, &h, sizeof(h));
		break;
	}
	case BAD_SIZE: {
		struct vhu_hdr h = { VHU_SET_OWNER, VHU_VERSION, 100000 };
		send_raw(x, &h, sizeof(h));
		break;
	}
	case BAD_UNKNOWN:
		m = (struct vhu_msg){ .hdr = { 99, 0, 8 } };
		assert_int_equal(vhu_send(x->fd, &m, NULL, 0), 0);
		break;
	case BAD_NINE_REGIONS:
		region_msg(&m, 8, 4096);
		m.payload.mem.nregions = 9;
		assert_int_equal(vhu_send(x->fd, &m, fds, 8), 0);
		break;
	case BAD_REGION_PAST_FILE:
		region_msg(&m, 1, 2 * MEMSZ);
		assert_int_equal(vhu_send(x->fd, &m, fds, 1), 0);
		break;
	case BAD_REGION_SOCKET:
		region_msg(&m, 1, 4096);
		assert_int_equal(vhu_send(x->fd, &m, &x->fd, 1), 0);
		break;
	case BAD_OVERLAP:
		region_msg(&m, 2, MEMSZ);
		m.payload.mem.region[1].gpa = GPA_BASE + 4096;
		assert_int_equal(vhu_send(x->fd, &m, fds, 2), 0);
		break;
	case BAD_RING_OUTSIDE:
		x->q[VHU_BE_TXQ].off_used = MEMSZ - 16;	/* runs past the end */
		assert_true(front_run(x, handshake) < 0);
		break;
	case BAD_RING_NUM:
		m = (struct vhu_msg){ .hdr = { VHU_SET_VRING_NUM, 0, 8 },
				      .payload.state = { 1, 3 } };
		assert_int_equal(vhu_send(x->fd, &m, NULL, 0), 0);
		break;
	case BAD_RING_INDEX:
		m = (struct vhu_msg){ .hdr = { VHU_SET_VRING_NUM, 0, 8 },
				      .payload.state = { 7, 64 } };
		assert_int_equal(vhu_send(x->fd, &m, NULL, 0), 0);
		break;
	case BAD_KICK_NOT_EVENTFD:
		m = (struct vhu_msg){ .hdr = { VHU_SET_VRING_KICK, 0, 8 },
				      .payload.u64 = 1 };
		assert_int_equal(vhu_send(x->fd, &m, &x->memfd, 1), 0);
		break;
	case BAD_FEATURES:
		m = (struct vhu_msg){ .hdr = { VHU_SET_FEATURES, 0, 8 },
				      .payload.u64 = ~0ull };
		assert_int_equal(vhu_send(x->fd, &m, NULL, 0), 0);
		break;
	case BAD_LOG:
		m = (struct vhu_msg){ .hdr = { VHU_SET_LOG_FD, 0, 0 } };
		assert_int_equal(vhu_send(x->fd, &m, fds, 1), 0);
		break;
	case BAD_TX_LOOP: {
		struct dq *q = &x->q[VHU_BE_TXQ];
		assert_int_equal(front_run(x, handshake), 0);
		*desc(x, q, 0) = (struct virtq_desc){ gpa(0x100000), 64,
						      VIRTQ_DESC_F_NEXT, 1 };
		*desc(x, q, 1) = (struct virtq_desc){ gpa(0x100000), 64,
						      VIRTQ_DESC_F_NEXT, 0 };
		publish(x, q, 0);
		kick(q);
		break;
	}
	case BAD_MAX:
		break;
	}
}

static void test_malformed(void **state)
{
	struct fx *x = *state;
	uint8_t fr[128];
	uint32_t ids[4], lens[4];

	assert_int_equal(dp_switch_attach(x->sw, x->peer, "pg", PEER_MAC), 0);
	unsigned fds_before = count_fds();
	for (int b = 0; b < BAD_MAX; b++) {
		dq_renew(x);	/* fresh rings and eventfds */
		attach(x, "pg");
		send_bad(x, (enum bad)b);
		if (!pump_until(x, vm_gone))
			fail_msg("malformed case %d left the port connected", b);
		/* and the disconnected port drops what it is sent */
		make_frame(fr, VM_MAC, PEER_MAC, 64, 1);
		inject(x, fr, 64, NULL, ids, lens, 4);
		struct dp_port_stats st;
		dp_port_get_stats(x->vm, &st);
		assert_int_equal(st.drops[DP_DROP_TX], 1);
		detach(x);
		x->q[VHU_BE_TXQ].off_used = 0x1000 + 0x4000 + 0x2000;
		if (count_fds() != fds_before)
			fail_msg("malformed case %d leaked fds (%u, %u before)", b,
				 count_fds(), fds_before);
	}
}

/* ---- half messages, replaced kicks, refusals, unread replies ---- */

/* A header (with its fd) and no payload yet: the port keeps it and goes
 * on (the runner is vmkd's one datapath thread: it never waits on one
 * front end), then takes the message whole when the rest comes. */
static void test_partial_message(void **state)
{
	struct fx *x = *state;
	uint8_t fr[128], got[256];
	struct virtio_net_hdr vh;
	struct vhu_hdr h = { VHU_SET_VRING_CALL, VHU_VERSION, 8 };
	uint64_t idx = VHU_BE_RXQ;
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr a; } ctl;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };

	assert_int_equal(dp_switch_attach(x->sw, x->peer, "pg", PEER_MAC), 0);
	unsigned fds_before = count_fds();
	attach(x, "pg");
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &x->q[VHU_BE_RXQ].call, sizeof(int));
	assert_int_equal(sendmsg(x->fd, &mh, 0), (ssize_t)sizeof(h));
	pump(x, 20);
	assert_true(dp_vhost_port_connected(x->vm));
	send_raw(x, &idx, 4);		/* half the payload */
	pump(x, 20);
	assert_true(dp_vhost_port_connected(x->vm));
	send_raw(x, (uint8_t *)&idx + 4, 4);
	/* the stream is in step: the whole set-up works, frames flow */
	assert_int_equal(front_run(x, handshake), 0);
	make_frame(fr, PEER_MAC, VM_MAC, 64, 3);
	tx_send(x, NULL, fr, 64);
	kick(&x->q[VHU_BE_TXQ]);
	assert_true(pump_until(x, peer_has_frame));
	assert_int_equal(dp_test_port_pop(x->peer, got, sizeof(got), &vh), 64);
	assert_memory_equal(got, fr, 64);
	detach(x);
	assert_int_equal(count_fds(), fds_before);

	/* a header, then the hang-up: its fd is closed with the port */
	attach(x, "pg");
	assert_int_equal(sendmsg(x->fd, &mh, 0), (ssize_t)sizeof(h));
	pump(x, 5);
	close(x->fd);
	x->fd = -1;
	assert_true(pump_until(x, vm_gone));
	detach(x);
	assert_int_equal(count_fds(), fds_before);
}

static int new_kick;

static int replace_tx_kick(struct fx *x)
{
	return vhu_front_set_vring_kick(&x->f, VHU_BE_TXQ, new_kick);
}

static int stop_tx(struct fx *x)
{
	unsigned base;

	return vhu_front_get_vring_base(&x->f, VHU_BE_TXQ, &base);
}

static bool port_readable(struct fx *x)
{
	struct pollfd p = { .fd = x->vm->fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

/* A kick fd the front end replaced, or the ring it stopped, no longer
 * wakes the port: the watch went with the fd (a stale one would keep the
 * runner busy for good, the old eventfd living on in the front end). */
static void test_kick_replaced(void **state)
{
	struct fx *x = *state;
	uint8_t fr[128];

	assert_int_equal(dp_switch_attach(x->sw, x->peer, "pg", PEER_MAC), 0);
	connect_vm(x, "pg");
	int old = x->q[VHU_BE_TXQ].kick;
	new_kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_int_equal(front_run(x, replace_tx_kick), 0);
	x->q[VHU_BE_TXQ].kick = new_kick;
	pump(x, 3);
	kick(&(struct dq){ .kick = old });
	pump(x, 3);
	assert_false(port_readable(x));

	/* the new one works */
	make_frame(fr, PEER_MAC, VM_MAC, 64, 5);
	tx_send(x, NULL, fr, 64);
	kick(&x->q[VHU_BE_TXQ]);
	assert_true(pump_until(x, peer_has_frame));
	pump(x, 3);
	assert_false(port_readable(x));

	/* a stopped ring: its kick does not wake the port either */
	assert_int_equal(front_run(x, stop_tx), 0);
	pump(x, 3);
	kick(&x->q[VHU_BE_TXQ]);
	pump(x, 3);
	assert_false(port_readable(x));
	assert_true(dp_vhost_port_connected(x->vm));
	close(old);
}

static int bad_ring_num(struct fx *x)
{
	return vhu_front_set_vring_num(&x->f, VHU_BE_RXQ, 3);
}

/* REPLY_ACK: a refused request is answered "failed" (-EIO at the front
 * end) before the port hangs up, not only with the hang-up. */
static void test_refusal_acked(void **state)
{
	struct fx *x = *state;

	connect_vm(x, "pg");
	assert_true(x->f.protocol_features & F(VHU_PROTOCOL_F_REPLY_ACK));
	assert_int_equal(front_run(x, bad_ring_num), -EIO);
	assert_true(pump_until(x, vm_gone));
}

/* A front end that sends requests and never reads the replies is
 * dropped once its socket is full, without the port waiting on it. */
static void test_unread_replies(void **state)
{
	struct fx *x = *state;
	struct vhu_hdr reqs[512];

	attach(x, "pg");
	for (unsigned i = 0; i < 512; i++)
		reqs[i] = (struct vhu_hdr){ VHU_GET_FEATURES, VHU_VERSION, 0 };
	assert_int_equal(fcntl(x->fd, F_SETFL, O_NONBLOCK), 0);
	for (int i = 0; i < 2000 && !vm_gone(x); i++) {
		if (write(x->fd, reqs, sizeof(reqs)) < 0)
			assert_int_equal(errno, EAGAIN);
		pump(x, 1);
	}
	assert_true(vm_gone(x));
}

/* ---- the back end alone (no port) ---- */

/* One message to b as vhu_read would hand it over. */
static int be_msg(struct vhu_backend *b, uint32_t req, const void *payload,
		  uint32_t size, int fd)
{
	struct vhu_msg m = { .hdr = { req, VHU_VERSION, size } };
	int fds[1] = { fd };

	memcpy(&m.payload, payload, size);
	assert_null(vhu_msg_check(&m, fd >= 0 ? 1 : 0));
	return vhu_be_handle(b, &m, fds, fd >= 0 ? 1 : 0);
}

static int be_u64(struct vhu_backend *b, uint32_t req, uint64_t v, int fd)
{
	return be_msg(b, req, &v, 8, fd >= 0 ? dup(fd) : -1);
}

static int be_state(struct vhu_backend *b, uint32_t req, uint32_t idx, uint32_t num)
{
	struct vhu_vring_state st = { idx, num };

	return be_msg(b, req, &st, sizeof(st), -1);
}

/* Memory and ring q of the fixture's guest, kick included; no ENABLE. */
static void be_ring(struct fx *x, struct vhu_backend *b, unsigned qi)
{
	struct dq *q = &x->q[qi];
	struct vhu_vring_addr a = { .index = qi, .desc = uva(x, q->off_desc),
				    .avail = uva(x, q->off_avail),
				    .used = uva(x, q->off_used) };

	assert_int_equal(be_state(b, VHU_SET_VRING_NUM, qi, QSIZE), 0);
	assert_int_equal(be_state(b, VHU_SET_VRING_BASE, qi, 0), 0);
	assert_int_equal(be_msg(b, VHU_SET_VRING_ADDR, &a, sizeof(a), -1), 0);
	assert_int_equal(be_u64(b, VHU_SET_VRING_CALL, qi, q->call), 0);
	assert_int_equal(be_u64(b, VHU_SET_VRING_KICK, qi, q->kick), 0);
}

static void be_memory(struct fx *x, struct vhu_backend *b)
{
	struct vhu_mem_table t = { .nregions = 1,
		.region[0] = { GPA_BASE, MEMSZ, uva(x, 0), 0 } };

	assert_int_equal(be_msg(b, VHU_SET_MEM_TABLE, &t, VHU_MEM_TABLE_SIZE(1),
				dup(x->memfd)), 0);
}

/* Rings start disabled once PROTOCOL_FEATURES is negotiated; features
 * set again without it enable every ring (there is no SET_VRING_ENABLE
 * then), and never disable one. */
static void test_features_enable_rings(void **state)
{
	struct fx *x = *state;
	struct vhu_backend b;

	vhu_be_init(&b);
	assert_int_equal(be_u64(&b, VHU_SET_FEATURES,
				F(VHU_F_PROTOCOL_FEATURES) | F(32), -1), 0);
	be_memory(x, &b);
	be_ring(x, &b, VHU_BE_TXQ);
	assert_false(vhu_be_live(&b, VHU_BE_TXQ));
	assert_int_equal(be_u64(&b, VHU_SET_FEATURES, F(32), -1), 0);
	assert_true(vhu_be_live(&b, VHU_BE_TXQ));
	assert_int_equal(be_u64(&b, VHU_SET_FEATURES,
				F(VHU_F_PROTOCOL_FEATURES) | F(32), -1), 0);
	assert_true(vhu_be_live(&b, VHU_BE_TXQ));
	vhu_be_reset(&b);
}

/* munmap is wrapped (tests/unit/meson.build) to see every unmapping. */
int __real_munmap(void *addr, size_t len);
static bool munmap_track;
static void *unmapped[32];
static unsigned n_unmapped;

int __wrap_munmap(void *addr, size_t len)
{
	if (munmap_track && n_unmapped < 32)
		unmapped[n_unmapped++] = addr;
	return __real_munmap(addr, len);
}

/* A memory table refused half way unmaps what it mapped, each mapping
 * once (a second munmap could take another thread's new mapping). */
static void test_mem_table_undone_once(void **state)
{
	struct fx *x = *state;
	struct vhu_backend b;
	struct vhu_msg m;
	int fds[3] = { dup(x->memfd), dup(x->memfd), dup(x->memfd) };
	unsigned fds_before = count_fds() - 3;

	vhu_be_init(&b);
	region_msg(&m, 3, 4096);
	m.payload.mem.region[2].gpa = GPA_BASE + MEMSZ;	/* overlaps region 1 */
	n_unmapped = 0;
	munmap_track = true;
	assert_int_equal(vhu_be_handle(&b, &m, fds, 3), -1);
	munmap_track = false;
	assert_non_null(strstr(b.err, "overlaps"));
	assert_int_equal(n_unmapped, 3);
	for (unsigned i = 0; i < n_unmapped; i++)
		for (unsigned j = i + 1; j < n_unmapped; j++)
			assert_ptr_not_equal(unmapped[i], unmapped[j]);
	assert_int_equal(count_fds(), fds_before);
	vhu_be_reset(&b);
}

struct watch {
	volatile uint16_t *idx;
	bool stop;
	unsigned seen, torn;
};

/* The driver's view: every move of used->idx it sees. */
static void *watch_main(void *arg)
{
	struct watch *w = arg;
	uint16_t prev = __atomic_load_n(w->idx, __ATOMIC_ACQUIRE);

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		uint16_t v = __atomic_load_n(w->idx, __ATOMIC_ACQUIRE);
		if (v == prev)
			continue;
		w->seen++;
		if ((uint16_t)(v - prev) % 3)
			w->torn++;
		prev = v;
	}
	return NULL;
}

/* A mergeable frame's buffers reach the used ring together: a driver
 * that sees the first (num_buffers 3) finds the other two with it. */
static void test_mergeable_published_whole(void **state)
{
	struct fx *x = *state;
	struct vhu_backend b;
	struct virtio_net_hdr h = { 0 };
	uint8_t fr[1000];
	struct iovec iov = { fr, sizeof(fr) };
	uint32_t id, len;
	pthread_t t;

	vhu_be_init(&b);
	assert_int_equal(be_u64(&b, VHU_SET_FEATURES,
				F(VIRTIO_NET_F_MRG_RXBUF) | F(32), -1), 0);
	be_memory(x, &b);
	be_ring(x, &b, VHU_BE_RXQ);
	assert_true(vhu_be_live(&b, VHU_BE_RXQ));
	memset(fr, 0x5a, sizeof(fr));
	struct watch w = { .idx = &used(x, &x->q[VHU_BE_RXQ])[1] };
	assert_int_equal(pthread_create(&t, NULL, watch_main, &w), 0);
	for (int i = 0; i < 20000; i++) {
		for (int k = 0; k < 3; k++)
			rx_post(x, 400);	/* 12 + 1000 bytes: 3 buffers */
		assert_int_equal(vhu_be_rx_put(&b, &h, &iov, 1), 0);
		for (int k = 0; k < 3; k++)
			assert_true(used_pop(x, &x->q[VHU_BE_RXQ], &id, &len));
		if (i == 0)
			assert_int_equal(((struct virtio_net_hdr_mrg_rxbuf *)
					  rx_buf(x, 0))->num_buffers, 3);
	}
	__atomic_store_n(&w.stop, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	assert_int_equal(w.torn, 0);
	vhu_be_reset(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_fds),
		cmocka_unit_test_setup_teardown(test_frames_both_ways, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vlan_and_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gso_header_passthrough, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mergeable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hangup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kick_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusal_acked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unread_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features_enable_rings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mem_table_undone_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mergeable_published_whole, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
