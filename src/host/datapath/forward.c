/*
 * Forwarding: where one frame goes, as the reference's standard vSwitch
 * decides it.
 *
 * On the way in (ingress):
 *   - the frame is classified into a VLAN (vlan.c); an uplink's frame in a
 *     VLAN no port group carries is dropped, and so is one that carries
 *     the source MAC of a local port (our own frame coming back through
 *     another uplink of the same network);
 *   - a virtual port's frame passes the forged-transmit check
 *     (security.c), then the port's shaper (shaping.c), and its source MAC
 *     is learned (fdb.c).  A frame the shaper cannot take yet waits in the
 *     port's shaping queue (dropped only when that is full) and goes on
 *     from dp_shaper_drain, classified already, when the buckets allow.
 * Then:
 *   - broadcast and multicast are flooded inside the VLAN: to every other
 *     virtual port member of it (multicast only to the ports whose
 *     multicast filter lets it through, mcast.c), and, from a virtual
 *     port, to the one uplink its team picks (teaming.c).  From an
 *     uplink, only ports whose team uses that uplink get it; it never
 *     goes out another uplink;
 *   - known unicast goes to its port;
 *   - unknown unicast from a virtual port goes to the team's uplink only
 *     (not flooded to other virtual ports: the switch knows its own MACs);
 *     from an uplink it is dropped;
 *   - promiscuous ports of the VLAN get a copy of everything.
 * On the way out each port gets a frame at most once (a per-frame
 * generation number), a port whose MAC changed against policy refuses it
 * (security.c), and the port's tag is added as the frame is written.
 *
 * Ports may queue what they are given (a packet socket sends a batch with
 * one sendmmsg); the ports that did are flushed at the end of the batch.
 */
#include "internal.h"

static bool drop(struct dp_port *p, enum dp_drop why)
{
	p->stats.drops[why]++;
	return false;
}

void dp_flush_ports(struct dp_switch *sw)
{
	for (unsigned i = 0; i < sw->nflush; i++) {
		struct dp_port *p = sw->flush[i];
		p->queued = false;
		p->ops->flush(p);
	}
	sw->nflush = 0;
}

static void send_to(struct dp_switch *sw, struct dp_port *p,
		    const struct dp_frame *f)
{
	uint16_t tag = dp_vlan_out_tag(p, f);

	if (p->ops->send(p, f, tag) < 0) {
		drop(p, DP_DROP_TX);
		return;
	}
	p->stats.out_frames++;
	p->stats.out_bytes += f->len + (tag ? 4 : 0);
	if (p->ops->flush && !p->queued) {
		p->queued = true;
		sw->flush[sw->nflush++] = p;
	}
}

/* Hands the current frame to p, once. */
static void deliver(struct dp_switch *sw, struct dp_port *p,
		    const struct dp_frame *f)
{
	if (p->seen_gen == sw->gen)
		return;
	p->seen_gen = sw->gen;
	if (!p->uplink && dp_sec_inbound_blocked(p)) {
		drop(p, DP_DROP_MAC_CHANGE);
		return;
	}
	send_to(sw, p, f);
}

void dp_switch_emit(struct dp_switch *sw, struct dp_port *p,
		    const struct dp_frame *f)
{
	sw->gen++;
	send_to(sw, p, f);
	dp_flush_ports(sw);
}

static bool vlan_used(const struct dp_switch *sw, uint16_t vlan)
{
	return sw->vlan_used[vlan / 64] >> (vlan % 64) & 1;
}

static bool too_big(const struct dp_switch *sw, const struct dp_frame *f)
{
	return sw->mtu && f->vnet.gso_type == VIRTIO_NET_HDR_GSO_NONE &&
	       f->len > sw->mtu + DP_ETH_HLEN;
}

static bool uplink_in(struct dp_switch *sw, struct dp_port *src,
		      struct dp_frame *f)
{
	if (!src->link_up)
		return drop(src, DP_DROP_LINK_DOWN);
	if (!vlan_used(sw, f->vlan))
		return drop(src, DP_DROP_VLAN);
	if (dp_fdb_lookup(&sw->fdb, f->vlan, f->data + 6, sw->now))
		return drop(src, DP_DROP_LOOP);
	return true;
}

