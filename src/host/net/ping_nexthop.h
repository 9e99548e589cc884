/*
 * A next hop chosen by the pinger (vmkping -N, esxcli network diag ping
 * --nexthop), for its own echo requests only.
 *
 * Linux has no per-socket or per-packet next hop, so the pinger's socket
 * is marked (SO_MARK) and, in the stack's namespace, a rule sends packets
 * with that mark to a table of their own that holds one route:
 * "DEST/32 via NEXTHOP dev IFNAME onlink".  Nothing else of the stack sees
 * them.  The mark and the table are the pinger's pid (with a prefix), so
 * that pingers run side by side; ping_nexthop_del removes both.
 */
#ifndef VMK_PING_NEXTHOP_H
#define VMK_PING_NEXTHOP_H
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ping_nexthop {
	int nsfd;               /* the stack's namespace (-1: the caller's) */
	uint32_t mark;          /* SO_MARK for the pinger's socket; also the table */
	int oif;
	struct in_addr dest, via;
	bool route, rule;       /* what is in place */
};

/* Puts the route and the rule in place; 0, or -errno with one line in
 * err. */
int ping_nexthop_add(struct ping_nexthop *nh, int nsfd, const char *ifname,
		     struct in_addr dest, struct in_addr via, char *err, size_t errlen);
/* Removes what ping_nexthop_add put in place. */
void ping_nexthop_del(struct ping_nexthop *nh);

#endif
