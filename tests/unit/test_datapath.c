/*
 * Unit tests for the vSwitch datapath (src/host/datapath) with test ports
 * (in-memory queues) and a fake clock: MAC learning and aging, unknown
 * unicast to the uplink only, flooding inside a VLAN, VLAN tagging and
 * drops, virtio-net header offsets across tagging, security policy
 * (forged transmits, MAC changes, promiscuous), basic multicast
 * filtering, traffic shaping against
 * its limits, teaming (failover with RARP, failback, load balancing), the
 * MTU and the counters; the runner with a port kind defined here.  The
 * MAC table is also checked against a model.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "datapath.h"
#include "internal.h"

#define NPORTS 8
#define NUPLINKS 3

static uint64_t fake_ns;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_ns;
}

struct fx {
	struct dp_switch *sw;
	struct dp_port *p[NPORTS];	/* virtual ports, created on demand */
	struct dp_port *u[NUPLINKS];	/* uplinks vmnic0..2, created on demand */
};

static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void mac_of(int i, uint8_t mac[6])
{
	const uint8_t m[6] = { 0x00, 0x50, 0x56, 0x00, 0x00, (uint8_t)(i + 1) };

	memcpy(mac, m, 6);
}

static void other_mac(int i, uint8_t mac[6])
{
	const uint8_t m[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, (uint8_t)(i + 1) };

	memcpy(mac, m, 6);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct dp_switch_config cfg = {
		.name = "vSwitch0",
		.clock = fake_clock,
		.aging_ns = 300000000000ull,
	};

	fake_ns = 1000000000ull;
	fx->sw = dp_switch_new(&cfg);
	assert_non_null(fx->sw);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	for (int i = 0; i < NPORTS; i++)
		dp_port_destroy(fx->p[i]);
	for (int i = 0; i < NUPLINKS; i++)
		dp_port_destroy(fx->u[i]);
	dp_switch_free(fx->sw);
	free(fx);
	return 0;
}

/* ---- helpers ---- */

static void pg(struct fx *fx, const char *name, uint16_t vlan,
	       const struct dp_policy *pol)
{
	struct dp_policy def;

	if (!pol) {
		dp_policy_default(&def);
		pol = &def;
	}
	assert_int_equal(dp_pg_set(fx->sw, name, vlan, pol), 0);
}

static struct dp_port *port(struct fx *fx, int i, const char *pgname)
{
	char name[16];
	uint8_t mac[6];

	snprintf(name, sizeof(name), "port%d", i);
	mac_of(i, mac);
	fx->p[i] = dp_test_port_new(name);
	assert_non_null(fx->p[i]);
	assert_int_equal(dp_switch_attach(fx->sw, fx->p[i], pgname, mac), 0);
	return fx->p[i];
}

static void clear_all(struct fx *fx);

static struct dp_port *uplink(struct fx *fx, int i)
{
	char name[16];

	snprintf(name, sizeof(name), "vmnic%d", i);
	fx->u[i] = dp_test_port_new(name);
	assert_non_null(fx->u[i]);
	assert_int_equal(dp_switch_attach_uplink(fx->sw, fx->u[i]), 0);
	clear_all(fx);	/* announcements of the MACs that moved to it */
	return fx->u[i];
}

static void team(struct dp_policy *pol, enum dp_lb lb, const char *act,
		 const char *stb)
{
	char buf[128], *save, *tok;

	pol->teaming.lb = lb;
	pol->teaming.n_active = pol->teaming.n_standby = 0;
	snprintf(buf, sizeof(buf), "%s", act ? act : "");
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		snprintf(pol->teaming.active[pol->teaming.n_active++], DP_NAME_MAX, "%s", tok);
	snprintf(buf, sizeof(buf), "%s", stb ? stb : "");
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		snprintf(pol->teaming.standby[pol->teaming.n_standby++], DP_NAME_MAX, "%s", tok);
}

static size_t eth(uint8_t *b, const uint8_t *dst, const uint8_t *src,
		  uint16_t type, size_t payload)
{
	memcpy(b, dst, 6);
	memcpy(b + 6, src, 6);
	b[12] = (uint8_t)(type >> 8);
	b[13] = (uint8_t)type;
	for (size_t i = 0; i < payload; i++)
		b[14 + i] = (uint8_t)(i * 7 + 1);
	return 14 + payload;
}

static size_t eth_tagged(uint8_t *b, const uint8_t *dst, const uint8_t *src,
			 uint16_t tci, uint16_t type, size_t payload)
{
	size_t n = eth(b + 4, dst, src, type, payload);

	memmove(b, b + 4, 12);
	b[12] = 0x81;
	b[13] = 0x00;
	b[14] = (uint8_t)(tci >> 8);
	b[15] = (uint8_t)tci;
	return n + 4;
}

/* Sends a frame from virtual port i to dst (its own MAC as source). */
static void send_from(struct fx *fx, int i, const uint8_t *dst)
{
	uint8_t b[128], src[6];

	mac_of(i, src);
	dp_test_port_inject(fx->p[i], b, eth(b, dst, src, 0x0800, 46), NULL);
}

static void send_to_port(struct fx *fx, int from, int to)
{
	uint8_t dst[6];

	mac_of(to, dst);
	send_from(fx, from, dst);
}

static unsigned pending(struct dp_port *p)
{
	return p ? dp_test_port_pending(p) : 0;
}

static void clear_all(struct fx *fx)
{
	for (int i = 0; i < NPORTS; i++)
		if (fx->p[i])
			dp_test_port_clear(fx->p[i]);
	for (int i = 0; i < NUPLINKS; i++)
		if (fx->u[i])
			dp_test_port_clear(fx->u[i]);
}

static int pop(struct dp_port *p, uint8_t *buf, size_t cap)
{
	return dp_test_port_pop(p, buf, cap, NULL);
}

static uint64_t drops(struct dp_port *p, enum dp_drop why)
{
	struct dp_port_stats st;

	dp_port_get_stats(p, &st);
	return st.drops[why];
}

/* ---- learning, unknown unicast, flooding ---- */

static void test_known_unicast(void **state)
{
	struct fx *fx = *state;

	pg(fx, "VM Network", 0, NULL);
	port(fx, 0, "VM Network");
	port(fx, 1, "VM Network");
	port(fx, 2, "VM Network");
	uplink(fx, 0);
	send_to_port(fx, 0, 1);
	assert_int_equal(pending(fx->p[1]), 1);
	assert_int_equal(pending(fx->p[2]), 0);
	assert_int_equal(pending(fx->u[0]), 0);
	assert_int_equal(pending(fx->p[0]), 0);
}

static void test_learning_and_aging(void **state)
{
	struct fx *fx = *state;
	uint8_t b[128], nested[6], src[6];

	pg(fx, "VM Network", 0, NULL);
	port(fx, 0, "VM Network");
	port(fx, 1, "VM Network");
	port(fx, 2, "VM Network");
	struct dp_policy pol;
	dp_policy_default(&pol);
	team(&pol, DP_LB_SRCID, "vmnic0", NULL);
	pg(fx, "VM Network", 0, &pol);
	uplink(fx, 0);

	/* a nested guest's MAC behind port 2 (forged transmits accept) */
	other_mac(0, nested);
	mac_of(0, src);
	dp_test_port_inject(fx->p[2], b, eth(b, src, nested, 0x0800, 46), NULL);
	assert_int_equal(pending(fx->p[0]), 1);
	assert_int_equal(dp_switch_fdb_dump(fx->sw, NULL, NULL), 4);
	clear_all(fx);

	send_from(fx, 0, nested);
	assert_int_equal(pending(fx->p[2]), 1);
	assert_int_equal(pending(fx->u[0]), 0);
	assert_int_equal(pending(fx->p[1]), 0);
	clear_all(fx);

	/* it moves to port 1 */
	dp_test_port_inject(fx->p[1], b, eth(b, src, nested, 0x0800, 46), NULL);
	clear_all(fx);
	send_from(fx, 0, nested);
	assert_int_equal(pending(fx->p[1]), 1);
	assert_int_equal(pending(fx->p[2]), 0);
	clear_all(fx);

	/* it ages out: unknown again, so to the uplink */
	fake_ns += 301000000000ull;
	send_from(fx, 0, nested);
	assert_int_equal(pending(fx->p[1]), 0);
	assert_int_equal(pending(fx->u[0]), 1);
	/* static entries (the ports' own MACs) do not age */
	assert_int_equal(dp_switch_fdb_dump(fx->sw, NULL, NULL), 3);
	clear_all(fx);
	send_to_port(fx, 0, 2);
	assert_int_equal(pending(fx->p[2]), 1);
}

