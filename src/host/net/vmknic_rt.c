/*
 * VMkernel adapters in the kernel (see vmknic_rt.h).  A table of the
 * live adapters: name, stack, TAP.  Applying a configuration is
 * idempotent and touches only what differs, so that an unchanged address
 * keeps its connected route (and the routes through it) while the MTU or
 * another address changes:
 *
 *   MTU, then the IPv6 sysctls (disable_ipv6 from the stack's setting,
 *   accept_ra and autoconf from "router advertisements": set while the
 *   link is still down, so that a new adapter starts IPv6, or not, as
 *   configured), then the DHCP client stopped if the adapter is no
 *   longer an enabled DHCP one (while its link and lease still work, so
 *   that its DHCPRELEASE goes out), then link up or down (enabled), the
 *   DHCP client started if it is one, then the IPv4 address (STATIC: the
 *   one in the store; DHCP: the lease's, while there is one, with the
 *   lease's lifetime, so the kernel drops it at the expiry should vmkd
 *   not; NONE: none), the static IPv6 addresses (added without duplicate
 *   address detection, so they are usable at once; link-local ones
 *   belong to the kernel), and last the per-adapter gateway route.
 *
 * A DHCP adapter's gateway is the lease's router (option 3) when its
 * stack has no default gateway (no default route in the store): as a
 * per-adapter gateway, it serves the adapter's own traffic only and
 * leaves the stack's routing table alone.  The check is made whenever
 * the adapter is applied (lease obtained, renewed, any set).  The DHCP
 * client (dhcp.h) applies the adapter again, from the store, each time
 * its lease changes (vmknic_rt_dhcp_changed).
 */
#include "vmknic_rt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp.h"
#include "store.h"
#include "switching.h"
#include "vmklog.h"
#include "vmknic_tap.h"

struct live {
	char name[IFNAMSIZ];
	char stack[STACK_NAME_MAX + 1];
	struct vmknic_tap tap;
};

static struct live *lives;
static size_t nr_lives, cap_lives;

__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return r;
}

static struct live *find(const char *name)
{
	for (size_t i = 0; i < nr_lives; i++)
		if (strcmp(lives[i].name, name) == 0)
			return &lives[i];
	return NULL;
}

bool vmknic_rt_exists(const char *name)
{
	return find(name) != NULL;
}

int vmknic_rt_ifindex(const char *name)
{
	struct live *l = find(name);
	return l ? l->tap.ifindex : 0;
}

static struct live *add_live(void)
{
	if (nr_lives == cap_lives) {
		size_t cap = cap_lives ? cap_lives * 2 : 16;
		struct live *p = realloc(lives, cap * sizeof(*p));
		if (!p)
			return NULL;
		lives = p;
		cap_lives = cap;
	}
	return &lives[nr_lives++];
}

static void drop_live(struct live *l)
{
	*l = lives[--nr_lives];
}

static bool mac_bytes(const char *s, uint8_t mac[6])
{
	unsigned b[6];

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return true;
}

/* ---- addresses ---- */

static bool same_prefix(const struct nl_prefix *a, const struct nl_prefix *b)
{
	size_t n = a->family == AF_INET ? 4 : 16;
	return a->family == b->family && a->len == b->len && memcmp(&a->addr, &b->addr, n) == 0;
}

static bool wanted(const struct nl_prefix *p, const struct nl_prefix *want, int nwant)
{
	for (int i = 0; i < nwant; i++)
		if (same_prefix(p, &want[i]))
			return true;
	return false;
}

/* Makes the addresses of family on idx exactly want[] (IPv6: link-local
 * ones left alone). */
