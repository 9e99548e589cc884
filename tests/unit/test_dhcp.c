/*
 * Unit tests of the VMkernel adapters' DHCP client: the message and
 * packet codec (dhcp_msg.c) on good and hostile input, and the state
 * machine (dhcp_fsm.c) driven through a whole lease's life with a fake
 * clock and fake ops that record what it sends, applies and drops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dhcp_fsm.h"
#include "dhcp_msg.h"

static const uint8_t MAC[6] = { 0x00, 0x50, 0x56, 0x61, 0x02, 0x03 };

static struct in_addr ip(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* A server's reply as bytes: the fixed part, the cookie, then opts. */
static size_t reply(uint8_t *buf, uint32_t xid, const char *yiaddr, const uint8_t *opts,
		    size_t n)
{
	memset(buf, 0, 240);
	buf[0] = 2;
	buf[1] = 1;
	buf[2] = 6;
	buf[4] = (uint8_t)(xid >> 24);
	buf[5] = (uint8_t)(xid >> 16);
	buf[6] = (uint8_t)(xid >> 8);
	buf[7] = (uint8_t)xid;
	struct in_addr y = ip(yiaddr);
	memcpy(buf + 16, &y, 4);
	memcpy(buf + 28, MAC, 6);
	static const uint8_t cookie[] = { 99, 130, 83, 99 };
	memcpy(buf + 236, cookie, 4);
	memcpy(buf + 240, opts, n);
	return 240 + n;
}

/* ---- codec ---- */

static void test_build_parse_roundtrip(void **state)
{
	struct dhcp_msg m = { .op = 1, .xid = 0x12345678, .secs = 3, .type = DHCPREQUEST,
			      .has_requested = true, .has_server_id = true,
			      .client_id_len = 7 }, p;
	uint8_t buf[DHCP_MAX_LEN];

	(void)state;
	m.requested = ip("10.0.0.5");
	m.server_id = ip("10.0.0.1");
	memcpy(m.chaddr, MAC, 6);
	m.client_id[0] = 1;
	memcpy(m.client_id + 1, MAC, 6);
	size_t n = dhcp_build(&m, buf, sizeof(buf));
	assert_int_equal(n, DHCP_MIN_LEN);
	assert_int_equal(dhcp_parse(buf, n, &p), 0);
	assert_int_equal(p.op, 1);
	assert_int_equal(p.xid, 0x12345678);
	assert_int_equal(p.secs, 3);
	assert_int_equal(p.type, DHCPREQUEST);
	assert_true(p.has_requested && p.has_server_id);
	assert_int_equal(p.requested.s_addr, m.requested.s_addr);
	assert_int_equal(p.server_id.s_addr, m.server_id.s_addr);
	assert_memory_equal(p.chaddr, MAC, 6);
	assert_false(p.broadcast);
	/* too small a buffer */
	assert_int_equal(dhcp_build(&m, buf, 299), 0);
}

static void test_parse_options(void **state)
{
	static const uint8_t opts[] = {
		53, 1, DHCPACK, 54, 4, 10, 0, 0, 1, 1, 4, 255, 255, 255, 0,
		3, 8, 10, 0, 0, 1, 10, 0, 0, 2,         /* two routers: the first */
		6, 16, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, /* four DNS: three kept */
		51, 4, 0, 0, 0, 120, 58, 4, 0, 0, 0, 30, 59, 4, 0, 0, 0, 100,
		56, 5, 'h', 'i', 0x07, '!', 0xff,       /* message, unprintables dropped */
		0, 0,                                   /* pad */
		255 };
	uint8_t buf[600];
	struct dhcp_msg m;

	(void)state;
	size_t n = reply(buf, 7, "10.0.0.5", opts, sizeof(opts));
	assert_int_equal(dhcp_parse(buf, n, &m), 0);
	assert_int_equal(m.type, DHCPACK);
	assert_int_equal(m.server_id.s_addr, ip("10.0.0.1").s_addr);
	assert_int_equal(m.netmask.s_addr, ip("255.255.255.0").s_addr);
	assert_true(m.has_router);
	assert_int_equal(m.router.s_addr, ip("10.0.0.1").s_addr);
	assert_int_equal(m.ndns, 3);
	assert_int_equal(m.dns[2].s_addr, ip("3.3.3.3").s_addr);
	assert_int_equal(m.lease, 120);
	assert_int_equal(m.t1, 30);
	assert_int_equal(m.t2, 100);
	assert_string_equal(m.text, "hi!");
}

