/*
 * virtio-mmio transport, modern interface only (virtio 1.x, 4.2).
 *
 * The guest driver talks to a device through a 4 KiB register window:
 * 0x000-0x0ff are 32-bit control registers, 0x100 on is the device's
 * config space.  This file decodes that window and keeps the transport
 * state the spec describes (status, feature selectors, queue registers,
 * interrupt status); everything device-specific goes through the ops
 * table in mmio.h.
 *
 * Rules enforced here, so devices do not repeat them:
 *  - control registers take 4-byte aligned accesses only; anything else
 *    reads as 0 and is ignored on write;
 *  - FEATURES_OK sticks only if the driver accepted VERSION_1 and nothing
 *    we did not offer; driver features are frozen once it sticks;
 *  - a queue's registers can be written only while that queue is not
 *    ready; QueueReady=1 validates the rings (virtq_enable) and a failure
 *    there sets DEVICE_NEEDS_RESET;
 *  - a broken virtqueue (virtq_pop = -1) sets DEVICE_NEEDS_RESET, raises
 *    a config-change interrupt and stops all processing until the driver
 *    writes 0 to Status, which resets the device and every queue.
 *
 * Interrupts are edge-style: each one sets a bit in InterruptStatus and
 * kicks the irqfd (or pulses the line when there is no irqfd); the driver
 * acknowledges bits through InterruptACK.
 */
#include "mmio.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "virtio_defs.h"
#include "vm.h"

struct virtio_mmio {
	struct vm *vm;
	const struct virtio_device_ops *ops;
	void *dev;
	uint64_t base;
	unsigned int irq;
	int irqfd;
	pthread_mutex_t lock;

	uint32_t status;
	uint32_t isr;
	uint32_t dev_features_sel, drv_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	uint32_t config_generation;
	bool active;                    /* activate() called since reset */
	struct virtq vq[VIRTIO_MMIO_MAX_QUEUES];

	uint64_t notifications, interrupts, errors;

	/* virtio_mmio_warn's rate limit: a window, its count, the rest */
	uint64_t warn_window_ns;
	unsigned int warn_count;
	uint64_t warn_dropped;
};

static struct virtio_mmio *all[VIRTIO_MMIO_MAX_DEVICES];
static unsigned int nr_all;

/* ---- guest-triggered warnings ---- */

/*
 * At most WARN_BURST warnings per WARN_WINDOW_NS and device: each of
 * them costs a guest a register write or two (a bad QueueReady, a
 * malformed chain after a reset), and a guest looping on that must not
 * fill the host's log.
 */
#define WARN_BURST 10
#define WARN_WINDOW_NS (10 * 1000000000ULL)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void virtio_mmio_warn(struct virtio_mmio *t, const char *fmt, ...)
{
	uint64_t now = now_ns();
	char msg[256];
	va_list ap;

	if (now - t->warn_window_ns >= WARN_WINDOW_NS) {
		if (t->warn_dropped)
			log_warn("%s at %#llx: %llu more warnings suppressed",
				 t->ops->name, (unsigned long long)t->base,
				 (unsigned long long)t->warn_dropped);
		t->warn_window_ns = now;
		t->warn_count = 0;
		t->warn_dropped = 0;
	}
	if (t->warn_count >= WARN_BURST) {
		t->warn_dropped++;
		return;
	}
	t->warn_count++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("%s", msg);
}

/* ---- interrupts and state changes ---- */

static void raise_irq(struct virtio_mmio *t, uint32_t bit)
{
	uint64_t one = 1;

	t->isr |= bit;
	t->interrupts++;
	if (t->irqfd >= 0 && write(t->irqfd, &one, sizeof(one)) == sizeof(one))
		return;
	vm_pulse_irq(t->vm, t->irq);
}

