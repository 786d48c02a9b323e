/*
 * instar rebase [-f FMT] [-t CACHE] [-T SRC_CACHE] [-p] [-q] [-u] [-U]
 *     -b BACKING_FILE [-F BACKING_FMT] [--dry-run] [--output=human|json]
 *     FILENAME
 *
 * The monitor opens and locks the overlay read-write and every image of
 * its old and new backing chains read-only, learns each image's format
 * and backing reference from the sandbox, then hands all the descriptors
 * to one guest run that plans and performs the rebase.  Nothing here
 * reads or writes image bytes.  With --dry-run every image is opened
 * read-only and the guest performs the rebase against shadows of them
 * (guest/format/shadow.h): the same plan, the same figures, no write.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "dry_run.h"
#include "hypercall.h"
#include "image_open.h"
#include "json.h"
#include "lock.h"
#include "log.h"
#include "monitor.h"
#include "options.h"
#include "path.h"
#include "progress.h"
#include "worker_client.h"

/*
 * One guest run does the whole rebase, which on a big image may take
 * many minutes; progress frames keep the monitor's reply timer fresh in
 * between.  This bounds a guest that stops making progress.
 */
#define REBASE_GUEST_TIMEOUT_MS	(60u * 60 * 1000)

/* qcow2_change_backing_file(): longer names are refused with EINVAL. */
#define BACKING_NAME_MAX	1023

/* qemu-img rebase prints its progress in steps of 2%. */
#define PROGRESS_MIN_SKIP	2.0f

struct rebase_opts {
	const char *filename;
	bool image_opts;		/* filename is qemu's option syntax */
	const char *format_name;	/* -f, or NULL to probe */
	Instar__Format format;
	const char *cache;
	const char *src_cache;
	const char *backing;		/* -b as given; NULL: none given */
	const char *backing_format;	/* -F, or NULL */
	bool unsafe;
	bool progress;
	bool force_share;
	bool json;
	bool dry_run;
	bool quiet;
};

/*
 * Every image the guest run gets, in device order: the overlay, its old
 * backing chain top first, then the new chain unless it starts inside
 * the old one.  The descriptors stay open (and locked) to the end.
 */
struct job {
	struct chain c;
	size_t old_len;
	size_t new_start;
	size_t new_len;
	Instar__Format new_format;	/* what the new backing was read as */
};

static void
rebase_usage(FILE *out)
{
	fprintf(out,
	    "usage: instar rebase [-f FMT] [-t CACHE] [-T SRC_CACHE] [-p] [-q] "
	    "[-u] [-U]\n"
	    "           -b BACKING_FILE [-F BACKING_FMT] [--dry-run] "
	    "[--output=human|json]\n"
	    "           FILENAME\n"
	    "\n"
	    "  -f FMT            format of FILENAME: qcow2 (default: probe)\n"
	    "  -b BACKING_FILE   new backing file; \"\" detaches\n"
	    "  -F BACKING_FMT    its format: qcow2, vmdk or raw "
	    "(default: probe)\n"
	    "  -u                unsafe: change only the recorded backing "
	    "file\n"
	    "  -t CACHE, -T SRC_CACHE\n"
	    "                    none, writeback, writethrough, directsync "
	    "or unsafe\n"
	    "                    (accepted; writes are always flushed in "
	    "order)\n"
	    "  -p                show progress\n"
	    "  -q                quiet: no progress\n"
	    "  -U, --force-share open the new backing chain even if it is in "
	    "use\n"
	    IMAGE_OPTS_USAGE
	    "  --backing-root DIR\n"
	    "                    follow backing references only beneath DIR "
	    "(repeatable;\n"
	    "                    default: $INSTAR_BACKING_ROOT, "
	    "colon-separated)\n"
	    "  --dry-run         say what the rebase would do, and write "
	    "nothing\n"
	    "  --output=FORMAT   human (default: prints nothing) or json\n");
}

