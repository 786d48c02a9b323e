/*
 * Unit tests for the pure format code: probing, and "info" for qcow2,
 * VMDK and raw, over synthetic images, including hostile ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "format.h"
#include "image_builder.h"
#include "image_info_check.h"

#define MiB	(1024ull * 1024)
#define GiB	(1024ull * MiB)

/* The last call's lists, with room as the guest has it. */
static struct instar_info_result snap_res;
static struct fmt_snapshots snaps;
static struct fmt_bitmaps bitmaps;
/* How info_of() opens an image: as a rebase or a commit does, unless set. */
static enum fmt_open open_mode = FMT_OPEN_IO;

static int
info_of(struct mem_img *m, uint32_t fmt, struct instar_image_info *info,
    struct fmt_err *err)
{
	struct fmt_io io;

	mem_img_io(m, &io);
	memset(err, 0, sizeof(*err));
	memset(&snap_res, 0, sizeof(snap_res));
	memset(&snaps, 0xa5, sizeof(snaps));
	memset(&bitmaps, 0xa5, sizeof(bitmaps));
	snaps.buf = snap_res.lists;
	snaps.cap = INSTAR_SNAP_AREA_MAX;
	bitmaps.buf = snap_res.lists + INSTAR_SNAP_AREA_MAX;
	bitmaps.cap = INSTAR_BITMAP_AREA_MAX;
	return fmt_info(&io, fmt, open_mode, info, &snaps, &bitmaps, err);
}

static void
ok_info(struct mem_img *m, uint32_t fmt, struct instar_image_info *info)
{
	struct fmt_err err;

	if (info_of(m, fmt, info, &err) != 0)
		fail_msg("unexpected error: %s", err.msg);
	assert_int_equal(info->format, fmt);
	assert_int_equal(info->flags & ~IMG_FLAGS_ALL, 0);
}

/*
 * The call fails, names the problem, gives exactly the hint qemu would
 * ("" for none), and leaves no half-filled record.
 */
static void
expect_error_hint(struct mem_img *m, uint32_t fmt, const char *want,
    const char *hint)
{
	struct instar_image_info info, zero;
	struct fmt_err err;

	memset(&zero, 0, sizeof(zero));
	if (info_of(m, fmt, &info, &err) != -1)
		fail_msg("expected error '%s', got success", want);
	if (strstr(err.msg, want) == NULL)
		fail_msg("expected error '%s', got '%s'", want, err.msg);
	assert_string_equal(err.hint, hint);
	assert_memory_equal(&info, &zero, sizeof(info));
	assert_null(strchr(err.msg, '\n'));
	assert_null(strchr(err.hint, '\n'));
	assert_int_equal(snaps.len, 0);
	assert_int_equal(snaps.count, 0);
}

static void
expect_error(struct mem_img *m, uint32_t fmt, const char *want)
{
	expect_error_hint(m, fmt, want, "");
}

static void
qcow2_expect_error(const struct qcow2_opts *o, const char *want)
{
	struct mem_img m;

	build_qcow2(&m, o);
	expect_error(&m, INSTAR_FMT_QCOW2, want);
	mem_img_free(&m);
}

static void
qcow2_ok(const struct qcow2_opts *o, struct instar_image_info *info)
{
	struct mem_img m;

	build_qcow2(&m, o);
	ok_info(&m, INSTAR_FMT_QCOW2, info);
	mem_img_free(&m);
}

/* ---------------------------------------------------------------- qcow2 */

static void
test_qcow2_v3_default(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 10 * MiB);
	qcow2_ok(&o, &i);
	assert_int_equal(i.virtual_size, 10 * MiB);
	assert_int_equal(i.cluster_size, 65536);
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE);
	assert_int_equal(i.qcow2_version, 3);
	assert_int_equal(i.refcount_bits, 16);
	assert_int_equal(i.compression_type, IMG_COMPRESSION_ZLIB);
	assert_string_equal(i.backing_name, "");
	assert_string_equal(i.data_file, "");
}

static void
test_qcow2_v2(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.version = 2;
	build_qcow2(&m, &o);
	ok_info(&m, INSTAR_FMT_QCOW2, &i);
	mem_img_free(&m);
	assert_int_equal(i.qcow2_version, 2);
	assert_int_equal(i.refcount_bits, 16);
	assert_int_equal(i.compression_type, IMG_COMPRESSION_ZLIB);
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE);
	assert_int_equal(i.virtual_size, 1 * MiB);
}

static void
test_qcow2_cluster_sizes(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;
	uint32_t bits;

	(void)state;
	for (bits = 9; bits <= 21; bits++) {
		qcow2_default_opts(&o, 100 * MiB);
		o.cluster_bits = bits;
		qcow2_ok(&o, &i);
		assert_int_equal(i.cluster_size, 1ull << bits);
		assert_int_equal(i.virtual_size, 100 * MiB);
	}
}

static void
test_qcow2_v2_small_cluster(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 10 * MiB);
	o.version = 2;
	o.cluster_bits = 9;
	qcow2_ok(&o, &i);
	assert_int_equal(i.cluster_size, 512);
}

static void
test_qcow2_refcount_widths(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;
	uint32_t order;

	(void)state;
	for (order = 0; order <= 6; order++) {
		qcow2_default_opts(&o, 10 * MiB);
		o.refcount_order = order;
		qcow2_ok(&o, &i);
		assert_int_equal(i.refcount_bits, 1u << order);
	}
}

static void
test_qcow2_lazy_refcounts(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 1 * GiB);
	o.compat = 1;
	qcow2_ok(&o, &i);
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE | IMG_LAZY_REFCOUNTS);
}

static void
test_qcow2_unknown_compat_autoclear_ignored(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.compat = 0xff00;
	o.autoclear = 0xff00;
	qcow2_ok(&o, &i);
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE);
}

static void
test_qcow2_extended_l2(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 10 * MiB);
	o.cluster_bits = 14;
	o.incompat = 1u << 4;
	qcow2_ok(&o, &i);
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE | IMG_EXTENDED_L2);
	assert_int_equal(i.cluster_size, 16384);
}

static void
test_qcow2_extended_l2_subcluster_too_small(void **state)
{
	struct qcow2_opts o;

	(void)state;
	qcow2_default_opts(&o, 10 * MiB);
	o.cluster_bits = 13;
	o.incompat = 1u << 4;
	qcow2_expect_error(&o, "Unsupported subcluster size: 256");
}

static void
test_qcow2_zstd(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 1 * GiB);
	o.compression_type = 1;
	o.incompat = 1u << 3;
	qcow2_ok(&o, &i);
	assert_int_equal(i.compression_type, IMG_COMPRESSION_ZSTD);
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE);
}

static void
test_qcow2_zstd_without_bit(void **state)
{
	struct qcow2_opts o;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.compression_type = 1;
	qcow2_expect_error(&o, "Compression type incompatible feature bit "
	    "must be set");
}

static void
test_qcow2_zlib_with_bit(void **state)
{
	struct qcow2_opts o;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.incompat = 1u << 3;
	qcow2_expect_error(&o, "Compression type incompatible feature bit "
	    "must not be set");
}

static void
test_qcow2_unknown_compression(void **state)
{
	struct qcow2_opts o;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.compression_type = 2;
	o.incompat = 1u << 3;
	qcow2_expect_error(&o, "qcow2: unknown compression type: 2");
}

/* A 104-byte header has no compression byte: zlib, whatever is there. */
static void
test_qcow2_header_length_104(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.header_length = 104;
	o.compression_type = 1;
	qcow2_ok(&o, &i);
	assert_int_equal(i.compression_type, IMG_COMPRESSION_ZLIB);
}

static void
test_qcow2_long_header_with_ext(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.header_length = 200;
	o.backing = "base.img";
	o.backing_fmt = "raw";
	qcow2_ok(&o, &i);
	assert_string_equal(i.backing_name, "base.img");
	assert_string_equal(i.backing_format, "raw");
}

static void
test_qcow2_dirty(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.incompat = 1;
	qcow2_ok(&o, &i);
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE | IMG_DIRTY);
}

static void
test_qcow2_corrupt(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.incompat = 2;
	qcow2_ok(&o, &i);
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE | IMG_CORRUPT);
}

static void
test_qcow2_backing_no_format(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 10 * MiB);
	o.backing = "base.qcow2";
	qcow2_ok(&o, &i);
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE | IMG_HAS_BACKING);
	assert_string_equal(i.backing_name, "base.qcow2");
	assert_string_equal(i.backing_format, "");
}

static void
test_qcow2_backing_with_format(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 10 * MiB);
	o.backing = "/images/dir with space/base.qcow2";
	o.backing_fmt = "qcow2";
	qcow2_ok(&o, &i);
	assert_int_equal(i.flags,
	    IMG_HAS_CLUSTER_SIZE | IMG_HAS_BACKING | IMG_HAS_BACKING_FMT);
	assert_string_equal(i.backing_name, "/images/dir with space/base.qcow2");
	assert_string_equal(i.backing_format, "qcow2");
}

static void
test_qcow2_v2_backing_with_format(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 10 * MiB);
	o.version = 2;
	o.backing = "base.qcow2";
	o.backing_fmt = "qcow2";
	qcow2_ok(&o, &i);
	assert_int_equal(i.flags,
	    IMG_HAS_CLUSTER_SIZE | IMG_HAS_BACKING | IMG_HAS_BACKING_FMT);
	assert_string_equal(i.backing_name, "base.qcow2");
	assert_string_equal(i.backing_format, "qcow2");
}

/* qemu shows a backing format only next to a backing file. */
static void
test_qcow2_backing_format_alone(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 10 * MiB);
	o.backing_fmt = "raw";
	qcow2_ok(&o, &i);
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE);
	assert_string_equal(i.backing_format, "");
}

static void
test_qcow2_backing_empty_name(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 10 * MiB);
	o.backing = "";
	o.backing_fmt = "raw";
	qcow2_ok(&o, &i);
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE);
	assert_string_equal(i.backing_name, "");
}

static void
test_qcow2_backing_name_1023(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;
	char name[1024];

	(void)state;
	memset(name, 'a', 1023);
	name[1023] = '\0';
	qcow2_default_opts(&o, 10 * MiB);
	o.backing = name;
	qcow2_ok(&o, &i);
	assert_string_equal(i.backing_name, name);
}

static void
test_qcow2_backing_name_too_long(void **state)
{
	struct qcow2_opts o;
	char name[1025];

	(void)state;
	memset(name, 'a', 1024);
	name[1024] = '\0';
	qcow2_default_opts(&o, 10 * MiB);
	o.backing = name;
	qcow2_expect_error(&o, "Backing file name too long");
}

/* The name must end inside the header cluster. */
static void
test_qcow2_backing_name_past_cluster(void **state)
{
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 10 * MiB);
	o.cluster_bits = 9;
	o.backing = "base";
	build_qcow2(&m, &o);
	put_be64(&m, 8, 500);
	put_be32(&m, 16, 13);
	expect_error(&m, INSTAR_FMT_QCOW2, "Backing file name too long");
	mem_img_free(&m);
}

static void
test_qcow2_backing_name_nul(void **state)
{
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 10 * MiB);
	o.backing = "base.qcow2";
	build_qcow2(&m, &o);
	m.buf[qcow2_backing_offset(&m) + 4] = '\0';
	expect_error(&m, INSTAR_FMT_QCOW2, "Backing file name contains a NUL");
	mem_img_free(&m);
}

/* Past the end of the file the name reads as zeros: refused, not empty. */
static void
test_qcow2_backing_name_beyond_eof(void **state)
{
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 10 * MiB);
	o.backing = "base.qcow2";
	build_qcow2(&m, &o);
	mem_img_resize(&m, qcow2_backing_offset(&m) + 3);
	expect_error(&m, INSTAR_FMT_QCOW2, "Backing file name contains a NUL");
	mem_img_free(&m);
}

static void
test_qcow2_backing_offset_invalid(void **state)
{
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 10 * MiB);
	build_qcow2(&m, &o);
	put_be64(&m, 8, 65537);
	put_be32(&m, 16, 4);
	expect_error(&m, INSTAR_FMT_QCOW2, "Invalid backing file offset");
	mem_img_free(&m);
}

static void
test_qcow2_backing_format_too_long(void **state)
{
	struct qcow2_opts o;

	(void)state;
	qcow2_default_opts(&o, 10 * MiB);
	o.backing = "b";
	o.backing_fmt = "0123456789abcdef";
	qcow2_expect_error(&o, "Backing format name too long");
}

static void
test_qcow2_backing_format_nul(void **state)
{
	static const char fmt[] = { 'q', 'c', 'o', 'w', '\0', '2' };
	struct qcow2_ext ext = { 0xe2792acau, sizeof(fmt), fmt };
	struct qcow2_opts o;

	(void)state;
	qcow2_default_opts(&o, 10 * MiB);
	o.backing = "b";
	o.exts = &ext;
	o.nexts = 1;
	qcow2_expect_error(&o, "Backing format name contains a NUL");
}

static void
test_qcow2_data_file(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.data_file = "d.raw";
	o.incompat = 1u << 2;
	o.autoclear = 1u << 1;
	qcow2_ok(&o, &i);
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE | IMG_HAS_DATA_FILE |
	    IMG_DATA_FILE_RAW | IMG_EXTERNAL_DATA);
	assert_string_equal(i.data_file, "d.raw");
}

static void
test_qcow2_data_file_not_raw(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.data_file = "/abs/data.img";
	o.incompat = 1u << 2;
	qcow2_ok(&o, &i);
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE | IMG_HAS_DATA_FILE |
	    IMG_EXTERNAL_DATA);
	assert_string_equal(i.data_file, "/abs/data.img");
}

/*
 * The data file bit without a name: refused by an open that would read
 * data or check, shown by "info", which opens no data file (qemu-img
 * info with Debian's fix of CVE-2024-4467).
 */
static void
test_qcow2_data_file_required(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.incompat = 1u << 2;
	qcow2_expect_error(&o, "'data-file' is required for this image");
	open_mode = FMT_OPEN_CHECK;
	qcow2_expect_error(&o, "'data-file' is required for this image");
	open_mode = FMT_OPEN_NO_IO;
	qcow2_ok(&o, &i);
	open_mode = FMT_OPEN_IO;
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE | IMG_EXTERNAL_DATA);
	assert_string_equal(i.data_file, "");
}

