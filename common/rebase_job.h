/*
 * The rebase job as the guest sees it: parameters in the boot page,
 * a fixed-size result back through the result hypercall.
 *
 * Both are plain records so the guest needs no encoder.  The worker
 * fills the parameters from a Rebase message it has checked, and checks
 * the result (rebase_result_validate) before it believes a field.
 */
#ifndef INSTAR_REBASE_JOB_H
#define INSTAR_REBASE_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "hypercall.h"
#include "image_info.h"

#define INSTAR_BACKING_FMT_MAX	16	/* qemu's bs->backing_format */

struct instar_rebase_params {
	uint32_t unsafe;		/* 1: only the header changes */
	uint32_t old_chain_len;		/* devices 1 .. old_chain_len */
	uint32_t new_chain_start;	/* first device of the new chain */
	uint32_t new_chain_len;
	uint32_t formats[INSTAR_MAX_DEVICES];	/* enum instar_fmt, no PROBE */
	uint32_t name_len;		/* 0: detach */
	char backing_name[INSTAR_NAME_MAX];	/* name_len bytes, NUL after */
	char backing_format[INSTAR_BACKING_FMT_MAX];	/* NUL-terminated */
};

_Static_assert(sizeof(struct instar_rebase_params) <= INSTAR_BOOT_PARAMS_MAX,
    "rebase parameters must fit the boot page");

struct instar_rebase_result {
	int32_t status;			/* 0 done, else error holds why */
	uint32_t cluster_size;
	uint64_t clusters_copied;
	uint64_t clusters_zeroed;
	uint64_t bytes_copied;
	/* A dry run's: the overlay's length afterwards, as its shadow
	 * saw it; 0 after a real run, where the worker measures the file. */
	uint64_t file_size;
	char error[INSTAR_ERROR_MAX];	/* NUL-terminated */
};

/*
 * Checks on both sides of the boundary: the worker checks the params it
 * builds from the monitor's message and the result the guest returns;
 * the guest checks the params again, since they sit in its memory.
 * Each returns NULL, or a static string naming the first rule broken.
 */
const char *rebase_params_validate(const struct instar_rebase_params *,
    uint32_t ndevices);
const char *rebase_result_validate(const struct instar_rebase_result *);

#endif