static void
parse_args(int argc, char **argv, struct rebase_opts *o)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "force-share", no_argument, NULL, 'U' },
		{ "output", required_argument, NULL, 'O' },
		{ IMAGE_ROOT_OPTION, required_argument, NULL,
		    IMAGE_ROOT_OPTVAL },
		IMAGE_OPTS_LONGOPTS,
		{ DRY_RUN_OPTION, no_argument, NULL, DRY_RUN_OPTVAL },
		{ NULL, 0, NULL, 0 },
	};
	bool quiet = false;
	int ch;

	memset(o, 0, sizeof(*o));
	o->format = INSTAR__FORMAT__FORMAT_PROBE;
	o->cache = "writeback";		/* BDRV_DEFAULT_CACHE */
	o->src_cache = "writeback";
	while ((ch = getopt_long(argc, argv, ":hf:F:b:upt:T:qU", longopts,
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
		case DRY_RUN_OPTVAL:
			o->dry_run = true;
			break;
		case 'h':
			rebase_usage(stdout);
			exit(0);
		case 'f':
			o->format_name = optarg;
			break;
		case 'F':
			o->backing_format = optarg;
			break;
		case 'b':
			o->backing = optarg;
			break;
		case 'u':
			o->unsafe = true;
			break;
		case 'p':
			o->progress = true;
			break;
		case 't':
			o->cache = optarg;
			break;
		case 'T':
			o->src_cache = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'U':
			o->force_share = true;
			break;
		case 'O':
			o->json = parse_output("rebase", optarg);
			break;
		case ':':
			usage_error("rebase", "missing argument for option "
			    "'%s'", argv[optind - 1]);
		default:
			usage_error("rebase", "unrecognized option '%s'",
			    argv[optind - 1]);
		}
	}
	if (quiet)
		o->progress = false;
	o->quiet = quiet;
	if (optind != argc - 1)
		usage_error("rebase", "Expecting one image file name");
	if (!o->unsafe && o->backing == NULL)
		usage_error("rebase", "Must specify backing file (-b) or use "
		    "unsafe mode (-u)");
	o->filename = argv[optind];
}

/* The overlay: a writer that shares neither write nor resize. */
static int
add_overlay(struct worker_conn *w, struct job *j,
    const struct rebase_opts *o)
{
	struct walk wk = { .dry_run = o->dry_run };

	walk_prefix(&wk, "Could not open '%s': ",
	    opened_as(o->filename));
	wk.perm = LOCK_PERM_CONSISTENT_READ | LOCK_PERM_WRITE |
	    LOCK_PERM_RESIZE;
	wk.shared = LOCK_PERM_ALL & ~(LOCK_PERM_WRITE | LOCK_PERM_RESIZE);
	return chain_add(w, &j->c, &wk, 0, 0, o->filename, o->format,
	    CHAIN_OPEN_RDWR);
}

/*
 * The overlay's backing chain, opened with it as qemu-img does (so -U
 * does not apply to it), read-only.
 */
static int
add_old_chain(struct worker_conn *w, struct job *j,
    const struct rebase_opts *o)
{
	struct walk wk = { .dry_run = o->dry_run };

	walk_prefix(&wk, "Could not open '%s': ",
	    opened_as(o->filename));
	wk.perm = LOCK_PERM_CONSISTENT_READ;
	wk.shared = LOCK_PERM_ALL & ~(LOCK_PERM_WRITE | LOCK_PERM_RESIZE);
	return chain_add_below(w, &j->c, 0, &wk, 0, &j->old_len);
}

/* What -U changes: the new backing chain may be in use elsewhere. */
static void
new_chain_walk(struct walk *wk, const struct rebase_opts *o)
{
	walk_prefix(wk, "Could not open new backing file '%s': ",
	    o->backing);
	wk->dry_run = o->dry_run;
	wk->perm = LOCK_PERM_CONSISTENT_READ;
	wk->shared = o->force_share ? LOCK_PERM_ALL :
	    LOCK_PERM_ALL & ~(LOCK_PERM_WRITE | LOCK_PERM_RESIZE);
}

