/*
 * Unit tests for the rebase planner and the qcow2 writer over images in
 * memory: the overlay reads the same afterwards, its refcounts match
 * its references (counted here independently), refcount blocks and the
 * refcount table grow when they must, the header is laid out as qemu
 * lays it out, and a crash after any write leaves an image that still
 * reads the same with at worst leaked clusters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "image.h"
#include "image_builder.h"
#include "qcow2_testlib.h"
#include "rebase.h"
#include "shadow.h"

#define ARENA_BYTES	(48 * MiB)

struct run {
	struct instar_rebase_params p;
	struct instar_rebase_result res;
	struct fmt_io io[3];
	struct wdev wd;
	struct fmt_arena arena;
	/* A dry run: the overlay shadowed, read-only underneath. */
	bool dry;
	struct fmt_io ro;
	struct fmt_shadow sh;
};

static int
rebase_once(struct run *r, struct mem_img *top, struct mem_img *base,
    struct mem_img *new_base, const char *name)
{
	struct rebase_job job;

	memset(&r->p, 0, sizeof(r->p));
	r->p.formats[0] = INSTAR_FMT_QCOW2;
	r->p.formats[1] = INSTAR_FMT_RAW;
	r->p.formats[2] = INSTAR_FMT_RAW;
	r->p.old_chain_len = 1;
	r->p.new_chain_start = 2;
	if (new_base != NULL) {
		r->p.new_chain_len = 1;
		r->p.name_len = (uint32_t)strlen(name);
		memcpy(r->p.backing_name, name, r->p.name_len);
		memcpy(r->p.backing_format, "raw", 3);
		mem_img_io(new_base, &r->io[2]);
	}
	mem_img_io(base, &r->io[1]);
	r->arena.base = malloc(ARENA_BYTES);
	r->arena.size = ARENA_BYTES;
	r->arena.used = 0;
	r->arena.top = 0;
	assert_non_null(r->arena.base);
	if (r->dry) {
		memset(&r->wd, 0, sizeof(r->wd));
		mem_img_io(top, &r->ro);
		assert_int_equal(shadow_open(&r->sh, &r->ro, &r->arena,
		    &r->io[0]), 0);
	} else
		wdev_init(&r->wd, top, &r->io[0]);
	memset(&job, 0, sizeof(job));
	job.params = &r->p;
	job.devs = r->io;
	job.ndevs = new_base != NULL ? 3 : 2;
	job.arena = &r->arena;
	return rebase_run(&job, &r->res);
}

/*
 * Safe rebase of top from the raw image base onto the raw image
 * new_base, or detach when new_base is NULL.  A dry run goes first: it
 * must leave top byte for byte as it was and predict the real run's
 * outcome, figures, error and final length alike.
 */
static int
rebase_onto(struct run *r, struct mem_img *top, struct mem_img *base,
    struct mem_img *new_base, const char *name)
{
	struct instar_rebase_result dry;
	uint8_t *was = malloc(top->size + 1);
	size_t len = top->size;
	uint64_t dry_size;
	int dry_rc, rc;

	assert_non_null(was);
	memcpy(was, top->buf, len);
	memset(r, 0, sizeof(*r));
	r->dry = true;
	dry_rc = rebase_once(r, top, base, new_base, name);
	dry = r->res;
	dry_size = shadow_size(&r->sh);
	if (dry_rc != 0 && shadow_error(&r->sh) != NULL)
		fail_msg("dry run: %s", shadow_error(&r->sh));
	free(r->arena.base);
	assert_int_equal(top->size, len);
	assert_memory_equal(top->buf, was, len);
	free(was);
	memset(r, 0, sizeof(*r));
	rc = rebase_once(r, top, base, new_base, name);
	assert_int_equal(dry_rc, rc);
	assert_memory_equal(&dry, &r->res, sizeof(dry));
	if (rc == 0)
		assert_int_equal(top->size, dry_size);
	return rc;
}

static int
detach(struct run *r, struct mem_img *top, struct mem_img *base)
{
	return rebase_onto(r, top, base, NULL, "");
}

