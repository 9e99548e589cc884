/*
 * vmk-vhostfe: a synthetic VM for bench/vhost.py.  No KVM, no guest: this
 * program is both the "guest driver" (it lays out virtqueues in a memfd
 * and fills or drains them) and the vhost-user front end (it listens on
 * a socket, as vmx does, and sets the back end up with vhu_front_*).
 * The same traffic through TAPs on a Linux bridge is the comparison:
 *
 *   vmk-vhostfe send --socket PATH --count N --size S --dst MAC [--src MAC]
 *   vmk-vhostfe recv --socket PATH --count N [--idle-ms MS]
 *       Front end of a VM port: listen on PATH, accept the back end
 *       (vmk-dpswitch --vhost), negotiate like a Linux guest (VERSION_1,
 *       MRG_RXBUF, EVENT_IDX, offloads), then send N frames of S bytes
 *       (EtherType 0x88b5) as fast as the TX ring drains, or count the
 *       frames that arrive on the RX ring until N came or none for
 *       --idle-ms (default 1000) after the first (30 s before it).
 *   vmk-vhostfe tap-send --tap NAME@NETNS --count N --size S --dst MAC [--src MAC]
 *   vmk-vhostfe tap-recv --tap NAME@NETNS --count N [--idle-ms MS]
 *       The same against a TAP (attached with a 12-byte virtio-net header,
 *       as vmknic TAPs are), one write or read per frame.
 *
 * Each prints "ready" when it is set up; a sender then waits for a line
 * on stdin (the bench sends it once its receiver is ready), and each ends
 * with one line: "sent N frames in T s" or "received N frames
 * in T s" (from the first frame to the last).
 *
 * The driver side is the minimum a guest does: descriptors point at
 * fixed 2 KiB buffers (the TX ones written once: every frame is the
 * same), the avail index is published in batches and the back end is
 * kicked only when its avail_event asks (EVENT_IDX); the call eventfd is
 * waited on only when the TX ring is full (until 3/4 of it is used, as
 * Linux's virtio-net does) or the RX ring empty.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "datapath.h"
#include "vhost_user.h"
#include "virtq.h"
#include "vmmac.h"

#define QSIZE 1024
#define BUF 2048
#define MEMSZ (8u << 20)
#define OFF_RING(q) (0x10000u * (q))	/* desc; avail +0x4000; used +0x8000 */
#define OFF_BUF(q) (0x100000u + (q) * QSIZE * BUF)
#define GPA_BASE 0x100000000ull
#define F(n) ((uint64_t)1 << (n))

struct ring {
	struct virtq_desc *desc;
	volatile uint16_t *avail;	/* flags, idx, ring[QSIZE], used_event */
	volatile uint16_t *used;	/* flags, idx, then elems; avail_event */
	uint16_t avail_idx, last_used, kicked_at;
	int kick, call;
};

