/*
 * Tests for the monitor's "info" rendering.  Every expected text below
 * was captured from Debian 12's qemu-img 7.2.22 ("qemu-img info" and
 * "qemu-img info --output=json", with and without --backing-chain) on
 * images of the same shape; the entries built here carry the same
 * facts (sizes, CIDs, disk usage) so the texts are pasted unchanged.
 * Snapshot dates print in local time, so the human texts were captured,
 * and are checked, with TZ=UTC.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "info_print.h"
#include "json.h"
#include "path.h"
#include "sizestr.h"

/* Default qcow2 v3 header facts, as "qemu-img create -f qcow2" makes. */
static Instar__Qcow2Info
qcow2_v3(void)
{
	Instar__Qcow2Info q = INSTAR__QCOW2_INFO__INIT;

	q.version = 3;
	q.refcount_bits = 16;
	q.compression_type = (char *)"zlib";
	return q;
}

static Instar__ImageInfo
image(Instar__Format fmt, uint64_t vsize, uint64_t csize)
{
	Instar__ImageInfo i = INSTAR__IMAGE_INFO__INIT;

	i.format = fmt;
	i.virtual_size = vsize;
	if (csize != 0) {
		i.has_cluster_size = 1;
		i.cluster_size = csize;
	}
	return i;
}

static void
set_backing(Instar__ImageInfo *i, const char *name, size_t len,
    const char *fmt)
{
	i->has_backing_filename = 1;
	i->backing_filename.data = (uint8_t *)(uintptr_t)name;
	i->backing_filename.len = len;
	i->backing_format = (char *)(uintptr_t)fmt;
}

/* Render into a string: human, or JSON (chain or not). */
static char *
render(const struct info_entry *e, size_t n, int json, int chain)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	if (json)
		r = info_print_json(f, e, n, chain);
	else
		r = info_print_human(f, e, n);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(r, 0);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static void
check(const struct info_entry *e, size_t n, int json, int chain,
    const char *want)
{
	char *got = render(e, n, json, chain);

	assert_string_equal(got, want);
	free(got);
}

/* One image, no chain: human and JSON. */
static void
check_one(const char *filename, const Instar__ImageInfo *info,
    int64_t actual, const char *human, const char *json)
{
	struct info_entry e = { filename, info, actual, NULL };
	char *full = NULL;

	if (info->has_backing_filename) {
		full = path_backing_full(filename,
		    (const char *)info->backing_filename.data);
		assert_non_null(full);
		e.full_backing_filename = full;
	}
	check(&e, 1, 0, 0, human);
	check(&e, 1, 1, 0, json);
	free(full);
}

/*
 * A backing chain as the caller builds it: each entry below the top is
 * named by the previous entry's full backing filename.
 */
static void
check_chain(const char *top, const Instar__ImageInfo *const *infos,
    const int64_t *actual, size_t n, const char *human, const char *json)
{
	struct info_entry e[8];
	char *full[8] = { NULL };
	size_t i;

	assert_true(n <= 8);
	for (i = 0; i < n; i++) {
		e[i].filename = i == 0 ? top : full[i - 1];
		e[i].info = infos[i];
		e[i].actual_size = actual[i];
		e[i].full_backing_filename = NULL;
		if (infos[i]->has_backing_filename) {
			full[i] = path_backing_full(e[i].filename,
			    (const char *)infos[i]->backing_filename.data);
			assert_non_null(full[i]);
			e[i].full_backing_filename = full[i];
		}
	}
	check(e, n, 0, 1, human);
	check(e, n, 1, 1, json);
	for (i = 0; i < n; i++)
		free(full[i]);
}

