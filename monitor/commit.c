/*
 * instar commit [-f FMT] [-t CACHE] [-b BASE] [-d] [-p] [-q]
 *     [-r RATE_LIMIT] [--dry-run] [--output=human|json] FILENAME
 *
 * The monitor opens FILENAME and its whole backing chain, learning each
 * image's format and backing reference from the sandbox, finds the base
 * in it as qemu does, takes the locks qemu-img commit holds, then hands
 * all the descriptors to one guest run that copies everything the top
 * and the images down to the base hold into the base and, unless told
 * not to, empties the top.  Nothing here reads or writes image bytes.
 * With --dry-run every image is opened read-only, the writer's locks
 * are only tested, and the guest commits into shadows of the images
 * (guest/format/shadow.h): the same plan and figures, nothing written.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
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
#include "sizestr.h"
#include "worker_client.h"

/*
 * One guest run does the whole commit; progress frames keep the
 * monitor's reply timer fresh in between.  This bounds a guest that
 * stops making progress (the worker caps it at an hour, too).
 */
#define COMMIT_GUEST_TIMEOUT_MS	(60u * 60 * 1000)

/* qemu-img commit prints its progress in steps of 1%. */
#define PROGRESS_MIN_SKIP	1.0f

/* qemu's lock sets: a writer, a reader, and a reader of a layer that
 * the commit makes inconsistent (qemu will not share consistent reads
 * of the images between the top and the base while it commits). */
#define PERM_WRITER	(LOCK_PERM_CONSISTENT_READ | LOCK_PERM_WRITE | \
			    LOCK_PERM_RESIZE)
#define PERM_READER	LOCK_PERM_CONSISTENT_READ
#define SHARE_NO_WRITERS	(LOCK_PERM_ALL & \
			    ~(LOCK_PERM_WRITE | LOCK_PERM_RESIZE))
#define SHARE_NOTHING_USEFUL	(LOCK_PERM_ALL & \
			    ~(LOCK_PERM_CONSISTENT_READ | LOCK_PERM_WRITE | \
			    LOCK_PERM_RESIZE))

struct commit_opts {
	const char *filename;
	bool image_opts;		/* filename is qemu's option syntax */
	const char *format_name;	/* -f, or NULL to probe */
	Instar__Format format;
	const char *cache;
	const char *base;		/* -b as given; NULL: none given */
	bool drop;			/* -d or -b: leave the top as it is */
	bool progress;
	bool quiet;
	bool json;
	bool dry_run;
	uint64_t rate_limit;		/* bytes per second; 0: none */
};

/*
 * Every image of the guest run, in device order: the top, the images
 * between it and the base, the base, then the base's own backing chain.
 */
struct commit_job {
	struct chain c;
	size_t base;			/* index of the base; 0: not found */
	int top_ro_fd;			/* the top read-only, with -d */
	int child_rw_fd;		/* a VMDK child to relink, reopened */
	bool dry_run;			/* every image is open read-only */
};

static void
commit_usage(FILE *out)
{
	fprintf(out,
	    "usage: instar commit [-f FMT] [-t CACHE] [-b BASE] [-d] [-p] "
	    "[-q] [-r RATE_LIMIT]\n"
	    "           [--dry-run] [--output=human|json] FILENAME\n"
	    "\n"
	    "  -f FMT            format of FILENAME: qcow2, vmdk or raw "
	    "(default: probe)\n"
	    "  -b BASE           commit into BASE, an image of FILENAME's "
	    "backing chain\n"
	    "                    (default: its backing file); implies -d\n"
	    "  -d                do not empty FILENAME afterwards\n"
	    "  -r RATE_LIMIT     write at most RATE_LIMIT bytes per second "
	    "(k, M, G...)\n"
	    "  -t CACHE          none, writeback, writethrough, directsync "
	    "or unsafe\n"
	    "                    (accepted; writes are always flushed in "
	    "order)\n"
	    "  -p                show progress\n"
	    "  -q                quiet: no progress, no message\n"
	    IMAGE_OPTS_USAGE
	    "  --backing-root DIR\n"
	    "                    follow backing references only beneath DIR "
	    "(repeatable;\n"
	    "                    default: $INSTAR_BACKING_ROOT, "
	    "colon-separated)\n"
	    "  --dry-run         say what the commit would do, and write "
	    "nothing\n"
	    "  --output=FORMAT   human (default: \"Image committed.\") or "
	    "json\n");
}

