/*
 * ICMP echo from inside a VMkernel TCP/IP stack (see icmp_ping.h).
 *
 * Stacks.  A named namespace is a file under /run/netns on which a
 * namespace (nsfs) is bind-mounted; defaultTcpipStack is the namespace
 * of the instance's vmkd, found through its pid file, or the caller's
 * own when no vmkd runs.  A namespace that turns out to be the caller's
 * is used in place (nsfd -1), so that nothing needs setns() then.
 *
 * Anything that must act inside another namespace (creating the socket,
 * looking up an interface, reading addresses and routes) runs in a
 * thread that enters it with setns() and exits: namespaces are per
 * thread, and a socket keeps the namespace it was made in, so the caller
 * then sends and receives from its own thread.
 *
 * The engine.  An unprivileged ICMP datagram socket ("ping socket") is
 * tried first: the kernel fills in the identifier and checksum and hands
 * back only our replies.  Where the stack's ping_group_range does not
 * allow it, a raw socket is used: we then fill in the checksum (IPv4;
 * the kernel does it for ICMPv6), skip the IPv4 header, and filter
 * replies by identifier.  ICMP errors about our requests come through
 * the socket's error queue (IP_RECVERR / IPV6_RECVERR) for both kinds.
 * Send times are kept per sequence number, so the payload carries no
 * timestamp and any size, 0 included, gives a round-trip time.
 */
#include "icmp_ping.h"
#include "netns.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/errqueue.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SEQ_SLOTS 65536u                /* one per 16-bit sequence number */

static void set_err(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t len, const char *fmt, ...)
{
	if (!err || !len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}


static bool same_file(int fd, const struct stat *b)
{
	struct stat a;
	return fstat(fd, &a) == 0 && a.st_dev == b->st_dev && a.st_ino == b->st_ino;
}

/* The calling thread's namespace identity. */
static int self_ns_stat(struct stat *st)
{
	return stat("/proc/thread-self/ns/net", st) < 0 ? -errno : 0;
}

/* fd of a namespace, or -1 when it is the caller's own (fd closed). */
static int normalize_ns(int fd)
{
	struct stat self;
	if (fd >= 0 && self_ns_stat(&self) == 0 && same_file(fd, &self)) {
		close(fd);
		return -1;
	}
	return fd;
}

bool ping_instance_valid(const char *name)
{
	size_t n = strlen(name);
	if (n < 1 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static const char *vmk_root(void)
{
	const char *r = getenv("VMK_ROOT");
	return r ? r : "";
}

/* defaultTcpipStack: the namespace of the instance's running vmkd, or -1
 * (the caller's) when there is none. */
static int open_default_ns(const char *instance)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/run/vmk/%s/vmkd.pid", vmk_root(), instance);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long pid = 0;
	int n = fscanf(f, "%ld", &pid);
	fclose(f);
	if (n != 1 || pid <= 0 || pid > INT_MAX)
		return -1;
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return -1;      /* stale pid file: vmkd is not running */
	snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
	int fd = netns_open_path(path);
	return fd < 0 ? -1 : normalize_ns(fd);
}

/* A stack name that can be part of a namespace name. */
static bool stack_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n >= PING_STACK_NAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || (unsigned char)s[i] <= ' ')
			return false;
	return true;
}

static void stack_init_default(struct ping_stack *out, const char *instance)
{
	memset(out, 0, sizeof(*out));
	out->nsfd = open_default_ns(instance);
	snprintf(out->name, sizeof(out->name), "%s", PING_DEFAULT_STACK);
	snprintf(out->instance, sizeof(out->instance), "%s", instance);
}