/* The raw bit without the data file bit: as above. */
static void
test_qcow2_data_file_raw_without_file(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.autoclear = 1u << 1;
	qcow2_expect_error(&o, "data-file-raw requires a data file");
	open_mode = FMT_OPEN_CHECK;
	qcow2_expect_error(&o, "data-file-raw requires a data file");
	open_mode = FMT_OPEN_NO_IO;
	qcow2_ok(&o, &i);
	open_mode = FMT_OPEN_IO;
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE | IMG_DATA_FILE_RAW);
}

static void
test_qcow2_data_file_name_nul(void **state)
{
	static const char name[] = { 'd', '\0', 'x' };
	struct qcow2_ext ext = { 0x44415441u, sizeof(name), name };
	struct qcow2_opts o;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.incompat = 1u << 2;
	o.exts = &ext;
	o.nexts = 1;
	qcow2_expect_error(&o, "Data file name contains a NUL");
}

static void
test_qcow2_data_file_name_too_long(void **state)
{
	struct qcow2_opts o;
	char name[1025];

	(void)state;
	memset(name, 'd', 1024);
	name[1024] = '\0';
	qcow2_default_opts(&o, 1 * MiB);
	o.incompat = 1u << 2;
	o.data_file = name;
	qcow2_expect_error(&o, "Data file name too long");
}

static void
test_qcow2_encrypted_aes(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;
	struct instar_luks_info zero;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.crypt_method = 1;
	qcow2_ok(&o, &i);
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE | IMG_ENCRYPTED);
	assert_int_equal(i.encrypt_format, IMG_ENCRYPT_AES);
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(&i.luks, &zero, sizeof(zero));
}

/*
 * A LUKS1 header as qemu-img create lays one out: aes xts-plain64 with
 * a 64-byte key, sha256, slot 0 active, and each slot's 504 sectors of
 * key material after the last.
 */
#define LUKS_OFF	65536
#define LUKS_SLOT(i)	(LUKS_OFF + 208 + 48 * (i))
#define LUKS_PAYLOAD	4096u

static void
put_luks_string(struct mem_img *m, size_t off, const char *s)
{
	uint8_t field[32];

	memset(field, 0, sizeof(field));
	memcpy(field, s, strlen(s) < sizeof(field) ? strlen(s) :
	    sizeof(field));
	put_bytes(m, off, field, sizeof(field));
}

