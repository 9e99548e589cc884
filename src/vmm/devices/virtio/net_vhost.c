/*
 * virtio-net whose queues a vhost-user back end serves (vmx is the front
 * end; protocol: QEMU's docs/interop/vhost-user.rst; contract:
 * docs/vms.md).
 *
 * vmx keeps what the guest sees: the virtio-mmio registers (mmio.c), the
 * config space (MAC, link status) and the interrupt.  The back end moves
 * the frames: it maps guest RAM from the memfd vmx sends it and reads
 * and writes the rings itself.  So this file is mostly a state machine
 * that tells the back end what the driver did:
 *
 *  - Connection.  vmx listens on PATH; one back end at a time is
 *    accepted on the event loop (while one is connected the listening
 *    socket is not watched: a second client waits in the backlog).  The
 *    handshake is GET_FEATURES, GET/SET_PROTOCOL_FEATURES (REPLY_ACK
 *    only: with it every request is acknowledged, so a back end that
 *    fails one is noticed at once), SET_OWNER.  Then the link is up.
 *
 *  - Start.  Once the driver set DRIVER_OK and a back end is there:
 *    SET_FEATURES (the driver's features minus the ones vmx handles
 *    itself: MAC, STATUS), SET_MEM_TABLE (guest RAM is one memfd split
 *    around the MMIO gap: one region per KVM slot, each with the fd and
 *    its offset), then per ready queue NUM, BASE, ADDR, CALL, KICK and
 *    SET_VRING_ENABLE 1.  A ring's base is 0 the first time it runs after
 *    the driver enabled it, and used->idx read from guest memory when a
 *    back end takes over a ring another one ran: what the dead back end
 *    took from the avail ring and never returned is offered again.
 *
 *  - Kicks.  A KVM ioeventfd per queue on QueueNotify (datamatch = the
 *    queue index) is the kick fd the back end gets: the guest's notify
 *    never leaves the kernel.  Where KVM has no ioeventfd the notify
 *    exits to vmx as any MMIO write and queue_notify writes the eventfd.
 *    A kick while no back end is there stays counted in the eventfd.
 *
 *  - Calls.  The call fds are vmx's eventfds, read by the event loop,
 *    which sets InterruptStatus bit 0 and raises the IRQ: virtio-mmio has
 *    no other way to tell the driver why it was interrupted, so the call
 *    fd cannot be an irqfd.
 *
 *  - Stop.  A queue reset (QueueReady=0) or a device reset stops the
 *    ring in the back end (SET_VRING_ENABLE 0, GET_VRING_BASE) before the
 *    transport forgets it, so the back end never touches memory the
 *    driver took back.
 *
 *  - Hang-up.  The back end never talks first on this socket: anything
 *    readable while no request is pending is either its hang-up or
 *    garbage, and either way the connection is dropped, the link goes
 *    down (config-change interrupt) and the guest's frames wait in its
 *    rings until a back end connects and the state is replayed.  So is a
 *    request that fails or is not answered within VHOST_REPLY_MS.
 *
 * Locking: every use of the connection happens with the transport lock
 * held (mmio.h), on the vCPU thread that wrote a register or on the I/O
 * thread; a request therefore never interleaves with another.  A back
 * end that does not answer holds that lock (and the vCPU touching the
 * device) for at most VHOST_REPLY_MS per request, then is dropped.
 */
#include "net_vhost.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "evloop.h"
#include "log.h"
#include "mmio.h"
#include "net.h"
#include "vhost_user.h"
#include "virtio_defs.h"
#include "vm.h"

#define VHOST_NR_QUEUES 2
#define VHOST_CONFIG_SIZE 10            /* mac, status, max_virtqueue_pairs */
#define VHOST_REPLY_MS 1000

/* Features vmx answers itself: the back end never sees them. */
#define VHOST_LOCAL_FEATURES (VIRTIO_BIT(VIRTIO_NET_F_MAC) | \
			      VIRTIO_BIT(VIRTIO_NET_F_STATUS))