static void
run_free(struct run *r)
{
	wdev_free(&r->wd);
	free(r->arena.base);
}

/*
 * Detach and check content, refcounts and the header's backing fields.
 * Returns the size of the refcount table afterwards, in clusters.
 */
static uint32_t
detach_and_check(uint32_t version, uint32_t cluster_bits, uint32_t order,
    uint64_t size, uint64_t data_len)
{
	struct mem_img top, base;
	struct run r;
	uint8_t *before, *after;
	uint32_t rt_clusters;

	make_overlay(&top, version, cluster_bits, order, size, "base.raw");
	mem_img_alloc(&base, (size_t)data_len);
	fill_pattern(&base, 0, data_len, 0x40);
	before = read_all(&top, &base, size);
	assert_int_equal(detach(&r, &top, &base), 0);
	assert_int_equal(r.res.status, 0);
	assert_int_equal(r.res.cluster_size, 1u << cluster_bits);
	assert_int_equal(r.res.clusters_copied,
	    (data_len + (1u << cluster_bits) - 1) >> cluster_bits);
	after = read_all(&top, NULL, size);
	assert_memory_equal(before, after, size);
	assert_int_equal(check_refcounts(&top), 0);
	assert_int_equal(get_be64(top.buf + 8), 0);
	assert_int_equal(get_be32(top.buf + 16), 0);
	rt_clusters = get_be32(top.buf + 56);
	free(before);
	free(after);
	run_free(&r);
	mem_img_free(&top);
	mem_img_free(&base);
	return rt_clusters;
}

static void
test_detach_default(void **state)
{
	(void)state;
	detach_and_check(3, 16, 4, 64 * MiB, 3 * MiB + 4096);
}

static void
test_detach_v2(void **state)
{
	(void)state;
	detach_and_check(2, 16, 4, 64 * MiB, 2 * MiB);
}

/* Every refcount width, with enough data to need new refcount blocks. */
static void
test_refcount_widths(void **state)
{
	uint32_t order;

	(void)state;
	for (order = 0; order <= 6; order++)
		detach_and_check(3, 9, order, 8 * MiB, 1 * MiB);
}

/* 512-byte clusters with 64-bit refcounts: the table itself must grow. */
static void
test_refcount_table_grows(void **state)
{
	(void)state;
	/* 4 MiB of 512-byte clusters: 8192 refcounts, 128 blocks, more
	 * than the one-cluster table's 64 entries. */
	assert_true(detach_and_check(3, 9, 6, 8 * MiB, 4 * MiB) > 1);
}

/* 4 KiB clusters: an L2 table maps 2 MiB, so 8 MiB needs four. */
static void
test_new_l2_tables(void **state)
{
	(void)state;
	detach_and_check(3, 12, 4, 64 * MiB, 8 * MiB);
}

/* Content both chains share is not written: detaching from zeros. */
static void
test_equal_content_not_written(void **state)
{
	struct mem_img top, base;
	struct run r;

	(void)state;
	make_overlay(&top, 3, 16, 4, 8 * MiB, "base.raw");
	mem_img_alloc(&base, 1 * MiB);
	assert_int_equal(detach(&r, &top, &base), 0);
	assert_int_equal(r.res.clusters_copied, 0);
	assert_int_equal(r.res.clusters_zeroed, 0);
	assert_int_equal(check_refcounts(&top), 0);
	run_free(&r);
	mem_img_free(&top);
	mem_img_free(&base);
}

/*
 * Past the old backing's end the overlay reads zeros; where the new
 * backing has data there, v3 gets zero clusters (no data written) and
 * v2 gets clusters of zeros.
 */