static void
luks_header(struct mem_img *m)
{
	size_t i;

	if (m->size < LUKS_OFF + 4096)
		mem_img_resize(m, LUKS_OFF + 4096);
	memset(m->buf + LUKS_OFF, 0, 592);
	put_bytes(m, LUKS_OFF, "LUKS\xba\xbe", 6);
	put_be16(m, LUKS_OFF + 6, 1);
	put_luks_string(m, LUKS_OFF + 8, "aes");
	put_luks_string(m, LUKS_OFF + 40, "xts-plain64");
	put_luks_string(m, LUKS_OFF + 72, "sha256");
	put_be32(m, LUKS_OFF + 104, LUKS_PAYLOAD);
	put_be32(m, LUKS_OFF + 108, 64);
	put_be32(m, LUKS_OFF + 164, 1234);
	put_bytes(m, LUKS_OFF + 168, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", 36);
	for (i = 0; i < 8; i++) {
		put_be32(m, LUKS_SLOT(i), i == 0 ? 0x00ac71f3u : 0x0000deadu);
		put_be32(m, LUKS_SLOT(i) + 4, i == 0 ? 56789 : 0);
		put_be32(m, LUKS_SLOT(i) + 40, (uint32_t)(8 + 504 * i));
		put_be32(m, LUKS_SLOT(i) + 44, 4000);
	}
}

/* A qcow2 image whose crypto extension points at hdr_off. */
static void
luks_image_len(struct mem_img *m, uint64_t hdr_off, uint64_t hdr_len)
{
	uint8_t ext[16];
	struct qcow2_ext e = { 0x0537be77u, sizeof(ext), ext };
	struct qcow2_opts o;
	size_t i;

	for (i = 0; i < 8; i++) {
		ext[i] = (uint8_t)(hdr_off >> (56 - 8 * i));
		ext[8 + i] = (uint8_t)(hdr_len >> (56 - 8 * i));
	}
	qcow2_default_opts(&o, 1 * MiB);
	o.crypt_method = 2;
	o.exts = &e;
	o.nexts = 1;
	build_qcow2(m, &o);
}

static void
luks_image(struct mem_img *m)
{
	luks_image_len(m, LUKS_OFF, 2 * MiB);
	luks_header(m);
}

static void
test_qcow2_encrypted_luks(void **state)
{
	struct instar_image_info i;
	struct mem_img m;
	size_t n;

	(void)state;
	luks_image(&m);
	ok_info(&m, INSTAR_FMT_QCOW2, &i);
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE | IMG_ENCRYPTED);
	assert_int_equal(i.encrypt_format, IMG_ENCRYPT_LUKS);
	assert_string_equal(i.luks.cipher_alg, "aes-256");
	assert_string_equal(i.luks.cipher_mode, "xts");
	assert_string_equal(i.luks.ivgen_alg, "plain64");
	assert_string_equal(i.luks.ivgen_hash_alg, "");
	assert_string_equal(i.luks.hash_alg, "sha256");
	assert_string_equal(i.luks.uuid,
	    "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
	assert_int_equal(i.luks.payload_offset_sector, LUKS_PAYLOAD);
	assert_int_equal(i.luks.master_key_iters, 1234);
	assert_int_equal(i.luks.slots[0].active, 1);
	assert_int_equal(i.luks.slots[0].iters, 56789);
	assert_int_equal(i.luks.slots[0].stripes, 4000);
	for (n = 0; n < 8; n++)
		assert_int_equal(i.luks.slots[n].key_offset_sector, 8 + 504 * n);
	/* Inactive slots keep their offset only, as qemu lists them. */
	assert_int_equal(i.luks.slots[5].active, 0);
	assert_int_equal(i.luks.slots[5].iters, 0);
	assert_int_equal(i.luks.slots[5].stripes, 0);
	assert_null(image_info_validate(&i));
	mem_img_free(&m);
}

/* The cipher specifications qemu takes, and what it calls them. */
static void
test_qcow2_luks_ciphers(void **state)
{
	static const struct {
		const char	*name, *mode, *hash;
		uint32_t	 key_bytes;
		const char	*alg, *cmode, *ivgen, *ivhash;
	} t[] = {
		{ "aes", "xts-plain64", "sha1", 32, "aes-128", "xts",
		    "plain64", "" },
		{ "aes", "xts-plain64", "sha1", 48, "aes-192", "xts",
		    "plain64", "" },
		/* XTS halves the key, rounding down, as qemu does. */
		{ "aes", "xts-plain64", "sha1", 33, "aes-128", "xts",
		    "plain64", "" },
		{ "aes", "cbc-essiv:sha256", "sha512", 16, "aes-128", "cbc",
		    "essiv", "sha256" },
		{ "twofish", "cbc-plain", "ripemd160", 24, "twofish-192",
		    "cbc", "plain", "" },
		{ "serpent", "ctr-plain64", "md5", 32, "serpent-256", "ctr",
		    "plain64", "" },
		{ "cast5", "ecb-essiv:md5", "sha224", 16, "cast5-128", "ecb",
		    "essiv", "md5" },
		/* A hash after plain64 is parsed, then left out. */
		{ "aes", "cbc-plain64:sha384", "sha256", 32, "aes-256", "cbc",
		    "plain64", "" },
	};
	struct instar_image_info i;
	struct mem_img m;
	size_t n;

	(void)state;
	for (n = 0; n < sizeof(t) / sizeof(t[0]); n++) {
		luks_image(&m);
		put_luks_string(&m, LUKS_OFF + 8, t[n].name);
		put_luks_string(&m, LUKS_OFF + 40, t[n].mode);
		put_luks_string(&m, LUKS_OFF + 72, t[n].hash);
		put_be32(&m, LUKS_OFF + 108, t[n].key_bytes);
		/* Slots must fit a key of this size: keep them 504 apart. */
		ok_info(&m, INSTAR_FMT_QCOW2, &i);
		assert_string_equal(i.luks.cipher_alg, t[n].alg);
		assert_string_equal(i.luks.cipher_mode, t[n].cmode);
		assert_string_equal(i.luks.ivgen_alg, t[n].ivgen);
		assert_string_equal(i.luks.ivgen_hash_alg, t[n].ivhash);
		assert_string_equal(i.luks.hash_alg, t[n].hash);
		assert_null(image_info_validate(&i));
		mem_img_free(&m);
	}
}

struct luks_poke {
	size_t		 off;		/* from the LUKS header's start */
	const char	*string;	/* a 32-byte field, or NULL */
	uint32_t	 be32;		/* otherwise this */
	const char	*want;
};

static void
test_qcow2_luks_bad_header(void **state)
{
	static const struct luks_poke t[] = {
		{ 0, "NOTLUKS", 0, "Volume is not in LUKS format" },
		{ 4, NULL, 0xbabe0002, "LUKS version 2 is not supported" },
		{ 8, "0123456789abcdef0123456789abcdef", 0,
		    "LUKS header cipher name is not NUL terminated" },
		{ 40, "0123456789abcdef0123456789abcdef", 0,
		    "LUKS header cipher mode is not NUL terminated" },
		{ 72, "0123456789abcdef0123456789abcdef", 0,
		    "LUKS header hash spec is not NUL terminated" },
		{ 104, NULL, 7, "LUKS payload is overlapping with the header" },
		{ 164, NULL, 0, "LUKS key iteration count is zero" },
		{ 208 + 48 * 3 + 44, NULL, 3999,
		    "Keyslot 3 is corrupted (stripes 3999 != 4000)" },
		{ 208 + 44, NULL, 0xffffffffu,
		    "Keyslot 0 is corrupted (stripes -1 != 4000)" },
		{ 208, NULL, 1,
		    "Keyslot 0 state (active/disable) is corrupted" },
		{ 208 + 4, NULL, 0, "Keyslot 0 iteration count is zero" },
		{ 208 + 40, NULL, 7,
		    "Keyslot 0 is overlapping with the LUKS header" },
		{ 208 + 48 * 7 + 40, NULL, LUKS_PAYLOAD - 503,
		    "Keyslot 7 is overlapping with the encrypted payload" },
		{ 208 + 48 * 2 + 40, NULL, 8 + 504 + 503,
		    "Keyslots 1 and 2 are overlapping in the header" },
		{ 40, "xts", 0, "Unexpected cipher mode string format 'xts'" },
		{ 40, "xts-plain64:sha3", 0,
		    "Hash algorithm 'sha3' not supported" },
		{ 40, "gcm-plain64", 0, "Cipher mode 'gcm' not supported" },
		{ 8, "des", 0,
		    "Algorithm 'des' with key size 32 bytes not supported" },
		{ 108, NULL, 40,
		    "Algorithm 'aes' with key size 20 bytes not supported" },
		{ 72, "SHA256", 0, "Hash algorithm 'SHA256' not supported" },
		{ 40, "xts-plain63", 0, "IV generator 'plain63' not supported" },
		{ 40, "xts-essiv", 0, "Missing IV generator hash specification" },
		{ 40, "xts-essiv:sha1", 0,
		    "No AES cipher with key size 20 available" },
	};
	struct mem_img m;
	size_t n;

	(void)state;
	for (n = 0; n < sizeof(t) / sizeof(t[0]); n++) {
		luks_image(&m);
		if (t[n].string != NULL)
			put_luks_string(&m, LUKS_OFF + t[n].off, t[n].string);
		else
			put_be32(&m, LUKS_OFF + t[n].off, t[n].be32);
		expect_error(&m, INSTAR_FMT_QCOW2, t[n].want);
		mem_img_free(&m);
	}
}

/* The worker's check of the encryption record a guest sends. */
static void
test_luks_record_validation(void **state)
{
	struct instar_image_info good, i;
	struct mem_img m;

	(void)state;
	luks_image(&m);
	ok_info(&m, INSTAR_FMT_QCOW2, &good);
	mem_img_free(&m);
	assert_null(image_info_validate(&good));

	i = good;
	i.encrypt_format = 3;
	assert_string_equal(image_info_validate(&i),
	    "unknown encryption format");
	i = good;
	i.flags &= ~IMG_ENCRYPTED;
	assert_string_equal(image_info_validate(&i),
	    "encryption format without encryption");
	i = good;
	i.encrypt_format = IMG_ENCRYPT_AES;
	assert_string_equal(image_info_validate(&i),
	    "LUKS header without LUKS encryption");
	i = good;
	memset(i.luks.cipher_alg, 'a', sizeof(i.luks.cipher_alg));
	assert_string_equal(image_info_validate(&i),
	    "bad LUKS algorithm name");
	i = good;
	i.luks.hash_alg[0] = '\0';
	assert_string_equal(image_info_validate(&i),
	    "bad LUKS algorithm name");
	i = good;
	i.luks.cipher_mode[1] = '\n';
	assert_string_equal(image_info_validate(&i),
	    "bad LUKS algorithm name");
	i = good;
	strcpy(i.luks.ivgen_hash_alg, "sha1");
	assert_string_equal(image_info_validate(&i),
	    "LUKS IV generator hash without ESSIV");
	i = good;
	strcpy(i.luks.ivgen_alg, "essiv");
	assert_string_equal(image_info_validate(&i),
	    "LUKS IV generator hash without ESSIV");
	i = good;
	memset(i.luks.uuid, 'u', INSTAR_LUKS_UUID_MAX);
	assert_string_equal(image_info_validate(&i), "bad LUKS uuid");
	i = good;
	i.luks.uuid[45] = 'x';
	assert_string_equal(image_info_validate(&i), "bad LUKS uuid");
	i = good;
	i.luks.slots[2].active = 2;
	assert_string_equal(image_info_validate(&i), "bad LUKS key slot");
	i = good;
	i.luks.slots[2].iters = 9;
	assert_string_equal(image_info_validate(&i), "bad LUKS key slot");
	/* Only qcow2 has encryption. */
	memset(&i, 0, sizeof(i));
	i.format = INSTAR_FMT_RAW;
	assert_null(image_info_validate(&i));
	i.encrypt_format = IMG_ENCRYPT_AES;
	assert_string_equal(image_info_validate(&i),
	    "encryption outside qcow2");
}

/* ESSIV with cast5, which has one key size only. */
static void
test_qcow2_luks_essiv_cast5(void **state)
{
	struct mem_img m;

	(void)state;
	luks_image(&m);
	put_luks_string(&m, LUKS_OFF + 8, "cast5");
	put_luks_string(&m, LUKS_OFF + 40, "cbc-essiv:sha256");
	put_be32(&m, LUKS_OFF + 108, 16);
	expect_error(&m, INSTAR_FMT_QCOW2,
	    "Cipher cast5-128 not supported with essiv");
	mem_img_free(&m);
}

/*
 * qemu adds a slot's start and length in 32 bits: a slot at the very
 * top of the range wraps below the payload and passes.
 */
static void
test_qcow2_luks_slot_wraps(void **state)
{
	struct instar_image_info i;
	struct mem_img m;

	(void)state;
	luks_image(&m);
	put_be32(&m, LUKS_SLOT(7) + 40, 0xffffff00u);
	ok_info(&m, INSTAR_FMT_QCOW2, &i);
	assert_int_equal(i.luks.slots[7].key_offset_sector, 0xffffff00u);
	mem_img_free(&m);
}

static void
test_qcow2_luks_header_placement(void **state)
{
	struct mem_img m;

	(void)state;
	luks_image_len(&m, LUKS_OFF, 591);
	luks_header(&m);
	expect_error(&m, INSTAR_FMT_QCOW2,
	    "Request for data outside of extension header");
	mem_img_free(&m);
	/* Past the end of the file qemu reads zeros. */
	luks_image_len(&m, 64 * MiB, 4096);
	expect_error(&m, INSTAR_FMT_QCOW2, "Volume is not in LUKS format");
	mem_img_free(&m);
	/* qemu's block layer refuses a read ending past BDRV_MAX_LENGTH. */
	luks_image_len(&m, 0x7fffffffbfff0000ull, 4096);
	expect_error(&m, INSTAR_FMT_QCOW2, "Volume is not in LUKS format");
	mem_img_free(&m);
	luks_image_len(&m, 0x7fffffffc0000000ull, 4096);
	expect_error(&m, INSTAR_FMT_QCOW2,
	    "Could not read encryption header: Input/output error");
	mem_img_free(&m);
	luks_image_len(&m, 0xffffffffffff0000ull, 4096);
	expect_error(&m, INSTAR_FMT_QCOW2,
	    "Could not read encryption header: Input/output error");
	mem_img_free(&m);
	luks_image_len(&m, LUKS_OFF + 512, 4096);
	expect_error(&m, INSTAR_FMT_QCOW2, "is not a multiple of cluster size");
	mem_img_free(&m);
}

static void
test_qcow2_crypto_ext_without_luks(void **state)
{
	static const uint8_t ext[16];
	struct qcow2_ext e = { 0x0537be77u, sizeof(ext), ext };
	struct qcow2_opts o;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.crypt_method = 1;
	o.exts = &e;
	o.nexts = 1;
	qcow2_expect_error(&o, "only expected with LUKS encryption method");
	o.crypt_method = 2;
	e.len = 8;
	qcow2_expect_error(&o, "CRYPTO header extension size 8, but expected "
	    "size 16");
}

static void
test_qcow2_bad_crypt_method(void **state)
{
	struct qcow2_opts o;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.crypt_method = 3;
	qcow2_expect_error(&o, "Unsupported encryption method 3");
}

static void
test_qcow2_unknown_extension_skipped(void **state)
{
	static const char junk[13] = "unknown data";
	struct qcow2_ext e[2] = {
		{ 0x12345678u, sizeof(junk), junk },
		{ 0x6803f857u, 0, NULL },
	};
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.exts = e;
	o.nexts = 2;
	o.backing = "b.img";
	qcow2_ok(&o, &i);
	assert_string_equal(i.backing_name, "b.img");
}

static void
test_qcow2_extension_too_large(void **state)
{
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	build_qcow2(&m, &o);
	put_be32(&m, 112, 0x12345678u);
	put_be32(&m, 116, 65536 - 112 - 8 + 1);
	expect_error(&m, INSTAR_FMT_QCOW2, "Header extension too large");
	/* exactly filling the cluster is fine */
	put_be32(&m, 116, 65536 - 112 - 8);
	{
		struct instar_image_info i;

		ok_info(&m, INSTAR_FMT_QCOW2, &i);
	}
	put_be32(&m, 116, 0xffffffffu);
	expect_error(&m, INSTAR_FMT_QCOW2, "Header extension too large");
	mem_img_free(&m);
}

/* With a backing name the extensions must stop before it. */
static void
test_qcow2_extension_overlaps_backing(void **state)
{
	struct qcow2_opts o;
	struct mem_img m;
	size_t boff;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.backing = "base";
	o.backing_fmt = "raw";
	build_qcow2(&m, &o);
	boff = qcow2_backing_offset(&m);
	put_be32(&m, 116, (uint32_t)(boff - 120 + 1));
	expect_error(&m, INSTAR_FMT_QCOW2, "Header extension too large");
	mem_img_free(&m);
}

/* One bitmap directory entry; name_size 0 means strlen(name). */
struct bm_ent {
	uint64_t	 table_off;
	uint32_t	 table_size;
	uint32_t	 flags;
	uint8_t		 type;
	uint8_t		 gran_bits;
	const char	*name;
	uint16_t	 name_size;
	uint32_t	 extra;
};

#define BM_DIR		0x40000		/* cluster 4 of build_qcow2() */
#define BM_TABLE	0x50000

/* A usable entry for a 1 MiB image with 64 KiB clusters. */
static struct bm_ent
bm_good(const char *name, uint32_t flags)
{
	struct bm_ent e = { BM_TABLE, 1, flags, 1, 16, name, 0, 0 };

	return e;
}

/* Write the entries as qemu lays them out; returns the directory size. */
static uint64_t
bm_put_dir(struct mem_img *m, const struct bm_ent *e, size_t n)
{
	uint64_t off = BM_DIR;
	size_t i, nl;

	for (i = 0; i < n; i++) {
		nl = e[i].name_size != 0 ? e[i].name_size : strlen(e[i].name);
		if (m->size < off + 24 + nl + 8)
			mem_img_resize(m, (size_t)off + 24 + nl + 8);
		put_be64(m, off, e[i].table_off);
		put_be32(m, off + 8, e[i].table_size);
		put_be32(m, off + 12, e[i].flags);
		m->buf[off + 16] = e[i].type;
		m->buf[off + 17] = e[i].gran_bits;
		put_be16(m, off + 18, (uint16_t)nl);
		put_be32(m, off + 20, e[i].extra);
		put_bytes(m, off + 24, e[i].name, nl);
		off += (24 + nl + 7) & ~(size_t)7;
	}
	return off - BM_DIR;
}

/*
 * An image with these directory entries and a bitmaps extension saying
 * nb bitmaps and dir_size bytes (the entries' size if 0) at dir_off.
 */
static void
bm_image(struct mem_img *m, struct qcow2_opts *o, const struct bm_ent *e,
    size_t n, uint32_t nb, uint64_t dir_size, uint64_t dir_off)
{
	static uint8_t b[24];
	static struct qcow2_ext x;
	struct mem_img dir;
	uint64_t size;

	mem_img_alloc(&dir, 16);
	size = bm_put_dir(&dir, e, n);
	memset(b, 0, sizeof(b));
	b[0] = (uint8_t)(nb >> 24);
	b[1] = (uint8_t)(nb >> 16);
	b[2] = (uint8_t)(nb >> 8);
	b[3] = (uint8_t)nb;
	if (dir_size == 0)
		dir_size = size;
	for (size_t i = 0; i < 8; i++) {
		b[8 + i] = (uint8_t)(dir_size >> (56 - 8 * i));
		b[16 + i] = (uint8_t)(dir_off >> (56 - 8 * i));
	}
	x.magic = 0x23852875u;
	x.len = sizeof(b);
	x.data = b;
	o->autoclear |= 1;
	o->exts = &x;
	o->nexts = 1;
	build_qcow2(m, o);
	if (m->size < BM_TABLE + 65536)
		mem_img_resize(m, BM_TABLE + 65536);
	if (dir.size > BM_DIR)
		put_bytes(m, BM_DIR, dir.buf + BM_DIR, dir.size - BM_DIR);
	mem_img_free(&dir);
}

static void
bm_expect_error(const struct bm_ent *e, size_t n, const char *want)
{
	struct qcow2_opts o;
	struct mem_img m;

	qcow2_default_opts(&o, 1 * MiB);
	bm_image(&m, &o, e, n, (uint32_t)n, 0, BM_DIR);
	expect_error(&m, INSTAR_FMT_QCOW2, want);
	assert_int_equal(bitmaps.len, 0);
	assert_int_equal(bitmaps.count, 0);
	mem_img_free(&m);
}

static void
bm_expect_ok(const struct bm_ent *e, size_t n)
{
	struct qcow2_opts o;
	struct mem_img m;
	struct instar_image_info i;

	qcow2_default_opts(&o, 1 * MiB);
	bm_image(&m, &o, e, n, (uint32_t)n, 0, BM_DIR);
	ok_info(&m, INSTAR_FMT_QCOW2, &i);
	assert_int_equal(bitmaps.count, n);
	mem_img_free(&m);
}

/* What the guest sends of the last call's lists, as run_info() does. */
static size_t
bm_result(const struct instar_image_info *info)
{
	snap_res.info = *info;
	snap_res.nsnapshots = snaps.count;
	snap_res.snapshots_len = (uint32_t)snaps.len;
	snap_res.nbitmaps = bitmaps.count;
	snap_res.bitmaps_len = (uint32_t)bitmaps.len;
	memmove(snap_res.lists + snaps.len, bitmaps.buf, bitmaps.len);
	return INSTAR_INFO_RESULT_MIN + snaps.len + bitmaps.len;
}

static void
test_qcow2_bitmaps_ext(void **state)
{
	uint8_t b[24];
	struct qcow2_ext e = { 0x23852875u, sizeof(b), b };
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	memset(b, 0, sizeof(b));
	b[3] = 1;			/* one bitmap */
	b[21] = 0x04;			/* directory at 0x40000 */
	qcow2_default_opts(&o, 1 * MiB);
	o.autoclear = 1;
	o.exts = &e;
	o.nexts = 1;
	/* The header is right; qemu then reads the directory it names. */
	qcow2_expect_error(&o, "Requested bitmap directory size is zero");

	b[3] = 0;
	qcow2_expect_error(&o, "found bitmaps extension with zero bitmaps");
	b[3] = 1;
	b[7] = 1;
	qcow2_expect_error(&o, "Reserved field is not zero");
	b[7] = 0;
	b[23] = 1;
	qcow2_expect_error(&o, "invalid bitmap directory offset");
	b[23] = 0;
	b[0] = 1;
	qcow2_expect_error(&o, "exceeding the QEMU supported maximum");
	b[0] = 0;
	b[12] = 0x04;			/* 64 MiB */
	qcow2_expect_error(&o, "bitmap directory size (67108864) exceeds "
	    "the maximum supported size (67107840)");
	/* stale bitmaps (autoclear bit clear) are ignored */
	o.autoclear = 0;
	qcow2_ok(&o, &i);
	e.len = 16;
	qcow2_expect_error(&o, "bitmaps_ext: Invalid extension length");
}

static void
test_qcow2_bitmaps_list(void **state)
{
	struct bm_ent e[3];
	struct qcow2_opts o;
	struct mem_img m;
	struct instar_image_info i;
	struct instar_bitmap bm;
	size_t pos = 0, got;

	(void)state;
	e[0] = bm_good("b0", 2);
	e[1] = bm_good("in use", 1);
	e[1].gran_bits = 20;
	e[1].table_off = BM_TABLE + 0x10000;
	e[2] = bm_good("cut\0here", 3);
	e[2].name_size = 8;
	qcow2_default_opts(&o, 1 * MiB);
	bm_image(&m, &o, e, 3, 3, 0, BM_DIR);
	ok_info(&m, INSTAR_FMT_QCOW2, &i);
	mem_img_free(&m);
	assert_int_equal(bitmaps.count, 3);
	assert_int_equal(image_info_bitmap_next(bitmaps.buf, bitmaps.len,
	    &pos, &bm), 0);
	assert_int_equal(bm.hdr.granularity, 65536);
	assert_int_equal(bm.hdr.flags, INSTAR_BITMAP_AUTO);
	assert_int_equal(bm.hdr.name_len, 2);
	assert_memory_equal(bm.name, "b0", 2);
	assert_int_equal(image_info_bitmap_next(bitmaps.buf, bitmaps.len,
	    &pos, &bm), 0);
	assert_int_equal(bm.hdr.granularity, 1u << 20);
	assert_int_equal(bm.hdr.flags, INSTAR_BITMAP_IN_USE);
	assert_memory_equal(bm.name, "in use", 6);
	/* qemu keeps the name as a C string */
	assert_int_equal(image_info_bitmap_next(bitmaps.buf, bitmaps.len,
	    &pos, &bm), 0);
	assert_int_equal(bm.hdr.name_len, 3);
	assert_int_equal(bm.hdr.flags, 3);
	assert_int_equal(pos, bitmaps.len);

	/* The worker takes it, and refuses what qemu could not list. */
	got = bm_result(&i);
	assert_null(image_info_validate_result(&snap_res, got));
	assert_non_null(image_info_validate_result(&snap_res, got - 1));
	snap_res.nbitmaps = 2;
	assert_string_equal(image_info_validate_result(&snap_res, got),
	    "bitmap list longer than its entries");
	snap_res.nbitmaps = 4;
	assert_string_equal(image_info_validate_result(&snap_res, got),
	    "bitmap list overruns its length");
	snap_res.nbitmaps = 3;
	snap_res.info.qcow2_version = 2;
	assert_string_equal(image_info_validate_result(&snap_res, got),
	    "bitmaps where qemu lists none");
	snap_res.info.qcow2_version = 3;
	memcpy(&bm.hdr, snap_res.lists, sizeof(bm.hdr));
	bm.hdr.flags = 4;
	memcpy(snap_res.lists, &bm.hdr, sizeof(bm.hdr));
	assert_string_equal(image_info_validate_result(&snap_res, got),
	    "bitmap with reserved bits set");
	bm.hdr.flags = 2;
	bm.hdr.granularity = 256;
	memcpy(snap_res.lists, &bm.hdr, sizeof(bm.hdr));
	assert_string_equal(image_info_validate_result(&snap_res, got),
	    "bad bitmap granularity");
	bm.hdr.granularity = 65536 + 512;
	memcpy(snap_res.lists, &bm.hdr, sizeof(bm.hdr));
	assert_non_null(image_info_validate_result(&snap_res, got));
	bm.hdr.granularity = 65536;
	memcpy(snap_res.lists, &bm.hdr, sizeof(bm.hdr));
	snap_res.lists[sizeof(bm.hdr)] = '\0';
	assert_string_equal(image_info_validate_result(&snap_res, got),
	    "NUL byte in a bitmap name");
	snap_res.lists[sizeof(bm.hdr)] = 'b';
	assert_null(image_info_validate_result(&snap_res, got));

	/* Stale bitmaps: qemu lists none and reads no directory. */
	qcow2_default_opts(&o, 1 * MiB);
	bm_image(&m, &o, e, 3, 3, 0, BM_DIR);
	put_be64(&m, 88, 0);
	ok_info(&m, INSTAR_FMT_QCOW2, &i);
	assert_int_equal(bitmaps.count, 0);
	mem_img_free(&m);
}

static void
test_qcow2_bitmaps_directory(void **state)
{
	struct bm_ent e[2];
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	e[0] = bm_good("b0", 2);
	e[1] = bm_good("b1", 2);
	qcow2_default_opts(&o, 1 * MiB);
	/* Counts that disagree with the extension */
	bm_image(&m, &o, e, 2, 1, 0, BM_DIR);
	expect_error(&m, INSTAR_FMT_QCOW2, "More bitmaps found than "
	    "specified in header extension");
	mem_img_free(&m);
	bm_image(&m, &o, e, 2, 3, 0, BM_DIR);
	expect_error(&m, INSTAR_FMT_QCOW2, "Less bitmaps found than "
	    "specified in header extension");
	mem_img_free(&m);
	/* A size that cuts an entry, or leaves a tail */
	bm_image(&m, &o, e, 2, 2, 52, BM_DIR);
	expect_error(&m, INSTAR_FMT_QCOW2, "Broken bitmap directory");
	mem_img_free(&m);
	bm_image(&m, &o, e, 2, 2, 64 + 20, BM_DIR);
	expect_error(&m, INSTAR_FMT_QCOW2, "Broken bitmap directory");
	mem_img_free(&m);
	bm_image(&m, &o, e, 2, 3, 64 + 24, BM_DIR);
	expect_error(&m, INSTAR_FMT_QCOW2, "Bitmap '' doesn't satisfy the "
	    "constraints");
	mem_img_free(&m);
	/* Past what qemu's block layer reads, or past the file (zeros) */
	bm_image(&m, &o, e, 2, 2, 0, 0x7fffffffc0000000ull);
	expect_error(&m, INSTAR_FMT_QCOW2, "Failed to read bitmap directory: "
	    "Input/output error");
	mem_img_free(&m);
	bm_image(&m, &o, e, 2, 2, 0, 0x10000000ull);
	expect_error(&m, INSTAR_FMT_QCOW2, "Bitmap '' doesn't satisfy the "
	    "constraints");
	mem_img_free(&m);
	/* Extra data, even one whose size wraps qemu's int */
	e[1].extra = 8;
	bm_image(&m, &o, e, 2, 2, 64 + 8, BM_DIR);
	expect_error(&m, INSTAR_FMT_QCOW2, "Bitmap extra data is not "
	    "supported");
	mem_img_free(&m);
	e[1].extra = 0xfffffff0u;
	bm_expect_error(e, 2, "Bitmap extra data is not supported");
	e[1].extra = 1024;
	bm_expect_error(e, 2, "Broken bitmap directory");
	e[0].extra = 0x7fffffd0u;
	bm_expect_error(e, 2, "Broken bitmap directory");
	/* Past INT_MAX qemu steps backwards, and then sees the extra data. */
	e[0].extra = 0x7ffffff0u;
	bm_expect_error(e, 2, "Bitmap extra data is not supported");
}

static void
test_qcow2_bitmaps_entry(void **state)
{
	static char longname[1025];
	char want[INSTAR_ERROR_MAX];
	struct bm_ent e[2];
	struct qcow2_opts o;
	struct mem_img m;
	struct instar_image_info i;
	const char *bad = "Bitmap 'b1' doesn't satisfy the constraints";

	(void)state;
	e[0] = bm_good("b0", 2);
#define BAD(field, v) do {					\
		e[1] = bm_good("b1", 2);			\
		e[1].field = (v);				\
		bm_expect_error(e, 2, bad);			\
	} while (0)
	BAD(table_size, 0);
	BAD(table_off, 0);
	BAD(table_off, BM_TABLE + 512);
	BAD(table_size, 0x8000001u);
	BAD(table_size, 8193);		/* 512 MiB and a cluster */
	BAD(gran_bits, 8);
	BAD(gran_bits, 32);
	BAD(flags, 4);
	BAD(flags, 0x80000002u);
	BAD(type, 0);
	BAD(type, 2);
#undef BAD
	e[1] = bm_good("b1", 2);
	e[1].gran_bits = 31;
	bm_expect_ok(e, 2);
	/*
	 * A name one byte too long: qemu quotes it whole, and the error
	 * comes back cut to the INSTAR_ERROR_MAX - 1 bytes an error holds,
	 * ending in "..." to say so (the whole message, as no longer one
	 * can match).
	 */
	memset(longname, 'x', 1024);
	e[1].name = longname;
	e[1].gran_bits = 16;
	memset(want, 'x', sizeof(want) - 1);
	memcpy(want, "Bitmap '", 8);
	memcpy(want + sizeof(want) - 4, "...", 4);
	bm_expect_error(e, 2, want);
	longname[1023] = '\0';
	bm_expect_ok(e, 2);

	/* A bitmap table too small for the image, unless in use */
	qcow2_default_opts(&o, 4 * MiB);
	o.cluster_bits = 9;
	e[1] = bm_good("b1", 2);
	e[1].gran_bits = 9;
	e[1].table_off = 0x60000;
	bm_image(&m, &o, e, 2, 2, 0, BM_DIR);
	expect_error(&m, INSTAR_FMT_QCOW2, bad);
	mem_img_free(&m);
	e[1].flags = 3;
	bm_image(&m, &o, e, 2, 2, 0, BM_DIR);
	ok_info(&m, INSTAR_FMT_QCOW2, &i);
	mem_img_free(&m);
}

