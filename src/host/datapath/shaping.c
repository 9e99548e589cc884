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
 * a burst exceeds burst_bytes by at most one frame.  What does not pass is
 * dropped, not queued (the sender's TCP backs off).
 *
 * Tokens are bytes scaled by 8e9 (bit-nanoseconds), so a refill of dt ns
 * at r bit/s adds exactly dt * r: no rounding, whatever the rate.  The
 * clock is the switch's (a fake one in the tests).
 */
#include "internal.h"

#define SCALE 8000000000ll		/* bytes -> bit-nanoseconds */
#define PEAK_WINDOW_NS 1000000ll	/* the peak bucket holds 1 ms */
#define PEAK_MIN_BYTES 1514

void dp_shaper_config(struct dp_shaper *s, const struct dp_shaping *cfg,
		      uint64_t now)
{
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

bool dp_shaper_admit(struct dp_shaper *s, uint64_t now, uint32_t bytes)
{
	__int128 need = (__int128)bytes * SCALE;

	if (!s->enabled)
		return true;
	if (now > s->last_ns) {
		uint64_t dt = now - s->last_ns;
		refill(&s->avg_tokens, s->avg_depth, s->avg_bps, dt);
		refill(&s->peak_tokens, s->peak_depth, s->peak_bps, dt);
		s->last_ns = now;
	}
	if (!holds(s->avg_tokens, s->avg_depth, need) ||
	    !holds(s->peak_tokens, s->peak_depth, need))
		return false;
	s->avg_tokens -= need;
	s->peak_tokens -= need;
	return true;
}