int ping_stack_open(const char *instance, const char *stack, struct ping_stack *out,
		    char *err, size_t errlen)
{
	if (!stack || strcmp(stack, PING_DEFAULT_STACK) == 0) {
		stack_init_default(out, instance);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	out->nsfd = -1;
	char path[PATH_MAX];
	if (!stack_name_valid(stack) ||
	    (size_t)snprintf(out->nsname, sizeof(out->nsname), "vmk-%s-%s", instance, stack) >=
	    sizeof(out->nsname)) {
		set_err(err, errlen, "Unknown netstack '%s'", stack);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, out->nsname);
	int fd = netns_open_path(path);
	if (fd < 0) {
		set_err(err, errlen, "Unknown netstack '%s'", stack);
		out->nsname[0] = 0;
		return fd;
	}
	out->nsfd = normalize_ns(fd);
	snprintf(out->name, sizeof(out->name), "%s", stack);
	snprintf(out->instance, sizeof(out->instance), "%s", instance);
	return 0;
}

void ping_stack_close(struct ping_stack *st)
{
	if (st->nsfd >= 0)
		close(st->nsfd);
	st->nsfd = -1;
}

struct ifindex_args {
	const char *name;
};

static int lookup_ifindex(void *p)
{
	struct ifindex_args *a = p;
	unsigned idx = if_nametoindex(a->name);
	return idx ? (int)idx : -errno;
}

/* Index of interface name inside the stack's namespace, or -errno. */
static int stack_ifindex(const struct ping_stack *st, const char *name)
{
	struct ifindex_args a = {.name = name};
	return netns_run(st->nsfd, lookup_ifindex, &a);
}

/* True when namespace vmk-INSTANCE-REST belongs to a longer instance
 * name ("vmk-a-b-x" is instance "a-b"'s stack "x", not "a"'s "b-x"): an
 * instance "INSTANCE-PREFIX" that has a run or state directory. */
static bool owned_by_longer_instance(const char *instance, const char *rest)
{
	const char *dash = rest;
	while ((dash = strchr(dash, '-')) != NULL) {
		char longer[128], path[PATH_MAX];
		int n = snprintf(longer, sizeof(longer), "%s-%.*s", instance, (int)(dash - rest), rest);
		dash++;
		if (n < 0 || (size_t)n >= sizeof(longer) || !ping_instance_valid(longer))
			continue;
		struct stat sb;
		snprintf(path, sizeof(path), "%s/run/vmk/%s", vmk_root(), longer);
		if (stat(path, &sb) == 0)
			return true;
		snprintf(path, sizeof(path), "%s/var/lib/vmk/%s", vmk_root(), longer);
		if (stat(path, &sb) == 0)
			return true;
	}
	return false;
}

#define MAX_STACKS 256

/* Every stack of the instance, defaultTcpipStack first, then the named
 * ones in name order; namespaces seen twice are listed once. */
static int list_stacks(const char *instance, struct ping_stack *out, int max)
{
	int n = 0;
	struct stat seen[MAX_STACKS];
	stack_init_default(&out[n], instance);
	if (out[n].nsfd >= 0 ? fstat(out[n].nsfd, &seen[n]) : self_ns_stat(&seen[n]))
		memset(&seen[n], 0, sizeof(seen[n]));
	n++;

	struct dirent **names = NULL;
	int count = scandir(NETNS_RUN_DIR, &names, NULL, alphasort);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "vmk-%s-", instance);
	size_t plen = strlen(prefix);
	for (int i = 0; i < count; i++) {
		const char *name = names[i]->d_name;
		const char *rest = name + plen;
		if (n >= max || n >= MAX_STACKS || strncmp(name, prefix, plen) != 0 || !stack_name_valid(rest) ||
		    owned_by_longer_instance(instance, rest))
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, name);
		int fd = netns_open_path(path);
		if (fd < 0)
			continue;
		struct stat sb;
		bool dup = fstat(fd, &sb) < 0;
		for (int j = 0; j < n && !dup; j++)
			dup = sb.st_dev == seen[j].st_dev && sb.st_ino == seen[j].st_ino;
		if (dup) {
			close(fd);
			continue;
		}
		struct ping_stack *st = &out[n];
		memset(st, 0, sizeof(*st));
		st->nsfd = normalize_ns(fd);
		snprintf(st->name, sizeof(st->name), "%s", rest);
		snprintf(st->nsname, sizeof(st->nsname), "%s", name);
		snprintf(st->instance, sizeof(st->instance), "%s", instance);
		seen[n++] = sb;
	}
	for (int i = 0; i < count; i++)
		free(names[i]);
	free(names);
	return n;
}

int ping_find_interface(const char *instance, const char *ifname, const char *stack,
			struct ping_stack *out, char *err, size_t errlen)
{
	if (!*ifname || strlen(ifname) >= IF_NAMESIZE || strchr(ifname, '/')) {
		set_err(err, errlen, "Unknown interface '%s': Invalid argument", ifname);
		return -ENODEV;
	}
	if (stack) {
		int r = ping_stack_open(instance, stack, out, err, errlen);
		if (r < 0)
			return r;
		if (stack_ifindex(out, ifname) > 0)
			return 0;
		ping_stack_close(out);
	}

