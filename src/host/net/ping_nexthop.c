/*
 * The pinger's own next hop: a marked socket, a rule and a one-route
 * table in the stack's namespace (ping_nexthop.h says why).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "netlink.h"
#include "ping_nexthop.h"

/* "vk" in the top byte keeps the pinger's tables away from the ones an
 * administrator numbers by hand; pids fit in the 22 bits below. */
#define NEXTHOP_MARK_BASE 0x76000000u
#define NEXTHOP_RULE_PRIORITY 90

static struct nl_route nexthop_route(const struct ping_nexthop *nh)
{
	struct nl_route r = {
		.dst = {.family = AF_INET, .addr.v4 = nh->dest, .len = 32},
		.gw.v4 = nh->via,
		.has_gw = true,
		.oif = nh->oif,
		.table = nh->mark,
		.onlink = true,
	};
	return r;
}

static struct nl_rule nexthop_rule(const struct ping_nexthop *nh)
{
	struct nl_rule r = {
		.family = AF_INET,
		.priority = NEXTHOP_RULE_PRIORITY,
		.table = nh->mark,
		.fwmark = nh->mark,
	};
	return r;
}

static int put_in_place(struct ping_nexthop *nh, struct nl *nl, const char *ifname)
{
	nh->oif = nl_link_index(nl, ifname);
	if (nh->oif < 0)
		return nh->oif;
	struct nl_route route = nexthop_route(nh);
	int r = nl_route_replace(nl, &route);
	if (r < 0)
		return r;
	nh->route = true;
	struct nl_rule rule = nexthop_rule(nh);
	r = nl_rule_add(nl, &rule);
	if (r == -EEXIST) {	/* left by a pinger of the same pid that was killed */
		nl_rule_del(nl, &rule);
		r = nl_rule_add(nl, &rule);
	}
	if (r < 0)
		return r;
	nh->rule = true;
	return 0;
}

int ping_nexthop_add(struct ping_nexthop *nh, int nsfd, const char *ifname,
		     struct in_addr dest, struct in_addr via, char *err, size_t errlen)
{
	*nh = (struct ping_nexthop){
		.nsfd = nsfd,
		.mark = NEXTHOP_MARK_BASE | ((uint32_t)getpid() & 0x3fffffu),
		.dest = dest,
		.via = via,
	};
	struct nl *nl = nl_open(nsfd);
	if (!nl) {
		int e = errno;
		snprintf(err, errlen, "cannot open rtnetlink for the next hop: %s", strerror(e));
		return -e;
	}
	int r = put_in_place(nh, nl, ifname);
	if (r < 0) {
		snprintf(err, errlen, "cannot set the next hop: %s",
			 *nl_error(nl) ? nl_error(nl) : strerror(-r));
		nl_close(nl);
		ping_nexthop_del(nh);
		return r;
	}
	nl_close(nl);
	return 0;
}

void ping_nexthop_del(struct ping_nexthop *nh)
{
	if (!nh->rule && !nh->route)
		return;
	struct nl *nl = nl_open(nh->nsfd);
	if (!nl)
		return;
	if (nh->rule) {
		struct nl_rule rule = nexthop_rule(nh);
		nl_rule_del(nl, &rule);
	}
	if (nh->route) {
		struct nl_route route = nexthop_route(nh);
		nl_route_del(nl, &route);
	}
	nh->rule = nh->route = false;
	nl_close(nl);
}