static void
test_qcow2_bitmaps_load(void **state)
{
	static char name[40][1001];
	struct bm_ent e[40];
	struct qcow2_opts o;
	struct mem_img m;
	struct instar_image_info i;
	size_t k;

	(void)state;
	/* Names: a bitmap not in use may not repeat one created before. */
	e[0] = bm_good("b0", 2);
	e[1] = bm_good("b0", 0);
	bm_expect_error(e, 2, "Bitmap already exists: b0");
	e[1] = bm_good("b0\0junk", 0);
	e[1].name_size = 7;
	bm_expect_error(e, 2, "Bitmap already exists: b0");
	e[1] = bm_good("b0", 1);
	bm_expect_ok(e, 2);
	e[0] = bm_good("b0", 1);
	e[1] = bm_good("b0", 0);
	bm_expect_error(e, 2, "Bitmap already exists: b0");
	e[1] = bm_good("b0", 1);
	bm_expect_ok(e, 2);
	/* Table entries: reserved bits, bit 0 with an offset, alignment */
	e[0] = bm_good("b0", 2);
	e[1] = bm_good("b1", 2);
	qcow2_default_opts(&o, 1 * MiB);
	bm_image(&m, &o, e, 2, 2, 0, BM_DIR);
	put_be64(&m, BM_TABLE, 1);		/* all ones: fine */
	ok_info(&m, INSTAR_FMT_QCOW2, &i);
	put_be64(&m, BM_TABLE, 2);
	expect_error(&m, INSTAR_FMT_QCOW2, "Could not read bitmap_table table "
	    "from image for bitmap 'b0': Invalid argument");
	put_be64(&m, BM_TABLE, 0x100000000000000ull);
	expect_error(&m, INSTAR_FMT_QCOW2, "for bitmap 'b0': Invalid");
	put_be64(&m, BM_TABLE, 0x70001);
	expect_error(&m, INSTAR_FMT_QCOW2, "for bitmap 'b0': Invalid");
	put_be64(&m, BM_TABLE, 0x70200);
	expect_error(&m, INSTAR_FMT_QCOW2, "for bitmap 'b0': Invalid");
	put_be64(&m, BM_TABLE, 0x70000);
	ok_info(&m, INSTAR_FMT_QCOW2, &i);
	mem_img_free(&m);
	/* An in-use bitmap's table is not read */
	e[0].flags = 1;
	e[0].table_off = 0x7fffffffc0000000ull;
	bm_expect_ok(e, 2);
	e[0].flags = 0;
	bm_expect_error(e, 2, "Could not read bitmap_table table from image "
	    "for bitmap 'b0': Input/output error");
	/* The table must be what the image's length needs */
	e[0] = bm_good("b0", 0);
	e[0].table_size = 2;
	bm_expect_error(e, 2, "Could not read bitmap 'b0' from image: "
	    "Invalid argument");
	/* A table error comes before a later duplicate. */
	e[1] = bm_good("b0", 0);
	bm_expect_error(e, 2, "Could not read bitmap 'b0' from image");

	/* More than the guest can send back */
	for (k = 0; k < 40; k++) {
		memset(name[k], 'a', 1000);
		name[k][0] = (char)('A' + k);
		e[k] = bm_good(name[k], 1);
	}
	bm_expect_ok(e, 20);
	bm_expect_error(e, 40, "too many bitmaps to report: 40");
	/* qemu's errors come first; a long name fills the error text. */
	e[39].flags = 4;
	bm_expect_error(e, 40, "Bitmap 'haaaa");
}

static void
test_qcow2_odd_size_rounds_down(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;

	(void)state;
	qcow2_default_opts(&o, 1000);
	qcow2_ok(&o, &i);
	assert_int_equal(i.virtual_size, 512);
}

static void
test_qcow2_zero_size(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 0);
	build_qcow2(&m, &o);
	put_be32(&m, 36, 0);
	put_be64(&m, 40, 0);
	ok_info(&m, INSTAR_FMT_QCOW2, &i);
	assert_int_equal(i.virtual_size, 0);
	mem_img_free(&m);
}

/* ---------------------------------------------------- qcow2, malformed */

static void
test_qcow2_bad_magic(void **state)
{
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	build_qcow2(&m, &o);
	m.buf[3] = 0xfa;
	expect_error(&m, INSTAR_FMT_QCOW2, "Image is not in qcow2 format");
	mem_img_free(&m);
}

static void
test_qcow2_bad_versions(void **state)
{
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	build_qcow2(&m, &o);
	put_be32(&m, 4, 4);
	expect_error(&m, INSTAR_FMT_QCOW2, "Unsupported qcow2 version 4");
	put_be32(&m, 4, 1);
	expect_error(&m, INSTAR_FMT_QCOW2, "Unsupported qcow2 version 1");
	put_be32(&m, 4, 0xffffffffu);
	expect_error(&m, INSTAR_FMT_QCOW2,
	    "Unsupported qcow2 version 4294967295");
	mem_img_free(&m);
}

static void
test_qcow2_truncated_header(void **state)
{
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	build_qcow2(&m, &o);
	mem_img_resize(&m, 20);
	expect_error(&m, INSTAR_FMT_QCOW2, "Unsupported cluster size: 2^0");
	mem_img_resize(&m, 2);
	expect_error(&m, INSTAR_FMT_QCOW2, "Image is not in qcow2 format");
	mem_img_resize(&m, 0);
	expect_error(&m, INSTAR_FMT_QCOW2, "Image is not in qcow2 format");
	mem_img_free(&m);
}

/* A v3 header cut short still has to make sense up to header_length. */
static void
test_qcow2_truncated_v3_fields(void **state)
{
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	build_qcow2(&m, &o);
	mem_img_resize(&m, 90);
	expect_error(&m, INSTAR_FMT_QCOW2, "qcow2 header too short");
	mem_img_free(&m);
}

static void
test_qcow2_cluster_bits_out_of_range(void **state)
{
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	build_qcow2(&m, &o);
	put_be32(&m, 20, 8);
	expect_error(&m, INSTAR_FMT_QCOW2, "Unsupported cluster size: 2^8");
	put_be32(&m, 20, 22);
	expect_error(&m, INSTAR_FMT_QCOW2, "Unsupported cluster size: 2^22");
	put_be32(&m, 20, 0x80000010u);
	expect_error(&m, INSTAR_FMT_QCOW2, "Unsupported cluster size");
	mem_img_free(&m);
}

static void
test_qcow2_header_length(void **state)
{
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.cluster_bits = 9;
	build_qcow2(&m, &o);
	put_be32(&m, 100, 103);
	expect_error(&m, INSTAR_FMT_QCOW2, "qcow2 header too short");
	put_be32(&m, 100, 513);
	expect_error(&m, INSTAR_FMT_QCOW2, "qcow2 header exceeds cluster size");
	put_be32(&m, 100, 0xffffffffu);
	expect_error(&m, INSTAR_FMT_QCOW2, "qcow2 header exceeds cluster size");
	mem_img_free(&m);
}

static void
test_qcow2_unknown_incompat(void **state)
{
	struct qcow2_opts o;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.incompat = 1u << 5;
	qcow2_expect_error(&o, "Unsupported qcow2 feature(s): Unknown "
	    "incompatible feature: 20");
	o.incompat = 1ull << 63 | 1;
	qcow2_expect_error(&o, "Unsupported qcow2 feature(s): Unknown "
	    "incompatible feature: 8000000000000000");
}

static void
test_qcow2_unknown_incompat_named(void **state)
{
	static const struct qcow2_feature f[] = {
		{ 0, 0, "dirty bit" },
		{ 1, 5, "compat five" },	/* not incompatible: ignored */
		{ 0, 5, "feature five" },
		{ 0, 70, "bit beyond 63" },
		{ 0, 6, "\x01\x02weird\x7f" },
	};
	struct qcow2_opts o;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.features = f;
	o.nfeatures = 5;
	o.incompat = 1u << 5;
	qcow2_expect_error(&o, "Unsupported qcow2 feature(s): feature five");
	o.incompat = 1u << 5 | 1u << 6 | 1u << 9;
	qcow2_expect_error(&o, "Unsupported qcow2 feature(s): feature five, "
	    "??weird?, Unknown incompatible feature: 200");
}

