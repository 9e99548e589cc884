/*
 * Unit tests for the virtio-mmio transport (src/vmm/devices/virtio/mmio.c).
 *
 * A fake VM (guest RAM = a malloc'd buffer in a gmem, an MMIO bus, stub
 * slot/irq functions) hosts a fake device whose queue_notify pops every
 * chain and returns it.  The test plays the guest driver: it only ever
 * reaches the device through bus_access() on the register window, as a
 * vCPU would, and writes rings in guest RAM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/virtio_defs.h"
#include "vm.h"

#include "fake_vm.h"
#include "virtq_driver.h"

#define RAM_SIZE (1u << 20)
#define DESC_GPA 0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA 0x3000
#define DATA_GPA 0x10000
#define QSIZE 16

static bool use_irqfd;         /* else interrupts are pulses */

/* ---- fake device ---- */

struct fake_dev {
	struct virtio_mmio *t;
	uint8_t config[8];
	int notifies, activates, resets, chains;
	unsigned int last_q;
	uint32_t last_config_write;
	struct virtq_chain c;
};

static struct fake_dev fdev;

static uint64_t fake_features(void *d)
{
	(void)d;
	return VIRTIO_BIT(0) | VIRTIO_BIT(5);
}

static void fake_read_config(void *d, uint64_t off, void *data, unsigned int len)
{
	memcpy(data, ((struct fake_dev *)d)->config + off, len);
}

static void fake_write_config(void *d, uint64_t off, const void *data,
			      unsigned int len)
{
	struct fake_dev *f = d;
	f->last_config_write = 0;
	memcpy(&f->last_config_write, data, len);
	memcpy(f->config + off, data, len);
}

static void fake_notify(void *d, unsigned int q)
{
	struct fake_dev *f = d;

	f->notifies++;
	f->last_q = q;
	while (virtio_mmio_pop(f->t, q, &f->c) == 1) {
		f->chains++;
		virtio_mmio_push(f->t, q, f->c.head, (uint32_t)f->c.in_len);
	}
	virtio_mmio_notify_used(f->t, q);
}

static void fake_activate(void *d)
{
	((struct fake_dev *)d)->activates++;
}

static void fake_reset(void *d)
{
	((struct fake_dev *)d)->resets++;
}

static const struct virtio_device_ops fake_ops = {
	.name = "fake",
	.device_id = 42,
	.nr_queues = 2,
	.queue_max = 64,
	.config_size = 8,
	.features = fake_features,
	.read_config = fake_read_config,
	.write_config = fake_write_config,
	.queue_notify = fake_notify,
	.activate = fake_activate,
	.reset = fake_reset,
};

/* ---- driver side (../support/virtq_driver.h) ---- */

static struct vdrv drv;
static struct vqd vq = { .size = QSIZE, .desc = DESC_GPA, .avail = AVAIL_GPA,
			 .used = USED_GPA };

static uint32_t rd(uint64_t off)
{
	return vdrv_rd(&drv, off);
}

static void wr(uint64_t off, uint32_t v)
{
	vdrv_wr(&drv, off, v);
}

/* Interrupts raised since the last call. */
static uint64_t irq_count(void)
{
	uint64_t v = 0;

	if (!use_irqfd) {
		v = (uint64_t)fvm.pulses;
		fvm.pulses = 0;
		return v;
	}
	return fake_vm_irqfd_count(0);
}

/* Queue q from a driver that had not set it up: descriptors at desc. */
static void setup_queue(unsigned int q, uint64_t desc)
{
	struct vqd at = vq;

	at.desc = desc;
	wr(VIRTIO_MMIO_QUEUE_SEL, q);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	vdrv_setup_queue(&drv, q, &at);
}

/* Full handshake with queue 0 live; returns the status read back. */
static uint32_t handshake(uint64_t features)
{
	vdrv_negotiate(&drv, features);
	setup_queue(0, DESC_GPA);
	vqd_reset(&vq);
	vdrv_driver_ok(&drv);
	fdev.notifies = 0;      /* activation polls every live queue once */
	return rd(VIRTIO_MMIO_STATUS);
}

/* One descriptor (writable, len bytes) made available on queue 0. */
static void add_buffer(uint16_t desc, uint32_t len)
{
	vqd_put_desc(DESC_GPA, desc, DATA_GPA + 0x1000 * desc, len, VIRTQ_DESC_F_WRITE, 0);
	vqd_publish(&vq, desc);
}

