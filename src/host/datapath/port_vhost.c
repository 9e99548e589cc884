/*
 * VM ports: the datapath side of a VM's network adapter, a vhost-user
 * back end (docs/vms.md).  The front end (vmx, or QEMU) listens on a Unix
 * socket; the port connects to it as a client and is then driven by the
 * front end's messages (vhost_user_backend.c keeps that state).
 *
 * One fd for the runner: port->fd is an epoll set of the port's own with
 * the socket and the TX ring's kick eventfd, so the runner, which knows
 * nothing of vhost-user, wakes for either.  recv() (the runner's thread,
 * switch unlocked) first answers whatever control messages wait, then
 * drains the kick and takes up to a batch of frames from the TX ring,
 * each copied out of guest memory into the runner's buffer with its
 * virtio-net header (dp_frame keeps the 10-byte part, as the TAP port
 * does).  When frames are left after a batch the port writes its own
 * kick eventfd, so that the epoll set stays readable and the runner comes
 * back; the guest kicks only once for many frames (EVENT_IDX).
 *
 * send() (switch locked) copies a frame into the RX ring, across several
 * buffers when the guest negotiated mergeable buffers; flush() at the end
 * of the switch's batch signals the RX call eventfd once, if the guest
 * wants it (EVENT_IDX / NO_INTERRUPT).  A frame the ring has no room for
 * is dropped (the switch counts DP_DROP_TX): the switch never waits.
 *
 * recv and send run on different threads (and vmkd's control thread
 * destroys ports), so the back end's state is guarded by a port mutex.
 * Lock order: switch, then port; recv never takes the switch's lock.
 *
 * Failure: any message the back end refuses, a broken ring, or the peer
 * hanging up disconnects the port: one warning line, the socket closed,
 * the guest memory unmapped, every fd closed.  The port stays attached
 * and drops what it is sent until vmkd destroys it; reconnecting is
 * vmkd's decision (a new port on the same socket; the front end replays
 * its state).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "datapath.h"
#include "log.h"
#include "vhost_user_backend.h"

#define EV_SOCK 0
#define EV_KICK 1
#define MSGS_PER_CALL 64	/* control messages answered per recv() */

struct vhost_port {
	struct dp_port dp;
	pthread_mutex_t lock;
	int sock;		/* -1 once disconnected */
	int kick_src;		/* the back end's TX kick fd we watch, or -1 */
	int kick_watched;	/* our dup of it, in the epoll set, or -1 */
	atomic_bool connected;
	struct vhu_reader rd;	/* a message that came in part waits here */
	struct vhu_backend be;
};

static struct vhost_port *vp_of(struct dp_port *p)
{
	return (struct vhost_port *)p;
}

/*
 * The epoll set watches a dup of the TX kick fd, not the back end's own:
 * the back end closes its fd when the front end replaces or stops the
 * ring, and epoll keys a watch by open file *and* fd number, so once the
 * number is closed the watch can no longer be removed, while the file
 * lives on in the front end.  A front end could then keep the set
 * readable for good with an old kick the port no longer drains: a busy
 * runner.  Our own dup stays open until the watch is gone.
 */
static void unwatch_kick(struct vhost_port *vp)
{
	if (vp->kick_watched >= 0) {
		epoll_ctl(vp->dp.fd, EPOLL_CTL_DEL, vp->kick_watched, NULL);
		close(vp->kick_watched);
	}
	vp->kick_watched = vp->kick_src = -1;
}

/* Keeps the epoll set watching the TX ring's current kick fd.  The
 * back end's fd number changes with every new kick fd (the new one is
 * received while the old is still open), so comparing numbers after
 * each message sees every change. */