/* qemu-img's cvtnum("rate limit", ...): 0 to INT64_MAX bytes. */
static uint64_t
parse_rate(const char *arg)
{
	uint64_t rate;
	bool hex_suffix;
	int r;

	r = size_parse(arg, &rate, &hex_suffix);
	if (hex_suffix)
		error("warning: Using a multiplier suffix on hex numbers is "
		    "deprecated: %s", arg);
	if (r != 0 && r != -ERANGE) {
		error("Invalid rate limit specified. You may use k, M, G, T, "
		    "P or E suffixes for");
		error("kilobytes, megabytes, gigabytes, terabytes, petabytes "
		    "and exabytes.");
		exit(1);
	}
	if (r == -ERANGE || rate > INT64_MAX) {
		error("Invalid rate limit specified. Must be between 0 and "
		    "%" PRId64 ".", INT64_MAX);
		exit(1);
	}
	return rate;
}

static void
parse_args(int argc, char **argv, struct commit_opts *o)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'O' },
		{ IMAGE_ROOT_OPTION, required_argument, NULL,
		    IMAGE_ROOT_OPTVAL },
		IMAGE_OPTS_LONGOPTS,
		{ DRY_RUN_OPTION, no_argument, NULL, DRY_RUN_OPTVAL },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->format = INSTAR__FORMAT__FORMAT_PROBE;
	o->cache = "writeback";		/* BDRV_DEFAULT_CACHE */
	while ((ch = getopt_long(argc, argv, ":hf:t:b:dpqr:", longopts,
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
			commit_usage(stdout);
			exit(0);
		case 'f':
			o->format_name = optarg;
			break;
		case 't':
			o->cache = optarg;
			break;
		case 'b':
			o->base = optarg;
			o->drop = true;		/* -b implies -d */
			break;
		case 'd':
			o->drop = true;
			break;
		case 'p':
			o->progress = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'r':
			o->rate_limit = parse_rate(optarg);
			break;
		case 'O':
			o->json = parse_output("commit", optarg);
			break;
		case ':':
			usage_error("commit", "missing argument for option "
			    "'%s'", argv[optind - 1]);
		default:
			usage_error("commit", "unrecognized option '%s'",
			    argv[optind - 1]);
		}
	}
	/* Nothing but the report on stdout with --output=json. */
	if (o->quiet || o->json)
		o->progress = false;
	if (optind != argc - 1)
		usage_error("commit", "Expecting one image file name");
	o->filename = argv[optind];
}

/* Everything qemu-img checks before it opens a file, in its order. */
static int
check_names(struct commit_opts *o, Instar__Format *fmt)
{
	if (!cache_mode_valid(o->cache)) {
		error("Invalid cache option: %s", o->cache);
		return -1;
	}
	if (image_name_apply(o->image_opts, false, &o->filename,
	    &o->format_name) != 0)
		return -1;
	return format_option(o->filename, o->format_name, fmt);
}

/*
 * One step of block.c bdrv_find_backing_image(): whether the name given
 * with -b stands for the backing file of an image opened as filename
 * that records its backing file as recorded.  Names with a protocol are
 * compared as strings, with the recorded name as it is and as resolved;
 * any other is taken relative to the image's directory (not to the
 * working directory), and both must resolve (realpath) to one file.
 */
