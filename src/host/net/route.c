/*
 * Routes of the TCP/IP stacks: `esxcli network ip route ipv4|ipv6
 * list|add|remove`.
 *
 * A route is a destination ("default", a.b.c.d/len -- the short form
 * 10.20.183/24 too -- or X:X::X/len, without host bits) and a gateway,
 * in one stack (-N, default defaultTcpipStack); one route per
 * destination and stack.  The store keeps both families in its `route`
 * table, told apart by the text of the network (an IPv6 one holds a ':';
 * its default route is "::"/0).  The kernel has them in the stack's main
 * table with the protocol number RTPROT_VMK_MANUAL, so vmkd can tell its
 * own routes from others.  The gateway must be reachable: the kernel
 * refuses a gateway on no connected network of the stack, and so does
 * `add`.  An IPv6 gateway is a global or unique-local unicast address: a
 * link-local one means nothing without an interface, which the command
 * does not take.  A stack with IPv6 off has no IPv6 routes in the kernel
 * and takes no new ones; they come back when IPv6 is switched on again.
 *
 * The kernel drops a route when its gateway's network goes (the
 * adapter's address removed, the adapter disabled); routes_sync() puts
 * the stack's routes back after every change of an adapter and at
 * start, and takes out routes of ours the store does not have.  `list`
 * shows the stack's table of the family as the kernel has it: the
 * connected networks (gateway 0.0.0.0 or ::, IPv6 link-local ones
 * included, as the reference lists fe80::/64 per adapter), routes from
 * router advertisements and ours, Source MANUAL; per-adapter gateways
 * (vmknic_rt.h) are not part of it.
 *
 * The two families differ only in their text -- how a network and a
 * gateway are written and checked, how `list` shows a netmask -- and in
 * a word of some messages.  struct route_family holds that; one set of
 * handlers below does the rest for both, so the sync, the list and the
 * checks of add and remove are written once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "ip.h"
#include "store.h"
#include "vmklog.h"
#include "vmknic_rt.h"

struct route_family {
	int af;                         /* AF_INET, AF_INET6 */
	const char *noun;               /* "route", "IPv6 route" in messages */
	const char *network_form;       /* what a --network other than "default" is */
	/* "default" or a network, its text into net (INET6_ADDRSTRLEN
	 * bytes): 0, -1 if malformed, -2 if host bits are set (net then
	 * holds the network). */
	int (*parse_network)(const char *s, char *net, int *len);
	/* Why s cannot be a gateway, or NULL with the address in *gw. */
	const char *(*gateway_problem)(const char *s, union nl_inaddr *gw);
	json_t *(*netmask)(int len);    /* `list`'s Netmask */
	int offlink_err;                /* what the kernel says of a gateway on no
					 * connected network, besides ENETUNREACH */
};

/* ---- IPv4 ---- */

static int parse_network4(const char *s, char *net, int *len)
{
	struct in_addr a = { 0 };
	int p = ip4_parse_network(s, &a, len);

	inet_ntop(AF_INET, &a, net, INET6_ADDRSTRLEN);
	return p;
}

static const char *gateway_problem4(const char *s, union nl_inaddr *gw)
{
	return ip4_parse(s, &gw->v4) && ip4_is_host(gw->v4) ? NULL : "not a unicast IPv4 address";
}

static json_t *netmask4(int len)
{
	char mask[IP4_STRLEN];

	return json_string(ip4_str(ip4_mask(len), mask));
}

static const struct route_family ipv4 = {
	.af = AF_INET, .noun = "route", .network_form = "a network a.b.c.d/len",
	.parse_network = parse_network4, .gateway_problem = gateway_problem4,
	.netmask = netmask4, .offlink_err = ENETUNREACH,
};

/* ---- IPv6 ---- */

static void clear_host_bits(struct in6_addr *a, int len)
{
	for (int i = 0; i < 16; i++) {
		int keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * i : 0;
		a->s6_addr[i] &= (uint8_t)(keep ? 0xff << (8 - keep) : 0);
	}
}

