/*
 * Opening image files: regular files only, never blocking on a FIFO, and
 * backing references from images confined beneath the backing roots.
 *
 * A confined name is resolved with realpath() first, so that symbolic
 * links and ".." inside the roots keep working, and the canonical result
 * must lie beneath a root.  It is then opened relative to the root's
 * descriptor with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS): a canonical path holds no symbolic link, so one
 * that appears in between (a rename race) fails the open instead of
 * leading out of the root.  Where openat2 is missing (before Linux 5.6)
 * the same walk is done one component at a time with O_NOFOLLOW.
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/openat2.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "image_open.h"
#include "log.h"

#define ROOT_ENV	"INSTAR_BACKING_ROOT"

struct backing_root {
	char *path;		/* canonical: no symbolic link, no "/." */
	size_t len;		/* 0 for "/" */
	int dirfd;		/* O_PATH | O_DIRECTORY */
};

static const char *roots_given[IMAGE_ROOTS_MAX];
static size_t nroots_given;
static struct backing_root roots[IMAGE_ROOTS_MAX];
static size_t nroots;

void
image_root_add(const char *dir)
{
	if (nroots_given == IMAGE_ROOTS_MAX)
		fatal("--backing-root: at most %d directories", IMAGE_ROOTS_MAX);
	roots_given[nroots_given++] = dir;
}

static int
root_open(const char *dir, const char *source)
{
	char real[PATH_MAX];
	struct backing_root *r;
	int fd;

	if (nroots == IMAGE_ROOTS_MAX) {
		error("%s: at most %d directories", source, IMAGE_ROOTS_MAX);
		return -1;
	}
	if (dir[0] == '\0') {
		error("%s: an empty name is not a directory", source);
		return -1;
	}
	if (realpath(dir, real) == NULL ||
	    (fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		error("%s '%s': %s", source, dir, strerror(errno));
		return -1;
	}
	r = &roots[nroots++];
	if ((r->path = strdup(real)) == NULL)
		fatal_f("out of memory");
	r->len = strcmp(real, "/") == 0 ? 0 : strlen(real);
	r->dirfd = fd;
	return 0;
}

int
image_roots_init(void)
{
	const char *env;
	char *list, *dir, *next;
	size_t i;
	int r = 0;

	if (nroots_given > 0) {
		for (i = 0; i < nroots_given; i++)
			if (root_open(roots_given[i], "--backing-root") != 0)
				return -1;
		return 0;
	}
	if ((env = getenv(ROOT_ENV)) == NULL || env[0] == '\0')
		return 0;
	if ((list = strdup(env)) == NULL)
		fatal_f("out of memory");
	for (dir = list; dir != NULL && r == 0; dir = next) {
		if ((next = strchr(dir, ':')) != NULL)
			*next++ = '\0';
		r = root_open(dir, ROOT_ENV);
	}
	free(list);
	return r;
}

bool
image_roots_set(void)
{
	return nroots > 0;
}

void
image_roots_reset(void)
{
	size_t i;

	for (i = 0; i < nroots; i++) {
		free(roots[i].path);
		close(roots[i].dirfd);
	}
	nroots = 0;
	nroots_given = 0;
}

/* The part of the canonical path real below root r, or NULL. */
static const char *
below_root(const struct backing_root *r, const char *real)
{
	if (strncmp(real, r->path, r->len) != 0 || real[r->len] != '/' ||
	    real[r->len + 1] == '\0')
		return NULL;
	return real + r->len + 1;
}

/* openat2's walk without openat2: each component, never following. */
static int
open_walk(int dirfd, const char *rel, int flags)
{
	char buf[PATH_MAX], *name, *slash;
	int cur = dirfd, next, saved;

	if (strlen(rel) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, rel, strlen(rel) + 1);
	for (name = buf;; name = slash + 1) {
		if ((slash = strchr(name, '/')) != NULL)
			*slash = '\0';
		next = openat(cur, name, slash != NULL ?
		    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC :
		    flags | O_NOFOLLOW);
		saved = errno;
		if (cur != dirfd)
			close(cur);
		errno = saved;
		if (next < 0 || slash == NULL)
			return next;
		cur = next;
	}
}

static int
open_beneath(const struct backing_root *r, const char *rel, int flags)
{
	struct open_how how;
	long fd;

	memset(&how, 0, sizeof(how));
	how.flags = (unsigned long long)flags;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS;
	fd = syscall(SYS_openat2, r->dirfd, rel, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		return open_walk(r->dirfd, rel, flags);
	return (int)fd;
}

/*
 * Open a name an image recorded, beneath a root.  Returns the
 * descriptor, -1 with errno for a failed open, or -1 with errno 0 if
 * the name lies outside every root.
 */
static int
open_confined(const char *path, int flags, char *real, size_t reallen)
{
	const char *rel;
	size_t i;

	if (reallen < PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (realpath(path, real) == NULL)
		return -1;
	for (i = 0; i < nroots; i++)
		if ((rel = below_root(&roots[i], real)) != NULL)
			return open_beneath(&roots[i], rel, flags);
	errno = 0;
	return -1;
}

/* Close fd (if open) and say why the open failed, keeping errno. */
static int
open_failed(int fd, const char *path, char *why, size_t whylen)
{
	int saved = errno;

	errbuf_set(why, whylen, "Could not open '%s': %s", path,
	    strerror(saved));
	if (fd >= 0)
		close(fd);
	errno = saved;
	return -1;
}

static int refused(int, char *, size_t, const char *, ...)
    __attribute__((format(printf, 4, 5)));

/* Close fd and refuse it for a reason that is no failed call. */
static int
refused(int fd, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	if (fd >= 0)
		close(fd);
	errno = 0;
	return -1;
}

int
image_writable(int fd, const char *path, char *why, size_t whylen)
{
	char self[64];

	/* The descriptor's own file, whatever its name now resolves to. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (faccessat(AT_FDCWD, self, W_OK, AT_EACCESS) != 0)
		return open_failed(-1, path, why, whylen);
	return 0;
}

int
image_open(const char *path, int flags, enum image_origin origin,
    struct stat *st, char *why, size_t whylen)
{
	char real[PATH_MAX];
	int fd, fl;

	flags |= O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	if (origin == IMAGE_FROM_IMAGE && nroots > 0)
		fd = open_confined(path, flags, real, sizeof(real));
	else
		fd = open(path, flags);
	if (fd < 0 && errno != 0)
		return open_failed(-1, path, why, whylen);
	if (fd < 0 && strcmp(real, path) != 0)
		return refused(-1, why, whylen, "'%s' (that is '%s') is not "
		    "beneath a backing root", path, real);
	if (fd < 0)
		return refused(-1, why, whylen, "'%s' is not beneath a "
		    "backing root", path);
	if (fstat(fd, st) != 0)
		return open_failed(fd, path, why, whylen);
	if (!S_ISREG(st->st_mode))
		return refused(fd, why, whylen, "'file' driver requires '%s' "
		    "to be a regular file", path);
	/* A regular file: reads and writes may block as they should. */
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
		return open_failed(fd, path, why, whylen);
	return fd;
}