/* qemu-img create -f qcow2 base.qcow2 64M */
static void
test_qcow2_v3(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 67108864,
	    65536);

	(void)state;
	i.qcow2 = &q;
	check_one("base.qcow2", &i, 200704,
	    "image: base.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 64 MiB (67108864 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n",
	    "{\n"
	    "    \"virtual-size\": 67108864,\n"
	    "    \"filename\": \"base.qcow2\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"actual-size\": 200704,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"qcow2\",\n"
	    "        \"data\": {\n"
	    "            \"compat\": \"1.1\",\n"
	    "            \"compression-type\": \"zlib\",\n"
	    "            \"lazy-refcounts\": false,\n"
	    "            \"refcount-bits\": 16,\n"
	    "            \"corrupt\": false,\n"
	    "            \"extended-l2\": false\n"
	    "        }\n"
	    "    },\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/* qemu-img create -f qcow2 -o compat=0.10 v2.qcow2 1G */
static void
test_qcow2_v2(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 1073741824,
	    65536);

	(void)state;
	q.version = 2;
	i.qcow2 = &q;
	check_one("v2.qcow2", &i, 200704,
	    "image: v2.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 1 GiB (1073741824 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "Format specific information:\n"
	    "    compat: 0.10\n"
	    "    compression type: zlib\n"
	    "    refcount bits: 16\n",
	    "{\n"
	    "    \"virtual-size\": 1073741824,\n"
	    "    \"filename\": \"v2.qcow2\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"actual-size\": 200704,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"qcow2\",\n"
	    "        \"data\": {\n"
	    "            \"compat\": \"0.10\",\n"
	    "            \"compression-type\": \"zlib\",\n"
	    "            \"refcount-bits\": 16\n"
	    "        }\n"
	    "    },\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/* qemu-img create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2 */
static void
test_qcow2_backing(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 67108864,
	    65536);

	(void)state;
	i.qcow2 = &q;
	set_backing(&i, "base.qcow2", 10, "qcow2");
	check_one("top.qcow2", &i, 200704,
	    "image: top.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 64 MiB (67108864 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "backing file: base.qcow2\n"
	    "backing file format: qcow2\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n",
	    "{\n"
	    "    \"backing-filename-format\": \"qcow2\",\n"
	    "    \"virtual-size\": 67108864,\n"
	    "    \"filename\": \"top.qcow2\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"actual-size\": 200704,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"qcow2\",\n"
	    "        \"data\": {\n"
	    "            \"compat\": \"1.1\",\n"
	    "            \"compression-type\": \"zlib\",\n"
	    "            \"lazy-refcounts\": false,\n"
	    "            \"refcount-bits\": 16,\n"
	    "            \"corrupt\": false,\n"
	    "            \"extended-l2\": false\n"
	    "        }\n"
	    "    },\n"
	    "    \"full-backing-filename\": \"base.qcow2\",\n"
	    "    \"backing-filename\": \"base.qcow2\",\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/* v2 with backing whose format extension was removed (qemu probes). */
static void
test_qcow2_backing_no_format(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 67108864,
	    65536);

	(void)state;
	q.version = 2;
	i.qcow2 = &q;
	set_backing(&i, "base.qcow2", 10, NULL);
	check_one("v2nofmt.qcow2", &i, 200704,
	    "image: v2nofmt.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 64 MiB (67108864 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "backing file: base.qcow2\n"
	    "Format specific information:\n"
	    "    compat: 0.10\n"
	    "    compression type: zlib\n"
	    "    refcount bits: 16\n",
	    "{\n"
	    "    \"virtual-size\": 67108864,\n"
	    "    \"filename\": \"v2nofmt.qcow2\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"actual-size\": 200704,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"qcow2\",\n"
	    "        \"data\": {\n"
	    "            \"compat\": \"0.10\",\n"
	    "            \"compression-type\": \"zlib\",\n"
	    "            \"refcount-bits\": 16\n"
	    "        }\n"
	    "    },\n"
	    "    \"full-backing-filename\": \"base.qcow2\",\n"
	    "    \"backing-filename\": \"base.qcow2\",\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/*
 * -o lazy_refcounts=on,extended_l2=on,compression_type=zstd,
 * refcount_bits=1
 */
static void
test_qcow2_features(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 104857600,
	    65536);

	(void)state;
	q.lazy_refcounts = 1;
	q.extended_l2 = 1;
	q.compression_type = (char *)"zstd";
	q.refcount_bits = 1;
	i.qcow2 = &q;
	check_one("fancy.qcow2", &i, 200704,
	    "image: fancy.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 100 MiB (104857600 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zstd\n"
	    "    lazy refcounts: true\n"
	    "    refcount bits: 1\n"
	    "    corrupt: false\n"
	    "    extended l2: true\n",
	    "{\n"
	    "    \"virtual-size\": 104857600,\n"
	    "    \"filename\": \"fancy.qcow2\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"actual-size\": 200704,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"qcow2\",\n"
	    "        \"data\": {\n"
	    "            \"compat\": \"1.1\",\n"
	    "            \"compression-type\": \"zstd\",\n"
	    "            \"lazy-refcounts\": true,\n"
	    "            \"refcount-bits\": 1,\n"
	    "            \"corrupt\": false,\n"
	    "            \"extended-l2\": true\n"
	    "        }\n"
	    "    },\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/* -o refcount_bits=64,data_file=data.raw,data_file_raw=on */
static void
test_qcow2_data_file_raw(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 10485760,
	    65536);

	(void)state;
	q.refcount_bits = 64;
	q.has_data_file = 1;
	q.data_file.data = (uint8_t *)(uintptr_t)"data.raw";
	q.data_file.len = 8;
	q.data_file_raw = 1;
	q.has_external_data = 1;
	q.external_data = 1;
	i.qcow2 = &q;
	check_one("df.qcow2", &i, 266240,
	    "image: df.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 10 MiB (10485760 bytes)\n"
	    "disk size: 260 KiB\n"
	    "cluster_size: 65536\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 64\n"
	    "    data file: data.raw\n"
	    "    data file raw: true\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n",
	    "{\n"
	    "    \"virtual-size\": 10485760,\n"
	    "    \"filename\": \"df.qcow2\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"actual-size\": 266240,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"qcow2\",\n"
	    "        \"data\": {\n"
	    "            \"compat\": \"1.1\",\n"
	    "            \"compression-type\": \"zlib\",\n"
	    "            \"lazy-refcounts\": false,\n"
	    "            \"refcount-bits\": 64,\n"
	    "            \"data-file\": \"data.raw\",\n"
	    "            \"data-file-raw\": true,\n"
	    "            \"corrupt\": false,\n"
	    "            \"extended-l2\": false\n"
	    "        }\n"
	    "    },\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/*
 * The data file bit, but no name (qemu-img amend -o data_file=""): qemu
 * says whether the data file it has not got is raw.
 */
static void
test_qcow2_data_file_unnamed(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 1048576,
	    65536);

	(void)state;
	q.has_external_data = 1;
	q.external_data = 1;
	i.qcow2 = &q;
	check_one("dfu.qcow2", &i, 200704,
	    "image: dfu.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 1 MiB (1048576 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    data file raw: false\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n",
	    "{\n"
	    "    \"virtual-size\": 1048576,\n"
	    "    \"filename\": \"dfu.qcow2\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"actual-size\": 200704,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"qcow2\",\n"
	    "        \"data\": {\n"
	    "            \"compat\": \"1.1\",\n"
	    "            \"compression-type\": \"zlib\",\n"
	    "            \"lazy-refcounts\": false,\n"
	    "            \"refcount-bits\": 16,\n"
	    "            \"data-file-raw\": false,\n"
	    "            \"corrupt\": false,\n"
	    "            \"extended-l2\": false\n"
	    "        }\n"
	    "    },\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/* A data file named, but the header's bit cleared: only the name. */
static void
test_qcow2_data_file_without_bit(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 1048576,
	    65536);

	(void)state;
	q.has_data_file = 1;
	q.data_file.data = (uint8_t *)(uintptr_t)"e.raw";
	q.data_file.len = 5;
	i.qcow2 = &q;
	check_one("e.qcow2", &i, 200704,
	    "image: e.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 1 MiB (1048576 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    data file: e.raw\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n",
	    "{\n"
	    "    \"virtual-size\": 1048576,\n"
	    "    \"filename\": \"e.qcow2\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"actual-size\": 200704,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"qcow2\",\n"
	    "        \"data\": {\n"
	    "            \"compat\": \"1.1\",\n"
	    "            \"compression-type\": \"zlib\",\n"
	    "            \"lazy-refcounts\": false,\n"
	    "            \"refcount-bits\": 16,\n"
	    "            \"data-file\": \"e.raw\",\n"
	    "            \"corrupt\": false,\n"
	    "            \"extended-l2\": false\n"
	    "        }\n"
	    "    },\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/* -o data_file=data2.raw (not raw) */
static void
test_qcow2_data_file(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 1073741824,
	    65536);

	(void)state;
	q.has_data_file = 1;
	q.data_file.data = (uint8_t *)(uintptr_t)"data2.raw";
	q.data_file.len = 9;
	q.has_external_data = 1;
	q.external_data = 1;
	i.qcow2 = &q;
	check_one("df2.qcow2", &i, 200704,
	    "image: df2.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 1 GiB (1073741824 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    data file: data2.raw\n"
	    "    data file raw: false\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n",
	    "{\n"
	    "    \"virtual-size\": 1073741824,\n"
	    "    \"filename\": \"df2.qcow2\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"actual-size\": 200704,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"qcow2\",\n"
	    "        \"data\": {\n"
	    "            \"compat\": \"1.1\",\n"
	    "            \"compression-type\": \"zlib\",\n"
	    "            \"lazy-refcounts\": false,\n"
	    "            \"refcount-bits\": 16,\n"
	    "            \"data-file\": \"data2.raw\",\n"
	    "            \"data-file-raw\": false,\n"
	    "            \"corrupt\": false,\n"
	    "            \"extended-l2\": false\n"
	    "        }\n"
	    "    },\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/* Dirty bit set with dd (incompatible feature bit 0). */
static void
test_qcow2_dirty(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 67108864,
	    65536);

	(void)state;
	i.qcow2 = &q;
	i.dirty = 1;
	check_one("dirty.qcow2", &i, 200704,
	    "image: dirty.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 64 MiB (67108864 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "cleanly shut down: no\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n",
	    "{\n"
	    "    \"virtual-size\": 67108864,\n"
	    "    \"filename\": \"dirty.qcow2\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"actual-size\": 200704,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"qcow2\",\n"
	    "        \"data\": {\n"
	    "            \"compat\": \"1.1\",\n"
	    "            \"compression-type\": \"zlib\",\n"
	    "            \"lazy-refcounts\": false,\n"
	    "            \"refcount-bits\": 16,\n"
	    "            \"corrupt\": false,\n"
	    "            \"extended-l2\": false\n"
	    "        }\n"
	    "    },\n"
	    "    \"dirty-flag\": true\n"
	    "}\n");
}

/* lazy_refcounts=on, qemu-io killed after a write: dirty. */
static void
test_qcow2_lazy_killed(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 8388608,
	    65536);

	(void)state;
	q.lazy_refcounts = 1;
	i.qcow2 = &q;
	i.dirty = 1;
	check_one("lazy.qcow2", &i, 331776,
	    "image: lazy.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 8 MiB (8388608 bytes)\n"
	    "disk size: 324 KiB\n"
	    "cluster_size: 65536\n"
	    "cleanly shut down: no\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: true\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n",
	    "{\n"
	    "    \"virtual-size\": 8388608,\n"
	    "    \"filename\": \"lazy.qcow2\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"actual-size\": 331776,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"qcow2\",\n"
	    "        \"data\": {\n"
	    "            \"compat\": \"1.1\",\n"
	    "            \"compression-type\": \"zlib\",\n"
	    "            \"lazy-refcounts\": true,\n"
	    "            \"refcount-bits\": 16,\n"
	    "            \"corrupt\": false,\n"
	    "            \"extended-l2\": false\n"
	    "        }\n"
	    "    },\n"
	    "    \"dirty-flag\": true\n"
	    "}\n");
}

/* Corrupt bit set with dd (incompatible feature bit 1). */
static void
test_qcow2_corrupt(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 67108864,
	    65536);

	(void)state;
	q.corrupt = 1;
	i.qcow2 = &q;
	check_one("corrupt.qcow2", &i, 200704,
	    "image: corrupt.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 64 MiB (67108864 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    corrupt: true\n"
	    "    extended l2: false\n",
	    "{\n"
	    "    \"virtual-size\": 67108864,\n"
	    "    \"filename\": \"corrupt.qcow2\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"actual-size\": 200704,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"qcow2\",\n"
	    "        \"data\": {\n"
	    "            \"compat\": \"1.1\",\n"
	    "            \"compression-type\": \"zlib\",\n"
	    "            \"lazy-refcounts\": false,\n"
	    "            \"refcount-bits\": 16,\n"
	    "            \"corrupt\": true,\n"
	    "            \"extended-l2\": false\n"
	    "        }\n"
	    "    },\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/* Two bitmaps (qemu-img bitmap --add, --add -g 512k --disable). */
static void
test_qcow2_bitmaps(void **state)
{
	Instar__Bitmap b0 = INSTAR__BITMAP__INIT, b1 = INSTAR__BITMAP__INIT;
	Instar__Bitmap *bp[2] = { &b0, &b1 };
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 1048576,
	    65536);

	(void)state;
	b0.name.data = (uint8_t *)"b0";
	b0.name.len = 2;
	b0.granularity = 65536;
	b0.auto_enabled = 1;
	b1.name.data = (uint8_t *)"b1";
	b1.name.len = 2;
	b1.granularity = 524288;
	q.n_bitmaps = 2;
	q.bitmaps = bp;
	i.qcow2 = &q;
	check_one("a.qcow2", &i, 225280,
	    "image: a.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 1 MiB (1048576 bytes)\n"
	    "disk size: 220 KiB\n"
	    "cluster_size: 65536\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    bitmaps:\n"
	    "        [0]:\n"
	    "            flags:\n"
	    "                [0]: auto\n"
	    "            name: b0\n"
	    "            granularity: 65536\n"
	    "        [1]:\n"
	    "            flags:\n"
	    "            name: b1\n"
	    "            granularity: 524288\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n",
	    "{\n"
	    "    \"virtual-size\": 1048576,\n"
	    "    \"filename\": \"a.qcow2\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"actual-size\": 225280,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"qcow2\",\n"
	    "        \"data\": {\n"
	    "            \"compat\": \"1.1\",\n"
	    "            \"compression-type\": \"zlib\",\n"
	    "            \"lazy-refcounts\": false,\n"
	    "            \"bitmaps\": [\n"
	    "                {\n"
	    "                    \"flags\": [\n"
	    "                        \"auto\"\n"
	    "                    ],\n"
	    "                    \"name\": \"b0\",\n"
	    "                    \"granularity\": 65536\n"
	    "                },\n"
	    "                {\n"
	    "                    \"flags\": [\n"
	    "                    ],\n"
	    "                    \"name\": \"b1\",\n"
	    "                    \"granularity\": 524288\n"
	    "                }\n"
	    "            ],\n"
	    "            \"refcount-bits\": 16,\n"
	    "            \"corrupt\": false,\n"
	    "            \"extended-l2\": false\n"
	    "        }\n"
	    "    },\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/*
 * In-use bitmaps (qemu-io -c abort after two --add), one added after,
 * and a name JSON must escape.
 */
static void
test_qcow2_bitmaps_in_use(void **state)
{
	Instar__Bitmap b[3] = { INSTAR__BITMAP__INIT, INSTAR__BITMAP__INIT,
	    INSTAR__BITMAP__INIT };
	Instar__Bitmap *bp[3] = { &b[0], &b[1], &b[2] };
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 10485760,
	    65536);

	(void)state;
	b[0].name.data = (uint8_t *)"b0";
	b[0].name.len = 2;
	b[0].granularity = 65536;
	b[0].in_use = b[0].auto_enabled = 1;
	b[1].name.data = (uint8_t *)"q\"x\\\303\251";
	b[1].name.len = 6;
	b[1].granularity = 1048576;
	b[1].in_use = 1;
	b[2].name.data = (uint8_t *)"b2";
	b[2].name.len = 2;
	b[2].granularity = 512;
	b[2].auto_enabled = 1;
	q.n_bitmaps = 3;
	q.bitmaps = bp;
	i.qcow2 = &q;
	check_one("b.qcow2", &i, 225280,
	    "image: b.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 10 MiB (10485760 bytes)\n"
	    "disk size: 220 KiB\n"
	    "cluster_size: 65536\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    bitmaps:\n"
	    "        [0]:\n"
	    "            flags:\n"
	    "                [0]: in-use\n"
	    "                [1]: auto\n"
	    "            name: b0\n"
	    "            granularity: 65536\n"
	    "        [1]:\n"
	    "            flags:\n"
	    "                [0]: in-use\n"
	    "            name: q\"x\\\303\251\n"
	    "            granularity: 1048576\n"
	    "        [2]:\n"
	    "            flags:\n"
	    "                [0]: auto\n"
	    "            name: b2\n"
	    "            granularity: 512\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n",
	    "{\n"
	    "    \"virtual-size\": 10485760,\n"
	    "    \"filename\": \"b.qcow2\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"actual-size\": 225280,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"qcow2\",\n"
	    "        \"data\": {\n"
	    "            \"compat\": \"1.1\",\n"
	    "            \"compression-type\": \"zlib\",\n"
	    "            \"lazy-refcounts\": false,\n"
	    "            \"bitmaps\": [\n"
	    "                {\n"
	    "                    \"flags\": [\n"
	    "                        \"in-use\",\n"
	    "                        \"auto\"\n"
	    "                    ],\n"
	    "                    \"name\": \"b0\",\n"
	    "                    \"granularity\": 65536\n"
	    "                },\n"
	    "                {\n"
	    "                    \"flags\": [\n"
	    "                        \"in-use\"\n"
	    "                    ],\n"
	    "                    \"name\": \"q\\\"x\\\\\\u00E9\",\n"
	    "                    \"granularity\": 1048576\n"
	    "                },\n"
	    "                {\n"
	    "                    \"flags\": [\n"
	    "                        \"auto\"\n"
	    "                    ],\n"
	    "                    \"name\": \"b2\",\n"
	    "                    \"granularity\": 512\n"
	    "                }\n"
	    "            ],\n"
	    "            \"refcount-bits\": 16,\n"
	    "            \"corrupt\": false,\n"
	    "            \"extended-l2\": false\n"
	    "        }\n"
	    "    },\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/* Bitmaps qemu could never have listed are refused, not printed. */
static void
test_bad_bitmaps(void **state)
{
	Instar__Bitmap b0 = INSTAR__BITMAP__INIT, *bp = &b0;
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 1, 0);
	struct info_entry e = { "x", &i, 0, NULL };
	FILE *f = fopen("/dev/null", "w");

	(void)state;
	assert_non_null(f);
	b0.name.data = (uint8_t *)"b0";
	b0.name.len = 2;
	b0.granularity = 65536;
	q.n_bitmaps = 1;
	q.bitmaps = &bp;
	i.qcow2 = &q;
	assert_int_equal(info_print_human(f, &e, 1), 0);
	b0.granularity = 256;
	assert_int_equal(info_print_json(f, &e, 1, false), -1);
	b0.granularity = 65536 * 3;
	assert_int_equal(info_print_json(f, &e, 1, false), -1);
	b0.granularity = 65536;
	/* a NUL inside a name: qemu's C strings end there */
	b0.name.data = (uint8_t *)(uintptr_t)"b\0";
	assert_int_equal(info_print_human(f, &e, 1), -1);
	b0.name.data = (uint8_t *)"b0";
	/* qemu lists no bitmaps for a v2 image */
	q.version = 2;
	assert_int_equal(info_print_human(f, &e, 1), -1);
	q.version = 3;
	bp = NULL;
	assert_int_equal(info_print_json(f, &e, 1, false), -1);
	fclose(f);
}

/* Legacy AES encryption: the "encrypt" block names the format only. */
static void
test_qcow2_encrypted(void **state)
{
	Instar__Qcow2Encryption e = INSTAR__QCOW2_ENCRYPTION__INIT;
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 1048576,
	    65536);

	(void)state;
	q.encrypted = 1;
	e.format = (char *)"aes";
	q.encrypt = &e;
	i.qcow2 = &q;
	check_one("aes.qcow2", &i, 200704,
	    "image: aes.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 1 MiB (1048576 bytes)\n"
	    "disk size: 196 KiB\n"
	    "encrypted: yes\n"
	    "cluster_size: 65536\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    encrypt:\n"
	    "        format: aes\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n",
	    "{\n"
	    "    \"virtual-size\": 1048576,\n"
	    "    \"filename\": \"aes.qcow2\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"actual-size\": 200704,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"qcow2\",\n"
	    "        \"data\": {\n"
	    "            \"compat\": \"1.1\",\n"
	    "            \"compression-type\": \"zlib\",\n"
	    "            \"lazy-refcounts\": false,\n"
	    "            \"refcount-bits\": 16,\n"
	    "            \"encrypt\": {\n"
	    "                \"format\": \"aes\"\n"
	    "            },\n"
	    "            \"corrupt\": false,\n"
	    "            \"extended-l2\": false\n"
	    "        }\n"
	    "    },\n"
	    "    \"encrypted\": true,\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/*
 * LUKS, with every member QCryptoBlockInfoLUKS has: twofish-128 in
 * cbc-essiv:sha256 with sha512 (qemu-img create -o encrypt.format=luks,
 * encrypt.cipher-alg=twofish-128,encrypt.cipher-mode=cbc,
 * encrypt.ivgen-alg=essiv,encrypt.ivgen-hash-alg=sha256,
 * encrypt.hash-alg=sha512).
 */
static void
test_qcow2_luks(void **state)
{
	static const uint64_t key_offsets[8] = { 4096, 69632, 135168, 200704, 266240, 331776, 397312, 462848 };
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 1048576,
	    65536);
	Instar__Qcow2Encryption e = INSTAR__QCOW2_ENCRYPTION__INIT;
	Instar__LuksSlot slot[8], *slots[8];
	static const char uuid[] = "d68d4227-beea-4ab3-87ab-1dabd95c46cc";
	size_t n;

	(void)state;
	for (n = 0; n < 8; n++) {
		instar__luks_slot__init(&slot[n]);
		slot[n].key_offset = key_offsets[n];
		slots[n] = &slot[n];
	}
	slot[0].active = 1;
	slot[0].has_iters = slot[0].has_stripes = 1;
	slot[0].iters = 24094;
	slot[0].stripes = 4000;
	e.format = (char *)"luks";
	e.cipher_alg = (char *)"twofish-128";
	e.cipher_mode = (char *)"cbc";
	e.ivgen_alg = (char *)"essiv";
	e.ivgen_hash_alg = (char *)"sha256";
	e.hash_alg = (char *)"sha512";
	e.has_payload_offset = e.has_master_key_iters = e.has_uuid = 1;
	e.payload_offset = 528384;
	e.master_key_iters = 3002;
	e.uuid.data = (uint8_t *)(uintptr_t)uuid;
	e.uuid.len = sizeof(uuid) - 1;
	e.n_slots = 8;
	e.slots = slots;
	q.encrypted = 1;
	q.encrypt = &e;
	i.qcow2 = &q;
	check_one("t.qcow2", &i, 790528,
	    "image: t.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 1 MiB (1048576 bytes)\n"
	    "disk size: 772 KiB\n"
	    "encrypted: yes\n"
	    "cluster_size: 65536\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    encrypt:\n"
	    "        ivgen alg: essiv\n"
	    "        hash alg: sha512\n"
	    "        cipher alg: twofish-128\n"
	    "        uuid: d68d4227-beea-4ab3-87ab-1dabd95c46cc\n"
	    "        ivgen hash alg: sha256\n"
	    "        format: luks\n"
	    "        cipher mode: cbc\n"
	    "        slots:\n"
	    "            [0]:\n"
	    "                active: true\n"
	    "                iters: 24094\n"
	    "                key offset: 4096\n"
	    "                stripes: 4000\n"
	    "            [1]:\n"
	    "                active: false\n"
	    "                key offset: 69632\n"
	    "            [2]:\n"
	    "                active: false\n"
	    "                key offset: 135168\n"
	    "            [3]:\n"
	    "                active: false\n"
	    "                key offset: 200704\n"
	    "            [4]:\n"
	    "                active: false\n"
	    "                key offset: 266240\n"
	    "            [5]:\n"
	    "                active: false\n"
	    "                key offset: 331776\n"
	    "            [6]:\n"
	    "                active: false\n"
	    "                key offset: 397312\n"
	    "            [7]:\n"
	    "                active: false\n"
	    "                key offset: 462848\n"
	    "        payload offset: 528384\n"
	    "        master key iters: 3002\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n",
	    "{\n"
	    "    \"virtual-size\": 1048576,\n"
	    "    \"filename\": \"t.qcow2\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"actual-size\": 790528,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"qcow2\",\n"
	    "        \"data\": {\n"
	    "            \"compat\": \"1.1\",\n"
	    "            \"compression-type\": \"zlib\",\n"
	    "            \"lazy-refcounts\": false,\n"
	    "            \"refcount-bits\": 16,\n"
	    "            \"encrypt\": {\n"
	    "                \"ivgen-alg\": \"essiv\",\n"
	    "                \"hash-alg\": \"sha512\",\n"
	    "                \"cipher-alg\": \"twofish-128\",\n"
	    "                \"uuid\": \"d68d4227-beea-4ab3-87ab-1dabd95c46cc\",\n"
	    "                \"ivgen-hash-alg\": \"sha256\",\n"
	    "                \"format\": \"luks\",\n"
	    "                \"cipher-mode\": \"cbc\",\n"
	    "                \"slots\": [\n"
	    "                    {\n"
	    "                        \"active\": true,\n"
	    "                        \"iters\": 24094,\n"
	    "                        \"key-offset\": 4096,\n"
	    "                        \"stripes\": 4000\n"
	    "                    },\n"
	    "                    {\n"
	    "                        \"active\": false,\n"
	    "                        \"key-offset\": 69632\n"
	    "                    },\n"
	    "                    {\n"
	    "                        \"active\": false,\n"
	    "                        \"key-offset\": 135168\n"
	    "                    },\n"
	    "                    {\n"
	    "                        \"active\": false,\n"
	    "                        \"key-offset\": 200704\n"
	    "                    },\n"
	    "                    {\n"
	    "                        \"active\": false,\n"
	    "                        \"key-offset\": 266240\n"
	    "                    },\n"
	    "                    {\n"
	    "                        \"active\": false,\n"
	    "                        \"key-offset\": 331776\n"
	    "                    },\n"
	    "                    {\n"
	    "                        \"active\": false,\n"
	    "                        \"key-offset\": 397312\n"
	    "                    },\n"
	    "                    {\n"
	    "                        \"active\": false,\n"
	    "                        \"key-offset\": 462848\n"
	    "                    }\n"
	    "                ],\n"
	    "                \"payload-offset\": 528384,\n"
	    "                \"master-key-iters\": 3002\n"
	    "            },\n"
	    "            \"corrupt\": false,\n"
	    "            \"extended-l2\": false\n"
	    "        }\n"
	    "    },\n"
	    "    \"encrypted\": true,\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/*
 * A backing name with control characters, quotes, backslash, valid
 * UTF-8 (2, 3 and 4 bytes), and invalid sequences: 0xFF, 0xFE, the
 * modified-UTF-8 NUL C0 80, overlong C0 AF, a surrogate, noncharacters
 * U+FDD0 and U+FFFE, a truncated sequence, a stray continuation byte,
 * beyond U+10FFFF, and 5- and 6-byte forms.  Human output encodes the
 * control bytes (strvis.h) and passes the rest as qemu-img does.
 */
static const char esc_name[] = "a\001\037\"\\\b\f\n\r\t\177\303\251"
    "\342\202\254\360\237\230\200\377\376\300\200\300\257\355\240\200"
    "\357\267\220\357\277\276\342\202Z\200\364\220\200\200\370\210\200"
    "\200\200\374\204\200\200\200\200end";

static void
test_qcow2_escaping(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 1048576,
	    65536);

	(void)state;
	i.qcow2 = &q;
	set_backing(&i, esc_name, sizeof(esc_name) - 1, "raw");
	check_one("esc.qcow2", &i, 200704,
	    "image: esc.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 1 MiB (1048576 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "backing file: a\\001\\037\"\\\\010\\014\\n\\r\\t\\177"
	    "\303\251\342\202\254\360\237\230\200\377\376\300\200"
	    "\300\257\355\240\200\357\267\220\357\277\276\342\202Z\200\364"
	    "\220\200\200\370\210\200\200\200\374\204\200\200\200\200end\n"
	    "backing file format: raw\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n",
	    "{\n"
	    "    \"backing-filename-format\": \"raw\",\n"
	    "    \"virtual-size\": 1048576,\n"
	    "    \"filename\": \"esc.qcow2\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"actual-size\": 200704,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"qcow2\",\n"
	    "        \"data\": {\n"
	    "            \"compat\": \"1.1\",\n"
	    "            \"compression-type\": \"zlib\",\n"
	    "            \"lazy-refcounts\": false,\n"
	    "            \"refcount-bits\": 16,\n"
	    "            \"corrupt\": false,\n"
	    "            \"extended-l2\": false\n"
	    "        }\n"
	    "    },\n"
	    "    \"full-backing-filename\": \"a\\u0001\\u001F\\\"\\\\\\b\\f\\"
	    "n\\r\\t\\u007F\\u00E9\\u20AC\\uD83D\\uDE00\\uFFFD\\uFFFD\\u0000"
	    "\\uFFFD\\uFFFD\\uFFFD\\uFFFD\\uFFFDZ\\uFFFD\\uFFFD\\uFFFD\\uFFFD"
	    "end\",\n"
	    "    \"backing-filename\": \"a\\u0001\\u001F\\\"\\\\\\b\\f\\n\\r"
	    "\\t\\u007F\\u00E9\\u20AC\\uD83D\\uDE00\\uFFFD\\uFFFD\\u0000\\uFF"
	    "FD\\uFFFD\\uFFFD\\uFFFD\\uFFFDZ\\uFFFD\\uFFFD\\uFFFD\\uFFFDend\""
	    ",\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

static void
vmdk_info(Instar__VmdkInfo *v, uint32_t cid, uint32_t parent,
    const char *type)
{
	Instar__VmdkInfo init = INSTAR__VMDK_INFO__INIT;

	*v = init;
	v->cid = cid;
	v->parent_cid = parent;
	v->create_type = (char *)(uintptr_t)type;
}

/* qemu-img create -f vmdk base.vmdk 32M */
static void
test_vmdk(void **state)
{
	Instar__VmdkInfo v;
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_VMDK, 33554432,
	    65536);

	(void)state;
	vmdk_info(&v, 922698283, 4294967295u, "monolithicSparse");
	i.vmdk = &v;
	check_one("base.vmdk", &i, 12288,
	    "image: base.vmdk\n"
	    "file format: vmdk\n"
	    "virtual size: 32 MiB (33554432 bytes)\n"
	    "disk size: 12 KiB\n"
	    "cluster_size: 65536\n"
	    "Format specific information:\n"
	    "    cid: 922698283\n"
	    "    parent cid: 4294967295\n"
	    "    create type: monolithicSparse\n"
	    "    extents:\n"
	    "        [0]:\n"
	    "            virtual size: 33554432\n"
	    "            filename: base.vmdk\n"
	    "            cluster size: 65536\n"
	    "            format: \n",
	    "{\n"
	    "    \"virtual-size\": 33554432,\n"
	    "    \"filename\": \"base.vmdk\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"vmdk\",\n"
	    "    \"actual-size\": 12288,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"vmdk\",\n"
	    "        \"data\": {\n"
	    "            \"cid\": 922698283,\n"
	    "            \"parent-cid\": 4294967295,\n"
	    "            \"create-type\": \"monolithicSparse\",\n"
	    "            \"extents\": [\n"
	    "                {\n"
	    "                    \"virtual-size\": 33554432,\n"
	    "                    \"filename\": \"base.vmdk\",\n"
	    "                    \"cluster-size\": 65536,\n"
	    "                    \"format\": \"\"\n"
	    "                }\n"
	    "            ]\n"
	    "        }\n"
	    "    },\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/* qemu-img create -f vmdk -b base.vmdk -F vmdk top.vmdk */
static void
test_vmdk_parent(void **state)
{
	Instar__VmdkInfo v;
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_VMDK, 33554432,
	    65536);

	(void)state;
	vmdk_info(&v, 201223947, 922698283, "monolithicSparse");
	i.vmdk = &v;
	set_backing(&i, "base.vmdk", 9, "vmdk");
	check_one("top.vmdk", &i, 12288,
	    "image: top.vmdk\n"
	    "file format: vmdk\n"
	    "virtual size: 32 MiB (33554432 bytes)\n"
	    "disk size: 12 KiB\n"
	    "cluster_size: 65536\n"
	    "backing file: base.vmdk\n"
	    "backing file format: vmdk\n"
	    "Format specific information:\n"
	    "    cid: 201223947\n"
	    "    parent cid: 922698283\n"
	    "    create type: monolithicSparse\n"
	    "    extents:\n"
	    "        [0]:\n"
	    "            virtual size: 33554432\n"
	    "            filename: top.vmdk\n"
	    "            cluster size: 65536\n"
	    "            format: \n",
	    "{\n"
	    "    \"backing-filename-format\": \"vmdk\",\n"
	    "    \"virtual-size\": 33554432,\n"
	    "    \"filename\": \"top.vmdk\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"vmdk\",\n"
	    "    \"actual-size\": 12288,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"vmdk\",\n"
	    "        \"data\": {\n"
	    "            \"cid\": 201223947,\n"
	    "            \"parent-cid\": 922698283,\n"
	    "            \"create-type\": \"monolithicSparse\",\n"
	    "            \"extents\": [\n"
	    "                {\n"
	    "                    \"virtual-size\": 33554432,\n"
	    "                    \"filename\": \"top.vmdk\",\n"
	    "                    \"cluster-size\": 65536,\n"
	    "                    \"format\": \"\"\n"
	    "                }\n"
	    "            ]\n"
	    "        }\n"
	    "    },\n"
	    "    \"full-backing-filename\": \"base.vmdk\",\n"
	    "    \"backing-filename\": \"base.vmdk\",\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/* qemu-img create -f vmdk -o subformat=streamOptimized so.vmdk 5M */
static void
test_vmdk_stream_optimized(void **state)
{
	Instar__VmdkInfo v;
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_VMDK, 5242880,
	    65536);

	(void)state;
	vmdk_info(&v, 2556739704u, 4294967295u, "streamOptimized");
	v.compressed = 1;
	i.vmdk = &v;
	check_one("so.vmdk", &i, 12288,
	    "image: so.vmdk\n"
	    "file format: vmdk\n"
	    "virtual size: 5 MiB (5242880 bytes)\n"
	    "disk size: 12 KiB\n"
	    "cluster_size: 65536\n"
	    "Format specific information:\n"
	    "    cid: 2556739704\n"
	    "    parent cid: 4294967295\n"
	    "    create type: streamOptimized\n"
	    "    extents:\n"
	    "        [0]:\n"
	    "            compressed: true\n"
	    "            virtual size: 5242880\n"
	    "            filename: so.vmdk\n"
	    "            cluster size: 65536\n"
	    "            format: \n",
	    "{\n"
	    "    \"virtual-size\": 5242880,\n"
	    "    \"filename\": \"so.vmdk\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"vmdk\",\n"
	    "    \"actual-size\": 12288,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"vmdk\",\n"
	    "        \"data\": {\n"
	    "            \"cid\": 2556739704,\n"
	    "            \"parent-cid\": 4294967295,\n"
	    "            \"create-type\": \"streamOptimized\",\n"
	    "            \"extents\": [\n"
	    "                {\n"
	    "                    \"compressed\": true,\n"
	    "                    \"virtual-size\": 5242880,\n"
	    "                    \"filename\": \"so.vmdk\",\n"
	    "                    \"cluster-size\": 65536,\n"
	    "                    \"format\": \"\"\n"
	    "                }\n"
	    "            ]\n"
	    "        }\n"
	    "    },\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/* qemu-img create -f raw raw.img 1536 */
static void
test_raw(void **state)
{
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_RAW, 1536, 0);

	(void)state;
	check_one("raw.img", &i, 4096,
	    "image: raw.img\n"
	    "file format: raw\n"
	    "virtual size: 1.5 KiB (1536 bytes)\n"
	    "disk size: 4 KiB\n",
	    "{\n"
	    "    \"virtual-size\": 1536,\n"
	    "    \"filename\": \"raw.img\",\n"
	    "    \"format\": \"raw\",\n"
	    "    \"actual-size\": 4096,\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/* No st_blocks: qemu prints "unavailable" and omits actual-size. */
static void
test_raw_no_actual_size(void **state)
{
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_RAW, 1536, 0);

	(void)state;
	check_one("raw.img", &i, -1,
	    "image: raw.img\n"
	    "file format: raw\n"
	    "virtual size: 1.5 KiB (1536 bytes)\n"
	    "disk size: unavailable\n",
	    "{\n"
	    "    \"virtual-size\": 1536,\n"
	    "    \"filename\": \"raw.img\",\n"
	    "    \"format\": \"raw\",\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/* bdrv_image_info_dump() when the full backing name is unknown. */
static void
test_backing_unknown_path(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 67108864,
	    65536);
	struct info_entry e = { "top.qcow2", &i, 200704, NULL };
	char *got;

	(void)state;
	i.qcow2 = &q;
	set_backing(&i, "base.qcow2", 10, "qcow2");
	got = render(&e, 1, 0, 0);
	assert_non_null(strstr(got, "\nbacking file: base.qcow2 "
	    "(cannot determine actual path)\nbacking file format: qcow2\n"));
	free(got);
	got = render(&e, 1, 1, 0);
	assert_null(strstr(got, "full-backing-filename"));
	free(got);
}

/* qemu-img info --backing-chain base.qcow2: a one-element array. */
static void
test_chain_single(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 67108864,
	    65536);
	const Instar__ImageInfo *infos[] = { &i };
	const int64_t actual[] = { 200704 };

	(void)state;
	i.qcow2 = &q;
	check_chain("base.qcow2", infos, actual, 1,
	    "image: base.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 64 MiB (67108864 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n",
	    "[\n"
	    "    {\n"
	    "        \"virtual-size\": 67108864,\n"
	    "        \"filename\": \"base.qcow2\",\n"
	    "        \"cluster-size\": 65536,\n"
	    "        \"format\": \"qcow2\",\n"
	    "        \"actual-size\": 200704,\n"
	    "        \"format-specific\": {\n"
	    "            \"type\": \"qcow2\",\n"
	    "            \"data\": {\n"
	    "                \"compat\": \"1.1\",\n"
	    "                \"compression-type\": \"zlib\",\n"
	    "                \"lazy-refcounts\": false,\n"
	    "                \"refcount-bits\": 16,\n"
	    "                \"corrupt\": false,\n"
	    "                \"extended-l2\": false\n"
	    "            }\n"
	    "        },\n"
	    "        \"dirty-flag\": false\n"
	    "    }\n"
	    "]\n");
}

/* sub/t.qcow2 backed by "b.qcow2" in the same subdirectory. */
static void
test_chain_relative(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo t = image(INSTAR__FORMAT__FORMAT_QCOW2, 16777216,
	    65536);
	Instar__ImageInfo b = image(INSTAR__FORMAT__FORMAT_QCOW2, 16777216,
	    65536);
	const Instar__ImageInfo *infos[] = { &t, &b };
	const int64_t actual[] = { 200704, 200704 };

	(void)state;
	t.qcow2 = b.qcow2 = &q;
	set_backing(&t, "b.qcow2", 7, "qcow2");
	check_chain("sub/t.qcow2", infos, actual, 2,
	    "image: sub/t.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 16 MiB (16777216 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "backing file: b.qcow2 (actual path: sub/b.qcow2)\n"
	    "backing file format: qcow2\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n"
	    "\n"
	    "image: sub/b.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 16 MiB (16777216 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n",
	    "[\n"
	    "    {\n"
	    "        \"backing-filename-format\": \"qcow2\",\n"
	    "        \"virtual-size\": 16777216,\n"
	    "        \"filename\": \"sub/t.qcow2\",\n"
	    "        \"cluster-size\": 65536,\n"
	    "        \"format\": \"qcow2\",\n"
	    "        \"actual-size\": 200704,\n"
	    "        \"format-specific\": {\n"
	    "            \"type\": \"qcow2\",\n"
	    "            \"data\": {\n"
	    "                \"compat\": \"1.1\",\n"
	    "                \"compression-type\": \"zlib\",\n"
	    "                \"lazy-refcounts\": false,\n"
	    "                \"refcount-bits\": 16,\n"
	    "                \"corrupt\": false,\n"
	    "                \"extended-l2\": false\n"
	    "            }\n"
	    "        },\n"
	    "        \"full-backing-filename\": \"sub/b.qcow2\",\n"
	    "        \"backing-filename\": \"b.qcow2\",\n"
	    "        \"dirty-flag\": false\n"
	    "    },\n"
	    "    {\n"
	    "        \"virtual-size\": 16777216,\n"
	    "        \"filename\": \"sub/b.qcow2\",\n"
	    "        \"cluster-size\": 65536,\n"
	    "        \"format\": \"qcow2\",\n"
	    "        \"actual-size\": 200704,\n"
	    "        \"format-specific\": {\n"
	    "            \"type\": \"qcow2\",\n"
	    "            \"data\": {\n"
	    "                \"compat\": \"1.1\",\n"
	    "                \"compression-type\": \"zlib\",\n"
	    "                \"lazy-refcounts\": false,\n"
	    "                \"refcount-bits\": 16,\n"
	    "                \"corrupt\": false,\n"
	    "                \"extended-l2\": false\n"
	    "            }\n"
	    "        },\n"
	    "        \"dirty-flag\": false\n"
	    "    }\n"
	    "]\n");
	check_chain("/tmp/qi/sub/t.qcow2", infos, actual, 2,
	    "image: /tmp/qi/sub/t.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 16 MiB (16777216 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "backing file: b.qcow2 (actual path: /tmp/qi/sub/b.qcow2)\n"
	    "backing file format: qcow2\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n"
	    "\n"
	    "image: /tmp/qi/sub/b.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 16 MiB (16777216 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n",
	    "[\n"
	    "    {\n"
	    "        \"backing-filename-format\": \"qcow2\",\n"
	    "        \"virtual-size\": 16777216,\n"
	    "        \"filename\": \"/tmp/qi/sub/t.qcow2\",\n"
	    "        \"cluster-size\": 65536,\n"
	    "        \"format\": \"qcow2\",\n"
	    "        \"actual-size\": 200704,\n"
	    "        \"format-specific\": {\n"
	    "            \"type\": \"qcow2\",\n"
	    "            \"data\": {\n"
	    "                \"compat\": \"1.1\",\n"
	    "                \"compression-type\": \"zlib\",\n"
	    "                \"lazy-refcounts\": false,\n"
	    "                \"refcount-bits\": 16,\n"
	    "                \"corrupt\": false,\n"
	    "                \"extended-l2\": false\n"
	    "            }\n"
	    "        },\n"
	    "        \"full-backing-filename\": \"/tmp/qi/sub/b.qcow2\",\n"
	    "        \"backing-filename\": \"b.qcow2\",\n"
	    "        \"dirty-flag\": false\n"
	    "    },\n"
	    "    {\n"
	    "        \"virtual-size\": 16777216,\n"
	    "        \"filename\": \"/tmp/qi/sub/b.qcow2\",\n"
	    "        \"cluster-size\": 65536,\n"
	    "        \"format\": \"qcow2\",\n"
	    "        \"actual-size\": 200704,\n"
	    "        \"format-specific\": {\n"
	    "            \"type\": \"qcow2\",\n"
	    "            \"data\": {\n"
	    "                \"compat\": \"1.1\",\n"
	    "                \"compression-type\": \"zlib\",\n"
	    "                \"lazy-refcounts\": false,\n"
	    "                \"refcount-bits\": 16,\n"
	    "                \"corrupt\": false,\n"
	    "                \"extended-l2\": false\n"
	    "            }\n"
	    "        },\n"
	    "        \"dirty-flag\": false\n"
	    "    }\n"
	    "]\n");
}

/* chain/overv.qcow2 over chain/a/vb.vmdk: extents named by full path. */
static void
test_chain_qcow2_over_vmdk(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__VmdkInfo v;
	Instar__ImageInfo t = image(INSTAR__FORMAT__FORMAT_QCOW2, 3145728,
	    65536);
	Instar__ImageInfo b = image(INSTAR__FORMAT__FORMAT_VMDK, 3145728,
	    65536);
	const Instar__ImageInfo *infos[] = { &t, &b };
	const int64_t actual[] = { 200704, 12288 };

	(void)state;
	vmdk_info(&v, 868533963, 4294967295u, "monolithicSparse");
	t.qcow2 = &q;
	b.vmdk = &v;
	set_backing(&t, "a/vb.vmdk", 9, "vmdk");
	check_chain("chain/overv.qcow2", infos, actual, 2,
	    "image: chain/overv.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 3 MiB (3145728 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "backing file: a/vb.vmdk (actual path: chain/a/vb.vmdk)\n"
	    "backing file format: vmdk\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n"
	    "\n"
	    "image: chain/a/vb.vmdk\n"
	    "file format: vmdk\n"
	    "virtual size: 3 MiB (3145728 bytes)\n"
	    "disk size: 12 KiB\n"
	    "cluster_size: 65536\n"
	    "Format specific information:\n"
	    "    cid: 868533963\n"
	    "    parent cid: 4294967295\n"
	    "    create type: monolithicSparse\n"
	    "    extents:\n"
	    "        [0]:\n"
	    "            virtual size: 3145728\n"
	    "            filename: chain/a/vb.vmdk\n"
	    "            cluster size: 65536\n"
	    "            format: \n",
	    "[\n"
	    "    {\n"
	    "        \"backing-filename-format\": \"vmdk\",\n"
	    "        \"virtual-size\": 3145728,\n"
	    "        \"filename\": \"chain/overv.qcow2\",\n"
	    "        \"cluster-size\": 65536,\n"
	    "        \"format\": \"qcow2\",\n"
	    "        \"actual-size\": 200704,\n"
	    "        \"format-specific\": {\n"
	    "            \"type\": \"qcow2\",\n"
	    "            \"data\": {\n"
	    "                \"compat\": \"1.1\",\n"
	    "                \"compression-type\": \"zlib\",\n"
	    "                \"lazy-refcounts\": false,\n"
	    "                \"refcount-bits\": 16,\n"
	    "                \"corrupt\": false,\n"
	    "                \"extended-l2\": false\n"
	    "            }\n"
	    "        },\n"
	    "        \"full-backing-filename\": \"chain/a/vb.vmdk\",\n"
	    "        \"backing-filename\": \"a/vb.vmdk\",\n"
	    "        \"dirty-flag\": false\n"
	    "    },\n"
	    "    {\n"
	    "        \"virtual-size\": 3145728,\n"
	    "        \"filename\": \"chain/a/vb.vmdk\",\n"
	    "        \"cluster-size\": 65536,\n"
	    "        \"format\": \"vmdk\",\n"
	    "        \"actual-size\": 12288,\n"
	    "        \"format-specific\": {\n"
	    "            \"type\": \"vmdk\",\n"
	    "            \"data\": {\n"
	    "                \"cid\": 868533963,\n"
	    "                \"parent-cid\": 4294967295,\n"
	    "                \"create-type\": \"monolithicSparse\",\n"
	    "                \"extents\": [\n"
	    "                    {\n"
	    "                        \"virtual-size\": 3145728,\n"
	    "                        \"filename\": \"chain/a/vb.vmdk\",\n"
	    "                        \"cluster-size\": 65536,\n"
	    "                        \"format\": \"\"\n"
	    "                    }\n"
	    "                ]\n"
	    "            }\n"
	    "        },\n"
	    "        \"dirty-flag\": false\n"
	    "    }\n"
	    "]\n");
}

/* chain/q2.qcow2 -> q1.qcow2 -> a/r.raw, three images. */
static void
test_chain_three(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo q2 = image(INSTAR__FORMAT__FORMAT_QCOW2, 3145728,
	    65536);
	Instar__ImageInfo q1 = image(INSTAR__FORMAT__FORMAT_QCOW2, 3145728,
	    65536);
	Instar__ImageInfo r = image(INSTAR__FORMAT__FORMAT_RAW, 3145728, 0);
	const Instar__ImageInfo *infos[] = { &q2, &q1, &r };
	const int64_t actual[] = { 200704, 200704, 4096 };

	(void)state;
	q2.qcow2 = q1.qcow2 = &q;
	set_backing(&q2, "q1.qcow2", 8, "qcow2");
	set_backing(&q1, "a/r.raw", 7, "raw");
	check_chain("chain/q2.qcow2", infos, actual, 3,
	    "image: chain/q2.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 3 MiB (3145728 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "backing file: q1.qcow2 (actual path: chain/q1.qcow2)\n"
	    "backing file format: qcow2\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n"
	    "\n"
	    "image: chain/q1.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 3 MiB (3145728 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "backing file: a/r.raw (actual path: chain/a/r.raw)\n"
	    "backing file format: raw\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n"
	    "\n"
	    "image: chain/a/r.raw\n"
	    "file format: raw\n"
	    "virtual size: 3 MiB (3145728 bytes)\n"
	    "disk size: 4 KiB\n",
	    "[\n"
	    "    {\n"
	    "        \"backing-filename-format\": \"qcow2\",\n"
	    "        \"virtual-size\": 3145728,\n"
	    "        \"filename\": \"chain/q2.qcow2\",\n"
	    "        \"cluster-size\": 65536,\n"
	    "        \"format\": \"qcow2\",\n"
	    "        \"actual-size\": 200704,\n"
	    "        \"format-specific\": {\n"
	    "            \"type\": \"qcow2\",\n"
	    "            \"data\": {\n"
	    "                \"compat\": \"1.1\",\n"
	    "                \"compression-type\": \"zlib\",\n"
	    "                \"lazy-refcounts\": false,\n"
	    "                \"refcount-bits\": 16,\n"
	    "                \"corrupt\": false,\n"
	    "                \"extended-l2\": false\n"
	    "            }\n"
	    "        },\n"
	    "        \"full-backing-filename\": \"chain/q1.qcow2\",\n"
	    "        \"backing-filename\": \"q1.qcow2\",\n"
	    "        \"dirty-flag\": false\n"
	    "    },\n"
	    "    {\n"
	    "        \"backing-filename-format\": \"raw\",\n"
	    "        \"virtual-size\": 3145728,\n"
	    "        \"filename\": \"chain/q1.qcow2\",\n"
	    "        \"cluster-size\": 65536,\n"
	    "        \"format\": \"qcow2\",\n"
	    "        \"actual-size\": 200704,\n"
	    "        \"format-specific\": {\n"
	    "            \"type\": \"qcow2\",\n"
	    "            \"data\": {\n"
	    "                \"compat\": \"1.1\",\n"
	    "                \"compression-type\": \"zlib\",\n"
	    "                \"lazy-refcounts\": false,\n"
	    "                \"refcount-bits\": 16,\n"
	    "                \"corrupt\": false,\n"
	    "                \"extended-l2\": false\n"
	    "            }\n"
	    "        },\n"
	    "        \"full-backing-filename\": \"chain/a/r.raw\",\n"
	    "        \"backing-filename\": \"a/r.raw\",\n"
	    "        \"dirty-flag\": false\n"
	    "    },\n"
	    "    {\n"
	    "        \"virtual-size\": 3145728,\n"
	    "        \"filename\": \"chain/a/r.raw\",\n"
	    "        \"format\": \"raw\",\n"
	    "        \"actual-size\": 4096,\n"
	    "        \"dirty-flag\": false\n"
	    "    }\n"
	    "]\n");
}

static Instar__Snapshot
snapshot(const char *id, const char *name, uint64_t vm_state_size,
    uint32_t date_sec, uint32_t date_nsec, uint64_t vm_clock_nsec)
{
	Instar__Snapshot s = INSTAR__SNAPSHOT__INIT;

	s.id.data = (uint8_t *)(uintptr_t)id;
	s.id.len = strlen(id);
	s.name.data = (uint8_t *)(uintptr_t)name;
	s.name.len = strlen(name);
	s.vm_state_size = vm_state_size;
	s.date_sec = date_sec;
	s.date_nsec = date_nsec;
	s.vm_clock_nsec = vm_clock_nsec;
	return s;
}

static void
set_icount(Instar__Snapshot *s, uint64_t icount)
{
	s->has_icount = 1;
	s->icount = icount;
}

/*
 * Three snapshots as qemu-img 7.2 writes them (icount 0), as a v2 entry
 * without extra data (no icount) and with every field set; TZ=UTC.
 */
static void
test_qcow2_snapshots(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 67108864,
	    65536);
	Instar__Snapshot s[3], *sp[3] = { &s[0], &s[1], &s[2] };

	(void)state;
	s[0] = snapshot("1", "first", 0, 1795415393, 384372000, 0);
	set_icount(&s[0], 0);
	s[1] = snapshot("2", "v2 snap", 4096, 1000000000, 5,
	    3723000000123ull);
	s[2] = snapshot("10", "third", 12345678901ull, 1600000000, 999999999,
	    90061000000000ull);
	set_icount(&s[2], 42);
	i.qcow2 = &q;
	i.n_snapshots = 3;
	i.snapshots = sp;
	check_one("snap.qcow2", &i, 204800,
	    "image: snap.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 64 MiB (67108864 bytes)\n"
	    "disk size: 200 KiB\n"
	    "cluster_size: 65536\n"
	    "Snapshot list:\n"
	    "ID        TAG               VM SIZE                DATE     VM"
	    " CLOCK     ICOUNT\n"
	    "1         first                 0 B 2026-11-23 06:29:53"
	    " 00:00:00.000          0\n"
	    "2         v2 snap             4 KiB 2001-09-09 01:46:40"
	    " 01:02:03.000           \n"
	    "10        third            11.5 GiB 2020-09-13 12:26:40"
	    " 25:01:01.000         42\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n",
	    "{\n"
	    "    \"snapshots\": [\n"
	    "        {\n"
	    "            \"icount\": 0,\n"
	    "            \"vm-clock-nsec\": 0,\n"
	    "            \"name\": \"first\",\n"
	    "            \"date-sec\": 1795415393,\n"
	    "            \"date-nsec\": 384372000,\n"
	    "            \"vm-clock-sec\": 0,\n"
	    "            \"id\": \"1\",\n"
	    "            \"vm-state-size\": 0\n"
	    "        },\n"
	    "        {\n"
	    "            \"vm-clock-nsec\": 123,\n"
	    "            \"name\": \"v2 snap\",\n"
	    "            \"date-sec\": 1000000000,\n"
	    "            \"date-nsec\": 5,\n"
	    "            \"vm-clock-sec\": 3723,\n"
	    "            \"id\": \"2\",\n"
	    "            \"vm-state-size\": 4096\n"
	    "        },\n"
	    "        {\n"
	    "            \"icount\": 42,\n"
	    "            \"vm-clock-nsec\": 0,\n"
	    "            \"name\": \"third\",\n"
	    "            \"date-sec\": 1600000000,\n"
	    "            \"date-nsec\": 999999999,\n"
	    "            \"vm-clock-sec\": 90061,\n"
	    "            \"id\": \"10\",\n"
	    "            \"vm-state-size\": 12345678901\n"
	    "        }\n"
	    "    ],\n"
	    "    \"virtual-size\": 67108864,\n"
	    "    \"filename\": \"snap.qcow2\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"actual-size\": 204800,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"qcow2\",\n"
	    "        \"data\": {\n"
	    "            \"compat\": \"1.1\",\n"
	    "            \"compression-type\": \"zlib\",\n"
	    "            \"lazy-refcounts\": false,\n"
	    "            \"refcount-bits\": 16,\n"
	    "            \"corrupt\": false,\n"
	    "            \"extended-l2\": false\n"
	    "        }\n"
	    "    },\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/* No line of out begins with a forged "image:" naming the victim. */
static void
assert_no_forged_line(const char *out)
{
	const char *line;

	for (line = out; line != NULL && *line != '\0';
	    line = strchr(line, '\n') != NULL ? strchr(line, '\n') + 1 : NULL)
		assert_false(strncmp(line, "image: /etc/passwd", 18) == 0);
}

/*
 * Every name that comes from an image, in every place human output
 * shows one (backing file, its actual path and format, the next image
 * of a chain, a snapshot's ID and tag, a VMDK create type), trying to
 * forge an "image:" line: each prints encoded on its own line.
 */
static void
test_human_forged_lines(void **state)
{
	static const char forged[] = "x\nimage: /etc/passwd";
	Instar__Qcow2Info q = qcow2_v3();
	Instar__VmdkInfo v;
	Instar__ImageInfo top = image(INSTAR__FORMAT__FORMAT_QCOW2, 1048576,
	    65536);
	Instar__ImageInfo below = image(INSTAR__FORMAT__FORMAT_VMDK,
	    1048576, 65536);
	Instar__Snapshot sn, *snp = &sn;
	struct info_entry e[2];
	char *out;

	(void)state;
	top.qcow2 = &q;
	set_backing(&top, forged, sizeof(forged) - 1,
	    "qcow2\nimage: /etc/passwd");
	sn = snapshot("1\nimage: /etc/passwd", forged, 0, 0, 0, 0);
	top.n_snapshots = 1;
	top.snapshots = &snp;
	vmdk_info(&v, 1, 4294967295u, "mono\nimage: /etc/passwd");
	below.vmdk = &v;
	e[0] = (struct info_entry){ "top.qcow2", &top, 4096,
	    "dir/x\nimage: /etc/passwd" };
	e[1] = (struct info_entry){ e[0].full_backing_filename, &below,
	    4096, NULL };
	out = render(e, 2, 0, 1);
	assert_no_forged_line(out);
	assert_non_null(strstr(out, "\nbacking file: x\\nimage: /etc/passwd"
	    " (actual path: dir/x\\nimage: /etc/passwd)\n"));
	assert_non_null(strstr(out,
	    "\nbacking file format: qcow2\\nimage: /etc/passwd\n"));
	assert_non_null(strstr(out, "\nimage: dir/x\\nimage: /etc/passwd\n"));
	assert_non_null(strstr(out, "\n1\\nimage: /etc/passwd x\\nimage: "));
	assert_non_null(strstr(out,
	    "\n    create type: mono\\nimage: /etc/passwd\n"));
	free(out);
	/* JSON carries the exact bytes, as qemu-img's does. */
	out = render(e, 2, 1, 1);
	assert_non_null(strstr(out,
	    "\"backing-filename\": \"x\\nimage: /etc/passwd\""));
	free(out);
}

/*
 * Extremes: qemu's int64 fields turn huge values negative in both
 * forms; a date in 2106; ids and names that overflow their columns or
 * hold quotes, control characters (encoded in human output, strvis.h)
 * and bytes that are not UTF-8 (printed as they are).
 */
static void
test_qcow2_snapshot_extremes(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 1073741824,
	    65536);
	Instar__Snapshot s[4], *sp[4] = { &s[0], &s[1], &s[2], &s[3] };

	(void)state;
	s[0] = snapshot("123456789", "nnnnnnnnnnnnnnnnn", UINT64_MAX,
	    UINT32_MAX, UINT32_MAX, UINT64_MAX);
	set_icount(&s[0], 1ull << 63);
	s[1] = snapshot("1234567890", "q\"b\\s\t\001", 1000, 1u << 31, 0, 1);
	set_icount(&s[1], INT64_MAX);
	s[2] = snapshot("caf\303\251", "\342\202\254 \377\376",
	    1099511627776ull, 0, 0, 0);
	s[3] = snapshot("", "", 1023, 0, 0, 0);
	i.qcow2 = &q;
	i.n_snapshots = 4;
	i.snapshots = sp;
	check_one("edge.qcow2", &i, 204800,
	    "image: edge.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 1 GiB (1073741824 bytes)\n"
	    "disk size: 200 KiB\n"
	    "cluster_size: 65536\n"
	    "Snapshot list:\n"
	    "ID        TAG               VM SIZE                DATE     VM"
	    " CLOCK     ICOUNT\n"
	    "123456789 nnnnnnnnnnnnnnnnn   16 EiB 2106-02-07"
	    " 06:28:155124095:34:33.709-9223372036854775808\n"
	    "1234567890 q\"b\\s\\t\\001      0.977 KiB 2038-01-19 03:14:08"
	    " 00:00:00.0009223372036854775807\n"
	    "caf\303\251     \342\202\254 \377\376              1 TiB"
	    " 1970-01-01 00:00:00 00:00:00.000           \n"
	    "                           0.999 KiB 1970-01-01 00:00:00"
	    " 00:00:00.000           \n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n",
	    "{\n"
	    "    \"snapshots\": [\n"
	    "        {\n"
	    "            \"icount\": -9223372036854775808,\n"
	    "            \"vm-clock-nsec\": 709551615,\n"
	    "            \"name\": \"nnnnnnnnnnnnnnnnn\",\n"
	    "            \"date-sec\": 4294967295,\n"
	    "            \"date-nsec\": 4294967295,\n"
	    "            \"vm-clock-sec\": 18446744073,\n"
	    "            \"id\": \"123456789\",\n"
	    "            \"vm-state-size\": -1\n"
	    "        },\n"
	    "        {\n"
	    "            \"icount\": 9223372036854775807,\n"
	    "            \"vm-clock-nsec\": 1,\n"
	    "            \"name\": \"q\\\"b\\\\s\\t\\u0001\",\n"
	    "            \"date-sec\": 2147483648,\n"
	    "            \"date-nsec\": 0,\n"
	    "            \"vm-clock-sec\": 0,\n"
	    "            \"id\": \"1234567890\",\n"
	    "            \"vm-state-size\": 1000\n"
	    "        },\n"
	    "        {\n"
	    "            \"vm-clock-nsec\": 0,\n"
	    "            \"name\": \"\\u20AC \\uFFFD\\uFFFD\",\n"
	    "            \"date-sec\": 0,\n"
	    "            \"date-nsec\": 0,\n"
	    "            \"vm-clock-sec\": 0,\n"
	    "            \"id\": \"caf\\u00E9\",\n"
	    "            \"vm-state-size\": 1099511627776\n"
	    "        },\n"
	    "        {\n"
	    "            \"vm-clock-nsec\": 0,\n"
	    "            \"name\": \"\",\n"
	    "            \"date-sec\": 0,\n"
	    "            \"date-nsec\": 0,\n"
	    "            \"vm-clock-sec\": 0,\n"
	    "            \"id\": \"\",\n"
	    "            \"vm-state-size\": 1023\n"
	    "        }\n"
	    "    ],\n"
	    "    \"virtual-size\": 1073741824,\n"
	    "    \"filename\": \"edge.qcow2\",\n"
	    "    \"cluster-size\": 65536,\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"actual-size\": 204800,\n"
	    "    \"format-specific\": {\n"
	    "        \"type\": \"qcow2\",\n"
	    "        \"data\": {\n"
	    "            \"compat\": \"1.1\",\n"
	    "            \"compression-type\": \"zlib\",\n"
	    "            \"lazy-refcounts\": false,\n"
	    "            \"refcount-bits\": 16,\n"
	    "            \"corrupt\": false,\n"
	    "            \"extended-l2\": false\n"
	    "        }\n"
	    "    },\n"
	    "    \"dirty-flag\": false\n"
	    "}\n");
}

/* --backing-chain with the snapshots in the middle image. */
static void
test_chain_snapshots_in_middle(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo top = image(INSTAR__FORMAT__FORMAT_QCOW2, 67108864,
	    65536);
	Instar__ImageInfo mid = image(INSTAR__FORMAT__FORMAT_QCOW2, 67108864,
	    65536);
	Instar__ImageInfo base = image(INSTAR__FORMAT__FORMAT_QCOW2,
	    67108864, 65536);
	const Instar__ImageInfo *infos[] = { &top, &mid, &base };
	const int64_t actual[] = { 200704, 204800, 200704 };
	Instar__Snapshot s[2], *sp[2] = { &s[0], &s[1] };

	(void)state;
	s[0] = snapshot("1", "before", 0, 1700000000, 1, 2000000000);
	set_icount(&s[0], 0);
	s[1] = snapshot("2", "after", 1048576, 1700000100, 2, 4000000000);
	set_icount(&s[1], 7);
	top.qcow2 = mid.qcow2 = base.qcow2 = &q;
	set_backing(&top, "mid.qcow2", 9, "qcow2");
	set_backing(&mid, "base.qcow2", 10, "qcow2");
	mid.n_snapshots = 2;
	mid.snapshots = sp;
	check_chain("top.qcow2", infos, actual, 3,
	    "image: top.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 64 MiB (67108864 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "backing file: mid.qcow2\n"
	    "backing file format: qcow2\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n"
	    "\n"
	    "image: mid.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 64 MiB (67108864 bytes)\n"
	    "disk size: 200 KiB\n"
	    "cluster_size: 65536\n"
	    "backing file: base.qcow2\n"
	    "backing file format: qcow2\n"
	    "Snapshot list:\n"
	    "ID        TAG               VM SIZE                DATE     VM"
	    " CLOCK     ICOUNT\n"
	    "1         before                0 B 2023-11-14 22:13:20"
	    " 00:00:02.000          0\n"
	    "2         after               1 MiB 2023-11-14 22:15:00"
	    " 00:00:04.000          7\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n"
	    "\n"
	    "image: base.qcow2\n"
	    "file format: qcow2\n"
	    "virtual size: 64 MiB (67108864 bytes)\n"
	    "disk size: 196 KiB\n"
	    "cluster_size: 65536\n"
	    "Format specific information:\n"
	    "    compat: 1.1\n"
	    "    compression type: zlib\n"
	    "    lazy refcounts: false\n"
	    "    refcount bits: 16\n"
	    "    corrupt: false\n"
	    "    extended l2: false\n",
	    "[\n"
	    "    {\n"
	    "        \"backing-filename-format\": \"qcow2\",\n"
	    "        \"virtual-size\": 67108864,\n"
	    "        \"filename\": \"top.qcow2\",\n"
	    "        \"cluster-size\": 65536,\n"
	    "        \"format\": \"qcow2\",\n"
	    "        \"actual-size\": 200704,\n"
	    "        \"format-specific\": {\n"
	    "            \"type\": \"qcow2\",\n"
	    "            \"data\": {\n"
	    "                \"compat\": \"1.1\",\n"
	    "                \"compression-type\": \"zlib\",\n"
	    "                \"lazy-refcounts\": false,\n"
	    "                \"refcount-bits\": 16,\n"
	    "                \"corrupt\": false,\n"
	    "                \"extended-l2\": false\n"
	    "            }\n"
	    "        },\n"
	    "        \"full-backing-filename\": \"mid.qcow2\",\n"
	    "        \"backing-filename\": \"mid.qcow2\",\n"
	    "        \"dirty-flag\": false\n"
	    "    },\n"
	    "    {\n"
	    "        \"backing-filename-format\": \"qcow2\",\n"
	    "        \"snapshots\": [\n"
	    "            {\n"
	    "                \"icount\": 0,\n"
	    "                \"vm-clock-nsec\": 0,\n"
	    "                \"name\": \"before\",\n"
	    "                \"date-sec\": 1700000000,\n"
	    "                \"date-nsec\": 1,\n"
	    "                \"vm-clock-sec\": 2,\n"
	    "                \"id\": \"1\",\n"
	    "                \"vm-state-size\": 0\n"
	    "            },\n"
	    "            {\n"
	    "                \"icount\": 7,\n"
	    "                \"vm-clock-nsec\": 0,\n"
	    "                \"name\": \"after\",\n"
	    "                \"date-sec\": 1700000100,\n"
	    "                \"date-nsec\": 2,\n"
	    "                \"vm-clock-sec\": 4,\n"
	    "                \"id\": \"2\",\n"
	    "                \"vm-state-size\": 1048576\n"
	    "            }\n"
	    "        ],\n"
	    "        \"virtual-size\": 67108864,\n"
	    "        \"filename\": \"mid.qcow2\",\n"
	    "        \"cluster-size\": 65536,\n"
	    "        \"format\": \"qcow2\",\n"
	    "        \"actual-size\": 204800,\n"
	    "        \"format-specific\": {\n"
	    "            \"type\": \"qcow2\",\n"
	    "            \"data\": {\n"
	    "                \"compat\": \"1.1\",\n"
	    "                \"compression-type\": \"zlib\",\n"
	    "                \"lazy-refcounts\": false,\n"
	    "                \"refcount-bits\": 16,\n"
	    "                \"corrupt\": false,\n"
	    "                \"extended-l2\": false\n"
	    "            }\n"
	    "        },\n"
	    "        \"full-backing-filename\": \"base.qcow2\",\n"
	    "        \"backing-filename\": \"base.qcow2\",\n"
	    "        \"dirty-flag\": false\n"
	    "    },\n"
	    "    {\n"
	    "        \"virtual-size\": 67108864,\n"
	    "        \"filename\": \"base.qcow2\",\n"
	    "        \"cluster-size\": 65536,\n"
	    "        \"format\": \"qcow2\",\n"
	    "        \"actual-size\": 200704,\n"
	    "        \"format-specific\": {\n"
	    "            \"type\": \"qcow2\",\n"
	    "            \"data\": {\n"
	    "                \"compat\": \"1.1\",\n"
	    "                \"compression-type\": \"zlib\",\n"
	    "                \"lazy-refcounts\": false,\n"
	    "                \"refcount-bits\": 16,\n"
	    "                \"corrupt\": false,\n"
	    "                \"extended-l2\": false\n"
	    "            }\n"
	    "        },\n"
	    "        \"dirty-flag\": false\n"
	    "    }\n"
	    "]\n");
}

/* Malformed input is refused, not rendered. */
static void
test_bad_input(void **state)
{
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 1, 0);
	struct info_entry e = { "x", &i, 0, NULL };
	FILE *f = fopen("/dev/null", "w");

	(void)state;
	assert_non_null(f);
	/* qcow2 without its qcow2 facts */
	assert_int_equal(info_print_human(f, &e, 1), -1);
	assert_int_equal(info_print_json(f, &e, 1, false), -1);
	/* format never reported */
	i.format = INSTAR__FORMAT__FORMAT_PROBE;
	assert_int_equal(info_print_human(f, &e, 1), -1);
	/* beyond qemu's int64 sizes */
	i.format = INSTAR__FORMAT__FORMAT_RAW;
	i.virtual_size = (uint64_t)INT64_MAX + 1;
	assert_int_equal(info_print_json(f, &e, 1, true), -1);
	fclose(f);
}

/* Snapshots qemu could never have listed are refused too. */
static void
test_bad_snapshots(void **state)
{
	Instar__Qcow2Info q = qcow2_v3();
	Instar__ImageInfo i = image(INSTAR__FORMAT__FORMAT_QCOW2, 1, 0);
	struct info_entry e = { "x", &i, 0, NULL };
	Instar__Snapshot s = snapshot("1", "ok", 0, 0, 0, 0), *sp = &s;
	char id[200];
	FILE *f = fopen("/dev/null", "w");

	(void)state;
	assert_non_null(f);
	i.qcow2 = &q;
	i.n_snapshots = 1;
	i.snapshots = &sp;
	assert_int_equal(info_print_human(f, &e, 1), 0);
	/* a NUL inside a name: qemu's C strings end there */
	s.name.data = (uint8_t *)(uintptr_t)"o\0k";
	s.name.len = 3;
	assert_int_equal(info_print_human(f, &e, 1), -1);
	assert_int_equal(info_print_json(f, &e, 1, false), -1);
	/* longer than QEMUSnapshotInfo's id_str */
	s.name.len = 1;
	memset(id, '1', sizeof(id));
	s.id.data = (uint8_t *)id;
	s.id.len = 128;
	assert_int_equal(info_print_json(f, &e, 1, false), -1);
	s.id.len = 127;
	assert_int_equal(info_print_json(f, &e, 1, false), 0);
	/* a missing entry, and snapshots on a raw image */
	sp = NULL;
	assert_int_equal(info_print_human(f, &e, 1), -1);
	sp = &s;
	i.format = INSTAR__FORMAT__FORMAT_RAW;
	assert_int_equal(info_print_human(f, &e, 1), -1);
	fclose(f);
}

struct path_case {
	const char *image, *backing, *want;
};

/* Values from qemu-img 7.2 "full-backing-filename" where marked (*). */
static void
test_path_backing_full(void **state)
{
	static const struct path_case cases[] = {
		{ "top.qcow2", "base.qcow2", "base.qcow2" },		/* * */
		{ "sub/t.qcow2", "b.qcow2", "sub/b.qcow2" },		/* * */
		{ "/tmp/qi/sub/t.qcow2", "b.qcow2", "/tmp/qi/sub/b.qcow2" }, /* * */
		{ "chain/a/b/dd.qcow2", "../r.raw", "chain/a/b/../r.raw" }, /* * */
		{ "chain/dot.qcow2", "./a/r.raw", "chain/./a/r.raw" },	/* * */
		{ "./sub//t.qcow2", "b.qcow2", "./sub//b.qcow2" },	/* * */
		{ "sub/abs.qcow2", "/tmp/qi/base.qcow2",
		    "/tmp/qi/base.qcow2" },				/* * */
		{ "proto.qcow2", "foo:bar/baz", "foo:bar/baz" },	/* * */
		{ "sub/nbd.qcow2", "nbd:localhost:10809",
		    "nbd:localhost:10809" },
		{ "/", "x", "/x" },
		{ "dir/", "x", "dir/x" },
		/* a protocol prefix on the image keeps "proto:" */
		{ "file:img.qcow2", "b", "file:b" },
		{ "file:d/img.qcow2", "b", "file:d/b" },
		{ "a/b:c", "x", "a/x" },
		{ "x", "a/b:c", "a/b:c" },
	};
	size_t i;
	char *r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = path_backing_full(cases[i].image, cases[i].backing);
		assert_non_null(r);
		assert_string_equal(r, cases[i].want);
		free(r);
	}
}

struct size_case {
	uint64_t val;
	const char *want;
};

/*
 * Values marked (*) were seen in qemu-img info's "virtual size" (raw
 * files and null-co images); qemu rounds those to 512 bytes, so the
 * others are qemu's size_to_str() formula evaluated by hand.
 */
static void
test_size_to_str(void **state)
{
	static const struct size_case cases[] = {
		{ 0, "0 B" },					/* * */
		{ 512, "512 B" },				/* * */
		{ 1000, "0.977 KiB" },
		{ 1023, "0.999 KiB" },
		{ 1024, "1 KiB" },				/* * */
		{ 1536, "1.5 KiB" },				/* * */
		{ 200704, "196 KiB" },				/* * */
		{ 266240, "260 KiB" },				/* * */
		{ 1023488, "1e+03 KiB" },			/* * */
		{ 1048064, "1 MiB" },				/* * */
		{ 1048575, "1 MiB" },
		{ 1048576, "1 MiB" },				/* * */
		{ 1073741824, "1 GiB" },			/* * */
		{ 1099511627776ULL, "1 TiB" },			/* * */
		{ 17592186044416ULL, "16 TiB" },		/* * */
		{ 1125899906842624ULL, "1 PiB" },		/* * */
		{ 1151795604700004352ULL, "0.999 EiB" },	/* * */
		{ 1152921504606846976ULL, "1 EiB" },		/* * */
		{ UINT64_MAX, "16 EiB" },
	};
	char buf[SIZE_STR_MAX], tiny[4];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(size_to_str(buf, sizeof(buf), cases[i].val),
		    0);
		assert_string_equal(buf, cases[i].want);
	}
	/* never truncates silently */
	assert_int_equal(size_to_str(tiny, sizeof(tiny), 1536), -1);
}

/*
 * qemu_strtosz() as qemu-img 7.2 applies it to -r: values checked
 * against qemu-img commit's acceptance (regress/commit-options.sh) and
 * worked out by hand from util/cutils.c do_strtosz().
 */
static void
test_size_parse(void **state)
{
	static const struct {
		const char *in;
		int ret;
		uint64_t val;
		bool hex_suffix;
	} cases[] = {
		{ "0", 0, 0, false },
		{ "1", 0, 1, false },
		{ "1b", 0, 1, false },
		{ "1B", 0, 1, false },
		{ "1k", 0, 1024, false },
		{ "1K", 0, 1024, false },
		{ "1M", 0, 1048576, false },
		{ "1m", 0, 1048576, false },
		{ "1.5M", 0, 1572864, false },
		{ "0.5k", 0, 512, false },
		{ "1.k", 0, 1024, false },
		{ "1.", 0, 1, false },
		{ "0.9999999999k", 0, 1024, false },
		{ "1.0000001k", 0, 1024, false },
		{ "0x10", 0, 16, false },
		{ "0X10", 0, 16, false },
		{ "0x10k", 0, 16384, true },
		{ " 1", 0, 1, false },
		{ "7E", 0, 7ULL << 60, false },
		{ "15E", 0, 15ULL << 60, false },
		{ "18446744073709551615", 0, UINT64_MAX, false },
		{ "", -EINVAL, 0, false },
		{ "abc", -EINVAL, 0, false },
		{ "-1", -EINVAL, 0, false },
		{ "-0", -EINVAL, 0, false },
		{ "1x", -EINVAL, 0, false },
		{ "1.5", -EINVAL, 0, false },
		{ "1.5B", -EINVAL, 0, false },
		{ "1e3", -EINVAL, 0, false },
		{ "1.5e3", -EINVAL, 0, false },
		{ "1.5e3k", -EINVAL, 0, false },
		{ "0x1.8", -EINVAL, 0, false },
		{ "1k ", -EINVAL, 0, false },
		{ "1kk", -EINVAL, 0, false },
		{ "16E", -ERANGE, 0, false },
		{ "18446744073709551616", -ERANGE, 0, false },
		{ "99999999999999999999x", -EINVAL, 0, false },
		{ "0x1000000000000000k", -ERANGE, 0, true },
	};
	uint64_t val;
	bool hex_suffix;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		val = 12345;
		r = size_parse(cases[i].in, &val, &hex_suffix);
		if (r != cases[i].ret || hex_suffix != cases[i].hex_suffix ||
		    (r == 0 && val != cases[i].val))
			fail_msg("\"%s\": got %d, %llu, %d", cases[i].in, r,
			    (unsigned long long)val, hex_suffix);
	}
}

static char *
json_to_str(const struct json_value *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(json_print_pretty(f, v), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void
check_escape(const char *in, size_t len, const char *want)
{
	struct json_value *s = json_string_new(in, len);
	char *got;

	assert_non_null(s);
	got = json_to_str(s);
	assert_string_equal(got, want);
	free(got);
	json_free(s);
}

/* qemu's JSON writer: qjson escaping of control, quote, non-ASCII. */
static void
test_json_escaping(void **state)
{
	(void)state;
	check_escape("plain", 5, "\"plain\"");
	check_escape("\"\\/", 3, "\"\\\"\\\\/\"");
	check_escape("\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"");
	check_escape("\001\037\177", 3, "\"\\u0001\\u001F\\u007F\"");
	check_escape("\303\251\342\202\254", 5, "\"\\u00E9\\u20AC\"");
	check_escape("\360\237\230\200", 4, "\"\\uD83D\\uDE00\"");
	/* modified UTF-8 NUL; overlong; lone bytes */
	check_escape("\300\200", 2, "\"\\u0000\"");
	check_escape("\300\257", 2, "\"\\uFFFD\"");
	check_escape("\377\376\200", 3, "\"\\uFFFD\\uFFFD\\uFFFD\"");
	/* truncated sequence: one replacement, next byte kept */
	check_escape("\342\202Z", 3, "\"\\uFFFDZ\"");
	/* truncated at the end of the string */
	check_escape("x\342\202", 3, "\"x\\uFFFD\"");
	/* surrogate, noncharacters, beyond U+10FFFF */
	check_escape("\355\240\200\357\267\220\357\277\276\364\220\200\200",
	    13, "\"\\uFFFD\\uFFFD\\uFFFD\\uFFFD\"");
	/* a NUL ends the string, as it does qemu's C strings */
	check_escape("ab\0cd", 5, "\"ab\"");
}

/* Empty containers and key order within one QDict bucket. */
static void
test_json_layout(void **state)
{
	struct json_value *o, *a;
	char *got;

	(void)state;
	/* "aaa", "aab" and "aac" share a bucket: newest first */
	assert_int_equal(json_qdict_bucket("aaa"), json_qdict_bucket("aab"));
	assert_int_equal(json_qdict_bucket("aaa"), json_qdict_bucket("aac"));
	assert_int_equal(json_qdict_bucket("compat"), 16);
	assert_int_equal(json_qdict_bucket("filename"), 313);
	/* buckets: compat 16 < x 134 < aa? 147 < filename 313 */
	assert_int_equal(json_qdict_bucket("x"), 134);
	assert_int_equal(json_qdict_bucket("aaa"), 147);
	assert_non_null(o = json_object_new());
	assert_int_equal(json_object_put(o, "aaa", json_int_new(1)), 0);
	assert_int_equal(json_object_put(o, "aab", json_int_new(2)), 0);
	assert_int_equal(json_object_put(o, "aac", json_int_new(3)), 0);
	assert_int_equal(json_object_put(o, "filename", json_object_new()),
	    0);
	assert_int_equal(json_object_put(o, "compat", json_array_new()), 0);
	/* replacing keeps the position */
	assert_int_equal(json_object_put(o, "aab", json_int_new(-2)), 0);
	assert_non_null(a = json_array_new());
	assert_int_equal(json_array_append(a, json_bool_new(true)), 0);
	assert_int_equal(json_array_append(a, json_uint_new(UINT64_MAX)), 0);
	assert_int_equal(json_object_put(o, "x", a), 0);
	/* a NULL value is refused (and a put never leaks) */
	assert_int_equal(json_object_put(o, "y", NULL), -1);
	got = json_to_str(o);
	assert_string_equal(got, "{\n"
	    "    \"compat\": [\n"
	    "    ],\n"
	    "    \"x\": [\n"
	    "        true,\n"
	    "        18446744073709551615\n"
	    "    ],\n"
	    "    \"aac\": 3,\n"
	    "    \"aab\": -2,\n"
	    "    \"aaa\": 1,\n"
	    "    \"filename\": {\n"
	    "    }\n"
	    "}");
	free(got);
	json_free(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qcow2_v3),
		cmocka_unit_test(test_qcow2_v2),
		cmocka_unit_test(test_qcow2_backing),
		cmocka_unit_test(test_qcow2_backing_no_format),
		cmocka_unit_test(test_qcow2_features),
		cmocka_unit_test(test_qcow2_data_file_raw),
		cmocka_unit_test(test_qcow2_data_file_unnamed),
		cmocka_unit_test(test_qcow2_data_file_without_bit),
		cmocka_unit_test(test_qcow2_data_file),
		cmocka_unit_test(test_qcow2_dirty),
		cmocka_unit_test(test_qcow2_lazy_killed),
		cmocka_unit_test(test_qcow2_corrupt),
		cmocka_unit_test(test_qcow2_encrypted),
		cmocka_unit_test(test_qcow2_bitmaps),
		cmocka_unit_test(test_qcow2_bitmaps_in_use),
		cmocka_unit_test(test_bad_bitmaps),
		cmocka_unit_test(test_qcow2_luks),
		cmocka_unit_test(test_qcow2_escaping),
		cmocka_unit_test(test_vmdk),
		cmocka_unit_test(test_vmdk_parent),
		cmocka_unit_test(test_human_forged_lines),
		cmocka_unit_test(test_vmdk_stream_optimized),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_raw_no_actual_size),
		cmocka_unit_test(test_backing_unknown_path),
		cmocka_unit_test(test_chain_single),
		cmocka_unit_test(test_chain_relative),
		cmocka_unit_test(test_chain_qcow2_over_vmdk),
		cmocka_unit_test(test_chain_three),
		cmocka_unit_test(test_qcow2_snapshots),
		cmocka_unit_test(test_qcow2_snapshot_extremes),
		cmocka_unit_test(test_chain_snapshots_in_middle),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_bad_snapshots),
		cmocka_unit_test(test_path_backing_full),
		cmocka_unit_test(test_size_to_str),
		cmocka_unit_test(test_size_parse),
		cmocka_unit_test(test_json_escaping),
		cmocka_unit_test(test_json_layout),
	};

	/* Snapshot dates are local time, as in qemu-img; pin the zone. */
	if (setenv("TZ", "UTC", 1) != 0)
		return 1;
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
