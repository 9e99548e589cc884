/*
 * exits: makes a known number of VM exits of two kinds, for benchmarks
 * that count what the monitor spends on one exit (bench/exits.py).
 *
 *   exits.pio=N   port-I/O exits: `inb` from the UART's scratch register
 *                 (0x3ff, COM1 + 7), which vmx and QEMU both model and
 *                 which has no side effects (default 10000)
 *   exits.mmio=N  MMIO exits: 32-bit reads of the MagicValue register
 *                 (offset 0) of the first virtio-mmio transport with a
 *                 device behind it, found from the virtio_mmio.device=
 *                 tokens on the command line or by probing QEMU microvm's
 *                 window, as blk does (default 10000)
 *   exits.calibrate=0  skips the TSC calibration against the PIT (ns/exit
 *                 is then printed as 0).  The calibration polls the PIT
 *                 for about 25 ms; where the PIT is emulated in user
 *                 space (QEMU microvm, whose irqchip is split) that is a
 *                 number of exits that depends on how fast they are, which
 *                 would blur a count of the monitor's work per exit.  vmx
 *                 keeps the PIT in the kernel.  (default 1)
 *
 * The run goes: set-up (TSC calibration, device discovery), then
 *
 *   exits: phase pio n=<N>
 *   exits: pio n=<N> cycles/exit=<C> ns/exit=<T>
 *   exits: phase mmio n=<N>
 *   exits: mmio n=<N> cycles/exit=<C> ns/exit=<T>
 *   PASS exits
 *
 * The "phase" lines are the markers between the phases.  Each phase is a
 * tight loop of N single accesses with interrupts off; nothing else in it
 * leaves the guest, so the monitor sees exactly N exits of that kind
 * there.  Everything outside the loops (the set-up, the lines above) costs
 * the same whatever N is, apart from the digits printed, so a benchmark
 * can difference two runs with different N to cancel it.  cycles/exit is
 * the TSC delta of the loop divided by N (guest view of one round trip:
 * exit, the monitor's handling, re-entry); ns/exit converts it with the
 * calibrated TSC frequency.  N=0 skips a phase (and, for mmio, the
 * device search).
 *
 * Exit codes: 1 exits.mmio > 0 but no virtio-mmio device was found,
 * 2 a read returned a wrong value (scratch register did not hold what was
 * written, or MagicValue was not "virt").
 */
#include "lib/guest.h"

const char guest_name[] = "exits";

#define UART_SCR (COM1 + 7)
#define SCR_VALUE 0x5a

static struct virtio_dev devs[VIRTIO_MAX_DEVS];

static void report(const char *kind, uint64_t n, uint64_t ticks)
{
	uint64_t cyc = n ? ticks / n : 0;
	uint64_t ns = n && tsc_hz ? ticks * 1000000000ull / tsc_hz / n : 0;
	printf("exits: %s n=%lu cycles/exit=%lu ns/exit=%lu\n", kind, (unsigned long)n,
	       (unsigned long)cyc, (unsigned long)ns);
}

int guest_main(const struct hvm_start_info *si)
{
	(void)si;
	uint64_t npio = cmdline_u64("exits.pio", 10000);
	uint64_t nmmio = cmdline_u64("exits.mmio", 10000);
	if (cmdline_u64("exits.calibrate", 1))
		time_init();

	uintptr_t magic = 0;
	if (nmmio) {
		bool from_cmdline;
		unsigned n = virtio_find(devs, VIRTIO_MAX_DEVS, &from_cmdline);
		if (n == 0)
			fail(1, "exits.mmio=%lu but no virtio-mmio device (%s)", (unsigned long)nmmio,
			     from_cmdline ? "command line" : "probed");
		magic = devs[0].base;
		printf("exits: mmio target %#lx (device id %u, %s)\n", (unsigned long)magic,
		       devs[0].device_id, from_cmdline ? "command line" : "probed");
	}
	irq_disable();

	printf("exits: phase pio n=%lu\n", (unsigned long)npio);
	outb(UART_SCR, SCR_VALUE);
	uint8_t bad = 0;
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < npio; i++)
		bad |= inb(UART_SCR) ^ SCR_VALUE;
	uint64_t t1 = rdtsc();
	if (bad)
		fail(2, "UART scratch register did not read back %#x", SCR_VALUE);
	report("pio", npio, t1 - t0);

	printf("exits: phase mmio n=%lu\n", (unsigned long)nmmio);
	uint32_t mbad = 0;
	t0 = rdtsc();
	for (uint64_t i = 0; i < nmmio; i++)
		mbad |= mmio_read32(magic) ^ VIRTIO_MMIO_MAGIC;
	t1 = rdtsc();
	if (mbad)
		fail(2, "MagicValue at %#lx read wrong (bits %#x differ)", (unsigned long)magic, mbad);
	report("mmio", nmmio, t1 - t0);
	return 0;
}
