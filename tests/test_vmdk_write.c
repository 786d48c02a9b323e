/*
 * Unit tests for the VMDK writer over images in memory: grains read back
 * through the reader, the primary and redundant directories and tables
 * stay identical, tables the image lacks are allocated, held grains are
 * rewritten in place, zero grains follow the header's flag, the
 * descriptor is rewritten where qemu reads it (and refused when it
 * cannot hold the change or would read back otherwise), emptying clears
 * every table and cuts the file, and damaged directories or entries
 * refuse the job before anything is written.
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
#include "vmdk_write.h"

#define ARENA_BYTES	(8 * MiB)
#define GRAIN		(64 * KiB)
#define SECTORS_PER_MIB	2048

static uint8_t arena_mem[ARENA_BYTES];

struct fixture {
	struct mem_img m;
	struct wdev d;
	struct fmt_io io;
	struct fmt_arena arena;
	struct vmdk_writer w;
	struct fmt_err err;
};

/* A capacity-MiB monolithicSparse with both directories and no tables. */
static void
make_vmdk(struct mem_img *m, uint64_t mib, uint32_t flags,
    const char *parent)
{
	struct vmdk_opts o;

	vmdk_default_opts(&o, mib * SECTORS_PER_MIB);
	o.flags = flags;
	o.parent = parent;
	if (parent != NULL)
		o.parent_cid = 0xabcdef01;
	build_vmdk(m, &o);
}

static int
fx_open(struct fixture *f, bool backed)
{
	wdev_init(&f->d, &f->m, &f->io);
	f->arena.base = arena_mem;
	f->arena.size = sizeof(arena_mem);
	f->arena.used = 0;
	f->arena.top = 0;
	memset(&f->err, 0, sizeof(f->err));
	return vmdkw_open(&f->w, &f->io, backed, &f->arena, &f->err);
}

static void
fx_close(struct fixture *f)
{
	wdev_free(&f->d);
}

static uint32_t
le32_at(const struct mem_img *m, uint64_t off)
{
	assert_true(off + 4 <= m->size);
	return get_le32(m->buf + off);
}

static uint64_t
le64_at(const struct mem_img *m, uint64_t off)
{
	return get_le64(m->buf + off);
}

/* Grain table entry of a grain through one directory (0 with none). */
static uint32_t
gte_via(const struct mem_img *m, uint64_t dir_off, uint64_t grain)
{
	uint32_t gt = le32_at(m, dir_off + grain / 512 * 4);

	return gt == 0 ? 0 : le32_at(m, (uint64_t)gt * 512 + grain % 512 * 4);
}

static uint64_t
gd_off(const struct mem_img *m)
{
	return le64_at(m, 56) * 512;
}

static uint64_t
rgd_off(const struct mem_img *m)
{
	return le64_at(m, 48) * 512;
}

/* What the image reads at [off, off + len), through the reader. */
static void
read_image(struct mem_img *m, uint64_t off, uint8_t *buf, uint64_t len)
{
	struct fmt_arena a = { arena_mem, sizeof(arena_mem), 0, 0 };
	struct image img, *layers[1] = { &img };
	struct chain c = { layers, 1 };
	struct fmt_io io;
	struct fmt_err err;

	mem_img_io(m, &io);
	if (image_open(&img, &io, INSTAR_FMT_VMDK, &a, &err) != 0 ||
	    chain_read(&c, off, buf, len, &err) != 0)
		fail_msg("%s", err.msg);
}

static void
fill(uint8_t *buf, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i / 512);
}

static void
assert_reads(struct mem_img *m, uint64_t off, const uint8_t *want,
    size_t len)
{
	uint8_t *got = malloc(len);

	assert_non_null(got);
	read_image(m, off, got, len);
	assert_memory_equal(got, want, len);
	free(got);
}

