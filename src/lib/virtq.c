/*
 * Split virtqueues, device side (virtio 1.x, section 2.7).  See virtq.h.
 *
 * The rings live in guest RAM, which the guest writes concurrently with
 * us.  Every value that comes from there is therefore read exactly once
 * into a local (a descriptor is copied whole before any field of it is
 * looked at) and checked before it is used; nothing read from the guest is
 * trusted to stay the same.  All guest addresses become host pointers
 * through gmem_ptr() only.
 *
 * Ring layout (all fields little-endian):
 *   descriptor table  16 * size bytes, 16-byte aligned
 *   available ring    flags, idx, ring[size], used_event   2-byte aligned
 *   used ring         flags, idx, ring[size] (8 bytes each), avail_event
 *                                                           4-byte aligned
 * used_event and avail_event exist only with VIRTIO_F_EVENT_IDX.  Whether
 * they are used follows q->event_idx as virtq_enable() saw it (their
 * pointers are NULL otherwise), so a later change of the flag is harmless.
 */
#include "virtq.h"

#include <stddef.h>
#include <string.h>

/* ---- little-endian access (virtio 1.x rings are always LE) ---- */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
static inline uint16_t le16(uint16_t v) { return __builtin_bswap16(v); }
static inline uint32_t le32(uint32_t v) { return __builtin_bswap32(v); }
static inline uint64_t le64(uint64_t v) { return __builtin_bswap64(v); }
#else
static inline uint16_t le16(uint16_t v) { return v; }
static inline uint32_t le32(uint32_t v) { return v; }
static inline uint64_t le64(uint64_t v) { return v; }
#endif

_Static_assert(sizeof(struct virtq_desc) == 16, "descriptor layout");
_Static_assert(sizeof(struct virtq_used_elem) == 8, "used element layout");

#define DESC_ALIGN 16
#define AVAIL_ALIGN 2
#define USED_ALIGN 4

/*
 * Largest indirect table accepted, in descriptors.  The spec does not
 * bound it beyond "no longer than the queue"; this keeps the work done for
 * one chain bounded no matter what length the driver writes.
 */
#define VIRTQ_MAX_INDIRECT VIRTQ_MAX_SIZE

/* The spec's bound on the bytes of one chain, readable and writable. */
#define VIRTQ_MAX_CHAIN_BYTES ((uint64_t)1 << 32)

static bool aligned(uint64_t v, uint64_t a)
{
	return (v & (a - 1)) == 0;
}

/* vring_need_event: did the index move past `event` going old -> new? */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

static uint16_t load_avail_idx(const struct virtq *q)
{
	/* acquire: ring entries and descriptors are read after this */
	return le16(__atomic_load_n(q->avail_idx, __ATOMIC_ACQUIRE));
}

/*
 * Copies one descriptor out of guest memory.  The table may be unaligned
 * (indirect tables have no alignment rule), so memcpy; the compiler
 * barrier after it keeps the compiler from re-reading guest memory in
 * place of the local copy.  Only `d` is looked at afterwards.
 */
static void fetch_desc(const void *src, struct virtq_desc *d)
{
	struct virtq_desc raw;

	memcpy(&raw, src, sizeof(raw));
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	d->addr = le64(raw.addr);
	d->len = le32(raw.len);
	d->flags = le16(raw.flags);
	d->next = le16(raw.next);
}

static void *resolve_ring(const struct gmem *m, uint64_t gpa, uint64_t len,
			  uint64_t align)
{
	if (!aligned(gpa, align))
		return NULL;
	void *p = gmem_ptr(m, gpa, len);
	/* the host mapping must be aligned too, for the atomic accesses */
	if (!p || !aligned((uintptr_t)p, align))
		return NULL;
	return p;
}

