/*
 * IPv6 routes of the TCP/IP stacks: `esxcli network ip route ipv6
 * list|add|remove`, the sibling of route.c's IPv4 routes and built the
 * same way.
 *
 * A route is a destination ("default" or X:X::X/len, no host bits) and a
 * gateway, in one stack (-N, default defaultTcpipStack); one route per
 * destination and stack.  The gateway is a global or unique-local
 * unicast address: a link-local one means nothing without an interface,
 * which the command does not take.  The store keeps IPv6 routes in the
 * `route` table beside the IPv4 ones, told apart by the text of the
 * network (an IPv6 one holds a ':'; the default route is "::"/0); the
 * kernel has them in the stack's main table with protocol
 * RTPROT_VMK_MANUAL.  A stack with IPv6 off has none in the kernel and
 * takes no new ones; they come back when IPv6 is switched on again
 * (routes_sync, after its adapters are applied).
 *
 * `list` shows the stack's IPv6 main table as the kernel has it: the
 * connected networks (gateway ::, link-local ones included, as the
 * reference lists fe80::/64 per adapter), the routes from router
 * advertisements and ours, Netmask being the prefix length.
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

#define V6_ROWS "instr(network, ':') > 0"	/* the store's IPv6 routes */

static struct nl_route kernel_route6(const char *network, int len, const char *gw)
{
	struct nl_route r = { .dst.family = AF_INET6, .dst.len = (uint8_t)len, .has_gw = true,
			      .protocol = RTPROT_VMK_MANUAL };

	inet_pton(AF_INET6, network, &r.dst.addr.v6);
	inet_pton(AF_INET6, gw, &r.gw.v6);
	return r;
}

static const char *route6_text(const char *network, int len, char *buf, size_t n)
{
	if (len == 0)
		snprintf(buf, n, "default");
	else
		snprintf(buf, n, "%s/%d", network, len);
	return buf;
}

/* ---- keeping the kernel equal to the store ---- */

static bool in_store6(long long stack, const struct nl_route *k)
{
	char net[INET6_ADDRSTRLEN], gw[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, &k->dst.addr.v6, net, sizeof(net));
	inet_ntop(AF_INET6, &k->gw.v6, gw, sizeof(gw));
	return store_int(0, "SELECT count(*) FROM route WHERE netstack = ? AND network = ? AND "
			 "prefix = ? AND gateway = ?", "lsds", stack, net, (int)k->dst.len, gw) > 0;
}

static void drop_strays6(const struct stackns *s, long long stack)
{
	struct nl_route *rt;
	size_t n;

	if (nl_route_list(s->nl, AF_INET6, &rt, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (rt[i].protocol == RTPROT_VMK_MANUAL && !in_store6(stack, &rt[i]))
			nl_route_del(s->nl, &rt[i]);
	free(rt);
}

int routes6_sync(const char *netstack)
{
	const struct stackns *s = stackns_get(netstack);
	long long id = netstack_id(netstack);
	char what[INET6_ADDRSTRLEN + 8];
	int failed = 0;

	if (!s || !netstack_ipv6_enabled(netstack))
		return 0;
	drop_strays6(s, id);
	sqlite3_stmt *st = store_stmt("SELECT network, prefix, gateway FROM route WHERE "
				      "netstack = ? AND " V6_ROWS " ORDER BY id", "l", id);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		struct nl_route r = kernel_route6(store_col_text(st, 0), sqlite3_column_int(st, 1),
						  store_col_text(st, 2));
		if (nl_route_replace(s->nl, &r) == 0)
			continue;
		failed++;
		vmklog_warn("Route", "netstack %s: IPv6 route %s via %s not set: %s", netstack,
			    route6_text(store_col_text(st, 0), sqlite3_column_int(st, 1), what,
					sizeof(what)), store_col_text(st, 2), nl_error(s->nl));
	}
	sqlite3_finalize(st);
	return failed;
}

/* ---- list ---- */

static const char *link_name6(const struct nl_link *links, size_t n, int index)
{
	for (size_t i = 0; i < n; i++)
		if (links[i].index == index)
			return links[i].name;
	return "";
}

static bool listed6(const struct nl_route *r)
{
	return r->dst.family == AF_INET6 && (!r->type || r->type == RTN_UNICAST) &&
	       r->protocol != RTPROT_VMK_ADAPTER;
}

static json_t *route6_json(const struct nl_route *r, const struct nl_link *links, size_t nl)
{
	char net[INET6_ADDRSTRLEN], gw[INET6_ADDRSTRLEN] = "::";

	inet_ntop(AF_INET6, &r->dst.addr.v6, net, sizeof(net));
	if (r->has_gw)
		inet_ntop(AF_INET6, &r->gw.v6, gw, sizeof(gw));
	return json_pack("{s:s, s:i, s:s, s:s, s:s}", "Network", r->dst.len ? net : "default",
			 "Netmask", (int)r->dst.len, "Gateway", gw, "Interface",
			 link_name6(links, nl, r->oif), "Source", "MANUAL");
}

static int cmp_route6(const void *pa, const void *pb)
{
	const struct nl_route *a = pa, *b = pb;
	int c = memcmp(&a->dst.addr.v6, &b->dst.addr.v6, sizeof(a->dst.addr.v6));

	if (c)
		return c;
	if (a->dst.len != b->dst.len)
		return a->dst.len - b->dst.len;
	if (a->oif != b->oif)
		return a->oif - b->oif;
	return a->metric < b->metric ? -1 : a->metric > b->metric;
}

static json_t *route6_list(json_t *params)
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
	if (nl_route_list(s->nl, AF_INET6, &rt, &n) < 0 || nl_link_list(s->nl, &links, &nlinks) < 0) {
		free(rt);
		return api_refused("Cannot read the routes of netstack %s: %s", name,
				   nl_error(s->nl));
	}
	qsort(rt, n, sizeof(*rt), cmp_route6);
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		if (listed6(&rt[i]))
			json_array_append_new(list, route6_json(&rt[i], links, nlinks));
	free(rt);
	free(links);
	return list;
}