static bool port_in(struct dp_switch *sw, struct dp_port *src,
		    struct dp_frame *f)
{
	if (dp_sec_forged(src, f->data + 6))
		return drop(src, DP_DROP_FORGED);
	struct dp_shaper *sh = &src->shaper;
	if (sh->qn || !dp_shaper_admit(sh, sw->now, f->len)) {
		if (!dp_shaper_enqueue(sh, f))
			return drop(src, DP_DROP_SHAPED);
		dp_shaper_update_due(sh);
		return false;	/* queued: dp_shaper_drain sends it on */
	}
	dp_fdb_learn(&sw->fdb, f->vlan, f->data + 6, src, sw->now);
	return true;
}

static bool ingress(struct dp_switch *sw, struct dp_port *src,
		    struct dp_frame *f)
{
	if (f->len < DP_ETH_HLEN || dp_mac_is_multicast(f->data + 6))
		return drop(src, DP_DROP_MALFORMED);
	if (dp_vlan_classify(src, f) < 0)
		return drop(src, DP_DROP_VLAN);
	if (too_big(sw, f))
		return drop(src, DP_DROP_MTU);
	return src->uplink ? uplink_in(sw, src, f) : port_in(sw, src, f);
}

/* Whether virtual port p takes a flooded frame from src. */
static bool takes(const struct dp_port *p, const struct dp_port *src,
		  const struct dp_frame *f)
{
	if (p == src || p->uplink || !dp_vlan_member(p, f->vlan))
		return false;
	return !src->uplink || dp_team_uses(p->pg, src);
}

static void flood(struct dp_switch *sw, struct dp_port *src,
		  const struct dp_frame *f)
{
	for (unsigned i = 0; i < sw->nports; i++)
		if (takes(sw->ports[i], src, f) && dp_mcast_wants(sw->ports[i], f->data))
			deliver(sw, sw->ports[i], f);
	if (!src->uplink) {
		struct dp_port *up = dp_team_select(src->pg, src, f);
		if (up)
			deliver(sw, up, f);
	}
}

static void unicast(struct dp_switch *sw, struct dp_port *src,
		    const struct dp_frame *f)
{
	struct dp_port *dst = dp_fdb_lookup(&sw->fdb, f->vlan, f->data, sw->now);

	if (dst == src) {
		drop(src, DP_DROP_LOOP);
		return;
	}
	if (dst) {
		deliver(sw, dst, f);
		return;
	}
	if (src->uplink) {
		drop(src, DP_DROP_UNKNOWN);
		return;
	}
	dst = dp_team_select(src->pg, src, f);
	if (!dst) {
		drop(src, DP_DROP_NO_UPLINK);
		return;
	}
	deliver(sw, dst, f);
}

static void promiscuous(struct dp_switch *sw, struct dp_port *src,
			const struct dp_frame *f)
{
	for (unsigned i = 0; i < sw->nports; i++) {
		struct dp_port *p = sw->ports[i];
		if (takes(p, src, f) && dp_sec_promiscuous(p))
			deliver(sw, p, f);
	}
}

/* Where a frame that passed ingress goes. */
static void dispatch(struct dp_switch *sw, struct dp_port *src,
		     const struct dp_frame *f)
{
	sw->gen++;
	if (dp_mac_is_multicast(f->data))
		flood(sw, src, f);
	else
		unicast(sw, src, f);
	if (sw->npromisc)
		promiscuous(sw, src, f);
}

void dp_forward(struct dp_switch *sw, struct dp_port *src, struct dp_frame *f)
{
	src->stats.in_frames++;
	src->stats.in_bytes += f->len;
	if (ingress(sw, src, f))
		dispatch(sw, src, f);
}

void dp_shaper_drain(struct dp_switch *sw, struct dp_port *src)
{
	struct dp_shaper *sh = &src->shaper;
	struct dp_frame f;

	if (!sh->qn)
		return;
	while (dp_shaper_head(sh, sw->now, &f)) {
		dp_fdb_learn(&sw->fdb, f.vlan, f.data + 6, src, sw->now);
		dispatch(sw, src, &f);
		dp_shaper_pop(sh);
	}
	dp_shaper_update_due(sh);
}
