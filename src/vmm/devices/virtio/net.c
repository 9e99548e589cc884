/*
 * virtio-net over a TAP interface (virtio 1.x, 5.1).
 *
 * The TAP speaks the same 12-byte virtio_net_hdr_v1 the guest puts in
 * front of every frame (see tap.c), so no frame is ever rebuilt:
 *
 *  - Transmit (queue 1) runs on the vCPU thread that kicked the queue:
 *    each chain's readable buffers go to the TAP in one writev.  One
 *    kick sends at most a ring's worth (NET_TX_BUDGET); if the guest has
 *    queued more meanwhile (another vCPU can keep refilling the ring),
 *    the rest is sent from the I/O thread, a batch per EPOLLOUT wakeup
 *    of the TAP, so that no thread holds the transport lock for long.
 *
 *  - Receive (queue 0) runs on the I/O thread when the TAP is readable.
 *    We first take buffers off the rx ring and keep them ("held") until a
 *    frame arrives, then readv the frame straight into them.  Without
 *    MRG_RXBUF a frame goes into one chain.  With MRG_RXBUF we hold
 *    enough chains for the largest frame the guest can get (about 1.5 KiB
 *    without GUEST_TSO, 64 KiB with), a frame may span several of them,
 *    and num_buffers in the header says how many.  Behind the held
 *    buffers the readv has an overflow buffer: a frame bigger than what
 *    was held lands partly there and is copied into more chains taken
 *    from the ring, or dropped when the ring has too few.  Held chains
 *    that a frame did not use stay held for the next one.
 *
 *  - When the rx ring is empty and nothing is held, we stop watching the
 *    TAP (the kernel queues or drops frames meanwhile) and start again
 *    when the guest kicks the rx queue.  One fill takes at most a ring's
 *    worth of chains (chains too small for the header go straight back,
 *    and a guest that keeps re-posting them must not keep us there).
 *
 * Both paths hold the transport lock (mmio.h) while they touch queues.
 */
#include "net.h"

#include <errno.h>
#include <linux/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "evloop.h"
#include "log.h"
#include "mmio.h"
#include "tap.h"
#include "virtio_defs.h"

#define NET_RXQ 0
#define NET_TXQ 1
#define NET_CONFIG_SIZE 10              /* mac, status, max_virtqueue_pairs */
#define NET_RX_BATCH 64                 /* frames per wakeup */
#define NET_READV_MAX 1024              /* UIO_MAXIOV */
#define NET_CHAIN_SEGS (NET_READV_MAX - 1)
#define NET_RX_IOVS (2 * NET_READV_MAX)
#define NET_OVERFLOW (65536 + 1024)
#define NET_FRAME_SMALL (VIRTIO_NET_HDR_LEN + 1522)   /* 1500 + VLAN Ethernet */
#define NET_FRAME_GSO (VIRTIO_NET_HDR_LEN + 65536 + 22)
#define NET_TX_BUDGET VIRTIO_NET_QUEUE_SIZE     /* chains per kick or wakeup */
#define NET_RX_POPS VIRTIO_NET_QUEUE_SIZE       /* chains per fill or spill */

struct net_stats {
	uint64_t rx_frames, rx_bytes, rx_drops, rx_errors;
	uint64_t tx_frames, tx_bytes, tx_drops, tx_errors;
};

/* An rx chain taken from the ring: its writable segments in rx_iov. */
struct rx_buf {
	uint16_t head;
	unsigned int first, n;
	uint64_t cap;
};

struct virtio_net {
	struct virtio_mmio *t;
	int tap;
	char ifname[IFNAMSIZ];
	uint8_t config[NET_CONFIG_SIZE];
	bool registered, watching;      /* TAP fd in the event loop / EPOLLIN */
	bool tx_backlog;                /* EPOLLOUT: tx chains left to send */
	bool tap_dead;                  /* TAP gone (EPOLLERR/HUP): never again */
	bool mrg, guest_csum;           /* negotiated */
	bool rx_error_logged;
	uint64_t rx_target;             /* bytes to hold with MRG_RXBUF */
	struct net_stats st;

	struct rx_buf held[VIRTIO_NET_QUEUE_SIZE];
	unsigned int nr_held, held_iov;
	uint64_t held_cap;
	struct iovec rx_iov[NET_RX_IOVS];
	struct virtq_chain rx_chain, tx_chain;
	uint8_t overflow[NET_OVERFLOW];
};