static bool
names_backing(const char *given, const char *filename, const char *recorded)
{
	char given_real[PATH_MAX], backing_real[PATH_MAX];
	char *full;
	bool found;

	if (path_has_protocol(given) || path_has_protocol(recorded)) {
		if (strcmp(given, recorded) == 0)
			return true;
		if ((full = path_backing_full(filename, recorded)) == NULL)
			fatal_f("out of memory");
		found = strcmp(given, full) == 0;
		free(full);
		return found;
	}
	if (given[0] == '\0' || recorded[0] == '\0')
		return false;
	if ((full = path_backing_full(filename, given)) == NULL)
		fatal_f("out of memory");
	found = realpath(full, given_real) != NULL;
	free(full);
	if (!found)
		return false;
	if ((full = path_backing_full(filename, recorded)) == NULL)
		fatal_f("out of memory");
	found = realpath(full, backing_real) != NULL;
	free(full);
	return found && strcmp(given_real, backing_real) == 0;
}

/* Whether the backing file of image i is the base the user means. */
static bool
backing_is_base(const struct commit_opts *o, const struct commit_job *j,
    size_t i)
{
	char *recorded;
	bool found;

	if (o->base == NULL)
		return i == 0;
	if ((recorded = chain_recorded_backing(chain_info(&j->c, i))) == NULL)
		return false;
	found = names_backing(o->base, j->c.images[i].filename, recorded);
	free(recorded);
	return found;
}

/*
 * Open FILENAME and its whole backing chain as qemu-img commit does: the
 * top as a writer that shares neither write nor resize (with -d too),
 * every backing file as a reader that shares the same.  The base is
 * opened for writing already, so that it need not be opened by name
 * again; its writer's locks come later (take_base), as qemu reopens it.
 */
static int
collect(struct worker_conn *w, struct commit_job *j,
    const struct commit_opts *o)
{
	struct walk wk = { .dry_run = o->dry_run };
	const Instar__ImageInfo *info;
	Instar__Format fmt;
	size_t i, depth;
	char *next;
	bool is_base;
	int r;

	walk_prefix(&wk, "Could not open '%s': ", opened_as(o->filename));
	wk.perm = PERM_WRITER;
	wk.shared = SHARE_NO_WRITERS;
	if (chain_add(w, &j->c, &wk, 0, 0, o->filename, o->format,
	    CHAIN_OPEN_RDWR) != 0 ||
	    chain_check_writable(&j->c, 0, o->filename) != 0)
		return -1;
	if (o->format == INSTAR__FORMAT__FORMAT_PROBE &&
	    chain_info(&j->c, 0)->format == INSTAR__FORMAT__FORMAT_RAW)
		chain_warn_probed_raw(o->filename);
	wk.perm = PERM_READER;
	j->base = 0;
	for (i = 0, depth = 1;; i = j->c.n - 1, depth++) {
		if (chain_next(&j->c, i, &wk, depth, &next, &fmt) != 0)
			return -1;
		if (next == NULL)
			return 0;
		is_base = j->base == 0 && backing_is_base(o, j, i);
		r = chain_add(w, &j->c, &wk, depth, 0, next, fmt, is_base ?
		    CHAIN_OPEN_TRY_RDWR : CHAIN_OPEN_RDONLY);
		free(next);
		if (r != 0)
			return -1;
		/* The guest cannot read one without its key; qemu-img fails
		 * to open it without one, at its place in the chain. */
		info = chain_info(&j->c, j->c.n - 1);
		if (info->qcow2 != NULL && info->qcow2->encrypted) {
			chain_error(&wk, depth, NULL, "encrypted images are "
			    "not supported");
			return -1;
		}
		if (is_base)
			j->base = j->c.n - 1;
	}
}

static int
find_base(const struct commit_job *j, const struct commit_opts *o)
{
	if (j->base != 0)
		return 0;
	if (o->base != NULL)
		error("Did not find '%s' in the backing chain of '%s'",
		    o->base, o->filename);
	else
		error("Image does not have a backing file");
	return -1;
}

/*
 * Upgrade the locks on image i, as qemu does when the job starts; a dry
 * run only tests that it could.
 */
static int
relock(const struct commit_job *j, size_t i, unsigned int perm,
    unsigned int shared)
{
	int fd = j->c.images[i].fd;
	char why[256];

	if ((j->dry_run ? lock_probe(fd, perm, shared, why, sizeof(why)) :
	    lock_image(fd, perm, shared, why, sizeof(why))) != 0) {
		error("%s", why);
		error_plain("Is another process using the image [%s]?",
		    j->c.images[i].filename);
		return -1;
	}
	return 0;
}