static void test_parse_hostile(void **state)
{
	uint8_t buf[600];
	struct dhcp_msg m;

	(void)state;
	/* an option running past the end */
	static const uint8_t past[] = { 53, 1, DHCPACK, 51, 200, 0, 0 };
	size_t n = reply(buf, 1, "10.0.0.5", past, sizeof(past));
	assert_int_equal(dhcp_parse(buf, n, &m), -1);
	/* a code with no length byte */
	static const uint8_t nolen[] = { 53 };
	n = reply(buf, 1, "10.0.0.5", nolen, sizeof(nolen));
	assert_int_equal(dhcp_parse(buf, n, &m), -1);
	/* wrong sizes are ignored, and a repetition does not replace */
	static const uint8_t sizes[] = { 53, 2, DHCPACK, 0, 51, 3, 0, 0, 9, 1, 3, 1, 2, 3,
					 3, 5, 1, 2, 3, 4, 5, 53, 1, DHCPNAK, 53, 1, DHCPACK,
					 255 };
	n = reply(buf, 1, "10.0.0.5", sizes, sizeof(sizes));
	assert_int_equal(dhcp_parse(buf, n, &m), 0);
	assert_int_equal(m.type, DHCPNAK);
	assert_false(m.has_lease || m.has_netmask || m.has_router);
	/* no cookie, too short, not Ethernet */
	n = reply(buf, 1, "10.0.0.5", sizes, sizeof(sizes));
	buf[236] = 0;
	assert_int_equal(dhcp_parse(buf, n, &m), -1);
	assert_int_equal(dhcp_parse(buf, 239, &m), -1);
	n = reply(buf, 1, "10.0.0.5", sizes, sizeof(sizes));
	buf[2] = 16;
	assert_int_equal(dhcp_parse(buf, n, &m), -1);
	assert_int_equal(dhcp_parse(NULL, 0, &m), -1);
}

static void test_parse_overload(void **state)
{
	/* options in the file field (overload 1), then in sname (2) */
	static const uint8_t opts[] = { 52, 1, 3, 53, 1, DHCPOFFER, 255 };
	uint8_t buf[600];
	struct dhcp_msg m;

	(void)state;
	size_t n = reply(buf, 9, "10.0.0.5", opts, sizeof(opts));
	static const uint8_t file[] = { 54, 4, 10, 0, 0, 1, 52, 1, 3, 255 };
	static const uint8_t sname[] = { 51, 4, 0, 0, 1, 0, 255 };
	memcpy(buf + 108, file, sizeof(file));
	memcpy(buf + 44, sname, sizeof(sname));
	assert_int_equal(dhcp_parse(buf, n, &m), 0);
	assert_int_equal(m.type, DHCPOFFER);
	assert_true(m.has_server_id && m.has_lease);
	assert_int_equal(m.lease, 256);
	/* an option in sname running past sname's 64 bytes */
	memset(buf + 44, 0, 64);
	buf[44 + 62] = 3;
	buf[44 + 63] = 4;
	assert_int_equal(dhcp_parse(buf, n, &m), -1);
}

static void test_packet(void **state)
{
	uint8_t payload[300], pkt[400];
	const uint8_t *p;
	size_t plen;

	(void)state;
	memset(payload, 0xab, sizeof(payload));
	size_t n = dhcp_packet_build(pkt, sizeof(pkt), ip("0.0.0.0"), ip("255.255.255.255"),
				     payload, sizeof(payload));
	assert_int_equal(n, 328);
	/* what we send goes to port 67; a reply comes to 68: swap the ports */
	uint8_t tmp[2];
	memcpy(tmp, pkt + 20, 2);
	memcpy(pkt + 20, pkt + 22, 2);
	memcpy(pkt + 22, tmp, 2);   /* the UDP checksum covers the ports: still valid */
	assert_int_equal(dhcp_packet_parse(pkt, n, false, &p, &plen), 0);
	assert_int_equal(plen, 300);
	assert_ptr_equal(p, pkt + 28);
	/* a byte flipped: the UDP checksum fails, unless the kernel says it is pending */
	pkt[100] ^= 1;
	assert_int_equal(dhcp_packet_parse(pkt, n, false, &p, &plen), -1);
	assert_int_equal(dhcp_packet_parse(pkt, n, true, &p, &plen), 0);
	pkt[100] ^= 1;
	/* truncated, a fragment, not UDP, a bad header checksum, a lying length */
	assert_int_equal(dhcp_packet_parse(pkt, n - 1, false, &p, &plen), -1);
	pkt[6] |= 0x20;
	assert_int_equal(dhcp_packet_parse(pkt, n, false, &p, &plen), -1);
	pkt[6] &= (uint8_t)~0x20;
	pkt[12] ^= 1;
	assert_int_equal(dhcp_packet_parse(pkt, n, false, &p, &plen), -1);
	pkt[12] ^= 1;
	pkt[24] = 0xff;             /* UDP length > IP payload */
	assert_int_equal(dhcp_packet_parse(pkt, n, true, &p, &plen), -1);
	assert_int_equal(dhcp_packet_parse(pkt, 10, false, &p, &plen), -1);
	assert_int_equal(dhcp_packet_build(pkt, 100, ip("0.0.0.0"), ip("1.2.3.4"), payload,
					   sizeof(payload)), 0);
}