static void net_tap_ready(void *opaque, uint32_t events);

/* ---- helpers ---- */

/* Copies len bytes to offset off of an iovec array; returns bytes copied. */
static uint64_t iov_put(const struct iovec *iov, unsigned int n, uint64_t off,
			const void *src, uint64_t len)
{
	uint64_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		uint64_t k = iov[i].iov_len - off;
		if (k > len - done)
			k = len - done;
		memcpy((uint8_t *)iov[i].iov_base + off, (const uint8_t *)src + done, k);
		done += k;
		off = 0;
	}
	return done;
}

/* Watches the TAP for rx (EPOLLIN) and for sending the tx backlog (EPOLLOUT). */
static void net_set_events(struct virtio_net *n, bool rx, bool tx)
{
	uint32_t ev = (rx ? EPOLLIN : 0) | (tx ? EPOLLOUT : 0);
	int rc;

	if ((n->registered && n->watching == rx && n->tx_backlog == tx) ||
	    (!n->registered && !rx && !tx) || n->tap_dead)
		return;
	if (n->registered)
		rc = evloop_mod(n->tap, ev, net_tap_ready, n);
	else
		rc = evloop_add(n->tap, ev, net_tap_ready, n);
	if (rc < 0) {
		virtio_mmio_warn(n->t, "virtio-net %s: cannot watch the TAP",
				 n->ifname);
		return;
	}
	n->registered = true;
	n->watching = rx;
	n->tx_backlog = tx;
}

static void net_watch(struct virtio_net *n, bool on)
{
	net_set_events(n, on, n->tx_backlog);
}

/* ---- receive: held chains ---- */

static void rx_forget_all(struct virtio_net *n)
{
	n->nr_held = n->held_iov = 0;
	n->held_cap = 0;
}

/* Drops the first `used` held chains (handed to the guest). */
static void rx_forget(struct virtio_net *n, unsigned int used)
{
	if (used >= n->nr_held) {
		rx_forget_all(n);
		return;
	}
	unsigned int shift = n->held[used].first;
	for (unsigned int i = 0; i < used; i++)
		n->held_cap -= n->held[i].cap;
	memmove(n->rx_iov, n->rx_iov + shift,
		(n->held_iov - shift) * sizeof(n->rx_iov[0]));
	memmove(n->held, n->held + used, (n->nr_held - used) * sizeof(n->held[0]));
	n->nr_held -= used;
	n->held_iov -= shift;
	for (unsigned int i = 0; i < n->nr_held; i++)
		n->held[i].first -= shift;
}

/*
 * Takes one chain from the rx ring and holds it.  1 when one was taken
 * (a chain too small for the header is returned to the guest unused
 * instead), 0 when the ring is empty or we hold all we can, -1 when the
 * queue is broken.
 */
static int rx_take(struct virtio_net *n)
{
	struct virtq_chain *c = &n->rx_chain;

	if (n->nr_held >= VIRTIO_NET_QUEUE_SIZE || n->held_iov >= NET_READV_MAX)
		return 0;
	int r = virtio_mmio_pop(n->t, NET_RXQ, c);
	if (r <= 0)
		return r;
	struct rx_buf *b = &n->held[n->nr_held];
	*b = (struct rx_buf){ .head = c->head, .first = n->held_iov,
			      .n = c->n_in < NET_CHAIN_SEGS ? c->n_in : NET_CHAIN_SEGS };
	for (unsigned int i = 0; i < b->n; i++) {
		n->rx_iov[b->first + i] = c->iov[c->n_out + i];
		b->cap += c->iov[c->n_out + i].iov_len;
	}
	if (b->cap < VIRTIO_NET_HDR_LEN) {
		n->st.rx_errors++;
		virtio_mmio_push(n->t, NET_RXQ, c->head, 0);
		return 1;
	}
	n->nr_held++;
	n->held_iov += b->n;
	n->held_cap += b->cap;
	return 1;
}

/*
 * Holds one chain, or with MRG_RXBUF enough for a full frame, taking at
 * most NET_RX_POPS chains: a guest that re-posts chains too small for
 * the header as fast as rx_take returns them would otherwise keep the
 * I/O thread here for good.
 */
static int rx_fill(struct virtio_net *n)
{
	for (unsigned int pops = 0; pops < NET_RX_POPS; pops++) {
		if (n->mrg ? n->held_cap >= n->rx_target : n->nr_held > 0)
			return 1;
		int r = rx_take(n);
		if (r <= 0)
			return r;
	}
	return 0;
}

