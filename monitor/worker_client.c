/*
 * Starting and talking to instar-worker.  The worker is exec'd fresh,
 * with a clean environment and only its socket open, and every message it
 * sends is checked against what the current state permits (OpenSSH's
 * monitor permit table is the model).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "log.h"
#include "proc_fds.h"
#include "worker_client.h"

/*
 * A test build (instar-test) starts the test worker, the only one that
 * obeys the crash-injection hook; it is never installed.
 */
#ifdef INSTAR_TEST_HOOKS
#define WORKER_NAME		"instar-worker-test"
#else
#define WORKER_NAME		"instar-worker"
#endif
#define WORKER_SOCK_FD		3
/* Time the worker may take beyond the guest's own limit to answer. */
#define WORKER_GRACE_MS		5000

#define PERMIT_MAX		3

/* Bounds on a check's findings (the guest's record is smaller still). */
#define CHECK_MESSAGES_MAX	(128u * 1024)
#define CHECK_LINE_MAX		4096u

struct permit {
	enum worker_state state;
	Instar__Envelope__BodyCase allowed[PERMIT_MAX];
};

static const struct permit permits[] = {
	{ WS_STARTING, { INSTAR__ENVELOPE__BODY_READY,
	    INSTAR__ENVELOPE__BODY_FAILURE } },
	{ WS_AWAIT_INFO, { INSTAR__ENVELOPE__BODY_IMAGE_INFO,
	    INSTAR__ENVELOPE__BODY_FAILURE } },
	/* The check runs in the guest run that opens the image. */
	{ WS_AWAIT_INFO_CHECK, { INSTAR__ENVELOPE__BODY_PROGRESS,
	    INSTAR__ENVELOPE__BODY_IMAGE_INFO,
	    INSTAR__ENVELOPE__BODY_FAILURE } },
	{ WS_AWAIT_REBASE, { INSTAR__ENVELOPE__BODY_PROGRESS,
	    INSTAR__ENVELOPE__BODY_REBASE_DONE,
	    INSTAR__ENVELOPE__BODY_FAILURE } },
	{ WS_AWAIT_COMMIT, { INSTAR__ENVELOPE__BODY_PROGRESS,
	    INSTAR__ENVELOPE__BODY_COMMIT_DONE,
	    INSTAR__ENVELOPE__BODY_FAILURE } },
	{ WS_AWAIT_CHECK, { INSTAR__ENVELOPE__BODY_PROGRESS,
	    INSTAR__ENVELOPE__BODY_CHECK_DONE,
	    INSTAR__ENVELOPE__BODY_FAILURE } },
	{ WS_RELEASING, { INSTAR__ENVELOPE__BODY_DONE } },
};

static void conn_error(struct worker_conn *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static bool check_done_valid(const Instar__CheckDone *);

static void
conn_error(struct worker_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	c->hint[0] = '\0';
}

void
worker_print_hint(const struct worker_conn *c)
{
	if (c->hint[0] != '\0')
		error_plain("%s", c->hint);
}

static bool
permitted(enum worker_state state, Instar__Envelope__BodyCase body)
{
	size_t i, j;

	for (i = 0; i < sizeof(permits) / sizeof(permits[0]); i++) {
		if (permits[i].state != state)
			continue;
		for (j = 0; j < PERMIT_MAX; j++)
			if (permits[i].allowed[j] == body &&
			    body != INSTAR__ENVELOPE__BODY__NOT_SET)
				return true;
	}
	return false;
}

/*
 * The worker next to this executable when run from a build tree, else
 * the installed one in libexecdir.
 */
static int
worker_path(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if (snprintf(buf, len, "%s/%s", self, WORKER_NAME) <
			    (int)len && access(buf, X_OK) == 0)
				return 0;
		}
	}
	if (snprintf(buf, len, "%s/%s", LIBEXECDIR, WORKER_NAME) >= (int)len)
		return -1;
	return 0;
}

