/*
 * The worker's side of the jobs that change images (rebase, commit):
 * collect the attached images, hand the checked parameters to one guest
 * run, and pass on its progress and its checked result.  The worker
 * writes nothing itself: the guest asks, and the vmm checks every write
 * against the devices attached writable.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "log.h"
#include "commit_job.h"
#include "rebase_job.h"
#include "worker.h"

_Static_assert(sizeof(struct instar_rebase_result) <= INSTAR_HC_RESULT_MAX,
    "a rebase result must fit the vmm's result cap");
_Static_assert(sizeof(struct instar_commit_result) <= INSTAR_HC_RESULT_MAX,
    "a commit result must fit the vmm's result cap");
/* A commit writes into its base and, when emptying it, its top. */
#define COMMIT_WRITABLE_MAX	2

void
worker_attach(struct worker *w, int fd, const Instar__AttachImage *msg)
{
	struct vmm_device *d;
	struct stat st;
	uint32_t fmt = format_from_pb(msg->format);

	uint32_t i, nwritable = 0;

	if ((w->op != INSTAR_OP_REBASE && w->op != INSTAR_OP_COMMIT &&
	    w->op != INSTAR_OP_CHECK) || w->rebased)
		fatal("this job attaches no images");
	/* A check takes one image at a time, writable to repair it. */
	if (w->op == INSTAR_OP_CHECK && w->ndevs != 0)
		fatal("a check takes one image at a time");
	/* Its filter would kill the worker at the first write. */
	if (msg->writable && !w->may_write && !w->dry_run)
		fatal("a read-only job attaches no writable image");
	if (w->ndevs == INSTAR_MAX_DEVICES)
		fatal("more than %u images attached", INSTAR_MAX_DEVICES);
	for (i = 0; i < w->ndevs; i++)
		nwritable += w->devs[i].writable || w->devs[i].shadow;
	/* A rebase writes only the overlay, attached first. */
	if (w->op == INSTAR_OP_REBASE && msg->writable != (w->ndevs == 0))
		fatal("only the first image attached may be writable");
	if (w->op == INSTAR_OP_COMMIT && msg->writable &&
	    nwritable == COMMIT_WRITABLE_MAX)
		fatal("too many writable images attached");
	if (fmt == INSTAR_FMT_PROBE)
		fatal("an attached image needs a format");
	if (worker_image_stat(fd, &st) != 0)
		fatal("attached image is not a regular file");
	d = &w->devs[w->ndevs];
	memset(d, 0, sizeof(*d));
	d->fd = fd;
	d->size = (uint64_t)st.st_size;
	/* A dry run's "writable" image is shadowed in the guest and never
	 * written: the vmm refuses every write to it. */
	d->writable = msg->writable && !w->dry_run;
	d->shadow = msg->writable && w->dry_run;
	/* Lowered to what the plan needs before the run (job_limits.c). */
	d->write_limit = d->writable ? VMM_OFFSET_MAX : 0;
	w->dev_formats[w->ndevs] = fmt;
	w->dev_ids[w->ndevs].dev = st.st_dev;
	w->dev_ids[w->ndevs].ino = st.st_ino;
	w->ndevs++;
}

void
worker_detach_all(struct worker *w)
{
	uint32_t i;

	for (i = 0; i < w->ndevs; i++)
		close(w->devs[i].fd);
	w->ndevs = 0;
}

static int
fill_params(const struct worker *w, const Instar__Rebase *msg,
    struct instar_rebase_params *p, char *err, size_t errlen)
{
	const char *why;
	uint32_t i;

