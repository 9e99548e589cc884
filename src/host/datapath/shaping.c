/*
 * Traffic shaping of a port's outbound traffic (frames from the port into
 * the switch), as the reference's standard vSwitch shapes it: an average
 * bandwidth held over time, a burst of saved-up bytes, and a peak
 * bandwidth that caps the rate while the burst is spent.
 *
 * Two token buckets, both of which a frame must pass:
 *   - the average bucket fills at average_bps and holds burst_bytes: this
 *     is the long-run limit plus the burst bonus;
 *   - the peak bucket fills at peak_bps and holds 1 ms of peak rate (at
 *     least one full-sized frame): this caps the rate of a burst.
 * A frame passes when each bucket holds at least the frame's size, or is
 * full when the frame is larger than the bucket (a 64 KiB GSO frame
 * through a small burst); its size is then taken out, possibly leaving a
 * debt that later refills pay back.  So the average is exact over time and
 * a burst exceeds burst_bytes by at most one frame.
 *
 * What does not pass waits in a short FIFO, as the reference's shaper
 * holds traffic briefly rather than only dropping it: dropping whole
 * 64 KiB TSO segments made a TCP stream through a 20 Mbit/s group fall
 * to 0.3 Mbit/s (retransmission timeouts).  A frame is dropped only when
 * the queue is full: at most DP_SHAPE_QFRAMES frames and qcap bytes, qcap
 * twice the burst size, at least two GSO super-frames and at most
 * DP_SHAPE_QMAX (256 KiB: 100 ms at 20 Mbit/s).  Once a frame waits, the
 * ones behind it wait too (order is kept).
 *
 * The queue copies.  The bytes of a received frame are in the runner's
 * batch buffers, reused for the next batch, so holding a reference would
 * mean a buffer pool that ports borrow from and give back, for every
 * kind; a copy into a per-port ring allocated when the shaping is
 * configured costs a memcpy only for frames that must wait anyway (at the
 * shaped rate), and frames that pass are still forwarded in place.  The
 * ring keeps each frame's bytes contiguous (a frame that does not fit at
 * the end starts again at 0, leaving the end unused until then).  The
 * switch sends the queue on when the port sends more frames and when the
 * runner's timer reaches due_ns (runner.c).
 *
 * Tokens are bytes scaled by 8e9 (bit-nanoseconds), so a refill of dt ns
 * at r bit/s adds exactly dt * r: no rounding, whatever the rate.  The
 * clock is the switch's (a fake one in the tests).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SCALE 8000000000ll		/* bytes -> bit-nanoseconds */
#define PEAK_WINDOW_NS 1000000ll	/* the peak bucket holds 1 ms */
#define PEAK_MIN_BYTES 1514

void dp_shaper_free(struct dp_shaper *s)
{
	free(s->q);
	free(s->qbuf);
	s->q = NULL;
	s->qbuf = NULL;
	s->qcap = s->qtail = s->qbytes = 0;
	s->qhead = s->qn = 0;
	__atomic_store_n(&s->due_ns, 0, __ATOMIC_RELAXED);
}

static uint32_t queue_bytes(const struct dp_shaping *cfg)
{
	uint64_t b = 2 * cfg->burst_bytes;

	if (b < 2ull * DP_FRAME_MAX)
		b = 2ull * DP_FRAME_MAX;
	return b > DP_SHAPE_QMAX ? DP_SHAPE_QMAX : (uint32_t)b;
}

static void queue_alloc(struct dp_shaper *s, const struct dp_shaping *cfg)
{
	if (!cfg->enabled)
		return;
	s->q = calloc(DP_SHAPE_QFRAMES, sizeof(*s->q));
	s->qbuf = malloc(queue_bytes(cfg));
	if (!s->q || !s->qbuf) {	/* out of memory: shape by dropping */
		dp_shaper_free(s);
		return;
	}
	s->qcap = queue_bytes(cfg);
}

static bool same_config(const struct dp_shaping *a, const struct dp_shaping *b)
{
	return a->enabled == b->enabled && a->average_bps == b->average_bps &&
	       a->peak_bps == b->peak_bps && a->burst_bytes == b->burst_bytes;
}

/* Returns the number of queued frames it discarded (a new configuration
 * starts with full buckets and an empty queue; the same one keeps both). */
unsigned dp_shaper_config(struct dp_shaper *s, const struct dp_shaping *cfg,
			  uint64_t now)
{
	unsigned dropped = s->qn;

	if (s->q && same_config(&s->cfg, cfg))
		return 0;
	dp_shaper_free(s);
	queue_alloc(s, cfg);
	s->cfg = *cfg;

	uint64_t peak = cfg->peak_bps > cfg->average_bps ? cfg->peak_bps
							 : cfg->average_bps;
	__int128 peak_depth = (__int128)peak * PEAK_WINDOW_NS;

	if (peak_depth < (__int128)PEAK_MIN_BYTES * SCALE)
		peak_depth = (__int128)PEAK_MIN_BYTES * SCALE;
	s->enabled = cfg->enabled;
	s->avg_bps = cfg->average_bps;
	s->peak_bps = peak;
	s->avg_depth = (__int128)cfg->burst_bytes * SCALE;
	s->peak_depth = peak_depth;
	s->avg_tokens = s->avg_depth;
	s->peak_tokens = s->peak_depth;
	s->last_ns = now;
	return dropped;
}

