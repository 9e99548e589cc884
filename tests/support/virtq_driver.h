/*
 * The guest driver's half of a virtio-mmio device, for the virtio unit
 * tests and fuzz targets on the fake VM (fake_vm.h): split virtqueues laid
 * out in the fake VM's guest RAM (descriptors written, chains made
 * available, the used ring read back) and the register window reached
 * through the VM's MMIO bus, as a vCPU reaches it.
 *
 * It writes what a driver writes and checks nothing itself: the tests
 * assert on what the device did, the fuzz targets write whatever a hostile
 * guest may.  So a ring may have size 0 and lie anywhere: guest RAM writes
 * are clipped at the end of RAM (a guest cannot write past its RAM either),
 * and nothing here divides by a size of 0.  No cmocka, so the fuzz targets
 * link it too.
 */
#ifndef VMK_TESTS_VIRTQ_DRIVER_H
#define VMK_TESTS_VIRTQ_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

/* ---- guest RAM (fvm.ram), parts past its end dropped ---- */

void guest_put(uint64_t gpa, const void *p, uint64_t n);
void guest_put16(uint64_t gpa, uint16_t v);
uint16_t guest_get16(uint64_t gpa);
uint32_t guest_get32(uint64_t gpa);

/* ---- one split virtqueue, as its driver keeps it ---- */

struct vqd {
	uint16_t size;                  /* entries (QueueNum) */
	uint64_t desc, avail, used;     /* where its three parts lie */
	uint16_t avail_idx;             /* the avail index last published */
	uint16_t next_desc;             /* the next free descriptor: a ring of size */
};

/* One buffer of a chain. */
struct vqd_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;                     /* device-writable */
};

/* Forgets what the driver posted: indices back to 0 (the rings in RAM
 * stay as they are). */
void vqd_reset(struct vqd *q);

/* Descriptor i of the table at gpa `table` (a ring's or an indirect one). */
void vqd_put_desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
		  uint16_t flags, uint16_t next);

/* Takes the next free descriptor: its index. */
uint16_t vqd_take_desc(struct vqd *q);

/* n segments at the next free descriptors, chained with NEXT (the last
 * one's next field is the following free descriptor, as the ring wraps);
 * returns the head, not yet published. */
uint16_t vqd_put_chain(struct vqd *q, const struct vqd_seg *s, unsigned int n);

/* The same through the indirect table at gpa `table`: one descriptor of
 * the ring points at it.  Returns the head, not yet published. */
uint16_t vqd_put_chain_indirect(struct vqd *q, const struct vqd_seg *s,
				unsigned int n, uint64_t table);

/* Makes head available: the next avail entry, then the index bumped
 * (after the entry, as a driver orders it).  No notification. */
void vqd_publish(struct vqd *q, uint16_t head);

/* The available index set to idx, whatever was posted (a driver that
 * lies about its ring), and remembered as published. */
void vqd_set_avail_idx(struct vqd *q, uint16_t idx);

/* The device's used index, and the id and length of used entry i (i is
 * a free-running index, taken modulo the size). */
uint16_t vqd_used_idx(const struct vqd *q);
uint32_t vqd_used_id(const struct vqd *q, uint16_t i);
uint32_t vqd_used_len(const struct vqd *q, uint16_t i);

/* ---- the device's register window ---- */

struct vdrv {
	uint64_t base;                  /* the window's guest-physical address */
	/* when set, every register access goes through it instead of the
	 * bus alone (a fuzz target's oracles); it returns what bus_access does */
	bool (*access)(const struct vdrv *d, uint64_t off, void *data,
		       unsigned int len, bool write);
};

/* A len-byte access at off: whether a device answered (bus_access). */
bool vdrv_access(const struct vdrv *d, uint64_t off, void *data, unsigned int len,
		 bool write);

/* 32-bit register read and write; with no device there the harness is
 * wrong, and it aborts. */
uint32_t vdrv_rd(const struct vdrv *d, uint64_t off);
void vdrv_wr(const struct vdrv *d, uint64_t off, uint32_t v);

/* DriverFeatures, both halves. */
void vdrv_features(const struct vdrv *d, uint64_t features);

/* The start of the driver's initialisation (virtio 1.2, 3.1.1): reset,
 * ACKNOWLEDGE, DRIVER, the features, FEATURES_OK. */
void vdrv_negotiate(const struct vdrv *d, uint64_t features);

/* Queue qi's registers from q (QueueNum = q->size, the three addresses in
 * both halves), then QueueReady = 1. */
void vdrv_setup_queue(const struct vdrv *d, unsigned int qi, const struct vqd *q);

/* DRIVER_OK added to the status the device reports. */
void vdrv_driver_ok(const struct vdrv *d);

/* InterruptACK = InterruptStatus: every pending interrupt acknowledged. */
void vdrv_ack(const struct vdrv *d);

/* ---- what the host sees ---- */

struct virtio_mmio;

/* The device's counter `name` (virtio_mmio_stats) in *value; -1 when it
 * has none by that name. */
int virtio_stat(struct virtio_mmio *t, const char *name, uint64_t *value);

#endif
