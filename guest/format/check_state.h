/*
 * What the parts of the check share: one struct ck per check (the image's
 * geometry, the counting window, the findings so far) and the calls each
 * part makes into another.  check.c runs a check and sets it up;
 * check_io.c does the reading, writing and reporting; check_walk.c walks
 * every reference the image makes and counts it (calculate_refcounts());
 * check_refcount.c compares the counts with the stored refcounts, repairs
 * them and checks OFLAG_COPIED; check_snapshots.c reads and repairs the
 * snapshot table; check_rebuild.c is qemu's
 * rebuild_refcount_structure() branch; check_vmdk.c is vmdk_co_check().
 * Internal to the check: nothing outside guest/format/check*.c includes it.
 */
#ifndef INSTAR_CHECK_STATE_H
#define INSTAR_CHECK_STATE_H

#include "check.h"
#include "qcow2.h"

#define U(x)		((unsigned long long)(x))
#define L(x)		((long long)(x))

#define REFT_OFFSET_MASK	0xfffffffffffffe00ull
#define L2_BITMAP_ALL_ALLOC	0xffffffffull
#define MAX_L1_ENTRIES		(MAX_L1_BYTES / 8)
#define FIX_LEAKS		1
#define FIX_ERRORS		2

/* I/O sizes: big runs, few exits. */
#define L1_CHUNK		(64u * 1024)
#define L2_RUN_MAX		(4u * 1024 * 1024)
#define L2_CACHE_MAX		(8u * 1024 * 1024)
#define L2_RUNS			64
/*
 * The header, the first refcount table and block and the L1 of an image
 * with 64 KiB clusters lie in its first four clusters.  Every page read
 * costs too (about 2 us a page here, where an exit costs 100 us), so no
 * more than that.
 */
#define PREFIX_MAX		(256u * 1024)
#define PROGRESS_BYTES		(64ull * 1024 * 1024)
#define STREAM_BUF		(64u * 1024)
#define READ_MAX		(16u * 1024 * 1024)

enum ctype { T_UNALLOC, T_ZERO_PLAIN, T_ZERO_ALLOC, T_NORMAL, T_COMPRESSED };

/* The part of one refcount block the window covers. */
struct seg {
	uint64_t	file_off;	/* of the window's first entry in it */
	uint64_t	first;		/* first cluster */
	uint64_t	n;		/* clusters */
	uint8_t		state;		/* SEG_* */
	uint8_t		dirty;
};
#define SEG_NONE	0	/* no block: refcounts read as 0 */
#define SEG_OK		1
#define SEG_BAD		2	/* misaligned block: cannot be read */

struct ck {
	const struct check_job		*job;
	const struct fmt_io		*io;
	struct instar_check_result	*r;
	struct instar_image_info	 info;
	struct qcow2_hdr		 h;
	struct fmt_err			 err;
	uint64_t	 cs;
	uint32_t	 cbits;
	uint32_t	 rbits;
	uint64_t	 rpb;		/* refcounts per block */
	uint64_t	 rc_max;
	uint32_t	 cnt_max;	/* where a counter overflows */
	uint32_t	 esize;		/* L2 entry size, 8 or 16 */
	uint64_t	 l2_entries;
	bool		 extl2;
	bool		 data_file;
	uint32_t	 csize_shift;
	uint64_t	 csize_mask;
	uint64_t	 coff_mask;
	uint64_t	 file_size;
	uint64_t	 nb_clusters;	/* of the file */
	uint64_t	 range;		/* clusters compared */
	uint64_t	*rt;
	uint64_t	 rt_entries;
	uint64_t	 rt_cap;	/* entries rt has room for */
	uint64_t	 snap_size;
	uint64_t	 crypto_off, crypto_len;
	uint32_t	 nb_bitmaps;
	uint64_t	 bm_dir_off, bm_dir_size;

