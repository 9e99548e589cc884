/*
 * esxcli network diag ping (see diag_ping.h).
 *
 * The params are checked against the command table as vmkd would check
 * them (cmdtable_validate: types, ranges).  Options as the reference's:
 * --host (required, except in debug mode), --debug (-D: no host; the
 * stack's own addresses are pinged in turn, as vmkping -D does: its
 * loopback, its adapters' addresses, its default gateway; --ipv6 for the
 * IPv6 ones), --nexthop (-N: IPv4 only, with --interface: the requests go
 * to that next hop whatever the stack's routes say, ping_nexthop.h),
 * --interface (the socket is bound to the adapter and its
 * address), --netstack (default: the adapter's, else defaultTcpipStack),
 * --count (3), --size (56), --df, --ttl, --wait (seconds to wait for
 * replies after the last request, 1), --interval (seconds, 1),
 * --ipv4/--ipv6 (default: an IPv6 literal means IPv6, else IPv4).
 *
 * Result: Trace, one struct per reply (Received Bytes: the ICMP message,
 * data + 8; Round-trip Time in microseconds) or per failed request
 * (Detail holds vmkping's line for it, e.g. "sendto() failed (Message
 * too long)"), and the Summary (Packet Lost in percent, truncated; the
 * round-trip times in microseconds, 0 when no reply came).  In debug
 * mode the Trace holds the replies of every address pinged and the
 * Summary counts them all, Host Addr listing the addresses.  A ping that
 * ran is a success whatever it lost; only a ping that could not start
 * is an error.
 */
#include "diag_ping.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmdtable.h"
#include "icmp_ping.h"
#include "ping_nexthop.h"
#include "stack_resolv.h"
#include "jsonrpc.h"
#include "rpc.h"

struct ping_req {
	const char *host, *iface, *netstack;
	char stack[PING_STACK_NAME_MAX];
	int family;
	bool debug;
	struct in_addr nexthop;		/* s_addr 0: none */
	struct ping_opts o;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

__attribute__((format(printf, 3, 4)))
static int fail(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return JSONRPC_INVALID_PARAMS;
}

static const char *str(json_t *p, const char *key)
{
	return json_string_value(json_object_get(p, key));
}

static long long num(json_t *p, const char *key, long long def)
{
	json_t *v = json_object_get(p, key);
	return v ? json_integer_value(v) : def;
}

static bool flag(json_t *p, const char *key)
{
	return json_is_true(json_object_get(p, key));
}

static int seconds(json_t *p, const char *key, double lo, double def, double *out, char *msg,
		   size_t len)
{
	const char *s = str(p, key);
	char *end;

	*out = def;
	if (!s)
		return 0;
	*out = strtod(s, &end);
	if (!*s || *end || !isfinite(*out) || *out < lo || *out > 3600)
		return fail(msg, len, "Invalid --%s '%s': a number of seconds (%g - 3600)", key, s,
			    lo);
	return 0;
}

static int parse(json_t *p, struct ping_req *r, char *msg, size_t len)
{
	bool v4 = flag(p, "ipv4"), v6 = flag(p, "ipv6");
	const char *nexthop = str(p, "nexthop");

	r->host = str(p, "host");
	r->iface = str(p, "interface");
	r->netstack = str(p, "netstack");
	r->family = v4 ? AF_INET : v6 ? AF_INET6 : AF_UNSPEC;
	r->o.count = (unsigned)num(p, "count", 3);
	r->o.size = (unsigned)num(p, "size", 56);
	r->o.ttl = (int)num(p, "ttl", 0);
	r->o.df = flag(p, "df");
	r->debug = flag(p, "debug");
	if (r->debug && r->host)
		return fail(msg, len, "Invalid --host '%s': debug mode (-D) pings the netstack's "
			    "own addresses and takes no host", r->host);
	if (v4 && v6)
		return fail(msg, len, "Invalid --ipv6: --ipv4 and --ipv6 exclude each other");
	if (nexthop) {
		if (inet_pton(AF_INET, nexthop, &r->nexthop) != 1 || !r->nexthop.s_addr)
			return fail(msg, len, "Invalid --nexthop '%s': an IPv4 address in dotted "
				    "quad notation", nexthop);
		if (!r->iface)
			return fail(msg, len, "Invalid --nexthop '%s': it requires --interface",
				    nexthop);
		if (v6 || r->debug)
			return fail(msg, len, "Invalid --nexthop '%s': IPv4 only, without --debug",
				    nexthop);
		r->family = AF_INET;
	}
	if (!r->host && !r->debug)
		return fail(msg, len, "Missing required parameter -H|--host");
	if (seconds(p, "interval", 0.001, 1, &r->o.interval, msg, len) ||
	    seconds(p, "wait", 0, 1, &r->o.timeout, msg, len))
		return JSONRPC_INVALID_PARAMS;
	return 0;
}

/* ---- names, through vmkd ---- */

static int ask(const char *instance, const char *method, const char *key, const char *value,
	       json_t **result, char *msg, size_t len)
{
	return rpc_call(instance, method, json_pack("{s:s}", key, value), result, msg, len);
}

/* The netstack to ping from: --netstack, the adapter's, or the default. */
static int resolve_stack(const char *instance, struct ping_req *r, char *msg, size_t len)
{
	json_t *res = NULL;
	int rc;

	snprintf(r->stack, sizeof(r->stack), "%s", r->netstack ? r->netstack : PING_DEFAULT_STACK);
	if (r->netstack && (rc = ask(instance, "network.ip.netstack.get", "netstack", r->netstack,
				     &res, msg, len)))
		return rc;
	json_decref(res);
	if (!r->iface)
		return 0;
	rc = ask(instance, "network.ip.interface.get", "interface-name", r->iface, &res, msg, len);
	if (rc == JSONRPC_INVALID_PARAMS)
		return fail(msg, len, "Invalid --interface '%s': no such VMkernel network interface",
			    r->iface);
	if (rc)
		return rc;
	const char *on = json_string_value(json_object_get(res, "NetstackInstance"));
	if (r->netstack && on && strcmp(on, r->netstack) != 0)
		rc = fail(msg, len, "Invalid --interface '%s': it is on netstack %s, not %s",
			  r->iface, on, r->netstack);
	else
		snprintf(r->stack, sizeof(r->stack), "%s", on ? on : PING_DEFAULT_STACK);
	json_decref(res);
	return rc;
}

static int resolve_host(struct ping_req *r, char *msg, size_t len)
{
	struct in6_addr a6;
	bool lit6 = inet_pton(AF_INET6, r->host, &a6) == 1;
	int family = r->family != AF_UNSPEC ? r->family : lit6 ? AF_INET6 : AF_INET;
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_RAW }, *res = NULL;

