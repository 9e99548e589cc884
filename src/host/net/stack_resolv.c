/*
 * Name lookups through a stack's own DNS servers (stack_resolv.h).
 *
 * glibc's resolver does the DNS work (libresolv: docs/dependencies.md):
 * res_ninit() gives a private resolver state, whose server and search
 * lists are then replaced by those of the stack's resolv.conf, because
 * res_ninit() only ever reads the machine's /etc/resolv.conf.  glibc
 * supports that: a state whose lists differ from the file it read is
 * used as it is.  IPv6 servers go where res_ninit() itself puts them
 * (the _ext.nsaddrs slots, freed by res_nclose()).
 *
 * The query runs in a short-lived thread inside the stack's namespace
 * (netns_run), so its UDP socket is the stack's and leaves through the
 * stack's adapters and routes, never the caller's; so does the
 * getaddrinfo() fallback (a stack without servers, or a name they do not
 * know: /etc/hosts, then the machine's resolv.conf, asked from the
 * stack, where it is usually unreachable).  Timeouts are kept
 * short (2 s, 2 tries per server) so that a silent server does not hold
 * a ping for long.  The answer's first A or AAAA record is then handed
 * to getaddrinfo() as a numeric host, so that the caller gets a real
 * addrinfo list to free as usual.
 */
#include "stack_resolv.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netns.h"

#define ANSWER_MAX 4096

int stack_resolv_path(const char *instance, const char *stack, char *buf, size_t len)
{
	const char *root = getenv("VMK_ROOT");
	int n;

	if (!root)
		root = "";
	if (strcmp(stack, PING_DEFAULT_STACK) == 0)
		n = snprintf(buf, len, "%s/run/vmk/%s/resolv.conf.%s", root, instance, stack);
	else
		n = snprintf(buf, len, "%s/etc/netns/vmk-%s-%s/resolv.conf", root, instance, stack);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* The servers and search domains of a stack's resolv.conf. */
struct stack_dns {
	int nservers;
	struct sockaddr_storage servers[STACK_DNS_SERVERS_MAX];
	int nsearch;
	char search[STACK_DNS_SEARCH_MAX][256];
};

static void add_server(struct stack_dns *d, const char *text)
{
	struct sockaddr_storage *ss = &d->servers[d->nservers];
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	if (d->nservers >= STACK_DNS_SERVERS_MAX)
		return;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(NS_DEFAULTPORT);
	} else if (inet_pton(AF_INET6, text, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(NS_DEFAULTPORT);
	} else {
		return;
	}
	d->nservers++;
}

static void add_search(struct stack_dns *d, char *rest)
{
	for (char *save = NULL, *w = strtok_r(rest, " \t\n", &save); w;
	     w = strtok_r(NULL, " \t\n", &save))
		if (d->nsearch < STACK_DNS_SEARCH_MAX && strlen(w) < sizeof(d->search[0]))
			snprintf(d->search[d->nsearch++], sizeof(d->search[0]), "%s", w);
}

/* Reads the file vmkd wrote: "nameserver ADDR" and "search D..." lines. */
static void load(const char *path, struct stack_dns *d)
{
	FILE *f = fopen(path, "re");
	char line[1024], word[64];

	memset(d, 0, sizeof(*d));
	for (int lines = 0; f && lines < 256 && fgets(line, sizeof(line), f); lines++) {
		int off = 0;
		if (sscanf(line, "%63s %n", word, &off) != 1)
			continue;
		if (strcmp(word, "nameserver") == 0) {
			char addr[INET6_ADDRSTRLEN];
			if (sscanf(line + off, "%45s", addr) == 1)
				add_server(d, addr);
		} else if (strcmp(word, "search") == 0) {
			add_search(d, line + off);
		}
	}
	if (f)
		fclose(f);
}

/* Replaces the server and search lists that res_ninit() read. */
static void use_stack_lists(res_state rs, const struct stack_dns *d)
{
	for (int i = 0; i < MAXNS; i++) {
		free(rs->_u._ext.nsaddrs[i]);
		rs->_u._ext.nsaddrs[i] = NULL;
	}
	rs->_u._ext.nscount = 0;
	rs->nscount = 0;
	for (int i = 0; i < d->nservers && i < MAXNS; i++) {
		if (d->servers[i].ss_family == AF_INET) {
			memcpy(&rs->nsaddr_list[i], &d->servers[i], sizeof(rs->nsaddr_list[i]));
		} else {
			struct sockaddr_in6 *a6 = malloc(sizeof(*a6));
			if (!a6)
				break;
			memcpy(a6, &d->servers[i], sizeof(*a6));
			memset(&rs->nsaddr_list[i], 0, sizeof(rs->nsaddr_list[i]));
			rs->_u._ext.nsaddrs[i] = a6;
		}
		rs->nscount = i + 1;
	}
	size_t used = 0;
	int n = 0;
	for (int i = 0; i < d->nsearch && n < MAXDNSRCH; i++) {
		size_t len = strlen(d->search[i]) + 1;
		if (used + len > sizeof(rs->defdname))
			break;
		memcpy(rs->defdname + used, d->search[i], len);
		rs->dnsrch[n++] = rs->defdname + used;
		used += len;
	}
	rs->dnsrch[n] = NULL;
	rs->retrans = 2;
	rs->retry = 2;
}

/* The first address of type `type` in the answer, as text. */
static bool first_address(const unsigned char *ans, int len, int type, char *out, size_t outlen)
{
	ns_msg msg;
	ns_rr rr;

	if (ns_initparse(ans, len, &msg) < 0)
		return false;
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			return false;
		if ((int)ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in)
			continue;
		if ((type == ns_t_a && ns_rr_rdlen(rr) == 4) ||
		    (type == ns_t_aaaa && ns_rr_rdlen(rr) == 16))
			return inet_ntop(type == ns_t_a ? AF_INET : AF_INET6, ns_rr_rdata(rr), out,
					 (socklen_t)outlen) != NULL;
	}
	return false;
}

