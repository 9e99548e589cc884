/*
 * vmkd's switching: the live datapath kept equal to the store
 * (switching.h).  One dp_switch per standard vSwitch, with a port group
 * per store port group (VLAN and effective policy), an uplink port per
 * uplink NIC and a port per connected VMkernel adapter; one datapath
 * runner thread forwards for all of them.
 *
 * Reconciling.  switching_start builds everything from the store;
 * afterwards api.c calls switching_sync after each committed request.  To
 * know what a request changed without reading the whole store again (a
 * host may have thousands of port groups, and each policy read is three
 * API gets), an SQLite update hook on the store's connection records the
 * rowids of the vswitch and portgroup rows written, and that an uplink row
 * was.  A sync then re-reads just those: a vSwitch row (MTU, policy) and
 * every port group under it, because they inherit its policy; each dirty
 * port group (VLAN, overrides); the uplinks of every vSwitch (a few rows).
 * A port group's VLAN and effective policy are applied with dp_pg_set only
 * when their fingerprint changed, in place: ports stay attached and keep
 * their MAC entries.  Rows of a rolled-back request are re-read too and
 * found unchanged.  The nic table (aliases) has no rowid and no hook: the
 * one-second tick re-reads uplinks, which also covers anything missed.
 *
 * The tick also polls uplink link state and the adapters' MACs; rtnetlink
 * link events poll the uplinks at once (switching_uplink.c).
 *
 * Everything here runs on the main thread, never inside a transaction of
 * its own making: port group policies are read through the API (see
 * switching_policy.c), and a sync started from within those nested
 * requests does nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "store.h"
#include "switching.h"
#include "switching_internal.h"
#include "vmklog.h"

struct dp_runner *sw_runner;

struct idset {
	long long *id;
	unsigned n, cap;
};

static struct {
	bool started, syncing, overflow, dirty_uplinks;
	struct sw_vswitch **vs;
	unsigned nvs;
	struct idset dirty_vs, dirty_pg;
	sqlite3 *db;
} S;

/* ---- what changed ---- */

static void idset_add(struct idset *s, long long id)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->id[i] == id)
			return;
	if (s->n == s->cap) {
		unsigned cap = s->cap ? 2 * s->cap : 64;
		long long *p = realloc(s->id, cap * sizeof(*p));
		if (!p) {
			S.overflow = true;
			return;
		}
		s->id = p;
		s->cap = cap;
	}
	s->id[s->n++] = id;
}

/* Hands over the set, leaving an empty one. */
static struct idset idset_take(struct idset *s)
{
	struct idset t = *s;

	*s = (struct idset){ 0 };
	return t;
}

static void on_update(void *arg, int op, const char *dbname, const char *table,
		      sqlite3_int64 rowid)
{
	(void)arg;
	(void)op;
	(void)dbname;
	if (strcmp(table, "vswitch") == 0)
		idset_add(&S.dirty_vs, rowid);
	else if (strcmp(table, "portgroup") == 0)
		idset_add(&S.dirty_pg, rowid);
	else if (strcmp(table, "uplink") == 0)
		S.dirty_uplinks = true;
}

