/*
 * blk: virtio-blk over virtio-mmio (version 2, VIRTIO_F_VERSION_1).
 *
 * Two disks are expected: a writable one (blk0) and a read-only one
 * (blk1, which offers VIRTIO_BLK_F_RO).  blk0 is the first disk found
 * without F_RO, blk1 the first with it.  Requests are three-descriptor
 * chains (header, data, status) on queue 0; the used ring is polled with
 * a deadline.
 *
 *   blk0: write a pattern to sectors 0..7, flush (if F_FLUSH), read them
 *         back and compare; print "blk0 checksum=0x%08x" (zlib CRC-32 of
 *         the 4096 bytes).  Pattern: little-endian 32-bit word k (k = 0..
 *         1023) is (k * 0x9e3779b1) ^ seed, seed from blk.seed= (default
 *         0x766d6b21).  A read at sector = capacity must fail with IOERR.
 *   blk1: read sector 0, print "blk1 checksum=0x%08x" (CRC-32 of 512
 *         bytes); a write to sector 0 must complete with IOERR or UNSUPP,
 *         never OK, and sector 0 must read back unchanged.
 *
 * Exit codes: 1 the two disks are not there (or blk0 has < 8 sectors),
 * 2 device or queue set-up failed, 3 a request got no completion in 2 s,
 * 4 write/flush/read on blk0 failed, 5 blk0 read back differs,
 * 6 read of blk1 failed, 7 write to blk1 did not fail properly,
 * 8 read past the end of blk0 did not fail with IOERR, 9 blk1 changed.
 */
#include "lib/guest.h"

const char guest_name[] = "blk";

#define VIRTIO_ID_BLOCK 2
#define F_RO    (1ull << 5)
#define F_BLK_SIZE (1ull << 6)
#define F_FLUSH (1ull << 9)

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2

struct disk {
	struct virtio_dev *dev;
	struct virtq *q;
	uint64_t capacity;
	bool ro, flush;
};

struct req_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct virtio_dev devs[VIRTIO_MAX_DEVS];
static struct virtq queues[VIRTIO_MAX_DEVS] NOINIT;
static struct disk disks[VIRTIO_MAX_DEVS];
static struct req_hdr hdr __attribute__((aligned(16)));
static volatile uint8_t status;
static uint8_t wbuf[4096] NOINIT __attribute__((aligned(4096)));
static uint8_t rbuf[4096] NOINIT __attribute__((aligned(4096)));

static const char *status_name(int s)
{
	return s == S_OK ? "OK" : s == S_IOERR ? "IOERR" : s == S_UNSUPP ? "UNSUPP" : "?";
}

/* One request; returns the status byte, or fails the run on timeout. */
static int blk_req(struct disk *d, const char *name, uint32_t type, uint64_t sector, void *data, uint32_t len)
{
	volatile struct virtq_desc *desc = d->q->desc;
	hdr = (struct req_hdr){ type, 0, sector };
	status = 0xff;
	desc[0] = (struct virtq_desc){ (uintptr_t)&hdr, sizeof(hdr), VIRTQ_DESC_F_NEXT, 1 };
	uint16_t st = 1;
	if (len) {
		desc[1] = (struct virtq_desc){ (uintptr_t)data, len,
			(uint16_t)(VIRTQ_DESC_F_NEXT | (type == T_IN ? VIRTQ_DESC_F_WRITE : 0)), 2 };
		st = 2;
	}
	desc[st] = (struct virtq_desc){ (uintptr_t)&status, 1, VIRTQ_DESC_F_WRITE, 0 };
	virtq_publish(d->dev, d->q, 0, true);
	uint64_t dl = deadline_ms(2000);
	uint32_t id, used_len;
	while (!virtq_take_used(d->q, &id, &used_len)) {
		if (expired(dl))
			fail(3, "%s: request type %u sector %lu not completed in 2 s", name, type,
			     (unsigned long)sector);
		cpu_relax();
	}
	if (id != 0)
		fail(3, "%s: used ring returned id %u, expected 0", name, id);
	return status;
}

