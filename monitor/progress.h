/*
 * qemu-img's progress line (util/qemu-progress.c with its simple
 * printer), fed by the worker's progress frames for rebase and commit.
 */
#ifndef INSTAR_MONITOR_PROGRESS_H
#define INSTAR_MONITOR_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

/* One progress line: whether it is shown, and what it last showed. */
struct progress {
	bool enabled;
	float min_skip;
	float current;
	float last_print;
};

/* qemu_progress_init(); min_skip is the step (in %) worth printing. */
void	progress_init(struct progress *, bool enabled, float min_skip);
/* qemu_progress_print(current, 0): an absolute percentage. */
void	progress_set(struct progress *, float current);
/* qemu_progress_end(): the line is ended, on success and failure alike. */
void	progress_end(struct progress *);
/* A worker_progress_fn for a struct progress. */
void	progress_update(uint64_t done, uint64_t total, void *arg);

#endif /* INSTAR_MONITOR_PROGRESS_H */
