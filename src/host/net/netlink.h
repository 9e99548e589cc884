/*
 * rtnetlink for vmkd: links, addresses, routes and neighbours of one
 * network namespace (one VMkernel TCP/IP stack).
 *
 * A struct nl is a NETLINK_ROUTE socket created inside a namespace; every
 * call acts on that namespace.  Calls are synchronous (request, then wait
 * for the kernel's ACK or error) and return 0 (or a positive value such as
 * an ifindex) on success and -errno on failure; nl_error() then gives one
 * line naming what failed and why, with the kernel's own explanation when
 * it sends one, e.g.
 *   "add route 10.9.0.0/16 via 192.0.2.1: Network is unreachable
 *    (Nexthop has invalid gateway)".
 * A struct nl is not thread safe: one per stack per thread.
 *
 * Lists are returned as malloc'd arrays the caller frees with free().
 */
#ifndef VMK_NETLINK_H
#define VMK_NETLINK_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nl;

/* A netlink socket in namespace netns_fd (< 0: the caller's namespace).
 * NULL with errno set on failure. */
struct nl *nl_open(int netns_fd);
void nl_close(struct nl *nl);

/* One line about the last failed call on nl ("" after a success). */
const char *nl_error(const struct nl *nl);

/* ---- addresses ---- */

union nl_inaddr {
	struct in_addr v4;
	struct in6_addr v6;
};

struct nl_prefix {
	int family;             /* AF_INET or AF_INET6 */
	union nl_inaddr addr;
	uint8_t len;            /* prefix length */
};

#define NL_PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)

/* "192.0.2.1/24", "2001:db8::1/64"; without "/N" a host prefix (32, 128). */
int nl_prefix_parse(const char *s, struct nl_prefix *p);
/* Formats as "addr/len"; returns buf. */
char *nl_prefix_format(const struct nl_prefix *p, char *buf, size_t len);
/* Prefix length of an IPv4 netmask (255.255.255.0 -> 24); -EINVAL if the
 * mask is not contiguous. */
int nl_netmask_len(struct in_addr mask);

/* ---- links ---- */

struct nl_link {
	int index;
	char name[IFNAMSIZ];
	uint8_t mac[6];
	uint8_t mac_len;        /* 6 for Ethernet links, else 0 */
	unsigned mtu;
	unsigned flags;         /* IFF_UP, IFF_RUNNING, IFF_LOWER_UP, ... */
	uint8_t operstate;      /* IF_OPER_* of <linux/if.h> (RFC 2863) */
	char kind[16];          /* IFLA_INFO_KIND: "veth", "tun", ...; "" for lo, NICs */
	uint32_t group;         /* IFLA_GROUP, the netdev group (0: the default) */
};

int nl_link_get(struct nl *nl, const char *name, struct nl_link *out);
int nl_link_index(struct nl *nl, const char *name);     /* ifindex, -ENODEV */
int nl_link_list(struct nl *nl, struct nl_link **links, size_t *n);
int nl_link_set_up(struct nl *nl, int ifindex, bool up);
int nl_link_set_mtu(struct nl *nl, int ifindex, unsigned mtu);
int nl_link_set_mac(struct nl *nl, int ifindex, const uint8_t mac[6]);
/* Older kernels refuse (-EBUSY) to rename a link that is up; 6.x allows it. */
int nl_link_rename(struct nl *nl, int ifindex, const char *name);
/* Moves the link into namespace netns_fd; its index there may differ
 * (look it up by name).  -EEXIST if the name is taken there. */
int nl_link_set_netns(struct nl *nl, int ifindex, int netns_fd);
int nl_link_delete(struct nl *nl, int ifindex);
/* Puts the link into netdev group `group` (IFLA_GROUP). */
int nl_link_set_group(struct nl *nl, int ifindex, uint32_t group);
/* Deletes every link of the namespace in netdev group `group` (> 0) in
 * one RTM_DELLINK: the kernel unregisters them as one batch, with one
 * wait for RCU instead of one per link.  All or nothing: -EOPNOTSUPP,
 * deleting none, if a link of the group cannot be deleted by netlink
 * (older kernels: TAPs); -ENODEV if the group is empty. */
int nl_link_delete_group(struct nl *nl, uint32_t group);
/* A veth pair NAME <-> PEER; the peer is created in namespace
 * peer_netns_fd (< 0: this one).  Deleting either end deletes both. */
int nl_veth_add(struct nl *nl, const char *name, const char *peer, int peer_netns_fd);

/* ---- interface addresses ---- */

struct nl_addr {
	int index;
	struct nl_prefix prefix;
	uint8_t scope;          /* RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_HOST */
	uint32_t flags;         /* IFA_F_PERMANENT, IFA_F_TENTATIVE, ... */
};

/* flags: IFA_F_* to set, e.g. IFA_F_NODAD for IPv6; usually 0.
 * -EEXIST if the address is already there. */
