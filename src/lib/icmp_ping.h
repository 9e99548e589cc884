/*
 * ICMP echo ("ping") from inside a VMkernel TCP/IP stack.
 *
 * Two halves, both usable by vmkping and by `esxcli network diag ping`:
 *
 *  1. Finding the stack (docs/vmkping.md).  The kernel is the source of
 *     truth, vmkd is not needed: a stack other than defaultTcpipStack is
 *     the named namespace /run/netns/vmk-INSTANCE-STACK; defaultTcpipStack
 *     is the namespace of the instance's vmkd (pid file) or, without one,
 *     the caller's; an adapter vmkN is the interface of that name in one
 *     of those namespaces.
 *
 *  2. The engine: an ICMP socket created inside the stack's namespace
 *     (an unprivileged datagram socket where the stack's
 *     net.ipv4.ping_group_range allows it, else a raw socket), echo
 *     requests sent at an interval, replies matched by id and sequence,
 *     round-trip times on CLOCK_MONOTONIC.  Each reply, failed send or
 *     ICMP error is handed to a callback as a struct ping_event; the
 *     ping_format_*() functions turn events and statistics into the
 *     reference's text lines.  A run is always bounded: by the count
 *     (plus the wait for the last replies) and, when given, a deadline.
 *
 * Functions returning int give 0 (or an fd) on success and -errno on
 * failure; where an err buffer is passed it receives the one line to
 * show the user.
 */
#ifndef VMK_ICMP_PING_H
#define VMK_ICMP_PING_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define PING_DEFAULT_STACK "defaultTcpipStack"
#define PING_STACK_NAME_MAX 64
#define PING_MAX_SIZE_V4 65507  /* 65535 - IPv4 header - ICMP header */
#define PING_MAX_SIZE_V6 65527  /* 65535 - ICMPv6 header */

/* ---- stacks and adapters ---- */

/* A TCP/IP stack, resolved to its network namespace. */
struct ping_stack {
	int nsfd;                               /* O_CLOEXEC fd of the namespace, -1: the caller's */
	char name[PING_STACK_NAME_MAX];         /* "defaultTcpipStack", "vmotion", ... */
	char nsname[NAME_MAX + 1];              /* "vmk-INSTANCE-STACK"; "" for defaultTcpipStack */
	char instance[PING_STACK_NAME_MAX];     /* its vmk instance (stack_resolv.h finds its DNS) */
};

/* True if NAME is a valid instance name ([A-Za-z0-9_-]{1,32}). */
bool ping_instance_valid(const char *name);

/* Opens stack STACK of INSTANCE.  -ENOENT (err: "Unknown netstack 'X'")
 * if the stack has no namespace. */
int ping_stack_open(const char *instance, const char *stack, struct ping_stack *out,
		    char *err, size_t errlen);

/* Finds adapter IFNAME among INSTANCE's stacks (or only on STACK when
 * not NULL) and opens the stack it is on.  -ENODEV if it is on none
 * (err: "Unknown interface 'vmk9': Invalid argument"); -EXDEV if STACK
 * was given and the adapter is on another stack (err names both). */
int ping_find_interface(const char *instance, const char *ifname, const char *stack,
			struct ping_stack *out, char *err, size_t errlen);

void ping_stack_close(struct ping_stack *st);


/* An address of a stack's interface, as getifaddrs() sees it there. */
struct ping_addr {
	char ifname[IF_NAMESIZE];
	struct sockaddr_storage addr;           /* sin6_scope_id set for link-local */
};

/* Addresses (family AF_INET, AF_INET6 or AF_UNSPEC for both) of the
 * interfaces of stack st whose name starts with prefix ("" for all),
 * sorted by interface name, IPv4 before IPv6.  Fills at most max entries
 * of out; returns the number found or -errno. */
int ping_stack_addrs(const struct ping_stack *st, const char *prefix, int family,
		     struct ping_addr *out, int max);

/* The default gateway of stack st for family, if it has one: 1 found,
 * 0 none, -errno. */
int ping_stack_gateway(const struct ping_stack *st, int family, struct sockaddr_storage *gw);

/* Debug mode (vmkping -D, esxcli network diag ping -D): what to ping to
 * check a stack: its loopback address, the addresses of its adapters,
 * its default gateway, of family AF_INET or AF_INET6.  Fills at most max
 * (up to PING_DEBUG_MAX adapter addresses); returns how many. */