struct query {
	const char *name;
	const struct stack_dns *dns;
	int type;                       /* ns_t_a or ns_t_aaaa */
	char addr[INET6_ADDRSTRLEN];    /* the answer */
};

/* In the stack's namespace: 0 with q->addr set, or -1. */
static int ask_servers(void *arg)
{
	struct query *q = arg;
	struct __res_state rs;
	unsigned char ans[ANSWER_MAX];

	memset(&rs, 0, sizeof(rs));
	memset(ans, 0, sizeof(ans));	/* glibc reads the header even after a timeout */
	if (res_ninit(&rs) < 0)
		return -1;
	use_stack_lists(&rs, q->dns);
	int n = res_nsearch(&rs, q->name, ns_c_in, q->type, ans, sizeof(ans));
	/* over TCP glibc returns the length the server claimed, which may be
	 * more than the buffer it filled: parse what is there, no further */
	if (n > (int)sizeof(ans))
		n = (int)sizeof(ans);
	bool found = n > 0 && first_address(ans, n, q->type, q->addr, sizeof(q->addr));
	res_nclose(&rs);
	return found ? 0 : -1;
}

struct gai_job {
	const char *name;
	const struct addrinfo *hints;
	struct addrinfo **res;
	int ret;
};

static int gai_thread(void *arg)
{
	struct gai_job *j = arg;

	j->ret = getaddrinfo(j->name, NULL, j->hints, j->res);
	return 0;
}

/* getaddrinfo() from inside the stack: its DNS queries (the machine's
 * resolv.conf) leave through the stack, as the stack's traffic should,
 * and fail there when the stack cannot reach those servers. */
static int gai_in_stack(const struct ping_stack *st, const char *name,
			const struct addrinfo *hints, struct addrinfo **res)
{
	struct gai_job j = { name, hints, res, EAI_SYSTEM };

	if (netns_run(st->nsfd, gai_thread, &j) != 0)
		return EAI_SYSTEM;
	return j.ret;
}

static bool is_literal(const char *name)
{
	unsigned char buf[sizeof(struct in6_addr)];
	char plain[INET6_ADDRSTRLEN];
	const char *pct = strchr(name, '%');

	/* "fe80::1%vmk0": an address with its scope */
	if (pct && (size_t)(pct - name) < sizeof(plain)) {
		snprintf(plain, sizeof(plain), "%.*s", (int)(pct - name), name);
		name = plain;
	}
	return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

int stack_getaddrinfo(const struct ping_stack *st, const char *name,
		      const struct addrinfo *hints, struct addrinfo **res)
{
	char path[PATH_MAX];
	struct stack_dns dns;

	if (!st || !name)
		return getaddrinfo(name, NULL, hints, res);
	/* "fe80::1%vmk1": the scope is an adapter of the stack, looked up there */
	if (is_literal(name))
		return strchr(name, '%') ? gai_in_stack(st, name, hints, res)
					 : getaddrinfo(name, NULL, hints, res);
	if (strlen(name) > NS_MAXDNAME ||
	    stack_resolv_path(st->instance, st->name, path, sizeof(path)) < 0)
		return gai_in_stack(st, name, hints, res);
	load(path, &dns);
	if (dns.nservers == 0)
		return gai_in_stack(st, name, hints, res);
	struct query q = { .name = name, .dns = &dns,
			   .type = hints && hints->ai_family == AF_INET6 ? ns_t_aaaa : ns_t_a };
	if (netns_run(st->nsfd, ask_servers, &q) != 0)
		return gai_in_stack(st, name, hints, res);
	struct addrinfo numeric = { .ai_family = AF_UNSPEC };
	if (hints)
		numeric = *hints;
	numeric.ai_flags |= AI_NUMERICHOST;
	return getaddrinfo(q.addr, NULL, &numeric, res);
}
