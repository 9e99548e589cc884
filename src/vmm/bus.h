/*
 * I/O buses: the port-I/O and MMIO address spaces that guest exits land
 * in.  A device claims a range and gets (offset, data, len, direction)
 * for each access inside it.  Handlers run on the vCPU thread that made
 * the access; a device shared between vCPUs locks its own state.
 */
#ifndef VMK_BUS_H
#define VMK_BUS_H

#include <stdbool.h>
#include <stdint.h>

#define BUS_MAX_RANGES 64

typedef void (*bus_io_fn)(void *dev, uint64_t offset, void *data,
			  unsigned int len, bool is_write);

struct bus_range {
	uint64_t base, len;
	bus_io_fn fn;
	void *dev;
};

struct bus {
	const char *name;
	struct bus_range range[BUS_MAX_RANGES];
	unsigned int nr_ranges;
};

/* Claims [base, base+len); -1 if it overlaps a claimed range or the bus is full. */
int bus_add(struct bus *b, uint64_t base, uint64_t len, bus_io_fn fn, void *dev);

/* Dispatches one access; false when no device claims addr (reads then see all ones). */
bool bus_access(struct bus *b, uint64_t addr, void *data, unsigned int len,
		bool is_write);

#endif
