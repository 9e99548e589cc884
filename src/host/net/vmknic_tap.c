/*
 * vmknic TAPs (see vmknic_tap.h for the contract).
 *
 * A TAP is created in the namespace in which /dev/net/tun was opened
 * (the open binds the tun file to the opener's namespace; TUNSETIFF
 * registers the device there), so for a stack other than vmkd's own the
 * open and the ioctls run on a short-lived thread that has entered the
 * stack's namespace (netns_run).  The fd stays valid, and attached to
 * that namespace, when the thread is gone.  Everything else (MAC, MTU,
 * group, up, addresses) goes through the stack's netlink socket.
 *
 * Why not create it here and move it: a move (RTM_SETLINK +
 * IFLA_NET_NS_FD) unregisters the device from one namespace and
 * registers it in the other, and the unregistration ends in an
 * rcu_barrier(), about a grace period (15-20 ms here) per TAP; with
 * hundreds of adapters in a stack that was most of vmkd's start.  The
 * thread costs tens of microseconds.
 *
 * The name is checked first in the stack: TUNSETIFF on an existing name
 * does not fail but attaches to that TAP (if it is a persistent one).
 * As a second guard a TAP that reports IFF_PERSIST after TUNSETIFF was
 * not made by us and is refused.  Every failure after the open just
 * closes the fd, which deletes the device.
 *
 * Tearing many down.  Closing the fd of a non-persistent TAP unregisters
 * its device there and then, and every unregistration ends, once the
 * RTNL lock is released, in an rcu_barrier() (netdev_run_todo): about a
 * grace period, 15-20 ms here, per TAP when they are closed one after
 * the other.  The kernel batches what it unregisters under one RTNL
 * hold, and a group delete (RTM_DELLINK with IFLA_GROUP, as
 * `ip link del group G`) is one such hold: the devices of a group in one
 * namespace go with a single wait.  The fd is then a detached file, and
 * closing it is cheap.  Where a group delete cannot be used, the fds are
 * closed from many threads at once: each close still waits for its
 * barrier, but outside the lock, and rcu_barrier() callers that arrive
 * while one is in flight share the next one, so the waits overlap.
 */
#include "vmknic_tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "netns.h"

#define TAP_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)

__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errlen, int r, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* -EEXIST if name is a link in the namespace of nl. */
static int name_free(struct nl *nl, const char *name)
{
	int r = nl_link_index(nl, name);
	if (r > 0)
		return -EEXIST;
	return r == -ENODEV ? 0 : r;
}

/* The TUNSETIFF and the ioctls that set the vnet header and offloads. */
static int tap_setup(int fd, const char *name)
{
	unsigned features = 0;
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	int hdr_len = VMKNIC_VNET_HDR_LEN;
	if (ioctl(fd, TUNGETFEATURES, &features) < 0)
		return -errno;
	if (!(features & IFF_VNET_HDR))
		return -EOPNOTSUPP;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -errno;
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return -errno;
	if (ifr.ifr_flags & IFF_PERSIST)
		return -EEXIST;         /* attached to someone else's TAP */
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) < 0)
		return -errno;
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)TAP_OFFLOADS) < 0)
		return -errno;
	return 0;
}

static int open_here(void *name)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	int r = tap_setup(fd, name);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* The TAP's fd, the device made inside namespace ns_fd (< 0: here). */
static int tap_open(const char *name, int ns_fd)
{
	return netns_run(ns_fd, open_here, (void *)name);
}

/* MAC, MTU and group, then up and addresses, in the stack. */
static int tap_configure(const struct vmknic_tap_cfg *c, int idx, char *err, size_t errlen)
{
	int r = 0;
	if (c->mac)
		r = nl_link_set_mac(c->stack, idx, c->mac);
	if (r >= 0 && c->mtu)
		r = nl_link_set_mtu(c->stack, idx, c->mtu);
	if (r >= 0 && c->group)
		r = nl_link_set_group(c->stack, idx, c->group);
	if (r >= 0 && c->up)
		r = nl_link_set_up(c->stack, idx, true);
	for (size_t i = 0; r >= 0 && i < c->naddrs; i++)
		r = nl_addr_add(c->stack, idx, &c->addrs[i], 0);
	return r < 0 ? fail(err, errlen, r, "%s", nl_error(c->stack)) : 0;
}

