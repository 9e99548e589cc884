/*
 * button: vmx's ACPI power button, as a guest OS sees it, without an AML
 * interpreter.  The register and interrupt are vmx's documented
 * constants (src/vmm/devices/acpi_ged.h), which the DSDT's \_SB.GED0
 * also describes: the event register at I/O port 0x603 and a
 * level-triggered, active-high interrupt on GSI 23.
 *
 * The guest routes GSI 23 through the IOAPIC that serves it (from the
 * MADT) to vector 0x42, prints "button: waiting for the power button"
 * and waits up to button.seconds (1-600, default 30).  vmx's control
 * method `shutdown` presses the button.  The handler does what the
 * DSDT's _EVT does: it reads the register and writes the bits back to
 * acknowledge them, which must drop the line: exactly one interrupt may
 * see the event, and no stream of interrupts may follow the EOI.  One
 * extra interrupt that sees no event is allowed: this machine's KVM
 * (instruction emulation) leaves a delivered level-triggered vector in
 * the local APIC's IRR and delivers it again after the EOI, which a
 * real OS shrugs off the same way (evged's _EVT finds nothing to do).
 * Then the guest prints "button: power button pressed"
 * and powers off through the ACPI sleep control register (SLP_TYP of
 * \_S5 with SLP_EN), the path vmx exits 0 on.
 *
 * vmx only: QEMU's GED (microvm) lives at another address with another
 * protocol.
 *
 * Exit codes: 1 no MADT or no IOAPIC for GSI 23, 2 an event was pending
 * before the press, 3 no interrupt within button.seconds, 4 the
 * register lacked the power button bit, 5 the line stayed asserted after
 * the acknowledgement (or the register did not clear), 6 the S5 write did not power off, 7 bad
 * button.seconds.
 */
#include "lib/guest.h"

const char guest_name[] = "button";

#define GED_EVT_PORT 0x603
#define GED_GSI 23
#define GED_PWR_BUTTON 0x01
#define MPS_LEVEL_HIGH 0x0d             /* polarity 01 high, trigger 11 level */
#define VEC_GED 0x42
#define ACPI_SLEEP_CONTROL 0x600
#define ACPI_SLP_TYP_S5_EN ((5 << 2) | (1 << 5))

static volatile uint32_t ged_irqs, ged_irqs_with_events;
static volatile uint8_t ged_events;

static void ged_isr(struct int_frame *f)
{
	(void)f;
	uint8_t ev = inb(GED_EVT_PORT);
	ged_irqs++;
	if (ev) {
		ged_irqs_with_events++;
		ged_events |= ev;
	}
	outb(GED_EVT_PORT, ev);         /* acknowledge: write 1 to clear */
	lapic_eoi();
}

static unsigned wait_seconds(void)
{
	const char *v;
	size_t len;
	if (!cmdline_find("button.seconds", 0, &v, &len))
		return 30;
	uint64_t s = 0;
	if (parse_u64(v, len, &s) != len || s < 1 || s > 600)
		fail(7, "bad button.seconds=%.*s (1 to 600)", (int)len, v);
	return (unsigned)s;
}

int guest_main(const struct hvm_start_info *si)
{
	struct platform plat;
	unsigned pin;
	(void)si;

	unsigned seconds = wait_seconds();
	if (!platform_probe(&plat))
		fail(1, "no ACPI MADT or MP table");
	uintptr_t ioapic = platform_ioapic_for(&plat, GED_GSI, &pin);
	if (!ioapic)
		fail(1, "no IOAPIC for the GED's gsi %u", GED_GSI);
	pic_mask_all();
	lapic_init();
	time_init();
	uint8_t early = inb(GED_EVT_PORT);
	if (early)
		fail(2, "event register reads %#x before any press", early);

	idt_set_handler(VEC_GED, ged_isr);
	ioapic_route(ioapic, pin, VEC_GED, MPS_LEVEL_HIGH, lapic_id());
	irq_enable();
	printf("button: waiting for the power button (gsi %u, %u s)\n", GED_GSI, seconds);
	uint64_t dl = deadline_ms(seconds * 1000ull);
	while (!ged_irqs && !expired(dl))
		cpu_relax();
	if (!ged_irqs)
		fail(3, "no power button interrupt within %u s", seconds);
	mdelay(20);                     /* a line left high would interrupt again */
	irq_disable();
	ioapic_mask(ioapic, pin);
	if (!(ged_events & GED_PWR_BUTTON))
		fail(4, "interrupt came with events %#x, no power button", ged_events);
	if (ged_irqs_with_events != 1 || ged_irqs > 2)
		fail(5, "%u interrupts, %u with events: the line stayed asserted after the ack",
		     ged_irqs, ged_irqs_with_events);
	uint8_t after = inb(GED_EVT_PORT);
	if (after)
		fail(5, "event register reads %#x after the ack", after);
	printf("button: power button pressed (events %#x, %u interrupt(s)), "
	       "powering off through ACPI S5\n", ged_events, ged_irqs);
	outb(ACPI_SLEEP_CONTROL, ACPI_SLP_TYP_S5_EN);
	mdelay(100);
	fail(6, "still running after the S5 write");
}