struct fe {
	uint8_t *mem;
	int memfd;
	struct ring r[2];
	struct vhu_front f;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static _Noreturn void die_msg(const char *what, int err)
{
	fprintf(stderr, "vmk-vhostfe: %s: %s\n", what, strerror(err));
	exit(1);
}

/* ---- the guest driver ---- */

static void ring_init(struct fe *e, unsigned q)
{
	struct ring *r = &e->r[q];

	r->desc = (struct virtq_desc *)(e->mem + OFF_RING(q));
	r->avail = (volatile uint16_t *)(e->mem + OFF_RING(q) + 0x4000);
	r->used = (volatile uint16_t *)(e->mem + OFF_RING(q) + 0x8000);
	r->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	for (unsigned i = 0; i < QSIZE; i++)
		r->desc[i] = (struct virtq_desc){
			GPA_BASE + OFF_BUF(q) + (uint64_t)i * BUF, BUF,
			q == 0 ? VIRTQ_DESC_F_WRITE : 0, 0 };
}

static uint16_t used_idx(struct ring *r)
{
	return __atomic_load_n(&r->used[1], __ATOMIC_ACQUIRE);
}

/* Publishes the avail index; kicks if the back end's avail_event asks. */
static void publish(struct ring *r)
{
	uint16_t old = r->kicked_at, new = r->avail_idx;

	__atomic_store_n(&r->avail[1], new, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint16_t event = r->used[2 + 4 * QSIZE];	/* avail_event */
	if ((uint16_t)(new - event - 1) < (uint16_t)(new - old)) {
		uint64_t one = 1;
		if (write(r->kick, &one, 8) < 0) {
			/* full counter: the back end is awake */
		}
	}
	r->kicked_at = new;
}

/* Sleeps until the back end signals (or 1 ms), asking for a signal at
 * the next used entry. */
static void wait_call(struct ring *r)
{
	struct pollfd p = { .fd = r->call, .events = POLLIN };
	uint64_t v;

	r->avail[2 + QSIZE] = r->last_used;	/* used_event */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (used_idx(r) != r->last_used)
		return;
	poll(&p, 1, 1);
	if (read(r->call, &v, 8) < 0) {
		/* not signalled: timed out */
	}
}

/* The TX ring is full: sleeps until the back end has used 3/4 of what
 * is in flight (or 1 ms), as a Linux guest stops its queue and asks for a
 * delayed interrupt (virtqueue_enable_cb_delayed) rather than spin on the
 * CPUs the back end and the receiving VM need. */
static void wait_tx(struct ring *r)
{
	struct pollfd p = { .fd = r->call, .events = POLLIN };
	uint16_t used = used_idx(r);
	uint16_t want = (uint16_t)((uint16_t)(r->avail_idx - used) * 3 / 4);
	uint64_t v;

	if (!want)
		want = 1;	/* one in flight: its own use */
	r->avail[2 + QSIZE] = (uint16_t)(used + want - 1);	/* used_event */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if ((uint16_t)(used_idx(r) - used) >= want)
		return;
	poll(&p, 1, 1);
	if (read(r->call, &v, 8) < 0) {
		/* not signalled: timed out */
	}
}

/* ---- the front end ---- */

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof(sa.sun_path))
		die_msg(path, ENAMETOOLONG);
	memcpy(sa.sun_path, path, strlen(path));
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 1) < 0)
		die_msg(path, errno);
	return fd;
}

