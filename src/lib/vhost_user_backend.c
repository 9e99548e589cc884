/*
 * vhost-user virtio-net back end: messages in, rings served.  See
 * vhost_user_backend.h for the contract and docs/vms.md for what is
 * offered.
 *
 * Ring life cycle (vhost-user.rst, "Starting and stopping rings"): a ring
 * is started by SET_VRING_KICK and stopped by GET_VRING_BASE.  When
 * VHOST_USER_F_PROTOCOL_FEATURES was negotiated it also starts disabled
 * and waits for SET_VRING_ENABLE 1; without it a started ring is enabled.
 * The back end serves a ring ("live") once it is started, enabled, and
 * has a size, addresses and memory.  Every message that changes any of
 * these re-evaluates the ring (ring_update): the front end may send them
 * in any order, and a SET_MEM_TABLE may replace the memory under live
 * rings (the new mapping is made and the rings re-resolved before the old
 * one goes).  A ring that cannot be resolved in the memory the front end
 * gave is a protocol error, not a silently idle ring.
 *
 * Ring addresses come as the front end's virtual addresses; the memory
 * table says which virtual range is which guest-physical range, so each
 * is translated to a guest-physical address and from then on the ring is
 * served by virtq.c through gmem, as vmx serves its own rings.
 *
 * Indices: SET_VRING_BASE sets both where the back end reads the avail
 * ring and where it writes the used ring.  This back end returns every
 * buffer it takes at once (TX copies out and pushes; RX pushes when the
 * frame is in), so at GET_VRING_BASE the two are equal and a front end
 * that reconnects may take the base from the used index in its memory.
 *
 * The fds: memory fds must be regular files (memfd, hugetlbfs, /dev/shm)
 * at least mmap_offset + size long, checked with fstat before the mmap;
 * the back end then adds F_SEAL_SHRINK where the file allows it, because
 * a file shrunk under a live mapping turns the next access into SIGBUS in
 * vmkd.  Eventfds are made non-blocking (O_NONBLOCK is on the open file
 * the front end shares; QEMU and vmx use them non-blocking anyway) so that
 * a front end that fills its counter cannot block the datapath's thread.
 */
#include "vhost_user_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define BIT(n) ((uint64_t)1 << (n))
#define F_VERSION_1 32

const uint64_t vhu_be_features =
	BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
	BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6) |
	BIT(VIRTIO_NET_F_GUEST_ECN) | BIT(VIRTIO_NET_F_HOST_TSO4) |
	BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_HOST_ECN) |
	BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(28 /* RING_INDIRECT_DESC */) |
	BIT(29 /* RING_EVENT_IDX */) | BIT(VHU_F_PROTOCOL_FEATURES) |
	BIT(F_VERSION_1);

const uint64_t vhu_be_protocol_features =
	BIT(VHU_PROTOCOL_F_MQ) | BIT(VHU_PROTOCOL_F_REPLY_ACK);

static bool has(const struct vhu_backend *b, unsigned bit)
{
	return b->features & BIT(bit);
}

static int fail(struct vhu_backend *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct vhu_backend *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->err, sizeof(b->err), fmt, ap);
	va_end(ap);
	return -1;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		close_fd(&fds[i]);
}

static void vring_init(struct vhu_be_vring *v)
{
	memset(v, 0, sizeof(*v));
	v->kick_fd = v->call_fd = v->err_fd = -1;
}

void vhu_be_init(struct vhu_backend *b)
{
	memset(b, 0, sizeof(*b));
	b->hdr_len = 10;
	for (unsigned i = 0; i < VHU_BE_NQUEUES; i++)
		vring_init(&b->vr[i]);
}

static void unmap_all(struct vhu_be_map *map, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		munmap(map[i].base, map[i].len);
}

void vhu_be_reset(struct vhu_backend *b)
{
	for (unsigned i = 0; i < VHU_BE_NQUEUES; i++) {
		struct vhu_be_vring *v = &b->vr[i];
		close_fd(&v->kick_fd);
		close_fd(&v->call_fd);
		close_fd(&v->err_fd);
	}
	unmap_all(b->map, b->nmaps);
	vhu_be_init(b);
}

/* ---- rings ---- */

