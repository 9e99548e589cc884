/*
 * virtio-blk over a raw image (virtio 1.x, 5.2).
 *
 * The disk is a file (or block device) opened once; its size in 512-byte
 * sectors is the capacity the guest sees.  Requests are served
 * synchronously, on the vCPU thread that kicked the queue, with the
 * transport lock held, at most half a ring per kick: what the guest queued
 * beyond that (a full ring, or another vCPU refilling the ring as fast as
 * it is served) is handed to the I/O thread through an eventfd, which
 * serves it in budgets of the same size.  No vCPU is kept here for as
 * long as the guest likes, a stop or pause always reaches it, and a full
 * ring is served by two threads at once.  For each chain the 16-byte header {type, reserved,
 * sector} is copied out of the readable part, the data buffers become an
 * iovec array pointing straight into guest RAM, and preadv/pwritev move
 * the data with no copy.  The last writable byte of the chain is the
 * status byte.
 *
 * Every problem with one request (bad layout, sector range past the end,
 * a write to a read-only disk, an I/O error) is answered with IOERR in
 * that request's status byte and the device carries on; only a chain the
 * virtqueue library rejects stops the device (NEEDS_RESET, see mmio.h).
 * The used length is what we wrote into guest buffers: data read plus
 * the status byte.
 */
#include "blk.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config.h"
#include "evloop.h"
#include "mmio.h"
#include "virtio_defs.h"

#define BLK_REQ_HDR 16
#define BLK_CONFIG_SIZE 36      /* capacity .. num_queues */

struct blk_stats {
	uint64_t reads, writes, read_bytes, write_bytes;
	uint64_t flushes, get_ids, errors, unsupported;
	uint64_t handoffs;              /* budgets left to the I/O thread */
};

struct virtio_blk {
	struct virtio_mmio *t;
	int fd;
	bool readonly;
	uint64_t capacity;              /* 512-byte sectors */
	char serial[VIRTIO_BLK_ID_BYTES + 1];
	uint8_t config[BLK_CONFIG_SIZE];
	struct blk_stats st;
	struct virtq_chain chain;       /* the request being served */
	int more_fd;                    /* eventfd: the I/O thread serves the rest */
	struct iovec data[VIRTQ_MAX_SEGS];
};

struct blk_req {
	uint32_t type;
	uint64_t sector;
};

/* ---- iovec helpers ---- */

/* dst = the bytes [off, off + len) of src; returns the entries used. */
static unsigned int iov_slice(const struct iovec *src, unsigned int n,
			      uint64_t off, uint64_t len, struct iovec *dst)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && len > 0; i++) {
		uint64_t l = src[i].iov_len;
		if (off >= l) {
			off -= l;
			continue;
		}
		uint64_t take = l - off < len ? l - off : len;
		dst[k].iov_base = (uint8_t *)src[i].iov_base + off;
		dst[k++].iov_len = take;
		len -= take;
		off = 0;
	}
	return k;
}

/* Drops the first `done` bytes of *iov / *n. */
static void iov_advance(struct iovec **iov, unsigned int *n, uint64_t done)
{
	while (*n > 0 && done >= (*iov)->iov_len) {
		done -= (*iov)->iov_len;
		(*iov)++;
		(*n)--;
	}
	if (*n > 0) {
		(*iov)->iov_base = (uint8_t *)(*iov)->iov_base + done;
		(*iov)->iov_len -= done;
	}
}