int nl_addr_add(struct nl *nl, int ifindex, const struct nl_prefix *p, uint32_t flags);
int nl_addr_del(struct nl *nl, int ifindex, const struct nl_prefix *p);
/* Adds the address, or updates it if present, with lifetimes in seconds
 * (0xffffffff: forever): the kernel deprecates it after preferred and
 * removes it after valid, as for a DHCP lease. */
int nl_addr_set_lifetime(struct nl *nl, int ifindex, const struct nl_prefix *p,
			 uint32_t valid, uint32_t preferred);
/* ifindex 0: every link; family AF_UNSPEC: both families. */
int nl_addr_list(struct nl *nl, int ifindex, int family, struct nl_addr **addrs, size_t *n);
/* Removes the addresses of family (AF_UNSPEC: both) from link ifindex
 * (> 0), except IPv6 link-local ones, which the kernel owns. */
int nl_addr_flush(struct nl *nl, int ifindex, int family);

/* ---- routes (main table, or another one for policy routing) ---- */

struct nl_route {
	struct nl_prefix dst;   /* len 0: the default route */
	union nl_inaddr gw;
	bool has_gw;
	int oif;                /* output link, 0 for none */
	uint32_t metric;        /* 0: the kernel's default */
	uint8_t protocol;       /* RTPROT_*; 0 on add means RTPROT_STATIC */
	uint8_t scope;          /* on add: computed (link without gateway) */
	uint8_t type;           /* RTN_*; 0 on add means RTN_UNICAST */
	uint32_t table;         /* on add/remove: the table; 0 means main */
	bool onlink;            /* on add: the gateway is on oif's link, whatever its address */
};

/* -EEXIST if present; a gateway on no connected network of the stack:
 * -ENETUNREACH (IPv4), -EHOSTUNREACH (IPv6); -ENODEV without gateway
 * and without device. */
int nl_route_add(struct nl *nl, const struct nl_route *r);
/* Adds, or replaces the route to the same destination (and metric). */
int nl_route_replace(struct nl *nl, const struct nl_route *r);
/* Removes the route matching dst and whatever else is set (gateway, oif,
 * metric, protocol).  -ESRCH if there is none. */
int nl_route_del(struct nl *nl, const struct nl_route *r);
/* Routes of the main table of family (AF_INET or AF_INET6), connected
 * ones (protocol RTPROT_KERNEL) included.  Multipath routes are listed
 * without their next hops. */
int nl_route_list(struct nl *nl, int family, struct nl_route **routes, size_t *n);

/* ---- policy routing rules ---- */

/* "[from SRC] [oif NAME] [fwmark M] lookup TABLE [suppress_prefixlength 0] pref P". */
struct nl_rule {
	int family;             /* AF_INET or AF_INET6 */
	uint32_t priority;      /* 0: the kernel picks one */
	uint32_t table;
	bool has_src;
	struct nl_prefix src;   /* the source prefix (has_src) */
	char oif[IFNAMSIZ];     /* the output device the socket is bound to, "" any */
	bool suppress_default;  /* suppress_prefixlength 0: a default route found there does not count */
	uint32_t fwmark;        /* packets of sockets with this SO_MARK only (0: any) */
};

/* -EEXIST if the same rule is there. */
int nl_rule_add(struct nl *nl, const struct nl_rule *r);
/* Removes the first rule matching what is set in r (family, priority,
 * table, source, oif, fwmark).  -ENOENT if there is none. */
int nl_rule_del(struct nl *nl, const struct nl_rule *r);

/* ---- neighbours (ARP, NDP) ---- */

struct nl_neigh {
	int index;
	int family;
	union nl_inaddr addr;
	uint8_t mac[6];
	uint8_t mac_len;        /* 0 while unresolved */
	uint16_t state;         /* NUD_REACHABLE, NUD_STALE, NUD_PERMANENT, ... */
	uint8_t flags;          /* NTF_* */
	/* NDA_CACHEINFO: ages in USER_HZ ticks (sysconf(_SC_CLK_TCK)) of the
	 * last confirmation of reachability, use and state change. */
	bool has_cacheinfo;
	uint32_t confirmed, used, updated;
};

int nl_neigh_list(struct nl *nl, int family, struct nl_neigh **neighs, size_t *n);
/* Deletes the entry of ne->addr (family ne->family) on link ne->index.
 * -ENOENT if there is none. */
int nl_neigh_del(struct nl *nl, const struct nl_neigh *ne);
/* The reachable time (ms) the kernel uses now for neighbours of family
 * on link ifindex (NDTPA_REACHABLE_TIME: a random value around
 * base_reachable_time, redrawn every few minutes); -ENOENT if the link
 * has no parameters of that family. */
long long nl_neigh_reachable_ms(struct nl *nl, int family, int ifindex);

#endif
