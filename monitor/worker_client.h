/*
 * The monitor's side of the worker: start it, speak the protocol, and
 * turn every way it can fail into one clear sentence.
 */
#ifndef INSTAR_WORKER_CLIENT_H
#define INSTAR_WORKER_CLIENT_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "instar.pb-c.h"
#include "proc_fds.h"

enum worker_state {
	WS_STARTING,		/* job sent, waiting for Ready */
	WS_IDLE,		/* nothing outstanding */
	WS_AWAIT_INFO,		/* image sent, waiting for its info */
	WS_AWAIT_INFO_CHECK,	/* image sent to check: progress, then info */
	WS_ATTACHING,		/* images attached for a job; no replies */
	WS_AWAIT_REBASE,	/* rebase sent: progress, then its outcome */
	WS_AWAIT_COMMIT,	/* commit sent: progress, then its outcome */
	WS_AWAIT_CHECK,		/* check sent: progress, then its outcome */
	WS_RAN,			/* outcome received; only Done may follow */
	WS_RELEASING,		/* told it is done, waiting for its Done */
	WS_RELEASED,		/* it let go of its images; not yet reaped */
	WS_DEAD,
};

/* Image descriptors remembered for worker_finish(); more: it waits. */
#define WORKER_SENT_MAX		64

struct worker_conn {
	pid_t pid;
	int sock;
	enum worker_state state;
	int reply_timeout_ms;
	char error[1024];	/* why the last call failed */
	char hint[256];		/* and what may be done, or "" */
	/* The files of every descriptor handed over, by identity. */
	struct file_id sent[WORKER_SENT_MAX];
	size_t nsent;
	bool sent_unknown;	/* one was not remembered */
};

int worker_start(struct worker_conn *, Instar__Op, uint32_t guest_timeout_ms);
/* The same, and a rebase or commit that is only dry-run: the worker
 * writes nothing, and images are attached read-only. */
int worker_start_job(struct worker_conn *, Instar__Op,
    uint32_t guest_timeout_ms, bool dry_run);

/*
 * Ask for the facts about the image open on fd, opened as a check opens
 * it if for_check (qemu's BDRV_O_CHECK; check jobs only).  Returns the
 * envelope (its image_info is set; free with
 * instar__envelope__free_unpacked), or NULL with conn->error set.
 * *image_error tells whether the failure was about the image (the
 * worker carries on) or about the worker itself.
 */
Instar__Envelope *worker_image_info(struct worker_conn *, int fd,
    Instar__Format, bool for_check, int *image_error);

/* What checking an image came to: the envelope or why it failed. */
struct worker_check_outcome {
	Instar__Envelope *env;		/* holds check_done, or NULL */
	char *failure;			/* else the reason (malloc'd) */
};

/*
 * worker_image_info(), and in the same guest run a check of the image
 * (OP_CHECK, no repair; one run instead of two).  When the info comes
 * back, *out holds the check's outcome, as worker_check() would have
 * returned it, or its failure.  The worker may then be given the next
 * image.
 */
Instar__Envelope *worker_image_info_check(struct worker_conn *, int fd,
    Instar__Format, const Instar__Check *, struct worker_check_outcome *out,
    int *image_error);

/*
 * Add the image open on fd to the next guest run (OP_REBASE, OP_COMMIT,
 * OP_CHECK).
 * Devices are numbered from 0 in the order attached; the job says which
 * may be writable.  The worker does not answer.  Returns 0, or -1 with
 * conn->error set (the worker is then dead).
 */
int worker_attach(struct worker_conn *, int fd, Instar__Format, bool writable);

/* Told of every Progress frame of a running rebase or commit. */
typedef void worker_progress_fn(uint64_t done, uint64_t total, void *arg);

/*
 * Run the rebase over the attached devices.  Progress frames go to
 * on_progress (which may be NULL) and each one restarts the reply timer.
 * Returns the envelope holding rebase_done (free it with
 * instar__envelope__free_unpacked), or NULL with conn->error set;
 * *image_error then tells whether the guest refused or failed the job
 * (conn->error is its reason) or the worker itself failed.
 */
Instar__Envelope *worker_rebase(struct worker_conn *, const Instar__Rebase *,
    worker_progress_fn *on_progress, void *arg, int *image_error);

/*
 * Run the commit over the attached devices, as worker_rebase() runs a
 * rebase; the envelope returned holds commit_done.
 */
Instar__Envelope *worker_commit(struct worker_conn *, const Instar__Commit *,
    worker_progress_fn *on_progress, void *arg, int *image_error);

/*
 * Check the one image attached since the last check (OP_CHECK), as
 * worker_rebase() runs a rebase; the envelope returned holds check_done,
 * whose messages have been checked to be printable lines.  Whatever
 * the outcome, the worker may then be given the next image (attach and
 * check again) unless it died.
 */
Instar__Envelope *worker_check(struct worker_conn *, const Instar__Check *,
    worker_progress_fn *on_progress, void *arg, int *image_error);

/*
 * Tell the worker it is done and reap it: 0 if it exited cleanly.  For a
 * worker that may have written: no write of it outlasts the command.
 */
int worker_finish(struct worker_conn *);

/*
 * End a worker whose job is over and that holds only read-only
 * descriptors, whose locks the caller has dropped, without waiting for
 * it to exit: see worker_client.c.
 */
void worker_leave(struct worker_conn *);

/*
 * Print the hint that came with the last failure, if any, on its own
 * line after the caller's error, as qemu prints an error's hint.
 */
void worker_print_hint(const struct worker_conn *);

/* Kill and reap a worker after a failure. */
void worker_abort(struct worker_conn *);

#endif
