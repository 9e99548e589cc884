/*
 * Policies of vSwitches and port groups: `esxcli network vswitch
 * standard [portgroup] policy failover|security|shaping get|set`.
 *
 * A policy is a set of fields, each an option of the set command, a
 * column of the vswitch and portgroup tables and a key of the get output
 * (plus, for port groups, an "Override Vswitch ..." key).  A vSwitch
 * holds a value for every field; a port group holds NULL (inherit) or
 * its override, per field, as the reference's port groups do.  Get shows
 * the effective values; set overrides exactly the fields it is given,
 * after `--use-vswitch` has first reset the whole policy to inheritance.
 *
 * Set works on a record (a JSON object of column -> value) loaded from
 * the row: apply the options, check the result, then write the row in
 * one UPDATE.  Nothing is written unless every check passed.
 *
 * Teaming: active and standby uplinks are comma lists on the record and
 * must name uplinks of the vSwitch, each once, never in both lists;
 * uplinks in neither are Unused.  A port group overrides both lists
 * together ("Override Vswitch Uplinks").  Giving only -a drops those
 * uplinks from standby, and only -s from active.  IP hash load
 * balancing takes no standby uplinks and link-state detection only.
 * Shaping: turning it on needs all three values; peak >= average.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "model.h"
#include "store.h"
#include "vmklog.h"

enum pkind { PK_BOOL, PK_INT, PK_ENUM };

struct choice {
	const char *in, *stored;
};

struct pfield {
	const char *opt;
	const char *col;
	enum pkind kind;
	const char *key;
	const char *override_key;
	const struct choice *choices;
	const char *choice_text;
};

struct policy {
	const char *name;
	const struct pfield *fields;
	bool teaming;
	int (*check)(json_t *params, json_t *rec, json_t *base);
};

#define MAX_COLS 8

/* ---- comma lists ---- */

static json_t *split(const char *csv)
{
	json_t *a = json_array();

	for (const char *p = csv; p && *p;) {
		size_t n = strcspn(p, ",");
		json_array_append_new(a, json_stringn(p, n));
		p += n;
		if (*p == ',' && *++p == '\0')
			json_array_append_new(a, json_string(""));
	}
	return a;
}

static char *join(json_t *a)
{
	size_t i, len = 1;
	json_t *v;

	json_array_foreach(a, i, v)
		len += strlen(json_string_value(v)) + 1;
	char *s = calloc(1, len);
	json_array_foreach(a, i, v) {
		if (i)
			strcat(s, ",");
		strcat(s, json_string_value(v));
	}
	return s;
}

static bool contains(json_t *a, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

/* Elements of a not in b (a new array). */
static json_t *minus(json_t *a, json_t *b)
{
	json_t *r = json_array(), *v;
	size_t i;

	json_array_foreach(a, i, v)
		if (!contains(b, json_string_value(v)))
			json_array_append(r, v);
	return r;
}

static json_t *uplinks_of(long long vsid)
{
	sqlite3_stmt *st = store_stmt("SELECT nic FROM uplink WHERE vswitch = ? ORDER BY id",
				      "l", vsid);
	json_t *a = json_array();

	while (st && sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, json_string(store_col_text(st, 0)));
	sqlite3_finalize(st);
	return a;
}

/* ---- records ---- */

static int columns(const struct policy *p, const char **cols)
{
	int n = 0;

	for (const struct pfield *f = p->fields; f->opt; f++)
		cols[n++] = f->col;
	if (p->teaming) {
		cols[n++] = "team_active";
		cols[n++] = "team_standby";
	}
	return n;
}

static json_t *column_json(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		return json_null();
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(st, i));
	default:
		return json_string(store_col_text(st, i));
	}
}

