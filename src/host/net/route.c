/*
 * IPv4 routes of the TCP/IP stacks: `esxcli network ip route ipv4
 * list|add|remove`.
 *
 * A route is a destination ("default" or a.b.c.d/len, the short form
 * 10.20.183/24 too) and a gateway, in one stack (-N, default
 * defaultTcpipStack); one route per destination and stack.  The store
 * keeps them; the kernel has them in the stack's main table with the
 * protocol number RTPROT_VMK_MANUAL, so vmkd can tell its own routes
 * from others.  The gateway must be reachable: the kernel refuses a
 * gateway on no connected network of the stack, and so does `add`.
 *
 * The kernel drops a route when its gateway's network goes (the
 * adapter's address removed, the adapter disabled); routes_sync() puts
 * the stack's routes back after every change of an adapter and at
 * start, and takes out routes of ours the store does not have.  `list`
 * shows the stack's routing table as the kernel has it: the connected
 * networks (gateway 0.0.0.0) and the routes, as the reference's list
 * does, Source MANUAL; per-adapter gateways (vmknic_rt.h) are not part
 * of it.
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

/* ---- the kernel ---- */

static struct nl_route kernel_route(const char *network, int len, const char *gw)
{
	struct nl_route r = { .dst.family = AF_INET, .dst.len = (uint8_t)len, .has_gw = true,
			      .protocol = RTPROT_VMK_MANUAL };

	inet_pton(AF_INET, network, &r.dst.addr.v4);
	inet_pton(AF_INET, gw, &r.gw.v4);
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
	char net[IP4_STRLEN], gw[IP4_STRLEN];

	ip4_str(k->dst.addr.v4, net);
	ip4_str(k->gw.v4, gw);
	return store_int(0, "SELECT count(*) FROM route WHERE netstack = ? AND network = ? AND "
			 "prefix = ? AND gateway = ?", "lsds", stack, net, (int)k->dst.len, gw) > 0;
}

/* Removes routes of ours that the store does not have. */
static void drop_strays(const struct stackns *s, long long stack)
{
	struct nl_route *rt;
	size_t n;

	if (nl_route_list(s->nl, AF_INET, &rt, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (rt[i].protocol == RTPROT_VMK_MANUAL && !in_store(stack, &rt[i]))
			nl_route_del(s->nl, &rt[i]);
	free(rt);
}

int routes_sync(const char *netstack)
{
	const struct stackns *s = stackns_get(netstack);
	long long id = netstack_id(netstack);
	char what[64];
	int failed = 0;

	if (!s)
		return 0;
	drop_strays(s, id);
	/* IPv4 rows only: route6.c keeps the IPv6 ones (a ':' in network) */
	sqlite3_stmt *st = store_stmt("SELECT network, prefix, gateway FROM route WHERE "
				      "netstack = ? AND instr(network, ':') = 0 ORDER BY id",
				      "l", id);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		struct nl_route r = kernel_route(store_col_text(st, 0), sqlite3_column_int(st, 1),
						 store_col_text(st, 2));
		if (nl_route_replace(s->nl, &r) == 0)
			continue;
		failed++;
		vmklog_warn("Route", "netstack %s: route %s via %s not set: %s", netstack,
			    route_text(store_col_text(st, 0), sqlite3_column_int(st, 1), what,
				       sizeof(what)), store_col_text(st, 2), nl_error(s->nl));
	}
	sqlite3_finalize(st);
	return failed + routes6_sync(netstack);
}

/* ---- list ---- */

static const char *link_name(const struct nl_link *links, size_t n, int index)
{
	for (size_t i = 0; i < n; i++)
		if (links[i].index == index)
			return links[i].name;
	return "";
}

static bool listed(const struct nl_route *r)
{
	return r->dst.family == AF_INET && (!r->type || r->type == RTN_UNICAST) &&
	       r->protocol != RTPROT_VMK_ADAPTER;
}

static json_t *route_json(const struct nl_route *r, const struct nl_link *links, size_t nl)
{
	char net[IP4_STRLEN], mask[IP4_STRLEN], gw[IP4_STRLEN] = "0.0.0.0";

	ip4_str(r->dst.addr.v4, net);
	ip4_str(ip4_mask(r->dst.len), mask);
	if (r->has_gw)
		ip4_str(r->gw.v4, gw);
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "Network", r->dst.len ? net : "default",
			 "Netmask", mask, "Gateway", gw, "Interface",
			 link_name(links, nl, r->oif), "Source", "MANUAL");
}

static int cmp_route(const void *pa, const void *pb)
{
	const struct nl_route *a = pa, *b = pb;
	uint32_t x = ntohl(a->dst.addr.v4.s_addr), y = ntohl(b->dst.addr.v4.s_addr);

	if (x != y)
		return x < y ? -1 : 1;
	if (a->dst.len != b->dst.len)
		return a->dst.len - b->dst.len;
	return a->metric < b->metric ? -1 : a->metric > b->metric;
}

