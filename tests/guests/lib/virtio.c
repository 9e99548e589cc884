/*
 * virtio over MMIO, version 2 ("modern") register layout, with split
 * virtqueues.  The guests poll the used rings; interrupts are not used.
 *
 * Discovery: vmx (and QEMU microvm with auto-kernel-cmdline) describe each
 * transport on the kernel command line as virtio_mmio.device=<size>@<base>:<irq>
 * (the Linux syntax; size may carry a K/M/G suffix).  If the command line
 * has no such token, the transports QEMU microvm places at 0xfeb00000 +
 * n * 0x200 are probed for the magic value.
 *
 * Queue memory is one page per queue: descriptor table at 0, available
 * ring at 1024, used ring at 2048 (room for 64 entries each).
 */
#include "guest.h"

#define R_MAGIC         0x000
#define R_VERSION       0x004
#define R_DEVICE_ID     0x008
#define R_DEV_FEAT      0x010
#define R_DEV_FEAT_SEL  0x014
#define R_DRV_FEAT      0x020
#define R_DRV_FEAT_SEL  0x024
#define R_QUEUE_SEL     0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM     0x038
#define R_QUEUE_READY   0x044
#define R_QUEUE_NOTIFY  0x050
#define R_STATUS        0x070
#define R_QUEUE_DESC_LO 0x080
#define R_QUEUE_DESC_HI 0x084
#define R_QUEUE_DRV_LO  0x090
#define R_QUEUE_DRV_HI  0x094
#define R_QUEUE_DEV_LO  0x0a0
#define R_QUEUE_DEV_HI  0x0a4
#define R_CONFIG_GEN    0x0fc
#define R_CONFIG        0x100

#define S_ACKNOWLEDGE 1
#define S_DRIVER      2
#define S_DRIVER_OK   4
#define S_FEATURES_OK 8
#define S_FAILED      128

#define MICROVM_MMIO_BASE 0xfeb00000u
#define MICROVM_MMIO_COUNT 24

static uint32_t rd(const struct virtio_dev *d, unsigned r) { return mmio_read32(d->base + r); }
static void wr(const struct virtio_dev *d, unsigned r, uint32_t v) { mmio_write32(d->base + r, v); }

static bool probe(uintptr_t base, uint32_t irq, struct virtio_dev *out)
{
	if (mmio_read32(base + R_MAGIC) != VIRTIO_MMIO_MAGIC)
		return false;
	uint32_t id = mmio_read32(base + R_DEVICE_ID);
	if (!id)
		return false;
	*out = (struct virtio_dev){ .base = base, .irq = irq, .device_id = id };
	return true;
}

unsigned virtio_find(struct virtio_dev *devs, unsigned max, bool *from_cmdline)
{
	unsigned n = 0, tokens = 0;
	const char *v;
	size_t len;
	for (unsigned nth = 0; cmdline_find("virtio_mmio.device", nth, &v, &len); nth++) {
		uint64_t size, base, irq = 0;
		size_t i = parse_size(v, len, &size);
		if (!i || i >= len || v[i] != '@')
			continue;
		i++;
		size_t k = parse_u64(v + i, len - i, &base);
		if (!k)
			continue;
		i += k;
		if (i < len && v[i] == ':')
			parse_u64(v + i + 1, len - i - 1, &irq);
		tokens++;
		if (base >= 0x100000000ull || size < 0x100) {
			printf("virtio: ignoring %.*s\n", (int)len, v);
			continue;
		}
		if (n < max && probe((uintptr_t)base, (uint32_t)irq, &devs[n]))
			n++;
	}
	*from_cmdline = tokens > 0;
	if (tokens)
		return n;
	for (unsigned i = 0; i < MICROVM_MMIO_COUNT && n < max; i++) {
		if (probe(MICROVM_MMIO_BASE + i * 0x200u, 0, &devs[n]))
			n++;
	}
	return n;
}

uint32_t virtio_version(const struct virtio_dev *d)
{
	return rd(d, R_VERSION);
}