static int sync_addrs(struct nl *nl, int idx, int family, const struct nl_prefix *want,
		      int nwant, uint32_t flags)
{
	struct nl_addr *have;
	size_t n;
	int r = nl_addr_list(nl, idx, family, &have, &n);

	for (size_t i = 0; r >= 0 && i < n; i++) {
		const struct nl_prefix *p = &have[i].prefix;
		if (family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&p->addr.v6))
			continue;
		if (!wanted(p, want, nwant))
			r = nl_addr_del(nl, idx, p);
	}
	for (int i = 0; r >= 0 && i < nwant; i++) {
		bool present = false;
		for (size_t k = 0; k < n; k++)
			present |= same_prefix(&have[k].prefix, &want[i]);
		if (!present)
			r = nl_addr_add(nl, idx, &want[i], flags);
	}
	free(have);
	return r;
}

static bool is_dhcp(const struct vmknic_cfg *c)
{
	return strcmp(c->ipv4_type, "DHCP") == 0;
}

/* The DHCP lease of an adapter that is (still) of type DHCP. */
static bool dhcp_bound(const struct vmknic_cfg *c, struct dhcp_lease *l)
{
	return is_dhcp(c) && dhcp_lease(c->name, l);
}

static int ipv4_want(const struct vmknic_cfg *c, struct nl_prefix *p)
{
	struct in_addr a;
	struct dhcp_lease l;
	int len = ip4_mask_len(c->ipv4_netmask);

	if (dhcp_bound(c, &l)) {
		*p = (struct nl_prefix){ .family = AF_INET, .addr.v4 = l.addr,
					 .len = (uint8_t)__builtin_popcount(l.netmask.s_addr) };
		return 1;
	}
	if (strcmp(c->ipv4_type, "STATIC") != 0 || !ip4_parse(c->ipv4_address, &a) || len < 0)
		return 0;
	*p = (struct nl_prefix){ .family = AF_INET, .addr.v4 = a, .len = (uint8_t)len };
	return 1;
}

static int sync_ipv4(struct nl *nl, int idx, const struct vmknic_cfg *c)
{
	struct nl_prefix p;
	struct dhcp_lease l;
	int n = ipv4_want(c, &p);
	int r = sync_addrs(nl, idx, AF_INET, &p, n, 0);

	if (r >= 0 && n && dhcp_bound(c, &l)) {
		uint32_t left = dhcp_lease_left(&l);
		r = left ? nl_addr_set_lifetime(nl, idx, &p, left, left) : 0;
	}
	return r;
}

static int sync_ipv6(struct nl *nl, int idx, const struct vmknic_cfg *c)
{
	if (!netstack_ipv6_enabled(c->netstack))
		return 0;
	return sync_addrs(nl, idx, AF_INET6, c->ipv6, c->nipv6, IFA_F_NODAD);
}

/* ---- the per-adapter gateway ---- */

static uint32_t gw_table(const char *name)
{
	return VMKNIC_GW_TABLE + (uint32_t)strtoul(name + 3, NULL, 10);
}

/* Takes the adapter's rules and its table's default route out. */
static void drop_gateway(struct nl *nl, const char *name)
{
	struct nl_rule rule = { .family = AF_INET, .priority = VMKNIC_GW_RULE_PREF,
				.table = gw_table(name) };
	struct nl_route rt = { .dst.family = AF_INET, .table = gw_table(name) };

	for (int i = 0; i < 4 && nl_rule_del(nl, &rule) == 0; i++)
		;
	for (int i = 0; i < 4 && nl_route_del(nl, &rt) == 0; i++)
		;
}

static int add_rule(struct nl *nl, const struct nl_rule *r)
{
	int e = nl_rule_add(nl, r);
	return e == -EEXIST ? 0 : e;
}

/* The rules that send the adapter's traffic to its table. */
static int add_rules(struct nl *nl, const struct vmknic_cfg *c, const struct nl_prefix *p)
{
	struct nl_rule suppress = { .family = AF_INET, .priority = VMKNIC_GW_SUPPRESS_PREF,
				    .table = RT_TABLE_MAIN, .suppress_default = true };
	struct nl_rule by_oif = { .family = AF_INET, .priority = VMKNIC_GW_RULE_PREF,
				  .table = gw_table(c->name) };
	struct nl_rule by_src = by_oif;

	snprintf(by_oif.oif, sizeof(by_oif.oif), "%s", c->name);
	by_src.has_src = true;
	by_src.src = *p;
	by_src.src.len = 32;
	int r = add_rule(nl, &suppress);
	if (r >= 0)
		r = add_rule(nl, &by_oif);
	return r >= 0 ? add_rule(nl, &by_src) : r;
}