static void test_unknown_unicast_to_uplink_only(void **state)
{
	struct fx *fx = *state;
	uint8_t stranger[6];
	struct dp_policy pol;

	dp_policy_default(&pol);
	team(&pol, DP_LB_EXPLICIT, "vmnic0,vmnic1", NULL);
	pg(fx, "VM Network", 0, &pol);
	port(fx, 0, "VM Network");
	port(fx, 1, "VM Network");
	port(fx, 2, "VM Network");
	uplink(fx, 0);
	uplink(fx, 1);
	other_mac(5, stranger);
	send_from(fx, 0, stranger);
	assert_int_equal(pending(fx->u[0]), 1);
	assert_int_equal(pending(fx->u[1]), 0);
	assert_int_equal(pending(fx->p[1]), 0);
	assert_int_equal(pending(fx->p[2]), 0);
}

static void test_unknown_unicast_without_uplink(void **state)
{
	struct fx *fx = *state;
	uint8_t stranger[6];

	pg(fx, "VM Network", 0, NULL);
	port(fx, 0, "VM Network");
	port(fx, 1, "VM Network");
	other_mac(5, stranger);
	send_from(fx, 0, stranger);
	assert_int_equal(pending(fx->p[1]), 0);
	assert_int_equal(drops(fx->p[0], DP_DROP_NO_UPLINK), 1);
}

static void test_unknown_unicast_from_uplink_dropped(void **state)
{
	struct fx *fx = *state;
	uint8_t b[128], stranger[6], outside[6];
	struct dp_policy pol;

	dp_policy_default(&pol);
	team(&pol, DP_LB_SRCID, "vmnic0", NULL);
	pg(fx, "VM Network", 0, &pol);
	port(fx, 0, "VM Network");
	port(fx, 1, "VM Network");
	uplink(fx, 0);
	other_mac(5, stranger);
	other_mac(6, outside);
	dp_test_port_inject(fx->u[0], b, eth(b, stranger, outside, 0x0800, 46), NULL);
	assert_int_equal(pending(fx->p[0]), 0);
	assert_int_equal(pending(fx->p[1]), 0);
	assert_int_equal(drops(fx->u[0], DP_DROP_UNKNOWN), 1);
	/* known unicast from the uplink reaches its port only */
	uint8_t dst[6];
	mac_of(1, dst);
	dp_test_port_inject(fx->u[0], b, eth(b, dst, outside, 0x0800, 46), NULL);
	assert_int_equal(pending(fx->p[1]), 1);
	assert_int_equal(pending(fx->p[0]), 0);
	/* nothing is learned from the uplink */
	assert_int_equal(dp_switch_fdb_dump(fx->sw, NULL, NULL), 2);
}

/* Port groups A (VLAN 10), B (VLAN 20), C (none), T (trunk); ports
 * 0, 1 in A, 2 in B, 3 in C, 4 in T; uplink vmnic0. */
static void vlan_fixture(struct fx *fx)
{
	struct dp_policy pol;

	dp_policy_default(&pol);
	team(&pol, DP_LB_SRCID, "vmnic0", NULL);
	pg(fx, "A", 10, &pol);
	pg(fx, "B", 20, &pol);
	pg(fx, "C", 0, &pol);
	pg(fx, "T", DP_VLAN_TRUNK, &pol);
	port(fx, 0, "A");
	port(fx, 1, "A");
	port(fx, 2, "B");
	port(fx, 3, "C");
	port(fx, 4, "T");
	uplink(fx, 0);
}

static uint16_t tag_of(const uint8_t *b, int len)
{
	if (len < 18 || b[12] != 0x81 || b[13] != 0x00)
		return 0;
	return (uint16_t)(b[14] << 8 | b[15]);
}

static void test_broadcast_within_vlan(void **state)
{
	struct fx *fx = *state;
	uint8_t b[256], src[6], out[256];

	vlan_fixture(fx);
	send_from(fx, 0, BCAST);
	assert_int_equal(pending(fx->p[0]), 0);
	assert_int_equal(pending(fx->p[1]), 1);
	assert_int_equal(pending(fx->p[2]), 0);
	assert_int_equal(pending(fx->p[3]), 0);
	assert_int_equal(pending(fx->p[4]), 1);
	assert_int_equal(pending(fx->u[0]), 1);
	assert_int_equal(tag_of(out, pop(fx->p[1], out, sizeof(out))), 0);
	assert_int_equal(tag_of(out, pop(fx->p[4], out, sizeof(out))), 10);
	assert_int_equal(tag_of(out, pop(fx->u[0], out, sizeof(out))), 10);

	/* from the uplink in VLAN 20: port 2 untagged, the trunk tagged,
	 * never back out of an uplink */
	other_mac(7, src);
	dp_test_port_inject(fx->u[0], b, eth_tagged(b, BCAST, src, 20, 0x0806, 28), NULL);
	assert_int_equal(pending(fx->p[0]) + pending(fx->p[1]) + pending(fx->p[3]), 0);
	assert_int_equal(tag_of(out, pop(fx->p[2], out, sizeof(out))), 0);
	assert_int_equal(tag_of(out, pop(fx->p[4], out, sizeof(out))), 20);
	assert_int_equal(pending(fx->u[0]), 0);

	/* multicast is flooded the same way */
	const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	send_from(fx, 3, mcast);
	assert_int_equal(pending(fx->p[4]), 1);	/* trunk, VLAN 0 untagged */
	assert_int_equal(pending(fx->u[0]), 1);
	assert_int_equal(pending(fx->p[0]) + pending(fx->p[1]) + pending(fx->p[2]), 0);
	assert_int_equal(tag_of(out, pop(fx->p[4], out, sizeof(out))), 0);
}

static void test_vlan_push_pop(void **state)
{
	struct fx *fx = *state;
	uint8_t b[256], want[256], out[256], src[6], dst[6], outside[6];

	vlan_fixture(fx);
	/* port 0 (VLAN 10) to an outside MAC: pushed on the way out */
	mac_of(0, src);
	other_mac(9, outside);
	dp_test_port_inject(fx->p[0], b, eth(b, outside, src, 0x0800, 50), NULL);
	size_t wl = eth_tagged(want, outside, src, 10, 0x0800, 50);
	assert_int_equal(pop(fx->u[0], out, sizeof(out)), wl);
	assert_memory_equal(out, want, wl);

	/* from the uplink, tagged 10 inline, to port 1: popped */
	mac_of(1, dst);
	size_t n = eth_tagged(b, dst, outside, 10, 0x0800, 50);
	dp_test_port_inject(fx->u[0], b, n, NULL);
	wl = eth(want, dst, outside, 0x0800, 50);
	assert_int_equal(pop(fx->p[1], out, sizeof(out)), wl);
	assert_memory_equal(out, want, wl);

	/* the tag out of band (as AF_PACKET's auxdata gives it) */
	struct dp_frame f = { .data = b, .buf = b, .cap = sizeof(b), .tci = 10, .tag_meta = true };
	f.len = (uint32_t)eth(b, dst, outside, 0x0800, 50);
	dp_switch_input(fx->sw, fx->u[0], &f, 1);
	assert_int_equal(pop(fx->p[1], out, sizeof(out)), wl);
	assert_memory_equal(out, want, wl);

	/* the trunk port tags itself: VLAN 20 reaches port 2 untagged, and
	 * the PCP bits survive to the uplink */
	mac_of(4, src);
	mac_of(2, dst);
	dp_test_port_inject(fx->p[4], b, eth_tagged(b, dst, src, 20, 0x0800, 50), NULL);
	assert_int_equal(tag_of(out, pop(fx->p[2], out, sizeof(out))), 0);
	dp_test_port_inject(fx->p[4], b, eth_tagged(b, outside, src, 0xa000 | 20, 0x0800, 50), NULL);
	assert_int_equal(tag_of(out, pop(fx->u[0], out, sizeof(out))), 0xa000 | 20);
}

