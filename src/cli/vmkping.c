/*
 * vmkping: ICMP echo from a VMkernel TCP/IP stack, as on an ESXi host
 * (docs/vmkping.md).
 *
 *   vmkping [-4|-6] [-c count] [-i interval] [-s size] [-d] [-t ttl]
 *           [-W timeout] [-w deadline] [-I vmkN] [-S netstack] [-D] [-v]
 *           [--instance NAME] host
 *
 * It needs no vmkd: the stack is found in the kernel (icmp_ping.h), the
 * socket is made inside the stack's namespace, and the run is the
 * engine's.  This file parses the command line, picks the targets (one
 * host, or with -D the stack's own addresses) and prints the lines.
 *
 * Exit status: 0 a reply came (with -D: from every target), 1 none came,
 * 2 the command could not run (bad option, unknown interface or netstack,
 * unresolvable host, no socket).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "icmp_ping.h"
#include "ping_nexthop.h"
#include "stack_resolv.h"

#define PROG "vmkping"
#define EXIT_NOREPLY 1
#define EXIT_ERROR 2
#define MAX_TARGETS 128

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fputs("Usage: vmkping [args] [host]\n"
	      "   args:\n"
	      "      -4               send ICMPv4 echo requests (the default)\n"
	      "      -6               send ICMPv6 echo requests\n"
	      "      -c <count>       how many requests to send (default 3)\n"
	      "      -d               do not fragment: set DF (IPv4), no fragments (IPv6)\n"
	      "      -D               debug the stack: ping its loopback, every address of\n"
	      "                       its VMkernel adapters and its default gateway\n"
	      "      -i <interval>    seconds between requests (default 1)\n"
	      "      -I <interface>   send through this VMkernel adapter (vmkN), from its\n"
	      "                       address, without a routing lookup\n"
	      "      -N <next_hop>    send through this IPv4 next hop, whatever the\n"
	      "                       stack's routes say (needs -I)\n"
	      "      -s <size>        ICMP data bytes per request (default 56: a 64-byte\n"
	      "                       ICMP message with its 8-byte header; IP header not\n"
	      "                       counted)\n"
	      "      -t <ttl>         IPv4 time to live / IPv6 hop limit\n"
	      "      -v               verbose: say which stack, adapter and socket are used\n"
	      "      -W <timeout>     seconds to wait for replies after the last request\n"
	      "                       (default 1)\n"
	      "      -w <deadline>    seconds the whole run may take (vmk extension)\n"
	      "      -S <netstack>    the TCP/IP stack to ping from (default: the one of\n"
	      "                       -I, else defaultTcpipStack); also ++netstack=<name>\n"
	      "      --instance NAME  the vmk host instance (default $VMK_INSTANCE or\n"
	      "                       \"default\")\n"
	      "   NOTE: with -D no host is given; the stack's own addresses are pinged.\n",
	      f);
}

static _Noreturn void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", PROG);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(EXIT_ERROR);
}

/* The reference's own error lines ("Unknown interface 'vmk9': Invalid
 * argument") stand alone, without the program name. */
static _Noreturn void fail_plain(const char *msg)
{
	fprintf(stderr, "%s\n", msg);
	exit(EXIT_ERROR);
}

static unsigned long parse_uint(const char *s, const char *what, unsigned long lo, unsigned long hi)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || *s == '-' || v < lo || v > hi)
		fail("invalid %s '%s' (%lu to %lu)", what, s, lo, hi);
	return v;
}

static double parse_secs(const char *s, const char *what, double lo, double hi)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (!*s || *end || errno || !isfinite(v) || v < lo || v > hi)
		fail("invalid %s '%s' (%g to %g seconds)", what, s, lo, hi);
	return v;
}

struct target {
	char host[256];                 /* as named by the user, or the address */
	struct sockaddr_storage addr;
};

/* Resolves host for family (AF_UNSPEC: an IPv6 literal means IPv6, else
 * IPv4).  "addr%ifname" gives an IPv6 scope, looked up in the stack. */