/* Front-end virtual address of a whole range -> guest-physical. */
static bool uva_to_gpa(const struct vhu_backend *b, uint64_t uva, uint64_t len,
		       uint64_t *gpa)
{
	for (unsigned i = 0; i < b->nmaps; i++) {
		const struct vhu_be_map *r = &b->map[i];
		if (uva < r->uva)
			continue;
		uint64_t off = uva - r->uva;
		if (off < r->size && len <= r->size - off) {
			*gpa = r->gpa + off;
			return true;
		}
	}
	return false;
}

/* Makes the ring live or not from what is set; -1 if it should be live
 * but its rings are not in guest memory. */
static int ring_update(struct vhu_backend *b, unsigned idx)
{
	struct vhu_be_vring *v = &b->vr[idx];
	struct virtq *q = &v->q;
	uint64_t n = v->num;

	q->enabled = false;
	if (!v->started || !v->enabled || !n || !v->addr_set || !b->nmaps)
		return 0;
	q->size = (uint16_t)n;
	q->event_idx = has(b, 29);
	if (!uva_to_gpa(b, v->desc_uva, 16 * n, &q->desc_gpa) ||
	    !uva_to_gpa(b, v->avail_uva, 6 + 2 * n, &q->avail_gpa) ||
	    !uva_to_gpa(b, v->used_uva, 6 + 8 * n, &q->used_gpa) ||
	    virtq_enable(q, &b->mem) < 0)
		return fail(b, "ring %u (size %u) lies outside the guest memory "
			    "or is misaligned", idx, v->num);
	return 0;
}

bool vhu_be_live(const struct vhu_backend *b, unsigned idx)
{
	return idx < VHU_BE_NQUEUES && b->vr[idx].q.enabled;
}

int vhu_be_kick_fd(const struct vhu_backend *b, unsigned idx)
{
	return idx < VHU_BE_NQUEUES ? b->vr[idx].kick_fd : -1;
}

unsigned vhu_be_pending(const struct vhu_backend *b, unsigned idx)
{
	return vhu_be_live(b, idx) ? virtq_pending(&b->vr[idx].q) : 0;
}

/* ---- memory ---- */

static int map_region(struct vhu_backend *b, const struct vhu_mem_region *r,
		      int fd, unsigned i, struct vhu_be_map *out)
{
	struct stat st;
	long page = sysconf(_SC_PAGESIZE);
	uint64_t delta = r->mmap_offset % (uint64_t)page;

	if (r->size == 0 || r->gpa + r->size < r->gpa ||
	    r->uva + r->size < r->uva ||
	    r->mmap_offset + r->size < r->mmap_offset ||
	    r->size + delta > SIZE_MAX / 2)
		return fail(b, "SET_MEM_TABLE: region %u has a bad size or wraps", i);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return fail(b, "SET_MEM_TABLE: region %u's fd is not a regular file", i);
	if ((uint64_t)st.st_size < r->mmap_offset + r->size)
		return fail(b, "SET_MEM_TABLE: region %u goes past the end of its "
			    "file (%llu bytes)", i, (unsigned long long)st.st_size);
	/* best effort, see the top of the file; refused if already sealed */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0) {
		/* not a sealable file: the check above is all there is */
	}
	size_t len = (size_t)(r->size + delta);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		       fd, (off_t)(r->mmap_offset - delta));
	if (p == MAP_FAILED)
		return fail(b, "SET_MEM_TABLE: cannot map region %u: %s", i,
			    strerror(errno));
	*out = (struct vhu_be_map){ p, len, r->gpa, r->size, r->uva,
				    (uint8_t *)p + delta };
	return 0;
}

