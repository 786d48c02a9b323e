/*
 * QEMU-compatible image locking (block/file-posix.c): open file
 * description (OFD) read locks on single bytes of the image file, so
 * instar and a running QEMU see each other.  Byte 100 + bit is held for
 * each permission the holder uses, byte 200 + bit for each permission it
 * will not share with anyone else.
 */
#ifndef INSTAR_LOCK_H
#define INSTAR_LOCK_H

#include <stddef.h>

/* Permission bits, as qemu numbers them. */
#define LOCK_PERM_CONSISTENT_READ	(1u << 0)
#define LOCK_PERM_WRITE			(1u << 1)
#define LOCK_PERM_WRITE_UNCHANGED	(1u << 2)
#define LOCK_PERM_RESIZE		(1u << 3)
#define LOCK_PERM_ALL			0xfu

/*
 * Take the locks for holding perm and sharing only shared, then check no
 * one else holds a permission we refuse to share or refuses one we hold.
 * The locks last until fd (and every duplicate of it) is closed.
 * Returns 0, or -1 with err set to qemu's wording of the conflict.
 * A file system without OFD locks is not an error: like qemu's
 * locking=auto, the image is then used unlocked.
 */
int lock_image(int fd, unsigned int perm, unsigned int shared, char *err,
    size_t errlen);

/*
 * What lock_image() would say for perm and shared, without taking a
 * lock: a dry run holds a reader's locks but must refuse where the
 * real run would, in its words.  Returns 0, or -1 with err set.
 */
int lock_probe(int fd, unsigned int perm, unsigned int shared, char *err,
    size_t errlen);

/*
 * What other descriptors of this process would hold on the same file in
 * the real run a dry run stands for: their permission bytes, and the
 * bytes of what they would not share.
 */
struct lock_held {
	unsigned int perm;
	unsigned int unshared;
};

/*
 * lock_probe(), as if also were held as well: the conflicts the real run
 * would meet on a file it opens twice (a backing loop), in its words.
 */
int lock_probe_as_if(int fd, unsigned int perm, unsigned int shared,
    const struct lock_held *also, char *err, size_t errlen);

/*
 * Release every lock held through fd's open file description at once,
 * though a duplicate of it (the worker's) may stay open a little longer.
 */
void lock_drop(int fd);

#endif