static void resolve_host(const char *host, int *family, const struct ping_stack *st,
			 struct target *t)
{
	char name[256], *scope;
	if (strlen(host) >= sizeof(name))
		fail("unknown host '%s'", host);
	snprintf(t->host, sizeof(t->host), "%s", host);
	snprintf(name, sizeof(name), "%s", host);
	scope = strchr(name, '%');
	if (scope)
		*scope++ = 0;
	/* an address literal is never looked up by name */
	struct in6_addr a6;
	struct in_addr a4;
	bool lit6 = inet_pton(AF_INET6, name, &a6) == 1, lit4 = inet_pton(AF_INET, name, &a4) == 1;
	if (*family == AF_UNSPEC)
		*family = lit6 ? AF_INET6 : AF_INET;
	if ((lit6 && *family != AF_INET6) || (lit4 && *family != AF_INET))
		fail("unknown host '%s' (an IPv%s address; %s)", host, lit6 ? "6" : "4",
		     lit6 ? "-6 for IPv6" : "-4 for IPv4");
	struct addrinfo hints = {.ai_family = *family, .ai_socktype = SOCK_RAW,
				 .ai_flags = lit4 || lit6 ? AI_NUMERICHOST : 0}, *res = NULL;
	int r = stack_getaddrinfo(st, name, &hints, &res);
	if (r != 0 || !res)
		fail("unknown host '%s' (%s)", host, gai_strerror(r));
	memset(&t->addr, 0, sizeof(t->addr));
	memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (scope) {
		if (*family != AF_INET6)
			fail("unknown host '%s'", host);
		struct ping_addr addrs[64];
		int n = ping_stack_addrs(st, scope, AF_INET6, addrs, 64), idx = 0;
		for (int i = 0; i < n; i++)
			if (strcmp(addrs[i].ifname, scope) == 0 &&
			    ((struct sockaddr_in6 *)&addrs[i].addr)->sin6_scope_id)
				idx = (int)((struct sockaddr_in6 *)&addrs[i].addr)->sin6_scope_id;
		if (!idx) {
			fprintf(stderr, "Unknown interface '%s': Invalid argument\n", scope);
			exit(EXIT_ERROR);
		}
		((struct sockaddr_in6 *)&t->addr)->sin6_scope_id = (uint32_t)idx;
	}
}

static void print_event(const struct ping_event *ev, void *arg)
{
	(void)arg;
	char line[256];
	ping_format_event(line, sizeof(line), ev);
	puts(line);
	fflush(stdout);
}

/* -N: the next hop for IPv4 requests, or none (s_addr 0). */
static struct in_addr nexthop;

/* One PING block; returns the replies received, or -1 if the socket could
 * not be made (the error printed). */
static int ping_target(const struct target *t, struct ping_opts *o, bool verbose)
{
	char addr[INET6_ADDRSTRLEN], line[512], err[256];
	o->dest = t->addr;
	o->family = t->addr.ss_family;
	if (o->family == AF_INET6 && !o->ifname &&
	    IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)&o->dest)->sin6_addr) &&
	    !((struct sockaddr_in6 *)&o->dest)->sin6_scope_id) {
		fprintf(stderr, "%s: %s is link-local: give the adapter with -I or as %s%%vmkN\n",
			PROG, t->host, t->host);
		return -1;
	}
	struct ping_nexthop nh = {0};
	if (nexthop.s_addr) {
		if (ping_nexthop_add(&nh, o->stack->nsfd, o->ifname,
				     ((struct sockaddr_in *)&o->dest)->sin_addr, nexthop,
				     err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: %s\n", PROG, err);
			return -1;
		}
		o->mark = nh.mark;
	}
	bool raw;
	uint16_t id;
	int fd = ping_open(o, &raw, &id, err, sizeof(err));
	if (fd < 0) {
		ping_nexthop_del(&nh);
		fprintf(stderr, "%s: %s\n", PROG, err);
		return -1;
	}
	if (verbose) {
		struct sockaddr_storage me;
		socklen_t ml = sizeof(me);
		char src[INET6_ADDRSTRLEN] = "(routing decides)";
		memset(&me, 0, sizeof(me));
		if (getsockname(fd, (struct sockaddr *)&me, &ml) == 0 &&
		    ((me.ss_family == AF_INET && ((struct sockaddr_in *)&me)->sin_addr.s_addr) ||
		     (me.ss_family == AF_INET6 &&
		      !IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&me)->sin6_addr))))
			ping_addr_str(&me, src, sizeof(src));
		fprintf(stderr, "%s: netstack %s (%s), interface %s, source %s, %s ICMP socket, id %u\n",
			PROG, o->stack->name,
			o->stack->nsname[0] ? o->stack->nsname :
			o->stack->nsfd >= 0 ? "the namespace of vmkd" : "this shell's namespace",
			o->ifname ? o->ifname : "(routing decides)", src,
			raw ? "raw" : "datagram", (unsigned)id);
	}
	ping_addr_str(&t->addr, addr, sizeof(addr));
	ping_format_header(line, sizeof(line), t->host, addr, o->size);
	puts(line);
	fflush(stdout);
	struct ping_stats st;
	int r = ping_run(fd, raw, id, o, print_event, NULL, &st);
	close(fd);
	ping_nexthop_del(&nh);
	if (r < 0 && r != -EINTR)
		fprintf(stderr, "%s: %s\n", PROG, strerror(-r));
	static char block[1024];
	ping_format_stats(block, sizeof(block), t->host, &st);
	fputs(block, stdout);
	fflush(stdout);
	return (int)st.received;
}

/* -D: the stack's loopback, its adapters' addresses, its gateway. */
static int debug_targets(const struct ping_stack *st, int family, struct target *out, int max)
{
	static struct sockaddr_storage addrs[MAX_TARGETS];
	int n = ping_debug_targets(st, family, addrs, max < MAX_TARGETS ? max : MAX_TARGETS);

	for (int i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].addr = addrs[i];
		ping_addr_str(&out[i].addr, out[i].host, sizeof(out[i].host));
	}
	return n;
}