static void
test_zeros_past_old_end(void **state)
{
	struct mem_img top, base, nbase;
	struct run r;
	uint8_t *before, *after;
	uint32_t version;

	(void)state;
	for (version = 2; version <= 3; version++) {
		make_overlay(&top, version, 16, 4, 8 * MiB, "base.raw");
		mem_img_alloc(&base, 1 * MiB);
		fill_pattern(&base, 0, 1 * MiB, 0x21);
		mem_img_alloc(&nbase, 8 * MiB);
		fill_pattern(&nbase, 0, 1 * MiB, 0x21);
		fill_pattern(&nbase, 1 * MiB, 7 * MiB, 0x77);
		before = read_all(&top, &base, 8 * MiB);
		assert_int_equal(rebase_onto(&r, &top, &base, &nbase, "new"),
		    0);
		assert_int_equal(r.res.clusters_copied, version == 2 ? 112 : 0);
		assert_int_equal(r.res.clusters_zeroed, version == 2 ? 0 : 112);
		after = read_all(&top, &nbase, 8 * MiB);
		assert_memory_equal(before, after, 8 * MiB);
		assert_int_equal(check_refcounts(&top), 0);
		free(before);
		free(after);
		run_free(&r);
		mem_img_free(&top);
		mem_img_free(&base);
		mem_img_free(&nbase);
	}
}

/*
 * A crash after any write: the image, holding only the writes before
 * it, must read as before and have no refcount below its references.
 */
static void
test_crash_after_every_write(void **state)
{
	struct mem_img top, base, replay;
	struct run r;
	uint8_t *before, *after;
	size_t i, k;
	uint64_t size = 2 * MiB;

	(void)state;
	/* Small clusters, wide refcounts: new blocks and a grown table. */
	make_overlay(&top, 3, 9, 6, size, "base.raw");
	mem_img_alloc(&base, 1 * MiB);
	fill_pattern(&base, 0, 1 * MiB, 0x11);
	before = read_all(&top, &base, size);
	mem_img_alloc(&replay, top.size);
	memcpy(replay.buf, top.buf, top.size);
	assert_int_equal(detach(&r, &top, &base), 0);
	assert_true(count_flushes(&r.wd) >= 3);
	for (i = 0; i < r.wd.nlog; i++) {
		const struct io_event *ev = &r.wd.log[i];

		if (ev->data == NULL)
			continue;
		if (ev->off + ev->len > replay.size)
			mem_img_resize(&replay, (size_t)(ev->off + ev->len));
		memcpy(replay.buf + ev->off, ev->data, ev->len);
		/* The last write is the header: the base goes away there. */
		if (ev->off == 0) {
			for (k = i + 1; k < r.wd.nlog; k++)
				assert_null(r.wd.log[k].data);
			break;
		}
		check_refcounts(&replay);
		after = read_all(&replay, &base, size);
		assert_memory_equal(before, after, size);
		free(after);
	}
	assert_int_equal(check_refcounts(&replay), 0);
	free(before);
	run_free(&r);
	mem_img_free(&top);
	mem_img_free(&base);
	mem_img_free(&replay);
}

/* ---- the header ---- */

static int
unsafe_rebase(struct mem_img *top, const char *name, const char *fmt,
    struct instar_rebase_result *res)
{
	struct instar_rebase_params p;
	struct fmt_io io;
	struct wdev wd;
	struct fmt_arena a;
	struct rebase_job job;
	int rc;

	memset(&p, 0, sizeof(p));
	p.unsafe = 1;
	p.formats[0] = INSTAR_FMT_QCOW2;
	p.new_chain_start = 1;
	p.name_len = (uint32_t)strlen(name);
	memcpy(p.backing_name, name, p.name_len);
	memcpy(p.backing_format, fmt, strlen(fmt));
	wdev_init(&wd, top, &io);
	a.base = malloc(ARENA_BYTES);
	a.size = ARENA_BYTES;
	a.used = 0;
	a.top = 0;
	memset(&job, 0, sizeof(job));
	job.params = &p;
	job.devs = &io;
	job.ndevs = 1;
	job.arena = &a;
	rc = rebase_run(&job, res);
	/* Nothing but the header cluster is written, then flushed. */
	if (rc == 0) {
		assert_int_equal(wd.nlog, 2);
		assert_int_equal(wd.log[0].off, 0);
		assert_null(wd.log[1].data);
	} else
		assert_int_equal(wd.nlog, 0);
	wdev_free(&wd);
	free(a.base);
	return rc;
}