static void watch_kick(struct vhost_port *vp)
{
	int kick = vhu_be_kick_fd(&vp->be, VHU_BE_TXQ);

	if (kick == vp->kick_src)
		return;
	unwatch_kick(vp);
	if (kick < 0)
		return;
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = EV_KICK };
	int d = fcntl(kick, F_DUPFD_CLOEXEC, 0);
	if (d >= 0 && epoll_ctl(vp->dp.fd, EPOLL_CTL_ADD, d, &ev) == 0) {
		vp->kick_watched = d;
		vp->kick_src = kick;
	} else if (d >= 0) {
		close(d);
	}
}

static void disconnect(struct vhost_port *vp, const char *why)
{
	if (vp->sock < 0)
		return;
	log_warn("vhost-user port %s: %s; port disconnected", vp->dp.name, why);
	unwatch_kick(vp);
	epoll_ctl(vp->dp.fd, EPOLL_CTL_DEL, vp->sock, NULL);
	close(vp->sock);
	vp->sock = -1;
	vhu_reader_reset(&vp->rd);
	vhu_be_reset(&vp->be);
	atomic_store(&vp->connected, false);
}

/* REPLY_ACK: a refused request is answered "failed" before the hang-up,
 * so that the front end hears why rather than only that we left. */
static void nack(struct vhost_port *vp, struct vhu_msg *m, bool want)
{
	if (!want)
		return;
	m->hdr.flags = VHU_FLAG_REPLY;
	m->hdr.size = sizeof(uint64_t);
	m->payload.u64 = 1;
	vhu_send_wait(vp->sock, m, NULL, 0, 0);
}

/* One control message, if one waits: 1 handled, 0 none, -1 disconnected. */
static int control_one(struct vhost_port *vp)
{
	int fds[VHU_MAX_FDS];
	unsigned nfds;
	const char *why;
	char line[200];
	struct vhu_msg *m = &vp->rd.msg;

	int rc = vhu_read(vp->sock, &vp->rd, fds, &nfds, &why);
	if (rc == -EAGAIN)
		return 0;
	if (rc == -ECONNRESET) {
		disconnect(vp, "the front end hung up");
		return -1;
	}
	if (rc < 0) {
		snprintf(line, sizeof(line), "bad %s message: %s",
			 vhu_request_name(m->hdr.request), why ? why : strerror(-rc));
		disconnect(vp, line);
		return -1;
	}
	bool ack = m->hdr.flags & VHU_FLAG_NEED_REPLY &&
		   vp->be.protocol & (1ull << VHU_PROTOCOL_F_REPLY_ACK);
	rc = vhu_be_handle(&vp->be, m, fds, nfds);
	if (rc < 0) {
		nack(vp, m, ack);
		disconnect(vp, vp->be.err);
		return -1;
	}
	/* never wait: a front end that does not read its replies is dropped */
	if (rc > 0 && vhu_send_wait(vp->sock, m, NULL, 0, 0) < 0) {
		disconnect(vp, "cannot send a reply");
		return -1;
	}
	watch_kick(vp);
	return 1;
}

static void control(struct vhost_port *vp)
{
	for (int i = 0; i < MSGS_PER_CALL && vp->sock >= 0; i++)
		if (control_one(vp) <= 0)
			return;
}

static void drain(int fd)
{
	uint64_t v;

	if (fd >= 0 && read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: not kicked */
	}
}

static int vhost_recv(struct dp_port *p, struct dp_frame *f, unsigned n)
{
	struct vhost_port *vp = vp_of(p);
	unsigned got = 0;

	pthread_mutex_lock(&vp->lock);
	control(vp);
	int kick = vhu_be_kick_fd(&vp->be, VHU_BE_TXQ);
	drain(kick);
	while (vp->sock >= 0 && got < n) {
		struct dp_frame *fr = &f[got];
		uint32_t len;
		int r = vhu_be_tx_pop(&vp->be, &fr->vnet, fr->buf, fr->cap, &len);
		if (r < 0) {
			disconnect(vp, vp->be.err);
			break;
		}
		if (r == 0)
			break;
		fr->data = fr->buf;
		fr->len = len;	/* 0: malformed, the switch drops it */
		got++;
	}
	if (vp->sock >= 0) {
		if (got)
			vhu_be_signal(&vp->be, VHU_BE_TXQ);
		/* more than a batch waits: come back without a guest kick */
		if (vhu_be_pending(&vp->be, VHU_BE_TXQ) && kick >= 0) {
			uint64_t one = 1;
			if (write(kick, &one, sizeof(one)) < 0) {
				/* full counter: readable anyway */
			}
		}
	}
	pthread_mutex_unlock(&vp->lock);
	return (int)got;
}