int main(int argc, char **argv)
{
	struct ping_opts o = {.family = AF_UNSPEC, .count = 3, .interval = 1.0, .timeout = 1.0,
			      .size = 56};
	const char *stack = NULL, *ifname = NULL;
	const char *instance = getenv("VMK_INSTANCE");
	bool debug = false, verbose = false, count_given = false;
	int family = AF_UNSPEC;

	/* "++netstack=NAME", the reference's other way to name the stack */
	int nargc = 0;
	for (int i = 0; i < argc; i++) {
		if (i > 0 && strncmp(argv[i], "++netstack=", 11) == 0)
			stack = argv[i] + 11;
		else if (i > 0 && strncmp(argv[i], "++", 2) == 0)
			fail("unknown option '%s'", argv[i]);
		else
			argv[nargc++] = argv[i];
	}
	argc = nargc;

	static const struct option longopts[] = {
		{"instance", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":46c:dDhi:I:N:s:S:t:vW:w:X", longopts, NULL)) != -1) {
		switch (c) {
		case '4':
		case '6':
			if (family != AF_UNSPEC && family != (c == '4' ? AF_INET : AF_INET6))
				fail("-4 and -6 exclude each other");
			family = c == '4' ? AF_INET : AF_INET6;
			break;
		case 'c':
			o.count = (unsigned)parse_uint(optarg, "count", 1, 2147483647ul);
			count_given = true;
			break;
		case 'd': o.df = true; break;
		case 'D': debug = true; break;
		case 'h': usage(stdout); return 0;
		case 'i': o.interval = parse_secs(optarg, "interval", 0.001, 3600); break;
		case 'I': ifname = optarg; break;
		case 'N':
			if (inet_pton(AF_INET, optarg, &nexthop) != 1 || !nexthop.s_addr)
				fail("invalid next hop '%s' (an IPv4 address)", optarg);
			break;
		case 's': o.size = (unsigned)parse_uint(optarg, "size", 0, PING_MAX_SIZE_V6); break;
		case 'S': stack = optarg; break;
		case 't': o.ttl = (int)parse_uint(optarg, "ttl", 1, 255); break;
		case 'v': verbose = true; break;
		case 'W': o.timeout = parse_secs(optarg, "timeout", 0, 3600); break;
		case 'w': o.deadline = parse_secs(optarg, "deadline", 0.001, 86400); break;
		case 'X': fail("-X (esxcli XML output) is not supported; use esxcli network diag ping");
		case 'n': instance = optarg; break;
		case ':':
			fail("option -%c needs a value", optopt);
		default:
			if (optopt)
				fail("unknown option -%c (vmkping -h for help)", optopt);
			fail("unknown option '%s' (vmkping -h for help)", argv[optind - 1]);
		}
	}
	if (!instance || !*instance)
		instance = "default";
	if (!ping_instance_valid(instance))
		fail("invalid instance name '%s'", instance);
	int nhosts = argc - optind;
	if (debug ? nhosts != 0 : nhosts != 1) {
		if (debug)
			fail("-D takes no host");
		usage(stderr);
		return EXIT_ERROR;
	}
	if (nexthop.s_addr) {
		if (!ifname)
			fail("-N (next hop) needs -I <interface>");
		if (debug)
			fail("-N (next hop) and -D exclude each other");
		if (family == AF_INET6)
			fail("-N (next hop) is for IPv4 only");
		family = AF_INET;
	}
	if (o.deadline > 0 && !count_given)
		o.count = 0;    /* -w alone: until the deadline */

	/* the stack, and the adapter on it */
	struct ping_stack st;
	char err[512];
	int r = ifname ? ping_find_interface(instance, ifname, stack, &st, err, sizeof(err))
		       : ping_stack_open(instance, stack, &st, err, sizeof(err));
	if (r < 0)
		fail_plain(err);
	o.stack = &st;
	o.ifname = debug ? NULL : ifname;

	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);	/* a closed terminal: end, and clean up -N */
	signal(SIGPIPE, SIG_IGN);	/* `| head`: writes fail, the run ends cleanly */
	o.stop = &stop_flag;

	static struct target targets[MAX_TARGETS];
	int ntargets;
	if (debug) {
		ntargets = debug_targets(&st, family == AF_INET6 ? AF_INET6 : AF_INET, targets,
					 MAX_TARGETS);
	} else {
		resolve_host(argv[optind], &family, &st, &targets[0]);
		ntargets = 1;
	}
	if (family != AF_INET6 && o.size > PING_MAX_SIZE_V4)
		fail("invalid size '%u' (0 to %u for IPv4)", o.size, PING_MAX_SIZE_V4);

	int answered = 0, status = 0;
	for (int i = 0; i < ntargets && !stop_flag; i++) {
		int got = ping_target(&targets[i], &o, verbose);
		if (got < 0)
			status = EXIT_ERROR;
		else if (got > 0)
			answered++;
	}
	ping_stack_close(&st);
	if (status)
		return status;
	return answered == ntargets ? 0 : EXIT_NOREPLY;
}
