/*
 * smp: brings up every application processor and has each check in.
 *
 * The CPUs come from the ACPI MADT (enabled local APIC entries) or, as a
 * fallback, the MP table.  The real-mode trampoline (lib/trampoline.S) is
 * copied to a free RAM page below 1 MiB; each AP gets INIT, then two
 * STARTUP IPIs naming that page, through the xAPIC ICR.  An AP goes from
 * real mode through protected mode to long mode (lib/entry.S), takes a
 * stack of its own, and in ap_main() atomically claims a slot, records its
 * APIC id and counts itself in; then it halts.
 *
 * Passes when every listed CPU other than the bootstrap processor checked
 * in, each with a listed and distinct APIC id.  Prints "cpus=N".
 *
 * Exit codes: 1 no MADT/MP table, 2 no page for the trampoline, 3 an IPI
 * stayed pending, 4 not every AP checked in in time, 5 an AP reported an
 * unexpected or duplicate APIC id.
 */
#include "lib/guest.h"

const char guest_name[] = "smp";

extern char trampoline_start[], trampoline_end[];
extern void (*volatile ap_entry_fn)(unsigned index);

static struct platform plat;
static volatile uint32_t slots_taken, checked_in;
static volatile uint32_t seen_id[PLAT_MAX_CPUS];

static void ap_main(unsigned index)
{
	(void)index;
	idt_load();
	uint32_t id = lapic_id();
	uint32_t slot = __atomic_fetch_add(&slots_taken, 1, __ATOMIC_SEQ_CST);
	if (slot < PLAT_MAX_CPUS)
		seen_id[slot] = id;
	__atomic_fetch_add(&checked_in, 1, __ATOMIC_SEQ_CST);
	for (;;)
		__asm__ __volatile__("cli; hlt");
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* A RAM page below 1 MiB that holds none of the boot data. */
static uint64_t trampoline_page(const struct hvm_start_info *si)
{
	for (uint64_t p = 0x10000; p < 0x9f000; p += 0x1000) {
		if (memmap_available() && !memmap_is_ram(p, 0x1000))
			continue;
		if (overlaps(p, 0x1000, (uintptr_t)si, sizeof(*si)))
			continue;
		if (si->cmdline_paddr && overlaps(p, 0x1000, si->cmdline_paddr, strlen(cmdline()) + 1))
			continue;
		if (si->version >= 1 && si->memmap_paddr &&
		    overlaps(p, 0x1000, si->memmap_paddr, si->memmap_entries * sizeof(struct hvm_memmap_entry)))
			continue;
		if (si->nr_modules && overlaps(p, 0x1000, si->modlist_paddr, si->nr_modules * 32ull))
			continue;
		return p;
	}
	return 0;
}

int guest_main(const struct hvm_start_info *si)
{
	if (!platform_probe(&plat))
		fail(1, "no CPUs found: neither ACPI MADT nor MP table");
	lapic_init();
	uint32_t bsp = lapic_id();
	printf("smp: %u cpus listed (%s), bsp apic id %u, lapic at %#x\n", plat.ncpus, plat.source,
	       bsp, plat.lapic_addr);
	time_init();

	unsigned expected = 0;
	bool bsp_listed = false;
	for (unsigned i = 0; i < plat.ncpus; i++) {
		if (plat.apic_id[i] == bsp)
			bsp_listed = true;
		else
			expected++;
	}
	if (!bsp_listed)
		printf("smp: warning: bsp apic id %u is not in the table\n", bsp);

	if (expected) {
		uint64_t page = trampoline_page(si);
		size_t size = (size_t)(trampoline_end - trampoline_start);
		if (!page || size > 0x1000)
			fail(2, "no free page below 1 MiB for the AP trampoline");
		memcpy((void *)(uintptr_t)page, trampoline_start, size);
		ap_entry_fn = ap_main;
		mb();
		printf("smp: trampoline at %#lx, starting %u APs\n", (unsigned long)page, expected);

		uint32_t vector = (uint32_t)(page >> 12);
		for (unsigned i = 0; i < plat.ncpus; i++) {
			if (plat.apic_id[i] != bsp && !lapic_send_ipi(plat.apic_id[i], 0x4500))
				fail(3, "INIT IPI to apic id %u stays pending", plat.apic_id[i]);
		}
		mdelay(10);
		for (int round = 0; round < 2; round++) {
			for (unsigned i = 0; i < plat.ncpus; i++) {
				if (plat.apic_id[i] != bsp && !lapic_send_ipi(plat.apic_id[i], 0x4600 | vector))
					fail(3, "STARTUP IPI to apic id %u stays pending", plat.apic_id[i]);
			}
			udelay(200);
		}
		uint64_t t0 = rdtsc(), dl = deadline_ms(3000);
		while (checked_in < expected && !expired(dl))
			cpu_relax();
		uint32_t n = checked_in;
		printf("smp: %u of %u APs checked in after %lu us\n", n, expected,
		       (unsigned long)tsc_to_us(rdtsc() - t0));
		if (n < expected)
			fail(4, "only %u of %u APs checked in", n, expected);
		if (n > PLAT_MAX_CPUS)
			n = PLAT_MAX_CPUS;
		for (unsigned s = 0; s < n; s++) {
			uint32_t id = seen_id[s];
			bool listed = false, dup = (id == bsp);
			for (unsigned i = 0; i < plat.ncpus; i++)
				listed |= plat.apic_id[i] == id;
			for (unsigned t = 0; t < s; t++)
				dup |= seen_id[t] == id;
			printf("smp: ap apic id %u checked in\n", id);
			if (!listed || dup)
				fail(5, "AP reported apic id %u (%s)", id, dup ? "duplicate" : "not listed");
		}
	}
	printf("cpus=%u\n", expected + 1);
	return 0;
}