/* The old chain image that is the same file as path, or 0 if none. */
static size_t
find_in_old_chain(const struct job *j, const char *path)
{
	size_t i;

	i = chain_find_file(&j->c, 1, j->old_len + 1, path);
	return i <= j->old_len ? i : 0;
}

/*
 * Open the new backing chain.  When the new backing file is already in
 * the overlay's chain (dropping layers), the guest reads it from there.
 */
static int
add_new_chain(struct worker_conn *w, struct job *j,
    const struct rebase_opts *o)
{
	Instar__Format fmt = INSTAR__FORMAT__FORMAT_PROBE;
	struct walk wk = { .perm = 0 };
	size_t start, added;
	char *path;
	int ret;

	j->new_start = j->c.n;
	j->new_len = 0;
	if (o->backing == NULL || o->backing[0] == '\0')
		return 0;
	if ((path = path_backing_full(o->filename, o->backing)) == NULL)
		fatal_f("out of memory");
	if ((start = find_in_old_chain(j, path)) != 0) {
		j->new_start = start;
		j->new_len = j->old_len - start + 1;
		j->new_format = chain_info(&j->c, start)->format;
		free(path);
		return 0;
	}
	new_chain_walk(&wk, o);
	if (o->backing_format != NULL)
		(void)format_parse(o->backing_format, &fmt);
	ret = chain_add(w, &j->c, &wk, 0, j->new_start, path, fmt,
	    CHAIN_OPEN_RDONLY);
	free(path);
	if (ret != 0)
		return -1;
	j->new_format = chain_info(&j->c, j->new_start)->format;
	if (chain_add_below(w, &j->c, j->new_start, &wk, j->new_start,
	    &added) != 0)
		return -1;
	j->new_len = 1 + added;
	return 0;
}

/*
 * -u without -F: probe the new backing so that its format can be
 * recorded (qemu-img 7.2 refuses instead).  It is attached only for a
 * VMDK overlay, which records its parent's CID, read by the guest; for
 * that the new backing is opened even with -F.
 */
static int
probe_new_backing(struct worker_conn *w, struct job *j,
    const struct rebase_opts *o)
{
	Instar__Format fmt = INSTAR__FORMAT__FORMAT_PROBE;
	struct walk wk = { .perm = 0 };
	char *path;
	int ret;

	if ((path = path_backing_full(o->filename, o->backing)) == NULL)
		fatal_f("out of memory");
	new_chain_walk(&wk, o);
	if (o->backing_format != NULL)
		(void)format_parse(o->backing_format, &fmt);
	j->new_start = j->c.n;
	ret = chain_add(w, &j->c, &wk, 0, 0, path, fmt, CHAIN_OPEN_RDONLY);
	free(path);
	if (ret != 0) {
		if (o->backing_format == NULL)
			fprintf(stderr, "Use -F to name the format of a "
			    "backing file that cannot be opened.\n");
		return -1;
	}
	j->new_len = 1;
	j->new_format = chain_info(&j->c, j->new_start)->format;
	return 0;
}

/* The name and format the overlay is to record ("" and "": detach). */
static const char *
new_backing_name(const struct rebase_opts *o)
{
	return o->backing != NULL ? o->backing : "";
}

static const char *
new_backing_format(const struct rebase_opts *o, const struct job *j)
{
	if (new_backing_name(o)[0] == '\0')
		return "";
	if (o->backing_format != NULL)
		return o->backing_format;
	return format_name(j->new_format);
}

/* "Could not change the backing file to 'X': why", as qemu-img says. */
static void
change_error(const struct rebase_opts *o, const char *why)
{
	/* qemu prints a missing -b (only possible with -u) as (null). */
	error("Could not change the backing file to '%s': %s",
	    o->backing != NULL ? o->backing : "(null)", why);
}