static void
test_tables_allocated(void **state)
{
	struct fixture f;
	uint8_t data[3 * GRAIN], zero[GRAIN];
	uint64_t g, host;

	(void)state;
	memset(zero, 0, sizeof(zero));
	make_vmdk(&f.m, 64, 3, NULL);
	assert_int_equal(le32_at(&f.m, gd_off(&f.m)), 0);
	assert_int_equal(fx_open(&f, false), 0);
	fill(data, sizeof(data), 1);
	/* Grains 0-1, and grain 600, in the second directory entry. */
	assert_int_equal(vmdkw_put_data(&f.w, 0, 2, data, &f.err), 0);
	assert_int_equal(vmdkw_put_data(&f.w, 600, 1, data + 2 * GRAIN,
	    &f.err), 0);
	assert_int_equal(vmdkw_commit(&f.w, &f.err), 0);
	assert_int_equal(f.w.grains_data, 3);
	assert_reads(&f.m, 0, data, 2 * GRAIN);
	assert_reads(&f.m, 600 * GRAIN, data + 2 * GRAIN, GRAIN);
	assert_reads(&f.m, 2 * GRAIN, zero, GRAIN);
	for (g = 0; g < 1024; g++)
		assert_int_equal(gte_via(&f.m, gd_off(&f.m), g),
		    gte_via(&f.m, rgd_off(&f.m), g));
	/* Grains start on a grain boundary, past the header's grain area. */
	host = (uint64_t)gte_via(&f.m, gd_off(&f.m), 0) * 512;
	assert_int_equal(host % GRAIN, 0);
	assert_true(host >= le64_at(&f.m, 64) * 512);
	assert_true(count_flushes(&f.d) >= 3);
	fx_close(&f);
	mem_img_free(&f.m);
}

static void
test_held_grain_in_place(void **state)
{
	struct fixture f;
	uint8_t data[GRAIN];
	size_t size;

	(void)state;
	make_vmdk(&f.m, 8, 3, NULL);
	assert_int_equal(fx_open(&f, false), 0);
	fill(data, sizeof(data), 7);
	assert_int_equal(vmdkw_put_data(&f.w, 3, 1, data, &f.err), 0);
	assert_int_equal(vmdkw_commit(&f.w, &f.err), 0);
	fx_close(&f);
	size = f.m.size;
	assert_int_equal(fx_open(&f, false), 0);
	fill(data, sizeof(data), 9);
	assert_int_equal(vmdkw_put_data(&f.w, 3, 1, data, &f.err), 0);
	assert_int_equal(vmdkw_commit(&f.w, &f.err), 0);
	assert_int_equal(f.m.size, size);
	assert_reads(&f.m, 3 * GRAIN, data, GRAIN);
	fx_close(&f);
	mem_img_free(&f.m);
}

static void
test_zero_grains(void **state)
{
	struct fixture f;
	uint8_t data[GRAIN], zero[GRAIN];
	size_t size;

	(void)state;
	memset(zero, 0, sizeof(zero));
	fill(data, sizeof(data), 3);
	/* With the zero-grain flag: an entry of 1, no data. */
	make_vmdk(&f.m, 8, 3 | 4, NULL);
	assert_int_equal(fx_open(&f, true), 0);
	assert_int_equal(vmdkw_put_zero(&f.w, 2, &f.err), 0);
	assert_int_equal(vmdkw_commit(&f.w, &f.err), 0);
	assert_int_equal(gte_via(&f.m, gd_off(&f.m), 2), 1);
	assert_int_equal(gte_via(&f.m, rgd_off(&f.m), 2), 1);
	fx_close(&f);
	mem_img_free(&f.m);
	/* Without it and without a parent, unallocated reads zeros. */
	make_vmdk(&f.m, 8, 3, NULL);
	size = f.m.size;
	assert_int_equal(fx_open(&f, false), 0);
	assert_int_equal(vmdkw_put_zero(&f.w, 2, &f.err), 0);
	assert_int_equal(vmdkw_commit(&f.w, &f.err), 0);
	assert_int_equal(f.m.size, size);
	assert_int_equal(gte_via(&f.m, gd_off(&f.m), 2), 0);
	fx_close(&f);
	/* With a parent, a grain of zeros; a held grain, zeroed in place. */
	assert_int_equal(fx_open(&f, true), 0);
	assert_int_equal(vmdkw_put_data(&f.w, 1, 1, data, &f.err), 0);
	assert_int_equal(vmdkw_put_zero(&f.w, 2, &f.err), 0);
	assert_int_equal(vmdkw_commit(&f.w, &f.err), 0);
	assert_int_not_equal(gte_via(&f.m, gd_off(&f.m), 2), 0);
	fx_close(&f);
	size = f.m.size;
	assert_int_equal(fx_open(&f, true), 0);
	assert_int_equal(vmdkw_put_zero(&f.w, 1, &f.err), 0);
	assert_int_equal(vmdkw_commit(&f.w, &f.err), 0);
	assert_int_equal(f.m.size, size);
	assert_reads(&f.m, GRAIN, zero, GRAIN);
	assert_reads(&f.m, 2 * GRAIN, zero, GRAIN);
	fx_close(&f);
	mem_img_free(&f.m);
}

