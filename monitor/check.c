/*
 * instar check [-f FMT] [--output=human|json] [-r leaks|all]
 *     [-T SRC_CACHE] [-q] [-U] [--chain] FILENAME
 *
 * The monitor opens FILENAME and its backing chain as qemu-img check
 * does (the chain is opened and locked, though only FILENAME is
 * checked), learning each image's format and backing reference from the
 * sandbox.  A guest run recounts every reference of the image checked
 * and compares: without -r, the same run that described the image,
 * its outcome kept until the whole chain has opened; with -r, a run of
 * its own once it has, which repairs.  What the guest found
 * comes back as counts and qemu's own lines; this file prints them as
 * img_check() does.  With --chain every image of the chain is checked in
 * turn.  Nothing here reads or writes image bytes.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "check_job.h"
#include "check_print.h"
#include "hypercall.h"
#include "image_open.h"
#include "json.h"
#include "lock.h"
#include "log.h"
#include "monitor.h"
#include "options.h"
#include "strvis.h"
#include "worker_client.h"

/*
 * A check of a big image walks all its tables in one guest run;
 * progress frames keep the monitor's reply timer fresh in between.
 */
#define CHECK_GUEST_TIMEOUT_MS	(60u * 60 * 1000)

/* img_check()'s exit codes. */
#define CHECK_EXIT_CLEAN	0
#define CHECK_EXIT_FAILED	1
#define CHECK_EXIT_CORRUPT	2
#define CHECK_EXIT_LEAKS	3
#define CHECK_EXIT_NO_CHECKS	63

/*
 * The locks qemu-img check holds (seen with strace): consistent read of
 * every image of the chain, not sharing write or resize; with -r the
 * image checked is a writer (write and resize too); -U shares
 * everything but still holds consistent read.
 */
#define PERM_READER	LOCK_PERM_CONSISTENT_READ
#define PERM_WRITER	(LOCK_PERM_CONSISTENT_READ | LOCK_PERM_WRITE | \
			    LOCK_PERM_RESIZE)
#define SHARE_NO_WRITERS	(LOCK_PERM_ALL & \
			    ~(LOCK_PERM_WRITE | LOCK_PERM_RESIZE))

struct check_opts {
	const char *filename;
	bool image_opts;		/* filename is qemu's option syntax */
	const char *format_name;	/* -f, or NULL to probe */
	Instar__Format format;
	const char *cache;		/* -T */
	const char *output;		/* --output as given, or NULL */
	Instar__Check__Repair repair;
	bool json;
	bool quiet;
	bool force_share;
	bool chain;
};

static void
check_usage(FILE *out)
{
	fprintf(out,
	    "usage: instar check [-f FMT] [--output=human|json] "
	    "[-r leaks|all] [-T SRC_CACHE]\n"
	    "           [-q] [-U] [--chain] FILENAME\n"
	    "\n"
	    "  -f FMT            format of FILENAME: qcow2, vmdk or raw "
	    "(default: probe)\n"
	    "  -r leaks          free leaked clusters\n"
	    "  -r all            also repair wrong refcounts and flags\n"
	    "  -T SRC_CACHE      none, writeback, writethrough, directsync "
	    "or unsafe\n"
	    "                    (accepted; writes are always flushed in "
	    "order)\n"
	    "  -q                quiet: print no report\n"
	    "  -U, --force-share check the image even if it is in use\n"
	    "  --chain           check every image of the backing chain\n"
	    IMAGE_OPTS_USAGE
	    "  --backing-root DIR\n"
	    "                    follow backing references only beneath DIR "
	    "(repeatable;\n"
	    "                    default: $INSTAR_BACKING_ROOT, "
	    "colon-separated)\n"
	    "  --output=FORMAT   human (default) or json\n"
	    "\n"
	    "Exit status: 0 clean, 1 the check could not complete, 2 "
	    "corruptions,\n"
	    "3 leaked clusters only, 63 the format has no checks.\n");
}

