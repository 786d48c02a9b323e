/*
 * The vmm against a guest that misbehaves on purpose
 * (tests/hostile_guest.c): every bad request, fault and runaway must end
 * the run with a clear error, and the VM must be reusable afterwards.
 * Needs /dev/kvm and fails, not skips, without it.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hostile_guest.h"
#include "image_info.h"
#include "vmm.h"

extern const uint8_t instar_guest_image[];
extern const uint64_t instar_guest_image_size;

static struct vmm *vm;
static struct vmm_device dev;
static struct instar_info_result result;
static char err[512];

static int
setup(void **state)
{
	(void)state;
	vm = vmm_open(instar_guest_image, (size_t)instar_guest_image_size,
	    err, sizeof(err));
	if (vm == NULL) {
		fprintf(stderr, "test_vmm_guest: %s\n", err);
		return -1;
	}
	dev.fd = open("/dev/zero", O_RDONLY);
	dev.size = 1 << 20;
	dev.writable = false;
	return dev.fd < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	vmm_close(vm);
	close(dev.fd);
	return 0;
}

static int
run(enum hostile_op op, uint32_t timeout_ms)
{
	struct vmm_job job;

	memset(&job, 0, sizeof(job));
	memset(&result, 0xee, sizeof(result));
	job.op = op;
	job.devs = &dev;
	job.ndevs = 1;
	job.timeout_ms = timeout_ms;
	job.result = &result;
	job.result_min = INSTAR_INFO_RESULT_MIN;
	job.result_len = sizeof(result);
	err[0] = '\0';
	return vmm_run(vm, &job, err, sizeof(err));
}

static void
expect_error(enum hostile_op op, const char *text)
{
	assert_int_equal(run(op, 2000), -1);
	if (strstr(err, text) == NULL)
		fail_msg("op %d: error \"%s\" lacks \"%s\"", op, err, text);
	/* The same VM still runs a well-behaved job afterwards. */
	assert_int_equal(run(HOSTILE_OK, 2000), 0);
}

static void
test_well_behaved(void **state)
{
	(void)state;
	assert_int_equal(run(HOSTILE_OK, 2000), 0);
}

static void
test_faults(void **state)
{
	(void)state;
	expect_error(HOSTILE_NULL_DEREF, "guest fault: page fault");
	expect_error(HOSTILE_INVALID_OPCODE, "guest fault: invalid opcode");
	expect_error(HOSTILE_STACK_OVERFLOW, "guest fault: page fault");
}

static void
test_bad_requests(void **state)
{
	(void)state;
	expect_error(HOSTILE_BUF_OUTSIDE,
	    "bad read request: guest buffer lies outside guest memory");
	expect_error(HOSTILE_BUF_VMM_PAGES,
	    "bad read request: guest buffer overlaps the vmm's pages");
	expect_error(HOSTILE_NO_DEVICE, "bad read request: no such device");
	expect_error(HOSTILE_OVER_CAP,
	    "bad read request: transfer longer than the per-request cap");
	expect_error(HOSTILE_WRITE_READONLY,
	    "bad write request: write to a read-only device");
	expect_error(HOSTILE_BAD_DOORBELL, "malformed doorbell access");
	expect_error(HOSTILE_UNKNOWN_REQUEST, "access outside guest memory");
}

static void
test_bad_results(void **state)
{
	(void)state;
	expect_error(HOSTILE_RESULT_TWICE, "result delivered twice");
	expect_error(HOSTILE_RESULT_SIZE,
	    "result has the wrong size for this job");
	expect_error(HOSTILE_NO_RESULT, "no result");
	expect_error(HOSTILE_RESULT_FLAGS, "unknown result flags");
}

/* A result given with the exit request ends the run in one exit. */
static void
test_result_at_exit(void **state)
{
	(void)state;
	assert_int_equal(run(HOSTILE_RESULT_AT_EXIT, 2000), 0);
}

/*
 * Devices' heads: reads the runtime serves from them, or past the end
 * of a device they hold whole, equal what the vmm reads.  One device
 * longer than a head, one shorter, both with a pattern.
 */
static void
test_device_heads(void **state)
{
	static const size_t sizes[] = { INSTAR_HEAD_LEN + 5000, 3000 };
	struct vmm_device saved = dev;
	uint8_t *data;
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char path[] = "/tmp/instar-heads.XXXXXX";

		data = malloc(sizes[i]);
		assert_non_null(data);
		for (k = 0; k < sizes[i]; k++)
			data[k] = (uint8_t)(k * 7 + k / 251);
		dev.fd = mkstemp(path);
		assert_true(dev.fd >= 0);
		unlink(path);
		assert_int_equal(write(dev.fd, data, sizes[i]),
		    (ssize_t)sizes[i]);
		dev.size = sizes[i];
		assert_int_equal(run(HOSTILE_HEADS, 2000), 0);
		assert_int_equal(result.status, 0);
		close(dev.fd);
		free(data);
	}
	dev = saved;
}

static void
test_watchdog(void **state)
{
	(void)state;
	assert_int_equal(run(HOSTILE_SPIN, 200), -1);
	assert_non_null(strstr(err, "guest ran longer than 200 ms"));
	assert_int_equal(run(HOSTILE_OK, 2000), 0);
}

static void
test_memory_wiped_between_runs(void **state)
{
	(void)state;
	assert_int_equal(run(HOSTILE_HEAP_MARK, 2000), 0);
	assert_int_equal(run(HOSTILE_HEAP_CHECK, 2000), 0);
	assert_int_equal(result.status, 0);
}

static void
test_read_past_end(void **state)
{
	(void)state;
	assert_int_equal(run(HOSTILE_READ_EOF, 2000), 0);
	assert_int_equal(result.status, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_behaved),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_bad_results),
		cmocka_unit_test(test_watchdog),
		cmocka_unit_test(test_memory_wiped_between_runs),
		cmocka_unit_test(test_read_past_end),
		cmocka_unit_test(test_result_at_exit),
		cmocka_unit_test(test_device_heads),
	};

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		fprintf(stderr, "test_vmm_guest: FAIL: /dev/kvm is missing or "
		    "not accessible; these tests need KVM\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
