/*
 * What the commands that change images (rebase, commit) share: opening
 * and locking the images of a backing chain one at a time as the sandbox
 * describes them, reporting failures the way qemu nests them, handing
 * the descriptors to the guest run.  The progress line is progress.h.
 */
#ifndef INSTAR_MONITOR_CHAIN_H
#define INSTAR_MONITOR_CHAIN_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hypercall.h"
#include "worker_client.h"

/* An image a job uses: open, locked, and described by the sandbox. */
struct image {
	char *filename;			/* as qemu names it */
	int fd;
	bool writable;			/* fd is open O_RDWR */
	int rdwr_errno;			/* why O_RDWR failed (CHAIN_OPEN_TRY) */
	Instar__Envelope *env;		/* holds the image_info */
	/* Checked as it was opened (walk.check): what that came to. */
	struct worker_check_outcome check;
	dev_t dev;
	ino_t ino;
	/* The locks the real run holds on it (its walk's perm, shared). */
	unsigned int lock_perm;
	unsigned int lock_shared;
};

/*
 * Every image a guest run may get, in the order they were opened.  The
 * descriptors stay open (and locked) until chain_free().
 */
struct chain {
	struct image images[INSTAR_MAX_DEVICES];
	size_t n;
};

/* How the images of one walk are opened and locked, and its messages. */
struct walk {
	char prefix[2048];	/* "Could not open 'top': " */
	unsigned int perm;	/* LOCK_PERM_* held */
	unsigned int shared;	/* LOCK_PERM_* shared with others */
	/* If set, each image is checked too, in the run that opens it. */
	const Instar__Check *check;
	/* Each image is opened as a check opens it (implied by check). */
	bool for_check;
	/*
	 * A dry run: every image is opened read-only with a reader's locks,
	 * and refused wherever opening and locking it as told would fail.
	 */
	bool dry_run;
};

/* How chain_add() opens a file. */
enum chain_open {
	CHAIN_OPEN_RDONLY,
	CHAIN_OPEN_RDWR,
	/* O_RDWR, or O_RDONLY with the reason kept in rdwr_errno. */
	CHAIN_OPEN_TRY_RDWR,
};


/* block/raw-format.c's warning when a probed raw image is opened for
 * writing. */
void	chain_warn_probed_raw(const char *filename);

void	walk_prefix(struct walk *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * Report a failure to open an image of a chain the way qemu nests it:
 * the walk's prefix, "Could not open backing file: " depth times, then
 * the reason; and name held_image if another process may hold it.
 */
void	chain_error(const struct walk *, size_t depth, const char *held_image,
	    const char *, ...) __attribute__((format(printf, 4, 5)));

/*
 * Open, lock and describe one image, and append it to the chain.  depth
 * is its place in the chain being walked (for error messages); a file
 * already in the chain from index loop_from on is a loop.  Returns 0, or
 * -1 after reporting why.
 */
int	chain_add(struct worker_conn *, struct chain *, const struct walk *,
	    size_t depth, size_t loop_from, const char *filename,
	    Instar__Format, enum chain_open);

const Instar__ImageInfo *chain_info(const struct chain *, size_t);

/*
 * What qemu refuses when it opens image i (called name) for writing, in
 * its words: an image marked corrupt, an encrypted one.  Returns 0, or
 * -1 after reporting.
 */
int	chain_check_writable(const struct chain *, size_t i, const char *name);

/* The name an image records as its backing file (malloc'd), or NULL. */
char	*chain_recorded_backing(const Instar__ImageInfo *);

/*
 * Where the backing file of image i is (malloc'd, as qemu names it; NULL
 * if it has none), and what format to read it as.  Returns 0, or -1
 * after reporting a backing format instar does not know.
 */
int	chain_next(const struct chain *, size_t i, const struct walk *,
	    size_t depth, char **next, Instar__Format *);

/*
 * Add the backing chain of image i, top first, read-only; *added says
 * how many images that was.  Returns 0 or -1.
 */
int	chain_add_below(struct worker_conn *, struct chain *, size_t i,
	    const struct walk *, size_t loop_from, size_t *added);

/* The index in [from, to) of the image that is the file path, or to. */
size_t	chain_find_file(const struct chain *, size_t from, size_t to,
	    const char *path);

/*
 * Attach images [0, count) to the guest run in order, with fds[i] in
 * place of image i's own descriptor where fds is given and fds[i] >= 0,
 * and writable as told.  Returns 0, or -1 after reporting.
 */
int	chain_attach(struct worker_conn *, const struct chain *, size_t count,
	    const int *fds, const bool *writable);

/* Drop the locks of every image, which stay open. */
void	chain_unlock(struct chain *);
void	chain_free(struct chain *);

#endif /* INSTAR_MONITOR_CHAIN_H */
