/*
 * Split virtqueues (virtio 1.x, section 2.7), device side.
 *
 * One library for every device that serves a virtqueue: vmx's virtio-blk
 * and virtio-net, and vmkd's vhost-user back end.  The ring layout, every
 * guest-controlled index and address, descriptor chains (direct and
 * indirect), loops and lengths are checked here, once.  A queue that sees
 * a malformed chain is marked broken; the transport then reports
 * DEVICE_NEEDS_RESET to the driver.  Nothing here ever touches memory
 * outside the guest's RAM: all access goes through gmem_ptr().
 */
#ifndef VMK_VIRTQ_H
#define VMK_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "gmem.h"

#define VIRTQ_MAX_SIZE 32768  /* the spec's largest split queue */
#define VIRTQ_MAX_SEGS 1024   /* iovecs gathered from one chain */

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq {
	/*
	 * Set by the driver through the transport.  The transport must not
	 * change them while the queue is enabled (the rings were checked for
	 * these values): reset or disable first.
	 */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx;         /* VIRTIO_F_EVENT_IDX negotiated */

	/* resolved by virtq_enable() */
	bool enabled;
	bool broken;            /* a malformed chain was seen */
	struct virtq_desc *desc;
	volatile uint16_t *avail_flags, *avail_idx, *avail_ring, *used_event;
	volatile uint16_t *used_flags, *used_idx, *avail_event;
	struct virtq_used_elem *used_ring;

	uint16_t last_avail;    /* next avail entry the device will read */
	uint16_t next_used;     /* device's copy of used->idx */
	uint16_t signalled_used;/* used idx at the last interrupt */
	bool signalled_valid;
};

/* One descriptor chain, gathered into host iovecs: readable first. */
struct virtq_chain {
	uint16_t head;
	unsigned int n_out;     /* device-readable iovecs: iov[0..n_out) */
	unsigned int n_in;      /* device-writable: iov[n_out..n_out+n_in) */
	uint64_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_SEGS];
};

/*
 * Validates the ring addresses the driver set (size a power of two, at
 * most VIRTQ_MAX_SIZE, alignment, every ring wholly in guest RAM) and
 * resolves them.  Returns 0, or -1 with the queue left disabled.
 * last_avail and next_used are kept (zero after reset; a vhost-user back
 * end may set them from SET_VRING_BASE); `broken` is kept too.  With
 * EVENT_IDX it writes avail_event = last_avail.
 */
int virtq_enable(struct virtq *q, const struct gmem *m);

/* Back to the state after device reset (keeps nothing). */
void virtq_reset(struct virtq *q);

/*
 * Takes the next available chain.  Returns 1 with *c filled, 0 when the
 * ring is empty (or the queue not enabled), -1 when the chain or the
 * avail index is malformed (the queue is then broken and returns -1 until
 * reset; *c then holds no iovecs).  With EVENT_IDX it keeps avail_event
 * equal to last_avail.  Zero-length descriptors are accepted and give no
 * iovec; a buffer must lie wholly inside one gmem region.
 */
int virtq_pop(struct virtq *q, const struct gmem *m, struct virtq_chain *c);

/*
 * Puts chain head back on the used ring with `written` bytes written.
 * Does nothing on a queue that is not enabled or for head >= size.
 */
void virtq_push(struct virtq *q, uint16_t head, uint32_t written);

/*
 * Puts n chains back together: every element is written before used->idx
 * moves once, so the driver sees all n or none (a mergeable RX frame's
 * buffers: the driver reads num_buffers from the first and takes the
 * others at once; one not there yet is a dropped frame).  Heads >= size
 * are skipped; nothing happens on a queue that is not enabled.
 */
void virtq_push_n(struct virtq *q, const uint16_t *heads, const uint32_t *written,
		  unsigned int n);

/*
 * True when the driver wants an interrupt for the used entries pushed
 * since the previous call (honours EVENT_IDX and NO_INTERRUPT); false
 * when nothing was pushed since.  Call it after a batch of virtq_push().
 */
bool virtq_need_interrupt(struct virtq *q);

/*
 * Number of chains the driver has made available and not yet popped
 * (0 when not enabled or broken; at most size: a bogus avail index is
 * reported by virtq_pop).
 */
uint16_t virtq_pending(const struct virtq *q);

/*
 * Copy helpers over a chain's iovecs: to the writable part, from the
 * readable part, starting at byte `offset`.  Return bytes copied.
 */
uint64_t virtq_copy_to_chain(const struct virtq_chain *c, uint64_t offset,
			     const void *src, uint64_t len);
uint64_t virtq_copy_from_chain(const struct virtq_chain *c, uint64_t offset,
			       void *dst, uint64_t len);

#endif
