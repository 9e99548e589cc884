/*
 * dirty: a memory dirtier for migration tests.
 *
 *   dirty.mb=N       working set in MiB (default 16)
 *   dirty.rate=P     pages written per second (default 1000; 0 = none)
 *   dirty.seconds=S  run time (default 2; 0 = run until stopped)
 *
 * The working set starts at the first 2 MiB boundary above the guest
 * image (and must be RAM in the memory map).  Pages are written in order,
 * wrapping around; pass g (from 1) writes g into the first and the last
 * 64-bit word of each page and the page number into the second.  Before
 * each write the page is checked to still hold what the previous pass
 * wrote, so memory lost or corrupted by a migration is caught (exit 2).
 *
 * Time is cut into one-second slots on the TSC (calibrated against the
 * PIT).  Within a slot, writes follow the elapsed fraction of the slot, at
 * most `rate` per slot; a slot ends with a line
 * "dirty: gen=<pass> pages=<total pages written>".  A jump of the clock
 * (as after migration) just starts the next slot.  Passes after S slots.
 *
 * Exit codes: 1 bad parameters, 2 a page lost its contents, 3 the
 * working set is not RAM.
 */
#include "lib/guest.h"

const char guest_name[] = "dirty";

#define PAGE 4096u
#define TAG 0x64697274ull       /* "dirt" */

static uint64_t base, pages, written;     /* written: total page writes */

static void write_pages(uint64_t n)
{
	for (; n; n--, written++) {
		uint64_t idx = written % pages, gen = written / pages + 1;
		volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)(base + idx * PAGE);
		if (gen > 1) {
			uint64_t a = p[0], b = p[1], c = p[PAGE / 8 - 1];
			if (a != gen - 1 || b != (TAG << 32 | idx) || c != gen - 1)
				fail(2, "page %lu at %#lx holds gen %lu/%lu tag %#lx, expected gen %lu",
				     (unsigned long)idx, (unsigned long)(uintptr_t)p, (unsigned long)a,
				     (unsigned long)c, (unsigned long)b, (unsigned long)(gen - 1));
		}
		p[0] = gen;
		p[1] = TAG << 32 | idx;
		p[PAGE / 8 - 1] = gen;
	}
}

int guest_main(const struct hvm_start_info *si)
{
	(void)si;
	uint64_t mb = cmdline_u64("dirty.mb", 16);
	uint64_t rate = cmdline_u64("dirty.rate", 1000);
	uint64_t seconds = cmdline_u64("dirty.seconds", 2);
	if (mb == 0 || mb > 3072 || rate > 100000000)
		fail(1, "bad parameters: dirty.mb=%lu dirty.rate=%lu", (unsigned long)mb, (unsigned long)rate);

	base = ((uintptr_t)__image_end + 0x1fffff) & ~0x1fffffull;
	uint64_t size = mb << 20;
	if (base + size > 0xc0000000ull)
		fail(3, "working set %#lx+%lu MiB runs into the MMIO hole", (unsigned long)base,
		     (unsigned long)mb);
	if (memmap_available() && !memmap_is_ram(base, size))
		fail(3, "working set %#lx-%#lx is not RAM in the memory map", (unsigned long)base,
		     (unsigned long)(base + size - 1));
	pages = size / PAGE;
	printf("dirty: working set %#lx-%#lx (%lu pages), rate=%lu pages/s, seconds=%lu\n",
	       (unsigned long)base, (unsigned long)(base + size - 1), (unsigned long)pages,
	       (unsigned long)rate, (unsigned long)seconds);
	time_init();

	uint64_t slot = 0;
	uint64_t slot_start = rdtsc(), slot_done = 0;
	for (;;) {
		uint64_t now = rdtsc();
		uint64_t el = now - slot_start;
		if (now < slot_start || el >= tsc_hz) {
			write_pages(rate - slot_done);  /* finish the slot's quota */
			slot++;
			printf("dirty: gen=%lu pages=%lu\n",
			       (unsigned long)(written / pages + (written % pages != 0)),
			       (unsigned long)written);
			if (seconds && slot >= seconds)
				break;
			/* a late slot (clock jump, slow host) is not made up for */
			slot_start = (now >= slot_start && el < 2 * tsc_hz) ? slot_start + tsc_hz : now;
			slot_done = 0;
			continue;
		}
		uint64_t target = el * rate / tsc_hz;
		if (target > slot_done) {
			write_pages(target - slot_done);
			slot_done = target;
		}
		cpu_relax();
	}
	printf("dirty: done, %lu pages written in %lu s\n", (unsigned long)written, (unsigned long)slot);
	return 0;
}
