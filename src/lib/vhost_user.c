/*
 * vhost-user messages: what each request carries, sending and receiving
 * them with their fds, and the front end's side of the handshake.  See
 * vhost_user.h for the format.
 *
 * Receiving is the part that faces a hostile peer.  The header is read
 * with recvmsg() alone, so the fds (sent with the message's first byte)
 * arrive with it; any fd beyond VHU_MAX_FDS, or ancillary data the kernel
 * had to cut (MSG_CTRUNC), makes the message an error and every fd that
 * did arrive is closed, so a peer cannot leak descriptors into us.  The
 * payload is then read whole; a peer that sends a header and stalls is
 * waited for VHU_PAYLOAD_WAIT_MS at most, not forever, because the back
 * end reads on the datapath's thread.
 *
 * The front end helpers are plain request/reply: the front end (vmx, the
 * benchmark's front end) talks to one back end and has nothing better to
 * do while it sets a ring up.  Every wait for a reply is bounded.
 */
#include "vhost_user.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- what each request carries ---- */

enum payload_kind {
	P_NONE,		/* no payload */
	P_U64,
	P_STATE,
	P_ADDR,
	P_MEM,
	P_FD_U64,	/* u64 index, one fd unless VHU_VRING_NOFD */
	P_LOG_BASE,	/* refused by the back end; any size up to the max */
	P_LOG_FD,	/* no payload and one fd; refused too */
};

struct req_info {
	const char *name;
	enum payload_kind req;		/* what the request carries */
	enum payload_kind reply;	/* what its reply carries (REPLY_ACK: P_U64) */
};

static const struct req_info reqs[VHU_REQUEST_MAX] = {
	[VHU_GET_FEATURES] = { "GET_FEATURES", P_NONE, P_U64 },
	[VHU_SET_FEATURES] = { "SET_FEATURES", P_U64, P_U64 },
	[VHU_SET_OWNER] = { "SET_OWNER", P_NONE, P_U64 },
	[VHU_RESET_OWNER] = { "RESET_OWNER", P_NONE, P_U64 },
	[VHU_SET_MEM_TABLE] = { "SET_MEM_TABLE", P_MEM, P_U64 },
	[VHU_SET_LOG_BASE] = { "SET_LOG_BASE", P_LOG_BASE, P_U64 },
	[VHU_SET_LOG_FD] = { "SET_LOG_FD", P_LOG_FD, P_U64 },
	[VHU_SET_VRING_NUM] = { "SET_VRING_NUM", P_STATE, P_U64 },
	[VHU_SET_VRING_ADDR] = { "SET_VRING_ADDR", P_ADDR, P_U64 },
	[VHU_SET_VRING_BASE] = { "SET_VRING_BASE", P_STATE, P_U64 },
	[VHU_GET_VRING_BASE] = { "GET_VRING_BASE", P_STATE, P_STATE },
	[VHU_SET_VRING_KICK] = { "SET_VRING_KICK", P_FD_U64, P_U64 },
	[VHU_SET_VRING_CALL] = { "SET_VRING_CALL", P_FD_U64, P_U64 },
	[VHU_SET_VRING_ERR] = { "SET_VRING_ERR", P_FD_U64, P_U64 },
	[VHU_GET_PROTOCOL_FEATURES] = { "GET_PROTOCOL_FEATURES", P_NONE, P_U64 },
	[VHU_SET_PROTOCOL_FEATURES] = { "SET_PROTOCOL_FEATURES", P_U64, P_U64 },
	[VHU_GET_QUEUE_NUM] = { "GET_QUEUE_NUM", P_NONE, P_U64 },
	[VHU_SET_VRING_ENABLE] = { "SET_VRING_ENABLE", P_STATE, P_U64 },
	[VHU_SEND_RARP] = { "SEND_RARP", P_U64, P_U64 },
	[VHU_NET_SET_MTU] = { "NET_SET_MTU", P_U64, P_U64 },
};

static const struct req_info *req_info(uint32_t request)
{
	if (request >= VHU_REQUEST_MAX || !reqs[request].name)
		return NULL;
	return &reqs[request];
}

const char *vhu_request_name(uint32_t request)
{
	const struct req_info *ri = req_info(request);

	return ri ? ri->name : "unknown";
}

static const char *want_size(const struct vhu_msg *m, uint32_t size)
{
	static _Thread_local char why[64];

	if (m->hdr.size == size)
		return NULL;
	snprintf(why, sizeof(why), "payload of %u bytes, %u expected",
		 m->hdr.size, size);
	return why;
}

static const char *want_fds(unsigned nfds, unsigned n)
{
	static _Thread_local char why[64];

	if (nfds == n)
		return NULL;
	snprintf(why, sizeof(why), "%u fds, %u expected", nfds, n);
	return why;
}