/* Long names cannot overflow the message; it is cut, not overrun. */
static void
test_qcow2_unknown_incompat_many_names(void **state)
{
	struct qcow2_feature f[40];
	struct qcow2_opts o;
	char names[40][47];
	int k;

	(void)state;
	for (k = 0; k < 40; k++) {
		memset(names[k], 'A' + k % 26, 46);
		names[k][46] = '\0';
		f[k].type = 0;
		f[k].bit = (uint8_t)(8 + k);
		f[k].name = names[k];
	}
	qcow2_default_opts(&o, 1 * MiB);
	o.features = f;
	o.nfeatures = 40;
	o.incompat = ~0ull << 8;
	qcow2_expect_error(&o, "Unsupported qcow2 feature(s): AAAA");
}

static void
test_qcow2_refcount_order_too_big(void **state)
{
	struct qcow2_opts o;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.refcount_order = 7;
	qcow2_expect_error(&o, "Reference count entry width too large; may "
	    "not exceed 64 bits");
}

static void
test_qcow2_refcount_table(void **state)
{
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	build_qcow2(&m, &o);
	put_be32(&m, 56, 0);
	expect_error(&m, INSTAR_FMT_QCOW2,
	    "Image does not contain a reference count table");
	put_be32(&m, 56, 1);
	put_be64(&m, 48, 65536 + 8);
	expect_error(&m, INSTAR_FMT_QCOW2,
	    "Reference count table offset invalid");
	put_be64(&m, 48, 0x7fffffffffff0000ull);
	expect_error(&m, INSTAR_FMT_QCOW2,
	    "Reference count table offset invalid");
	put_be64(&m, 48, 65536);
	put_be32(&m, 56, 129);		/* 8 MiB + 64 KiB */
	expect_error(&m, INSTAR_FMT_QCOW2, "Reference count table too large");
	mem_img_free(&m);
}

static void
test_qcow2_snapshot_table(void **state)
{
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	build_qcow2(&m, &o);
	put_be32(&m, 60, 65537);
	expect_error(&m, INSTAR_FMT_QCOW2, "Snapshot table too large");
	put_be32(&m, 60, 1);
	put_be64(&m, 64, 12345);
	expect_error(&m, INSTAR_FMT_QCOW2, "Snapshot table offset invalid");
	/* Aligned to 8 bytes, as entries are, but not to a cluster. */
	put_be64(&m, 64, 4 * 65536 + 8);
	expect_error(&m, INSTAR_FMT_QCOW2, "Snapshot table offset invalid");
	/* The whole minimal table must end below INT64_MAX. */
	put_be32(&m, 60, 65536);
	put_be64(&m, 64, 0x7fffffffffff0000ull);
	expect_error(&m, INSTAR_FMT_QCOW2, "Snapshot table offset invalid");
	mem_img_free(&m);
}

#define SNAP_TABLE	(4 * 65536)	/* just past build_qcow2()'s clusters */

/* The snapshot table a qcow2 with these entries yields. */
static void
snapshots_ok(struct mem_img *m, const struct qcow2_snap *sn, size_t n,
    struct instar_image_info *info)
{
	if (n > 0)
		qcow2_put_snapshots(m, SNAP_TABLE, sn, n);
	ok_info(m, INSTAR_FMT_QCOW2, info);
	/* What the guest returns must satisfy the worker. */
	snap_res.info = *info;
	snap_res.nsnapshots = snaps.count;
	snap_res.snapshots_len = (uint32_t)snaps.len;
	assert_true(snaps.len <= snaps.cap);
	assert_null(image_info_validate_result(&snap_res,
	    INSTAR_INFO_RESULT_MIN + snaps.len));
}

/* The i-th entry of the last list. */
static void
nth_snapshot(size_t i, struct instar_snapshot *sn)
{
	size_t pos = 0, k;

	assert_true(i < snaps.count);
	for (k = 0; k <= i; k++)
		assert_int_equal(image_info_snapshot_next(snaps.buf, snaps.len,
		    &pos, sn), 0);
}

static void
assert_snapshot(size_t i, const char *id, const char *name,
    uint64_t vm_state_size, uint64_t icount)
{
	struct instar_snapshot sn;

	nth_snapshot(i, &sn);
	assert_int_equal(sn.hdr.id_len, strlen(id));
	assert_memory_equal(sn.id, id, strlen(id));
	assert_int_equal(sn.hdr.name_len, strlen(name));
	assert_memory_equal(sn.name, name, strlen(name));
	assert_int_equal(sn.hdr.vm_state_size, vm_state_size);
	assert_int_equal(sn.hdr.icount, icount);
}

#define SNAP(id, name)	(id), sizeof(id) - 1, (name), sizeof(name) - 1

/* As qemu-img 7.2 "snapshot -c" writes them: 24 bytes of extra data. */
static void
test_qcow2_snapshots(void **state)
{
	const struct qcow2_snap sn[] = {
		{ 24, 0, 0, 1795415393, 384372000, 0, 0, SNAP("1", "first") },
		{ 24, 0, 12345678901ull, 1600000000, 999999999,
		    90061000000000ull, 42, SNAP("10", "second snap") },
		{ 24, 0, 4096, 7, 8, 9, 0, SNAP("3", "third") },
	};
	struct instar_image_info info;
	struct instar_snapshot got;
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 64 * MiB);
	build_qcow2(&m, &o);
	snapshots_ok(&m, sn, 3, &info);
	assert_int_equal(snaps.count, 3);
	assert_int_equal(snaps.len, 3 * 40 + 1 + 5 + 2 + 11 + 1 + 5);
	assert_snapshot(0, "1", "first", 0, 0);
	assert_snapshot(1, "10", "second snap", 12345678901ull, 42);
	assert_snapshot(2, "3", "third", 4096, 0);
	nth_snapshot(1, &got);
	assert_int_equal(got.hdr.date_sec, 1600000000);
	assert_int_equal(got.hdr.date_nsec, 999999999);
	assert_int_equal(got.hdr.vm_clock_nsec, 90061000000000ull);
	assert_int_equal(got.hdr.reserved, 0);
	mem_img_free(&m);

	/* No snapshots: an empty list, whatever the (aligned) offset. */
	build_qcow2(&m, &o);
	put_be64(&m, 64, 0x10000);
	snapshots_ok(&m, NULL, 0, &info);
	assert_int_equal(snaps.count, 0);
	assert_int_equal(snaps.len, 0);
	mem_img_free(&m);
}

/* v2 entries may carry no extra data at all, or only part of it. */
static void
test_qcow2_snapshot_v2_extra(void **state)
{
	const struct qcow2_snap sn[] = {
		{ 0, 4096, 99, 1000000000, 5, 3723000000123ull, 7,
		    SNAP("1", "v2snap") },
		{ 8, 4096, 1ull << 40, 0, 0, 0, 7, SNAP("2", "large") },
		{ 16, 4096, 1ull << 41, 0, 0, 0, 7, SNAP("3", "disk") },
	};
	struct instar_image_info info;
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 64 * MiB);
	o.version = 2;
	build_qcow2(&m, &o);
	snapshots_ok(&m, sn, 3, &info);
	assert_int_equal(snaps.count, 3);
	/* No extra data: the 32-bit size, and no icount. */
	assert_snapshot(0, "1", "v2snap", 4096, INSTAR_SNAP_ICOUNT_NONE);
	assert_snapshot(1, "2", "large", 1ull << 40, INSTAR_SNAP_ICOUNT_NONE);
	assert_snapshot(2, "3", "disk", 1ull << 41, INSTAR_SNAP_ICOUNT_NONE);
	mem_img_free(&m);
}

/* icount, and extra data qemu does not know, which it keeps and skips. */
static void
test_qcow2_snapshot_icount(void **state)
{
	const struct qcow2_snap sn[] = {
		{ 24, 0, 1, 0, 0, 0, 42, SNAP("1", "icount") },
		{ 1024, 0, 2, 0, 0, 0, UINT64_MAX, SNAP("2", "most extra") },
		{ 30, 0, 3, 0, 0, 0, 1ull << 63, SNAP("3", "odd extra") },
		{ 24, 0, 4, 0, 0, 0, 0, SNAP("4", "after") },
	};
	struct instar_image_info info;
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 64 * MiB);
	build_qcow2(&m, &o);
	snapshots_ok(&m, sn, 4, &info);
	assert_int_equal(snaps.count, 4);
	assert_snapshot(0, "1", "icount", 1, 42);
	/* An all-ones icount is how qemu says "none", in the file too. */
	assert_snapshot(1, "2", "most extra", 2, INSTAR_SNAP_ICOUNT_NONE);
	assert_snapshot(2, "3", "odd extra", 3, 1ull << 63);
	assert_snapshot(3, "4", "after", 4, 0);
	mem_img_free(&m);
}

/* qemu's error_append_hint() for a snapshot's extra data. */
#define EXTRA_HINT	"You can force-remove this extra metadata with " \
	"qemu-img check -r all"

static void
test_qcow2_snapshot_extra_too_big(void **state)
{
	struct qcow2_snap sn[] = {
		{ 24, 0, 0, 0, 0, 0, 0, SNAP("1", "fine") },
		{ 1025, 0, 0, 0, 0, 0, 0, SNAP("2", "too much") },
	};
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 64 * MiB);
	build_qcow2(&m, &o);
	qcow2_put_snapshots(&m, SNAP_TABLE, sn, 2);
	expect_error_hint(&m, INSTAR_FMT_QCOW2, "Too much extra metadata in "
	    "snapshot table entry 1", EXTRA_HINT);
	put_be32(&m, SNAP_TABLE + 36, UINT32_MAX);
	expect_error_hint(&m, INSTAR_FMT_QCOW2, "Too much extra metadata in "
	    "snapshot table entry 0", EXTRA_HINT);
	mem_img_free(&m);
}

/* qemu stops at 64 MiB of table, counting each entry as it is read. */
static void
test_qcow2_snapshot_table_too_big(void **state)
{
	struct instar_image_info info;
	struct qcow2_opts o;
	struct mem_img m;
	uint64_t off = SNAP_TABLE;
	uint32_t i, n = 600;

	(void)state;
	qcow2_default_opts(&o, 64 * MiB);
	build_qcow2(&m, &o);
	/* Headers only: everything else reads as zeros past the end. */
	mem_img_resize(&m, SNAP_TABLE + 40);
	for (i = 0; i < n; i++) {
		off = (off + 7) & ~7ull;
		if (off + 40 > m.size)
			mem_img_resize(&m, (size_t)off + 40);
		put_be16(&m, (size_t)off + 12, 65535);
		put_be16(&m, (size_t)off + 14, 65535);
		put_be32(&m, (size_t)off + 36, 1024);
		off += 40 + 1024 + 2 * 65535;
	}
	put_be32(&m, 60, n);
	put_be64(&m, 64, SNAP_TABLE);
	expect_error_hint(&m, INSTAR_FMT_QCOW2, "Snapshot table is too big",
	    "You can force-remove all 93 overhanging snapshots with "
	    "qemu-img check -r all");
	/*
	 * 507 such entries (132136 bytes with padding) fit in 64 MiB, the
	 * 508th does not: qemu-img 7.2 reports 93 of 600 overhanging.
	 * Their ids and names read as zeros, so they are empty.
	 */
	put_be32(&m, 60, 507);
	snapshots_ok(&m, NULL, 0, &info);
	assert_int_equal(snaps.count, 507);
	put_be32(&m, 60, 508);
	expect_error_hint(&m, INSTAR_FMT_QCOW2, "Snapshot table is too big",
	    "You can force-remove all 1 overhanging snapshots with "
	    "qemu-img check -r all");
	mem_img_free(&m);
}

/*
 * qemu's block layer reads zeros past the end of the file, so a table
 * there lists empty snapshots; it fails reads past BDRV_MAX_LENGTH.
 */
static void
test_qcow2_snapshot_table_beyond_eof(void **state)
{
	struct instar_image_info info;
	struct instar_snapshot sn;
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 64 * MiB);
	build_qcow2(&m, &o);
	put_be32(&m, 60, 2);
	put_be64(&m, 64, 0x10000000);
	snapshots_ok(&m, NULL, 0, &info);
	assert_int_equal(snaps.count, 2);
	assert_int_equal(snaps.len, 2 * 40);
	assert_snapshot(1, "", "", 0, INSTAR_SNAP_ICOUNT_NONE);
	nth_snapshot(0, &sn);
	assert_int_equal(sn.hdr.date_sec, 0);

	/* Straddling the end: the name's tail reads as zeros. */
	qcow2_put_snapshots(&m, SNAP_TABLE,
	    &(struct qcow2_snap){ 24, 0, 0, 0, 0, 0, 0, SNAP("1", "name") },
	    1);
	put_be16(&m, SNAP_TABLE + 14, 300);
	mem_img_resize(&m, m.size - 2);
	snapshots_ok(&m, NULL, 0, &info);
	assert_snapshot(0, "1", "na", 0, 0);

	/* The last offset qemu can read from, and the first it cannot. */
	put_be32(&m, 60, 1);
	put_be64(&m, 64, 0x7fffffffbfff0000ull);
	snapshots_ok(&m, NULL, 0, &info);
	assert_int_equal(snaps.count, 1);
	put_be64(&m, 64, 0x7fffffffc0000000ull);
	expect_error(&m, INSTAR_FMT_QCOW2,
	    "Failed to read snapshot table: Input/output error");
	/* Entry 1638 would be the first to cross it (qemu agrees). */
	put_be64(&m, 64, 0x7fffffffbfff0000ull);
	put_be32(&m, 60, 1638);
	snapshots_ok(&m, NULL, 0, &info);
	assert_int_equal(snaps.count, 1638);
	put_be32(&m, 60, 1639);
	expect_error(&m, INSTAR_FMT_QCOW2,
	    "Failed to read snapshot table: Input/output error");
	mem_img_free(&m);
}

/* Ids and names are C strings in qemu, cut at 127 and 255 bytes. */
static void
test_qcow2_snapshot_names(void **state)
{
	char id[200], name[300];
	struct qcow2_snap sn[] = {
		{ 24, 0, 0, 0, 0, 0, 0, SNAP("a\0b", "x\0yz") },
		{ 24, 0, 0, 0, 0, 0, 0, id, sizeof(id), name, sizeof(name) },
		{ 24, 0, 0, 0, 0, 0, 0, SNAP("\xff\x01\"", "\x1b[31m\n") },
		{ 24, 0, 0, 0, 0, 0, 0, SNAP("", "") },
	};
	struct instar_image_info info;
	struct instar_snapshot got;
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	memset(id, 'i', sizeof(id));
	memset(name, 'n', sizeof(name));
	qcow2_default_opts(&o, 64 * MiB);
	build_qcow2(&m, &o);
	snapshots_ok(&m, sn, 4, &info);
	assert_int_equal(snaps.count, 4);
	assert_snapshot(0, "a", "x", 0, 0);
	nth_snapshot(1, &got);
	assert_int_equal(got.hdr.id_len, INSTAR_SNAP_ID_MAX);
	assert_int_equal(got.hdr.name_len, INSTAR_SNAP_NAME_MAX);
	assert_memory_equal(got.id, id, INSTAR_SNAP_ID_MAX);
	assert_memory_equal(got.name, name, INSTAR_SNAP_NAME_MAX);
	/* Any other bytes pass through for the monitor to print as qemu. */
	assert_snapshot(2, "\xff\x01\"", "\x1b[31m\n", 0, 0);
	assert_snapshot(3, "", "", 0, 0);
	mem_img_free(&m);
}

