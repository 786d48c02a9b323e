/*
 * Unit tests for the check planner over images in memory: clean images
 * of many shapes report nothing; hand-made damage is found, counted and
 * worded as qemu 7.2 words it; a repair leaves an image that checks
 * clean (and that the independent counter of qcow2_testlib agrees with),
 * and a crash after any of its writes leaves no refcount below its
 * references; memory stays bounded whatever the image's size.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "check.h"
#include "image_builder.h"
#include "qcow2.h"
#include "qcow2_testlib.h"
#include "qcow2_write.h"

#define ARENA_BYTES	(48 * MiB)

static uint8_t arena_mem[ARENA_BYTES];
static struct instar_check_result res;

/* Data at guest clusters first, first + stride, ... (n of them). */
static void
put_clusters(struct mem_img *m, uint64_t first, uint64_t n, uint64_t stride)
{
	struct fmt_arena a = { arena_mem, sizeof(arena_mem), 0, 0 };
	struct qcow2_writer w;
	struct instar_image_info info;
	struct qcow2_hdr h;
	struct fmt_io io;
	struct fmt_err err;
	struct wdev d;
	struct mem_img data;
	uint64_t i;

	wdev_init(&d, m, &io);
	assert_int_equal(qcow2_parse(&io, &h, &info, NULL, NULL, &err), 0);
	mem_img_alloc(&data, (size_t)h.cluster_size);
	assert_int_equal(qcow2w_open(&w, &io, &h, &a, &err), 0);
	for (i = 0; i < n; i++) {
		fill_pattern(&data, 0, h.cluster_size, (uint8_t)i);
		assert_int_equal(qcow2w_put_data(&w, first + i * stride, 1,
		    data.buf, &err), 0);
	}
	assert_int_equal(qcow2w_commit(&w, &err), 0);
	mem_img_free(&data);
	wdev_free(&d);
}

/* A v3 image with some data, as the writer lays it out. */
static void
make_image(struct mem_img *m, uint32_t cbits, uint32_t order, uint64_t size)
{
	make_overlay(m, 3, cbits, order, size, NULL);
	put_clusters(m, 0, 5, 1);
	put_clusters(m, 9, 3, 2);
}

/* Check m (repairing as asked) through a logged device. */
static int
run_check(struct mem_img *m, uint32_t repair, uint64_t window_max,
    size_t arena_bytes, struct wdev *log)
{
	struct instar_check_params p;
	struct fmt_arena a = { arena_mem, arena_bytes, 0, 0 };
	struct check_job job;
	struct fmt_io io;
	struct wdev d;
	int r;

	memset(&p, 0, sizeof(p));
	p.repair = repair;
	p.format = INSTAR_FMT_QCOW2;
	wdev_init(&d, m, &io);
	if (repair == INSTAR_CHECK_REPAIR_NONE) {
		io.write = NULL;
		io.flush = NULL;
		io.copy = NULL;
		io.truncate = NULL;
	}
	memset(&job, 0, sizeof(job));
	job.params = &p;
	job.dev = &io;
	job.arena = &a;
	job.window_max = window_max;
	r = check_run(&job, &res);
	assert_null(check_result_validate(&res, INSTAR_CHECK_RESULT_MIN +
	    res.text_len));
	if (log != NULL)
		*log = d;
	else
		wdev_free(&d);
	return r;
}

static int
check(struct mem_img *m)
{
	return run_check(m, INSTAR_CHECK_REPAIR_NONE, 0, ARENA_BYTES, NULL);
}

/* Line i of the result, or NULL. */
static const char *
line(uint32_t i)
{
	uint32_t pos = 0;

	while (pos < res.text_len) {
		if (i-- == 0)
			return res.text + pos;
		pos += (uint32_t)strlen(res.text + pos) + 1;
	}
	return NULL;
}

static bool
has_line(const char *want)
{
	uint32_t i;

	for (i = 0; i < res.nlines; i++)
		if (strcmp(line(i), want) == 0)
			return true;
	return false;
}

static void
print_lines(void)
{
	uint32_t i;

	for (i = 0; i < res.nlines; i++)
		print_message("  %s\n", line(i));
}

static void
assert_clean(void)
{
	if (res.nlines != 0)
		print_lines();
	assert_int_equal(res.status, 0);
	assert_int_equal(res.has_checks, 1);
	assert_int_equal(res.nlines, 0);
	assert_int_equal(res.corruptions, 0);
	assert_int_equal(res.leaks, 0);
	assert_int_equal(res.check_errors, 0);
}

static uint64_t
be64(const struct mem_img *m, uint64_t off)
{
	return get_be64(m->buf + off);
}

static uint64_t
l1_entry_off(const struct mem_img *m, uint64_t i)
{
	return be64(m, 40) + i * 8;
}

static uint64_t
l2_entry_off(const struct mem_img *m, uint64_t l1i, uint64_t j)
{
	return (be64(m, l1_entry_off(m, l1i)) & QCOW2_OFFSET_MASK) + j * 8;
}

/* ---- clean images ---- */

