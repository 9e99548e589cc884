/*
 * virtio-mmio transport (virtio 1.x, section 4.2), modern only (Version 2).
 *
 * A device is a state struct plus an ops table.  virtio_mmio_create()
 * claims a 4 KiB slot of the VM's virtio-mmio window, decodes the register
 * block there and runs the status/feature/queue handshake; the device
 * only ever sees "here are your negotiated features, go" (activate),
 * "the driver kicked queue q" (queue_notify), config space accesses and
 * reset.
 *
 * Locking: each transport has one mutex.  Every ops callback is called
 * with it held (queue_notify runs synchronously on the vCPU thread that
 * wrote QueueNotify).  Device code that runs on its own (virtio-net's
 * receive path on the I/O thread) takes it with virtio_mmio_lock().
 * The helpers below marked "lock held" must only be called that way.
 */
#ifndef VMK_VIRTIO_MMIO_H
#define VMK_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "stats.h"
#include "virtq.h"

struct vm;
struct virtio_mmio;

#define VIRTIO_MMIO_MAX_QUEUES 8
#define VIRTIO_MMIO_MAX_DEVICES 16
#define VIRTIO_MAX_STATS 32

struct virtio_device_ops {
	const char *name;               /* "virtio-blk", for logs and stats */
	uint32_t device_id;             /* VIRTIO_ID_* */
	unsigned int nr_queues;         /* at most VIRTIO_MMIO_MAX_QUEUES */
	uint16_t queue_max;             /* QueueNumMax of every queue */
	unsigned int config_size;       /* bytes of config space from 0x100 */

	/* device-specific feature bits; the transport adds VERSION_1 and
	 * RING_EVENT_IDX */
	uint64_t (*features)(void *dev);
	/* config accesses, already bounds-checked against config_size */
	void (*read_config)(void *dev, uint64_t off, void *data, unsigned int len);
	void (*write_config)(void *dev, uint64_t off, const void *data,
			     unsigned int len);
	void (*queue_notify)(void *dev, unsigned int q);
	/* DRIVER_OK with FEATURES_OK: virtio_mmio_features() is final */
	void (*activate)(void *dev);
	/* device reset: drop everything taken from the queues */
	void (*reset)(void *dev);
	/*
	 * optional: the driver enabled (QueueReady=1, rings checked) or
	 * disabled queue q while the device runs, i.e. a queue reset after
	 * DRIVER_OK; queues ready at DRIVER_OK are covered by activate
	 */
	void (*queue_ready)(void *dev, unsigned int q, bool ready);
	/* optional: fills up to max counters, returns how many */
	unsigned int (*stats)(void *dev, struct stat_counter *out, unsigned int max);
	/* optional: frees dev (virtio_mmio_destroy_all) */
	void (*destroy)(void *dev);
};

/*
 * Claims a slot (vm_alloc_virtio_slot), maps its registers on vm->mmio
 * and wires its interrupt (an irqfd, else vm_pulse_irq).  NULL on failure.
 */
struct virtio_mmio *virtio_mmio_create(struct vm *vm,
				       const struct virtio_device_ops *ops,
				       void *dev);

void virtio_mmio_lock(struct virtio_mmio *t);
void virtio_mmio_unlock(struct virtio_mmio *t);

/* Lock held: the device runs (DRIVER_OK, activated, not NEEDS_RESET). */
bool virtio_mmio_running(const struct virtio_mmio *t);
/* Lock held: the feature bits the driver accepted. */
uint64_t virtio_mmio_features(const struct virtio_mmio *t);
/* Lock held: queue q (NULL if q is out of range). */
struct virtq *virtio_mmio_queue(struct virtio_mmio *t, unsigned int q);

/*
 * Lock held: takes the next chain of queue q.  1 with *c filled, 0 when
 * there is nothing to do (ring empty, queue or device not running), -1
 * when the queue is broken: the device is then marked NEEDS_RESET, the
 * driver gets a config-change interrupt, and every later pop returns 0
 * until the driver resets the device.
 */
int virtio_mmio_pop(struct virtio_mmio *t, unsigned int q, struct virtq_chain *c);
/* Lock held: returns a chain to queue q's used ring. */
void virtio_mmio_push(struct virtio_mmio *t, unsigned int q, uint16_t head,
		      uint32_t written);
/* Lock held: raises the used-buffer interrupt if the driver wants one. */
void virtio_mmio_notify_used(struct virtio_mmio *t, unsigned int q);
/*
 * Lock held: raises the used-buffer interrupt unconditionally, for a
 * device whose rings someone else serves (a vhost-user back end that
 * already applied EVENT_IDX and NO_INTERRUPT before signalling).
 */
void virtio_mmio_raise_vring(struct virtio_mmio *t);
/* Lock held: DEVICE_NEEDS_RESET plus a config-change interrupt. */
void virtio_mmio_set_needs_reset(struct virtio_mmio *t);
/* Lock held: bumps ConfigGeneration and raises a config interrupt. */
void virtio_mmio_config_changed(struct virtio_mmio *t);

/*
 * Lock held: log_warn for something the guest caused, rate-limited per
 * device (a guest can repeat it as fast as it can write a register).
 */
void virtio_mmio_warn(struct virtio_mmio *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reads the device's config space as the driver would; takes the lock. */
void virtio_mmio_read_config(struct virtio_mmio *t, uint64_t off, void *data,
			     unsigned int len);

/* The device's slot, for logs and tests. */
uint64_t virtio_mmio_base(const struct virtio_mmio *t);
unsigned int virtio_mmio_irq(const struct virtio_mmio *t);
const char *virtio_mmio_name(const struct virtio_mmio *t);

/*
 * Transport counters (notifications, interrupts, errors) followed by the
 * device's own; takes the lock.  Returns the number filled.
 */
unsigned int virtio_mmio_stats(struct virtio_mmio *t, struct stat_counter *out,
			       unsigned int max);

/* Every transport created so far, in creation order. */
unsigned int virtio_mmio_count(void);
struct virtio_mmio *virtio_mmio_get(unsigned int i);
/*
 * Frees every transport and device (ops->destroy), for exit and tests:
 * only once nothing can reach them (vCPUs and I/O thread stopped; the
 * bus ranges still point at them).
 */
void virtio_mmio_destroy_all(void);

#endif
