/*
 * instar rebase [-f FMT] [-t CACHE] [-T SRC_CACHE] [-p] [-q] [-u] [-U]
 *     -b BACKING_FILE [-F BACKING_FMT] [--output=human|json] FILENAME
 *
 * The monitor opens and locks the overlay read-write and every image of
 * its old and new backing chains read-only, learns each image's format
 * and backing reference from the sandbox, then hands all the descriptors
 * to one guest run that plans and performs the rebase.  Nothing here
 * reads or writes image bytes.
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

#include "hypercall.h"
#include "json.h"
#include "lock.h"
#include "log.h"
#include "monitor.h"
#include "path.h"
#include "worker_client.h"

/*
 * One guest run does the whole rebase, which on a big image may take
 * many minutes; progress frames keep the monitor's reply timer fresh in
 * between.  This bounds a guest that stops making progress.
 */
#define REBASE_GUEST_TIMEOUT_MS	(60u * 60 * 1000)

/* qcow2_change_backing_file(): longer names are refused with EINVAL. */
#define BACKING_NAME_MAX	1023

/* qemu's progress printer (util/qemu-progress.c) prints every 2%. */
#define PROGRESS_MIN_SKIP	2.0f

struct rebase_opts {
	const char *filename;
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
};

/* An image the job uses: open, locked, and described by the sandbox. */
struct image {
	char *filename;			/* as qemu names it */
	int fd;
	Instar__Envelope *env;		/* holds the image_info */
	dev_t dev;
	ino_t ino;
};

/*
 * Every image the guest run gets, in device order: the overlay, its old
 * backing chain top first, then the new chain unless it starts inside
 * the old one.  The descriptors stay open (and locked) to the end.
 */
struct job {
	struct image images[INSTAR_MAX_DEVICES];
	size_t n;
	size_t old_len;
	size_t new_start;
	size_t new_len;
	Instar__Format new_format;	/* what the new backing was read as */
};

/* How one chain is opened, and what its error messages start with. */
struct walk {
	char prefix[2048];
	unsigned int perm;
	unsigned int shared;
};

/* util/qemu-progress.c, as qemu-img rebase -p drives it. */
struct progress {
	bool enabled;
	float current;
	float last_print;
};

static void
rebase_usage(FILE *out)
{
	fprintf(out,
	    "usage: instar rebase [-f FMT] [-t CACHE] [-T SRC_CACHE] [-p] [-q] "
	    "[-u] [-U]\n"
	    "           -b BACKING_FILE [-F BACKING_FMT] "
	    "[--output=human|json] FILENAME\n"
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
	    "  --output=FORMAT   human (default: prints nothing) or json\n");
}

static int
parse_format(const char *name, Instar__Format *fmt)
{
	if (strcmp(name, "qcow2") == 0)
		*fmt = INSTAR__FORMAT__FORMAT_QCOW2;
	else if (strcmp(name, "vmdk") == 0)
		*fmt = INSTAR__FORMAT__FORMAT_VMDK;
	else if (strcmp(name, "raw") == 0)
		*fmt = INSTAR__FORMAT__FORMAT_RAW;
	else
		return -1;
	return 0;
}

static const char *
format_name(Instar__Format fmt)
{
	switch (fmt) {
	case INSTAR__FORMAT__FORMAT_QCOW2:
		return "qcow2";
	case INSTAR__FORMAT__FORMAT_VMDK:
		return "vmdk";
	case INSTAR__FORMAT__FORMAT_RAW:
		return "raw";
	default:
		return "unknown";
	}
}

/* block.c bdrv_parse_cache_mode(): the names qemu-img accepts. */
static bool
cache_mode_valid(const char *mode)
{
	static const char *const modes[] = {
		"off", "none", "directsync", "writeback", "unsafe",
		"writethrough",
	};
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(mode, modes[i]) == 0)
			return true;
	return false;
}

static void
parse_args(int argc, char **argv, struct rebase_opts *o)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "force-share", no_argument, NULL, 'U' },
		{ "output", required_argument, NULL, 'O' },
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
			if (strcmp(optarg, "json") == 0)
				o->json = true;
			else if (strcmp(optarg, "human") == 0)
				o->json = false;
			else
				usage_error("rebase", "--output must be used "
				    "with human or json as argument.");
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
	if (optind != argc - 1)
		usage_error("rebase", "Expecting one image file name");
	if (!o->unsafe && o->backing == NULL)
		usage_error("rebase", "Must specify backing file (-b) or use "
		    "unsafe mode (-u)");
	o->filename = argv[optind];
}

