/*
 * The adapters' DHCP clients (see dhcp.h): the glue between the state
 * machine (dhcp_fsm.c), its sockets (dhcp_sock.c), a timerfd, vmkd's
 * event loop, the log and the adapter (vmknic_rt.c).
 *
 * Each client is a heap object whose address the loop's callbacks get,
 * so the table of clients can grow without moving them.  The timerfd is
 * armed at the machine's next deadline, absolute on CLOCK_BOOTTIME (the
 * clock the machine's times are in), after every event that may change
 * it.  When the machine applies or drops a lease the adapter is applied
 * again from the store (vmknic_rt_dhcp_changed) unless the client is
 * being stopped by the adapter itself, which then applies what it is
 * becoming (no re-entry into the adapter's apply).
 */
#include "dhcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "vmklog.h"
#include "vmknic_rt.h"

struct client {
	char name[IFNAMSIZ];
	int ifindex;
	int pkt, claim, tfd;
	uint8_t reply_mac[6];   /* where the reply being handled came from */
	uint8_t server_mac[6];  /* where the lease's server answers from */
	bool quiet;             /* being stopped: do not apply the adapter */
	struct dhcp_fsm fsm;
};

static struct client **clients;
static size_t nr_clients, cap_clients;

static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct client *find(const char *name, size_t *index)
{
	for (size_t i = 0; i < nr_clients; i++) {
		if (strcmp(clients[i]->name, name) == 0) {
			if (index)
				*index = i;
			return clients[i];
		}
	}
	return NULL;
}

/* ---- the machine's ops ---- */

static void op_send(void *ctx, const struct dhcp_msg *m, bool broadcast, struct in_addr src,
		    struct in_addr dst)
{
	struct client *c = ctx;
	uint8_t msg[DHCP_MAX_LEN], pkt[DHCP_MAX_LEN + DHCP_IPUDP_LEN];
	size_t n = dhcp_build(m, msg, sizeof(msg));
	size_t len = n ? dhcp_packet_build(pkt, sizeof(pkt), src, dst, msg, n) : 0;
	char type[16];

	if (!len)
		return;
	/* a unicast IP packet in a broadcast frame if the server's MAC is unknown */
	bool known = memcmp(c->server_mac, (uint8_t[6]){ 0 }, 6) != 0;
	int r = dhcp_sock_send(c->pkt, c->ifindex, broadcast || !known ? bcast_mac : c->server_mac,
			       pkt, len);
	if (r < 0 && r != -ENETDOWN && r != -ENXIO)
		vmklog_warn("DHCP", "%s: cannot send %s: %s", c->name,
			    dhcp_type_name(m->type, type, sizeof(type)), strerror(-r));
}

static void format_dns(const struct dhcp_lease *l, char *buf, size_t len)
{
	char a[IP4_STRLEN];
	size_t k = 0;

	buf[0] = '\0';
	for (int i = 0; i < l->ndns && k < len; i++)
		k += (size_t)snprintf(buf + k, len - k, "%s%s", i ? ", " : "; DNS ",
				      inet_ntop(AF_INET, &l->dns[i], a, sizeof(a)));
}

static void log_bound(const struct client *c, const struct dhcp_lease *l, bool renewed)
{
	char addr[IP4_STRLEN], mask[IP4_STRLEN], srv[IP4_STRLEN], gw[IP4_STRLEN], dns[64];

	inet_ntop(AF_INET, &l->addr, addr, sizeof(addr));
	inet_ntop(AF_INET, &l->netmask, mask, sizeof(mask));
	inet_ntop(AF_INET, &l->server, srv, sizeof(srv));
	inet_ntop(AF_INET, &l->router, gw, sizeof(gw));
	format_dns(l, dns, sizeof(dns));
	if (renewed)
		vmklog("DHCP", "%s: lease of %s renewed by %s for %u s", c->name, addr, srv,
		       l->lease_s);
	else
		vmklog("DHCP", "%s: lease of %s netmask %s obtained from %s for %u s (T1 %u s, "
		       "T2 %u s%s%s%s)", c->name, addr, mask, srv, l->lease_s, l->t1_s, l->t2_s,
		       l->has_router ? "; router " : "", l->has_router ? gw : "", dns);
}

static void op_bound(void *ctx, const struct dhcp_lease *l, const struct dhcp_lease *old)
{
	struct client *c = ctx;

	memcpy(c->server_mac, c->reply_mac, 6);
	log_bound(c, l, old && old->addr.s_addr == l->addr.s_addr);
	if (!c->quiet)
		vmknic_rt_dhcp_changed(c->name);
}

static void op_lost(void *ctx, const struct dhcp_lease *l, const char *why)
{
	struct client *c = ctx;
	char addr[IP4_STRLEN];

	inet_ntop(AF_INET, &l->addr, addr, sizeof(addr));
	if (c->quiet)
		vmklog("DHCP", "%s: lease of %s ended: %s", c->name, addr, why);
	else
		vmklog_warn("DHCP", "%s: lease of %s lost: %s", c->name, addr, why);
	if (!c->quiet)
		vmknic_rt_dhcp_changed(c->name);
}

