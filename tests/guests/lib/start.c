/*
 * C entry of every guest and the result protocol.
 *
 * guest_start() runs on the bootstrap processor right after the stub has
 * switched to long mode.  It brings up the serial port and the IDT, checks
 * the PVH start_info, then calls the guest's guest_main().  A guest ends in
 * exactly one of two ways:
 *
 *   pass()            prints "PASS <guest>" and writes 0 to port 0xf4
 *   fail(code, ...)   prints "FAIL <guest>: <reason>" and writes code
 *
 * Port 0xf4 is QEMU's isa-debug-exit (exit status (code << 1) | 1) and
 * vmx's equivalent.  If nothing there ends the VM, the CPU halts with
 * interrupts off.
 */
#include "guest.h"

const struct hvm_start_info *start_info;

_Noreturn void guest_exit(uint32_t code)
{
	outl(0xf4, code);
	for (;;)
		__asm__ __volatile__("cli; hlt");
}

_Noreturn void pass(void)
{
	printf("PASS %s\n", guest_name);
	guest_exit(EXIT_PASS);
}

_Noreturn void fail(uint32_t code, const char *fmt, ...)
{
	va_list ap;
	printf("FAIL %s: ", guest_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	guest_exit(code ? code : EXIT_NO_VERDICT);
}

bool memmap_available(void)
{
	return start_info && start_info->version >= 1 && start_info->memmap_paddr &&
	       start_info->memmap_entries;
}

bool memmap_is_ram(uint64_t addr, uint64_t len)
{
	if (!memmap_available())
		return false;
	const struct hvm_memmap_entry *m = (const void *)(uintptr_t)start_info->memmap_paddr;
	for (uint32_t i = 0; i < start_info->memmap_entries; i++) {
		if (m[i].type == 1 && addr >= m[i].addr && addr + len <= m[i].addr + m[i].size)
			return true;
	}
	return false;
}

void guest_start(const struct hvm_start_info *si);

void guest_start(const struct hvm_start_info *si)
{
	serial_init();
	idt_init();
	if (!si || si->magic != HVM_START_MAGIC) {
		start_info = NULL;
		fail(EXIT_BAD_START, "bad start_info at %p (magic %#x)", (const void *)si,
		     si ? si->magic : 0);
	}
	start_info = si;
	int r = guest_main(si);
	if (r != 0)
		fail(EXIT_NO_VERDICT, "guest_main returned %d", r);
	pass();
}
