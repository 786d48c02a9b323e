/*
 * The worker's sandbox, applied in a child process: allowed calls work,
 * forbidden ones (or allowed ones with forbidden arguments) kill the
 * process with SIGSYS.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox.h"

enum action {
	DO_NOTHING,
	DO_OPEN,
	DO_SOCKET,
	DO_EXECVE,
	DO_WRITE_STDOUT,
	DO_MMAP_EXEC,
	DO_MMAP_FILE,
	DO_MADVISE_WILLNEED,
	DO_IOCTL_OTHER_FD,
	DO_FORK,
	DO_PREAD,
	DO_PWRITE_READONLY,
	DO_WRITE_STDERR,
	DO_FPRINTF_STDERR,
	DO_SANDBOX_FSTAT,
	DO_NEWFSTATAT_PATH,
	DO_PREAD_BELOW,
	DO_PREAD_TOP,
	DO_PREAD_ABOVE,
	DO_FSTAT_BELOW,
	DO_FSTAT_SOCKET,
	DO_PWRITE,
	DO_PWRITE_BELOW,
	DO_FTRUNCATE_BELOW,
	DO_FDATASYNC_BELOW,
	DO_COPY,
	DO_COPY_FROM_BELOW,
	DO_COPY_TO_ABOVE,
	DO_PRLIMIT_FSIZE,
	DO_PRLIMIT_NOFILE,
	DO_FSIZE_EFBIG,
	DO_FSIZE_HARD,
	DO_FSIZE_SOFT,
	DO_HOLD,
};

/*
 * The child's descriptors: a file below the images' range, the range's
 * first and last descriptors, and one past its end, all on the same
 * scratch file.
 */
#define TOP_FD		64
#define ABOVE_FD	(TOP_FD + 1)

struct fds {
	int sock;
	int below;
	int data;
};

/*
 * Tell the parent the sandbox is on and wait while it looks, on the
 * calls the socket allows.
 */
static void
hold(int sock)
{
	struct msghdr msg;
	struct iovec iov;
	char c = 'r';

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = &c;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (sendmsg(sock, &msg, 0) != 1)
		_exit(3);
	(void)recvmsg(sock, &msg, 0);
}


/* Writes past a lowered file size limit fail; no SIGXFSZ kills. */
static void
fsize_efbig(int fd)
{
	char err[256];

	if (sandbox_limit_fsize(4096, true, err, sizeof(err)) != 0)
		_exit(3);
	if (pwrite(fd, "x", 1, 4095) != 1)
		_exit(4);
	if (pwrite(fd, "x", 1, 4096) != -1 || errno != EFBIG)
		_exit(5);
	if (ftruncate(fd, 8192) != -1 || errno != EFBIG)
		_exit(6);
}

/* A hard limit once lowered stays: no capability raises it. */
static void
fsize_hard(void)
{
	struct rlimit rl = { 8192, 8192 };
	char err[256];

	if (sandbox_limit_fsize(4096, true, err, sizeof(err)) != 0)
		_exit(3);
	if (prlimit(0, RLIMIT_FSIZE, &rl, NULL) != -1 || errno != EPERM)
		_exit(4);
	if (sandbox_limit_fsize(8192, false, err, sizeof(err)) != 0 ||
	    prlimit(0, RLIMIT_FSIZE, NULL, &rl) != 0 || rl.rlim_cur != 4096)
		_exit(5);
}

/* A soft limit alone may rise again, for the next image of a chain. */
static void
fsize_soft(void)
{
	struct rlimit rl;
	char err[256];

	if (sandbox_limit_fsize(4096, false, err, sizeof(err)) != 0 ||
	    sandbox_limit_fsize(8192, false, err, sizeof(err)) != 0 ||
	    prlimit(0, RLIMIT_FSIZE, NULL, &rl) != 0 || rl.rlim_cur != 8192)
		_exit(3);
}

