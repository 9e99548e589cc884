/*
 * The switch object and its control-plane side: port groups, attaching
 * and detaching ports, a guest's MAC changes, uplink link state.
 *
 * A switch is a port array (virtual ports and uplinks), a port group
 * array, and the MAC table.  Port groups carry a VLAN id and the
 * effective policy vmkd resolved for them; a virtual port points at its
 * group.  Whatever derives from the configuration is recomputed here when
 * the configuration changes, never on the forwarding path: the VLANs in
 * use (a bitmap), the number of promiscuous ports, each group's team, each
 * port's shaper, the static MAC entries.
 *
 * One mutex per switch: these functions take it for the whole change,
 * dp_switch_input for a batch of frames.  Arrays grow here (realloc), so
 * the forwarding path never allocates.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define SWEEP_NS 1000000000ull

static uint64_t monotonic_ns(void *arg)
{
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void set_name(char *dst, const char *src)
{
	snprintf(dst, DP_NAME_MAX, "%s", src ? src : "");
}

void dp_policy_default(struct dp_policy *pol)
{
	memset(pol, 0, sizeof(*pol));
	pol->security.allow_mac_changes = true;
	pol->security.allow_forged_transmits = true;
	pol->teaming.lb = DP_LB_SRCID;
	pol->teaming.notify_switches = true;
	pol->teaming.failback = true;
}

struct dp_switch *dp_switch_new(const struct dp_switch_config *cfg)
{
	struct dp_switch *sw = calloc(1, sizeof(*sw));

	if (!sw)
		return NULL;
	set_name(sw->name, cfg->name);
	if (dp_fdb_init(&sw->fdb, cfg->fdb_size ? cfg->fdb_size : 4096,
			cfg->aging_ns ? cfg->aging_ns : 300 * SWEEP_NS) < 0) {
		free(sw);
		return NULL;
	}
	pthread_mutex_init(&sw->lock, NULL);
	sw->mtu = cfg->mtu;
	sw->clock = cfg->clock ? cfg->clock : monotonic_ns;
	sw->clock_arg = cfg->clock_arg;
	sw->now = sw->last_sweep = sw->clock(sw->clock_arg);
	sw->next_id = 1;
	return sw;
}

static void detach_locked(struct dp_switch *sw, struct dp_port *p);

void dp_switch_free(struct dp_switch *sw)
{
	if (!sw)
		return;
	pthread_mutex_lock(&sw->lock);
	while (sw->nports)
		detach_locked(sw, sw->ports[sw->nports - 1]);
	pthread_mutex_unlock(&sw->lock);
	for (unsigned i = 0; i < sw->npgs; i++)
		free(sw->pgs[i]);
	free(sw->pgs);
	free(sw->ports);
	free(sw->flush);
	dp_fdb_free(&sw->fdb);
	pthread_mutex_destroy(&sw->lock);
	free(sw);
}

int dp_switch_set_mtu(struct dp_switch *sw, unsigned mtu)
{
	if (mtu > 65535)
		return -EINVAL;
	pthread_mutex_lock(&sw->lock);
	sw->mtu = mtu;
	pthread_mutex_unlock(&sw->lock);
	return 0;
}

static struct dp_pg *pg_find(struct dp_switch *sw, const char *name)
{
	for (unsigned i = 0; i < sw->npgs; i++)
		if (strcmp(sw->pgs[i]->name, name) == 0)
			return sw->pgs[i];
	return NULL;
}

/* The VLANs in use and the number of promiscuous ports. */
static void recount(struct dp_switch *sw)
{
	memset(sw->vlan_used, 0, sizeof(sw->vlan_used));
	for (unsigned i = 0; i < sw->npgs; i++) {
		uint16_t v = sw->pgs[i]->vlan;
		if (v == DP_VLAN_TRUNK)
			memset(sw->vlan_used, 0xff, sizeof(sw->vlan_used));
		else
			sw->vlan_used[v / 64] |= 1ull << (v % 64);
	}
	sw->npromisc = 0;
	for (unsigned i = 0; i < sw->nports; i++)
		if (!sw->ports[i]->uplink && dp_sec_promiscuous(sw->ports[i]))
			sw->npromisc++;
}

static void update_teams(struct dp_switch *sw)
{
	for (unsigned i = 0; i < sw->npgs; i++)
		dp_team_update(sw, sw->pgs[i]);
}

/* The VLAN a virtual port's own MAC is known in (trunks: untagged). */
static uint16_t static_vlan(const struct dp_port *p)
{
	return p->vlan == DP_VLAN_TRUNK ? 0 : p->vlan;
}

