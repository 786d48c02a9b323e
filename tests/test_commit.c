/*
 * Unit tests for the commit planner over qcow2 images in memory: the
 * base ends up reading what the top read, refcounts match references in
 * base and top (recounted independently), the top is emptied to header
 * and tables, a smaller base grows, cluster sizes may differ, and a
 * crash after any write leaves every base cluster reading either as
 * before or as committed, with no refcount below its references.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "commit.h"
#include "image.h"
#include "image_builder.h"
#include "qcow2_testlib.h"
#include "qcow2_write.h"
#include "shadow.h"

#define ARENA_BYTES	(48 * MiB)

static uint8_t arena_mem[ARENA_BYTES];

/* Write pattern data into [off, off + len) of a qcow2 image, with the
 * writer itself (it is what is under test elsewhere). */
static void
fill_qcow2(struct mem_img *m, uint64_t off, uint64_t len, uint8_t seed)
{
	struct fmt_arena a = { arena_mem, sizeof(arena_mem), 0, 0 };
	struct qcow2_writer w;
	struct instar_image_info info;
	struct qcow2_hdr h;
	struct fmt_io io;
	struct fmt_err err;
	struct wdev d;
	struct mem_img data;
	uint64_t cs, c;

	wdev_init(&d, m, &io);
	assert_int_equal(qcow2_parse(&io, &h, &info, NULL, NULL, &err), 0);
	cs = h.cluster_size;
	assert_int_equal(off % cs, 0);
	mem_img_alloc(&data, (size_t)cs);
	assert_int_equal(qcow2w_open(&w, &io, &h, &a, &err), 0);
	for (c = off / cs; c < (off + len + cs - 1) / cs; c++) {
		fill_pattern(&data, 0, cs, (uint8_t)(seed + c));
		assert_int_equal(qcow2w_put_data(&w, c, 1, data.buf, &err), 0);
	}
	assert_int_equal(qcow2w_commit(&w, &err), 0);
	mem_img_free(&data);
	wdev_free(&d);
}

/* What a chain of qcow2 images (top first) reads; malloc'd. */
static uint8_t *
read_chain(struct mem_img **imgs, uint32_t n, uint64_t size)
{
	struct fmt_arena a = { arena_mem, sizeof(arena_mem), 0, 0 };
	struct image img[4], *layers[4];
	struct fmt_io io[4];
	struct chain c = { layers, n };
	struct fmt_err err;
	uint8_t *buf = malloc((size_t)size);
	uint32_t i;

	assert_non_null(buf);
	for (i = 0; i < n; i++) {
		mem_img_io(imgs[i], &io[i]);
		if (image_open(&img[i], &io[i], INSTAR_FMT_QCOW2, &a,
		    &err) != 0)
			fail_msg("%s", err.msg);
		layers[i] = &img[i];
	}
	if (chain_read(&c, 0, buf, size, &err) != 0)
		fail_msg("%s", err.msg);
	return buf;
}

struct crun {
	struct instar_commit_params p;
	struct instar_commit_result res;
	struct fmt_io io[2];
	struct wdev top_dev;
	struct wdev base_dev;
	struct fmt_arena arena;
	/* A dry run's devices: shadows over the images, read-only. */
	bool dry;
	struct fmt_io ro[2];
	struct fmt_shadow sh[2];
};

/* Image i of the run: written to, or shadowed in a dry run. */
static void
crun_dev(struct crun *r, uint32_t i, struct mem_img *m, struct wdev *d)
{
	if (!r->dry) {
		wdev_init(d, m, &r->io[i]);
		return;
	}
	memset(d, 0, sizeof(*d));
	mem_img_io(m, &r->ro[i]);
	assert_int_equal(shadow_open(&r->sh[i], &r->ro[i], &r->arena,
	    &r->io[i]), 0);
}

static int
commit_top(struct crun *r, struct mem_img *top, struct mem_img *base,
    bool empty, bool dry)
{
	struct commit_job job;

	memset(r, 0, sizeof(*r));
	r->dry = dry;
	r->p.base_index = 1;
	r->p.empty_top = empty ? 1 : 0;
	r->p.formats[0] = INSTAR_FMT_QCOW2;
	r->p.formats[1] = INSTAR_FMT_QCOW2;
	r->arena.base = arena_mem;
	r->arena.size = sizeof(arena_mem);
	r->arena.used = 0;
	r->arena.top = 0;
	if (empty)
		crun_dev(r, 0, top, &r->top_dev);
	else {
		memset(&r->top_dev, 0, sizeof(r->top_dev));
		mem_img_io(top, &r->io[0]);
	}
	crun_dev(r, 1, base, &r->base_dev);
	memset(&job, 0, sizeof(job));
	job.params = &r->p;
	job.devs = r->io;
	job.ndevs = 2;
	job.arena = &r->arena;
	return commit_run(&job, &r->res);
}