static void front_setup(struct fe *e, const char *path)
{
	uint64_t feat, pf;
	int lfd = listen_on(path), rc;

	e->memfd = memfd_create("vhostfe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (e->memfd < 0 || ftruncate(e->memfd, MEMSZ) < 0)
		die_msg("memfd", errno);
	e->mem = mmap(NULL, MEMSZ, PROT_READ | PROT_WRITE, MAP_SHARED, e->memfd, 0);
	if (e->mem == MAP_FAILED)
		die_msg("mmap", errno);
	ring_init(e, 0);
	ring_init(e, 1);
	printf("listening\n");
	fflush(stdout);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		die_msg("accept", errno);
	close(lfd);
	unlink(path);
	vhu_front_init(&e->f, fd);
	struct vhu_front_region reg = { GPA_BASE, MEMSZ, (uint64_t)(uintptr_t)e->mem,
					e->memfd, 0 };
	uint64_t want = F(32) | F(VIRTIO_NET_F_MRG_RXBUF) | F(29) |
			F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
			F(VHU_F_PROTOCOL_FEATURES);
	if ((rc = vhu_front_get_features(&e->f, &feat)) < 0 ||
	    (rc = vhu_front_set_features(&e->f, feat & want)) < 0 ||
	    (rc = vhu_front_get_protocol_features(&e->f, &pf)) < 0 ||
	    (rc = vhu_front_set_protocol_features(&e->f, pf & F(VHU_PROTOCOL_F_REPLY_ACK))) < 0 ||
	    (rc = vhu_front_set_owner(&e->f)) < 0 ||
	    (rc = vhu_front_set_mem_table(&e->f, &reg, 1)) < 0)
		die_msg("vhost-user handshake", -rc);
	for (unsigned q = 0; q < 2; q++) {
		struct ring *r = &e->r[q];
		uint64_t base = (uint64_t)(uintptr_t)e->mem + OFF_RING(q);
		rc = vhu_front_setup_vring(&e->f, q, QSIZE, 0, base, base + 0x4000,
					   base + 0x8000, r->kick, r->call, true);
		if (rc < 0)
			die_msg("vhost-user ring setup", -rc);
	}
}

static unsigned long long do_send(struct fe *e, unsigned long long count,
				  unsigned size, const uint8_t dst[6],
				  const uint8_t src[6])
{
	struct ring *r = &e->r[1];
	unsigned long long sent = 0;

	for (unsigned i = 0; i < QSIZE; i++) {
		uint8_t *b = e->mem + OFF_BUF(1) + (size_t)i * BUF;
		memset(b, 0, 12 + size);	/* virtio_net_hdr_v1: nothing offloaded */
		memcpy(b + 12, dst, 6);
		memcpy(b + 18, src, 6);
		b[24] = 0x88;
		b[25] = 0xb5;
		r->desc[i].len = 12 + size;
	}
	while (sent < count) {
		uint16_t free = (uint16_t)(QSIZE - (uint16_t)(r->avail_idx - used_idx(r)));
		if (!free) {
			wait_tx(r);
			continue;
		}
		unsigned long long n = count - sent < free ? count - sent : free;
		for (unsigned long long i = 0; i < n; i++) {
			r->avail[2 + r->avail_idx % QSIZE] = r->avail_idx % QSIZE;
			r->avail_idx++;
		}
		sent += n;
		publish(r);
	}
	/* the back end drops what it had not taken when we hang up: wait
	 * until the ring is drained (at most 5 s) */
	for (int i = 0; i < 5000 && used_idx(r) != r->avail_idx; i++)
		wait_tx(r);
	return sent;
}

static unsigned long long do_recv(struct fe *e, unsigned long long count,
				  int idle_ms, double *first, double *last)
{
	struct ring *r = &e->r[0];
	unsigned long long got = 0;
	double idle_since = now_s();

	for (unsigned i = 0; i < QSIZE; i++)
		r->avail[2 + i] = (uint16_t)i;
	r->avail_idx = QSIZE;
	publish(r);
	while (got < count) {
		uint16_t u = used_idx(r);
		if (u == r->last_used) {
			/* until the first frame, wait for the sender (30 s) */
			double limit = got ? idle_ms / 1000.0 : 30;
			if (now_s() - idle_since > limit)
				break;
			wait_call(r);
			continue;
		}
		idle_since = *last = now_s();
		if (!got)
			*first = *last;
		struct virtq_used_elem *ue =
			(struct virtq_used_elem *)(uintptr_t)(r->used + 2);
		for (; r->last_used != u; r->last_used++) {
			uint32_t id = ue[r->last_used % QSIZE].id % QSIZE;
			r->avail[2 + r->avail_idx % QSIZE] = (uint16_t)id;
			r->avail_idx++;
			got++;	/* each frame fits one buffer: num_buffers 1 */
		}
		publish(r);
	}
	return got;
}

/* ---- TAPs ---- */

static int tap_attach(char *spec)
{
	char err[256], *at = strchr(spec, '@');

	if (!at)
		die_msg("--tap NAME@NETNS", EINVAL);
	*at = 0;
	int fd = dp_tap_open(spec, at + 1, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "vmk-vhostfe: %s\n", err);
		exit(1);
	}
	return fd;
}