static void
test_clean_shapes(void **state)
{
	static const uint32_t cbits[] = { 9, 12, 16, 21 };
	struct mem_img m;
	uint32_t order, i;

	(void)state;
	for (i = 0; i < sizeof(cbits) / sizeof(cbits[0]); i++)
		for (order = 0; order <= 6; order++) {
			uint64_t size = cbits[i] == 21 ? 64 * MiB : 8 * MiB;

			make_image(&m, cbits[i], order, size);
			assert_int_equal(check(&m), 0);
			assert_clean();
			assert_int_equal(res.allocated_clusters, 8);
			assert_int_equal(res.total_clusters,
			    size >> cbits[i]);
			assert_int_equal(res.image_end_offset, m.size);
			assert_int_equal(check_refcounts(&m), 0);
			/* Several windows find the same. */
			assert_int_equal(run_check(&m, 0, 64, ARENA_BYTES,
			    NULL), 0);
			assert_clean();
			assert_int_equal(res.allocated_clusters, 8);
			mem_img_free(&m);
		}
}

static void
test_fragmentation(void **state)
{
	struct mem_img m;

	(void)state;
	make_overlay(&m, 3, 16, 4, 64 * MiB, NULL);
	/* Written in reverse: each cluster lands before the previous. */
	put_clusters(&m, 7, 1, 1);
	put_clusters(&m, 6, 1, 1);
	put_clusters(&m, 5, 1, 1);
	assert_int_equal(check(&m), 0);
	assert_clean();
	assert_int_equal(res.allocated_clusters, 3);
	assert_int_equal(res.fragmented_clusters, 2);
	mem_img_free(&m);
}

/* ---- damage ---- */

static void
test_leak(void **state)
{
	struct mem_img m;
	uint64_t e, k;
	char want[128];

	(void)state;
	make_image(&m, 16, 4, 8 * MiB);
	e = be64(&m, l2_entry_off(&m, 0, 2));
	k = (e & QCOW2_OFFSET_MASK) >> 16;
	put_be64(&m, l2_entry_off(&m, 0, 2), 0);
	assert_int_equal(check(&m), 0);
	snprintf(want, sizeof(want), "Leaked cluster %llu refcount=1 "
	    "reference=0", (unsigned long long)k);
	assert_int_equal(res.nlines, 1);
	assert_string_equal(line(0), want);
	assert_int_equal(res.leaks, 1);
	assert_int_equal(res.corruptions, 0);

	/* In several windows too. */
	assert_int_equal(run_check(&m, 0, 64, ARENA_BYTES, NULL), 0);
	assert_int_equal(res.leaks, 1);
	assert_string_equal(line(0), want);

	assert_int_equal(run_check(&m, INSTAR_CHECK_REPAIR_LEAKS, 0,
	    ARENA_BYTES, NULL), 0);
	assert_string_equal(line(0), want);
	snprintf(want, sizeof(want), "Repairing cluster %llu refcount=1 "
	    "reference=0", (unsigned long long)k);
	assert_string_equal(line(1), want);
	assert_int_equal(res.leaks_fixed, 1);
	assert_int_equal(res.leaks, 0);
	assert_int_equal(check_refcounts(&m), 0);
	assert_int_equal(check(&m), 0);
	assert_clean();
	mem_img_free(&m);
}

static void
test_refcount_zero(void **state)
{
	struct mem_img m;
	uint64_t e, k;
	char want[160];

	(void)state;
	make_image(&m, 16, 4, 8 * MiB);
	e = be64(&m, l2_entry_off(&m, 0, 1));
	k = (e & QCOW2_OFFSET_MASK) >> 16;
	set_refcount(&m, k, 0);
	assert_int_equal(check(&m), 0);
	snprintf(want, sizeof(want), "ERROR cluster %llu refcount=0 "
	    "reference=1", (unsigned long long)k);
	assert_string_equal(line(0), want);
	snprintf(want, sizeof(want), "ERROR OFLAG_COPIED data cluster: "
	    "l2_entry=%llx refcount=0", (unsigned long long)e);
	assert_string_equal(line(1), want);
	assert_int_equal(res.corruptions, 2);

	/* qemu would rebuild: -r leaks fails, changing nothing. */
	assert_int_equal(run_check(&m, INSTAR_CHECK_REPAIR_LEAKS, 0,
	    ARENA_BYTES, NULL), -1);
	assert_true(has_line("ERROR need to rebuild refcount structures"));
	assert_int_equal(refcount_of(&m, k), 0);

	assert_int_equal(run_check(&m, INSTAR_CHECK_REPAIR_ALL, 0,
	    ARENA_BYTES, NULL), 0);
	assert_int_equal(res.corruptions_fixed, 1);
	assert_int_equal(res.corruptions, 0);
	assert_int_equal(refcount_of(&m, k), 1);
	assert_int_equal(check_refcounts(&m), 0);
	assert_int_equal(check(&m), 0);
	assert_clean();
	mem_img_free(&m);
}

