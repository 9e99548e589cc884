/*
 * Unit tests for the guest memory map (src/lib/gmem.c): region
 * registration, bounds of gmem_ptr(), wrap-around at the top of the
 * guest-physical address space, and the bounded copies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gmem.h"

static uint8_t buf_a[4096];
static uint8_t buf_b[8192];

static void test_add_and_lookup(void **state)
{
	(void)state;
	struct gmem m = { 0 };

	assert_int_equal(gmem_add_region(&m, 0x1000, sizeof(buf_a), buf_a), 0);
	assert_int_equal(gmem_add_region(&m, 0x100000, sizeof(buf_b), buf_b), 0);
	assert_int_equal(m.nr_regions, 2);
	assert_int_equal(gmem_total(&m), sizeof(buf_a) + sizeof(buf_b));

	assert_ptr_equal(gmem_ptr(&m, 0x1000, 1), buf_a);
	assert_ptr_equal(gmem_ptr(&m, 0x1000, sizeof(buf_a)), buf_a);
	assert_ptr_equal(gmem_ptr(&m, 0x1fff, 1), buf_a + 0xfff);
	assert_ptr_equal(gmem_ptr(&m, 0x100010, 16), buf_b + 0x10);
	assert_ptr_equal(gmem_ptr(&m, 0x100000 + sizeof(buf_b) - 8, 8),
			 buf_b + sizeof(buf_b) - 8);
}

static void test_bounds(void **state)
{
	(void)state;
	struct gmem m = { 0 };

	assert_int_equal(gmem_add_region(&m, 0x1000, sizeof(buf_a), buf_a), 0);
	/* below, above, straddling either end */
	assert_null(gmem_ptr(&m, 0, 1));
	assert_null(gmem_ptr(&m, 0xfff, 1));
	assert_null(gmem_ptr(&m, 0xfff, 2));
	assert_null(gmem_ptr(&m, 0x2000, 1));
	assert_null(gmem_ptr(&m, 0x1fff, 2));
	assert_null(gmem_ptr(&m, 0x1000, sizeof(buf_a) + 1));
	assert_null(gmem_ptr(&m, 0x1001, sizeof(buf_a)));
	/* huge lengths */
	assert_null(gmem_ptr(&m, 0x1000, UINT64_MAX));
	assert_null(gmem_ptr(&m, 0x1800, UINT64_MAX - 0x7ff));
	/* len 0 is treated as 1: still needs one byte in RAM */
	assert_ptr_equal(gmem_ptr(&m, 0x1fff, 0), buf_a + 0xfff);
	assert_null(gmem_ptr(&m, 0x2000, 0));
	/* empty map */
	struct gmem empty = { 0 };
	assert_null(gmem_ptr(&empty, 0, 1));
	assert_int_equal(gmem_total(&empty), 0);
}

static void test_range_across_adjacent_regions(void **state)
{
	(void)state;
	struct gmem m = { 0 };

	/* adjacent (touching) regions are fine, but no range spans both */
	assert_int_equal(gmem_add_region(&m, 0x1000, sizeof(buf_a), buf_a), 0);
	assert_int_equal(gmem_add_region(&m, 0x2000, sizeof(buf_b), buf_b), 0);
	assert_ptr_equal(gmem_ptr(&m, 0x1fff, 1), buf_a + 0xfff);
	assert_ptr_equal(gmem_ptr(&m, 0x2000, 1), buf_b);
	assert_null(gmem_ptr(&m, 0x1fff, 2));
}

static void test_top_of_address_space(void **state)
{
	(void)state;
	struct gmem m = { 0 };

	/* a region whose end would wrap past 2^64 is refused */
	assert_int_equal(gmem_add_region(&m, UINT64_MAX, 2, buf_a), -1);
	assert_int_equal(gmem_add_region(&m, UINT64_MAX - 0xfff, 0x2000, buf_a), -1);
	assert_int_equal(gmem_add_region(&m, 1, UINT64_MAX, buf_a), -1);
	assert_int_equal(m.nr_regions, 0);

	/* the highest region that does not wrap */
	uint64_t gpa = UINT64_MAX - sizeof(buf_a);
	assert_int_equal(gmem_add_region(&m, gpa, sizeof(buf_a), buf_a), 0);
	assert_ptr_equal(gmem_ptr(&m, gpa, sizeof(buf_a)), buf_a);
	assert_ptr_equal(gmem_ptr(&m, UINT64_MAX - 1, 1), buf_a + sizeof(buf_a) - 1);
	assert_null(gmem_ptr(&m, UINT64_MAX, 1));
	assert_null(gmem_ptr(&m, UINT64_MAX - 1, 2));
	/* ranges whose end wraps to a small number */
	assert_null(gmem_ptr(&m, gpa, UINT64_MAX));
	assert_null(gmem_ptr(&m, UINT64_MAX - 8, 16));
	assert_null(gmem_ptr(&m, gpa + 16, UINT64_MAX - 8));
}