static json_t *load(const char *table, long long id, const struct policy *p)
{
	const char *cols[MAX_COLS];
	char sql[512];
	int n = columns(p, cols), len = snprintf(sql, sizeof(sql), "SELECT ");

	for (int i = 0; i < n; i++)
		len += snprintf(sql + len, sizeof(sql) - (size_t)len, "%s%s", i ? ", " : "", cols[i]);
	snprintf(sql + len, sizeof(sql) - (size_t)len, " FROM %s WHERE id = ?", table);
	sqlite3_stmt *st = store_stmt(sql, "l", id);
	if (!st || sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return NULL;
	}
	json_t *rec = json_object();
	for (int i = 0; i < n; i++)
		json_object_set_new(rec, cols[i], column_json(st, i));
	sqlite3_finalize(st);
	return rec;
}

static int bind_json(sqlite3_stmt *st, int i, json_t *v)
{
	if (json_is_integer(v))
		return sqlite3_bind_int64(st, i, json_integer_value(v));
	if (json_is_string(v))
		return sqlite3_bind_text(st, i, json_string_value(v), -1, SQLITE_TRANSIENT);
	return sqlite3_bind_null(st, i);
}

static int save(const char *table, long long id, const struct policy *p, json_t *rec)
{
	const char *cols[MAX_COLS];
	char sql[512];
	int n = columns(p, cols), len = snprintf(sql, sizeof(sql), "UPDATE %s SET ", table);

	for (int i = 0; i < n; i++)
		len += snprintf(sql + len, sizeof(sql) - (size_t)len, "%s%s = ?", i ? ", " : "",
				cols[i]);
	snprintf(sql + len, sizeof(sql) - (size_t)len, " WHERE id = ?");
	sqlite3_stmt *st = store_prepare(sql);
	if (!st)
		return -1;
	for (int i = 0; i < n; i++)
		bind_json(st, i + 1, json_object_get(rec, cols[i]));
	sqlite3_bind_int64(st, n + 1, id);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The effective value of a column: the record's, else the base's. */
static json_t *eff(json_t *rec, json_t *base, const char *col)
{
	json_t *v = json_object_get(rec, col);

	return (!v || json_is_null(v)) && base ? json_object_get(base, col) : v;
}

static const char *eff_str(json_t *rec, json_t *base, const char *col)
{
	const char *s = json_string_value(eff(rec, base, col));
	return s ? s : "";
}

/* ---- get ---- */

static void render_lists(json_t *out, json_t *rec, json_t *base, long long vsid)
{
	json_t *all = uplinks_of(vsid);
	json_t *active = split(eff_str(rec, base, "team_active"));
	json_t *standby = split(eff_str(rec, base, "team_standby"));
	json_t *rest = minus(all, active);

	json_object_set_new(out, "ActiveAdapters", active);
	json_object_set_new(out, "StandbyAdapters", standby);
	json_object_set_new(out, "UnusedAdapters", minus(rest, standby));
	json_decref(rest);
	json_decref(all);
}

static json_t *render(const struct policy *p, json_t *rec, json_t *base, long long vsid)
{
	json_t *out = json_object();

	for (const struct pfield *f = p->fields; f->opt; f++) {
		json_t *v = eff(rec, base, f->col);
		json_object_set_new(out, f->key, f->kind == PK_BOOL ?
				    json_boolean(json_integer_value(v)) : json_deep_copy(v));
	}
	if (p->teaming)
		render_lists(out, rec, base, vsid);
	if (!base)
		return out;
	for (const struct pfield *f = p->fields; f->opt; f++)
		json_object_set_new(out, f->override_key,
				    json_boolean(!json_is_null(json_object_get(rec, f->col))));
	if (p->teaming)
		json_object_set_new(out, "OverrideVswitchUplinks",
				    json_boolean(!json_is_null(json_object_get(rec, "team_active"))));
	return out;
}

/* The target of a request: a vSwitch, or a port group and its vSwitch. */
struct target {
	const char *table;
	long long id, vsid;
	char label[128];
	json_t *rec, *base;
};

static int find_target(const struct policy *p, json_t *params, bool pg, struct target *t)
{
	const char *name = param_str(params, pg ? "portgroup-name" : "vswitch-name");

	*t = (struct target){ .table = pg ? "portgroup" : "vswitch" };
	t->id = pg ? portgroup_id(name) : vswitch_id(name);
	if (!t->id) {
		pg ? err_no_portgroup(name) : err_no_vswitch(name);
		return -1;
	}
	t->vsid = pg ? store_int(0, "SELECT vswitch FROM portgroup WHERE id = ?", "l", t->id)
		     : t->id;
	snprintf(t->label, sizeof(t->label), pg ? "port group '%s'" : "vSwitch %s", name);
	t->rec = load(t->table, t->id, p);
	t->base = pg ? load("vswitch", t->vsid, p) : NULL;
	if (!t->rec || (pg && !t->base)) {
		api_store_error();
		return -1;
	}
	return 0;
}

static void drop_target(struct target *t)
{
	json_decref(t->rec);
	json_decref(t->base);
}

static json_t *get_policy(const struct policy *p, json_t *params, bool pg)
{
	struct target t;

	if (find_target(p, params, pg, &t) < 0)
		return NULL;
	json_t *out = render(p, t.rec, t.base, t.vsid);
	drop_target(&t);
	return out;
}

/* ---- set ---- */

static json_t *in_value(const struct pfield *f, json_t *pv)
{
	if (f->kind == PK_BOOL)
		return json_integer(json_is_true(pv));
	if (f->kind == PK_INT)
		return json_integer(json_integer_value(pv));
	for (const struct choice *c = f->choices; c->in; c++)
		if (strcmp(c->in, json_string_value(pv)) == 0)
			return json_string(c->stored);
	return api_invalid("Invalid --%s '%s': must be one of %s", f->opt, json_string_value(pv),
			   f->choice_text);
}

static int apply_fields(const struct policy *p, json_t *params, json_t *rec)
{
	for (const struct pfield *f = p->fields; f->opt; f++) {
		json_t *pv = json_object_get(params, f->opt);
		if (!pv)
			continue;
		json_t *v = in_value(f, pv);
		if (!v)
			return -1;
		json_object_set_new(rec, f->col, v);
	}
	return 0;
}

/* Why a list of uplink names is bad, or NULL; *bad is the name at fault. */
static const char *bad_uplink(json_t *a, json_t *all, const char **bad)
{
	json_t *seen = json_array(), *v;
	const char *why = NULL;
	size_t i;

	json_array_foreach(a, i, v) {
		*bad = json_string_value(v);
		if (!(*bad)[0])
			why = "an uplink name is empty";
		else if (!contains(all, *bad))
			why = "is not an uplink of";
		else if (contains(seen, *bad))
			why = "is listed twice";
		if (why)
			break;
		json_array_append(seen, v);
	}
	json_decref(seen);
	return why;
}

/* The uplinks named by --active-uplinks or --standby-uplinks, checked. */
static json_t *parse_uplinks(json_t *params, const char *opt, json_t *all, const char *vs)
{
	const char *csv = param_str(params, opt), *bad = NULL;
	json_t *a = split(csv);
	const char *why = bad_uplink(a, all, &bad);

	if (!why)
		return a;
	if (!bad[0])
		api_invalid("Invalid --%s '%s': %s", opt, csv, why);
	else if (strcmp(why, "is not an uplink of") == 0)
		api_invalid("Invalid --%s '%s': %s is not an uplink of %s", opt, csv, bad, vs);
	else
		api_invalid("Invalid --%s '%s': %s %s", opt, csv, bad, why);
	json_decref(a);
	return NULL;
}

static void set_list(json_t *rec, const char *col, json_t *list)
{
	char *s = join(list);

	json_object_set_new(rec, col, json_string(s));
	free(s);
}

/* 0 if no uplink is in both lists, else -1 with the error. */
static int check_disjoint(json_t *params, json_t *active, json_t *standby)
{
	size_t i;
	json_t *v;

	json_array_foreach(standby, i, v) {
		if (!contains(active, json_string_value(v)))
			continue;
		api_invalid("Invalid --standby-uplinks '%s': %s is also an active uplink",
			    param_str(params, "standby-uplinks"), json_string_value(v));
		return -1;
	}
	return 0;
}

/* Sets both lists: a given list as given, the other one as it was
 * (inherited, for a port group) less the uplinks of the given one. */
static void store_lists(struct target *t, json_t *na, json_t *ns)
{
	json_t *act = split(eff_str(t->rec, t->base, "team_active"));
	json_t *stb = split(eff_str(t->rec, t->base, "team_standby"));
	json_t *new_a = na ? json_incref(na) : minus(act, ns);
	json_t *new_s = ns ? json_incref(ns) : minus(stb, na);

	set_list(t->rec, "team_active", new_a);
	set_list(t->rec, "team_standby", new_s);
	json_decref(new_a);
	json_decref(new_s);
	json_decref(act);
	json_decref(stb);
}

static int apply_uplinks(json_t *params, struct target *t)
{
	bool has_a = param_has(params, "active-uplinks"), has_s = param_has(params, "standby-uplinks");
	json_t *na = NULL, *ns = NULL, *all;
	char vs[64] = "";
	int rc = -1;

	if (!has_a && !has_s)
		return 0;
	store_text(vs, sizeof(vs), "SELECT name FROM vswitch WHERE id = ?", "l", t->vsid);
	all = uplinks_of(t->vsid);
	if (has_a && !(na = parse_uplinks(params, "active-uplinks", all, vs)))
		goto out;
	if (has_s && !(ns = parse_uplinks(params, "standby-uplinks", all, vs)))
		goto out;
	if (na && ns && check_disjoint(params, na, ns) < 0)
		goto out;
	store_lists(t, na, ns);
	rc = 0;
out:
	json_decref(all);
	json_decref(na);
	json_decref(ns);
	return rc;
}

/* Names the first option of a list the request gave, for an error. */
static int blame(json_t *params, const char *const *opts, const char *why)
{
	for (; *opts; opts++) {
		json_t *v = json_object_get(params, *opts);
		if (!v)
			continue;
		char *text = json_is_string(v) ? strdup(json_string_value(v))
					       : json_dumps(v, JSON_ENCODE_ANY);
		api_invalid("Invalid --%s '%s': %s", *opts, text, why);
		free(text);
		return -1;
	}
	api_invalid("Invalid policy: %s", why);
	return -1;
}

static int check_failover(json_t *params, json_t *rec, json_t *base)
{
	static const char *const standby_opts[] = { "standby-uplinks", "load-balancing",
						    "active-uplinks", "use-vswitch", NULL };
	static const char *const detect_opts[] = { "failure-detection", "load-balancing",
						   "use-vswitch", NULL };

	if (strcmp(eff_str(rec, base, "team_lb"), "iphash") != 0)
		return 0;
	if (eff_str(rec, base, "team_standby")[0])
		return blame(params, standby_opts,
			     "IP hash load balancing cannot be used with standby uplinks");
	if (strcmp(eff_str(rec, base, "team_detect"), "beacon") == 0)
		return blame(params, detect_opts,
			     "IP hash load balancing cannot be used with beacon failure detection");
	return 0;
}

static int check_shaping(json_t *params, json_t *rec, json_t *base)
{
	static const char *const peak_opts[] = { "peak-bandwidth", "avg-bandwidth", "enabled",
						 "use-vswitch", NULL };
	long long avg = json_integer_value(eff(rec, base, "shape_avg"));
	long long peak = json_integer_value(eff(rec, base, "shape_peak"));
	char why[160];

	if (param_bool(params, "enabled", false) &&
	    (!param_has(params, "avg-bandwidth") || !param_has(params, "peak-bandwidth") ||
	     !param_has(params, "burst-size"))) {
		api_invalid("Invalid --enabled 'true': turning shaping on needs --avg-bandwidth, "
			    "--peak-bandwidth and --burst-size");
		return -1;
	}
	if (peak >= avg)
		return 0;
	snprintf(why, sizeof(why), "the peak bandwidth (%lld Kbps) cannot be lower than the "
		 "average bandwidth (%lld Kbps)", peak, avg);
	return blame(params, peak_opts, why);
}

static void log_change(const struct policy *p, json_t *params, const char *label)
{
	char buf[768] = "";
	size_t len = 0;
	const char *key;
	json_t *v;

	json_object_foreach(params, key, v) {
		if (strcmp(key, "vswitch-name") == 0 || strcmp(key, "portgroup-name") == 0)
			continue;
		char *text = json_is_string(v) ? strdup(json_string_value(v))
					       : json_dumps(v, JSON_ENCODE_ANY);
		len += (size_t)snprintf(buf + len, len < sizeof(buf) ? sizeof(buf) - len : 0,
					" %s=%s", key, text);
		free(text);
		if (len >= sizeof(buf))
			break;
	}
	vmklog("Net", "%s %s policy set:%s", label, p->name, buf);
}

static void reset_overrides(const struct policy *p, json_t *rec)
{
	const char *cols[MAX_COLS];
	int n = columns(p, cols);

	for (int i = 0; i < n; i++)
		json_object_set_new(rec, cols[i], json_null());
}

static json_t *set_policy(const struct policy *p, json_t *params, bool pg)
{
	struct target t;
	json_t *result = NULL;

	if (find_target(p, params, pg, &t) < 0)
		return NULL;
	if (pg && param_bool(params, "use-vswitch", false))
		reset_overrides(p, t.rec);
	if (apply_fields(p, params, t.rec) < 0 || (p->teaming && apply_uplinks(params, &t) < 0) ||
	    (p->check && p->check(params, t.rec, t.base) < 0))
		goto out;
	if (save(t.table, t.id, p, t.rec) < 0) {
		api_store_error();
		goto out;
	}
	log_change(p, params, t.label);
	result = json_true();
out:
	drop_target(&t);
	return result;
}

/* ---- uplinks come and go ---- */

int policy_uplink_added(long long vsid, const char *nic)
{
	return store_exec("UPDATE vswitch SET team_active = CASE team_active WHEN '' THEN ?1 "
			  "ELSE team_active || ',' || ?1 END WHERE id = ?2", "sl", nic, vsid);
}

static char *without(const char *csv, const char *nic)
{
	json_t *a = split(csv), *one = json_pack("[s]", nic), *r = minus(a, one);
	char *s = join(r);

	json_decref(a);
	json_decref(one);
	json_decref(r);
	return s;
}

static int drop_nic(const char *table, const char *where, long long vsid, const char *nic)
{
	char sql[256];
	json_t *rows = json_array(), *row;
	size_t i;
	int rc = 0;

	snprintf(sql, sizeof(sql), "SELECT id, team_active, team_standby FROM %s "
		 "WHERE %s = ? AND team_active IS NOT NULL", table, where);
	sqlite3_stmt *st = store_stmt(sql, "l", vsid);
	while (st && sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(rows, json_pack("[I, s, s]",
			(json_int_t)sqlite3_column_int64(st, 0), store_col_text(st, 1),
			store_col_text(st, 2)));
	sqlite3_finalize(st);
	snprintf(sql, sizeof(sql), "UPDATE %s SET team_active = ?, team_standby = ? "
		 "WHERE id = ?", table);
	json_array_foreach(rows, i, row) {
		char *a = without(json_string_value(json_array_get(row, 1)), nic);
		char *s = without(json_string_value(json_array_get(row, 2)), nic);
		rc |= store_exec(sql, "ssl", a, s, (long long)json_integer_value(json_array_get(row, 0)));
		free(a);
		free(s);
	}
	json_decref(rows);
	return rc;
}

int policy_uplink_removed(long long vsid, const char *nic)
{
	return drop_nic("vswitch", "id", vsid, nic) | drop_nic("portgroup", "vswitch", vsid, nic);
}

/* ---- the three policies and their handlers ---- */

static const struct choice lb_choices[] = {
	{ "portid", "srcport" }, { "mac", "srcmac" }, { "iphash", "iphash" },
	{ "explicit", "explicit" }, { "srcport", "srcport" }, { "srcmac", "srcmac" }, { 0 }
};
static const struct choice detect_choices[] = { { "link", "link" }, { "beacon", "beacon" }, { 0 } };

#define OVR "OverrideVswitch"
static const struct pfield failover_fields[] = {
	{ "load-balancing", "team_lb", PK_ENUM, "LoadBalancing", OVR "LoadBalancing", lb_choices,
	  "iphash, mac, portid, explicit" },
	{ "failure-detection", "team_detect", PK_ENUM, "NetworkFailureDetection",
	  OVR "NetworkFailureDetection", detect_choices, "link, beacon" },
	{ "notify-switches", "team_notify", PK_BOOL, "NotifySwitches", OVR "NotifySwitches", 0, 0 },
	{ "failback", "team_failback", PK_BOOL, "Failback", OVR "Failback", 0, 0 },
	{ 0 }
};
static const struct pfield security_fields[] = {
	{ "allow-promiscuous", "sec_promisc", PK_BOOL, "AllowPromiscuous",
	  OVR "AllowPromiscuous", 0, 0 },
	{ "allow-mac-change", "sec_mac_change", PK_BOOL, "AllowMACAddressChange",
	  OVR "AllowMACAddressChange", 0, 0 },
	{ "allow-forged-transmits", "sec_forged", PK_BOOL, "AllowForgedTransmits",
	  OVR "AllowForgedTransmits", 0, 0 },
	{ 0 }
};
static const struct pfield shaping_fields[] = {
	{ "enabled", "shape_enabled", PK_BOOL, "Enabled", OVR "Enabled", 0, 0 },
	{ "avg-bandwidth", "shape_avg", PK_INT, "AverageBandwidth", OVR "AverageBandwidth", 0, 0 },
	{ "peak-bandwidth", "shape_peak", PK_INT, "PeakBandwidth", OVR "PeakBandwidth", 0, 0 },
	{ "burst-size", "shape_burst", PK_INT, "BurstSize", OVR "BurstSize", 0, 0 },
	{ 0 }
};

static const struct policy failover = { "failover", failover_fields, true, check_failover };
static const struct policy security = { "security", security_fields, false, NULL };
static const struct policy shaping = { "shaping", shaping_fields, false, check_shaping };

#define HANDLERS(pol) \
	static json_t *pol##_vs_get(json_t *p) { return get_policy(&pol, p, false); } \
	static json_t *pol##_vs_set(json_t *p) { return set_policy(&pol, p, false); } \
	static json_t *pol##_pg_get(json_t *p) { return get_policy(&pol, p, true); } \
	static json_t *pol##_pg_set(json_t *p) { return set_policy(&pol, p, true); }
HANDLERS(failover)
HANDLERS(security)
HANDLERS(shaping)

#define VSP "network.vswitch.standard.policy."
#define PGP "network.vswitch.standard.portgroup.policy."
#define METHODS(pol) \
	{ VSP #pol ".get", pol##_vs_get }, { VSP #pol ".set", pol##_vs_set }, \
	{ PGP #pol ".get", pol##_pg_get }, { PGP #pol ".set", pol##_pg_set }

static const struct api_method methods[] = {
	METHODS(failover),
	METHODS(security),
	METHODS(shaping),
	{ 0 }
};

void policy_register(void)
{
	api_register(methods);
}
