/*
 * The check job (and check -r, which repairs in place), and info with
 * check in one guest run for "check" on a chain's images.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "check_job.h"
#include "frame.h"
#include "log.h"
#include "worker.h"

_Static_assert(sizeof(struct instar_check_result) <= INSTAR_HC_RESULT_MAX,
    "a check result must fit the vmm's result cap");

/*
 * A validated result: the counts and lines, or, for a check that
 * failed after printing lines (res->status 1), the lines and why.
 */
static void
send_check_done(int sock, const struct instar_check_result *res)
{
	static char *lines[INSTAR_CHECK_TEXT_MAX / 2];
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__CheckDone done = INSTAR__CHECK_DONE__INIT;
	uint32_t pos = 0, n = 0;

	/* A validated text: nlines NUL-terminated printable lines. */
	while (pos < res->text_len && n < res->nlines) {
		lines[n++] = (char *)res->text + pos;
		pos += (uint32_t)strlen(res->text + pos) + 1;
	}
	done.has_checks = res->has_checks != 0;
	done.corruptions = res->corruptions;
	done.leaks = res->leaks;
	done.check_errors = res->check_errors;
	done.corruptions_fixed = res->corruptions_fixed;
	done.leaks_fixed = res->leaks_fixed;
	done.image_end_offset = res->image_end_offset;
	done.total_clusters = res->total_clusters;
	done.allocated_clusters = res->allocated_clusters;
	done.fragmented_clusters = res->fragmented_clusters;
	done.compressed_clusters = res->compressed_clusters;
	done.n_messages = n;
	done.messages = lines;
	done.messages_dropped = res->lines_dropped;
	if (res->status != 0)
		done.failure = (char *)res->error;
	env.body_case = INSTAR__ENVELOPE__BODY_CHECK_DONE;
	env.check_done = &done;
	if (frame_send(sock, &env, NULL, 0) != 0)
		fatal_f("cannot reach the monitor: %s", strerror(errno));
}

static void
report_check(struct worker *w, struct instar_check_result *res, size_t got)
{
	const char *why;

	why = result_problem(true, check_result_validate(res, got),
	    res->status, res->error, sizeof(res->error));
	if (why != NULL)
		send_malformed(w, why);
	else if (res->status != 0 && res->nlines == 0)
		send_failure(w->sock, res->error);
	else
		send_check_done(w->sock, res);
}

void
worker_check(struct worker *w, const Instar__Check *msg)
{
	static struct instar_check_params params;
	static struct instar_check_result res;
	struct job_run run;
	char err[512];
	const char *why;
	size_t got;

	if (w->op != INSTAR_OP_CHECK || w->ndevs != 1)
		fatal("unexpected check request");
	memset(&params, 0, sizeof(params));
	switch (msg->repair) {
	case INSTAR__CHECK__REPAIR__REPAIR_NONE:
		params.repair = INSTAR_CHECK_REPAIR_NONE;
		break;
	case INSTAR__CHECK__REPAIR__REPAIR_LEAKS:
		params.repair = INSTAR_CHECK_REPAIR_LEAKS;
		break;
	case INSTAR__CHECK__REPAIR__REPAIR_ALL:
		params.repair = INSTAR_CHECK_REPAIR_ALL;
		break;
	default:
		send_failure(w->sock, "invalid check request: bad repair mode");
		return;
	}
	if (params.repair != INSTAR_CHECK_REPAIR_NONE && !w->may_write) {
		send_failure(w->sock, "invalid check request: this check job "
		    "is read-only and cannot repair");
		return;
	}
	params.format = w->dev_formats[0];
	if ((why = check_params_validate(&params, w->ndevs,
	    w->devs[0].writable, false)) != NULL) {
		snprintf(err, sizeof(err), "invalid check request: %s", why);
		send_failure(w->sock, err);
		return;
	}
	/*
	 * -r leaks only lowers refcounts in place.  -r all may rebuild the
	 * refcount structure after every cluster the image references and
	 * grow the file to hold a block its table names, wherever the
	 * format lets that be.  Another image of the chain may follow, so
	 * the hard limit stays.
	 */
	if (params.repair != INSTAR_CHECK_REPAIR_NONE &&
	    worker_limit_writes(w, -1, 0,
	    params.repair == INSTAR_CHECK_REPAIR_ALL, false, err,
	    sizeof(err)) != 0) {
		send_failure(w->sock, err);
		return;
	}
	memset(&run, 0, sizeof(run));
	run.op = INSTAR_OP_CHECK;
	run.params = &params;
	run.params_len = sizeof(params);
	run.result = &res;
	run.result_min = INSTAR_CHECK_RESULT_MIN;
	run.result_len = sizeof(res);
	if (worker_run_guest(w, &run, &got, err, sizeof(err)) != 0) {
		send_run_failure(w, got >= INSTAR_CHECK_RESULT_MIN,
		    check_result_validate(&res, got), res.status, res.error,
		    sizeof(res.error), err);
		return;
	}
	report_check(w, &res, got);
}

void
worker_info_check(struct worker *w, int fd, uint32_t format,
    const Instar__Check *msg)
{
	static struct instar_check_params params;
	static struct instar_info_check_result res;
	static struct instar_info_result info;
	struct vmm_device *d;
	struct job_run run;
	struct stat st;
	char err[512];
	size_t got;

	if (w->op != INSTAR_OP_CHECK || w->ndevs != 0 ||
	    msg->repair != INSTAR__CHECK__REPAIR__REPAIR_NONE)
		fatal("unexpected info and check request");
	d = &w->devs[0];
	memset(d, 0, sizeof(*d));
	d->fd = fd;
	w->dev_formats[0] = format;
	w->ndevs = 1;
	if (worker_image_stat(fd, &st) != 0) {
		send_failure(w->sock, "not a regular file");
		return;
	}
	d->size = (uint64_t)st.st_size;
	memset(&params, 0, sizeof(params));
	params.repair = INSTAR_CHECK_REPAIR_NONE;
	params.format = format;
	memset(&run, 0, sizeof(run));
	run.op = INSTAR_OP_INFO_CHECK;
	run.params = &params;
	run.params_len = sizeof(params);
	run.result = &res;
	run.result_min = INSTAR_INFO_CHECK_RESULT_MIN;
	run.result_len = sizeof(res);
	if (worker_run_guest(w, &run, &got, err, sizeof(err)) != 0) {
		/*
		 * Which half failed is not known: say it as two runs would,
		 * the info's outcome, then, if it opened, the check's.
		 */
		if (worker_inspect(w, fd, format, true))
			send_failure(w->sock, err);
		return;
	}
	memset(&info, 0, INSTAR_INFO_RESULT_MIN);
	info.status = res.info_status;
	memcpy(info.error, res.info_error, sizeof(info.error));
	if (res.info_status == 0)
		info.info = res.info;
	if (!worker_report_info(w, &info, INSTAR_INFO_RESULT_MIN))
		return;
	report_check(w, &res.check,
	    got - offsetof(struct instar_info_check_result, check));
}
