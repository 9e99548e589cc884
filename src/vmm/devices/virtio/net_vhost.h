/*
 * virtio-net on the virtio-mmio transport whose queues a vhost-user back
 * end serves (vmx --net vhost-user=PATH): vmx is the front end and the
 * socket server, the back end (vmkd) connects.  See net_vhost.c.
 */
#ifndef VMK_VIRTIO_NET_VHOST_H
#define VMK_VIRTIO_NET_VHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct nic_config;
struct vhost_net;

/*
 * Creates the listening socket nic->vhost_user (mode 0600; a stale
 * socket nobody listens on is replaced) and plugs the device into the
 * VM.  Back ends are accepted on the event loop, which must exist.
 * Returns the device, or NULL with a one-line message in err.
 */
struct vhost_net *virtio_net_vhost_init(struct vm *vm, const struct nic_config *nic,
					char *err, size_t errlen);

/* For vmx's control socket: the MAC the guest sees, whether a back end
 * is connected now.  Takes the transport lock. */
void virtio_net_vhost_state(struct vhost_net *n, uint8_t mac[6], bool *connected);

#endif