static void test_vlan_drops(void **state)
{
	struct fx *fx = *state;
	uint8_t b[256], src[6], dst[6], outside[6];

	vlan_fixture(fx);
	other_mac(9, outside);
	mac_of(0, dst);
	/* VLAN 30: only the trunk port group carries it */
	dp_test_port_inject(fx->u[0], b, eth_tagged(b, BCAST, outside, 30, 0x0800, 50), NULL);
	assert_int_equal(pending(fx->p[4]), 1);
	assert_int_equal(pending(fx->p[0]), 0);
	assert_int_equal(drops(fx->u[0], DP_DROP_VLAN), 0);
	/* a tagged frame from an access port */
	mac_of(0, src);
	dp_test_port_inject(fx->p[0], b, eth_tagged(b, outside, src, 10, 0x0800, 50), NULL);
	assert_int_equal(drops(fx->p[0], DP_DROP_VLAN), 1);
	assert_int_equal(pending(fx->u[0]), 0);
	/* a priority tag (VID 0) counts as untagged */
	dp_test_port_inject(fx->p[0], b, eth_tagged(b, outside, src, 0x6000, 0x0800, 50), NULL);
	assert_int_equal(pending(fx->u[0]), 1);
	/* VLAN 4095 in a tag is reserved */
	mac_of(4, src);
	dp_test_port_inject(fx->p[4], b, eth_tagged(b, outside, src, 4095, 0x0800, 50), NULL);
	assert_int_equal(drops(fx->p[4], DP_DROP_VLAN), 1);

	/* with no VLAN-0 or trunk port group, VLAN 30 and untagged frames
	 * from the uplink drop */
	dp_port_destroy(fx->p[3]);
	dp_port_destroy(fx->p[4]);
	fx->p[3] = fx->p[4] = NULL;
	assert_int_equal(dp_pg_remove(fx->sw, "C"), 0);
	assert_int_equal(dp_pg_remove(fx->sw, "T"), 0);
	dp_test_port_inject(fx->u[0], b, eth_tagged(b, dst, outside, 30, 0x0800, 50), NULL);
	assert_int_equal(drops(fx->u[0], DP_DROP_VLAN), 1);
	dp_test_port_inject(fx->u[0], b, eth(b, BCAST, outside, 0x0806, 28), NULL);
	assert_int_equal(drops(fx->u[0], DP_DROP_VLAN), 2);
	/* VLAN 10 still passes */
	dp_test_port_inject(fx->u[0], b, eth_tagged(b, dst, outside, 10, 0x0800, 50), NULL);
	assert_int_equal(pending(fx->p[0]), 1);
}

static void test_vnet_header_follows_tag(void **state)
{
	struct fx *fx = *state;
	uint8_t b[256], out[256], src[6], dst[6], outside[6];
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.hdr_len = 54, .gso_size = 1448,
		.csum_start = 34, .csum_offset = 16,
	}, got;

	vlan_fixture(fx);
	mac_of(0, src);
	other_mac(9, outside);
	dp_test_port_inject(fx->p[0], b, eth(b, outside, src, 0x0800, 100), &h);
	assert_int_equal(dp_test_port_pop(fx->u[0], out, sizeof(out), &got), 118);
	assert_int_equal(got.csum_start, 38);
	assert_int_equal(got.hdr_len, 58);
	assert_int_equal(got.gso_size, 1448);
	assert_int_equal(got.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(got.csum_offset, 16);

	/* and back: tagged inline from the uplink, offsets shrink */
	mac_of(1, dst);
	h.csum_start = 38;
	h.hdr_len = 58;
	dp_test_port_inject(fx->u[0], b, eth_tagged(b, dst, outside, 10, 0x0800, 100), &h);
	assert_int_equal(dp_test_port_pop(fx->p[1], out, sizeof(out), &got), 114);
	assert_int_equal(got.csum_start, 34);
	assert_int_equal(got.hdr_len, 54);
}

static void test_gso_superframe_unchanged(void **state)
{
	struct fx *fx = *state;
	size_t n = 65000;
	uint8_t *b = malloc(n), *out = malloc(n), src[6], dst[6];
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = VIRTIO_NET_HDR_GSO_TCPV6,
		.hdr_len = 74, .gso_size = 1428,
		.csum_start = 54, .csum_offset = 16,
	}, got;

	assert_int_equal(dp_switch_set_mtu(fx->sw, 1500), 0);
	pg(fx, "VM Network", 0, NULL);
	port(fx, 0, "VM Network");
	port(fx, 1, "VM Network");
	mac_of(0, src);
	mac_of(1, dst);
	eth(b, dst, src, 0x86dd, n - 14);
	dp_test_port_inject(fx->p[0], b, n, &h);
	assert_int_equal(dp_test_port_pop(fx->p[1], out, n, &got), n);
	assert_memory_equal(out, b, n);
	assert_memory_equal(&got, &h, sizeof(h));
	free(b);
	free(out);
}

static void test_mtu(void **state)
{
	struct fx *fx = *state;
	uint8_t b[2048], src[6], dst[6];

	assert_int_equal(dp_switch_set_mtu(fx->sw, 1500), 0);
	pg(fx, "VM Network", 0, NULL);
	port(fx, 0, "VM Network");
	port(fx, 1, "VM Network");
	mac_of(0, src);
	mac_of(1, dst);
	dp_test_port_inject(fx->p[0], b, eth(b, dst, src, 0x0800, 1500), NULL);
	assert_int_equal(pending(fx->p[1]), 1);
	dp_test_port_inject(fx->p[0], b, eth(b, dst, src, 0x0800, 1501), NULL);
	assert_int_equal(pending(fx->p[1]), 1);
	assert_int_equal(drops(fx->p[0], DP_DROP_MTU), 1);
	dp_test_port_inject(fx->p[0], b, 10, NULL);
	assert_int_equal(drops(fx->p[0], DP_DROP_MALFORMED), 1);
}

/* ---- security ---- */

static void test_forged_transmits(void **state)
{
	struct fx *fx = *state;
	uint8_t b[128], forged[6], dst[6];
	struct dp_policy pol;

	dp_policy_default(&pol);
	pol.security.allow_forged_transmits = false;
	pg(fx, "Strict", 0, &pol);
	pg(fx, "Lax", 0, NULL);
	port(fx, 0, "Strict");
	port(fx, 1, "Strict");
	port(fx, 2, "Lax");
	other_mac(3, forged);
	mac_of(1, dst);
	dp_test_port_inject(fx->p[0], b, eth(b, dst, forged, 0x0800, 46), NULL);
	assert_int_equal(pending(fx->p[1]), 0);
	assert_int_equal(drops(fx->p[0], DP_DROP_FORGED), 1);
	dp_test_port_inject(fx->p[2], b, eth(b, dst, forged, 0x0800, 46), NULL);
	assert_int_equal(pending(fx->p[1]), 1);
	/* its own MAC passes */
	send_to_port(fx, 0, 1);
	assert_int_equal(pending(fx->p[1]), 2);
	/* after a MAC change the effective MAC is what counts */
	assert_int_equal(dp_port_set_effective_mac(fx->p[0], forged), 0);
	dp_test_port_inject(fx->p[0], b, eth(b, dst, forged, 0x0800, 46), NULL);
	assert_int_equal(pending(fx->p[1]), 3);
	send_to_port(fx, 0, 1);
	assert_int_equal(pending(fx->p[1]), 3);
	assert_int_equal(drops(fx->p[0], DP_DROP_FORGED), 2);
}

