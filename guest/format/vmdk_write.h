/*
 * Changing a monolithicSparse VMDK safely: grains, grain tables, both
 * grain directories and the embedded descriptor.
 *
 * VMDK keeps no reference counts and no free-space map, so space is only
 * ever taken at the end of the file (a new grain starts on a grain
 * boundary, as qemu places it), and a grain that is already allocated is
 * rewritten where it is, as qemu rewrites it.  A batch of grains becomes
 * visible in this order:
 *   1. new grains and new, zeroed grain tables are written (in-place
 *      grain writes go straight to their grain); flush;
 *   2. grain table entries, primary then redundant; flush;
 *   3. directory entries of new grain tables, primary then redundant;
 *      flush.
 * A crash before 2 leaves unreferenced space at the end of the file;
 * during 2 or 3 every entry either still reads through to the parent or
 * reads its new grain, which is already on disk.
 */
#ifndef INSTAR_VMDK_WRITE_H
#define INSTAR_VMDK_WRITE_H

#include "format.h"

/* The biggest grain instar writes; qemu creates 64 KiB ones. */
#define VMDKW_GRAIN_MAX		(2u * 1024 * 1024)

/* A VMDK CID that no parentCID can mean "no parent" by accident. */
#define VMDK_NO_PARENT		0xffffffffu

struct vmdk_gte_update {
	uint64_t grain;
	uint32_t gte;		/* its new entry: a sector, or 1 for zeros */
};

struct vmdk_new_gt {
	uint64_t gd_idx;
	uint32_t sector;	/* the primary table */
	uint32_t rsector;	/* the redundant one; 0 without */
};

/* A window onto one of the two grain directories. */
struct vmdk_dir_win {
	uint64_t off;		/* the directory's offset */
	uint8_t	*buf;
	uint64_t first;		/* index of buf's first entry */
	uint32_t count;		/* entries loaded; 0: none */
};

struct vmdk_writer {
	const struct fmt_io	*io;
	struct fmt_arena	*arena;
	struct vmdk_geom	 g;
	uint64_t		 gt_bytes;	/* one table, whole sectors */
	uint64_t		 file_end;	/* bytes, with what we added */
	uint64_t		 next_grain;	/* calls ascend past this */
	bool			 backed;	/* unallocated reads a parent */
	struct vmdk_dir_win	 gd;
	struct vmdk_dir_win	 rgd;
	uint8_t			*gt;		/* one primary table, cached */
	uint64_t		 gt_off;	/* which; 0: none */
	uint8_t			*scratch;	/* one table */
	uint8_t			*zeros;		/* one grain, when needed */
	struct vmdk_gte_update	*upd;
	size_t			 nupd;
	struct vmdk_new_gt	*ngt;
	size_t			 nngt;
	/* Called after each commit: cached views of the tables are stale. */
	void			(*on_commit)(void *);
	void			*on_commit_arg;
	uint64_t		 grains_data;
	uint64_t		 grains_zero;
};

/*
 * Prepare to write a VMDK that vmdk_parse() accepts.  Refuses what
 * cannot be changed safely (streamOptimized, compressed grains, grains
 * bigger than VMDKW_GRAIN_MAX, a file past VMDK's 2 TiB).  backed says
 * whether a grain left unallocated reads through to a parent.
 */
int vmdkw_open(struct vmdk_writer *, const struct fmt_io *, bool backed,
    struct fmt_arena *, struct fmt_err *);

/*
 * Make the n grains from index grain (ascending across calls) hold the
 * n * grain_size bytes at data, or the bytes at src_off of src (copied
 * host-side), or read as zeros.  A grain the image holds is rewritten in
 * place; one it does not hold gets new space, referenced at the next
 * commit, which a full batch starts by itself.
 */
int vmdkw_put_data(struct vmdk_writer *, uint64_t grain, uint64_t n,
    const uint8_t *data, struct fmt_err *);
int vmdkw_put_copy(struct vmdk_writer *, uint64_t grain, uint64_t n,
    const struct fmt_io *src, uint64_t src_off, struct fmt_err *);
int vmdkw_put_zero(struct vmdk_writer *, uint64_t grain, struct fmt_err *);

/* Make every queued grain durable and visible (steps 1-3 above). */
int vmdkw_commit(struct vmdk_writer *, struct fmt_err *);

/*
 * A change of the descriptor: a new CID, and/or a new parent (its CID
 * and name; an empty name detaches, with parentCID VMDK_NO_PARENT).
 */
struct vmdk_relink {
	bool		 set_cid;
	uint32_t	 cid;
	bool		 set_parent;
	uint32_t	 parent_cid;
	const char	*hint;
	size_t		 hint_len;
};

/*
 * Rewrite the descriptor as *l says and flush; with dry_run, only check
 * that it can be done (the text fits its sectors and reads back as
 * meant), writing nothing.
 */
int vmdkw_relink(struct vmdk_writer *, const struct vmdk_relink *,
    bool dry_run, struct fmt_err *);

/*
 * Clear every grain table entry, primary and redundant, so the image
 * reads entirely through its parent, then cut the file after its last
 * table.  *emptied is how many primary entries held something.
 */
int vmdkw_make_empty(struct vmdk_writer *, uint64_t *emptied,
    struct fmt_err *);

#endif