static int vhost_send(struct dp_port *p, const struct dp_frame *f, uint16_t tag)
{
	struct vhost_port *vp = vp_of(p);
	struct virtio_net_hdr hdr;
	uint8_t tagbuf[4];
	struct iovec iov[4];
	unsigned n = dp_frame_iov(f, tag, &hdr, tagbuf, iov);
	int rc = -ENOTCONN;

	pthread_mutex_lock(&vp->lock);
	if (vp->sock >= 0) {
		rc = vhu_be_rx_put(&vp->be, &hdr, iov + 1, n - 1);
		if (rc == -EIO)
			disconnect(vp, vp->be.err);
	}
	pthread_mutex_unlock(&vp->lock);
	return rc;
}

static void vhost_flush(struct dp_port *p)
{
	struct vhost_port *vp = vp_of(p);

	pthread_mutex_lock(&vp->lock);
	if (vp->sock >= 0)
		vhu_be_signal(&vp->be, VHU_BE_RXQ);
	pthread_mutex_unlock(&vp->lock);
}

static void vhost_destroy(struct dp_port *p)
{
	struct vhost_port *vp = vp_of(p);

	pthread_mutex_lock(&vp->lock);
	if (vp->kick_watched >= 0)
		close(vp->kick_watched);
	if (vp->sock >= 0) {
		close(vp->sock);
		vp->sock = -1;
	}
	vhu_reader_reset(&vp->rd);
	vhu_be_reset(&vp->be);
	if (p->fd >= 0)
		close(p->fd);
	pthread_mutex_unlock(&vp->lock);
	pthread_mutex_destroy(&vp->lock);
	free(vp);
}

static const struct dp_port_ops vhost_ops = {
	.recv = vhost_recv,
	.send = vhost_send,
	.flush = vhost_flush,
	.destroy = vhost_destroy,
};

bool dp_vhost_port_connected(struct dp_port *p)
{
	return p->kind == DP_PORT_VM && atomic_load(&vp_of(p)->connected);
}

struct dp_port *dp_vhost_port_new(const char *name, const char *socket_path,
				  char *err, size_t errlen)
{
	struct vhost_port *vp = calloc(1, sizeof(*vp));

	if (!vp) {
		snprintf(err, errlen, "vhost-user port %s: out of memory", name);
		return NULL;
	}
	dp_port_init(&vp->dp, &vhost_ops, DP_PORT_VM, name);
	pthread_mutex_init(&vp->lock, NULL);
	vhu_be_init(&vp->be);
	vhu_reader_init(&vp->rd);
	vp->kick_watched = vp->kick_src = -1;
	vp->sock = vhu_connect(socket_path);
	if (vp->sock < 0) {
		snprintf(err, errlen, "vhost-user port %s: cannot connect to %s: %s",
			 name, socket_path, strerror(-vp->sock));
		goto fail;
	}
	vp->dp.fd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = EV_SOCK };
	if (vp->dp.fd < 0 ||
	    fcntl(vp->sock, F_SETFL, fcntl(vp->sock, F_GETFL) | O_NONBLOCK) < 0 ||
	    epoll_ctl(vp->dp.fd, EPOLL_CTL_ADD, vp->sock, &ev) < 0) {
		snprintf(err, errlen, "vhost-user port %s: %s", name, strerror(errno));
		goto fail;
	}
	atomic_store(&vp->connected, true);
	return &vp->dp;
fail:
	vhost_destroy(&vp->dp);
	return NULL;
}