/*
 * Refusals that need nothing but the overlay's own description.  The
 * guest refuses what it cannot rewrite safely, too; these are the ones
 * qemu-img already refuses when it opens the overlay, said its way.
 */
static int
check_overlay(const struct rebase_opts *o, const struct job *j)
{
	return chain_check_writable(&j->c, 0, o->filename);
}

static bool
is_vmdk(const struct job *j)
{
	return chain_info(&j->c, 0)->format == INSTAR__FORMAT__FORMAT_VMDK;
}

/*
 * Only qcow2 and VMDK overlays record a backing file.  A VMDK records
 * no parent format: qemu opens its parent as a VMDK, so nothing else
 * can be one.
 */
static int
check_overlay_format(const struct rebase_opts *o, const struct job *j)
{
	const Instar__ImageInfo *info = chain_info(&j->c, 0);

	if (info->format != INSTAR__FORMAT__FORMAT_QCOW2 && !is_vmdk(j)) {
		change_error(o, "Operation not supported");
		return -1;
	}
	if (is_vmdk(j) && o->backing_format != NULL &&
	    new_backing_name(o)[0] != '\0' &&
	    strcmp(o->backing_format, "vmdk") != 0) {
		change_error(o, "Operation not supported (the backing file "
		    "of a VMDK image can only be a VMDK image)");
		return -1;
	}
	return 0;
}

/* The VMDK parent, once open, must be a VMDK. */
static int
check_new_vmdk_parent(const struct rebase_opts *o, const struct job *j)
{
	char why[128];

	if (!is_vmdk(j) || new_backing_name(o)[0] == '\0' ||
	    j->new_format == INSTAR__FORMAT__FORMAT_VMDK)
		return 0;
	snprintf(why, sizeof(why), "Operation not supported (the backing "
	    "file of a VMDK image can only be a VMDK image, and this one is "
	    "%s)", format_name(j->new_format));
	change_error(o, why);
	return -1;
}

static int
check_new_name(const struct rebase_opts *o)
{
	if (strlen(new_backing_name(o)) > BACKING_NAME_MAX) {
		change_error(o, "Invalid argument (a backing file name is at "
		    "most 1023 bytes)");
		return -1;
	}
	return 0;
}

/* Only the overlay (device 0) is writable. */
static int
attach_all(struct worker_conn *w, const struct job *j, size_t count)
{
	bool writable[INSTAR_MAX_DEVICES] = { true };

	return chain_attach(w, &j->c, count, NULL, writable);
}

static Instar__Envelope *
run_rebase(struct worker_conn *w, const struct rebase_opts *o,
    const struct job *j, struct progress *prog)
{
	Instar__Rebase req = INSTAR__REBASE__INIT;
	Instar__Envelope *done;
	const char *name = new_backing_name(o);
	int image_error;

	/* -u hands over the overlay alone, even if a probe opened more,
	 * but for a VMDK's new parent, whose CID it records. */
	if (attach_all(w, j, o->unsafe && !is_vmdk(j) ? 1 : j->c.n) != 0)
		return NULL;
	req.unsafe = o->unsafe;
	req.backing_name.data = (uint8_t *)(uintptr_t)name;
	req.backing_name.len = strlen(name);
	req.backing_format = (char *)(uintptr_t)new_backing_format(o, j);
	if (o->unsafe) {
		req.old_chain_len = 0;
		req.new_chain_start = 1;
		req.new_chain_len = is_vmdk(j) ? (uint32_t)j->new_len : 0;
	} else {
		req.old_chain_len = (uint32_t)j->old_len;
		req.new_chain_start = (uint32_t)j->new_start;
		req.new_chain_len = (uint32_t)j->new_len;
	}
	done = worker_rebase(w, &req, progress_update, prog, &image_error);
	if (done == NULL) {
		if (image_error)
			change_error(o, w->error);
		else
			error("Could not rebase '%s': %s", o->filename,
			    w->error);
	}
	return done;
}