static int set_mem_table(struct vhu_backend *b, const struct vhu_mem_table *t,
			 int *fds, unsigned nfds)
{
	struct vhu_be_map map[VHU_MAX_REGIONS], old[VHU_MAX_REGIONS];
	struct gmem mem = { 0 };
	unsigned n = 0, nold = b->nmaps;
	int rc = 0;

	/* map[0..n) are mapped and in mem; a region that fails is undone
	 * here, so the error path below unmaps each mapping once */
	for (; n < t->nregions && n < nfds; n++) {
		rc = map_region(b, &t->region[n], fds[n], n, &map[n]);
		if (rc)
			break;
		if (gmem_add_region(&mem, map[n].gpa, map[n].size, map[n].hva) < 0) {
			munmap(map[n].base, map[n].len);
			rc = fail(b, "SET_MEM_TABLE: region %u overlaps another", n);
			break;
		}
	}
	close_fds(fds, nfds);	/* the mappings keep the memory */
	if (rc) {
		unmap_all(map, n);
		return -1;
	}
	memcpy(old, b->map, sizeof(old));
	memcpy(b->map, map, sizeof(map));
	b->nmaps = n;
	b->mem = mem;
	for (unsigned i = 0; i < VHU_BE_NQUEUES && !rc; i++)
		rc = ring_update(b, i);
	unmap_all(old, nold);	/* no ring points there any more */
	return rc;
}

/* ---- messages ---- */

static bool is_eventfd(int fd)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return true;	/* no /proc here: cannot tell, trust the type checks of use */
	link[n] = 0;
	return strcmp(link, "anon_inode:[eventfd]") == 0;
}

static int vring_index(struct vhu_backend *b, const struct vhu_msg *m,
		       uint32_t idx)
{
	if (idx >= VHU_BE_NQUEUES)
		return fail(b, "%s: ring %u does not exist (one queue pair)",
			    vhu_request_name(m->hdr.request), idx);
	return (int)idx;
}

/* SET_VRING_KICK / CALL / ERR */
static int set_vring_fd(struct vhu_backend *b, const struct vhu_msg *m,
			int *fds, unsigned nfds)
{
	int idx = vring_index(b, m, (uint32_t)(m->payload.u64 & VHU_VRING_IDX_MASK));
	int fd = nfds ? fds[0] : -1;

	if (idx < 0 || (m->payload.u64 & ~(uint64_t)(VHU_VRING_IDX_MASK | VHU_VRING_NOFD))) {
		close_fds(fds, nfds);
		return idx < 0 ? -1 : fail(b, "%s: unknown flags",
					   vhu_request_name(m->hdr.request));
	}
	if (fd >= 0 && (!is_eventfd(fd) ||
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)) {
		close_fds(fds, nfds);
		return fail(b, "%s: the fd is not an eventfd",
			    vhu_request_name(m->hdr.request));
	}
	struct vhu_be_vring *v = &b->vr[idx];
	switch (m->hdr.request) {
	case VHU_SET_VRING_KICK:
		if (fd < 0)
			return fail(b, "SET_VRING_KICK: polling mode (no fd) is not supported");
		close_fd(&v->kick_fd);
		v->kick_fd = fd;
		v->started = true;
		if (!has(b, VHU_F_PROTOCOL_FEATURES))
			v->enabled = true;
		return ring_update(b, (unsigned)idx);
	case VHU_SET_VRING_CALL:
		close_fd(&v->call_fd);
		v->call_fd = fd;	/* -1: the front end polls */
		return 0;
	default:
		close_fd(&v->err_fd);
		v->err_fd = fd;
		return 0;
	}
}

static int set_vring_state(struct vhu_backend *b, const struct vhu_msg *m)
{
	const struct vhu_vring_state *s = &m->payload.state;
	int idx = vring_index(b, m, s->index);

	if (idx < 0)
		return -1;
	struct vhu_be_vring *v = &b->vr[idx];
	switch (m->hdr.request) {
	case VHU_SET_VRING_NUM:
		if (s->num == 0 || s->num > VIRTQ_MAX_SIZE || (s->num & (s->num - 1)))
			return fail(b, "SET_VRING_NUM: %u is not a power of two "
				    "up to %u", s->num, VIRTQ_MAX_SIZE);
		v->num = s->num;
		break;
	case VHU_SET_VRING_BASE:
		if (s->num > 0xffff)
			return fail(b, "SET_VRING_BASE: %u is not a split ring index", s->num);
		v->q.last_avail = v->q.next_used = (uint16_t)s->num;
		v->q.signalled_valid = false;
		v->q.broken = false;
		break;
	case VHU_SET_VRING_ENABLE:
		if (s->num > 1)
			return fail(b, "SET_VRING_ENABLE: %u is not 0 or 1", s->num);
		v->enabled = s->num;
		break;
	}
	return ring_update(b, (unsigned)idx);
}

