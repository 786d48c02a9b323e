/*
 * The commit job as the guest sees it: parameters in the boot page, a
 * fixed-size result back.  As for rebase (rebase_job.h), the worker
 * builds the parameters from a checked Commit message and checks the
 * result before it believes a field; the guest checks the parameters.
 */
#ifndef INSTAR_COMMIT_JOB_H
#define INSTAR_COMMIT_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hypercall.h"
#include "image_info.h"

struct instar_commit_params {
	uint32_t base_index;		/* devices before it are committed */
	uint32_t empty_top;		/* 1: empty device 0 afterwards */
	/* A VMDK base's new CID (the guest avoids the old one). */
	uint32_t new_cid;
	uint32_t formats[INSTAR_MAX_DEVICES];	/* enum instar_fmt, no PROBE */
};

_Static_assert(sizeof(struct instar_commit_params) <= INSTAR_BOOT_PARAMS_MAX,
    "commit parameters must fit the boot page");

struct instar_commit_result {
	int32_t status;			/* 0 done, else error holds why */
	uint32_t base_cluster_size;	/* 512 for raw */
	uint64_t clusters_committed;
	uint64_t bytes_committed;
	uint64_t clusters_emptied;
	uint32_t base_grown;		/* 0 or 1 */
	uint32_t pad;
	/* A dry run's: the top's and the base's lengths afterwards, as
	 * their shadows saw them (see instar_rebase_result.file_size). */
	uint64_t top_file_size;
	uint64_t base_file_size;
	char error[INSTAR_ERROR_MAX];	/* NUL-terminated */
};

/*
 * NULL, or a static string naming the first rule broken.  writable says
 * which devices were attached writable (bit i for device i < 64).
 */
/*
 * Whether the base's child (device base_index - 1) must record the
 * base's new CID: a VMDK over a VMDK base.  It is then attached
 * writable.  p's base_index must be valid.
 */
bool commit_relinks_child(const struct instar_commit_params *p);

const char *commit_params_validate(const struct instar_commit_params *,
    uint32_t ndevices, uint64_t writable);
const char *commit_result_validate(const struct instar_commit_result *);

#endif