static bool mac_is_zero(const uint8_t *mac)
{
	static const uint8_t zero[6];

	return memcmp(mac, zero, 6) == 0;
}

static int add_static(struct dp_switch *sw, struct dp_port *p)
{
	if (mac_is_zero(p->effective_mac))
		return 0;
	return dp_fdb_add_static(&sw->fdb, static_vlan(p), p->effective_mac, p);
}

/* Applies a port group's new VLAN to its ports. */
static void pg_revlan(struct dp_switch *sw, struct dp_pg *pg)
{
	for (unsigned i = 0; i < sw->nports; i++) {
		struct dp_port *p = sw->ports[i];
		if (p->pg != pg)
			continue;
		dp_fdb_flush_port(&sw->fdb, p);
		p->vlan = pg->vlan;
		add_static(sw, p);
	}
}

/* (Re)configures p's shaper; frames a changed configuration discards
 * from its queue count as shaped drops. */
static void reshape(struct dp_switch *sw, struct dp_port *p)
{
	p->stats.drops[DP_DROP_SHAPED] +=
		dp_shaper_config(&p->shaper, &p->pg->policy.shaping, sw->now);
}

static void pg_reshape(struct dp_switch *sw, struct dp_pg *pg)
{
	for (unsigned i = 0; i < sw->nports; i++)
		if (sw->ports[i]->pg == pg)
			reshape(sw, sw->ports[i]);
}

static struct dp_pg *pg_new(struct dp_switch *sw, const char *name)
{
	struct dp_pg **pgs = realloc(sw->pgs, (sw->npgs + 1) * sizeof(*pgs));
	struct dp_pg *pg = calloc(1, sizeof(*pg));

	if (pgs)
		sw->pgs = pgs;
	if (!pgs || !pg) {
		free(pg);
		return NULL;
	}
	set_name(pg->name, name);
	sw->pgs[sw->npgs++] = pg;
	return pg;
}

static bool name_ok(const char *name)
{
	return name && *name && strlen(name) < DP_NAME_MAX;
}

int dp_pg_set(struct dp_switch *sw, const char *name, uint16_t vlan,
	      const struct dp_policy *pol)
{
	if (!name_ok(name) || vlan > DP_VLAN_TRUNK || !pol)
		return -EINVAL;
	pthread_mutex_lock(&sw->lock);
	struct dp_pg *pg = pg_find(sw, name);
	bool fresh = !pg;
	if (fresh)
		pg = pg_new(sw, name);
	if (!pg) {
		pthread_mutex_unlock(&sw->lock);
		return -ENOMEM;
	}
	bool revlan = !fresh && pg->vlan != vlan;
	pg->vlan = vlan;
	pg->policy = *pol;
	if (revlan)
		pg_revlan(sw, pg);
	pg_reshape(sw, pg);
	recount(sw);
	dp_team_update(sw, pg);
	pthread_mutex_unlock(&sw->lock);
	return 0;
}

int dp_pg_remove(struct dp_switch *sw, const char *name)
{
	int rc = -ENOENT;

	pthread_mutex_lock(&sw->lock);
	for (unsigned i = 0; i < sw->npgs; i++) {
		if (strcmp(sw->pgs[i]->name, name) != 0)
			continue;
		if (sw->pgs[i]->nports) {
			rc = -EBUSY;
			break;
		}
		free(sw->pgs[i]);
		sw->pgs[i] = sw->pgs[--sw->npgs];
		recount(sw);
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&sw->lock);
	return rc;
}

static int ports_reserve(struct dp_switch *sw)
{
	if (sw->nports < sw->cap_ports)
		return 0;
	unsigned cap = sw->cap_ports ? 2 * sw->cap_ports : 16;
	struct dp_port **ports = realloc(sw->ports, cap * sizeof(*ports));
	if (ports)
		sw->ports = ports;
	struct dp_port **flush = realloc(sw->flush, cap * sizeof(*flush));
	if (flush)
		sw->flush = flush;
	if (!ports || !flush)
		return -ENOMEM;
	sw->cap_ports = cap;
	return 0;
}

static void port_insert(struct dp_switch *sw, struct dp_port *p)
{
	__atomic_store_n(&p->sw, sw, __ATOMIC_RELEASE);
	p->id = sw->next_id++;
	p->queued = false;
	p->seen_gen = 0;
	memset(&p->stats, 0, sizeof(p->stats));
	sw->ports[sw->nports++] = p;
}