static void
crun_free(struct crun *r)
{
	if (r->top_dev.log != NULL)
		wdev_free(&r->top_dev);
	if (r->base_dev.log != NULL)
		wdev_free(&r->base_dev);
}

static uint8_t *
dup_bytes(const struct mem_img *m)
{
	uint8_t *p = malloc(m->size + 1);

	assert_non_null(p);
	memcpy(p, m->buf, m->size);
	return p;
}

/*
 * A dry run of the commit first: it must leave both images byte for
 * byte as they were and predict every figure of the real run that
 * follows, the files' final lengths included.
 */
static void
commit_dry_then_real(struct crun *r, struct mem_img *top,
    struct mem_img *base, bool empty)
{
	struct instar_commit_result dry;
	uint8_t *top_was = dup_bytes(top), *base_was = dup_bytes(base);
	size_t top_len = top->size, base_len = base->size;
	uint64_t top_after, base_after;

	if (commit_top(r, top, base, empty, true) != 0)
		fail_msg("dry run: %s (%s)", r->res.error,
		    shadow_error(&r->sh[1]) != NULL ? shadow_error(&r->sh[1]) :
		    "");
	dry = r->res;
	top_after = empty ? shadow_size(&r->sh[0]) : top_len;
	base_after = shadow_size(&r->sh[1]);
	assert_int_equal(top->size, top_len);
	assert_int_equal(base->size, base_len);
	assert_memory_equal(top->buf, top_was, top_len);
	assert_memory_equal(base->buf, base_was, base_len);
	free(top_was);
	free(base_was);
	assert_int_equal(commit_top(r, top, base, empty, false), 0);
	assert_memory_equal(&dry, &r->res, sizeof(dry));
	assert_int_equal(top->size, top_after);
	assert_int_equal(base->size, base_after);
}

/* A base with data here and there, a top over it with data elsewhere. */
static void
make_pair(struct mem_img *top, struct mem_img *base, uint32_t top_bits,
    uint32_t base_bits, uint32_t base_order, uint64_t top_size,
    uint64_t base_size)
{
	make_overlay(base, 3, base_bits, base_order, base_size, NULL);
	fill_qcow2(base, 0, 1 * MiB, 0x10);
	fill_qcow2(base, 3 * MiB, 1 * MiB, 0x20);
	make_overlay(top, 3, top_bits, 4, top_size, "base");
	fill_qcow2(top, 512 * KiB, 1 * MiB, 0x30);
	fill_qcow2(top, 6 * MiB, 256 * KiB, 0x40);
	if (top_size > 12 * MiB)
		fill_qcow2(top, top_size - 2 * MiB, 2 * MiB, 0x50);
}

static void
commit_and_check(uint32_t top_bits, uint32_t base_bits, uint32_t order,
    uint64_t top_size, uint64_t base_size)
{
	struct mem_img top, base, *chain[2] = { &top, &base };
	struct crun r;
	uint8_t *before, *after;

	make_pair(&top, &base, top_bits, base_bits, order, top_size,
	    base_size);
	before = read_chain(chain, 2, top_size);
	commit_dry_then_real(&r, &top, &base, true);
	assert_int_equal(r.res.status, 0);
	assert_int_equal(r.res.base_grown, base_size < top_size);
	after = read_chain(&chain[1], 1, top_size);
	assert_memory_equal(before, after, top_size);
	free(after);
	/* The top reads the same through the base, and holds nothing. */
	after = read_chain(chain, 2, top_size);
	assert_memory_equal(before, after, top_size);
	assert_int_equal(check_refcounts(&base), 0);
	assert_int_equal(check_refcounts(&top), 0);
	assert_int_equal(top.size, (size_t)4 << top_bits);
	assert_true(r.res.clusters_emptied > 0);
	free(before);
	free(after);
	crun_free(&r);
	mem_img_free(&top);
	mem_img_free(&base);
}

static void
test_same_cluster_size(void **state)
{
	(void)state;
	commit_and_check(16, 16, 4, 16 * MiB, 16 * MiB);
}

/* 4 KiB clusters over 64 KiB: base clusters merge old and new bytes. */
static void
test_small_over_large(void **state)
{
	(void)state;
	commit_and_check(12, 16, 4, 16 * MiB, 16 * MiB);
}

/* 64 KiB over 512 B clusters with 64-bit refcounts: many new blocks. */
static void
test_large_over_small(void **state)
{
	(void)state;
	commit_and_check(16, 9, 6, 8 * MiB, 8 * MiB);
}

/* Every refcount width in the base. */
static void
test_base_refcount_widths(void **state)
{
	uint32_t order;

	(void)state;
	for (order = 0; order <= 6; order++)
		commit_and_check(16, 12, order, 8 * MiB, 8 * MiB);
}

/* A base smaller than the top grows, with a bigger L1 at 512 B. */
static void
test_base_grows(void **state)
{
	(void)state;
	commit_and_check(16, 16, 4, 64 * MiB, 8 * MiB);
	commit_and_check(12, 9, 4, 20 * MiB, 8 * MiB);
}