/*
 * The list must fit the result: a longer one is an error, never a cut
 * one, but only once the whole table has passed qemu's checks.
 */
static void
test_qcow2_too_many_snapshots(void **state)
{
	struct instar_image_info info;
	struct qcow2_opts o;
	struct mem_img m;
	uint32_t fit = INSTAR_SNAP_COUNT_MAX;

	(void)state;
	qcow2_default_opts(&o, 64 * MiB);
	build_qcow2(&m, &o);
	/* Empty entries past the end of the file: 40 bytes each. */
	put_be64(&m, 64, 0x10000000);
	put_be32(&m, 60, fit);
	snapshots_ok(&m, NULL, 0, &info);
	assert_int_equal(snaps.count, fit);
	assert_int_equal(snaps.len, INSTAR_SNAP_AREA_MAX -
	    INSTAR_SNAP_AREA_MAX % 40);
	put_be32(&m, 60, fit + 1);
	expect_error(&m, INSTAR_FMT_QCOW2, "too many snapshots to report: ");
	put_be32(&m, 60, 65536);
	expect_error(&m, INSTAR_FMT_QCOW2,
	    "too many snapshots to report: 65536");
	/* An entry past the cap that qemu refuses: qemu's error wins. */
	put_be64(&m, 64, SNAP_TABLE);
	mem_img_resize(&m, SNAP_TABLE + 40 * 4000);
	put_be32(&m, SNAP_TABLE + 40 * 3999 + 36, 2000);
	put_be32(&m, 60, 4000);
	expect_error_hint(&m, INSTAR_FMT_QCOW2, "Too much extra metadata in "
	    "snapshot table entry 3999", EXTRA_HINT);
	mem_img_free(&m);
}

/*
 * qemu lists no snapshots for an image with an external data file, yet
 * reads its table when opening it, so a bad one still fails.
 */
static void
test_qcow2_snapshots_with_data_file(void **state)
{
	struct qcow2_snap sn[] = {
		{ 24, 0, 0, 0, 0, 0, 0, SNAP("1", "hidden") },
	};
	struct instar_image_info info;
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 64 * MiB);
	o.data_file = "d.raw";
	o.incompat = 1u << 2;
	build_qcow2(&m, &o);
	snapshots_ok(&m, sn, 1, &info);
	assert_true(info.flags & IMG_HAS_DATA_FILE);
	assert_int_equal(snaps.count, 0);
	assert_int_equal(snaps.len, 0);
	put_be32(&m, SNAP_TABLE + 36, 1025);
	expect_error_hint(&m, INSTAR_FMT_QCOW2, "Too much extra metadata in "
	    "snapshot table entry 0", EXTRA_HINT);
	mem_img_free(&m);

	/* A data file name without the bit: the image is its own data. */
	o.incompat = 0;
	build_qcow2(&m, &o);
	snapshots_ok(&m, sn, 1, &info);
	assert_true(info.flags & IMG_HAS_DATA_FILE);
	assert_int_equal(snaps.count, 1);
	assert_snapshot(0, "1", "hidden", 0, 0);
	mem_img_free(&m);
}

/* The worker's check of the packed list the guest sends. */
static void
test_snapshot_list_validation(void **state)
{
	const struct qcow2_snap sn[] = {
		{ 24, 0, 0, 0, 0, 0, 0, SNAP("1", "one") },
		{ 24, 0, 0, 0, 0, 0, 0, SNAP("2", "two") },
	};
	struct instar_image_info info;
	struct instar_snapshot_hdr h;
	struct qcow2_opts o;
	struct mem_img m;
	size_t got;

	(void)state;
	qcow2_default_opts(&o, 64 * MiB);
	build_qcow2(&m, &o);
	snapshots_ok(&m, sn, 2, &info);
	mem_img_free(&m);
	got = INSTAR_INFO_RESULT_MIN + snaps.len;
	assert_null(image_info_validate_result(&snap_res, got));
	/* Sent length and list length must agree. */
	assert_non_null(image_info_validate_result(&snap_res, got + 1));
	assert_non_null(image_info_validate_result(&snap_res, got - 1));
	/* The count must match the entries exactly. */
	snap_res.nsnapshots = 3;
	assert_non_null(image_info_validate_result(&snap_res, got));
	snap_res.nsnapshots = 1;
	assert_non_null(image_info_validate_result(&snap_res, got));
	snap_res.nsnapshots = 0;
	assert_non_null(image_info_validate_result(&snap_res, got));
	snap_res.nsnapshots = 2;
	/* A NUL inside a name. */
	snap_res.lists[sizeof(h) + 1 + 1] = '\0';
	assert_string_equal(image_info_validate_result(&snap_res, got),
	    "NUL byte in a snapshot id or name");
	snap_res.lists[sizeof(h) + 1 + 1] = 'n';
	assert_null(image_info_validate_result(&snap_res, got));
	/* A length running past the list. */
	memcpy(&h, snap_res.lists, sizeof(h));
	h.name_len = 200;
	memcpy(snap_res.lists, &h, sizeof(h));
	assert_string_equal(image_info_validate_result(&snap_res, got),
	    "snapshot list overruns its length");
	h.name_len = 3;
	h.reserved = 1;
	memcpy(snap_res.lists, &h, sizeof(h));
	assert_non_null(image_info_validate_result(&snap_res, got));
	h.reserved = 0;
	memcpy(snap_res.lists, &h, sizeof(h));
	assert_null(image_info_validate_result(&snap_res, got));
	/* Snapshots where qemu lists none. */
	snap_res.info.format = INSTAR_FMT_RAW;
	snap_res.info.flags = 0;
	assert_string_equal(image_info_validate_result(&snap_res, got),
	    "snapshots where qemu lists none");
	snap_res.info = info;
	snap_res.snapshots_len = INSTAR_SNAP_AREA_MAX + 1;
	assert_non_null(image_info_validate_result(&snap_res,
	    INSTAR_INFO_RESULT_MIN + INSTAR_SNAP_AREA_MAX + 1));
}

static void
test_qcow2_l1_table(void **state)
{
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 1 * GiB);
	build_qcow2(&m, &o);
	put_be64(&m, 40, 3 * 65536 + 512);
	expect_error(&m, INSTAR_FMT_QCOW2, "Active L1 table offset invalid");
	put_be64(&m, 40, 0xfffffffffff00000ull);
	expect_error(&m, INSTAR_FMT_QCOW2, "Active L1 table offset invalid");
	put_be64(&m, 40, 3 * 65536);
	put_be32(&m, 36, 4 * 1024 * 1024 + 1);
	expect_error(&m, INSTAR_FMT_QCOW2, "Active L1 table too large");
	put_be32(&m, 36, 1);		/* 1 GiB needs 2 entries */
	expect_error(&m, INSTAR_FMT_QCOW2, "L1 table is too small");
	put_be32(&m, 36, 0);
	expect_error(&m, INSTAR_FMT_QCOW2, "L1 table is too small");
	mem_img_free(&m);
}

/* L1 and refcount tables may lie past the end of the file, as in qemu. */
static void
test_qcow2_tables_past_eof(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 1 * GiB);
	build_qcow2(&m, &o);
	put_be64(&m, 40, 1000 * 65536);
	ok_info(&m, INSTAR_FMT_QCOW2, &i);
	mem_img_free(&m);
}

static void
test_qcow2_image_too_big(void **state)
{
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	o.cluster_bits = 9;
	build_qcow2(&m, &o);
	put_be64(&m, 24, ~0ull);
	expect_error(&m, INSTAR_FMT_QCOW2, "Image is too big");
	put_be64(&m, 24, 1ull << 47);	/* needs 2^32 L1 entries */
	expect_error(&m, INSTAR_FMT_QCOW2, "Image is too big");
	mem_img_free(&m);
}

static void
test_qcow2_big_image(void **state)
{
	struct qcow2_opts o;
	struct instar_image_info i;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	build_qcow2(&m, &o);
	put_be64(&m, 24, 100ull << 40);	/* 100 TiB: 204800 L1 entries */
	put_be32(&m, 36, 204799);
	expect_error(&m, INSTAR_FMT_QCOW2, "L1 table is too small");
	put_be32(&m, 36, 204800);
	ok_info(&m, INSTAR_FMT_QCOW2, &i);
	assert_int_equal(i.virtual_size, 100ull << 40);
	mem_img_free(&m);
}

static void
test_qcow2_read_error(void **state)
{
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	build_qcow2(&m, &o);
	m.fail_reads = true;
	expect_error(&m, INSTAR_FMT_QCOW2, "Could not read qcow2 header");
	mem_img_free(&m);
}

/* ------------------------------------------------------------------ VMDK */

static void
vmdk_ok(const struct vmdk_opts *o, struct instar_image_info *info)
{
	struct mem_img m;

	build_vmdk(&m, o);
	ok_info(&m, INSTAR_FMT_VMDK, info);
	mem_img_free(&m);
}

static void
vmdk_expect_error(const struct vmdk_opts *o, const char *want)
{
	struct mem_img m;

	build_vmdk(&m, o);
	expect_error(&m, INSTAR_FMT_VMDK, want);
	mem_img_free(&m);
}

static void
test_vmdk_sparse(void **state)
{
	struct vmdk_opts o;
	struct instar_image_info i;

	(void)state;
	vmdk_default_opts(&o, 20480);
	o.cid = 0xf3afd150;
	vmdk_ok(&o, &i);
	assert_int_equal(i.virtual_size, 10 * MiB);
	assert_int_equal(i.cluster_size, 65536);
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE);
	assert_int_equal(i.vmdk_cid, 0xf3afd150);
	assert_int_equal(i.vmdk_parent_cid, 0xffffffff);
	assert_string_equal(i.create_type, "monolithicSparse");
	assert_string_equal(i.backing_name, "");
}

static void
test_vmdk_parent(void **state)
{
	struct vmdk_opts o;
	struct instar_image_info i;

	(void)state;
	vmdk_default_opts(&o, 20480);
	o.parent = "a.vmdk";
	o.parent_cid = 0x7be3e4ae;
	vmdk_ok(&o, &i);
	assert_int_equal(i.flags,
	    IMG_HAS_CLUSTER_SIZE | IMG_HAS_BACKING | IMG_HAS_BACKING_FMT);
	assert_string_equal(i.backing_name, "a.vmdk");
	assert_string_equal(i.backing_format, "vmdk");
	assert_int_equal(i.vmdk_parent_cid, 0x7be3e4ae);
}

static void
test_vmdk_empty_parent(void **state)
{
	struct vmdk_opts o;
	struct instar_image_info i;

	(void)state;
	vmdk_default_opts(&o, 20480);
	o.parent = "";
	vmdk_ok(&o, &i);
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE);
}

static void
test_vmdk_parent_1023(void **state)
{
	struct vmdk_opts o;
	struct instar_image_info i;
	char name[1024];

	(void)state;
	memset(name, 'p', 1023);
	name[1023] = '\0';
	vmdk_default_opts(&o, 20480);
	o.parent = name;
	vmdk_ok(&o, &i);
	assert_string_equal(i.backing_name, name);
}

