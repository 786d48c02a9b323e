/*
 * instar-worker: exec'd by the monitor for one job, with its socket on
 * fd 3.  It builds the VM while it still may open /dev/kvm, reads the job,
 * locks itself down, and then serves images one at a time: each arrives
 * as a descriptor, is inspected by a fresh run of the guest, and the
 * checked result goes back to the monitor.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "frame.h"
#include "log.h"
#include "sandbox.h"
#include "vmm.h"
#include "worker.h"

#define WORKER_SOCK_FD		3
/* No job may ask for a guest run longer than this. */
#define WORKER_TIMEOUT_MAX_MS	(60u * 60 * 1000)

extern const uint8_t instar_guest_image[];
extern const uint64_t instar_guest_image_size;

#ifdef INSTAR_SANITIZERS
/*
 * LeakSanitizer's exit-time scan needs threads and ptrace, which the
 * sandbox rightly forbids; the sanitizer build checks leaks elsewhere.
 */
const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

static void
send_ready(int sock)
{
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__Ready ready = INSTAR__READY__INIT;

	env.body_case = INSTAR__ENVELOPE__BODY_READY;
	env.ready = &ready;
	if (frame_send(sock, &env, NULL, 0) != 0)
		fatal_f("cannot reach the monitor: %s", strerror(errno));
}

/*
 * Answer Done with Done once no image is attached any more: from then on
 * the worker can write to none (it opens nothing and maps no file), so
 * the monitor need not wait for the VM's teardown before it exits.
 */
static void
send_released(struct worker *w)
{
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__Done done = INSTAR__DONE__INIT;

	worker_detach_all(w);
	env.body_case = INSTAR__ENVELOPE__BODY_DONE;
	env.done = &done;
	if (frame_send(w->sock, &env, NULL, 0) != 0)
		fatal_f("cannot reach the monitor: %s", strerror(errno));
}

static Instar__Envelope *
receive(struct worker *w, int *fds, size_t maxfds, size_t *nfds)
{
	Instar__Envelope *env;
	const char *why;

	env = frame_recv(w->sock, -1, fds, maxfds, nfds, &why);
	if (env == NULL) {
		/* The monitor going away is how a job normally ends early. */
		if (strcmp(why, "peer closed the connection") == 0)
			exit(0);
		fatal("bad frame from the monitor: %s", why);
	}
	return env;
}

/* Whether to open the image as a check does: a check job's alone. */
static bool
open_for_check(const struct worker *w, const Instar__OpenImage *msg)
{
	if (!msg->has_for_check || !msg->for_check)
		return false;
	if (w->op != INSTAR_OP_CHECK)
		fatal("an image opened for a check outside a check job");
	return true;
}

/* Serve images until the monitor says Done. */
static void
serve(struct worker *w)
{
	for (;;) {
		Instar__Envelope *env;
		int fds[INSTAR_FRAME_FDS_MAX];
		size_t nfds;

		env = receive(w, fds, 1, &nfds);
		switch (env->body_case) {
		case INSTAR__ENVELOPE__BODY_ATTACH_IMAGE:
			if (nfds != 1)
				fatal("attach request without a descriptor");
			worker_attach(w, fds[0], env->attach_image);
			break;
		case INSTAR__ENVELOPE__BODY_REBASE:
			if (nfds != 0)
				fatal("unexpected descriptor with a rebase");
			worker_rebase(w, env->rebase);
			worker_detach_all(w);
			break;
		case INSTAR__ENVELOPE__BODY_COMMIT:
			if (nfds != 0)
				fatal("unexpected descriptor with a commit");
			worker_commit(w, env->commit);
			worker_detach_all(w);
			break;
		case INSTAR__ENVELOPE__BODY_CHECK:
			if (nfds != 0)
				fatal("unexpected descriptor with a check");
			worker_check(w, env->check);
			/* The next Check takes the next image. */
			worker_detach_all(w);
			break;
		case INSTAR__ENVELOPE__BODY_OPEN_IMAGE:
			if (nfds != 1)
				fatal("image request without a descriptor");
			if (env->open_image->check != NULL) {
				worker_info_check(w, fds[0],
				    format_from_pb(env->open_image->format),
				    env->open_image->check);
				worker_detach_all(w);
				break;
			}
			(void)worker_inspect(w, fds[0],
			    format_from_pb(env->open_image->format),
			    open_for_check(w, env->open_image));
			close(fds[0]);
			break;
		case INSTAR__ENVELOPE__BODY_DONE:
			instar__envelope__free_unpacked(env, NULL);
			send_released(w);
			return;
		default:
			fatal("unexpected message %d from the monitor",
			    (int)env->body_case);
		}
		instar__envelope__free_unpacked(env, NULL);
	}
}

