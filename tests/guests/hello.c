/*
 * hello: the smallest end-to-end check of a PVH boot.  Prints a greeting,
 * the command line and the memory map it was given, sums 1..1000 with a
 * real loop (the bound is volatile so the compiler cannot fold it), and
 * passes if the sum is 500500.
 *
 * Exit codes: 0 pass, 1 wrong sum.
 */
#include "lib/guest.h"

const char guest_name[] = "hello";

int guest_main(const struct hvm_start_info *si)
{
	printf("Hello from vmk test guest\n");
	printf("start_info: version=%u flags=%#x modules=%u rsdp=%#lx\n", si->version, si->flags,
	       si->nr_modules, (unsigned long)si->rsdp_paddr);
	printf("cmdline: %s\n", cmdline());
	if (memmap_available()) {
		const struct hvm_memmap_entry *m = (const void *)(uintptr_t)si->memmap_paddr;
		for (uint32_t i = 0; i < si->memmap_entries; i++)
			if (m[i].size)
				printf("memmap: %#014lx-%#014lx type %u\n", (unsigned long)m[i].addr,
			       (unsigned long)(m[i].addr + m[i].size - 1), m[i].type);
	}
	volatile uint32_t n = 1000;
	uint64_t sum = 0;
	for (uint32_t i = 1; i <= n; i++)
		sum += i;
	printf("sum 1..%u = %lu\n", (unsigned)n, (unsigned long)sum);
	if (sum != 500500)
		fail(1, "sum is %lu, expected 500500", (unsigned long)sum);
	return 0;
}
