/*
 * 8250/16550A UART on port I/O (COM1 is 0x3f8, IRQ 4).  Output goes to a
 * console backend; input comes from it, with flow control so that input
 * waits in the backend while the 16-byte receive FIFO is full.
 */
#ifndef VMK_SERIAL_H
#define VMK_SERIAL_H

#include <stddef.h>
#include <stdint.h>

struct vm;
struct console;
struct serial;

struct serial_stats {
	uint64_t tx_bytes;      /* bytes the guest sent to the console */
	uint64_t rx_bytes;      /* console bytes put in the receive FIFO */
	uint64_t interrupts;    /* rising edges of the interrupt line */
	uint64_t overruns;      /* bytes lost to a full FIFO (loopback only) */
};

/*
 * Claims ports port_base..port_base+7 on vm->pio and becomes con's input
 * receiver; con may be NULL (output discarded, no input).  NULL if the
 * ports are taken or memory is short.
 */
struct serial *serial_init(struct vm *vm, uint16_t port_base, unsigned int irq,
			   struct console *con);
/* Detaches from the console and frees; only once the evloop has stopped
 * and no vCPU runs (the port range stays claimed on the bus). */
void serial_free(struct serial *s);

/* Feeds received bytes into the FIFO; returns how many fit (the console's
 * receiver; also usable directly).  Input is paused when not all fit. */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len);

void serial_stats(struct serial *s, struct serial_stats *out);

#endif