static void
test_vmdk_parent_too_long(void **state)
{
	struct vmdk_opts o;
	char name[5000];

	(void)state;
	memset(name, 'p', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	vmdk_default_opts(&o, 20480);
	o.parent = name;
	vmdk_expect_error(&o, "VMDK parent file name too long");
}

static void
test_vmdk_parent_unterminated(void **state)
{
	struct vmdk_opts o;

	(void)state;
	vmdk_default_opts(&o, 20480);
	o.descriptor = "CID=1\nparentCID=2\nparentFileNameHint=\"abc\n";
	vmdk_expect_error(&o, "Invalid parentFileNameHint");
	o.descriptor = "CID=1\nparentCID=2\nparentFileNameHint";
	vmdk_expect_error(&o, "Invalid parentFileNameHint");
}

static void
test_vmdk_stream_optimized(void **state)
{
	struct vmdk_opts o;
	struct instar_image_info i;

	(void)state;
	vmdk_default_opts(&o, 20480);
	o.compress = 1;
	o.version = 3;
	vmdk_ok(&o, &i);
	assert_string_equal(i.create_type, "streamOptimized");
	assert_int_equal(i.flags, IMG_HAS_CLUSTER_SIZE | IMG_VMDK_COMPRESSED);
}

static void
test_vmdk_footer(void **state)
{
	struct vmdk_opts o;
	struct instar_image_info i;
	struct mem_img m;

	(void)state;
	vmdk_default_opts(&o, 20480);
	o.compress = 1;
	o.gd_at_end = true;
	build_vmdk(&m, &o);
	/* The header's own fields are placeholders; the footer counts. */
	put_le64(&m, 12, 7);
	ok_info(&m, INSTAR_FMT_VMDK, &i);
	assert_int_equal(i.virtual_size, 10 * MiB);
	assert_string_equal(i.create_type, "streamOptimized");
	m.buf[m.size - 512 + 12] = 1;		/* end-of-stream marker type */
	expect_error(&m, INSTAR_FMT_VMDK, "Invalid footer");
	mem_img_resize(&m, 1024);
	expect_error(&m, INSTAR_FMT_VMDK, "Failed to read footer");
	mem_img_free(&m);
}

static void
test_vmdk_cid_forms(void **state)
{
	struct vmdk_opts o;
	struct instar_image_info i;

	(void)state;
	vmdk_default_opts(&o, 2048);
	o.descriptor = "version=1\nCID= 0XAbCd\nparentCID=fffffffe\n";
	vmdk_ok(&o, &i);
	assert_int_equal(i.vmdk_cid, 0xabcd);
	assert_int_equal(i.vmdk_parent_cid, 0xfffffffe);
	/* scanf("%x") saturates, then keeps 32 bits */
	o.descriptor = "CID=123456789abcdef0123\nparentCID=-1\n";
	vmdk_ok(&o, &i);
	assert_int_equal(i.vmdk_cid, 0xffffffff);
	assert_int_equal(i.vmdk_parent_cid, 0xffffffff);
	o.descriptor = "CID=1ffffffff\nparentCID=12xyz\n";
	vmdk_ok(&o, &i);
	assert_int_equal(i.vmdk_cid, 0xffffffff);
	assert_int_equal(i.vmdk_parent_cid, 0x12);
	/* qemu takes the first "CID", even inside parentCID */
	o.descriptor = "parentCID=abc\nCID=def\n";
	vmdk_ok(&o, &i);
	assert_int_equal(i.vmdk_cid, 0xabc);
	assert_int_equal(i.vmdk_parent_cid, 0xabc);
}

static void
test_vmdk_cid_missing(void **state)
{
	struct vmdk_opts o;

	(void)state;
	vmdk_default_opts(&o, 2048);
	o.descriptor = "version=1\nparentXID=1\n";
	vmdk_expect_error(&o, "VMDK descriptor has no valid CID");
	o.descriptor = "version=1\nCID=zz\nparentCID=1\n";
	vmdk_expect_error(&o, "VMDK descriptor has no valid CID");
	o.descriptor = "version=1\nCID=12\n";
	vmdk_expect_error(&o, "VMDK descriptor has no valid parentCID");
	o.descriptor = "version=1\nparentCID";
	vmdk_expect_error(&o, "VMDK descriptor has no valid");
}

/* A descriptor with no NUL at all is cut at qemu's 10 KiB window. */
static void
test_vmdk_descriptor_unterminated(void **state)
{
	struct vmdk_opts o;
	struct instar_image_info i;
	char *d;
	size_t n = 20 * 512;

	(void)state;
	d = malloc(n);
	assert_non_null(d);
	memset(d, 'x', n);
	memcpy(d, "CID=5\nparentCID=6\n", 18);
	vmdk_default_opts(&o, 2048);
	o.descriptor = d;
	o.descriptor_len = n;
	vmdk_ok(&o, &i);
	assert_int_equal(i.vmdk_cid, 5);
	/* a parentFileNameHint whose quote falls past the window */
	memcpy(d + n - 30, "parentFileNameHint=\"abcdefghi\"", 30);
	vmdk_expect_error(&o, "Invalid parentFileNameHint");
	/* fields past the window do not exist */
	memset(d, 'x', n);
	memcpy(d + n - 3, "CID", 3);
	vmdk_expect_error(&o, "no valid CID");
	free(d);
}

/* The descriptor lies beyond the end of the file: zeros, no CID. */
static void
test_vmdk_descriptor_beyond_eof(void **state)
{
	struct vmdk_opts o;
	struct mem_img m;

	(void)state;
	vmdk_default_opts(&o, 2048);
	build_vmdk(&m, &o);
	put_le64(&m, 64, 1);		/* grains start at sector 1 */
	mem_img_resize(&m, 512);
	expect_error(&m, INSTAR_FMT_VMDK, "no valid CID");
	mem_img_free(&m);
}

static void
test_vmdk_bad_magic(void **state)
{
	struct mem_img m;

	(void)state;
	build_text(&m, "this is not a vmdk at all");
	expect_error(&m, INSTAR_FMT_VMDK, "invalid VMDK image descriptor");
	mem_img_free(&m);
	build_text(&m, "abc");
	expect_error(&m, INSTAR_FMT_VMDK, "File is too small");
	mem_img_free(&m);
}

static void
test_vmdk_cowd(void **state)
{
	struct mem_img m;

	(void)state;
	build_text(&m, "COWD\x01\x00\x00\x00 rest of a vmfsSparse header");
	expect_error(&m, INSTAR_FMT_VMDK, "COWD");
	mem_img_free(&m);
}

static void
test_vmdk_version(void **state)
{
	struct vmdk_opts o;
	struct instar_image_info i;

	(void)state;
	vmdk_default_opts(&o, 2048);
	o.version = 4;
	vmdk_expect_error(&o, "Unsupported VMDK version 4");
	o.version = 3;
	vmdk_ok(&o, &i);
	o.version = 2;
	vmdk_ok(&o, &i);
}

static void
test_vmdk_granularity(void **state)
{
	struct vmdk_opts o;
	struct instar_image_info i;

	(void)state;
	vmdk_default_opts(&o, 2048);
	o.granularity = 0;
	vmdk_expect_error(&o, "L1 entry size is invalid");
	o.granularity = 3;
	vmdk_expect_error(&o, "not a power of two");
	o.granularity = 0x400000;
	vmdk_expect_error(&o, "Invalid granularity, image may be corrupt");
	o.granularity = 1ull << 32;	/* 32-bit product is zero, as qemu */
	vmdk_expect_error(&o, "L1 entry size is invalid");
	o.granularity = 1;
	vmdk_ok(&o, &i);
	assert_int_equal(i.cluster_size, 512);
	o.granularity = 0x200000;
	o.capacity = 0x200000;
	vmdk_ok(&o, &i);
	assert_int_equal(i.cluster_size, 1 * GiB);
}

static void
test_vmdk_gtes(void **state)
{
	struct vmdk_opts o;

	(void)state;
	vmdk_default_opts(&o, 2048);
	o.num_gtes = 513;
	vmdk_expect_error(&o, "L2 table size too big");
	o.num_gtes = 0;
	vmdk_expect_error(&o, "L1 entry size is invalid");
}

static void
test_vmdk_capacity(void **state)
{
	struct vmdk_opts o;
	struct instar_image_info i;
	struct mem_img m;

	(void)state;
	vmdk_default_opts(&o, 2048);
	build_vmdk(&m, &o);
	put_le64(&m, 12, 1ull << 62);
	expect_error(&m, INSTAR_FMT_VMDK, "L1 size too big");
	put_le64(&m, 12, ~0ull);
	expect_error(&m, INSTAR_FMT_VMDK, "L1 size too big");
	/* with the largest grains the L1 fits but the bytes overflow */
	put_le64(&m, 20, 0x200000);
	put_le64(&m, 12, 1ull << 55);
	expect_error(&m, INSTAR_FMT_VMDK, "Image is too big");
	put_le64(&m, 12, 1ull << 40);
	ok_info(&m, INSTAR_FMT_VMDK, &i);
	assert_int_equal(i.virtual_size, 1ull << 49);
	put_le64(&m, 20, 128);
	put_le64(&m, 12, 0);
	put_le64(&m, 28, 0);	/* capacity 0 and no descriptor offset */
	ok_info(&m, INSTAR_FMT_VMDK, &i);
	assert_int_equal(i.virtual_size, 0);
	mem_img_free(&m);
}

static void
test_vmdk_truncated(void **state)
{
	struct vmdk_opts o;
	struct mem_img m;

	(void)state;
	vmdk_default_opts(&o, 2048);
	build_vmdk(&m, &o);
	mem_img_resize(&m, m.size - 1);
	{
		struct instar_image_info i;

		/* a partial last sector still counts, as in qemu */
		ok_info(&m, INSTAR_FMT_VMDK, &i);
	}
	mem_img_resize(&m, m.size - 512);
	expect_error(&m, INSTAR_FMT_VMDK, "File truncated, expecting at least");
	put_le64(&m, 64, ~0ull);
	expect_error(&m, INSTAR_FMT_VMDK, "File truncated");
	mem_img_free(&m);
}

static void
test_vmdk_gd_offset_overflow(void **state)
{
	struct vmdk_opts o;
	struct mem_img m;

	(void)state;
	vmdk_default_opts(&o, 2048);
	build_vmdk(&m, &o);
	put_le64(&m, 56, 1ull << 60);
	expect_error(&m, INSTAR_FMT_VMDK, "Could not read l1 table");
	mem_img_free(&m);
}

static void
test_vmdk_text_descriptors(void **state)
{
	static const char *const types[] = {
		"monolithicFlat", "vmfs", "vmfsSparse", "seSparse",
		"twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
	};
	char text[256], want[128];
	struct mem_img m;
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
		snprintf(text, sizeof(text), "# Disk DescriptorFile\n"
		    "version=1\nCID=fffffffe\nparentCID=ffffffff\n"
		    "createType=\"%s\"\nRW 2048 FLAT \"f.raw\" 0\n", types[k]);
		snprintf(want, sizeof(want),
		    "VMDK create type '%s' is not supported", types[k]);
		build_text(&m, text);
		expect_error(&m, INSTAR_FMT_VMDK, want);
		mem_img_free(&m);
	}
}

static void
test_vmdk_text_bad_type(void **state)
{
	struct mem_img m;

	(void)state;
	build_text(&m, "version=1\ncreateType=\"monolithicSparse\"\n");
	expect_error(&m, INSTAR_FMT_VMDK,
	    "Unsupported image type 'monolithicSparse'");
	mem_img_free(&m);
	build_text(&m, "version=1\ncreateType=\"a\tb\x1b\"\n");
	expect_error(&m, INSTAR_FMT_VMDK, "Unsupported image type 'a?b?'");
	mem_img_free(&m);
	build_text(&m, "version=1\ncreateType=\"unterminated\n");
	expect_error(&m, INSTAR_FMT_VMDK, "invalid VMDK image descriptor");
	mem_img_free(&m);
	build_text(&m, "version=1\ncreateType");
	expect_error(&m, INSTAR_FMT_VMDK, "invalid VMDK image descriptor");
	mem_img_free(&m);
	build_text(&m, "version=1\n");
	expect_error(&m, INSTAR_FMT_VMDK, "invalid VMDK image descriptor");
	mem_img_free(&m);
}

static void
test_vmdk_text_type_too_long(void **state)
{
	char text[400];
	struct mem_img m;

	(void)state;
	memset(text, 0, sizeof(text));
	memcpy(text, "createType=\"", 12);
	memset(text + 12, 'x', 128);
	text[140] = '"';
	build_text(&m, text);
	expect_error(&m, INSTAR_FMT_VMDK, "invalid VMDK image descriptor");
	mem_img_free(&m);
	text[139] = '"';	/* 127 bytes fit qemu's buffer */
	build_text(&m, text);
	expect_error(&m, INSTAR_FMT_VMDK, "Unsupported image type 'xxx");
	mem_img_free(&m);
}

/* capacity 0 with a descriptor offset: an embedded descriptor file. */
static void
test_vmdk_embedded_descriptor(void **state)
{
	struct vmdk_opts o;
	struct mem_img m;

	(void)state;
	vmdk_default_opts(&o, 0);
	o.descriptor = "createType=\"vmfs\"\n";
	build_vmdk(&m, &o);
	expect_error(&m, INSTAR_FMT_VMDK,
	    "VMDK create type 'vmfs' is not supported");
	put_le64(&m, 28, 1ull << 60);
	expect_error(&m, INSTAR_FMT_VMDK, "invalid VMDK image descriptor");
	mem_img_free(&m);
}

/* ----------------------------------------------------------------- raw */

static void
test_raw(void **state)
{
	struct instar_image_info i;
	struct mem_img m;

	(void)state;
	mem_img_alloc(&m, 1 * MiB);
	ok_info(&m, INSTAR_FMT_RAW, &i);
	assert_int_equal(i.virtual_size, 1 * MiB);
	assert_int_equal(i.flags, 0);
	assert_int_equal(i.cluster_size, 0);
	mem_img_resize(&m, 1000);
	ok_info(&m, INSTAR_FMT_RAW, &i);
	assert_int_equal(i.virtual_size, 1024);
	mem_img_resize(&m, 0);
	ok_info(&m, INSTAR_FMT_RAW, &i);
	assert_int_equal(i.virtual_size, 0);
	mem_img_free(&m);
}

static void
test_raw_huge(void **state)
{
	struct instar_image_info i;
	struct fmt_err err;
	struct mem_img m;
	struct fmt_io io;

	(void)state;
	mem_img_alloc(&m, 16);
	mem_img_io(&m, &io);
	io.size = ~0ull;
	assert_int_equal(raw_info(&io, &i, &err), -1);
	assert_string_equal(err.msg, "Image is too big");
	mem_img_free(&m);
}

static void
test_info_bad_format(void **state)
{
	struct mem_img m;

	(void)state;
	mem_img_alloc(&m, 512);
	expect_error(&m, INSTAR_FMT_PROBE, "Unknown image format 0");
	expect_error(&m, 77, "Unknown image format 77");
	mem_img_free(&m);
}

/* --------------------------------------------------------------- probe */

static int
probe(struct mem_img *m, uint32_t *fmt, struct fmt_err *err)
{
	struct fmt_io io;

	mem_img_io(m, &io);
	memset(err, 0, sizeof(*err));
	*fmt = 999;
	return fmt_probe(&io, fmt, err);
}

static void
expect_probe(struct mem_img *m, uint32_t want)
{
	struct fmt_err err;
	uint32_t fmt;

	if (probe(m, &fmt, &err) != 0)
		fail_msg("probe failed: %s", err.msg);
	assert_int_equal(fmt, want);
}

static void
expect_probe_refused(struct mem_img *m, const char *name)
{
	struct fmt_err err;
	char want[64];
	uint32_t fmt;

	snprintf(want, sizeof(want), "Image format '%s' is not supported",
	    name);
	assert_int_equal(probe(m, &fmt, &err), -1);
	assert_string_equal(err.msg, want);
}

static void
test_probe_qcow2(void **state)
{
	struct qcow2_opts o;
	struct mem_img m;

	(void)state;
	qcow2_default_opts(&o, 1 * MiB);
	build_qcow2(&m, &o);
	expect_probe(&m, INSTAR_FMT_QCOW2);
	put_be32(&m, 4, 2);
	expect_probe(&m, INSTAR_FMT_QCOW2);
	/* any version >= 2 probes as qcow2; info then refuses it */
	put_be32(&m, 4, 4);
	expect_probe(&m, INSTAR_FMT_QCOW2);
	put_be32(&m, 4, 1);
	expect_probe_refused(&m, "qcow");
	put_be32(&m, 4, 0);
	expect_probe(&m, INSTAR_FMT_RAW);
	mem_img_free(&m);
}

