/*
 * DNS per TCP/IP stack: `esxcli network ip dns server|search` (dns.c).
 *
 * The servers and search domains of each stack are kept in the store
 * (tables dns_server and dns_search, going with their stack) and
 * realized as that stack's resolv.conf (stack_resolv.h says where),
 * rewritten atomically on every change and at start, removed with the
 * stack.  Main thread only.
 */
#ifndef VMKD_NET_DNS_H
#define VMKD_NET_DNS_H

#include <stddef.h>

void dns_register(void);
/* At start (after the stacks): remembers the instance, writes every
 * stack's resolv.conf and removes those of stacks the store no longer
 * has. */
void dns_realize(const char *instance);
/* Writes the resolv.conf of a stack from the store (inside the request's
 * transaction).  0, or -errno with one line in err. */
int dns_write(const char *stack, char *err, size_t errlen);
/* Removes the resolv.conf of a removed stack; failures are logged. */
void dns_stack_removed(const char *stack);

#endif
