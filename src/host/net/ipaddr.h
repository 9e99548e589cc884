/*
 * IPv4 and IPv6 text as esxcli takes it: addresses, netmasks, networks
 * ("default", "10.20.183.0/24", the short "10.20.183/24"), IPv6 prefixes
 * ("2001:db8::1/64").  Pure functions, no store and no kernel, shared by
 * the adapter, route and stack handlers.
 */
#ifndef VMKD_NET_IPADDR_H
#define VMKD_NET_IPADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#define IP4_STRLEN 16

/* A dotted quad (exactly four decimal parts).  false if not. */
bool ip4_parse(const char *s, struct in_addr *out);
/* An address an interface or a gateway may have: not 0.0.0.0, loopback,
 * multicast, reserved (240/4) or the limited broadcast. */
bool ip4_is_host(struct in_addr a);
/* The prefix length of a dotted-quad netmask (1-32), or -1 if s is not
 * a contiguous netmask of that form. */
int ip4_mask_len(const char *s);
struct in_addr ip4_mask(int len);
/* a's network (len bits kept), broadcast (host bits set). */
struct in_addr ip4_network(struct in_addr a, int len);
struct in_addr ip4_broadcast(struct in_addr a, int len);
/* True if a and b are on the same len-bit network. */
bool ip4_same_net(struct in_addr a, struct in_addr b, int len);
/* Formats a dotted quad into buf (IP4_STRLEN bytes); returns buf. */
char *ip4_str(struct in_addr a, char *buf);
/* "default" (0.0.0.0/0) or a network a[.b[.c[.d]]]/len with no host
 * bits set.  0, -1 if malformed, -2 if host bits are set (the network
 * is then still written to *net with them cleared). */
int ip4_parse_network(const char *s, struct in_addr *net, int *len);
/* Why a is not a usable address of an interface on a len-bit network
 * (it is not a host address, or it is that network's own or broadcast
 * address), or NULL if it is. */
const char *ip4_host_problem(struct in_addr a, int len);
/* Why gw is not a usable gateway for an interface with address a on a
 * len-bit network, or NULL.  The reason is written into buf. */
const char *ip4_gateway_problem(struct in_addr gw, struct in_addr a, int len, char *buf,
				size_t buflen);
/* An IPv6 address with its prefix length ("/len" required, 1-128),
 * normalized into text (INET6_ADDRSTRLEN bytes).  false if bad. */
bool ip6_parse_prefix(const char *s, struct in6_addr *a, int *len, char *text);
/* An address an interface may have: not ::, loopback, multicast,
 * link-local (the kernel owns those) or IPv4-mapped. */
bool ip6_is_host(const struct in6_addr *a);

#endif
