/* The virtio fuzz targets' shared script operations: see virtio_fuzz.h. */
#include "virtio_fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/mmio.h"
#include "devices/virtio/virtio_defs.h"
#include "fake_vm.h"
#include "log.h"
#include "virtq.h"

bool vfz_init(uint64_t ram_size)
{
	log_set_level(LOG_ERROR);
	if (fake_vm_init(ram_size) < 0)
		abort();
	return getenv("FUZZ_VERBOSE") != NULL;
}

void vfz_run(const uint8_t *data, size_t size, bool (*step)(struct fuzz_in *in))
{
	struct fuzz_in in = { data, size };

	while (step(&in))
		;
}

bool vfz_mmio_write(struct fuzz_in *in, const struct vdrv *d)
{
	uint16_t off;
	uint8_t w;
	uint8_t buf[8] = { 0 };

	if (!FUZZ_TAKE(in, off) || !FUZZ_TAKE(in, w))
		return false;
	unsigned int len = 1 + w % 8;
	if (!fuzz_take(in, buf, len))
		return false;
	vdrv_access(d, off & 0xfff, buf, len, true);
	return true;
}

bool vfz_mmio_read(struct fuzz_in *in, const struct vdrv *d)
{
	uint16_t off;
	uint8_t w;
	uint8_t buf[8];

	if (!FUZZ_TAKE(in, off) || !FUZZ_TAKE(in, w))
		return false;
	unsigned int len = 1 + w % 8;
	memset(buf, 0xcc, sizeof(buf));
	vdrv_access(d, off & 0xfff, buf, len, false);
	/* bytes past the access are the caller's, untouched */
	for (unsigned int i = len; i < sizeof(buf); i++)
		if (buf[i] != 0xcc)
			__builtin_trap();
	return true;
}

bool vfz_ram_write(struct fuzz_in *in, uint64_t gpa)
{
	uint8_t n;
	const uint8_t *bytes;

	if (!FUZZ_TAKE(in, n) || !(bytes = fuzz_take_ptr(in, n)))
		return false;
	guest_put(gpa, bytes, n);
	return true;
}

bool vfz_notify(struct fuzz_in *in, const struct vdrv *d)
{
	uint16_t q;

	if (!FUZZ_TAKE(in, q))
		return false;
	vdrv_wr(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	return true;
}

bool vfz_register(struct fuzz_in *in, const struct vdrv *d)
{
	uint8_t r;
	uint32_t v;

	if (!FUZZ_TAKE(in, r) || !FUZZ_TAKE(in, v))
		return false;
	vdrv_wr(d, 4u * (r % 64), v);
	return true;
}

bool vfz_raw_chain(struct fuzz_in *in, struct vqd *q, uint16_t *head)
{
	uint8_t n;

	if (!FUZZ_TAKE(in, n))
		return false;
	n = 1 + n % 4;
	*head = q->next_desc;
	for (unsigned int i = 0; i < n; i++) {
		uint32_t addr, len;
		uint8_t fl;
		if (!FUZZ_TAKE(in, addr) || !FUZZ_TAKE(in, len) || !FUZZ_TAKE(in, fl))
			return false;
		uint16_t me = vqd_take_desc(q);
		bool last = i + 1 == n || (fl & 1);
		uint16_t flags = (uint16_t)((last ? 0 : VIRTQ_DESC_F_NEXT) |
					    (fl & 2 ? VIRTQ_DESC_F_WRITE : 0) |
					    (fl & 4 ? VIRTQ_DESC_F_INDIRECT : 0));
		if (!(fl & 0x80))
			addr %= fvm.ram_size;
		vqd_put_desc(q->desc, me, addr, len, flags, q->next_desc);
		if (last)
			break;
	}
	return true;
}

void vfz_print_stats(struct virtio_mmio *t)
{
	struct stat_counter st[VIRTIO_MAX_STATS];
	unsigned int n = virtio_mmio_stats(t, st, VIRTIO_MAX_STATS);

	for (unsigned int k = 0; k < n; k++)
		fprintf(stderr, " %s=%llu", st[k].name, (unsigned long long)st[k].value);
	fprintf(stderr, "\n");
}