static const char *
signal_meaning(int sig)
{
	if (sig == SIGSYS)
		return " (the sandbox stopped a forbidden system call)";
	if (sig == SIGKILL)
		return " (killed)";
	return "";
}

/* Reap the worker and describe how it ended, if it did badly. */
static void
reap(struct worker_conn *c, bool kill_first, char *why, size_t len)
{
	int status;

	if (c->pid <= 0)
		return;
	if (kill_first)
		kill(c->pid, SIGKILL);
	while (waitpid(c->pid, &status, 0) < 0) {
		if (errno != EINTR) {
			snprintf(why, len, "cannot wait for the worker: %s",
			    strerror(errno));
			c->pid = -1;
			return;
		}
	}
	c->pid = -1;
	if (WIFSIGNALED(status) && !(kill_first &&
	    WTERMSIG(status) == SIGKILL))
		snprintf(why, len, "the worker died of signal %d%s",
		    WTERMSIG(status), signal_meaning(WTERMSIG(status)));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		snprintf(why, len, "the worker failed (exit status %d)",
		    WEXITSTATUS(status));
	else
		why[0] = '\0';
}

static void
fail_dead(struct worker_conn *c, const char *what)
{
	char why[256];

	if (c->sock >= 0)
		close(c->sock);
	c->sock = -1;
	reap(c, true, why, sizeof(why));
	if (why[0] != '\0')
		conn_error(c, "%s", why);
	else
		conn_error(c, "the worker stopped answering: %s", what);
	c->state = WS_DEAD;
}

/* Receive the next message, enforcing the permit table. */
static Instar__Envelope *
receive(struct worker_conn *c)
{
	Instar__Envelope *env;
	const char *why;
	int fds[1];
	size_t nfds;

	env = frame_recv(c->sock, c->reply_timeout_ms, fds, 0, &nfds, &why);
	if (env == NULL) {
		fail_dead(c, why);
		return NULL;
	}
	if (!permitted(c->state, env->body_case)) {
		instar__envelope__free_unpacked(env, NULL);
		fail_dead(c, "it sent a message out of turn");
		return NULL;
	}
	return env;
}

/* Which file fd is, for worker_finish() to look for in the worker. */
static void
remember_sent(struct worker_conn *c, int fd)
{
	if (c->nsent >= WORKER_SENT_MAX ||
	    file_id_of(fd, &c->sent[c->nsent]) != 0) {
		c->sent_unknown = true;
		return;
	}
	c->nsent++;
}

