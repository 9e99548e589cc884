/*
 * Unit tests for the kernel side of host networking (src/host/net/):
 * named namespaces, rtnetlink (links, addresses, routes, rules, neighbours) and
 * vmknic TAPs.  They act on the real kernel, so they need root; without
 * it (or without /dev/net/tun) the program exits 77, which meson counts
 * as skipped.
 *
 * Network safety: main() first moves the whole test into a private
 * network namespace of its own (its "home", playing vmkd's namespace),
 * so nothing is ever created beside the machine's interfaces.  Each test
 * gets two fresh named namespaces A and B (names carry the pid, so runs
 * do not collide), joined only by veth pairs the test makes; teardown
 * deletes them even when an assertion failed, and an atexit handler
 * catches the rest.  Connectivity is proven with `ip netns exec NS
 * busybox ping -c 1 -W 2` (bounded), and the TAP with an ARP exchange
 * through its fd (bounded poll).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "netlink.h"
#include "netns.h"
#include "vmknic_tap.h"

struct env {
	char a[32], b[32];      /* namespace names */
	int fa, fb;             /* their fds */
	struct nl *na, *nb;     /* their netlink sockets */
	struct nl *home;        /* the test's own namespace (vmkd's) */
};

static char ns_a[32], ns_b[32], ns_c[32];

static void cleanup_names(void)
{
	netns_delete(ns_a);
	netns_delete(ns_b);
	netns_delete(ns_c);
}

/* ---- helpers ---- */

static void lo_up(struct nl *nl)
{
	int lo = nl_link_index(nl, "lo");
	assert_true(lo > 0);
	assert_int_equal(nl_link_set_up(nl, lo, true), 0);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	snprintf(e->a, sizeof(e->a), "%s", ns_a);
	snprintf(e->b, sizeof(e->b), "%s", ns_b);
	e->fa = e->fb = -1;
	*state = e;
	assert_int_equal(netns_create(e->a), 0);
	assert_int_equal(netns_create(e->b), 0);
	e->fa = netns_open(e->a);
	e->fb = netns_open(e->b);
	assert_true(e->fa >= 0 && e->fb >= 0);
	e->na = nl_open(e->fa);
	e->nb = nl_open(e->fb);
	e->home = nl_open(-1);
	assert_true(e->na && e->nb && e->home);
	lo_up(e->na);
	lo_up(e->nb);
	lo_up(e->home);
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	nl_close(e->na);
	nl_close(e->nb);
	nl_close(e->home);
	if (e->fa >= 0)
		close(e->fa);
	if (e->fb >= 0)
		close(e->fb);
	netns_delete(e->a);
	netns_delete(e->b);
	free(e);
	return 0;
}

/* Runs a shell command (its output discarded); returns its exit status. */
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " >/dev/null 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* One echo request from namespace ns, at most 2 s: true if answered. */
static bool ping(const char *ns, const char *addr)
{
	return sh("ip netns exec %s busybox ping -c 1 -W 2 %s", ns, addr) == 0;
}

static struct nl_prefix pfx(const char *s)
{
	struct nl_prefix p;
	assert_int_equal(nl_prefix_parse(s, &p), 0);
	return p;
}

static void add_addr(struct nl *nl, int idx, const char *s, uint32_t flags)
{
	struct nl_prefix p = pfx(s);
	int r = nl_addr_add(nl, idx, &p, flags);
	if (r < 0)
		fail_msg("%s", nl_error(nl));
}

/* veth NAME_A in A <-> NAME_B in B, both up; ifindexes returned. */
static void veth(struct env *e, const char *na, const char *nb, int *ia, int *ib)
{
	assert_int_equal(nl_veth_add(e->na, na, nb, e->fb), 0);
	*ia = nl_link_index(e->na, na);
	*ib = nl_link_index(e->nb, nb);
	assert_true(*ia > 0 && *ib > 0);
	assert_int_equal(nl_link_set_up(e->na, *ia, true), 0);
	assert_int_equal(nl_link_set_up(e->nb, *ib, true), 0);
}

static struct nl_route route(const char *dst, const char *gw, int oif)
{
	struct nl_route r = {.dst = pfx(dst), .oif = oif};
	if (gw) {
		assert_int_equal(inet_pton(r.dst.family, gw, &r.gw), 1);
		r.has_gw = true;
	}
	return r;
}