static void setup(struct disk *d, struct virtio_dev *dev, struct virtq *q)
{
	int r = virtio_init(dev, VIRTIO_F_VERSION_1 | F_RO | F_FLUSH | F_BLK_SIZE);
	if (r == -1)
		fail(2, "virtio-mmio at %#lx is version %u, need 2 (modern)", (unsigned long)dev->base,
		     virtio_version(dev));
	if (r < 0)
		fail(2, "virtio-blk at %#lx: init failed at step %d (features %#lx)",
		     (unsigned long)dev->base, -r, (unsigned long)dev->features);
	if ((r = virtq_setup(dev, q, 0, 16)) < 0)
		fail(2, "virtio-blk at %#lx: queue 0 set-up failed (%d)", (unsigned long)dev->base, r);
	virtio_driver_ok(dev);
	d->dev = dev;
	d->q = q;
	d->capacity = virtio_cfg64(dev, 0);
	d->ro = dev->negotiated & F_RO;
	d->flush = dev->negotiated & F_FLUSH;
	printf("virtio-blk at %#lx irq %u: capacity=%lu sectors features=%#lx%s%s\n",
	       (unsigned long)dev->base, dev->irq, (unsigned long)d->capacity,
	       (unsigned long)dev->features, d->ro ? " ro" : "", d->flush ? " flush" : "");
}

int guest_main(const struct hvm_start_info *si)
{
	(void)si;
	bool from_cmdline;
	unsigned n = virtio_find(devs, VIRTIO_MAX_DEVS, &from_cmdline);
	printf("virtio: %u device(s) found (%s)\n", n, from_cmdline ? "command line" : "probed");
	struct disk *d0 = NULL, *d1 = NULL;
	unsigned nblk = 0;
	for (unsigned i = 0; i < n; i++) {
		if (devs[i].device_id != VIRTIO_ID_BLOCK)
			continue;
		struct disk *d = &disks[nblk];
		setup(d, &devs[i], &queues[nblk]);
		nblk++;
		if (!d->ro && !d0)
			d0 = d;
		else if (d->ro && !d1)
			d1 = d;
	}
	if (!d0 || !d1)
		fail(1, "need a writable and a read-only virtio-blk disk, found %u disk(s)%s%s", nblk,
		     d0 ? "" : ", no writable one", d1 ? "" : ", no read-only one");
	if (d0->capacity < 8)
		fail(1, "blk0 has only %lu sectors", (unsigned long)d0->capacity);

	/* blk0: write, flush, read back */
	uint32_t seed = (uint32_t)cmdline_u64("blk.seed", 0x766d6b21);
	for (uint32_t k = 0; k < 1024; k++) {
		uint32_t w = (k * 0x9e3779b1u) ^ seed;
		memcpy(wbuf + 4 * k, &w, 4);
	}
	int s = blk_req(d0, "blk0", T_OUT, 0, wbuf, 4096);
	if (s != S_OK)
		fail(4, "blk0: write of sectors 0-7 returned %s (%d)", status_name(s), s);
	if (d0->flush && (s = blk_req(d0, "blk0", T_FLUSH, 0, NULL, 0)) != S_OK)
		fail(4, "blk0: flush returned %s (%d)", status_name(s), s);
	memset(rbuf, 0, sizeof(rbuf));
	if ((s = blk_req(d0, "blk0", T_IN, 0, rbuf, 4096)) != S_OK)
		fail(4, "blk0: read of sectors 0-7 returned %s (%d)", status_name(s), s);
	if (memcmp(rbuf, wbuf, 4096) != 0) {
		unsigned off = 0;
		while (rbuf[off] == wbuf[off])
			off++;
		fail(5, "blk0: read back differs at byte %u (%#x, wrote %#x)", off, rbuf[off], wbuf[off]);
	}
	printf("blk0 seed=%#x write/flush/read ok\n", seed);
	printf("blk0 checksum=%#010x\n", crc32(0, rbuf, 4096));

	/* blk0: read past the end */
	if ((s = blk_req(d0, "blk0", T_IN, d0->capacity, rbuf, 512)) != S_IOERR)
		fail(8, "blk0: read at sector %lu (= capacity) returned %s (%d), expected IOERR",
		     (unsigned long)d0->capacity, status_name(s), s);
	printf("blk0 read past end: IOERR ok\n");

	/* blk1: read sector 0, attempt a write */
	memset(rbuf, 0, 512);
	if ((s = blk_req(d1, "blk1", T_IN, 0, rbuf, 512)) != S_OK)
		fail(6, "blk1: read of sector 0 returned %s (%d)", status_name(s), s);
	uint32_t c1 = crc32(0, rbuf, 512);
	printf("blk1 checksum=%#010x\n", c1);
	s = blk_req(d1, "blk1", T_OUT, 0, wbuf, 512);
	if (s != S_IOERR && s != S_UNSUPP)
		fail(7, "blk1: write to the read-only disk returned %s (%d)", status_name(s), s);
	printf("blk1 write refused: %s ok\n", status_name(s));
	if ((s = blk_req(d1, "blk1", T_IN, 0, rbuf, 512)) != S_OK)
		fail(6, "blk1: second read of sector 0 returned %s (%d)", status_name(s), s);
	if (crc32(0, rbuf, 512) != c1)
		fail(9, "blk1: sector 0 changed after the refused write");
	return 0;
}