static void
check_socket(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
		fatal("this program is started by instar, not by hand");
}

/* What the Job message says: the operation, and whether it may write. */
static void
take_job(struct worker *w, const Instar__Job *job)
{
	switch (job->op) {
	case INSTAR__OP__OP_INFO:
		w->op = INSTAR_OP_INFO;
		break;
	case INSTAR__OP__OP_REBASE:
		w->op = INSTAR_OP_REBASE;
		w->may_write = true;
		break;
	case INSTAR__OP__OP_COMMIT:
		w->op = INSTAR_OP_COMMIT;
		w->may_write = true;
		break;
	case INSTAR__OP__OP_CHECK:
		w->op = INSTAR_OP_CHECK;
		break;
	case INSTAR__OP__OP_CHECK_REPAIR:
		w->op = INSTAR_OP_CHECK;
		w->may_write = true;
		break;
	default:
		fatal("unknown job %d", (int)job->op);
	}
	/* A dry run writes nothing: its filter is a reader's. */
	if (job->has_dry_run && job->dry_run) {
		if (w->op != INSTAR_OP_REBASE && w->op != INSTAR_OP_COMMIT)
			fatal("only a rebase or a commit can be dry-run");
		w->dry_run = true;
		w->may_write = false;
	}
	w->timeout_ms = job->guest_timeout_ms;
	if (job->has_test_stop_after_writes)
		w->stop_after_writes = job->test_stop_after_writes;
	if (w->timeout_ms == 0 || w->timeout_ms > WORKER_TIMEOUT_MAX_MS)
		w->timeout_ms = WORKER_TIMEOUT_MAX_MS;
}

/*
 * Lock the worker down for its job.  Only a job that changes an image
 * may write at all (each device's writable flag stays enforced by the
 * vmm), and file I/O only on the descriptors images arrive in: the
 * numbers above every one open now, up to the descriptor limit.
 */
static int
confine(struct worker *w, char *err, size_t errlen)
{
	struct sandbox_policy pol;
	struct rlimit rl;

	memset(&pol, 0, sizeof(pol));
	pol.sock = w->sock;
	pol.vcpu_fd = vmm_vcpu_fd(w->vm);
	/* Room for the VM's descriptors plus the images of one job. */
	pol.max_fd = pol.vcpu_fd + INSTAR_MAX_DEVICES + INSTAR_FRAME_FDS_MAX + 1;
	pol.may_write = w->may_write;
	if (getrlimit(RLIMIT_FSIZE, &rl) != 0) {
		errbuf_set(err, errlen, "getrlimit FSIZE: %s", strerror(errno));
		return -1;
	}
	w->fsize_cap = (uint64_t)rl.rlim_cur;
	if (sandbox_fd_floor(pol.max_fd, &pol.io_fd_min, err, errlen) != 0)
		return -1;
	return sandbox_enter(&pol, err, errlen);
}

int
main(int argc, char **argv)
{
	struct worker w;
	Instar__Envelope *env;
	char err[512];
	size_t nfds;

	(void)argv;
	log_init("instar-worker");
	if (argc != 1)
		fatal("usage: instar-worker (started by instar)");
	check_socket(WORKER_SOCK_FD);
	/* Nothing the monitor did not hand over on purpose. */
	if (close_range(WORKER_SOCK_FD + 1, ~0u, 0) != 0)
		fatal_f("close_range: %s", strerror(errno));
	memset(&w, 0, sizeof(w));
	w.sock = WORKER_SOCK_FD;
	w.vm = vmm_open(instar_guest_image, (size_t)instar_guest_image_size,
	    err, sizeof(err));
	if (w.vm == NULL) {
		send_failure(w.sock, err);
		return 1;
	}
	env = receive(&w, NULL, 0, &nfds);
	if (env->body_case != INSTAR__ENVELOPE__BODY_JOB)
		fatal("the first message must be a job");
	take_job(&w, env->job);
	instar__envelope__free_unpacked(env, NULL);
	if (confine(&w, err, sizeof(err)) != 0) {
		send_failure(w.sock, err);
		return 1;
	}
	send_ready(w.sock);
	serve(&w);
	vmm_close(w.vm);
	return 0;
}