	struct ping_stack *all = calloc(MAX_STACKS, sizeof(*all));
	if (!all) {
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int n = list_stacks(instance, all, MAX_STACKS), found = -1, nfound = 0;
	char where[512] = "";
	size_t wlen = 0;
	for (int i = 0; i < n; i++) {
		if (stack_ifindex(&all[i], ifname) <= 0)
			continue;
		if (nfound++ == 0)
			found = i;
		int w = snprintf(where + wlen, sizeof(where) - wlen, "%s'%s'", wlen ? ", " : "",
				 all[i].name);
		if (w > 0 && (size_t)w < sizeof(where) - wlen)
			wlen += (size_t)w;
	}
	int ret = 0;
	if (nfound == 0) {
		set_err(err, errlen, "Unknown interface '%s': Invalid argument", ifname);
		ret = -ENODEV;
	} else if (stack) {
		set_err(err, errlen, "Interface '%s' is not on netstack '%s' (it is on %s)",
			ifname, stack, where);
		ret = -EXDEV;
	} else if (nfound > 1) {
		set_err(err, errlen, "Interface '%s' is on several netstacks: %s", ifname, where);
		ret = -EEXIST;
	} else {
		*out = all[found];
		all[found].nsfd = -1;
	}
	for (int i = 0; i < n; i++)
		ping_stack_close(&all[i]);
	free(all);
	return ret;
}

/* ---- addresses and gateways of a stack ---- */

struct addrs_args {
	const char *prefix;
	int family;
	struct ping_addr *out;
	int max;
};

static int addr_rank(const struct ping_addr *a)
{
	return a->addr.ss_family == AF_INET ? 0 : 1;
}

static int cmp_addr(const void *pa, const void *pb)
{
	const struct ping_addr *a = pa, *b = pb;
	int c = strcmp(a->ifname, b->ifname);
	if (c)
		return c;
	return addr_rank(a) - addr_rank(b);
}

static int collect_addrs(void *p)
{
	struct addrs_args *a = p;
	struct ifaddrs *list;
	if (getifaddrs(&list) < 0)
		return -errno;
	int n = 0;
	size_t plen = strlen(a->prefix);
	for (struct ifaddrs *i = list; i && n < a->max; i = i->ifa_next) {
		if (!i->ifa_addr || strncmp(i->ifa_name, a->prefix, plen) != 0)
			continue;
		int fam = i->ifa_addr->sa_family;
		if ((fam != AF_INET && fam != AF_INET6) || (a->family != AF_UNSPEC && fam != a->family))
			continue;
		struct ping_addr *o = &a->out[n++];
		memset(o, 0, sizeof(*o));
		snprintf(o->ifname, sizeof(o->ifname), "%s", i->ifa_name);
		memcpy(&o->addr, i->ifa_addr,
		       fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	}
	freeifaddrs(list);
	/* stable: getifaddrs lists IPv4 before IPv6 and addresses in order */
	for (int i = 1; i < n; i++) {
		struct ping_addr t = a->out[i];
		int j = i;
		while (j > 0 && cmp_addr(&a->out[j - 1], &t) > 0) {
			a->out[j] = a->out[j - 1];
			j--;
		}
		a->out[j] = t;
	}
	return n;
}

int ping_stack_addrs(const struct ping_stack *st, const char *prefix, int family,
		     struct ping_addr *out, int max)
{
	struct addrs_args a = {.prefix = prefix, .family = family, .out = out, .max = max};
	return netns_run(st ? st->nsfd : -1, collect_addrs, &a);
}

struct gw_args {
	int family;
	struct sockaddr_storage *gw;
};

static int hexnibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool parse_hex128(const char *s, uint8_t out[16])
{
	for (int i = 0; i < 16; i++) {
		int hi = hexnibble(s[2 * i]), lo = hi < 0 ? -1 : hexnibble(s[2 * i + 1]);
		if (lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* Reads the routing table of the thread's namespace (/proc/thread-self/net
 * follows the thread, /proc/self/net the process). */
static int find_gateway(void *p)
{
	struct gw_args *a = p;
	char line[512];
	int found = 0;
	if (a->family == AF_INET) {
		FILE *f = fopen("/proc/thread-self/net/route", "re");
		if (!f)
			return -errno;
		while (!found && fgets(line, sizeof(line), f)) {
			char dev[64];
			unsigned dst, gw, flags, mask;
			if (sscanf(line, "%63s %x %x %x %*s %*s %*s %x", dev, &dst, &gw, &flags, &mask) != 5)
				continue;
			if (dst == 0 && mask == 0 && (flags & 0x2 /* RTF_GATEWAY */) && gw != 0) {
				struct sockaddr_in *sin = (struct sockaddr_in *)a->gw;
				memset(a->gw, 0, sizeof(*a->gw));
				sin->sin_family = AF_INET;
				sin->sin_addr.s_addr = gw;      /* printed from network order as is */
				found = 1;
			}
		}
		fclose(f);
		return found;
	}
	FILE *f = fopen("/proc/thread-self/net/ipv6_route", "re");
	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f)) {
		char dst[33], src[33], nh[33], dev[64];
		unsigned plen, splen, flags;
		uint8_t d[16], g[16];
		if (sscanf(line, "%32s %x %32s %x %32s %*s %*s %*s %x %63s", dst, &plen, src, &splen,
			   nh, &flags, dev) != 7)
			continue;
		if (plen != 0 || !parse_hex128(dst, d) || !parse_hex128(nh, g) ||
		    !(flags & 0x2 /* RTF_GATEWAY */))
			continue;
		static const uint8_t zero[16];
		if (memcmp(d, zero, 16) != 0 || memcmp(g, zero, 16) == 0)
			continue;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)a->gw;
		memset(a->gw, 0, sizeof(*a->gw));
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, g, 16);
		if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr))
			sin6->sin6_scope_id = if_nametoindex(dev);
		found = 1;
	}
	fclose(f);
	return found;
}