static const struct nl_route *find_route(const struct nl_route *rs, size_t n, const char *dst)
{
	struct nl_prefix p = pfx(dst);
	for (size_t i = 0; i < n; i++)
		if (rs[i].dst.len == p.len && !memcmp(&rs[i].dst.addr, &p.addr, p.family == AF_INET ? 4 : 16))
			return &rs[i];
	return NULL;
}

static bool has_addr(struct nl *nl, int idx, const char *s)
{
	struct nl_prefix p = pfx(s);
	struct nl_addr *as;
	size_t n;
	bool found = false;
	assert_int_equal(nl_addr_list(nl, idx, AF_UNSPEC, &as, &n), 0);
	for (size_t i = 0; i < n; i++)
		found |= as[i].index == idx && as[i].prefix.family == p.family &&
			 as[i].prefix.len == p.len &&
			 !memcmp(&as[i].prefix.addr, &p.addr, p.family == AF_INET ? 4 : 16);
	free(as);
	return found;
}

/* ---- namespaces ---- */

static int ns_is(void *fd)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int same = netns_same(self, *(int *)fd);
	close(self);
	return same;
}

static void test_netns(void **state)
{
	struct env *e = *state;
	assert_true(netns_exists(e->a));
	assert_int_equal(netns_create(e->a), -EEXIST);
	assert_int_equal(netns_create("a/b"), -EINVAL);
	assert_int_equal(netns_create(".."), -EINVAL);
	assert_int_equal(netns_create(""), -EINVAL);
	assert_int_equal(netns_delete(ns_c), -ENOENT);
	assert_int_equal(netns_open(ns_c), -ENOENT);
	assert_false(netns_exists(ns_c));

	int again = netns_open(e->a), self = netns_open_self();
	assert_true(netns_same(again, e->fa));
	assert_false(netns_same(e->fa, e->fb));
	assert_false(netns_same(self, e->fa));
	/* netns_run enters A in another thread; the caller stays home */
	assert_int_equal(netns_run(e->fa, ns_is, &e->fa), 1);
	assert_int_equal(netns_run(-1, ns_is, &self), 1);
	assert_int_equal(ns_is(&self), 1);
	close(again);
	close(self);

	/* iproute2 sees it */
	assert_int_equal(sh("ip netns exec %s ip link show lo", e->a), 0);
	/* a leftover plain file (crash before the mount) is replaced */
	char path[64];
	snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", ns_c);
	close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0));
	assert_false(netns_exists(ns_c));
	assert_int_equal(netns_create(ns_c), 0);
	assert_true(netns_exists(ns_c));
	assert_int_equal(netns_delete(ns_c), 0);
	assert_false(netns_exists(ns_c));
	assert_int_equal(access(path, F_OK), -1);
}

