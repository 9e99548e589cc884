/*
 * libFuzzer target for the VMkernel adapters' DHCP client: what arrives
 * on an adapter's packet socket (src/host/net/dhcp_msg.c) and what the
 * state machine makes of it (dhcp_fsm.c).
 *
 * Input: one control byte, then an IPv4 packet as the packet socket
 * gives it (no Ethernet header).  Control bits: 0x01 the kernel says the
 * UDP checksum is pending (not checked); 0x02 the packet is a bare DHCP
 * message (no IP/UDP); 0x04 the message is made to match the client's
 * transaction id and MAC, so that it reaches the state machine's
 * handling; bits 4-6 the state it arrives in (SELECTING, REQUESTING,
 * BOUND, RENEWING, REBINDING).
 *
 * Beyond "no crash, no out-of-bounds access" the target checks:
 *  - a payload dhcp_packet_parse() accepts lies inside the input;
 *  - a parsed message builds again (as a request), and that build parses
 *    to the same fixed fields and type;
 *  - the state machine, fed the message and then its timers, keeps its
 *    lease consistent: bound only with a host address, T1 <= T2 <= lease,
 *    each applied lease dropped at most once, and every timer event sets
 *    the next one later than itself (no busy loop).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp_fsm.h"
#include "dhcp_msg.h"
#include "ipaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t MAC[6] = { 0x00, 0x50, 0x56, 0x6a, 0x0b, 0x0c };

struct counts {
	int bound, lost;
};

static void f_send(void *ctx, const struct dhcp_msg *m, bool bcast, struct in_addr src,
		   struct in_addr dst)
{
	uint8_t buf[DHCP_MAX_LEN], pkt[DHCP_MAX_LEN + DHCP_IPUDP_LEN];

	(void)ctx;
	(void)bcast;
	size_t n = dhcp_build(m, buf, sizeof(buf));
	if (!n || !dhcp_packet_build(pkt, sizeof(pkt), src, dst, buf, n))
		abort();
}

static void f_bound(void *ctx, const struct dhcp_lease *l, const struct dhcp_lease *old)
{
	struct counts *c = ctx;

	if (!ip4_is_host(l->addr) || l->t1_s > l->t2_s || l->t2_s > l->lease_s)
		abort();
	c->bound += old == NULL;        /* a renewal replaces, it does not add */
}

static void f_lost(void *ctx, const struct dhcp_lease *l, const char *why)
{
	struct counts *c = ctx;

	(void)l;
	(void)why;
	if (++c->lost > c->bound)
		abort();
}

static uint32_t f_random(void *ctx)
{
	(void)ctx;
	return 0x5eed;
}

static const struct dhcp_ops ops = { .send = f_send, .bound = f_bound, .lost = f_lost,
				     .random = f_random };

static void check_rebuild(const struct dhcp_msg *m)
{
	struct dhcp_msg r = *m, p;
	uint8_t buf[DHCP_MAX_LEN];

	r.op = 1;
	memcpy(r.chaddr, MAC, 6);
	size_t n = dhcp_build(&r, buf, sizeof(buf));
	if (!n || dhcp_parse(buf, n, &p) < 0 || p.xid != r.xid || p.type != r.type ||
	    p.ciaddr.s_addr != r.ciaddr.s_addr || p.yiaddr.s_addr != r.yiaddr.s_addr)
		abort();
}

/* A machine in the state the control byte asks for. */
static void prepare(struct dhcp_fsm *f, struct counts *c, unsigned state, uint64_t now)
{
	dhcp_fsm_init(f, MAC, &ops, c);
	dhcp_fsm_start(f, now);
	dhcp_fsm_timer(f, f->deadline);                 /* SELECTING */
	if (state == 0)
		return;
	struct dhcp_msg o = { .op = 2, .xid = f->xid, .type = DHCPOFFER, .has_server_id = true,
			      .has_lease = true, .lease = 3600 };
	memcpy(o.chaddr, MAC, 6);
	inet_pton(AF_INET, "192.0.2.10", &o.yiaddr);
	inet_pton(AF_INET, "192.0.2.1", &o.server_id);
	dhcp_fsm_input(f, &o, now);                     /* REQUESTING */
	if (state == 1)
		return;
	o.type = DHCPACK;
	o.xid = f->xid;
	dhcp_fsm_input(f, &o, now);                     /* BOUND */
	if (state >= 3)
		dhcp_fsm_timer(f, dhcp_lease_t1(&f->lease));    /* RENEWING */
	if (state >= 4)
		dhcp_fsm_timer(f, dhcp_lease_t2(&f->lease));    /* REBINDING */
}

static void run_fsm(struct dhcp_msg *m, unsigned ctl)
{
	struct dhcp_fsm f;
	struct counts c = { 0 };
	uint64_t now = 1000;

	prepare(&f, &c, (ctl >> 4) % 5, now);
	if (ctl & 0x04) {
		m->xid = f.xid;
		m->op = 2;
		memcpy(m->chaddr, MAC, 6);
	}
	now = f.deadline > now ? f.deadline - 1 : now;
	dhcp_fsm_input(&f, m, now);
	for (int i = 0; i < 64 && f.deadline; i++) {    /* the timers that follow */
		/* a renewed lease runs from its request: its T1 may be past */
		now = f.deadline > now ? f.deadline : now;
		dhcp_fsm_timer(&f, now);
		if (f.deadline && f.deadline <= now)
			abort();        /* a timer always moves time on */
	}
	dhcp_fsm_stop(&f, true, "fuzz");
	if (f.bound || c.lost != c.bound)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *payload = NULL;
	size_t plen = 0;
	struct dhcp_msg m;

	if (size < 1)
		return 0;
	unsigned ctl = data[0];
	const uint8_t *pkt = data + 1;
	size_t len = size - 1;
	if (ctl & 0x02) {
		payload = pkt;
		plen = len;
	} else if (dhcp_packet_parse(pkt, len, ctl & 0x01, &payload, &plen) < 0) {
		return 0;
	} else if (payload < pkt || payload + plen > pkt + len) {
		abort();
	}
	if (dhcp_parse(payload, plen, &m) < 0)
		return 0;
	check_rebuild(&m);
	run_fsm(&m, ctl);
	return 0;
}
