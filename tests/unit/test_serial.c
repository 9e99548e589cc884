/*
 * Unit tests for the legacy devices: the 16550A register model driven
 * through its port-I/O bus handler, with stubs of vm_set_irq (records the
 * line level) and vm_request_stop; the i8042 and debug-exit ports; and
 * the console backends (file output, unix socket with ring replay, input
 * flow control across the I/O thread).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "devices/console.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "evloop.h"
#include "vm.h"

#define COM1 0x3f8
#define RBR (COM1 + 0)
#define IER (COM1 + 1)
#define IIR (COM1 + 2)
#define FCR (COM1 + 2)
#define LCR (COM1 + 3)
#define MCR (COM1 + 4)
#define LSR (COM1 + 5)
#define MSR (COM1 + 6)
#define SCR (COM1 + 7)

/* ---- stubs ---- */

static int irq_level, irq_calls;
static unsigned int irq_gsi;
static enum vm_stop_reason stop_why;
static int stop_status, stop_calls;

void vm_set_irq(struct vm *vm, unsigned int gsi, int level)
{
	(void)vm;
	irq_gsi = gsi;
	irq_level = level;
	irq_calls++;
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason why, int status)
{
	(void)vm;
	stop_why = why;
	stop_status = status;
	stop_calls++;
}

/* ---- fixture ---- */

struct fixture {
	struct vm vm;
	struct console *con;
	struct serial *s;
	char path[64];
};

static struct fixture *fx;

static uint8_t in8(uint16_t port)
{
	uint8_t v = 0;
	assert_true(bus_access(&fx->vm.pio, port, &v, 1, false));
	return v;
}

static void out8(uint16_t port, uint8_t v)
{
	assert_true(bus_access(&fx->vm.pio, port, &v, 1, true));
}

static int setup(void **state)
{
	fx = calloc(1, sizeof(*fx));
	strcpy(fx->path, "/tmp/vmk-serial-XXXXXX");
	int fd = mkstemp(fx->path);
	assert_true(fd >= 0);
	close(fd);
	fx->con = console_open(SERIAL_FILE, fx->path);
	assert_non_null(fx->con);
	fx->s = serial_init(&fx->vm, COM1, 4, fx->con);
	assert_non_null(fx->s);
	irq_level = irq_calls = stop_calls = 0;
	irq_gsi = 0;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	serial_free(fx->s);
	console_close(fx->con);
	unlink(fx->path);
	free(fx);
	fx = NULL;
	return 0;
}