/* ---- fixtures ---- */

static int setup(void **state)
{
	(void)state;
	memset(&fdev, 0, sizeof(fdev));
	assert_int_equal(fake_vm_init(RAM_SIZE), 0);
	fvm.irqfd_max = use_irqfd ? VM_MAX_VIRTIO : 0;
	fdev.config[0] = 0x11;
	fdev.config[7] = 0x77;
	fdev.t = virtio_mmio_create(&fvm.vm, &fake_ops, &fdev);
	assert_non_null(fdev.t);
	drv.base = virtio_mmio_base(fdev.t);
	return 0;
}

static int setup_irqfd(void **state)
{
	use_irqfd = true;
	return setup(state);
}

static int setup_pulse(void **state)
{
	use_irqfd = false;
	return setup(state);
}

static int teardown(void **state)
{
	(void)state;
	virtio_mmio_destroy_all();
	fake_vm_free();
	return 0;
}

/* ---- tests ---- */

static void test_identity(void **state)
{
	(void)state;
	assert_int_equal(drv.base, VM_VIRTIO_MMIO_BASE);
	assert_int_equal(virtio_mmio_irq(fdev.t), 5);
	assert_int_equal(fvm.vm.mmio.nr_ranges, 1);
	assert_int_equal(fvm.vm.mmio.range[0].len, 0x1000);
	assert_int_equal(rd(VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(VIRTIO_MMIO_VERSION), 2);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_ID), 42);
	assert_int_equal(rd(VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd(VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	assert_int_equal(virtio_mmio_count(), 1);
	assert_ptr_equal(virtio_mmio_get(0), fdev.t);
	assert_string_equal(virtio_mmio_name(fdev.t), "fake");
}

static void test_device_features(void **state)
{
	(void)state;
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES),
			 (1u << 0) | (1u << 5) | (1u << VIRTIO_F_RING_EVENT_IDX));
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), 1u << (VIRTIO_F_VERSION_1 - 32));
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

static void test_features_ok_checks(void **state)
{
	(void)state;
	/* no VERSION_1: FEATURES_OK does not stick */
	vdrv_negotiate(&drv, VIRTIO_BIT(0));
	assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	/* a bit we never offered */
	vdrv_negotiate(&drv, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(3));
	assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	/* a subset of the offer */
	vdrv_negotiate(&drv, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(5));
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(virtio_mmio_features(fdev.t),
			 VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(5));
	/* frozen once FEATURES_OK is set */
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 0x3);
	assert_int_equal(virtio_mmio_features(fdev.t),
			 VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(5));
	/* DRIVER_OK without a queue still activates */
	wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(fdev.activates, 1);
}

static void test_driver_ok_needs_features_ok(void **state)
{
	(void)state;
	vdrv_negotiate(&drv, VIRTIO_BIT(0));       /* refused */
	wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(fdev.activates, 0);
}

static void test_access_width(void **state)
{
	(void)state;
	uint16_t h = 0xbeef;
	uint8_t b = VIRTIO_STATUS_ACKNOWLEDGE;
	uint64_t q = ~0ull;

	bus_access(&fvm.vm.mmio, drv.base + VIRTIO_MMIO_MAGIC_VALUE, &h, 2, false);
	assert_int_equal(h, 0);
	bus_access(&fvm.vm.mmio, drv.base + VIRTIO_MMIO_MAGIC_VALUE, &q, 8, false);
	assert_int_equal(q, 0);
	bus_access(&fvm.vm.mmio, drv.base + VIRTIO_MMIO_STATUS, &b, 1, true);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	/* misaligned 4-byte access */
	uint32_t v = 0x1234;
	bus_access(&fvm.vm.mmio, drv.base + VIRTIO_MMIO_STATUS + 1, &v, 4, false);
	assert_int_equal(v, 0);
}