void virtio_mmio_set_needs_reset(struct virtio_mmio *t)
{
	if (t->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	virtio_mmio_warn(t, "%s at %#llx: device needs reset", t->ops->name,
			 (unsigned long long)t->base);
	t->errors++;
	t->status |= VIRTIO_STATUS_NEEDS_RESET;
	raise_irq(t, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
	t->config_generation++;
	raise_irq(t, VIRTIO_MMIO_INT_CONFIG);
}

static void reset_queues(struct virtio_mmio *t)
{
	for (unsigned int i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++) {
		virtq_reset(&t->vq[i]);
		t->vq[i].size = i < t->ops->nr_queues ? t->ops->queue_max : 0;
	}
}

static void device_reset(struct virtio_mmio *t)
{
	if (t->ops->reset)
		t->ops->reset(t->dev);
	reset_queues(t);
	t->status = 0;
	t->isr = 0;
	t->dev_features_sel = t->drv_features_sel = 0;
	t->driver_features = 0;
	t->queue_sel = 0;
	t->active = false;
}

/* ---- features and status ---- */

static uint64_t offered_features(const struct virtio_mmio *t)
{
	uint64_t f = t->ops->features ? t->ops->features(t->dev) : 0;
	return f | VIRTIO_BIT(VIRTIO_F_VERSION_1) |
	       VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
}

static bool features_acceptable(const struct virtio_mmio *t)
{
	uint64_t drv = t->driver_features;
	return (drv & VIRTIO_BIT(VIRTIO_F_VERSION_1)) &&
	       !(drv & ~offered_features(t));
}

static bool event_idx(const struct virtio_mmio *t)
{
	return t->driver_features & VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
}

static void activate(struct virtio_mmio *t)
{
	t->active = true;
	if (t->ops->activate)
		t->ops->activate(t->dev);
	/* buffers the driver queued before DRIVER_OK are picked up now */
	for (unsigned int q = 0; q < t->ops->nr_queues; q++)
		if (t->vq[q].enabled && virtio_mmio_running(t) && t->ops->queue_notify)
			t->ops->queue_notify(t->dev, q);
}

static void write_status(struct virtio_mmio *t, uint32_t v)
{
	uint32_t old = t->status;

	if (v == 0) {
		device_reset(t);
		return;
	}
	/* NEEDS_RESET belongs to the device: only a reset clears it */
	v = (v & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET);
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
	    !features_acceptable(t))
		v &= ~VIRTIO_STATUS_FEATURES_OK;
	t->status = v;
	if ((v & VIRTIO_STATUS_DRIVER_OK) && (v & VIRTIO_STATUS_FEATURES_OK) &&
	    !t->active)
		activate(t);
}

static uint32_t read_device_features(const struct virtio_mmio *t)
{
	uint64_t f = offered_features(t);
	if (t->dev_features_sel == 0)
		return (uint32_t)f;
	if (t->dev_features_sel == 1)
		return (uint32_t)(f >> 32);
	return 0;
}

static void write_driver_features(struct virtio_mmio *t, uint32_t v)
{
	if (t->status & VIRTIO_STATUS_FEATURES_OK)
		return;
	if (t->drv_features_sel == 0)
		t->driver_features = (t->driver_features & ~0xffffffffULL) | v;
	else if (t->drv_features_sel == 1)
		t->driver_features = (t->driver_features & 0xffffffffULL) |
				     (uint64_t)v << 32;
}

/* ---- queues ---- */

static struct virtq *selected_queue(struct virtio_mmio *t)
{
	return virtio_mmio_queue(t, t->queue_sel);
}

static void set_low(uint64_t *r, uint32_t v)
{
	*r = (*r & ~0xffffffffULL) | v;
}

static void set_high(uint64_t *r, uint32_t v)
{
	*r = (*r & 0xffffffffULL) | (uint64_t)v << 32;
}

/* QueueReady=0 on a live queue: stop it but keep what the driver set. */
static void disable_queue(struct virtq *q)
{
	struct virtq keep = *q;

	virtq_reset(q);
	q->size = keep.size;
	q->desc_gpa = keep.desc_gpa;
	q->avail_gpa = keep.avail_gpa;
	q->used_gpa = keep.used_gpa;
}

/* Tells the device about a queue that starts or stops after activation. */
static void queue_ready_changed(struct virtio_mmio *t, bool ready)
{
	if (t->active && t->ops->queue_ready)
		t->ops->queue_ready(t->dev, t->queue_sel, ready);
}

static void write_queue_ready(struct virtio_mmio *t, struct virtq *q, uint32_t v)
{
	if (v == 0) {
		if (q->enabled) {
			queue_ready_changed(t, false);
			disable_queue(q);
		}
		return;
	}
	if (q->enabled)
		return;
	q->event_idx = event_idx(t);
	if (virtq_enable(q, &t->vm->mem) < 0) {
		virtio_mmio_warn(t, "%s: queue %u rejected (bad size or ring address)",
				 t->ops->name, t->queue_sel);
		virtio_mmio_set_needs_reset(t);
		return;
	}
	queue_ready_changed(t, true);
}

static void write_queue_num(struct virtio_mmio *t, struct virtq *q, uint32_t v)
{
	/* virtq_enable refuses size 0 and sizes that are not a power of 2 */
	q->size = v <= t->ops->queue_max ? (uint16_t)v : 0;
}

/* Queue registers; false if off is not one of them. */
static bool write_queue_reg(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtq *q = selected_queue(t);

	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		break;
	default:
		return false;
	}
	if (!q)
		return true;
	if (off == VIRTIO_MMIO_QUEUE_READY) {
		write_queue_ready(t, q, v);
		return true;
	}
	if (q->enabled)
		return true;    /* ignored while the queue is live */
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM: write_queue_num(t, q, v); break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: set_low(&q->desc_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: set_high(&q->desc_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: set_low(&q->avail_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: set_high(&q->avail_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: set_low(&q->used_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: set_high(&q->used_gpa, v); break;
	}
	return true;
}

static void queue_notify(struct virtio_mmio *t, uint32_t v)
{
	unsigned int qi = v & 0xffff;
	struct virtq *q = virtio_mmio_queue(t, qi);

	t->notifications++;
	if (q && q->enabled && virtio_mmio_running(t) && t->ops->queue_notify)
		t->ops->queue_notify(t->dev, qi);
}

/* ---- register window ---- */

static uint32_t read_reg(struct virtio_mmio *t, uint64_t off)
{
	struct virtq *q = selected_queue(t);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return 2;
	case VIRTIO_MMIO_DEVICE_ID: return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES: return read_device_features(t);
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? t->ops->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_READY: return q ? q->enabled : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return t->isr;
	case VIRTIO_MMIO_STATUS: return t->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffffu;     /* no shared memory regions */
	case VIRTIO_MMIO_CONFIG_GENERATION: return t->config_generation;
	default: return 0;
	}
}

static void write_reg(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	if (write_queue_reg(t, off, v))
		return;
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: t->dev_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES: write_driver_features(t, v); break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: t->drv_features_sel = v; break;
	case VIRTIO_MMIO_QUEUE_SEL: t->queue_sel = v; break;
	case VIRTIO_MMIO_QUEUE_NOTIFY: queue_notify(t, v); break;
	case VIRTIO_MMIO_INTERRUPT_ACK: t->isr &= ~v; break;
	case VIRTIO_MMIO_STATUS: write_status(t, v); break;
	default: break;         /* read-only or unknown: ignored */
	}
}

static void config_access(struct virtio_mmio *t, uint64_t off, void *data,
			  unsigned int len, bool is_write)
{
	bool ok = (len == 1 || len == 2 || len == 4 || len == 8) &&
		  off <= t->ops->config_size && len <= t->ops->config_size - off;

	if (is_write) {
		if (ok && t->ops->write_config)
			t->ops->write_config(t->dev, off, data, len);
		return;
	}
	memset(data, 0, len);
	if (ok && t->ops->read_config)
		t->ops->read_config(t->dev, off, data, len);
}

static void control_access(struct virtio_mmio *t, uint64_t off, void *data,
			   unsigned int len, bool is_write)
{
	uint32_t v;

	if (len != 4 || (off & 3)) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (is_write) {
		memcpy(&v, data, 4);
		write_reg(t, off, v);
	} else {
		v = read_reg(t, off);
		memcpy(data, &v, 4);
	}
}

static void mmio_io(void *opaque, uint64_t off, void *data, unsigned int len,
		    bool is_write)
{
	struct virtio_mmio *t = opaque;

	pthread_mutex_lock(&t->lock);
	if (off >= VIRTIO_MMIO_CONFIG)
		config_access(t, off - VIRTIO_MMIO_CONFIG, data, len, is_write);
	else
		control_access(t, off, data, len, is_write);
	pthread_mutex_unlock(&t->lock);
}

/* ---- device-facing helpers ---- */

void virtio_mmio_lock(struct virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
}

void virtio_mmio_unlock(struct virtio_mmio *t)
{
	pthread_mutex_unlock(&t->lock);
}

bool virtio_mmio_running(const struct virtio_mmio *t)
{
	return t->active && !(t->status & VIRTIO_STATUS_NEEDS_RESET);
}

uint64_t virtio_mmio_features(const struct virtio_mmio *t)
{
	return t->driver_features;
}

struct virtq *virtio_mmio_queue(struct virtio_mmio *t, unsigned int q)
{
	return q < t->ops->nr_queues ? &t->vq[q] : NULL;
}

int virtio_mmio_pop(struct virtio_mmio *t, unsigned int q, struct virtq_chain *c)
{
	struct virtq *vq = virtio_mmio_queue(t, q);

	if (!vq || !virtio_mmio_running(t))
		return 0;
	int r = virtq_pop(vq, &t->vm->mem, c);
	if (r < 0) {
		virtio_mmio_warn(t, "%s: malformed descriptor chain on queue %u",
				 t->ops->name, q);
		virtio_mmio_set_needs_reset(t);
	}
	return r;
}

void virtio_mmio_push(struct virtio_mmio *t, unsigned int q, uint16_t head,
		      uint32_t written)
{
	struct virtq *vq = virtio_mmio_queue(t, q);

	if (vq)
		virtq_push(vq, head, written);
}

void virtio_mmio_notify_used(struct virtio_mmio *t, unsigned int q)
{
	struct virtq *vq = virtio_mmio_queue(t, q);

	if (vq && virtq_need_interrupt(vq))
		raise_irq(t, VIRTIO_MMIO_INT_VRING);
}

void virtio_mmio_read_config(struct virtio_mmio *t, uint64_t off, void *data,
			     unsigned int len)
{
	pthread_mutex_lock(&t->lock);
	config_access(t, off, data, len, false);
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_raise_vring(struct virtio_mmio *t)
{
	raise_irq(t, VIRTIO_MMIO_INT_VRING);
}

uint64_t virtio_mmio_base(const struct virtio_mmio *t)
{
	return t->base;
}

unsigned int virtio_mmio_irq(const struct virtio_mmio *t)
{
	return t->irq;
}

const char *virtio_mmio_name(const struct virtio_mmio *t)
{
	return t->ops->name;
}

unsigned int virtio_mmio_stats(struct virtio_mmio *t, struct stat_counter *out,
			       unsigned int max)
{
	unsigned int n = 0;

	pthread_mutex_lock(&t->lock);
	const struct stat_counter mine[] = {
		{ "notifications", t->notifications },
		{ "interrupts", t->interrupts },
		{ "errors", t->errors },
	};
	for (; n < max && n < sizeof(mine) / sizeof(mine[0]); n++)
		out[n] = mine[n];
	if (t->ops->stats && n < max)
		n += t->ops->stats(t->dev, out + n, max - n);
	pthread_mutex_unlock(&t->lock);
	return n;
}

/* ---- creation and registry ---- */

struct virtio_mmio *virtio_mmio_create(struct vm *vm,
				       const struct virtio_device_ops *ops,
				       void *dev)
{
	if (ops->nr_queues > VIRTIO_MMIO_MAX_QUEUES ||
	    nr_all >= VIRTIO_MMIO_MAX_DEVICES)
		return NULL;
	const struct virtio_slot *slot = vm_alloc_virtio_slot(vm, ops->device_id);
	if (!slot)
		return NULL;
	struct virtio_mmio *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	*t = (struct virtio_mmio){ .vm = vm, .ops = ops, .dev = dev,
				   .base = slot->base, .irq = slot->irq };
	pthread_mutex_init(&t->lock, NULL);
	reset_queues(t);
	if (bus_add(&vm->mmio, t->base, VM_VIRTIO_MMIO_SIZE, mmio_io, t) < 0) {
		pthread_mutex_destroy(&t->lock);
		free(t);
		return NULL;
	}
	t->irqfd = vm_irqfd(vm, t->irq);
	all[nr_all++] = t;
	return t;
}

unsigned int virtio_mmio_count(void)
{
	return nr_all;
}

struct virtio_mmio *virtio_mmio_get(unsigned int i)
{
	return i < nr_all ? all[i] : NULL;
}

void virtio_mmio_destroy_all(void)
{
	while (nr_all > 0) {
		struct virtio_mmio *t = all[--nr_all];
		if (t->ops->destroy)
			t->ops->destroy(t->dev);
		if (t->irqfd >= 0)
			close(t->irqfd);
		pthread_mutex_destroy(&t->lock);
		free(t);
	}
}
