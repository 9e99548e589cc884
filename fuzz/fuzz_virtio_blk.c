/*
 * libFuzzer target for virtio-blk (src/vmm/devices/virtio/blk.c) on the
 * virtio-mmio transport (mmio.c), driven the way a hostile guest can:
 * register accesses of any width and value anywhere in the device's
 * 4 KiB window, arbitrary bytes in guest RAM (descriptor tables, rings,
 * request headers), and queue notifications.
 *
 * The fake VM is built once per process, as tests/unit/test_virtio_blk.c
 * builds it: RAM_SIZE bytes of guest RAM at guest-physical 0 (one heap
 * allocation of exactly that size, so ASan sees accesses past it), an
 * MMIO bus, stub slot / irq functions, and two virtio-blk devices on one
 * DISK_SECTORS-sector memfd opened through /proc/self/fd: device 0
 * read-write (interrupts through an eventfd), device 1 read-only
 * (interrupts through vm_pulse_irq).  Every input starts from the same
 * state: guest RAM zeroed, the disk refilled (sector i = byte i + 1,
 * mod 256; only after an input that wrote or shrank it) and
 * both devices reset by writing 0 to their Status register.
 *
 * Oracles besides ASan/UBSan:
 *  - preadv/pwritev are wrapped (-Wl,--wrap): every iovec the device
 *    hands the kernel must lie inside guest RAM (the kernel's own copies
 *    are invisible to ASan), and the file range must lie inside the disk;
 *  - the disk file never grows past its size at creation (the device's
 *    capacity), and the read-only device never writes;
 *  - every chain popped is pushed (last_avail == next_used after each
 *    input).
 *
 * FUZZ_VERBOSE=1 in the environment prints each device's status and
 * counters (cumulative over the process) after each input.
 *
 * Input: a script of operations, each an opcode byte then its operands
 * (little-endian); a truncated last operation is dropped.
 *
 *   op % 14:
 *   0  MMIO write   off:u16 (& 0xfff)  w:u8 (len = 1 + w % 8)  value:len bytes
 *   1  MMIO read    off:u16 (& 0xfff)  w:u8
 *   2  RAM write    gpa:u16  n:u8  bytes:n   (clipped at the end of RAM)
 *   3  notify       q:u16    (QueueNotify = q)
 *   4  register     r:u8 (off = 4 * (r % 64))  value:u32   (32-bit write)
 *   5  setup        flags:u8  log2size:u8  desc:u16  avail:u16  used:u16
 *                   the whole driver handshake for queue 0 at those
 *                   addresses (flags bit 0: EVENT_IDX, bit 1: offer
 *                   nothing but VERSION_1, bit 2: skip DRIVER_OK,
 *                   bit 3: RO bit, bit 4: skip FEATURES_OK)
 *   6  chain        n:u8 (1 + n % 4)  then n x {addr:u32 len:u32 flags:u8}
 *                   written at the next free descriptors, chained with
 *                   NEXT (flags bit 0 breaks the chain early, bit 1 is
 *                   WRITE, bit 2 INDIRECT, bit 7 keeps addr's high 16
 *                   bits, else addr &= 0xffff), then published and kicked
 *   7  request      type:u8  sector:u16  nsect:u8  layout:u8
 *                   a whole request in the harness's buffers: header at
 *                   HDR_GPA, nsect % 65 sectors of data at DATA_GPA
 *                   (clipped at the end of RAM), status at STATUS_GPA;
 *                   header, status and indirect table rotate through
 *                   REQ_SLOTS slots.  layout bit 0: data in two
 *                   descriptors, bit 1: through an indirect table,
 *                   bit 2: publish without kicking, bit 3: data length
 *                   off by one byte, bit 4: raw type byte (else
 *                   IN/OUT/FLUSH/GET_ID/99 by type % 5)
 *   8  reset        Status = 0
 *   9  ack          InterruptACK = InterruptStatus
 *   10 select       dev:u8 (device dev % 2 for the ops that follow)
 *   11 avail idx    idx:u16 written as the available index, and kicked
 *   12 big chain    type:u8 (IN, OUT by bit 0)  count:u16 (2 + count % 1100)
 *                   seglen:u16 (0 or more than DATA_GPA..BIG_GPA: 512)
 *                   one indirect table of count descriptors at BIG_GPA:
 *                   header, count - 2 data buffers of seglen bytes each
 *                   (laid over DATA_GPA.. again and again), status; for
 *                   chains past VIRTQ_MAX_SEGS and I/O of up to IOV_MAX
 *                   iovecs, which the byte-level ops cannot build in
 *                   max_len bytes
 *   13 shrink disk  sectors:u8: the host truncates the image file to
 *                   sectors sectors under the running device (its
 *                   capacity stays), for short reads and writes past EOF
 */
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/virtio_defs.h"
#include "log.h"
#include "virtq.h"
#include "vm.h"

