/*
 * Time: the TSC, calibrated once against the 8254 PIT (1193182 Hz).
 *
 * The preferred reference is PIT channel 2, gated through port 0x61 as on
 * every PC; its counter is read back with latch commands rather than by
 * watching the OUT2 bit, so only the gate needs port 0x61.  Machines
 * without the port 0x61 gate (QEMU microvm has no PC speaker) leave
 * channel 2 stopped; then channel 0 is used, whose gate is always on.  It
 * is reprogrammed to a one-shot afterwards; its interrupt is masked in
 * the PIC and the IOAPIC anyway.  Without any PIT the CPUID frequency
 * leaves (0x15, 0x16) are tried, then the local APIC timer is measured on
 * the assumption that it counts at 1 GHz (as in KVM and QEMU), and last
 * 1 GHz is assumed for the TSC.
 *
 * All waits in the guests are deadlines on this clock.
 */
#include "guest.h"

#define PIT_HZ 1193182u
#define PIT_CMD 0x43
#define WINDOW_TICKS 30000u     /* about 25 ms */

uint64_t tsc_hz;

static uint16_t pit_latch(unsigned ch)
{
	outb(PIT_CMD, (uint8_t)(ch << 6));      /* counter latch */
	uint8_t lo = inb((uint16_t)(0x40 + ch));
	uint8_t hi = inb((uint16_t)(0x40 + ch));
	return (uint16_t)(lo | (hi << 8));
}

/* TSC ticks per second measured on PIT channel ch; 0 if it does not count. */
static uint64_t pit_measure(unsigned ch)
{
	if (ch == 2)
		outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01));      /* gate on, speaker off */
	outb(PIT_CMD, (uint8_t)((ch << 6) | 0x34));    /* lo/hi, mode 2, binary */
	outb((uint16_t)(0x40 + ch), 0xff);
	outb((uint16_t)(0x40 + ch), 0xff);

	/* wait for the first change so both ends are read the same way */
	uint16_t c0 = pit_latch(ch), c;
	uint64_t t0 = 0;
	unsigned i;
	for (i = 0; i < 2000; i++) {
		c = pit_latch(ch);
		t0 = rdtsc();
		if (c != c0)
			break;
	}
	if (i == 2000)
		return 0;
	c0 = c;
	uint16_t prev = c0;
	for (i = 0; i < 2000000; i++) {
		c = pit_latch(ch);
		uint64_t t = rdtsc();
		if (c > prev)           /* reloaded: took too long, give up */
			return 0;
		prev = c;
		uint32_t ticks = (uint32_t)(c0 - c);
		if (ticks >= WINDOW_TICKS)
			return (t - t0) * PIT_HZ / ticks;
	}
	return 0;
}

/* TSC ticks per second against the LAPIC timer, assumed to run at 1 GHz. */
static uint64_t lapic_measure(void)
{
	lapic_init();
	lapic_write(LAPIC_LVT_TMR, 1u << 16);   /* masked, one-shot */
	lapic_write(LAPIC_TMR_DIV, 0xb);        /* divide by 1 */
	lapic_write(LAPIC_TMR_INIT, 0xffffffffu);
	uint32_t c0 = lapic_read(LAPIC_TMR_CUR);
	uint64_t t0 = rdtsc();
	for (unsigned i = 0; i < 2000000; i++) {
		uint32_t c = lapic_read(LAPIC_TMR_CUR);
		uint64_t t = rdtsc();
		if (c0 - c >= 20000000u) {      /* 20 ms */
			lapic_write(LAPIC_TMR_INIT, 0);
			return (t - t0) * 1000000000ull / (c0 - c);
		}
	}
	lapic_write(LAPIC_TMR_INIT, 0);
	return 0;
}

static bool plausible(uint64_t hz)
{
	return hz >= 10000000ull && hz <= 100000000000ull;
}

void time_init(void)
{
	const char *how;
	uint64_t hz;
	if (tsc_hz)
		return;
	if (plausible(hz = pit_measure(2))) {
		how = "pit channel 2";
	} else if (plausible(hz = pit_measure(0))) {
		how = "pit channel 0";
		outb(PIT_CMD, 0x30);    /* channel 0: one-shot, stop the rate generator */
		outb(0x40, 0xff);
		outb(0x40, 0xff);
	} else {
		uint32_t r[4];
		cpuid(0, 0, r);
		uint32_t max = r[0];
		hz = 0;
		if (max >= 0x15) {
			cpuid(0x15, 0, r);
			if (r[0] && r[1] && r[2])
				hz = (uint64_t)r[2] * r[1] / r[0];
		}
		if (!plausible(hz) && max >= 0x16) {
			cpuid(0x16, 0, r);
			hz = (uint64_t)(r[0] & 0xffff) * 1000000;
		}
		how = "cpuid";
		if (!plausible(hz)) {
			hz = lapic_measure();
			how = "lapic timer, assuming it counts at 1 GHz";
		}
		if (!plausible(hz)) {
			hz = 1000000000ull;
			how = "assumed, no PIT";
		}
	}
	tsc_hz = hz;
	printf("tsc: %lu kHz (%s)\n", (unsigned long)(hz / 1000), how);
}

uint64_t deadline_ms(uint64_t ms)
{
	if (!tsc_hz)
		time_init();
	return rdtsc() + ms * (tsc_hz / 1000);
}

bool expired(uint64_t deadline)
{
	return (int64_t)(rdtsc() - deadline) >= 0;
}

void udelay(uint64_t us)
{
	if (!tsc_hz)
		time_init();
	uint64_t end = rdtsc() + us * (tsc_hz / 1000000);
	while (!expired(end))
		cpu_relax();
}

void mdelay(uint64_t ms)
{
	uint64_t end = deadline_ms(ms);
	while (!expired(end))
		cpu_relax();
}

uint64_t tsc_to_us(uint64_t ticks)
{
	if (!tsc_hz)
		return 0;
	return ticks / (tsc_hz / 1000000);
}
