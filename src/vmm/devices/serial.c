/*
 * 8250/16550A UART, modelled from the datasheet's register descriptions.
 *
 * Transmission is immediate: a THR write goes straight to the console,
 * so LSR always reports THRE and TEMT, and the "THR empty" interrupt is
 * re-armed by every THR write.  The receive side is a 16-byte FIFO (one
 * byte, the plain RBR, while FCR bit 0 is clear) fed by the console.
 * Received data raises the rx interrupt at once (the 16550's trigger
 * level and character timeout collapse into "any data"; guests drain
 * until LSR.DR clears either way).
 *
 * Interrupt identification follows the datasheet's priority order: line
 * status (overrun), received data, THR empty, modem status.  The pending
 * THR-empty interrupt is cleared by reading IIR while IIR reports it, and
 * is set by a THR write or by a rising edge of IER bit 1.  As on a PC the
 * interrupt output reaches the irqchip only while MCR OUT2 is set; the
 * device drives the line level through vm_set_irq whenever it changes.
 *
 * Flow control: when the FIFO cannot take all the console offers, the
 * device pauses console input; once the guest has drained the FIFO to
 * half, or reset it, input resumes.  Loopback mode (MCR bit 4)
 * disconnects the console input: THR bytes come back into the FIFO (a
 * full FIFO sets OE) and MSR shows DTR/RTS/OUT1/OUT2 as DSR/CTS/RI/DCD.
 *
 * One mutex covers each access; accesses come from any vCPU thread and
 * input from the I/O thread.  A transmitted byte is handed to the console
 * after the mutex is dropped, so that a slow stdout stalls only the
 * writing vCPU, never input delivery on the I/O thread.  (Bytes from two
 * vCPUs writing at once without the guest's own lock may swap; a guest
 * driver serialises its writes anyway.)
 */
#include "serial.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "bus.h"
#include "console.h"
#include "vm.h"

#define FIFO_SIZE 16

enum {
	REG_RBR_THR = 0, REG_IER = 1, REG_IIR_FCR = 2, REG_LCR = 3,
	REG_MCR = 4, REG_LSR = 5, REG_MSR = 6, REG_SCR = 7, NR_REGS = 8,
};

#define IER_RDA 0x01    /* received data available */
#define IER_THRE 0x02   /* transmitter holding register empty */
#define IER_RLS 0x04    /* receiver line status */
#define IER_MS 0x08     /* modem status */

#define IIR_MODEM 0x00
#define IIR_NONE 0x01
#define IIR_THRE 0x02
#define IIR_RX 0x04
#define IIR_LINE 0x06
#define IIR_FIFO 0xc0

#define FCR_ENABLE 0x01
#define FCR_RX_RESET 0x02
#define FCR_KEEP 0xc9   /* enable, DMA mode, trigger level */

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

struct serial {
	pthread_mutex_t lock;
	struct vm *vm;
	struct console *con;
	unsigned int irq;

	uint8_t fifo[FIFO_SIZE];
	unsigned int head, count;

	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool overrun;           /* LSR.OE, cleared by reading LSR */
	uint8_t msr_delta;      /* MSR bits 0-3, cleared by reading MSR */
	bool thri;              /* THR-empty interrupt pending */
	bool rx_blocked;        /* we paused console input */
	bool irq_level;
	int tx_byte;            /* THR byte to send after unlocking, or -1 */
	struct serial_stats stats;
};

/* ---- receive FIFO ---- */

static unsigned int fifo_cap(const struct serial *s)
{
	return (s->fcr & FCR_ENABLE) ? FIFO_SIZE : 1;
}

static bool loopback(const struct serial *s)
{
	return s->mcr & MCR_LOOP;
}

/* Restarts console input once the guest has made room. */
static void maybe_resume(struct serial *s)
{
	if (s->rx_blocked && !loopback(s) && s->count <= fifo_cap(s) / 2) {
		s->rx_blocked = false;
		console_pause_input(s->con, false);
	}
}

