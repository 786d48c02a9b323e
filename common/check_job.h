/*
 * The check job as the guest sees it: parameters in the boot page, a
 * fixed-size result back, as for rebase and commit (rebase_job.h).
 */
#ifndef INSTAR_CHECK_JOB_H
#define INSTAR_CHECK_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hypercall.h"
#include "image_info.h"

#define INSTAR_CHECK_REPAIR_NONE	0
#define INSTAR_CHECK_REPAIR_LEAKS	1
#define INSTAR_CHECK_REPAIR_ALL		2

/*
 * A findings line qemu-img prints through error_report(), which names
 * the program, starts with this; the monitor prints its own name there
 * (qemu-img when run by that name, as qemu-iotests do).
 */
#define INSTAR_CHECK_PROG_PREFIX	"instar: "

/* The findings' text: lines NUL-terminated one after another. */
#define INSTAR_CHECK_TEXT_MAX		(128u * 1024)
#define INSTAR_CHECK_LINE_MAX		256u

struct instar_check_params {
	uint32_t repair;		/* INSTAR_CHECK_REPAIR_* */
	/* enum instar_fmt of device 0; PROBE only for INSTAR_OP_INFO_CHECK */
	uint32_t format;
};

_Static_assert(sizeof(struct instar_check_params) <= INSTAR_BOOT_PARAMS_MAX,
    "check parameters must fit the boot page");

struct instar_check_result {
	int32_t status;			/* 0: the check ran; else error */
	uint32_t has_checks;		/* 0: no consistency checks (raw) */
	uint64_t corruptions;
	uint64_t leaks;
	uint64_t check_errors;
	uint64_t corruptions_fixed;
	uint64_t leaks_fixed;
	uint64_t image_end_offset;
	uint64_t total_clusters;
	uint64_t allocated_clusters;
	uint64_t fragmented_clusters;
	uint64_t compressed_clusters;
	uint64_t lines_dropped;		/* findings beyond the text's room */
	uint32_t nlines;		/* lines in text */
	uint32_t text_len;		/* bytes of text in use */
	char error[INSTAR_ERROR_MAX];	/* NUL-terminated */
	char text[INSTAR_CHECK_TEXT_MAX];
};

/* The result's fixed part; only text_len bytes of text cross over. */
#define INSTAR_CHECK_RESULT_MIN	offsetof(struct instar_check_result, text)

/*
 * INSTAR_OP_INFO_CHECK's result: what an info job finds, but for the
 * snapshot list, which a check does not show; then, if info_status is
 * 0, the check's result.  One guest run instead of two is most of a
 * small image's check time on nested KVM.
 */
struct instar_info_check_result {
	int32_t info_status;		/* 0: the image opened */
	uint32_t pad;
	char info_error[INSTAR_ERROR_MAX];	/* NUL-terminated */
	struct instar_image_info info;
	struct instar_check_result check;
};

/* The fixed parts; only check.text_len bytes of text cross over. */
#define INSTAR_INFO_CHECK_RESULT_MIN \
	(offsetof(struct instar_info_check_result, check) + \
	INSTAR_CHECK_RESULT_MIN)

_Static_assert(sizeof(struct instar_info_check_result) <=
    INSTAR_HC_RESULT_MAX, "an info and check result must fit the cap");

/* Parameters of an INSTAR_OP_CHECK job, or with probe of an
 * INSTAR_OP_INFO_CHECK one (no repair, the format may be PROBE). */
const char *check_params_validate(const struct instar_check_params *,
    uint32_t ndevices, bool writable, bool probe);
/*
 * Checks a result of got bytes (INSTAR_CHECK_RESULT_MIN + text_len):
 * counts consistent, text exactly nlines printable lines, each shorter
 * than INSTAR_CHECK_LINE_MAX.
 */
const char *check_result_validate(const struct instar_check_result *,
    size_t got);

#endif
