/*
 * The DHCP client's state machine (see dhcp_fsm.h for the states).
 *
 * What a reply must be to count: a BOOTREPLY with our transaction id and
 * our MAC in chaddr, of the type the state waits for.  What an OFFER or
 * an ACK must carry to become a lease: a host address (yiaddr) that is
 * neither its network's own nor its broadcast address, a server
 * identifier (an ACK may leave it out when renewing: the server stays),
 * and a lease time of at least a second.  A netmask that is absent or
 * not contiguous gives way to the address's class default; a router
 * that is not on the leased network is dropped; T1 and T2 that do not
 * satisfy T1 <= T2 <= lease give way to the RFC's defaults (half and
 * seven eighths of the lease).  Everything else in the message is
 * ignored.
 *
 * The first DISCOVER waits a random 0-1 s, not RFC 2131's 1-10 s: the
 * point of the delay is to spread clients that start at the same moment
 * (a host's adapters at boot), which a second does, and an adapter
 * switched to DHCP should not sit without an address for ten.  When a
 * whole exchange fails (REQUESTING without an answer, a NAK), the next
 * one waits longer each time (4, 8, ... 64 s more), so that a server
 * that NAKs everything is not asked in a tight loop.
 */
#include "dhcp_fsm.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ipaddr.h"

#define SEC 1000ull
#define REQUEST_TRIES 4
#define RENEW_MIN_WAIT (60 * SEC)

const char *dhcp_state_name(enum dhcp_state s)
{
	static const char *const names[] = { "STOPPED", "INIT", "SELECTING", "REQUESTING",
					     "BOUND", "RENEWING", "REBINDING" };
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* ---- lease times ---- */

static uint64_t at(const struct dhcp_lease *l, uint32_t s)
{
	return s == DHCP_INFINITE ? UINT64_MAX : l->start_ms + (uint64_t)s * SEC;
}

uint64_t dhcp_lease_t1(const struct dhcp_lease *l)
{
	return at(l, l->t1_s);
}

uint64_t dhcp_lease_t2(const struct dhcp_lease *l)
{
	return at(l, l->t2_s);
}

uint64_t dhcp_lease_end(const struct dhcp_lease *l)
{
	return at(l, l->lease_s);
}

static void lease_times(struct dhcp_lease *l, const struct dhcp_msg *m)
{
	l->lease_s = m->lease;
	if (m->lease == DHCP_INFINITE) {
		l->t1_s = l->t2_s = DHCP_INFINITE;
		return;
	}
	l->t1_s = m->lease / 2;
	l->t2_s = (uint32_t)((uint64_t)m->lease * 7 / 8);
	if (m->has_t1 && m->has_t2 && m->t1 <= m->t2 && m->t2 <= m->lease) {
		l->t1_s = m->t1;
		l->t2_s = m->t2;
	} else if (m->has_t1 && !m->has_t2 && m->t1 <= l->t2_s) {
		l->t1_s = m->t1;
	} else if (m->has_t2 && !m->has_t1 && m->t2 >= l->t1_s && m->t2 <= m->lease) {
		l->t2_s = m->t2;
	}
}

/* ---- what a reply says ---- */

static bool contiguous(struct in_addr mask)
{
	uint32_t inv = ~ntohl(mask.s_addr);
	return inv != 0xffffffffu && (inv & (inv + 1)) == 0;
}

static int mask_len(struct in_addr mask)
{
	return __builtin_popcount(ntohl(mask.s_addr));
}

/* RFC 2131 3.5 leaves a missing netmask to the client: the class's. */
static struct in_addr class_mask(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);
	return ip4_mask(h < 0x80000000u ? 8 : h < 0xc0000000u ? 16 : 24);
}

/* The lease an OFFER or ACK describes: true if it is a usable one. */
static bool lease_from(const struct dhcp_msg *m, const struct dhcp_lease *cur,
		       struct dhcp_lease *l)
{
	memset(l, 0, sizeof(*l));
	if (!ip4_is_host(m->yiaddr) || !m->has_lease || m->lease == 0)
		return false;
	l->addr = m->yiaddr;
	l->netmask = m->has_netmask && contiguous(m->netmask) ? m->netmask : class_mask(l->addr);
	if (ip4_host_problem(l->addr, mask_len(l->netmask)))
		return false;
	if (m->has_server_id && ip4_is_host(m->server_id))
		l->server = m->server_id;
	else if (cur && cur->server.s_addr)
		l->server = cur->server;
	else
		return false;
	if (m->has_router && ip4_is_host(m->router) && m->router.s_addr != l->addr.s_addr &&
	    ip4_same_net(m->router, l->addr, mask_len(l->netmask))) {
		l->has_router = true;
		l->router = m->router;
	}
	memcpy(l->dns, m->dns, sizeof(l->dns));
	l->ndns = m->ndns;
	lease_times(l, m);
	return true;
}

