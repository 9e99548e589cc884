/*
 * hello: the smallest end-to-end check of a PVH boot.  Prints a greeting,
 * the command line and the memory map it was given, sums 1..1000 with a
 * real loop (the bound is volatile so the compiler cannot fold it), and
 * passes if the sum is 500500.
 *
 * hello.end=reset|poweroff|triplefault ends the run through the i8042
 * reset line, ACPI S5 (vmx's sleep control port) or a triple fault
 * instead of the debug-exit port, to test how the VMM handles each.
 *
 * Exit codes: 0 pass, 1 wrong sum, 2 the requested ending did not happen.
 */
#include "lib/guest.h"

const char guest_name[] = "hello";

#define I8042_COMMAND 0x64
#define I8042_PULSE_RESET 0xfe
#define VMX_ACPI_SLEEP_CONTROL 0x600
#define ACPI_SLP_TYP_S5_EN ((5 << 2) | (1 << 5))

static bool end_is(const char *how)
{
	const char *v;
	size_t len;
	return cmdline_find("hello.end", 0, &v, &len) && len == strlen(how) &&
	       strncmp(v, how, len) == 0;
}

static void end_as_requested(void)
{
	if (end_is("reset")) {
		printf("hello: resetting through the i8042\n");
		outb(I8042_COMMAND, I8042_PULSE_RESET);
	} else if (end_is("poweroff")) {
		printf("hello: powering off through ACPI S5\n");
		outb(VMX_ACPI_SLEEP_CONTROL, ACPI_SLP_TYP_S5_EN);
	} else if (end_is("triplefault")) {
		printf("hello: triple fault\n");
		static const struct { uint16_t limit; uint64_t base; } __attribute__((packed)) empty = { 0, 0 };
		__asm__ __volatile__("lidt %0; int3" : : "m"(empty));
	} else {
		return;
	}
	fail(2, "still running after hello.end");
}

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
	end_as_requested();
	return 0;
}
