/*
 * Guest memory map: the one way host code reaches guest-physical memory.
 *
 * Guest RAM is a set of regions, each a guest-physical range backed by a
 * host mapping (vmx: a memfd it created; vmkd's vhost-user back end: the
 * fds a front end sent).  Every guest-controlled address goes through
 * gmem_ptr(), which refuses any range that does not lie wholly inside one
 * region.  Nothing else turns a guest address into a host pointer.
 */
#ifndef VMK_GMEM_H
#define VMK_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GMEM_MAX_REGIONS 8

struct gmem_region {
	uint64_t gpa;     /* guest-physical start */
	uint64_t size;    /* bytes */
	uint8_t *hva;     /* host mapping of the whole region */
};

struct gmem {
	struct gmem_region region[GMEM_MAX_REGIONS];
	unsigned int nr_regions;
};

/* Adds a region; fails (-1) if full or if it overlaps an existing one. */
int gmem_add_region(struct gmem *m, uint64_t gpa, uint64_t size, void *hva);

/*
 * Host pointer for guest range [gpa, gpa + len), or NULL when any byte of
 * it is outside guest RAM or the range wraps.  len 0 is treated as 1.
 */
void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len);

/* Bounded copies; return 0, or -1 (nothing copied) if the range is bad. */
int gmem_read(const struct gmem *m, uint64_t gpa, void *dst, uint64_t len);
int gmem_write(const struct gmem *m, uint64_t gpa, const void *src, uint64_t len);

/* Total bytes of RAM in all regions. */
uint64_t gmem_total(const struct gmem *m);

#endif