static int check_free(const struct vmknic_tap_cfg *c, char *err, size_t errlen)
{
	int r = name_free(c->stack, c->name);
	if (r == -EEXIST)
		return fail(err, errlen, r, "%s: name already in use", c->name);
	return r < 0 ? fail(err, errlen, r, "%s: %s", c->name, strerror(-r)) : 0;
}

int vmknic_tap_create(const struct vmknic_tap_cfg *c, struct vmknic_tap *tap,
		      char *err, size_t errlen)
{
	tap->fd = -1;
	tap->ifindex = 0;
	if (!c->name || !c->name[0] || strlen(c->name) >= IFNAMSIZ)
		return fail(err, errlen, -EINVAL, "bad adapter name");
	int r = check_free(c, err, errlen);
	if (r < 0)
		return r;
	int fd = tap_open(c->name, c->stack_fd);
	if (fd < 0)
		return fail(err, errlen, fd, "%s: create TAP: %s", c->name, strerror(-fd));
	int idx = nl_link_index(c->stack, c->name);
	r = idx > 0 ? tap_configure(c, idx, err, errlen)
		    : fail(err, errlen, idx < 0 ? idx : -ENODEV, "%s", nl_error(c->stack));
	if (r < 0) {
		close(fd);
		return r;
	}
	tap->fd = fd;
	tap->ifindex = idx;
	snprintf(tap->name, sizeof(tap->name), "%s", c->name);
	return 0;
}

void vmknic_tap_close(struct vmknic_tap *tap)
{
	if (tap->fd >= 0)
		close(tap->fd);
	tap->fd = -1;
}

/* ---- tearing many down ---- */

static bool listed(const struct nl_link *l, struct vmknic_tap *const *taps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (taps[i]->fd >= 0 && taps[i]->ifindex == l->index &&
		    strcmp(taps[i]->name, l->name) == 0)
			return true;
	return false;
}

int vmknic_tap_delete_group(struct nl *nl, uint32_t group, struct vmknic_tap *const *taps,
			    size_t n, char *err, size_t errlen)
{
	struct nl_link *links;
	size_t nlinks, members = 0;
	int r = group ? nl_link_list(nl, &links, &nlinks) : -EINVAL;

	if (r < 0)
		return fail(err, errlen, r, "%s", group ? nl_error(nl) : "no group");
	for (size_t i = 0; i < nlinks && r == 0; i++) {
		if (links[i].group != group)
			continue;
		if (!listed(&links[i], taps, n))
			r = fail(err, errlen, -EEXIST, "%s (ifindex %d) is in group %u but is "
				 "not one of the TAPs", links[i].name, links[i].index, group);
		members++;
	}
	free(links);
	if (r < 0 || members == 0)
		return r;
	r = nl_link_delete_group(nl, group);
	return r < 0 ? fail(err, errlen, r, "%s", nl_error(nl)) : (int)members;
}

#define CLOSERS_MAX 64

struct closer {
	struct vmknic_tap *const *taps;
	size_t n, first, step;
};

static void *closer_run(void *p)
{
	struct closer *c = p;

	for (size_t i = c->first; i < c->n; i += c->step)
		vmknic_tap_close(c->taps[i]);
	return NULL;
}

void vmknic_tap_close_all(struct vmknic_tap *const *taps, size_t n)
{
	struct closer c[CLOSERS_MAX];
	pthread_t t[CLOSERS_MAX];
	size_t k = n < CLOSERS_MAX ? n : CLOSERS_MAX, started = 0;

	for (size_t i = 0; i < k; i++) {
		c[i] = (struct closer){ .taps = taps, .n = n, .first = i, .step = k };
		if (k > 1 && pthread_create(&t[i], NULL, closer_run, &c[i]) == 0)
			started = i + 1;
		else
			break;
	}
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	for (size_t i = 0; i < n; i++)      /* what no thread took (none started) */
		vmknic_tap_close(taps[i]);
}
