/*
 * Changing a qcow2 image safely: the one allocator, refcount updater and
 * ordered flush that every writing job shares.
 *
 * New clusters are taken from the end of the image, never from holes, so
 * nothing a crash leaves half-done can be mistaken for live data.  A
 * batch of guest clusters is made to point at new content in this order:
 *   1. the new clusters' data and any new L2 tables are written;
 *   2. their refcounts (new refcount blocks, a grown refcount table) are
 *      written; flush; a moved refcount table is switched in the header;
 *      flush;
 *   3. L2 entries and L1 entries are written; flush;
 *   4. tables that were copied rather than changed in place (shared with
 *      an internal snapshot) lose the active image's reference.
 * A crash before 3 leaves leaked clusters only; during 3 each entry
 * either still reads through to the backing or reads its new cluster,
 * whose data and refcount are already on disk.
 */
#ifndef INSTAR_QCOW2_WRITE_H
#define INSTAR_QCOW2_WRITE_H

#include "format.h"
#include "qcow2.h"

/* A guest cluster and what it is to become. */
struct qcow2_update {
	uint64_t cluster;	/* guest cluster index */
	uint64_t entry;		/* its new L2 entry */
	uint64_t old;		/* the entry it replaces, released after */
};

struct qcow2_writer {
	const struct fmt_io	*io;
	struct qcow2_hdr	 h;
	struct fmt_arena	*arena;
	uint32_t		 rc_bits;	/* refcount width */
	uint64_t		 rc_per_block;	/* refcounts per block */
	uint64_t		 rt_entries;	/* refcount table entries */
	uint64_t		 next_free;	/* first cluster never used */
	uint64_t		 batch_first;	/* first cluster of this batch */
	/* The batch's L2 changes, in ascending guest order. */
	struct qcow2_update	*upd;
	size_t			 nupd;
	size_t			 upd_cap;
	uint8_t			*scratch;	/* one cluster */
	/* Called after each commit: cached views of the tables are stale. */
	void			(*on_commit)(void *);
	void			*on_commit_arg;
	/* Counters for the job's report. */
	uint64_t		 clusters_data;
	uint64_t		 clusters_zero;
};

/*
 * Prepare to write an image qcow2_parse() accepted.  Refuses what the
 * writer cannot change safely (corrupt, dirty, encrypted, external data,
 * extended L2) and finds where free space begins.  Returns 0 or -1 with
 * err set.
 */
int qcow2w_open(struct qcow2_writer *, const struct fmt_io *,
    const struct qcow2_hdr *, struct fmt_arena *, struct fmt_err *);

/*
 * Make the n guest clusters from index cluster (unallocated in the
 * image, ascending across calls) hold the n * cluster_size bytes at
 * data, written at once to new clusters; or make one read as zeros (v3
 * only).  The tables change at the next commit, which a full batch
 * starts by itself.
 */
int qcow2w_put_data(struct qcow2_writer *, uint64_t cluster, uint64_t n,
    const uint8_t *data, struct fmt_err *);
int qcow2w_put_zero(struct qcow2_writer *, uint64_t cluster,
    struct fmt_err *);

/*
 * Reserve n new clusters at the end of the image for content the caller
 * writes itself (say, copied host-side); *host is the first one's
 * offset.  They count as the batch's and are referenced by qcow2w_set().
 */
int qcow2w_alloc(struct qcow2_writer *, uint64_t n, uint64_t *host,
    struct fmt_err *);

/*
 * Queue guest cluster index cluster (ascending across calls) to change
 * its L2 entry from old (as the caller read it) to entry.  Whatever old
 * referenced is released once the tables no longer point to it.
 */
int qcow2w_set(struct qcow2_writer *, uint64_t cluster, uint64_t entry,
    uint64_t old, struct fmt_err *);

/* Make every queued cluster durable and visible (steps 1-4 above). */
int qcow2w_commit(struct qcow2_writer *, struct fmt_err *);
/* Clear the autoclear bits instar does not know, as any writer must. */
int qcow2w_clear_autoclear(struct qcow2_writer *, struct fmt_err *);

/*
 * Commit what is queued, then rewrite the header cluster as qemu's
 * qcow2_update_header() does, with a new backing file name (len bytes;
 * 0 detaches) and format,
    then flush.  Errors as qemu's: a name that does not fit the header cluster
 * is "No space left in the file header".
 */
int qcow2w_set_backing(struct qcow2_writer *, const char *name,
    size_t name_len, const char *format, struct fmt_err *);
/* Whether that header would fit, writing nothing: refuse before data. */
int qcow2w_check_backing(struct qcow2_writer *, const char *name,
    size_t name_len, const char *format, struct fmt_err *);

/*
 * Grow the image's virtual size to new_size (never shrinks), with a
 * bigger L1 table written and switched in with the size if needed.
 */
int qcow2w_grow(struct qcow2_writer *, uint64_t new_size, struct fmt_err *);

/*
 * Drop every cluster of the active image, as qemu-img commit empties a
 * top: afterwards it reads entirely through its backing file.  Header,
 * backing name and L1 size stay; internal snapshots stay.  Without
 * snapshots or bitmaps the image is rebuilt as header, refcount table,
 * refcount block and an empty L1, and the file cut to that.  *emptied
 * is how many L2 entries held something.
 */
int qcow2w_make_empty(struct qcow2_writer *, uint64_t *emptied,
    struct fmt_err *);

/*
 * Within the writer only (qcow2_write_resize.c uses them): where free
 * space begins, the host clusters an L2 entry holds, and taking one
 * reference off each cluster of a list (which it sorts).
 */
int qcow2w_find_free_start(struct qcow2_writer *w, struct fmt_err *err);
void qcow2w_entry_clusters(const struct qcow2_writer *w, uint64_t e,
    uint64_t *first, uint64_t *n);
int qcow2w_release(struct qcow2_writer *w, uint64_t *list, size_t n,
    struct fmt_err *err);

#endif
