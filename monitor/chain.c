/*
 * Backing chains for the commands that change images: each image is
 * opened and locked here, described by the sandbox, and its backing
 * reference resolved as qemu resolves it before the next one is opened.
 * Nothing here reads image bytes.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "image_open.h"
#include "lock.h"
#include "log.h"
#include "options.h"
#include "path.h"
#include "strvis.h"

/* What a dry run shares at the least: all but write and resize, as info
 * does without -U. */
#define DRY_RUN_SHARED	(LOCK_PERM_ALL & ~(LOCK_PERM_WRITE | LOCK_PERM_RESIZE))

void
walk_prefix(struct walk *wk, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(wk->prefix, sizeof(wk->prefix), fmt, ap);
	va_end(ap);
}

void
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
		error_plain("Is another process using the image [%s]?",
		    held_image);
}

/* block/raw-format.c, when it opens a probed raw image for writing. */
void
chain_warn_probed_raw(const char *filename)
{
	char vis[STRVIS_SIZE(PATH_MAX)];

	fprintf(stderr, "WARNING: Image format was not specified for '%s' "
	    "and probing guessed raw.\n"
	    "         Automatically detecting the format is dangerous for "
	    "raw images, write operations on block 0 will be restricted.\n"
	    "         Specify the 'raw' format explicitly to remove the "
	    "restrictions.\n", strvis(vis, sizeof(vis), filename));
}

static bool
chain_contains(const struct chain *c, size_t from, const struct stat *st)
{
	size_t i;

	for (i = from; i < c->n; i++)
		if (c->images[i].dev == st->st_dev &&
		    c->images[i].ino == st->st_ino)
			return true;
	return false;
}

static bool
rdwr_refused(int err)
{
	return err == EACCES || err == EPERM || err == EROFS || err == ETXTBSY;
}

/*
 * open_locked() for a dry run: the image read-only, a reader's locks
 * held (as info takes them), and the refusals of opening it as told
 * and taking its locks made without doing either.
 */
