/*
 * libFuzzer target for the split virtqueue device side (src/lib/virtq.c).
 *
 * The input is a small header with the queue parameters followed by the
 * guest memory content.  The memory becomes one or two gmem regions, each
 * its own heap allocation of exactly its size, so AddressSanitizer sees
 * any access outside them.  The target enables the queue and pops chains
 * until the ring is empty or the queue breaks, touching every byte of
 * every iovec (reading the readable ones, writing the writable ones,
 * which may well land on the rings themselves, as a hostile guest could
 * arrange), pushing each chain to the used ring and asking whether an
 * interrupt is due.
 *
 * Header (little-endian, HDR_LEN bytes):
 *   0      flags: bit 0 EVENT_IDX, bit 1 two regions, bits 2-3 guest base
 *          (0, 0x1000, 1 MiB, top of the address space), bit 4 raw size,
 *          bit 5 call virtq_reset + re-enable halfway
 *   1      log2 of the queue size (low 4 bits) unless bit 4 of flags
 *   2-3    raw queue size
 *   4-5    descriptor table offset from the base
 *   6-7    available ring offset
 *   8-9    used ring offset
 *   10-11  avail idx, written into the available ring
 *   12-13  initial last_avail / next_used
 *   14-15  split: bytes of memory in the first region (two regions)
 *   16-17  gap between the regions, in 16-byte units
 *   18-19  offset for the copy helpers
 *   20-21  used_event, written into the available ring with EVENT_IDX
 *   22-23  avail flags
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gmem.h"
#include "virtq.h"

#define HDR_LEN 24
#define MAX_MEM (64 * 1024)
#define MAX_POPS 4096

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void wr16(const struct gmem *m, uint64_t gpa, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	gmem_write(m, gpa, b, 2);
}

struct mem {
	struct gmem m;
	uint8_t *buf[2];
	uint64_t len[2];
};

/* every iovec must lie inside one of the regions: check it outright */
static void check_iov(const struct mem *mem, const struct iovec *v)
{
	for (int r = 0; r < 2; r++) {
		const uint8_t *b = mem->buf[r];
		const uint8_t *p = v->iov_base;
		if (b && p >= b && v->iov_len <= mem->len[r] &&
		    (uint64_t)(p - b) <= mem->len[r] - v->iov_len)
			return;
	}
	__builtin_trap();
}

static void check_chain(const struct mem *mem, const struct virtq_chain *c,
			uint16_t size)
{
	uint64_t out = 0, in = 0;

	if (c->head >= size || c->n_out + c->n_in > VIRTQ_MAX_SEGS)
		__builtin_trap();
	for (unsigned int i = 0; i < c->n_out + c->n_in; i++) {
		const struct iovec *v = &c->iov[i];
		if (v->iov_len == 0)
			__builtin_trap();       /* empty descriptors give none */
		check_iov(mem, v);
		if (i < c->n_out)
			out += v->iov_len;
		else
			in += v->iov_len;
	}
	if (out != c->out_len || in != c->in_len || out + in > (1ull << 32))
		__builtin_trap();
}

static void touch_chain(const struct virtq_chain *c)
{
	volatile uint8_t sink = 0;

	for (unsigned int i = 0; i < c->n_out; i++) {
		const uint8_t *p = c->iov[i].iov_base;
		for (size_t j = 0; j < c->iov[i].iov_len; j++)
			sink ^= p[j];
	}
	for (unsigned int i = c->n_out; i < c->n_out + c->n_in; i++)
		memset(c->iov[i].iov_base, 0xa5, c->iov[i].iov_len);
	(void)sink;
}

static void exercise_copies(const struct virtq_chain *c, uint16_t off)
{
	static uint8_t tmp[512];
	uint64_t n;

	n = virtq_copy_from_chain(c, off, tmp, sizeof(tmp));
	if (n > sizeof(tmp) || n > c->out_len)
		__builtin_trap();
	if (off < c->out_len && n != (c->out_len - off < sizeof(tmp) ?
				      c->out_len - off : sizeof(tmp)))
		__builtin_trap();
	n = virtq_copy_to_chain(c, off, tmp, sizeof(tmp));
	if (n > sizeof(tmp) || n > c->in_len)
		__builtin_trap();
	if (off < c->in_len && n != (c->in_len - off < sizeof(tmp) ?
				     c->in_len - off : sizeof(tmp)))
		__builtin_trap();
}