/* Moves all of iov at file offset off; 0, or -1 (*done says how far). */
static int full_io(int fd, struct iovec *iov, unsigned int n, off_t off,
		   bool write, uint64_t *done)
{
	while (n > 0) {
		int cnt = n > IOV_MAX ? IOV_MAX : (int)n;
		ssize_t r = write ? pwritev(fd, iov, cnt, off)
				  : preadv(fd, iov, cnt, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;      /* error, or end of file: short */
		*done += r;
		off += r;
		iov_advance(&iov, &n, r);
	}
	return 0;
}

/* ---- requests ---- */

static uint8_t blk_rw(struct virtio_blk *b, const struct virtq_chain *c,
		      const struct blk_req *r, bool write, uint64_t *written)
{
	uint64_t len = write ? c->out_len - BLK_REQ_HDR : c->in_len - 1;
	uint64_t nsect = len / VIRTIO_BLK_SECTOR;
	unsigned int n;
	uint64_t done = 0;

	if (len % VIRTIO_BLK_SECTOR || r->sector > b->capacity ||
	    nsect > b->capacity - r->sector || (write && b->readonly))
		return VIRTIO_BLK_S_IOERR;
	if (write)
		n = iov_slice(c->iov, c->n_out, BLK_REQ_HDR, len, b->data);
	else
		n = iov_slice(c->iov + c->n_out, c->n_in, 0, len, b->data);
	int rc = full_io(b->fd, b->data, n, (off_t)(r->sector * VIRTIO_BLK_SECTOR),
			 write, &done);
	if (write) {
		b->st.writes++;
		b->st.write_bytes += done;
	} else {
		b->st.reads++;
		b->st.read_bytes += done;
		*written = done;
	}
	return rc < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

static uint8_t blk_flush(struct virtio_blk *b)
{
	b->st.flushes++;
	return fdatasync(b->fd) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

static uint8_t blk_get_id(struct virtio_blk *b, const struct virtq_chain *c,
			  uint64_t *written)
{
	uint64_t room = c->in_len - 1;
	uint64_t len = room < VIRTIO_BLK_ID_BYTES ? room : VIRTIO_BLK_ID_BYTES;
	char id[VIRTIO_BLK_ID_BYTES] = { 0 };

	/* zero-padded; no terminator when the serial fills all 20 bytes */
	memcpy(id, b->serial, strnlen(b->serial, sizeof(id)));
	b->st.get_ids++;
	*written = virtq_copy_to_chain(c, 0, id, len);
	return VIRTIO_BLK_S_OK;
}

static uint8_t blk_dispatch(struct virtio_blk *b, const struct virtq_chain *c,
			    uint64_t *written)
{
	uint8_t raw[BLK_REQ_HDR];
	struct blk_req r;

	if (c->out_len < BLK_REQ_HDR)
		return VIRTIO_BLK_S_IOERR;
	virtq_copy_from_chain(c, 0, raw, sizeof(raw));
	r.type = raw[0] | raw[1] << 8 | raw[2] << 16 | (uint32_t)raw[3] << 24;
	r.sector = 0;
	for (int i = 7; i >= 0; i--)
		r.sector = r.sector << 8 | raw[8 + i];

	switch (r.type) {
	case VIRTIO_BLK_T_IN: return blk_rw(b, c, &r, false, written);
	case VIRTIO_BLK_T_OUT: return blk_rw(b, c, &r, true, written);
	case VIRTIO_BLK_T_FLUSH: return blk_flush(b);
	case VIRTIO_BLK_T_GET_ID: return blk_get_id(b, c, written);
	default:
		b->st.unsupported++;
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* Serves one chain; returns the used length. */
static uint32_t blk_request(struct virtio_blk *b, const struct virtq_chain *c)
{
	uint64_t written = 0;

	if (c->in_len == 0) {
		b->st.errors++;         /* no status byte: nothing to tell */
		return 0;
	}
	uint8_t status = blk_dispatch(b, c, &written);
	if (status == VIRTIO_BLK_S_IOERR)
		b->st.errors++;
	virtq_copy_to_chain(c, c->in_len - 1, &status, 1);
	written += 1;
	return written > UINT32_MAX ? UINT32_MAX : (uint32_t)written;
}

/* ---- transport ops ---- */

/* Serves up to half a ring of requests (lock held); wakes the I/O
 * thread if more are waiting. */
static void blk_serve(struct virtio_blk *b)
{
	const struct virtq *vq = virtio_mmio_queue(b->t, 0);
	unsigned int budget = vq && vq->size > 1 ? vq->size / 2u : 1, n = 0;

	while (n < budget && virtio_mmio_pop(b->t, 0, &b->chain) == 1) {
		virtio_mmio_push(b->t, 0, b->chain.head, blk_request(b, &b->chain));
		n++;
	}
	virtio_mmio_notify_used(b->t, 0);
	if (n == budget && virtio_mmio_running(b->t) && virtq_pending(vq) > 0) {
		uint64_t one = 1;
		b->st.handoffs++;
		if (write(b->more_fd, &one, sizeof(one)) < 0) {
			/* the counter is already non-zero: a wakeup is pending */
		}
	}
}

static void blk_queue_notify(void *opaque, unsigned int q)
{
	(void)q;	/* one queue */
	blk_serve(opaque);
}

/* The I/O thread's turn: the next budget, under the transport lock. */
static void blk_on_more(void *opaque, uint32_t events)
{
	struct virtio_blk *b = opaque;
	uint64_t count;

	(void)events;
	if (read(b->more_fd, &count, sizeof(count)) < 0)
		return;
	virtio_mmio_lock(b->t);
	blk_serve(b);
	virtio_mmio_unlock(b->t);
}

static uint64_t blk_features(void *opaque)
{
	struct virtio_blk *b = opaque;
	uint64_t f = VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
		     VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) |
		     VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);

	return b->readonly ? f | VIRTIO_BIT(VIRTIO_BLK_F_RO) : f;
}

static void blk_read_config(void *opaque, uint64_t off, void *data,
			    unsigned int len)
{
	struct virtio_blk *b = opaque;
	memcpy(data, b->config + off, len);
}

static unsigned int blk_stats(void *opaque, struct stat_counter *out,
			      unsigned int max)
{
	struct virtio_blk *b = opaque;
	const struct stat_counter s[] = {
		{ "read_requests", b->st.reads },
		{ "write_requests", b->st.writes },
		{ "read_bytes", b->st.read_bytes },
		{ "write_bytes", b->st.write_bytes },
		{ "flushes", b->st.flushes },
		{ "get_id_requests", b->st.get_ids },
		{ "request_errors", b->st.errors },
		{ "unsupported_requests", b->st.unsupported },
		{ "io_thread_handoffs", b->st.handoffs },
	};
	unsigned int n = 0;

	for (; n < max && n < sizeof(s) / sizeof(s[0]); n++)
		out[n] = s[n];
	return n;
}

static void blk_destroy(void *opaque)
{
	struct virtio_blk *b = opaque;
	if (b->more_fd >= 0) {
		evloop_del(b->more_fd);
		close(b->more_fd);
	}
	close(b->fd);
	free(b);
}

static const struct virtio_device_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.queue_max = VIRTIO_BLK_QUEUE_SIZE,
	.config_size = BLK_CONFIG_SIZE,
	.features = blk_features,
	.read_config = blk_read_config,
	.queue_notify = blk_queue_notify,
	.stats = blk_stats,
	.destroy = blk_destroy,
};

/* ---- setup ---- */

static void put_le(uint8_t *p, uint64_t v, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void blk_fill_config(struct virtio_blk *b)
{
	/* virtio_blk_config: capacity@0, size_max@8, seg_max@12,
	 * geometry@16, blk_size@20, topology@24, writeback@32, num_queues@34 */
	put_le(b->config + 0, b->capacity, 8);
	/* a chain holds at most queue-size descriptors: header + status */
	put_le(b->config + 12, VIRTIO_BLK_QUEUE_SIZE - 2, 4);
	put_le(b->config + 20, VIRTIO_BLK_SECTOR, 4);
	put_le(b->config + 34, 1, 2);
}

/* A stable 20-byte serial from the image's path: "vmk-" + 16 hex digits. */
static void blk_make_serial(struct virtio_blk *b, const char *path)
{
	char *real = realpath(path, NULL);
	const unsigned char *s = (const unsigned char *)(real ? real : path);
	uint64_t h = 0xcbf29ce484222325ULL;   /* FNV-1a */

	for (; *s; s++)
		h = (h ^ *s) * 0x100000001b3ULL;
	snprintf(b->serial, sizeof(b->serial), "vmk-%016" PRIx64, h);
	free(real);
}

/* Size in sectors: 0, -1 with errno, or -2 when fd is not a disk. */
static int disk_sectors(int fd, uint64_t *sectors)
{
	struct stat st;
	uint64_t bytes;

	if (fstat(fd, &st) < 0)
		return -1;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &bytes) < 0)
			return -1;
	} else if (S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
	} else {
		return -2;      /* a directory, socket, char device... */
	}
	*sectors = bytes / VIRTIO_BLK_SECTOR;
	return 0;
}

