/*
 * peak-rss FILE COMMAND [ARG...]: run COMMAND and write to FILE the
 * peak resident set size, in KiB, of the largest process it ran.
 *
 * A command may leave a process behind that its parent never waits for
 * (instar's monitor kills its worker and leaves it to be reaped), and
 * the rusage of such a process reaches no shell's time(1).  So peak-rss
 * makes itself the subreaper of everything COMMAND starts and waits for
 * every process until none is left.  It exits as COMMAND did.
 */

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
fatal(const char *func, const char *what)
{
	fprintf(stderr, "peak-rss: %s: %s: %s\n", func, what, strerror(errno));
	exit(127);
}

static pid_t
start(char **argv)
{
	pid_t pid;

	if ((pid = fork()) == -1)
		fatal(__func__, "fork");
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "peak-rss: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* Reap every descendant; the largest ru_maxrss seen, and pid's status. */
static long
reap_all(pid_t pid, int *status)
{
	struct rusage usage;
	long peak_kib = 0;
	pid_t reaped;
	int st;

	*status = -1;
	for (;;) {
		reaped = wait4(-1, &st, 0, &usage);
		if (reaped == -1) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD)
				break;
			fatal(__func__, "wait4");
		}
		if (usage.ru_maxrss > peak_kib)
			peak_kib = usage.ru_maxrss;
		if (reaped == pid)
			*status = st;
	}
	return peak_kib;
}

int
main(int argc, char **argv)
{
	FILE *out;
	long peak_kib;
	int status;

	if (argc < 3) {
		fprintf(stderr, "usage: peak-rss FILE COMMAND [ARG...]\n");
		return 127;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
		fatal(__func__, "PR_SET_CHILD_SUBREAPER");
	peak_kib = reap_all(start(argv + 2), &status);
	if ((out = fopen(argv[1], "w")) == NULL)
		fatal(__func__, argv[1]);
	fprintf(out, "%ld\n", peak_kib);
	if (fclose(out) != 0)
		fatal(__func__, argv[1]);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