static void
perform_io(enum action a, const struct fds *f)
{
	char buf[16] = { 0 };
	struct stat st;
	struct rlimit rl;
	off_t in = 0, out = 0;

	switch (a) {
	case DO_PREAD_BELOW:
		(void)pread(f->below, buf, sizeof(buf), 0);
		break;
	case DO_PREAD_TOP:
		if (pread(TOP_FD, buf, sizeof(buf), 0) < 0)
			_exit(3);
		break;
	case DO_PREAD_ABOVE:
		(void)pread(ABOVE_FD, buf, sizeof(buf), 0);
		break;
	case DO_FSTAT_BELOW:
		(void)sandbox_fstat(f->below, &st);
		break;
	case DO_FSTAT_SOCKET:
		(void)sandbox_fstat(f->sock, &st);
		break;
	case DO_PWRITE:
		if (pwrite(f->data, buf, 1, 0) != 1 || fdatasync(f->data) != 0 ||
		    ftruncate(f->data, 4096) != 0)
			_exit(3);
		break;
	case DO_PWRITE_BELOW:
		(void)pwrite(f->below, buf, 1, 0);
		break;
	case DO_FTRUNCATE_BELOW:
		(void)ftruncate(f->below, 0);
		break;
	case DO_FDATASYNC_BELOW:
		(void)fdatasync(f->below);
		break;
	case DO_COPY:
		if (copy_file_range(f->data, &in, TOP_FD, &out, 1, 0) < 0)
			_exit(3);
		break;
	case DO_COPY_FROM_BELOW:
		(void)copy_file_range(f->below, &in, f->data, &out, 1, 0);
		break;
	case DO_COPY_TO_ABOVE:
		(void)copy_file_range(f->data, &in, ABOVE_FD, &out, 1, 0);
		break;
	case DO_PRLIMIT_FSIZE:
		if (prlimit(0, RLIMIT_FSIZE, NULL, &rl) != 0)
			_exit(3);
		break;
	case DO_PRLIMIT_NOFILE:
		(void)prlimit(0, RLIMIT_NOFILE, NULL, &rl);
		break;
	case DO_FSIZE_EFBIG:
		fsize_efbig(f->data);
		break;
	case DO_FSIZE_HARD:
		fsize_hard();
		break;
	case DO_FSIZE_SOFT:
		fsize_soft();
		break;
	case DO_HOLD:
		hold(f->sock);
		break;
	default:
		break;
	}
}

static void
perform(enum action a, const struct fds *f)
{
	char buf[16] = { 0 };
	struct stat st;
	char *const argv[] = { (char *)"/bin/true", NULL };
	int datafd = f->data;

	switch (a) {
	case DO_NOTHING:
		break;
	case DO_OPEN:
		(void)open("/etc/passwd", O_RDONLY);
		break;
	case DO_SOCKET:
		(void)socket(AF_INET, SOCK_STREAM, 0);
		break;
	case DO_EXECVE:
		execve(argv[0], argv, NULL);
		break;
	case DO_WRITE_STDOUT:
		(void)write(1, "x", 1);
		break;
	case DO_MMAP_EXEC:
		(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		break;
	case DO_MMAP_FILE:
		/* Shared and writable: writes that outlast the descriptor. */
		(void)mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
		    datafd, 0);
		break;
	case DO_MADVISE_WILLNEED:
		(void)madvise(buf, sizeof(buf), MADV_WILLNEED);
		break;
	case DO_IOCTL_OTHER_FD:
		/* KVM_RUN's number, on a descriptor that is not the vCPU. */
		(void)ioctl(datafd, 0xae80, 0);
		break;
	case DO_FORK:
		(void)fork();
		break;
	case DO_PREAD:
		if (pread(datafd, buf, sizeof(buf), 0) < 0)
			_exit(3);
		break;
	case DO_PWRITE_READONLY:
		(void)pwrite(datafd, buf, 1, 0);
		break;
	case DO_WRITE_STDERR:
		(void)write(2, "", 0);
		break;
	case DO_FPRINTF_STDERR:
		/* The worker's error path: stdio must need nothing more. */
		fprintf(stderr, "%s", "");
		break;
	case DO_SANDBOX_FSTAT:
		if (sandbox_fstat(datafd, &st) != 0 || !S_ISREG(st.st_mode))
			_exit(3);
		break;
	case DO_NEWFSTATAT_PATH:
		/* A lookup by name, even one that opens nothing. */
		(void)fstatat(AT_FDCWD, "/etc/passwd", &st, 0);
		break;
	default:
		perform_io(a, f);
		break;
	}
}

/* A scratch file of the test's own, open read-write, already unlinked. */
static int
scratch_file(void)
{
	char path[] = "test_sandbox.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(unlink(path), 0);
	return fd;
}

/* What a child in the sandbox was asked to look like, and its parent. */
struct run {
	bool may_write;
	pid_t pid;
	int sock;		/* the parent's end: close it to end a hold */
	struct fds f;
};

/* Wait until a child holding (DO_HOLD) is in its sandbox. */
static void
await_hold(const struct run *r)
{
	char c;

	assert_int_equal(read(r->sock, &c, 1), 1);
}