static int attach_locked(struct dp_switch *sw, struct dp_port *p,
			 const char *pgname, const uint8_t mac[6])
{
	struct dp_pg *pg = pg_find(sw, pgname);
	int rc;

	if (p->sw)
		return -EBUSY;
	if (!pg)
		return -ENOENT;
	if ((rc = ports_reserve(sw)) < 0)
		return rc;
	memcpy(p->initial_mac, mac, 6);
	memcpy(p->effective_mac, mac, 6);
	p->uplink = false;
	p->pg = pg;
	p->vlan = pg->vlan;
	if ((rc = add_static(sw, p)) < 0)
		return rc;
	port_insert(sw, p);
	pg->nports++;
	memset(&p->shaper, 0, sizeof(p->shaper));
	reshape(sw, p);
	recount(sw);
	return 0;
}

int dp_switch_attach(struct dp_switch *sw, struct dp_port *p, const char *pg,
		     const uint8_t mac[6])
{
	if (!pg || !mac)
		return -EINVAL;
	pthread_mutex_lock(&sw->lock);
	int rc = attach_locked(sw, p, pg, mac);
	pthread_mutex_unlock(&sw->lock);
	return rc;
}

int dp_switch_attach_uplink(struct dp_switch *sw, struct dp_port *p)
{
	int rc = -EBUSY;

	pthread_mutex_lock(&sw->lock);
	if (!p->sw && (rc = ports_reserve(sw)) == 0) {
		p->uplink = true;
		p->pg = NULL;
		p->vlan = DP_VLAN_TRUNK;
		memset(&p->shaper, 0, sizeof(p->shaper));
		port_insert(sw, p);
		update_teams(sw);
	}
	pthread_mutex_unlock(&sw->lock);
	return rc;
}

static int move_locked(struct dp_switch *sw, struct dp_port *p,
		       const char *pgname)
{
	struct dp_pg *pg = pg_find(sw, pgname), *old = p->pg;

	if (p->sw != sw || p->uplink)
		return -EINVAL;
	if (!pg)
		return -ENOENT;
	dp_fdb_flush_port(&sw->fdb, p);
	p->pg = pg;
	p->vlan = pg->vlan;
	if (add_static(sw, p) < 0) {
		p->pg = old;
		p->vlan = old->vlan;
		add_static(sw, p);
		return -EEXIST;
	}
	old->nports--;
	pg->nports++;
	reshape(sw, p);
	recount(sw);
	return 0;
}

int dp_switch_move(struct dp_switch *sw, struct dp_port *p, const char *pg)
{
	if (!pg)
		return -EINVAL;
	pthread_mutex_lock(&sw->lock);
	int rc = move_locked(sw, p, pg);
	pthread_mutex_unlock(&sw->lock);
	return rc;
}

static void detach_locked(struct dp_switch *sw, struct dp_port *p)
{
	unsigned i = 0;

	while (i < sw->nports && sw->ports[i] != p)
		i++;
	if (i == sw->nports)
		return;
	if (p->queued)
		dp_flush_ports(sw);
	dp_shaper_free(&p->shaper);
	memmove(&sw->ports[i], &sw->ports[i + 1],
		(sw->nports - i - 1) * sizeof(*sw->ports));
	sw->nports--;
	dp_fdb_flush_port(&sw->fdb, p);
	if (p->pg)
		p->pg->nports--;
	__atomic_store_n(&p->sw, NULL, __ATOMIC_RELEASE);
	p->pg = NULL;
	if (p->uplink)
		update_teams(sw);
	recount(sw);
}

void dp_switch_detach(struct dp_port *p)
{
	struct dp_switch *sw = __atomic_load_n(&p->sw, __ATOMIC_ACQUIRE);

	if (!sw)
		return;
	pthread_mutex_lock(&sw->lock);
	detach_locked(sw, p);
	pthread_mutex_unlock(&sw->lock);
}

static int set_mac_locked(struct dp_switch *sw, struct dp_port *p,
			  const uint8_t mac[6])
{
	uint8_t old[6];

	if (p->uplink)
		return -EINVAL;
	memcpy(old, p->effective_mac, 6);
	dp_fdb_del(&sw->fdb, static_vlan(p), old, p);
	memcpy(p->effective_mac, mac, 6);
	if (add_static(sw, p) == 0)
		return 0;
	memcpy(p->effective_mac, old, 6);
	add_static(sw, p);
	return -EEXIST;
}

int dp_port_set_effective_mac(struct dp_port *p, const uint8_t mac[6])
{
	struct dp_switch *sw = __atomic_load_n(&p->sw, __ATOMIC_ACQUIRE);

	if (!sw) {
		memcpy(p->effective_mac, mac, 6);
		return 0;
	}
	pthread_mutex_lock(&sw->lock);
	int rc = set_mac_locked(sw, p, mac);
	pthread_mutex_unlock(&sw->lock);
	return rc;
}