static size_t file_contents(char *buf, size_t size)
{
	FILE *f = fopen(fx->path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n;
}

/* ---- UART ---- */

static void test_reset_state(void **state)
{
	(void)state;
	assert_int_equal(in8(IER), 0x00);
	assert_int_equal(in8(IIR), 0x01);
	assert_int_equal(in8(LCR), 0x00);
	assert_int_equal(in8(MCR), 0x00);
	assert_int_equal(in8(LSR), 0x60);
	assert_int_equal(in8(MSR), 0xb0);
	assert_int_equal(irq_calls, 0);
}

static void test_output_to_console(void **state)
{
	(void)state;
	out8(RBR, 'h');
	out8(RBR, 'i');
	char buf[16];
	assert_int_equal(file_contents(buf, sizeof(buf)), 2);
	assert_string_equal(buf, "hi");
	struct serial_stats st;
	serial_stats(fx->s, &st);
	assert_int_equal(st.tx_bytes, 2);
	assert_int_equal(in8(LSR) & 0x60, 0x60);
}

static void test_ports_claimed(void **state)
{
	(void)state;
	assert_null(serial_init(&fx->vm, COM1 + 4, 4, NULL));
	uint8_t v = 0;
	assert_false(bus_access(&fx->vm.pio, COM1 + 8, &v, 1, false));
	assert_int_equal(v, 0xff);
}

static void test_thre_clear_on_iir_read(void **state)
{
	(void)state;
	out8(MCR, 0x08);
	out8(IER, 0x02);        /* rising edge of ETBEI: THRE pending */
	assert_int_equal(irq_level, 1);
	assert_int_equal(irq_gsi, 4);
	assert_int_equal(in8(IIR), 0x02);
	assert_int_equal(irq_level, 0);
	assert_int_equal(in8(IIR), 0x01);
	out8(IER, 0x02);        /* no edge: stays clear */
	assert_int_equal(in8(IIR), 0x01);
	out8(RBR, 'x');         /* a THR write re-arms it */
	assert_int_equal(irq_level, 1);
	assert_int_equal(in8(IIR), 0x02);
	out8(IER, 0x00);
	out8(IER, 0x02);        /* edge again */
	assert_int_equal(in8(IIR), 0x02);
	assert_int_equal(in8(IIR), 0x01);
}

static void test_iir_priorities(void **state)
{
	(void)state;
	out8(FCR, 0x01);
	out8(IER, 0x0f);
	out8(MCR, 0x08);
	assert_int_equal(in8(IIR), 0xc2);       /* THRE from the IER edge */
	assert_int_equal(in8(IIR), 0xc1);
	assert_int_equal(serial_receive(fx->s, (const uint8_t *)"a", 1), 1);
	assert_int_equal(in8(IIR), 0xc4);
	assert_int_equal(in8(RBR), 'a');
	/* loopback: MSR deltas appear, 17 bytes overrun the FIFO */
	out8(MCR, 0x18);
	for (int i = 0; i < 17; i++)
		out8(RBR, (uint8_t)('A' + i));
	assert_int_equal(in8(IIR), 0xc6);       /* line status first */
	assert_int_equal(in8(IIR), 0xc6);       /* IIR read does not clear it */
	assert_int_equal(in8(LSR), 0x63);       /* DR, OE, THRE, TEMT */
	assert_int_equal(in8(IIR), 0xc4);       /* then received data */
	for (int i = 0; i < 16; i++)
		assert_int_equal(in8(RBR), 'A' + i);
	assert_int_equal(in8(LSR), 0x60);
	assert_int_equal(in8(IIR), 0xc2);       /* then THR empty */
	assert_int_equal(in8(IIR), 0xc0);       /* then modem status */
	assert_int_equal(irq_level, 1);
	assert_int_equal(in8(MSR), 0x80 | 0x03); /* DCD from OUT2; CTS, DSR fell */
	assert_int_equal(in8(IIR), 0xc1);
	assert_int_equal(irq_level, 0);
}

static void test_fifo_and_flow_control(void **state)
{
	(void)state;
	uint8_t buf[20];
	for (int i = 0; i < 20; i++)
		buf[i] = (uint8_t)i;
	out8(FCR, 0x07);
	assert_int_equal(serial_receive(fx->s, buf, 20), 16);
	struct console_stats cs;
	console_stats(fx->con, &cs);
	assert_true(cs.input_paused);
	assert_int_equal(in8(LSR) & 0x03, 0x01);        /* DR, no overrun */
	for (int i = 0; i < 7; i++)
		assert_int_equal(in8(RBR), i);
	console_stats(fx->con, &cs);
	assert_true(cs.input_paused);                   /* 9 left: above half */
	assert_int_equal(in8(RBR), 7);
	console_stats(fx->con, &cs);
	assert_false(cs.input_paused);                  /* half empty: resumed */
	assert_int_equal(serial_receive(fx->s, buf + 16, 4), 4);
	for (int i = 8; i < 20; i++)
		assert_int_equal(in8(RBR), i);
	assert_int_equal(in8(LSR), 0x60);
	struct serial_stats st;
	serial_stats(fx->s, &st);
	assert_int_equal(st.rx_bytes, 20);
	assert_int_equal(st.overruns, 0);
}

static void test_fifo_reset(void **state)
{
	(void)state;
	uint8_t buf[16] = { 0 };
	out8(FCR, 0x01);
	assert_int_equal(serial_receive(fx->s, buf, 16), 16);
	out8(FCR, 0x03);        /* rx reset */
	assert_int_equal(in8(LSR) & 0x01, 0);
	assert_int_equal(serial_receive(fx->s, buf, 3), 3);
	out8(FCR, 0x00);        /* leaving FIFO mode empties it too */
	assert_int_equal(in8(LSR) & 0x01, 0);
	assert_int_equal(in8(IIR), 0x01);       /* no 0xc0 without FIFO */
}

static void test_no_fifo_mode(void **state)
{
	(void)state;
	assert_int_equal(serial_receive(fx->s, (const uint8_t *)"ab", 2), 1);
	assert_int_equal(in8(RBR), 'a');
	assert_int_equal(serial_receive(fx->s, (const uint8_t *)"b", 1), 1);
	assert_int_equal(in8(RBR), 'b');
	/* loopback overrun: the lone RBR is overwritten */
	out8(MCR, 0x10);
	out8(RBR, 'x');
	out8(RBR, 'y');
	assert_int_equal(in8(LSR), 0x63);
	assert_int_equal(in8(LSR), 0x61);       /* OE cleared by the read */
	assert_int_equal(in8(RBR), 'y');
	struct serial_stats st;
	serial_stats(fx->s, &st);
	assert_int_equal(st.overruns, 1);
	assert_int_equal(st.tx_bytes, 0);       /* loopback sends nothing */
}

static void test_dlab(void **state)
{
	(void)state;
	out8(IER, 0x05);
	out8(LCR, 0x83);
	assert_int_equal(in8(RBR), 0x0c);       /* reset divisor: 9600 baud */
	out8(RBR, 0x01);
	out8(IER, 0x02);
	assert_int_equal(in8(RBR), 0x01);
	assert_int_equal(in8(IER), 0x02);
	out8(LCR, 0x03);
	assert_int_equal(in8(IER), 0x05);       /* IER untouched */
	assert_int_equal(in8(LCR), 0x03);
	out8(LCR, 0x83);
	assert_int_equal(in8(RBR), 0x01);
	assert_int_equal(in8(IER), 0x02);
	char buf[8];
	assert_int_equal(file_contents(buf, sizeof(buf)), 0);  /* no output */
	out8(IER, 0xff);        /* only four IER bits exist */
	out8(LCR, 0x03);
	out8(IER, 0xff);
	assert_int_equal(in8(IER), 0x0f);
}

static void test_loopback_msr(void **state)
{
	(void)state;
	assert_int_equal(in8(MSR), 0xb0);
	out8(MCR, 0x1a);        /* Linux's check: RTS|OUT2 -> CTS|DCD */
	assert_int_equal(in8(MSR) & 0xf0, 0x90);
	out8(MCR, 0x1f);
	assert_int_equal(in8(MSR), 0xf0 | 0x02);        /* DSR rose: DDSR; RI rising: no TERI */
	out8(MCR, 0x1b);        /* OUT1 off: RI trailing edge */
	assert_int_equal(in8(MSR), 0xb0 | 0x04);
	assert_int_equal(in8(MSR), 0xb0);
	out8(MCR, 0x00);        /* out of loopback: CTS DSR DCD again */
	assert_int_equal(in8(MSR), 0xb0);
	assert_int_equal(in8(MCR), 0x00);
	out8(MCR, 0xff);
	assert_int_equal(in8(MCR), 0x1f);
	out8(MCR, 0x00);
	/* console input is disconnected in loopback */
	out8(MCR, 0x10);
	assert_int_equal(serial_receive(fx->s, (const uint8_t *)"z", 1), 0);
	struct console_stats cs;
	console_stats(fx->con, &cs);
	assert_true(cs.input_paused);
	out8(MCR, 0x00);
	console_stats(fx->con, &cs);
	assert_false(cs.input_paused);
}

static void test_out2_gating(void **state)
{
	(void)state;
	out8(IER, 0x01);
	assert_int_equal(serial_receive(fx->s, (const uint8_t *)"q", 1), 1);
	assert_int_equal(irq_calls, 0);         /* pending, but OUT2 clear */
	out8(MCR, 0x08);
	assert_int_equal(irq_level, 1);
	assert_int_equal(irq_calls, 1);
	out8(MCR, 0x00);
	assert_int_equal(irq_level, 0);
	out8(MCR, 0x08);
	assert_int_equal(irq_level, 1);
	assert_int_equal(in8(IIR), 0x04);
	assert_int_equal(in8(RBR), 'q');
	assert_int_equal(irq_level, 0);
	assert_int_equal(irq_calls, 4);
	struct serial_stats st;
	serial_stats(fx->s, &st);
	assert_int_equal(st.interrupts, 2);
}

static void test_level_transitions(void **state)
{
	(void)state;
	out8(MCR, 0x08);
	out8(IER, 0x03);
	assert_int_equal(irq_calls, 1);
	assert_int_equal(irq_level, 1);
	/* more sources while the line is high: no new calls */
	assert_int_equal(serial_receive(fx->s, (const uint8_t *)"x", 1), 1);
	out8(RBR, '1');
	out8(SCR, 0x5a);
	assert_int_equal(irq_calls, 1);
	assert_int_equal(in8(IIR), 0x04);
	assert_int_equal(in8(RBR), 'x');
	assert_int_equal(irq_level, 1);         /* THRE still pending */
	assert_int_equal(in8(IIR), 0x02);
	assert_int_equal(irq_level, 0);
	assert_int_equal(irq_calls, 2);
	out8(IER, 0x00);
	out8(RBR, '2');
	assert_int_equal(irq_calls, 2);         /* disabled: no interrupt */
	out8(IER, 0x02);
	assert_int_equal(irq_calls, 3);
	assert_int_equal(in8(SCR), 0x5a);
}

static void test_wide_access(void **state)
{
	(void)state;
	uint16_t w = 0x1234;
	assert_true(bus_access(&fx->vm.pio, SCR, &w, 2, true));  /* byte 2 falls off */
	assert_int_equal(in8(SCR), 0x34);
	uint32_t d = 0;
	assert_true(bus_access(&fx->vm.pio, LSR, &d, 4, false));
	assert_int_equal(d, 0xff34b060);        /* LSR MSR SCR, then nothing */
}

/* ---- i8042 and debug-exit ---- */

static void test_i8042(void **state)
{
	(void)state;
	assert_int_equal(i8042_init(&fx->vm), 0);
	assert_int_equal(in8(0x64) & 0x05, 0x04);       /* sys flag, no data */
	out8(0x64, 0xaa);
	assert_int_equal(in8(0x64) & 0x01, 0x01);
	assert_int_equal(in8(0x60), 0x55);
	assert_int_equal(in8(0x64) & 0x01, 0x00);
	out8(0x64, 0x20);
	assert_int_equal(in8(0x60), 0x45);
	out8(0x64, 0x60);
	out8(0x60, 0x65);
	out8(0x64, 0x20);
	assert_int_equal(in8(0x60), 0x65);
	out8(0x64, 0xad);
	out8(0x64, 0x20);
	assert_int_equal(in8(0x60), 0x75);
	out8(0x64, 0xae);
	out8(0x64, 0xd0);
	assert_int_equal(in8(0x60), 0x03);
	out8(0x64, 0xd1);
	out8(0x60, 0x03);               /* reset line kept high */
	assert_int_equal(stop_calls, 0);
	out8(0x64, 0xd1);
	out8(0x60, 0x02);
	assert_int_equal(stop_calls, 1);
	assert_int_equal(stop_why, VM_STOP_RESET);
	out8(0x64, 0xff);               /* pulses nothing */
	assert_int_equal(stop_calls, 1);
	out8(0x64, 0xfe);
	assert_int_equal(stop_calls, 2);
	assert_int_equal(stop_status, 0);
	assert_int_equal(in8(0x92), 0x02);
	out8(0x92, 0x02);
	assert_int_equal(stop_calls, 2);
	out8(0x92, 0x03);
	assert_int_equal(stop_calls, 3);
	assert_int_equal(stop_why, VM_STOP_RESET);
	assert_int_equal(i8042_init(&fx->vm), -1);      /* ports taken */
}

static void test_debug_exit(void **state)
{
	(void)state;
	assert_int_equal(debug_exit_init(&fx->vm), 0);
	out8(0xf4, 0x10);
	assert_int_equal(stop_why, VM_STOP_DEBUG_EXIT);
	assert_int_equal(stop_status, 0x21);
	uint16_t w = 0x0102;
	assert_true(bus_access(&fx->vm.pio, 0xf4, &w, 2, true));
	assert_int_equal(stop_status, 0x205);
	uint32_t d = 0;
	assert_true(bus_access(&fx->vm.pio, 0xf4, &d, 4, true));
	assert_int_equal(stop_status, 1);
	assert_int_equal(stop_calls, 3);
	assert_int_equal(debug_exit_init(&fx->vm), -1);
}

/* ---- console backends ---- */

static void test_console_errors(void **state)
{
	(void)state;
	assert_null(console_open(SERIAL_UNIX, "/nonexistent-vmk/dir/sock"));
	assert_string_equal(console_error(),
		"cannot listen on unix:/nonexistent-vmk/dir/sock: No such file or directory");
	assert_null(console_open(SERIAL_FILE, "/nonexistent-vmk/out"));
	assert_string_equal(console_error(),
		"cannot open file:/nonexistent-vmk/out: No such file or directory");
	struct console *none = console_open(SERIAL_NONE, NULL);
	assert_non_null(none);
	console_write(none, (const uint8_t *)"x", 1);
	console_close(none);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reads exactly len bytes from fd within two seconds. */
static void read_exact(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	double end = now() + 2;
	while (got < len && now() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = read(fd, buf + got, len - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_int_equal(got, len);
}

/* Reads len bytes from the UART as a guest would, within two seconds. */
static void uart_read_exact(uint8_t *buf, size_t len)
{
	size_t got = 0;
	double end = now() + 2;
	while (got < len && now() < end) {
		if (in8(LSR) & 0x01)
			buf[got++] = in8(RBR);
		else
			usleep(1000);
	}
	assert_int_equal(got, len);
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void *loop_thread(void *arg)
{
	(void)arg;
	evloop_run();
	return NULL;
}

static uint8_t big[70000], back[CONSOLE_RING_SIZE];

/* 70000 bytes with no client: the next client gets the newest 64 KiB. */
static int unix_attach_replay(struct console *con, const char *path)
{
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	console_write(con, big, sizeof(big));
	int c = connect_unix(path);
	read_exact(c, back, sizeof(back));
	assert_memory_equal(back, big + sizeof(big) - sizeof(back), sizeof(back));
	return c;
}

/* Output while attached; 100 bytes of input need flow control. */
static void unix_both_ways(int c)
{
	out8(RBR, 'o');
	out8(RBR, 'k');
	read_exact(c, back, 2);
	assert_memory_equal(back, "ok", 2);
	out8(FCR, 0x01);
	assert_int_equal(write(c, big, 100), 100);
	uart_read_exact(back, 100);
	assert_memory_equal(back, big, 100);
}

/* A second client replaces the first, which sees end of file. */
static int unix_replace(const char *path, int old)
{
	int c = connect_unix(path);
	char ch;
	struct pollfd p = { .fd = old, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(read(old, &ch, 1), 0);
	assert_int_equal(write(c, "hey", 3), 3);
	uart_read_exact(back, 3);
	assert_memory_equal(back, "hey", 3);
	return c;
}

static void test_console_unix(void **state)
{
	(void)state;
	char dir[] = "/tmp/vmk-con-XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/console.sock", dir);
	assert_int_equal(evloop_init(), 0);
	struct console *con = console_open(SERIAL_UNIX, path);
	assert_non_null(con);
	struct fixture *saved = fx, f2 = { 0 };
	f2.s = serial_init(&f2.vm, COM1, 4, con);
	fx = &f2;
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, loop_thread, NULL), 0);

	int c1 = unix_attach_replay(con, path);
	unix_both_ways(c1);
	int c2 = unix_replace(path, c1);
	struct console_stats cs;
	console_stats(con, &cs);
	assert_true(cs.client);
	assert_int_equal(cs.in_bytes, 103);
	assert_int_equal(cs.out_dropped, sizeof(big) - CONSOLE_RING_SIZE);

	evloop_stop();
	pthread_join(t, NULL);
	serial_free(f2.s);
	console_close(con);
	assert_int_equal(access(path, F_OK), -1);       /* socket file removed */
	close(c1);
	close(c2);
	rmdir(dir);
	fx = saved;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_to_console, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ports_claimed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_clear_on_iir_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iir_priorities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_and_flow_control, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_fifo_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dlab, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback_msr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out2_gating, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_transitions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wide_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_i8042, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debug_exit, setup, teardown),
		cmocka_unit_test(test_console_errors),
		cmocka_unit_test(test_console_unix),
	};
	return cmocka_run_group_tests_name("serial", tests, NULL, NULL);
}
