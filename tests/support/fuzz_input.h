/*
 * A fuzz target's input read as a script: operands taken off the front
 * of the bytes libFuzzer hands over, in the host's byte order (the
 * targets run on little-endian x86, and the seed generators write
 * little-endian).  Taking more than is left takes nothing and fails, so a
 * script's truncated last operation is simply dropped.
 *
 * Header only (static inline), so the fuzz targets that share nothing
 * else with the virtio ones use it without linking anything.
 */
#ifndef VMK_TESTS_FUZZ_INPUT_H
#define VMK_TESTS_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fuzz_in {
	const uint8_t *p;               /* what is left */
	size_t n;
};

/* The next n bytes, in place; NULL (nothing taken) when fewer are left. */
static inline const uint8_t *fuzz_take_ptr(struct fuzz_in *in, size_t n)
{
	const uint8_t *p = in->p;

	if (in->n < n)
		return NULL;
	in->p += n;
	in->n -= n;
	return p;
}

/* The next n bytes copied to dst; false (nothing taken) when fewer are left. */
static inline bool fuzz_take(struct fuzz_in *in, void *dst, size_t n)
{
	const uint8_t *p = fuzz_take_ptr(in, n);

	if (!p)
		return false;
	memcpy(dst, p, n);
	return true;
}

/* One operand of v's type into v. */
#define FUZZ_TAKE(in, v) fuzz_take((in), &(v), sizeof(v))

#endif
