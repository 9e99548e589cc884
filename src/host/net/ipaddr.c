/*
 * IP text parsing and checks (see ipaddr.h).  inet_pton() is the base:
 * it takes exactly four decimal parts for IPv4 (no octal, no short
 * forms), which is what an address or a netmask must be.  Networks also
 * take the short form routes are often written in ("10.20.183/24"),
 * which inet_aton() would read as 10.20.0.183: the parts are padded
 * with zeros on the right instead.
 */
#include "ipaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ip4_parse(const char *s, struct in_addr *out)
{
	return inet_pton(AF_INET, s, out) == 1;
}

bool ip4_is_host(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);

	return h != 0 && (h >> 24) != 127 && (h >> 28) < 0xe;
}

struct in_addr ip4_mask(int len)
{
	struct in_addr m = { htonl(len <= 0 ? 0 : len >= 32 ? ~0u : ~0u << (32 - len)) };
	return m;
}

int ip4_mask_len(const char *s)
{
	struct in_addr m;

	if (!ip4_parse(s, &m) || m.s_addr == 0)
		return -1;
	uint32_t h = ntohl(m.s_addr);
	int len = __builtin_popcount(h);
	return ntohl(ip4_mask(len).s_addr) == h ? len : -1;
}

struct in_addr ip4_network(struct in_addr a, int len)
{
	struct in_addr n = { a.s_addr & ip4_mask(len).s_addr };
	return n;
}

struct in_addr ip4_broadcast(struct in_addr a, int len)
{
	struct in_addr b = { a.s_addr | ~ip4_mask(len).s_addr };
	return b;
}

bool ip4_same_net(struct in_addr a, struct in_addr b, int len)
{
	return ip4_network(a, len).s_addr == ip4_network(b, len).s_addr;
}

char *ip4_str(struct in_addr a, char *buf)
{
	inet_ntop(AF_INET, &a, buf, IP4_STRLEN);
	return buf;
}

/* "10.20.183" -> 10.20.183.0: one to four decimal parts of 0-255. */
static bool parse_short(const char *s, struct in_addr *out)
{
	unsigned parts[4] = { 0 }, n = 0;

	for (;;) {
		char *end;
		if (n == 4 || *s < '0' || *s > '9')
			return false;
		unsigned long v = strtoul(s, &end, 10);
		if (v > 255 || end - s > 3)
			return false;
		parts[n++] = (unsigned)v;
		if (*end == '\0')
			break;
		if (*end != '.')
			return false;
		s = end + 1;
	}
	out->s_addr = htonl(parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3]);
	return true;
}

int ip4_parse_network(const char *s, struct in_addr *net, int *len)
{
	char host[32], *end;
	const char *slash = strchr(s, '/');

	if (strcmp(s, "default") == 0) {
		net->s_addr = 0;
		*len = 0;
		return 0;
	}
	if (!slash || (size_t)(slash - s) >= sizeof(host) || slash[1] < '0' || slash[1] > '9')
		return -1;
	snprintf(host, sizeof(host), "%.*s", (int)(slash - s), s);
	long l = strtol(slash + 1, &end, 10);
	if (*end || l < 0 || l > 32 || !parse_short(host, net))
		return -1;
	*len = (int)l;
	struct in_addr clean = ip4_network(*net, *len);
	bool host_bits = clean.s_addr != net->s_addr;
	*net = clean;
	return host_bits ? -2 : 0;
}

bool ip6_parse_prefix(const char *s, struct in6_addr *a, int *len, char *text)
{
	char host[INET6_ADDRSTRLEN], *end;
	const char *slash = strchr(s, '/');

	if (!slash || (size_t)(slash - s) >= sizeof(host) || slash[1] < '0' || slash[1] > '9')
		return false;
	snprintf(host, sizeof(host), "%.*s", (int)(slash - s), s);
	long l = strtol(slash + 1, &end, 10);
	if (*end || l < 1 || l > 128 || inet_pton(AF_INET6, host, a) != 1)
		return false;
	*len = (int)l;
	inet_ntop(AF_INET6, a, text, INET6_ADDRSTRLEN);
	return true;
}

bool ip6_is_host(const struct in6_addr *a)
{
	return !IN6_IS_ADDR_UNSPECIFIED(a) && !IN6_IS_ADDR_LOOPBACK(a) &&
	       !IN6_IS_ADDR_MULTICAST(a) && !IN6_IS_ADDR_LINKLOCAL(a) && !IN6_IS_ADDR_V4MAPPED(a);
}

const char *ip4_host_problem(struct in_addr a, int len)
{
	if (!ip4_is_host(a))
		return "not a unicast host address";
	if (len <= 30 && ip4_network(a, len).s_addr == a.s_addr)
		return "the network address of its subnet";
	if (len <= 30 && ip4_broadcast(a, len).s_addr == a.s_addr)
		return "the broadcast address of its subnet";
	return NULL;
}

const char *ip4_gateway_problem(struct in_addr gw, struct in_addr a, int len, char *buf,
				size_t buflen)
{
	char net[IP4_STRLEN];

	if (ip4_host_problem(gw, len))
		snprintf(buf, buflen, "%s", ip4_host_problem(gw, len));
	else if (gw.s_addr == a.s_addr)
		snprintf(buf, buflen, "the interface's own address");
	else if (!ip4_same_net(gw, a, len))
		snprintf(buf, buflen, "not reachable: not on the interface's network %s/%d",
			 ip4_str(ip4_network(a, len), net), len);
	else
		return NULL;
	return buf;
}