static int set_vring_addr(struct vhu_backend *b, const struct vhu_msg *m)
{
	const struct vhu_vring_addr *a = &m->payload.addr;
	int idx = vring_index(b, m, a->index);

	if (idx < 0)
		return -1;
	if (a->flags)
		return fail(b, "SET_VRING_ADDR: logging is not supported");
	struct vhu_be_vring *v = &b->vr[idx];
	v->desc_uva = a->desc;
	v->avail_uva = a->avail;
	v->used_uva = a->used;
	v->addr_set = true;
	return ring_update(b, (unsigned)idx);
}

/* GET_VRING_BASE: stop the ring and say where it stopped. */
static void get_vring_base(struct vhu_backend *b, unsigned idx,
			   struct vhu_msg *m)
{
	struct vhu_be_vring *v = &b->vr[idx];

	v->started = false;
	v->q.enabled = false;
	close_fd(&v->kick_fd);
	m->payload.state.num = v->q.last_avail;
}

static int set_features(struct vhu_backend *b, uint64_t f)
{
	if (f & ~vhu_be_features)
		return fail(b, "SET_FEATURES: 0x%llx has features not offered",
			    (unsigned long long)f);
	b->features = f;
	b->hdr_len = has(b, F_VERSION_1) || has(b, VIRTIO_NET_F_MRG_RXBUF) ? 12 : 10;
	/* without PROTOCOL_FEATURES there is no SET_VRING_ENABLE: every ring
	 * is enabled (vhost-user.rst, "Ring states"); it never disables one */
	if (!has(b, VHU_F_PROTOCOL_FEATURES))
		for (unsigned i = 0; i < VHU_BE_NQUEUES; i++)
			b->vr[i].enabled = true;
	/* EVENT_IDX changes the ring layout */
	for (unsigned i = 0; i < VHU_BE_NQUEUES; i++)
		if (ring_update(b, i) < 0)
			return -1;
	return 0;
}

static int reply_u64(struct vhu_msg *m, uint64_t v)
{
	m->hdr.flags = VHU_FLAG_REPLY;
	m->hdr.size = sizeof(uint64_t);
	m->payload.u64 = v;
	return 1;
}

/* The requests that change something; 0 or -1. */
static int handle_set(struct vhu_backend *b, struct vhu_msg *m, int *fds,
		      unsigned nfds)
{
	switch (m->hdr.request) {
	case VHU_SET_FEATURES:
		return set_features(b, m->payload.u64);
	case VHU_SET_PROTOCOL_FEATURES:
		if (m->payload.u64 & ~vhu_be_protocol_features)
			return fail(b, "SET_PROTOCOL_FEATURES: 0x%llx has features "
				    "not offered", (unsigned long long)m->payload.u64);
		b->protocol = m->payload.u64;
		return 0;
	case VHU_SET_OWNER:
		b->owned = true;
		return 0;
	case VHU_RESET_OWNER:	/* deprecated; QEMU sends it on stop */
	case VHU_SEND_RARP:	/* the switch announces the port itself */
	case VHU_NET_SET_MTU:	/* the vSwitch's MTU rules */
		return 0;
	case VHU_SET_MEM_TABLE:
		return set_mem_table(b, &m->payload.mem, fds, nfds);
	case VHU_SET_VRING_NUM:
	case VHU_SET_VRING_BASE:
	case VHU_SET_VRING_ENABLE:
		return set_vring_state(b, m);
	case VHU_SET_VRING_ADDR:
		return set_vring_addr(b, m);
	case VHU_SET_VRING_KICK:
	case VHU_SET_VRING_CALL:
	case VHU_SET_VRING_ERR:
		return set_vring_fd(b, m, fds, nfds);
	}
	if (m->hdr.request < VHU_REQUEST_MAX)
		return fail(b, "%s is not supported", vhu_request_name(m->hdr.request));
	return fail(b, "unknown request %u", m->hdr.request);
}