int ping_stack_gateway(const struct ping_stack *st, int family, struct sockaddr_storage *gw)
{
	struct gw_args a = {.family = family, .gw = gw};
	return netns_run(st ? st->nsfd : -1, find_gateway, &a);
}

int ping_debug_targets(const struct ping_stack *st, int family, struct sockaddr_storage *out,
		       int max)
{
	struct ping_addr addrs[PING_DEBUG_MAX];
	struct sockaddr_storage gw;
	int n = 0;

	if (max < 1)
		return 0;
	memset(&out[n], 0, sizeof(out[n]));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out[n++];
		s->sin6_family = AF_INET6;
		s->sin6_addr = in6addr_loopback;
	} else {
		struct sockaddr_in *s = (struct sockaddr_in *)&out[n++];
		s->sin_family = AF_INET;
		s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	int k = ping_stack_addrs(st, "vmk", family, addrs, PING_DEBUG_MAX);
	for (int i = 0; i < k && n < max - 1; i++)	/* room kept for the gateway */
		out[n++] = addrs[i].addr;
	if (n < max && ping_stack_gateway(st, family, &gw) == 1)
		out[n++] = gw;
	return n;
}

void ping_addr_str(const struct sockaddr_storage *sa, char *buf, size_t len)
{
	const void *a = sa->ss_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
						   : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
	if (!inet_ntop(sa->ss_family, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* ---- the socket ---- */

struct sock_args {
	int family;
	bool raw;
};

static int make_icmp_socket(void *p)
{
	struct sock_args *a = p;
	int proto = a->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	int fd = socket(a->family, SOCK_DGRAM | SOCK_CLOEXEC, proto);
	if (fd >= 0) {
		a->raw = false;
		return fd;
	}
	int dgram_err = errno;
	fd = socket(a->family, SOCK_RAW | SOCK_CLOEXEC, proto);
	if (fd >= 0) {
		a->raw = true;
		return fd;
	}
	/* neither kind: report why the raw one failed, unless that says less */
	return -(errno == EPERM || errno == EACCES ? errno : dgram_err);
}

static socklen_t sa_len(int family)
{
	return family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* The address to send from on adapter ifname: IPv4 its first address;
 * IPv6 one of the destination's kind (link-local or not). */
static int adapter_source(const struct ping_opts *o, struct sockaddr_storage *src)
{
	struct ping_addr addrs[64];
	int n = ping_stack_addrs(o->stack, o->ifname, o->family, addrs, 64);
	if (n < 0)
		return n;
	bool want_ll = o->family == AF_INET6 &&
		IN6_IS_ADDR_LINKLOCAL(&((const struct sockaddr_in6 *)&o->dest)->sin6_addr);
	const struct ping_addr *pick = NULL;
	for (int i = 0; i < n; i++) {
		if (strcmp(addrs[i].ifname, o->ifname) != 0)
			continue;
		if (o->family == AF_INET6) {
			bool ll = IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)&addrs[i].addr)->sin6_addr);
			if (ll != want_ll) {
				if (!pick)
					pick = &addrs[i];       /* a fallback */
				continue;
			}
		}
		pick = &addrs[i];
		break;
	}
	if (!pick)
		return 0;
	*src = pick->addr;
	return 1;
}

static int set_int(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v)) < 0 ? -errno : 0;
}

static int next_raw_id(void)
{
	static unsigned counter;
	unsigned c = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
	return (int)(((unsigned)getpid() + c * 0x9e37u) & 0xffff);
}