static const char *check_mem(const struct vhu_msg *m, unsigned nfds)
{
	if (m->hdr.size < 8)
		return want_size(m, VHU_MEM_TABLE_SIZE(1));
	uint32_t n = m->payload.mem.nregions;
	if (n == 0 || n > VHU_MAX_REGIONS)
		return "region count not in 1-8";
	const char *why = want_size(m, VHU_MEM_TABLE_SIZE(n));
	return why ? why : want_fds(nfds, n);
}

static const char *check_kind(const struct vhu_msg *m, enum payload_kind k,
			      unsigned nfds)
{
	const char *why = NULL;

	switch (k) {
	case P_NONE:
		why = want_size(m, 0);
		break;
	case P_U64:
		why = want_size(m, sizeof(uint64_t));
		break;
	case P_STATE:
		why = want_size(m, sizeof(struct vhu_vring_state));
		break;
	case P_ADDR:
		why = want_size(m, sizeof(struct vhu_vring_addr));
		break;
	case P_MEM:
		return check_mem(m, nfds);
	case P_FD_U64:
		why = want_size(m, sizeof(uint64_t));
		if (!why)
			why = want_fds(nfds, m->payload.u64 & VHU_VRING_NOFD ? 0 : 1);
		return why;
	case P_LOG_BASE:
		return NULL;	/* refused later, whatever it holds */
	case P_LOG_FD:
		return want_fds(nfds, 1);
	}
	return why ? why : want_fds(nfds, 0);
}

const char *vhu_msg_check(const struct vhu_msg *m, unsigned nfds)
{
	if ((m->hdr.flags & VHU_FLAG_VERSION_MASK) != VHU_VERSION)
		return "bad protocol version";
	if (m->hdr.size > VHU_PAYLOAD_MAX)
		return "payload too large";
	if (nfds > VHU_MAX_FDS)
		return "too many fds";
	const struct req_info *ri = req_info(m->hdr.request);
	if (!ri)
		return NULL;
	bool reply = m->hdr.flags & VHU_FLAG_REPLY;
	return check_kind(m, reply ? ri->reply : ri->req, nfds);
}

/* ---- sending and receiving ---- */

int vhu_send(int fd, struct vhu_msg *m, const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHU_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2] = {
		{ &m->hdr, VHU_HDR_SIZE },
		{ &m->payload, m->hdr.size },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = m->hdr.size ? 2 : 1 };

	if (m->hdr.size > VHU_PAYLOAD_MAX || nfds > VHU_MAX_FDS)
		return -EMSGSIZE;
	m->hdr.flags = (m->hdr.flags & ~VHU_FLAG_VERSION_MASK) | VHU_VERSION;
	if (nfds) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	size_t total = VHU_HDR_SIZE + m->hdr.size;
	for (int tries = 0; tries < 1000; tries++) {
		ssize_t r = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			/* a full socket buffer: wait for room, boundedly */
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			if (poll(&pfd, 1, 1000) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		if (r < 0)
			return -errno;
		/* a Unix stream socket takes a message this small whole */
		return (size_t)r == total ? 0 : -EIO;
	}
	return -EIO;
}

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Collects the SCM_RIGHTS fds of mh into fds; -EPROTO (all closed) if
 * there are too many or the kernel cut them. */
static int take_fds(struct msghdr *mh, int fds[VHU_MAX_FDS], unsigned *nfds)
{
	bool bad = mh->msg_flags & MSG_CTRUNC;

	*nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int v;
			memcpy(&v, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < VHU_MAX_FDS) {
				fds[(*nfds)++] = v;
			} else {
				close(v);
				bad = true;
			}
		}
	}
	if (bad) {
		close_fds(fds, *nfds);
		*nfds = 0;
		return -EPROTO;
	}
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads exactly len bytes, waiting at most wait_ms in all. */
static int read_full(int fd, void *buf, size_t len, int wait_ms)
{
	size_t got = 0;
	int64_t end = mono_ms() + wait_ms;

	while (got < len) {
		ssize_t r = recv(fd, (char *)buf + got, len - got, MSG_DONTWAIT);
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		int left = (int)(end - mono_ms());
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		poll(&pfd, 1, left);
	}
	return 0;
}