static unsigned long long tap_send(int fd, unsigned long long count,
				   unsigned size, const uint8_t dst[6],
				   const uint8_t src[6])
{
	uint8_t b[12 + BUF] = { 0 };
	unsigned long long sent = 0;

	memcpy(b + 12, dst, 6);
	memcpy(b + 18, src, 6);
	b[24] = 0x88;
	b[25] = 0xb5;
	while (sent < count) {
		if (write(fd, b, 12 + size) == (ssize_t)(12 + size)) {
			sent++;
			continue;
		}
		if (errno != EAGAIN)
			die_msg("TAP write", errno);
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		poll(&p, 1, 1);
	}
	return sent;
}

static unsigned long long tap_recv(int fd, unsigned long long count, int idle_ms,
				   double *first, double *last)
{
	uint8_t b[12 + DP_FRAME_MAX];
	unsigned long long got = 0;

	while (got < count) {
		if (read(fd, b, sizeof(b)) > 0) {
			*last = now_s();
			if (!got++)
				*first = *last;
			continue;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, got ? idle_ms : 30000) == 0)
			break;
	}
	return got;
}

/* ---- main ---- */

static _Noreturn void usage(void)
{
	fprintf(stderr,
		"usage: vmk-vhostfe send --socket PATH --count N --size S --dst MAC [--src MAC]\n"
		"       vmk-vhostfe recv --socket PATH --count N [--idle-ms MS]\n"
		"       vmk-vhostfe tap-send --tap NAME@NETNS --count N --size S --dst MAC [--src MAC]\n"
		"       vmk-vhostfe tap-recv --tap NAME@NETNS --count N [--idle-ms MS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "tap", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 'z' },
		{ "dst", required_argument, NULL, 'd' },
		{ "src", required_argument, NULL, 's' },
		{ "idle-ms", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL;
	char *tap = NULL;
	unsigned long long count = 0;
	unsigned size = 60;
	int idle_ms = 1000, o;
	uint8_t dst[6] = { 0 }, src[6] = { 0x02, 0, 0, 0, 0, 1 };
	bool have_dst = false;

	if (argc < 2)
		usage();
	const char *mode = argv[1];
	while ((o = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		switch (o) {
		case 'S': sock = optarg; break;
		case 't': tap = optarg; break;
		case 'c': count = strtoull(optarg, NULL, 10); break;
		case 'z': size = (unsigned)atoi(optarg); break;
		case 'd': have_dst = vmx_mac_parse(optarg, dst) == 0; break;
		case 's':
			if (vmx_mac_parse(optarg, src) < 0)
				usage();
			break;
		case 'i': idle_ms = atoi(optarg); break;
		default: usage();
		}
	}
	bool sending = !strcmp(mode, "send") || !strcmp(mode, "tap-send");
	bool tapmode = !strncmp(mode, "tap-", 4);
	if (!count || size < 14 || size > BUF - 12 || (sending && !have_dst) ||
	    (tapmode ? !tap : !sock) ||
	    (strcmp(mode, "send") && strcmp(mode, "recv") && !tapmode))
		usage();
	signal(SIGPIPE, SIG_IGN);

	struct fe e;
	int tfd = -1;
	memset(&e, 0, sizeof(e));
	if (tapmode)
		tfd = tap_attach(tap);
	else
		front_setup(&e, sock);
	printf("ready\n");
	fflush(stdout);
	if (sending) {	/* go when the bench says (its receiver is ready) */
		char line[16];
		if (!fgets(line, sizeof(line), stdin))
			return 1;
	}

	double t0 = now_s(), first = 0, last = 0;
	unsigned long long n;
	if (sending) {
		n = tapmode ? tap_send(tfd, count, size, dst, src)
			    : do_send(&e, count, size, dst, src);
		printf("sent %llu frames in %.6f s\n", n, now_s() - t0);
	} else {
		n = tapmode ? tap_recv(tfd, count, idle_ms, &first, &last)
			    : do_recv(&e, count, idle_ms, &first, &last);
		printf("received %llu frames in %.6f s\n", n, last - first);
	}
	return 0;
}