static void
test_refcount_high(void **state)
{
	static const uint32_t orders[] = { 0, 3, 4, 6 };
	struct mem_img m;
	uint64_t e, k;
	uint32_t i;
	char want[160];

	(void)state;
	for (i = 0; i < 4; i++) {
		make_image(&m, 16, orders[i], 8 * MiB);
		e = be64(&m, l2_entry_off(&m, 0, 3));
		k = (e & QCOW2_OFFSET_MASK) >> 16;
		set_refcount(&m, k, orders[i] == 0 ? 1 : 3);
		if (orders[i] == 0) {
			/* One bit: make a leak instead, the cluster unused. */
			put_be64(&m, l2_entry_off(&m, 0, 3), 0);
			assert_int_equal(check(&m), 0);
			assert_int_equal(res.leaks, 1);
			assert_int_equal(res.corruptions, 0);
		} else {
			assert_int_equal(check(&m), 0);
			snprintf(want, sizeof(want), "Leaked cluster %llu "
			    "refcount=3 reference=1", (unsigned long long)k);
			assert_string_equal(line(0), want);
			snprintf(want, sizeof(want), "ERROR OFLAG_COPIED data "
			    "cluster: l2_entry=%llx refcount=3",
			    (unsigned long long)e);
			assert_string_equal(line(1), want);
			assert_int_equal(res.leaks, 1);
			assert_int_equal(res.corruptions, 1);
		}
		assert_int_equal(run_check(&m, INSTAR_CHECK_REPAIR_ALL, 0,
		    ARENA_BYTES, NULL), 0);
		assert_int_equal(res.leaks_fixed, 1);
		assert_int_equal(res.leaks + res.corruptions, 0);
		assert_int_equal(check_refcounts(&m), 0);
		assert_int_equal(check(&m), 0);
		assert_clean();
		mem_img_free(&m);
	}
}

static void
test_copied(void **state)
{
	struct mem_img m;
	uint64_t off, e;
	char want[160];

	(void)state;
	make_image(&m, 16, 4, 8 * MiB);
	off = l2_entry_off(&m, 0, 0);
	e = be64(&m, off) & ~QCOW2_COPIED;
	put_be64(&m, off, e);
	assert_int_equal(check(&m), 0);
	snprintf(want, sizeof(want), "ERROR OFLAG_COPIED data cluster: "
	    "l2_entry=%llx refcount=1", (unsigned long long)e);
	assert_int_equal(res.nlines, 1);
	assert_string_equal(line(0), want);
	assert_int_equal(res.corruptions, 1);

	/* The L1 entry's flag too. */
	put_be64(&m, l1_entry_off(&m, 0), be64(&m, l1_entry_off(&m, 0)) &
	    ~QCOW2_COPIED);
	assert_int_equal(check(&m), 0);
	assert_int_equal(res.corruptions, 2);
	snprintf(want, sizeof(want), "ERROR OFLAG_COPIED L2 cluster: "
	    "l1_index=0 l1_entry=%llx refcount=1",
	    (unsigned long long)be64(&m, l1_entry_off(&m, 0)));
	assert_string_equal(line(0), want);

	/* -r leaks repairs them when nothing else is wrong. */
	assert_int_equal(run_check(&m, INSTAR_CHECK_REPAIR_LEAKS, 0,
	    ARENA_BYTES, NULL), 0);
	assert_int_equal(res.corruptions_fixed, 2);
	assert_int_equal(check_refcounts(&m), 0);
	assert_int_equal(check(&m), 0);
	assert_clean();
	mem_img_free(&m);
}

static void
test_l2_beyond_eof(void **state)
{
	struct mem_img m;
	uint64_t old;
	char want[200];

	(void)state;
	make_image(&m, 16, 4, 8 * MiB);
	old = be64(&m, l1_entry_off(&m, 0)) & QCOW2_OFFSET_MASK;
	put_be64(&m, l1_entry_off(&m, 0), QCOW2_COPIED | 0x10000000ull);
	assert_int_equal(check(&m), 0);
	snprintf(want, sizeof(want), "ERROR: counting reference for region "
	    "exceeding the end of the file by one cluster or more: offset "
	    "0x10000000 size 0x10000");
	assert_string_equal(line(0), want);
	snprintf(want, sizeof(want), "Leaked cluster %llu refcount=1 "
	    "reference=0", (unsigned long long)(old >> 16));
	assert_true(has_line(want));
	/* Past the end, and its COPIED flag with a refcount of 0. */
	assert_int_equal(res.corruptions, 2);
	/* The old table and the 8 data clusters it pointed to. */
	assert_int_equal(res.leaks, 9);
	assert_int_equal(res.allocated_clusters, 0);
	mem_img_free(&m);
}

static void
test_misaligned_l2(void **state)
{
	struct mem_img m;
	uint64_t e;
	char want[160];

	(void)state;
	make_image(&m, 16, 4, 8 * MiB);
	e = be64(&m, l1_entry_off(&m, 0)) + 0x200;
	put_be64(&m, l1_entry_off(&m, 0), e);
	assert_int_equal(check(&m), 0);
	snprintf(want, sizeof(want), "ERROR l2_offset=%llx: Table is not "
	    "cluster aligned; L1 entry corrupted",
	    (unsigned long long)(e & QCOW2_OFFSET_MASK));
	assert_true(has_line(want));
	assert_true(res.corruptions >= 1);
	mem_img_free(&m);
}