	if (stack_getaddrinfo(r->o.stack, r->host, &hints, &res) != 0 || !res)
		return fail(msg, len, "Invalid --host '%s': unknown host for IPv%c", r->host,
			    family == AF_INET6 ? '6' : '4');
	memcpy(&r->o.dest, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	r->o.family = family;
	if (family == AF_INET && r->o.size > PING_MAX_SIZE_V4)
		return fail(msg, len, "Invalid --size '%u': at most %u for IPv4", r->o.size,
			    PING_MAX_SIZE_V4);
	return 0;
}

/* ---- the run ---- */

static json_int_t us(uint64_t ns)
{
	return (json_int_t)((ns + 500) / 1000);
}

struct trace {
	json_t *list;
	char host[INET6_ADDRSTRLEN];
};

static void on_event(const struct ping_event *ev, void *arg)
{
	struct trace *t = arg;
	char detail[256] = "";
	bool reply = ev->kind == PING_EV_REPLY;

	if (!reply)
		ping_format_event(detail, sizeof(detail), ev);
	json_array_append_new(t->list, json_pack(
		"{s:I, s:s, s:I, s:I, s:I, s:b, s:s}",
		"ReceivedBytes", (json_int_t)(reply ? ev->bytes : 0),
		"Host", ev->from[0] ? ev->from : t->host, "ICMPSeq", (json_int_t)ev->seq,
		"TTL", (json_int_t)(reply && ev->ttl > 0 ? ev->ttl : 0),
		"RoundtripTime", reply ? us(ev->rtt_ns) : 0,
		"Dup", reply && ev->dup, "Detail", detail));
}

static json_t *summary(const char *host, const struct ping_stats *s)
{
	unsigned got = s->received < s->transmitted ? s->received : s->transmitted;
	json_int_t sent = s->transmitted, n = s->received ? s->received : 1;
	json_int_t lost = sent ? (sent - got) * 100 / sent : 0;

	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "HostAddr", host,
			 "Transmitted", sent, "Recieved", (json_int_t)s->received,
			 "Duplicated", (json_int_t)s->duplicates, "PacketLost", lost,
			 "RoundtripMin", s->received ? us(s->rtt_min_ns) : 0,
			 "RoundtripAvg", us(s->rtt_sum_ns / (uint64_t)n),
			 "RoundtripMax", us(s->rtt_max_ns));
}

/* Adds one run's counts to the total of a debug-mode ping. */
static void add_stats(struct ping_stats *sum, const struct ping_stats *s)
{
	if (s->received && (!sum->received || s->rtt_min_ns < sum->rtt_min_ns))
		sum->rtt_min_ns = s->rtt_min_ns;
	if (s->rtt_max_ns > sum->rtt_max_ns)
		sum->rtt_max_ns = s->rtt_max_ns;
	sum->transmitted += s->transmitted;
	sum->received += s->received;
	sum->duplicates += s->duplicates;
	sum->errors += s->errors;
	sum->rtt_sum_ns += s->rtt_sum_ns;
}