	uint64_t	*l1buf;
	/*
	 * Runs of L2 tables read, kept while they fit (the OFLAG_COPIED
	 * pass finds them again); writes through wr() keep them current.
	 */
	uint8_t		*l2buf;
	size_t		 l2cap;
	size_t		 l2used;
	struct l2run {
		uint64_t	off;
		size_t		len;
		size_t		pos;
	}		 l2runs[L2_RUNS];
	uint32_t	 nl2runs;
	/* The file's first bytes, where most small tables live. */
	uint8_t		*pre;
	size_t		 pre_len;
	uint64_t	 unreported;	/* bytes read since the last progress */
	struct fmt_io	 pio;		/* reads through the prefix, for parsing */
	uint8_t		*sbuf;
	uint64_t	 soff;
	size_t		 slen;

	/* the counting window */
	uint64_t	 wcap;
	uint64_t	 ws, wn;
	uint32_t	*cnt;
	uint8_t		*stored;
	struct seg	*segs;
	uint32_t	 nsegs, segcap;
	bool		 loaded;

	/* refcount blocks outside the window, for OFLAG_COPIED */
	uint8_t		*cache;
	uint64_t	 cache_blk;	/* block index + 1; 0: empty */

	int		 fix;
	bool		 first_pass;	/* report the walk's findings */
	bool		 fixing;	/* the compare that writes */
	bool		 rebuild;	/* qemu rebuilds the structure */
	bool		 signaled;	/* the corruption event was printed */
	uint64_t	*rt_new;	/* the rebuilt refcount table */
	uint64_t	 rt_new_cap;
	bool		 failed;	/* qemu's check would return an error */

	uint64_t	 w_corr, w_err;		/* the walk's */
	uint64_t	 c_corr, c_leak, c_err;	/* the comparison's */
	uint64_t	 p_corr, p_err;		/* OFLAG_COPIED's */
	uint64_t	 s_corr;		/* the snapshot table's */
	uint64_t	 fixed_corr, fixed_leak;
	uint64_t	 highest;
	uint64_t	 ref_end;
	uint64_t	 alloc, frag, comp;
	uint64_t	 prog_done, prog_total;
};

static inline enum ctype
ctype(const struct ck *c, uint64_t e)
{
	if (e & QCOW2_COMPRESSED)
		return T_COMPRESSED;
	if ((e & QCOW2_ZERO) && !c->extl2)
		return (e & QCOW2_OFFSET_MASK) ? T_ZERO_ALLOC : T_ZERO_PLAIN;
	if (!(e & QCOW2_OFFSET_MASK))
		return c->data_file && (e & QCOW2_COPIED) ? T_NORMAL :
		    T_UNALLOC;
	return T_NORMAL;
}

/* check_io.c: reading, writing, findings and progress */
void ck_emit(struct ck *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ck_progress(struct ck *c, uint64_t step);
int ck_read(struct ck *c, uint64_t off, void *buf, size_t len);
int ck_write(struct ck *c, uint64_t off, const void *buf, size_t len);
int ck_flush(struct ck *c);
int ck_load_prefix(struct ck *c);
int ck_sread(struct ck *c, uint64_t off, void *dst, size_t len);
int ck_block_at(const struct ck *c, uint64_t idx, uint64_t *off);
int ck_stored_rc(struct ck *c, uint64_t k, uint64_t *v);

/* check_walk.c: the references the image makes, counted */
const uint8_t *ck_l2_table(struct ck *c, uint64_t off, const uint64_t *l1,
    uint32_t i, uint32_t n);
int ck_walk(struct ck *c);

/* check_refcount.c: the counts against the stored refcounts */
void ck_reset_counts(struct ck *c);
int ck_all_windows(struct ck *c, bool fixing, bool report);
int ck_copied(struct ck *c);
int ck_mark_clean(struct ck *c);

/*
 * check_snapshots.c: qcow2_check_read_snapshot_table() with fix (-1 with
 * err set when qemu's check stops there) and, after the refcounts,
 * qcow2_check_fix_snapshot_table().
 */
int ck_read_snapshot_table(struct ck *c, int fix);
int ck_fix_snapshot_table(struct ck *c);

/* check_rebuild.c */
int ck_rebuild(struct ck *c);

/* check_vmdk.c */
int ck_run_vmdk(struct ck *c);

#endif
