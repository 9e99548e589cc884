/*
 * NIC teaming and failover of a port group: which uplink carries a
 * virtual port's traffic out, and telling the physical network when that
 * changes.
 *
 * The policy (vmkd's effective one) names an ordered active list and a
 * standby list.  The team has slots: one per active uplink (a single one
 * with explicit failover order, which uses only the first usable uplink).
 * A slot is served by its own active uplink while that is up; when it goes
 * down, by the first standby that is up and not serving another slot, then
 * by an active uplink free to take it (one that recovered with failback
 * off).  With failback on, an active uplink takes its slot back as soon as
 * it is up again; with failback off a slot keeps the uplink serving it
 * until that one fails.  Link state ("link status only" failure detection)
 * comes from the control plane or a netlink watcher: dp_switch_set_link.
 *
 * Load balancing (outbound only, as on the reference):
 *   - originating port id: the port's slot is id mod slots; its uplink,
 *     or if the slot has none, id mod the live uplinks.  A port thus moves
 *     only when its own uplink fails or comes back;
 *   - source MAC: the same with a hash of the frame's source MAC;
 *   - IP hash: the last octets of source and destination IP XORed (for
 *     non-IP frames, the two 32-bit words where IPv4 addresses would be),
 *     mod the live uplinks;
 *   - explicit failover order: the one slot.
 *
 * Inbound, broadcasts and multicasts from an uplink reach a port only if
 * its team uses that uplink (forward.c asks dp_team_uses), so a physical
 * switch flooding to every uplink does not deliver copies twice.
 *
 * Notify switches: after each change of the team, every MAC the switch
 * knows behind a port of the group (its static and learned entries) whose
 * uplink changed is announced out of the new uplink with a RARP request,
 * as the reference does, so physical switches move the MAC to that port.
 */
#include <string.h>

#include "internal.h"

#define ORDER_MAX (3 * DP_TEAM_MAX)

struct order {
	struct dp_port *u[ORDER_MAX];
	unsigned n;
};

static struct dp_port *uplink_named(struct dp_switch *sw, const char *name)
{
	for (unsigned i = 0; i < sw->nports; i++) {
		struct dp_port *p = sw->ports[i];
		if (p->uplink && strcmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}

static void order_add(struct order *o, struct dp_port *u)
{
	if (!u || o->n == ORDER_MAX)
		return;
	for (unsigned i = 0; i < o->n; i++)
		if (o->u[i] == u)
			return;
	o->u[o->n++] = u;
}

static void order_add_list(struct order *o, struct dp_switch *sw,
			   const char (*names)[DP_NAME_MAX], unsigned n,
			   unsigned skip)
{
	for (unsigned i = 0; i < n && i < DP_TEAM_MAX; i++)
		if (i != skip)
			order_add(o, uplink_named(sw, names[i]));
}

static bool one_slot(const struct dp_teaming *tp)
{
	return tp->lb == DP_LB_EXPLICIT || tp->n_active == 0;
}

/* The uplinks that may serve slot i, best first. */
static void slot_order(struct dp_switch *sw, const struct dp_teaming *tp,
		       unsigned i, struct order *o)
{
	o->n = 0;
	if (one_slot(tp)) {
		order_add_list(o, sw, tp->active, tp->n_active, DP_TEAM_MAX);
		order_add_list(o, sw, tp->standby, tp->n_standby, DP_TEAM_MAX);
		return;
	}
	order_add(o, uplink_named(sw, tp->active[i]));
	order_add_list(o, sw, tp->standby, tp->n_standby, DP_TEAM_MAX);
	order_add_list(o, sw, tp->active, tp->n_active, i);
}

static bool usable(const struct dp_port *u)
{
	return u && u->link_up;
}

static bool in_order(const struct order *o, const struct dp_port *u)
{
	for (unsigned i = 0; i < o->n; i++)
		if (o->u[i] == u)
			return true;
	return false;
}

static bool in_slots(const struct dp_team *t, const struct dp_port *u)
{
	for (unsigned i = 0; i < t->n_slots; i++)
		if (t->slot[i] == u)
			return true;
	return false;
}

/* Pass 1: what a slot keeps without looking at the others. */
static struct dp_port *slot_keep(const struct dp_teaming *tp,
				 const struct order *o, struct dp_port *old)
{
	if (tp->failback)
		return o->n && usable(o->u[0]) ? o->u[0] : NULL;
	return usable(old) && in_order(o, old) ? old : NULL;
}

/* Pass 2: the best free uplink for an empty slot. */
static struct dp_port *slot_fill(const struct dp_team *t, const struct order *o)
{
	for (unsigned i = 0; i < o->n; i++)
		if (usable(o->u[i]) && !in_slots(t, o->u[i]))
			return o->u[i];
	return NULL;
}

static void team_resolve(struct dp_switch *sw, struct dp_pg *pg)
{
	const struct dp_teaming *tp = &pg->policy.teaming;
	struct dp_team *t = &pg->team, old = *t;
	struct order o[DP_TEAM_MAX];
	unsigned n = one_slot(tp) ? 1 : tp->n_active;

	if (n > DP_TEAM_MAX)
		n = DP_TEAM_MAX;
	memset(t, 0, sizeof(*t));
	t->n_slots = n;
	for (unsigned i = 0; i < n; i++) {
		slot_order(sw, tp, i, &o[i]);
		t->slot[i] = slot_keep(tp, &o[i], i < old.n_slots ? old.slot[i] : NULL);
	}
	for (unsigned i = 0; i < n; i++)
		if (!t->slot[i])
			t->slot[i] = slot_fill(t, &o[i]);
	for (unsigned i = 0; i < n; i++)
		if (t->slot[i])
			t->live[t->n_live++] = t->slot[i];
}

static uint32_t mac_hash(const uint8_t *mac)
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = v << 8 | mac[i];
	return (uint32_t)((v * 0x9e3779b97f4a7c15ull) >> 40);
}

static uint32_t be32_at(const struct dp_frame *f, uint32_t off)
{
	const uint8_t *p = f->data + off;

	if (off + 4 > f->len)
		return 0;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | p[2] << 8 | p[3];
}

static uint32_t ip_hash(const struct dp_frame *f)
{
	uint16_t type = f->len >= DP_ETH_HLEN ? (uint16_t)(f->data[12] << 8 | f->data[13]) : 0;
	uint32_t l3 = DP_ETH_HLEN;

	if (type == 0x0800 && f->len >= l3 + 20)
		return f->data[l3 + 15] ^ f->data[l3 + 19];
	if (type == 0x86dd && f->len >= l3 + 40)
		return f->data[l3 + 23] ^ f->data[l3 + 39];
	return be32_at(f, l3 + 12) ^ be32_at(f, l3 + 16);
}

static struct dp_port *pick(const struct dp_team *t, uint32_t h)
{
	struct dp_port *home = t->slot[h % t->n_slots];

