/*
 * Unit tests for the split virtqueue device side (src/lib/virtq.c).
 *
 * Guest RAM is a malloc'd buffer registered as one gmem region at GPA
 * RAM_BASE; the helpers below play the driver (write descriptors, add
 * heads to the available ring, publish avail idx, read the used ring).
 * Every malformed-ring case must make virtq_pop() return -1 and mark the
 * queue broken; run under AddressSanitizer, any access outside the buffer
 * fails the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "gmem.h"
#include "virtq.h"

#define RAM_BASE 0x100000ull
#define RAM_SIZE (2ull << 20)   /* room for a VIRTQ_MAX_SIZE queue */

/* default layout (offsets from RAM_BASE) for a queue of up to 256 */
#define DESC_OFF 0x0000
#define AVAIL_OFF 0x1000
#define USED_OFF 0x2000
#define IND_OFF 0x4000          /* indirect tables */
#define DATA_OFF 0x10000        /* data buffers */

#define QSIZE 16

struct env {
	uint8_t *ram;
	struct gmem m;
	struct virtq q;
	struct virtq_chain c;
	uint16_t avail;         /* driver's shadow of avail idx */
};

/* ---- driver side helpers ---- */

static uint64_t gpa(uint64_t off)
{
	return RAM_BASE + off;
}

static uint8_t *host(struct env *e, uint64_t off)
{
	return e->ram + off;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void write_desc(uint8_t *table, uint16_t i, uint64_t addr, uint32_t len,
		       uint16_t flags, uint16_t next)
{
	uint8_t *d = table + 16 * (size_t)i;
	put64(d, addr);
	put32(d + 8, len);
	put16(d + 12, flags);
	put16(d + 14, next);
}

/* descriptor i of the queue's own table */
static void set_desc(struct env *e, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	write_desc(host(e, e->q.desc_gpa - RAM_BASE), i, addr, len, flags, next);
}

/* descriptor i of an indirect table at RAM offset `off` */
static void set_ind(struct env *e, uint64_t off, uint16_t i, uint64_t addr,
		    uint32_t len, uint16_t flags, uint16_t next)
{
	write_desc(host(e, off), i, addr, len, flags, next);
}

static uint8_t *avail_ring(struct env *e)
{
	return host(e, e->q.avail_gpa - RAM_BASE);
}

static uint8_t *used_ring(struct env *e)
{
	return host(e, e->q.used_gpa - RAM_BASE);
}

/* add a head to the available ring without publishing it */
static void avail_add(struct env *e, uint16_t head)
{
	put16(avail_ring(e) + 4 + 2 * (e->avail & (e->q.size - 1)), head);
	e->avail++;
}

static void avail_publish(struct env *e)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
	put16(avail_ring(e) + 2, e->avail);
}

static void avail_set_idx(struct env *e, uint16_t idx)
{
	e->avail = idx;
	put16(avail_ring(e) + 2, idx);
}

static void set_avail_flags(struct env *e, uint16_t flags)
{
	put16(avail_ring(e), flags);
}

static void set_used_event(struct env *e, uint16_t v)
{
	put16(avail_ring(e) + 4 + 2 * e->q.size, v);
}

static uint16_t read_avail_event(struct env *e)
{
	return get16(used_ring(e) + 4 + 8 * e->q.size);
}

static uint16_t used_idx(struct env *e)
{
	return get16(used_ring(e) + 2);
}

static void used_elem(struct env *e, uint16_t idx, uint32_t *id, uint32_t *len)
{
	const uint8_t *p = used_ring(e) + 4 + 8 * (idx & (e->q.size - 1));
	*id = get32(p);
	*len = get32(p + 4);
}

static void layout(struct env *e, uint16_t size, bool event_idx)
{
	virtq_reset(&e->q);
	e->q.size = size;
	e->q.desc_gpa = gpa(DESC_OFF);
	e->q.avail_gpa = gpa(AVAIL_OFF);
	e->q.used_gpa = gpa(USED_OFF);
	e->q.event_idx = event_idx;
	e->avail = 0;
}

static void enable(struct env *e, uint16_t size, bool event_idx)
{
	layout(e, size, event_idx);
	assert_int_equal(virtq_enable(&e->q, &e->m), 0);
	assert_true(e->q.enabled);
}

/* the queue must now be broken, and stay so */
static void expect_broken(struct env *e)
{
	uint16_t last = e->q.last_avail;
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), -1);
	assert_true(e->q.broken);
	assert_int_equal(e->c.n_out + e->c.n_in, 0);
	assert_int_equal(e->q.last_avail, last);
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), -1);
	assert_int_equal(virtq_pending(&e->q), 0);
}

/* make one chain available, headed by desc `head`, and expect it broken */
static void publish_and_expect_broken(struct env *e, uint16_t head)
{
	avail_add(e, head);
	avail_publish(e);
	expect_broken(e);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	if (!e)
		return -1;
	e->ram = aligned_alloc(4096, RAM_SIZE);
	if (!e->ram) {
		free(e);
		return -1;
	}
	memset(e->ram, 0, RAM_SIZE);
	if (gmem_add_region(&e->m, RAM_BASE, RAM_SIZE, e->ram) < 0)
		return -1;
	enable(e, QSIZE, false);
	*state = e;
	return 0;
}

static int setup_event_idx(void **state)
{
	if (setup(state) < 0)
		return -1;
	struct env *e = *state;
	enable(e, QSIZE, true);
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	free(e->ram);
	free(e);
	return 0;
}

/* ---- enable ---- */

static void test_enable_size(void **state)
{
	struct env *e = *state;
	static const uint16_t bad[] = { 0, 3, 6, 12, 100, 0x8001, 0xc000, 0xffff };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		layout(e, bad[i], false);
		assert_int_equal(virtq_enable(&e->q, &e->m), -1);
		assert_false(e->q.enabled);
		assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 0);
	}
	static const uint16_t good[] = { 1, 2, 4, 128, 256 };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		enable(e, good[i], true);

	/* the largest queue, laid out back to back */
	layout(e, VIRTQ_MAX_SIZE, true);
	e->q.desc_gpa = gpa(0);
	e->q.avail_gpa = gpa(16 * VIRTQ_MAX_SIZE);
	e->q.used_gpa = gpa(16 * VIRTQ_MAX_SIZE + 0x20000);
	assert_int_equal(virtq_enable(&e->q, &e->m), 0);
	/* same, with the used ring running off the end of RAM */
	e->q.used_gpa = gpa(RAM_SIZE - 8 * VIRTQ_MAX_SIZE);
	assert_int_equal(virtq_enable(&e->q, &e->m), -1);
	assert_false(e->q.enabled);
}