struct vhost_stats {
	uint64_t connects, disconnects, calls, kicks, errors;
};

struct vhost_net;

/* What a call fd's event-loop callback needs: the device and the queue. */
struct call_ctx {
	struct vhost_net *n;
	unsigned int q;
};

struct vhost_net {
	struct virtio_mmio *t;
	struct vm *vm;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	bool listening;                 /* listen_fd watched for clients */
	bool path_made;                 /* we bound PATH: unlink it on exit */

	struct vhu_front front;         /* front.fd < 0: no back end */
	uint64_t backend_features;
	bool acked_protocol;            /* VHU_F_PROTOCOL_FEATURES set */
	bool started;                   /* SET_FEATURES and the table sent */
	bool q_running[VHOST_NR_QUEUES];/* ring handed to the back end */
	bool q_ran[VHOST_NR_QUEUES];    /* a back end ran it since it was enabled */

	bool ioeventfd;                 /* kicks come from KVM, not queue_notify */
	int kick[VHOST_NR_QUEUES], call[VHOST_NR_QUEUES];
	bool call_watched[VHOST_NR_QUEUES];
	struct call_ctx call_ctx[VHOST_NR_QUEUES];

	uint8_t config[VHOST_CONFIG_SIZE];
	struct vhost_stats st;
};

static void on_client(void *opaque, uint32_t events);

/* ---- link state ---- */

static void set_link(struct vhost_net *n, bool up)
{
	uint8_t status = up ? VIRTIO_NET_S_LINK_UP : 0;

	if (n->config[6] == status)
		return;
	n->config[6] = status;
	/* the driver learns it from a config-change interrupt; before
	 * DRIVER_OK it reads the config space anyway */
	if (virtio_mmio_running(n->t))
		virtio_mmio_config_changed(n->t);
}

/* ---- connection ---- */

static void watch_listener(struct vhost_net *n, bool on)
{
	if (n->listening == on)
		return;
	if (evloop_mod(n->listen_fd, on ? EPOLLIN : 0, on_client, n) < 0)
		log_warn("vhost-user %s: cannot watch the socket", n->path);
	n->listening = on;
}

/* Lock held: forgets the back end; the guest's frames wait in its rings. */
static void drop_backend(struct vhost_net *n, const char *why)
{
	if (n->front.fd < 0)
		return;
	log_warn("vhost-user %s: back end dropped: %s", n->path, why);
	evloop_del(n->front.fd);
	close(n->front.fd);
	n->front.fd = -1;
	n->started = false;
	for (unsigned int q = 0; q < VHOST_NR_QUEUES; q++)
		n->q_running[q] = false;
	n->st.disconnects++;
	set_link(n, false);
	watch_listener(n, true);
}

/* Lock held: a request failed (rc = -errno): drop the back end. */
static int request_failed(struct vhost_net *n, const char *what, int rc)
{
	char why[128];

	snprintf(why, sizeof(why), "%s: %s", what,
		 rc == -EIO ? "refused by the back end" : strerror(-rc));
	n->st.errors++;
	drop_backend(n, why);
	return -1;
}

/* ---- rings ---- */

