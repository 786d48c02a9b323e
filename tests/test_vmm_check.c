/*
 * Every bound the vmm puts on a guest request, one by one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "image_info.h"
#include "vmm_check.h"

#define MEM	INSTAR_GUEST_MEM_SIZE
#define BUF	0x200000ull	/* a plausible guest heap address */

static struct vmm_device devs[2] = {
	{ .fd = 10, .size = 1 << 20, .writable = false, .write_limit = 0 },
	{ .fd = 11, .size = 1 << 20, .writable = true,
	    .write_limit = 4 << 20 },
};
static const struct vmm_policy pol = { MEM, devs, 2 };

static struct instar_hc_io
io_req(uint32_t dev, uint64_t off, uint64_t buf, uint64_t len)
{
	struct instar_hc_io io;

	memset(&io, 0, sizeof(io));
	io.dev = dev;
	io.offset = off;
	io.buf = buf;
	io.len = len;
	return io;
}

static void
test_guest_range(void **state)
{
	(void)state;
	assert_null(vmm_check_guest_range(MEM, 0, MEM));
	assert_null(vmm_check_guest_range(MEM, MEM, 0));
	assert_non_null(vmm_check_guest_range(MEM, MEM - 1, 2));
	assert_non_null(vmm_check_guest_range(MEM, MEM + 1, 0));
	/* gpa + len wraps around: must not pass as small. */
	assert_non_null(vmm_check_guest_range(MEM, 16, UINT64_MAX - 8));
	assert_non_null(vmm_check_guest_range(MEM, UINT64_MAX, 1));
}

static void
test_device_index(void **state)
{
	struct instar_hc_io io = io_req(2, 0, BUF, 512);

	(void)state;
	assert_string_equal(vmm_check_io(&pol, &io, false), "no such device");
	io.dev = UINT32_MAX;
	assert_string_equal(vmm_check_io(&pol, &io, false), "no such device");
	io.dev = 1;
	assert_null(vmm_check_io(&pol, &io, false));
}

static void
test_writability(void **state)
{
	struct instar_hc_io io = io_req(0, 0, BUF, 512);

	(void)state;
	assert_null(vmm_check_io(&pol, &io, false));
	assert_string_equal(vmm_check_io(&pol, &io, true),
	    "write to a read-only device");
	io.dev = 1;
	assert_null(vmm_check_io(&pol, &io, true));
}

static void
test_length_cap(void **state)
{
	struct instar_hc_io io = io_req(0, 0, BUF, INSTAR_HC_IO_MAX);

	(void)state;
	assert_null(vmm_check_io(&pol, &io, false));
	io.len = INSTAR_HC_IO_MAX + 1ull;
	assert_string_equal(vmm_check_io(&pol, &io, false),
	    "transfer longer than the per-request cap");
	io.len = 0;
	assert_string_equal(vmm_check_io(&pol, &io, false),
	    "zero-length transfer");
}

static void
test_offset_overflow(void **state)
{
	struct instar_hc_io io = io_req(0, VMM_OFFSET_MAX - 512, BUF, 512);

	(void)state;
	assert_null(vmm_check_io(&pol, &io, false));
	io.offset = VMM_OFFSET_MAX - 511;
	assert_string_equal(vmm_check_io(&pol, &io, false),
	    "device offset overflows");
	io.offset = UINT64_MAX;
	assert_string_equal(vmm_check_io(&pol, &io, false),
	    "device offset overflows");
}

static void
test_write_limit(void **state)
{
	struct instar_hc_io io = io_req(1, (4 << 20) - 512, BUF, 512);

	(void)state;
	assert_null(vmm_check_io(&pol, &io, true));
	io.offset += 1;
	assert_string_equal(vmm_check_io(&pol, &io, true),
	    "write beyond the device's write limit");
	/* Reads are not held to the write limit; EOF just reads short. */
	assert_null(vmm_check_io(&pol, &io, false));
}

static void
test_guest_buffer(void **state)
{
	struct instar_hc_io io = io_req(0, 0, MEM - 512, 512);

	(void)state;
	assert_null(vmm_check_io(&pol, &io, false));
	io.buf = MEM - 511;
	assert_string_equal(vmm_check_io(&pol, &io, false),
	    "guest buffer lies outside guest memory");
	io.buf = UINT64_MAX - 100;
	assert_string_equal(vmm_check_io(&pol, &io, false),
	    "guest buffer lies outside guest memory");
	/* The page tables and boot block are not the guest's to DMA into. */
	io.buf = INSTAR_GUEST_PML4;
	assert_string_equal(vmm_check_io(&pol, &io, false),
	    "guest buffer overlaps the vmm's pages");
}