static void test_netns_socket(void **state)
{
	struct env *e = *state;
	/* a fresh namespace has nothing but lo */
	struct nl_link *links;
	size_t n;
	assert_int_equal(nl_link_list(e->na, &links, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(links[0].name, "lo");
	assert_string_equal(links[0].kind, "");
	assert_true(links[0].flags & IFF_UP);
	free(links);
	/* a socket made in A binds to an address only A has */
	add_addr(e->na, nl_link_index(e->na, "lo"), "10.7.0.1/32", 0);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	inet_pton(AF_INET, "10.7.0.1", &sin.sin_addr);
	int s = netns_socket(e->fa, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	close(s);
	s = netns_socket(-1, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), -1);
	assert_int_equal(errno, EADDRNOTAVAIL);
	close(s);
	assert_int_equal(netns_socket(e->fa, 12345, SOCK_DGRAM, 0), -EAFNOSUPPORT);
}

/* ---- links ---- */

static void test_links(void **state)
{
	struct env *e = *state;
	int ia, ib;
	veth(e, "vtA", "vtB", &ia, &ib);
	assert_int_equal(nl_link_index(e->na, "vtB"), -ENODEV);
	assert_int_equal(nl_link_index(e->home, "vtA"), -ENODEV);
	assert_non_null(strstr(nl_error(e->home), "vtA"));

	/* both ends in A, then one moved to B and renamed there */
	assert_int_equal(nl_veth_add(e->na, "mvA", "mvB", -1), 0);
	assert_int_equal(nl_veth_add(e->na, "mvA", "other", -1), -EEXIST);
	int mv = nl_link_index(e->na, "mvB");
	assert_int_equal(nl_link_set_netns(e->na, mv, e->fb), 0);
	assert_int_equal(nl_link_index(e->na, "mvB"), -ENODEV);
	mv = nl_link_index(e->nb, "mvB");
	assert_true(mv > 0);
	assert_int_equal(nl_link_rename(e->nb, mv, "vmnic1"), 0);
	assert_int_equal(nl_link_index(e->nb, "vmnic1"), mv);
	assert_int_equal(nl_link_rename(e->nb, mv, "a-name-far-too-long"), -EINVAL);

	/* MTU, MAC, up/down, read back */
	const uint8_t mac[6] = {0x00, 0x50, 0x56, 0x01, 0x02, 0x03};
	assert_int_equal(nl_link_set_mtu(e->nb, mv, 9000), 0);
	assert_int_equal(nl_link_set_mac(e->nb, mv, mac), 0);
	assert_int_equal(nl_link_set_up(e->nb, mv, true), 0);
	struct nl_link l;
	assert_int_equal(nl_link_get(e->nb, "vmnic1", &l), 0);
	assert_int_equal(l.index, mv);
	assert_int_equal(l.mtu, 9000);
	assert_int_equal(l.mac_len, 6);
	assert_memory_equal(l.mac, mac, 6);
	assert_true(l.flags & IFF_UP);
	assert_string_equal(l.kind, "veth");
	assert_int_equal(nl_link_set_up(e->nb, mv, false), 0);
	assert_int_equal(nl_link_get(e->nb, "vmnic1", &l), 0);
	assert_false(l.flags & IFF_UP);

	/* a bad MTU: errno and a message naming the link */
	assert_int_equal(nl_link_set_mtu(e->nb, mv, 70000), -EINVAL);
	printf("  bad MTU: %s\n", nl_error(e->nb));
	assert_non_null(strstr(nl_error(e->nb), "vmnic1"));

	/* moving onto a taken name fails and leaves the link where it was */
	assert_int_equal(nl_veth_add(e->nb, "dup0", "dupQ", -1), 0);
	assert_int_equal(nl_veth_add(e->na, "dup0", "dupP", -1), 0);
	int dup = nl_link_index(e->na, "dup0");
	assert_int_equal(nl_link_set_netns(e->na, dup, e->fb), -EEXIST);
	printf("  move onto a taken name: %s\n", nl_error(e->na));
	assert_int_equal(nl_link_index(e->na, "dup0"), dup);

	/* delete one end: both go */
	assert_int_equal(nl_link_delete(e->nb, mv), 0);
	assert_int_equal(nl_link_index(e->na, "mvA"), -ENODEV);
	assert_int_equal(nl_link_delete(e->nb, mv), -ENODEV);
}

static void test_link_list(void **state)
{
	struct env *e = *state;
	int ia, ib;
	veth(e, "vtA", "vtB", &ia, &ib);
	struct nl_link *links;
	size_t n;
	assert_int_equal(nl_link_list(e->na, &links, &n), 0);
	assert_int_equal(n, 2);
	const struct nl_link *v = !strcmp(links[0].name, "vtA") ? &links[0] : &links[1];
	assert_string_equal(v->name, "vtA");
	assert_int_equal(v->index, ia);
	assert_string_equal(v->kind, "veth");
	assert_int_equal(v->mtu, 1500);
	assert_int_equal(v->mac_len, 6);
	assert_true(v->flags & IFF_UP);
	free(links);
}

/* ---- addresses ---- */

static void test_addresses(void **state)
{
	struct env *e = *state;
	int ia, ib;
	veth(e, "vtA", "vtB", &ia, &ib);
	add_addr(e->na, ia, "10.1.0.1/24", 0);
	add_addr(e->na, ia, "10.1.1.1/24", 0);
	add_addr(e->na, ia, "2001:db8:1::1/64", IFA_F_NODAD);
	struct nl_prefix p = pfx("10.1.0.1/24");
	assert_int_equal(nl_addr_add(e->na, ia, &p, 0), -EEXIST);
	printf("  duplicate address: %s\n", nl_error(e->na));
	assert_true(has_addr(e->na, ia, "10.1.0.1/24"));
	assert_true(has_addr(e->na, ia, "2001:db8:1::1/64"));
	assert_false(has_addr(e->na, ia, "10.1.0.1/16"));

	/* per-family listing */
	struct nl_addr *as;
	size_t n;
	assert_int_equal(nl_addr_list(e->na, ia, AF_INET6, &as, &n), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(as[i].prefix.family, AF_INET6);
	free(as);

	/* a dump that spans several reads (~40 KB of messages) */
	char s[32];
	for (int i = 0; i < 500; i++) {
		snprintf(s, sizeof(s), "10.200.%d.%d/32", i / 250, i % 250 + 1);
		add_addr(e->na, ia, s, 0);
	}
	assert_int_equal(nl_addr_list(e->na, 0, AF_INET, &as, &n), 0);
	assert_int_equal(n, 502 + 1);   /* + 127.0.0.1 on lo */
	free(as);

	assert_int_equal(nl_addr_del(e->na, ia, &p), 0);
	assert_false(has_addr(e->na, ia, "10.1.0.1/24"));
	assert_int_equal(nl_addr_del(e->na, ia, &p), -EADDRNOTAVAIL);
	/* flush keeps only the kernel's IPv6 link-local address */
	assert_int_equal(nl_addr_flush(e->na, ia, AF_UNSPEC), 0);
	assert_int_equal(nl_addr_list(e->na, ia, AF_UNSPEC, &as, &n), 0);
	for (size_t i = 0; i < n; i++)
		assert_true(as[i].prefix.family == AF_INET6 &&
			    IN6_IS_ADDR_LINKLOCAL(&as[i].prefix.addr.v6));
	free(as);
}

static void test_prefix_helpers(void **state)
{
	(void)state;
	struct nl_prefix p;
	char buf[NL_PREFIX_STRLEN];
	assert_int_equal(nl_prefix_parse("192.0.2.1/24", &p), 0);
	assert_string_equal(nl_prefix_format(&p, buf, sizeof(buf)), "192.0.2.1/24");
	assert_int_equal(nl_prefix_parse("2001:db8::1", &p), 0);
	assert_string_equal(nl_prefix_format(&p, buf, sizeof(buf)), "2001:db8::1/128");
	assert_int_equal(nl_prefix_parse("192.0.2.1/33", &p), -EINVAL);
	assert_int_equal(nl_prefix_parse("192.0.2.1/", &p), -EINVAL);
	assert_int_equal(nl_prefix_parse("192.0.2/24", &p), -EINVAL);
	assert_int_equal(nl_prefix_parse("10.0.0.1/8x", &p), -EINVAL);
	struct in_addr m;
	inet_pton(AF_INET, "255.255.255.0", &m);
	assert_int_equal(nl_netmask_len(m), 24);
	inet_pton(AF_INET, "0.0.0.0", &m);
	assert_int_equal(nl_netmask_len(m), 0);
	inet_pton(AF_INET, "255.255.255.255", &m);
	assert_int_equal(nl_netmask_len(m), 32);
	inet_pton(AF_INET, "255.0.255.0", &m);
	assert_int_equal(nl_netmask_len(m), -EINVAL);
}

/* ---- routes and reachability ---- */

/* A: vtA 10.1.0.1/24; B: vtB 10.1.0.2/24 and, on lo, 10.2.0.1, 10.3.0.1. */
static void two_hosts(struct env *e, int *ia)
{
	int ib, lo = nl_link_index(e->nb, "lo");
	veth(e, "vtA", "vtB", ia, &ib);
	add_addr(e->na, *ia, "10.1.0.1/24", 0);
	add_addr(e->nb, ib, "10.1.0.2/24", 0);
	add_addr(e->nb, lo, "10.2.0.1/32", 0);
	add_addr(e->nb, lo, "10.3.0.1/32", 0);
	add_addr(e->na, *ia, "2001:db8:1::1/64", IFA_F_NODAD);
	add_addr(e->nb, ib, "2001:db8:1::2/64", IFA_F_NODAD);
	add_addr(e->nb, lo, "2001:db8:2::1/128", IFA_F_NODAD);
}

static void test_routes(void **state)
{
	struct env *e = *state;
	int ia;
	two_hosts(e, &ia);
	assert_true(ping(e->a, "10.1.0.2"));
	assert_false(ping(e->a, "10.2.0.1"));

	struct nl_route st = route("10.2.0.0/24", "10.1.0.2", 0);
	assert_int_equal(nl_route_add(e->na, &st), 0);
	assert_true(ping(e->a, "10.2.0.1"));
	assert_int_equal(nl_route_add(e->na, &st), -EEXIST);
	printf("  duplicate route: %s\n", nl_error(e->na));

	/* a gateway on no connected network */
	struct nl_route bad = route("10.9.0.0/16", "192.0.2.1", 0);
	assert_int_equal(nl_route_add(e->na, &bad), -ENETUNREACH);
	printf("  bad gateway: %s\n", nl_error(e->na));
	assert_non_null(strstr(nl_error(e->na), "192.0.2.1"));
	/* a device that does not exist */
	struct nl_route nodev = route("10.8.0.0/16", NULL, 9999);
	assert_int_equal(nl_route_add(e->na, &nodev), -ENODEV);
	printf("  bad device: %s\n", nl_error(e->na));

	/* default gateway, then replaced */
	assert_false(ping(e->a, "10.3.0.1"));
	struct nl_route def = route("0.0.0.0/0", "10.1.0.2", 0);
	assert_int_equal(nl_route_add(e->na, &def), 0);
	assert_true(ping(e->a, "10.3.0.1"));
	struct nl_route def2 = route("0.0.0.0/0", "10.1.0.3", 0);
	assert_int_equal(nl_route_add(e->na, &def2), -EEXIST);
	assert_int_equal(nl_route_replace(e->na, &def2), 0);

	/* a device route (no gateway) */
	struct nl_route dev = route("10.4.0.0/24", NULL, ia);
	assert_int_equal(nl_route_add(e->na, &dev), 0);

	struct nl_route *rs;
	size_t n;
	assert_int_equal(nl_route_list(e->na, AF_INET, &rs, &n), 0);
	const struct nl_route *r = find_route(rs, n, "0.0.0.0/0");
	assert_non_null(r);
	assert_true(r->has_gw);
	assert_int_equal(r->gw.v4.s_addr, def2.gw.v4.s_addr);
	assert_int_equal(r->oif, ia);
	assert_int_equal(r->protocol, RTPROT_STATIC);
	assert_non_null(r = find_route(rs, n, "10.2.0.0/24"));
	assert_int_equal(r->gw.v4.s_addr, st.gw.v4.s_addr);
	assert_non_null(r = find_route(rs, n, "10.4.0.0/24"));
	assert_false(r->has_gw);
	assert_int_equal(r->scope, RT_SCOPE_LINK);
	assert_non_null(r = find_route(rs, n, "10.1.0.0/24"));
	assert_int_equal(r->protocol, RTPROT_KERNEL);       /* connected */
	assert_null(find_route(rs, n, "10.1.0.1/32"));        /* local table */
	free(rs);

	assert_int_equal(nl_route_del(e->na, &st), 0);
	assert_int_equal(nl_route_del(e->na, &st), -ESRCH);
	printf("  remove missing route: %s\n", nl_error(e->na));
	assert_int_equal(nl_route_del(e->na, &def2), 0);
	assert_false(ping(e->a, "10.2.0.1"));
}

/* Policy routing: a table of its own, reached by rules on the source
 * address and the bound device, with the main table consulted first for
 * anything but a default route (what vmkd does for a per-adapter
 * gateway). */
static void test_rules_and_tables(void **state)
{
	struct env *e = *state;
	int ia;
	two_hosts(e, &ia);
	assert_false(ping(e->a, "10.3.0.1"));

	struct nl_route def = route("0.0.0.0/0", "10.1.0.2", ia);
	def.table = 10001;
	assert_int_equal(nl_route_add(e->na, &def), 0);
	assert_false(ping(e->a, "10.3.0.1"));           /* not in main: not used */

	struct nl_rule main_first = {.family = AF_INET, .priority = 32000,
				     .table = RT_TABLE_MAIN, .suppress_default = true};
	struct nl_rule by_src = {.family = AF_INET, .priority = 32001, .table = 10001,
				 .has_src = true, .src = pfx("10.1.0.1/32")};
	struct nl_rule by_oif = {.family = AF_INET, .priority = 32001, .table = 10001};
	snprintf(by_oif.oif, sizeof(by_oif.oif), "vtA");
	assert_int_equal(nl_rule_add(e->na, &main_first), 0);
	assert_int_equal(nl_rule_add(e->na, &by_src), 0);
	assert_int_equal(nl_rule_add(e->na, &by_oif), 0);
	assert_int_equal(nl_rule_add(e->na, &by_oif), -EEXIST);
	printf("  duplicate rule: %s\n", nl_error(e->na));
	assert_false(ping(e->a, "10.3.0.1"));           /* unbound: still main only */
	assert_int_equal(sh("ip netns exec %s busybox ping -c 1 -W 2 -I 10.1.0.1 10.3.0.1", e->a), 0);
	assert_int_equal(sh("ip netns exec %s busybox ping -c 1 -W 2 -I vtA 10.3.0.1", e->a), 0);
	assert_int_equal(sh("ip -n %s rule | grep -q 'oif vtA lookup 10001'", e->a), 0);
	assert_int_equal(sh("ip -n %s rule | grep -q 'lookup main suppress_prefixlength 0'",
			    e->a), 0);
	assert_int_equal(sh("ip -n %s route show table 10001 | grep -q 'default via 10.1.0.2'",
			    e->a), 0);

	/* removing by priority and table: one rule per call, then -ENOENT */
	struct nl_rule any = {.family = AF_INET, .priority = 32001, .table = 10001};
	assert_int_equal(nl_rule_del(e->na, &any), 0);
	assert_int_equal(nl_rule_del(e->na, &any), 0);
	assert_int_equal(nl_rule_del(e->na, &any), -ENOENT);
	assert_int_equal(sh("ip netns exec %s busybox ping -c 1 -W 1 -I 10.1.0.1 10.3.0.1", e->a), 1);
	struct nl_route any_def = {.dst.family = AF_INET, .table = 10001};
	assert_int_equal(nl_route_del(e->na, &any_def), 0);
	assert_int_equal(nl_route_del(e->na, &any_def), -ESRCH);
	assert_int_equal(nl_rule_del(e->na, &main_first), 0);
}

static void test_routes6_neigh(void **state)
{
	struct env *e = *state;
	int ia;
	two_hosts(e, &ia);
	assert_true(ping(e->a, "2001:db8:1::2"));
	struct nl_route st = route("2001:db8:2::/64", "2001:db8:1::2", 0);
	assert_int_equal(nl_route_add(e->na, &st), 0);
	assert_int_equal(nl_route_add(e->na, &st), -EEXIST);
	assert_true(ping(e->a, "2001:db8:2::1"));
	struct nl_route bad = route("2001:db8:5::/64", "2001:db8:9::1", 0);
	assert_int_equal(nl_route_add(e->na, &bad), -EHOSTUNREACH);
	printf("  bad IPv6 gateway: %s\n", nl_error(e->na));
	struct nl_route *rs;
	size_t n;
	assert_int_equal(nl_route_list(e->na, AF_INET6, &rs, &n), 0);
	const struct nl_route *r = find_route(rs, n, "2001:db8:2::/64");
	assert_non_null(r);
	assert_true(r->has_gw);
	assert_int_equal(r->oif, ia);
	assert_non_null(find_route(rs, n, "2001:db8:1::/64"));
	free(rs);
	assert_int_equal(nl_route_del(e->na, &st), 0);

	/* the pings left B's address in A's neighbour table */
	assert_true(ping(e->a, "10.1.0.2"));
	struct nl_link lb;
	assert_int_equal(nl_link_get(e->nb, "vtB", &lb), 0);
	struct nl_neigh *ns;
	assert_int_equal(nl_neigh_list(e->na, AF_INET, &ns, &n), 0);
	bool found = false;
	struct in_addr b;
	inet_pton(AF_INET, "10.1.0.2", &b);
	for (size_t i = 0; i < n; i++)
		found |= ns[i].addr.v4.s_addr == b.s_addr && ns[i].index == ia &&
			 ns[i].mac_len == 6 && !memcmp(ns[i].mac, lb.mac, 6);
	assert_true(found);
	free(ns);
}

/* ---- vmknic TAPs ---- */

static const uint8_t vmk_mac[6] = {0x00, 0x50, 0x56, 0x6a, 0x00, 0x01};
static const uint8_t peer_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

/* vnet header (all zero), then an ARP request: who has tip? tell sip. */
static size_t arp_request(uint8_t *f, const char *sip, const char *tip)
{
	memset(f, 0, VMKNIC_VNET_HDR_LEN + 42);
	uint8_t *eth = f + VMKNIC_VNET_HDR_LEN, *arp = eth + 14;
	memset(eth, 0xff, 6);
	memcpy(eth + 6, peer_mac, 6);
	eth[12] = 0x08, eth[13] = 0x06;
	const uint8_t hdr[8] = {0, 1, 8, 0, 6, 4, 0, 1};   /* Ethernet, IPv4, request */
	memcpy(arp, hdr, 8);
	memcpy(arp + 8, peer_mac, 6);
	inet_pton(AF_INET, sip, arp + 14);
	inet_pton(AF_INET, tip, arp + 24);
	return VMKNIC_VNET_HDR_LEN + 42;
}

/* Reads frames for at most 2 s; true when an ARP reply for tip comes. */
static bool await_arp_reply(int fd, const char *tip)
{
	uint8_t f[65536 + VMKNIC_VNET_HDR_LEN], ip[4];
	inet_pton(AF_INET, tip, ip);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int frames = 0; frames < 64; frames++) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		int left = 2000 - (int)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&pfd, 1, left) != 1)
			return false;
		ssize_t n = read(fd, f, sizeof(f));
		const uint8_t *eth = f + VMKNIC_VNET_HDR_LEN, *arp = eth + 14;
		if (n < VMKNIC_VNET_HDR_LEN + 42 || eth[12] != 0x08 || eth[13] != 0x06 || arp[7] != 2)
			continue;       /* IPv6 router solicitations, MLD reports, ... */
		return !memcmp(eth, peer_mac, 6) && !memcmp(arp + 8, vmk_mac, 6) &&
		       !memcmp(arp + 14, ip, 4) && !memcmp(arp + 18, peer_mac, 6);
	}
	return false;
}