int vhu_recv(int fd, struct vhu_msg *m, int fds[VHU_MAX_FDS], unsigned *nfds,
	     const char **why)
{
	union {
		/* room for more fds than allowed, so that an excess is seen
		 * (and closed) rather than cut by the kernel unseen */
		char buf[CMSG_SPACE(sizeof(int) * 64)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { &m->hdr, VHU_HDR_SIZE };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	ssize_t r;

	*nfds = 0;
	if (why)
		*why = NULL;
	do
		r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ECONNRESET;
	int rc = take_fds(&mh, fds, nfds);
	if (rc < 0) {
		if (why)
			*why = "too many fds or truncated ancillary data";
		return rc;
	}
	if ((size_t)r < VHU_HDR_SIZE)
		rc = read_full(fd, (char *)&m->hdr + r, VHU_HDR_SIZE - (size_t)r,
			       VHU_PAYLOAD_WAIT_MS);
	if (!rc && m->hdr.size > VHU_PAYLOAD_MAX) {
		if (why)
			*why = "payload too large";
		rc = -EPROTO;
	}
	if (!rc && m->hdr.size)
		rc = read_full(fd, &m->payload, m->hdr.size, VHU_PAYLOAD_WAIT_MS);
	if (!rc) {
		const char *w = vhu_msg_check(m, *nfds);
		if (w) {
			if (why)
				*why = w;
			rc = -EPROTO;
		}
	}
	if (rc < 0) {
		close_fds(fds, *nfds);
		*nfds = 0;
	}
	return rc;
}

/* ---- front end helpers ---- */

void vhu_front_init(struct vhu_front *f, int fd)
{
	f->fd = fd;
	f->protocol_features = 0;
	f->timeout_ms = 5000;
}

int vhu_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* Waits for the reply to `request` within f->timeout_ms. */
static int front_reply(struct vhu_front *f, uint32_t request, struct vhu_msg *r)
{
	int fds[VHU_MAX_FDS];
	unsigned nfds;
	int64_t end = mono_ms() + f->timeout_ms;

	for (;;) {
		struct pollfd pfd = { .fd = f->fd, .events = POLLIN };
		int left = (int)(end - mono_ms());
		if (left < 0 || poll(&pfd, 1, left) == 0)
			return -ETIMEDOUT;
		int rc = vhu_recv(f->fd, r, fds, &nfds, NULL);
		if (rc == -EAGAIN || rc == -EINTR)
			continue;
		if (rc < 0)
			return rc;
		close_fds(fds, nfds);
		if (!(r->hdr.flags & VHU_FLAG_REPLY) || r->hdr.request != request)
			return -EPROTO;
		return 0;
	}
}

static bool acked(const struct vhu_front *f)
{
	return f->protocol_features >> VHU_PROTOCOL_F_REPLY_ACK & 1;
}

/* Sends m; waits for its reply into m when it has one (GET_*), or for
 * the acknowledgement when REPLY_ACK is on. */
static int front_call(struct vhu_front *f, struct vhu_msg *m, const int *fds,
		      unsigned nfds, bool has_reply)
{
	uint32_t request = m->hdr.request;
	bool ack = !has_reply && acked(f);

	if (ack)
		m->hdr.flags |= VHU_FLAG_NEED_REPLY;
	int rc = vhu_send(f->fd, m, fds, nfds);
	if (rc < 0 || (!has_reply && !ack))
		return rc;
	rc = front_reply(f, request, m);
	if (rc < 0)
		return rc;
	if (ack)
		return m->payload.u64 ? -EIO : 0;
	return 0;
}

static void msg_init(struct vhu_msg *m, uint32_t request, uint32_t size)
{
	memset(&m->hdr, 0, sizeof(m->hdr));
	m->hdr.request = request;
	m->hdr.size = size;
}

static int front_get_u64(struct vhu_front *f, uint32_t request, uint64_t *v)
{
	struct vhu_msg m;

	msg_init(&m, request, 0);
	int rc = front_call(f, &m, NULL, 0, true);
	if (rc == 0)
		*v = m.payload.u64;
	return rc;
}

static int front_set_u64(struct vhu_front *f, uint32_t request, uint64_t v,
			 int fd)
{
	struct vhu_msg m;

	msg_init(&m, request, sizeof(uint64_t));
	m.payload.u64 = v;
	return front_call(f, &m, &fd, fd >= 0 ? 1 : 0, false);
}

static int front_set_state(struct vhu_front *f, uint32_t request,
			   unsigned idx, unsigned num)
{
	struct vhu_msg m;

	msg_init(&m, request, sizeof(struct vhu_vring_state));
	m.payload.state = (struct vhu_vring_state){ idx, num };
	return front_call(f, &m, NULL, 0, false);
}

int vhu_front_get_features(struct vhu_front *f, uint64_t *features)
{
	return front_get_u64(f, VHU_GET_FEATURES, features);
}

int vhu_front_set_features(struct vhu_front *f, uint64_t features)
{
	return front_set_u64(f, VHU_SET_FEATURES, features, -1);
}

int vhu_front_get_protocol_features(struct vhu_front *f, uint64_t *pf)
{
	return front_get_u64(f, VHU_GET_PROTOCOL_FEATURES, pf);
}

int vhu_front_set_protocol_features(struct vhu_front *f, uint64_t pf)
{
	/* the acknowledgement starts with the next request */
	int rc = front_set_u64(f, VHU_SET_PROTOCOL_FEATURES, pf, -1);

	if (rc == 0)
		f->protocol_features = pf;
	return rc;
}

int vhu_front_set_owner(struct vhu_front *f)
{
	struct vhu_msg m;

	msg_init(&m, VHU_SET_OWNER, 0);
	return front_call(f, &m, NULL, 0, false);
}

int vhu_front_get_queue_num(struct vhu_front *f, uint64_t *num)
{
	return front_get_u64(f, VHU_GET_QUEUE_NUM, num);
}

int vhu_front_set_mem_table(struct vhu_front *f,
			    const struct vhu_front_region *r, unsigned n)
{
	struct vhu_msg m;
	int fds[VHU_MAX_REGIONS];

	if (n == 0 || n > VHU_MAX_REGIONS)
		return -EINVAL;
	msg_init(&m, VHU_SET_MEM_TABLE, VHU_MEM_TABLE_SIZE(n));
	m.payload.mem.nregions = n;
	m.payload.mem.padding = 0;
	for (unsigned i = 0; i < n; i++) {
		m.payload.mem.region[i] = (struct vhu_mem_region){
			r[i].gpa, r[i].size, r[i].uva, r[i].offset };
		fds[i] = r[i].fd;
	}
	return front_call(f, &m, fds, n, false);
}

int vhu_front_set_vring_num(struct vhu_front *f, unsigned idx, unsigned num)
{
	return front_set_state(f, VHU_SET_VRING_NUM, idx, num);
}

int vhu_front_set_vring_base(struct vhu_front *f, unsigned idx, unsigned base)
{
	return front_set_state(f, VHU_SET_VRING_BASE, idx, base);
}

int vhu_front_set_vring_addr(struct vhu_front *f, unsigned idx,
			     uint64_t desc, uint64_t avail, uint64_t used)
{
	struct vhu_msg m;

	msg_init(&m, VHU_SET_VRING_ADDR, sizeof(struct vhu_vring_addr));
	m.payload.addr = (struct vhu_vring_addr){
		.index = idx, .desc = desc, .used = used, .avail = avail };
	return front_call(f, &m, NULL, 0, false);
}

static int front_set_fd(struct vhu_front *f, uint32_t request, unsigned idx,
			int efd)
{
	uint64_t v = (idx & VHU_VRING_IDX_MASK) | (efd < 0 ? VHU_VRING_NOFD : 0);

	return front_set_u64(f, request, v, efd);
}

int vhu_front_set_vring_kick(struct vhu_front *f, unsigned idx, int efd)
{
	return front_set_fd(f, VHU_SET_VRING_KICK, idx, efd);
}

int vhu_front_set_vring_call(struct vhu_front *f, unsigned idx, int efd)
{
	return front_set_fd(f, VHU_SET_VRING_CALL, idx, efd);
}

int vhu_front_set_vring_enable(struct vhu_front *f, unsigned idx, bool on)
{
	return front_set_state(f, VHU_SET_VRING_ENABLE, idx, on ? 1 : 0);
}

int vhu_front_get_vring_base(struct vhu_front *f, unsigned idx, unsigned *base)
{
	struct vhu_msg m;

	msg_init(&m, VHU_GET_VRING_BASE, sizeof(struct vhu_vring_state));
	m.payload.state = (struct vhu_vring_state){ idx, 0 };
	int rc = front_call(f, &m, NULL, 0, true);
	if (rc == 0 && m.payload.state.index != idx)
		return -EPROTO;
	if (rc == 0)
		*base = m.payload.state.num;
	return rc;
}

int vhu_front_setup_vring(struct vhu_front *f, unsigned idx, unsigned num,
			  unsigned base, uint64_t desc, uint64_t avail,
			  uint64_t used, int kick, int call, bool enable)
{
	int rc;

	if ((rc = vhu_front_set_vring_num(f, idx, num)) < 0 ||
	    (rc = vhu_front_set_vring_base(f, idx, base)) < 0 ||
	    (rc = vhu_front_set_vring_addr(f, idx, desc, avail, used)) < 0 ||
	    (rc = vhu_front_set_vring_call(f, idx, call)) < 0 ||
	    (rc = vhu_front_set_vring_kick(f, idx, kick)) < 0)
		return rc;
	return enable ? vhu_front_set_vring_enable(f, idx, true) : 0;
}