static void
test_log_and_result(void **state)
{
	struct instar_hc_log log = { BUF, INSTAR_HC_LOG_MAX };
	struct instar_hc_result res;

	(void)state;
	assert_null(vmm_check_text(&pol, &log));
	log.len++;
	assert_string_equal(vmm_check_text(&pol, &log),
	    "log line longer than the cap");
	log.len = 8;
	log.buf = MEM - 4;
	assert_non_null(vmm_check_text(&pol, &log));

	memset(&res, 0, sizeof(res));
	res.buf = BUF;
	res.len = sizeof(struct instar_info_result);
	assert_null(vmm_check_result(&pol, &res, res.len, res.len));
	res.flags = INSTAR_RESULT_EXIT;
	assert_null(vmm_check_result(&pol, &res, res.len, res.len));
	res.flags = INSTAR_RESULT_EXIT << 1;
	assert_string_equal(vmm_check_result(&pol, &res, res.len, res.len),
	    "unknown result flags");
	res.flags = 0;
	assert_string_equal(vmm_check_result(&pol, &res, res.len + 8,
	    res.len + 8), "result has the wrong size for this job");
	res.len = INSTAR_HC_RESULT_MAX + 1ull;
	assert_string_equal(vmm_check_result(&pol, &res, 0, res.len),
	    "result longer than the cap");
}

/* An info result carries a snapshot list of any length up to its room. */
static void
test_result_length_bounds(void **state)
{
	const uint64_t min = INSTAR_INFO_RESULT_MIN;
	const uint64_t max = sizeof(struct instar_info_result);
	struct instar_hc_result res;

	(void)state;
	assert_true(max <= INSTAR_HC_RESULT_MAX);
	memset(&res, 0, sizeof(res));
	res.buf = BUF;
	res.len = min;
	assert_null(vmm_check_result(&pol, &res, min, max));
	res.len = min + 41;
	assert_null(vmm_check_result(&pol, &res, min, max));
	res.len = max;
	assert_null(vmm_check_result(&pol, &res, min, max));
	res.len = min - 1;
	assert_string_equal(vmm_check_result(&pol, &res, min, max),
	    "result has the wrong size for this job");
	res.len = 0;
	assert_string_equal(vmm_check_result(&pol, &res, min, max),
	    "result has the wrong size for this job");
	res.len = max + 1;
	assert_string_equal(vmm_check_result(&pol, &res, min, max),
	    "result has the wrong size for this job");
	res.len = UINT64_MAX;
	assert_string_equal(vmm_check_result(&pol, &res, min, max),
	    "result longer than the cap");
	/* In bounds, but not inside guest memory. */
	res.len = max;
	res.buf = MEM - max + 1;
	assert_non_null(vmm_check_result(&pol, &res, min, max));
	res.buf = UINT64_MAX - 8;
	assert_non_null(vmm_check_result(&pol, &res, min, max));
}

static const char *
copy_check(uint32_t src, uint32_t dst, uint64_t soff, uint64_t doff,
    uint64_t len)
{
	struct instar_hc_copy cp;

	memset(&cp, 0, sizeof(cp));
	cp.src_dev = src;
	cp.dst_dev = dst;
	cp.src_off = soff;
	cp.dst_off = doff;
	cp.len = len;
	return vmm_check_copy(&pol, &cp);
}

/* Host-side copies: only into a writable device, never within one. */
static void
test_copy(void **state)
{
	(void)state;
	assert_null(copy_check(0, 1, 0, 0, 1 << 20));
	assert_string_equal(copy_check(1, 0, 0, 0, 512),
	    "write to a read-only device");
	assert_string_equal(copy_check(1, 1, 0, 4096, 512),
	    "copy within one device");
	assert_string_equal(copy_check(0, 2, 0, 0, 512), "no such device");
	assert_string_equal(copy_check(2, 1, 0, 0, 512), "no such device");
	assert_string_equal(copy_check(0, 1, 0, 0, 0),
	    "zero-length transfer");
	assert_string_equal(copy_check(0, 1, 0, 0, INSTAR_HC_COPY_MAX + 1),
	    "transfer longer than the per-request cap");
	assert_string_equal(copy_check(0, 1, UINT64_MAX - 10, 0, 512),
	    "device offset overflows");
	assert_string_equal(copy_check(0, 1, 0, VMM_OFFSET_MAX, 512),
	    "device offset overflows");
	assert_string_equal(copy_check(0, 1, 0, (4 << 20) - 256, 512),
	    "write beyond the device's write limit");
}

static void
test_truncate(void **state)
{
	struct instar_hc_truncate t;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.dev = 1;
	t.size = 4 << 20;
	assert_null(vmm_check_truncate(&pol, &t));
	t.size = (4 << 20) + 1;
	assert_string_equal(vmm_check_truncate(&pol, &t),
	    "length beyond the device's write limit");
	t.dev = 0;
	t.size = 0;
	assert_string_equal(vmm_check_truncate(&pol, &t),
	    "write to a read-only device");
	t.dev = 7;
	assert_string_equal(vmm_check_truncate(&pol, &t), "no such device");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_range),
		cmocka_unit_test(test_device_index),
		cmocka_unit_test(test_writability),
		cmocka_unit_test(test_length_cap),
		cmocka_unit_test(test_offset_overflow),
		cmocka_unit_test(test_write_limit),
		cmocka_unit_test(test_guest_buffer),
		cmocka_unit_test(test_log_and_result),
		cmocka_unit_test(test_result_length_bounds),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_truncate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