/* An ethtool offload flag (ETHTOOL_GTSO, ...) of a link in namespace fd. */
static bool offload_on(int fd, const char *name, uint32_t cmd)
{
	struct ethtool_value ev = {.cmd = cmd};
	struct ifreq ifr = {.ifr_data = (char *)&ev};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	int s = netns_socket(fd, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	int r = ioctl(s, SIOCETHTOOL, &ifr);
	close(s);
	return r == 0 && ev.data;
}

static struct vmknic_tap_cfg tap_cfg(struct env *e, const char *name, const struct nl_prefix *addr)
{
	return (struct vmknic_tap_cfg){
		.name = name, .mac = vmk_mac, .mtu = 9000, .up = true,
		.stack = e->na, .stack_fd = e->fa,
		.addrs = addr, .naddrs = addr ? 1 : 0,
	};
}

static void test_vmknic_tap(void **state)
{
	struct env *e = *state;
	struct nl_prefix addr = pfx("10.5.0.1/24");
	struct vmknic_tap_cfg c = tap_cfg(e, "vmk1", &addr);
	struct vmknic_tap tap;
	char err[256];
	assert_int_equal(vmknic_tap_create(&c, &tap, err, sizeof(err)), 0);
	assert_true(tap.fd >= 0);
	int hdr = 0;
	assert_int_equal(ioctl(tap.fd, TUNGETVNETHDRSZ, &hdr), 0);
	assert_int_equal(hdr, VMKNIC_VNET_HDR_LEN);

	/* in the stack, configured; no longer in the caller's namespace */
	assert_int_equal(nl_link_index(e->home, "vmk1"), -ENODEV);
	struct nl_link l;
	assert_int_equal(nl_link_get(e->na, "vmk1", &l), 0);
	assert_int_equal(l.index, tap.ifindex);
	assert_memory_equal(l.mac, vmk_mac, 6);
	assert_int_equal(l.mtu, 9000);
	assert_true(l.flags & IFF_UP);
	assert_string_equal(l.kind, "tun");
	assert_true(has_addr(e->na, tap.ifindex, "10.5.0.1/24"));
	assert_true(offload_on(e->fa, "vmk1", ETHTOOL_GTSO));
	assert_true(offload_on(e->fa, "vmk1", ETHTOOL_GTXCSUM));

	/* the fd works: ARP in, the kernel's reply out */
	uint8_t f[64];
	size_t len = arp_request(f, "10.5.0.2", "10.5.0.1");
	assert_int_equal(write(tap.fd, f, len), (ssize_t)len);
	assert_true(await_arp_reply(tap.fd, "10.5.0.1"));
	struct nl_neigh *ns;
	size_t n;
	bool learned = false;
	assert_int_equal(nl_neigh_list(e->na, AF_INET, &ns, &n), 0);
	struct nl_neigh peer = { 0 };
	for (size_t i = 0; i < n; i++)
		if (ns[i].index == tap.ifindex && !memcmp(ns[i].mac, peer_mac, 6)) {
			learned = true;
			peer = ns[i];
		}
	free(ns);
	assert_true(learned);
	assert_true(peer.has_cacheinfo);
	assert_true(nl_neigh_reachable_ms(e->na, AF_INET, tap.ifindex) > 0);
	assert_int_equal(nl_neigh_reachable_ms(e->na, AF_INET, 999999), -ENOENT);
	/* removing the entry, once */
	assert_int_equal(nl_neigh_del(e->na, &peer), 0);
	assert_int_equal(nl_neigh_del(e->na, &peer), -ENOENT);
	printf("  neighbour gone: %s\n", nl_error(e->na));

	/* closing the fd removes the device */
	vmknic_tap_close(&tap);
	assert_int_equal(tap.fd, -1);
	assert_int_equal(nl_link_index(e->na, "vmk1"), -ENODEV);
}

static void test_vmknic_collision(void **state)
{
	struct env *e = *state;
	struct vmknic_tap_cfg c = tap_cfg(e, "vmk1", NULL);
	struct vmknic_tap tap, dup;
	char err[256];
	assert_int_equal(vmknic_tap_create(&c, &tap, err, sizeof(err)), 0);
	assert_int_equal(vmknic_tap_create(&c, &dup, err, sizeof(err)), -EEXIST);
	printf("  name taken: %s\n", err);
	assert_int_equal(dup.fd, -1);
	/* a non-TAP link of that name in the stack */
	assert_int_equal(nl_veth_add(e->na, "vmk2", "vmk2p", -1), 0);
	c.name = "vmk2";
	assert_int_equal(vmknic_tap_create(&c, &dup, err, sizeof(err)), -EEXIST);
	assert_int_equal(nl_link_index(e->home, "vmk2"), -ENODEV);
	/* a bad address: nothing is left behind */
	struct nl_prefix bad = pfx("10.5.0.1/24");
	bad.len = 40;
	c.name = "vmk3";
	c.addrs = &bad;
	c.naddrs = 1;
	assert_int_equal(vmknic_tap_create(&c, &dup, err, sizeof(err)), -EINVAL);
	printf("  bad address: %s\n", err);
	assert_int_equal(nl_link_index(e->na, "vmk3"), -ENODEV);
	assert_int_equal(nl_link_index(e->home, "vmk3"), -ENODEV);
	vmknic_tap_close(&tap);
}

static void test_vmknic_default_stack(void **state)
{
	struct env *e = *state;
	struct vmknic_tap_cfg c = tap_cfg(e, "vmk0", NULL);
	c.stack = e->home;
	c.stack_fd = -1;
	struct vmknic_tap tap;
	char err[256];
	assert_int_equal(vmknic_tap_create(&c, &tap, err, sizeof(err)), 0);
	assert_int_equal(nl_link_index(e->home, "vmk0"), tap.ifindex);
	vmknic_tap_close(&tap);
	assert_int_equal(nl_link_index(e->home, "vmk0"), -ENODEV);
}

/* The TAP is born in its stack (its fd was opened there), and the fd
 * holds that namespace: with its name deleted and every other handle
 * closed, the stack still answers ARP through the TAP. */
static void test_vmknic_holds_stack(void **state)
{
	struct env *e = *state;
	assert_int_equal(netns_create(ns_c), 0);
	int fc = netns_open(ns_c);
	struct nl *nc = nl_open(fc);
	struct nl_prefix addr = pfx("10.6.0.1/24");
	struct vmknic_tap_cfg c = tap_cfg(e, "vmk5", &addr);
	c.stack = nc;
	c.stack_fd = fc;
	struct vmknic_tap tap;
	char err[256];
	assert_int_equal(vmknic_tap_create(&c, &tap, err, sizeof(err)), 0);
	assert_int_equal(nl_link_index(e->home, "vmk5"), -ENODEV);
	nl_close(nc);
	close(fc);
	assert_int_equal(netns_delete(ns_c), 0);
	uint8_t f[64];
	size_t len = arp_request(f, "10.6.0.2", "10.6.0.1");
	assert_int_equal(write(tap.fd, f, len), (ssize_t)len);
	assert_true(await_arp_reply(tap.fd, "10.6.0.1"));
	vmknic_tap_close(&tap);
}

int main(void)
{
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("test_netlink: skipped (needs root and /dev/net/tun)\n");
		return 77;
	}
	/* the test's home: a private namespace, never the machine's */
	if (unshare(CLONE_NEWNET) < 0) {
		perror("unshare(CLONE_NEWNET)");
		return 77;
	}
	snprintf(ns_a, sizeof(ns_a), "vmkt%da", (int)getpid());
	snprintf(ns_b, sizeof(ns_b), "vmkt%db", (int)getpid());
	snprintf(ns_c, sizeof(ns_c), "vmkt%dc", (int)getpid());
	atexit(cleanup_names);
	setvbuf(stdout, NULL, _IONBF, 0);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_netns),
		T(test_netns_socket),
		T(test_links),
		T(test_link_list),
		T(test_addresses),
		cmocka_unit_test(test_prefix_helpers),
		T(test_routes),
		T(test_routes6_neigh),
		T(test_rules_and_tables),
		T(test_vmknic_tap),
		T(test_vmknic_collision),
		T(test_vmknic_default_stack),
		T(test_vmknic_holds_stack),
	};
	return cmocka_run_group_tests_name("netlink", tests, NULL, NULL);
}
