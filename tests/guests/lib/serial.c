/*
 * Serial output on the 8250/16550 at 0x3f8, by polling.
 *
 * Initialisation is the classic sequence (115200 8N1, FIFOs off, DTR|RTS):
 * with FIFOs off the interrupt identification register reads exactly 0x02
 * or 0x01, which the timer guest relies on.  Every wait on the line status
 * register is bounded: a missing UART (reads 0xff) or a stuck one never
 * hangs the guest, it only loses output; after one wait runs out the
 * guest stops waiting altogether.  Lines end in "\n" alone.
 */
#include "guest.h"

#define THR 0
#define IER 1
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define LSR_THRE 0x20

void serial_init(void)
{
	outb(COM1 + IER, 0x00);
	outb(COM1 + LCR, 0x80);         /* DLAB on */
	outb(COM1 + 0, 0x01);           /* divisor 1: 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + LCR, 0x03);         /* DLAB off, 8N1 */
	outb(COM1 + FCR, 0x00);         /* FIFOs off */
	outb(COM1 + MCR, 0x03);         /* DTR | RTS */
}

static bool stuck;              /* THRE never came: stop waiting for it */

void serial_putc(char c)
{
	if (!stuck) {
		unsigned i;
		for (i = 0; i < 100000; i++) {
			if (inb(COM1 + LSR) & LSR_THRE)
				break;
			cpu_relax();
		}
		stuck = i == 100000;
	}
	outb(COM1 + THR, (uint8_t)c);
}

void serial_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		serial_putc(s[i]);
}
