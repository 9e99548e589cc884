/*
 * e820 map.  Walks the fixed layout from vm.h in address order and
 * appends one entry per range that holds anything for this RAM size;
 * add() drops entries past the caller's max instead of overrunning.
 */
#include "x86/e820.h"

#include "vm.h"

#define FOUR_GIB 0x100000000ULL

struct e820_map {
	struct e820_entry *out;
	unsigned int n, max;
};

static void add(struct e820_map *m, uint64_t start, uint64_t end, uint32_t type)
{
	if (end <= start || m->n >= m->max)
		return;
	m->out[m->n++] = (struct e820_entry){ .addr = start, .size = end - start, .type = type };
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

unsigned int e820_build(const struct vm *vm, struct e820_entry *out, unsigned int max)
{
	struct e820_map m = { out, 0, max };
	uint64_t ram = vm->ram_size;

	add(&m, 0, min_u64(ram, VM_EBDA_START), E820_RAM);
	add(&m, VM_EBDA_START, VM_HIGH_START, E820_RESERVED);
	add(&m, VM_HIGH_START, min_u64(ram, VM_MMIO_GAP_START), E820_RAM);
	if (ram > VM_MMIO_GAP_START)
		add(&m, FOUR_GIB, FOUR_GIB + (ram - VM_MMIO_GAP_START), E820_RAM);
	return m.n;
}