/*
 * Whether the base's child records the base's CID, which changes: a
 * VMDK over a VMDK base.  The guest rewrites that child's descriptor.
 */
static bool
relinks_child(const struct commit_job *j)
{
	return chain_info(&j->c, j->base)->format ==
	    INSTAR__FORMAT__FORMAT_VMDK &&
	    chain_info(&j->c, j->base - 1)->format ==
	    INSTAR__FORMAT__FORMAT_VMDK;
}

/*
 * What qemu does when the commit job starts: reopen the base read-write
 * (a writer sharing neither write nor resize) and stop sharing
 * consistent reads of the images in between, which are about to stop
 * reading as they did.
 */
static int
take_locks(const struct commit_job *j)
{
	const struct image *base = &j->c.images[j->base];
	size_t i;

	if (!base->writable) {
		error("Could not open '%s': %s", base->filename,
		    strerror(base->rdwr_errno));
		return -1;
	}
	if (relock(j, j->base, PERM_WRITER, SHARE_NO_WRITERS) != 0)
		return -1;
	for (i = 1; i < j->base; i++)
		if (relock(j, i, relinks_child(j) && i == j->base - 1 ?
		    PERM_WRITER : PERM_READER, SHARE_NOTHING_USEFUL) != 0)
			return -1;
	return 0;
}

static void
refuse(const char *why)
{
	error("Block job failed: Operation not supported (%s)", why);
}

/*
 * What instar does not commit, refused before anything is written.  A
 * VMDK base that would have to grow fails in qemu-img too, with the
 * same words.
 */
static int
check_formats(const struct commit_job *j)
{
	const Instar__ImageInfo *top = chain_info(&j->c, 0);
	const Instar__ImageInfo *base = chain_info(&j->c, j->base);
	char *name;

	if (base->format == INSTAR__FORMAT__FORMAT_VMDK &&
	    base->virtual_size < top->virtual_size) {
		refuse("a VMDK image cannot grow");
		return -1;
	}
	/*
	 * A raw base whose format nothing records was probed: data written
	 * at its start could make it probe as another format next time (a
	 * qcow2 header naming any file as its backing).  qemu refuses such
	 * a write when it comes to it, after writing what came before;
	 * the guest is not told the base was probed, so refuse it whole.
	 */
	if (base->format == INSTAR__FORMAT__FORMAT_RAW &&
	    chain_info(&j->c, j->base - 1)->backing_format == NULL) {
		name = chain_recorded_backing(chain_info(&j->c, j->base - 1));
		error("Block job failed: Operation not permitted (the format "
		    "of '%s' was probed, and instar does not write into a "
		    "probed raw image; record it first: qemu-img rebase -u "
		    "-b '%s' -F raw '%s')", j->c.images[j->base].filename,
		    name != NULL ? name : "", j->c.images[j->base - 1].filename);
		free(name);
		return -1;
	}
	return chain_check_writable(&j->c, j->base,
	    j->c.images[j->base].filename);
}

/* Image i opened again through its descriptor, with other flags. */
static int
reopen(const struct commit_job *j, size_t i, int flags)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", j->c.images[i].fd);
	if ((fd = open(path, flags | O_CLOEXEC | O_NOCTTY)) < 0)
		error("Could not open '%s': %s", j->c.images[i].filename,
		    strerror(errno));
	return fd;
}

/*
 * With -d the guest gets the top read-only: it changes only the base
 * (and the descriptor of a VMDK top over a VMDK base).  A VMDK image
 * between top and base that must record the base's new CID is given
 * writable.
 */
static int
reopen_for_guest(struct commit_job *j, const struct commit_opts *o)
{
	size_t child = j->base - 1;

	j->top_ro_fd = -1;
	j->child_rw_fd = -1;
	/* A dry run's images are all read-only already. */
	if (j->dry_run)
		return 0;
	if (o->drop && !(relinks_child(j) && child == 0) &&
	    (j->top_ro_fd = reopen(j, 0, O_RDONLY)) < 0)
		return -1;
	if (relinks_child(j) && child > 0 &&
	    (j->child_rw_fd = reopen(j, child, O_RDWR)) < 0)
		return -1;
	return 0;
}

