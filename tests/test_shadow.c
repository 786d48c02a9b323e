/*
 * Unit tests for the dry run's device (guest/format/shadow.c): against a
 * plain model of a file, every read of bytes it kept returns what the
 * file would hold, every read of data it did not keep fails, its length
 * follows pwrite and ftruncate, the device underneath is never changed,
 * and running out of memory is a stated failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "image_builder.h"
#include "shadow.h"

#define MODEL_MAX	(1u << 20)
#define ARENA_BYTES	(8u << 20)

/* What the file would be: bytes, and which of them are unkept data. */
struct model {
	uint8_t bytes[MODEL_MAX];
	uint8_t unknown[MODEL_MAX];
	uint64_t size;
};

struct rig {
	struct mem_img base;
	uint8_t *base_copy;
	struct fmt_arena arena;
	struct fmt_shadow sh;
	struct fmt_io io;
	struct model m;
};

static uint64_t rng_state;

static uint64_t
rnd(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return n == 0 ? 0 : rng_state % n;
}

static struct rig *
rig_new(size_t base_len, size_t arena_len)
{
	struct fmt_io base_io;
	struct rig *r = calloc(1, sizeof(*r));
	size_t i;

	assert_non_null(r);
	mem_img_alloc(&r->base, base_len);
	for (i = 0; i < base_len; i++)
		r->base.buf[i] = (uint8_t)(i * 7 + 3);
	r->base_copy = malloc(base_len + 1);
	assert_non_null(r->base_copy);
	memcpy(r->base_copy, r->base.buf, base_len);
	memcpy(r->m.bytes, r->base.buf, base_len);
	r->m.size = base_len;
	r->arena.base = malloc(arena_len);
	assert_non_null(r->arena.base);
	r->arena.size = arena_len;
	r->arena.used = 0;
	r->arena.top = 0;
	mem_img_io(&r->base, &base_io);
	assert_int_equal(shadow_open(&r->sh, &base_io, &r->arena, &r->io), 0);
	return r;
}

static void
rig_free(struct rig *r)
{
	/* Whatever happened above, the real device is as it was. */
	assert_memory_equal(r->base.buf, r->base_copy, r->base.size);
	free(r->base_copy);
	mem_img_free(&r->base);
	free(r->arena.base);
	free(r);
}

static void
model_write(struct model *m, uint64_t off, const uint8_t *buf, size_t len,
    bool data)
{
	memcpy(m->bytes + off, buf, len);
	memset(m->unknown + off, data, len);
	if (off + len > m->size)
		m->size = off + len;
}

static void
model_truncate(struct model *m, uint64_t size)
{
	if (size < m->size) {
		memset(m->bytes + size, 0, (size_t)(m->size - size));
		memset(m->unknown + size, 0, (size_t)(m->size - size));
	}
	m->size = size;
}

/* Read through the shadow and compare with the model. */
static void
check_read(struct rig *r, uint64_t off, size_t len)
{
	static uint8_t buf[MODEL_MAX];
	bool unknown = memchr(r->m.unknown + off, 1, len) != NULL;
	int rc = r->io.read(r->io.ctx, off, buf, len);

	if (unknown) {
		assert_int_not_equal(rc, 0);
		assert_non_null(shadow_error(&r->sh));
		assert_non_null(strstr(shadow_error(&r->sh),
		    "a dry run does not keep"));
		/* Forget the failure: the next read starts afresh. */
		r->sh.why[0] = '\0';
		return;
	}
	assert_int_equal(rc, 0);
	assert_memory_equal(buf, r->m.bytes + off, len);
}

/* A random operation, as the writers mix them. */
static void
random_step(struct rig *r)
{
	static uint8_t buf[3 * SHADOW_PAGE];
	uint64_t off, len, op = rnd(10);
	size_t i;

	off = rnd(MODEL_MAX / 2);
	len = 1 + rnd(sizeof(buf));
	if (rnd(2))	/* page-aligned, as tables are */
		off &= ~(uint64_t)(SHADOW_PAGE - 1);
	for (i = 0; i < len; i++)
		buf[i] = rnd(3) == 0 ? 0 : (uint8_t)rnd(256);
	if (rnd(4) == 0)
		memset(buf, 0, (size_t)len);
	switch (op) {
	case 0: case 1: case 2:
		assert_int_equal(r->io.write(r->io.ctx, off, buf, (size_t)len),
		    0);
		model_write(&r->m, off, buf, (size_t)len, false);
		break;
	case 3:
		assert_int_equal(fmt_write_data(&r->io, off, buf, (size_t)len),
		    0);
		model_write(&r->m, off, buf, (size_t)len, true);
		break;
	case 4:
		assert_int_equal(r->io.copy(r->io.ctx, off, &r->io, 0, len), 0);
		model_write(&r->m, off, buf, (size_t)len, true);
		break;
	case 5:
		if (rnd(3) != 0)
			break;
		off = rnd(MODEL_MAX / 2 + sizeof(buf));
		assert_int_equal(r->io.truncate(r->io.ctx, off), 0);
		model_truncate(&r->m, off);
		break;
	default:
		check_read(r, off, (size_t)len);
		break;
	}
	assert_int_equal(shadow_size(&r->sh), r->m.size);
}

static void
test_matches_model(void **state)
{
	struct rig *r;
	int round, step;
	uint64_t off;

	(void)state;
	for (round = 0; round < 40; round++) {
		rng_state = 0x9e3779b97f4a7c15ull + (uint64_t)round;
		r = rig_new(64 * 1024 + (size_t)round * 1000, ARENA_BYTES);
		for (step = 0; step < 2000; step++)
			random_step(r);
		/* Then everything, page by page and across pages. */
		for (off = 0; off + 5000 < MODEL_MAX / 2; off += 4999)
			check_read(r, off, 5000);
		rig_free(r);
	}
}