static void op_note(void *ctx, const char *what)
{
	vmklog("DHCP", "%s: %s", ((struct client *)ctx)->name, what);
}

static uint32_t op_random(void *ctx)
{
	uint32_t r;

	(void)ctx;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)now_ms() * 2654435761u;
	return r;
}

static const struct dhcp_ops ops = {
	.send = op_send, .bound = op_bound, .lost = op_lost, .note = op_note,
	.random = op_random,
};

/* ---- the loop's callbacks ---- */

static void arm(struct client *c)
{
	struct itimerspec its = { 0 };
	uint64_t d = c->fsm.deadline;

	its.it_value.tv_sec = (time_t)(d / 1000);
	its.it_value.tv_nsec = (long)(d % 1000) * 1000000;
	if (d && !its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	timerfd_settime(c->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void on_timer(void *arg, uint32_t events)
{
	struct client *c = arg;
	uint64_t expirations;

	(void)events;
	if (read(c->tfd, &expirations, sizeof(expirations)) < 0 && errno == EAGAIN)
		return;
	uint64_t now = now_ms();
	if (c->fsm.deadline && now >= c->fsm.deadline)
		dhcp_fsm_timer(&c->fsm, now);
	arm(c);
}

static void on_packet(void *arg, uint32_t events)
{
	struct client *c = arg;
	uint8_t buf[2048];
	const uint8_t *payload;
	size_t plen;
	struct dhcp_msg m;

	(void)events;
	for (int i = 0; i < 16; i++) {          /* a burst at most; the rest next time */
		bool pending;
		ssize_t n = dhcp_sock_recv(c->pkt, buf, sizeof(buf), c->reply_mac, &pending);
		if (n < 0)
			break;
		if (dhcp_packet_parse(buf, (size_t)n, pending, &payload, &plen) < 0 ||
		    dhcp_parse(payload, plen, &m) < 0)
			continue;
		dhcp_fsm_input(&c->fsm, &m, now_ms());
	}
	arm(c);
}

/* ---- clients ---- */

static void close_client(struct client *c)
{
	if (c->pkt >= 0) {
		loop_del(c->pkt);
		close(c->pkt);
	}
	if (c->tfd >= 0) {
		loop_del(c->tfd);
		close(c->tfd);
	}
	if (c->claim >= 0)
		close(c->claim);
	free(c);
}

static int add_client(struct client *c)
{
	if (nr_clients == cap_clients) {
		size_t cap = cap_clients ? cap_clients * 2 : 8;
		struct client **p = realloc(clients, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		clients = p;
		cap_clients = cap;
	}
	clients[nr_clients++] = c;
	return 0;
}

static int open_client(struct client *c, int stack_fd)
{
	c->pkt = dhcp_sock_open(stack_fd, c->ifindex);
	if (c->pkt < 0)
		return c->pkt;
	c->tfd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (c->tfd < 0)
		return -errno;
	c->claim = dhcp_sock_claim(stack_fd, c->name);
	int r = loop_add(c->pkt, EPOLLIN, on_packet, c);
	if (r == 0 && (r = loop_add(c->tfd, EPOLLIN, on_timer, c)) < 0)
		loop_del(c->pkt);
	return r;
}

int dhcp_start(const char *name, int stack_fd, int ifindex, const uint8_t mac[6])
{
	if (find(name, NULL))
		return 0;
	struct client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->ifindex = ifindex;
	c->pkt = c->claim = c->tfd = -1;
	int r = open_client(c, stack_fd);
	if (r == 0)
		r = add_client(c);
	if (r < 0) {
		vmklog_warn("DHCP", "%s: cannot start the DHCP client: %s", name, strerror(-r));
		close_client(c);
		return r;
	}
	dhcp_fsm_init(&c->fsm, mac, &ops, c);
	dhcp_fsm_start(&c->fsm, now_ms());
	arm(c);
	vmklog("DHCP", "%s: DHCP client started", name);
	return 0;
}

void dhcp_stop(const char *name, bool release, const char *why)
{
	size_t i;
	struct client *c = find(name, &i);

	if (!c)
		return;
	clients[i] = clients[--nr_clients];
	c->quiet = true;
	dhcp_fsm_stop(&c->fsm, release, why);
	close_client(c);
}

bool dhcp_running(const char *name)
{
	return find(name, NULL) != NULL;
}

bool dhcp_lease(const char *name, struct dhcp_lease *l)
{
	struct client *c = find(name, NULL);

	if (!c || !c->fsm.bound)
		return false;
	*l = c->fsm.lease;
	return true;
}

uint32_t dhcp_lease_left(const struct dhcp_lease *l)
{
	uint64_t end = dhcp_lease_end(l), now = now_ms();

	if (end == UINT64_MAX)
		return DHCP_INFINITE;
	if (end <= now)
		return 0;
	uint64_t s = (end - now + 999) / 1000;
	return s >= DHCP_INFINITE ? DHCP_INFINITE - 1 : (uint32_t)s;
}

void dhcp_shutdown(void)
{
	while (nr_clients)
		dhcp_stop(clients[0]->name, false, "vmkd stopping");
	free(clients);
	clients = NULL;
	cap_clients = 0;
}