/* qemu's layout for a v3 64 KiB-cluster image (REFERENCE.md). */
static void
test_header_v3_layout(void **state)
{
	struct instar_rebase_result res;
	struct mem_img top;

	(void)state;
	make_overlay(&top, 3, 16, 4, 64 * MiB, "old-name");
	assert_int_equal(unsafe_rebase(&top, "base.qcow2", "qcow2", &res), 0);
	assert_int_equal(get_be32(top.buf + 100), 112);
	assert_int_equal(get_be32(top.buf + 0x70), 0xe2792acau);
	assert_int_equal(get_be32(top.buf + 0x74), 5);
	assert_memory_equal(top.buf + 0x78, "qcow2\0\0\0", 8);
	assert_int_equal(get_be32(top.buf + 0x80), 0x6803f857u);
	assert_int_equal(get_be32(top.buf + 0x84), 8 * 48);
	assert_memory_equal(top.buf + 0x88 + 2, "dirty bit", 10);
	assert_int_equal(get_be64(top.buf + 0x208), 0);
	assert_int_equal(get_be64(top.buf + 8), 0x210);
	assert_int_equal(get_be32(top.buf + 16), 10);
	assert_memory_equal(top.buf + 0x210, "base.qcow2", 10);
	mem_img_free(&top);
}

static void
test_header_v2_layout(void **state)
{
	struct instar_rebase_result res;
	struct mem_img top;

	(void)state;
	make_overlay(&top, 2, 16, 4, 64 * MiB, NULL);
	assert_int_equal(unsafe_rebase(&top, "b", "qcow2", &res), 0);
	assert_int_equal(get_be32(top.buf + 0x48), 0xe2792acau);
	assert_int_equal(get_be64(top.buf + 0x58), 0);
	assert_int_equal(get_be64(top.buf + 8), 0x60);
	assert_int_equal(top.buf[0x60], 'b');
	mem_img_free(&top);
}

/* 512-byte clusters: a 376-byte name fits, a 380-byte one does not. */
static void
test_header_no_space(void **state)
{
	struct instar_rebase_result res;
	struct mem_img top;
	uint8_t saved[512];
	char name[400];

	(void)state;
	make_overlay(&top, 3, 9, 4, 1 * MiB, NULL);
	memset(name, 'n', sizeof(name));
	name[376] = '\0';
	assert_int_equal(unsafe_rebase(&top, name, "qcow2", &res), 0);
	assert_int_equal(get_be32(top.buf + 16), 376);
	memcpy(saved, top.buf, sizeof(saved));
	name[376] = 'n';
	name[380] = '\0';
	assert_int_equal(unsafe_rebase(&top, name, "qcow2", &res), -1);
	assert_string_equal(res.error, "No space left in the file header");
	assert_memory_equal(saved, top.buf, sizeof(saved));
	mem_img_free(&top);
}

/* Unknown extensions and header fields survive, in their order. */
/* A name that cannot fit is refused before any data is written. */
static void
test_no_space_refused_first(void **state)
{
	struct mem_img top, base, nbase;
	struct run r;
	char name[400];

	(void)state;
	memset(name, 'n', sizeof(name));
	name[sizeof(name) - 1] = '\0';
	make_overlay(&top, 3, 9, 4, 1 * MiB, "base.raw");
	mem_img_alloc(&base, 1 * MiB);
	mem_img_alloc(&nbase, 1 * MiB);
	fill_pattern(&nbase, 0, 1 * MiB, 0x99);
	assert_int_equal(rebase_onto(&r, &top, &base, &nbase, name), -1);
	assert_string_equal(r.res.error, "No space left in the file header");
	assert_int_equal(r.wd.nlog, 0);
	run_free(&r);
	mem_img_free(&top);
	mem_img_free(&base);
	mem_img_free(&nbase);
}

