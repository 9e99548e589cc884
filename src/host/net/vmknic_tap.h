/*
 * The kernel side of a VMkernel adapter: a TAP device named vmkN inside
 * its TCP/IP stack's namespace, whose fd vmkd keeps and reads/writes as
 * the adapter's port on its vSwitch.
 *
 * Every frame on the fd, in both directions, is preceded by a 12-byte
 * virtio-net header (struct virtio_net_hdr_v1, little endian).  The TAP
 * is told that its reader handles checksum and TSO offloads, so the
 * stack hands over TCP segments of up to 64 KiB with a partial checksum
 * (gso_type, gso_size, csum_start/offset say how to finish them), and
 * accepts the same from the fd.  Writing a plain frame needs an all-zero
 * header.  The fd is non-blocking and close-on-exec.
 *
 * The TAP is not persistent: closing its fd (and every copy of it: a
 * child that inherited it would keep the device alive, hence O_CLOEXEC)
 * removes the device at once, with its addresses and routes.  The fd was
 * opened inside the stack's namespace and holds it: deleting the
 * namespace's name does not end it (nor the TAP) while the fd is open
 * (vmkd holds its stacks' namespaces anyway, see stackns.h).
 */
#ifndef VMK_VMKNIC_TAP_H
#define VMK_VMKNIC_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netlink.h"

/* virtio_net_hdr_v1: the datapath's TAP port reads and writes this size
 * (DP_TAP_VNET_HDR_LEN in datapath.h, which explains the choice) and
 * refuses a TAP with another; switching_vmknic.c checks they agree. */
#define VMKNIC_VNET_HDR_LEN 12

struct vmknic_tap_cfg {
	const char *name;               /* "vmk1" */
	const uint8_t *mac;             /* 6 bytes; NULL: the kernel's random one */
	unsigned mtu;                   /* 0: 1500 */
	bool up;
	uint32_t group;                 /* netdev group (IFLA_GROUP); 0: none */
	struct nl *stack;               /* netlink of the stack's namespace */
	int stack_fd;                   /* the stack's namespace; < 0: the caller's */
	const struct nl_prefix *addrs;  /* addresses to assign in the stack */
	size_t naddrs;
};

struct vmknic_tap {
	int fd;                         /* -1 when closed */
	int ifindex;                    /* in the stack's namespace */
	char name[IFNAMSIZ];
};

/* Creates the TAP inside the stack's namespace (opening /dev/net/tun
 * from a thread that entered it: no move between namespaces), sets its
 * MAC, MTU and group, brings it up if asked and assigns its addresses.
 * -EEXIST, touching nothing, if the name is taken in the stack.  On
 * failure nothing is left behind and err (if not NULL) holds one line
 * saying why. */
int vmknic_tap_create(const struct vmknic_tap_cfg *cfg, struct vmknic_tap *tap,
		      char *err, size_t errlen);

/* Closes the fd, which removes the device. */
void vmknic_tap_close(struct vmknic_tap *tap);

/* Deletes, in one batch, the links of netdev group `group` in the
 * namespace of nl, provided every one of them is one of taps[] (same
 * ifindex and name): -EEXIST, touching nothing, if another device is in
 * the group.  The fds stay open (closing them is then cheap).  Returns
 * how many were deleted, or -errno with one line in err (-EOPNOTSUPP: a
 * kernel whose TAPs cannot be deleted by netlink). */
int vmknic_tap_delete_group(struct nl *nl, uint32_t group, struct vmknic_tap *const *taps,
			    size_t n, char *err, size_t errlen);

/* Closes every fd, from up to 64 threads at once so that the kernel's
 * waits after each unregistration overlap (see vmknic_tap.c). */
void vmknic_tap_close_all(struct vmknic_tap *const *taps, size_t n);

#endif
