/*
 * timer: interrupt delivery, in two parts.
 *
 * 1. The local APIC timer in periodic mode (vector 0x40, divide by 16)
 *    must deliver at least 5 interrupts to the IDT handler, which sends an
 *    EOI each time, within 2 seconds.
 * 2. The serial port's interrupt through the IOAPIC: ISA IRQ 4 (after any
 *    MADT/MP interrupt source override) is routed to vector 0x41 on the
 *    bootstrap processor; enabling the 8250's transmitter-empty interrupt
 *    (IER bit 1, with MCR OUT2 set) while the transmitter is idle must
 *    raise it.  The handler reads IIR twice: the first read must report
 *    THR empty (0x02) and the second, after that report cleared the
 *    condition, no interrupt pending (0x01).  This checks the VMM's UART
 *    interrupt model and its IOAPIC routing.
 *
 * Exit codes: 1 fewer than 5 LAPIC timer interrupts, 2 no MADT/MP table,
 * 3 no IOAPIC serves the serial port's GSI, 4 no serial interrupt,
 * 5 first IIR read was not 0x02, 6 second IIR read was not 0x01.
 */
#include "lib/guest.h"

const char guest_name[] = "timer";

#define VEC_TIMER 0x40
#define VEC_SERIAL 0x41
#define UART_IER (COM1 + 1)
#define UART_IIR (COM1 + 2)
#define UART_MCR (COM1 + 4)
#define UART_LSR (COM1 + 5)

static volatile uint32_t timer_ticks, serial_irqs;
static volatile uint8_t iir_first, iir_second;
static struct platform plat;

static void timer_isr(struct int_frame *f)
{
	(void)f;
	timer_ticks++;
	lapic_eoi();
}

static void serial_isr(struct int_frame *f)
{
	(void)f;
	if (serial_irqs++ == 0) {
		iir_first = inb(UART_IIR);
		iir_second = inb(UART_IIR);
	}
	outb(UART_IER, 0);      /* no further THR-empty interrupts */
	lapic_eoi();
}

static void lapic_timer_test(void)
{
	idt_set_handler(VEC_TIMER, timer_isr);
	lapic_write(LAPIC_TMR_DIV, 0x3);                        /* divide by 16 */
	lapic_write(LAPIC_LVT_TMR, VEC_TIMER | (1u << 17));     /* periodic */
	uint64_t t0 = rdtsc(), dl = deadline_ms(2000);
	lapic_write(LAPIC_TMR_INIT, 200000);    /* 3.2 ms at a 1 GHz APIC clock */
	irq_enable();
	while (timer_ticks < 10 && !expired(dl))
		cpu_relax();
	irq_disable();
	uint64_t us = tsc_to_us(rdtsc() - t0);
	lapic_write(LAPIC_LVT_TMR, 1u << 16);                   /* masked */
	lapic_write(LAPIC_TMR_INIT, 0);
	uint32_t n = timer_ticks;
	printf("lapic timer: %u interrupts in %lu us\n", n, (unsigned long)us);
	if (n < 5)
		fail(1, "only %u LAPIC timer interrupts in 2 s", n);
}

static void serial_irq_test(void)
{
	uint32_t gsi;
	uint16_t flags;
	unsigned pin;
	platform_isa_irq(&plat, 4, &gsi, &flags);
	uintptr_t ioapic = platform_ioapic_for(&plat, gsi, &pin);
	if (!ioapic)
		fail(3, "no IOAPIC for ISA IRQ 4 (gsi %u)", gsi);
	printf("serial: ISA IRQ 4 -> gsi %u flags %#x, ioapic %#lx pin %u\n", gsi, flags,
	       (unsigned long)ioapic, pin);

	idt_set_handler(VEC_SERIAL, serial_isr);
	/* let the transmitter drain so THR is empty when the interrupt is enabled */
	for (unsigned i = 0; i < 100000 && (inb(UART_LSR) & 0x60) != 0x60; i++)
		cpu_relax();
	uint8_t mcr = inb(UART_MCR);
	outb(UART_MCR, mcr | 0x08);                             /* OUT2 gates the IRQ line */
	ioapic_route(ioapic, pin, VEC_SERIAL, flags, lapic_id());
	irq_enable();
	outb(UART_IER, 0x02);                                   /* THR empty interrupt */
	uint64_t dl = deadline_ms(1000);
	while (!serial_irqs && !expired(dl))
		cpu_relax();
	irq_disable();
	outb(UART_IER, 0);
	ioapic_mask(ioapic, pin);
	outb(UART_MCR, mcr);
	uint8_t iir_now = inb(UART_IIR);
	if (!serial_irqs)
		fail(4, "no serial interrupt through the IOAPIC within 1 s (IIR now %#x)", iir_now);
	printf("serial: %u interrupt(s), IIR %#04x then %#04x\n", serial_irqs, iir_first, iir_second);
	if ((iir_first & 0x0f) != 0x02)
		fail(5, "IIR read %#04x in the handler, expected 0x02 (THR empty)", iir_first);
	if ((iir_second & 0x0f) != 0x01)
		fail(6, "IIR read %#04x after the THR-empty report, expected 0x01", iir_second);
}

int guest_main(const struct hvm_start_info *si)
{
	(void)si;
	if (!platform_probe(&plat))
		fail(2, "no ACPI MADT or MP table");
	pic_mask_all();
	lapic_init();
	time_init();
	lapic_timer_test();
	serial_irq_test();
	return 0;
}