static void test_mac_changes(void **state)
{
	struct fx *fx = *state;
	uint8_t newmac[6], orig[6];
	struct dp_policy pol;

	dp_policy_default(&pol);
	pol.security.allow_mac_changes = false;
	pg(fx, "Strict", 0, &pol);
	port(fx, 0, "Strict");
	port(fx, 1, "Strict");
	other_mac(4, newmac);
	mac_of(1, orig);
	assert_int_equal(dp_port_set_effective_mac(fx->p[1], newmac), 0);
	send_from(fx, 0, newmac);
	send_from(fx, 0, BCAST);
	assert_int_equal(pending(fx->p[1]), 0);
	assert_int_equal(drops(fx->p[1], DP_DROP_MAC_CHANGE), 2);
	/* changed back: frames pass again */
	assert_int_equal(dp_port_set_effective_mac(fx->p[1], orig), 0);
	send_from(fx, 0, orig);
	assert_int_equal(pending(fx->p[1]), 1);

	/* with MAC changes accepted, frames to the new MAC arrive */
	pol.security.allow_mac_changes = true;
	pg(fx, "Strict", 0, &pol);
	assert_int_equal(dp_port_set_effective_mac(fx->p[1], newmac), 0);
	send_from(fx, 0, newmac);
	assert_int_equal(pending(fx->p[1]), 2);
	/* and the old MAC is no longer the port's */
	send_from(fx, 0, orig);
	assert_int_equal(pending(fx->p[1]), 2);
}

static void test_duplicate_mac_refused(void **state)
{
	struct fx *fx = *state;
	uint8_t mac[6];
	struct dp_port *q = dp_test_port_new("dup");

	pg(fx, "VM Network", 0, NULL);
	pg(fx, "Other", 5, NULL);
	port(fx, 0, "VM Network");
	mac_of(0, mac);
	assert_int_equal(dp_switch_attach(fx->sw, q, "VM Network", mac), -EEXIST);
	assert_int_equal(dp_switch_attach(fx->sw, q, "Nope", mac), -ENOENT);
	/* another VLAN is another table */
	assert_int_equal(dp_switch_attach(fx->sw, q, "Other", mac), 0);
	assert_int_equal(dp_pg_remove(fx->sw, "Other"), -EBUSY);
	dp_port_destroy(q);
	assert_int_equal(dp_pg_remove(fx->sw, "Other"), 0);
	assert_int_equal(dp_pg_remove(fx->sw, "Other"), -ENOENT);
}

static void test_promiscuous(void **state)
{
	struct fx *fx = *state;
	uint8_t b[128], outside[6], dst[6];
	struct dp_policy pol;

	dp_policy_default(&pol);
	team(&pol, DP_LB_SRCID, "vmnic0", NULL);
	pg(fx, "VM Network", 0, &pol);
	pg(fx, "Other", 7, &pol);
	pol.security.allow_promiscuous = true;
	pg(fx, "Sniff", 0, &pol);
	port(fx, 0, "VM Network");
	port(fx, 1, "VM Network");
	port(fx, 2, "Sniff");
	port(fx, 3, "Other");
	uplink(fx, 0);
	other_mac(9, outside);

	send_to_port(fx, 0, 1);			/* port to port */
	send_from(fx, 0, outside);		/* port to uplink */
	mac_of(0, dst);
	dp_test_port_inject(fx->u[0], b, eth(b, dst, outside, 0x0800, 46), NULL);
	dp_test_port_inject(fx->u[0], b, eth(b, outside, outside, 0x0800, 46), NULL);
	assert_int_equal(pending(fx->p[2]), 4);	/* unknown unicast too */
	assert_int_equal(drops(fx->u[0], DP_DROP_UNKNOWN), 1);
	/* not its own frames, not another VLAN's */
	send_from(fx, 2, outside);
	send_from(fx, 3, outside);
	send_from(fx, 3, BCAST);
	assert_int_equal(pending(fx->p[2]), 4);
	/* no duplicate when it is also the destination */
	send_to_port(fx, 0, 2);
	assert_int_equal(pending(fx->p[2]), 5);

	pol.security.allow_promiscuous = false;
	pg(fx, "Sniff", 0, &pol);
	dp_test_port_clear(fx->p[2]);
	send_to_port(fx, 0, 1);
	send_from(fx, 0, outside);
	assert_int_equal(pending(fx->p[2]), 0);
}

/* ---- basic multicast filtering ---- */