static void
test_probe_vmdk(void **state)
{
	struct vmdk_opts o;
	struct mem_img m;

	(void)state;
	vmdk_default_opts(&o, 2048);
	build_vmdk(&m, &o);
	expect_probe(&m, INSTAR_FMT_VMDK);
	mem_img_free(&m);
	build_text(&m, "COWD....");
	expect_probe(&m, INSTAR_FMT_VMDK);
	mem_img_free(&m);
	build_text(&m, "# Disk DescriptorFile\nversion=1\nCID=1\n");
	expect_probe(&m, INSTAR_FMT_VMDK);
	mem_img_free(&m);
	build_text(&m, "# c\r\n   \r\n   \nversion=3\r\ncreateType=\"x\"\n");
	expect_probe(&m, INSTAR_FMT_VMDK);
	mem_img_free(&m);
}

static void
test_probe_vmdk_text_rejects(void **state)
{
	static const char *const texts[] = {
		"version=4\n", "version=1", "version=1\r", "x\nversion=1\n",
		"  x\nversion=1\n", "\nversion=1\n", "# only a comment",
		"# c\n\nversion=1\n",
		"version=1 \n",
	};
	struct mem_img m;
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
		build_text(&m, texts[k]);
		expect_probe(&m, INSTAR_FMT_RAW);
		mem_img_free(&m);
	}
}

/* A comment filling the whole probe sector, then the version line. */
static void
test_probe_vmdk_text_long_comment(void **state)
{
	char text[700];
	struct mem_img m;

	(void)state;
	memset(text, 0, sizeof(text));
	text[0] = '#';
	memset(text + 1, 'c', 600);
	memcpy(text + 601, "\nversion=1\n", 11);
	build_text(&m, text);
	expect_probe(&m, INSTAR_FMT_RAW);
	mem_img_free(&m);
}

static void
sig_image(struct mem_img *m, size_t off, const void *sig, size_t len)
{
	mem_img_alloc(m, 4096);
	put_bytes(m, off, sig, len);
}

static void
test_probe_refused_formats(void **state)
{
	static const char cloop[] = "#!/bin/sh\n#V2.0 Format\n"
	    "modprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n";
	struct mem_img m;

	(void)state;
	sig_image(&m, 0, "QED\0", 4);
	expect_probe_refused(&m, "qed");
	mem_img_free(&m);
	sig_image(&m, 0, "conectix", 8);
	expect_probe_refused(&m, "vpc");
	mem_img_free(&m);
	sig_image(&m, 0, "vhdxfile", 8);
	expect_probe_refused(&m, "vhdx");
	mem_img_free(&m);
	sig_image(&m, 0x40, "\x7f\x10\xda\xbe", 4);
	expect_probe_refused(&m, "vdi");
	mem_img_free(&m);
	sig_image(&m, 0, "LUKS\xba\xbe\x00\x01", 8);
	expect_probe_refused(&m, "luks");
	mem_img_free(&m);
	sig_image(&m, 0, cloop, strlen(cloop));
	expect_probe_refused(&m, "cloop");
	mem_img_free(&m);
}

static void
test_probe_parallels_bochs(void **state)
{
	struct mem_img m;

	(void)state;
	sig_image(&m, 0, "WithoutFreeSpace\x02\0\0\0", 20);
	expect_probe_refused(&m, "parallels");
	mem_img_free(&m);
	sig_image(&m, 0, "WithouFreSpacExt\x02\0\0\0", 20);
	expect_probe_refused(&m, "parallels");
	mem_img_free(&m);
	sig_image(&m, 0, "WithoutFreeSpace\x03\0\0\0", 20);
	expect_probe(&m, INSTAR_FMT_RAW);
	mem_img_free(&m);

	sig_image(&m, 0, "Bochs Virtual HD Image", 23);
	put_bytes(&m, 32, "Redolog", 8);
	put_bytes(&m, 48, "Growing", 8);
	put_le32(&m, 64, 0x00020000);
	expect_probe_refused(&m, "bochs");
	put_le32(&m, 64, 0x00030000);
	expect_probe(&m, INSTAR_FMT_RAW);
	mem_img_free(&m);
}

static void
test_probe_raw(void **state)
{
	struct mem_img m;
	size_t k;

	(void)state;
	mem_img_alloc(&m, 0);
	expect_probe(&m, INSTAR_FMT_RAW);
	mem_img_free(&m);
	build_text(&m, "QF");
	expect_probe(&m, INSTAR_FMT_RAW);
	mem_img_free(&m);
	mem_img_alloc(&m, 8192);
	for (k = 0; k < m.size; k++)
		m.buf[k] = (uint8_t)(k * 7 + 3);
	expect_probe(&m, INSTAR_FMT_RAW);
	/* a VDI signature past the probe sector is not looked at */
	mem_img_free(&m);
	sig_image(&m, 600, "conectix", 8);
	expect_probe(&m, INSTAR_FMT_RAW);
	mem_img_free(&m);
}

static void
test_probe_read_error(void **state)
{
	struct fmt_err err;
	struct mem_img m;
	uint32_t fmt;

	(void)state;
	mem_img_alloc(&m, 4096);
	m.fail_reads = true;
	assert_int_equal(probe(&m, &fmt, &err), -1);
	assert_non_null(strstr(err.msg, "Could not read image"));
	mem_img_free(&m);
}

static void
test_seterr_truncates(void **state)
{
	struct fmt_err err;
	char big[1000];

	(void)state;
	memset(big, 'e', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fmt_seterr(&err, "%s", big);
	assert_int_equal(strlen(err.msg), INSTAR_ERROR_MAX - 1);
	assert_string_equal(err.msg + INSTAR_ERROR_MAX - 4, "...");
	assert_int_equal(err.msg[INSTAR_ERROR_MAX - 5], 'e');
	/* A message that just fits is whole, with no marker. */
	big[INSTAR_ERROR_MAX - 1] = '\0';
	fmt_seterr(&err, "%s", big);
	assert_string_equal(err.msg, big);
	fmt_seterr(NULL, "ignored %d", 1);
}

/*
 * The worker's check of the guest's error and hint: both must end within
 * their arrays, an error must say something, and a control character an
 * image put there cannot reach the terminal.
 */
static void
test_sanitize_error_and_hint(void **state)
{
	static const char esc[] = "bad\033[2Jname", nl[] = "run\ncheck";
	char msg[16], hint[16];

	(void)state;
	memcpy(msg, esc, sizeof(esc));
	assert_null(image_info_sanitize_error(msg, sizeof(msg)));
	assert_string_equal(msg, "bad?[2Jname");
	msg[0] = '\0';
	assert_string_equal(image_info_sanitize_error(msg, sizeof(msg)),
	    "empty error text");
	memset(msg, 'x', sizeof(msg));
	assert_string_equal(image_info_sanitize_error(msg, sizeof(msg)),
	    "unterminated error text");

	hint[0] = '\0';
	assert_null(image_info_sanitize_hint(hint, sizeof(hint)));
	memcpy(hint, nl, sizeof(nl));
	assert_null(image_info_sanitize_hint(hint, sizeof(hint)));
	assert_string_equal(hint, "run?check");
	memset(hint, 'x', sizeof(hint));
	assert_string_equal(image_info_sanitize_hint(hint, sizeof(hint)),
	    "unterminated hint text");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qcow2_v3_default),
		cmocka_unit_test(test_qcow2_v2),
		cmocka_unit_test(test_qcow2_cluster_sizes),
		cmocka_unit_test(test_qcow2_v2_small_cluster),
		cmocka_unit_test(test_qcow2_refcount_widths),
		cmocka_unit_test(test_qcow2_lazy_refcounts),
		cmocka_unit_test(test_qcow2_unknown_compat_autoclear_ignored),
		cmocka_unit_test(test_qcow2_extended_l2),
		cmocka_unit_test(test_qcow2_extended_l2_subcluster_too_small),
		cmocka_unit_test(test_qcow2_zstd),
		cmocka_unit_test(test_qcow2_zstd_without_bit),
		cmocka_unit_test(test_qcow2_zlib_with_bit),
		cmocka_unit_test(test_qcow2_unknown_compression),
		cmocka_unit_test(test_qcow2_header_length_104),
		cmocka_unit_test(test_qcow2_long_header_with_ext),
		cmocka_unit_test(test_qcow2_dirty),
		cmocka_unit_test(test_qcow2_corrupt),
		cmocka_unit_test(test_qcow2_backing_no_format),
		cmocka_unit_test(test_qcow2_backing_with_format),
		cmocka_unit_test(test_qcow2_v2_backing_with_format),
		cmocka_unit_test(test_qcow2_backing_format_alone),
		cmocka_unit_test(test_qcow2_backing_empty_name),
		cmocka_unit_test(test_qcow2_backing_name_1023),
		cmocka_unit_test(test_qcow2_backing_name_too_long),
		cmocka_unit_test(test_qcow2_backing_name_past_cluster),
		cmocka_unit_test(test_qcow2_backing_name_nul),
		cmocka_unit_test(test_qcow2_backing_name_beyond_eof),
		cmocka_unit_test(test_qcow2_backing_offset_invalid),
		cmocka_unit_test(test_qcow2_backing_format_too_long),
		cmocka_unit_test(test_qcow2_backing_format_nul),
		cmocka_unit_test(test_qcow2_data_file),
		cmocka_unit_test(test_qcow2_data_file_not_raw),
		cmocka_unit_test(test_qcow2_data_file_required),
		cmocka_unit_test(test_qcow2_data_file_raw_without_file),
		cmocka_unit_test(test_qcow2_data_file_name_nul),
		cmocka_unit_test(test_qcow2_data_file_name_too_long),
		cmocka_unit_test(test_qcow2_encrypted_aes),
		cmocka_unit_test(test_qcow2_encrypted_luks),
		cmocka_unit_test(test_qcow2_luks_ciphers),
		cmocka_unit_test(test_qcow2_luks_bad_header),
		cmocka_unit_test(test_qcow2_luks_essiv_cast5),
		cmocka_unit_test(test_luks_record_validation),
		cmocka_unit_test(test_qcow2_luks_slot_wraps),
		cmocka_unit_test(test_qcow2_luks_header_placement),
		cmocka_unit_test(test_qcow2_crypto_ext_without_luks),
		cmocka_unit_test(test_qcow2_bad_crypt_method),
		cmocka_unit_test(test_qcow2_unknown_extension_skipped),
		cmocka_unit_test(test_qcow2_extension_too_large),
		cmocka_unit_test(test_qcow2_extension_overlaps_backing),
		cmocka_unit_test(test_qcow2_bitmaps_ext),
		cmocka_unit_test(test_qcow2_bitmaps_list),
		cmocka_unit_test(test_qcow2_bitmaps_directory),
		cmocka_unit_test(test_qcow2_bitmaps_entry),
		cmocka_unit_test(test_qcow2_bitmaps_load),
		cmocka_unit_test(test_qcow2_odd_size_rounds_down),
		cmocka_unit_test(test_qcow2_zero_size),
		cmocka_unit_test(test_qcow2_bad_magic),
		cmocka_unit_test(test_qcow2_bad_versions),
		cmocka_unit_test(test_qcow2_truncated_header),
		cmocka_unit_test(test_qcow2_truncated_v3_fields),
		cmocka_unit_test(test_qcow2_cluster_bits_out_of_range),
		cmocka_unit_test(test_qcow2_header_length),
		cmocka_unit_test(test_qcow2_unknown_incompat),
		cmocka_unit_test(test_qcow2_unknown_incompat_named),
		cmocka_unit_test(test_qcow2_unknown_incompat_many_names),
		cmocka_unit_test(test_qcow2_refcount_order_too_big),
		cmocka_unit_test(test_qcow2_refcount_table),
		cmocka_unit_test(test_qcow2_snapshot_table),
		cmocka_unit_test(test_qcow2_snapshots),
		cmocka_unit_test(test_qcow2_snapshot_v2_extra),
		cmocka_unit_test(test_qcow2_snapshot_icount),
		cmocka_unit_test(test_qcow2_snapshot_extra_too_big),
		cmocka_unit_test(test_qcow2_snapshot_table_too_big),
		cmocka_unit_test(test_qcow2_snapshot_table_beyond_eof),
		cmocka_unit_test(test_qcow2_snapshot_names),
		cmocka_unit_test(test_qcow2_too_many_snapshots),
		cmocka_unit_test(test_qcow2_snapshots_with_data_file),
		cmocka_unit_test(test_snapshot_list_validation),
		cmocka_unit_test(test_qcow2_l1_table),
		cmocka_unit_test(test_qcow2_tables_past_eof),
		cmocka_unit_test(test_qcow2_image_too_big),
		cmocka_unit_test(test_qcow2_big_image),
		cmocka_unit_test(test_qcow2_read_error),
		cmocka_unit_test(test_vmdk_sparse),
		cmocka_unit_test(test_vmdk_parent),
		cmocka_unit_test(test_vmdk_empty_parent),
		cmocka_unit_test(test_vmdk_parent_1023),
		cmocka_unit_test(test_vmdk_parent_too_long),
		cmocka_unit_test(test_vmdk_parent_unterminated),
		cmocka_unit_test(test_vmdk_stream_optimized),
		cmocka_unit_test(test_vmdk_footer),
		cmocka_unit_test(test_vmdk_cid_forms),
		cmocka_unit_test(test_vmdk_cid_missing),
		cmocka_unit_test(test_vmdk_descriptor_unterminated),
		cmocka_unit_test(test_vmdk_descriptor_beyond_eof),
		cmocka_unit_test(test_vmdk_bad_magic),
		cmocka_unit_test(test_vmdk_cowd),
		cmocka_unit_test(test_vmdk_version),
		cmocka_unit_test(test_vmdk_granularity),
		cmocka_unit_test(test_vmdk_gtes),
		cmocka_unit_test(test_vmdk_capacity),
		cmocka_unit_test(test_vmdk_truncated),
		cmocka_unit_test(test_vmdk_gd_offset_overflow),
		cmocka_unit_test(test_vmdk_text_descriptors),
		cmocka_unit_test(test_vmdk_text_bad_type),
		cmocka_unit_test(test_vmdk_text_type_too_long),
		cmocka_unit_test(test_vmdk_embedded_descriptor),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_raw_huge),
		cmocka_unit_test(test_info_bad_format),
		cmocka_unit_test(test_probe_qcow2),
		cmocka_unit_test(test_probe_vmdk),
		cmocka_unit_test(test_probe_vmdk_text_rejects),
		cmocka_unit_test(test_probe_vmdk_text_long_comment),
		cmocka_unit_test(test_probe_refused_formats),
		cmocka_unit_test(test_probe_parallels_bochs),
		cmocka_unit_test(test_probe_raw),
		cmocka_unit_test(test_probe_read_error),
		cmocka_unit_test(test_seterr_truncates),
		cmocka_unit_test(test_sanitize_error_and_hint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
