/*
 * virtio-net (virtio 1.x, 5.1) on the virtio-mmio transport, with a TAP
 * interface as its back end.  Queue 0 receives, queue 1 transmits, 256
 * entries each.
 */
#ifndef VMK_VIRTIO_NET_H
#define VMK_VIRTIO_NET_H

#include <stddef.h>

struct vm;
struct nic_config;

#define VIRTIO_NET_QUEUE_SIZE 256

/*
 * Opens the TAP nic->tap and plugs a virtio-net device for it into the
 * VM, with nic->mac or, when none is set, a random locally administered
 * unicast MAC.  Received frames are read on the I/O thread's event loop.
 * Returns 0, or -1 with a one-line message in err (errlen bytes).
 */
int virtio_net_init(struct vm *vm, const struct nic_config *nic,
		    char *err, size_t errlen);

#endif
