/*
 * The worker's sandbox, applied in a child process: allowed calls work,
 * forbidden ones (or allowed ones with forbidden arguments) kill the
 * process with SIGSYS.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
	DO_MADVISE_WILLNEED,
	DO_IOCTL_OTHER_FD,
	DO_FORK,
	DO_PREAD,
	DO_PWRITE_READONLY,
	DO_WRITE_STDERR,
	DO_FPRINTF_STDERR,
	DO_SANDBOX_FSTAT,
	DO_NEWFSTATAT_PATH,
};

static void
perform(enum action a, int datafd)
{
	char buf[16] = { 0 };
	struct stat st;
	char *const argv[] = { (char *)"/bin/true", NULL };

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
		if (sandbox_fstat(datafd, &st) != 0 || !S_ISCHR(st.st_mode))
			_exit(3);
		break;
	case DO_NEWFSTATAT_PATH:
		/* A lookup by name, even one that opens nothing. */
		(void)fstatat(AT_FDCWD, "/etc/passwd", &st, 0);
		break;
	}
}

/* Run action a inside the sandbox; return the child's wait status. */
static int
run_sandboxed(enum action a)
{
	struct sandbox_policy pol;
	char err[256];
	int sv[2], datafd, status;
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	datafd = open("/dev/zero", O_RDONLY);
	assert_true(datafd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		memset(&pol, 0, sizeof(pol));
		pol.sock = sv[1];
		pol.vcpu_fd = 1000;	/* no such fd: ioctl is never allowed */
		pol.max_fd = 64;
		pol.may_write = false;
		if (sandbox_enter(&pol, err, sizeof(err)) != 0) {
			fprintf(stderr, "sandbox_enter: %s\n", err);
			_exit(2);
		}
		perform(a, datafd);
		/* Straight to the kernel, past any sanitizer's exit hooks. */
		syscall(SYS_exit_group, 0);
	}
	close(sv[0]);
	close(sv[1]);
	close(datafd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
assert_killed(enum action a)
{
	int status = run_sandboxed(a);

	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

static void
assert_survives(enum action a)
{
	int status = run_sandboxed(a);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
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
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed_calls),
		cmocka_unit_test(test_forbidden_calls),
		cmocka_unit_test(test_forbidden_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
