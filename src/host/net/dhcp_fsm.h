/*
 * The DHCP client's state machine (RFC 2131 4.4), one per adapter, with
 * no I/O of its own: the caller feeds it the time, timer expiries and
 * the messages it received, and it answers through struct dhcp_ops
 * (send a message, apply or drop a lease) and by setting f->deadline,
 * the time of its next timer event.  dhcp_client.c wires it to sockets,
 * a timerfd and the adapter; the unit tests drive it with a fake clock.
 *
 *   INIT -> SELECTING (DHCPDISCOVER broadcast, backoff 4, 8, ... 64 s)
 *   SELECTING + OFFER -> REQUESTING (DHCPREQUEST broadcast: server id,
 *                        requested address; 4 tries, then INIT again)
 *   REQUESTING + ACK -> BOUND (the lease applied);  + NAK -> INIT
 *   BOUND at T1 -> RENEWING (DHCPREQUEST unicast to the server, ciaddr)
 *   RENEWING at T2 -> REBINDING (DHCPREQUEST broadcast, ciaddr)
 *   RENEWING/REBINDING + ACK -> BOUND (lease renewed); + NAK -> INIT
 *   REBINDING at expiry -> INIT (the lease lost)
 *   stop: DHCPRELEASE unicast to the server when asked and bound
 *
 * Retransmissions in RENEWING and REBINDING wait half the time left to
 * T2 or to the expiry, at least 60 s (RFC 2131 4.4.5), never past that
 * boundary.  Times are milliseconds of a monotonic clock that counts
 * suspend (CLOCK_BOOTTIME), so a lease does not outlive its expiry.
 * A lease's times run from when the REQUEST that got it was first sent.
 * An infinite lease (0xffffffff) has no T1, T2 or expiry.
 */
#ifndef VMKD_NET_DHCP_FSM_H
#define VMKD_NET_DHCP_FSM_H

#include <stdbool.h>
#include <stdint.h>

#include "dhcp_msg.h"

enum dhcp_state {
	DHCP_STOPPED,
	DHCP_INIT,
	DHCP_SELECTING,
	DHCP_REQUESTING,
	DHCP_BOUND,
	DHCP_RENEWING,
	DHCP_REBINDING,
};

#define DHCP_INFINITE 0xffffffffu

struct dhcp_lease {
	struct in_addr addr, netmask, server;
	bool has_router;
	struct in_addr router;
	struct in_addr dns[DHCP_DNS_MAX];
	uint8_t ndns;
	uint32_t lease_s, t1_s, t2_s;   /* from the ACK, T1 and T2 defaulted */
	uint64_t start_ms;              /* the clock when the REQUEST went out */
};

/* How a message goes out: broadcast (to 255.255.255.255 and the
 * broadcast MAC) or unicast to the server (its IP and the MAC the
 * server's last answer came from). */
struct dhcp_ops {
	void (*send)(void *ctx, const struct dhcp_msg *m, bool broadcast, struct in_addr src,
		     struct in_addr dst);
	/* A lease to apply: a new one (renewed false) or the same address
	 * renewed; old is the lease it replaces, NULL if none. */
	void (*bound)(void *ctx, const struct dhcp_lease *l, const struct dhcp_lease *old);
	/* The lease ended (expired, NAK, released, stopped): drop it. */
	void (*lost)(void *ctx, const struct dhcp_lease *l, const char *why);
	/* A message worth a line in the log (a NAK). */
	void (*note)(void *ctx, const char *what);
	uint32_t (*random)(void *ctx);
};

struct dhcp_fsm {
	enum dhcp_state state;
	const struct dhcp_ops *ops;
	void *ctx;
	uint8_t mac[6];
	uint32_t xid;
	int tries;              /* retransmissions of the current message */
	int failures;           /* exchanges that failed in a row */
	uint64_t deadline;      /* next timer event; 0: none */
	uint64_t exchange_ms;   /* when the current exchange's first message went */
	bool bound;             /* lease is applied */
	struct dhcp_lease lease, offer;
};

/* Sets f up (state STOPPED) for the adapter with that MAC. */
void dhcp_fsm_init(struct dhcp_fsm *f, const uint8_t mac[6], const struct dhcp_ops *ops,
		   void *ctx);
/* Starts discovery: INIT, first DISCOVER after a short random delay. */
void dhcp_fsm_start(struct dhcp_fsm *f, uint64_t now);
/* The timer: call when now >= f->deadline (deadline != 0). */
void dhcp_fsm_timer(struct dhcp_fsm *f, uint64_t now);
/* A received message (already parsed). */
void dhcp_fsm_input(struct dhcp_fsm *f, const struct dhcp_msg *m, uint64_t now);
/* Stops: sends DHCPRELEASE if bound and release is set, drops the lease
 * (ops->lost) and goes to STOPPED. */
void dhcp_fsm_stop(struct dhcp_fsm *f, bool release, const char *why);

const char *dhcp_state_name(enum dhcp_state s);

/* The lease's absolute T1, T2 and expiry (UINT64_MAX: infinite). */
uint64_t dhcp_lease_t1(const struct dhcp_lease *l);
uint64_t dhcp_lease_t2(const struct dhcp_lease *l);
uint64_t dhcp_lease_end(const struct dhcp_lease *l);

#endif