static void test_enable_alignment(void **state)
{
	struct env *e = *state;

	layout(e, QSIZE, false);
	e->q.desc_gpa += 8;
	assert_int_equal(virtq_enable(&e->q, &e->m), -1);
	layout(e, QSIZE, false);
	e->q.desc_gpa += 1;
	assert_int_equal(virtq_enable(&e->q, &e->m), -1);
	layout(e, QSIZE, false);
	e->q.avail_gpa += 1;
	assert_int_equal(virtq_enable(&e->q, &e->m), -1);
	layout(e, QSIZE, false);
	e->q.used_gpa += 2;
	assert_int_equal(virtq_enable(&e->q, &e->m), -1);
	layout(e, QSIZE, false);
	e->q.used_gpa += 1;
	assert_int_equal(virtq_enable(&e->q, &e->m), -1);

	/* smallest legal alignments */
	layout(e, QSIZE, false);
	e->q.desc_gpa += 16;
	e->q.avail_gpa += 2;
	e->q.used_gpa += 4;
	assert_int_equal(virtq_enable(&e->q, &e->m), 0);
	assert_true(e->q.enabled);
}

static void test_enable_host_alignment(void **state)
{
	struct env *e = *state;
	struct gmem m = { 0 };

	/* guest-aligned rings whose host mapping is not aligned */
	assert_int_equal(gmem_add_region(&m, RAM_BASE, RAM_SIZE - 64, e->ram + 1), 0);
	layout(e, QSIZE, false);
	assert_int_equal(virtq_enable(&e->q, &m), -1);
	assert_false(e->q.enabled);

	/* a descriptor table whose host mapping is aligned, at an
	 * unaligned guest address: refused all the same */
	memset(&m, 0, sizeof(m));
	assert_int_equal(gmem_add_region(&m, RAM_BASE + 8, RAM_SIZE, e->ram), 0);
	layout(e, QSIZE, false);
	e->q.desc_gpa += 8;
	e->q.avail_gpa += 8;
	e->q.used_gpa += 8;
	assert_int_equal(virtq_enable(&e->q, &m), -1);
	assert_false(e->q.enabled);
}

static void test_enable_outside_ram(void **state)
{
	struct env *e = *state;
	uint64_t end = RAM_BASE + RAM_SIZE;

	/* wholly outside */
	layout(e, QSIZE, false);
	e->q.desc_gpa = 0;
	assert_int_equal(virtq_enable(&e->q, &e->m), -1);
	layout(e, QSIZE, false);
	e->q.avail_gpa = end;
	assert_int_equal(virtq_enable(&e->q, &e->m), -1);
	layout(e, QSIZE, false);
	e->q.used_gpa = UINT64_MAX - 3;
	assert_int_equal(virtq_enable(&e->q, &e->m), -1);
	layout(e, QSIZE, false);
	e->q.desc_gpa = UINT64_MAX - 15;   /* 16-aligned, end wraps */
	assert_int_equal(virtq_enable(&e->q, &e->m), -1);

	/* partly outside, at either end */
	layout(e, QSIZE, false);
	e->q.desc_gpa = end - 16 * QSIZE + 16;
	assert_int_equal(virtq_enable(&e->q, &e->m), -1);
	layout(e, QSIZE, false);
	e->q.desc_gpa = RAM_BASE - 16;
	assert_int_equal(virtq_enable(&e->q, &e->m), -1);

	/* exactly at the end: fits */
	layout(e, QSIZE, false);
	e->q.desc_gpa = end - 16 * QSIZE;
	e->q.avail_gpa = end - 16 * QSIZE - (4 + 2 * QSIZE);
	e->q.used_gpa = end - 16 * QSIZE - 0x1000;
	assert_int_equal(virtq_enable(&e->q, &e->m), 0);

	/* used_event / avail_event take 2 more bytes with EVENT_IDX */
	layout(e, QSIZE, true);
	e->q.avail_gpa = end - (4 + 2 * QSIZE);
	assert_int_equal(virtq_enable(&e->q, &e->m), -1);
	e->q.avail_gpa = end - (6 + 2 * QSIZE);
	assert_int_equal(virtq_enable(&e->q, &e->m), 0);
	layout(e, QSIZE, false);
	e->q.used_gpa = end - (4 + 8 * QSIZE);
	assert_int_equal(virtq_enable(&e->q, &e->m), 0);
	layout(e, QSIZE, true);
	e->q.used_gpa = end - (4 + 8 * QSIZE);
	assert_int_equal(virtq_enable(&e->q, &e->m), -1);
	e->q.used_gpa = end - (8 + 8 * QSIZE);
	assert_int_equal(virtq_enable(&e->q, &e->m), 0);
}

/* ---- well-formed chains ---- */

static void test_empty(void **state)
{
	struct env *e = *state;

	assert_int_equal(virtq_pending(&e->q), 0);
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 0);
	assert_false(e->q.broken);
	/* added but not published: still empty */
	set_desc(e, 0, gpa(DATA_OFF), 16, 0, 0);
	avail_add(e, 0);
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 0);
	avail_publish(e);
	assert_int_equal(virtq_pending(&e->q), 1);
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
}

static void test_simple_chain(void **state)
{
	struct env *e = *state;

	set_desc(e, 5, gpa(DATA_OFF), 100, 0, 0);
	avail_add(e, 5);
	avail_publish(e);

	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
	assert_int_equal(e->c.head, 5);
	assert_int_equal(e->c.n_out, 1);
	assert_int_equal(e->c.n_in, 0);
	assert_int_equal(e->c.out_len, 100);
	assert_int_equal(e->c.in_len, 0);
	assert_ptr_equal(e->c.iov[0].iov_base, host(e, DATA_OFF));
	assert_int_equal(e->c.iov[0].iov_len, 100);
	assert_int_equal(e->q.last_avail, 1);
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 0);

	virtq_push(&e->q, 5, 0);
	assert_int_equal(used_idx(e), 1);
	uint32_t id, len;
	used_elem(e, 0, &id, &len);
	assert_int_equal(id, 5);
	assert_int_equal(len, 0);
}