static void test_config_space(void **state)
{
	(void)state;
	uint32_t v = 0;
	uint8_t b = 0;
	uint64_t q = 0;

	bus_access(&fvm.vm.mmio, drv.base + 0x100, &v, 4, false);
	assert_int_equal(v, 0x11);
	bus_access(&fvm.vm.mmio, drv.base + 0x107, &b, 1, false);
	assert_int_equal(b, 0x77);
	bus_access(&fvm.vm.mmio, drv.base + 0x100, &q, 8, false);
	assert_int_equal(q, 0x7700000000000011ull);
	/* past the end of config space: reads 0, writes dropped */
	v = 0xffffffff;
	bus_access(&fvm.vm.mmio, drv.base + 0x106, &v, 4, false);
	assert_int_equal(v, 0);
	bus_access(&fvm.vm.mmio, drv.base + 0xffc, &v, 4, false);
	assert_int_equal(v, 0);
	v = 0xabcd;
	bus_access(&fvm.vm.mmio, drv.base + 0x106, &v, 4, true);
	assert_int_equal(fdev.last_config_write, 0);
	bus_access(&fvm.vm.mmio, drv.base + 0x102, &v, 2, true);
	assert_int_equal(fdev.last_config_write, 0xabcd);
	assert_int_equal(rd(VIRTIO_MMIO_CONFIG_GENERATION), 0);
}

