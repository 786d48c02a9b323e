/*
 * Tests for the monitor's "check" rendering.  Every expected text below
 * was captured from Debian 12's qemu-img 7.2.22 ("qemu-img check", with
 * --output=json and -r) on images damaged as described; the CheckDone
 * built here carries the counts qemu found in them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "check_print.h"
#include "json.h"

struct counts {
	uint64_t corruptions, leaks, check_errors, corruptions_fixed,
	    leaks_fixed, end, total, allocated, fragmented, compressed;
};

static Instar__CheckDone
done(struct counts c)
{
	Instar__CheckDone d = INSTAR__CHECK_DONE__INIT;

	d.has_checks = 1;
	d.corruptions = c.corruptions;
	d.leaks = c.leaks;
	d.check_errors = c.check_errors;
	d.corruptions_fixed = c.corruptions_fixed;
	d.leaks_fixed = c.leaks_fixed;
	d.image_end_offset = c.end;
	d.total_clusters = c.total;
	d.allocated_clusters = c.allocated;
	d.fragmented_clusters = c.fragmented;
	d.compressed_clusters = c.compressed;
	return d;
}

/* Render with f into memory and compare with want. */
static void
assert_human(const Instar__CheckDone *d, bool repaired, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (repaired)
		check_report_repaired(f, d);
	check_report_human(f, d);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf, want);
	free(buf);
}

static void
assert_json(const char *filename, const Instar__CheckDone *d,
    const char *want)
{
	struct json_value *v = check_report_json(filename, "qcow2", d);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(v);
	assert_non_null(f);
	assert_int_equal(json_print_pretty(f, v), 0);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf, want);
	free(buf);
	json_free(v);
}

/* qemu-img create -f qcow2 a.qcow2 64M; 1 MiB written at 0. */
static void
test_clean(void **state)
{
	Instar__CheckDone d = done((struct counts){ .end = 1376256,
	    .total = 1024, .allocated = 16 });

	(void)state;
	assert_human(&d, false,
	    "No errors were found on the image.\n"
	    "16/1024 = 1.56% allocated, 0.00% fragmented, 0.00% compressed "
	    "clusters\n"
	    "Image end offset: 1376256\n");
	assert_json("a.qcow2", &d,
	    "{\n"
	    "    \"image-end-offset\": 1376256,\n"
	    "    \"total-clusters\": 1024,\n"
	    "    \"check-errors\": 0,\n"
	    "    \"allocated-clusters\": 16,\n"
	    "    \"filename\": \"a.qcow2\",\n"
	    "    \"format\": \"qcow2\"\n"
	    "}");
}

/* Compressed clusters (qemu-img convert -c): all of them fragmented. */
static void
test_compressed(void **state)
{
	Instar__CheckDone d = done((struct counts){ .end = 393216,
	    .total = 128, .allocated = 2, .fragmented = 2,
	    .compressed = 2 });

	(void)state;
	assert_human(&d, false,
	    "No errors were found on the image.\n"
	    "2/128 = 1.56% allocated, 100.00% fragmented, 100.00% "
	    "compressed clusters\n"
	    "Image end offset: 393216\n");
	assert_json("c.qcow2", &d,
	    "{\n"
	    "    \"image-end-offset\": 393216,\n"
	    "    \"compressed-clusters\": 2,\n"
	    "    \"total-clusters\": 128,\n"
	    "    \"check-errors\": 0,\n"
	    "    \"allocated-clusters\": 2,\n"
	    "    \"filename\": \"c.qcow2\",\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"fragmented-clusters\": 2\n"
	    "}");
}

/* A data cluster's refcount raised to 2: a leak and a COPIED error. */
static void
test_corrupt_and_leaky(void **state)
{
	Instar__CheckDone d = done((struct counts){ .corruptions = 1,
	    .leaks = 1, .end = 458752, .total = 128, .allocated = 2 });

	(void)state;
	assert_human(&d, false,
	    "\n1 errors were found on the image.\n"
	    "Data may be corrupted, or further writes to the image may "
	    "corrupt it.\n"
	    "\n1 leaked clusters were found on the image.\n"
	    "This means waste of disk space, but no harm to data.\n"
	    "2/128 = 1.56% allocated, 0.00% fragmented, 0.00% compressed "
	    "clusters\n"
	    "Image end offset: 458752\n");
	assert_json("high.qcow2", &d,
	    "{\n"
	    "    \"image-end-offset\": 458752,\n"
	    "    \"total-clusters\": 128,\n"
	    "    \"corruptions\": 1,\n"
	    "    \"check-errors\": 0,\n"
	    "    \"leaks\": 1,\n"
	    "    \"allocated-clusters\": 2,\n"
	    "    \"filename\": \"high.qcow2\",\n"
	    "    \"format\": \"qcow2\"\n"
	    "}");
}