static void test_readable_writable_split(void **state)
{
	struct env *e = *state;

	/* out 16 + 32, in 64 + 1; chain order 2 -> 7 -> 0 -> 15 */
	set_desc(e, 2, gpa(DATA_OFF), 16, VIRTQ_DESC_F_NEXT, 7);
	set_desc(e, 7, gpa(DATA_OFF + 0x100), 32, VIRTQ_DESC_F_NEXT, 0);
	set_desc(e, 0, gpa(DATA_OFF + 0x200), 64,
		 VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 15);
	set_desc(e, 15, gpa(DATA_OFF + 0x300), 1, VIRTQ_DESC_F_WRITE, 3);
	avail_add(e, 2);
	/* a second chain: writable only */
	set_desc(e, 9, gpa(DATA_OFF + 0x400), 8, VIRTQ_DESC_F_WRITE, 0);
	avail_add(e, 9);
	avail_publish(e);
	assert_int_equal(virtq_pending(&e->q), 2);

	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
	assert_int_equal(e->c.head, 2);
	assert_int_equal(e->c.n_out, 2);
	assert_int_equal(e->c.n_in, 2);
	assert_int_equal(e->c.out_len, 48);
	assert_int_equal(e->c.in_len, 65);
	assert_ptr_equal(e->c.iov[0].iov_base, host(e, DATA_OFF));
	assert_ptr_equal(e->c.iov[1].iov_base, host(e, DATA_OFF + 0x100));
	assert_ptr_equal(e->c.iov[2].iov_base, host(e, DATA_OFF + 0x200));
	assert_ptr_equal(e->c.iov[3].iov_base, host(e, DATA_OFF + 0x300));
	assert_int_equal(e->c.iov[3].iov_len, 1);
	assert_int_equal(virtq_pending(&e->q), 1);

	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
	assert_int_equal(e->c.head, 9);
	assert_int_equal(e->c.n_out, 0);
	assert_int_equal(e->c.n_in, 1);
	assert_int_equal(e->c.in_len, 8);
	assert_int_equal(virtq_pending(&e->q), 0);

	/* completions out of order */
	virtq_push(&e->q, 9, 8);
	virtq_push(&e->q, 2, 65);
	assert_int_equal(used_idx(e), 2);
	uint32_t id, len;
	used_elem(e, 0, &id, &len);
	assert_int_equal(id, 9);
	assert_int_equal(len, 8);
	used_elem(e, 1, &id, &len);
	assert_int_equal(id, 2);
	assert_int_equal(len, 65);
}