int ping_open(const struct ping_opts *o, bool *raw, uint16_t *id, char *err, size_t errlen)
{
	if (o->family != AF_INET && o->family != AF_INET6) {
		set_err(err, errlen, "unsupported address family");
		return -EAFNOSUPPORT;
	}
	struct sock_args sa = {.family = o->family};
	int fd = netns_run(o->stack ? o->stack->nsfd : -1, make_icmp_socket, &sa);
	if (fd < 0) {
		if (o->stack && o->stack->nsfd >= 0 && (fd == -EPERM || fd == -EACCES))
			set_err(err, errlen, "cannot enter netstack '%s': %s", o->stack->name, strerror(-fd));
		else
			set_err(err, errlen, "socket() failed (%s)", strerror(-fd));
		return fd;
	}
	int v4 = o->family == AF_INET;
	int r = 0;
	const char *what = "";

	struct sockaddr_storage src;
	memset(&src, 0, sizeof(src));
	src.ss_family = (sa_family_t)o->family;
	if (o->ifname) {
		what = "SO_BINDTODEVICE";
		if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->ifname,
			       (socklen_t)strlen(o->ifname) + 1) < 0) {
			r = -errno;
			goto fail;
		}
		what = "source address";
		r = adapter_source(o, &src);
		if (r < 0)
			goto fail;
		r = 0;
	}
	if (o->mark) {
		what = "SO_MARK";
		if (setsockopt(fd, SOL_SOCKET, SO_MARK, &o->mark, sizeof(o->mark)) < 0) {
			r = -errno;
			goto fail;
		}
	}
	/* a datagram socket gets its identifier when bound; a raw one is
	 * bound only to pin the source address */
	if (!sa.raw || o->ifname) {
		what = "bind()";
		if (bind(fd, (struct sockaddr *)&src, sa_len(o->family)) < 0) {
			r = -errno;
			goto fail;
		}
	}
	if (sa.raw) {
		*id = (uint16_t)next_raw_id();
	} else {
		struct sockaddr_storage me;
		socklen_t ml = sizeof(me);
		what = "getsockname()";
		if (getsockname(fd, (struct sockaddr *)&me, &ml) < 0) {
			r = -errno;
			goto fail;
		}
		*id = ntohs(v4 ? ((struct sockaddr_in *)&me)->sin_port
			       : ((struct sockaddr_in6 *)&me)->sin6_port);
	}

	what = "setsockopt()";
	if (v4) {
		if ((r = set_int(fd, IPPROTO_IP, IP_RECVERR, 1)) ||
		    (r = set_int(fd, IPPROTO_IP, IP_RECVTTL, 1)) ||
		    (r = set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER,
				 o->df ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT)))
			goto fail;
		if (o->ttl > 0 && ((r = set_int(fd, IPPROTO_IP, IP_TTL, o->ttl)) ||
				   (r = set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, o->ttl))))
			goto fail;
		if (sa.raw) {
			struct icmp_filter filt = {
				.data = ~((1u << ICMP_ECHOREPLY) | (1u << ICMP_DEST_UNREACH) |
					  (1u << ICMP_SOURCE_QUENCH) | (1u << ICMP_TIME_EXCEEDED) |
					  (1u << ICMP_PARAMETERPROB)),
			};
			if (setsockopt(fd, SOL_RAW, ICMP_FILTER, &filt, sizeof(filt)) < 0) {
				r = -errno;
				goto fail;
			}
		}
	} else {
		if ((r = set_int(fd, IPPROTO_IPV6, IPV6_RECVERR, 1)) ||
		    (r = set_int(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)))
			goto fail;
		if (o->df && ((r = set_int(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO)) ||
			      (r = set_int(fd, IPPROTO_IPV6, IPV6_DONTFRAG, 1))))
			goto fail;
		if (o->ttl > 0 && ((r = set_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, o->ttl)) ||
				   (r = set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, o->ttl))))
			goto fail;
		if (sa.raw) {
			struct icmp6_filter filt;
			ICMP6_FILTER_SETBLOCKALL(&filt);
			ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filt);
			if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt, sizeof(filt)) < 0) {
				r = -errno;
				goto fail;
			}
		}
	}
	/* room for a few of the largest replies */
	int rcv = (int)(o->size + 128) * 4;
	if (rcv > 256 * 1024)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	*raw = sa.raw;
	return fd;

fail:
	set_err(err, errlen, "%s failed (%s)", what, strerror(-r));
	close(fd);
	return r;
}

/* ---- the engine ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t secs_to_ns(double s)
{
	if (s <= 0)
		return 0;
	if (s > 1e9)
		s = 1e9;
	return (uint64_t)(s * 1e9 + 0.5);
}

/* RFC 1071 Internet checksum. */
static uint16_t inet_cksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

struct engine {
	int fd;
	bool raw;
	uint16_t id;
	const struct ping_opts *o;
	ping_event_fn fn;
	void *arg;
	struct ping_stats *st;
	uint64_t *sent_at;              /* per sequence: send time + 1, 0 never sent */
	uint8_t *replied, *resolved;    /* bitmaps per sequence */
	unsigned pending;               /* requests sent and neither answered nor failed */
	uint8_t *pkt, *buf;
	size_t pkt_len, buf_len;
};

static bool bit(const uint8_t *m, unsigned i) { return m[i >> 3] & (1u << (i & 7)); }
static void set_bit(uint8_t *m, unsigned i) { m[i >> 3] |= (uint8_t)(1u << (i & 7)); }
static void clear_bit(uint8_t *m, unsigned i) { m[i >> 3] &= (uint8_t)~(1u << (i & 7)); }

static void emit(struct engine *e, struct ping_event *ev)
{
	ev->family = e->o->family;
	if (e->fn)
		e->fn(ev, e->arg);
}

/* Marks seq answered (by a reply or an ICMP error). */
static void resolve(struct engine *e, unsigned seq)
{
	if (!bit(e->resolved, seq)) {
		set_bit(e->resolved, seq);
		if (e->pending)
			e->pending--;
	}
}