static void
test_out_of_order(void **state)
{
	struct fixture f;
	uint8_t data[GRAIN];

	(void)state;
	make_vmdk(&f.m, 8, 3, NULL);
	assert_int_equal(fx_open(&f, false), 0);
	fill(data, sizeof(data), 1);
	assert_int_equal(vmdkw_put_data(&f.w, 5, 1, data, &f.err), 0);
	assert_int_equal(vmdkw_put_data(&f.w, 3, 1, data, &f.err), -1);
	assert_non_null(strstr(f.err.msg, "out of order"));
	fx_close(&f);
	mem_img_free(&f.m);
}

/* The descriptor's text as qemu reads it. */
static const char *
desc_text(const struct mem_img *m)
{
	return (const char *)m->buf + 512;
}

static void
test_relink_qemu_layout(void **state)
{
	struct fixture f;
	struct vmdk_relink l = { .set_parent = true };
	struct instar_image_info info;

	(void)state;
	make_vmdk(&f.m, 8, 3, NULL);
	assert_int_equal(fx_open(&f, false), 0);
	l.parent_cid = 0x1234abcd;
	l.hint = "dir/new parent.vmdk";
	l.hint_len = strlen(l.hint);
	assert_int_equal(vmdkw_relink(&f.w, &l, true, &f.err), 0);
	assert_null(strstr(desc_text(&f.m), "parentFileNameHint"));
	assert_int_equal(vmdkw_relink(&f.w, &l, false, &f.err), 0);
	/* The hint right after createType, where qemu writes it. */
	assert_non_null(strstr(desc_text(&f.m), "parentCID=1234abcd\n"
	    "createType=\"monolithicSparse\"\n"
	    "parentFileNameHint=\"dir/new parent.vmdk\"\n"
	    "# Extent description\n"));
	memset(&info, 0, sizeof(info));
	assert_int_equal(vmdk_desc_parse(desc_text(&f.m),
	    strlen(desc_text(&f.m)), &info, &f.err), 0);
	assert_int_equal(info.vmdk_cid, 0x12345678);
	assert_string_equal(info.backing_name, "dir/new parent.vmdk");
	/* Detach: the blank line qemu leaves without a parent. */
	l.parent_cid = VMDK_NO_PARENT;
	l.hint = "";
	l.hint_len = 0;
	assert_int_equal(vmdkw_relink(&f.w, &l, false, &f.err), 0);
	assert_non_null(strstr(desc_text(&f.m), "parentCID=ffffffff\n"
	    "createType=\"monolithicSparse\"\n\n# Extent description\n"));
	/* A new CID alone keeps everything else. */
	memset(&l, 0, sizeof(l));
	l.set_cid = true;
	l.cid = 0xfeed;
	assert_int_equal(vmdkw_relink(&f.w, &l, false, &f.err), 0);
	assert_non_null(strstr(desc_text(&f.m), "CID=feed\n"
	    "parentCID=ffffffff\n"));
	fx_close(&f);
	mem_img_free(&f.m);
}

