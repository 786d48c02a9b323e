/*
 * The bound on how far a writing job may grow an image: never below what
 * a correct job writes (a full allocation of the image with all its
 * metadata), finite, and safe from overflow for hostile geometry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hypercall.h"
#include "write_limit.h"

#define KiB	1024ull
#define MiB	(1024 * KiB)
#define GiB	(1024 * MiB)

static uint64_t
div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/*
 * A qcow2 image of virtual size v fully allocated from file size f:
 * every data cluster, every L2 table, an L1 table, and the refcount
 * blocks and table covering it all.  What qemu's own allocation comes
 * to, give or take a header cluster.
 */
static uint64_t
qcow2_full(uint64_t f, uint64_t v, uint64_t c, uint64_t bits, uint64_t e)
{
	uint64_t clusters = div_up(v, c), l2 = div_up(clusters, c / e);
	uint64_t l1 = div_up(l2 * 8, c), total, rb;

	total = f + (clusters + l2 + l1) * c;
	rb = div_up(div_up(total, c), c * 8 / bits);
	return total + (rb + div_up(rb * 8, c)) * c;
}

static void
test_qcow2_covers_full_allocation(void **state)
{
	static const struct {
		uint64_t v, c, bits;
		int extended;
	} shapes[] = {
		{ 1 * GiB, 64 * KiB, 16, 0 },
		{ 16 * MiB, 512, 64, 0 },
		{ 16 * MiB, 512, 1, 0 },
		{ 4 * GiB, 2 * MiB, 16, 0 },
		{ 4 * GiB + 512, 64 * KiB, 16, 1 },
		{ 1 * MiB, 4 * KiB, 16, 1 },
	};
	struct image_geometry g = { .format = INSTAR_FMT_QCOW2 };
	uint64_t f = 192 * KiB, bound, need;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		g.virtual_size = shapes[i].v;
		g.cluster_size = shapes[i].c;
		g.refcount_bits = (uint32_t)shapes[i].bits;
		g.extended_l2 = shapes[i].extended;
		need = qcow2_full(f, g.virtual_size, g.cluster_size,
		    shapes[i].bits, g.extended_l2 ? 16 : 8);
		bound = write_limit_image(&g, f, g.virtual_size, 0);
		if (bound < need)
			fail_msg("shape %zu: bound %ju below a full allocation "
			    "of %ju", i, (uintmax_t)bound, (uintmax_t)need);
		/* Generous, yet no more than twice what it can need. */
		if (bound > 2 * need + 64 * g.cluster_size)
			fail_msg("shape %zu: bound %ju far above %ju", i,
			    (uintmax_t)bound, (uintmax_t)need);
	}
}

/* A base that grows to its top's size may fill all of it. */
static void
test_qcow2_growth(void **state)
{
	struct image_geometry g = {
		.format = INSTAR_FMT_QCOW2, .virtual_size = 1 * MiB,
		.cluster_size = 64 * KiB, .refcount_bits = 16,
	};

	(void)state;
	assert_true(write_limit_image(&g, 256 * KiB, 1 * GiB, 1 * GiB) >=
	    qcow2_full(256 * KiB, 1 * GiB, 64 * KiB, 16, 8));
	/*
	 * No data (a repair): metadata and an allocator's leftovers only,
	 * yet never below the current size.
	 */
	assert_true(write_limit_image(&g, 10 * GiB, 0, 0) >= 10 * GiB);
	assert_true(write_limit_image(&g, 10 * GiB, 0, 0) < 10 * GiB +
	    10 * GiB / 8);
}

static void
test_vmdk_and_raw(void **state)
{
	struct image_geometry v = {
		.format = INSTAR_FMT_VMDK, .virtual_size = 1 * GiB,
		.cluster_size = 64 * KiB,
	};
	struct image_geometry r = {
		.format = INSTAR_FMT_RAW, .virtual_size = 1 * MiB,
	};
	uint64_t tables = div_up(1 * GiB, 512 * 64 * KiB);

	(void)state;
	/* Every grain, and every grain table twice (the redundant copy). */
	assert_true(write_limit_image(&v, 64 * KiB, 1 * GiB, 0) >=
	    64 * KiB + 1 * GiB + tables * 2 * 2 * KiB);
	/* A raw base grows to the top's size, and never past it by much. */
	assert_true(write_limit_image(&r, 1 * MiB, 4 * GiB, 4 * GiB) >=
	    4 * GiB);
	assert_true(write_limit_image(&r, 1 * MiB, 4 * GiB, 4 * GiB) <=
	    4 * GiB + 1 * MiB);
	assert_true(write_limit_image(&r, 8 * GiB, 0, 0) >= 8 * GiB);
}

/* Hostile sizes saturate at the largest file, never wrap. */
static void
test_overflow_saturates(void **state)
{
	struct image_geometry g = {
		.format = INSTAR_FMT_QCOW2, .virtual_size = (uint64_t)INT64_MAX,
		.cluster_size = 512, .refcount_bits = 64,
	};
	struct image_geometry v = {
		.format = INSTAR_FMT_VMDK, .virtual_size = (uint64_t)INT64_MAX,
		.cluster_size = 1ull << 62,
	};

	(void)state;
	assert_true(write_limit_image(&g, 1 * MiB, UINT64_MAX, UINT64_MAX) ==
	    (uint64_t)INT64_MAX);
	assert_true(write_limit_image(&g, (uint64_t)INT64_MAX, 0, 0) ==
	    (uint64_t)INT64_MAX);
	assert_true(write_limit_image(&v, 1 * MiB, UINT64_MAX, 0) ==
	    (uint64_t)INT64_MAX);
}

/*
 * check -r all may grow an image to hold a refcount block its table
 * places anywhere the format's offsets reach (qemu does); a damaged
 * 8 MiB image naming one at 256 MiB (regress/check-crash.sh) among them.
 */
static void
test_addressable(void **state)
{
	struct image_geometry q = {
		.format = INSTAR_FMT_QCOW2, .virtual_size = 8 * MiB,
		.cluster_size = 64 * KiB, .refcount_bits = 16,
	};
	struct image_geometry v = {
		.format = INSTAR_FMT_VMDK, .virtual_size = 8 * MiB,
		.cluster_size = 64 * KiB,
	};
	struct image_geometry r = {
		.format = INSTAR_FMT_RAW, .virtual_size = 8 * MiB,
	};

	(void)state;
	assert_true(write_limit_addressable(&q, 8 * MiB) >= (1ull << 56));
	assert_true(write_limit_addressable(&q, 8 * MiB) <
	    (uint64_t)INT64_MAX);
	assert_true(write_limit_addressable(&v, 8 * MiB) >=
	    (1ull << 32) * 512);
	assert_int_equal(write_limit_addressable(&r, 8 * MiB),
	    write_limit_image(&r, 8 * MiB, 0, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qcow2_covers_full_allocation),
		cmocka_unit_test(test_qcow2_growth),
		cmocka_unit_test(test_vmdk_and_raw),
		cmocka_unit_test(test_overflow_saturates),
		cmocka_unit_test(test_addressable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