static int
open_dry(const struct chain *c, const struct walk *wk, size_t depth,
    const char *filename, enum chain_open how, struct stat *st,
    bool *writable, int *rdwr_errno)
{
	struct lock_held also;
	size_t i;
	enum image_origin origin = depth > 0 ? IMAGE_FROM_IMAGE :
	    IMAGE_FROM_USER;
	char why[PATH_MAX + 512];
	int fd;

	if ((fd = image_open(filename, O_RDONLY, origin, st, why,
	    sizeof(why))) < 0) {
		chain_error(wk, depth, NULL, "%s", why);
		return -1;
	}
	if (*writable && image_writable(fd, filename, why, sizeof(why)) != 0) {
		if (how != CHAIN_OPEN_TRY_RDWR || !rdwr_refused(errno)) {
			chain_error(wk, depth, NULL, "%s", why);
			close(fd);
			return -1;
		}
		*rdwr_errno = errno;
		*writable = false;
	}
	/*
	 * The real run's conflicts first, in its words: with other
	 * processes, and with the locks it would hold itself on this file
	 * where the chain has it already (a loop back to it).
	 */
	memset(&also, 0, sizeof(also));
	for (i = 0; i < c->n; i++) {
		if (c->images[i].dev != st->st_dev ||
		    c->images[i].ino != st->st_ino)
			continue;
		also.perm |= c->images[i].lock_perm;
		also.unshared |= LOCK_PERM_ALL & ~c->images[i].lock_shared;
	}
	if (lock_probe_as_if(fd, wk->perm, wk->shared, &also, why,
	    sizeof(why)) != 0 ||
	    lock_image(fd, wk->perm & LOCK_PERM_CONSISTENT_READ,
	    wk->shared | DRY_RUN_SHARED, why, sizeof(why)) != 0) {
		chain_error(wk, depth, filename, "%s", why);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Open (as told) and lock one image; it must be a regular file.  An
 * image below the walk's first (depth > 0) is named by a backing
 * reference, so it is confined to the backing roots.
 */
static int
open_locked(const struct chain *c, const struct walk *wk, size_t depth,
    const char *filename, enum chain_open how, struct stat *st,
    bool *writable, int *rdwr_errno)
{
	enum image_origin origin = depth > 0 ? IMAGE_FROM_IMAGE :
	    IMAGE_FROM_USER;
	char why[PATH_MAX + 512];
	int fd;

	*writable = how != CHAIN_OPEN_RDONLY;
	*rdwr_errno = 0;
	if (wk->dry_run)
		return open_dry(c, wk, depth, filename, how, st, writable,
		    rdwr_errno);
	fd = image_open(filename, *writable ? O_RDWR : O_RDONLY, origin, st,
	    why, sizeof(why));
	if (fd < 0 && how == CHAIN_OPEN_TRY_RDWR && rdwr_refused(errno)) {
		*rdwr_errno = errno;
		*writable = false;
		fd = image_open(filename, O_RDONLY, origin, st, why,
		    sizeof(why));
	}
	if (fd < 0) {
		chain_error(wk, depth, NULL, "%s", why);
		return -1;
	}
	if (lock_image(fd, wk->perm, wk->shared, why, sizeof(why)) != 0) {
		chain_error(wk, depth, filename, "%s", why);
		close(fd);
		return -1;
	}
	return fd;
}

int
chain_add(struct worker_conn *w, struct chain *c, const struct walk *wk,
    size_t depth, size_t loop_from, const char *filename,
    Instar__Format fmt, enum chain_open how)
{
	struct image *img;
	struct stat st;
	bool writable;
	int fd, image_error, rdwr_errno;

	if (c->n == INSTAR_MAX_DEVICES) {
		chain_error(wk, depth, NULL, "Could not open '%s': the "
		    "backing chains hold more than %u images", filename,
		    INSTAR_MAX_DEVICES);
		return -1;
	}
	if ((fd = open_locked(c, wk, depth, filename, how, &st, &writable,
	    &rdwr_errno)) < 0)
		return -1;
	if (chain_contains(c, loop_from, &st)) {
		error("Backing file '%s' creates an infinite loop.", filename);
		close(fd);
		return -1;
	}
	img = &c->images[c->n];
	memset(img, 0, sizeof(*img));
	img->fd = fd;
	img->writable = writable;
	img->rdwr_errno = rdwr_errno;
	img->dev = st.st_dev;
	img->ino = st.st_ino;
	img->lock_perm = wk->perm;
	img->lock_shared = wk->shared;
	if ((img->filename = strdup(filename)) == NULL)
		fatal_f("out of memory");
	c->n++;
	if (wk->check != NULL)
		img->env = worker_image_info_check(w, fd, fmt, wk->check,
		    &img->check, &image_error);
	else
		img->env = worker_image_info(w, fd, fmt, wk->for_check,
		    &image_error);
	if (img->env == NULL) {
		chain_error(wk, depth, NULL, "%s", w->error);
		worker_print_hint(w);
		return -1;
	}
	return 0;
}

const Instar__ImageInfo *
chain_info(const struct chain *c, size_t i)
{
	return c->images[i].env->image_info;
}

int
chain_check_writable(const struct chain *c, size_t i, const char *name)
{
	const Instar__ImageInfo *info = chain_info(c, i);

	if (info->qcow2 != NULL && info->qcow2->corrupt) {
		error("Could not open '%s': qcow2: Image is corrupt; cannot be "
		    "opened read/write", name);
		return -1;
	}
	if (info->qcow2 != NULL && info->qcow2->encrypted) {
		error("Could not open '%s': encrypted images are not "
		    "supported", name);
		return -1;
	}
	return 0;
}

char *
chain_recorded_backing(const Instar__ImageInfo *info)
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

int
chain_next(const struct chain *c, size_t i, const struct walk *wk,
    size_t depth, char **next, Instar__Format *fmt)
{
	const Instar__ImageInfo *info = chain_info(c, i);
	char *name;

	*next = NULL;
	if ((name = chain_recorded_backing(info)) == NULL)
		return 0;
	*fmt = INSTAR__FORMAT__FORMAT_PROBE;
	if (info->backing_format != NULL &&
	    format_parse(info->backing_format, fmt) != 0) {
		chain_error(wk, depth, NULL, "Unknown driver '%s' (instar "
		    "handles qcow2, vmdk and raw)", info->backing_format);
		free(name);
		return -1;
	}
	*next = path_backing_full(c->images[i].filename, name);
	free(name);
	if (*next == NULL)
		fatal_f("out of memory");
	return 0;
}

int
chain_add_below(struct worker_conn *w, struct chain *c, size_t i,
    const struct walk *wk, size_t loop_from, size_t *added)
{
	Instar__Format fmt;
	size_t depth = 1;
	char *next;

	*added = 0;
	for (;;) {
		if (chain_next(c, i, wk, depth, &next, &fmt) != 0)
			return -1;
		if (next == NULL)
			return 0;
		if (chain_add(w, c, wk, depth, loop_from, next, fmt,
		    CHAIN_OPEN_RDONLY) != 0) {
			free(next);
			return -1;
		}
		free(next);
		(*added)++;
		i = c->n - 1;
		depth++;
	}
}

size_t
chain_find_file(const struct chain *c, size_t from, size_t to,
    const char *path)
{
	struct stat st;
	size_t i;

	if (stat(path, &st) != 0)
		return to;
	for (i = from; i < to && i < c->n; i++)
		if (c->images[i].dev == st.st_dev &&
		    c->images[i].ino == st.st_ino)
			return i;
	return to;
}

int
chain_attach(struct worker_conn *w, const struct chain *c, size_t count,
    const int *fds, const bool *writable)
{
	size_t i;
	int fd;

	for (i = 0; i < count; i++) {
		fd = fds != NULL && fds[i] >= 0 ? fds[i] : c->images[i].fd;
		if (worker_attach(w, fd, chain_info(c, i)->format,
		    writable[i]) != 0) {
			error("Could not open '%s': %s", c->images[i].filename,
			    w->error);
			return -1;
		}
	}
	return 0;
}

void
chain_unlock(struct chain *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		lock_drop(c->images[i].fd);
}

void
chain_free(struct chain *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->images[i].filename);
		if (c->images[i].env != NULL)
			instar__envelope__free_unpacked(c->images[i].env,
			    NULL);
		if (c->images[i].check.env != NULL)
			instar__envelope__free_unpacked(
			    c->images[i].check.env, NULL);
		free(c->images[i].check.failure);
		close(c->images[i].fd);
	}
	c->n = 0;
}