/* ---- the state machine ---- */

struct fake {
	int sent, bound, lost, renewed;
	struct dhcp_msg last;
	bool last_bcast;
	struct in_addr last_src, last_dst;
	char why[64];
};

static void f_send(void *ctx, const struct dhcp_msg *m, bool bcast, struct in_addr src,
		   struct in_addr dst)
{
	struct fake *f = ctx;
	f->sent++;
	f->last = *m;
	f->last_bcast = bcast;
	f->last_src = src;
	f->last_dst = dst;
}

static void f_bound(void *ctx, const struct dhcp_lease *l, const struct dhcp_lease *old)
{
	struct fake *f = ctx;
	(void)l;
	f->bound++;
	f->renewed += old != NULL;
}

static void f_lost(void *ctx, const struct dhcp_lease *l, const char *why)
{
	struct fake *f = ctx;
	(void)l;
	f->lost++;
	snprintf(f->why, sizeof(f->why), "%s", why);
}

static uint32_t f_random(void *ctx)
{
	(void)ctx;
	return 0x1234;
}

static const struct dhcp_ops fops = { .send = f_send, .bound = f_bound, .lost = f_lost,
				      .random = f_random };

/* A reply to the last message the machine sent. */
static struct dhcp_msg answer(const struct fake *f, uint8_t type, const char *yiaddr,
			      uint32_t lease)
{
	struct dhcp_msg m = { .op = 2, .xid = f->last.xid, .type = type,
			      .has_server_id = true, .has_netmask = true, .has_router = true,
			      .has_lease = lease != 0, .lease = lease };
	memcpy(m.chaddr, MAC, 6);
	m.yiaddr = ip(yiaddr);
	m.server_id = ip("10.0.0.1");
	m.netmask = ip("255.255.255.0");
	m.router = ip("10.0.0.1");
	return m;
}

/* Started at t0, then its first DISCOVER (within a second): SELECTING. */
static void to_selecting(struct dhcp_fsm *m, struct fake *f, uint64_t t0)
{
	dhcp_fsm_init(m, MAC, &fops, f);
	dhcp_fsm_start(m, t0);
	assert_int_equal(m->state, DHCP_INIT);
	assert_true(m->deadline >= t0 && m->deadline <= t0 + 1000);
	dhcp_fsm_timer(m, m->deadline);
	assert_int_equal(m->state, DHCP_SELECTING);
	assert_int_equal(f->last.type, DHCPDISCOVER);
	assert_true(f->last_bcast);
	assert_int_equal(f->last.client_id_len, 7);
}

/* Start at 1000, DISCOVER, OFFER, REQUEST (at 2000), ACK: bound. */
static void to_bound(struct dhcp_fsm *m, struct fake *f, uint32_t lease)
{
	to_selecting(m, f, 1000);
	struct dhcp_msg o = answer(f, DHCPOFFER, "10.0.0.50", lease);
	dhcp_fsm_input(m, &o, 2000);
	assert_int_equal(m->state, DHCP_REQUESTING);
	assert_int_equal(f->last.type, DHCPREQUEST);
	assert_true(f->last.has_requested && f->last.has_server_id);
	assert_int_equal(f->last.requested.s_addr, ip("10.0.0.50").s_addr);
	struct dhcp_msg a = answer(f, DHCPACK, "10.0.0.50", lease);
	dhcp_fsm_input(m, &a, 2100);
	assert_int_equal(m->state, DHCP_BOUND);
	assert_true(m->bound);
	assert_int_equal(f->bound, 1);
}