static bool ours(const struct dhcp_fsm *f, const struct dhcp_msg *m)
{
	return m->op == 2 && m->xid == f->xid && memcmp(m->chaddr, f->mac, 6) == 0;
}

/* ---- sending ---- */

static uint64_t jitter(struct dhcp_fsm *f, uint64_t span)
{
	return f->ops->random(f->ctx) % (span + 1);
}

static void base_msg(const struct dhcp_fsm *f, struct dhcp_msg *m, uint8_t type, uint64_t now)
{
	uint64_t secs = (now - f->exchange_ms) / SEC;

	memset(m, 0, sizeof(*m));
	m->op = 1;
	m->type = type;
	m->xid = f->xid;
	m->secs = (uint16_t)(secs > 0xffff ? 0xffff : secs);
	memcpy(m->chaddr, f->mac, 6);
	m->client_id[0] = 1;    /* hardware type Ethernet, then the MAC */
	memcpy(m->client_id + 1, f->mac, 6);
	m->client_id_len = 7;
}

static const struct in_addr any = { 0 }, all = { 0xffffffffu };

static void send_discover(struct dhcp_fsm *f, uint64_t now)
{
	struct dhcp_msg m;

	base_msg(f, &m, DHCPDISCOVER, now);
	if (f->lease.addr.s_addr) {     /* ask for the address we had (RFC 2131 4.4.1) */
		m.has_requested = true;
		m.requested = f->lease.addr;
	}
	f->ops->send(f->ctx, &m, true, any, all);
}

static void send_select(struct dhcp_fsm *f, uint64_t now)
{
	struct dhcp_msg m;

	base_msg(f, &m, DHCPREQUEST, now);
	m.has_requested = m.has_server_id = true;
	m.requested = f->offer.addr;
	m.server_id = f->offer.server;
	f->ops->send(f->ctx, &m, true, any, all);
}

/* RENEWING: unicast to the server; REBINDING: broadcast. */
static void send_renew(struct dhcp_fsm *f, uint64_t now, bool broadcast)
{
	struct dhcp_msg m;

	base_msg(f, &m, DHCPREQUEST, now);
	m.ciaddr = f->lease.addr;
	f->ops->send(f->ctx, &m, broadcast, f->lease.addr, broadcast ? all : f->lease.server);
}

static void send_release(struct dhcp_fsm *f)
{
	struct dhcp_msg m;

	f->xid = f->ops->random(f->ctx);
	f->exchange_ms = 0;
	base_msg(f, &m, DHCPRELEASE, 0);
	m.ciaddr = f->lease.addr;
	m.has_server_id = true;
	m.server_id = f->lease.server;
	f->ops->send(f->ctx, &m, false, f->lease.addr, f->lease.server);
}

/* ---- transitions ---- */

static void new_exchange(struct dhcp_fsm *f, uint64_t now)
{
	f->xid = f->ops->random(f->ctx);
	f->exchange_ms = now;
	f->tries = 0;
}

/* 4, 8, 16, 32, 64 s, each +-1 s (RFC 2131 4.1). */
static uint64_t backoff(struct dhcp_fsm *f, uint64_t now)
{
	int shift = f->tries < 4 ? f->tries : 4;
	return now + (4 * SEC << shift) - SEC + jitter(f, 2 * SEC);
}

/* Half the time left to limit, at least a minute, never past limit. */
static uint64_t renew_wait(uint64_t now, uint64_t limit)
{
	if (limit <= now)
		return now;
	uint64_t wait = (limit - now) / 2;
	if (wait < RENEW_MIN_WAIT)
		wait = RENEW_MIN_WAIT;
	return limit - now < wait ? limit : now + wait;
}

static void drop_lease(struct dhcp_fsm *f, const char *why)
{
	if (!f->bound)
		return;
	f->bound = false;
	f->ops->lost(f->ctx, &f->lease, why);
}

/* To INIT; after a failed exchange the next waits 4, 8, ... 64 s more. */
static void restart(struct dhcp_fsm *f, uint64_t now, bool failed)
{
	uint64_t extra = 0;

	f->state = DHCP_INIT;
	if (failed) {
		int shift = f->failures < 4 ? f->failures : 4;
		extra = 4 * SEC << shift;
		f->failures = shift + 1;
	}
	f->deadline = now + extra + jitter(f, SEC);
}

void dhcp_fsm_init(struct dhcp_fsm *f, const uint8_t mac[6], const struct dhcp_ops *ops,
		   void *ctx)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->mac, mac, 6);
	f->ops = ops;
	f->ctx = ctx;
}

