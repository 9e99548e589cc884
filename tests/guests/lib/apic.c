/*
 * Local APIC (xAPIC, memory-mapped) and IOAPIC access, and masking of the
 * legacy 8259 PICs so that only APIC interrupts arrive.
 */
#include "guest.h"

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_ENABLE (1u << 11)

uintptr_t lapic_base = 0xfee00000;

uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(lapic_base + reg);
}

void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(lapic_base + reg, v);
}

void lapic_init(void)
{
	uint64_t b = rdmsr(MSR_APIC_BASE);
	if (!(b & APIC_BASE_ENABLE))
		wrmsr(MSR_APIC_BASE, b | APIC_BASE_ENABLE);
	lapic_base = (uintptr_t)(b & 0xfffff000u);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, 0x100 | 0xff);   /* software enable, spurious vector 0xff */
}

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

bool lapic_send_ipi(uint32_t dest, uint32_t icr_lo)
{
	lapic_write(LAPIC_ICR_HI, dest << 24);
	lapic_write(LAPIC_ICR_LO, icr_lo);
	for (unsigned i = 0; i < 10000; i++) {
		if (!(lapic_read(LAPIC_ICR_LO) & (1u << 12)))   /* delivery status */
			return true;
		cpu_relax();
	}
	return false;
}

uint32_t ioapic_read(uintptr_t base, uint32_t reg)
{
	mmio_write32(base, reg);
	return mmio_read32(base + 0x10);
}

void ioapic_write(uintptr_t base, uint32_t reg, uint32_t v)
{
	mmio_write32(base, reg);
	mmio_write32(base + 0x10, v);
}

unsigned ioapic_pins(uintptr_t base)
{
	return ((ioapic_read(base, 1) >> 16) & 0xff) + 1;
}

void ioapic_route(uintptr_t base, unsigned pin, uint8_t vector, uint16_t flags, uint32_t dest)
{
	uint32_t lo = vector;                   /* fixed delivery, physical destination */
	if ((flags & 3) == 3)
		lo |= 1u << 13;                 /* active low */
	if (((flags >> 2) & 3) == 3)
		lo |= 1u << 15;                 /* level triggered */
	ioapic_write(base, 0x10 + 2 * pin, (1u << 16));        /* mask while changing */
	ioapic_write(base, 0x11 + 2 * pin, dest << 24);
	ioapic_write(base, 0x10 + 2 * pin, lo);
}

void ioapic_mask(uintptr_t base, unsigned pin)
{
	ioapic_write(base, 0x10 + 2 * pin, 1u << 16);
}

void pic_mask_all(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}