static void test_queue_registers(void **state)
{
	(void)state;
	struct virtq *q = virtio_mmio_queue(fdev.t, 0);

	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
	wr(VIRTIO_MMIO_QUEUE_SEL, 2);   /* no such queue */
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);

	assert_int_equal(handshake(VIRTIO_BIT(VIRTIO_F_VERSION_1)) &
			 VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	assert_int_equal(q->size, QSIZE);
	assert_int_equal(q->desc_gpa, DESC_GPA);
	/* ignored while the queue is ready */
	wr(VIRTIO_MMIO_QUEUE_NUM, 32);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x8000);
	assert_int_equal(q->size, QSIZE);
	assert_int_equal(q->desc_gpa, DESC_GPA);
	/* QueueReady=0 stops it; then the registers take writes again */
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(q->desc_gpa, DESC_GPA);
	wr(VIRTIO_MMIO_QUEUE_NUM, 1000); /* above QueueNumMax */
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_bad_ring_address(void **state)
{
	(void)state;
	vdrv_negotiate(&drv, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(1, RAM_SIZE - 8);   /* descriptor table past RAM */
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(irq_count(), 1);
}

/* stderr lines written while fn runs */
static int stderr_lines(void (*fn)(void))
{
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	int lines = 0, ch;
	while ((ch = fgetc(tmp)) != EOF)
		lines += ch == '\n';
	fclose(tmp);
	return lines;
}

static void bad_queue_ready_loop(void)
{
	for (int i = 0; i < 1000; i++)
		wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

static void bad_chain_reset_loop(void)
{
	for (int i = 0; i < 1000; i++) {
		handshake(VIRTIO_BIT(VIRTIO_F_VERSION_1));
		vqd_reset(&vq);
		add_buffer(0, 128);
		guest_put16(AVAIL_GPA + 4, QSIZE + 1);        /* head out of range */
		wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	}
}

/*
 * A guest repeating what makes the transport warn (a bad ring on every
 * QueueReady write; a bad chain after every reset) gets a bounded number
 * of lines into the host's log, not one per try.
 */
static void test_warnings_rate_limited(void **state)
{
	(void)state;
	vdrv_negotiate(&drv, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(0, RAM_SIZE - 8);   /* descriptor table past RAM */
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	/* that was the first warning (and its needs-reset line) of 10 */
	int n = stderr_lines(bad_queue_ready_loop);
	assert_in_range(n, 1, 10);
	n = stderr_lines(bad_chain_reset_loop);
	assert_in_range(n, 0, 10);
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_notify_and_interrupt(void **state)
{
	(void)state;
	handshake(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_int_equal(fdev.activates, 1);
	add_buffer(0, 128);
	add_buffer(1, 64);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fdev.notifies, 1);
	assert_int_equal(fdev.chains, 2);
	assert_int_equal(guest_get16(USED_GPA + 2), 2);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	assert_int_equal(irq_count(), 1);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);

	/* NO_INTERRUPT: used entries but no interrupt */
	guest_put16(AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	add_buffer(2, 32);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(guest_get16(USED_GPA + 2), 3);
	assert_int_equal(irq_count(), 0);

	/* a queue that is not ready, or out of range: no callback */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 7);
	assert_int_equal(fdev.notifies, 2);

	struct stat_counter st[VIRTIO_MAX_STATS];
	unsigned int n = virtio_mmio_stats(fdev.t, st, VIRTIO_MAX_STATS);
	assert_int_equal(n, 3);
	assert_string_equal(st[0].name, "notifications");
	assert_int_equal(st[0].value, 4);
	assert_int_equal(st[1].value, 1);
	assert_int_equal(st[2].value, 0);
}

static void test_event_idx(void **state)
{
	(void)state;
	handshake(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	assert_true(virtio_mmio_queue(fdev.t, 0)->event_idx);
	/* used_event = 1: interrupt only once used idx passes 1 */
	guest_put16(AVAIL_GPA + 4 + 2 * QSIZE, 1);
	add_buffer(0, 16);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(irq_count(), 1);       /* first one always */
	add_buffer(1, 16);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(irq_count(), 1);       /* 1 -> 2 crosses used_event 1 */
	add_buffer(2, 16);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(irq_count(), 0);
	/* device asks for the next kick through avail_event */
	assert_int_equal(guest_get16(USED_GPA + 4 + 8 * QSIZE), 3);
}

static void test_notify_before_driver_ok(void **state)
{
	(void)state;
	vdrv_negotiate(&drv, VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(0, DESC_GPA);
	vqd_reset(&vq);
	add_buffer(0, 16);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fdev.chains, 0);
	/* picked up at DRIVER_OK */
	wr(VIRTIO_MMIO_STATUS, rd(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(fdev.chains, 1);
}

static void test_broken_queue_needs_reset(void **state)
{
	(void)state;
	handshake(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	/* avail idx jumps by more than the queue size */
	guest_put16(AVAIL_GPA + 2, QSIZE + 5);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	uint32_t st = rd(VIRTIO_MMIO_STATUS);
	assert_true(st & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(st & VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(irq_count(), 1);

	/* the driver cannot clear NEEDS_RESET, and nothing runs any more */
	wr(VIRTIO_MMIO_STATUS, st & ~VIRTIO_STATUS_NEEDS_RESET);
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fdev.notifies, 1);

	/* reset clears everything; the device works again */
	int resets = fdev.resets;
	wr(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(fdev.resets, resets + 1);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	assert_int_equal(virtio_mmio_features(fdev.t), 0);

	memset(fvm.ram + USED_GPA, 0, 0x1000);
	guest_put16(AVAIL_GPA + 2, 0);
	handshake(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_false(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	add_buffer(3, 16);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(fdev.chains, 1);
	assert_int_equal(guest_get16(USED_GPA + 2), 1);
	assert_int_equal(fdev.activates, 2);
}

static void test_descriptor_loop(void **state)
{
	(void)state;
	handshake(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	add_buffer(0, 16);
	/* descriptor 0 chains to itself */
	guest_put16(DESC_GPA + 12, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(fdev.chains, 0);
}

static void test_second_device(void **state)
{
	(void)state;
	struct fake_dev other = { 0 };
	other.t = virtio_mmio_create(&fvm.vm, &fake_ops, &other);
	assert_non_null(other.t);
	assert_int_equal(virtio_mmio_base(other.t), VM_VIRTIO_MMIO_BASE + 0x1000);
	assert_int_equal(virtio_mmio_irq(other.t), 6);
	assert_int_equal(virtio_mmio_count(), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup_irqfd, teardown),
		cmocka_unit_test_setup_teardown(test_device_features, setup_irqfd, teardown),
		cmocka_unit_test_setup_teardown(test_features_ok_checks, setup_irqfd, teardown),
		cmocka_unit_test_setup_teardown(test_driver_ok_needs_features_ok, setup_irqfd, teardown),
		cmocka_unit_test_setup_teardown(test_access_width, setup_irqfd, teardown),
		cmocka_unit_test_setup_teardown(test_config_space, setup_irqfd, teardown),
		cmocka_unit_test_setup_teardown(test_queue_registers, setup_irqfd, teardown),
		cmocka_unit_test_setup_teardown(test_bad_ring_address, setup_irqfd, teardown),
		cmocka_unit_test_setup_teardown(test_warnings_rate_limited, setup_irqfd, teardown),
		cmocka_unit_test_setup_teardown(test_notify_and_interrupt, setup_irqfd, teardown),
		cmocka_unit_test_setup_teardown(test_notify_and_interrupt, setup_pulse, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx, setup_irqfd, teardown),
		cmocka_unit_test_setup_teardown(test_notify_before_driver_ok, setup_irqfd, teardown),
		cmocka_unit_test_setup_teardown(test_broken_queue_needs_reset, setup_irqfd, teardown),
		cmocka_unit_test_setup_teardown(test_broken_queue_needs_reset, setup_pulse, teardown),
		cmocka_unit_test_setup_teardown(test_descriptor_loop, setup_irqfd, teardown),
		cmocka_unit_test_setup_teardown(test_second_device, setup_irqfd, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
