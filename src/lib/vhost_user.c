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
 * payload is then read, never past the message's end (so the next
 * message's fds stay with it).  The back end reads with a vhu_reader,
 * which never waits: what came of a message is kept until the rest
 * comes, because vmkd reads on the datapath's one thread and a front end
 * that sends half a message must stall only itself.  vhu_recv (front
 * ends, tests) waits VHU_PAYLOAD_WAIT_MS at most for the rest.
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

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd has `events` or the deadline passed; 0 or -ETIMEDOUT. */
static int wait_until(int fd, short events, int64_t end)
{
	for (;;) {
		int left = (int)(end - mono_ms());
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = { .fd = fd, .events = events };
		int r = poll(&pfd, 1, left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

int vhu_send_wait(int fd, struct vhu_msg *m, const int *fds, unsigned nfds,
		  int wait_ms)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHU_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	char wire[VHU_HDR_SIZE + VHU_PAYLOAD_MAX];
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (m->hdr.size > VHU_PAYLOAD_MAX || nfds > VHU_MAX_FDS)
		return -EMSGSIZE;
	m->hdr.flags = (m->hdr.flags & ~VHU_FLAG_VERSION_MASK) | VHU_VERSION;
	memcpy(wire, &m->hdr, VHU_HDR_SIZE);
	memcpy(wire + VHU_HDR_SIZE, &m->payload, m->hdr.size);
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
	size_t total = VHU_HDR_SIZE + m->hdr.size, done = 0;
	int64_t end = mono_ms() + wait_ms;
	while (done < total) {
		iov = (struct iovec){ wire + done, total - done };
		ssize_t r = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r > 0) {
			/* the fds went with the first byte; the rest goes alone */
			done += (size_t)r;
			mh.msg_control = NULL;
			mh.msg_controllen = 0;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno != EAGAIN)
			return -errno;
		/* a full socket buffer: wait for room, within the one deadline */
		int rc = wait_until(fd, POLLOUT, end);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int vhu_send(int fd, struct vhu_msg *m, const int *fds, unsigned nfds)
{
	return vhu_send_wait(fd, m, fds, nfds, VHU_SEND_WAIT_MS);
}

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Appends the SCM_RIGHTS fds of mh to fds[*nfds..]; -EPROTO if there are
 * more than VHU_MAX_FDS in all or the kernel cut them (the excess closed
 * here, the rest left to the caller). */
static int take_fds(struct msghdr *mh, int fds[VHU_MAX_FDS], unsigned *nfds)
{
	bool bad = mh->msg_flags & MSG_CTRUNC;

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
	return bad ? -EPROTO : 0;
}

void vhu_reader_init(struct vhu_reader *r)
{
	memset(r, 0, sizeof(*r));
}

void vhu_reader_reset(struct vhu_reader *r)
{
	close_fds(r->fds, r->nfds);
	r->nfds = 0;
	r->got = 0;
}

static int reader_fail(struct vhu_reader *r, int rc, const char **why,
		       const char *reason)
{
	if (why && reason)
		*why = reason;
	vhu_reader_reset(r);
	return rc;
}

/*
 * One recvmsg of what is missing of the current message (the header, or
 * once it is in, the payload: never past the message's end, so the next
 * message's fds stay with it).  1: bytes read, or an error.
 */
static int reader_step(int fd, struct vhu_reader *r, int flags, const char **why)
{
	union {
		/* room for more fds than allowed, so that an excess is seen
		 * (and closed) rather than cut by the kernel unseen */
		char buf[CMSG_SPACE(sizeof(int) * 64)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	ssize_t n;

	if (r->got < VHU_HDR_SIZE)
		iov = (struct iovec){ (char *)&r->msg.hdr + r->got, VHU_HDR_SIZE - r->got };
	else
		iov = (struct iovec){ r->msg.payload.raw + (r->got - VHU_HDR_SIZE),
				      VHU_HDR_SIZE + r->msg.hdr.size - r->got };
	do
		n = recvmsg(fd, &mh, flags | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -EAGAIN;
	if (n < 0)
		return reader_fail(r, -errno, why, NULL);
	if (take_fds(&mh, r->fds, &r->nfds) < 0)
		return reader_fail(r, -EPROTO, why,
				   "too many fds or truncated ancillary data");
	if (n == 0)
		return reader_fail(r, -ECONNRESET, why, NULL);
	r->got += (uint32_t)n;
	if (r->got == VHU_HDR_SIZE && r->msg.hdr.size > VHU_PAYLOAD_MAX)
		return reader_fail(r, -EPROTO, why, "payload too large");
	return 1;
}

/* A whole message is in: check it and hand it over. */
static int reader_done(struct vhu_reader *r, int fds[VHU_MAX_FDS],
		       unsigned *nfds, const char **why)
{
	const char *w = vhu_msg_check(&r->msg, r->nfds);

	if (w)
		return reader_fail(r, -EPROTO, why, w);
	memcpy(fds, r->fds, sizeof(int) * r->nfds);
	*nfds = r->nfds;
	r->nfds = 0;
	r->got = 0;
	return 1;
}

static bool reader_complete(const struct vhu_reader *r)
{
	return r->got >= VHU_HDR_SIZE && r->got == VHU_HDR_SIZE + r->msg.hdr.size;
}

int vhu_read(int fd, struct vhu_reader *r, int fds[VHU_MAX_FDS], unsigned *nfds,
	     const char **why)
{
	*nfds = 0;
	if (why)
		*why = NULL;
	while (!reader_complete(r)) {
		int rc = reader_step(fd, r, MSG_DONTWAIT, why);
		if (rc < 0)
			return rc;
	}
	return reader_done(r, fds, nfds, why);
}

int vhu_recv(int fd, struct vhu_msg *m, int fds[VHU_MAX_FDS], unsigned *nfds,
	     const char **why)
{
	struct vhu_reader r;
	int64_t end = 0;

	vhu_reader_init(&r);
	*nfds = 0;
	if (why)
		*why = NULL;
	/* the first read blocks on a blocking socket, as a plain read would */
	int rc = reader_step(fd, &r, 0, why);
	while (rc == 1 || rc == -EAGAIN) {
		if (reader_complete(&r)) {
			rc = reader_done(&r, fds, nfds, why);
			break;
		}
		if (rc == -EAGAIN) {
			if (!r.got)
				break;	/* nothing at all: the caller's EAGAIN */
			if (!end)
				end = mono_ms() + VHU_PAYLOAD_WAIT_MS;
			if ((rc = wait_until(fd, POLLIN, end)) < 0) {
				vhu_reader_reset(&r);
				break;
			}
		}
		rc = reader_step(fd, &r, MSG_DONTWAIT, why);
	}
	if (rc == -EAGAIN && !r.got)
		return rc;	/* nothing came: m unchanged */
	memcpy(&m->hdr, &r.msg.hdr, sizeof(m->hdr));
	if (rc == 1)
		memcpy(&m->payload, &r.msg.payload, m->hdr.size);
	return rc == 1 ? 0 : rc;
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
