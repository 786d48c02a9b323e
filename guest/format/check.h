/*
 * The check planner: qemu-img check's findings for qcow2 (qemu 7.2's
 * qcow2_check_refcounts and friends), VMDK monolithicSparse (vmdk_check)
 * and raw (no checks), and the repair of leaked clusters and wrong
 * refcounts.  Pure code over one fmt_io device, shared by the guest and
 * the hosted tests.
 */
#ifndef INSTAR_CHECK_H
#define INSTAR_CHECK_H

#include "check_job.h"
#include "format.h"

struct check_job {
	const struct instar_check_params *params;
	const struct fmt_io *dev;	/* writable when repairing */
	struct fmt_arena *arena;
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
	/*
	 * Most host clusters one counting window may cover (0: as many as
	 * the arena allows); tests use it to force several passes.
	 */
	uint64_t window_max;
};

/*
 * Fills *res (the fixed part and text_len bytes of text) either way;
 * returns 0, or -1 with res->status 1 and res->error set.
 */
int check_run(const struct check_job *, struct instar_check_result *res);

#endif
