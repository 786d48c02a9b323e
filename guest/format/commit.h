/*
 * The commit planner: move what a chain holds above its base into the
 * base, then empty the top if asked.  Pure code over fmt_io devices,
 * shared by the guest and the hosted tests.
 */
#ifndef INSTAR_COMMIT_H
#define INSTAR_COMMIT_H

#include "commit_job.h"
#include "format.h"

struct commit_job {
	const struct instar_commit_params *params;
	const struct fmt_io *devs;	/* devs[0] is the top */
	uint32_t ndevs;
	struct fmt_arena *arena;
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
};

/* Fills *res either way; returns 0, or -1 with res->error set. */
int commit_run(const struct commit_job *, struct instar_commit_result *res);

#endif