static bool stack_has_default_gw(const char *stack)
{
	return store_int(0, "SELECT count(*) FROM route r JOIN netstack n ON r.netstack = n.id "
			 "WHERE n.name = ? AND r.prefix = 0 AND instr(r.network, ':') = 0", "s",
			 stack) > 0;
}

/* The adapter's gateway: its own (STATIC), or its lease's router (DHCP)
 * when the stack has no default gateway. */
static bool adapter_gateway(const struct vmknic_cfg *c, struct in_addr *gw)
{
	struct dhcp_lease l;

	if (dhcp_bound(c, &l)) {
		*gw = l.router;
		return l.has_router && !stack_has_default_gw(c->netstack);
	}
	return ip4_parse(c->ipv4_gateway, gw);
}

static int sync_gateway(struct nl *nl, int idx, const struct vmknic_cfg *c)
{
	struct nl_route rt = { .dst.family = AF_INET, .has_gw = true, .oif = idx,
			       .protocol = RTPROT_VMK_ADAPTER, .table = gw_table(c->name) };
	struct nl_prefix p;

	drop_gateway(nl, c->name);
	if (!c->enabled || !ipv4_want(c, &p) || !adapter_gateway(c, &rt.gw.v4))
		return 0;
	int r = nl_route_replace(nl, &rt);
	return r >= 0 ? add_rules(nl, c, &p) : r;
}

/* ---- sysctls ---- */

static void ipv6_sysctls(const struct vmknic_cfg *c)
{
	static const char *const keys[] = { "disable_ipv6", "accept_ra", "autoconf" };
	bool on[] = { !netstack_ipv6_enabled(c->netstack), c->ipv6_ra, c->ipv6_ra };
	char key[64];

	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "ipv6/conf/%s/%s", c->name, keys[i]);
		int r = stackns_sysctl(c->netstack, key, on[i] ? "1" : "0");
		if (r < 0 && r != -ENOENT)
			vmklog_warn("Vmknic", "%s: cannot set %s: %s", c->name, key, strerror(-r));
	}
}

/*
 * An adapter answers ARP for its own addresses only, as a vmknic does.
 * Linux's defaults let any interface answer for every address of its
 * namespace, so on a shared VLAN vmk0 would answer for vmk1's address
 * and draw vmk1's traffic to itself.  Per device, so that the host's
 * own interfaces in defaultTcpipStack keep their settings.
 */
static void arp_sysctls(const struct vmknic_cfg *c)
{
	static const char *const keys[] = { "arp_ignore", "arp_announce" };
	static const char *const values[] = { "1", "2" };
	char key[64];

	for (int i = 0; i < 2; i++) {
		snprintf(key, sizeof(key), "ipv4/conf/%s/%s", c->name, keys[i]);
		int r = stackns_sysctl(c->netstack, key, values[i]);
		if (r < 0)
			vmklog_warn("Vmknic", "%s: cannot set %s: %s", c->name, key, strerror(-r));
	}
}

/* ---- the switch's multicast filter ---- */

/* Tells the switch the adapter's static IPv6 addresses, whose groups the
 * kernel joins a moment after they are added (switching_mcast.c). */
static void tell_switch(const struct vmknic_cfg *c)
{
	struct in6_addr a[VMKNIC_IPV6_MAX];
	unsigned n = 0;

	for (int i = 0; i < c->nipv6 && n < VMKNIC_IPV6_MAX; i++)
		a[n++] = c->ipv6[i].addr.v6;
	switching_vmknic_ipv6(c->name, a, n);
}