static void send_one(struct engine *e, unsigned seq)
{
	uint8_t *p = e->pkt;
	bool v4 = e->o->family == AF_INET;
	p[0] = v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	p[1] = 0;
	p[2] = p[3] = 0;
	p[4] = (uint8_t)(e->id >> 8);
	p[5] = (uint8_t)e->id;
	p[6] = (uint8_t)(seq >> 8);
	p[7] = (uint8_t)seq;
	if (v4 && e->raw) {
		uint16_t c = inet_cksum(p, e->pkt_len);
		p[2] = (uint8_t)(c >> 8);
		p[3] = (uint8_t)c;
	}
	/* a slot reused after 65536 requests forgets its old request */
	if (e->sent_at[seq] && !bit(e->resolved, seq) && e->pending)
		e->pending--;
	clear_bit(e->replied, seq);
	clear_bit(e->resolved, seq);
	e->sent_at[seq] = now_ns() + 1;
	e->st->transmitted++;
	ssize_t n = sendto(e->fd, p, e->pkt_len, MSG_DONTWAIT, (const struct sockaddr *)&e->o->dest,
			   sa_len(e->o->family));
	if (n < 0) {
		struct ping_event ev = {.kind = PING_EV_SEND_ERROR, .seq = seq, .err = errno, .ttl = -1};
		set_bit(e->resolved, seq);
		e->st->errors++;
		emit(e, &ev);
		return;
	}
	e->pending++;
}

static bool payload_ok(const struct engine *e, const uint8_t *icmp, size_t len)
{
	/* only what arrived is compared: a short reply is reported as such */
	for (size_t i = 8; i < len && i < e->pkt_len; i++)
		if (icmp[i] != e->pkt[i])
			return false;
	return true;
}

static void handle_reply(struct engine *e, size_t n, const struct sockaddr_storage *from,
			 int ttl, uint64_t t)
{
	const uint8_t *icmp = e->buf;
	size_t len = n;
	bool v4 = e->o->family == AF_INET;
	if (v4 && e->raw) {
		if (len < 20)
			return;
		size_t ihl = (size_t)(e->buf[0] & 0x0f) * 4;
		if (ihl < 20 || ihl > len)
			return;
		if (ttl < 0)
			ttl = e->buf[8];
		icmp += ihl;
		len -= ihl;
		if (len >= 8 && inet_cksum(icmp, len) != 0)
			return;         /* damaged on the way */
	}
	if (len < 8 || icmp[0] != (v4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY) || icmp[1] != 0)
		return;
	uint16_t id = (uint16_t)(icmp[4] << 8 | icmp[5]);
	unsigned seq = (unsigned)(icmp[6] << 8 | icmp[7]);
	if (e->raw && id != e->id)
		return;         /* someone else's ping in this stack */
	if (!e->sent_at[seq] || !payload_ok(e, icmp, len))
		return;
	uint64_t rtt = t > e->sent_at[seq] - 1 ? t - (e->sent_at[seq] - 1) : 0;
	struct ping_event ev = {.kind = PING_EV_REPLY, .seq = seq, .bytes = (unsigned)len,
				.ttl = ttl, .rtt_ns = rtt};
	ping_addr_str(from, ev.from, sizeof(ev.from));
	if (bit(e->replied, seq)) {
		ev.dup = true;
		e->st->duplicates++;
	} else {
		set_bit(e->replied, seq);
		resolve(e, seq);
		struct ping_stats *s = e->st;
		if (s->received == 0 || rtt < s->rtt_min_ns)
			s->rtt_min_ns = rtt;
		if (rtt > s->rtt_max_ns)
			s->rtt_max_ns = rtt;
		s->rtt_sum_ns += rtt;
		s->received++;
	}
	emit(e, &ev);
}

/* Reads what is queued; each call bounded so sending stays on time. */
static void drain_replies(struct engine *e)
{
	for (int i = 0; i < 256; i++) {
		struct sockaddr_storage from;
		char ctl[256];
		struct iovec iov = {.iov_base = e->buf, .iov_len = e->buf_len};
		struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
				   .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
		memset(&from, 0, sizeof(from));
		ssize_t n = recvmsg(e->fd, &m, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			continue;       /* a pending socket error, told by the error queue */
		}
		uint64_t t = now_ns();
		int ttl = -1;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
			    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)) {
				int v;
				memcpy(&v, CMSG_DATA(c), sizeof(v));
				ttl = v;
			}
		}
		handle_reply(e, (size_t)n, &from, ttl, t);
	}
}

