/*
 * instar info [-f FMT] [--output=human|json] [--backing-chain] [-U] FILE
 *
 * The chain is discovered one image at a time: the sandbox reports an
 * image's backing reference, the monitor resolves it the way qemu does,
 * checks it and opens the next file.  Nothing here reads image bytes.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image_open.h"
#include "info_print.h"
#include "lock.h"
#include "log.h"
#include "monitor.h"
#include "options.h"
#include "path.h"
#include "worker_client.h"

/* A header parse is milliseconds; anything near this is a runaway. */
#define INFO_GUEST_TIMEOUT_MS	10000

struct info_opts {
	const char *filename;
	bool image_opts;		/* filename is qemu's option syntax */
	const char *format_name;	/* -f */
	const char *output;		/* --output */
	Instar__Format format;
	bool json;
	bool chain;
	bool force_share;
};

struct chain_image {
	char *filename;			/* as qemu names it */
	char *full_backing;		/* resolved backing name, or NULL */
	Instar__Envelope *env;		/* holds the image_info */
	int64_t actual_size;
	dev_t dev;
	ino_t ino;
};

struct chain {
	struct chain_image images[INSTAR_CHAIN_MAX];
	size_t n;
};

static void
info_usage(FILE *out)
{
	fprintf(out,
	    "usage: instar info [-f FMT] [--output=human|json] "
	    "[--backing-chain] [-U] FILENAME\n"
	    "\n"
	    "  -f FMT            image format: qcow2, vmdk or raw "
	    "(default: probe)\n"
	    IMAGE_OPTS_USAGE
	    "  --backing-root DIR\n"
	    "                    follow backing references only beneath DIR "
	    "(repeatable;\n"
	    "                    default: $INSTAR_BACKING_ROOT, "
	    "colon-separated)\n"
	    "  --output=FORMAT   human (default) or json\n"
	    "  --backing-chain   also show every image of the backing chain\n"
	    "  -U, --force-share open the image even if it is in use\n");
}

