/*
 * Neighbour tables of the TCP/IP stacks: `esxcli network ip neighbor
 * list|remove`.
 *
 * The tables are the kernel's (ARP for IPv4, NDP for IPv6) in the
 * stack's namespace; vmkd keeps nothing of them in the store.  Only
 * entries on the stack's VMkernel adapters are shown: the default
 * stack's namespace is vmkd's own, which also holds the host's NICs,
 * whose neighbours (if the host's kernel has any) are not the
 * VMkernel's.  Entries the kernel keeps for its own use (NUD_NOARP:
 * multicast, broadcast, loopback; NUD_NONE: just created) are left out.
 *
 * The stack is -N (default defaultTcpipStack) or, with -i alone, the
 * adapter's own stack; -i and -N together must agree.
 *
 * Expiry is what can be computed honestly from the kernel: for a
 * REACHABLE entry, the seconds until it turns STALE (the link's current
 * reachable time, NDTPA_REACHABLE_TIME, minus the age of the last
 * confirmation, NDA_CACHEINFO).  Other states have no deadline the
 * kernel tells: a STALE entry lives until it is used (then DELAY, PROBE)
 * or collected under memory pressure, a PERMANENT one forever; their
 * Expiry is empty.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/neighbour.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "ip.h"
#include "store.h"
#include "vmklog.h"

/* The stack (and adapter) a command acts on. */
struct neigh_scope {
	char stack[STACK_NAME_MAX + 1];
	const char *vmknic;             /* -i, or NULL */
	const struct stackns *s;
};

static int resolve_scope(json_t *params, struct neigh_scope *sc)
{
	const char *stack = param_str(params, "netstack");

	sc->vmknic = param_str(params, "interface-name");
	if (stack && !netstack_id(stack))
		return API_ERR(err_no_netstack(stack));
	snprintf(sc->stack, sizeof(sc->stack), "%s", stack ? stack : DEFAULT_STACK);
	if (sc->vmknic) {
		char own[STACK_NAME_MAX + 1];
		if (!store_text(own, sizeof(own), "SELECT n.name FROM vmknic k JOIN netstack n ON "
				"k.netstack = n.id WHERE k.name = ?", "s", sc->vmknic))
			return API_ERR(err_no_vmknic(sc->vmknic));
		if (stack && strcmp(stack, own) != 0)
			return API_ERR(api_invalid("Invalid --interface-name '%s': the interface is "
						   "on netstack %s, not %s", sc->vmknic, own,
						   stack));
		snprintf(sc->stack, sizeof(sc->stack), "%s", own);
	}
	if (!(sc->s = stackns_get(sc->stack)))
		return API_ERR(api_refused("Cannot read the neighbors of netstack %s: it is not "
					   "realized", sc->stack));
	return 0;
}

/* --version of list: 4 (the default), 6 or all; families into af[]. */
static int parse_version(const char *v, bool all_ok, int af[2])
{
	af[0] = af[1] = 0;
	if (!v || strcmp(v, "4") == 0)
		af[0] = AF_INET;
	else if (strcmp(v, "6") == 0)
		af[0] = AF_INET6;
	else if (all_ok && strcmp(v, "all") == 0)
		af[0] = AF_INET, af[1] = AF_INET6;
	else
		return API_ERR(api_invalid("Invalid --version '%s': must be 4, 6%s", v,
					   all_ok ? " or all" : ""));
	return 0;
}

/* ---- what is shown ---- */

/* The entries of one family on the adapters in scope, sorted, and the
 * stack's links for their names. */
struct neigh_set {
	struct nl_neigh *ne;
	size_t n;
	struct nl_link *links;
	size_t nlinks;
};

static const char *link_name(const struct neigh_set *set, int index)
{
	for (size_t i = 0; i < set->nlinks; i++)
		if (set->links[i].index == index)
			return set->links[i].name;
	return NULL;
}

static bool in_scope(const struct neigh_scope *sc, const char *dev)
{
	if (!dev || (sc->vmknic && strcmp(dev, sc->vmknic) != 0))
		return false;
	return store_int(0, "SELECT count(*) FROM vmknic k JOIN netstack n ON k.netstack = n.id "
			 "WHERE k.name = ? AND n.name = ?", "ss", dev, sc->stack) > 0;
}

static bool shown_state(uint16_t state)
{
	return state && !(state & NUD_NOARP);
}

static int cmp_neigh(const void *pa, const void *pb)
{
	const struct nl_neigh *a = pa, *b = pb;

	if (a->family != b->family)
		return a->family - b->family;
	if (a->index != b->index)
		return a->index - b->index;
	return memcmp(&a->addr, &b->addr, a->family == AF_INET ? 4 : 16);
}

/* Keeps the entries in scope; 0, or -1 after api_fail(). */
static int load_set(const struct neigh_scope *sc, int af, struct neigh_set *set)
{
	struct nl *nl = sc->s->nl;
	size_t kept = 0;

	if (nl_link_list(nl, &set->links, &set->nlinks) < 0 ||
	    nl_neigh_list(nl, af, &set->ne, &set->n) < 0) {
		free(set->links);
		return API_ERR(api_refused("Cannot read the neighbors of netstack %s: %s",
					   sc->stack, nl_error(nl)));
	}
	for (size_t i = 0; i < set->n; i++)
		if (set->ne[i].family == af && shown_state(set->ne[i].state) &&
		    in_scope(sc, link_name(set, set->ne[i].index)))
			set->ne[kept++] = set->ne[i];
	set->n = kept;
	qsort(set->ne, set->n, sizeof(*set->ne), cmp_neigh);
	return 0;
}