void dhcp_fsm_start(struct dhcp_fsm *f, uint64_t now)
{
	f->failures = 0;
	restart(f, now, false);
}

static void discover(struct dhcp_fsm *f, uint64_t now)
{
	new_exchange(f, now);
	memset(&f->offer, 0, sizeof(f->offer));
	f->state = DHCP_SELECTING;
	send_discover(f, now);
	f->deadline = backoff(f, now);
}

static void timer_selecting(struct dhcp_fsm *f, uint64_t now)
{
	f->tries++;
	send_discover(f, now);
	f->deadline = backoff(f, now);
}

static void timer_requesting(struct dhcp_fsm *f, uint64_t now)
{
	if (++f->tries >= REQUEST_TRIES) {
		restart(f, now, true);
		return;
	}
	send_select(f, now);
	f->deadline = backoff(f, now);
}

static void timer_renewing(struct dhcp_fsm *f, uint64_t now)
{
	uint64_t t2 = dhcp_lease_t2(&f->lease), end = dhcp_lease_end(&f->lease);

	if (f->state == DHCP_BOUND) {
		new_exchange(f, now);
		f->state = DHCP_RENEWING;
	}
	if (f->state == DHCP_RENEWING && now >= t2)
		f->state = DHCP_REBINDING;
	if (f->state == DHCP_REBINDING && now >= end) {
		drop_lease(f, "expired");
		restart(f, now, false);
		return;
	}
	bool rebinding = f->state == DHCP_REBINDING;
	send_renew(f, now, rebinding);
	f->deadline = renew_wait(now, rebinding ? end : t2);
}

void dhcp_fsm_timer(struct dhcp_fsm *f, uint64_t now)
{
	switch (f->state) {
	case DHCP_INIT: discover(f, now); break;
	case DHCP_SELECTING: timer_selecting(f, now); break;
	case DHCP_REQUESTING: timer_requesting(f, now); break;
	case DHCP_BOUND:
	case DHCP_RENEWING:
	case DHCP_REBINDING: timer_renewing(f, now); break;
	case DHCP_STOPPED: f->deadline = 0; break;
	}
}

static void got_offer(struct dhcp_fsm *f, const struct dhcp_msg *m, uint64_t now)
{
	struct dhcp_lease l;

	if (!lease_from(m, NULL, &l))
		return;
	f->offer = l;
	f->state = DHCP_REQUESTING;
	f->tries = 0;
	send_select(f, now);
	f->deadline = backoff(f, now);
}

static void got_ack(struct dhcp_fsm *f, const struct dhcp_msg *m)
{
	const struct dhcp_lease *cur = f->state == DHCP_REQUESTING ? &f->offer : &f->lease;
	struct dhcp_lease l, old = f->lease;
	bool had = f->bound;

	if (f->state == DHCP_REQUESTING && m->has_server_id &&
	    m->server_id.s_addr != f->offer.server.s_addr)
		return;
	if (!lease_from(m, cur, &l))
		return;
	l.start_ms = f->exchange_ms;
	f->lease = l;
	f->bound = true;
	f->state = DHCP_BOUND;
	f->failures = 0;
	uint64_t t1 = dhcp_lease_t1(&l);
	f->deadline = t1 == UINT64_MAX ? 0 : t1;
	f->ops->bound(f->ctx, &f->lease, had ? &old : NULL);
}

static void got_nak(struct dhcp_fsm *f, const struct dhcp_msg *m, uint64_t now)
{
	char line[128];

	if (f->state == DHCP_REQUESTING && m->has_server_id &&
	    m->server_id.s_addr != f->offer.server.s_addr)
		return;
	snprintf(line, sizeof(line), "DHCPNAK in %s%s%s", dhcp_state_name(f->state),
		 m->text[0] ? ": " : "", m->text);
	if (f->ops->note)
		f->ops->note(f->ctx, line);
	drop_lease(f, "refused by the server (DHCPNAK)");
	restart(f, now, true);
}

void dhcp_fsm_input(struct dhcp_fsm *f, const struct dhcp_msg *m, uint64_t now)
{
	if (!ours(f, m))
		return;
	switch (f->state) {
	case DHCP_SELECTING:
		if (m->type == DHCPOFFER)
			got_offer(f, m, now);
		break;
	case DHCP_REQUESTING:
	case DHCP_RENEWING:
	case DHCP_REBINDING:
		if (m->type == DHCPACK)
			got_ack(f, m);
		else if (m->type == DHCPNAK)
			got_nak(f, m, now);
		break;
	default:
		break;
	}
}

void dhcp_fsm_stop(struct dhcp_fsm *f, bool release, const char *why)
{
	if (f->bound && release)
		send_release(f);
	drop_lease(f, why);
	f->state = DHCP_STOPPED;
	f->deadline = 0;
}
