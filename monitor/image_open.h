/*
 * How the monitor opens an image file.  Every open is non-blocking until
 * the file is known to be a regular one, so a FIFO or a device named as
 * a backing file cannot stall instar.  A name read from an image (a
 * backing reference) is hostile input: where backing roots are set
 * (--backing-root, INSTAR_BACKING_ROOT), it is opened only if it
 * resolves beneath one of them, and nothing is opened otherwise.  Names
 * given on the command line are the user's choice and are not confined.
 */
#ifndef INSTAR_MONITOR_IMAGE_OPEN_H
#define INSTAR_MONITOR_IMAGE_OPEN_H

#include <sys/stat.h>

#include <stdbool.h>
#include <stddef.h>

/* At most this many backing roots, from either source. */
#define IMAGE_ROOTS_MAX	32

/* Where a file name came from. */
enum image_origin {
	IMAGE_FROM_USER,	/* the command line */
	IMAGE_FROM_IMAGE,	/* a backing reference an image records */
};

/* The long option every subcommand takes, and its getopt value. */
#define IMAGE_ROOT_OPTION	"backing-root"
#define IMAGE_ROOT_OPTVAL	0x100

/* Record a --backing-root DIR; exits if there are too many. */
void	image_root_add(const char *dir);

/*
 * Open the backing roots: those given with --backing-root, or else those
 * of INSTAR_BACKING_ROOT (colon-separated; unset or empty: none).  Each
 * must name an existing directory.  Returns 0, or -1 after reporting.
 */
int	image_roots_init(void);

/* Whether any backing root is in force. */
bool	image_roots_set(void);

/* Forget the roots (for tests). */
void	image_roots_reset(void);

/*
 * Open path with flags (O_RDONLY or O_RDWR; O_CLOEXEC and O_NOCTTY are
 * added) and fill st.  It must be a regular file and, when it came from
 * an image and roots are set, lie beneath a root, reached without
 * symbolic links once resolved.  Returns the descriptor, or -1 with why
 * set to the reason in qemu's words and errno kept from a failed open
 * (0 for a refusal that is not an open's failure).
 */
/*
 * Whether the image open read-only on fd (opened as path) could be
 * opened for writing, asked without opening it so: 0, or -1 with why
 * set as image_open() would have said it and errno kept.
 */
int	image_writable(int fd, const char *path, char *why, size_t whylen);

int	image_open(const char *path, int flags, enum image_origin,
	    struct stat *st, char *why, size_t whylen);

#endif /* INSTAR_MONITOR_IMAGE_OPEN_H */
