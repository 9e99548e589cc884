/*
 * Network namespaces: the kernel side of a VMkernel TCP/IP stack.
 *
 * A stack other than defaultTcpipStack is a named namespace, created the
 * way iproute2 does it (a bind mount of the namespace at /run/netns/NAME),
 * so `ip netns exec NAME ...` reaches it.  defaultTcpipStack is the
 * namespace the process runs in (netns_open_self()).
 *
 * Namespaces are per thread: setns() and unshare() change only the
 * calling thread.  The functions below that must act inside a namespace
 * do so in a short-lived thread, so the caller's threads never move.
 * A socket stays in the namespace it was created in; netns_socket() is
 * how vmkd gets a netlink socket per stack and vmkping an ICMP socket.
 *
 * All functions return 0 (or an fd) on success and -errno on failure.
 */
#ifndef VMK_NETNS_H
#define VMK_NETNS_H

#include <stdbool.h>

#define NETNS_RUN_DIR "/run/netns"

/* Creates namespace NAME (a fresh, empty namespace: only a "lo" that is
 * down).  -EEXIST if a namespace of that name exists; a leftover plain
 * file of that name (a crash between create and mount) is replaced. */
int netns_create(const char *name);

/* Removes the name.  The namespace itself dies when nothing else holds
 * it: no open fd of it, no socket created in it, no task in it.  Virtual
 * devices inside it (veths, TAPs) are then destroyed by the kernel. */
int netns_delete(const char *name);

/* True if /run/netns/NAME is a mounted namespace. */
bool netns_exists(const char *name);

/* An O_CLOEXEC fd of namespace NAME, or of the process's own namespace. */
int netns_open(const char *name);
int netns_open_self(void);
/* The same for a namespace file by path (/proc/PID/ns/net): -ENOENT
 * unless it really is a namespace (a leftover plain file is not). */
int netns_open_path(const char *path);

/* True if the two fds refer to the same namespace. */
bool netns_same(int fd_a, int fd_b);

/* Runs fn(arg) in a thread that has entered namespace fd (fd < 0: the
 * caller's namespace, on the calling thread).  Returns fn's result, or
 * -errno if the thread could not be started or enter the namespace.
 * Inside fn, sockets, netlink and /proc/sys/net act on that namespace;
 * /proc/self/net and /sys/class/net do not (they follow the process and
 * the sysfs mount). */
int netns_run(int fd, int (*fn)(void *arg), void *arg);

/* socket(domain, type, proto) created inside namespace fd (fd < 0: here).
 * Pass SOCK_CLOEXEC in type as usual. */
int netns_socket(int fd, int domain, int type, int proto);

#endif