static void
parse_args(int argc, char **argv, struct info_opts *o)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'O' },
		{ "backing-chain", no_argument, NULL, 'c' },
		{ "force-share", no_argument, NULL, 'U' },
		{ IMAGE_ROOT_OPTION, required_argument, NULL,
		    IMAGE_ROOT_OPTVAL },
		IMAGE_OPTS_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->format = INSTAR__FORMAT__FORMAT_PROBE;
	while ((ch = getopt_long(argc, argv, ":hf:U", longopts, NULL)) != -1) {
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
			info_usage(stdout);
			exit(0);
		case 'f':
			o->format_name = optarg;
			break;
		case 'O':
			o->output = optarg;
			break;
		case 'c':
			o->chain = true;
			break;
		case 'U':
			o->force_share = true;
			break;
		/* qemu-img names the word as it was given, long or short. */
		case ':':
			usage_error("info", "missing argument for option "
			    "'%s'", argv[optind - 1]);
		default:
			usage_error("info", "unrecognized option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		usage_error("info", "Expecting one image file name");
	o->filename = argv[optind];
	/* img_info()'s order: the file name, --output, then the format. */
	if (o->output != NULL && strcmp(o->output, "json") == 0)
		o->json = true;
	else if (o->output != NULL && strcmp(o->output, "human") != 0) {
		error("--output must be used with human or json as "
		    "argument.");
		exit(1);
	}
	if (image_name_apply(o->image_opts, true, &o->filename,
	    &o->format_name) != 0)
		exit(1);
	if (format_option(o->filename, o->format_name, &o->format) != 0)
		exit(1);
}

/*
 * What qemu-img info holds on an image: no permission it uses, but it
 * will not share write or resize, so an image a VM is writing is refused
 * unless -U says to share everything (and then no lock is taken).
 */
#define INFO_PERM	0u
#define INFO_SHARED	(LOCK_PERM_ALL & ~(LOCK_PERM_WRITE | LOCK_PERM_RESIZE))

/* Open an image for reading; it must be a regular file. */
static int
open_image(const char *filename, enum image_origin origin, bool force_share,
    struct stat *st)
{
	char why[PATH_MAX + 512];
	int fd;

	if ((fd = image_open(filename, O_RDONLY, origin, st, why,
	    sizeof(why))) < 0) {
		/* qemu nests both: "Could not open 'x': Could not open 'x':
		 * No such file or directory", as for a refusal. */
		error("Could not open '%s': %s", opened_as(filename), why);
		return -1;
	}
	if (!force_share && lock_image(fd, INFO_PERM, INFO_SHARED, why,
	    sizeof(why)) != 0) {
		error("Could not open '%s': %s", opened_as(filename), why);
		error_plain("Is another process using the image [%s]?",
		    filename);
		close(fd);
		return -1;
	}
	return fd;
}

static bool
chain_contains(const struct chain *ch, const struct stat *st)
{
	size_t i;

	for (i = 0; i < ch->n; i++)
		if (ch->images[i].dev == st->st_dev &&
		    ch->images[i].ino == st->st_ino)
			return true;
	return false;
}

/* The format to ask for when opening the backing file of img. */
static int
backing_format(const struct chain_image *img, Instar__Format *fmt)
{
	const Instar__ImageInfo *info = img->env->image_info;

	if (info->backing_format == NULL) {
		*fmt = INSTAR__FORMAT__FORMAT_PROBE;
		return 0;
	}
	if (format_parse(info->backing_format, fmt) != 0) {
		error("Could not open '%s': backing format '%s' is not "
		    "supported (instar handles qcow2, vmdk and raw)",
		    img->full_backing, info->backing_format);
		return -1;
	}
	return 0;
}

static int
resolve_backing(struct chain_image *img)
{
	const Instar__ImageInfo *info = img->env->image_info;
	char *name;

	if (!info->has_backing_filename)
		return 0;
	/* Validated NUL-free by the worker; make it a C string. */
	if ((name = strndup((const char *)info->backing_filename.data,
	    info->backing_filename.len)) == NULL)
		fatal_f("out of memory");
	img->full_backing = path_backing_full(img->filename, name);
	free(name);
	if (img->full_backing == NULL)
		fatal_f("out of memory");
	return 0;
}

/* Inspect one image in the sandbox and add it to the chain. */
static int
add_image(struct worker_conn *w, struct chain *ch, const char *filename,
    enum image_origin origin, Instar__Format fmt, bool force_share)
{
	struct chain_image *img;
	struct stat st;
	int fd, image_error;

	if (ch->n == INSTAR_CHAIN_MAX) {
		error("Could not open '%s': backing chain is deeper than %d "
		    "images", filename, INSTAR_CHAIN_MAX);
		return -1;
	}
	if ((fd = open_image(filename, origin, force_share, &st)) < 0)
		return -1;
	if (chain_contains(ch, &st)) {
		error("Backing file '%s' creates an infinite loop.", filename);
		close(fd);
		return -1;
	}
	img = &ch->images[ch->n];
	memset(img, 0, sizeof(*img));
	img->env = worker_image_info(w, fd, fmt, false, &image_error);
	close(fd);
	if (img->env == NULL) {
		error("Could not open '%s': %s", ch->n == 0 ?
		    opened_as(filename) : filename, w->error);
		worker_print_hint(w);
		return -1;
	}
	if ((img->filename = strdup(filename)) == NULL)
		fatal_f("out of memory");
	img->actual_size = (int64_t)st.st_blocks * 512;
	img->dev = st.st_dev;
	img->ino = st.st_ino;
	ch->n++;
	return resolve_backing(img);
}

static int
collect_chain(struct worker_conn *w, const struct info_opts *o,
    struct chain *ch)
{
	Instar__Format fmt = o->format;
	const char *next = o->filename;

	for (;;) {
		struct chain_image *img;

		if (add_image(w, ch, next, ch->n == 0 ? IMAGE_FROM_USER :
		    IMAGE_FROM_IMAGE, fmt, o->force_share) != 0)
			return -1;
		img = &ch->images[ch->n - 1];
		if (ch->n == 1 && image_opts_probed(next,
		    img->env->image_info->format) != 0)
			return -1;
		if (!o->chain || img->full_backing == NULL)
			return 0;
		if (backing_format(img, &fmt) != 0)
			return -1;
		next = img->full_backing;
	}
}

static int
print_chain(const struct info_opts *o, const struct chain *ch)
{
	struct info_entry entries[INSTAR_CHAIN_MAX];
	size_t i;

	for (i = 0; i < ch->n; i++) {
		entries[i].filename = ch->images[i].filename;
		entries[i].info = ch->images[i].env->image_info;
		entries[i].actual_size = ch->images[i].actual_size;
		entries[i].full_backing_filename = ch->images[i].full_backing;
	}
	if (o->json)
		return info_print_json(stdout, entries, ch->n, o->chain);
	return info_print_human(stdout, entries, ch->n);
}

static void
free_chain(struct chain *ch)
{
	size_t i;

	for (i = 0; i < ch->n; i++) {
		free(ch->images[i].filename);
		free(ch->images[i].full_backing);
		instar__envelope__free_unpacked(ch->images[i].env, NULL);
	}
	ch->n = 0;
}

int
cmd_info(int argc, char **argv)
{
	static struct chain ch;
	struct info_opts o;
	struct worker_conn w;
	int ret = 1;

	parse_args(argc, argv, &o);
	if (image_roots_init() != 0)
		return 1;
	if (worker_start(&w, INSTAR__OP__OP_INFO, INFO_GUEST_TIMEOUT_MS) !=
	    0) {
		error("Could not open '%s': %s", opened_as(o.filename),
		    w.error);
		return 1;
	}
	if (collect_chain(&w, &o, &ch) != 0) {
		worker_abort(&w);
		goto out;
	}
	/*
	 * Everything is in and checked, and the worker has closed every
	 * image it was given: it need not be waited for.
	 */
	worker_leave(&w);
	if (print_chain(&o, &ch) != 0 || fflush(stdout) != 0) {
		error("cannot write output: %s", strerror(errno));
		goto out;
	}
	ret = 0;
 out:
	free_chain(&ch);
	return ret;
}