#include "fake_evloop.h"
#include "fake_vm.h"
#include "fuzz_input.h"
#include "virtio_fuzz.h"
#include "virtq_driver.h"

#define RAM_SIZE 0x10000u
#define DISK_SECTORS 256
#define DISK_SIZE (DISK_SECTORS * 512)
#define NR_DEVS 2

/* harness-chosen defaults: a queue of 16 at the bottom of RAM */
#define DEF_QSIZE 16
#define DEF_DESC 0x0000
#define DEF_AVAIL 0x1000
#define DEF_USED 0x2000
#define INDIRECT_GPA 0x3000 /* 8 slots of 64 bytes */
#define HDR_GPA 0x3800      /* 8 slots of 16 bytes */
#define STATUS_GPA 0x3900   /* 8 slots of 1 byte */
#define REQ_SLOTS 8
#define DATA_GPA 0x4000     /* up to 64 sectors would not fit: clipped */
#define BIG_GPA 0xb000      /* op 12's indirect table, to 0xf4c0 */
#define BIG_MAX 1101

/* ---- the disk ---- */

static int disk_fd = -1;
static int ro_fd = -1;          /* the read-only device's own fd */
static bool disk_dirty = true;  /* written or shrunk since the last refill */
static uint8_t disk_image[DISK_SIZE];

/* ---- the device's I/O, checked ---- */

ssize_t __real_preadv(int fd, const struct iovec *iov, int cnt, off_t off);
ssize_t __real_pwritev(int fd, const struct iovec *iov, int cnt, off_t off);
ssize_t __wrap_preadv(int fd, const struct iovec *iov, int cnt, off_t off);
ssize_t __wrap_pwritev(int fd, const struct iovec *iov, int cnt, off_t off);

static void check_io(const struct iovec *iov, int cnt, off_t off)
{
	uint64_t total = 0;

	if (cnt <= 0 || cnt > IOV_MAX || off < 0)
		__builtin_trap();
	for (int i = 0; i < cnt; i++) {
		/* every buffer wholly inside guest RAM */
		if (!fake_vm_in_ram(iov[i].iov_base, iov[i].iov_len))
			__builtin_trap();
		total += iov[i].iov_len;
	}
	/* and the file range inside the disk */
	if ((uint64_t)off > DISK_SIZE || total > DISK_SIZE - (uint64_t)off)
		__builtin_trap();
}

ssize_t __wrap_preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	check_io(iov, cnt, off);
	return __real_preadv(fd, iov, cnt, off);
}

ssize_t __wrap_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	check_io(iov, cnt, off);
	if (fd == ro_fd)
		__builtin_trap();
	disk_dirty = true;
	return __real_pwritev(fd, iov, cnt, off);
}

/* ---- driver side (../tests/support/virtq_driver.h) ---- */

static struct vdrv drv[NR_DEVS];
static struct vqd vq[NR_DEVS];  /* each device's queue 0 */
static unsigned int cur;
static unsigned int req_slot;   /* rotates, so queued requests differ */
static bool verbose;