/* Pings r->o.dest, adding its events to t and its counts to sum. */
static int run_one(struct ping_req *r, struct trace *t, struct ping_stats *sum, char *msg,
		   size_t len)
{
	struct ping_stats stats;
	char err[256];
	bool raw;
	uint16_t id;

	ping_addr_str(&r->o.dest, t->host, sizeof(t->host));
	struct ping_nexthop nh = {0};
	if (r->nexthop.s_addr) {
		if (ping_nexthop_add(&nh, r->o.stack->nsfd, r->o.ifname,
				     ((struct sockaddr_in *)&r->o.dest)->sin_addr, r->nexthop,
				     err, sizeof(err)) < 0) {
			snprintf(msg, len, "%s", err);
			return JSONRPC_FAILED;
		}
		r->o.mark = nh.mark;
	}
	int fd = ping_open(&r->o, &raw, &id, err, sizeof(err));
	if (fd < 0) {
		ping_nexthop_del(&nh);
		snprintf(msg, len, "%s", err);
		return JSONRPC_FAILED;
	}
	int rc = ping_run(fd, raw, id, &r->o, on_event, t, &stats);
	close(fd);
	ping_nexthop_del(&nh);
	if (rc < 0 && rc != -EINTR) {
		snprintf(msg, len, "ping failed: %s", strerror(-rc));
		return JSONRPC_FAILED;
	}
	add_stats(sum, &stats);
	return 0;
}

/* Debug mode: every address ping_debug_targets() names, in turn. */
static int run_debug(struct ping_req *r, struct trace *t, struct ping_stats *sum, char *hosts,
		     size_t hlen, char *msg, size_t len)
{
	static struct sockaddr_storage targets[PING_DEBUG_MAX + 2];
	int family = r->family == AF_INET6 ? AF_INET6 : AF_INET;
	int n = ping_debug_targets(r->o.stack, family, targets, PING_DEBUG_MAX + 2), rc = 0;
	size_t used = 0;

	r->o.family = family;
	r->o.ifname = NULL;	/* each address is reached the way the stack routes it */
	if (family == AF_INET && r->o.size > PING_MAX_SIZE_V4)
		return fail(msg, len, "Invalid --size '%u': at most %u for IPv4", r->o.size,
			    PING_MAX_SIZE_V4);
	for (int i = 0; i < n && rc == 0 && !stop_flag; i++) {
		r->o.dest = targets[i];
		rc = run_one(r, t, sum, msg, len);
		if (rc == 0 && used < hlen)
			used += (size_t)snprintf(hosts + used, hlen - used, "%s%s", used ? ", " : "",
						 t->host);
	}
	return rc;
}

static int run(struct ping_req *r, json_t **result, char *msg, size_t len)
{
	struct trace t = { .list = json_array() };
	struct ping_stats sum = { 0 };
	char hosts[4096] = "";
	int rc;

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);	/* a closed terminal: end, and clean up --nexthop */
	signal(SIGPIPE, SIG_IGN);
	r->o.stop = &stop_flag;
	if (r->debug) {
		rc = run_debug(r, &t, &sum, hosts, sizeof(hosts), msg, len);
	} else {
		rc = run_one(r, &t, &sum, msg, len);
		snprintf(hosts, sizeof(hosts), "%s", t.host);
	}
	if (rc) {
		json_decref(t.list);
		return rc;
	}
	*result = json_pack("{s:o, s:o}", "Trace", t.list, "Summary", summary(hosts, &sum));
	return 0;
}

int diag_ping(const char *instance, json_t *params, json_t **result, char *msg, size_t msglen)
{
	struct ping_req r = { 0 };
	struct ping_stack st = { .nsfd = -1 };
	const struct cmd *c = cmdtable_find_method(&esxcli_table, DIAG_PING_METHOD);
	int rc = c && cmdtable_validate(c, params, msg, msglen) < 0 ? JSONRPC_INVALID_PARAMS : 0;

	if (!rc)
		rc = parse(params, &r, msg, msglen);
	if (!rc)
		rc = resolve_stack(instance, &r, msg, msglen);
	if (!rc && ping_stack_open(instance, r.stack, &st, msg, msglen) < 0)
		rc = JSONRPC_FAILED;
	r.o.stack = &st;
	r.o.ifname = r.iface;
	if (!rc && !r.debug)
		rc = resolve_host(&r, msg, msglen);
	if (!rc)
		rc = run(&r, result, msg, msglen);
	ping_stack_close(&st);
	json_decref(params);
	return rc;
}