void dp_switch_set_link(struct dp_port *p, bool up)
{
	struct dp_switch *sw = __atomic_load_n(&p->sw, __ATOMIC_ACQUIRE);

	if (!sw) {
		p->link_up = up;
		return;
	}
	pthread_mutex_lock(&sw->lock);
	if (p->link_up != up) {
		p->link_up = up;
		sw->now = sw->clock(sw->clock_arg);
		update_teams(sw);
	}
	pthread_mutex_unlock(&sw->lock);
}

void dp_port_announce(struct dp_port *p)
{
	struct dp_switch *sw = __atomic_load_n(&p->sw, __ATOMIC_ACQUIRE);

	if (!sw)
		return;
	pthread_mutex_lock(&sw->lock);
	if (!p->uplink)
		dp_team_announce_port(sw, p);
	pthread_mutex_unlock(&sw->lock);
}

struct dp_port *dp_port_uplink(struct dp_port *p)
{
	struct dp_switch *sw = __atomic_load_n(&p->sw, __ATOMIC_ACQUIRE);
	struct dp_port *up = NULL;
	uint8_t buf[DP_ETH_HLEN] = { 0 };
	struct dp_frame f = { .data = buf, .len = sizeof(buf) };

	if (!sw)
		return NULL;
	pthread_mutex_lock(&sw->lock);
	if (!p->uplink) {
		memcpy(buf + 6, p->effective_mac, 6);
		up = dp_team_select(p->pg, p, &f);
	}
	pthread_mutex_unlock(&sw->lock);
	return up;
}

void dp_switch_input(struct dp_switch *sw, struct dp_port *src,
		     struct dp_frame *f, unsigned n)
{
	pthread_mutex_lock(&sw->lock);
	if (src->sw == sw) {
		sw->now = sw->clock(sw->clock_arg);
		if (sw->now - sw->last_sweep >= SWEEP_NS) {
			dp_fdb_age(&sw->fdb, sw->now);
			sw->last_sweep = sw->now;
		}
		if (src->shaper.qn) {	/* what waited goes first */
			dp_shaper_drain(sw, src);
			dp_flush_ports(sw);	/* before the ring is reused */
		}
		for (unsigned i = 0; i < n; i++)
			dp_forward(sw, src, &f[i]);
		dp_flush_ports(sw);
	}
	pthread_mutex_unlock(&sw->lock);
}

void dp_port_shaper_run(struct dp_port *p)
{
	struct dp_switch *sw = __atomic_load_n(&p->sw, __ATOMIC_ACQUIRE);

	if (!sw)
		return;
	pthread_mutex_lock(&sw->lock);
	if (p->sw == sw && p->shaper.qn) {
		sw->now = sw->clock(sw->clock_arg);
		dp_shaper_drain(sw, p);
		dp_flush_ports(sw);
	}
	pthread_mutex_unlock(&sw->lock);
}

uint64_t dp_port_shaper_due(const struct dp_port *p)
{
	return __atomic_load_n(&p->shaper.due_ns, __ATOMIC_RELAXED);
}

unsigned dp_port_shaper_queued(struct dp_port *p)
{
	struct dp_switch *sw = __atomic_load_n(&p->sw, __ATOMIC_ACQUIRE);
	unsigned n;

	if (!sw)
		return 0;
	pthread_mutex_lock(&sw->lock);
	n = p->shaper.qn;
	pthread_mutex_unlock(&sw->lock);
	return n;
}

struct dump {
	void (*fn)(const struct dp_fdb_info *e, void *arg);
	void *arg;
	uint64_t now;
	unsigned n;
};

static void dump_entry(struct dp_fdb_entry *e, void *arg)
{
	struct dump *d = arg;
	struct dp_fdb_info info = {
		.vlan = dp_fdb_vlan(e),
		.port = e->port->name,
		.is_static = e->is_static,
		.age_ns = e->is_static ? 0 : d->now - e->seen_ns,
	};

	dp_fdb_mac(e, info.mac);
	d->n++;
	if (d->fn)
		d->fn(&info, d->arg);
}

unsigned dp_switch_fdb_dump(struct dp_switch *sw,
			    void (*fn)(const struct dp_fdb_info *e, void *arg),
			    void *arg)
{
	struct dump d = { fn, arg, 0, 0 };

	pthread_mutex_lock(&sw->lock);
	d.now = sw->clock(sw->clock_arg);
	dp_fdb_age(&sw->fdb, d.now);
	dp_fdb_foreach(&sw->fdb, dump_entry, &d);
	pthread_mutex_unlock(&sw->lock);
	return d.n;
}