/* X:X::X/len, len 0-128. */
static int parse_network6(const char *s, char *net, int *len)
{
	char host[INET6_ADDRSTRLEN], *end;
	const char *slash = strchr(s, '/');
	struct in6_addr a, clean;

	if (strcmp(s, "default") == 0) {
		snprintf(net, INET6_ADDRSTRLEN, "::");
		*len = 0;
		return 0;
	}
	if (!slash || (size_t)(slash - s) >= sizeof(host) || slash[1] < '0' || slash[1] > '9')
		return -1;
	snprintf(host, sizeof(host), "%.*s", (int)(slash - s), s);
	long l = strtol(slash + 1, &end, 10);
	if (*end || l < 0 || l > 128 || inet_pton(AF_INET6, host, &a) != 1)
		return -1;
	*len = (int)l;
	clean = a;
	clear_host_bits(&clean, *len);
	inet_ntop(AF_INET6, &clean, net, INET6_ADDRSTRLEN);
	return memcmp(&a, &clean, sizeof(a)) ? -2 : 0;
}

static const char *gateway_problem6(const char *s, union nl_inaddr *gw)
{
	if (inet_pton(AF_INET6, s, &gw->v6) != 1)
		return "not an IPv6 address";
	if (IN6_IS_ADDR_LINKLOCAL(&gw->v6))
		return "a link-local gateway needs an interface; give the gateway's global or "
		       "unique-local address";
	return ip6_is_host(&gw->v6) ? NULL : "not a unicast IPv6 address";
}

static json_t *netmask6(int len)
{
	return json_integer(len);
}

static const struct route_family ipv6 = {
	.af = AF_INET6, .noun = "IPv6 route", .network_form = "an IPv6 network X:X::X/len",
	.parse_network = parse_network6, .gateway_problem = gateway_problem6,
	.netmask = netmask6, .offlink_err = EHOSTUNREACH,
};

/* A stack with IPv6 off has no IPv6 routes in the kernel. */
static bool family_on(const struct route_family *f, const char *stack)
{
	return f->af == AF_INET || netstack_ipv6_enabled(stack);
}

/* ---- keeping the kernel equal to the store ---- */

static struct nl_route kernel_route(int af, const char *network, int len, const char *gw)
{
	struct nl_route r = { .dst.family = af, .dst.len = (uint8_t)len, .has_gw = true,
			      .protocol = RTPROT_VMK_MANUAL };

	inet_pton(af, network, &r.dst.addr);
	inet_pton(af, gw, &r.gw);
	return r;
}

static const char *route_text(const char *network, int len, char *buf, size_t n)
{
	if (len == 0)
		snprintf(buf, n, "default");
	else
		snprintf(buf, n, "%s/%d", network, len);
	return buf;
}

/* True if the store has (dst, gw) for the stack. */
static bool in_store(long long stack, const struct nl_route *k)
{
	char net[INET6_ADDRSTRLEN], gw[INET6_ADDRSTRLEN];

	inet_ntop(k->dst.family, &k->dst.addr, net, sizeof(net));
	inet_ntop(k->dst.family, &k->gw, gw, sizeof(gw));
	return store_int(0, "SELECT count(*) FROM route WHERE netstack = ? AND network = ? AND "
			 "prefix = ? AND gateway = ?", "lsds", stack, net, (int)k->dst.len, gw) > 0;
}

