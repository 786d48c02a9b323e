/*
 * One guest run of a job over the attached devices, with its progress
 * passed on to the monitor; and the check every image descriptor passes
 * before its length is believed.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <string.h>
#include <time.h>

#include "frame.h"
#include "log.h"
#include "sandbox.h"
#include "worker.h"

/* Progress reaches the monitor at most this often. */
#define PROGRESS_INTERVAL_NS	(200ull * 1000 * 1000)

struct progress_state {
	int sock;
	uint64_t last_ns;
	bool sent_any;
};

int
worker_image_stat(int fd, struct stat *st)
{
	if (sandbox_fstat(fd, st) != 0 || !S_ISREG(st->st_mode) ||
	    st->st_size < 0)
		return -1;
	return 0;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
send_progress(void *arg, uint64_t done, uint64_t total)
{
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__Progress prog = INSTAR__PROGRESS__INIT;
	struct progress_state *ps = arg;
	uint64_t t = now_ns();

	if (ps->sent_any && t - ps->last_ns < PROGRESS_INTERVAL_NS &&
	    done != total)
		return;
	ps->sent_any = true;
	ps->last_ns = t;
	prog.done = done;
	prog.total = total;
	env.body_case = INSTAR__ENVELOPE__BODY_PROGRESS;
	env.progress = &prog;
	if (frame_send(ps->sock, &env, NULL, 0) != 0)
		fatal_f("cannot reach the monitor: %s", strerror(errno));
}

int
worker_run_guest(struct worker *w, const struct job_run *r, size_t *got, char *err,
    size_t errlen)
{
	struct progress_state ps;
	struct vmm_job job;

	memset(&ps, 0, sizeof(ps));
	ps.sock = w->sock;
	memset(&job, 0, sizeof(job));
	job.op = r->op;
	job.format = w->dev_formats[0];
	job.devs = w->devs;
	job.ndevs = w->ndevs;
	job.timeout_ms = w->timeout_ms;
	job.result = r->result;
	job.result_min = r->result_min;
	job.result_len = r->result_len;
	job.result_got = got;
	job.verbose = w->verbose;
	job.params = r->params;
	job.params_len = r->params_len;
	job.progress = send_progress;
	job.progress_arg = &ps;
	job.rate_limit = r->rate_limit;
	job.stop_after_writes = w->stop_after_writes;
	*got = 0;
	return vmm_run(w->vm, &job, err, errlen);
}