/* ---- the DHCP client ---- */

/* Stops the client of an adapter that is no longer an enabled DHCP one,
 * with DHCPRELEASE: before its link goes down and its address goes. */
static void dhcp_before(const struct vmknic_cfg *c)
{
	if (!dhcp_running(c->name) || (is_dhcp(c) && c->enabled))
		return;
	const char *why = !is_dhcp(c) ? (strcmp(c->ipv4_type, "STATIC") == 0 ?
					 "released (IPv4 set to static)" :
					 "released (IPv4 set to none)") :
			  "released (interface disabled)";
	dhcp_stop(c->name, true, why);
}

static void dhcp_after(const struct vmknic_cfg *c, const struct stackns *st, int idx)
{
	uint8_t mac[6];

	if (is_dhcp(c) && c->enabled && mac_bytes(c->mac, mac))
		dhcp_start(c->name, st->fd, idx, mac);
}

void vmknic_rt_dhcp_changed(const char *name)
{
	struct vmknic_cfg c;
	char err[512];

	if (vmknic_load(name, &c) <= 0 || !find(name))
		return;
	if (vmknic_rt_apply(&c, err, sizeof(err)) < 0)
		vmklog_warn("DHCP", "%s: cannot apply the lease: %s", name, err);
	routes_sync(c.netstack);
}

bool vmknic_rt_dhcp_ipv4(const char *name, struct in_addr *addr, struct in_addr *mask,
			 struct in_addr *gw)
{
	struct live *l = find(name);
	struct dhcp_lease lease;

	if (!l || !dhcp_lease(name, &lease))
		return false;
	*addr = lease.addr;
	*mask = lease.netmask;
	gw->s_addr = 0;
	if (lease.has_router && !stack_has_default_gw(l->stack))
		*gw = lease.router;
	return true;
}

/* ---- applying a configuration ---- */

int vmknic_rt_apply(const struct vmknic_cfg *c, char *err, size_t errlen)
{
	struct live *l = find(c->name);
	const struct stackns *st = stackns_get(c->netstack);

	if (!l || !st || strcmp(l->stack, c->netstack) != 0)
		return fail(err, errlen, -ENODEV, "%s has no TAP in netstack %s", c->name,
			    c->netstack);
	struct nl *nl = st->nl;
	int idx = l->tap.ifindex;
	int r = nl_link_set_mtu(nl, idx, (unsigned)c->mtu);
	if (r >= 0)
		ipv6_sysctls(c);
	dhcp_before(c);
	if (r >= 0)
		r = nl_link_set_up(nl, idx, c->enabled);
	if (r >= 0)
		dhcp_after(c, st, idx);
	if (r >= 0)
		r = sync_ipv4(nl, idx, c);
	if (r >= 0)
		r = sync_ipv6(nl, idx, c);
	if (r >= 0)
		r = sync_gateway(nl, idx, c);
	tell_switch(c);
	return r < 0 ? fail(err, errlen, r, "%s", nl_error(nl)) : 0;
}

static int make_tap(const struct vmknic_cfg *c, const struct stackns *st, const uint8_t *mac,
		    struct vmknic_tap *tap, char *err, size_t errlen)
{
	struct vmknic_tap_cfg tc = {
		/* down: vmknic_rt_apply sets its sysctls, then brings it up */
		.name = c->name, .mac = mac, .mtu = (unsigned)c->mtu, .up = false,
		.group = stackns_tap_group(), .stack = st->nl,
		.stack_fd = st->fd,
	};
	return vmknic_tap_create(&tc, tap, err, errlen);
}