static void test_multicast_filter(void **state)
{
	struct fx *fx = *state;
	const uint8_t all_nodes[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	const uint8_t snode[6] = { 0x33, 0x33, 0xff, 0x00, 0x00, 0x02 };
	const uint8_t other[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x16 };
	const uint8_t joined[2][6] = { { 0x33, 0x33, 0xff, 0x00, 0x00, 0x02 },
				       { 0x33, 0x33, 0, 0, 0, 1 } };
	struct dp_policy pol;

	dp_policy_default(&pol);
	team(&pol, DP_LB_SRCID, "vmnic0", NULL);
	pg(fx, "VM Network", 0, &pol);
	pol.security.allow_promiscuous = true;
	pg(fx, "Sniff", 0, &pol);
	port(fx, 0, "VM Network");
	port(fx, 1, "VM Network");
	port(fx, 2, "VM Network");
	port(fx, 3, "Sniff");
	uplink(fx, 0);
	/* port 1 joined two groups, port 2 none; port 0 has no filter */
	assert_int_equal(dp_port_set_mcast_filter(fx->p[1], joined, 2), 0);
	assert_int_equal(dp_port_set_mcast_filter(fx->p[2], joined, 0), 0);
	assert_int_equal(dp_port_set_mcast_filter(fx->p[3], joined, 0), 0);

	send_from(fx, 2, snode);	/* a group port 1 joined */
	assert_int_equal(pending(fx->p[0]), 1);
	assert_int_equal(pending(fx->p[1]), 1);
	assert_int_equal(pending(fx->u[0]), 1);	/* uplinks are not filtered */
	assert_int_equal(pending(fx->p[3]), 1);	/* nor promiscuous ports */
	clear_all(fx);
	send_from(fx, 0, other);	/* a group nobody joined */
	assert_int_equal(pending(fx->p[1]) + pending(fx->p[2]), 0);
	assert_int_equal(pending(fx->u[0]), 1);
	assert_int_equal(pending(fx->p[3]), 1);
	clear_all(fx);
	send_from(fx, 0, BCAST);	/* broadcast is never filtered */
	assert_int_equal(pending(fx->p[1]), 1);
	assert_int_equal(pending(fx->p[2]), 1);
	clear_all(fx);
	send_from(fx, 0, all_nodes);
	assert_int_equal(pending(fx->p[1]), 1);
	assert_int_equal(pending(fx->p[2]), 0);
	clear_all(fx);

	/* replaced whole; NULL takes the filter off */
	assert_int_equal(dp_port_set_mcast_filter(fx->p[1], joined + 1, 1), 0);
	send_from(fx, 2, snode);
	assert_int_equal(pending(fx->p[1]), 0);
	assert_int_equal(dp_port_set_mcast_filter(fx->p[1], NULL, 0), 0);
	send_from(fx, 2, other);
	assert_int_equal(pending(fx->p[1]), 1);
	/* filtered frames are not drops */
	assert_int_equal(drops(fx->p[2], DP_DROP_TX), 0);
	assert_int_equal(drops(fx->p[1], DP_DROP_TX), 0);
}

/* ---- shaping ---- */

/* Offers `rate` bytes/s of `size`-byte frames for `ns`; bytes that pass. */
static uint64_t offer(struct fx *fx, uint64_t rate, size_t size, uint64_t ns)
{
	uint8_t b[2048], src[6], dst[6];
	uint64_t gap = 1000000000ull * size / rate, start = fake_ns, passed = 0;

	mac_of(0, src);
	mac_of(1, dst);
	size_t n = eth(b, dst, src, 0x0800, size - 14);
	for (; fake_ns - start < ns; fake_ns += gap) {
		dp_test_port_inject(fx->p[0], b, n, NULL);
		while (dp_test_port_pop(fx->p[1], b + 1024, 1, NULL) >= 0)
			passed += size;
	}
	return passed;
}

static void test_shaping(void **state)
{
	struct fx *fx = *state;
	struct dp_policy pol;

	dp_policy_default(&pol);
	pol.shaping = (struct dp_shaping){
		.enabled = true,
		.average_bps = 8000000,		/* 1 MB/s */
		.peak_bps = 16000000,		/* 2 MB/s */
		.burst_bytes = 100000,
	};
	pg(fx, "Shaped", 0, &pol);
	port(fx, 0, "Shaped");
	port(fx, 1, "Shaped");

	/* 10 ms at 4 MB/s: the peak rate holds (2 MB/s: 20 kB + 1 ms' bucket) */
	uint64_t burst = offer(fx, 4000000, 1000, 10000000);
	assert_in_range(burst, 20000, 22000 + 1000);
	/* the rest of a second: average plus burst */
	uint64_t total = burst + offer(fx, 4000000, 1000, 990000000);
	assert_in_range(total, 1100000 - 2000, 1100000 + 2000);
	/* 4000 offered: 1100 passed, the queue (2x burst: 200 kB) holds up
	 * to 200, the rest dropped */
	unsigned queued = dp_port_shaper_queued(fx->p[0]);
	assert_in_range(queued, 190, 200);
	assert_in_range(drops(fx->p[0], DP_DROP_SHAPED), 2700, 2710);

	/* after the burst is spent: the average, within a frame */
	uint64_t steady = offer(fx, 4000000, 1000, 1000000000);
	assert_in_range(steady, 1000000 - 1000, 1000000 + 1000);
	/* let the queue empty, then under the limit nothing drops */
	while (dp_port_shaper_queued(fx->p[0])) {
		fake_ns += 1000000;
		dp_port_shaper_run(fx->p[0]);
	}
	fake_ns += 1000000000;
	dp_test_port_clear(fx->p[1]);
	uint64_t before = drops(fx->p[0], DP_DROP_SHAPED);
	assert_int_equal(offer(fx, 500000, 1000, 1000000000), 500000);
	assert_int_equal(drops(fx->p[0], DP_DROP_SHAPED), before);

	/* a 64 KiB GSO frame passes the smaller peak bucket, then pays back */
	uint8_t *big = calloc(1, 65000), src[6], dst[6];
	struct virtio_net_hdr h = { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448 };
	mac_of(0, src);
	mac_of(1, dst);
	eth(big, dst, src, 0x0800, 65000 - 14);
	fake_ns += 1000000000;
	dp_test_port_clear(fx->p[1]);
	dp_test_port_inject(fx->p[0], big, 65000, &h);
	dp_test_port_inject(fx->p[0], big, 65000, &h);
	assert_int_equal(pending(fx->p[1]), 1);
	fake_ns += 65000000;		/* 65 ms at 1 MB/s */
	dp_test_port_inject(fx->p[0], big, 65000, &h);
	assert_int_equal(pending(fx->p[1]), 2);
	free(big);

	/* shaping off */
	pol.shaping.enabled = false;
	pg(fx, "Shaped", 0, &pol);
	dp_test_port_clear(fx->p[1]);
	assert_int_equal(offer(fx, 4000000, 1000, 100000000), 400000);
}

/* A group shaped at 1 MB/s average, `peak` bit/s peak, `burst` bytes,
 * with ports 0 and 1 in it. */
static void shaped_pair(struct fx *fx, uint64_t peak, uint64_t burst)
{
	struct dp_policy pol;

	dp_policy_default(&pol);
	pol.shaping = (struct dp_shaping){
		.enabled = true, .average_bps = 8000000,
		.peak_bps = peak, .burst_bytes = burst,
	};
	pg(fx, "Shaped", 0, &pol);
	port(fx, 0, "Shaped");
	port(fx, 1, "Shaped");
}

/* Injects n frames of `size` bytes from port 0 to port 1 at once. */
static void inject_n(struct fx *fx, unsigned n, size_t size)
{
	uint8_t b[2048], src[6], dst[6];

	mac_of(0, src);
	mac_of(1, dst);
	size_t len = eth(b, dst, src, 0x0800, size - 14);
	for (unsigned i = 0; i < n; i++)
		dp_test_port_inject(fx->p[0], b, len, NULL);
}

/* A burst larger than the buckets is delayed, not dropped, and leaves at
 * the shaped rate, in order, as the clock moves. */
static void test_shaping_queue_delays(void **state)
{
	struct fx *fx = *state;

	/* peak = average: the peak bucket (1 ms, at least 1514 bytes) lets
	 * one 1000-byte frame through now, then one per ms */
	shaped_pair(fx, 8000000, 10000);
	inject_n(fx, 100, 1000);
	assert_int_equal(pending(fx->p[1]), 1);
	assert_int_equal(dp_port_shaper_queued(fx->p[0]), 99);
	assert_int_equal(drops(fx->p[0], DP_DROP_SHAPED), 0);
	/* the head frame can go in exactly 486 us: 1000 - 514 bytes at 1 MB/s */
	assert_int_equal(dp_port_shaper_due(fx->p[0]), fake_ns + 486000);
	dp_port_shaper_run(fx->p[0]);	/* not due: nothing moves */
	assert_int_equal(pending(fx->p[1]), 1);
	for (int ms = 1; ms <= 50; ms++) {
		fake_ns += 1000000;
		dp_port_shaper_run(fx->p[0]);
	}
	/* 50 ms at 1 MB/s: 50 kB more, the average is honoured */
	assert_in_range(pending(fx->p[1]), 50, 52);
	while (dp_port_shaper_queued(fx->p[0])) {
		fake_ns += 1000000;
		dp_port_shaper_run(fx->p[0]);
	}
	assert_int_equal(pending(fx->p[1]), 100);
	assert_int_equal(dp_port_shaper_due(fx->p[0]), 0);
	assert_int_equal(drops(fx->p[0], DP_DROP_SHAPED), 0);

	/* frames sent while others wait queue behind them (order kept), and
	 * new frames from the port send the queue on too */
	dp_test_port_clear(fx->p[1]);
	fake_ns += 1000000000;
	inject_n(fx, 3, 1000);
	assert_int_equal(dp_port_shaper_queued(fx->p[0]), 2);
	fake_ns += 1000000;
	inject_n(fx, 1, 1000);		/* one leaves, this one waits */
	assert_int_equal(pending(fx->p[1]), 2);
	assert_int_equal(dp_port_shaper_queued(fx->p[0]), 2);
}

/* The queue holds 2x burst, at least two GSO frames (133 kB), and at most
 * DP_SHAPE_QFRAMES frames; beyond that frames drop. */
static void test_shaping_queue_bound(void **state)
{
	struct fx *fx = *state;
	unsigned qbytes = 2 * DP_FRAME_MAX;

	shaped_pair(fx, 8000000, 10000);
	inject_n(fx, 200, 1000);
	assert_int_equal(pending(fx->p[1]), 1);
	assert_int_equal(dp_port_shaper_queued(fx->p[0]), qbytes / 1000);
	assert_int_equal(drops(fx->p[0], DP_DROP_SHAPED), 199 - qbytes / 1000);

	/* once it empties, the frame bound: 64-byte frames */
	while (dp_port_shaper_queued(fx->p[0])) {
		fake_ns += 1000000;
		dp_port_shaper_run(fx->p[0]);
	}
	fake_ns += 1000000000;
	dp_test_port_clear(fx->p[1]);
	uint64_t before = drops(fx->p[0], DP_DROP_SHAPED);
	inject_n(fx, 400, 64);
	unsigned passed = pending(fx->p[1]);
	assert_int_equal(passed, 1514 / 64);	/* what the full peak bucket holds */
	assert_int_equal(dp_port_shaper_queued(fx->p[0]), DP_SHAPE_QFRAMES);
	assert_int_equal(drops(fx->p[0], DP_DROP_SHAPED) - before,
			 400 - passed - DP_SHAPE_QFRAMES);

	/* a new configuration starts afresh: what waited counts as dropped */
	struct dp_policy pol;
	dp_policy_default(&pol);
	pg(fx, "Shaped", 0, &pol);
	assert_int_equal(dp_port_shaper_queued(fx->p[0]), 0);
	assert_int_equal(drops(fx->p[0], DP_DROP_SHAPED) - before,
			 400 - passed);
}

/* 64 KiB GSO frames, larger than both buckets, wait until the buckets are
 * full (and then leave them in debt) rather than drop. */
static void test_shaping_queue_gso(void **state)
{
	struct fx *fx = *state;
	uint8_t *big = calloc(1, 65000), src[6], dst[6];
	struct virtio_net_hdr h = { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
				    .gso_size = 1448 };

	shaped_pair(fx, 16000000, 10000);	/* peak bucket: 2000 bytes */
	mac_of(0, src);
	mac_of(1, dst);
	eth(big, dst, src, 0x0800, 65000 - 14);
	for (int i = 0; i < 4; i++)
		dp_test_port_inject(fx->p[0], big, 65000, &h);
	/* one passes, two fit in the 133 kB queue, the fourth drops */
	assert_int_equal(pending(fx->p[1]), 1);
	assert_int_equal(dp_port_shaper_queued(fx->p[0]), 2);
	assert_int_equal(drops(fx->p[0], DP_DROP_SHAPED), 1);
	/* the average bucket is 55000 in debt: full again in 65 ms */
	assert_int_equal(dp_port_shaper_due(fx->p[0]), fake_ns + 65000000);
	fake_ns += 64000000;
	dp_port_shaper_run(fx->p[0]);
	assert_int_equal(pending(fx->p[1]), 1);
	fake_ns += 1000000;
	dp_port_shaper_run(fx->p[0]);
	assert_int_equal(pending(fx->p[1]), 2);
	fake_ns += 65000000;
	dp_port_shaper_run(fx->p[0]);
	assert_int_equal(pending(fx->p[1]), 3);
	assert_int_equal(dp_port_shaper_queued(fx->p[0]), 0);

	/* the frames come out whole, with their virtio-net header */
	struct virtio_net_hdr got;
	assert_int_equal(dp_test_port_pop(fx->p[1], big, 65000, &got), 65000);
	assert_int_equal(dp_test_port_pop(fx->p[1], big, 65000, &got), 65000);
	assert_int_equal(got.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(got.gso_size, 1448);
	assert_int_equal(big[6 + 5], src[5]);
	free(big);
}

/* ---- teaming ---- */

static bool is_rarp_for(const uint8_t *b, int len, const uint8_t mac[6],
			uint16_t vlan)
{
	const uint8_t *p = b;

	if (vlan) {
		if (tag_of(b, len) != vlan)
			return false;
		static uint8_t untag[128];
		memcpy(untag, b, 12);
		memcpy(untag + 12, b + 16, (size_t)len - 16);
		p = untag;
		len -= 4;
	}
	static const uint8_t arp[] = { 0x80, 0x35, 0, 1, 8, 0, 6, 4, 0, 3 };
	static const uint8_t zero4[4];
	return len == 60 && memcmp(p, BCAST, 6) == 0 && memcmp(p + 6, mac, 6) == 0 &&
	       memcmp(p + 12, arp, sizeof(arp)) == 0 && memcmp(p + 22, mac, 6) == 0 &&
	       memcmp(p + 28, zero4, 4) == 0 && memcmp(p + 32, mac, 6) == 0 &&
	       memcmp(p + 38, zero4, 4) == 0;
}

/* Ports 0, 1 in "VM Network" (VLAN 10), uplinks vmnic0 active and
 * vmnic1 standby, explicit order. */
static void failover_fixture(struct fx *fx, bool failback, bool notify)
{
	struct dp_policy pol;

	dp_policy_default(&pol);
	team(&pol, DP_LB_EXPLICIT, "vmnic0", "vmnic1");
	pol.teaming.failback = failback;
	pol.teaming.notify_switches = notify;
	pg(fx, "VM Network", 10, &pol);
	port(fx, 0, "VM Network");
	port(fx, 1, "VM Network");
	uplink(fx, 0);
	uplink(fx, 1);
	clear_all(fx);
}

static struct dp_port *uplink_used(struct fx *fx, int i)
{
	uint8_t outside[6];

	other_mac(9, outside);
	send_from(fx, i, outside);
	for (int u = 0; u < NUPLINKS; u++)
		if (fx->u[u] && pending(fx->u[u])) {
			dp_test_port_clear(fx->u[u]);
			return fx->u[u];
		}
	return NULL;
}

static void test_failover_with_rarp(void **state)
{
	struct fx *fx = *state;
	uint8_t out[128], mac0[6], mac1[6], nested[6], b[128];

	failover_fixture(fx, true, true);
	/* a learned MAC behind port 0 is announced too */
	other_mac(2, nested);
	mac_of(1, mac1);
	dp_test_port_inject(fx->p[0], b, eth(b, mac1, nested, 0x0800, 46), NULL);
	clear_all(fx);
	assert_ptr_equal(uplink_used(fx, 0), fx->u[0]);
	assert_ptr_equal(dp_port_uplink(fx->p[1]), fx->u[0]);

	dp_switch_set_link(fx->u[0], false);
	assert_int_equal(pending(fx->u[0]), 0);
	assert_int_equal(pending(fx->u[1]), 3);
	mac_of(0, mac0);
	bool seen[3] = { false };
	for (int i = 0; i < 3; i++) {
		int n = pop(fx->u[1], out, sizeof(out));
		seen[0] |= is_rarp_for(out, n, mac0, 10);
		seen[1] |= is_rarp_for(out, n, mac1, 10);
		seen[2] |= is_rarp_for(out, n, nested, 10);
	}
	assert_true(seen[0] && seen[1] && seen[2]);
	assert_ptr_equal(uplink_used(fx, 0), fx->u[1]);
	assert_ptr_equal(uplink_used(fx, 1), fx->u[1]);

	/* frames arriving on the downed uplink are dropped */
	dp_test_port_inject(fx->u[0], b, eth(b, mac0, nested, 0x0800, 46), NULL);
	assert_int_equal(drops(fx->u[0], DP_DROP_LINK_DOWN), 1);

	/* failback: the active uplink takes over again, announced there */
	dp_switch_set_link(fx->u[0], true);
	assert_int_equal(pending(fx->u[0]), 3);
	assert_int_equal(pending(fx->u[1]), 0);
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < 3; i++) {
		int n = pop(fx->u[0], out, sizeof(out));
		seen[0] |= is_rarp_for(out, n, mac0, 10);
		seen[1] |= is_rarp_for(out, n, mac1, 10);
		seen[2] |= is_rarp_for(out, n, nested, 10);
	}
	assert_true(seen[0] && seen[1] && seen[2]);
	assert_ptr_equal(uplink_used(fx, 0), fx->u[0]);

	/* both down: no uplink */
	dp_switch_set_link(fx->u[0], false);
	dp_switch_set_link(fx->u[1], false);
	clear_all(fx);
	assert_null(uplink_used(fx, 0));
	assert_int_equal(drops(fx->p[0], DP_DROP_NO_UPLINK), 1);
}

static void test_no_failback(void **state)
{
	struct fx *fx = *state;

	failover_fixture(fx, false, true);
	dp_switch_set_link(fx->u[0], false);
	clear_all(fx);
	assert_ptr_equal(uplink_used(fx, 0), fx->u[1]);
	/* vmnic0 recovers: it stays out of duty, nothing announced */
	dp_switch_set_link(fx->u[0], true);
	assert_int_equal(pending(fx->u[0]) + pending(fx->u[1]), 0);
	assert_ptr_equal(uplink_used(fx, 0), fx->u[1]);
	/* until vmnic1 fails */
	dp_switch_set_link(fx->u[1], false);
	assert_int_equal(pending(fx->u[0]), 2);
	clear_all(fx);
	assert_ptr_equal(uplink_used(fx, 0), fx->u[0]);
}

static void test_notify_off(void **state)
{
	struct fx *fx = *state;

	failover_fixture(fx, true, false);
	dp_switch_set_link(fx->u[0], false);
	assert_int_equal(pending(fx->u[1]), 0);
	assert_ptr_equal(uplink_used(fx, 0), fx->u[1]);
	dp_switch_set_link(fx->u[0], true);
	assert_int_equal(pending(fx->u[0]), 0);
}

static void test_announce_on_connect(void **state)
{
	struct fx *fx = *state;
	uint8_t out[128], mac[6];

	failover_fixture(fx, true, true);
	dp_port_announce(fx->p[1]);
	mac_of(1, mac);
	assert_int_equal(pending(fx->u[0]), 1);
	assert_true(is_rarp_for(out, pop(fx->u[0], out, sizeof(out)), mac, 10));
}

static void test_reverse_filter(void **state)
{
	struct fx *fx = *state;
	uint8_t b[128], outside[6];

	failover_fixture(fx, true, true);
	other_mac(9, outside);
	/* a broadcast the physical switch floods to both uplinks: only the
	 * copy from the uplink in use is delivered */
	dp_test_port_inject(fx->u[1], b, eth_tagged(b, BCAST, outside, 10, 0x0806, 28), NULL);
	assert_int_equal(pending(fx->p[0]), 0);
	dp_test_port_inject(fx->u[0], b, eth_tagged(b, BCAST, outside, 10, 0x0806, 28), NULL);
	assert_int_equal(pending(fx->p[0]), 1);
	/* our own frame coming back in through another uplink */
	uint8_t mac0[6];
	mac_of(0, mac0);
	dp_test_port_inject(fx->u[1], b, eth_tagged(b, BCAST, mac0, 10, 0x0806, 28), NULL);
	assert_int_equal(drops(fx->u[1], DP_DROP_LOOP), 1);
	assert_int_equal(pending(fx->p[1]), 1);
}

static void test_lb_port_id(void **state)
{
	struct fx *fx = *state;
	struct dp_port *before[4];
	struct dp_policy pol;

	dp_policy_default(&pol);
	team(&pol, DP_LB_SRCID, "vmnic0,vmnic1", "vmnic2");
	pg(fx, "VM Network", 0, &pol);
	for (int i = 0; i < 4; i++)
		port(fx, i, "VM Network");
	uplink(fx, 0);
	uplink(fx, 1);
	uplink(fx, 2);
	clear_all(fx);
	unsigned on[NUPLINKS] = { 0 };
	for (int i = 0; i < 4; i++) {
		before[i] = uplink_used(fx, i);
		assert_ptr_equal(before[i], dp_port_uplink(fx->p[i]));
		assert_ptr_equal(uplink_used(fx, i), before[i]);	/* sticky */
		on[before[i] == fx->u[0] ? 0 : before[i] == fx->u[1] ? 1 : 2]++;
	}
	assert_int_equal(on[0], 2);
	assert_int_equal(on[1], 2);
	assert_int_equal(on[2], 0);

	/* vmnic0 fails: its ports go to the standby, the others stay */
	dp_switch_set_link(fx->u[0], false);
	clear_all(fx);
	for (int i = 0; i < 4; i++) {
		struct dp_port *now = uplink_used(fx, i);
		assert_ptr_equal(now, before[i] == fx->u[0] ? fx->u[2] : before[i]);
	}
	/* and the standby too: those ports share vmnic1 ("next active") */
	dp_switch_set_link(fx->u[2], false);
	clear_all(fx);
	for (int i = 0; i < 4; i++)
		assert_ptr_equal(uplink_used(fx, i), fx->u[1]);
}

static void test_lb_source_mac(void **state)
{
	struct fx *fx = *state;
	uint8_t b[128], src[6], outside[6];
	struct dp_policy pol;
	unsigned hits[2] = { 0 };

	dp_policy_default(&pol);
	team(&pol, DP_LB_SRCMAC, "vmnic0,vmnic1", NULL);
	pg(fx, "VM Network", 0, &pol);
	port(fx, 0, "VM Network");
	uplink(fx, 0);
	uplink(fx, 1);
	other_mac(9, outside);
	for (int i = 0; i < 64; i++) {
		other_mac(20 + i, src);
		for (int k = 0; k < 2; k++) {	/* same MAC, same uplink */
			dp_test_port_inject(fx->p[0], b, eth(b, outside, src, 0x0800, 46), NULL);
		}
		unsigned a = pending(fx->u[0]), c = pending(fx->u[1]);
		assert_true((a == 2 && c == 0) || (a == 0 && c == 2));
		hits[a ? 0 : 1]++;
		clear_all(fx);
	}
	assert_true(hits[0] > 8 && hits[1] > 8);
}

static size_t ipv4(uint8_t *b, const uint8_t *dst, const uint8_t *src,
		   uint8_t ip_src, uint8_t ip_dst)
{
	size_t n = eth(b, dst, src, 0x0800, 46);

	b[14] = 0x45;
	memcpy(b + 26, (uint8_t[]){ 10, 0, 0, ip_src }, 4);
	memcpy(b + 30, (uint8_t[]){ 10, 0, 1, ip_dst }, 4);
	return n;
}

static void test_lb_ip_hash(void **state)
{
	struct fx *fx = *state;
	uint8_t b[128], src[6], outside[6];
	struct dp_policy pol;

	dp_policy_default(&pol);
	team(&pol, DP_LB_IPHASH, "vmnic0,vmnic1", NULL);
	pg(fx, "VM Network", 0, &pol);
	port(fx, 0, "VM Network");
	uplink(fx, 0);
	uplink(fx, 1);
	mac_of(0, src);
	other_mac(9, outside);
	/* (src ^ dst) mod 2 picks the uplink */
	for (uint8_t d = 1; d <= 8; d++) {
		dp_test_port_inject(fx->p[0], b, ipv4(b, outside, src, 5, d), NULL);
		struct dp_port *want = ((5 ^ d) % 2) ? fx->u[1] : fx->u[0];
		assert_int_equal(pending(want), 1);
		clear_all(fx);
	}
	/* with vmnic1 down, all of it on vmnic0 */
	dp_switch_set_link(fx->u[1], false);
	clear_all(fx);
	for (uint8_t d = 1; d <= 4; d++)
		dp_test_port_inject(fx->p[0], b, ipv4(b, outside, src, 5, d), NULL);
	assert_int_equal(pending(fx->u[0]), 4);
}

static void test_uplink_removed(void **state)
{
	struct fx *fx = *state;

	failover_fixture(fx, true, true);
	dp_port_destroy(fx->u[0]);
	fx->u[0] = NULL;
	assert_int_equal(pending(fx->u[1]), 2);	/* moved: announced */
	clear_all(fx);
	assert_ptr_equal(uplink_used(fx, 0), fx->u[1]);
	/* an uplink named in the order but added later */
	uplink(fx, 0);
	clear_all(fx);
	assert_ptr_equal(uplink_used(fx, 0), fx->u[0]);
}

/* ---- counters, moving ports ---- */

static void test_counters(void **state)
{
	struct fx *fx = *state;
	struct dp_port_stats a, b;

	pg(fx, "VM Network", 0, NULL);
	port(fx, 0, "VM Network");
	port(fx, 1, "VM Network");
	for (int i = 0; i < 5; i++)
		send_to_port(fx, 0, 1);
	dp_port_get_stats(fx->p[0], &a);
	dp_port_get_stats(fx->p[1], &b);
	assert_int_equal(a.in_frames, 5);
	assert_int_equal(a.in_bytes, 5 * 60);
	assert_int_equal(a.out_frames, 0);
	assert_int_equal(b.out_frames, 5);
	assert_int_equal(b.out_bytes, 5 * 60);
	assert_string_equal(dp_drop_name(DP_DROP_FORGED), "forged-transmit");
	assert_string_equal(dp_port_kind_name(fx->p[0]->kind), "test");
}

static void test_move_port(void **state)
{
	struct fx *fx = *state;

	pg(fx, "A", 10, NULL);
	pg(fx, "B", 20, NULL);
	port(fx, 0, "A");
	port(fx, 1, "A");
	port(fx, 2, "B");
	send_from(fx, 0, BCAST);
	assert_int_equal(pending(fx->p[1]), 1);
	assert_int_equal(dp_switch_move(fx->sw, fx->p[1], "B"), 0);
	send_from(fx, 0, BCAST);
	send_to_port(fx, 0, 1);
	assert_int_equal(pending(fx->p[1]), 1);
	send_to_port(fx, 2, 1);
	assert_int_equal(pending(fx->p[1]), 2);
	/* changing a port group's VLAN moves its ports' MACs with it */
	pg(fx, "B", 10, NULL);
	send_to_port(fx, 0, 1);
	assert_int_equal(pending(fx->p[1]), 3);
	assert_int_equal(dp_switch_move(fx->sw, fx->p[1], "none"), -ENOENT);
}

/* ---- the MAC table against a model ---- */

static void test_fdb_model(void **state)
{
	(void)state;
	struct dp_fdb t;
	struct dp_port ports[4];
	enum { N = 600 };
	struct { uint8_t mac[6]; uint16_t vlan; struct dp_port *p; } model[N];
	unsigned seed = 12345;

	assert_int_equal(dp_fdb_init(&t, 512, 1000), 0);
	memset(model, 0, sizeof(model));
	for (int round = 0; round < 20000; round++) {
		seed = seed * 1103515245 + 12345;
		int k = (int)((seed >> 8) % N);
		uint8_t mac[6] = { 0x02, 0, 0, 0, (uint8_t)(k >> 8), (uint8_t)k };
		uint16_t vlan = (uint16_t)(k % 3);
		struct dp_port *p = &ports[(seed >> 20) % 4];
		if ((seed >> 28) & 1) {
			unsigned live = 0;
			for (int i = 0; i < N; i++)
				live += model[i].p != NULL;
			dp_fdb_learn(&t, vlan, mac, p, 1);
			if (model[k].p || live < t.limit)
				model[k].p = p;
		} else if ((seed >> 29) & 1) {
			dp_fdb_flush_port(&t, p);
			for (int i = 0; i < N; i++)
				if (model[i].p == p)
					model[i].p = NULL;
		} else {
			dp_fdb_del(&t, vlan, mac, model[k].p);
			model[k].p = NULL;
		}
		if (round % 1000)
			continue;
		unsigned live = 0;
		for (int i = 0; i < N; i++) {
			uint8_t m[6] = { 0x02, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)i };
			assert_ptr_equal(dp_fdb_lookup(&t, (uint16_t)(i % 3), m, 1), model[i].p);
			live += model[i].p != NULL;
		}
		assert_int_equal(t.count, live);
	}
	dp_fdb_free(&t);
}