static void test_fsm_exchange_and_renewal(void **state)
{
	struct dhcp_fsm m;
	struct fake f = { 0 };

	(void)state;
	to_bound(&m, &f, 120);
	/* the lease runs from when the REQUEST went (the exchange's start) */
	uint64_t start = m.lease.start_ms;
	assert_int_equal(m.lease.t1_s, 60);
	assert_int_equal(m.lease.t2_s, 105);
	assert_int_equal(m.deadline, start + 60000);
	assert_true(m.lease.has_router);
	/* T1: unicast to the server from the leased address */
	dhcp_fsm_timer(&m, m.deadline);
	assert_int_equal(m.state, DHCP_RENEWING);
	assert_false(f.last_bcast);
	assert_int_equal(f.last.ciaddr.s_addr, ip("10.0.0.50").s_addr);
	assert_int_equal(f.last_dst.s_addr, ip("10.0.0.1").s_addr);
	assert_false(f.last.has_requested || f.last.has_server_id);
	/* the next try: at T2 (less than a minute away) */
	assert_int_equal(m.deadline, start + 105000);
	struct dhcp_msg a = answer(&f, DHCPACK, "10.0.0.50", 120);
	a.has_server_id = false;    /* an ACK in RENEWING may leave it out */
	dhcp_fsm_input(&m, &a, start + 61000);
	assert_int_equal(m.state, DHCP_BOUND);
	assert_int_equal(f.renewed, 1);
	assert_int_equal(m.lease.server.s_addr, ip("10.0.0.1").s_addr);
	assert_int_equal(m.lease.start_ms, start + 60000);
	/* a stray ACK while bound changes nothing */
	dhcp_fsm_input(&m, &a, start + 62000);
	assert_int_equal(f.bound, 2);
	/* stop with release: DHCPRELEASE unicast, the lease dropped */
	dhcp_fsm_stop(&m, true, "released");
	assert_int_equal(f.last.type, DHCPRELEASE);
	assert_false(f.last_bcast);
	assert_int_equal(f.last.ciaddr.s_addr, ip("10.0.0.50").s_addr);
	assert_true(f.last.has_server_id);
	assert_int_equal(f.lost, 1);
	assert_int_equal(m.state, DHCP_STOPPED);
	assert_int_equal(m.deadline, 0);
}

static void test_fsm_rebinding_and_expiry(void **state)
{
	struct dhcp_fsm m;
	struct fake f = { 0 };

	(void)state;
	to_bound(&m, &f, 1000);
	uint64_t start = m.lease.start_ms;
	dhcp_fsm_timer(&m, start + 500000);                     /* T1 */
	assert_int_equal(m.state, DHCP_RENEWING);
	/* half the way to T2 (875 s): 187.5 s */
	assert_int_equal(m.deadline, start + 500000 + 187500);
	dhcp_fsm_timer(&m, m.deadline);
	assert_int_equal(m.state, DHCP_RENEWING);
	assert_int_equal(m.deadline, start + 687500 + 93750);
	/* then a minute at least, and never past T2 */
	dhcp_fsm_timer(&m, m.deadline);
	assert_int_equal(m.deadline, start + 781250 + 60000);
	dhcp_fsm_timer(&m, m.deadline);
	assert_int_equal(m.deadline, start + 875000);
	assert_int_equal(m.state, DHCP_RENEWING);
	dhcp_fsm_timer(&m, m.deadline);
	assert_int_equal(m.state, DHCP_REBINDING);
	assert_true(f.last_bcast);
	assert_int_equal(f.last.ciaddr.s_addr, ip("10.0.0.50").s_addr);
	assert_int_equal(m.deadline, start + 875000 + 62500);
	dhcp_fsm_timer(&m, m.deadline);
	assert_int_equal(m.deadline, start + 937500 + 60000);
	dhcp_fsm_timer(&m, m.deadline);
	assert_int_equal(m.deadline, start + 1000000);          /* the expiry */
	int sent = f.sent;
	dhcp_fsm_timer(&m, m.deadline);
	assert_int_equal(f.lost, 1);
	assert_string_equal(f.why, "expired");
	assert_false(m.bound);
	assert_int_equal(m.state, DHCP_INIT);
	assert_int_equal(f.sent, sent);
	/* INIT asks for the address it had */
	dhcp_fsm_timer(&m, m.deadline);
	assert_int_equal(f.last.type, DHCPDISCOVER);
	assert_true(f.last.has_requested);
	assert_int_equal(f.last.requested.s_addr, ip("10.0.0.50").s_addr);
}

