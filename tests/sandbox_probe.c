/*
 * sandbox-probe [JOB]: start a real instar-worker the way the monitor
 * does, for JOB (info, the default, check, check-repair, rebase or
 * commit) and, once it reports ready (sandbox on, waiting for images),
 * print what the kernel says about its confinement.  regress/sandbox.sh
 * checks the output.  Built next to instar-worker so it finds the same
 * binary.
 */
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker_client.h"

static void
print_status(pid_t pid)
{
	static const char *const keys[] = {
		"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:",
		"NoNewPrivs:", "Seccomp:", "Uid:", "Gid:", "Groups:",
	};
	char path[64], line[256];
	FILE *f;
	size_t i;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		exit(1);
	}
	while (fgets(line, sizeof(line), f) != NULL)
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strncmp(line, keys[i], strlen(keys[i])) == 0)
				fputs(line, stdout);
	fclose(f);
}

static void
print_fds(pid_t pid)
{
	char dir[64], path[PATH_MAX + 64], target[PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	if ((d = opendir(dir)) == NULL) {
		perror(dir);
		exit(1);
	}
	while ((de = readdir(d)) != NULL) {
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		printf("fd %s: %s\n", de->d_name, target);
	}
	closedir(d);
}

/* "fsize SOFT HARD", as /proc/PID/limits says them. */
static void
print_fsize(pid_t pid)
{
	char path[64], line[256], soft[64], hard[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		exit(1);
	}
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Max file size %63s %63s", soft, hard) == 2)
			printf("fsize %s %s\n", soft, hard);
	fclose(f);
}

/*
 * "ns NAME new" or "ns NAME shared" against the probe's own, or "ns NAME
 * unreadable".
 */
static void
print_namespaces(pid_t pid)
{
	static const char *const names[] = {
		"user", "net", "ipc", "mnt",
	};
	char path[64], mine[128], theirs[128];
	ssize_t m, n;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "/proc/self/ns/%s", names[i]);
		m = readlink(path, mine, sizeof(mine) - 1);
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid,
		    names[i]);
		n = readlink(path, theirs, sizeof(theirs) - 1);
		if (m < 0 || n < 0) {
			printf("ns %s unreadable\n", names[i]);
			continue;
		}
		mine[m] = '\0';
		theirs[n] = '\0';
		printf("ns %s %s\n", names[i],
		    strcmp(mine, theirs) != 0 ? "new" : "shared");
	}
}

static int
job_op(const char *name, Instar__Op *op)
{
	static const struct {
		const char *name;
		Instar__Op op;
	} jobs[] = {
		{ "info", INSTAR__OP__OP_INFO },
		{ "check", INSTAR__OP__OP_CHECK },
		{ "check-repair", INSTAR__OP__OP_CHECK_REPAIR },
		{ "rebase", INSTAR__OP__OP_REBASE },
		{ "commit", INSTAR__OP__OP_COMMIT },
	};
	size_t i;

	for (i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++)
		if (strcmp(name, jobs[i].name) == 0) {
			*op = jobs[i].op;
			return 0;
		}
	return -1;
}

int
main(int argc, char **argv)
{
	struct worker_conn w;
	Instar__Op op = INSTAR__OP__OP_INFO;

	if (argc > 2 || (argc == 2 && job_op(argv[1], &op) != 0)) {
		fprintf(stderr, "usage: sandbox-probe "
		    "[info|check|check-repair|rebase|commit]\n");
		return 1;
	}
	if (worker_start(&w, op, 5000) != 0) {
		fprintf(stderr, "sandbox-probe: %s\n", w.error);
		return 1;
	}
	print_status(w.pid);
	print_fsize(w.pid);
	print_namespaces(w.pid);
	print_fds(w.pid);
	if (worker_finish(&w) != 0) {
		fprintf(stderr, "sandbox-probe: %s\n", w.error);
		return 1;
	}
	return 0;
}