	memset(p, 0, sizeof(*p));
	p->unsafe = msg->unsafe ? 1 : 0;
	p->old_chain_len = msg->old_chain_len;
	p->new_chain_start = msg->new_chain_start;
	p->new_chain_len = msg->new_chain_len;
	for (i = 0; i < w->ndevs; i++)
		p->formats[i] = w->dev_formats[i];
	/* An empty name (detach) may come with no buffer at all. */
	if (msg->backing_name.len >= sizeof(p->backing_name) ||
	    (msg->backing_name.len > 0 && memchr(msg->backing_name.data,
	    '\0', msg->backing_name.len) != NULL)) {
		snprintf(err, errlen, "backing file name too long");
		return -1;
	}
	if (msg->backing_name.len > 0)
		memcpy(p->backing_name, msg->backing_name.data,
		    msg->backing_name.len);
	p->name_len = (uint32_t)msg->backing_name.len;
	if (strlen(msg->backing_format) >= sizeof(p->backing_format)) {
		snprintf(err, errlen, "backing format name too long");
		return -1;
	}
	memcpy(p->backing_format, msg->backing_format,
	    strlen(msg->backing_format));
	if ((why = rebase_params_validate(p, w->ndevs)) != NULL) {
		snprintf(err, errlen, "invalid rebase request: %s", why);
		return -1;
	}
	return 0;
}

/*
 * Device i's length after the run: the file's own after a real run, the
 * guest's shadow's after a dry run (where the file has not changed).
 */
static uint64_t
size_after(const struct worker *w, uint32_t i, uint64_t guest_says)
{
	struct stat st;

	if (w->dry_run && w->devs[i].shadow)
		return guest_says;
	if (worker_image_stat(w->devs[i].fd, &st) != 0)
		fatal_f("cannot stat image %u", i);
	return (uint64_t)st.st_size;
}

static void
send_done(const struct worker *w, const struct instar_rebase_result *res)
{
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__RebaseDone done = INSTAR__REBASE_DONE__INIT;

	done.has_size_before = true;
	done.size_before = w->devs[0].size;
	done.has_size_after = true;
	done.size_after = size_after(w, 0, res->file_size);
	done.clusters_copied = res->clusters_copied;
	done.clusters_zeroed = res->clusters_zeroed;
	done.bytes_copied = res->bytes_copied;
	done.cluster_size = res->cluster_size;
	env.body_case = INSTAR__ENVELOPE__BODY_REBASE_DONE;
	env.rebase_done = &done;
	if (frame_send(w->sock, &env, NULL, 0) != 0)
		fatal_f("cannot reach the monitor: %s", strerror(errno));
}

static void
report_rebase(struct worker *w, struct instar_rebase_result *res, size_t got)
{
	const char *why;

	why = result_problem(got == sizeof(*res), rebase_result_validate(res),
	    res->status, res->error, sizeof(res->error));
	if (why != NULL)
		send_malformed(w, why);
	else if (res->status != 0)
		send_failure(w->sock, res->error);
	else
		send_done(w, res);
}

void
worker_rebase(struct worker *w, const Instar__Rebase *msg)
{
	static struct instar_rebase_params params;
	static struct instar_rebase_result res;
	struct job_run run;
	char err[512];
	size_t got;

	if (w->op != INSTAR_OP_REBASE || w->rebased || w->ndevs == 0)
		fatal("unexpected rebase request");
	w->rebased = true;
	/*
	 * The overlay takes at most its whole virtual size of data (safe
	 * mode) and is never resized; an unsafe rebase only rewrites its
	 * header.
	 */
	/* A dry run's limit is 0 already, and its filter a reader's. */
	if (fill_params(w, msg, &params, err, sizeof(err)) != 0 ||
	    (!w->dry_run && worker_limit_writes(w, 0, msg->unsafe ? 0 : 1,
	    false, true, err, sizeof(err)) != 0)) {
		send_failure(w->sock, err);
		return;
	}
	memset(&run, 0, sizeof(run));
	run.op = INSTAR_OP_REBASE;
	run.params = &params;
	run.params_len = sizeof(params);
	run.result = &res;
	run.result_min = sizeof(res);
	run.result_len = sizeof(res);
	if (worker_run_guest(w, &run, &got, err, sizeof(err)) != 0) {
		send_run_failure(w, got == sizeof(res),
		    rebase_result_validate(&res), res.status, res.error,
		    sizeof(res.error), err);
		return;
	}
	report_rebase(w, &res, got);
}

