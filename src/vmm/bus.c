/*
 * I/O buses.  A handful of devices live on each bus, so a linear scan of a
 * small array beats anything cleverer; ranges never overlap.
 */
#include "bus.h"

#include <string.h>

int bus_add(struct bus *b, uint64_t base, uint64_t len, bus_io_fn fn, void *dev)
{
	if (b->nr_ranges >= BUS_MAX_RANGES || len == 0)
		return -1;
	for (unsigned int i = 0; i < b->nr_ranges; i++) {
		const struct bus_range *r = &b->range[i];
		if (base < r->base + r->len && r->base < base + len)
			return -1;
	}
	b->range[b->nr_ranges++] = (struct bus_range){ base, len, fn, dev };
	return 0;
}

bool bus_access(struct bus *b, uint64_t addr, void *data, unsigned int len,
		bool is_write)
{
	for (unsigned int i = 0; i < b->nr_ranges; i++) {
		const struct bus_range *r = &b->range[i];
		if (addr >= r->base && addr - r->base < r->len) {
			r->fn(r->dev, addr - r->base, data, len, is_write);
			return true;
		}
	}
	if (!is_write)
		memset(data, 0xff, len);
	return false;
}