int virtq_enable(struct virtq *q, const struct gmem *m)
{
	q->enabled = false;
	q->desc = NULL;
	q->avail_flags = q->avail_idx = q->avail_ring = q->used_event = NULL;
	q->used_flags = q->used_idx = q->avail_event = NULL;
	q->used_ring = NULL;

	uint64_t size = q->size;
	if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1)) != 0)
		return -1;

	uint64_t desc_len = 16 * size;
	uint64_t avail_len = 4 + 2 * size + (q->event_idx ? 2 : 0);
	uint64_t used_len = 4 + 8 * size + (q->event_idx ? 2 : 0);

	uint8_t *desc = resolve_ring(m, q->desc_gpa, desc_len, DESC_ALIGN);
	uint8_t *avail = resolve_ring(m, q->avail_gpa, avail_len, AVAIL_ALIGN);
	uint8_t *used = resolve_ring(m, q->used_gpa, used_len, USED_ALIGN);
	if (!desc || !avail || !used)
		return -1;

	q->desc = (struct virtq_desc *)desc;
	q->avail_flags = (volatile uint16_t *)avail;
	q->avail_idx = (volatile uint16_t *)(avail + 2);
	q->avail_ring = (volatile uint16_t *)(avail + 4);
	q->used_event = q->event_idx ? (volatile uint16_t *)(avail + 4 + 2 * size)
				     : NULL;
	q->used_flags = (volatile uint16_t *)used;
	q->used_idx = (volatile uint16_t *)(used + 2);
	q->used_ring = (struct virtq_used_elem *)(used + 4);
	q->avail_event = q->event_idx ? (volatile uint16_t *)(used + 4 + 8 * size)
				      : NULL;
	q->enabled = true;

	/* ask for a notification at the next buffer the driver adds */
	if (q->avail_event)
		__atomic_store_n(q->avail_event, le16(q->last_avail),
				 __ATOMIC_RELEASE);
	return 0;
}

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

static int set_broken(struct virtq *q, struct virtq_chain *c)
{
	q->broken = true;
	c->n_out = c->n_in = 0;
	c->out_len = c->in_len = 0;
	return -1;
}

/*
 * Appends the buffer of one non-indirect descriptor to the chain.
 * *write_seen tracks the ordering rule (device-readable
 * descriptors before device-writable ones) by flags, so a zero-length
 * readable descriptor after a writable one is refused too, although it
 * adds no iovec.
 */
static int add_buffer(const struct gmem *m, struct virtq_chain *c,
		      const struct virtq_desc *d, bool *write_seen)
{
	bool writable = d->flags & VIRTQ_DESC_F_WRITE;

	if (writable)
		*write_seen = true;
	else if (*write_seen)
		return -1;
	if (d->len == 0)
		return 0;

	unsigned int n = c->n_out + c->n_in;
	if (n >= VIRTQ_MAX_SEGS)
		return -1;
	void *p = gmem_ptr(m, d->addr, d->len);
	if (!p)
		return -1;

	/* "Drivers MUST NOT add a descriptor chain longer than 2^32 bytes in
	 * total"; both sums stay far below overflow with this bound */
	if (c->out_len + c->in_len + d->len > VIRTQ_MAX_CHAIN_BYTES)
		return -1;
	if (writable)
		c->in_len += d->len;
	else
		c->out_len += d->len;

	c->iov[n].iov_base = p;
	c->iov[n].iov_len = d->len;
	if (writable)
		c->n_in++;
	else
		c->n_out++;
	return 0;
}

/*
 * Walks an indirect table: len a non-zero multiple of 16, the
 * table wholly in RAM, no nested INDIRECT, every NEXT inside the table,
 * at most as many descriptors visited as the table holds (no loops).
 */