static void
progress_print(struct progress *p)
{
	printf("    (%3.2f/100%%)\r", (double)p->current);
	fflush(stdout);
}

/* qemu_progress_print(): only steps of more than 2%, and both ends. */
static void
progress_set(struct progress *p, float current)
{
	if (!p->enabled)
		return;
	if (current > 100.0f)
		current = 100.0f;
	p->current = current;
	if (current > p->last_print + PROGRESS_MIN_SKIP ||
	    current < p->last_print - PROGRESS_MIN_SKIP ||
	    current == 0.0f || current == 100.0f) {
		p->last_print = current;
		progress_print(p);
	}
}

static void
progress_init(struct progress *p, bool enabled)
{
	memset(p, 0, sizeof(*p));
	p->enabled = enabled;
	progress_set(p, 0.0f);
}

/* qemu_progress_end(): the line is ended on success and failure alike. */
static void
progress_end(struct progress *p)
{
	if (!p->enabled)
		return;
	printf("\n");
	fflush(stdout);
	p->enabled = false;
}

static void
on_progress(uint64_t done, uint64_t total, void *arg)
{
	if (total != 0)
		progress_set(arg, (float)((double)done * 100.0 /
		    (double)total));
}

/*
 * Report a failure to open an image of a chain the way qemu nests it:
 * "Could not open 'top': Could not open backing file: ... <why>", and
 * name the image another process may be holding, if that is the why.
 */