static void refill(__int128 *tokens, __int128 depth, uint64_t rate,
		   uint64_t dt)
{
	*tokens += (__int128)dt * rate;
	if (*tokens > depth)
		*tokens = depth;
}

static bool holds(__int128 tokens, __int128 depth, __int128 need)
{
	return tokens >= (need < depth ? need : depth);
}

static void advance(struct dp_shaper *s, uint64_t now)
{
	if (now > s->last_ns) {
		uint64_t dt = now - s->last_ns;
		refill(&s->avg_tokens, s->avg_depth, s->avg_bps, dt);
		refill(&s->peak_tokens, s->peak_depth, s->peak_bps, dt);
		s->last_ns = now;
	}
}

bool dp_shaper_admit(struct dp_shaper *s, uint64_t now, uint32_t bytes)
{
	__int128 need = (__int128)bytes * SCALE;

	if (!s->enabled)
		return true;
	advance(s, now);
	if (!holds(s->avg_tokens, s->avg_depth, need) ||
	    !holds(s->peak_tokens, s->peak_depth, need))
		return false;
	s->avg_tokens -= need;
	s->peak_tokens -= need;
	return true;
}

/* Where len contiguous bytes fit in the ring, or -1. */
static int64_t ring_place(const struct dp_shaper *s, uint32_t len)
{
	if (!s->qn)
		return len <= s->qcap ? 0 : (int64_t)-1;
	uint32_t head = s->q[s->qhead].off;
	if (s->qtail > head) {		/* bytes in [head, tail) */
		if (s->qcap - s->qtail >= len)
			return s->qtail;
		return len <= head ? 0 : (int64_t)-1;
	}
	/* wrapped: bytes in [head, end) and [0, tail); tail == head: full */
	return head - s->qtail >= len ? (int64_t)s->qtail : -1;
}

bool dp_shaper_enqueue(struct dp_shaper *s, const struct dp_frame *f)
{
	if (!s->q || s->qn == DP_SHAPE_QFRAMES || !f->len)
		return false;
	int64_t off = ring_place(s, f->len);
	if (off < 0)
		return false;
	struct dp_shaped_frame *d = &s->q[(s->qhead + s->qn) % DP_SHAPE_QFRAMES];
	*d = (struct dp_shaped_frame){
		.vnet = f->vnet, .off = (uint32_t)off, .len = f->len,
		.tci = f->tci, .vlan = f->vlan, .tag_meta = f->tag_meta,
	};
	memcpy(s->qbuf + off, f->data, f->len);
	s->qtail = (uint32_t)off + f->len;
	s->qbytes += f->len;
	s->qn++;
	return true;
}

bool dp_shaper_head(struct dp_shaper *s, uint64_t now, struct dp_frame *f)
{
	if (!s->qn)
		return false;
	const struct dp_shaped_frame *d = &s->q[s->qhead];
	if (!dp_shaper_admit(s, now, d->len))
		return false;
	f->vnet = d->vnet;
	f->data = s->qbuf + d->off;
	f->len = d->len;
	f->tci = d->tci;
	f->vlan = d->vlan;
	f->tag_meta = d->tag_meta;
	f->buf = f->data;
	f->cap = f->len;
	return true;
}

void dp_shaper_pop(struct dp_shaper *s)
{
	if (!s->qn)
		return;
	s->qbytes -= s->q[s->qhead].len;
	s->qhead = (s->qhead + 1) % DP_SHAPE_QFRAMES;
	if (!--s->qn)
		s->qhead = s->qtail = 0;
}

/* ns until the bucket holds what the head frame needs (0: it does). */
static uint64_t wait_ns(__int128 tokens, __int128 depth, uint64_t rate,
			__int128 need)
{
	__int128 want = need < depth ? need : depth;

	if (tokens >= want)
		return 0;
	if (!rate)
		return 1000000000ull;	/* never: look again in a second */
	__int128 ns = (want - tokens + rate - 1) / rate;
	return ns > 1000000000 ? 1000000000ull : (uint64_t)ns;
}

void dp_shaper_update_due(struct dp_shaper *s)
{
	uint64_t due = 0;

	if (s->qn) {
		__int128 need = (__int128)s->q[s->qhead].len * SCALE;
		uint64_t a = wait_ns(s->avg_tokens, s->avg_depth, s->avg_bps, need);
		uint64_t p = wait_ns(s->peak_tokens, s->peak_depth, s->peak_bps, need);
		due = s->last_ns + (a > p ? a : p);
		if (!due)
			due = 1;
	}
	__atomic_store_n(&s->due_ns, due, __ATOMIC_RELAXED);
}