static void
parse_args(int argc, char **argv, struct check_opts *o)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "repair", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'O' },
		{ "force-share", no_argument, NULL, 'U' },
		{ "chain", no_argument, NULL, 'c' },
		{ IMAGE_ROOT_OPTION, required_argument, NULL,
		    IMAGE_ROOT_OPTVAL },
		IMAGE_OPTS_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->format = INSTAR__FORMAT__FORMAT_PROBE;
	o->cache = "writeback";		/* BDRV_DEFAULT_CACHE */
	o->repair = INSTAR__CHECK__REPAIR__REPAIR_NONE;
	while ((ch = getopt_long(argc, argv, ":hf:r:T:qU", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case IMAGE_ROOT_OPTVAL:
			image_root_add(optarg);
			break;
		case IMAGE_OPTS_OPTVAL:
			o->image_opts = true;
			break;
		case OBJECT_OPTVAL:
			if (object_option(optarg) != 0)
				exit(1);
			break;
		case 'h':
			check_usage(stdout);
			exit(0);
		case 'f':
			o->format_name = optarg;
			break;
		case 'r':
			if (strcmp(optarg, "leaks") == 0)
				o->repair = INSTAR__CHECK__REPAIR__REPAIR_LEAKS;
			else if (strcmp(optarg, "all") == 0)
				o->repair = INSTAR__CHECK__REPAIR__REPAIR_ALL;
			else
				usage_error("check", "Unknown option value "
				    "for -r (expecting 'leaks' or 'all'): %s",
				    optarg);
			break;
		case 'O':
			o->output = optarg;
			break;
		case 'T':
			o->cache = optarg;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'U':
			o->force_share = true;
			break;
		case 'c':
			o->chain = true;
			break;
		case ':':
			usage_error("check", "missing argument for option "
			    "'%s'", argv[optind - 1]);
		default:
			usage_error("check", "unrecognized option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		usage_error("check", "Expecting one image file name");
	o->filename = argv[optind];
}

static bool
repairing(const struct check_opts *o)
{
	return o->repair != INSTAR__CHECK__REPAIR__REPAIR_NONE;
}

/* Everything img_check() checks before it opens a file, in its order. */
static int
check_names(struct check_opts *o)
{
	if (o->output != NULL && strcmp(o->output, "json") == 0)
		o->json = true;
	else if (o->output != NULL && strcmp(o->output, "human") != 0) {
		error("--output must be used with human or json as "
		    "argument.");
		return -1;
	}
	if (!cache_mode_valid(o->cache)) {
		error("Invalid source cache option: %s", o->cache);
		return -1;
	}
	if (image_name_apply(o->image_opts, false, &o->filename,
	    &o->format_name) != 0)
		return -1;
	if (o->format_name != NULL && format_parse(o->format_name,
	    &o->format) != 0 && !format_known_to_qemu(o->format_name)) {
		error("Could not open '%s': Unknown driver '%s'", o->filename,
		    o->format_name);
		return -1;
	}
	/* bdrv_open_common(), before the file is opened. */
	if (o->force_share && repairing(o)) {
		error("Could not open '%s': force-share=on can only be used "
		    "with read-only images", o->filename);
		return -1;
	}
	if (o->format_name != NULL && format_parse(o->format_name,
	    &o->format) != 0) {
		error("Unknown or unsupported format '%s' (instar handles "
		    "qcow2, vmdk and raw)", o->format_name);
		return -1;
	}
	return 0;
}

/*
 * qemu-img check opens an encrypted qcow2 image, or backing file, only
 * with its key (--object secret), which instar does not take.
 */
static int
refuse_encrypted(const struct chain *c, const struct walk *wk, size_t depth)
{
	const Instar__ImageInfo *info = chain_info(c, c->n - 1);

	if (info->qcow2 != NULL && info->qcow2->encrypted) {
		chain_error(wk, depth, NULL, "Parameter 'encrypt.key-secret' "
		    "is required for cipher");
		return -1;
	}
	return 0;
}

/*
 * Open FILENAME and its backing chain as qemu-img check does: FILENAME
 * read-only, or read-write with -r; the backing files read-only (or,
 * with --chain and -r, read-write too: each is repaired in turn).
 */
static int
collect(struct worker_conn *w, struct chain *c, const struct check_opts *o)
{
	static const Instar__Check read_only = INSTAR__CHECK__INIT;
	struct walk wk = { .perm = 0 };
	enum chain_open how;
	Instar__Format fmt;
	size_t depth;
	char *next;
	int r;

	walk_prefix(&wk, "Could not open '%s': ", opened_as(o->filename));
	wk.perm = repairing(o) ? PERM_WRITER : PERM_READER;
	wk.shared = o->force_share ? LOCK_PERM_ALL : SHARE_NO_WRITERS;
	/*
	 * A check that only reads is run with the info of each image it
	 * checks, in one guest run; its outcome waits until the whole
	 * chain has opened.  A repair waits for that before it writes.
	 */
	if (!repairing(o))
		wk.check = &read_only;
	wk.for_check = true;
	if (chain_add(w, c, &wk, 0, 0, o->filename, o->format,
	    repairing(o) ? CHAIN_OPEN_RDWR : CHAIN_OPEN_RDONLY) != 0 ||
	    refuse_encrypted(c, &wk, 0) != 0)
		return -1;
	if (repairing(o) && o->format == INSTAR__FORMAT__FORMAT_PROBE &&
	    chain_info(c, 0)->format == INSTAR__FORMAT__FORMAT_RAW)
		chain_warn_probed_raw(o->filename);
	if (!o->chain) {
		wk.check = NULL;
		wk.for_check = false;
	}
	how = CHAIN_OPEN_RDONLY;
	if (o->chain && repairing(o))
		how = CHAIN_OPEN_RDWR;
	else
		wk.perm = PERM_READER;
	for (depth = 1;; depth++) {
		if (chain_next(c, c->n - 1, &wk, depth, &next, &fmt) != 0)
			return -1;
		if (next == NULL)
			return 0;
		r = chain_add(w, c, &wk, depth, 0, next, fmt, how);
		free(next);
		if (r != 0 || refuse_encrypted(c, &wk, depth) != 0)
			return -1;
	}
}

/* How bad an exit code is, for --chain: the worst one wins. */
static int
severity(int code)
{
	switch (code) {
	case CHECK_EXIT_FAILED:
		return 4;
	case CHECK_EXIT_CORRUPT:
		return 3;
	case CHECK_EXIT_LEAKS:
		return 2;
	case CHECK_EXIT_NO_CHECKS:
		return 1;
	default:
		return 0;
	}
}

/* qemu's lines on stderr, as it prints them while it checks. */
static void
print_messages(const Instar__CheckDone *d)
{
	size_t k;

	/*
	 * Written by the guest, so encoded.  The guest cannot know the
	 * name instar runs under (INSTAR_CHECK_PROG_PREFIX).
	 */
	for (k = 0; k < d->n_messages; k++) {
		const char *line = d->messages[k];

		if (strncmp(line, INSTAR_CHECK_PROG_PREFIX,
		    strlen(INSTAR_CHECK_PROG_PREFIX)) == 0) {
			fprintf(stderr, "%s: ", log_progname());
			line += strlen(INSTAR_CHECK_PROG_PREFIX);
		}
		strvis_fputs(stderr, line);
		fputc('\n', stderr);
	}
	if (d->messages_dropped != 0)
		error("(%" PRIu64 " more lines of findings were not "
		    "recorded)", d->messages_dropped);
}

struct report {
	struct json_value *array;	/* --chain --output=json */
	bool printed;			/* a human report is out already */
};

/*
 * The outcome of checking image i: the one kept from opening it, or
 * that of a check run now.  Returns the envelope, or NULL with *code
 * the exit code (-1: the worker is gone) after reporting why.
 */
static Instar__Envelope *
check_outcome(struct worker_conn *w, struct chain *c, size_t i,
    const struct check_opts *o, int *code)
{
	struct image *img = &c->images[i];
	Instar__Check req = INSTAR__CHECK__INIT;
	Instar__Envelope *env;
	int image_error;

	if ((env = img->check.env) != NULL) {
		img->check.env = NULL;
		return env;
	}
	*code = CHECK_EXIT_FAILED;
	if (img->check.failure != NULL) {
		error("Check failed: %s", img->check.failure);
		return NULL;
	}
	if (worker_attach(w, img->fd, chain_info(c, i)->format,
	    repairing(o)) != 0) {
		error("Could not open '%s': %s", img->filename, w->error);
		*code = -1;
		return NULL;
	}
	req.repair = o->repair;
	env = worker_check(w, &req, NULL, NULL, &image_error);
	if (env == NULL && !image_error) {
		error("Could not check '%s': %s", img->filename, w->error);
		*code = -1;
	} else if (env == NULL)
		error("Check failed: %s", w->error);
	return env;
}

/*
 * Check image i and report it as img_check() does; returns the exit
 * code it would have, or -1 if the worker is gone.
 */
static int
check_one(struct worker_conn *w, struct chain *c, size_t i,
    const struct check_opts *o, struct report *rep)
{
	const struct image *img = &c->images[i];
	const char *fmt = format_name(chain_info(c, i)->format);
	const Instar__CheckDone *d;
	Instar__Envelope *env;
	struct json_value *obj;
	int code;

	if (o->chain && !o->json && !o->quiet) {
		/* Below the top, a backing name from an image. */
		printf("%simage: ", rep->printed ? "\n" : "");
		strvis_fputs(stdout, img->filename);
		putchar('\n');
		rep->printed = true;
		fflush(stdout);
	}
	if ((env = check_outcome(w, c, i, o, &code)) == NULL)
		return code;
	d = env->check_done;
	if (d->failure != NULL) {
		fflush(stdout);
		print_messages(d);
		error("Check failed: %s", d->failure);
		instar__envelope__free_unpacked(env, NULL);
		return CHECK_EXIT_FAILED;
	}
	if (!d->has_checks) {
		error("This image format does not support checks");
		instar__envelope__free_unpacked(env, NULL);
		return CHECK_EXIT_NO_CHECKS;
	}
	fflush(stdout);
	print_messages(d);
	if ((d->corruptions_fixed || d->leaks_fixed) && !o->json &&
	    !o->quiet)
		check_report_repaired(stdout, d);
	if (!o->quiet && !o->json)
		check_report_human(stdout, d);
	else if (!o->quiet) {
		/* qemu names the image as the command line named it. */
		obj = check_report_json(opened_as(img->filename), fmt, d);
		if (obj == NULL)
			fatal_f("out of memory");
		if (rep->array != NULL) {
			if (json_array_append(rep->array, obj) != 0)
				fatal_f("out of memory");
		} else {
			json_print_pretty(stdout, obj);
			printf("\n");
			json_free(obj);
		}
	}
	fflush(stdout);
	if (d->check_errors) {
		error("Check failed");
		code = CHECK_EXIT_FAILED;
	} else if (d->corruptions)
		code = CHECK_EXIT_CORRUPT;
	else if (d->leaks)
		code = CHECK_EXIT_LEAKS;
	else
		code = CHECK_EXIT_CLEAN;
	instar__envelope__free_unpacked(env, NULL);
	return code;
}

/* Check the images and print their reports; returns the exit code. */
static int
check_all(struct worker_conn *w, struct chain *c, const struct check_opts *o)
{
	struct report rep = { NULL, false };
	size_t i, n = o->chain ? c->n : 1;
	int code, worst = CHECK_EXIT_CLEAN;

	if (o->chain && o->json && (rep.array = json_array_new()) == NULL)
		fatal_f("out of memory");
	for (i = 0; i < n; i++) {
		if ((code = check_one(w, c, i, o, &rep)) < 0) {
			worst = CHECK_EXIT_FAILED;
			break;
		}
		if (severity(code) > severity(worst))
			worst = code;
	}
	if (rep.array != NULL) {
		if (!o->quiet) {
			json_print_pretty(stdout, rep.array);
			printf("\n");
		}
		json_free(rep.array);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		error("cannot write output: %s", strerror(errno));
		return CHECK_EXIT_FAILED;
	}
	return worst;
}

int
cmd_check(int argc, char **argv)
{
	static struct chain c;
	struct check_opts o;
	struct worker_conn w;
	int ret = CHECK_EXIT_FAILED;

	parse_args(argc, argv, &o);
	if (image_roots_init() != 0)
		return CHECK_EXIT_FAILED;
	if (check_names(&o) != 0)
		return CHECK_EXIT_FAILED;
	if (worker_start(&w, repairing(&o) ? INSTAR__OP__OP_CHECK_REPAIR :
	    INSTAR__OP__OP_CHECK, CHECK_GUEST_TIMEOUT_MS) != 0) {
		error("Could not open '%s': %s", opened_as(o.filename),
		    w.error);
		return CHECK_EXIT_FAILED;
	}
	if (collect(&w, &c, &o) != 0) {
		worker_abort(&w);
		goto out;
	}
	/*
	 * Without -r every outcome is in hand and the worker holds only
	 * read-only descriptors: it need not be waited for.
	 */
	if (!repairing(&o)) {
		chain_unlock(&c);
		worker_leave(&w);
		ret = check_all(&w, &c, &o);
		goto out;
	}
	ret = check_all(&w, &c, &o);
	if (w.state == WS_DEAD)
		worker_abort(&w);
	else if (worker_finish(&w) != 0) {
		error("%s", w.error);
		ret = CHECK_EXIT_FAILED;
	}
 out:
	chain_free(&c);
	return ret;
}
