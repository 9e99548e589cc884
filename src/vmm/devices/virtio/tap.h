/*
 * TAP back end for virtio-net: a Linux TAP interface opened through
 * /dev/net/tun with a 12-byte virtio_net_hdr_v1 in front of every frame,
 * so frames pass between the TAP and guest buffers unchanged.
 */
#ifndef VMK_TAP_H
#define VMK_TAP_H

#include <stddef.h>
#include <stdint.h>

/*
 * Attaches to the TAP interface `name` (created if it does not exist)
 * with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, a 12-byte vnet header and no
 * offloads yet; the fd is non-blocking and close-on-exec.  Returns the fd,
 * or -1 with a one-line message in err.
 */
int tap_open(const char *name, char *err, size_t errlen);

/*
 * Sets which offloads the kernel may hand us in received frames, from the
 * virtio-net features the guest accepted: checksum offload with
 * GUEST_CSUM, TSO4/TSO6 with GUEST_TSO4/GUEST_TSO6.  0 or -1 (errno).
 */
int tap_set_offload(int fd, uint64_t guest_features);

#endif