static void free_set(struct neigh_set *set)
{
	free(set->ne);
	free(set->links);
}

static const char *state_word(uint16_t state)
{
	if (state & NUD_PERMANENT)
		return "Permanent";
	if (state & NUD_REACHABLE)
		return "Reachable";
	if (state & NUD_STALE)
		return "Stale";
	if (state & NUD_DELAY)
		return "Delay";
	if (state & NUD_PROBE)
		return "Probe";
	if (state & NUD_INCOMPLETE)
		return "Incomplete";
	if (state & NUD_FAILED)
		return "Failed";
	return "Unknown";
}

/* "NNN sec" for a REACHABLE entry; "" otherwise (see the top).  The
 * link's reachable time is read once per link: *memo holds the last. */
struct reach_memo {
	int af, index;
	long long ms;
};

static void expiry(struct nl *nl, const struct nl_neigh *ne, struct reach_memo *memo,
		   char *buf, size_t len)
{
	buf[0] = '\0';
	if (!(ne->state & NUD_REACHABLE) || !ne->has_cacheinfo)
		return;
	if (memo->af != ne->family || memo->index != ne->index) {
		memo->af = ne->family;
		memo->index = ne->index;
		memo->ms = nl_neigh_reachable_ms(nl, ne->family, ne->index);
	}
	long hz = sysconf(_SC_CLK_TCK);
	if (memo->ms < 0 || hz <= 0)
		return;
	long long left = (memo->ms - (long long)ne->confirmed * 1000 / hz) / 1000;
	snprintf(buf, len, "%lld sec", left > 0 ? left : 0);
}

static json_t *neigh_json(const struct neigh_set *set, const struct nl_neigh *ne,
			  const char *exp)
{
	char addr[INET6_ADDRSTRLEN], mac[18] = "";

	inet_ntop(ne->family, &ne->addr, addr, sizeof(addr));
	if (ne->mac_len == 6)
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", ne->mac[0], ne->mac[1],
			 ne->mac[2], ne->mac[3], ne->mac[4], ne->mac[5]);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "Neighbor", addr, "MacAddress", mac,
			 "Vmknic", link_name(set, ne->index), "Expiry", exp,
			 "State", state_word(ne->state),
			 "Type", ne->state & NUD_PERMANENT ? "Static" : "Dynamic");
}

static json_t *neighbor_list(json_t *params)
{
	struct neigh_scope sc;
	int af[2];

	if (parse_version(param_str(params, "version"), true, af) ||
	    resolve_scope(params, &sc))
		return NULL;
	json_t *list = json_array();
	for (int f = 0; f < 2 && af[f]; f++) {
		struct neigh_set set = { 0 };
		struct reach_memo memo = { 0 };
		char exp[32];
		if (load_set(&sc, af[f], &set)) {
			json_decref(list);
			return NULL;
		}
		for (size_t i = 0; i < set.n; i++) {
			expiry(sc.s->nl, &set.ne[i], &memo, exp, sizeof(exp));
			json_array_append_new(list, neigh_json(&set, &set.ne[i], exp));
		}
		free_set(&set);
	}
	return list;
}

/* ---- remove ---- */

static json_t *neighbor_remove(json_t *params)
{
	const char *text = param_str(params, "neighbor-addr");
	struct neigh_scope sc;
	union nl_inaddr a;
	struct neigh_set set = { 0 };
	int af[2], removed = 0;

	if (parse_version(param_str(params, "version"), false, af))
		return NULL;
	if (inet_pton(af[0], text, &a) != 1)
		return api_invalid("Invalid --neighbor-addr '%s': not an IPv%s address", text,
				   af[0] == AF_INET ? "4" : "6");
	if (resolve_scope(params, &sc) || load_set(&sc, af[0], &set))
		return NULL;
	for (size_t i = 0; i < set.n; i++) {
		const struct nl_neigh *ne = &set.ne[i];
		if (memcmp(&ne->addr, &a, af[0] == AF_INET ? 4 : 16) != 0)
			continue;
		int e = nl_neigh_del(sc.s->nl, ne);
		if (e == -ENOENT)       /* gone since the list: not ours to report */
			continue;
		if (e < 0) {
			api_refused("Cannot remove neighbor %s on netstack %s: %s", text, sc.stack,
				    nl_error(sc.s->nl));
			free_set(&set);
			return NULL;
		}
		vmklog("Neighbor", "netstack %s: neighbor %s on %s removed", sc.stack, text,
		       link_name(&set, ne->index));
		removed++;
	}
	free_set(&set);
	if (!removed)
		return api_invalid("Invalid --neighbor-addr '%s': netstack %s has no neighbor entry "
				   "for it%s%s", text, sc.stack, sc.vmknic ? " on " : "",
				   sc.vmknic ? sc.vmknic : "");
	return json_true();
}

static const struct api_method methods[] = {
	{ "network.ip.neighbor.list", neighbor_list },
	{ "network.ip.neighbor.remove", neighbor_remove },
	{ 0 }
};

void neighbor_register(void)
{
	api_register(methods);
}