static void publish(unsigned int di, uint16_t head, bool kick)
{
	vqd_publish(&vq[di], head);
	if (kick)
		vdrv_wr(&drv[di], VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

static void reset_drv(unsigned int di)
{
	vq[di] = (struct vqd){ .size = DEF_QSIZE, .desc = DEF_DESC, .avail = DEF_AVAIL,
			       .used = DEF_USED };
}

static void setup(unsigned int di, uint8_t flags, uint8_t log2size, uint16_t desc,
		  uint16_t avail, uint16_t used)
{
	const struct vdrv *d = &drv[di];
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1);

	vq[di] = (struct vqd){ .size = (uint16_t)(1u << (log2size % 16)), .desc = desc,
			       .avail = avail, .used = used };
	if (flags & 1)
		f |= VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
	if (!(flags & 2))
		f |= VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
		     VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
	if (flags & 8)
		f |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	vdrv_wr(d, VIRTIO_MMIO_STATUS, 0);
	vdrv_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vdrv_features(d, f);
	if (!(flags & 16))
		vdrv_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
			VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	vdrv_setup_queue(d, 0, &vq[di]);
	if (!(flags & 4))
		vdrv_driver_ok(d);
}

/* ---- the script (../tests/support/virtio_fuzz.h: the ops all share) ---- */

static bool op_chain(struct fuzz_in *in)
{
	uint16_t head;

	if (!vfz_raw_chain(in, &vq[cur], &head))
		return false;
	publish(cur, head, true);
	return true;
}

static const uint32_t req_types[5] = {
	VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID, 99,
};

static bool op_request(struct fuzz_in *in)
{
	uint8_t type8, nsect, layout;
	uint16_t sector;
	if (!FUZZ_TAKE(in, type8) || !FUZZ_TAKE(in, sector) || !FUZZ_TAKE(in, nsect) || !FUZZ_TAKE(in, layout))
		return false;
	uint32_t type = layout & 16 ? type8 : req_types[type8 % 5];
	bool dev_writes = type != VIRTIO_BLK_T_OUT;   /* data is device-writable */
	uint32_t len = (nsect % 65) * 512u;
	if (layout & 8)
		len += 1;
	if (len > RAM_SIZE - DATA_GPA)
		len = RAM_SIZE - DATA_GPA;

	unsigned int slot = req_slot++ % REQ_SLOTS;
	uint64_t hdr_gpa = HDR_GPA + 16 * slot, status_gpa = STATUS_GPA + slot;
	uint64_t ind_gpa = INDIRECT_GPA + 64 * slot;
	uint8_t hdr[16] = { 0 };
	uint64_t sect = sector;
	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sect, 8);
	guest_put(hdr_gpa, hdr, 16);
	fvm.ram[status_gpa] = 0xee;

	struct vqd_seg seg[4];
	unsigned int n = 0;
	seg[n++] = (struct vqd_seg){ hdr_gpa, 16, false };
	if (len && (layout & 1) && len > 1) {
		seg[n++] = (struct vqd_seg){ DATA_GPA, len / 2, dev_writes };
		seg[n++] = (struct vqd_seg){ DATA_GPA + len / 2, len - len / 2, dev_writes };
	} else if (len) {
		seg[n++] = (struct vqd_seg){ DATA_GPA, len, dev_writes };
	}
	seg[n++] = (struct vqd_seg){ status_gpa, 1, true };

	/* layout bit 1: one descriptor pointing at an indirect table */
	uint16_t head = layout & 2 ? vqd_put_chain_indirect(&vq[cur], seg, n, ind_gpa)
				   : vqd_put_chain(&vq[cur], seg, n);
	publish(cur, head, !(layout & 4));
	return true;
}

