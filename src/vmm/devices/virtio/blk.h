/*
 * virtio-blk (virtio 1.x, 5.2) over a raw disk image file or block
 * device, on the virtio-mmio transport.  One request queue of 256.
 */
#ifndef VMK_VIRTIO_BLK_H
#define VMK_VIRTIO_BLK_H

#include <stddef.h>

struct vm;
struct disk_config;

#define VIRTIO_BLK_QUEUE_SIZE 256

/*
 * Opens disk->path (read-only when disk->readonly) and plugs a virtio-blk
 * device for it into the VM.  Returns 0, or -1 with a one-line message
 * naming the path and the reason in err (errlen bytes).
 */
int virtio_blk_init(struct vm *vm, const struct disk_config *disk,
		    char *err, size_t errlen);

#endif