static void
test_relink_crlf(void **state)
{
	static const char text[] = "# Disk DescriptorFile\r\nversion=1\r\n"
	    "CID=11111111\r\nparentCID=22222222\r\n"
	    "createType=\"monolithicSparse\"\r\n"
	    "parentFileNameHint=\"old.vmdk\"\r\n"
	    "RW 16384 SPARSE \"t.vmdk\"\r\n";
	struct vmdk_opts o;
	struct fixture f;
	struct vmdk_relink l = { .set_parent = true };

	(void)state;
	vmdk_default_opts(&o, 8 * SECTORS_PER_MIB);
	o.descriptor = text;
	build_vmdk(&f.m, &o);
	assert_int_equal(fx_open(&f, false), 0);
	l.parent_cid = 0x33;
	l.hint = "new.vmdk";
	l.hint_len = 8;
	assert_int_equal(vmdkw_relink(&f.w, &l, false, &f.err), 0);
	assert_string_equal(desc_text(&f.m), "# Disk DescriptorFile\r\n"
	    "version=1\r\nCID=11111111\r\nparentCID=33\r\n"
	    "createType=\"monolithicSparse\"\r\n"
	    "parentFileNameHint=\"new.vmdk\"\r\n"
	    "RW 16384 SPARSE \"t.vmdk\"\r\n");
	fx_close(&f);
	mem_img_free(&f.m);
}

/*
 * qemu finds "CID" as the first occurrence of the letters, so a comment
 * that names parentCID first makes CID read as something else; the
 * rewrite must refuse rather than record what would not read back.
 */
static void
test_relink_refusals(void **state)
{
	static const char tricky[] = "# parentCID=5 says the comment\n"
	    "version=1\nCID=11111111\nparentCID=ffffffff\n"
	    "createType=\"monolithicSparse\"\n\n";
	struct vmdk_opts o;
	struct fixture f;
	struct vmdk_relink l = { .set_parent = true };
	char long_name[600];
	size_t before;

	(void)state;
	vmdk_default_opts(&o, 8 * SECTORS_PER_MIB);
	o.descriptor = tricky;
	build_vmdk(&f.m, &o);
	assert_int_equal(fx_open(&f, false), 0);
	l.parent_cid = 0x77;
	l.hint = "p.vmdk";
	l.hint_len = 6;
	assert_int_equal(vmdkw_relink(&f.w, &l, false, &f.err), -1);
	assert_non_null(strstr(f.err.msg, "reads back as meant"));
	assert_int_equal(f.d.nlog, 0);
	/* Quotes and line breaks cannot be recorded. */
	l.hint = "a\"b";
	l.hint_len = 3;
	assert_int_equal(vmdkw_relink(&f.w, &l, true, &f.err), -1);
	assert_non_null(strstr(f.err.msg, "quotes or line breaks"));
	fx_close(&f);
	mem_img_free(&f.m);
	/* One sector of descriptor: a long name does not fit. */
	make_vmdk(&f.m, 8, 3, NULL);
	f.m.buf[36] = 1;
	assert_int_equal(fx_open(&f, false), 0);
	memset(long_name, 'n', sizeof(long_name));
	l.hint = long_name;
	l.hint_len = sizeof(long_name);
	before = f.d.nlog;
	assert_int_equal(vmdkw_relink(&f.w, &l, false, &f.err), -1);
	assert_non_null(strstr(f.err.msg, "does not fit its 512 bytes"));
	assert_int_equal(f.d.nlog, before);
	fx_close(&f);
	mem_img_free(&f.m);
}

/* Where the last grain table of the first n directory entries ends. */
static uint64_t
last_table_end(const struct mem_img *m, uint64_t n)
{
	uint64_t i, end = 0, e;

	for (i = 0; i < n; i++) {
		e = (uint64_t)le32_at(m, gd_off(m) + i * 4) * 512 + 2048;
		end = e > end ? e : end;
		e = (uint64_t)le32_at(m, rgd_off(m) + i * 4) * 512 + 2048;
		end = e > end ? e : end;
	}
	return end;
}