static void
test_reserved_bits(void **state)
{
	struct mem_img m;
	uint64_t off, e;
	char want[160];

	(void)state;
	make_image(&m, 16, 4, 8 * MiB);
	off = l2_entry_off(&m, 0, 4);
	e = be64(&m, off) | 2;
	put_be64(&m, off, e);
	off = l1_entry_off(&m, 0);
	put_be64(&m, off, be64(&m, off) | (1ull << 60));
	assert_int_equal(check(&m), 0);
	snprintf(want, sizeof(want), "ERROR found L1 entry with reserved "
	    "bits set: %llx", (unsigned long long)be64(&m, off));
	assert_string_equal(line(0), want);
	snprintf(want, sizeof(want), "ERROR found l2 entry with reserved "
	    "bits set: %llx", (unsigned long long)e);
	assert_string_equal(line(1), want);
	assert_int_equal(res.corruptions, 2);
	mem_img_free(&m);
}

static void
test_misaligned_refblock(void **state)
{
	struct mem_img m;
	uint64_t rt = 0;

	(void)state;
	make_image(&m, 16, 4, 8 * MiB);
	rt = be64(&m, 48);
	put_be64(&m, rt, be64(&m, rt) + 0x200);
	assert_int_equal(check(&m), 0);
	assert_string_equal(line(0), "ERROR refcount block 0 is not cluster "
	    "aligned; refcount table entry corrupted");
	assert_string_equal(line(1), "qcow2: Image is corrupt: Refblock "
	    "offset 0x20200 unaligned (reftable index: 0); further non-fatal "
	    "corruption events will be suppressed");
	assert_string_equal(line(2), "Can't get refcount for cluster 0: "
	    "Input/output error");
	assert_true(res.check_errors > 0);
	/* qemu marks the image corrupt, then cannot write its rebuild. */
	assert_int_equal(run_check(&m, INSTAR_CHECK_REPAIR_ALL, 0,
	    ARENA_BYTES, NULL), -1);
	assert_string_equal(res.error, "Input/output error");
	assert_true(has_line("Rebuilding refcount structure"));
	assert_true(has_line("instar: ERROR writing refblock: Input/output "
	    "error"));
	assert_true(be64(&m, 72) & INCOMPAT_CORRUPT);
	mem_img_free(&m);
}

/* A data cluster with refcount 0 and a leak, rebuilt as qemu does. */
static void
test_rebuild(void **state)
{
	static const uint32_t orders[] = { 0, 4, 6 };
	struct mem_img m;
	uint64_t k, rt;
	uint32_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		make_image(&m, 16, orders[i], 8 * MiB);
		k = (be64(&m, l2_entry_off(&m, 0, 1)) & QCOW2_OFFSET_MASK) >>
		    16;
		if (orders[i] != 0)
			set_refcount(&m, k, 0);
		put_be64(&m, l2_entry_off(&m, 0, 3), 0);
		/* With one bit, drop the block's entry: all read as 0. */
		if (orders[i] == 0)
			put_be64(&m, be64(&m, 48), 0);
		rt = be64(&m, 48);
		assert_int_equal(check(&m), 0);
		assert_true(res.corruptions >= 1);
		assert_int_equal(run_check(&m, INSTAR_CHECK_REPAIR_ALL, 0,
		    ARENA_BYTES, NULL), 0);
		assert_true(has_line("Rebuilding refcount structure"));
		assert_int_equal(res.corruptions + res.leaks, 0);
		assert_true(res.corruptions_fixed >= 1);
		assert_int_not_equal(be64(&m, 48), rt);
		assert_int_equal(check_refcounts(&m), 0);
		assert_int_equal(check(&m), 0);
		assert_clean();
		mem_img_free(&m);
	}
}

/*
 * An image without any refcount table: qemu's check opens it all the
 * same (qemu-iotests 108), finds every cluster unreferenced and rebuilds.
 */
static void
test_no_refcount_table(void **state)
{
	struct mem_img m;

	(void)state;
	make_image(&m, 16, 4, 8 * MiB);
	put_be64(&m, 48, 0);
	put_be32(&m, 56, 0);
	assert_int_equal(check(&m), 0);
	assert_true(has_line("ERROR cluster 0 refcount=0 reference=1"));
	assert_int_equal(run_check(&m, INSTAR_CHECK_REPAIR_ALL, 0,
	    ARENA_BYTES, NULL), 0);
	assert_true(has_line("Rebuilding refcount structure"));
	assert_int_equal(res.corruptions + res.leaks, 0);
	assert_int_not_equal(be64(&m, 48), 0);
	assert_int_equal(check_refcounts(&m), 0);
	assert_int_equal(check(&m), 0);
	assert_clean();
	mem_img_free(&m);
}

/*
 * A refcount block named past INT64_MAX: qemu cannot grow the file to
 * hold it ("Invalid argument") and rebuilds instead; the size of the
 * offset must not make the check run out of memory first.
 */