int vmknic_rt_create(const struct vmknic_cfg *c, char *err, size_t errlen)
{
	const struct stackns *st = stackns_get(c->netstack);
	uint8_t mac[6];

	if (find(c->name))
		return fail(err, errlen, -EEXIST, "%s already has a TAP", c->name);
	if (!st || !mac_bytes(c->mac, mac))
		return fail(err, errlen, -EINVAL, "%s: netstack %s is not realized", c->name,
			    c->netstack);
	struct live *l = add_live();
	if (!l)
		return fail(err, errlen, -ENOMEM, "out of memory");
	snprintf(l->name, sizeof(l->name), "%s", c->name);
	snprintf(l->stack, sizeof(l->stack), "%s", c->netstack);
	int r = make_tap(c, st, mac, &l->tap, err, errlen);
	if (r >= 0) {
		arp_sysctls(c);
		r = vmknic_rt_apply(c, err, errlen);
	}
	if (r < 0) {
		vmknic_tap_close(&l->tap);
		drop_live(l);
		return r;
	}
	if (switching_attach_vmknic(c->name, c->portgroup, l->tap.fd, mac) < 0)
		vmklog_warn("Vmknic", "%s: the switch of port group '%s' did not take its port",
			    c->name, c->portgroup);
	tell_switch(c);
	return 0;
}

void vmknic_rt_destroy(const char *name)
{
	struct live *l = find(name);

	if (!l)
		return;
	const struct stackns *st = stackns_get(l->stack);
	dhcp_stop(name, true, "released (interface removed)");
	switching_detach_vmknic(name);
	vmknic_tap_close(&l->tap);
	if (st)
		drop_gateway(st->nl, name);
	drop_live(l);
}

/* ---- stopping ---- */

/* The TAPs of the adapters in stack (every one if NULL), into taps[]. */
static size_t taps_of(const char *stack, struct vmknic_tap **taps)
{
	size_t n = 0;

	for (size_t i = 0; i < nr_lives; i++)
		if (!stack || strcmp(lives[i].stack, stack) == 0)
			taps[n++] = &lives[i].tap;
	return n;
}

static bool first_of_stack(size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (strcmp(lives[j].stack, lives[i].stack) == 0)
			return false;
	return true;
}

/* One group delete per stack namespace of the instance's that has TAPs.
 * Never in defaultTcpipStack: that is vmkd's namespace, which it does not
 * own, and between the check and the delete someone could put a device of
 * the machine into the group. */
static void delete_groups(struct vmknic_tap **taps)
{
	char err[512];

	for (size_t i = 0; i < nr_lives; i++) {
		const struct stackns *st = stackns_get(lives[i].stack);
		if (!st || st->fd < 0 || !first_of_stack(i))
			continue;
		size_t n = taps_of(lives[i].stack, taps);
		if (vmknic_tap_delete_group(st->nl, stackns_tap_group(), taps, n, err,
					    sizeof(err)) < 0)
			vmklog_warn("Vmknic", "netstack %s: its TAPs are closed one by one, not "
				    "deleted as a group: %s", lives[i].stack, err);
	}
}

/*
 * Every adapter is unplugged and its gateway rules dropped, then the TAPs
 * of each stack namespace are deleted as a group and every fd is closed
 * (from many threads, for those of defaultTcpipStack and any a group
 * delete did not take): see vmknic_tap.c for why this is fast.  Before
 * it, 1,000 adapters took 20 s to stop (docs/benchmarks.md).
 */
void vmknic_rt_shutdown(void)
{
	struct vmknic_tap **taps = calloc(nr_lives ? nr_lives : 1, sizeof(*taps));

	dhcp_shutdown();
	for (size_t i = 0; i < nr_lives; i++) {
		const struct stackns *st = stackns_get(lives[i].stack);
		switching_detach_vmknic(lives[i].name);
		if (st)
			drop_gateway(st->nl, lives[i].name);
	}
	if (taps) {
		delete_groups(taps);
		vmknic_tap_close_all(taps, taps_of(NULL, taps));
	}
	for (size_t i = 0; i < nr_lives; i++)	/* no memory for taps[] */
		vmknic_tap_close(&lives[i].tap);
	free(taps);
	nr_lives = 0;
	free(lives);
	lives = NULL;
	cap_lives = 0;
}