static void fifo_push(struct serial *s, uint8_t v)
{
	if (s->count < fifo_cap(s)) {
		s->fifo[(s->head + s->count++) % FIFO_SIZE] = v;
		return;
	}
	/* Overrun: a FIFO keeps its contents, a lone RBR is overwritten. */
	s->overrun = true;
	s->stats.overruns++;
	if (!(s->fcr & FCR_ENABLE))
		s->fifo[s->head] = v;
}

static uint8_t fifo_pop(struct serial *s)
{
	if (s->count == 0)
		return 0;
	uint8_t v = s->fifo[s->head];
	s->head = (s->head + 1) % FIFO_SIZE;
	s->count--;
	maybe_resume(s);
	return v;
}

static void fifo_clear(struct serial *s)
{
	s->head = s->count = 0;
	maybe_resume(s);
}

/* ---- interrupts ---- */

static uint8_t iir_id(const struct serial *s)
{
	if ((s->ier & IER_RLS) && s->overrun)
		return IIR_LINE;
	if ((s->ier & IER_RDA) && s->count > 0)
		return IIR_RX;
	if ((s->ier & IER_THRE) && s->thri)
		return IIR_THRE;
	if ((s->ier & IER_MS) && s->msr_delta)
		return IIR_MODEM;
	return IIR_NONE;
}

static void update_irq(struct serial *s)
{
	bool level = iir_id(s) != IIR_NONE && (s->mcr & MCR_OUT2);
	if (level == s->irq_level)
		return;
	s->irq_level = level;
	if (level)
		s->stats.interrupts++;
	vm_set_irq(s->vm, s->irq, level);
}

/* ---- modem lines ---- */

static uint8_t msr_lines(const struct serial *s)
{
	if (!loopback(s))
		return MSR_CTS | MSR_DSR | MSR_DCD;
	return ((s->mcr & MCR_RTS) ? MSR_CTS : 0) | ((s->mcr & MCR_DTR) ? MSR_DSR : 0) |
	       ((s->mcr & MCR_OUT1) ? MSR_RI : 0) | ((s->mcr & MCR_OUT2) ? MSR_DCD : 0);
}

static void mcr_write(struct serial *s, uint8_t v)
{
	uint8_t old = msr_lines(s);
	s->mcr = v & 0x1f;
	uint8_t now = msr_lines(s), diff = old ^ now;
	if (diff & MSR_CTS)
		s->msr_delta |= MSR_DCTS;
	if (diff & MSR_DSR)
		s->msr_delta |= MSR_DDSR;
	if ((old & MSR_RI) && !(now & MSR_RI))
		s->msr_delta |= MSR_TERI;
	if (diff & MSR_DCD)
		s->msr_delta |= MSR_DDCD;
	maybe_resume(s);
}

/* ---- registers ---- */

