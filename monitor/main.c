/*
 * instar [--help] [--version] SUBCOMMAND [ARGS...]
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "monitor.h"

struct command {
	const char *name;
	int (*run)(int, char **);
	const char *summary;
};

static const struct command commands[] = {
	{ "info", cmd_info, "show facts about a disk image (qemu-img info)" },
	{ "rebase", cmd_rebase,
	    "change the backing file of an image (qemu-img rebase)" },
	{ "commit", cmd_commit,
	    "commit an image into its backing chain (qemu-img commit)" },
	{ "check", cmd_check,
	    "check an image for consistency, repair it (qemu-img check)" },
};

/* Whether instar runs under the name qemu-img (see main()). */
static bool as_qemu_img;

static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

static void
usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: instar [--help] [--version] SUBCOMMAND "
	    "[ARGS...]\n\nSubcommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name,
		    commands[i].summary);
	fprintf(out, "\nRun 'instar SUBCOMMAND --help' for a subcommand's "
	    "options; see instar(1).\n");
}

void
usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	error("%s", msg);
	if (as_qemu_img)
		fprintf(stderr, "Try 'qemu-img --help' for more "
		    "information\n");
	else
		fprintf(stderr, "Try 'instar %s%s--help' for more "
		    "information\n", cmd != NULL ? cmd : "",
		    cmd != NULL ? " " : "");
	exit(1);
}

bool
parse_output(const char *cmd, const char *arg)
{
	if (strcmp(arg, "json") == 0)
		return true;
	if (strcmp(arg, "human") != 0)
		usage_error(cmd, "--output must be used with human or json as "
		    "argument.");
	return false;
}

/*
 * Make sure 0, 1 and 2 are open, so no descriptor we open later lands on
 * a standard stream (OpenSSH's sanitise_stdfd).
 */
static void
sanitise_stdfd(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0 &&
	    fd <= STDERR_FILENO) {
		/* Landed on a closed standard stream: make it permanent. */
		if (fcntl(fd, F_SETFD, 0) != 0)
			exit(1);
	}
	if (fd < 0)
		exit(1);
	close(fd);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	size_t i;
	int ch;

	sanitise_stdfd();
	/*
	 * Installed as qemu-img (a link of that name), instar speaks as
	 * qemu-img in its messages too, so that whatever reads them (a
	 * script, qemu's own iotests) sees the words it knows.
	 */
	as_qemu_img = argc > 0 && strcmp(base_name(argv[0]), "qemu-img") == 0;
	log_init(as_qemu_img ? "qemu-img" : "instar");
	while ((ch = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("instar version %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage_error(NULL, "unknown option");
		}
	}
	if (optind >= argc)
		usage_error(NULL, "Not enough arguments");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			argc -= optind;
			argv += optind;
			optind = 0;
			return commands[i].run(argc, argv);
		}
	}
	usage_error(NULL, "Command not found: %s", argv[optind]);
}
