/*
 * i8042 keyboard controller, from its command set documentation.  No
 * keyboard or mouse is attached: bytes meant for them are ignored, so a
 * guest's device probes time out and find nothing.  What is modelled:
 *
 *   0x64 read   status: OBF when a reply waits, the system flag (command
 *               byte bit 2), bit 3 when the last write went to 0x64
 *   0x64 write  commands: 0x20 read / 0x60 write the command byte,
 *               0xA7/0xA8 and 0xAD/0xAE disable/enable a port, 0xAA self
 *               test (replies 0x55), 0xD0/0xD1 read/write the output
 *               port, 0xF0-0xFF pulse output lines (bit 0 clear pulses
 *               the reset line: 0xFE)
 *   0x60        the reply byte; the data byte of 0x60 and 0xD1.  An
 *               output port value with bit 0 (reset line) clear resets.
 *   0x92        System Control Port A: bit 1 A20, writing bit 0 = 1 resets
 *
 * A reset is vm_request_stop(VM_STOP_RESET), made after the lock is
 * dropped.  One controller per process: its state is static.
 */
#include "i8042.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bus.h"
#include "vm.h"

#define PORT_DATA 0x60
#define PORT_CMD 0x64
#define PORT_A 0x92

#define ST_OBF 0x01
#define ST_SYS 0x04
#define ST_CMD 0x08

#define CB_SYS 0x04
#define CB_KBD_OFF 0x10
#define CB_AUX_OFF 0x20

#define OUT_RESET 0x01  /* 1 = reset line released */
#define OUT_A20 0x02

struct i8042 {
	pthread_mutex_t lock;
	struct vm *vm;
	uint8_t cmd_byte, out_port, port_a;
	uint8_t reply;
	bool obf, last_cmd;
	uint8_t want_data;      /* command waiting for its byte on 0x60, or 0 */
};

static struct i8042 kbc = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void put_reply(struct i8042 *k, uint8_t v)
{
	k->reply = v;
	k->obf = true;
}

static uint8_t status(const struct i8042 *k)
{
	return (k->obf ? ST_OBF : 0) | (k->cmd_byte & CB_SYS ? ST_SYS : 0) |
	       (k->last_cmd ? ST_CMD : 0);
}

/* Returns true when the command resets the machine. */
static bool command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case 0x20: put_reply(k, k->cmd_byte); break;
	case 0x60: case 0xd1: k->want_data = cmd; break;
	case 0xa7: k->cmd_byte |= CB_AUX_OFF; break;
	case 0xa8: k->cmd_byte &= (uint8_t)~CB_AUX_OFF; break;
	case 0xaa: k->cmd_byte |= CB_SYS; put_reply(k, 0x55); break;
	case 0xad: k->cmd_byte |= CB_KBD_OFF; break;
	case 0xae: k->cmd_byte &= (uint8_t)~CB_KBD_OFF; break;
	case 0xd0: put_reply(k, k->out_port); break;
	default:
		/* 0xF0-0xFF pulse the output lines whose bits are clear. */
		return (cmd & 0xf0) == 0xf0 && !(cmd & OUT_RESET);
	}
	return false;
}

static bool data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->want_data;
	k->want_data = 0;
	if (cmd == 0x60) {
		k->cmd_byte = v;
	} else if (cmd == 0xd1) {
		k->out_port = v;
		return !(v & OUT_RESET);
	}
	return false;   /* a byte for the absent keyboard */
}

static bool kbc_access(struct i8042 *k, uint16_t port, uint8_t *v, bool is_write)
{
	if (port == PORT_A) {
		if (!is_write) {
			*v = k->port_a;
			return false;
		}
		k->port_a = *v & (uint8_t)~0x01;
		return *v & 0x01;
	}
	if (!is_write) {
		*v = port == PORT_CMD ? status(k) : k->reply;
		if (port == PORT_DATA)
			k->obf = false;
		return false;
	}
	k->last_cmd = port == PORT_CMD;
	return port == PORT_CMD ? command(k, *v) : data_write(k, *v);
}

/* The ports are byte-wide: a wider access uses its first byte. */
static void port_access(uint16_t port, void *data, unsigned int len, bool is_write)
{
	uint8_t *p = data;
	if (!is_write && len > 1)
		memset(p + 1, 0xff, len - 1);
	pthread_mutex_lock(&kbc.lock);
	bool reset = kbc_access(&kbc, port, p, is_write);
	pthread_mutex_unlock(&kbc.lock);
	if (reset)
		vm_request_stop(kbc.vm, VM_STOP_RESET, 0);
}

static void data_io(void *dev, uint64_t off, void *data, unsigned int len, bool w)
{
	(void)dev, (void)off;
	port_access(PORT_DATA, data, len, w);
}

static void cmd_io(void *dev, uint64_t off, void *data, unsigned int len, bool w)
{
	(void)dev, (void)off;
	port_access(PORT_CMD, data, len, w);
}

static void port_a_io(void *dev, uint64_t off, void *data, unsigned int len, bool w)
{
	(void)dev, (void)off;
	port_access(PORT_A, data, len, w);
}

int i8042_init(struct vm *vm)
{
	pthread_mutex_lock(&kbc.lock);
	kbc.vm = vm;
	kbc.cmd_byte = 0x45;   /* as a BIOS leaves it: kbd irq, sys flag, translate */
	kbc.out_port = OUT_RESET | OUT_A20;
	kbc.port_a = OUT_A20;
	kbc.obf = kbc.last_cmd = false;
	kbc.want_data = 0;
	pthread_mutex_unlock(&kbc.lock);
	if (bus_add(&vm->pio, PORT_DATA, 1, data_io, &kbc) < 0 ||
	    bus_add(&vm->pio, PORT_CMD, 1, cmd_io, &kbc) < 0 ||
	    bus_add(&vm->pio, PORT_A, 1, port_a_io, &kbc) < 0)
		return -1;
	return 0;
}