/*
 * instar's own report: a fixed key order, laid out and escaped the way
 * qemu prints JSON.
 */
static int
print_json(FILE *out, const struct rebase_opts *o, const struct job *j,
    const Instar__RebaseDone *done)
{
	const Instar__ImageInfo *info = chain_info(&j->c, 0);
	const char *name = new_backing_name(o);
	const char *fmt = new_backing_format(o, j);

	json_report_key(out, "filename", true);
	json_print_string(out, o->filename, strlen(o->filename));
	json_report_key(out, "format", false);
	json_print_string(out, format_name(info->format),
	    strlen(format_name(info->format)));
	json_report_key(out, "mode", false);
	json_print_string(out, o->unsafe ? "unsafe" : "safe",
	    o->unsafe ? 6 : 4);
	json_report_key(out, "old-backing-filename", false);
	json_report_string(out, info->has_backing_filename ?
	    (const char *)info->backing_filename.data : NULL,
	    info->backing_filename.len);
	json_report_key(out, "old-backing-format", false);
	json_report_string(out, info->backing_format,
	    info->backing_format != NULL ? strlen(info->backing_format) : 0);
	json_report_key(out, "new-backing-filename", false);
	json_report_string(out, name[0] != '\0' ? name : NULL,
	    strlen(name));
	json_report_key(out, "new-backing-format", false);
	json_report_string(out, fmt[0] != '\0' ? fmt : NULL, strlen(fmt));
	json_report_uint(out, "cluster-size", done->cluster_size);
	json_report_uint(out, "clusters-copied", done->clusters_copied);
	json_report_uint(out, "clusters-zeroed", done->clusters_zeroed);
	json_report_uint(out, "bytes-copied", done->bytes_copied);
	json_report_uint(out, "file-size-before", done->size_before);
	json_report_uint(out, "file-size-after", done->size_after);
	if (o->dry_run)
		dry_run_json(out);
	fputs("\n}\n", out);
	return ferror(out) ? -1 : 0;
}

/* What the rebase would do, for a person to read before running it. */
static int
print_plan(FILE *out, const struct rebase_opts *o, const struct job *j,
    const Instar__RebaseDone *done)
{
	const Instar__ImageInfo *info = chain_info(&j->c, 0);
	const char *name = new_backing_name(o);
	char *old = chain_recorded_backing(info);

	fprintf(out, "Dry run: %s rebase of %s (%s)\n", o->unsafe ? "unsafe" :
	    "safe", dry_run_name(0, o->filename), format_name(info->format));
	if (old != NULL)
		fprintf(out, "  backing file now: %s (%s)\n",
		    dry_run_name(0, old), info->backing_format != NULL ?
		    info->backing_format : "format not recorded");
	else
		fputs("  backing file now: none\n", out);
	free(old);
	if (name[0] == '\0')
		fputs("  would record: no backing file (detach)\n", out);
	else if (is_vmdk(j))
		fprintf(out, "  would record: %s (a VMDK parent)\n",
		    dry_run_name(0, name));
	else
		fprintf(out, "  would record: %s, format %s\n",
		    dry_run_name(0, name), new_backing_format(o, j));
	if (o->unsafe)
		fputs("  would copy: nothing (-u changes only the header)\n",
		    out);
	else {
		fputs("  would copy from the old backing chain: ", out);
		dry_run_clusters(out, done->clusters_copied,
		    done->cluster_size, done->bytes_copied);
		fputs("\n  would mark as reading zeros: ", out);
		dry_run_clusters(out, done->clusters_zeroed,
		    done->cluster_size, done->clusters_zeroed *
		    (uint64_t)done->cluster_size);
		fputc('\n', out);
	}
	dry_run_file(out, o->filename, done->size_before, done->size_after);
	dry_run_footer(out);
	return ferror(out) ? -1 : 0;
}