static void
test_refblock_past_int64(void **state)
{
	static const uint64_t offs[] = { 0x7fffffffffff0000ull,
	    0xffffffffffff0000ull };
	struct mem_img m;
	uint32_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		make_image(&m, 16, 4, 8 * MiB);
		put_be64(&m, be64(&m, 48) + 8, offs[i]);
		assert_int_equal(run_check(&m, INSTAR_CHECK_REPAIR_ALL, 0,
		    ARENA_BYTES, NULL), 0);
		assert_string_equal(line(0), "Repairing refcount block 1 is "
		    "outside image");
		assert_string_equal(line(1), "ERROR could not resize image: "
		    "Invalid argument");
		assert_true(has_line("Rebuilding refcount structure"));
		assert_int_equal(res.corruptions + res.leaks, 0);
		assert_int_equal(res.corruptions_fixed, 1);
		assert_int_equal(check_refcounts(&m), 0);
		assert_int_equal(check(&m), 0);
		assert_clean();
		mem_img_free(&m);
	}
}

/* ---- repair ordering ---- */

static void
test_repair_crash(void **state)
{
	struct mem_img m, base, img;
	struct wdev log;
	uint64_t off, e, k;
	size_t n;

	(void)state;
	make_image(&m, 16, 4, 8 * MiB);
	/* A leak... */
	put_be64(&m, l2_entry_off(&m, 0, 2), 0);
	/* ... a refcount too high, its flag consistent with it ... */
	off = l2_entry_off(&m, 0, 3);
	e = be64(&m, off) & ~QCOW2_COPIED;
	put_be64(&m, off, e);
	k = (e & QCOW2_OFFSET_MASK) >> 16;
	set_refcount(&m, k, 2);
	mem_img_alloc(&base, m.size);
	memcpy(base.buf, m.buf, m.size);
	assert_int_equal(run_check(&m, INSTAR_CHECK_REPAIR_ALL, 0,
	    ARENA_BYTES, &log), 0);
	assert_int_equal(res.leaks_fixed, 2);
	assert_int_equal(res.corruptions_fixed, 1);
	assert_true(count_flushes(&log) >= 2);
	/* A crash after any write: never a refcount below references. */
	for (n = 0; n <= log.nlog; n++) {
		mem_img_alloc(&img, base.size);
		memcpy(img.buf, base.buf, base.size);
		wdev_replay(&log, n, &img);
		check_refcounts(&img);
		mem_img_free(&img);
	}
	assert_int_equal(check_refcounts(&m), 0);
	assert_int_equal(check(&m), 0);
	assert_clean();
	wdev_free(&log);
	mem_img_free(&base);
	mem_img_free(&m);
}

/*
 * Clusters whose stored refcount is below the references the header,
 * the active tables and the refcount structure make (counted here, not
 * by the code under test).
 */
static uint64_t
sbe64(const struct mem_img *m, uint64_t off)
{
	return off + 8 <= m->size ? get_be64(m->buf + off) : 0;
}

static uint64_t
underref(const struct mem_img *m)
{
	uint32_t cb = get_be32(m->buf + 20);
	uint64_t cs = 1ull << cb, n = (m->size + cs - 1) / cs + 1;
	uint64_t l1 = sbe64(m, 40), l1_size = get_be32(m->buf + 36);
	uint64_t rt = sbe64(m, 48), rtc = get_be32(m->buf + 56);
	uint64_t i, j, e, bad = 0;
	uint32_t *refs = calloc(n, sizeof(*refs));

	assert_non_null(refs);
#define REF(off, len) do {						\
	uint64_t k_;							\
	for (k_ = (off) >> cb; k_ < ((off) + (len) + cs - 1) >> cb; k_++) \
		if (k_ < n)						\
			refs[k_]++;					\
} while (0)
	REF(0, cs);
	REF(l1, l1_size * 8);
	REF(rt, rtc * cs);
	for (i = 0; i < rtc * cs / 8; i++)
		if ((e = sbe64(m, rt + i * 8)) != 0)
			REF(e, cs);
	for (i = 0; i < l1_size; i++) {
		uint64_t l2 = sbe64(m, l1 + i * 8) & QCOW2_OFFSET_MASK;

		if (l2 == 0)
			continue;
		REF(l2, cs);
		for (j = 0; j < cs / 8; j++)
			if ((e = sbe64(m, l2 + j * 8) & QCOW2_OFFSET_MASK))
				REF(e, cs);
	}
#undef REF
	for (i = 0; i < n; i++)
		if (refcount_of(m, i) < refs[i])
			bad++;
	free(refs);
	return bad;
}

/* A crash anywhere in a rebuild leaves no more too-low refcounts. */
static void
test_rebuild_crash(void **state)
{
	struct mem_img m, base, img;
	struct wdev log;
	uint64_t k, before;
	size_t n;

	(void)state;
	make_image(&m, 16, 4, 8 * MiB);
	k = (be64(&m, l2_entry_off(&m, 0, 1)) & QCOW2_OFFSET_MASK) >> 16;
	set_refcount(&m, k, 0);
	put_be64(&m, l2_entry_off(&m, 0, 3), 0);
	before = underref(&m);
	assert_int_equal(before, 1);
	mem_img_alloc(&base, m.size);
	memcpy(base.buf, m.buf, m.size);
	assert_int_equal(run_check(&m, INSTAR_CHECK_REPAIR_ALL, 0,
	    ARENA_BYTES, &log), 0);
	assert_true(has_line("Rebuilding refcount structure"));
	for (n = 0; n <= log.nlog; n++) {
		mem_img_alloc(&img, base.size);
		memcpy(img.buf, base.buf, base.size);
		wdev_replay(&log, n, &img);
		assert_true(underref(&img) <= before);
		mem_img_free(&img);
	}
	assert_int_equal(underref(&m), 0);
	assert_int_equal(check_refcounts(&m), 0);
	wdev_free(&log);
	mem_img_free(&base);
	mem_img_free(&m);
}