/* ---- the runner, with a port kind made here (as vhost-user will be) ---- */

struct sock_port {
	struct dp_port port;
	int peer;		/* the test's end of the socketpair */
};

static int sock_recv(struct dp_port *p, struct dp_frame *f, unsigned n)
{
	unsigned got = 0;

	while (got < n) {
		ssize_t r = recv(p->fd, f[got].buf, f[got].cap, MSG_DONTWAIT);
		if (r < 0)
			return got ? (int)got : (errno == EAGAIN ? 0 : -errno);
		f[got].data = f[got].buf;
		f[got].len = (uint32_t)r;
		got++;
	}
	return (int)got;
}

static int sock_send(struct dp_port *p, const struct dp_frame *f, uint16_t tag)
{
	struct virtio_net_hdr hdr;
	uint8_t tagbuf[4];
	struct iovec iov[4];
	unsigned n = dp_frame_iov(f, tag, &hdr, tagbuf, iov);

	return writev(p->fd, iov + 1, (int)n - 1) < 0 ? -errno : 0;
}

static void sock_destroy(struct dp_port *p)
{
	close(p->fd);
	close(((struct sock_port *)p)->peer);
	free(p);
}

static const struct dp_port_ops sock_ops = {
	.recv = sock_recv, .send = sock_send, .destroy = sock_destroy,
};