static bool op_big_chain(struct fuzz_in *in)
{
	struct vqd *q = &vq[cur];
	uint8_t type8;
	uint16_t count, seglen;
	if (!FUZZ_TAKE(in, type8) || !FUZZ_TAKE(in, count) || !FUZZ_TAKE(in, seglen))
		return false;
	count = (uint16_t)(2 + count % (BIG_MAX - 1));
	if (seglen == 0 || seglen > BIG_GPA - DATA_GPA)
		seglen = 512;
	uint32_t type = type8 & 1 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
	bool dev_writes = type == VIRTIO_BLK_T_IN;
	uint8_t hdr[16] = { 0 };
	memcpy(hdr, &type, 4);
	guest_put(HDR_GPA, hdr, 16);

	uint64_t span = BIG_GPA - DATA_GPA, off = 0;
	vqd_put_desc(BIG_GPA, 0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	for (uint16_t i = 1; i + 1 < count; i++) {
		if (off + seglen > span)
			off = 0;
		vqd_put_desc(BIG_GPA, i, DATA_GPA + off, seglen,
			 (uint16_t)(VIRTQ_DESC_F_NEXT | (dev_writes ? VIRTQ_DESC_F_WRITE : 0)),
			 (uint16_t)(i + 1));
		off += seglen;
	}
	vqd_put_desc(BIG_GPA, (uint16_t)(count - 1), STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);

	uint16_t head = vqd_take_desc(q);
	vqd_put_desc(q->desc, head, BIG_GPA, 16u * count, VIRTQ_DESC_F_INDIRECT, 0);
	publish(cur, head, true);
	return true;
}

static bool step(struct fuzz_in *in)
{
	uint8_t op;
	if (!FUZZ_TAKE(in, op))
		return false;
	switch (op % 14) {
	case 0:
		return vfz_mmio_write(in, &drv[cur]);
	case 1:
		return vfz_mmio_read(in, &drv[cur]);
	case 2: {
		uint16_t gpa;
		return FUZZ_TAKE(in, gpa) && vfz_ram_write(in, gpa);
	}
	case 3:
		return vfz_notify(in, &drv[cur]);
	case 4:
		return vfz_register(in, &drv[cur]);
	case 5: {
		uint8_t flags, log2size;
		uint16_t desc, avail, used;
		if (!FUZZ_TAKE(in, flags) || !FUZZ_TAKE(in, log2size) || !FUZZ_TAKE(in, desc) ||
		    !FUZZ_TAKE(in, avail) || !FUZZ_TAKE(in, used))
			return false;
		setup(cur, flags, log2size, desc, avail, used);
		return true;
	}
	case 6:
		return op_chain(in);
	case 7:
		return op_request(in);
	case 8:
		vdrv_wr(&drv[cur], VIRTIO_MMIO_STATUS, 0);
		reset_drv(cur);
		return true;
	case 9:
		vdrv_ack(&drv[cur]);
		return true;
	case 10: {
		uint8_t d;
		if (!FUZZ_TAKE(in, d))
			return false;
		cur = d % NR_DEVS;
		return true;
	}
	case 11: {
		uint16_t idx;
		if (!FUZZ_TAKE(in, idx))
			return false;
		vqd_set_avail_idx(&vq[cur], idx);
		vdrv_wr(&drv[cur], VIRTIO_MMIO_QUEUE_NOTIFY, 0);
		return true;
	}
	case 12:
		return op_big_chain(in);
	case 13: {
		uint8_t n;
		if (!FUZZ_TAKE(in, n))
			return false;
		disk_dirty = true;
		if (ftruncate(disk_fd, 512 * (off_t)n) < 0)
			abort();
		return true;
	}
	}
	return false;
}

/* ---- per-process setup and per-input reset ---- */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[64];
	char err[256];

	(void)argc;
	(void)argv;
	verbose = vfz_init(RAM_SIZE);
	/* the first device gets an eventfd, the second the pulse path */
	fvm.irqfd_max = 1;
	for (int i = 0; i < DISK_SECTORS; i++)
		memset(disk_image + 512 * i, (i + 1) & 0xff, 512);
	disk_fd = memfd_create("vmk-fuzz-disk", MFD_CLOEXEC);
	if (disk_fd < 0 || ftruncate(disk_fd, DISK_SIZE) < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", disk_fd);

	for (unsigned int i = 0; i < NR_DEVS; i++) {
		struct disk_config disk = { .path = path, .readonly = i == 1 };
		if (virtio_blk_init(&fvm.vm, &disk, err, sizeof(err)) < 0) {
			fprintf(stderr, "fuzz_virtio_blk: %s\n", err);
			abort();
		}
		drv[i].base = virtio_mmio_base(virtio_mmio_get(i));
	}
	/* find the fd the read-only device opened: same file, O_RDONLY */
	struct stat me, st;
	if (fstat(disk_fd, &me) < 0)
		abort();
	for (int fd = 0; fd < 1024; fd++) {
		if (fd != disk_fd && fstat(fd, &st) == 0 && st.st_ino == me.st_ino &&
		    st.st_dev == me.st_dev && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY)
			ro_fd = fd;
	}
	if (ro_fd < 0)
		abort();
	return 0;
}

static void reset_all(void)
{
	memset(fvm.ram, 0, RAM_SIZE);
	if (disk_dirty && (ftruncate(disk_fd, DISK_SIZE) < 0 ||
			   pwrite(disk_fd, disk_image, DISK_SIZE, 0) != DISK_SIZE))
		abort();
	disk_dirty = false;
	for (unsigned int i = 0; i < NR_DEVS; i++) {
		vdrv_wr(&drv[i], VIRTIO_MMIO_STATUS, 0);
		reset_drv(i);
	}
	while (fake_vm_irqfd_count(0) != 0)
		;
	cur = 0;
	req_slot = 0;
}

static void check_after(void)
{
	struct stat st;

	/* the I/O thread serves what a kick left beyond its budget */
	for (int i = 0; i < 64 && fake_evloop_run_ready() > 0; i++)
		;

	/* op 13 may have shrunk it; writes past EOF stay within capacity */
	if (fstat(disk_fd, &st) < 0 || st.st_size > DISK_SIZE)
		__builtin_trap();
	for (unsigned int i = 0; i < NR_DEVS; i++) {
		const struct virtq *q = virtio_mmio_queue(virtio_mmio_get(i), 0);
		/*
		 * virtio-blk serves synchronously: every chain it took is on
		 * the used ring before the notify returns.  (The used index in
		 * guest RAM is not checked: the guest, and the device's own
		 * disk reads, may legitimately overwrite it.)
		 */
		if (q->last_avail != q->next_used)
			__builtin_trap();
	}
}

/* FUZZ_VERBOSE=1: each device's status and counters after each input */
static void dump(void)
{
	for (unsigned int i = 0; i < NR_DEVS; i++) {
		fprintf(stderr, "dev%u status %#x:", i, vdrv_rd(&drv[i], VIRTIO_MMIO_STATUS));
		vfz_print_stats(virtio_mmio_get(i));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	reset_all();
	vfz_run(data, size, step);
	check_after();
	if (verbose)
		dump();
	return 0;
}