/*
 * Start action a inside the sandbox in a child.  The images' range is
 * the data descriptor up to TOP_FD, the socket and the descriptor below
 * lie under it, ABOVE_FD over it.
 */
static void
start_sandboxed(struct run *r, enum action a)
{
	struct sandbox_policy pol;
	char err[256];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	r->f.below = scratch_file();
	r->f.data = scratch_file();
	assert_true(r->f.data < TOP_FD);
	assert_int_equal(dup2(r->f.data, TOP_FD), TOP_FD);
	assert_int_equal(dup2(r->f.data, ABOVE_FD), ABOVE_FD);
	r->f.sock = sv[1];
	r->pid = fork();
	assert_true(r->pid >= 0);
	if (r->pid == 0) {
		/* Only the parent's end, closed, ends a hold. */
		close(sv[0]);
		memset(&pol, 0, sizeof(pol));
		pol.sock = sv[1];
		pol.vcpu_fd = 1000;	/* no such fd: ioctl is never allowed */
		pol.max_fd = TOP_FD;
		pol.io_fd_min = r->f.data;
		pol.may_write = r->may_write;
		if (sandbox_enter(&pol, err, sizeof(err)) != 0) {
			fprintf(stderr, "sandbox_enter: %s\n", err);
			_exit(2);
		}
		perform(a, &r->f);
		/* Straight to the kernel, past any sanitizer's exit hooks. */
		syscall(SYS_exit_group, 0);
	}
	r->sock = sv[0];
	close(sv[1]);
	close(r->f.below);
	close(r->f.data);
	close(TOP_FD);
	close(ABOVE_FD);
}

static int
wait_sandboxed(struct run *r)
{
	int status;

	close(r->sock);
	assert_int_equal(waitpid(r->pid, &status, 0), r->pid);
	return status;
}

/* Run action a inside the sandbox; return the child's wait status. */
static int
run_sandboxed(enum action a, bool may_write)
{
	struct run r;

	memset(&r, 0, sizeof(r));
	r.may_write = may_write;
	start_sandboxed(&r, a);
	return wait_sandboxed(&r);
}

static void
assert_killed_as(enum action a, bool may_write)
{
	int status = run_sandboxed(a, may_write);

	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

static void
assert_survives_as(enum action a, bool may_write)
{
	int status = run_sandboxed(a, may_write);

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("action %d: wait status 0x%x", (int)a, status);
}

static void
assert_killed(enum action a)
{
	assert_killed_as(a, false);
}

static void
assert_survives(enum action a)
{
	assert_survives_as(a, false);
}

static void
test_allowed_calls(void **state)
{
	(void)state;
	assert_survives(DO_NOTHING);
	assert_survives(DO_PREAD);
	assert_survives(DO_WRITE_STDERR);
	assert_survives(DO_FPRINTF_STDERR);
	assert_survives(DO_SANDBOX_FSTAT);
}

static void
test_forbidden_calls(void **state)
{
	(void)state;
	assert_killed(DO_OPEN);
	assert_killed(DO_SOCKET);
	assert_killed(DO_EXECVE);
	assert_killed(DO_FORK);
	assert_killed(DO_NEWFSTATAT_PATH);
}

static void
test_forbidden_arguments(void **state)
{
	(void)state;
	assert_killed(DO_WRITE_STDOUT);
	assert_killed(DO_MMAP_EXEC);
	assert_killed(DO_MADVISE_WILLNEED);
	assert_killed(DO_IOCTL_OTHER_FD);
	/* A read-only job may not write, even to a descriptor it holds. */
	assert_killed(DO_PWRITE_READONLY);
	assert_killed(DO_PWRITE);
	/* Nor map an image, even one it may write. */
	assert_killed(DO_MMAP_FILE);
	assert_killed_as(DO_MMAP_FILE, true);
}

/* File I/O only on the descriptors images arrive in. */
static void
test_image_fd_range(void **state)
{
	(void)state;
	assert_survives(DO_PREAD_TOP);
	assert_killed(DO_PREAD_BELOW);
	assert_killed(DO_PREAD_ABOVE);
	assert_killed(DO_FSTAT_BELOW);
	assert_killed(DO_FSTAT_SOCKET);
	assert_survives_as(DO_PWRITE, true);
	assert_survives_as(DO_COPY, true);
	assert_killed_as(DO_PWRITE_BELOW, true);
	assert_killed_as(DO_FTRUNCATE_BELOW, true);
	assert_killed_as(DO_FDATASYNC_BELOW, true);
	assert_killed_as(DO_COPY_FROM_BELOW, true);
	assert_killed_as(DO_COPY_TO_ABOVE, true);
	assert_killed_as(DO_PREAD_BELOW, true);
	/* Standard error stays writable for the log. */
	assert_survives_as(DO_WRITE_STDERR, true);
}

/* A read-only job cannot change its file size limit; a writing one may
 * lower it, and the kernel then refuses writes past it with EFBIG. */
static void
test_file_size_limit(void **state)
{
	(void)state;
	assert_killed(DO_PRLIMIT_FSIZE);
	assert_survives_as(DO_PRLIMIT_FSIZE, true);
	assert_killed_as(DO_PRLIMIT_NOFILE, true);
	assert_survives_as(DO_FSIZE_EFBIG, true);
	assert_survives_as(DO_FSIZE_HARD, true);
	assert_survives_as(DO_FSIZE_SOFT, true);
}

/* The line of /proc/PID/FILE that starts with key, without the key. */
static bool
proc_line(pid_t pid, const char *file, const char *key, char *out,
    size_t outlen)
{
	char path[64], line[256];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0) {
			snprintf(out, outlen, "%s", line + strlen(key));
			found = true;
		}
	fclose(f);
	return found;
}