static void test_zero_length(void **state)
{
	struct env *e = *state;

	/* zero-length descriptors give no iovec, wherever they point */
	set_desc(e, 0, gpa(DATA_OFF), 0, VIRTQ_DESC_F_NEXT, 1);
	set_desc(e, 1, gpa(DATA_OFF), 4, VIRTQ_DESC_F_NEXT, 2);
	set_desc(e, 2, 0xdead0000ull, 0, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
	set_desc(e, 3, gpa(DATA_OFF + 8), 4, VIRTQ_DESC_F_WRITE, 0);
	avail_add(e, 0);
	/* a chain of one empty descriptor */
	set_desc(e, 4, 0, 0, 0, 0);
	avail_add(e, 4);
	avail_publish(e);

	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
	assert_int_equal(e->c.n_out, 1);
	assert_int_equal(e->c.n_in, 1);
	assert_int_equal(e->c.out_len, 4);
	assert_int_equal(e->c.in_len, 4);
	assert_ptr_equal(e->c.iov[1].iov_base, host(e, DATA_OFF + 8));

	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
	assert_int_equal(e->c.head, 4);
	assert_int_equal(e->c.n_out + e->c.n_in, 0);
	assert_int_equal(e->c.out_len + e->c.in_len, 0);
}

static void test_full_length_chain(void **state)
{
	struct env *e = *state;

	/* a chain using every descriptor of the queue is legal */
	for (uint16_t i = 0; i < QSIZE; i++)
		set_desc(e, i, gpa(DATA_OFF + 16 * i), 16,
			 i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	avail_add(e, 0);
	avail_publish(e);
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
	assert_int_equal(e->c.n_out, QSIZE);
	assert_int_equal(e->c.out_len, 16 * QSIZE);
}

static void test_indirect(void **state)
{
	struct env *e = *state;

	/* table of 4: 0 (out) -> 3 (out) -> 1 (in) -> 2 (in) */
	set_ind(e, IND_OFF, 0, gpa(DATA_OFF), 10, VIRTQ_DESC_F_NEXT, 3);
	set_ind(e, IND_OFF, 3, gpa(DATA_OFF + 0x100), 20, VIRTQ_DESC_F_NEXT, 1);
	set_ind(e, IND_OFF, 1, gpa(DATA_OFF + 0x200), 30,
		VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	set_ind(e, IND_OFF, 2, gpa(DATA_OFF + 0x300), 40, VIRTQ_DESC_F_WRITE, 0);
	/* the WRITE flag of the indirect descriptor itself is ignored */
	set_desc(e, 6, gpa(IND_OFF), 64, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	avail_add(e, 6);
	avail_publish(e);

	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
	assert_int_equal(e->c.head, 6);
	assert_int_equal(e->c.n_out, 2);
	assert_int_equal(e->c.n_in, 2);
	assert_int_equal(e->c.out_len, 30);
	assert_int_equal(e->c.in_len, 70);
	assert_ptr_equal(e->c.iov[0].iov_base, host(e, DATA_OFF));
	assert_ptr_equal(e->c.iov[1].iov_base, host(e, DATA_OFF + 0x100));
	assert_ptr_equal(e->c.iov[2].iov_base, host(e, DATA_OFF + 0x200));
	assert_ptr_equal(e->c.iov[3].iov_base, host(e, DATA_OFF + 0x300));
}

static void test_indirect_after_direct(void **state)
{
	struct env *e = *state;

	/* direct readable header, then an indirect table ends the chain;
	 * the table is unaligned (the spec sets no alignment for it) */
	set_ind(e, IND_OFF + 3, 0, gpa(DATA_OFF + 0x100), 8, VIRTQ_DESC_F_NEXT, 1);
	set_ind(e, IND_OFF + 3, 1, gpa(DATA_OFF + 0x200), 8, VIRTQ_DESC_F_WRITE, 0);
	set_desc(e, 0, gpa(DATA_OFF), 4, VIRTQ_DESC_F_NEXT, 1);
	set_desc(e, 1, gpa(IND_OFF + 3), 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(e, 0);
	avail_publish(e);

	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
	assert_int_equal(e->c.n_out, 2);
	assert_int_equal(e->c.n_in, 1);
	assert_int_equal(e->c.out_len, 12);
	assert_int_equal(e->c.in_len, 8);
}

/* an indirect table of n one-byte buffers chained in order; entry
 * `zero` (if < n) has length 0 */
static uint64_t fill_table(struct env *e, uint64_t off, unsigned int n,
			   unsigned int zero)
{
	for (unsigned int i = 0; i < n; i++)
		set_ind(e, off, (uint16_t)i, gpa(DATA_OFF + i), i == zero ? 0 : 1,
			i + 1 < n ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	return off + 16 * (uint64_t)n;
}

static void test_max_segs(void **state)
{
	struct env *e = *state;
	const unsigned int max = VIRTQ_MAX_SEGS;

	/* exactly VIRTQ_MAX_SEGS buffers through an indirect table: fine */
	uint64_t t1 = 0x40000;   /* 3 tables of ~16 KiB */
	uint64_t t2 = fill_table(e, t1, max, max);
	uint64_t t3 = fill_table(e, t2, max + 1, 5);   /* one empty: fine */
	fill_table(e, t3, max + 1, max + 1);           /* one too many */
	set_desc(e, 0, gpa(t1), 16 * max, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(e, 1, gpa(t2), 16 * (max + 1), VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(e, 2, gpa(t3), 16 * (max + 1), VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(e, 0);
	avail_add(e, 1);
	avail_add(e, 2);
	avail_publish(e);

	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
	assert_int_equal(e->c.n_out, max);
	assert_int_equal(e->c.out_len, max);
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
	assert_int_equal(e->c.n_out, max);
	assert_int_equal(e->c.out_len, max);
	expect_broken(e);
}

static void test_max_segs_direct(void **state)
{
	struct env *e = *state;
	const unsigned int max = VIRTQ_MAX_SEGS;

	/* a 2048-entry queue: a direct chain of max + 1 buffers breaks it */
	layout(e, 2 * max, false);
	e->q.desc_gpa = gpa(0x20000);
	e->q.avail_gpa = gpa(0x30000);
	e->q.used_gpa = gpa(0x40000);
	assert_int_equal(virtq_enable(&e->q, &e->m), 0);
	for (unsigned int i = 0; i <= max; i++)
		set_desc(e, (uint16_t)i, gpa(DATA_OFF + i), 1,
			 i < max ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	publish_and_expect_broken(e, 0);
}

/* ---- malformed rings: each must break the queue ---- */

static void test_bad_avail_idx(void **state)
{
	struct env *e = *state;

	set_desc(e, 0, gpa(DATA_OFF), 1, 0, 0);
	for (int i = 0; i < QSIZE; i++)
		avail_add(e, 0);
	avail_publish(e);
	assert_int_equal(virtq_pending(&e->q), QSIZE);
	/* exactly size ahead is fine; one more is not */
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
	avail_add(e, 0);
	avail_add(e, 0);
	avail_publish(e);
	assert_int_equal(virtq_pending(&e->q), QSIZE);  /* clamped */
	expect_broken(e);
}

static void test_bad_avail_idx_behind(void **state)
{
	struct env *e = *state;

	/* the driver moving avail idx backwards looks like 65535 ahead */
	avail_set_idx(e, 0xffff);
	expect_broken(e);
}

static void test_bad_head(void **state)
{
	struct env *e = *state;
	publish_and_expect_broken(e, QSIZE);
}

static void test_bad_head_large(void **state)
{
	struct env *e = *state;
	publish_and_expect_broken(e, 0xffff);
}

static void test_bad_next(void **state)
{
	struct env *e = *state;
	set_desc(e, 0, gpa(DATA_OFF), 1, VIRTQ_DESC_F_NEXT, QSIZE);
	publish_and_expect_broken(e, 0);
}

static void test_loop(void **state)
{
	struct env *e = *state;
	set_desc(e, 0, gpa(DATA_OFF), 1, VIRTQ_DESC_F_NEXT, 1);
	set_desc(e, 1, gpa(DATA_OFF), 1, VIRTQ_DESC_F_NEXT, 2);
	set_desc(e, 2, gpa(DATA_OFF), 1, VIRTQ_DESC_F_NEXT, 0);
	publish_and_expect_broken(e, 0);
}

static void test_self_loop_zero_len(void **state)
{
	struct env *e = *state;
	/* zero-length descriptors produce no iovec but still count */
	set_desc(e, 3, 0, 0, VIRTQ_DESC_F_NEXT, 3);
	publish_and_expect_broken(e, 3);
}

static void test_read_after_write(void **state)
{
	struct env *e = *state;
	set_desc(e, 0, gpa(DATA_OFF), 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(e, 1, gpa(DATA_OFF + 4), 4, 0, 0);
	publish_and_expect_broken(e, 0);
}

static void test_read_after_write_zero_len(void **state)
{
	struct env *e = *state;
	set_desc(e, 0, gpa(DATA_OFF), 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(e, 1, gpa(DATA_OFF + 4), 0, 0, 0);
	publish_and_expect_broken(e, 0);
}

static void test_read_after_write_into_indirect(void **state)
{
	struct env *e = *state;
	set_ind(e, IND_OFF, 0, gpa(DATA_OFF), 4, 0, 0);
	set_desc(e, 0, gpa(DATA_OFF), 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(e, 1, gpa(IND_OFF), 16, VIRTQ_DESC_F_INDIRECT, 0);
	publish_and_expect_broken(e, 0);
}

static void test_read_after_write_in_indirect(void **state)
{
	struct env *e = *state;
	set_ind(e, IND_OFF, 0, gpa(DATA_OFF), 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_ind(e, IND_OFF, 1, gpa(DATA_OFF), 4, 0, 0);
	set_desc(e, 0, gpa(IND_OFF), 32, VIRTQ_DESC_F_INDIRECT, 0);
	publish_and_expect_broken(e, 0);
}

static void test_buffer_outside_ram(void **state)
{
	struct env *e = *state;
	set_desc(e, 0, 0x1000, 4, 0, 0);
	publish_and_expect_broken(e, 0);
}

static void test_buffer_past_end(void **state)
{
	struct env *e = *state;
	set_desc(e, 0, gpa(DATA_OFF), 4, VIRTQ_DESC_F_NEXT, 1);
	set_desc(e, 1, RAM_BASE + RAM_SIZE - 4, 5, 0, 0);
	publish_and_expect_broken(e, 0);
}

static void test_buffer_before_start(void **state)
{
	struct env *e = *state;
	set_desc(e, 0, RAM_BASE - 1, 2, VIRTQ_DESC_F_WRITE, 0);
	publish_and_expect_broken(e, 0);
}

static void test_buffer_wraps(void **state)
{
	struct env *e = *state;
	set_desc(e, 0, UINT64_MAX - 7, 0x10, 0, 0);
	publish_and_expect_broken(e, 0);
}

static void test_buffer_huge(void **state)
{
	struct env *e = *state;
	set_desc(e, 0, gpa(DATA_OFF), UINT32_MAX, VIRTQ_DESC_F_WRITE, 0);
	publish_and_expect_broken(e, 0);
}

static void test_indirect_len_zero(void **state)
{
	struct env *e = *state;
	set_desc(e, 0, gpa(IND_OFF), 0, VIRTQ_DESC_F_INDIRECT, 0);
	publish_and_expect_broken(e, 0);
}

static void test_indirect_len_not_multiple(void **state)
{
	struct env *e = *state;
	set_ind(e, IND_OFF, 0, gpa(DATA_OFF), 4, 0, 0);
	set_desc(e, 0, gpa(IND_OFF), 24, VIRTQ_DESC_F_INDIRECT, 0);
	publish_and_expect_broken(e, 0);
}

static void test_indirect_len_short(void **state)
{
	struct env *e = *state;
	set_ind(e, IND_OFF, 0, gpa(DATA_OFF), 4, 0, 0);
	set_desc(e, 0, gpa(IND_OFF), 15, VIRTQ_DESC_F_INDIRECT, 0);
	publish_and_expect_broken(e, 0);
}

static void test_indirect_outside_ram(void **state)
{
	struct env *e = *state;
	set_desc(e, 0, 0x2000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	publish_and_expect_broken(e, 0);
}

static void test_indirect_past_end(void **state)
{
	struct env *e = *state;
	/* first entry is in RAM, the second is not */
	uint64_t off = RAM_SIZE - 16;
	set_ind(e, off, 0, gpa(DATA_OFF), 4, VIRTQ_DESC_F_NEXT, 1);
	set_desc(e, 0, gpa(off), 32, VIRTQ_DESC_F_INDIRECT, 0);
	publish_and_expect_broken(e, 0);
}

static void test_indirect_wraps(void **state)
{
	struct env *e = *state;
	set_desc(e, 0, UINT64_MAX - 15, 32, VIRTQ_DESC_F_INDIRECT, 0);
	publish_and_expect_broken(e, 0);
}

static void test_indirect_too_large(void **state)
{
	struct env *e = *state;
	/* in RAM, but more entries than any queue may have */
	set_ind(e, 0x40000, 0, gpa(DATA_OFF), 4, 0, 0);
	set_desc(e, 0, gpa(0x40000), 16 * (VIRTQ_MAX_SIZE + 1), VIRTQ_DESC_F_INDIRECT, 0);
	publish_and_expect_broken(e, 0);
}

static void test_indirect_nested(void **state)
{
	struct env *e = *state;
	set_ind(e, IND_OFF + 0x100, 0, gpa(DATA_OFF), 4, 0, 0);
	set_ind(e, IND_OFF, 0, gpa(DATA_OFF), 4, VIRTQ_DESC_F_NEXT, 1);
	set_ind(e, IND_OFF, 1, gpa(IND_OFF + 0x100), 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(e, 0, gpa(IND_OFF), 32, VIRTQ_DESC_F_INDIRECT, 0);
	publish_and_expect_broken(e, 0);
}

static void test_indirect_with_next(void **state)
{
	struct env *e = *state;
	set_ind(e, IND_OFF, 0, gpa(DATA_OFF), 4, 0, 0);
	set_desc(e, 0, gpa(IND_OFF), 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	set_desc(e, 1, gpa(DATA_OFF), 4, VIRTQ_DESC_F_WRITE, 0);
	publish_and_expect_broken(e, 0);
}

static void test_indirect_next_out_of_table(void **state)
{
	struct env *e = *state;
	/* next 2 in a table of 2 (the memory after it is valid descriptors) */
	set_ind(e, IND_OFF, 0, gpa(DATA_OFF), 4, VIRTQ_DESC_F_NEXT, 2);
	set_ind(e, IND_OFF, 1, gpa(DATA_OFF), 4, 0, 0);
	set_ind(e, IND_OFF, 2, gpa(DATA_OFF), 4, 0, 0);
	set_desc(e, 0, gpa(IND_OFF), 32, VIRTQ_DESC_F_INDIRECT, 0);
	publish_and_expect_broken(e, 0);
}

static void test_indirect_loop_zero_len(void **state)
{
	struct env *e = *state;
	/* no iovecs, so only the loop bound stops it */
	set_ind(e, IND_OFF, 0, 0, 0, VIRTQ_DESC_F_NEXT, 1);
	set_ind(e, IND_OFF, 1, 0, 0, VIRTQ_DESC_F_NEXT, 0);
	set_desc(e, 0, gpa(IND_OFF), 32, VIRTQ_DESC_F_INDIRECT, 0);
	publish_and_expect_broken(e, 0);
}

static void test_indirect_loop(void **state)
{
	struct env *e = *state;
	set_ind(e, IND_OFF, 0, gpa(DATA_OFF), 4, VIRTQ_DESC_F_NEXT, 1);
	set_ind(e, IND_OFF, 1, gpa(DATA_OFF), 0, VIRTQ_DESC_F_NEXT, 0);
	set_desc(e, 0, gpa(IND_OFF), 32, VIRTQ_DESC_F_INDIRECT, 0);
	publish_and_expect_broken(e, 0);
}

static void test_chain_over_4g(void **state)
{
	struct env *e = *state;
	/*
	 * A second, large region, reserved but never touched: pop only
	 * resolves pointers.
	 */
	uint64_t big = 8ull << 30;
	void *p = mmap(NULL, big, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		skip();
	uint64_t base = 1ull << 40;
	assert_int_equal(gmem_add_region(&e->m, base, big, p), 0);

	uint32_t half = 0x80000000u;
	/* exactly 4 GiB (two of 2 GiB) is the spec's limit: allowed */
	set_desc(e, 0, base, half, VIRTQ_DESC_F_NEXT, 1);
	set_desc(e, 1, base + half, half, VIRTQ_DESC_F_WRITE, 0);
	avail_add(e, 0);
	/* 4 GiB + 1 */
	set_desc(e, 2, base, half, VIRTQ_DESC_F_NEXT, 3);
	set_desc(e, 3, base + half, half, VIRTQ_DESC_F_NEXT, 4);
	set_desc(e, 4, gpa(DATA_OFF), 1, 0, 0);
	avail_add(e, 2);
	avail_publish(e);

	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
	assert_int_equal(e->c.out_len, half);
	assert_int_equal(e->c.in_len, half);
	expect_broken(e);
	munmap(p, big);
}

static void test_broken_until_reset(void **state)
{
	struct env *e = *state;

	publish_and_expect_broken(e, QSIZE);
	/* a good chain now behind it does not help */
	set_desc(e, 0, gpa(DATA_OFF), 4, 0, 0);
	avail_add(e, 0);
	avail_publish(e);
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), -1);

	virtq_reset(&e->q);
	assert_false(e->q.broken);
	assert_false(e->q.enabled);
	memset(e->ram, 0, 0x10000);
	enable(e, QSIZE, false);
	set_desc(e, 0, gpa(DATA_OFF), 4, 0, 0);
	avail_add(e, 0);
	avail_publish(e);
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
}

/* ---- indices, notifications ---- */

static void wraparound(struct env *e, uint16_t size, uint16_t start)
{
	const uint16_t per_round = size < 10 ? size : 10;

	layout(e, size, true);
	e->q.last_avail = start;
	e->q.next_used = start;
	put16(used_ring(e) + 2, start);
	assert_int_equal(virtq_enable(&e->q, &e->m), 0);
	assert_int_equal(read_avail_event(e), start);
	avail_set_idx(e, start);

	for (int round = 0; round < 3; round++) {
		/* the rounds cross 65535 -> 0 */
		for (uint16_t i = 0; i < per_round; i++) {
			set_desc(e, i, gpa(DATA_OFF + i), 1, 0, 0);
			avail_add(e, i);
		}
		avail_publish(e);
		assert_int_equal(virtq_pending(&e->q), per_round);
		for (uint16_t i = 0; i < per_round; i++) {
			assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
			assert_int_equal(e->c.head, i);
			assert_ptr_equal(e->c.iov[0].iov_base, host(e, DATA_OFF + i));
			assert_int_equal(read_avail_event(e), e->q.last_avail);
		}
		assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 0);
		for (uint16_t i = 0; i < per_round; i++) {
			uint16_t at = e->q.next_used;
			virtq_push(&e->q, i, 100u + i);
			assert_int_equal(used_idx(e), (uint16_t)(at + 1));
			uint32_t id, len;
			used_elem(e, at, &id, &len);
			assert_int_equal(id, i);
			assert_int_equal(len, 100u + i);
		}
	}
	assert_int_equal(e->q.last_avail, (uint16_t)(start + 3 * per_round));
	assert_int_equal(used_idx(e), (uint16_t)(start + 3 * per_round));
	assert_false(e->q.broken);
}

static void test_wraparound(void **state)
{
	struct env *e = *state;
	wraparound(e, QSIZE, 65533);
}

static void test_wraparound_small(void **state)
{
	struct env *e = *state;
	wraparound(e, 4, 65531);
	wraparound(e, 1, 65534);
}

static void test_wraparound_too_far(void **state)
{
	struct env *e = *state;

	layout(e, QSIZE, false);
	e->q.last_avail = 65530;
	assert_int_equal(virtq_enable(&e->q, &e->m), 0);
	set_desc(e, 0, gpa(DATA_OFF), 1, 0, 0);
	avail_set_idx(e, (uint16_t)(65530 + QSIZE));
	assert_int_equal(virtq_pending(&e->q), QSIZE);
	avail_set_idx(e, (uint16_t)(65530 + QSIZE + 1));
	expect_broken(e);
}

static void push_n(struct env *e, int n)
{
	for (int i = 0; i < n; i++)
		virtq_push(&e->q, 0, 0);
}

static void test_no_interrupt_flag(void **state)
{
	struct env *e = *state;

	assert_false(virtq_need_interrupt(&e->q));  /* nothing pushed */
	push_n(e, 1);
	assert_true(virtq_need_interrupt(&e->q));
	assert_false(virtq_need_interrupt(&e->q));  /* nothing new */

	set_avail_flags(e, VIRTQ_AVAIL_F_NO_INTERRUPT);
	push_n(e, 2);
	assert_false(virtq_need_interrupt(&e->q));
	set_avail_flags(e, 0);
	assert_false(virtq_need_interrupt(&e->q));  /* nothing new */
	push_n(e, 1);
	assert_true(virtq_need_interrupt(&e->q));
}

static void test_event_idx_interrupts(void **state)
{
	struct env *e = *state;

	/* the flag is ignored with EVENT_IDX */
	set_avail_flags(e, VIRTQ_AVAIL_F_NO_INTERRUPT);
	set_used_event(e, 100);
	assert_false(virtq_need_interrupt(&e->q));  /* nothing pushed */
	/* the first interrupt after enable is always sent: there is no
	 * previous index to compare used_event with */
	push_n(e, 1);
	assert_true(virtq_need_interrupt(&e->q));

	set_used_event(e, 5);               /* "interrupt when 6th is used" */
	push_n(e, 2);                       /* 1 -> 3 */
	assert_false(virtq_need_interrupt(&e->q));
	push_n(e, 2);                       /* 3 -> 5 */
	assert_false(virtq_need_interrupt(&e->q));
	push_n(e, 1);                       /* 5 -> 6: passes 5 */
	assert_true(virtq_need_interrupt(&e->q));
	push_n(e, 1);                       /* 6 -> 7: event stale */
	assert_false(virtq_need_interrupt(&e->q));

	set_used_event(e, 8);
	push_n(e, 5);                       /* 7 -> 12 covers 8 */
	assert_true(virtq_need_interrupt(&e->q));

	/* event behind, as a driver with callbacks disabled leaves it */
	set_used_event(e, 2);
	push_n(e, 3);
	assert_false(virtq_need_interrupt(&e->q));
}

static void test_event_idx_wrap(void **state)
{
	struct env *e = *state;

	layout(e, QSIZE, true);
	e->q.next_used = 65530;
	set_used_event(e, 100);             /* not in 65530..65531 */
	assert_int_equal(virtq_enable(&e->q, &e->m), 0);
	push_n(e, 1);                       /* first call: always */
	assert_true(virtq_need_interrupt(&e->q));
	set_used_event(e, 1);               /* wants the one after idx 1 */
	push_n(e, 6);                       /* 65531 -> 1 */
	assert_false(virtq_need_interrupt(&e->q));
	push_n(e, 1);                       /* 1 -> 2 */
	assert_true(virtq_need_interrupt(&e->q));
	set_used_event(e, 65535);
	push_n(e, 3);                       /* 2 -> 5: event far behind */
	assert_false(virtq_need_interrupt(&e->q));
}

static void test_avail_event(void **state)
{
	struct env *e = *state;

	assert_int_equal(read_avail_event(e), 0);
	for (uint16_t i = 0; i < 3; i++) {
		set_desc(e, i, gpa(DATA_OFF), 1, 0, 0);
		avail_add(e, i);
	}
	avail_publish(e);
	assert_int_equal(read_avail_event(e), 0);
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
	assert_int_equal(read_avail_event(e), 1);
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
	assert_int_equal(read_avail_event(e), 3);
	/* an empty pop (re)writes it too */
	put16(used_ring(e) + 4 + 8 * QSIZE, 0x1234);
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 0);
	assert_int_equal(read_avail_event(e), 3);
}

/* ---- copy helpers ---- */

static void test_copy_helpers(void **state)
{
	struct env *e = *state;
	uint8_t *d = host(e, DATA_OFF);

	for (int i = 0; i < 0x100; i++)
		d[i] = (uint8_t)i;
	/* out: [0..3) [0x10..0x15) [0x20..0x27) ; in: 4 + 0 + 4 + 4 at 0x80.. */
	set_desc(e, 0, gpa(DATA_OFF), 3, VIRTQ_DESC_F_NEXT, 1);
	set_desc(e, 1, gpa(DATA_OFF + 0x10), 5, VIRTQ_DESC_F_NEXT, 2);
	set_desc(e, 2, gpa(DATA_OFF + 0x20), 7, VIRTQ_DESC_F_NEXT, 3);
	set_desc(e, 3, gpa(DATA_OFF + 0x80), 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 4);
	set_desc(e, 4, gpa(DATA_OFF + 0x88), 0, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 5);
	set_desc(e, 5, gpa(DATA_OFF + 0x90), 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 6);
	set_desc(e, 6, gpa(DATA_OFF + 0xa0), 4, VIRTQ_DESC_F_WRITE, 0);
	avail_add(e, 0);
	avail_publish(e);
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
	assert_int_equal(e->c.n_out, 3);
	assert_int_equal(e->c.n_in, 3);

	uint8_t buf[32];
	static const uint8_t all[15] = { 0, 1, 2, 0x10, 0x11, 0x12, 0x13, 0x14,
					 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26 };
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(virtq_copy_from_chain(&e->c, 0, buf, sizeof(buf)), 15);
	assert_memory_equal(buf, all, 15);
	assert_int_equal(buf[15], 0xee);
	/* from inside the first iovec across two boundaries */
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(virtq_copy_from_chain(&e->c, 2, buf, 8), 8);
	assert_memory_equal(buf, all + 2, 8);
	assert_int_equal(buf[8], 0xee);
	/* starting exactly on a boundary */
	assert_int_equal(virtq_copy_from_chain(&e->c, 8, buf, 3), 3);
	assert_memory_equal(buf, all + 8, 3);
	/* offset at / past the end */
	assert_int_equal(virtq_copy_from_chain(&e->c, 15, buf, 1), 0);
	assert_int_equal(virtq_copy_from_chain(&e->c, 1000, buf, 1), 0);
	assert_int_equal(virtq_copy_from_chain(&e->c, 14, buf, 10), 1);
	assert_int_equal(buf[0], 0x26);
	assert_int_equal(virtq_copy_from_chain(&e->c, 0, buf, 0), 0);

	/* to the writable part: 12 bytes in 4 + 4 + 4 */
	uint8_t src[16];
	for (int i = 0; i < 16; i++)
		src[i] = (uint8_t)(0xc0 + i);
	assert_int_equal(virtq_copy_to_chain(&e->c, 3, src, 6), 6);
	assert_int_equal(d[0x80 + 2], 0x82);   /* untouched */
	assert_int_equal(d[0x80 + 3], 0xc0);
	assert_int_equal(d[0x90 + 0], 0xc1);
	assert_int_equal(d[0x90 + 3], 0xc4);
	assert_int_equal(d[0xa0 + 0], 0xc5);
	assert_int_equal(d[0xa0 + 1], 0xa1);   /* untouched */
	assert_int_equal(d[0x88], 0x88);       /* zero-length desc: untouched */
	/* clipped at the end */
	assert_int_equal(virtq_copy_to_chain(&e->c, 10, src, 16), 2);
	assert_int_equal(d[0xa0 + 2], 0xc0);
	assert_int_equal(d[0xa0 + 3], 0xc1);
	assert_int_equal(d[0xa0 + 4], 0xa4);   /* past the iovec: untouched */
	assert_int_equal(virtq_copy_to_chain(&e->c, 12, src, 16), 0);
	/* readable buffers are never written */
	assert_memory_equal(d, all, 3);
	assert_int_equal(virtq_copy_to_chain(&e->c, 0, src, 16), 12);
	assert_int_equal(d[0x10], 0x10);
}

static void test_copy_no_segments(void **state)
{
	(void)state;
	struct virtq_chain c = { 0 };
	uint8_t b[4] = { 0 };
	assert_int_equal(virtq_copy_to_chain(&c, 0, b, 4), 0);
	assert_int_equal(virtq_copy_from_chain(&c, 0, b, 4), 0);
}

/* ---- a driver changing the rings while the device reads them ---- */

struct flipper {
	uint8_t *desc;          /* host address of descriptor 0 */
	uint64_t good, bad;     /* buffer addresses */
	volatile int stop;
};

static void *flip_thread(void *arg)
{
	struct flipper *f = arg;
	uint8_t good[16], bad[16];

	/* a valid 16-byte readable buffer / a 1 MiB writable one that runs
	 * off the end of RAM */
	put64(good, f->good);
	put32(good + 8, 16);
	put16(good + 12, 0);
	put16(good + 14, 0);
	put64(bad, f->bad);
	put32(bad + 8, 0x100000);
	put16(bad + 12, VIRTQ_DESC_F_WRITE);
	put16(bad + 14, 0xffff);
	while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
		/* field by field, so the device can see any mix of the two */
		for (int i = 0; i < 16; i += 2) {
			__atomic_store_n((uint16_t *)(f->desc + i),
					 (uint16_t)(bad[i] | bad[i + 1] << 8),
					 __ATOMIC_RELAXED);
		}
		for (int i = 0; i < 16; i += 2) {
			__atomic_store_n((uint16_t *)(f->desc + i),
					 (uint16_t)(good[i] | good[i + 1] << 8),
					 __ATOMIC_RELAXED);
		}
	}
	return NULL;
}

static void test_concurrent_driver(void **state)
{
	struct env *e = *state;
	struct flipper f = {
		.desc = host(e, DESC_OFF),
		.good = gpa(DATA_OFF),
		.bad = RAM_BASE + RAM_SIZE - 0x1000,
	};
	pthread_t t;
	unsigned int ok = 0, broken = 0;

	set_desc(e, 0, f.good, 16, 0, 0);

	assert_int_equal(pthread_create(&t, NULL, flip_thread, &f), 0);
	for (int i = 0; i < 50000; i++) {
		layout(e, QSIZE, false);
		assert_int_equal(virtq_enable(&e->q, &e->m), 0);
		avail_add(e, 0);
		avail_publish(e);
		int r = virtq_pop(&e->q, &e->m, &e->c);
		if (r == 1) {
			/* any mix of the two may be seen (a length mixed to
			 * 0 gives no iovec), but what was checked is what is
			 * used: at most one buffer, in RAM */
			assert_in_range(e->c.n_out + e->c.n_in, 0, 1);
			uint64_t len = e->c.out_len + e->c.in_len;
			if (e->c.n_out + e->c.n_in == 1) {
				uint8_t *p = e->c.iov[0].iov_base;
				assert_int_equal(e->c.iov[0].iov_len, len);
				assert_true(p >= e->ram && len <= RAM_SIZE &&
					    (size_t)(p - e->ram) <= RAM_SIZE - len);
			} else {
				assert_int_equal(len, 0);
			}
			ok++;
		} else {
			assert_int_equal(r, -1);
			broken++;
		}
	}
	__atomic_store_n(&f.stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	assert_int_equal(ok + broken, 50000);
}

/* ---- reset, disabled queue ---- */

static void test_reset(void **state)
{
	struct env *e = *state;

	set_desc(e, 0, gpa(DATA_OFF), 4, 0, 0);
	avail_add(e, 0);
	avail_add(e, 0);
	avail_publish(e);
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
	virtq_push(&e->q, 0, 4);
	assert_true(virtq_need_interrupt(&e->q));

	virtq_reset(&e->q);
	struct virtq zero;
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(&e->q, &zero, sizeof(zero));

	/* a reset queue does nothing and touches nothing */
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 0);
	assert_int_equal(virtq_pending(&e->q), 0);
	virtq_push(&e->q, 0, 1);
	assert_false(virtq_need_interrupt(&e->q));
	assert_int_equal(get16(host(e, USED_OFF) + 2), 1);

	/* re-enabled on fresh rings, it starts from index 0 again */
	memset(e->ram, 0, 0x10000);
	enable(e, QSIZE, false);
	set_desc(e, 3, gpa(DATA_OFF), 4, 0, 0);
	avail_add(e, 3);
	avail_publish(e);
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 1);
	assert_int_equal(e->c.head, 3);
	virtq_push(&e->q, 3, 0);
	assert_int_equal(used_idx(e), 1);
}

static void test_push_bad_head(void **state)
{
	struct env *e = *state;

	virtq_push(&e->q, QSIZE, 1);
	virtq_push(&e->q, 0xffff, 1);
	assert_int_equal(used_idx(e), 0);
	assert_int_equal(e->q.next_used, 0);
}

static void test_failed_enable_is_disabled(void **state)
{
	struct env *e = *state;

	/* a queue that was enabled and is re-enabled with bad rings */
	e->q.used_gpa = 0;
	assert_int_equal(virtq_enable(&e->q, &e->m), -1);
	assert_false(e->q.enabled);
	assert_null(e->q.desc);
	assert_null(e->q.used_idx);
	virtq_push(&e->q, 0, 0);
	assert_int_equal(virtq_pop(&e->q, &e->m, &e->c), 0);
	assert_false(virtq_need_interrupt(&e->q));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TE(f) cmocka_unit_test_setup_teardown(f, setup_event_idx, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_enable_size),
		T(test_enable_alignment),
		T(test_enable_host_alignment),
		T(test_enable_outside_ram),
		T(test_empty),
		T(test_simple_chain),
		T(test_readable_writable_split),
		T(test_zero_length),
		T(test_full_length_chain),
		T(test_indirect),
		T(test_indirect_after_direct),
		T(test_max_segs),
		T(test_max_segs_direct),
		T(test_bad_avail_idx),
		T(test_bad_avail_idx_behind),
		T(test_bad_head),
		T(test_bad_head_large),
		T(test_bad_next),
		T(test_loop),
		T(test_self_loop_zero_len),
		T(test_read_after_write),
		T(test_read_after_write_zero_len),
		T(test_read_after_write_into_indirect),
		T(test_read_after_write_in_indirect),
		T(test_buffer_outside_ram),
		T(test_buffer_past_end),
		T(test_buffer_before_start),
		T(test_buffer_wraps),
		T(test_buffer_huge),
		T(test_indirect_len_zero),
		T(test_indirect_len_not_multiple),
		T(test_indirect_len_short),
		T(test_indirect_outside_ram),
		T(test_indirect_past_end),
		T(test_indirect_wraps),
		T(test_indirect_too_large),
		T(test_indirect_nested),
		T(test_indirect_with_next),
		T(test_indirect_next_out_of_table),
		T(test_indirect_loop),
		T(test_indirect_loop_zero_len),
		T(test_chain_over_4g),
		T(test_broken_until_reset),
		T(test_wraparound),
		T(test_wraparound_small),
		T(test_wraparound_too_far),
		T(test_no_interrupt_flag),
		TE(test_event_idx_interrupts),
		T(test_event_idx_wrap),
		TE(test_avail_event),
		T(test_concurrent_driver),
		T(test_copy_helpers),
		T(test_copy_no_segments),
		T(test_reset),
		T(test_push_bad_head),
		T(test_failed_enable_is_disabled),
	};
	return cmocka_run_group_tests_name("virtq", tests, NULL, NULL);
}