/* A random CID, as qemu gives a VMDK on its first write. */
static uint32_t
random_cid(void)
{
	uint32_t cid;

	if (getrandom(&cid, sizeof(cid), 0) != sizeof(cid))
		fatal_f("getrandom: %s", strerror(errno));
	return cid;
}

static Instar__Envelope *
run_commit(struct worker_conn *w, const struct commit_opts *o,
    const struct commit_job *j, struct progress *prog)
{
	Instar__Commit req = INSTAR__COMMIT__INIT;
	Instar__Envelope *done;
	bool writable[INSTAR_MAX_DEVICES] = { false };
	int fds[INSTAR_MAX_DEVICES];
	int image_error;
	size_t i;

	for (i = 0; i < j->c.n; i++)
		fds[i] = -1;
	fds[0] = j->top_ro_fd;
	writable[0] = !o->drop;
	writable[j->base] = true;
	if (relinks_child(j)) {
		writable[j->base - 1] = true;
		if (j->child_rw_fd >= 0)
			fds[j->base - 1] = j->child_rw_fd;
	}
	if (chain_attach(w, &j->c, j->c.n, fds, writable) != 0)
		return NULL;
	req.base_index = (uint32_t)j->base;
	req.empty_top = !o->drop;
	req.rate_limit = o->rate_limit;
	req.new_cid = random_cid();
	done = worker_commit(w, &req, progress_update, prog, &image_error);
	if (done == NULL) {
		if (image_error)
			error("Block job failed: %s", w->error);
		else
			error("Could not commit '%s': %s", o->filename,
			    w->error);
	}
	return done;
}

/*
 * instar's own report: a fixed key order, laid out and escaped the way
 * qemu prints JSON.
 */
static int
print_json(FILE *out, const struct commit_opts *o, const struct commit_job *j,
    const Instar__CommitDone *done)
{
	const char *fmt = format_name(chain_info(&j->c, 0)->format);
	const char *base = j->c.images[j->base].filename;
	const char *base_fmt = format_name(chain_info(&j->c,
	    j->base)->format);

	json_report_key(out, "filename", true);
	json_print_string(out, o->filename, strlen(o->filename));
	json_report_key(out, "format", false);
	json_print_string(out, fmt, strlen(fmt));
	json_report_key(out, "base-filename", false);
	json_print_string(out, base, strlen(base));
	json_report_key(out, "base-format", false);
	json_print_string(out, base_fmt, strlen(base_fmt));
	json_report_uint(out, "clusters-committed", done->clusters_committed);
	json_report_uint(out, "bytes-committed", done->bytes_committed);
	json_report_uint(out, "clusters-emptied", done->clusters_emptied);
	json_report_uint(out, "base-cluster-size", done->base_cluster_size);
	json_report_bool(out, "base-grown", done->base_grown);
	json_report_bool(out, "emptied", !o->drop);
	json_report_uint(out, "file-size-before", done->top_size_before);
	json_report_uint(out, "file-size-after", done->top_size_after);
	json_report_uint(out, "base-file-size-before", done->base_size_before);
	json_report_uint(out, "base-file-size-after", done->base_size_after);
	if (o->dry_run)
		dry_run_json(out);
	fputs("\n}\n", out);
	return ferror(out) ? -1 : 0;
}