	return home ? home : t->live[h % t->n_live];
}

/* The uplink frames from MAC `mac` of port p leave by (for announcing). */
static struct dp_port *mac_uplink(const struct dp_team *t, enum dp_lb lb,
				  const struct dp_port *p, const uint8_t *mac)
{
	if (!t->n_live)
		return NULL;
	if (lb == DP_LB_SRCID)
		return pick(t, p->id);
	if (lb == DP_LB_SRCMAC)
		return pick(t, mac_hash(mac));
	return t->live[0];
}

struct dp_port *dp_team_select(const struct dp_pg *pg,
			       const struct dp_port *src,
			       const struct dp_frame *f)
{
	const struct dp_team *t = &pg->team;

	if (!t->n_live)
		return NULL;
	switch (pg->policy.teaming.lb) {
	case DP_LB_SRCID:
		return pick(t, src->id);
	case DP_LB_SRCMAC:
		return pick(t, mac_hash(f->data + 6));
	case DP_LB_IPHASH:
		return t->live[ip_hash(f) % t->n_live];
	default:
		return t->live[0];
	}
}

bool dp_team_uses(const struct dp_pg *pg, const struct dp_port *uplink)
{
	for (unsigned i = 0; i < pg->team.n_live; i++)
		if (pg->team.live[i] == uplink)
			return true;
	return false;
}

unsigned dp_rarp_build(uint8_t *b, const uint8_t mac[6])
{
	static const uint8_t head[] = {
		0x80, 0x35,		/* EtherType RARP */
		0x00, 0x01, 0x08, 0x00,	/* hardware Ethernet, protocol IPv4 */
		6, 4, 0x00, 0x03,	/* lengths, op: reverse request */
	};

	memset(b, 0, 60);
	memset(b, 0xff, 6);
	memcpy(b + 6, mac, 6);
	memcpy(b + 12, head, sizeof(head));
	memcpy(b + 22, mac, 6);		/* sender hardware address */
	memcpy(b + 32, mac, 6);		/* target hardware address */
	return 60;			/* IP addresses 0, padded to the minimum */
}

static void rarp_send(struct dp_switch *sw, struct dp_port *u,
		      const uint8_t mac[6], uint16_t vlan)
{
	uint8_t buf[64];
	struct dp_frame f = { .data = buf, .vlan = vlan, .tci = vlan };

	f.len = dp_rarp_build(buf, mac);
	dp_switch_emit(sw, u, &f);
}

struct moved {
	struct dp_switch *sw;
	struct dp_pg *pg;
	const struct dp_team *old;
	const struct dp_port *only;	/* announce this port's MACs, moved or not */
};

static void announce_entry(struct dp_fdb_entry *e, void *arg)
{
	struct moved *m = arg;
	struct dp_port *p = e->port;
	enum dp_lb lb = m->pg->policy.teaming.lb;
	uint8_t mac[6];

	if (p->uplink || p->pg != m->pg || (m->only && p != m->only))
		return;
	dp_fdb_mac(e, mac);
	struct dp_port *now = mac_uplink(&m->pg->team, lb, p, mac);
	if (!now || (m->old && now == mac_uplink(m->old, lb, p, mac)))
		return;
	rarp_send(m->sw, now, mac, dp_fdb_vlan(e));
}

void dp_team_update(struct dp_switch *sw, struct dp_pg *pg)
{
	struct dp_team old = pg->team;
	struct moved m = { sw, pg, &old, NULL };

	team_resolve(sw, pg);
	if (pg->policy.teaming.notify_switches)
		dp_fdb_foreach(&sw->fdb, announce_entry, &m);
}

void dp_team_announce_port(struct dp_switch *sw, struct dp_port *p)
{
	struct moved m = { sw, p->pg, NULL, p };

	if (p->pg && p->pg->policy.teaming.notify_switches)
		dp_fdb_foreach(&sw->fdb, announce_entry, &m);
}