/* The L2 table beyond the end of the file: nothing allocated counted. */
static void
test_no_allocation_line(void **state)
{
	Instar__CheckDone d = done((struct counts){ .corruptions = 2,
	    .leaks = 3, .end = 458752, .total = 128 });

	(void)state;
	assert_human(&d, false,
	    "\n2 errors were found on the image.\n"
	    "Data may be corrupted, or further writes to the image may "
	    "corrupt it.\n"
	    "\n3 leaked clusters were found on the image.\n"
	    "This means waste of disk space, but no harm to data.\n"
	    "Image end offset: 458752\n");
}

/* A misaligned L2 table, -r leaks: one leak fixed, errors remain. */
static void
test_repaired(void **state)
{
	Instar__CheckDone d = done((struct counts){ .corruptions = 129,
	    .leaks_fixed = 1, .end = 393216, .total = 128,
	    .allocated = 64, .fragmented = 63 });

	(void)state;
	assert_human(&d, true,
	    "The following inconsistencies were found and repaired:\n"
	    "\n"
	    "    1 leaked clusters\n"
	    "    0 corruptions\n"
	    "\n"
	    "Double checking the fixed image now...\n"
	    "\n129 errors were found on the image.\n"
	    "Data may be corrupted, or further writes to the image may "
	    "corrupt it.\n"
	    "64/128 = 50.00% allocated, 98.44% fragmented, 0.00% compressed "
	    "clusters\n"
	    "Image end offset: 393216\n");
	assert_json("m2.qcow2", &d,
	    "{\n"
	    "    \"image-end-offset\": 393216,\n"
	    "    \"total-clusters\": 128,\n"
	    "    \"corruptions\": 129,\n"
	    "    \"check-errors\": 0,\n"
	    "    \"leaks-fixed\": 1,\n"
	    "    \"allocated-clusters\": 64,\n"
	    "    \"filename\": \"m2.qcow2\",\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"fragmented-clusters\": 63\n"
	    "}");
}

/* Every optional member: the order json.c derives from qemu's hash. */
static void
test_all_members(void **state)
{
	Instar__CheckDone d = done((struct counts){ .corruptions = 1,
	    .leaks = 2, .check_errors = 3, .corruptions_fixed = 4,
	    .leaks_fixed = 5, .end = 6, .total = 7, .allocated = 8,
	    .fragmented = 9, .compressed = 10 });

	(void)state;
	assert_json("x", &d,
	    "{\n"
	    "    \"image-end-offset\": 6,\n"
	    "    \"compressed-clusters\": 10,\n"
	    "    \"total-clusters\": 7,\n"
	    "    \"corruptions\": 1,\n"
	    "    \"corruptions-fixed\": 4,\n"
	    "    \"check-errors\": 3,\n"
	    "    \"leaks\": 2,\n"
	    "    \"leaks-fixed\": 5,\n"
	    "    \"allocated-clusters\": 8,\n"
	    "    \"filename\": \"x\",\n"
	    "    \"format\": \"qcow2\",\n"
	    "    \"fragmented-clusters\": 9\n"
	    "}");
	assert_human(&d, false,
	    "\n1 errors were found on the image.\n"
	    "Data may be corrupted, or further writes to the image may "
	    "corrupt it.\n"
	    "\n2 leaked clusters were found on the image.\n"
	    "This means waste of disk space, but no harm to data.\n"
	    "\n3 internal errors have occurred during the check.\n"
	    "8/7 = 114.29% allocated, 112.50% fragmented, 125.00% "
	    "compressed clusters\n"
	    "Image end offset: 6\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_compressed),
		cmocka_unit_test(test_corrupt_and_leaky),
		cmocka_unit_test(test_no_allocation_line),
		cmocka_unit_test(test_repaired),
		cmocka_unit_test(test_all_members),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
