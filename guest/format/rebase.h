/*
 * The rebase planner: keep an overlay's guest-visible content while its
 * backing chain changes, then record the new backing.  Pure code over
 * fmt_io devices, shared by the guest and the hosted tests.
 */
#ifndef INSTAR_REBASE_H
#define INSTAR_REBASE_H

#include "format.h"
#include "rebase_job.h"

struct rebase_job {
	const struct instar_rebase_params *params;
	const struct fmt_io *devs;	/* devs[0] is the overlay */
	uint32_t ndevs;
	struct fmt_arena *arena;
	/* Called now and then with bytes of the overlay walked so far. */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
};

/*
 * Run the job.  Fills *res (status, counts) either way and returns 0,
 * or -1 with res->status 1 and res->error saying why.
 */
int rebase_run(const struct rebase_job *, struct instar_rebase_result *res);

#endif