/* ---- bounded memory ---- */

static void
test_big_sparse(void **state)
{
	struct mem_img m;

	(void)state;
	/* 1 TiB, 64 KiB clusters: a 16 KiB L1, a few clusters of file. */
	make_overlay(&m, 3, 16, 4, 1ull << 40, NULL);
	put_clusters(&m, 0, 2, 1);
	put_clusters(&m, (1ull << 24) - 1, 1, 1);
	assert_int_equal(run_check(&m, 0, 0, 1 * MiB, NULL), 0);
	assert_clean();
	assert_int_equal(res.total_clusters, 1ull << 24);
	assert_int_equal(res.allocated_clusters, 3);
	mem_img_free(&m);

	/* 512-byte clusters, 1 GiB: a 256 KiB L1 streamed in chunks. */
	make_overlay(&m, 3, 9, 0, 1ull << 30, NULL);
	put_clusters(&m, 0, 3, 1000);
	assert_int_equal(run_check(&m, 0, 0, 1 * MiB, NULL), 0);
	assert_clean();
	assert_int_equal(res.allocated_clusters, 3);
	mem_img_free(&m);
}

/* ---- the records ---- */

static void
test_validators(void **state)
{
	struct instar_check_params p;
	static struct instar_check_result r;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.format = INSTAR_FMT_QCOW2;
	assert_null(check_params_validate(&p, 1, false, false));
	assert_non_null(check_params_validate(&p, 1, true, false));
	assert_non_null(check_params_validate(&p, 2, false, false));
	p.repair = INSTAR_CHECK_REPAIR_ALL;
	assert_null(check_params_validate(&p, 1, true, false));
	assert_non_null(check_params_validate(&p, 1, false, false));
	/* An info and check job never repairs. */
	assert_non_null(check_params_validate(&p, 1, true, true));
	p.repair = 3;
	assert_non_null(check_params_validate(&p, 1, true, false));
	p.repair = 0;
	p.format = INSTAR_FMT_PROBE;
	assert_non_null(check_params_validate(&p, 1, false, false));
	/* ... and may probe, but only read. */
	assert_null(check_params_validate(&p, 1, false, true));
	assert_non_null(check_params_validate(&p, 1, true, true));
	p.format = 7;
	assert_non_null(check_params_validate(&p, 1, false, true));

	memset(&r, 0, sizeof(r));
	r.has_checks = 1;
	memcpy(r.text, "a\0bc\0", 5);
	r.text_len = 5;
	r.nlines = 2;
	assert_null(check_result_validate(&r, INSTAR_CHECK_RESULT_MIN + 5));
	assert_non_null(check_result_validate(&r, INSTAR_CHECK_RESULT_MIN +
	    4));
	r.nlines = 3;
	assert_non_null(check_result_validate(&r, INSTAR_CHECK_RESULT_MIN +
	    5));
	r.nlines = 2;
	r.text[1] = '\n';
	assert_non_null(check_result_validate(&r, INSTAR_CHECK_RESULT_MIN +
	    5));
	r.text[1] = '\0';
	r.text_len = 4;
	assert_non_null(check_result_validate(&r, INSTAR_CHECK_RESULT_MIN +
	    4));
	r.text_len = 5;
	r.has_checks = 0;
	assert_non_null(check_result_validate(&r, INSTAR_CHECK_RESULT_MIN +
	    5));
	r.text_len = 0;
	r.nlines = 0;
	assert_null(check_result_validate(&r, INSTAR_CHECK_RESULT_MIN));
	r.leaks = 1;
	assert_non_null(check_result_validate(&r, INSTAR_CHECK_RESULT_MIN));
	r.leaks = 0;
	r.status = 1;
	assert_non_null(check_result_validate(&r, INSTAR_CHECK_RESULT_MIN));
	memcpy(r.error, "x", 2);
	assert_null(check_result_validate(&r, INSTAR_CHECK_RESULT_MIN));
	r.status = 2;
	assert_non_null(check_result_validate(&r, INSTAR_CHECK_RESULT_MIN));
}