static void test_fsm_nak_and_bad_replies(void **state)
{
	struct dhcp_fsm m;
	struct fake f = { 0 };

	(void)state;
	to_selecting(&m, &f, 0);
	/* offers that do not count: another xid, another MAC, no lease
	 * time, a network address, a broadcast address, no server id */
	struct dhcp_msg o = answer(&f, DHCPOFFER, "10.0.0.50", 120);
	o.xid++;
	dhcp_fsm_input(&m, &o, 10);
	o = answer(&f, DHCPOFFER, "10.0.0.50", 120);
	o.chaddr[5] ^= 1;
	dhcp_fsm_input(&m, &o, 10);
	dhcp_fsm_input(&m, &(struct dhcp_msg){ 0 }, 10);
	o = answer(&f, DHCPOFFER, "10.0.0.50", 0);
	dhcp_fsm_input(&m, &o, 10);
	o = answer(&f, DHCPOFFER, "10.0.0.0", 120);
	dhcp_fsm_input(&m, &o, 10);
	o = answer(&f, DHCPOFFER, "10.0.0.255", 120);
	dhcp_fsm_input(&m, &o, 10);
	o = answer(&f, DHCPOFFER, "10.0.0.50", 120);
	o.has_server_id = false;
	dhcp_fsm_input(&m, &o, 10);
	assert_int_equal(m.state, DHCP_SELECTING);
	/* retransmissions back off: 4 s, then 8 s, each +-1 s */
	uint64_t d = m.deadline;
	assert_true(d >= 3000 && d <= 5000);
	dhcp_fsm_timer(&m, d);
	assert_true(m.deadline >= d + 7000 && m.deadline <= d + 9000);
	/* an offer with a bad netmask and an off-net router: class mask, no router */
	o = answer(&f, DHCPOFFER, "10.0.0.50", 120);
	o.netmask = ip("255.0.255.0");
	o.router = ip("192.168.1.1");
	dhcp_fsm_input(&m, &o, d + 100);
	assert_int_equal(m.state, DHCP_REQUESTING);
	assert_int_equal(m.offer.netmask.s_addr, ip("255.0.0.0").s_addr);
	assert_false(m.offer.has_router);
	/* a NAK: back to INIT, the next exchange a little later */
	struct dhcp_msg n = answer(&f, DHCPNAK, "0.0.0.0", 0);
	dhcp_fsm_input(&m, &n, d + 200);
	assert_int_equal(m.state, DHCP_INIT);
	assert_int_equal(f.bound, 0);
	assert_true(m.deadline >= d + 200 + 4000);
	/* REQUESTING without an answer gives up after four tries */
	dhcp_fsm_timer(&m, m.deadline);
	o = answer(&f, DHCPOFFER, "10.0.0.50", 120);
	dhcp_fsm_input(&m, &o, m.deadline);
	for (int i = 0; i < 4 && m.state == DHCP_REQUESTING; i++)
		dhcp_fsm_timer(&m, m.deadline);
	assert_int_equal(m.state, DHCP_INIT);
}

static void test_fsm_lease_times(void **state)
{
	struct dhcp_fsm m;
	struct fake f = { 0 };

	(void)state;
	/* T1 > T2 from the server: the defaults */
	to_selecting(&m, &f, 0);
	struct dhcp_msg o = answer(&f, DHCPOFFER, "10.0.0.50", 800);
	dhcp_fsm_input(&m, &o, 10);
	struct dhcp_msg a = answer(&f, DHCPACK, "10.0.0.50", 800);
	a.has_t1 = a.has_t2 = true;
	a.t1 = 500;
	a.t2 = 400;
	dhcp_fsm_input(&m, &a, 20);
	assert_int_equal(m.lease.t1_s, 400);
	assert_int_equal(m.lease.t2_s, 700);
	/* an infinite lease: no timer at all */
	struct fake g = { 0 };
	to_bound(&m, &g, DHCP_INFINITE);
	assert_int_equal(m.deadline, 0);
	assert_int_equal(dhcp_lease_end(&m.lease), UINT64_MAX);
	/* stop without release: nothing sent, the lease dropped */
	int sent = g.sent;
	dhcp_fsm_stop(&m, false, "vmkd stopping");
	assert_int_equal(g.sent, sent);
	assert_int_equal(g.lost, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_parse_roundtrip),
		cmocka_unit_test(test_parse_options),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_parse_overload),
		cmocka_unit_test(test_packet),
		cmocka_unit_test(test_fsm_exchange_and_renewal),
		cmocka_unit_test(test_fsm_rebinding_and_expiry),
		cmocka_unit_test(test_fsm_nak_and_bad_replies),
		cmocka_unit_test(test_fsm_lease_times),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
