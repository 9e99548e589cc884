/*
 * The effective policy of a port group, for the datapath.
 *
 * Inheritance (a port group's field is its override, or its vSwitch's
 * value; the two teaming lists go together) is policy.c's, and it is what
 * `esxcli network vswitch standard portgroup policy failover|security|
 * shaping get` shows.  Rather than repeat it, the switching asks the same
 * three get methods through the API dispatcher (api_handle_line, in
 * process, no socket): the datapath then enforces exactly what an
 * administrator reads.  Each get runs in its own read transaction; the
 * caller is outside any transaction (after a commit, or at start).
 *
 * Units: bandwidths are Kbps (1000 bit/s), the burst size Kib (1024 bits).
 * Failure detection "beacon" is not implemented: link state decides.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "switching_internal.h"

#define PG_POLICY "network.vswitch.standard.portgroup.policy."

/* The result of a get method for the port group, or NULL. */
static json_t *api_get(const char *method, const char *pgname)
{
	json_t *req = json_pack("{s:s, s:i, s:s, s:{s:s}}", "jsonrpc", "2.0", "id", 1,
				"method", method, "params", "portgroup-name", pgname);
	char *line = req ? json_dumps(req, JSON_COMPACT) : NULL;
	size_t len = 0;
	char *reply = line ? api_handle_line(line, strlen(line), &len) : NULL;
	json_t *r = reply ? json_loadb(reply, len, 0, NULL) : NULL;
	json_t *result = json_incref(json_object_get(r, "result"));

	json_decref(r);
	free(reply);
	free(line);
	json_decref(req);
	return result;
}

static bool jbool(json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

static uint64_t juint(json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (uint64_t)v : 0;
}

static void fill_security(json_t *o, struct dp_security *s)
{
	s->allow_promiscuous = jbool(o, "AllowPromiscuous");
	s->allow_mac_changes = jbool(o, "AllowMACAddressChange");
	s->allow_forged_transmits = jbool(o, "AllowForgedTransmits");
}

static void fill_shaping(json_t *o, struct dp_shaping *s)
{
	s->enabled = jbool(o, "Enabled");
	s->average_bps = juint(o, "AverageBandwidth") * 1000;
	s->peak_bps = juint(o, "PeakBandwidth") * 1000;
	s->burst_bytes = juint(o, "BurstSize") * 1024 / 8;
}

static enum dp_lb lb_of(const char *s)
{
	if (!s || strcmp(s, "srcport") == 0)
		return DP_LB_SRCID;
	if (strcmp(s, "srcmac") == 0)
		return DP_LB_SRCMAC;
	if (strcmp(s, "iphash") == 0)
		return DP_LB_IPHASH;
	return DP_LB_EXPLICIT;
}

static void fill_list(json_t *a, char (*names)[DP_NAME_MAX], unsigned *n)
{
	size_t i;
	json_t *v;

	*n = 0;
	json_array_foreach(a, i, v) {
		if (*n == DP_TEAM_MAX)
			break;
		snprintf(names[(*n)++], DP_NAME_MAX, "%s", json_string_value(v));
	}
}

static void fill_teaming(json_t *o, struct dp_teaming *t)
{
	t->lb = lb_of(json_string_value(json_object_get(o, "LoadBalancing")));
	t->notify_switches = jbool(o, "NotifySwitches");
	t->failback = jbool(o, "Failback");
	fill_list(json_object_get(o, "ActiveAdapters"), t->active, &t->n_active);
	fill_list(json_object_get(o, "StandbyAdapters"), t->standby, &t->n_standby);
}

int sw_policy_get(const char *pgname, unsigned vlan, struct dp_policy *pol,
		  char **fingerprint)
{
	json_t *sec = api_get(PG_POLICY "security.get", pgname);
	json_t *shape = api_get(PG_POLICY "shaping.get", pgname);
	json_t *team = api_get(PG_POLICY "failover.get", pgname);
	int rc = -1;

	*fingerprint = NULL;
	if (sec && shape && team) {
		dp_policy_default(pol);
		fill_security(sec, &pol->security);
		fill_shaping(shape, &pol->shaping);
		fill_teaming(team, &pol->teaming);
		json_t *all = json_pack("{s:i, s:O, s:O, s:O}", "vlan", (int)vlan,
					"security", sec, "shaping", shape, "failover", team);
		*fingerprint = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(all);
		rc = *fingerprint ? 0 : -1;
	}
	json_decref(sec);
	json_decref(shape);
	json_decref(team);
	return rc;
}
