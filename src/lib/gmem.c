/*
 * Guest memory map.  See gmem.h: this file is the single place where a
 * guest-physical address becomes a host pointer, so the bounds check here
 * is what keeps a hostile guest inside its own RAM.
 */
#include "gmem.h"

#include <string.h>

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int gmem_add_region(struct gmem *m, uint64_t gpa, uint64_t size, void *hva)
{
	if (m->nr_regions >= GMEM_MAX_REGIONS || size == 0 || gpa + size < gpa)
		return -1;
	for (unsigned int i = 0; i < m->nr_regions; i++)
		if (ranges_overlap(gpa, size, m->region[i].gpa, m->region[i].size))
			return -1;
	m->region[m->nr_regions++] = (struct gmem_region){ gpa, size, hva };
	return 0;
}

void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		len = 1;
	for (unsigned int i = 0; i < m->nr_regions; i++) {
		const struct gmem_region *r = &m->region[i];
		if (gpa < r->gpa)
			continue;
		uint64_t off = gpa - r->gpa;
		/* off < size and len <= size - off, written so nothing overflows */
		if (off < r->size && len <= r->size - off)
			return r->hva + off;
	}
	return NULL;
}

int gmem_read(const struct gmem *m, uint64_t gpa, void *dst, uint64_t len)
{
	const void *src = gmem_ptr(m, gpa, len);
	if (!src)
		return -1;
	memcpy(dst, src, len);
	return 0;
}

int gmem_write(const struct gmem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = gmem_ptr(m, gpa, len);
	if (!dst)
		return -1;
	memcpy(dst, src, len);
	return 0;
}

uint64_t gmem_total(const struct gmem *m)
{
	uint64_t total = 0;
	for (unsigned int i = 0; i < m->nr_regions; i++)
		total += m->region[i].size;
	return total;
}