/* Adds the ids a query returns (arg: its one parameter, if >= 0). */
static void mark_ids(const char *sql, long long arg, struct idset *set)
{
	sqlite3_stmt *st = arg >= 0 ? store_stmt(sql, "l", arg) : store_stmt(sql, "");

	while (st && sqlite3_step(st) == SQLITE_ROW)
		idset_add(set, sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
}

/* Everything is to be re-read: the store's rows and the live objects. */
static void mark_everything(void)
{
	S.overflow = false;
	mark_ids("SELECT id FROM vswitch", -1, &S.dirty_vs);
	for (unsigned i = 0; i < S.nvs; i++) {
		idset_add(&S.dirty_vs, S.vs[i]->id);
		for (unsigned j = 0; j < S.vs[i]->npgs; j++)
			idset_add(&S.dirty_pg, S.vs[i]->pgs[j].id);
	}
	S.dirty_uplinks = true;
}

/* ---- lookups ---- */

static struct sw_vswitch *vs_find(long long id)
{
	for (unsigned i = 0; i < S.nvs; i++)
		if (S.vs[i]->id == id)
			return S.vs[i];
	return NULL;
}

static struct sw_pg *pg_find(long long id, struct sw_vswitch **vs)
{
	for (unsigned i = 0; i < S.nvs; i++)
		for (unsigned j = 0; j < S.vs[i]->npgs; j++)
			if (S.vs[i]->pgs[j].id == id) {
				*vs = S.vs[i];
				return &S.vs[i]->pgs[j];
			}
	return NULL;
}

struct sw_pg *sw_pg_by_name(const char *name, struct sw_vswitch **vs)
{
	for (unsigned i = 0; name && i < S.nvs; i++)
		for (unsigned j = 0; j < S.vs[i]->npgs; j++)
			if (strcmp(S.vs[i]->pgs[j].name, name) == 0) {
				*vs = S.vs[i];
				return &S.vs[i]->pgs[j];
			}
	return NULL;
}

void sw_log_port_stats(struct dp_port *p)
{
	struct dp_port_stats st;
	char drops[512] = "";
	size_t len = 0;

	dp_port_get_stats(p, &st);
	for (int d = 0; d < DP_DROP_MAX && len < sizeof(drops); d++)
		if (st.drops[d])
			len += (size_t)snprintf(drops + len, sizeof(drops) - len, " %s %llu",
						dp_drop_name(d), (unsigned long long)st.drops[d]);
	vmklog("Net", "port %s: in %llu frames %llu bytes, out %llu frames %llu bytes, drops:%s",
	       p->name, (unsigned long long)st.in_frames, (unsigned long long)st.in_bytes,
	       (unsigned long long)st.out_frames, (unsigned long long)st.out_bytes,
	       len ? drops : " none");
}

/* ---- vSwitches ---- */

static struct sw_vswitch *vs_create(long long id, const char *name, unsigned mtu)
{
	struct dp_switch_config cfg = { .name = name, .mtu = mtu };
	struct sw_vswitch **l = realloc(S.vs, (S.nvs + 1) * sizeof(*l));
	struct sw_vswitch *vs = calloc(1, sizeof(*vs));

	if (l)
		S.vs = l;
	if (!l || !vs || !(vs->dp = dp_switch_new(&cfg))) {
		free(vs);
		vmklog_warn("Net", "cannot create the datapath of %s: out of memory", name);
		return NULL;
	}
	vs->id = id;
	vs->mtu = mtu;
	snprintf(vs->name, sizeof(vs->name), "%s", name);
	S.vs[S.nvs++] = vs;
	S.dirty_uplinks = true;
	vmklog("Net", "%s: datapath switch created, MTU %u", vs->name, mtu);
	return vs;
}

static void vs_destroy(struct sw_vswitch *vs)
{
	sw_vmknics_drop_vswitch(vs);
	sw_vms_drop_vswitch(vs);
	sw_uplinks_close(vs);
	dp_switch_free(vs->dp);
	for (unsigned i = 0; i < vs->npgs; i++)
		free(vs->pgs[i].applied);
	free(vs->pgs);
	free(vs);
}

static void vs_remove(struct sw_vswitch *vs)
{
	for (unsigned i = 0; i < S.nvs; i++)
		if (S.vs[i] == vs)
			S.vs[i] = S.vs[--S.nvs];
	vmklog("Net", "%s: datapath switch removed", vs->name);
	vs_destroy(vs);
}

static void vs_set_mtu(struct sw_vswitch *vs, unsigned mtu)
{
	vs->mtu = mtu;
	dp_switch_set_mtu(vs->dp, mtu);
	sw_uplinks_set_mtu(vs);
	vmklog("Net", "%s: datapath MTU %u", vs->name, mtu);
}

static void vs_sync(long long id)
{
	sqlite3_stmt *st = store_stmt("SELECT name, mtu FROM vswitch WHERE id = ?", "l", id);
	struct sw_vswitch *vs = vs_find(id);

	if (!st || sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		if (vs)
			vs_remove(vs);
		return;
	}
	unsigned mtu = (unsigned)sqlite3_column_int(st, 1);
	if (!vs)
		vs = vs_create(id, store_col_text(st, 0), mtu);
	sqlite3_finalize(st);
	if (!vs)
		return;
	if (vs->mtu != mtu)
		vs_set_mtu(vs, mtu);
	mark_ids("SELECT id FROM portgroup WHERE vswitch = ?", id, &S.dirty_pg);
}

/* ---- port groups ---- */

static struct sw_pg *pg_add(struct sw_vswitch *vs, long long id, const char *name)
{
	if (vs->npgs == vs->cap_pgs) {
		unsigned cap = vs->cap_pgs ? 2 * vs->cap_pgs : 8;
		struct sw_pg *p = realloc(vs->pgs, cap * sizeof(*p));
		if (!p)
			return NULL;
		vs->pgs = p;
		vs->cap_pgs = cap;
	}
	struct sw_pg *pg = &vs->pgs[vs->npgs++];
	*pg = (struct sw_pg){ .id = id };
	snprintf(pg->name, sizeof(pg->name), "%s", name);
	snprintf(pg->key, sizeof(pg->key), "pg%lld", id);
	return pg;
}

static void pg_drop(struct sw_vswitch *vs, struct sw_pg *pg)
{
	int rc = dp_pg_remove(vs->dp, pg->key);

	if (rc < 0 && rc != -ENOENT)
		vmklog_warn("Net", "port group '%s' removed while in use: %s", pg->name,
			    strerror(-rc));
	else
		vmklog("Net", "port group '%s' removed from the datapath of %s", pg->name,
		       vs->name);
	free(pg->applied);
	*pg = vs->pgs[--vs->npgs];
}

static void log_applied(const struct sw_vswitch *vs, const struct sw_pg *pg, unsigned vlan,
			const struct dp_policy *p)
{
	const struct dp_teaming *t = &p->teaming;

	vmklog("Net", "port group '%s' on %s: VLAN %u, promiscuous %s, MAC changes %s, forged "
	       "transmits %s, shaping %s, %u active and %u standby uplinks", pg->name, vs->name,
	       vlan, p->security.allow_promiscuous ? "accept" : "reject",
	       p->security.allow_mac_changes ? "accept" : "reject",
	       p->security.allow_forged_transmits ? "accept" : "reject",
	       p->shaping.enabled ? "on" : "off", t->n_active, t->n_standby);
}

/* Applies the port group's VLAN and effective policy if they changed. */
static void pg_apply(struct sw_vswitch *vs, struct sw_pg *pg, long long id, const char *name,
		     unsigned vlan)
{
	struct dp_policy pol;
	char *fp;
	int rc;

	if (sw_policy_get(name, vlan, &pol, &fp) < 0) {
		vmklog_warn("Net", "port group '%s': cannot read its policy", name);
		return;
	}
	if ((pg && pg->applied && strcmp(pg->applied, fp) == 0) ||
	    (!pg && !(pg = pg_add(vs, id, name)))) {
		free(fp);
		return;
	}
	if ((rc = dp_pg_set(vs->dp, pg->key, (uint16_t)vlan, &pol)) < 0) {
		vmklog_warn("Net", "port group '%s': %s", name, strerror(-rc));
		free(fp);
		return;
	}
	free(pg->applied);
	pg->applied = fp;
	pg->notify = pol.teaming.notify_switches;
	log_applied(vs, pg, vlan, &pol);
}

static void pg_sync(long long id)
{
	sqlite3_stmt *st = store_stmt("SELECT name, vswitch, vlan FROM portgroup WHERE id = ?",
				      "l", id);
	struct sw_vswitch *live_vs = NULL;
	struct sw_pg *live = pg_find(id, &live_vs);
	char name[64];

	if (!st || sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		if (live)
			pg_drop(live_vs, live);
		return;
	}
	snprintf(name, sizeof(name), "%s", store_col_text(st, 0));
	long long vsid = sqlite3_column_int64(st, 1);
	unsigned vlan = (unsigned)sqlite3_column_int(st, 2);
	sqlite3_finalize(st);
	if (live && live_vs->id != vsid) {
		pg_drop(live_vs, live);
		live = NULL;
	}
	struct sw_vswitch *vs = vs_find(vsid);
	if (vs)
		pg_apply(vs, live, id, name, vlan);
}

/* ---- sync ---- */

static void reconcile_uplinks(void)
{
	S.dirty_uplinks = false;
	for (unsigned i = 0; i < S.nvs; i++)
		sw_uplinks_reconcile(S.vs[i]);
}

static void sync_dirty(void)
{
	if (S.overflow)
		mark_everything();
	struct idset vs = idset_take(&S.dirty_vs);
	for (unsigned i = 0; i < vs.n; i++)
		vs_sync(vs.id[i]);
	free(vs.id);
	if (S.dirty_uplinks)
		reconcile_uplinks();
	struct idset pg = idset_take(&S.dirty_pg);
	for (unsigned i = 0; i < pg.n; i++)
		pg_sync(pg.id[i]);
	free(pg.id);
}

int switching_sync(void)
{
	if (!S.started || S.syncing || store_in_transaction())
		return 0;
	S.syncing = true;
	sync_dirty();
	S.syncing = false;
	return 0;
}

/* ---- the watch ---- */

static void poll_links(void)
{
	for (unsigned i = 0; i < S.nvs; i++)
		sw_uplinks_poll(S.vs[i]);
}

static void tick(void)
{
	if (!S.syncing && !store_in_transaction())
		reconcile_uplinks();
	poll_links();
	sw_vmknics_poll();
}

/* ---- start and stop ---- */

/* Ports hold fds (a packet socket per uplink): allow as many as the
 * hard limit does. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static sqlite3 *store_db(void)
{
	sqlite3_stmt *st = store_prepare("SELECT 1");
	sqlite3 *db = st ? sqlite3_db_handle(st) : NULL;

	sqlite3_finalize(st);
	return db;
}

int switching_start(void)
{
	if (S.started)
		return 0;
	raise_fd_limit();
	S.db = store_db();
	sw_runner = dp_runner_new();
	if (!S.db || !sw_runner || dp_runner_start(sw_runner) < 0 ||
	    sw_watch_start(poll_links, tick) < 0) {
		vmklog_warn("Net", "cannot start the datapath: %s", strerror(errno));
		switching_stop();
		return -1;
	}
	sqlite3_update_hook(S.db, on_update, NULL);
	S.started = true;
	mark_everything();
	switching_sync();
	vmklog("Net", "datapath started: %u vSwitches", S.nvs);
	return 0;
}

void switching_stop(void)
{
	if (S.db)
		sqlite3_update_hook(S.db, NULL, NULL);
	sw_watch_stop();
	if (sw_runner)
		dp_runner_stop(sw_runner);
	sw_vmknics_stop();
	while (S.nvs)
		vs_destroy(S.vs[--S.nvs]);
	free(S.vs);
	free(S.dirty_vs.id);
	free(S.dirty_pg.id);
	dp_runner_free(sw_runner);
	sw_runner = NULL;
	if (S.started)
		vmklog("Net", "datapath stopped");
	S = (__typeof__(S)){ 0 };
}