static struct dp_port *sock_port(const char *name)
{
	struct sock_port *sp = calloc(1, sizeof(*sp));
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	dp_port_init(&sp->port, &sock_ops, DP_PORT_VM, name);
	sp->port.fd = sv[0];
	sp->peer = sv[1];
	return &sp->port;
}

static int sock_peer(struct dp_port *p)
{
	return ((struct sock_port *)p)->peer;
}

/* Frames waiting at the test's end of p. */
static unsigned drain(struct dp_port *p)
{
	uint8_t buf[2048];
	unsigned n = 0;

	while (recv(sock_peer(p), buf, sizeof(buf), MSG_DONTWAIT) > 0)
		n++;
	return n;
}

static void test_runner(void **state)
{
	struct fx *fx = *state;
	uint8_t b[128], src[6], dst[6];
	struct dp_runner *r = dp_runner_new();

	pg(fx, "VM Network", 0, NULL);
	fx->p[0] = sock_port("vm0");
	fx->p[1] = sock_port("vm1");
	mac_of(0, src);
	mac_of(1, dst);
	assert_int_equal(dp_switch_attach(fx->sw, fx->p[0], "VM Network", src), 0);
	assert_int_equal(dp_switch_attach(fx->sw, fx->p[1], "VM Network", dst), 0);
	assert_int_equal(dp_runner_add(r, fx->p[0]), 0);
	assert_int_equal(dp_runner_add(r, fx->p[1]), 0);
	assert_true(dp_runner_fd(r) >= 0);

	/* embedded: the caller polls */
	size_t n = eth(b, dst, src, 0x0800, 46);
	for (int i = 0; i < 100; i++)
		assert_int_equal(send(sock_peer(fx->p[0]), b, n, 0), (ssize_t)n);
	int handled = 0;
	for (int i = 0; i < 50 && handled < 100; i++)
		handled += dp_runner_poll(r, 100);
	assert_int_equal(handled, 100);
	assert_int_equal(drain(fx->p[1]), 100);

	/* in its own thread; a port removed while it runs */
	assert_int_equal(dp_runner_start(r), 0);
	assert_int_equal(dp_runner_start(r), -EALREADY);
	unsigned got = 0;
	for (int i = 0; i < 10; i++)
		assert_int_equal(send(sock_peer(fx->p[0]), b, n, 0), (ssize_t)n);
	for (int i = 0; i < 200 && got < 10; i++) {
		usleep(5000);
		got += drain(fx->p[1]);
	}
	assert_int_equal(got, 10);

	/* the control plane changes things while frames flow */
	struct dp_policy pol;
	struct dp_port_stats st;
	dp_policy_default(&pol);
	for (int i = 0; i < 300; i++) {
		send(sock_peer(fx->p[0]), b, n, 0);
		pol.security.allow_promiscuous = i & 1;
		pol.shaping.enabled = i & 2;
		pol.shaping.average_bps = pol.shaping.peak_bps = 1000000000;
		pol.shaping.burst_bytes = 100000;
		pg(fx, "VM Network", 0, &pol);
		dp_port_get_stats(fx->p[0], &st);
		dp_switch_fdb_dump(fx->sw, NULL, NULL);
		if (i % 50 == 0)
			drain(fx->p[1]);
	}
	for (int i = 0; i < 100 && st.in_frames < 410; i++) {
		usleep(5000);
		dp_port_get_stats(fx->p[0], &st);
	}
	assert_int_equal(st.in_frames, 410);
	drain(fx->p[1]);
	dp_runner_del(r, fx->p[0]);
	send(sock_peer(fx->p[0]), b, n, 0);
	usleep(20000);
	assert_int_equal(drain(fx->p[1]), 0);
	dp_runner_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_known_unicast),
		T(test_learning_and_aging),
		T(test_unknown_unicast_to_uplink_only),
		T(test_unknown_unicast_without_uplink),
		T(test_unknown_unicast_from_uplink_dropped),
		T(test_broadcast_within_vlan),
		T(test_vlan_push_pop),
		T(test_vlan_drops),
		T(test_vnet_header_follows_tag),
		T(test_gso_superframe_unchanged),
		T(test_mtu),
		T(test_forged_transmits),
		T(test_mac_changes),
		T(test_duplicate_mac_refused),
		T(test_promiscuous),
		T(test_multicast_filter),
		T(test_shaping),
		T(test_shaping_queue_delays),
		T(test_shaping_queue_bound),
		T(test_shaping_queue_gso),
		T(test_failover_with_rarp),
		T(test_no_failback),
		T(test_notify_off),
		T(test_announce_on_connect),
		T(test_reverse_filter),
		T(test_lb_port_id),
		T(test_lb_source_mac),
		T(test_lb_ip_hash),
		T(test_uplink_removed),
		T(test_counters),
		T(test_move_port),
		T(test_runner),
		cmocka_unit_test(test_fdb_model),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
