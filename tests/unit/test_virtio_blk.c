/*
 * Unit tests for virtio-blk (src/vmm/devices/virtio/blk.c) on the
 * virtio-mmio transport.
 *
 * A fake VM (guest RAM = a malloc'd buffer in a gmem, an MMIO bus, stub
 * slot/irq functions) gets a virtio-blk device backed by a temporary
 * 64-sector image whose sector i is filled with the byte i + 1.  The test
 * plays the guest driver through bus_access() on the register window and
 * builds requests in guest RAM: header, data and status descriptors in
 * the usual layout and in others the spec allows.
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

#include "config.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/virtio_defs.h"
#include "vm.h"

#include "fake_evloop.h"
#include "fake_vm.h"
#include "virtq_driver.h"

#define RAM_SIZE (1u << 20)
#define DESC_GPA 0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA 0x3000
#define HDR_GPA 0x10000
#define DATA_GPA 0x20000
#define STATUS_GPA 0x40000
#define QSIZE 16
#define SECTORS 64

/* ---- driver side (../support/virtq_driver.h) ---- */

static struct vdrv drv;
static struct vqd vq = { .size = QSIZE, .desc = DESC_GPA, .avail = AVAIL_GPA,
			 .used = USED_GPA };
static uint16_t used_seen;
static char image[] = "/tmp/vmk-test-blk-XXXXXX";
static int image_fd = -1;

static uint32_t rd(uint64_t off)
{
	return vdrv_rd(&drv, off);
}

static void wr(uint64_t off, uint32_t v)
{
	vdrv_wr(&drv, off, v);
}

static uint64_t irqs(void)
{
	return fake_vm_irqfd_count(0);
}

static void handshake(uint64_t features)
{
	vqd_reset(&vq);
	used_seen = 0;
	memset(fvm.ram, 0, 0x4000);
	vdrv_negotiate(&drv, features);
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	vdrv_setup_queue(&drv, 0, &vq);
	vdrv_driver_ok(&drv);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

static const uint64_t std_features = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
	VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
	VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);