static int blk_open(struct virtio_blk *b, const struct disk_config *disk,
		    char *err, size_t errlen)
{
	int flags = (disk->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;

	b->fd = open(disk->path, flags);
	if (b->fd < 0) {
		snprintf(err, errlen, "cannot open disk image %s: %s",
			 disk->path, strerror(errno));
		return -1;
	}
	int rc = disk_sectors(b->fd, &b->capacity);
	if (rc < 0) {
		snprintf(err, errlen, "disk image %s: %s", disk->path,
			 rc == -2 ? "not a regular file or block device"
				  : strerror(errno));
		close(b->fd);
		return -1;
	}
	return 0;
}

int virtio_blk_init(struct vm *vm, const struct disk_config *disk,
		    char *err, size_t errlen)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));

	if (!b) {
		snprintf(err, errlen, "disk %s: out of memory", disk->path);
		return -1;
	}
	b->readonly = disk->readonly;
	b->more_fd = -1;
	if (blk_open(b, disk, err, errlen) < 0) {
		free(b);
		return -1;
	}
	b->more_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->more_fd < 0 || evloop_add(b->more_fd, EPOLLIN, blk_on_more, b) < 0) {
		snprintf(err, errlen, "disk %s: cannot make its I/O thread wakeup: %s",
			 disk->path, strerror(errno));
		blk_destroy(b);
		return -1;
	}
	blk_make_serial(b, disk->path);
	blk_fill_config(b);
	b->t = virtio_mmio_create(vm, &blk_ops, b);
	if (!b->t) {
		snprintf(err, errlen, "disk %s: no free virtio-mmio slot", disk->path);
		blk_destroy(b);
		return -1;
	}
	return 0;
}
