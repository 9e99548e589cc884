/*
 * The kernel side of the TCP/IP stacks (netstacks) of vmkd.
 *
 * defaultTcpipStack is the network namespace vmkd runs in; any other
 * stack STACK of instance INSTANCE is the named namespace
 * vmk-INSTANCE-STACK (/run/netns, so `ip netns exec` reaches it).
 * Instance names contain no '-', so such a name always splits into its
 * instance and its stack.
 *
 * vmkd keeps, per realized stack, an fd of its namespace and a netlink
 * socket inside it (the only things it holds there besides the adapters'
 * TAPs): removing a stack closes both before the name is deleted, so the
 * namespace really goes.  At exit the fds are closed and the names are
 * kept; a later start reuses them (after a kill -9 as well).  Names of
 * this instance that the store no longer knows are deleted at start.
 *
 * Main thread only.  Functions return 0 or -errno, with one line in err.
 */
#ifndef VMKD_NET_STACKNS_H
#define VMKD_NET_STACKNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netlink.h"

#define STACK_NAME_MAX 32
#define DEFAULT_STACK "defaultTcpipStack"

struct stackns {
	char name[STACK_NAME_MAX + 1];
	int fd;         /* the namespace; -1 for defaultTcpipStack (vmkd's own) */
	struct nl *nl;  /* netlink inside it */
};

/*
 * The netdev group (IFLA_GROUP) of the instance's TAPs: a number derived
 * from the instance name, in [0x10000, 0x7fffffff] (away from 0, the
 * kernel's default, and from the small numbers of /etc/iproute2/group),
 * so that the TAPs of one instance can be deleted as one batch
 * (nl_link_delete_group).  A group is no claim: anyone may put a device
 * into it, so a group is deleted only in the instance's own stack
 * namespaces, after checking that it holds nothing but the instance's
 * TAPs (vmknic_rt_shutdown), never in vmkd's own.  Valid after
 * stackns_init.
 */
uint32_t stackns_tap_group(void);

/* Opens netlink in vmkd's namespace and registers defaultTcpipStack. */
int stackns_init(const char *instance, char *err, size_t errlen);
/* The realized stack of that name, or NULL. */
const struct stackns *stackns_get(const char *name);
/* Netlink of vmkd's own namespace (defaultTcpipStack's). */
struct nl *stackns_home(void);
/* Creates the namespace of a stack (or reuses a leftover one), brings
 * its loopback up and opens it.  A realized stack is left as it is. */
int stackns_realize(const char *name, char *err, size_t errlen);
/* Closes what vmkd holds in the stack and deletes its name. */
int stackns_remove(const char *name, char *err, size_t errlen);
/* Writes /proc/sys/net/KEY (e.g. "ipv4/tcp_congestion_control") of the
 * stack.  -ENOENT where the kernel has no such setting. */
int stackns_sysctl(const char *name, const char *key, const char *value);
/* Deletes the namespace names of this instance that are not realized
 * stacks (left over from a stack removed while vmkd was down, or from a
 * crash in the middle of an add).  Returns how many. */
int stackns_prune(void);
/* At exit: closes every fd and socket, keeps the names. */
void stackns_shutdown(void);

#endif