/*
 * The held chains are the ones popped and not yet pushed.  QueueReady=0
 * (then 1) resets the ring under us without a device reset: what we
 * hold then belongs to an old ring, and must be neither filled nor
 * pushed onto the new one.
 */
static void rx_check_held(struct virtio_net *n)
{
	const struct virtq *q = virtio_mmio_queue(n->t, NET_RXQ);

	if (n->nr_held && (!q->enabled ||
			   (uint16_t)(q->last_avail - q->next_used) != n->nr_held))
		rx_forget_all(n);
}

/* ---- receive: frames ---- */

/* Held chains whose segments fit one readv with the overflow buffer. */
static unsigned int rx_window(const struct virtio_net *n, uint64_t *cap)
{
	unsigned int k = 0;

	*cap = 0;
	while (k < n->nr_held && (k == 0 || n->mrg) &&
	       n->held[k].first + n->held[k].n <= NET_CHAIN_SEGS)
		*cap += n->held[k++].cap;
	return k;
}

/* readv of one frame into the first k held chains, then the overflow. */
static ssize_t rx_read(struct virtio_net *n, unsigned int k)
{
	unsigned int end = n->held[k - 1].first + n->held[k - 1].n;
	struct iovec saved = n->rx_iov[end];
	ssize_t r;

	n->rx_iov[end] = (struct iovec){ n->overflow, sizeof(n->overflow) };
	do
		r = readv(n->tap, n->rx_iov, (int)end + 1);
	while (r < 0 && errno == EINTR);
	n->rx_iov[end] = saved;
	return r;
}

/* Number of leading held chains that len bytes fill. */
static unsigned int rx_chains_for(const struct virtio_net *n, uint64_t len)
{
	unsigned int i = 0;

	for (uint64_t cap = 0; cap < len; i++)
		cap += n->held[i].cap;
	return i;
}

/*
 * The frame overflowed the first k chains by `rest` bytes: copy those
 * into the chains after them, taking more from the ring as needed.
 * Returns the chains the whole frame uses, 0 when there are too few.
 */
static unsigned int rx_spill(struct virtio_net *n, unsigned int k, uint64_t rest)
{
	uint64_t off = 0;
	unsigned int j = k, pops = 0;

	while (off < rest) {
		if (j == n->nr_held) {
			if (pops++ >= NET_RX_POPS || rx_take(n) <= 0)
				return 0;
			continue;
		}
		const struct rx_buf *b = &n->held[j++];
		off += iov_put(&n->rx_iov[b->first], b->n, 0, n->overflow + off,
			       rest - off);
	}
	return j;
}

/* Gives the first `used` held chains, holding a len-byte frame, to the guest. */
static void rx_deliver(struct virtio_net *n, unsigned int used, uint64_t len)
{
	const struct rx_buf *b0 = &n->held[0];
	uint8_t nb[2] = { (uint8_t)used, (uint8_t)(used >> 8) };
	uint8_t zero = 0;
	uint64_t rest = len;

	/* the kernel leaves num_buffers alone; its flags may say DATA_VALID,
	 * which a driver without GUEST_CSUM must not see */
	iov_put(&n->rx_iov[b0->first], b0->n, VIRTIO_NET_HDR_NUM_BUFFERS_OFF, nb, 2);
	if (!n->guest_csum)
		iov_put(&n->rx_iov[b0->first], b0->n, VIRTIO_NET_HDR_FLAGS_OFF, &zero, 1);
	for (unsigned int i = 0; i < used; i++) {
		uint64_t l = rest < n->held[i].cap ? rest : n->held[i].cap;
		virtio_mmio_push(n->t, NET_RXQ, n->held[i].head, (uint32_t)l);
		rest -= l;
	}
	rx_forget(n, used);
	n->st.rx_frames++;
	n->st.rx_bytes += len - VIRTIO_NET_HDR_LEN;
}