/* ---- add, remove ---- */

struct route6_req {
	const char *stack, *network, *gw;
	long long id;
	char net[INET6_ADDRSTRLEN], gwtext[INET6_ADDRSTRLEN];
	int len;
};

/* True if a has bits set past its first len. */
static bool host_bits(const struct in6_addr *a, int len)
{
	for (int i = 0; i < 16; i++) {
		int keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * i : 0;
		uint8_t mask = (uint8_t)(keep ? 0xff << (8 - keep) : 0);
		if (a->s6_addr[i] & ~mask)
			return true;
	}
	return false;
}

static void clear_host_bits(struct in6_addr *a, int len)
{
	for (int i = 0; i < 16; i++) {
		int keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * i : 0;
		a->s6_addr[i] &= (uint8_t)(keep ? 0xff << (8 - keep) : 0);
	}
}

/* "default", or X:X::X/len (0-128) without host bits: 0, -1 malformed,
 * -2 host bits set (net then holds the network). */
static int parse_network6(const char *s, char *net, int *len)
{
	char host[INET6_ADDRSTRLEN], *end;
	const char *slash = strchr(s, '/');
	struct in6_addr a;

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
	bool bits = host_bits(&a, *len);
	clear_host_bits(&a, *len);
	inet_ntop(AF_INET6, &a, net, INET6_ADDRSTRLEN);
	return bits ? -2 : 0;
}

static int check_gateway6(struct route6_req *r)
{
	struct in6_addr g;

	if (inet_pton(AF_INET6, r->gw, &g) != 1)
		return API_ERR(api_invalid("Invalid --gateway '%s': not an IPv6 address", r->gw));
	if (IN6_IS_ADDR_LINKLOCAL(&g))
		return API_ERR(api_invalid("Invalid --gateway '%s': a link-local gateway needs an "
					   "interface; give the gateway's global or unique-local "
					   "address", r->gw));
	if (!ip6_is_host(&g))
		return API_ERR(api_invalid("Invalid --gateway '%s': not a unicast IPv6 address",
					   r->gw));
	inet_ntop(AF_INET6, &g, r->gwtext, sizeof(r->gwtext));
	return 0;
}