static int
send_env(struct worker_conn *c, const Instar__Envelope *env, const int *fds,
    size_t nfds)
{
	size_t i;

	for (i = 0; i < nfds; i++)
		remember_sent(c, fds[i]);
	if (frame_send(c->sock, env, fds, nfds) != 0) {
		fail_dead(c, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * What the worker starts with: /dev/null for standard input and output
 * (it has no business with the user's terminal or pipes), the monitor's
 * standard error, the socket as descriptor 3 and nothing else.
 */
static int
worker_fds(posix_spawn_file_actions_t *fa, int sock)
{
	return posix_spawn_file_actions_addopen(fa, STDIN_FILENO, "/dev/null",
	    O_RDWR, 0) != 0 ||
	    posix_spawn_file_actions_adddup2(fa, STDIN_FILENO,
	    STDOUT_FILENO) != 0 ||
	    posix_spawn_file_actions_adddup2(fa, sock, WORKER_SOCK_FD) != 0 ||
	    posix_spawn_file_actions_addclosefrom_np(fa,
	    WORKER_SOCK_FD + 1) != 0 ? -1 : 0;
}

/*
 * Start the worker with posix_spawn(), which does not copy the monitor's
 * page tables as fork() would: on this nested KVM every copy-on-write
 * fault that follows a fork costs tens of microseconds.
 */
static int
spawn(struct worker_conn *c)
{
	char *const argv[] = { (char *)WORKER_NAME, NULL };
	char *const envp[] = { NULL };
	posix_spawn_file_actions_t fa;
	char path[PATH_MAX];
	int sv[2], child, r;

	if (worker_path(path, sizeof(path)) != 0) {
		conn_error(c, "cannot locate %s", WORKER_NAME);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		conn_error(c, "socketpair: %s", strerror(errno));
		return -1;
	}
	/* dup2 onto itself would leave close-on-exec set: move it first. */
	child = sv[1];
	if (child == WORKER_SOCK_FD &&
	    (child = fcntl(sv[1], F_DUPFD_CLOEXEC, WORKER_SOCK_FD + 1)) < 0) {
		conn_error(c, "fcntl: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if ((r = posix_spawn_file_actions_init(&fa)) == 0) {
		if (worker_fds(&fa, child) != 0)
			r = ENOMEM;
		else
			r = posix_spawn(&c->pid, path, &fa, NULL, argv, envp);
		posix_spawn_file_actions_destroy(&fa);
	}
	if (child != sv[1])
		close(child);
	close(sv[1]);
	if (r != 0) {
		c->pid = -1;
		conn_error(c, "the worker could not be started (%s: %s)",
		    path, strerror(r));
		close(sv[0]);
		return -1;
	}
	c->sock = sv[0];
	return 0;
}

/*
 * The crash-injection tests (regress/crash-*.sh) set
 * INSTAR_TEST_STOP_AFTER_WRITES=N to have the worker exit after its N-th
 * write request, as a crash there would.  Not for users: it exists so
 * that crash safety is shown by experiment, for every N, and only the
 * test build (instar-test) reads it, so that an environment cannot make
 * an installed instar leave an image half-written.
 */
#ifndef INSTAR_TEST_HOOKS
static void
test_crash_point(Instar__Job *job)
{
	(void)job;
}
#else
static void
test_crash_point(Instar__Job *job)
{
	const char *s = getenv("INSTAR_TEST_STOP_AFTER_WRITES");
	char *end;
	unsigned long n;

	if (s == NULL || *s == '\0')
		return;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || n == 0 || n > UINT32_MAX)
		return;
	job->has_test_stop_after_writes = 1;
	job->test_stop_after_writes = (uint32_t)n;
}
#endif

int
worker_start(struct worker_conn *c, Instar__Op op, uint32_t guest_timeout_ms)
{
	return worker_start_job(c, op, guest_timeout_ms, false);
}

int
worker_start_job(struct worker_conn *c, Instar__Op op,
    uint32_t guest_timeout_ms, bool dry_run)
{
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__Job job = INSTAR__JOB__INIT;
	Instar__Envelope *reply;

	memset(c, 0, sizeof(*c));
	c->pid = -1;
	c->sock = -1;
	c->reply_timeout_ms = (int)guest_timeout_ms + WORKER_GRACE_MS;
	if (spawn(c) != 0)
		return -1;
	c->state = WS_STARTING;
	job.op = op;
	job.guest_timeout_ms = guest_timeout_ms;
	if (dry_run) {
		job.has_dry_run = true;
		job.dry_run = true;
	}
	test_crash_point(&job);
	env.body_case = INSTAR__ENVELOPE__BODY_JOB;
	env.job = &job;
	if (send_env(c, &env, NULL, 0) != 0)
		return -1;
	if ((reply = receive(c)) == NULL)
		return -1;
	if (reply->body_case == INSTAR__ENVELOPE__BODY_FAILURE) {
		conn_error(c, "%s", reply->failure->message);
		instar__envelope__free_unpacked(reply, NULL);
		worker_abort(c);
		return -1;
	}
	instar__envelope__free_unpacked(reply, NULL);
	c->state = WS_IDLE;
	return 0;
}

/*
 * Whether reply is the worker's Failure for an image or a job, which it
 * then frees, its message left in conn->error.
 */
static bool
refused(struct worker_conn *c, Instar__Envelope *reply, int *image_error)
{
	const char *hint;

	if (reply->body_case != INSTAR__ENVELOPE__BODY_FAILURE)
		return false;
	conn_error(c, "%s", reply->failure->message);
	/* The worker sends less; a longer one is not a hint it wrote. */
	hint = reply->failure->hint;
	if (hint != NULL && strlen(hint) < sizeof(c->hint))
		memcpy(c->hint, hint, strlen(hint) + 1);
	instar__envelope__free_unpacked(reply, NULL);
	*image_error = 1;
	return true;
}

/* Whether a progress report makes sense: never past its own total. */
static bool
progress_valid(const Instar__Progress *p)
{
	return p->done <= p->total;
}

/*
 * The next frame that is not progress, in the state the caller set;
 * progress goes to on_progress.  Each frame gets the full timeout:
 * progress is the heartbeat of a long guest run.
 */
static Instar__Envelope *
receive_past_progress(struct worker_conn *c, worker_progress_fn *on_progress,
    void *arg)
{
	Instar__Envelope *reply;

	while ((reply = receive(c)) != NULL &&
	    reply->body_case == INSTAR__ENVELOPE__BODY_PROGRESS) {
		if (!progress_valid(reply->progress)) {
			instar__envelope__free_unpacked(reply, NULL);
			fail_dead(c, "it reported impossible progress");
			return NULL;
		}
		if (on_progress != NULL)
			on_progress(reply->progress->done,
			    reply->progress->total, arg);
		instar__envelope__free_unpacked(reply, NULL);
	}
	return reply;
}

/*
 * Wait in state await for the outcome of a guest run: progress frames
 * first, then the outcome, which leaves the worker in WS_RAN.
 */
static Instar__Envelope *
await_outcome(struct worker_conn *c, enum worker_state await,
    worker_progress_fn *on_progress, void *arg, int *image_error)
{
	Instar__Envelope *reply;

	*image_error = 0;
	c->state = await;
	if ((reply = receive_past_progress(c, on_progress, arg)) == NULL)
		return NULL;
	c->state = WS_RAN;
	return refused(c, reply, image_error) ? NULL : reply;
}

static Instar__Envelope *
open_image(struct worker_conn *c, int fd, Instar__Format fmt,
    const Instar__Check *check, bool for_check, int *image_error)
{
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__OpenImage open_image = INSTAR__OPEN_IMAGE__INIT;
	Instar__Envelope *reply;

	*image_error = 0;
	if (c->state != WS_IDLE) {
		conn_error(c, "the worker is not ready");
		return NULL;
	}
	open_image.format = fmt;
	open_image.check = (Instar__Check *)check;
	if (for_check && check == NULL) {
		open_image.has_for_check = 1;
		open_image.for_check = 1;
	}
	env.body_case = INSTAR__ENVELOPE__BODY_OPEN_IMAGE;
	env.open_image = &open_image;
	if (send_env(c, &env, &fd, 1) != 0)
		return NULL;
	/* A check runs as the image opens: its progress comes first. */
	c->state = check != NULL ? WS_AWAIT_INFO_CHECK : WS_AWAIT_INFO;
	if ((reply = receive_past_progress(c, NULL, NULL)) == NULL)
		return NULL;
	c->state = WS_IDLE;
	return refused(c, reply, image_error) ? NULL : reply;
}

Instar__Envelope *
worker_image_info(struct worker_conn *c, int fd, Instar__Format fmt,
    bool for_check, int *image_error)
{
	return open_image(c, fd, fmt, NULL, for_check, image_error);
}

Instar__Envelope *
worker_image_info_check(struct worker_conn *c, int fd, Instar__Format fmt,
    const Instar__Check *check, struct worker_check_outcome *out,
    int *image_error)
{
	Instar__Envelope *info, *done;
	int check_error;

	memset(out, 0, sizeof(*out));
	if ((info = open_image(c, fd, fmt, check, true, image_error)) == NULL)
		return NULL;
	done = await_outcome(c, WS_AWAIT_CHECK, NULL, NULL, &check_error);
	if (c->state == WS_RAN)
		c->state = WS_IDLE;
	if (done != NULL && !check_done_valid(done->check_done)) {
		instar__envelope__free_unpacked(done, NULL);
		fail_dead(c, "it sent an impossible check result");
		done = NULL;
		check_error = 0;
	}
	if (done == NULL && !check_error) {
		/* The worker is gone: the image cannot be said to be open. */
		instar__envelope__free_unpacked(info, NULL);
		return NULL;
	}
	if (done != NULL)
		out->env = done;
	else if ((out->failure = strdup(c->error)) == NULL)
		fatal_f("out of memory");
	return info;
}

int
worker_attach(struct worker_conn *c, int fd, Instar__Format fmt,
    bool writable)
{
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__AttachImage attach = INSTAR__ATTACH_IMAGE__INIT;

	if (c->state != WS_IDLE && c->state != WS_ATTACHING) {
		conn_error(c, "the worker is not ready");
		return -1;
	}
	attach.format = fmt;
	attach.writable = writable;
	env.body_case = INSTAR__ENVELOPE__BODY_ATTACH_IMAGE;
	env.attach_image = &attach;
	if (send_env(c, &env, &fd, 1) != 0)
		return -1;
	c->state = WS_ATTACHING;
	return 0;
}

/*
 * Send the job (a Rebase or a Commit) for the attached images and wait
 * for its outcome in state await; progress frames come first.
 */
static Instar__Envelope *
run_job(struct worker_conn *c, const Instar__Envelope *env,
    enum worker_state await, worker_progress_fn *on_progress, void *arg,
    int *image_error)
{
	*image_error = 0;
	if (c->state != WS_ATTACHING) {
		conn_error(c, "the worker has no images to work on");
		return NULL;
	}
	if (send_env(c, env, NULL, 0) != 0)
		return NULL;
	return await_outcome(c, await, on_progress, arg, image_error);
}

Instar__Envelope *
worker_rebase(struct worker_conn *c, const Instar__Rebase *rebase,
    worker_progress_fn *on_progress, void *arg, int *image_error)
{
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;

	env.body_case = INSTAR__ENVELOPE__BODY_REBASE;
	env.rebase = (Instar__Rebase *)rebase;
	return run_job(c, &env, WS_AWAIT_REBASE, on_progress, arg, image_error);
}

Instar__Envelope *
worker_commit(struct worker_conn *c, const Instar__Commit *commit,
    worker_progress_fn *on_progress, void *arg, int *image_error)
{
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;

	env.body_case = INSTAR__ENVELOPE__BODY_COMMIT;
	env.commit = (Instar__Commit *)commit;
	return run_job(c, &env, WS_AWAIT_COMMIT, on_progress, arg, image_error);
}

/*
 * What the monitor will print of a check's outcome: lines of printable
 * text (no control characters, so nothing can move the cursor or start
 * a new line on the user's terminal), bounded in number and length, and
 * no findings for a format without checks.
 */
/* A line the monitor may print: not empty unless allowed, bounded, and
 * without control characters. */
static bool
printable_line(const char *s, bool may_be_empty)
{
	const unsigned char *p;
	size_t len = strlen(s);

	if (len >= CHECK_LINE_MAX || (len == 0 && !may_be_empty))
		return false;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static bool
check_done_valid(const Instar__CheckDone *d)
{
	size_t i;

	if (d->n_messages > CHECK_MESSAGES_MAX)
		return false;
	for (i = 0; i < d->n_messages; i++)
		if (!printable_line(d->messages[i], true))
			return false;
	if (d->failure != NULL && !printable_line(d->failure, false))
		return false;
	/* Cut short, the counts mean nothing; otherwise a format without
	 * checks has found nothing. */
	if (d->failure == NULL && !d->has_checks &&
	    (d->corruptions != 0 || d->leaks != 0 || d->check_errors != 0 ||
	    d->corruptions_fixed != 0 || d->leaks_fixed != 0 ||
	    d->n_messages != 0))
		return false;
	/* qemu holds these in int64_t and prints them with PRId64. */
	if (d->corruptions > INT64_MAX || d->leaks > INT64_MAX ||
	    d->check_errors > INT64_MAX || d->corruptions_fixed > INT64_MAX ||
	    d->leaks_fixed > INT64_MAX || d->image_end_offset > INT64_MAX ||
	    d->total_clusters > INT64_MAX ||
	    d->allocated_clusters > INT64_MAX ||
	    d->fragmented_clusters > INT64_MAX ||
	    d->compressed_clusters > INT64_MAX)
		return false;
	return true;
}

Instar__Envelope *
worker_check(struct worker_conn *c, const Instar__Check *check,
    worker_progress_fn *on_progress, void *arg, int *image_error)
{
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__Envelope *reply;

	env.body_case = INSTAR__ENVELOPE__BODY_CHECK;
	env.check = (Instar__Check *)check;
	reply = run_job(c, &env, WS_AWAIT_CHECK, on_progress, arg, image_error);
	if (c->state == WS_RAN)
		c->state = WS_IDLE;	/* the next image may follow */
	if (reply != NULL && !check_done_valid(reply->check_done)) {
		instar__envelope__free_unpacked(reply, NULL);
		fail_dead(c, "it sent an impossible check result");
		return NULL;
	}
	return reply;
}

/*
 * Tell the worker it is done, and take its Done back: it has let go of
 * every image by then.
 */
static int
worker_release(struct worker_conn *c)
{
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__Done done = INSTAR__DONE__INIT;
	Instar__Envelope *reply;

	if (c->state == WS_DEAD)
		return -1;
	env.body_case = INSTAR__ENVELOPE__BODY_DONE;
	env.done = &done;
	if (send_env(c, &env, NULL, 0) != 0)
		return -1;
	c->state = WS_RELEASING;
	if ((reply = receive(c)) == NULL)
		return -1;
	instar__envelope__free_unpacked(reply, NULL);
	close(c->sock);
	c->sock = -1;
	c->state = WS_RELEASED;
	return 0;
}

static int
worker_wait(struct worker_conn *c)
{
	char why[256];

	if (c->state != WS_RELEASED)
		return -1;
	reap(c, false, why, sizeof(why));
	c->state = WS_DEAD;
	if (why[0] != '\0') {
		conn_error(c, "%s", why);
		return -1;
	}
	return 0;
}

/*
 * End a worker that may have written.  One that has let go of every
 * image can write no more, so it is SIGKILLed and left for init to
 * reap, as worker_leave() does: the kernel's teardown of its VM takes
 * about 1 ms, a sixth of a small rebase -u.  Otherwise it is waited for
 * until it has exited, so that no write of it outlasts the command.
 */
int
worker_finish(struct worker_conn *c)
{
	if (worker_release(c) != 0)
		return -1;
	if (!c->sent_unknown && !proc_may_hold(c->pid, c->sent, c->nsent)) {
		(void)kill(c->pid, SIGKILL);
		c->pid = -1;
		c->state = WS_DEAD;
		return 0;
	}
	return worker_wait(c);
}

/*
 * SIGKILL, so the worker runs no further instruction of its own, and no
 * reaping: the kernel's teardown of its VM and memory takes about 1 ms
 * on nested KVM, which a command that has its whole answer need not
 * wait for.  Once the monitor has exited, init reaps the worker.  Only
 * for a worker with read-only descriptors, or (worker_finish()) one
 * that holds none any more.
 */
void
worker_leave(struct worker_conn *c)
{
	if (c->sock >= 0)
		close(c->sock);
	c->sock = -1;
	if (c->pid > 0)
		(void)kill(c->pid, SIGKILL);
	c->pid = -1;
	c->state = WS_DEAD;
}

void
worker_abort(struct worker_conn *c)
{
	char why[256];

	if (c->sock >= 0)
		close(c->sock);
	c->sock = -1;
	reap(c, true, why, sizeof(why));
	c->state = WS_DEAD;
}