static json_t *route_list(json_t *params)
{
	const char *stack = param_str(params, "netstack");
	const struct stackns *s = stackns_get(stack ? stack : DEFAULT_STACK);
	struct nl_route *rt = NULL;
	struct nl_link *links = NULL;
	size_t n = 0, nlinks = 0;

	if (stack && !netstack_id(stack))
		return err_no_netstack(stack);
	if (!s)
		return api_refused("Cannot read the routes of netstack %s: it is not realized",
				   stack ? stack : DEFAULT_STACK);
	if (nl_route_list(s->nl, AF_INET, &rt, &n) < 0 || nl_link_list(s->nl, &links, &nlinks) < 0) {
		free(rt);
		return api_refused("Cannot read the routes of netstack %s: %s",
				   stack ? stack : DEFAULT_STACK, nl_error(s->nl));
	}
	qsort(rt, n, sizeof(*rt), cmp_route);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		if (listed(&rt[i]))
			json_array_append_new(list, route_json(&rt[i], links, nlinks));
	free(rt);
	free(links);
	return list;
}

/* ---- add, remove ---- */

struct route_req {
	const char *stack, *network, *gw;
	long long id;
	char net[IP4_STRLEN];
	int len;
};

static int parse_route(json_t *params, struct route_req *r)
{
	struct in_addr a, g;
	const char *stack = param_str(params, "netstack");

	r->stack = stack ? stack : DEFAULT_STACK;
	r->network = param_str(params, "network");
	r->gw = param_str(params, "gateway");
	if (!(r->id = netstack_id(r->stack)))
		return API_ERR(err_no_netstack(r->stack));
	int p = ip4_parse_network(r->network, &a, &r->len);
	ip4_str(a, r->net);
	if (p == -1)
		return API_ERR(api_invalid("Invalid --network '%s': not 'default' or a network "
					   "a.b.c.d/len", r->network));
	if (p == -2)
		return API_ERR(api_invalid("Invalid --network '%s': host bits are set (the network "
					   "is %s/%d)", r->network, r->net, r->len));
	if (!ip4_parse(r->gw, &g) || !ip4_is_host(g))
		return API_ERR(api_invalid("Invalid --gateway '%s': not a unicast IPv4 address",
					   r->gw));
	return 0;
}

static int kernel_error(const struct route_req *r, int err, const char *msg)
{
	if (err == -ENETUNREACH)
		return API_ERR(api_invalid("Invalid --gateway '%s': the gateway is not reachable on "
					   "netstack %s: no interface of the netstack is on its "
					   "network", r->gw, r->stack));
	return API_ERR(api_refused("Cannot add the route to %s via %s on netstack %s: %s",
				   r->network, r->gw, r->stack, msg));
}

static json_t *route_add(json_t *params)
{
	struct route_req r;
	char gw[IP4_STRLEN], what[64];

	if (parse_route(params, &r))
		return NULL;
	route_text(r.net, r.len, what, sizeof(what));
	if (store_text(gw, sizeof(gw), "SELECT gateway FROM route WHERE netstack = ? AND "
		       "network = ? AND prefix = ?", "lsd", r.id, r.net, r.len))
		return api_invalid("Invalid --network '%s': netstack %s already has a route to %s "
				   "(via %s)", r.network, r.stack, what, gw);
	if (store_exec("INSERT INTO route(netstack, network, prefix, gateway) VALUES (?, ?, ?, ?)",
		       "lsds", r.id, r.net, r.len, r.gw))
		return api_store_error();
	const struct stackns *s = stackns_get(r.stack);
	struct nl_route k = kernel_route(r.net, r.len, r.gw);
	int e = s ? nl_route_replace(s->nl, &k) : -ENOENT;
	if (e < 0 && kernel_error(&r, e, s ? nl_error(s->nl) : "netstack not realized"))
		return NULL;
	vmklog("Route", "netstack %s: route %s via %s added", r.stack, what, r.gw);
	return json_true();
}

static json_t *route_remove(json_t *params)
{
	struct route_req r;
	char gw[IP4_STRLEN], what[64];

	if (parse_route(params, &r))
		return NULL;
	route_text(r.net, r.len, what, sizeof(what));
	if (!store_text(gw, sizeof(gw), "SELECT gateway FROM route WHERE netstack = ? AND "
			"network = ? AND prefix = ?", "lsd", r.id, r.net, r.len))
		return api_invalid("Invalid --network '%s': netstack %s has no route to %s",
				   r.network, r.stack, what);
	if (strcmp(gw, r.gw) != 0)
		return api_invalid("Invalid --gateway '%s': the route to %s on netstack %s goes "
				   "via %s", r.gw, what, r.stack, gw);
	if (store_exec("DELETE FROM route WHERE netstack = ? AND network = ? AND prefix = ?",
		       "lsd", r.id, r.net, r.len))
		return api_store_error();
	const struct stackns *s = stackns_get(r.stack);
	struct nl_route k = kernel_route(r.net, r.len, r.gw);
	int e = s ? nl_route_del(s->nl, &k) : 0;
	if (e < 0 && e != -ESRCH)
		return api_refused("Cannot remove the route to %s: %s", what, nl_error(s->nl));
	vmklog("Route", "netstack %s: route %s via %s removed", r.stack, what, r.gw);
	return json_true();
}

static const struct api_method methods[] = {
	{ "network.ip.route.ipv4.list", route_list },
	{ "network.ip.route.ipv4.add", route_add },
	{ "network.ip.route.ipv4.remove", route_remove },
	{ 0 }
};

void route_register(void)
{
	api_register(methods);
	route6_register();
}