/* Writes a chain of n segments, makes it available and kicks queue 0. */
static void submit(const struct vqd_seg *s, unsigned int n)
{
	vqd_publish(&vq, vqd_put_chain(&vq, s, n));
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* The used length of the next used entry (which must exist). */
static uint32_t take_used(void)
{
	assert_int_equal(vqd_used_idx(&vq), (uint16_t)(used_seen + 1));
	return vqd_used_len(&vq, used_seen++);
}

static void put_hdr(uint64_t gpa, uint32_t type, uint64_t sector)
{
	uint32_t reserved = 0;
	memcpy(fvm.ram + gpa, &type, 4);
	memcpy(fvm.ram + gpa + 4, &reserved, 4);
	memcpy(fvm.ram + gpa + 8, &sector, 8);
}

/* header / data / status, the layout Linux uses; returns the status. */
static uint8_t request(uint32_t type, uint64_t sector, uint32_t len,
		       bool data_write, uint32_t *used)
{
	struct vqd_seg s[3] = {
		{ HDR_GPA, 16, false },
		{ DATA_GPA, len, data_write },
		{ STATUS_GPA, 1, true },
	};
	put_hdr(HDR_GPA, type, sector);
	fvm.ram[STATUS_GPA] = 0xee;
	if (len)
		submit(s, 3);
	else
		submit((struct vqd_seg[]){ s[0], s[2] }, 2);
	*used = take_used();
	return fvm.ram[STATUS_GPA];
}

static uint8_t file_byte(uint64_t off)
{
	uint8_t b = 0;
	assert_int_equal(pread(image_fd, &b, 1, (off_t)off), 1);
	return b;
}

static uint64_t stat_of(const char *name)
{
	uint64_t v = 0;

	if (virtio_stat(virtio_mmio_get(0), name, &v) < 0)
		fail_msg("no stat %s", name);
	return v;
}

/* ---- fixtures ---- */

static int make_vm(bool readonly)
{
	struct disk_config disk = { .path = image, .readonly = readonly };
	char err[256];
	uint8_t sector[512];

	assert_int_equal(fake_vm_init(RAM_SIZE), 0);
	strcpy(image, "/tmp/vmk-test-blk-XXXXXX");
	image_fd = mkstemp(image);
	assert_true(image_fd >= 0);
	for (int i = 0; i < SECTORS; i++) {
		memset(sector, i + 1, sizeof(sector));
		assert_int_equal(write(image_fd, sector, sizeof(sector)), 512);
	}
	assert_int_equal(virtio_blk_init(&fvm.vm, &disk, err, sizeof(err)), 0);
	drv.base = virtio_mmio_base(virtio_mmio_get(0));
	return 0;
}

static int setup_rw(void **state)
{
	(void)state;
	return make_vm(false);
}

static int setup_ro(void **state)
{
	(void)state;
	return make_vm(true);
}

static int teardown(void **state)
{
	(void)state;
	virtio_mmio_destroy_all();
	fake_evloop_reset();
	close(image_fd);
	unlink(image);
	fake_vm_free();
	return 0;
}

/* ---- tests ---- */

static void test_config(void **state)
{
	(void)state;
	uint64_t cap = 0;
	uint32_t v = 0;

	assert_int_equal(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	uint32_t f = rd(VIRTIO_MMIO_DEVICE_FEATURES);
	assert_true(f & (1u << VIRTIO_BLK_F_SEG_MAX));
	assert_true(f & (1u << VIRTIO_BLK_F_BLK_SIZE));
	assert_true(f & (1u << VIRTIO_BLK_F_FLUSH));
	assert_false(f & (1u << VIRTIO_BLK_F_RO));
	bus_access(&fvm.vm.mmio, drv.base + 0x100, &cap, 8, false);
	assert_int_equal(cap, SECTORS);
	bus_access(&fvm.vm.mmio, drv.base + 0x100 + 12, &v, 4, false);
	assert_int_equal(v, 254);
	bus_access(&fvm.vm.mmio, drv.base + 0x100 + 20, &v, 4, false);
	assert_int_equal(v, 512);
}

static void test_read(void **state)
{
	(void)state;
	uint32_t used;

	handshake(std_features);
	assert_int_equal(request(VIRTIO_BLK_T_IN, 3, 1024, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1025);
	assert_int_equal(fvm.ram[DATA_GPA], 4);
	assert_int_equal(fvm.ram[DATA_GPA + 511], 4);
	assert_int_equal(fvm.ram[DATA_GPA + 512], 5);
	assert_int_equal(fvm.ram[DATA_GPA + 1023], 5);
	assert_int_equal(irqs(), 1);
	assert_int_equal(stat_of("read_requests"), 1);
	assert_int_equal(stat_of("read_bytes"), 1024);
	/* the last sector */
	assert_int_equal(request(VIRTIO_BLK_T_IN, SECTORS - 1, 512, true, &used),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(fvm.ram[DATA_GPA + 100], SECTORS);
}

static void test_read_other_layouts(void **state)
{
	(void)state;
	/* header split in two; data and status share one buffer */
	struct vqd_seg s[3] = {
		{ HDR_GPA, 10, false },
		{ HDR_GPA + 10, 6, false },
		{ DATA_GPA, 513, true },
	};
	handshake(std_features | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	put_hdr(HDR_GPA, VIRTIO_BLK_T_IN, 7);
	fvm.ram[DATA_GPA + 512] = 0xee;
	submit(s, 3);
	assert_int_equal(take_used(), 513);
	assert_int_equal(fvm.ram[DATA_GPA], 8);
	assert_int_equal(fvm.ram[DATA_GPA + 511], 8);
	assert_int_equal(fvm.ram[DATA_GPA + 512], VIRTIO_BLK_S_OK);

	/* data scattered over three buffers, one spanning a sector boundary */
	struct vqd_seg t[5] = {
		{ HDR_GPA, 16, false },
		{ DATA_GPA, 100, true },
		{ DATA_GPA + 0x1000, 700, true },
		{ DATA_GPA + 0x2000, 224, true },
		{ STATUS_GPA, 1, true },
	};
	put_hdr(HDR_GPA, VIRTIO_BLK_T_IN, 10);
	submit(t, 5);
	assert_int_equal(take_used(), 1025);
	assert_int_equal(fvm.ram[DATA_GPA + 99], 11);
	assert_int_equal(fvm.ram[DATA_GPA + 0x1000 + 411], 11);
	assert_int_equal(fvm.ram[DATA_GPA + 0x1000 + 412], 12);
	assert_int_equal(fvm.ram[DATA_GPA + 0x2000 + 223], 12);
	assert_int_equal(fvm.ram[STATUS_GPA], VIRTIO_BLK_S_OK);
}

static void test_write(void **state)
{
	(void)state;
	uint32_t used;

	handshake(std_features);
	memset(fvm.ram + DATA_GPA, 0xab, 1024);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 5, 1024, false, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	assert_int_equal(file_byte(4 * 512 + 511), 5);
	assert_int_equal(file_byte(5 * 512), 0xab);
	assert_int_equal(file_byte(6 * 512 + 511), 0xab);
	assert_int_equal(file_byte(7 * 512), 8);
	assert_int_equal(stat_of("write_requests"), 1);
	assert_int_equal(stat_of("write_bytes"), 1024);

	/* header and data in one readable buffer */
	put_hdr(HDR_GPA, VIRTIO_BLK_T_OUT, 9);
	memset(fvm.ram + HDR_GPA + 16, 0xcd, 512);
	struct vqd_seg s[2] = { { HDR_GPA, 16 + 512, false }, { STATUS_GPA, 1, true } };
	submit(s, 2);
	assert_int_equal(take_used(), 1);
	assert_int_equal(fvm.ram[STATUS_GPA], VIRTIO_BLK_S_OK);
	assert_int_equal(file_byte(9 * 512 + 17), 0xcd);
	assert_int_equal(file_byte(10 * 512), 11);
}

static void test_flush_get_id_unsupp(void **state)
{
	(void)state;
	uint32_t used;

	handshake(std_features);
	assert_int_equal(request(VIRTIO_BLK_T_FLUSH, 0, 0, false, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	assert_int_equal(stat_of("flushes"), 1);

	memset(fvm.ram + DATA_GPA, 0xff, 32);
	assert_int_equal(request(VIRTIO_BLK_T_GET_ID, 0, 20, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 21);
	assert_memory_equal(fvm.ram + DATA_GPA, "vmk-", 4);
	assert_int_equal(fvm.ram[DATA_GPA + 20], 0xff);

	assert_int_equal(request(99, 0, 512, true, &used), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(used, 1);
	assert_int_equal(stat_of("unsupported_requests"), 1);
}

static void test_out_of_range(void **state)
{
	(void)state;
	uint32_t used;

	handshake(std_features);
	memset(fvm.ram + DATA_GPA, 0x5a, 1024);
	assert_int_equal(request(VIRTIO_BLK_T_IN, SECTORS - 1, 1024, true, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_int_equal(fvm.ram[DATA_GPA], 0x5a);  /* nothing read */
	assert_int_equal(request(VIRTIO_BLK_T_OUT, SECTORS, 512, false, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(VIRTIO_BLK_T_IN, UINT64_MAX / 512, 512, true, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, UINT64_MAX, 512, false, &used),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(stat_of("request_errors"), 4);
	/* file untouched */
	assert_int_equal(file_byte(SECTORS * 512 - 1), SECTORS);
	assert_int_equal(lseek(image_fd, 0, SEEK_END), SECTORS * 512);
	/* still working */
	assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 512, true, &used), VIRTIO_BLK_S_OK);
}

static void test_malformed(void **state)
{
	(void)state;
	uint32_t used;

	handshake(std_features);
	/* header too short */
	put_hdr(HDR_GPA, VIRTIO_BLK_T_IN, 0);
	struct vqd_seg a[3] = { { HDR_GPA, 8, false }, { DATA_GPA, 512, true },
				{ STATUS_GPA, 1, true } };
	fvm.ram[STATUS_GPA] = 0xee;
	submit(a, 3);
	assert_int_equal(take_used(), 1);
	assert_int_equal(fvm.ram[STATUS_GPA], VIRTIO_BLK_S_IOERR);

	/* data not a multiple of 512 */
	assert_int_equal(request(VIRTIO_BLK_T_IN, 0, 100, true, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 0, 700, false, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(file_byte(0), 1);

	/* no status byte at all: returned with nothing written */
	put_hdr(HDR_GPA, VIRTIO_BLK_T_OUT, 0);
	struct vqd_seg b[2] = { { HDR_GPA, 16, false }, { DATA_GPA, 512, false } };
	submit(b, 2);
	assert_int_equal(take_used(), 0);
	assert_int_equal(file_byte(0), 1);

	/* the device carries on */
	assert_int_equal(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
	assert_int_equal(request(VIRTIO_BLK_T_IN, 1, 512, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(fvm.ram[DATA_GPA], 2);
	assert_int_equal(stat_of("request_errors"), 4);
}

static void test_readonly(void **state)
{
	(void)state;
	uint32_t used;

	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_true(rd(VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_BLK_F_RO));
	handshake(std_features | VIRTIO_BIT(VIRTIO_BLK_F_RO));
	memset(fvm.ram + DATA_GPA, 0x77, 512);
	assert_int_equal(request(VIRTIO_BLK_T_OUT, 2, 512, false, &used), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used, 1);
	assert_int_equal(file_byte(2 * 512), 3);
	assert_int_equal(stat_of("write_requests"), 0);
	assert_int_equal(request(VIRTIO_BLK_T_IN, 2, 512, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(fvm.ram[DATA_GPA], 3);
	assert_int_equal(request(VIRTIO_BLK_T_FLUSH, 0, 0, false, &used), VIRTIO_BLK_S_OK);
}

static void test_broken_queue_and_reset(void **state)
{
	(void)state;
	uint32_t used;

	handshake(std_features);
	/* a data buffer outside guest RAM breaks the queue */
	put_hdr(HDR_GPA, VIRTIO_BLK_T_IN, 0);
	struct vqd_seg s[3] = { { HDR_GPA, 16, false }, { RAM_SIZE - 256, 512, true },
				{ STATUS_GPA, 1, true } };
	submit(s, 3);
	assert_true(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(vqd_used_idx(&vq), 0);
	assert_int_equal(irqs(), 1);

	/* stopped until reset: a good request is not served */
	vqd_reset(&vq);
	put_hdr(HDR_GPA, VIRTIO_BLK_T_IN, 1);
	submit((struct vqd_seg[]){ { HDR_GPA, 16, false }, { DATA_GPA, 512, true },
				   { STATUS_GPA, 1, true } }, 3);
	assert_int_equal(vqd_used_idx(&vq), 0);

	/* reset and renegotiate: works again */
	wr(VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(rd(VIRTIO_MMIO_STATUS), 0);
	handshake(std_features);
	assert_int_equal(request(VIRTIO_BLK_T_IN, 1, 512, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(fvm.ram[DATA_GPA], 2);
	assert_int_equal(stat_of("errors"), 1);
}

/*
 * A kick serves at most half a ring: a full ring of flushes (one chain
 * made available QSIZE times) gets half served on the kicking vCPU and
 * the rest on the I/O thread.
 */
static void test_budget_hands_the_rest_to_the_io_thread(void **state)
{
	(void)state;
	enum { N = QSIZE };

	handshake(std_features);
	put_hdr(HDR_GPA, VIRTIO_BLK_T_FLUSH, 0);
	struct vqd_seg s[2] = { { HDR_GPA, 16, false }, { STATUS_GPA, 1, true } };
	uint16_t head = vqd_put_chain(&vq, s, 2);
	for (unsigned int i = 0; i < N; i++)
		vqd_publish(&vq, head);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(vqd_used_idx(&vq), N / 2);
	assert_int_equal(stat_of("io_thread_handoffs"), 1);
	assert_int_equal(fake_evloop_run_ready(), 1);	/* the I/O thread's turn */
	assert_int_equal(vqd_used_idx(&vq), N);
	assert_int_equal(stat_of("flushes"), N);
	assert_int_equal(fvm.ram[STATUS_GPA], VIRTIO_BLK_S_OK);
	assert_int_equal(fake_evloop_run_ready(), 0);	/* nothing more to do */
}

static void test_open_errors(void **state)
{
	(void)state;
	struct disk_config disk = { .path = "/nonexistent/vmk-disk.img" };
	char err[256] = "";

	assert_int_equal(virtio_blk_init(&fvm.vm, &disk, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/vmk-disk.img"));
	assert_non_null(strstr(err, "No such file or directory"));
	assert_null(strchr(err, '\n'));

	disk.path = "/tmp";
	assert_int_equal(virtio_blk_init(&fvm.vm, &disk, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/tmp"));
	assert_int_equal(virtio_mmio_count(), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_read, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_read_other_layouts, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_write, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_flush_get_id_unsupp, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_readonly, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(test_broken_queue_and_reset, setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_budget_hands_the_rest_to_the_io_thread,
						setup_rw, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup_rw, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