static void
test_raw_and_vmdk(void **state)
{
	struct instar_check_params p;
	struct fmt_arena a = { arena_mem, sizeof(arena_mem), 0, 0 };
	struct check_job job;
	struct vmdk_opts o;
	struct mem_img m;
	struct fmt_io io;

	(void)state;
	mem_img_alloc(&m, 1 * MiB);
	mem_img_io(&m, &io);
	memset(&p, 0, sizeof(p));
	p.format = INSTAR_FMT_RAW;
	memset(&job, 0, sizeof(job));
	job.params = &p;
	job.dev = &io;
	job.arena = &a;
	assert_int_equal(check_run(&job, &res), 0);
	assert_int_equal(res.has_checks, 0);
	mem_img_free(&m);

	vmdk_default_opts(&o, 64 * MiB);
	build_vmdk(&m, &o);
	mem_img_io(&m, &io);
	p.format = INSTAR_FMT_VMDK;
	a.used = 0;
	a.top = 0;
	assert_int_equal(check_run(&job, &res), 0);
	assert_int_equal(res.has_checks, 1);
	assert_int_equal(res.nlines, 0);
	assert_int_equal(res.corruptions, 0);
	mem_img_free(&m);
}

/* ---- the snapshot table ---- */

/* n entries in new clusters at the end of m, refcounted; their offset. */
static uint64_t
put_table(struct mem_img *m, const struct qcow2_snap *sn, size_t n)
{
	uint64_t cs = 1ull << get_be32(m->buf + 20), off = m->size, len, k;

	len = qcow2_put_snapshots(m, (size_t)off, sn, n);
	mem_img_resize(m, (size_t)((off + len + cs - 1) / cs * cs));
	for (k = off / cs; k < (off + len + cs - 1) / cs; k++)
		set_refcount(m, k, 1);
	return off;
}

/* Entry i of m's snapshot table: its offset. */
static uint64_t
entry_at(const struct mem_img *m, uint32_t i)
{
	uint64_t off = be64(m, 64);

	for (;;) {
		off = (off + 7) & ~7ull;
		if (i-- == 0)
			return off;
		off += 40 + (uint64_t)get_be32(m->buf + off + 36) +
		    get_be16(m->buf + off + 12) + get_be16(m->buf + off + 14);
	}
}

static void
assert_entry(const struct mem_img *m, uint32_t i, uint32_t extra,
    uint64_t disk_size, uint64_t icount, const char *id, const char *name)
{
	uint64_t e = entry_at(m, i);
	const uint8_t *p = m->buf + e;

	assert_int_equal(get_be32(p + 36), extra);
	assert_int_equal(get_be64(p + 48), disk_size);
	assert_int_equal(get_be64(p + 56), icount);
	assert_int_equal(get_be16(p + 12), strlen(id));
	assert_int_equal(get_be16(p + 14), strlen(name));
	assert_memory_equal(p + 40 + extra, id, strlen(id));
	assert_memory_equal(p + 40 + extra + strlen(id), name, strlen(name));
}

/*
 * A crash after any write of a repair: never a refcount below its
 * references (the snapshot table's included), and the header names a
 * table whose entries are whole.
 */
static void
assert_crash_safe(const struct mem_img *before, const struct wdev *log)
{
	struct mem_img img;
	size_t n;

	for (n = 0; n <= log->nlog; n++) {
		mem_img_alloc(&img, before->size);
		memcpy(img.buf, before->buf, before->size);
		wdev_replay(log, n, &img);
		check_refcounts(&img);
		mem_img_free(&img);
	}
}

/*
 * Version 3 entries need 16 bytes of extra data: qemu counts a shorter
 * one as a corruption and -r all writes the table anew, with all it
 * knows (disk_size the virtual size where it was missing, icount none).
 */
static void
test_snapshot_incomplete(void **state)
{
	struct qcow2_snap sn[3];
	struct mem_img m, before;
	struct wdev log;
	uint64_t old;

	(void)state;
	memset(sn, 0, sizeof(sn));
	sn[0] = (struct qcow2_snap){ .extra = 0, .id = "1", .id_len = 1,
	    .name = "sn0", .name_len = 3 };
	sn[1] = (struct qcow2_snap){ .extra = 24, .icount = 7, .id = "2",
	    .id_len = 1, .name = "sn1", .name_len = 3 };
	sn[2] = (struct qcow2_snap){ .extra = 8, .id = "3", .id_len = 1,
	    .name = "sn2", .name_len = 3 };
	make_image(&m, 16, 4, 8 * MiB);
	old = put_table(&m, sn, 3);
	assert_int_equal(check(&m), 0);
	assert_int_equal(res.corruptions, 2);
	assert_true(has_line("ERROR snapshot table entry 0 is incomplete"));
	assert_true(has_line("ERROR snapshot table entry 2 is incomplete"));
	mem_img_alloc(&before, m.size);
	memcpy(before.buf, m.buf, m.size);
	assert_int_equal(run_check(&m, INSTAR_CHECK_REPAIR_ALL, 0,
	    ARENA_BYTES, &log), 0);
	assert_true(has_line("Repairing snapshot table entry 0 is "
	    "incomplete"));
	assert_true(has_line("Repairing snapshot table entry 2 is "
	    "incomplete"));
	assert_int_equal(res.corruptions_fixed, 2);
	assert_int_equal(res.corruptions, 0);
	assert_int_not_equal(be64(&m, 64), old);
	assert_int_equal(get_be32(m.buf + 60), 3);
	assert_entry(&m, 0, 24, 8 * MiB, UINT64_MAX, "1", "sn0");
	assert_entry(&m, 1, 24, 0, 7, "2", "sn1");
	assert_entry(&m, 2, 24, 8 * MiB, UINT64_MAX, "3", "sn2");
	/* The old table's cluster is free again. */
	assert_int_equal(refcount_of(&m, old >> 16), 0);
	assert_crash_safe(&before, &log);
	assert_int_equal(check_refcounts(&m), 0);
	assert_int_equal(check(&m), 0);
	assert_clean();
	wdev_free(&log);
	mem_img_free(&before);
	mem_img_free(&m);
}

