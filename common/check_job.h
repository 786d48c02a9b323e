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

/* The findings' text: lines NUL-terminated one after another. */
#define INSTAR_CHECK_TEXT_MAX		(128u * 1024)
#define INSTAR_CHECK_LINE_MAX		256u

struct instar_check_params {
	uint32_t repair;		/* INSTAR_CHECK_REPAIR_* */
	uint32_t format;		/* enum instar_fmt of device 0, no PROBE */
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

const char *check_params_validate(const struct instar_check_params *,
    uint32_t ndevices, bool writable);
/*
 * Checks a result of got bytes (INSTAR_CHECK_RESULT_MIN + text_len):
 * counts consistent, text exactly nlines printable lines, each shorter
 * than INSTAR_CHECK_LINE_MAX.
 */
const char *check_result_validate(const struct instar_check_result *,
    size_t got);

#endif