static void
test_make_empty(void **state)
{
	struct fixture f;
	uint8_t data[4 * GRAIN], zero[4 * GRAIN];
	uint64_t emptied, g, grain_area;

	(void)state;
	memset(zero, 0, sizeof(zero));
	make_vmdk(&f.m, 64, 3 | 4, "p.vmdk");
	grain_area = le64_at(&f.m, 64) * 512;
	assert_int_equal(fx_open(&f, true), 0);
	fill(data, sizeof(data), 5);
	assert_int_equal(vmdkw_put_data(&f.w, 1, 2, data, &f.err), 0);
	assert_int_equal(vmdkw_put_zero(&f.w, 5, &f.err), 0);
	assert_int_equal(vmdkw_put_data(&f.w, 700, 2, data, &f.err), 0);
	assert_int_equal(vmdkw_commit(&f.w, &f.err), 0);
	assert_true(f.m.size > grain_area + 4 * GRAIN);
	assert_int_equal(vmdkw_make_empty(&f.w, &emptied, &f.err), 0);
	assert_int_equal(emptied, 5);
	for (g = 0; g < 1024; g++) {
		assert_int_equal(gte_via(&f.m, gd_off(&f.m), g), 0);
		assert_int_equal(gte_via(&f.m, rgd_off(&f.m), g), 0);
	}
	/* The file ends with the last table (ones the writer added). */
	assert_int_equal(f.m.size, last_table_end(&f.m, 2));
	assert_reads(&f.m, 0, zero, sizeof(zero));
	fx_close(&f);
	mem_img_free(&f.m);
}

static void
test_damage_refused(void **state)
{
	struct fixture f;
	uint8_t data[GRAIN];
	uint64_t gt;

	(void)state;
	fill(data, sizeof(data), 2);
	/* A table in the primary directory only. */
	make_vmdk(&f.m, 8, 3, NULL);
	assert_int_equal(fx_open(&f, false), 0);
	assert_int_equal(vmdkw_put_data(&f.w, 0, 1, data, &f.err), 0);
	assert_int_equal(vmdkw_commit(&f.w, &f.err), 0);
	fx_close(&f);
	put_le32(&f.m, rgd_off(&f.m), 0);
	assert_int_equal(fx_open(&f, false), -1);
	assert_non_null(strstr(f.err.msg, "redundant grain directory"));
	fx_close(&f);
	/* A table past the end of the file. */
	put_le32(&f.m, rgd_off(&f.m), 0x7fffffff);
	put_le32(&f.m, gd_off(&f.m), 0x7fffffff);
	assert_int_equal(fx_open(&f, false), -1);
	assert_non_null(strstr(f.err.msg, "outside the file"));
	fx_close(&f);
	mem_img_free(&f.m);
	/* A grain entry that points at the descriptor. */
	make_vmdk(&f.m, 8, 3, NULL);
	assert_int_equal(fx_open(&f, false), 0);
	assert_int_equal(vmdkw_put_data(&f.w, 0, 1, data, &f.err), 0);
	assert_int_equal(vmdkw_commit(&f.w, &f.err), 0);
	fx_close(&f);
	gt = le32_at(&f.m, gd_off(&f.m));
	put_le32(&f.m, gt * 512, 1);
	assert_int_equal(fx_open(&f, false), 0);
	assert_int_equal(vmdkw_put_data(&f.w, 0, 1, data, &f.err), -1);
	assert_non_null(strstr(f.err.msg, "outside the grain area"));
	assert_int_equal(f.d.nlog, 0);
	fx_close(&f);
	mem_img_free(&f.m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_allocated),
		cmocka_unit_test(test_held_grain_in_place),
		cmocka_unit_test(test_zero_grains),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_relink_qemu_layout),
		cmocka_unit_test(test_relink_crlf),
		cmocka_unit_test(test_relink_refusals),
		cmocka_unit_test(test_make_empty),
		cmocka_unit_test(test_damage_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