static void
test_header_keeps_unknown(void **state)
{
	static const uint8_t a[5] = { 1, 2, 3, 4, 5 }, b[8] = { 9 };
	const struct qcow2_ext exts[2] = {
		{ 0x12345678u, sizeof(a), a }, { 0x0badcafeu, sizeof(b), b },
	};
	struct instar_rebase_result res;
	struct qcow2_opts o;
	struct mem_img top;

	(void)state;
	qcow2_default_opts(&o, 64 * MiB);
	o.header_length = 120;
	o.exts = exts;
	o.nexts = 2;
	o.autoclear = 1ull << 5;	/* unknown: cleared by a writer */
	build_qcow2(&top, &o);
	put_be64(&top, 112, 0x1122334455667788ull);
	set_refcount(&top, 0, 1);
	assert_int_equal(unsafe_rebase(&top, "", "", &res), 0);
	assert_int_equal(get_be32(top.buf + 100), 120);
	assert_int_equal(get_be64(top.buf + 112), 0x1122334455667788ull);
	assert_int_equal(get_be64(top.buf + 88), 0);
	/* No backing format when detaching: the feature table comes first. */
	assert_int_equal(get_be32(top.buf + 120), 0x6803f857u);
	assert_int_equal(get_be32(top.buf + 120 + 8 + 384), 0x12345678u);
	assert_memory_equal(top.buf + 120 + 8 + 384 + 8, a, sizeof(a));
	assert_int_equal(get_be32(top.buf + 120 + 8 + 384 + 16), 0x0badcafeu);
	assert_int_equal(get_be64(top.buf + 8), 0);
	mem_img_free(&top);
}

static void
test_refuses_dirty_and_corrupt(void **state)
{
	struct instar_rebase_result res;
	struct qcow2_opts o;
	struct mem_img top;
	uint64_t bits[2] = { 1ull << 0, 1ull << 1 };
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		qcow2_default_opts(&o, 64 * MiB);
		o.incompat = bits[i];
		build_qcow2(&top, &o);
		set_refcount(&top, 0, 1);
		assert_int_equal(unsafe_rebase(&top, "x", "raw", &res), -1);
		assert_non_null(strstr(res.error, i == 0 ? "dirty" :
		    "corrupt"));
		mem_img_free(&top);
	}
}

/*
 * Tables a hostile header puts outside the file, and refcounts that
 * claim clusters past its end, are refused before anything is written
 * (found by fuzz/fuzz_planner).
 */
static void
test_refuses_tables_outside(void **state)
{
	struct instar_rebase_result res;
	struct mem_img top;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		make_overlay(&top, 3, 16, 4, 64 * MiB, NULL);
		if (i == 0)
			put_be64(&top, 40, 1ull << 40);	/* L1 */
		else if (i == 1)
			put_be64(&top, 48, 1ull << 40);	/* refcount table */
		else
			set_refcount(&top, 1000, 1);
		assert_int_equal(unsafe_rebase(&top, "x", "raw", &res), -1);
		assert_non_null(strstr(res.error, i < 2 ?
		    "outside the image" : "past the end of the file"));
		mem_img_free(&top);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detach_default),
		cmocka_unit_test(test_detach_v2),
		cmocka_unit_test(test_refcount_widths),
		cmocka_unit_test(test_refcount_table_grows),
		cmocka_unit_test(test_new_l2_tables),
		cmocka_unit_test(test_equal_content_not_written),
		cmocka_unit_test(test_zeros_past_old_end),
		cmocka_unit_test(test_crash_after_every_write),
		cmocka_unit_test(test_header_v3_layout),
		cmocka_unit_test(test_header_v2_layout),
		cmocka_unit_test(test_header_no_space),
		cmocka_unit_test(test_no_space_refused_first),
		cmocka_unit_test(test_header_keeps_unknown),
		cmocka_unit_test(test_refuses_dirty_and_corrupt),
		cmocka_unit_test(test_refuses_tables_outside),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