static void test_overlap_refused(void **state)
{
	(void)state;
	struct gmem m = { 0 };

	assert_int_equal(gmem_add_region(&m, 0x10000, 0x1000, buf_a), 0);
	/* same, inside, covering, straddling either end */
	assert_int_equal(gmem_add_region(&m, 0x10000, 0x1000, buf_b), -1);
	assert_int_equal(gmem_add_region(&m, 0x10800, 0x10, buf_b), -1);
	assert_int_equal(gmem_add_region(&m, 0x0, 0x100000, buf_b), -1);
	assert_int_equal(gmem_add_region(&m, 0xf000, 0x1001, buf_b), -1);
	assert_int_equal(gmem_add_region(&m, 0x10fff, 0x1000, buf_b), -1);
	assert_int_equal(m.nr_regions, 1);
	/* touching on either side is not overlap */
	assert_int_equal(gmem_add_region(&m, 0xf000, 0x1000, buf_b), 0);
	assert_int_equal(gmem_add_region(&m, 0x11000, 0x1000, buf_b + 4096), 0);
	assert_int_equal(m.nr_regions, 3);
}

static void test_bad_regions(void **state)
{
	(void)state;
	struct gmem m = { 0 };
	static uint8_t page[GMEM_MAX_REGIONS + 1][16];

	assert_int_equal(gmem_add_region(&m, 0x1000, 0, buf_a), -1);
	for (unsigned int i = 0; i < GMEM_MAX_REGIONS; i++)
		assert_int_equal(gmem_add_region(&m, 0x1000 * (i + 1), 16, page[i]), 0);
	assert_int_equal(m.nr_regions, GMEM_MAX_REGIONS);
	/* full */
	assert_int_equal(gmem_add_region(&m, 0x100000, 16, page[GMEM_MAX_REGIONS]), -1);
	assert_int_equal(m.nr_regions, GMEM_MAX_REGIONS);
	assert_int_equal(gmem_total(&m), 16 * GMEM_MAX_REGIONS);
	for (unsigned int i = 0; i < GMEM_MAX_REGIONS; i++)
		assert_ptr_equal(gmem_ptr(&m, 0x1000 * (i + 1) + 15, 1), page[i] + 15);
}

static void test_read_write(void **state)
{
	(void)state;
	struct gmem m = { 0 };
	uint8_t tmp[32];

	memset(buf_a, 0, sizeof(buf_a));
	assert_int_equal(gmem_add_region(&m, 0x1000, sizeof(buf_a), buf_a), 0);

	memset(tmp, 0xab, sizeof(tmp));
	assert_int_equal(gmem_write(&m, 0x1010, tmp, sizeof(tmp)), 0);
	assert_int_equal(buf_a[0x10], 0xab);
	assert_int_equal(buf_a[0x10 + 31], 0xab);
	assert_int_equal(buf_a[0x10 + 32], 0);

	memset(tmp, 0, sizeof(tmp));
	assert_int_equal(gmem_read(&m, 0x1008, tmp, 16), 0);
	assert_int_equal(tmp[7], 0);
	assert_int_equal(tmp[8], 0xab);

	/* out of range: nothing copied */
	memset(tmp, 0x55, sizeof(tmp));
	assert_int_equal(gmem_read(&m, 0x1ff0, tmp, 32), -1);
	assert_int_equal(tmp[0], 0x55);
	assert_int_equal(gmem_write(&m, 0x1ff0, tmp, 32), -1);
	assert_int_equal(buf_a[0xff0], 0);
	assert_int_equal(gmem_write(&m, UINT64_MAX - 4, tmp, 16), -1);
	assert_int_equal(gmem_read(&m, 0, tmp, 1), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_lookup),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_range_across_adjacent_regions),
		cmocka_unit_test(test_top_of_address_space),
		cmocka_unit_test(test_overlap_refused),
		cmocka_unit_test(test_bad_regions),
		cmocka_unit_test(test_read_write),
	};
	return cmocka_run_group_tests_name("gmem", tests, NULL, NULL);
}