/* One frame from the TAP: 1 handled (delivered or dropped), 0 none, -1 error. */
static int rx_frame(struct virtio_net *n)
{
	uint64_t cap;
	unsigned int k = rx_window(n, &cap), used = 0;
	ssize_t len = rx_read(n, k);

	if (len < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	if ((size_t)len < VIRTIO_NET_HDR_LEN) {
		n->st.rx_errors++;
		return 1;
	}
	/*
	 * A TAP returns a frame's full length even when it truncated it to
	 * our buffers: past the overflow buffer there is nothing to copy.
	 */
	if ((uint64_t)len <= cap)
		used = rx_chains_for(n, (uint64_t)len);
	else if (n->mrg && (uint64_t)len - cap <= sizeof(n->overflow))
		used = rx_spill(n, k, (uint64_t)len - cap);
	if (used == 0) {
		n->st.rx_drops++;       /* too big for the buffers we have */
		return 1;
	}
	rx_deliver(n, used, (uint64_t)len);
	return 1;
}

static void rx_fail(struct virtio_net *n)
{
	n->st.rx_errors++;
	if (!n->rx_error_logged)
		virtio_mmio_warn(n->t, "virtio-net %s: reading the TAP: %s",
				 n->ifname, strerror(errno));
	n->rx_error_logged = true;
	net_watch(n, false);    /* until the guest kicks the rx queue */
}

static void net_rx(struct virtio_net *n)
{
	rx_check_held(n);
	for (unsigned int i = 0; i < NET_RX_BATCH; i++) {
		if (rx_fill(n) < 0 || n->nr_held == 0) {
			net_watch(n, false);
			break;
		}
		int r = rx_frame(n);
		if (r < 0)
			rx_fail(n);
		if (r <= 0)
			break;
	}
	virtio_mmio_notify_used(n->t, NET_RXQ);
}

/* EPOLLERR/EPOLLHUP come even with no events asked for: the TAP is gone. */
static void net_tap_gone(struct virtio_net *n)
{
	log_warn("virtio-net %s: the TAP interface went away", n->ifname);
	evloop_del(n->tap);
	n->registered = n->watching = n->tx_backlog = false;
	n->tap_dead = true;
}

static void net_tx(struct virtio_net *n);

static void net_tap_ready(void *opaque, uint32_t events)
{
	struct virtio_net *n = opaque;

	virtio_mmio_lock(n->t);
	if (events & (EPOLLERR | EPOLLHUP)) {
		net_tap_gone(n);
	} else if (!virtio_mmio_running(n->t)) {
		net_set_events(n, false, false);
	} else {
		if ((events & EPOLLOUT) && n->tx_backlog)
			net_tx(n);
		if ((events & EPOLLIN) && n->watching)
			net_rx(n);
	}
	virtio_mmio_unlock(n->t);
}

/* ---- transmit ---- */

static void tx_frame(struct virtio_net *n, const struct virtq_chain *c)
{
	ssize_t r;

	if (c->out_len < VIRTIO_NET_HDR_LEN) {
		n->st.tx_errors++;
		return;
	}
	do
		r = writev(n->tap, c->iov, (int)c->n_out);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			n->st.tx_drops++;
		else
			n->st.tx_errors++;
		return;
	}
	n->st.tx_frames++;
	n->st.tx_bytes += c->out_len - VIRTIO_NET_HDR_LEN;
}

/*
 * Sends up to NET_TX_BUDGET chains.  What the guest queued beyond that
 * (possible only while another vCPU refills the ring) is left to the
 * I/O thread's EPOLLOUT wakeups: a vCPU kicking the queue is never kept
 * here, with the transport lock held, for as long as the guest likes.
 */
static void net_tx(struct virtio_net *n)
{
	struct virtq_chain *c = &n->tx_chain;
	unsigned int sent = 0;

	while (sent < NET_TX_BUDGET && virtio_mmio_pop(n->t, NET_TXQ, c) == 1) {
		tx_frame(n, c);
		virtio_mmio_push(n->t, NET_TXQ, c->head, 0);
		sent++;
	}
	virtio_mmio_notify_used(n->t, NET_TXQ);
	net_set_events(n, n->watching, sent == NET_TX_BUDGET &&
		       virtio_mmio_running(n->t) &&
		       virtq_pending(virtio_mmio_queue(n->t, NET_TXQ)) > 0);
}

/* ---- transport ops ---- */

static void net_queue_notify(void *opaque, unsigned int q)
{
	struct virtio_net *n = opaque;

	if (q == NET_TXQ) {
		net_tx(n);
	} else {
		n->rx_error_logged = false;
		net_watch(n, true);     /* new rx buffers: receive again */
	}
}

