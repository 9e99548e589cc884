/*
 * The back end of a vhost-user virtio-net device (one queue pair): the
 * state a front end sets up with its messages, and the two rings served
 * from the memory it shared.  vmkd's VM ports (port_vhost.c) wrap it in a
 * socket and a dp_port; the fuzz target drives it directly.
 *
 * Everything the front end sends is hostile until checked: message
 * payloads (vhu_read has checked their sizes), the fds (memory must be a
 * regular file at least as large as the region claims; kick/call/err
 * must be eventfds), the addresses (ring addresses are translated from
 * the front end's virtual addresses to guest-physical through the memory
 * table, then checked by virtq_enable against gmem), and the rings
 * themselves (virtq.c).  A message the back end cannot accept makes
 * vhu_be_handle return -1 with a one-line reason; the caller then drops
 * the connection and calls vhu_be_reset.  Nothing is ever reached in
 * guest memory but through gmem.
 *
 * Not thread-safe: the caller serialises every call (port_vhost.c holds
 * its port mutex).
 */
#ifndef VMK_VHOST_USER_BACKEND_H
#define VMK_VHOST_USER_BACKEND_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "gmem.h"
#include "vhost_user.h"
#include "virtq.h"

#define VHU_BE_RXQ 0		/* receiveq1: the back end fills it */
#define VHU_BE_TXQ 1		/* transmitq1: the back end drains it */
#define VHU_BE_NQUEUES 2
#define VHU_BE_RX_MAX_BUFS 256	/* mergeable buffers for one frame, at most */

/* What the back end offers (docs/vms.md). */
extern const uint64_t vhu_be_features;
extern const uint64_t vhu_be_protocol_features;

struct vhu_be_map {
	void *base;		/* the mmap, page aligned */
	size_t len;
	uint64_t gpa, size, uva;
	uint8_t *hva;		/* where the region starts inside it */
};

struct vhu_be_vring {
	struct virtq q;		/* q.enabled: live (set up, started, enabled) */
	unsigned num;		/* 0: not set */
	uint64_t desc_uva, avail_uva, used_uva;
	bool addr_set;
	bool started;		/* kick fd received, until GET_VRING_BASE */
	bool enabled;		/* SET_VRING_ENABLE (or implied, see .c) */
	int kick_fd, call_fd, err_fd;	/* -1: none */
};

struct vhu_backend {
	uint64_t features;		/* acknowledged by SET_FEATURES */
	uint64_t protocol;		/* by SET_PROTOCOL_FEATURES */
	bool owned;
	unsigned hdr_len;		/* 12 (VERSION_1 or MRG_RXBUF) or 10 */
	struct gmem mem;
	struct vhu_be_map map[VHU_MAX_REGIONS];
	unsigned nmaps;
	struct vhu_be_vring vr[VHU_BE_NQUEUES];
	char err[160];			/* why the last call failed */
	/* scratch for the rings: one chain and, for mergeable RX, the first */
	struct virtq_chain chain, first;
	uint16_t rx_heads[VHU_BE_RX_MAX_BUFS];
	uint32_t rx_lens[VHU_BE_RX_MAX_BUFS];
};

/* A back end with nothing set up (no memory, no fds). */
void vhu_be_init(struct vhu_backend *b);
/* Unmaps the memory and closes every fd; back to vhu_be_init's state. */
void vhu_be_reset(struct vhu_backend *b);

/*
 * Handles one message that vhu_read accepted, taking ownership of its
 * fds (they are kept or closed).  Returns 1 when m now holds the reply to
 * send back, 0 when there is none, -1 when the message is refused: b->err
 * says why in one line and the connection must be dropped.
 */
int vhu_be_handle(struct vhu_backend *b, struct vhu_msg *m, int *fds,
		  unsigned nfds);

/* Whether ring idx is live: memory, size, addresses, kick, enabled. */
bool vhu_be_live(const struct vhu_backend *b, unsigned idx);
/* The ring's kick eventfd, or -1. */
int vhu_be_kick_fd(const struct vhu_backend *b, unsigned idx);

/*
 * Takes the next frame the guest queued on its TX ring: the virtio-net
 * header into *hdr, the frame into buf (cap bytes).  Returns 1 with *len
 * set (0 for a malformed or oversized frame, which the caller drops),
 * 0 when the ring is empty or not live, -1 when the ring is broken
 * (b->err says so).  The buffer goes back to the guest at once.
 */
int vhu_be_tx_pop(struct vhu_backend *b, struct virtio_net_hdr *hdr,
		  uint8_t *buf, uint32_t cap, uint32_t *len);

/*
 * Puts one frame (header, then the bytes of iov[0..niov)) into the
 * guest's RX ring, across several buffers when MRG_RXBUF was negotiated.
 * Returns 0, or -ENOTCONN (ring not live), -ENOBUFS (not enough buffers
 * now: nothing is consumed), -EOPNOTSUPP (offloads the guest did not
 * accept), -EIO (ring broken: b->err).
 */
int vhu_be_rx_put(struct vhu_backend *b, const struct virtio_net_hdr *hdr,
		  const struct iovec *iov, unsigned niov);

/* Signals the ring's call fd if buffers were used since the last signal
 * and the driver wants to hear (EVENT_IDX / NO_INTERRUPT). */
void vhu_be_signal(struct vhu_backend *b, unsigned idx);

/* Buffers the guest made available on ring idx and the back end has not
 * taken yet. */
unsigned vhu_be_pending(const struct vhu_backend *b, unsigned idx);

#endif