int virtio_init(struct virtio_dev *d, uint64_t wanted)
{
	if (rd(d, R_VERSION) != 2)
		return -1;
	wr(d, R_STATUS, 0);
	for (unsigned i = 0; rd(d, R_STATUS) != 0; i++) {
		if (i > 1000)
			return -2;
		cpu_relax();
	}
	wr(d, R_STATUS, S_ACKNOWLEDGE);
	wr(d, R_STATUS, S_ACKNOWLEDGE | S_DRIVER);
	wr(d, R_DEV_FEAT_SEL, 0);
	uint64_t f = rd(d, R_DEV_FEAT);
	wr(d, R_DEV_FEAT_SEL, 1);
	f |= (uint64_t)rd(d, R_DEV_FEAT) << 32;
	d->features = f;
	d->negotiated = f & wanted;
	if (!(d->negotiated & VIRTIO_F_VERSION_1))
		return -3;
	wr(d, R_DRV_FEAT_SEL, 0);
	wr(d, R_DRV_FEAT, (uint32_t)d->negotiated);
	wr(d, R_DRV_FEAT_SEL, 1);
	wr(d, R_DRV_FEAT, (uint32_t)(d->negotiated >> 32));
	wr(d, R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
	if (!(rd(d, R_STATUS) & S_FEATURES_OK))
		return -4;
	return 0;
}

int virtq_setup(struct virtio_dev *d, struct virtq *q, unsigned index, unsigned num)
{
	wr(d, R_QUEUE_SEL, index);
	if (rd(d, R_QUEUE_READY) != 0)
		return -1;
	unsigned max = rd(d, R_QUEUE_NUM_MAX);
	if (max == 0)
		return -2;
	if (num > max)
		num = max;
	if (num > VQ_MAX)
		num = VQ_MAX;
	q->index = index;
	q->num = num;
	q->avail_idx = 0;
	q->last_used = 0;
	q->desc = (volatile struct virtq_desc *)q->mem;
	q->avail = (volatile uint16_t *)(q->mem + 1024);
	q->used = (volatile uint16_t *)(q->mem + 2048);
	memset(q->mem, 0, 16 * num);
	memset(q->mem + 1024, 0, 6 + 2 * num);
	memset(q->mem + 2048, 0, 6 + 8 * num);
	uint64_t desc = (uintptr_t)q->desc, avail = (uintptr_t)q->avail, used = (uintptr_t)q->used;
	wr(d, R_QUEUE_NUM, num);
	wr(d, R_QUEUE_DESC_LO, (uint32_t)desc);
	wr(d, R_QUEUE_DESC_HI, (uint32_t)(desc >> 32));
	wr(d, R_QUEUE_DRV_LO, (uint32_t)avail);
	wr(d, R_QUEUE_DRV_HI, (uint32_t)(avail >> 32));
	wr(d, R_QUEUE_DEV_LO, (uint32_t)used);
	wr(d, R_QUEUE_DEV_HI, (uint32_t)(used >> 32));
	wr(d, R_QUEUE_READY, 1);
	return rd(d, R_QUEUE_READY) == 1 ? 0 : -3;
}

void virtio_driver_ok(struct virtio_dev *d)
{
	wr(d, R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

void virtio_fail(struct virtio_dev *d)
{
	wr(d, R_STATUS, rd(d, R_STATUS) | S_FAILED);
}

uint8_t virtio_cfg8(const struct virtio_dev *d, unsigned off)
{
	return mmio_read8(d->base + R_CONFIG + off);
}

uint32_t virtio_cfg32(const struct virtio_dev *d, unsigned off)
{
	return rd(d, R_CONFIG + off);
}

uint64_t virtio_cfg64(const struct virtio_dev *d, unsigned off)
{
	uint32_t lo, hi, g;
	unsigned tries = 0;
	do {
		g = rd(d, R_CONFIG_GEN);
		lo = rd(d, R_CONFIG + off);
		hi = rd(d, R_CONFIG + off + 4);
	} while (rd(d, R_CONFIG_GEN) != g && ++tries < 10);
	return ((uint64_t)hi << 32) | lo;
}

void virtq_notify(struct virtio_dev *d, struct virtq *q)
{
	mb();
	wr(d, R_QUEUE_NOTIFY, q->index);
}

void virtq_publish(struct virtio_dev *d, struct virtq *q, uint16_t head, bool notify)
{
	q->avail[2 + q->avail_idx % q->num] = head;
	q->avail_idx++;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->avail[1] = q->avail_idx;
	if (notify)
		virtq_notify(d, q);
}

bool virtq_take_used(struct virtq *q, uint32_t *id, uint32_t *len)
{
	uint16_t idx = q->used[1];
	if (idx == q->last_used)
		return false;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	const volatile struct virtq_used_elem *e =
		(const volatile struct virtq_used_elem *)(q->used + 2) + q->last_used % q->num;
	*id = e->id;
	*len = e->len;
	q->last_used++;
	return true;
}
