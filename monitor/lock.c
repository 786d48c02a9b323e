#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lock.h"

#define LOCK_PERM_BASE		100
#define LOCK_SHARED_BASE	200
#define LOCK_BITS		4

static const char *const perm_names[LOCK_BITS] = {
	"consistent read", "write", "write unchanged", "resize",
};

/* A lock of the given type on the single byte at off. */
static struct flock
one_byte(short type, off_t off)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = off;
	fl.l_len = 1;
	return fl;
}

static int
lock_byte(int fd, off_t off)
{
	struct flock fl = one_byte(F_RDLCK, off);

	return fcntl(fd, F_OFD_SETLK, &fl);
}

/*
 * Whether someone else holds a lock on byte off (1), not (0), or -1.
 * Testing for a write lock finds anyone's read lock there.
 */
static int
byte_taken(int fd, off_t off)
{
	struct flock fl = one_byte(F_WRLCK, off);

	if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
		return -1;
	return fl.l_type != F_UNLCK;
}

static bool
locks_unsupported(int err)
{
	return err == EINVAL || err == ENOTSUP || err == ENOLCK;
}

static int
apply(int fd, unsigned int perm, unsigned int shared)
{
	int i;

	for (i = 0; i < LOCK_BITS; i++) {
		if ((perm & (1u << i)) &&
		    lock_byte(fd, LOCK_PERM_BASE + i) != 0)
			return -1;
		if (!(shared & (1u << i)) &&
		    lock_byte(fd, LOCK_SHARED_BASE + i) != 0)
			return -1;
	}
	return 0;
}

/*
 * 0 if no conflict, 1 with err set on a conflict, -1 on a failure.  A
 * byte counts as taken when another open file holds it, or when also
 * (NULL: nothing) says it would be.
 */
static int
check(int fd, unsigned int perm, unsigned int shared,
    const struct lock_held *also, char *err, size_t errlen)
{
	unsigned int also_perm = also != NULL ? also->perm : 0;
	unsigned int also_unshared = also != NULL ? also->unshared : 0;
	int i, taken;

	for (i = 0; i < LOCK_BITS; i++) {
		if (perm & (1u << i)) {
			if ((taken = byte_taken(fd, LOCK_SHARED_BASE + i)) < 0)
				return -1;
			if (taken || (also_unshared & (1u << i))) {
				snprintf(err, errlen, "Failed to get \"%s\" "
				    "lock", perm_names[i]);
				return 1;
			}
		}
		if (!(shared & (1u << i))) {
			if ((taken = byte_taken(fd, LOCK_PERM_BASE + i)) < 0)
				return -1;
			if (taken || (also_perm & (1u << i))) {
				snprintf(err, errlen, "Failed to get shared "
				    "\"%s\" lock", perm_names[i]);
				return 1;
			}
		}
	}
	return 0;
}

/*
 * A lock call failed: where the file system has no OFD locks, go on
 * without them; anything else is the image's error.
 */
static int
lock_failed(char *err, size_t errlen)
{
	if (locks_unsupported(errno))
		return 0;
	snprintf(err, errlen, "Failed to lock byte: %s", strerror(errno));
	return -1;
}

int
lock_image(int fd, unsigned int perm, unsigned int shared, char *err,
    size_t errlen)
{
	if (apply(fd, perm, shared) != 0)
		return lock_failed(err, errlen);
	return lock_probe(fd, perm, shared, err, errlen);
}

int
lock_probe(int fd, unsigned int perm, unsigned int shared, char *err,
    size_t errlen)
{
	return lock_probe_as_if(fd, perm, shared, NULL, err, errlen);
}

int
lock_probe_as_if(int fd, unsigned int perm, unsigned int shared,
    const struct lock_held *also, char *err, size_t errlen)
{
	int ret;

	if ((ret = check(fd, perm, shared, also, err, errlen)) < 0)
		return lock_failed(err, errlen);
	return ret == 0 ? 0 : -1;
}

void
lock_drop(int fd)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_UNLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 0;
	fl.l_len = 0;			/* the whole file */
	(void)fcntl(fd, F_OFD_SETLK, &fl);
}