static int
print_result(const struct rebase_opts *o, const struct job *j,
    const Instar__RebaseDone *done, bool quiet)
{
	if (o->json) {
		if (print_json(stdout, o, j, done) != 0)
			return -1;
	} else if (o->dry_run && !quiet) {
		if (print_plan(stdout, o, j, done) != 0)
			return -1;
	}
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
}

/* Everything qemu-img checks before it opens a file, in its order. */
static int
check_names(struct rebase_opts *o, Instar__Format *fmt)
{
	if (!cache_mode_valid(o->cache)) {
		error("Invalid cache option: %s", o->cache);
		return -1;
	}
	if (!cache_mode_valid(o->src_cache)) {
		error("Invalid source cache option: %s", o->src_cache);
		return -1;
	}
	if (image_name_apply(o->image_opts, false, &o->filename,
	    &o->format_name) != 0)
		return -1;
	return format_option(o->filename, o->format_name, fmt);
}

/*
 * -F: any format qemu knows, as qemu-img takes it.  Unsafe mode opens
 * nothing and records the name as given (qemu-iotests 031 records
 * host_device); a safe rebase reads the new backing file, so there it
 * must be one instar can read.
 */
static int
check_backing_format(const struct rebase_opts *o)
{
	Instar__Format unused;

	if (o->backing_format == NULL ||
	    format_parse(o->backing_format, &unused) == 0)
		return 0;
	if (!format_known_to_qemu(o->backing_format)) {
		error("Invalid format name: '%s'", o->backing_format);
		return -1;
	}
	if (!o->unsafe) {
		error("Unknown or unsupported format '%s' (instar reads "
		    "qcow2, vmdk and raw backing files)", o->backing_format);
		return -1;
	}
	return 0;
}

/* Open every image the rebase needs; the overlay's refusals first. */
static int
collect(struct worker_conn *w, struct job *j, const struct rebase_opts *o)
{
	if (add_overlay(w, j, o) != 0 || check_overlay(o, j) != 0)
		return -1;
	if (!o->unsafe && add_old_chain(w, j, o) != 0)
		return -1;
	if (check_backing_format(o) != 0 || check_overlay_format(o, j) != 0)
		return -1;
	if (!o->unsafe) {
		if (add_new_chain(w, j, o) != 0)
			return -1;
	} else if (new_backing_name(o)[0] != '\0' &&
	    (o->backing_format == NULL || is_vmdk(j))) {
		if (probe_new_backing(w, j, o) != 0)
			return -1;
	}
	return check_new_vmdk_parent(o, j);
}

int
cmd_rebase(int argc, char **argv)
{
	static struct job j;
	struct rebase_opts o;
	struct worker_conn w;
	struct progress prog;
	Instar__Envelope *done = NULL;
	int ret = 1;

	parse_args(argc, argv, &o);
	if (image_roots_init() != 0)
		return 1;
	progress_init(&prog, o.progress, PROGRESS_MIN_SKIP);
	if (check_names(&o, &o.format) != 0)
		goto out;
	if (worker_start_job(&w, INSTAR__OP__OP_REBASE,
	    REBASE_GUEST_TIMEOUT_MS, o.dry_run) != 0) {
		error("Could not open '%s': %s", opened_as(o.filename),
		    w.error);
		goto out;
	}
	if (collect(&w, &j, &o) != 0 || check_new_name(&o) != 0 ||
	    (done = run_rebase(&w, &o, &j, &prog)) == NULL) {
		worker_abort(&w);
		goto out;
	}
	if (worker_finish(&w) != 0) {
		error("%s", w.error);
		goto out;
	}
	progress_set(&prog, 100.0f);
	progress_end(&prog);
	if (print_result(&o, &j, done->rebase_done, o.quiet) != 0) {
		error("cannot write output: %s", strerror(errno));
		goto out;
	}
	ret = 0;
 out:
	progress_end(&prog);
	if (done != NULL)
		instar__envelope__free_unpacked(done, NULL);
	chain_free(&j.c);
	return ret;
}