/* What the commit would do, for a person to read before running it. */
static int
print_plan(FILE *out, const struct commit_opts *o, const struct commit_job *j,
    const Instar__CommitDone *done)
{
	const Instar__ImageInfo *top = chain_info(&j->c, 0);
	const Instar__ImageInfo *base = chain_info(&j->c, j->base);
	const char *base_name = j->c.images[j->base].filename;
	char from[SIZE_STR_MAX], to[SIZE_STR_MAX];

	fprintf(out, "Dry run: commit of %s (%s) into ",
	    dry_run_name(0, o->filename), format_name(top->format));
	fprintf(out, "%s (%s)", dry_run_name(1, base_name),
	    format_name(base->format));
	if (j->base > 1)
		fprintf(out, ", through %zu image%s between", j->base - 1,
		    j->base > 2 ? "s" : "");
	fputs("\n  would commit: ", out);
	dry_run_clusters(out, done->clusters_committed,
	    done->base_cluster_size, done->clusters_committed *
	    (uint64_t)done->base_cluster_size);
	fprintf(out, ", holding %" PRIu64 " bytes of the top's chain\n",
	    done->bytes_committed);
	if (done->base_grown && size_to_str(from, sizeof(from),
	    base->virtual_size) == 0 && size_to_str(to, sizeof(to),
	    top->virtual_size) == 0)
		fprintf(out, "  the base's virtual size would grow from %s to "
		    "%s\n", from, to);
	else
		fputs("  the base's virtual size would stay as it is\n", out);
	if (o->drop)
		fprintf(out, "  %s would be left as it is\n",
		    dry_run_name(0, o->filename));
	else
		fprintf(out, "  %s would be emptied: %" PRIu64 " cluster%s "
		    "released\n", dry_run_name(0, o->filename),
		    done->clusters_emptied, done->clusters_emptied == 1 ? "" :
		    "s");
	dry_run_file(out, base_name, done->base_size_before,
	    done->base_size_after);
	dry_run_file(out, o->filename, done->top_size_before,
	    done->top_size_after);
	dry_run_footer(out);
	return ferror(out) ? -1 : 0;
}

static int
print_result(const struct commit_opts *o, const struct commit_job *j,
    const Instar__CommitDone *done)
{
	if (o->json) {
		if (print_json(stdout, o, j, done) != 0)
			return -1;
	} else if (o->quiet)
		;
	else if (o->dry_run) {
		if (print_plan(stdout, o, j, done) != 0)
			return -1;
	} else
		printf("Image committed.\n");
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
}

int
cmd_commit(int argc, char **argv)
{
	static struct commit_job j;
	struct commit_opts o;
	struct worker_conn w;
	struct progress prog;
	Instar__Envelope *done = NULL;
	int ret = 1;

	parse_args(argc, argv, &o);
	if (image_roots_init() != 0)
		return 1;
	memset(&prog, 0, sizeof(prog));
	j.top_ro_fd = -1;
	j.child_rw_fd = -1;
	j.dry_run = o.dry_run;
	if (check_names(&o, &o.format) != 0)
		goto out;
	if (worker_start_job(&w, INSTAR__OP__OP_COMMIT,
	    COMMIT_GUEST_TIMEOUT_MS, o.dry_run) != 0) {
		error("Could not open '%s': %s", opened_as(o.filename),
		    w.error);
		goto out;
	}
	if (collect(&w, &j, &o) != 0) {
		worker_abort(&w);
		goto out;
	}
	/* qemu-img starts its progress once the chain is open. */
	progress_init(&prog, o.progress, PROGRESS_MIN_SKIP);
	if (find_base(&j, &o) != 0 || take_locks(&j) != 0 ||
	    check_formats(&j) != 0 || reopen_for_guest(&j, &o) != 0 ||
	    (done = run_commit(&w, &o, &j, &prog)) == NULL) {
		worker_abort(&w);
		goto out;
	}
	if (worker_finish(&w) != 0) {
		error("%s", w.error);
		goto out;
	}
	progress_set(&prog, 100.0f);
	progress_end(&prog);
	if (print_result(&o, &j, done->commit_done) != 0) {
		error("cannot write output: %s", strerror(errno));
		goto out;
	}
	ret = 0;
 out:
	progress_end(&prog);
	if (done != NULL)
		instar__envelope__free_unpacked(done, NULL);
	if (j.top_ro_fd >= 0)
		close(j.top_ro_fd);
	if (j.child_rw_fd >= 0)
		close(j.child_rw_fd);
	chain_free(&j.c);
	return ret;
}