/* -d: the top is left byte for byte as it was. */
static void
test_keep_top(void **state)
{
	struct mem_img top, base, *chain[2] = { &top, &base };
	struct crun r;
	uint8_t *before, *after, *saved;
	size_t saved_len;

	(void)state;
	make_pair(&top, &base, 16, 16, 4, 16 * MiB, 16 * MiB);
	saved_len = top.size;
	saved = malloc(saved_len);
	assert_non_null(saved);
	memcpy(saved, top.buf, saved_len);
	before = read_chain(chain, 2, 16 * MiB);
	commit_dry_then_real(&r, &top, &base, false);
	assert_int_equal(r.res.clusters_emptied, 0);
	assert_int_equal(top.size, saved_len);
	assert_memory_equal(top.buf, saved, saved_len);
	after = read_chain(&chain[1], 1, 16 * MiB);
	assert_memory_equal(before, after, 16 * MiB);
	assert_int_equal(check_refcounts(&base), 0);
	free(saved);
	free(before);
	free(after);
	crun_free(&r);
	mem_img_free(&top);
	mem_img_free(&base);
}

/* An overlay holding nothing: neither image is written at all. */
static void
test_empty_top_untouched(void **state)
{
	struct mem_img top, base;
	struct crun r;

	(void)state;
	make_overlay(&base, 3, 16, 4, 16 * MiB, NULL);
	fill_qcow2(&base, 0, 1 * MiB, 0x10);
	make_overlay(&top, 3, 16, 4, 16 * MiB, "base");
	assert_int_equal(commit_top(&r, &top, &base, true, false), 0);
	assert_int_equal(r.res.clusters_committed, 0);
	assert_int_equal(r.res.clusters_emptied, 0);
	assert_int_equal(r.top_dev.nlog, 0);
	assert_int_equal(r.base_dev.nlog, 0);
	crun_free(&r);
	mem_img_free(&top);
	mem_img_free(&base);
}

/*
 * A crash after any write to the base: no refcount below its
 * references, and each base cluster reads as before or as committed.
 * Then a crash after any write to the top while it is emptied: still
 * consistent, and it reads the same through the committed base.
 */
static void
test_crash_after_every_write(void **state)
{
	struct mem_img top, base, orig, replay, *chain[2] = { &top, &base };
	struct mem_img *rchain[2] = { &replay, &base };
	struct mem_img *bchain[1] = { &replay };
	struct crun r;
	uint8_t *before, *old_base, *now;
	uint64_t size = 8 * MiB, cs = 4096, c;
	size_t i;

	(void)state;
	make_pair(&top, &base, 16, 12, 4, size, size);
	before = read_chain(chain, 2, size);
	old_base = read_chain(&chain[1], 1, size);
	mem_img_alloc(&orig, base.size);
	memcpy(orig.buf, base.buf, base.size);
	mem_img_alloc(&replay, top.size);
	memcpy(replay.buf, top.buf, top.size);
	assert_int_equal(commit_top(&r, &top, &base, true, false), 0);
	for (i = 1; i <= r.base_dev.nlog; i++) {
		struct mem_img b;

		mem_img_alloc(&b, orig.size);
		memcpy(b.buf, orig.buf, orig.size);
		wdev_replay(&r.base_dev, i, &b);
		check_refcounts(&b);
		bchain[0] = &b;
		now = read_chain(bchain, 1, size);
		for (c = 0; c < size / cs; c++)
			if (memcmp(now + c * cs, old_base + c * cs, cs) != 0 &&
			    memcmp(now + c * cs, before + c * cs, cs) != 0)
				fail_msg("after write %zu base cluster %llu is "
				    "neither", i, (unsigned long long)c);
		free(now);
		mem_img_free(&b);
	}
	for (i = 1; i <= r.top_dev.nlog; i++) {
		struct mem_img t;

		mem_img_alloc(&t, replay.size);
		memcpy(t.buf, replay.buf, replay.size);
		wdev_replay(&r.top_dev, i, &t);
		check_refcounts(&t);
		rchain[0] = &t;
		now = read_chain(rchain, 2, size);
		assert_memory_equal(now, before, size);
		free(now);
		mem_img_free(&t);
	}
	free(before);
	free(old_base);
	crun_free(&r);
	mem_img_free(&top);
	mem_img_free(&base);
	mem_img_free(&orig);
	mem_img_free(&replay);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_cluster_size),
		cmocka_unit_test(test_small_over_large),
		cmocka_unit_test(test_large_over_small),
		cmocka_unit_test(test_base_refcount_widths),
		cmocka_unit_test(test_base_grows),
		cmocka_unit_test(test_keep_top),
		cmocka_unit_test(test_empty_top_untouched),
		cmocka_unit_test(test_crash_after_every_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
