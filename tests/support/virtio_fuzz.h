/*
 * The script operations the virtio-mmio fuzz targets (fuzz/fuzz_virtio_*.c)
 * share: each takes its operands off the input (fuzz_input.h) and does
 * what a hostile guest driver can (virtq_driver.h) to one device of the
 * fake VM (fake_vm.h).  Each returns false, having done nothing more,
 * when the input ends inside its operands: the script is over.  The
 * targets keep their own opcode numbers and their device's own
 * operations; the operands here are the same in every target, so one
 * seed generator writes them for all.
 */
#ifndef VMK_TESTS_VIRTIO_FUZZ_H
#define VMK_TESTS_VIRTIO_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzz_input.h"
#include "virtq_driver.h"

struct virtio_mmio;

/* What a target's LLVMFuzzerInitialize starts with: errors-only logging
 * and the fake VM with ram_size bytes of RAM (abort when out of memory).
 * Returns whether FUZZ_VERBOSE is set (print counters after each input). */
bool vfz_init(uint64_t ram_size);

/* Runs the script in data: step takes one operation off the input and
 * does it, until it returns false (the input is used up). */
void vfz_run(const uint8_t *data, size_t size, bool (*step)(struct fuzz_in *in));

/* off:u16 (& 0xfff)  w:u8 (len = 1 + w % 8)  value:len bytes: a register
 * write of any width anywhere in the window. */
bool vfz_mmio_write(struct fuzz_in *in, const struct vdrv *d);

/* off:u16 (& 0xfff)  w:u8: a read of any width; the bytes past the
 * access in the caller's buffer must stay untouched (else a trap). */
bool vfz_mmio_read(struct fuzz_in *in, const struct vdrv *d);

/* n:u8  bytes:n written to guest RAM at gpa (clipped at its end). */
bool vfz_ram_write(struct fuzz_in *in, uint64_t gpa);

/* q:u16: QueueNotify = q. */
bool vfz_notify(struct fuzz_in *in, const struct vdrv *d);

/* r:u8  value:u32: a 32-bit write at 4 * (r % 64). */
bool vfz_register(struct fuzz_in *in, const struct vdrv *d);

/* n:u8 (1 + n % 4) then n x {addr:u32 len:u32 flags:u8} written at q's
 * next free descriptors, chained with NEXT (flags bit 0 breaks the chain
 * early, bit 1 is WRITE, bit 2 INDIRECT, bit 7 keeps addr whole, else
 * addr %= the size of guest RAM); *head is the chain's head, for the
 * caller to publish. */
bool vfz_raw_chain(struct fuzz_in *in, struct vqd *q, uint16_t *head);

/* FUZZ_VERBOSE output: " name=value" for each of t's counters, then a
 * newline, on stderr. */
void vfz_print_stats(struct virtio_mmio *t);

#endif