int vhu_be_handle(struct vhu_backend *b, struct vhu_msg *m, int *fds,
		  unsigned nfds)
{
	uint32_t req = m->hdr.request;
	bool need_reply = m->hdr.flags & VHU_FLAG_NEED_REPLY;
	bool fds_taken = req == VHU_SET_MEM_TABLE || req == VHU_SET_VRING_KICK ||
			 req == VHU_SET_VRING_CALL || req == VHU_SET_VRING_ERR;

	b->err[0] = 0;
	if (!fds_taken)
		close_fds(fds, nfds);
	if (m->hdr.flags & VHU_FLAG_REPLY) {
		if (fds_taken)
			close_fds(fds, nfds);
		return fail(b, "%s: a reply where a request was due",
			    vhu_request_name(req));
	}
	switch (req) {
	case VHU_GET_FEATURES:
		return reply_u64(m, vhu_be_features);
	case VHU_GET_PROTOCOL_FEATURES:
		return reply_u64(m, vhu_be_protocol_features);
	case VHU_GET_QUEUE_NUM:
		return reply_u64(m, 1);
	case VHU_GET_VRING_BASE:
		if (vring_index(b, m, m->payload.state.index) < 0)
			return -1;
		get_vring_base(b, m->payload.state.index, m);
		m->hdr.flags = VHU_FLAG_REPLY;
		return 1;
	}
	if (handle_set(b, m, fds, nfds) < 0)
		return -1;
	/* REPLY_ACK: success; a failure drops the connection instead */
	if (need_reply && b->protocol & BIT(VHU_PROTOCOL_F_REPLY_ACK))
		return reply_u64(m, 0);
	return 0;
}

/* ---- TX: guest -> switch ---- */

/* The header the guest sent, checked against what it negotiated. */
static bool tx_hdr_ok(const struct vhu_backend *b, const struct virtio_net_hdr *h,
		      uint32_t len)
{
	if (h->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return false;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM &&
	    (!has(b, VIRTIO_NET_F_CSUM) ||
	     (uint32_t)h->csum_start + h->csum_offset + 2 > len))
		return false;
	switch (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return !(h->gso_type & VIRTIO_NET_HDR_GSO_ECN);
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return has(b, VIRTIO_NET_F_HOST_TSO4) && h->gso_size &&
		       (!(h->gso_type & VIRTIO_NET_HDR_GSO_ECN) ||
			has(b, VIRTIO_NET_F_HOST_ECN));
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return has(b, VIRTIO_NET_F_HOST_TSO6) && h->gso_size &&
		       (!(h->gso_type & VIRTIO_NET_HDR_GSO_ECN) ||
			has(b, VIRTIO_NET_F_HOST_ECN));
	}
	return false;
}

int vhu_be_tx_pop(struct vhu_backend *b, struct virtio_net_hdr *hdr,
		  uint8_t *buf, uint32_t cap, uint32_t *len)
{
	struct virtq *q = &b->vr[VHU_BE_TXQ].q;
	struct virtq_chain *c = &b->chain;

	if (!q->enabled)
		return 0;
	int r = virtq_pop(q, &b->mem, c);
	if (r < 0)
		return fail(b, "TX ring: malformed descriptor chain or index");
	if (r == 0)
		return 0;
	*len = 0;
	memset(hdr, 0, sizeof(*hdr));
	if (c->out_len >= b->hdr_len && c->out_len - b->hdr_len <= cap) {
		uint32_t n = (uint32_t)(c->out_len - b->hdr_len);
		virtq_copy_from_chain(c, 0, hdr, sizeof(*hdr));
		virtq_copy_from_chain(c, b->hdr_len, buf, n);
		if (tx_hdr_ok(b, hdr, n))
			*len = n;
		else
			memset(hdr, 0, sizeof(*hdr));
	}
	virtq_push(q, c->head, 0);
	return 1;
}

/* ---- RX: switch -> guest ---- */

static bool rx_offloads_ok(const struct vhu_backend *b,
			   const struct virtio_net_hdr *h)
{
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM && !has(b, VIRTIO_NET_F_GUEST_CSUM))
		return false;
	if (h->gso_type & VIRTIO_NET_HDR_GSO_ECN && !has(b, VIRTIO_NET_F_GUEST_ECN))
		return false;
	switch (h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return true;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return has(b, VIRTIO_NET_F_GUEST_TSO4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return has(b, VIRTIO_NET_F_GUEST_TSO6);
	}
	return false;
}