static void drain_errors(struct engine *e)
{
	for (int i = 0; i < 256; i++) {
		char ctl[512];
		struct iovec iov = {.iov_base = e->buf, .iov_len = e->buf_len};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
				   .msg_controllen = sizeof(ctl)};
		ssize_t n = recvmsg(e->fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT);
		if (n < 0)
			return;
		const struct sock_extended_err *ee = NULL;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
			if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
			    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR))
				ee = (const struct sock_extended_err *)CMSG_DATA(c);
		if (!ee || (ee->ee_origin != SO_EE_ORIGIN_ICMP && ee->ee_origin != SO_EE_ORIGIN_ICMP6))
			continue;       /* local errors were told by sendto() */
		bool v4 = e->o->family == AF_INET;
		const uint8_t *q = e->buf;     /* our request, as quoted back */
		if (n < 8 || q[0] != (v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST))
			continue;
		uint16_t id = (uint16_t)(q[4] << 8 | q[5]);
		unsigned seq = (unsigned)(q[6] << 8 | q[7]);
		if (id != e->id || !e->sent_at[seq])
			continue;
		struct ping_event ev = {.kind = PING_EV_ICMP_ERROR, .seq = seq, .ttl = -1,
					.icmp_type = ee->ee_type, .icmp_code = ee->ee_code,
					.icmp_info = ee->ee_info, .err = (int)ee->ee_errno};
		const struct sockaddr *off = SO_EE_OFFENDER(ee);
		if (off->sa_family == AF_INET || off->sa_family == AF_INET6) {
			struct sockaddr_storage ss;
			memset(&ss, 0, sizeof(ss));
			memcpy(&ss, off, sa_len(off->sa_family));
			ping_addr_str(&ss, ev.from, sizeof(ev.from));
		} else {
			snprintf(ev.from, sizeof(ev.from), "?");
		}
		e->st->errors++;
		resolve(e, seq);
		emit(e, &ev);
	}
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

int ping_run(int fd, bool raw, uint16_t id, const struct ping_opts *o,
	     ping_event_fn fn, void *arg, struct ping_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	if (o->count == 0 && o->deadline <= 0)
		return -EINVAL;         /* never unbounded */
	if (o->interval <= 0)
		return -EINVAL;
	struct engine e = {.fd = fd, .raw = raw, .id = id, .o = o, .fn = fn, .arg = arg, .st = stats};
	e.pkt_len = 8 + (size_t)o->size;
	e.buf_len = e.pkt_len + 60 + 64;        /* an IPv4 header (raw) and slack */
	if (e.buf_len < 1024)
		e.buf_len = 1024;
	e.sent_at = calloc(SEQ_SLOTS, sizeof(*e.sent_at));
	e.replied = calloc(SEQ_SLOTS / 8, 1);
	e.resolved = calloc(SEQ_SLOTS / 8, 1);
	e.pkt = malloc(e.pkt_len);
	e.buf = malloc(e.buf_len);
	int ret = 0;
	if (!e.sent_at || !e.replied || !e.resolved || !e.pkt || !e.buf) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 8; i < e.pkt_len; i++)
		e.pkt[i] = (uint8_t)(i - 8);

	uint64_t interval = secs_to_ns(o->interval), timeout = secs_to_ns(o->timeout);
	uint64_t t0 = now_ns();
	uint64_t end_at = o->deadline > 0 ? t0 + secs_to_ns(o->deadline) : UINT64_MAX;
	uint64_t next_send = t0, wait_until = 0;
	unsigned seq = 0;
	for (;;) {
		if (o->stop && *o->stop)
			break;
		uint64_t t = now_ns();
		if (t >= end_at)
			break;
		bool more = o->count == 0 || stats->transmitted < o->count;
		if (more && t >= next_send) {
			send_one(&e, seq);
			seq = (seq + 1) & 0xffff;
			next_send += interval;
			if (next_send < t)
				next_send = t;          /* fell behind: no bursts */
			if (o->count && stats->transmitted >= o->count)
				wait_until = t + timeout;
			continue;
		}
		if (!more && (e.pending == 0 || t >= wait_until))
			break;
		uint64_t wake = min_u64(more ? next_send : wait_until, end_at);
		uint64_t d = wake > t ? wake - t : 0;
		struct timespec ts = {.tv_sec = (time_t)(d / 1000000000u), .tv_nsec = (long)(d % 1000000000u)};
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int r = ppoll(&pfd, 1, &ts, NULL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		if (r == 0)
			continue;
		if (pfd.revents & POLLERR)
			drain_errors(&e);
		if (pfd.revents & POLLIN)
			drain_replies(&e);
		if (pfd.revents & POLLNVAL) {
			ret = -EBADF;
			break;
		}
	}
out:
	free(e.sent_at);
	free(e.replied);
	free(e.resolved);
	free(e.pkt);
	free(e.buf);
	return ret;
}

/* ---- text ---- */