#define PING_DEBUG_MAX 128
int ping_debug_targets(const struct ping_stack *st, int family, struct sockaddr_storage *out,
		       int max);

/* ---- the engine ---- */

struct ping_opts {
	int family;                     /* AF_INET or AF_INET6 */
	struct sockaddr_storage dest;   /* port 0; IPv6 scope id where link-local */
	const struct ping_stack *stack; /* NULL: the caller's namespace */
	const char *ifname;             /* bind to this adapter (SO_BINDTODEVICE) and its address, or NULL */
	unsigned count;                 /* echo requests to send; 0: until the deadline */
	double interval;                /* seconds between requests (> 0) */
	double timeout;                 /* seconds to wait for replies after the last request */
	double deadline;                /* seconds for the whole run; 0: none */
	unsigned size;                  /* ICMP data bytes */
	int ttl;                        /* IPv4 TTL / IPv6 hop limit; 0: the stack's default */
	bool df;                        /* don't fragment (IP_PMTUDISC_DO / IPV6_DONTFRAG) */
	uint32_t mark;                  /* SO_MARK (a next hop's rule, ping_nexthop.h), 0: none */
	volatile sig_atomic_t *stop;    /* ends the run early when it becomes non-zero, or NULL */
};

enum ping_event_kind {
	PING_EV_REPLY,          /* an echo reply (dup: a repeated one) */
	PING_EV_SEND_ERROR,     /* sendto() failed: err */
	PING_EV_ICMP_ERROR,     /* an ICMP error about one of our requests: type/code/info */
};

struct ping_event {
	enum ping_event_kind kind;
	unsigned seq;                   /* ICMP sequence number (16 bits) */
	char from[INET6_ADDRSTRLEN];    /* the replying / reporting host */
	unsigned bytes;                 /* ICMP bytes received (header + data) */
	int ttl;                        /* of the reply, -1 unknown */
	uint64_t rtt_ns;
	bool dup;
	int err;                        /* errno of a failed send */
	int family;                     /* AF_INET / AF_INET6: how to read type/code */
	uint8_t icmp_type, icmp_code;
	uint32_t icmp_info;             /* e.g. the MTU of "fragmentation needed" */
};

struct ping_stats {
	unsigned transmitted;           /* requests sent, failed sends included */
	unsigned received;              /* distinct replies */
	unsigned duplicates;
	unsigned errors;                /* failed sends and ICMP errors */
	uint64_t rtt_min_ns, rtt_max_ns, rtt_sum_ns;
};

typedef void (*ping_event_fn)(const struct ping_event *ev, void *arg);

/* An ICMP socket for opts (family, stack, ifname, ttl, df), created in
 * the stack's namespace; *raw tells which kind it is, *id the echo
 * identifier replies carry.  err gets the line to print on failure. */
int ping_open(const struct ping_opts *opts, bool *raw, uint16_t *id, char *err, size_t errlen);

/* Runs the pings on socket fd from ping_open(), calling fn for each
 * event.  Fills stats; returns 0, or -errno on a failure of the socket
 * itself. */
int ping_run(int fd, bool raw, uint16_t id, const struct ping_opts *opts,
	     ping_event_fn fn, void *arg, struct ping_stats *stats);

/* ---- the reference's text ---- */

/* "PING HOST (ADDR): SIZE data bytes" */
void ping_format_header(char *buf, size_t len, const char *host, const char *addr,
			unsigned size);
/* "64 bytes from ADDR: icmp_seq=0 ttl=64 time=0.583 ms", or
 * "sendto() failed (Message too long)", or the ICMP error line. */
void ping_format_event(char *buf, size_t len, const struct ping_event *ev);
/* The statistics block: "--- HOST ping statistics ---", counts, and the
 * round-trip line when a reply came; every line ends with "\n". */
void ping_format_stats(char *buf, size_t len, const char *host, const struct ping_stats *st);
/* "Destination Host Unreachable" and the like. */
const char *ping_icmp_error_text(int family, uint8_t type, uint8_t code);

/* The numeric form of an address (no port; "%scope" never appended). */
void ping_addr_str(const struct sockaddr_storage *sa, char *buf, size_t len);

#endif