/* A read cursor over the frame's source iovecs. */
struct src {
	const struct iovec *iov;
	unsigned n, i;
	size_t off;
};

/* Copies up to `room` bytes from s into chain c at offset `at`. */
static uint64_t fill(const struct virtq_chain *c, uint64_t at, struct src *s,
		     uint64_t room)
{
	uint64_t done = 0;

	while (done < room && s->i < s->n) {
		const struct iovec *v = &s->iov[s->i];
		size_t left = v->iov_len - s->off;
		if (!left) {
			s->i++;
			s->off = 0;
			continue;
		}
		uint64_t k = left < room - done ? left : room - done;
		virtq_copy_to_chain(c, at + done, (const uint8_t *)v->iov_base + s->off, k);
		done += k;
		s->off += k;
	}
	return done;
}

static bool src_done(struct src *s)
{
	while (s->i < s->n && s->off == s->iov[s->i].iov_len) {
		s->i++;
		s->off = 0;
	}
	return s->i == s->n;
}

/*
 * Gives back chains taken from the avail ring but not used: they were
 * only written to, never pushed, so moving the index back returns them
 * as if never taken (virtq.c keeps avail_event equal to last_avail).
 */
static void rx_unpop(struct virtq *q, unsigned n)
{
	q->last_avail = (uint16_t)(q->last_avail - n);
	if (q->avail_event)
		__atomic_store_n(q->avail_event, q->last_avail, __ATOMIC_RELAXED);
}

int vhu_be_rx_put(struct vhu_backend *b, const struct virtio_net_hdr *hdr,
		  const struct iovec *iov, unsigned niov)
{
	struct virtq *q = &b->vr[VHU_BE_RXQ].q;
	struct virtio_net_hdr_mrg_rxbuf h = { .hdr = *hdr, .num_buffers = 1 };
	struct src s = { iov, niov, 0, 0 };
	bool mrg = has(b, VIRTIO_NET_F_MRG_RXBUF);
	unsigned nbufs = 0, max = mrg ? VHU_BE_RX_MAX_BUFS : 1;

	if (!q->enabled)
		return -ENOTCONN;
	if (!rx_offloads_ok(b, hdr))
		return -EOPNOTSUPP;
	while (nbufs < max && nbufs < q->size) {
		struct virtq_chain *c = nbufs ? &b->chain : &b->first;
		int r = virtq_pop(q, &b->mem, c);
		if (r < 0)
			return fail(b, "RX ring: malformed descriptor chain or index"),
			       -EIO;
		if (r == 0)
			break;
		uint64_t at = 0;
		if (!nbufs) {
			if (c->in_len < b->hdr_len) {
				nbufs++;
				break;	/* cannot even hold the header */
			}
			virtq_copy_to_chain(c, 0, &h, b->hdr_len);
			at = b->hdr_len;
		}
		uint64_t n = fill(c, at, &s, c->in_len - at);
		b->rx_heads[nbufs] = c->head;
		b->rx_lens[nbufs] = (uint32_t)(at + n);
		nbufs++;
		if (src_done(&s))
			goto done;
	}
	rx_unpop(q, nbufs);
	return -ENOBUFS;
done:
	if (mrg && nbufs > 1) {
		uint16_t nb = (uint16_t)nbufs;
		virtq_copy_to_chain(&b->first, offsetof(struct virtio_net_hdr_mrg_rxbuf,
							num_buffers), &nb, sizeof(nb));
	}
	/* all at once: the driver takes the other buffers as soon as it
	 * sees the first (virtio 1.x 5.1.6.4.2) */
	virtq_push_n(q, b->rx_heads, b->rx_lens, nbufs);
	return 0;
}

/* ---- notifications ---- */

void vhu_be_signal(struct vhu_backend *b, unsigned idx)
{
	struct vhu_be_vring *v = &b->vr[idx];
	uint64_t one = 1;

	if (!virtq_need_interrupt(&v->q) || v->call_fd < 0)
		return;
	if (write(v->call_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, the front end is awake anyway */
	}
}
