/*
 * DNS of a TCP/IP stack: where its resolv.conf lies, and name lookups
 * that use it (docs/vmkd.md, "DNS").
 *
 * vmkd writes one resolv.conf per stack (net/dns.c); vmkping and esxcli
 * network diag ping read it here, without asking vmkd, as they find the
 * stack itself in the kernel.  The paths derive from VMK_ROOT like every
 * other path of an instance:
 *
 *   defaultTcpipStack  $VMK_ROOT/run/vmk/INSTANCE/resolv.conf.defaultTcpipStack
 *   any other stack    $VMK_ROOT/etc/netns/vmk-INSTANCE-STACK/resolv.conf
 *
 * With VMK_ROOT unset the second is the file `ip netns exec` bind-mounts
 * over /etc/resolv.conf in that namespace, so every program run there
 * resolves with the stack's servers.  The first is never the machine's
 * /etc/resolv.conf: vmkd's namespace is the host's own, and the host's
 * resolver configuration belongs to the machine, not to vmkd.
 */
#ifndef VMKD_NET_STACK_RESOLV_H
#define VMKD_NET_STACK_RESOLV_H

#include <stddef.h>
#include <netdb.h>

#include "icmp_ping.h"

/* At most this many servers per stack: glibc's MAXNS, the number a
 * resolv.conf can make the resolver use. */
#define STACK_DNS_SERVERS_MAX 3
/* At most this many search domains (glibc's MAXDNSRCH). */
#define STACK_DNS_SEARCH_MAX 6

/* The resolv.conf of STACK of INSTANCE into buf.  0, or -1 if too long. */
int stack_resolv_path(const char *instance, const char *stack, char *buf, size_t len);

/* getaddrinfo() for host names seen from stack st: a name that is not an
 * address literal is first asked of the stack's DNS servers (with its
 * search domains, from inside the stack's namespace) when it has any;
 * otherwise, or when they do not know it, getaddrinfo() as usual
 * (/etc/hosts included), also run from inside the stack's namespace.  Same arguments and results as getaddrinfo();
 * free *res with freeaddrinfo(). */
int stack_getaddrinfo(const struct ping_stack *st, const char *name,
		      const struct addrinfo *hints, struct addrinfo **res);

#endif