static void run_queue(struct virtq *q, const struct mem *mem, uint16_t copy_off)
{
	static struct virtq_chain c;

	for (int i = 0; i < MAX_POPS; i++) {
		uint16_t pending = virtq_pending(q);
		if (pending > q->size)
			__builtin_trap();
		int r = virtq_pop(q, &mem->m, &c);
		if (r < 0) {
			/* broken stays broken */
			if (!q->broken || virtq_pop(q, &mem->m, &c) != -1 ||
			    c.n_out + c.n_in != 0 || virtq_pending(q) != 0)
				__builtin_trap();
			return;
		}
		if (r == 0)
			return;
		check_chain(mem, &c, q->size);
		touch_chain(&c);
		exercise_copies(&c, copy_off);
		virtq_push(q, c.head, (uint32_t)c.in_len);
		if (i & 1)
			virtq_need_interrupt(q);
	}
	virtq_need_interrupt(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR_LEN + 16)
		return 0;
	const uint8_t *h = data;
	const uint8_t *body = data + HDR_LEN;
	size_t mem_len = size - HDR_LEN;
	if (mem_len > MAX_MEM)
		mem_len = MAX_MEM;

	uint8_t flags = h[0];
	bool event_idx = flags & 1;
	bool two = flags & 2;
	static const uint64_t bases[4] = { 0, 0x1000, 0x100000, 0 };
	uint64_t base = bases[(flags >> 2) & 3];
	if (((flags >> 2) & 3) == 3)     /* highest base that does not wrap */
		base = (UINT64_MAX - MAX_MEM - 0x100000) & ~(uint64_t)0xfff;

	struct mem mem;
	memset(&mem, 0, sizeof(mem));
	uint64_t split = two ? rd16(h + 14) : mem_len;
	if (split == 0 || split >= mem_len)
		two = false, split = mem_len;
	mem.len[0] = split;
	mem.len[1] = mem_len - split;
	for (int r = 0; r < (two ? 2 : 1); r++) {
		/* exact-size allocations so ASan sees the ends */
		mem.buf[r] = malloc(mem.len[r]);
		if (!mem.buf[r])
			goto out;
		memcpy(mem.buf[r], body + (r ? split : 0), mem.len[r]);
	}
	if (gmem_add_region(&mem.m, base, mem.len[0], mem.buf[0]) < 0)
		goto out;
	if (two && gmem_add_region(&mem.m, base + split + 16ull * rd16(h + 16),
				   mem.len[1], mem.buf[1]) < 0)
		goto out;

	struct virtq q;
	virtq_reset(&q);
	q.size = (flags & 0x10) ? rd16(h + 2) : (uint16_t)(1u << (h[1] & 15));
	q.desc_gpa = base + rd16(h + 4);
	q.avail_gpa = base + rd16(h + 6);
	q.used_gpa = base + rd16(h + 8);
	q.event_idx = event_idx;
	q.last_avail = q.next_used = rd16(h + 12);

	/* the driver's side of the parameters, where they land in RAM */
	wr16(&mem.m, q.avail_gpa, rd16(h + 22));
	wr16(&mem.m, q.avail_gpa + 2, rd16(h + 10));
	if (event_idx)
		wr16(&mem.m, q.avail_gpa + 4 + 2ull * q.size, rd16(h + 20));

	if (virtq_enable(&q, &mem.m) < 0) {
		if (q.enabled)
			__builtin_trap();
		goto out;
	}
	run_queue(&q, &mem, rd16(h + 18));

	if (flags & 0x20) {
		/* reset, then serve the same rings again from index 0 */
		struct virtq q2;
		virtq_reset(&q2);
		q2.size = q.size;
		q2.desc_gpa = q.desc_gpa;
		q2.avail_gpa = q.avail_gpa;
		q2.used_gpa = q.used_gpa;
		q2.event_idx = !event_idx;
		virtq_reset(&q);
		if (virtq_pop(&q, &mem.m, &(struct virtq_chain){ 0 }) != 0)
			__builtin_trap();
		if (virtq_enable(&q2, &mem.m) == 0)
			run_queue(&q2, &mem, rd16(h + 18));
	}
out:
	free(mem.buf[0]);
	free(mem.buf[1]);
	return 0;
}