static int parse_route6(json_t *params, struct route6_req *r)
{
	const char *stack = param_str(params, "netstack");

	r->stack = stack ? stack : DEFAULT_STACK;
	r->network = param_str(params, "network");
	r->gw = param_str(params, "gateway");
	if (!(r->id = netstack_id(r->stack)))
		return API_ERR(err_no_netstack(r->stack));
	int p = parse_network6(r->network, r->net, &r->len);
	if (p == -1)
		return API_ERR(api_invalid("Invalid --network '%s': not 'default' or an IPv6 "
					   "network X:X::X/len", r->network));
	if (p == -2)
		return API_ERR(api_invalid("Invalid --network '%s': host bits are set (the network "
					   "is %s/%d)", r->network, r->net, r->len));
	return check_gateway6(r);
}

static int kernel_error6(const struct route6_req *r, int err, const char *msg)
{
	if (err == -EHOSTUNREACH || err == -ENETUNREACH)
		return API_ERR(api_invalid("Invalid --gateway '%s': the gateway is not reachable on "
					   "netstack %s: no interface of the netstack is on its "
					   "network", r->gw, r->stack));
	return API_ERR(api_refused("Cannot add the IPv6 route to %s via %s on netstack %s: %s",
				   r->network, r->gw, r->stack, msg));
}

static json_t *route6_add(json_t *params)
{
	struct route6_req r;
	char gw[INET6_ADDRSTRLEN], what[INET6_ADDRSTRLEN + 8];

	if (parse_route6(params, &r))
		return NULL;
	route6_text(r.net, r.len, what, sizeof(what));
	if (store_text(gw, sizeof(gw), "SELECT gateway FROM route WHERE netstack = ? AND "
		       "network = ? AND prefix = ?", "lsd", r.id, r.net, r.len))
		return api_invalid("Invalid --network '%s': netstack %s already has a route to %s "
				   "(via %s)", r.network, r.stack, what, gw);
	if (!netstack_ipv6_enabled(r.stack))
		return api_refused("Cannot add the IPv6 route to %s: IPv6 is disabled on netstack "
				   "%s", what, r.stack);
	if (store_exec("INSERT INTO route(netstack, network, prefix, gateway) VALUES (?, ?, ?, ?)",
		       "lsds", r.id, r.net, r.len, r.gwtext))
		return api_store_error();
	const struct stackns *s = stackns_get(r.stack);
	struct nl_route k = kernel_route6(r.net, r.len, r.gwtext);
	int e = s ? nl_route_replace(s->nl, &k) : -ENOENT;
	if (e < 0 && kernel_error6(&r, e, s ? nl_error(s->nl) : "netstack not realized"))
		return NULL;
	vmklog("Route", "netstack %s: IPv6 route %s via %s added", r.stack, what, r.gwtext);
	return json_true();
}

static json_t *route6_remove(json_t *params)
{
	struct route6_req r;
	char gw[INET6_ADDRSTRLEN], what[INET6_ADDRSTRLEN + 8];

	if (parse_route6(params, &r))
		return NULL;
	route6_text(r.net, r.len, what, sizeof(what));
	if (!store_text(gw, sizeof(gw), "SELECT gateway FROM route WHERE netstack = ? AND "
			"network = ? AND prefix = ?", "lsd", r.id, r.net, r.len))
		return api_invalid("Invalid --network '%s': netstack %s has no IPv6 route to %s",
				   r.network, r.stack, what);
	if (strcmp(gw, r.gwtext) != 0)
		return api_invalid("Invalid --gateway '%s': the route to %s on netstack %s goes "
				   "via %s", r.gw, what, r.stack, gw);
	if (store_exec("DELETE FROM route WHERE netstack = ? AND network = ? AND prefix = ?",
		       "lsd", r.id, r.net, r.len))
		return api_store_error();
	const struct stackns *s = stackns_get(r.stack);
	struct nl_route k = kernel_route6(r.net, r.len, r.gwtext);
	int e = s && netstack_ipv6_enabled(r.stack) ? nl_route_del(s->nl, &k) : 0;
	if (e < 0 && e != -ESRCH)
		return api_refused("Cannot remove the IPv6 route to %s: %s", what, nl_error(s->nl));
	vmklog("Route", "netstack %s: IPv6 route %s via %s removed", r.stack, what, r.gwtext);
	return json_true();
}

static const struct api_method methods[] = {
	{ "network.ip.route.ipv6.list", route6_list },
	{ "network.ip.route.ipv6.add", route6_add },
	{ "network.ip.route.ipv6.remove", route6_remove },
	{ 0 }
};

void route6_register(void)
{
	api_register(methods);
}