static void net_activate(void *opaque)
{
	struct virtio_net *n = opaque;
	uint64_t f = virtio_mmio_features(n->t);
	uint64_t gso = VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
		       VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6);

	n->mrg = f & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	n->guest_csum = f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
	n->rx_target = (f & gso) ? NET_FRAME_GSO : NET_FRAME_SMALL;
	if (tap_set_offload(n->tap, f) < 0)
		virtio_mmio_warn(n->t, "virtio-net %s: TUNSETOFFLOAD: %s",
				 n->ifname, strerror(errno));
	net_watch(n, true);
}

static void net_reset(void *opaque)
{
	struct virtio_net *n = opaque;

	net_set_events(n, false, false);
	rx_forget_all(n);
	n->mrg = n->guest_csum = false;
	if (tap_set_offload(n->tap, 0) < 0)
		virtio_mmio_warn(n->t, "virtio-net %s: TUNSETOFFLOAD: %s",
				 n->ifname, strerror(errno));
}

static uint64_t net_features(void *opaque)
{
	(void)opaque;
	return VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
	       VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
	       VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
	       VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |
	       VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6);
}

static void net_read_config(void *opaque, uint64_t off, void *data,
			    unsigned int len)
{
	struct virtio_net *n = opaque;
	memcpy(data, n->config + off, len);
}

static unsigned int net_stats(void *opaque, struct stat_counter *out,
			      unsigned int max)
{
	struct virtio_net *n = opaque;
	const struct stat_counter s[] = {
		{ "rx_frames", n->st.rx_frames }, { "rx_bytes", n->st.rx_bytes },
		{ "rx_drops", n->st.rx_drops }, { "rx_errors", n->st.rx_errors },
		{ "tx_frames", n->st.tx_frames }, { "tx_bytes", n->st.tx_bytes },
		{ "tx_drops", n->st.tx_drops }, { "tx_errors", n->st.tx_errors },
	};
	unsigned int i = 0;

	for (; i < max && i < sizeof(s) / sizeof(s[0]); i++)
		out[i] = s[i];
	return i;
}

static void net_destroy(void *opaque)
{
	struct virtio_net *n = opaque;

	if (n->registered)
		evloop_del(n->tap);
	close(n->tap);
	free(n);
}

static const struct virtio_device_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.nr_queues = 2,
	.queue_max = VIRTIO_NET_QUEUE_SIZE,
	.config_size = NET_CONFIG_SIZE,
	.features = net_features,
	.read_config = net_read_config,
	.queue_notify = net_queue_notify,
	.activate = net_activate,
	.reset = net_reset,
	.stats = net_stats,
	.destroy = net_destroy,
};

/* ---- setup ---- */

static void net_random_mac(uint8_t mac[6])
{
	if (getrandom(mac, 6, 0) != 6) {
		uint64_t v = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^
			     (uint64_t)getpid();
		for (int i = 0; i < 6; i++)
			mac[i] = (uint8_t)(v >> (8 * i));
	}
	mac[0] = (uint8_t)((mac[0] & ~1u) | 2u);   /* unicast, locally administered */
}

static void net_fill_config(struct virtio_net *n, const struct nic_config *nic)
{
	/* virtio_net_config: mac@0, status@6, max_virtqueue_pairs@8 */
	if (nic->mac_set)
		memcpy(n->config, nic->mac, 6);
	else
		net_random_mac(n->config);
	n->config[6] = VIRTIO_NET_S_LINK_UP;
	n->config[8] = 1;
}

int virtio_net_init(struct vm *vm, const struct nic_config *nic,
		    char *err, size_t errlen)
{
	struct virtio_net *n = calloc(1, sizeof(*n));

	if (!n) {
		snprintf(err, errlen, "TAP %s: out of memory", nic->tap);
		return -1;
	}
	n->tap = tap_open(nic->tap, err, errlen);
	if (n->tap < 0) {
		free(n);
		return -1;
	}
	snprintf(n->ifname, sizeof(n->ifname), "%s", nic->tap);
	net_fill_config(n, nic);
	/* register now if the event loop exists; else at activation */
	if (evloop_add(n->tap, 0, net_tap_ready, n) == 0)
		n->registered = true;
	n->t = virtio_mmio_create(vm, &net_ops, n);
	if (!n->t) {
		snprintf(err, errlen, "TAP %s: no free virtio-mmio slot", nic->tap);
		net_destroy(n);
		return -1;
	}
	return 0;
}