/* Removes routes of ours that the store does not have. */
static void drop_strays(const struct stackns *s, int af, long long stack)
{
	struct nl_route *rt;
	size_t n;

	if (nl_route_list(s->nl, af, &rt, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (rt[i].protocol == RTPROT_VMK_MANUAL && !in_store(stack, &rt[i]))
			nl_route_del(s->nl, &rt[i]);
	free(rt);
}

static int sync_family(const struct route_family *f, const char *netstack)
{
	const struct stackns *s = stackns_get(netstack);
	long long id = netstack_id(netstack);
	char what[NL_PREFIX_STRLEN];
	int failed = 0;

	if (!s || !family_on(f, netstack))
		return 0;
	drop_strays(s, f->af, id);
	sqlite3_stmt *st = store_stmt("SELECT network, prefix, gateway FROM route WHERE "
				      "netstack = ? AND (instr(network, ':') > 0) = ? ORDER BY id",
				      "ld", id, f->af == AF_INET6);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		struct nl_route r = kernel_route(f->af, store_col_text(st, 0),
						 sqlite3_column_int(st, 1), store_col_text(st, 2));
		if (nl_route_replace(s->nl, &r) == 0)
			continue;
		failed++;
		vmklog_warn("Route", "netstack %s: %s %s via %s not set: %s", netstack, f->noun,
			    route_text(store_col_text(st, 0), sqlite3_column_int(st, 1), what,
				       sizeof(what)), store_col_text(st, 2), nl_error(s->nl));
	}
	sqlite3_finalize(st);
	return failed;
}

int routes_sync(const char *netstack)
{
	int failed = sync_family(&ipv4, netstack);

	return failed + sync_family(&ipv6, netstack);
}

/* ---- list ---- */

static const char *link_name(const struct nl_link *links, size_t n, int index)
{
	for (size_t i = 0; i < n; i++)
		if (links[i].index == index)
			return links[i].name;
	return "";
}

static bool listed(const struct route_family *f, const struct nl_route *r)
{
	return r->dst.family == f->af && (!r->type || r->type == RTN_UNICAST) &&
	       r->protocol != RTPROT_VMK_ADAPTER;
}

static json_t *route_json(const struct route_family *f, const struct nl_route *r,
			  const struct nl_link *links, size_t nl)
{
	static const union nl_inaddr none;
	char net[INET6_ADDRSTRLEN], gw[INET6_ADDRSTRLEN];

	inet_ntop(f->af, &r->dst.addr, net, sizeof(net));
	inet_ntop(f->af, r->has_gw ? &r->gw : &none, gw, sizeof(gw));
	return json_pack("{s:s, s:o, s:s, s:s, s:s}", "Network", r->dst.len ? net : "default",
			 "Netmask", f->netmask(r->dst.len), "Gateway", gw, "Interface",
			 link_name(links, nl, r->oif), "Source", "MANUAL");
}

/* By destination, prefix length, metric; IPv6 has fe80::/64 once per
 * adapter, and those go by adapter. */
static int cmp_route(const void *pa, const void *pb)
{
	const struct nl_route *a = pa, *b = pb;
	bool v6 = a->dst.family == AF_INET6;
	int c = memcmp(&a->dst.addr, &b->dst.addr, v6 ? 16 : 4);

	if (c)
		return c;
	if (a->dst.len != b->dst.len)
		return a->dst.len - b->dst.len;
	if (v6 && a->oif != b->oif)
		return a->oif - b->oif;
	return a->metric < b->metric ? -1 : a->metric > b->metric;
}

static json_t *route_list(const struct route_family *f, json_t *params)
{
	const char *stack = param_str(params, "netstack");
	const char *name = stack ? stack : DEFAULT_STACK;
	const struct stackns *s = stackns_get(name);
	struct nl_route *rt = NULL;
	struct nl_link *links = NULL;
	size_t n = 0, nlinks = 0;

	if (stack && !netstack_id(stack))
		return err_no_netstack(stack);
	if (!s)
		return api_refused("Cannot read the routes of netstack %s: it is not realized", name);
	if (nl_route_list(s->nl, f->af, &rt, &n) < 0 || nl_link_list(s->nl, &links, &nlinks) < 0) {
		free(rt);
		return api_refused("Cannot read the routes of netstack %s: %s", name,
				   nl_error(s->nl));
	}
	qsort(rt, n, sizeof(*rt), cmp_route);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		if (listed(f, &rt[i]))
			json_array_append_new(list, route_json(f, &rt[i], links, nlinks));
	free(rt);
	free(links);
	return list;
}

/* ---- add, remove ---- */

struct route_req {
	const char *stack, *network, *gw;       /* as given */
	long long id;
	char net[INET6_ADDRSTRLEN], gwtext[INET6_ADDRSTRLEN];   /* as stored */
	int len;
};

static int parse_route(const struct route_family *f, json_t *params, struct route_req *r)
{
	const char *stack = param_str(params, "netstack"), *why;
	union nl_inaddr g;

	r->stack = stack ? stack : DEFAULT_STACK;
	r->network = param_str(params, "network");
	r->gw = param_str(params, "gateway");
	if (!(r->id = netstack_id(r->stack)))
		return API_ERR(err_no_netstack(r->stack));
	int p = f->parse_network(r->network, r->net, &r->len);
	if (p == -1)
		return API_ERR(api_invalid("Invalid --network '%s': not 'default' or %s",
					   r->network, f->network_form));
	if (p == -2)
		return API_ERR(api_invalid("Invalid --network '%s': host bits are set (the network "
					   "is %s/%d)", r->network, r->net, r->len));
	if ((why = f->gateway_problem(r->gw, &g)))
		return API_ERR(api_invalid("Invalid --gateway '%s': %s", r->gw, why));
	inet_ntop(f->af, &g, r->gwtext, sizeof(r->gwtext));
	return 0;
}

static int kernel_error(const struct route_family *f, const struct route_req *r, int err,
			const char *msg)
{
	if (err == -ENETUNREACH || err == -f->offlink_err)
		return API_ERR(api_invalid("Invalid --gateway '%s': the gateway is not reachable on "
					   "netstack %s: no interface of the netstack is on its "
					   "network", r->gw, r->stack));
	return API_ERR(api_refused("Cannot add the %s to %s via %s on netstack %s: %s", f->noun,
				   r->network, r->gw, r->stack, msg));
}

static json_t *route_add(const struct route_family *f, json_t *params)
{
	struct route_req r;
	char gw[INET6_ADDRSTRLEN], what[NL_PREFIX_STRLEN];

	if (parse_route(f, params, &r))
		return NULL;
	route_text(r.net, r.len, what, sizeof(what));
	if (store_text(gw, sizeof(gw), "SELECT gateway FROM route WHERE netstack = ? AND "
		       "network = ? AND prefix = ?", "lsd", r.id, r.net, r.len))
		return api_invalid("Invalid --network '%s': netstack %s already has a route to %s "
				   "(via %s)", r.network, r.stack, what, gw);
	if (!family_on(f, r.stack))
		return api_refused("Cannot add the %s to %s: IPv6 is disabled on netstack %s",
				   f->noun, what, r.stack);
	if (store_exec("INSERT INTO route(netstack, network, prefix, gateway) VALUES (?, ?, ?, ?)",
		       "lsds", r.id, r.net, r.len, r.gwtext))
		return api_store_error();
	const struct stackns *s = stackns_get(r.stack);
	struct nl_route k = kernel_route(f->af, r.net, r.len, r.gwtext);
	int e = s ? nl_route_replace(s->nl, &k) : -ENOENT;
	if (e < 0 && kernel_error(f, &r, e, s ? nl_error(s->nl) : "netstack not realized"))
		return NULL;
	vmklog("Route", "netstack %s: %s %s via %s added", r.stack, f->noun, what, r.gwtext);
	return json_true();
}

static json_t *route_remove(const struct route_family *f, json_t *params)
{
	struct route_req r;
	char gw[INET6_ADDRSTRLEN], what[NL_PREFIX_STRLEN];

	if (parse_route(f, params, &r))
		return NULL;
	route_text(r.net, r.len, what, sizeof(what));
	if (!store_text(gw, sizeof(gw), "SELECT gateway FROM route WHERE netstack = ? AND "
			"network = ? AND prefix = ?", "lsd", r.id, r.net, r.len))
		return api_invalid("Invalid --network '%s': netstack %s has no %s to %s",
				   r.network, r.stack, f->noun, what);
	if (strcmp(gw, r.gwtext) != 0)
		return api_invalid("Invalid --gateway '%s': the route to %s on netstack %s goes "
				   "via %s", r.gw, what, r.stack, gw);
	if (store_exec("DELETE FROM route WHERE netstack = ? AND network = ? AND prefix = ?",
		       "lsd", r.id, r.net, r.len))
		return api_store_error();
	const struct stackns *s = stackns_get(r.stack);
	struct nl_route k = kernel_route(f->af, r.net, r.len, r.gwtext);
	int e = s && family_on(f, r.stack) ? nl_route_del(s->nl, &k) : 0;
	if (e < 0 && e != -ESRCH)
		return api_refused("Cannot remove the %s to %s: %s", f->noun, what,
				   nl_error(s->nl));
	vmklog("Route", "netstack %s: %s %s via %s removed", r.stack, f->noun, what, r.gwtext);
	return json_true();
}

static json_t *ipv4_list(json_t *params) { return route_list(&ipv4, params); }
static json_t *ipv4_add(json_t *params) { return route_add(&ipv4, params); }
static json_t *ipv4_remove(json_t *params) { return route_remove(&ipv4, params); }
static json_t *ipv6_list(json_t *params) { return route_list(&ipv6, params); }
static json_t *ipv6_add(json_t *params) { return route_add(&ipv6, params); }
static json_t *ipv6_remove(json_t *params) { return route_remove(&ipv6, params); }

static const struct api_method methods[] = {
	{ "network.ip.route.ipv4.list", ipv4_list },
	{ "network.ip.route.ipv4.add", ipv4_add },
	{ "network.ip.route.ipv4.remove", ipv4_remove },
	{ "network.ip.route.ipv6.list", ipv6_list },
	{ "network.ip.route.ipv6.add", ipv6_add },
	{ "network.ip.route.ipv6.remove", ipv6_remove },
	{ 0 }
};

void route_register(void)
{
	api_register(methods);
}