/* Metadata over data makes it readable again; only that part. */
static void
test_metadata_over_data(void **state)
{
	struct rig *r = rig_new(8192, ARENA_BYTES);
	uint8_t data[100], meta[10], got[100];

	(void)state;
	memset(data, 0xaa, sizeof(data));
	memset(meta, 0x55, sizeof(meta));
	assert_int_equal(fmt_write_data(&r->io, 1000, data, sizeof(data)), 0);
	assert_int_not_equal(r->io.read(r->io.ctx, 1099, got, 1), 0);
	assert_non_null(strstr(shadow_error(&r->sh), "at byte 1099"));
	r->sh.why[0] = '\0';
	assert_int_equal(r->io.write(r->io.ctx, 1040, meta, sizeof(meta)), 0);
	assert_int_equal(r->io.read(r->io.ctx, 1040, got, sizeof(meta)), 0);
	assert_memory_equal(got, meta, sizeof(meta));
	assert_int_not_equal(r->io.read(r->io.ctx, 1030, got, 11), 0);
	r->sh.why[0] = '\0';
	assert_int_not_equal(r->io.read(r->io.ctx, 1050, got, 1), 0);
	r->sh.why[0] = '\0';
	/* Bytes around the data read from the base. */
	assert_int_equal(r->io.read(r->io.ctx, 900, got, 100), 0);
	assert_memory_equal(got, r->base.buf + 900, 100);
	assert_int_equal(r->sh.nspans, 2);
	rig_free(r);
}

/* Cut and grown again: the old bytes are gone, as in a file. */
static void
test_truncate_forgets(void **state)
{
	struct rig *r = rig_new(3 * SHADOW_PAGE, ARENA_BYTES);
	uint8_t page[SHADOW_PAGE], got[SHADOW_PAGE], zero[SHADOW_PAGE];

	(void)state;
	memset(page, 0x11, sizeof(page));
	memset(zero, 0, sizeof(zero));
	assert_int_equal(r->io.write(r->io.ctx, SHADOW_PAGE, page,
	    sizeof(page)), 0);
	assert_int_equal(r->io.truncate(r->io.ctx, 100), 0);
	assert_int_equal(shadow_size(&r->sh), 100);
	assert_int_equal(r->io.truncate(r->io.ctx, 4 * SHADOW_PAGE), 0);
	assert_int_equal(r->io.read(r->io.ctx, SHADOW_PAGE, got, sizeof(got)),
	    0);
	assert_memory_equal(got, zero, sizeof(got));
	assert_int_equal(r->io.read(r->io.ctx, 0, got, 200), 0);
	assert_memory_equal(got, r->base.buf, 100);
	assert_memory_equal(got + 100, zero, 100);
	rig_free(r);
}

/* Zeros written whole take no page buffer: a big zeroed table is free. */
static void
test_zero_pages_are_free(void **state)
{
	struct rig *r = rig_new(SHADOW_PAGE, ARENA_BYTES);
	static uint8_t zeros[1u << 20];
	uint8_t got[16];

	(void)state;
	assert_int_equal(r->io.write(r->io.ctx, 0, zeros, sizeof(zeros)), 0);
	assert_int_equal(r->sh.held, 0);
	assert_int_equal(r->io.read(r->io.ctx, 10, got, sizeof(got)), 0);
	assert_memory_equal(got, zeros, sizeof(got));
	assert_int_equal(shadow_size(&r->sh), sizeof(zeros));
	rig_free(r);
}

/* A shadow that runs out of memory says so, and takes none from below. */
static void
test_out_of_memory(void **state)
{
	struct rig *r = rig_new(SHADOW_PAGE, 256 * 1024);
	uint8_t page[SHADOW_PAGE];
	uint64_t i;
	int rc = 0;

	(void)state;
	memset(page, 0x77, sizeof(page));
	r->arena.used = 64 * 1024;	/* the format code's own */
	for (i = 0; i < 1000 && rc == 0; i++)
		rc = r->io.write(r->io.ctx, i * SHADOW_PAGE, page, sizeof(page));
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(shadow_error(&r->sh), "not enough memory for "
	    "the dry run"));
	assert_true(r->arena.used + r->arena.top <= r->arena.size);
	assert_int_equal(r->arena.used, 64 * 1024);
	rig_free(r);
}

/* The format code's allocations and the shadow's never meet. */
static void
test_arena_ends(void **state)
{
	uint8_t mem[4096];
	struct fmt_arena a = { mem, sizeof(mem), 0, 0 };
	uint8_t *lo, *hi;

	(void)state;
	lo = fmt_alloc(&a, 1000, 8);
	hi = fmt_alloc_top(&a, 1000, 512);
	assert_non_null(lo);
	assert_non_null(hi);
	assert_true(hi >= lo + 1000);
	assert_true(hi + 1000 <= mem + sizeof(mem));
	assert_int_equal((uintptr_t)hi % 512, 0);
	assert_null(fmt_alloc(&a, fmt_arena_left(&a) + 1, 1));
	assert_non_null(fmt_alloc(&a, fmt_arena_left(&a), 1));
	assert_int_equal(fmt_arena_left(&a), 0);
	assert_null(fmt_alloc_top(&a, 1, 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_model),
		cmocka_unit_test(test_metadata_over_data),
		cmocka_unit_test(test_truncate_forgets),
		cmocka_unit_test(test_zero_pages_are_free),
		cmocka_unit_test(test_out_of_memory),
		cmocka_unit_test(test_arena_ends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