/*
 * More than 1 KiB of extra data stops qemu's check; -r all keeps the
 * first 1 KiB, unknown bytes included, and an id cut at its NUL.
 */
static void
test_snapshot_extra_too_big(void **state)
{
	struct qcow2_snap sn[2];
	struct mem_img m;
	uint64_t e;

	(void)state;
	memset(sn, 0, sizeof(sn));
	sn[0] = (struct qcow2_snap){ .extra = 4096, .id = "1\0junk",
	    .id_len = 6, .name = "big", .name_len = 3 };
	sn[1] = (struct qcow2_snap){ .extra = 24, .id = "2", .id_len = 1,
	    .name = "after", .name_len = 5 };
	make_image(&m, 16, 4, 8 * MiB);
	put_table(&m, sn, 2);
	e = entry_at(&m, 0);
	put_bytes(&m, (size_t)(e + 40 + 100), "keep me", 7);
	assert_int_equal(check(&m), -1);
	assert_string_equal(res.error, "File too large");
	assert_string_equal(line(0), "instar: ERROR failed to read the "
	    "snapshot table: Too much extra metadata in snapshot table "
	    "entry 0");
	assert_string_equal(line(1), "You can force-remove this extra "
	    "metadata with qemu-img check -r all");
	assert_int_equal(run_check(&m, INSTAR_CHECK_REPAIR_ALL, 0,
	    ARENA_BYTES, NULL), 0);
	assert_string_equal(line(0), "Discarding too much extra metadata in "
	    "snapshot table entry 0 (4096 > 1024)");
	assert_int_equal(res.corruptions_fixed, 1);
	e = entry_at(&m, 0);
	assert_int_equal(get_be32(m.buf + e + 36), 1024);
	assert_memory_equal(m.buf + e + 40 + 100, "keep me", 7);
	assert_entry(&m, 0, 1024, 0, 0, "1", "big");
	assert_entry(&m, 1, 24, 0, 0, "2", "after");
	assert_int_equal(check_refcounts(&m), 0);
	assert_int_equal(check(&m), 0);
	assert_clean();
	mem_img_free(&m);
}

/*
 * Past 65536 snapshots qemu's check stops; -r all lowers the count in
 * the header (no table to write) and frees what the rest held.
 */
static void
test_snapshot_too_many(void **state)
{
	struct mem_img m;
	uint64_t cs = 64 * KiB, off, len = 40ull * 65537, k;

	(void)state;
	make_overlay(&m, 2, 16, 4, 8 * MiB, NULL);
	off = m.size;
	mem_img_resize(&m, (size_t)((off + len + cs - 1) / cs * cs));
	memset(m.buf + off, 0, m.size - off);
	for (k = off / cs; k < m.size / cs; k++)
		set_refcount(&m, k, 1);
	put_be32(&m, 60, 65537);
	put_be64(&m, 64, off);
	assert_int_equal(check(&m), -1);
	assert_string_equal(res.error, "File too large");
	assert_string_equal(line(0), "instar: ERROR snapshot table too large");
	assert_string_equal(line(1), "You can force-remove all 1 overhanging "
	    "snapshots with qemu-img check -r all");
	assert_int_equal(run_check(&m, INSTAR_CHECK_REPAIR_ALL, 0,
	    ARENA_BYTES, NULL), 0);
	assert_string_equal(line(0), "Discarding 1 overhanging snapshots");
	assert_int_equal(res.corruptions_fixed, 1);
	assert_int_equal(res.leaks_fixed, 1);
	assert_int_equal(get_be32(m.buf + 60), 65536);
	assert_int_equal(check_refcounts(&m), 0);
	assert_int_equal(check(&m), 0);
	assert_clean();
	mem_img_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_shapes),
		cmocka_unit_test(test_fragmentation),
		cmocka_unit_test(test_leak),
		cmocka_unit_test(test_refcount_zero),
		cmocka_unit_test(test_refcount_high),
		cmocka_unit_test(test_copied),
		cmocka_unit_test(test_l2_beyond_eof),
		cmocka_unit_test(test_misaligned_l2),
		cmocka_unit_test(test_reserved_bits),
		cmocka_unit_test(test_misaligned_refblock),
		cmocka_unit_test(test_rebuild),
		cmocka_unit_test(test_no_refcount_table),
		cmocka_unit_test(test_refblock_past_int64),
		cmocka_unit_test(test_repair_crash),
		cmocka_unit_test(test_rebuild_crash),
		cmocka_unit_test(test_big_sparse),
		cmocka_unit_test(test_validators),
		cmocka_unit_test(test_raw_and_vmdk),
		cmocka_unit_test(test_snapshot_incomplete),
		cmocka_unit_test(test_snapshot_extra_too_big),
		cmocka_unit_test(test_snapshot_too_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