/* ---- commit ---- */

static void
send_commit_done(const struct worker *w, uint32_t base,
    const struct instar_commit_result *res)
{
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__CommitDone done = INSTAR__COMMIT_DONE__INIT;

	done.has_top_size_before = true;
	done.top_size_before = w->devs[0].size;
	done.has_top_size_after = true;
	done.top_size_after = size_after(w, 0, res->top_file_size);
	done.has_base_size_before = true;
	done.base_size_before = w->devs[base].size;
	done.has_base_size_after = true;
	done.base_size_after = size_after(w, base, res->base_file_size);

	done.clusters_committed = res->clusters_committed;
	done.bytes_committed = res->bytes_committed;
	done.clusters_emptied = res->clusters_emptied;
	done.base_cluster_size = res->base_cluster_size;
	done.base_grown = res->base_grown != 0;
	env.body_case = INSTAR__ENVELOPE__BODY_COMMIT_DONE;
	env.commit_done = &done;
	if (frame_send(w->sock, &env, NULL, 0) != 0)
		fatal_f("cannot reach the monitor: %s", strerror(errno));
}

static void
report_commit(struct worker *w, uint32_t base,
    struct instar_commit_result *res, size_t got)
{
	const char *why;

	why = result_problem(got == sizeof(*res), commit_result_validate(res),
	    res->status, res->error, sizeof(res->error));
	if (why != NULL)
		send_malformed(w, why);
	else if (res->status != 0)
		send_failure(w->sock, res->error);
	else
		send_commit_done(w, base, res);
}

static int
fill_commit(const struct worker *w, const Instar__Commit *msg,
    struct instar_commit_params *p, char *err, size_t errlen)
{
	uint64_t writable = 0;
	const char *why;
	uint32_t i;

	memset(p, 0, sizeof(*p));
	p->base_index = msg->base_index;
	p->empty_top = msg->empty_top ? 1 : 0;
	p->new_cid = msg->new_cid;
	for (i = 0; i < w->ndevs; i++) {
		p->formats[i] = w->dev_formats[i];
		if (w->devs[i].writable || w->devs[i].shadow)
			writable |= 1ull << i;
	}
	if ((why = commit_params_validate(p, w->ndevs, writable)) != NULL) {
		snprintf(err, errlen, "invalid commit request: %s", why);
		return -1;
	}
	return 0;
}

void
worker_commit(struct worker *w, const Instar__Commit *msg)
{
	static struct instar_commit_params params;
	static struct instar_commit_result res;
	struct job_run run;
	char err[512];
	size_t got;

	if (w->op != INSTAR_OP_COMMIT || w->rebased || w->ndevs == 0)
		fatal("unexpected commit request");
	w->rebased = true;
	/*
	 * The base takes at most the data of the images above it, all read
	 * through the top, and grows to at most their size; an emptied top
	 * and a VMDK child only have their metadata rewritten.
	 */
	if (fill_commit(w, msg, &params, err, sizeof(err)) != 0 ||
	    (!w->dry_run && worker_limit_writes(w, (int)msg->base_index,
	    msg->base_index, false, true, err, sizeof(err)) != 0)) {
		send_failure(w->sock, err);
		return;
	}
	memset(&run, 0, sizeof(run));
	run.op = INSTAR_OP_COMMIT;
	run.params = &params;
	run.params_len = sizeof(params);
	run.result = &res;
	run.result_min = sizeof(res);
	run.result_len = sizeof(res);
	/* Nothing is written to pace in a dry run. */
	run.rate_limit = w->dry_run ? 0 : msg->rate_limit;
	if (worker_run_guest(w, &run, &got, err, sizeof(err)) != 0) {
		send_run_failure(w, got == sizeof(res),
		    commit_result_validate(&res), res.status, res.error,
		    sizeof(res.error), err);
		return;
	}
	report_commit(w, params.base_index, &res, got);
}