static uint64_t uva(const volatile void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/*
 * Lock held: hands queue q to the back end.  The transport validated the
 * rings when the driver enabled the queue (virtq_enable), so the host
 * pointers it resolved are the ring addresses in vmx's address space,
 * which the memory table maps to guest-physical for the back end.
 */
static int ring_start(struct vhost_net *n, unsigned int q)
{
	struct virtq *vq = virtio_mmio_queue(n->t, q);
	uint64_t one = 1;

	if (n->front.fd < 0 || !vq || !vq->enabled || n->q_running[q])
		return 0;
	unsigned int base = n->q_ran[q] ? *vq->used_idx : 0;
	int rc = vhu_front_setup_vring(&n->front, q, vq->size, base, uva(vq->desc),
				       uva(vq->avail_flags), uva(vq->used_flags),
				       n->kick[q], n->call[q], n->acked_protocol);
	if (rc < 0)
		return request_failed(n, "setting up a ring", rc);
	n->q_running[q] = n->q_ran[q] = true;
	/* buffers the driver posted meanwhile: look at them now */
	if (write(n->kick[q], &one, sizeof(one)) < 0)
		n->st.errors++;
	return 0;
}

/* Lock held: takes queue q back from the back end. */
static void ring_stop(struct vhost_net *n, unsigned int q)
{
	unsigned int base;
	int rc = 0;

	if (n->front.fd < 0 || !n->q_running[q])
		return;
	n->q_running[q] = false;
	if (n->acked_protocol)
		rc = vhu_front_set_vring_enable(&n->front, q, false);
	if (rc == 0)
		rc = vhu_front_get_vring_base(&n->front, q, &base);
	if (rc < 0)
		request_failed(n, "stopping a ring", rc);
}

/* ---- start: features, memory, rings ---- */

static int send_mem_table(struct vhost_net *n)
{
	struct vhu_front_region r[GMEM_MAX_REGIONS];
	const struct gmem *m = &n->vm->mem;
	unsigned int nr = 0;
	uint64_t offset = 0;

	/* vmx's regions lie in the memfd back to back, in gpa order (kvm.c) */
	for (unsigned int i = 0; i < m->nr_regions && i < GMEM_MAX_REGIONS; i++) {
		const struct gmem_region *g = &m->region[i];
		r[nr++] = (struct vhu_front_region){ .gpa = g->gpa, .size = g->size,
			.uva = uva(g->hva), .fd = n->vm->mem_fd, .offset = offset };
		offset += g->size;
	}
	int rc = vhu_front_set_mem_table(&n->front, r, nr);
	return rc < 0 ? request_failed(n, "SET_MEM_TABLE", rc) : 0;
}

/* Lock held: driver features minus vmx's own; -1 if the back end lacks one. */
static int backend_features_for(struct vhost_net *n, uint64_t *out)
{
	uint64_t want = virtio_mmio_features(n->t) & ~VHOST_LOCAL_FEATURES;
	uint64_t missing = want & ~n->backend_features;
	char why[96];

	if (missing) {
		snprintf(why, sizeof(why), "it lacks features %#llx the guest uses",
			 (unsigned long long)missing);
		n->st.errors++;
		drop_backend(n, why);
		return -1;
	}
	*out = want | (n->acked_protocol ? VIRTIO_BIT(VHU_F_PROTOCOL_FEATURES) : 0);
	return 0;
}

/* Lock held: the device runs and a back end is there: give it the device. */
static void backend_start(struct vhost_net *n)
{
	uint64_t f;

	if (n->front.fd < 0 || n->started || !virtio_mmio_running(n->t))
		return;
	if (backend_features_for(n, &f) < 0)
		return;
	int rc = vhu_front_set_features(&n->front, f);
	if (rc < 0) {
		request_failed(n, "SET_FEATURES", rc);
		return;
	}
	if (send_mem_table(n) < 0)
		return;
	n->started = true;
	for (unsigned int q = 0; q < VHOST_NR_QUEUES && n->front.fd >= 0; q++)
		ring_start(n, q);
}

/* ---- handshake ---- */

/* Lock held: the handshake with a back end that just connected. */
static int backend_hello(struct vhost_net *n)
{
	uint64_t pf = 0;
	int rc = vhu_front_get_features(&n->front, &n->backend_features);

	if (rc < 0)
		return request_failed(n, "GET_FEATURES", rc);
	n->acked_protocol = n->backend_features & VIRTIO_BIT(VHU_F_PROTOCOL_FEATURES);
	if (n->acked_protocol) {
		rc = vhu_front_get_protocol_features(&n->front, &pf);
		if (rc < 0)
			return request_failed(n, "GET_PROTOCOL_FEATURES", rc);
		pf &= VIRTIO_BIT(VHU_PROTOCOL_F_REPLY_ACK);
		rc = vhu_front_set_protocol_features(&n->front, pf);
		if (rc < 0)
			return request_failed(n, "SET_PROTOCOL_FEATURES", rc);
	}
	rc = vhu_front_set_owner(&n->front);
	if (rc < 0)
		return request_failed(n, "SET_OWNER", rc);
	return 0;
}

/*
 * The back end never speaks first: a readable connection with no request
 * pending is its hang-up or garbage.  The event can also be the late
 * wakeup for a reply a request already read (under the lock): peek first.
 */
static void on_backend(void *opaque, uint32_t events)
{
	struct vhost_net *n = opaque;
	char c;

	(void)events;
	virtio_mmio_lock(n->t);
	if (n->front.fd >= 0) {
		ssize_t r = recv(n->front.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
		if (r == 0)
			drop_backend(n, "it hung up");
		else if (r > 0)
			drop_backend(n, "it sent a message nobody asked for");
		else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			drop_backend(n, strerror(errno));
	}
	virtio_mmio_unlock(n->t);
}

static void on_client(void *opaque, uint32_t events)
{
	struct vhost_net *n = opaque;

	(void)events;
	int fd = accept4(n->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	virtio_mmio_lock(n->t);
	if (n->front.fd >= 0) {
		close(fd);      /* one back end at a time */
		virtio_mmio_unlock(n->t);
		return;
	}
	/* a back end that stops reading must not block a send for good */
	struct timeval tv = { .tv_sec = VHOST_REPLY_MS / 1000,
			      .tv_usec = (VHOST_REPLY_MS % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	vhu_front_init(&n->front, fd);
	n->front.timeout_ms = VHOST_REPLY_MS;
	n->st.connects++;
	watch_listener(n, false);
	if (evloop_add(fd, EPOLLIN | EPOLLRDHUP, on_backend, n) < 0) {
		/* no way to see it hang up: not worth keeping */
		close(fd);
		n->front.fd = -1;
		watch_listener(n, true);
	} else if (backend_hello(n) == 0) {
		log_info("vhost-user %s: back end connected", n->path);
		backend_start(n);
		if (n->front.fd >= 0)
			set_link(n, true);
	}
	virtio_mmio_unlock(n->t);
}

/* ---- calls ---- */

/* The back end used buffers of a queue: interrupt the driver. */
static void on_call(void *opaque, uint32_t events)
{
	struct call_ctx *c = opaque;
	struct vhost_net *n = c->n;
	uint64_t v;

	(void)events;
	if (read(n->call[c->q], &v, sizeof(v)) != sizeof(v))
		return;
	virtio_mmio_lock(n->t);
	n->st.calls++;
	if (virtio_mmio_running(n->t))
		virtio_mmio_raise_vring(n->t);
	virtio_mmio_unlock(n->t);
}

/* ---- transport ops ---- */

static uint64_t vhost_features(void *opaque)
{
	(void)opaque;
	/* what vmk's back end offers (docs/vms.md); the transport adds
	 * VERSION_1 and EVENT_IDX */
	return VHOST_LOCAL_FEATURES |
	       VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
	       VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
	       VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |
	       VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
	       VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN) |
	       VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
}

static void vhost_read_config(void *opaque, uint64_t off, void *data,
			      unsigned int len)
{
	struct vhost_net *n = opaque;

	memcpy(data, n->config + off, len);
}

/* Only without ioeventfds, or for a notify KVM did not match. */
static void vhost_queue_notify(void *opaque, unsigned int q)
{
	struct vhost_net *n = opaque;
	uint64_t one = 1;

	if (q >= VHOST_NR_QUEUES)
		return;
	/* with ioeventfds this is only the transport's nudge at DRIVER_OK */
	if (!n->ioeventfd)
		n->st.kicks++;
	if (write(n->kick[q], &one, sizeof(one)) < 0)
		n->st.errors++;
}

static void vhost_activate(void *opaque)
{
	backend_start(opaque);
}

static void vhost_queue_ready(void *opaque, unsigned int q, bool ready)
{
	struct vhost_net *n = opaque;

	if (q >= VHOST_NR_QUEUES)
		return;
	if (ready) {
		n->q_ran[q] = false;
		if (n->started)
			ring_start(n, q);
	} else {
		ring_stop(n, q);
		n->q_ran[q] = false;
	}
}

static void vhost_reset(void *opaque)
{
	struct vhost_net *n = opaque;

	for (unsigned int q = 0; q < VHOST_NR_QUEUES; q++) {
		ring_stop(n, q);
		n->q_ran[q] = false;
	}
	n->started = false;
}

static unsigned int vhost_stats(void *opaque, struct stat_counter *out,
				unsigned int max)
{
	struct vhost_net *n = opaque;
	const struct stat_counter s[] = {
		{ "connected", n->front.fd >= 0 }, { "connects", n->st.connects },
		{ "disconnects", n->st.disconnects }, { "calls", n->st.calls },
		{ "ioeventfd", n->ioeventfd }, { "relayed_kicks", n->st.kicks },
		{ "vhost_errors", n->st.errors },
	};
	unsigned int i = 0;

	for (; i < max && i < sizeof(s) / sizeof(s[0]); i++)
		out[i] = s[i];
	return i;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void vhost_destroy(void *opaque)
{
	struct vhost_net *n = opaque;

	if (n->front.fd >= 0) {
		evloop_del(n->front.fd);
		close_fd(&n->front.fd);
	}
	for (unsigned int q = 0; q < VHOST_NR_QUEUES; q++) {
		if (n->call_watched[q])
			evloop_del(n->call[q]);
		close_fd(&n->call[q]);
		close_fd(&n->kick[q]);
	}
	if (n->listen_fd >= 0) {
		evloop_del(n->listen_fd);
		close_fd(&n->listen_fd);
	}
	if (n->path_made)
		unlink(n->path);
	free(n);
}

static const struct virtio_device_ops vhost_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.nr_queues = VHOST_NR_QUEUES,
	.queue_max = VIRTIO_NET_QUEUE_SIZE,
	.config_size = VHOST_CONFIG_SIZE,
	.features = vhost_features,
	.read_config = vhost_read_config,
	.queue_notify = vhost_queue_notify,
	.activate = vhost_activate,
	.queue_ready = vhost_queue_ready,
	.reset = vhost_reset,
	.stats = vhost_stats,
	.destroy = vhost_destroy,
};

/* ---- setup ---- */

/*
 * A socket file left by a vmx that was killed would make bind fail:
 * replace it when nobody listens on it; anything else at PATH stays.
 */
static int clear_stale_socket(const struct sockaddr_un *addr, char *err, size_t errlen)
{
	struct stat sb;

	if (lstat(addr->sun_path, &sb) < 0)
		return 0;
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(err, errlen, "vhost-user %s: exists and is not a socket",
			 addr->sun_path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int r = fd < 0 ? -1 : connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (r == 0 || e != ECONNREFUSED) {
		snprintf(err, errlen, "vhost-user %s: socket in use", addr->sun_path);
		return -1;
	}
	unlink(addr->sun_path);
	return 0;
}

static int make_listener(struct vhost_net *n, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(err, errlen, "vhost-user %s: path too long", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	strcpy(n->path, path);
	if (clear_stale_socket(&addr, err, errlen) < 0)
		return -1;
	n->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->listen_fd < 0) {
		snprintf(err, errlen, "vhost-user %s: %s", path, strerror(errno));
		return -1;
	}
	/* mode 0600 from the start: no window in which others may connect
	 * (setup runs before any other thread exists) */
	mode_t old = umask(0177);
	int r = bind(n->listen_fd, (struct sockaddr *)&addr, sizeof(addr));
	int e = errno;
	umask(old);
	if (r < 0) {
		snprintf(err, errlen, "vhost-user %s: cannot create the socket: %s",
			 path, strerror(e));
		return -1;
	}
	n->path_made = true;
	if (listen(n->listen_fd, 4) < 0 ||
	    evloop_add(n->listen_fd, EPOLLIN, on_client, n) < 0) {
		snprintf(err, errlen, "vhost-user %s: cannot listen: %s", path,
			 strerror(errno));
		return -1;
	}
	n->listening = true;
	return 0;
}

/* Kick fds: KVM ioeventfds on QueueNotify, else plain eventfds. */
static int make_kicks(struct vhost_net *n, char *err, size_t errlen)
{
	uint64_t notify = virtio_mmio_base(n->t) + VIRTIO_MMIO_QUEUE_NOTIFY;

	n->ioeventfd = true;
	for (unsigned int q = 0; q < VHOST_NR_QUEUES; q++) {
		n->kick[q] = vm_ioeventfd(n->vm, notify, q);
		if (n->kick[q] < 0) {
			n->ioeventfd = false;
			n->kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		}
		if (n->kick[q] < 0) {
			snprintf(err, errlen, "vhost-user %s: eventfd: %s", n->path,
				 strerror(errno));
			return -1;
		}
	}
	if (!n->ioeventfd)
		log_info("vhost-user %s: no KVM ioeventfd, vmx relays kicks", n->path);
	return 0;
}

static int make_calls(struct vhost_net *n, char *err, size_t errlen)
{
	for (unsigned int q = 0; q < VHOST_NR_QUEUES; q++) {
		struct call_ctx *c = &n->call_ctx[q];
		*c = (struct call_ctx){ n, q };
		n->call[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (n->call[q] < 0 || evloop_add(n->call[q], EPOLLIN, on_call, c) < 0) {
			snprintf(err, errlen, "vhost-user %s: call eventfd: %s", n->path,
				 strerror(errno));
			return -1;
		}
		n->call_watched[q] = true;
	}
	return 0;
}

static void fill_config(struct vhost_net *n, const struct nic_config *nic)
{
	/* virtio_net_config: mac@0, status@6 (link down until a back end
	 * connects), max_virtqueue_pairs@8 */
	if (nic->mac_set) {
		memcpy(n->config, nic->mac, 6);
	} else {
		if (getrandom(n->config, 6, 0) != 6) {
			uint64_t v = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^
				     (uint64_t)getpid();
			memcpy(n->config, &v, 6);
		}
		n->config[0] = (uint8_t)((n->config[0] & ~1u) | 2u);
	}
	n->config[8] = 1;
}

struct vhost_net *virtio_net_vhost_init(struct vm *vm, const struct nic_config *nic,
					char *err, size_t errlen)
{
	struct vhost_net *n = calloc(1, sizeof(*n));

	if (!n) {
		snprintf(err, errlen, "vhost-user %s: out of memory", nic->vhost_user);
		free(n);
		return NULL;
	}
	n->vm = vm;
	n->listen_fd = n->front.fd = -1;
	for (unsigned int q = 0; q < VHOST_NR_QUEUES; q++)
		n->kick[q] = n->call[q] = -1;
	fill_config(n, nic);
	if (make_listener(n, nic->vhost_user, err, errlen) < 0)
		goto fail;
	n->t = virtio_mmio_create(vm, &vhost_ops, n);
	if (!n->t) {
		snprintf(err, errlen, "vhost-user %s: no free virtio-mmio slot",
			 nic->vhost_user);
		goto fail;
	}
	/* from here the transport owns n: virtio_mmio_destroy_all frees it */
	if (make_kicks(n, err, errlen) < 0 || make_calls(n, err, errlen) < 0)
		return NULL;
	return n;
fail:
	vhost_destroy(n);
	return NULL;
}

void virtio_net_vhost_state(struct vhost_net *n, uint8_t mac[6], bool *connected)
{
	virtio_mmio_lock(n->t);
	memcpy(mac, n->config, 6);
	*connected = n->front.fd >= 0;
	virtio_mmio_unlock(n->t);
}