const char *ping_icmp_error_text(int family, uint8_t type, uint8_t code)
{
	if (family == AF_INET) {
		static const char *const unreach[] = {
			"Destination Net Unreachable",
			"Destination Host Unreachable",
			"Destination Protocol Unreachable",
			"Destination Port Unreachable",
			"Fragmentation needed and DF set",
			"Source Route Failed",
			"Destination Net Unknown",
			"Destination Host Unknown",
			"Source Host Isolated",
			"Destination Net Administratively Prohibited",
			"Destination Host Administratively Prohibited",
			"Destination Net Unreachable for Type of Service",
			"Destination Host Unreachable for Type of Service",
			"Communication Administratively Prohibited",
			"Host Precedence Violation",
			"Precedence Cutoff in Effect",
		};
		switch (type) {
		case ICMP_DEST_UNREACH:
			return code < sizeof(unreach) / sizeof(unreach[0]) ? unreach[code]
									  : "Destination Unreachable";
		case ICMP_SOURCE_QUENCH:
			return "Source Quench";
		case ICMP_TIME_EXCEEDED:
			return code == 1 ? "Fragment Reassembly Time Exceeded" : "Time to Live Exceeded";
		case ICMP_PARAMETERPROB:
			return "Parameter Problem";
		default:
			return "ICMP Error";
		}
	}
	static const char *const unreach6[] = {
		"No Route to Destination",
		"Communication Administratively Prohibited",
		"Beyond Scope of Source Address",
		"Address Unreachable",
		"Port Unreachable",
		"Source Address Failed Ingress/Egress Policy",
		"Reject Route to Destination",
	};
	switch (type) {
	case ICMP6_DST_UNREACH:
		return code < sizeof(unreach6) / sizeof(unreach6[0]) ? unreach6[code]
								    : "Destination Unreachable";
	case ICMP6_PACKET_TOO_BIG:
		return "Packet Too Big";
	case ICMP6_TIME_EXCEEDED:
		return code == 1 ? "Fragment Reassembly Time Exceeded" : "Hop Limit Exceeded in Transit";
	case ICMP6_PARAM_PROB:
		return "Parameter Problem";
	default:
		return "ICMPv6 Error";
	}
}

static void ms3(char *b, size_t len, uint64_t ns)
{
	uint64_t us = (ns + 500) / 1000;
	snprintf(b, len, "%" PRIu64 ".%03" PRIu64, us / 1000, us % 1000);
}

void ping_format_header(char *buf, size_t len, const char *host, const char *addr, unsigned size)
{
	snprintf(buf, len, "PING %s (%s): %u data bytes", host, addr, size);
}

void ping_format_event(char *buf, size_t len, const struct ping_event *ev)
{
	switch (ev->kind) {
	case PING_EV_REPLY: {
		char t[32];
		ms3(t, sizeof(t), ev->rtt_ns);
		snprintf(buf, len, "%u bytes from %s: icmp_seq=%u ttl=%d time=%s ms%s",
			 ev->bytes, ev->from, ev->seq, ev->ttl, t, ev->dup ? " (DUP!)" : "");
		break;
	}
	case PING_EV_SEND_ERROR:
		snprintf(buf, len, "sendto() failed (%s)", strerror(ev->err));
		break;
	case PING_EV_ICMP_ERROR: {
		const char *text = ping_icmp_error_text(ev->family, ev->icmp_type, ev->icmp_code);
		bool mtu = (ev->family == AF_INET && ev->icmp_type == ICMP_DEST_UNREACH &&
			    ev->icmp_code == ICMP_FRAG_NEEDED) ||
			   (ev->family == AF_INET6 && ev->icmp_type == ICMP6_PACKET_TOO_BIG);
		if (mtu)
			snprintf(buf, len, "From %s: icmp_seq=%u %s (MTU %" PRIu32 ")", ev->from, ev->seq,
				 text, ev->icmp_info);
		else
			snprintf(buf, len, "From %s: icmp_seq=%u %s", ev->from, ev->seq, text);
		break;
	}
	default:
		snprintf(buf, len, "?");
	}
}

void ping_format_stats(char *buf, size_t len, const char *host, const struct ping_stats *st)
{
	unsigned loss = 0;
	if (st->transmitted)
		loss = (unsigned)(((uint64_t)(st->transmitted - (st->received < st->transmitted ?
								  st->received : st->transmitted)) * 100) /
				  st->transmitted);
	char dups[32] = "";
	if (st->duplicates)
		snprintf(dups, sizeof(dups), "+%u duplicates, ", st->duplicates);
	int n = snprintf(buf, len,
			 "\n--- %s ping statistics ---\n"
			 "%u packets transmitted, %u packets received, %s%u%% packet loss\n",
			 host, st->transmitted, st->received, dups, loss);
	if (n < 0 || (size_t)n >= len)
		return;
	if (st->received) {
		char mn[32], av[32], mx[32];
		ms3(mn, sizeof(mn), st->rtt_min_ns);
		ms3(av, sizeof(av), st->rtt_sum_ns / st->received);
		ms3(mx, sizeof(mx), st->rtt_max_ns);
		int m = snprintf(buf + n, len - (size_t)n, "round-trip min/avg/max = %s/%s/%s ms\n",
				 mn, av, mx);
		if (m < 0 || (size_t)m >= len - (size_t)n)
			return;
		n += m;
	}
	/* ESXi 9 ends the block with an empty line */
	snprintf(buf + n, len - (size_t)n, "\n");
}