static void chain_error(const struct walk *, size_t depth,
    const char *held_image, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
chain_error(const struct walk *wk, size_t depth, const char *held_image,
    const char *fmt, ...)
{
	char why[1536], line[4096];
	size_t len, i;
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	len = 0;
	for (i = 0; i <= depth + 1 && len < sizeof(line); i++) {
		if (i == 0)
			n = snprintf(line, sizeof(line), "%s", wk->prefix);
		else if (i <= depth)
			n = snprintf(line + len, sizeof(line) - len,
			    "Could not open backing file: ");
		else
			n = snprintf(line + len, sizeof(line) - len, "%s",
			    why);
		if (n < 0)
			break;
		len += (size_t)n;
	}
	error("%s", line);
	if (held_image != NULL)
		fprintf(stderr, "Is another process using the image [%s]?\n",
		    held_image);
}

static void walk_prefix(struct walk *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
walk_prefix(struct walk *wk, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(wk->prefix, sizeof(wk->prefix), fmt, ap);
	va_end(ap);
}

static bool
job_contains(const struct job *j, size_t from, const struct stat *st)
{
	size_t i;

	for (i = from; i < j->n; i++)
		if (j->images[i].dev == st->st_dev &&
		    j->images[i].ino == st->st_ino)
			return true;
	return false;
}

/*
 * Open and lock one image.  The overlay is opened read-write, backing
 * files read-only; all must be regular files.
 */
static int
open_locked(const struct walk *wk, size_t depth, const char *filename,
    bool writable, struct stat *st)
{
	char why[256];
	int fd;

	fd = open(filename, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC |
	    O_NOCTTY);
	if (fd < 0) {
		chain_error(wk, depth, NULL, "Could not open '%s': %s",
		    filename, strerror(errno));
		return -1;
	}
	if (fstat(fd, st) != 0) {
		chain_error(wk, depth, NULL, "Could not open '%s': %s",
		    filename, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		chain_error(wk, depth, NULL, "'file' driver requires '%s' to "
		    "be a regular file", filename);
		close(fd);
		return -1;
	}
	if (lock_image(fd, wk->perm, wk->shared, why, sizeof(why)) != 0) {
		chain_error(wk, depth, filename, "%s", why);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Open, lock and describe one image, and append it to the job.  depth
 * is its place in the chain being walked (for error messages); loops
 * are looked for among the images from loop_from on.
 */
static int
add_image(struct worker_conn *w, struct job *j, const struct walk *wk,
    size_t depth, size_t loop_from, const char *filename,
    Instar__Format fmt, bool writable)
{
	struct image *img;
	struct stat st;
	int fd, image_error;

	if (j->n == INSTAR_MAX_DEVICES) {
		chain_error(wk, depth, NULL, "Could not open '%s': the "
		    "backing chains hold more than %u images", filename,
		    INSTAR_MAX_DEVICES);
		return -1;
	}
	if ((fd = open_locked(wk, depth, filename, writable, &st)) < 0)
		return -1;
	if (job_contains(j, loop_from, &st)) {
		error("Backing file '%s' creates an infinite loop.", filename);
		close(fd);
		return -1;
	}
	img = &j->images[j->n];
	memset(img, 0, sizeof(*img));
	img->fd = fd;
	img->dev = st.st_dev;
	img->ino = st.st_ino;
	if ((img->filename = strdup(filename)) == NULL)
		fatal_f("out of memory");
	j->n++;
	img->env = worker_image_info(w, fd, fmt, &image_error);
	if (img->env == NULL) {
		chain_error(wk, depth, NULL, "%s", w->error);
		return -1;
	}
	return 0;
}

static const Instar__ImageInfo *
image_info(const struct job *j, size_t i)
{
	return j->images[i].env->image_info;
}

/* The name img records as its backing file, as a C string, or NULL. */
static char *
recorded_backing(const Instar__ImageInfo *info)
{
	char *name;

	if (!info->has_backing_filename)
		return NULL;
	/* Validated NUL-free by the worker. */
	if ((name = strndup((const char *)info->backing_filename.data,
	    info->backing_filename.len)) == NULL)
		fatal_f("out of memory");
	return name;
}

/* Where the backing file of image i is, and what format to read it as. */
static int
next_in_chain(const struct job *j, size_t i, const struct walk *wk,
    size_t depth, char **next, Instar__Format *fmt)
{
	const Instar__ImageInfo *info = image_info(j, i);
	char *name;

	*next = NULL;
	if ((name = recorded_backing(info)) == NULL)
		return 0;
	*fmt = INSTAR__FORMAT__FORMAT_PROBE;
	if (info->backing_format != NULL &&
	    parse_format(info->backing_format, fmt) != 0) {
		chain_error(wk, depth, NULL, "Unknown driver '%s' (instar "
		    "handles qcow2, vmdk and raw)", info->backing_format);
		free(name);
		return -1;
	}
	*next = path_backing_full(j->images[i].filename, name);
	free(name);
	if (*next == NULL)
		fatal_f("out of memory");
	return 0;
}

/* Add the backing chain of image i, top first; returns how many. */
static int
add_chain_below(struct worker_conn *w, struct job *j, size_t i,
    const struct walk *wk, size_t loop_from, size_t *added)
{
	Instar__Format fmt;
	size_t depth = 1;
	char *next;

	*added = 0;
	for (;;) {
		if (next_in_chain(j, i, wk, depth, &next, &fmt) != 0)
			return -1;
		if (next == NULL)
			return 0;
		if (add_image(w, j, wk, depth, loop_from, next, fmt,
		    false) != 0) {
			free(next);
			return -1;
		}
		free(next);
		(*added)++;
		i = j->n - 1;
		depth++;
	}
}

/* The overlay: a writer that shares neither write nor resize. */
static int
add_overlay(struct worker_conn *w, struct job *j,
    const struct rebase_opts *o)
{
	struct walk wk = { .perm = 0 };

	walk_prefix(&wk, "Could not open '%s': ", o->filename);
	wk.perm = LOCK_PERM_CONSISTENT_READ | LOCK_PERM_WRITE |
	    LOCK_PERM_RESIZE;
	wk.shared = LOCK_PERM_ALL & ~(LOCK_PERM_WRITE | LOCK_PERM_RESIZE);
	return add_image(w, j, &wk, 0, 0, o->filename, o->format, true);
}

/*
 * The overlay's backing chain, opened with it as qemu-img does (so -U
 * does not apply to it), read-only.
 */
static int
add_old_chain(struct worker_conn *w, struct job *j,
    const struct rebase_opts *o)
{
	struct walk wk = { .perm = 0 };

	walk_prefix(&wk, "Could not open '%s': ", o->filename);
	wk.perm = LOCK_PERM_CONSISTENT_READ;
	wk.shared = LOCK_PERM_ALL & ~(LOCK_PERM_WRITE | LOCK_PERM_RESIZE);
	return add_chain_below(w, j, 0, &wk, 0, &j->old_len);
}

/* What -U changes: the new backing chain may be in use elsewhere. */
static void
new_chain_walk(struct walk *wk, const struct rebase_opts *o)
{
	walk_prefix(wk, "Could not open new backing file '%s': ",
	    o->backing);
	wk->perm = LOCK_PERM_CONSISTENT_READ;
	wk->shared = o->force_share ? LOCK_PERM_ALL :
	    LOCK_PERM_ALL & ~(LOCK_PERM_WRITE | LOCK_PERM_RESIZE);
}

/* The old chain image that is the same file as path, or 0 if none. */
static size_t
find_in_old_chain(const struct job *j, const char *path)
{
	struct stat st;
	size_t i;

	if (stat(path, &st) != 0)
		return 0;
	for (i = 1; i <= j->old_len; i++)
		if (j->images[i].dev == st.st_dev &&
		    j->images[i].ino == st.st_ino)
			return i;
	return 0;
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

	j->new_start = j->n;
	j->new_len = 0;
	if (o->backing == NULL || o->backing[0] == '\0')
		return 0;
	if ((path = path_backing_full(o->filename, o->backing)) == NULL)
		fatal_f("out of memory");
	if ((start = find_in_old_chain(j, path)) != 0) {
		j->new_start = start;
		j->new_len = j->old_len - start + 1;
		j->new_format = image_info(j, start)->format;
		free(path);
		return 0;
	}
	new_chain_walk(&wk, o);
	if (o->backing_format != NULL)
		(void)parse_format(o->backing_format, &fmt);
	ret = add_image(w, j, &wk, 0, j->new_start, path, fmt, false);
	free(path);
	if (ret != 0)
		return -1;
	j->new_format = image_info(j, j->new_start)->format;
	if (add_chain_below(w, j, j->new_start, &wk, j->new_start,
	    &added) != 0)
		return -1;
	j->new_len = 1 + added;
	return 0;
}

/*
 * -u without -F: probe the new backing so that its format can be
 * recorded (qemu-img 7.2 refuses instead).  It is not attached.
 */
static int
probe_new_backing(struct worker_conn *w, struct job *j,
    const struct rebase_opts *o)
{
	struct walk wk = { .perm = 0 };
	char *path;
	int ret;

	if ((path = path_backing_full(o->filename, o->backing)) == NULL)
		fatal_f("out of memory");
	new_chain_walk(&wk, o);
	ret = add_image(w, j, &wk, 0, 0, path, INSTAR__FORMAT__FORMAT_PROBE,
	    false);
	free(path);
	if (ret != 0) {
		fprintf(stderr, "Use -F to name the format of a backing file "
		    "that cannot be opened.\n");
		return -1;
	}
	j->new_format = image_info(j, j->n - 1)->format;
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
	const Instar__ImageInfo *info = image_info(j, 0);

	if (info->qcow2 != NULL && info->qcow2->corrupt) {
		error("Could not open '%s': qcow2: Image is corrupt; cannot be "
		    "opened read/write", o->filename);
		return -1;
	}
	if (info->qcow2 != NULL && info->qcow2->encrypted) {
		error("Could not open '%s': encrypted images are not "
		    "supported", o->filename);
		return -1;
	}
	return 0;
}

/* Only a qcow2 overlay can record a new backing file (for now). */
static int
check_overlay_format(const struct rebase_opts *o, const struct job *j)
{
	const Instar__ImageInfo *info = image_info(j, 0);

	if (info->format == INSTAR__FORMAT__FORMAT_VMDK) {
		change_error(o, "Operation not supported (instar does not "
		    "rebase VMDK images yet)");
		return -1;
	}
	if (info->format != INSTAR__FORMAT__FORMAT_QCOW2) {
		change_error(o, "Operation not supported");
		return -1;
	}
	return 0;
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

static int
attach_all(struct worker_conn *w, const struct job *j, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (worker_attach(w, j->images[i].fd, image_info(j, i)->format,
		    i == 0) != 0) {
			error("Could not open '%s': %s", j->images[i].filename,
			    w->error);
			return -1;
		}
	}
	return 0;
}

static Instar__Envelope *
run_rebase(struct worker_conn *w, const struct rebase_opts *o,
    const struct job *j, struct progress *prog)
{
	Instar__Rebase req = INSTAR__REBASE__INIT;
	Instar__Envelope *done;
	const char *name = new_backing_name(o);
	int image_error;

	/* -u hands over the overlay alone, even if a probe opened more. */
	if (attach_all(w, j, o->unsafe ? 1 : j->n) != 0)
		return NULL;
	req.unsafe = o->unsafe;
	req.backing_name.data = (uint8_t *)(uintptr_t)name;
	req.backing_name.len = strlen(name);
	req.backing_format = (char *)(uintptr_t)new_backing_format(o, j);
	if (o->unsafe) {
		req.old_chain_len = 0;
		req.new_chain_start = 1;
		req.new_chain_len = 0;
	} else {
		req.old_chain_len = (uint32_t)j->old_len;
		req.new_chain_start = (uint32_t)j->new_start;
		req.new_chain_len = (uint32_t)j->new_len;
	}
	done = worker_rebase(w, &req, on_progress, prog, &image_error);
	if (done == NULL) {
		if (image_error)
			change_error(o, w->error);
		else
			error("Could not rebase '%s': %s", o->filename,
			    w->error);
	}
	return done;
}

static void
json_key(FILE *out, const char *key, bool first)
{
	fprintf(out, "%s\n    \"%s\": ", first ? "{" : ",", key);
}

static void
json_string_or_null(FILE *out, const char *s, size_t len)
{
	if (s == NULL)
		fputs("null", out);
	else
		json_print_string(out, s, len);
}

/*
 * instar's own report: a fixed key order, laid out and escaped the way
 * qemu prints JSON.
 */
static int
print_json(FILE *out, const struct rebase_opts *o, const struct job *j,
    const Instar__RebaseDone *done)
{
	const Instar__ImageInfo *info = image_info(j, 0);
	const char *name = new_backing_name(o);
	const char *fmt = new_backing_format(o, j);

	json_key(out, "filename", true);
	json_print_string(out, o->filename, strlen(o->filename));
	json_key(out, "format", false);
	json_print_string(out, "qcow2", 5);
	json_key(out, "mode", false);
	json_print_string(out, o->unsafe ? "unsafe" : "safe",
	    o->unsafe ? 6 : 4);
	json_key(out, "old-backing-filename", false);
	json_string_or_null(out, info->has_backing_filename ?
	    (const char *)info->backing_filename.data : NULL,
	    info->backing_filename.len);
	json_key(out, "old-backing-format", false);
	json_string_or_null(out, info->backing_format,
	    info->backing_format != NULL ? strlen(info->backing_format) : 0);
	json_key(out, "new-backing-filename", false);
	json_string_or_null(out, name[0] != '\0' ? name : NULL,
	    strlen(name));
	json_key(out, "new-backing-format", false);
	json_string_or_null(out, fmt[0] != '\0' ? fmt : NULL, strlen(fmt));
	json_key(out, "cluster-size", false);
	fprintf(out, "%" PRIu32, done->cluster_size);
	json_key(out, "clusters-copied", false);
	fprintf(out, "%" PRIu64, done->clusters_copied);
	json_key(out, "clusters-zeroed", false);
	fprintf(out, "%" PRIu64, done->clusters_zeroed);
	json_key(out, "bytes-copied", false);
	fprintf(out, "%" PRIu64 "\n}\n", done->bytes_copied);
	return ferror(out) ? -1 : 0;
}

static void
free_job(struct job *j)
{
	size_t i;

	for (i = 0; i < j->n; i++) {
		free(j->images[i].filename);
		if (j->images[i].env != NULL)
			instar__envelope__free_unpacked(j->images[i].env,
			    NULL);
		close(j->images[i].fd);
	}
	j->n = 0;
}

/* Everything qemu-img checks before it opens a file, in its order. */
static int
check_names(const struct rebase_opts *o, Instar__Format *fmt)
{
	if (!cache_mode_valid(o->cache)) {
		error("Invalid cache option: %s", o->cache);
		return -1;
	}
	if (!cache_mode_valid(o->src_cache)) {
		error("Invalid source cache option: %s", o->src_cache);
		return -1;
	}
	*fmt = INSTAR__FORMAT__FORMAT_PROBE;
	if (o->format_name != NULL && parse_format(o->format_name, fmt) !=
	    0) {
		error("Could not open '%s': Unknown driver '%s'", o->filename,
		    o->format_name);
		return -1;
	}
	return 0;
}

static int
check_backing_format(const struct rebase_opts *o)
{
	Instar__Format unused;

	if (o->backing_format != NULL &&
	    parse_format(o->backing_format, &unused) != 0) {
		error("Invalid format name: '%s'", o->backing_format);
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
	if (!o->unsafe)
		return add_new_chain(w, j, o);
	if (new_backing_name(o)[0] != '\0' && o->backing_format == NULL)
		return probe_new_backing(w, j, o);
	return 0;
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
	progress_init(&prog, o.progress);
	if (check_names(&o, &o.format) != 0)
		goto out;
	if (worker_start(&w, INSTAR__OP__OP_REBASE,
	    REBASE_GUEST_TIMEOUT_MS) != 0) {
		error("Could not open '%s': %s", o.filename, w.error);
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
	if (o.json && (print_json(stdout, &o, &j, done->rebase_done) != 0 ||
	    fflush(stdout) != 0)) {
		error("cannot write output: %s", strerror(errno));
		goto out;
	}
	ret = 0;
 out:
	progress_end(&prog);
	if (done != NULL)
		instar__envelope__free_unpacked(done, NULL);
	free_job(&j);
	return ret;
}