static uint8_t read_iir(struct serial *s)
{
	uint8_t id = iir_id(s);
	if (id == IIR_THRE)
		s->thri = false;
	return id | ((s->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
}

static uint8_t read_lsr(struct serial *s)
{
	uint8_t v = LSR_THRE | LSR_TEMT;
	if (s->count > 0)
		v |= LSR_DR;
	if (s->overrun)
		v |= LSR_OE;
	s->overrun = false;
	return v;
}

static uint8_t read_msr(struct serial *s)
{
	uint8_t v = msr_lines(s) | s->msr_delta;
	s->msr_delta = 0;
	return v;
}

static void thr_write(struct serial *s, uint8_t v)
{
	if (loopback(s)) {
		fifo_push(s, v);
	} else {
		s->tx_byte = v;
		s->stats.tx_bytes++;
	}
	s->thri = true;         /* sent at once: the THR is empty again */
}

static void ier_write(struct serial *s, uint8_t v)
{
	v &= 0x0f;
	if ((v & IER_THRE) && !(s->ier & IER_THRE))
		s->thri = true;
	s->ier = v;
}

static void fcr_write(struct serial *s, uint8_t v)
{
	if ((v ^ s->fcr) & FCR_ENABLE) {
		s->fcr = v & FCR_ENABLE;  /* switching mode empties the FIFOs */
		fifo_clear(s);
	}
	if (!(v & FCR_ENABLE))
		return;         /* other bits need bit 0 set */
	s->fcr = v & FCR_KEEP;
	if (v & FCR_RX_RESET)
		fifo_clear(s);
	/* FCR_TX_RESET: nothing is ever queued for transmission */
}

static uint8_t reg_read(struct serial *s, unsigned int reg)
{
	bool dlab = s->lcr & LCR_DLAB;
	switch (reg) {
	case REG_RBR_THR: return dlab ? s->dll : fifo_pop(s);
	case REG_IER: return dlab ? s->dlm : s->ier;
	case REG_IIR_FCR: return read_iir(s);
	case REG_LCR: return s->lcr;
	case REG_MCR: return s->mcr;
	case REG_LSR: return read_lsr(s);
	case REG_MSR: return read_msr(s);
	default: return s->scr;
	}
}

static void reg_write(struct serial *s, unsigned int reg, uint8_t v)
{
	bool dlab = s->lcr & LCR_DLAB;
	switch (reg) {
	case REG_RBR_THR:
		if (dlab)
			s->dll = v;
		else
			thr_write(s, v);
		break;
	case REG_IER:
		if (dlab)
			s->dlm = v;
		else
			ier_write(s, v);
		break;
	case REG_IIR_FCR: fcr_write(s, v); break;
	case REG_LCR: s->lcr = v; break;
	case REG_MCR: mcr_write(s, v); break;
	case REG_SCR: s->scr = v; break;
	default: break;         /* LSR and MSR are read-only */
	}
}

/* A wide access to this 8-bit device is split into byte accesses, as
 * the ISA bus does. */
static void serial_io(void *dev, uint64_t offset, void *data, unsigned int len,
		      bool is_write)
{
	struct serial *s = dev;
	uint8_t *p = data;
	pthread_mutex_lock(&s->lock);
	for (unsigned int i = 0; i < len; i++) {
		uint64_t reg = offset + i;
		if (reg >= NR_REGS) {
			if (!is_write)
				p[i] = 0xff;
		} else if (is_write) {
			reg_write(s, (unsigned int)reg, p[i]);
		} else {
			p[i] = reg_read(s, (unsigned int)reg);
		}
	}
	update_irq(s);
	int tx = s->tx_byte;
	s->tx_byte = -1;
	pthread_mutex_unlock(&s->lock);
	if (tx >= 0) {
		uint8_t b = (uint8_t)tx;
		console_write(s->con, &b, 1);
	}
}

/* ---- public ---- */

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;
	pthread_mutex_lock(&s->lock);
	if (!loopback(s)) {
		for (; n < len && s->count < fifo_cap(s); n++)
			fifo_push(s, buf[n]);
	}
	s->stats.rx_bytes += n;
	if (n < len) {
		s->rx_blocked = true;
		console_pause_input(s->con, true);
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

static size_t serial_rx(void *opaque, const uint8_t *buf, size_t len)
{
	return serial_receive(opaque, buf, len);
}

struct serial *serial_init(struct vm *vm, uint16_t port_base, unsigned int irq,
			   struct console *con)
{
	struct serial *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->vm = vm;
	s->con = con;
	s->irq = irq;
	s->tx_byte = -1;
	s->dll = 0x0c;          /* 9600 baud from a 1.8432 MHz clock */
	if (bus_add(&vm->pio, port_base, NR_REGS, serial_io, s) < 0) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	console_set_receiver(con, serial_rx, s);
	return s;
}

void serial_free(struct serial *s)
{
	if (!s)
		return;
	console_set_receiver(s->con, NULL, NULL);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void serial_stats(struct serial *s, struct serial_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}
