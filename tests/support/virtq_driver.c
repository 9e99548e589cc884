/* The guest driver's half of a virtio-mmio device: see virtq_driver.h. */
#include "virtq_driver.h"

#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/virtio_defs.h"
#include "fake_vm.h"

/* ---- guest RAM ---- */

void guest_put(uint64_t gpa, const void *p, uint64_t n)
{
	if (gpa >= fvm.ram_size)
		return;
	if (n > fvm.ram_size - gpa)
		n = fvm.ram_size - gpa;
	memcpy(fvm.ram + gpa, p, n);
}

void guest_put16(uint64_t gpa, uint16_t v)
{
	guest_put(gpa, &v, 2);
}

/* reads are the harness's own, of rings it placed: inside RAM */
uint16_t guest_get16(uint64_t gpa)
{
	uint16_t v;
	memcpy(&v, fvm.ram + gpa, 2);
	return v;
}

uint32_t guest_get32(uint64_t gpa)
{
	uint32_t v;
	memcpy(&v, fvm.ram + gpa, 4);
	return v;
}

/* ---- virtqueues ---- */

void vqd_reset(struct vqd *q)
{
	q->avail_idx = 0;
	q->next_desc = 0;
}

void vqd_put_desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
		  uint16_t flags, uint16_t next)
{
	uint8_t b[16];

	memcpy(b, &addr, 8);
	memcpy(b + 8, &len, 4);
	memcpy(b + 12, &flags, 2);
	memcpy(b + 14, &next, 2);
	guest_put(table + 16ull * i, b, 16);
}

uint16_t vqd_take_desc(struct vqd *q)
{
	uint16_t me = q->next_desc;

	q->next_desc = (uint16_t)((q->next_desc + 1) % (q->size ? q->size : 1));
	return me;
}

static uint16_t seg_flags(const struct vqd_seg *s, unsigned int i, unsigned int n)
{
	return (uint16_t)((i + 1 < n ? VIRTQ_DESC_F_NEXT : 0) |
			  (s[i].write ? VIRTQ_DESC_F_WRITE : 0));
}

uint16_t vqd_put_chain(struct vqd *q, const struct vqd_seg *s, unsigned int n)
{
	uint16_t head = q->next_desc;

	for (unsigned int i = 0; i < n; i++) {
		uint16_t me = vqd_take_desc(q);
		vqd_put_desc(q->desc, me, s[i].gpa, s[i].len, seg_flags(s, i, n),
			     q->next_desc);
	}
	return head;
}

uint16_t vqd_put_chain_indirect(struct vqd *q, const struct vqd_seg *s,
				unsigned int n, uint64_t table)
{
	uint16_t head = vqd_take_desc(q);

	for (unsigned int i = 0; i < n; i++)
		vqd_put_desc(table, (uint16_t)i, s[i].gpa, s[i].len, seg_flags(s, i, n),
			     (uint16_t)(i + 1));
	vqd_put_desc(q->desc, head, table, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
	return head;
}

void vqd_publish(struct vqd *q, uint16_t head)
{
	if (q->size)
		guest_put16(q->avail + 4 + 2ull * (q->avail_idx % q->size), head);
	q->avail_idx++;
	/* the entry before the index, as a vCPU on another CPU would see them */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	guest_put16(q->avail + 2, q->avail_idx);
}

void vqd_set_avail_idx(struct vqd *q, uint16_t idx)
{
	q->avail_idx = idx;
	guest_put16(q->avail + 2, idx);
}

uint16_t vqd_used_idx(const struct vqd *q)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return guest_get16(q->used + 2);
}

static uint64_t used_elem(const struct vqd *q, uint16_t i)
{
	return q->used + 4 + 8ull * (i % (q->size ? q->size : 1));
}

uint32_t vqd_used_id(const struct vqd *q, uint16_t i)
{
	return guest_get32(used_elem(q, i));
}

uint32_t vqd_used_len(const struct vqd *q, uint16_t i)
{
	return guest_get32(used_elem(q, i) + 4);
}

/* ---- registers ---- */

bool vdrv_access(const struct vdrv *d, uint64_t off, void *data, unsigned int len,
		 bool write)
{
	if (d->access)
		return d->access(d, off, data, len, write);
	return bus_access(&fvm.vm.mmio, d->base + off, data, len, write);
}

uint32_t vdrv_rd(const struct vdrv *d, uint64_t off)
{
	uint32_t v = 0;

	if (!vdrv_access(d, off, &v, 4, false))
		abort();
	return v;
}

void vdrv_wr(const struct vdrv *d, uint64_t off, uint32_t v)
{
	if (!vdrv_access(d, off, &v, 4, true))
		abort();
}

void vdrv_features(const struct vdrv *d, uint64_t features)
{
	vdrv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vdrv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	vdrv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vdrv_wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
}

void vdrv_negotiate(const struct vdrv *d, uint64_t features)
{
	vdrv_wr(d, VIRTIO_MMIO_STATUS, 0);
	vdrv_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	vdrv_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vdrv_features(d, features);
	vdrv_wr(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		VIRTIO_STATUS_FEATURES_OK);
}

void vdrv_setup_queue(const struct vdrv *d, unsigned int qi, const struct vqd *q)
{
	vdrv_wr(d, VIRTIO_MMIO_QUEUE_SEL, qi);
	vdrv_wr(d, VIRTIO_MMIO_QUEUE_NUM, q->size);
	vdrv_wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)q->desc);
	vdrv_wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(q->desc >> 32));
	vdrv_wr(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)q->avail);
	vdrv_wr(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(q->avail >> 32));
	vdrv_wr(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)q->used);
	vdrv_wr(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(q->used >> 32));
	vdrv_wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
}

void vdrv_driver_ok(const struct vdrv *d)
{
	vdrv_wr(d, VIRTIO_MMIO_STATUS, vdrv_rd(d, VIRTIO_MMIO_STATUS) |
		VIRTIO_STATUS_DRIVER_OK);
}

void vdrv_ack(const struct vdrv *d)
{
	vdrv_wr(d, VIRTIO_MMIO_INTERRUPT_ACK, vdrv_rd(d, VIRTIO_MMIO_INTERRUPT_STATUS));
}

/* ---- what the host sees ---- */

int virtio_stat(struct virtio_mmio *t, const char *name, uint64_t *value)
{
	struct stat_counter st[VIRTIO_MAX_STATS];
	unsigned int n = virtio_mmio_stats(t, st, VIRTIO_MAX_STATS);

	for (unsigned int i = 0; i < n; i++)
		if (strcmp(st[i].name, name) == 0) {
			*value = st[i].value;
			return 0;
		}
	return -1;
}