/* Whether namespace ns of pid is another than the test's own. */
static bool
ns_differs(pid_t pid, const char *ns)
{
	char path[64], mine[128], theirs[128];
	ssize_t n, m;

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
	n = readlink(path, theirs, sizeof(theirs) - 1);
	if (n < 0) {
		fail_msg("readlink %s: %s", path, strerror(errno));
		return false;
	}
	theirs[n] = '\0';
	snprintf(path, sizeof(path), "/proc/self/ns/%s", ns);
	assert_true((m = readlink(path, mine, sizeof(mine) - 1)) > 0);
	mine[m] = '\0';
	return strcmp(mine, theirs) != 0;
}

/* Whether this kernel lets the test itself take these namespaces. */
static bool
can_unshare(int flags)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(unshare(flags) == 0 ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/*
 * As root the confined process is nobody, with no groups and no saved
 * root uid; in any case it sits in namespaces of its own where the
 * kernel allows them.  Read from /proc while it waits on its socket.
 */
static void
test_identity(void **state)
{
	static const char *const ns[] = { "ipc", "mnt" };
	char uid[128], gid[128], groups[128];
	bool root = geteuid() == 0;
	int user = root ? 0 : CLONE_NEWUSER;
	struct run r;
	size_t i;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.may_write = true;
	start_sandboxed(&r, DO_HOLD);
	await_hold(&r);
	assert_true(proc_line(r.pid, "status", "Uid:", uid, sizeof(uid)));
	assert_true(proc_line(r.pid, "status", "Gid:", gid, sizeof(gid)));
	assert_true(proc_line(r.pid, "status", "Groups:", groups,
	    sizeof(groups)));
	if (root) {
		assert_string_equal(uid, "\t65534\t65534\t65534\t65534\n");
		assert_string_equal(gid, "\t65534\t65534\t65534\t65534\n");
		assert_true(strspn(groups, " \t\n") == strlen(groups));
	}
	/* Unprivileged, a user namespace is what allows the others. */
	if (can_unshare(user | CLONE_NEWNS | CLONE_NEWIPC))
		for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
			if (!ns_differs(r.pid, ns[i]))
				fail_msg("the sandbox shares the %s namespace",
				    ns[i]);
	/* Root keeps its own: a new one would leave no uid to become. */
	if ((root || can_unshare(CLONE_NEWUSER)) &&
	    ns_differs(r.pid, "user") != !root)
		fail_msg("the sandbox %s a user namespace of its own",
		    root ? "has" : "lacks");
	assert_int_equal(wait_sandboxed(&r), 0);
}

/* The read-only policy leaves no file size to grow into at all. */
static void
test_read_only_limits(void **state)
{
	char fsize[128];
	struct run r;

	(void)state;
	memset(&r, 0, sizeof(r));
	start_sandboxed(&r, DO_HOLD);
	await_hold(&r);
	assert_true(proc_line(r.pid, "limits", "Max file size", fsize,
	    sizeof(fsize)));
	assert_int_equal(strtoull(fsize, NULL, 10), 0);
	assert_true(strstr(fsize, "unlimited") == NULL);
	assert_int_equal(wait_sandboxed(&r), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_calls),
		cmocka_unit_test(test_forbidden_calls),
		cmocka_unit_test(test_forbidden_arguments),
		cmocka_unit_test(test_image_fd_range),
		cmocka_unit_test(test_file_size_limit),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_read_only_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