static int walk_indirect(const struct gmem *m, struct virtq_chain *c,
			 const struct virtq_desc *ind, bool *write_seen)
{
	if (ind->len == 0 || ind->len % sizeof(struct virtq_desc) != 0)
		return -1;
	uint32_t entries = ind->len / sizeof(struct virtq_desc);
	if (entries > VIRTQ_MAX_INDIRECT)
		return -1;
	const uint8_t *table = gmem_ptr(m, ind->addr, ind->len);
	if (!table)
		return -1;

	uint32_t i = 0;
	for (uint32_t count = 0;; count++) {
		struct virtq_desc d;

		if (i >= entries || count >= entries)
			return -1;
		fetch_desc(table + (size_t)i * sizeof(d), &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return -1;
		if (add_buffer(m, c, &d, write_seen) < 0)
			return -1;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

int virtq_pop(struct virtq *q, const struct gmem *m, struct virtq_chain *c)
{
	c->head = 0;
	c->n_out = c->n_in = 0;
	c->out_len = c->in_len = 0;

	if (q->broken)
		return -1;
	if (!q->enabled)
		return 0;

	uint16_t avail = load_avail_idx(q);
	if (avail == q->last_avail) {
		if (!q->avail_event)
			return 0;
		/*
		 * About to report empty: make sure the driver sees avail_event
		 * before we look at avail idx a last time, or a buffer it adds
		 * in between could go unnotified (the driver reads avail_event
		 * after writing avail idx, with a full barrier between).
		 */
		__atomic_store_n(q->avail_event, le16(q->last_avail),
				 __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail = load_avail_idx(q);
		if (avail == q->last_avail)
			return 0;
	}
	if ((uint16_t)(avail - q->last_avail) > q->size)
		return set_broken(q, c);

	uint16_t head = le16(q->avail_ring[q->last_avail & (q->size - 1)]);
	if (head >= q->size)
		return set_broken(q, c);
	c->head = head;

	bool write_seen = false;
	uint16_t i = head;
	for (unsigned int count = 0;; count++) {
		struct virtq_desc d;

		/* a chain can't be longer than the queue: more means a loop */
		if (i >= q->size || count >= q->size)
			return set_broken(q, c);
		fetch_desc(&q->desc[i], &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* never with NEXT (the spec forbids it), so it
			 * ends the chain; its own WRITE flag is ignored */
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return set_broken(q, c);
			if (walk_indirect(m, c, &d, &write_seen) < 0)
				return set_broken(q, c);
			break;
		}
		if (add_buffer(m, c, &d, &write_seen) < 0)
			return set_broken(q, c);
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		i = d.next;
	}

	q->last_avail++;
	if (q->avail_event)
		__atomic_store_n(q->avail_event, le16(q->last_avail),
				 __ATOMIC_RELAXED);
	return 1;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
	if (!q->enabled || head >= q->size)
		return;

	volatile struct virtq_used_elem *e =
		&q->used_ring[q->next_used & (q->size - 1)];
	e->id = le32(head);
	e->len = le32(written);
	q->next_used++;
	/* release: the element is visible before the index that covers it */
	__atomic_store_n(q->used_idx, le16(q->next_used), __ATOMIC_RELEASE);
}

void virtq_push_n(struct virtq *q, const uint16_t *heads, const uint32_t *written,
		  unsigned int n)
{
	if (!q->enabled)
		return;
	for (unsigned int i = 0; i < n; i++) {
		if (heads[i] >= q->size)
			continue;
		volatile struct virtq_used_elem *e =
			&q->used_ring[q->next_used & (q->size - 1)];
		e->id = le32(heads[i]);
		e->len = le32(written[i]);
		q->next_used++;
	}
	/* release: every element is visible before the index that covers them */
	__atomic_store_n(q->used_idx, le16(q->next_used), __ATOMIC_RELEASE);
}

bool virtq_need_interrupt(struct virtq *q)
{
	if (!q->enabled)
		return false;

	uint16_t old_idx = q->signalled_used;
	uint16_t new_idx = q->next_used;
	bool valid = q->signalled_valid;

	/*
	 * Full barrier: our used idx store must be visible to the driver
	 * before we read its used_event / flags, or we could miss the
	 * interrupt it asked for while it reads our old used idx.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	if (new_idx == old_idx)
		return false;           /* nothing pushed since the last call */
	q->signalled_used = new_idx;
	q->signalled_valid = true;

	if (q->used_event) {
		if (!valid)
			return true;
		uint16_t event = le16(*q->used_event);
		return need_event(event, new_idx, old_idx);
	}
	return !(le16(*q->avail_flags) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

uint16_t virtq_pending(const struct virtq *q)
{
	if (!q->enabled || q->broken)
		return 0;
	uint16_t n = (uint16_t)(load_avail_idx(q) - q->last_avail);
	/* a bogus index is caught (and the queue broken) by virtq_pop */
	return n > q->size ? q->size : n;
}

uint64_t virtq_copy_to_chain(const struct virtq_chain *c, uint64_t offset,
			     const void *src, uint64_t len)
{
	const uint8_t *s = src;
	uint64_t done = 0;
	unsigned int end = c->n_out + c->n_in;

	if (end > VIRTQ_MAX_SEGS)
		return 0;
	for (unsigned int i = c->n_out; i < end && done < len; i++) {
		uint64_t l = c->iov[i].iov_len;
		if (offset >= l) {
			offset -= l;
			continue;
		}
		uint64_t n = l - offset;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)c->iov[i].iov_base + offset, s + done, n);
		done += n;
		offset = 0;
	}
	return done;
}

uint64_t virtq_copy_from_chain(const struct virtq_chain *c, uint64_t offset,
			       void *dst, uint64_t len)
{
	uint8_t *d = dst;
	uint64_t done = 0;
	unsigned int end = c->n_out;

	if (end > VIRTQ_MAX_SEGS)
		return 0;
	for (unsigned int i = 0; i < end && done < len; i++) {
		uint64_t l = c->iov[i].iov_len;
		if (offset >= l) {
			offset -= l;
			continue;
		}
		uint64_t n = l - offset;
		if (n > len - done)
			n = len - done;
		memcpy(d + done, (const uint8_t *)c->iov[i].iov_base + offset, n);
		done += n;
		offset = 0;
	}
	return done;
}
