/*
 * qemu-img check, inside the guest.
 *
 * qcow2: every reference the image makes (header, L1 tables, L2 tables,
 * data and compressed clusters, snapshot table, refcount table and
 * blocks, encryption header, bitmap directory and tables) is recounted
 * and compared with the stored refcounts, as qemu 7.2's
 * qcow2_check_refcounts() does, with its messages word for word and its
 * counting of corruptions, leaks and check errors.
 *
 * qemu keeps one counter per host cluster of the whole file.  Here the
 * counters cover a window of host clusters, as many as the arena holds;
 * a file larger than the window is walked once per window, so memory
 * does not grow with the image.  Findings of the walk itself (reserved
 * bits, misaligned tables, references past the end) are reported on the
 * first walk only; those about one cluster (its refcount) by the walk
 * whose window holds it.
 *
 * Repair follows qemu: -r leaks lowers refcounts that are too high, -r
 * all also raises those that are too low and fixes OFLAG_COPIED.  The
 * refcount blocks are rewritten in place (read-modify-write of the
 * window's part of each block): first every raised refcount, flush,
 * then every lowered one, flush, so a crash leaves no cluster with fewer
 * references counted than it has.  A refcount structure qemu would
 * rebuild from scratch is refused instead, before anything is written.
 * After a repair the image is checked again, as qemu-img does, and that
 * check's findings are the result.
 */
#include "check.h"
#include "qcow2.h"

#define U(x)		((unsigned long long)(x))
#define L(x)		((long long)(x))

#define REFT_OFFSET_MASK	0xfffffffffffffe00ull
#define BME_RESERVED		0xff000000000001feull
#define BME_OFFSET_MASK		0x00fffffffffffe00ull
#define L2_BITMAP_ALL_ALLOC	0xffffffffull
#define MAX_L1_ENTRIES		(MAX_L1_BYTES / 8)
/*
 * qemu-img reports a failed rebuild through error_report(), which names
 * the program: so do these lines.
 */
#define QEMU_IMG_PREFIX		"instar: "
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
	uint64_t	 fixed_corr, fixed_leak;
	uint64_t	 highest;
	uint64_t	 ref_end;
	uint64_t	 alloc, frag, comp;
	uint64_t	 prog_done, prog_total;
};

/* ---- findings ---- */

static void emit(struct ck *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
emit(struct ck *c, const char *fmt, ...)
{
	struct instar_check_result *r = c->r;
	char line[INSTAR_CHECK_LINE_MAX];
	va_list ap;
	size_t len, i;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	line[sizeof(line) - 1] = '\0';
	len = strlen(line);
	for (i = 0; i < len; i++)
		if (line[i] < 0x20 || line[i] > 0x7e)
			line[i] = '?';
	/* Once one line did not fit, none after it is kept either: what is
	 * printed is the first lines, in order, then how many more. */
	if (r->lines_dropped != 0 ||
	    r->text_len + len + 1 > sizeof(r->text)) {
		r->lines_dropped++;
		return;
	}
	memcpy(r->text + r->text_len, line, len + 1);
	r->text_len += (uint32_t)(len + 1);
	r->nlines++;
}

/* Progress costs an exit: reported only after much reading. */
static void
progress(struct ck *c, uint64_t step)
{
	c->prog_done += step;
	if (c->prog_done > c->prog_total)
		c->prog_total = c->prog_done;
	if (c->unreported < PROGRESS_BYTES)
		return;
	c->unreported = 0;
	if (c->job->progress != NULL)
		c->job->progress(c->job->progress_arg, c->prog_done,
		    c->prog_total);
}

/* ---- I/O ---- */

/* Read len bytes at off; past the end of the file reads zeros. */
static int
rd(struct ck *c, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t n;

	if (off < c->pre_len && len <= c->pre_len - off) {
		memcpy(p, c->pre + off, len);
		return 0;
	}
	if (off >= c->file_size) {
		memset(p, 0, len);
		return 0;
	}
	n = c->file_size - off < len ? (size_t)(c->file_size - off) : len;
	c->unreported += n;
	memset(p + n, 0, len - n);
	while (n > 0) {
		size_t k = n < READ_MAX ? n : READ_MAX;

		if (c->io->read(c->io->ctx, off, p, k) != 0) {
			fmt_seterr(&c->err, "Could not read the image at "
			    "offset %llu", U(off));
			return -1;
		}
		off += k;
		p += k;
		n -= k;
	}
	return 0;
}

/* Copy what [off, off + len) holds into a cached copy of [at, at + n). */
static void
patch(uint8_t *copy, uint64_t at, size_t n, uint64_t off, const uint8_t *buf,
    size_t len)
{
	uint64_t from = off > at ? off : at;
	uint64_t to = off + len < at + n ? off + len : at + n;

	if (from < to && copy + (from - at) != buf + (from - off))
		memmove(copy + (from - at), buf + (from - off),
		    (size_t)(to - from));
}

static int
wr(struct ck *c, uint64_t off, const void *buf, size_t len)
{
	uint32_t i;

	if (c->io->write(c->io->ctx, off, buf, len) != 0) {
		fmt_seterr(&c->err, "Could not write the image at offset %llu",
		    U(off));
		return -1;
	}
	if (off + len > c->file_size)
		c->file_size = off + len;
	/* The cached copies stay what the file holds. */
	patch(c->pre, 0, c->pre_len, off, buf, len);
	for (i = 0; i < c->nl2runs; i++)
		patch(c->l2buf + c->l2runs[i].pos, c->l2runs[i].off,
		    c->l2runs[i].len, off, buf, len);
	return 0;
}

static int
pio_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	return rd(ctx, off, buf, len);
}

/*
 * Read the file's first bytes once: the header, its extensions and
 * usually the first tables, which the parser then reads from memory.
 */
static int
load_prefix(struct ck *c)
{
	size_t n = c->file_size < PREFIX_MAX ? (size_t)c->file_size :
	    PREFIX_MAX;

	if ((c->pre = fmt_alloc(c->job->arena, n + 8, 8)) == NULL) {
		fmt_seterr(&c->err, "Not enough memory to check the image");
		return -1;
	}
	if (rd(c, 0, c->pre, n) != 0)
		return -1;
	c->pre_len = n;
	memset(&c->pio, 0, sizeof(c->pio));
	c->pio.ctx = c;
	c->pio.read = pio_read;
	c->pio.size = c->io->size;
	return 0;
}

static int
flush(struct ck *c)
{
	if (c->io->flush(c->io->ctx) != 0) {
		fmt_seterr(&c->err, "Could not flush the image");
		return -1;
	}
	return 0;
}

static void
put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* Small reads of a table streamed through one buffer. */
static int
sread(struct ck *c, uint64_t off, void *dst, size_t len)
{
	if (len > STREAM_BUF)
		return rd(c, off, dst, len);
	if (c->slen == 0 || off < c->soff || off - c->soff > c->slen ||
	    len > c->slen - (off - c->soff)) {
		if (rd(c, off, c->sbuf, STREAM_BUF) != 0)
			return -1;
		c->soff = off;
		c->slen = STREAM_BUF;
	}
	memcpy(dst, c->sbuf + (off - c->soff), len);
	return 0;
}

/* ---- refcount blocks ---- */

/* Where refcount block idx lives: 0 none, 1 at *off, -1 misaligned. */
static int
block_at(const struct ck *c, uint64_t idx, uint64_t *off)
{
	if (idx >= c->rt_entries)
		return 0;
	*off = c->rt[idx] & REFT_OFFSET_MASK;
	if (*off == 0)
		return 0;
	return (*off & (c->cs - 1)) != 0 ? -1 : 1;
}

/*
 * qcow2_signal_corruption() for a misaligned refcount block: printed
 * once; qemu then marks a writable image corrupt.  Returns -1.
 */
static int
signal_bad(struct ck *c, uint64_t idx)
{
	uint64_t off = c->rt[idx] & REFT_OFFSET_MASK;
	uint8_t b[8];

	if (c->signaled)
		return -1;
	c->signaled = true;
	/* Fatal, marking the image, only where qemu could write it. */
	emit(c, "qcow2: %s: Refblock offset %s%llx unaligned (reftable "
	    "index: %s%llx); further %scorruption events will be suppressed",
	    c->io->write != NULL ? "Marking image as corrupt" :
	    "Image is corrupt", off ? "0x" : "", U(off), idx ? "0x" : "",
	    U(idx), c->io->write != NULL ? "" : "non-fatal ");
	if (c->io->write != NULL && c->h.version >= 3) {
		c->h.incompat |= INCOMPAT_CORRUPT;
		put64(b, c->h.incompat);
		if (wr(c, 72, b, 8) != 0 || flush(c) != 0)
			return -2;
	}
	return -1;
}

/*
 * The stored refcount of cluster k, as qemu's qcow2_get_refcount():
 * 0 with the value, -1 when its block is misaligned.
 */
static int
stored_rc(struct ck *c, uint64_t k, uint64_t *v)
{
	uint64_t idx = k / c->rpb, off;
	int r;

	if (c->loaded && k >= c->ws && k - c->ws < c->wn) {
		const struct seg *s = &c->segs[idx - c->ws / c->rpb];

		if (s->state == SEG_BAD)
			return signal_bad(c, idx);
		*v = s->state == SEG_NONE ? 0 :
		    qcow2_rc_get(c->stored, k - c->ws, c->rbits);
		return 0;
	}
	if ((r = block_at(c, idx, &off)) <= 0) {
		*v = 0;
		return r < 0 ? signal_bad(c, idx) : 0;
	}
	if (c->cache_blk != idx + 1) {
		c->cache_blk = 0;
		if (rd(c, off, c->cache, c->cs) != 0)
			return -2;
		c->cache_blk = idx + 1;
	}
	*v = qcow2_rc_get(c->cache, k % c->rpb, c->rbits);
	return 0;
}

/* ---- counting ---- */

/* qcow2_inc_refcounts_imrt(), for the clusters inside the window. */
static void
inc(struct ck *c, uint64_t off, uint64_t size)
{
	uint64_t first, last, k;

	if (size == 0)
		return;
	if (off > UINT64_MAX - size - c->cs ||
	    off + size >= c->file_size + c->cs) {
		if (c->first_pass) {
			emit(c, "ERROR: counting reference for region "
			    "exceeding the end of the file by one cluster or "
			    "more: offset 0x%llx size 0x%llx", U(off),
			    U(size));
			c->w_corr++;
		}
		return;
	}
	first = off >> c->cbits;
	last = (off + size - 1) >> c->cbits;
	if (c->first_pass && last + 1 > c->ref_end)
		c->ref_end = last + 1;
	if (last < c->ws || first >= c->ws + c->wn)
		return;
	if (first < c->ws)
		first = c->ws;
	if (last >= c->ws + c->wn)
		last = c->ws + c->wn - 1;
	for (k = first; k <= last; k++) {
		uint32_t *n = &c->cnt[k - c->ws];

		if (*n == c->cnt_max) {
			if (c->fixing)
				continue;
			emit(c, "ERROR: overflow cluster offset=0x%llx",
			    U(k << c->cbits));
			emit(c, "Use qemu-img amend to increase the refcount "
			    "entry width or qemu-img convert to create a clean "
			    "copy if the image cannot be opened for writing");
			c->w_corr++;
			continue;
		}
		(*n)++;
	}
}

static enum ctype
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

/*
 * The L2 table at off, read with the tables that follow it in the L1
 * chunk when they lie one after another in the file: one read for a run.
 */
static const uint8_t *
l2_table(struct ck *c, uint64_t off, const uint64_t *l1, uint32_t i,
    uint32_t n)
{
	struct l2run *run;
	uint64_t end;
	uint32_t k;

	for (k = 0; k < c->nl2runs; k++) {
		run = &c->l2runs[k];
		if (off >= run->off && off - run->off <= run->len &&
		    c->cs <= run->len - (off - run->off))
			return c->l2buf + run->pos + (off - run->off);
	}
	end = off + c->cs;
	for (k = i + 1; k < n; k++) {
		uint64_t o = l1[k] & QCOW2_OFFSET_MASK;

		if (o == 0)
			continue;
		if (o != end || end - off + c->cs > L2_RUN_MAX ||
		    end - off + c->cs > c->l2cap)
			break;
		end += c->cs;
	}
	/* Full: start over. */
	if (c->nl2runs == L2_RUNS || c->l2cap - c->l2used < end - off) {
		c->nl2runs = 0;
		c->l2used = 0;
	}
	if (rd(c, off, c->l2buf + c->l2used, (size_t)(end - off)) != 0) {
		c->nl2runs = 0;
		c->l2used = 0;
		return NULL;
	}
	run = &c->l2runs[c->nl2runs++];
	run->off = off;
	run->len = (size_t)(end - off);
	run->pos = c->l2used;
	c->l2used += run->len;
	return c->l2buf + run->pos;
}

/* fix_l2_entry_by_zero(), without subclusters' bitmaps. */
static int
zero_entry(struct ck *c, uint64_t l2_off, uint8_t *tab, uint64_t i)
{
	uint8_t *p = tab + i * c->esize;

	if (c->extl2) {
		uint64_t bm = get_be64(p + 8);

		bm |= bm << 32;
		bm &= 0xffffffff00000000ull;
		put64(p + 8, bm);
		put64(p, 0);
	} else
		put64(p, QCOW2_ZERO);
	if (wr(c, l2_off + i * c->esize, p, c->esize) != 0 || flush(c) != 0)
		return -1;
	c->w_corr--;
	c->fixed_corr++;
	return 0;
}

/* check_refcounts_l2() */
static int
check_l2(struct ck *c, uint64_t l2_off, uint8_t *tab, bool frag)
{
	uint64_t next = 0, i;
	bool rep = c->first_pass;

	for (i = 0; i < c->l2_entries; i++) {
		uint64_t e = get_be64(tab + i * c->esize);
		uint64_t bm = c->extl2 ? get_be64(tab + i * c->esize + 8) : 0;
		enum ctype t = ctype(c, e);

		if (t != T_COMPRESSED && (e & QCOW2_L2_RESERVED) && rep) {
			emit(c, "ERROR found l2 entry with reserved bits set: "
			    "%llx", U(e));
			c->w_corr++;
		}
		switch (t) {
		case T_COMPRESSED: {
			uint64_t coff, ns, csize;

			if (e & QCOW2_COPIED) {
				if (rep) {
					emit(c, "ERROR: coffset=0x%llx: copied "
					    "flag must never be set for "
					    "compressed clusters",
					    U(e & c->coff_mask));
					c->w_corr++;
				}
				e &= ~QCOW2_COPIED;
			}
			if (c->data_file) {
				if (rep) {
					emit(c, "ERROR compressed cluster %d "
					    "with data file, entry=0x%llx",
					    (int)i, U(e));
					c->w_corr++;
				}
				break;
			}
			if (bm != 0) {
				if (rep) {
					emit(c, "ERROR compressed cluster %d "
					    "with non-zero subcluster "
					    "allocation bitmap, entry=0x%llx",
					    (int)i, U(e));
					c->w_corr++;
				}
				break;
			}
			coff = e & c->coff_mask;
			ns = ((e >> c->csize_shift) & c->csize_mask) + 1;
			csize = ns * 512 - (coff & 511);
			inc(c, coff, csize);
			if (frag && rep) {
				c->alloc++;
				c->comp++;
				c->frag++;
			}
			break;
		}
		case T_ZERO_ALLOC:
		case T_NORMAL: {
			uint64_t off = e & QCOW2_OFFSET_MASK;

			if (((bm >> 32) & bm) && rep) {
				c->w_corr++;
				emit(c, "ERROR offset=%llx: Allocated cluster "
				    "has corrupted subcluster allocation "
				    "bitmap", U(off));
			}
			if (off & (c->cs - 1)) {
				bool data = c->extl2 ?
				    (bm & L2_BITMAP_ALL_ALLOC) != 0 :
				    !(e & QCOW2_ZERO);

				if (rep)
					c->w_corr++;
				if (!data && rep) {
					emit(c, "%s offset=%llx: Preallocated "
					    "cluster is not properly aligned; "
					    "L2 entry corrupted.",
					    c->fix & FIX_ERRORS ? "Repairing" :
					    "ERROR", U(off));
					if (c->fix & FIX_ERRORS) {
						if (zero_entry(c, l2_off, tab,
						    i) != 0) {
							c->w_err++;
							return -1;
						}
						continue;
					}
				} else if (rep)
					emit(c, "ERROR offset=%llx: Data "
					    "cluster is not properly aligned; "
					    "L2 entry corrupted.", U(off));
			}
			if (frag && rep) {
				c->alloc++;
				if (next != 0 && off != next)
					c->frag++;
				next = off + c->cs;
			}
			if (!c->data_file)
				inc(c, off, c->cs);
			break;
		}
		case T_ZERO_PLAIN:
			break;
		case T_UNALLOC:
			if ((bm & L2_BITMAP_ALL_ALLOC) && rep) {
				c->w_corr++;
				emit(c, "ERROR: Unallocated cluster has "
				    "non-zero subcluster allocation map");
			}
			break;
		}
	}
	return 0;
}

/* check_refcounts_l1() */
static int
check_l1(struct ck *c, uint64_t l1_off, uint64_t l1_size, bool active)
{
	uint64_t done = 0;
	uint32_t per = L1_CHUNK / 8;

	if (l1_size == 0)
		return 0;
	inc(c, l1_off, l1_size * 8);
	while (done < l1_size) {
		uint32_t n = l1_size - done < per ? (uint32_t)(l1_size - done) :
		    per, i;

		if (rd(c, l1_off + done * 8, c->l1buf, (size_t)n * 8) != 0) {
			emit(c, "ERROR: I/O error in check_refcounts_l1");
			c->w_err++;
			return -1;
		}
		for (i = 0; i < n; i++)
			c->l1buf[i] = get_be64((uint8_t *)&c->l1buf[i]);
		for (i = 0; i < n; i++) {
			uint64_t e = c->l1buf[i], l2;
			const uint8_t *tab;

			if (e == 0)
				continue;
			if ((e & QCOW2_L1_RESERVED) && c->first_pass) {
				emit(c, "ERROR found L1 entry with reserved "
				    "bits set: %llx", U(e));
				c->w_corr++;
			}
			l2 = e & QCOW2_OFFSET_MASK;
			inc(c, l2, c->cs);
			if ((l2 & (c->cs - 1)) && c->first_pass) {
				emit(c, "ERROR l2_offset=%llx: Table is not "
				    "cluster aligned; L1 entry corrupted",
				    U(l2));
				c->w_corr++;
			}
			if ((tab = l2_table(c, l2, c->l1buf, i, n)) == NULL) {
				emit(c, "ERROR: I/O error in "
				    "check_refcounts_l2");
				c->w_err++;
				return -1;
			}
			if (check_l2(c, l2, (uint8_t *)tab, active) != 0)
				return -1;
		}
		done += n;
		progress(c, n);
	}
	return 0;
}

/* The snapshots: their L1 tables, then the table itself. */
static int
walk_snapshots(struct ck *c)
{
	uint64_t off = c->h.snap_off;
	uint8_t b[SNAPSHOT_HDR_LEN];
	uint32_t i;

	if (c->data_file && c->h.nb_snapshots && c->first_pass) {
		emit(c, "ERROR %d snapshots in image with data file",
		    (int)c->h.nb_snapshots);
		c->w_corr++;
	}
	for (i = 0; i < c->h.nb_snapshots; i++) {
		uint64_t l1_off;
		uint32_t l1_size, extra, idl, nml;
		char id[128], name[256];

		off = (off + 7) & ~7ull;
		if (sread(c, off, b, sizeof(b)) != 0)
			return -1;
		l1_off = get_be64(b);
		l1_size = get_be32(b + 8);
		idl = get_be16(b + 12);
		nml = get_be16(b + 14);
		extra = get_be32(b + 36);
		if (((l1_off & (c->cs - 1)) || l1_size > MAX_L1_ENTRIES) &&
		    c->first_pass) {
			uint64_t p = off + SNAPSHOT_HDR_LEN + extra;
			uint32_t a = idl < sizeof(id) ? idl : sizeof(id) - 1;
			uint32_t z = nml < sizeof(name) ? nml :
			    sizeof(name) - 1;

			if (sread(c, p, id, a) != 0 ||
			    sread(c, p + idl, name, z) != 0)
				return -1;
			id[a] = '\0';
			name[z] = '\0';
			if (l1_off & (c->cs - 1))
				emit(c, "ERROR snapshot %s (%s) l1_offset=%s"
				    "%llx: L1 table is not cluster aligned; "
				    "snapshot table entry corrupted", id, name,
				    l1_off ? "0x" : "", U(l1_off));
			else
				emit(c, "ERROR snapshot %s (%s) l1_size=%s%x: "
				    "L1 table is too large; snapshot table "
				    "entry corrupted", id, name,
				    l1_size ? "0x" : "", l1_size);
			c->w_corr++;
		}
		off += SNAPSHOT_HDR_LEN + (uint64_t)extra + idl + nml;
		if ((l1_off & (c->cs - 1)) || l1_size > MAX_L1_ENTRIES)
			continue;
		if (check_l1(c, l1_off, l1_size, false) != 0)
			return -1;
	}
	inc(c, c->h.snap_off, c->snap_size);
	return 0;
}

/* The snapshot table's length as qemu computes it (no padding after). */
static int
snapshot_table_size(struct ck *c)
{
	uint64_t off = c->h.snap_off;
	uint8_t b[SNAPSHOT_HDR_LEN];
	uint32_t i;

	for (i = 0; i < c->h.nb_snapshots; i++) {
		off = (off + 7) & ~7ull;
		if (sread(c, off, b, sizeof(b)) != 0)
			return -1;
		off += SNAPSHOT_HDR_LEN + (uint64_t)get_be32(b + 36) +
		    get_be16(b + 12) + get_be16(b + 14);
	}
	c->snap_size = off - c->h.snap_off;
	return 0;
}

/* qcow2_check_bitmaps_refcounts() */
static int
walk_bitmaps(struct ck *c)
{
	uint64_t off, end;
	uint32_t i;

	if (c->nb_bitmaps == 0)
		return 0;
	inc(c, c->bm_dir_off, c->bm_dir_size);
	off = c->bm_dir_off;
	end = off + c->bm_dir_size;
	for (i = 0; i < c->nb_bitmaps; i++) {
		uint8_t b[24], e8[8];
		uint64_t toff, j;
		uint32_t tsize, nml, extra;

		if (end - off < sizeof(b) || sread(c, off, b, sizeof(b)) != 0) {
			if (c->first_pass)
				c->w_corr++;
			c->failed = true;
			return 0;
		}
		toff = get_be64(b);
		tsize = get_be32(b + 8);
		nml = get_be16(b + 18);
		extra = get_be32(b + 20);
		off += (24ull + extra + nml + 7) & ~7ull;
		inc(c, toff, (uint64_t)tsize * 8);
		if ((toff & (c->cs - 1)) || toff == 0) {
			if (c->first_pass)
				c->w_corr++;
			continue;
		}
		for (j = 0; j < tsize; j++) {
			uint64_t e, o;

			if (sread(c, toff + j * 8, e8, 8) != 0)
				return -1;
			e = get_be64(e8);
			o = e & BME_OFFSET_MASK;
			if ((e & BME_RESERVED) ||
			    (o != 0 && ((e & 1) || (o & (c->cs - 1))))) {
				if (c->first_pass)
					c->w_corr++;
				continue;
			}
			if (o != 0)
				inc(c, o, c->cs);
		}
	}
	return 0;
}

/* check_refblocks() */
static void
walk_refblocks(struct ck *c)
{
	uint64_t i;

	for (i = 0; i < c->rt_entries; i++) {
		uint64_t off = c->rt[i] & REFT_OFFSET_MASK, k = off >> c->cbits;

		if (c->rt[i] & QCOW2_RT_RESERVED) {
			if (c->first_pass) {
				emit(c, "ERROR refcount table entry %lld has "
				    "reserved bits set", L(i));
				c->w_corr++;
			}
			c->rebuild = true;
			continue;
		}
		if (off & (c->cs - 1)) {
			if (c->first_pass) {
				emit(c, "ERROR refcount block %lld is not "
				    "cluster aligned; refcount table entry "
				    "corrupted", L(i));
				c->w_corr++;
			}
			c->rebuild = true;
			continue;
		}
		if (k >= c->nb_clusters) {
			if (!c->first_pass)
				continue;
			c->w_corr++;
			emit(c, "%s refcount block %lld is outside image",
			    c->fix & FIX_ERRORS ? "Repairing" : "ERROR", L(i));
			if (!(c->fix & FIX_ERRORS))
				continue;
			/* qemu grows the file to hold it (it reads zeros). */
			if (k + 1 > c->wcap || c->io->truncate == NULL ||
			    c->io->truncate(c->io->ctx, off + c->cs) != 0) {
				c->rebuild = true;
				emit(c, "ERROR could not resize image: %s",
				    k + 1 > c->wcap ? "File too large" :
				    "Input/output error");
				continue;
			}
			c->file_size = off + c->cs;
			c->nb_clusters = k + 1;
			c->w_corr--;
			c->fixed_corr++;
			inc(c, off, c->cs);
			continue;
		}
		if (off == 0)
			continue;
		inc(c, off, c->cs);
		if (k >= c->ws && k - c->ws < c->wn && !c->fixing &&
		    c->cnt[k - c->ws] != 1) {
			emit(c, "ERROR refcount block %lld refcount=%llu",
			    L(i), U(c->cnt[k - c->ws]));
			c->w_corr++;
			c->rebuild = true;
		}
	}
}

/* calculate_refcounts(), for the current window. */
static int
walk(struct ck *c)
{
	memset(c->cnt, 0, c->wn * sizeof(*c->cnt));
	inc(c, 0, c->cs);
	if (check_l1(c, c->h.l1_off, c->h.l1_size, true) != 0)
		return -1;
	if (walk_snapshots(c) != 0)
		return -1;
	inc(c, c->h.rt_off, c->rt_entries * 8);
	if (c->crypto_len != 0)
		inc(c, c->crypto_off, c->crypto_len);
	if (walk_bitmaps(c) != 0)
		return -1;
	walk_refblocks(c);
	return 0;
}

/* ---- the window's stored refcounts ---- */

static int
load_window(struct ck *c)
{
	uint64_t k = c->ws, end = c->ws + c->wn, pos = 0;
	uint32_t i, j;

	c->nsegs = 0;
	c->loaded = false;
	while (k < end) {
		uint64_t idx = k / c->rpb, bend = (idx + 1) * c->rpb, off = 0;
		struct seg *s = &c->segs[c->nsegs++];
		int st = block_at(c, idx, &off);

		s->first = k;
		s->n = (bend < end ? bend : end) - k;
		s->dirty = 0;
		s->state = st == 0 ? SEG_NONE : st < 0 ? SEG_BAD : SEG_OK;
		s->file_off = off + (k - idx * c->rpb) * c->rbits / 8;
		k += s->n;
	}
	/* Read runs of blocks that lie one after another. */
	for (i = 0; i < c->nsegs; i = j) {
		uint64_t len = c->segs[i].n * c->rbits / 8;

		j = i + 1;
		if (c->segs[i].state != SEG_OK) {
			memset(c->stored + pos, 0, (size_t)len);
			pos += len;
			continue;
		}
		while (j < c->nsegs && c->segs[j].state == SEG_OK &&
		    c->segs[j].file_off == c->segs[i].file_off + len &&
		    len < READ_MAX) {
			len += c->segs[j].n * c->rbits / 8;
			j++;
		}
		if (rd(c, c->segs[i].file_off, c->stored + pos,
		    (size_t)len) != 0)
			return -1;
		pos += len;
	}
	c->loaded = true;
	return 0;
}

static int
write_dirty(struct ck *c)
{
	uint64_t pos = 0;
	uint32_t i;
	bool any = false;

	for (i = 0; i < c->nsegs; i++) {
		struct seg *s = &c->segs[i];
		uint64_t len = s->n * c->rbits / 8;

		if (s->dirty) {
			if (wr(c, s->file_off, c->stored + pos,
			    (size_t)len) != 0)
				return -1;
			s->dirty = 0;
			any = true;
		}
		pos += len;
	}
	c->cache_blk = 0;
	return any ? flush(c) : 0;
}

static void
set_stored(struct ck *c, uint64_t k, uint64_t v)
{
	uint64_t si = k / c->rpb - c->ws / c->rpb;

	qcow2_rc_set(c->stored, k - c->ws, c->rbits, v);
	c->segs[si].dirty = 1;
}

/* compare_refcounts(), for the current window. */
static int
compare(struct ck *c)
{
	uint64_t k, end = c->ws + c->wn;

	if (end > c->range)
		end = c->range;
	for (k = c->ws; k < end; k++) {
		uint64_t r1, r2 = c->cnt[k - c->ws];
		bool fixit = false;
		int e;

		if ((e = stored_rc(c, k, &r1)) != 0) {
			if (e < -1)
				return -1;
			emit(c, "Can't get refcount for cluster %lld: "
			    "Input/output error", L(k));
			c->c_err++;
			continue;
		}
		if (r1 > 0 || r2 > 0)
			c->highest = k;
		if (r1 == r2)
			continue;
		if (r1 == 0)
			c->rebuild = true;
		else if (r1 > r2 && (c->fix & FIX_LEAKS) && c->fixing)
			fixit = true;
		else if (r1 < r2 && (c->fix & FIX_ERRORS) && c->fixing)
			fixit = true;
		emit(c, "%s cluster %lld refcount=%llu reference=%llu",
		    fixit ? "Repairing" : r1 < r2 ? "ERROR" : "Leaked", L(k),
		    U(r1), U(r2));
		if (fixit) {
			if (r1 < r2) {
				set_stored(c, k, r2);
				c->fixed_corr++;
			} else
				c->fixed_leak++;
			continue;
		}
		if (r1 < r2)
			c->c_corr++;
		else
			c->c_leak++;
	}
	if (!c->fixing)
		return 0;
	/* Raised refcounts reach the disk before any is lowered. */
	if (write_dirty(c) != 0)
		return -1;
	for (k = c->ws; k < end; k++) {
		uint64_t r1, r2 = c->cnt[k - c->ws];

		if ((c->fix & FIX_LEAKS) && stored_rc(c, k, &r1) == 0 &&
		    r1 > r2)
			set_stored(c, k, r2);
	}
	return write_dirty(c);
}

/* ---- OFLAG_COPIED ---- */

static int
check_copied(struct ck *c)
{
	uint64_t done = 0, l1_size = c->h.l1_size;
	uint32_t per = L1_CHUNK / 8;
	bool repair;

	if (c->fix & FIX_ERRORS)
		repair = true;
	else if (c->fix & FIX_LEAKS)
		repair = !(c->w_err + c->c_err) && !(c->w_corr + c->c_corr) &&
		    !c->c_leak;
	else
		repair = false;
	while (done < l1_size) {
		uint32_t n = l1_size - done < per ? (uint32_t)(l1_size - done) :
		    per, i;

		if (rd(c, c->h.l1_off + done * 8, c->l1buf,
		    (size_t)n * 8) != 0)
			return -1;
		for (i = 0; i < n; i++)
			c->l1buf[i] = get_be64((uint8_t *)&c->l1buf[i]);
		for (i = 0; i < n; i++) {
			uint64_t e = c->l1buf[i], l2 = e & QCOW2_OFFSET_MASK;
			uint64_t rc, j, dirty = 0;
			uint8_t *tab;
			int s;

			if (l2 == 0)
				continue;
			s = stored_rc(c, l2 >> c->cbits, &rc);
			if (s < -1)
				return -1;
			if (s == 0 && (rc == 1) != ((e & QCOW2_COPIED) != 0)) {
				c->p_corr++;
				emit(c, "%s OFLAG_COPIED L2 cluster: l1_index=%d "
				    "l1_entry=%llx refcount=%llu",
				    repair ? "Repairing" : "ERROR",
				    (int)(done + i), U(e), U(rc));
				if (repair) {
					uint8_t b[8];

					e = rc == 1 ? e | QCOW2_COPIED :
					    e & ~QCOW2_COPIED;
					put64(b, e);
					if (wr(c, c->h.l1_off + (done + i) * 8,
					    b, 8) != 0) {
						c->p_err++;
						return -1;
					}
					c->p_corr--;
					c->fixed_corr++;
				}
			}
			tab = (uint8_t *)l2_table(c, l2, c->l1buf, i, n);
			if (tab == NULL)
				return -1;
			for (j = 0; j < c->l2_entries; j++) {
				uint64_t le = get_be64(tab + j * c->esize);
				enum ctype t = ctype(c, le);

				if (t != T_NORMAL && t != T_ZERO_ALLOC)
					continue;
				if (c->data_file)
					rc = 1;
				else {
					s = stored_rc(c, (le &
					    QCOW2_OFFSET_MASK) >> c->cbits,
					    &rc);
					if (s < -1)
						return -1;
					if (s != 0)
						continue;
				}
				if ((rc == 1) == ((le & QCOW2_COPIED) != 0))
					continue;
				c->p_corr++;
				emit(c, "%s OFLAG_COPIED data cluster: "
				    "l2_entry=%llx refcount=%llu",
				    repair ? "Repairing" : "ERROR", U(le),
				    U(rc));
				if (repair) {
					put64(tab + j * c->esize, rc == 1 ?
					    le | QCOW2_COPIED :
					    le & ~QCOW2_COPIED);
					dirty++;
				}
			}
			if (dirty > 0) {
				if (wr(c, l2, tab, c->cs) != 0) {
					c->p_err++;
					return -1;
				}
				c->p_corr -= dirty;
				c->fixed_corr += dirty;
			}
		}
		done += n;
		progress(c, n);
	}
	return c->fix ? flush(c) : 0;
}

/* ---- one run of qcow2_check_refcounts() ---- */

static void
reset_counts(struct ck *c)
{
	c->w_corr = c->w_err = c->c_corr = c->c_leak = c->c_err = 0;
	c->p_corr = c->p_err = 0;
	c->highest = 0;
	c->ref_end = 0;
	c->alloc = c->frag = c->comp = 0;
	c->rebuild = c->failed = false;
	c->cache_blk = 0;
	c->slen = 0;
}

/*
 * Walk and compare every window; fixing: the compare that writes (the
 * walk then reports nothing, unless report).
 */
static int
all_windows(struct ck *c, bool fixing, bool report)
{
	uint64_t ws;

	c->fixing = fixing;
	for (ws = 0; ws == 0 || ws < c->range; ws += c->wcap) {
		c->ws = ws;
		c->wn = c->wcap;
		c->loaded = false;
		c->first_pass = ws == 0 && (!fixing || report);
		if (walk(c) != 0)
			return -1;
		if (c->first_pass) {
			c->range = c->nb_clusters > c->ref_end ?
			    c->nb_clusters : c->ref_end;
			c->prog_total += (c->range / c->wcap) *
			    (c->h.l1_size + 1);
		}
		if (c->failed)
			return 0;
		if (load_window(c) != 0 || compare(c) != 0)
			return -1;
		progress(c, 1);
	}
	/* One window: its refcounts serve the OFLAG_COPIED check too. */
	c->loaded = c->range <= c->wcap;
	c->first_pass = c->fixing = false;
	return 0;
}

/* Clear the dirty and corrupt bits after a clean repair. */
static int
mark_clean(struct ck *c)
{
	uint8_t b[8];
	uint64_t f;

	if (c->h.version < 3 ||
	    !(c->h.incompat & (INCOMPAT_DIRTY | INCOMPAT_CORRUPT)))
		return 0;
	f = c->h.incompat & ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT);
	put64(b, f);
	if (wr(c, 72, b, 8) != 0 || flush(c) != 0)
		return -1;
	c->h.incompat = f;
	return 0;
}

/* ---- rebuild_refcount_structure() ---- */

/* alloc_clusters_imrt(): n free clusters from *first_free on; -1: none. */
static int64_t
imrt_alloc(struct ck *c, uint64_t n, uint64_t *first_free)
{
	uint64_t k = *first_free, run = 0, i;
	bool first_gap = true;

	for (; k < c->range && run < n; k++) {
		if (c->cnt[k] == 0) {
			run++;
			if (first_gap) {
				*first_free = k;
				first_gap = false;
			}
		} else
			run = 0;
	}
	if (run < n) {
		if (k + n - run > c->wcap)
			return -1;
		c->range = k + n - run;
	}
	k -= run;
	for (i = 0; i < n; i++)
		c->cnt[k + i] = 1;
	return (int64_t)k;
}

/*
 * rebuild_refcounts_write_refblocks(): a refcount block for each block's
 * worth of clusters in [first, end) holding a reference, written from
 * the counts.  1: the new table grew; 0: it did not; -1: error.
 */
static int
write_refblocks(struct ck *c, uint64_t first, uint64_t end, uint64_t *entries)
{
	uint64_t k, first_free = 0;
	int grown = 0;

	for (k = first; k < end; k++) {
		uint64_t idx = k / c->rpb, start = idx * c->rpb, off, i;

		if (c->cnt[k] == 0)
			continue;
		if (*entries > idx && c->rt_new[idx] != 0)
			off = c->rt_new[idx];
		else {
			int64_t at;

			if (first_free < start)
				first_free = start;
			if ((at = imrt_alloc(c, 1, &first_free)) < 0) {
				emit(c, "%sERROR allocating refblock: Cannot "
				    "allocate memory", QEMU_IMG_PREFIX);
				return -1;
			}
			if ((uint64_t)at >= end)
				end = (uint64_t)at + 1;
			if (*entries <= idx) {
				uint64_t n = ((idx + 1) * 8 + c->cs - 1) /
				    c->cs * c->cs / 8;

				if (n > c->rt_new_cap) {
					emit(c, "%sERROR allocating refblock: "
					    "Cannot allocate memory",
					    QEMU_IMG_PREFIX);
					return -1;
				}
				memset(c->rt_new + *entries, 0,
				    (size_t)(n - *entries) * 8);
				*entries = n;
				grown = 1;
			}
			off = (uint64_t)at << c->cbits;
			c->rt_new[idx] = off;
		}
		memset(c->cache, 0, c->cs);
		for (i = 0; i < c->rpb && start + i < c->range; i++)
			qcow2_rc_set(c->cache, i, c->rbits, c->cnt[start + i]);
		c->cache_blk = 0;
		if (wr(c, off, c->cache, c->cs) != 0) {
			emit(c, "%sERROR writing refblock: Input/output "
			    "error", QEMU_IMG_PREFIX);
			return -1;
		}
		k = start + c->rpb - 1;
	}
	return grown;
}

/*
 * A new refcount structure from the counts, as qemu builds it: blocks
 * and table in free clusters, then the header switched to them; the old
 * structure is then leaked, and freed by the compare that follows.  The
 * counts must cover the whole file (one window).
 */
static int
rebuild_structure(struct ck *c)
{
	uint64_t entries = 0, rt_clusters = 0, i;
	int64_t at = -1;
	uint8_t b[12];
	int grown;

	if (c->rt_new == NULL)
		return -1;
	if ((grown = write_refblocks(c, 0, c->range, &entries)) < 0)
		return -1;
	do {
		uint64_t first_free = 0;

		rt_clusters = (entries * 8 + c->cs - 1) / c->cs;
		if ((at = imrt_alloc(c, rt_clusters, &first_free)) < 0) {
			emit(c, "%sERROR allocating reftable: Cannot "
			    "allocate memory", QEMU_IMG_PREFIX);
			return -1;
		}
		grown = write_refblocks(c, (uint64_t)at,
		    (uint64_t)at + rt_clusters, &entries);
		if (grown < 0)
			return -1;
	} while (grown);
	/* Blocks and table on disk before the header names them. */
	for (i = 0; i < entries; i++)
		put64((uint8_t *)&c->rt_new[i], c->rt_new[i]);
	if (wr(c, (uint64_t)at << c->cbits, c->rt_new, entries * 8) != 0 ||
	    flush(c) != 0) {
		emit(c, "%sERROR writing reftable: Input/output error",
		    QEMU_IMG_PREFIX);
		return -1;
	}
	put64(b, (uint64_t)at << c->cbits);
	b[8] = (uint8_t)(rt_clusters >> 24);
	b[9] = (uint8_t)(rt_clusters >> 16);
	b[10] = (uint8_t)(rt_clusters >> 8);
	b[11] = (uint8_t)rt_clusters;
	if (wr(c, 48, b, sizeof(b)) != 0 || flush(c) != 0) {
		emit(c, "%sERROR setting reftable: Input/output error",
		    QEMU_IMG_PREFIX);
		return -1;
	}
	for (i = 0; i < entries; i++)
		c->rt_new[i] = get_be64((uint8_t *)&c->rt_new[i]);
	/* The new table is the one to read from now on. */
	c->rt = c->rt_new;
	c->rt_new = NULL;
	c->rt_entries = entries;
	c->h.rt_off = (uint64_t)at << c->cbits;
	c->h.rt_clusters = (uint32_t)rt_clusters;
	if (c->range > c->nb_clusters)
		c->nb_clusters = c->range;
	return 0;
}

/* The rebuild branch of qcow2_check_refcounts(). */
static int
rebuild(struct ck *c)
{
	uint64_t old_corr = c->w_corr + c->c_corr, old_leak = c->c_leak;
	uint64_t fixed_leak, fresh;
	int fix = c->fix;

	emit(c, "Rebuilding refcount structure");
	if (c->range > c->wcap || c->signaled) {
		/* qemu's writes fail once it has marked the image corrupt. */
		emit(c, "%sERROR %s", QEMU_IMG_PREFIX, c->signaled ?
		    "writing refblock: Input/output error" :
		    "allocating refblock: Cannot allocate memory");
		c->c_err++;
		c->failed = true;
		return 0;
	}
	if (rebuild_structure(c) != 0) {
		c->c_err++;
		c->failed = true;
		return 0;
	}
	/* Count again against the new structure; free the old one. */
	c->w_corr = c->w_err = c->c_corr = c->c_leak = c->c_err = 0;
	c->alloc = c->frag = c->comp = 0;
	fixed_leak = c->fixed_leak;
	c->rebuild = false;
	c->fix = FIX_LEAKS;
	if (all_windows(c, true, true) != 0)
		return -1;
	if (c->rebuild)
		emit(c, "ERROR rebuilt refcount structure is still broken");
	fresh = c->c_leak;
	c->fixed_leak = fixed_leak;
	c->fix = fix;
	c->c_corr = c->c_err = 0;
	c->c_leak = fresh;
	if (c->w_corr < old_corr)
		c->fixed_corr += old_corr - c->w_corr;
	c->fixed_leak += old_leak;
	return 0;
}

/* qcow2_check_refcounts() with fix; -1: stop with err set. */
static int
check_once(struct ck *c, int fix)
{
	reset_counts(c);
	c->fix = fix;
	if (all_windows(c, false, false) != 0)
		return -1;
	if (c->failed)
		return 0;
	if (c->rebuild && (fix & FIX_ERRORS)) {
		if (rebuild(c) != 0)
			return -1;
		if (c->failed)
			return 0;
	} else if (fix) {
		if (c->rebuild) {
			emit(c, "ERROR need to rebuild refcount structures");
			c->c_err++;
			c->failed = true;
			return 0;
		}
		if (c->c_leak || c->c_corr || c->w_corr) {
			c->c_leak = c->c_corr = c->c_err = 0;
			if (all_windows(c, true, false) != 0)
				return -1;
		}
	}
	if (check_copied(c) != 0)
		return -1;
	if (fix && c->w_err + c->c_err + c->p_err == 0 &&
	    c->w_corr + c->c_corr + c->p_corr == 0 && mark_clean(c) != 0)
		return -1;
	return 0;
}

/* ---- setup ---- */

static int
read_extensions(struct ck *c)
{
	uint64_t pos = c->h.header_len;
	uint8_t b[24];

	while (pos + 8 <= c->h.ext_end) {
		uint32_t magic, len;

		if (rd(c, pos, b, 8) != 0)
			return -1;
		magic = get_be32(b);
		len = get_be32(b + 4);
		pos += 8;
		if (magic == EXT_END)
			break;
		if (magic == EXT_CRYPTO && len == CRYPTO_EXT_LEN) {
			if (rd(c, pos, b, 16) != 0)
				return -1;
			c->crypto_off = get_be64(b);
			c->crypto_len = get_be64(b + 8);
		} else if (magic == EXT_BITMAPS && len == BITMAPS_EXT_LEN &&
		    (c->h.autoclear & AUTOCLEAR_BITMAPS)) {
			if (rd(c, pos, b, 24) != 0)
				return -1;
			c->nb_bitmaps = get_be32(b);
			c->bm_dir_size = get_be64(b + 8);
			c->bm_dir_off = get_be64(b + 16);
		}
		pos += ((uint64_t)len + 7) & ~7ull;
	}
	return 0;
}

static int
setup_qcow2(struct ck *c)
{
	struct fmt_arena *a = c->job->arena;
	size_t left, per;
	uint64_t i, maxw, slack, far;

	if (load_prefix(c) != 0 ||
	    qcow2_parse(&c->pio, &c->h, &c->info, NULL, &c->err) != 0)
		return -1;
	c->cs = c->h.cluster_size;
	c->cbits = c->h.cluster_bits;
	c->rbits = 1u << c->h.refcount_order;
	c->rpb = c->cs * 8 / c->rbits;
	c->rc_max = c->rbits == 64 ? UINT64_MAX : (1ull << c->rbits) - 1;
	c->cnt_max = c->rc_max > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)c->rc_max;
	c->extl2 = (c->h.incompat & INCOMPAT_EXTL2) != 0;
	c->data_file = (c->h.incompat & INCOMPAT_DATA_FILE) != 0;
	c->esize = c->extl2 ? 16 : 8;
	c->l2_entries = c->cs / c->esize;
	c->csize_shift = 62 - (c->cbits - 8);
	c->csize_mask = (1ull << (c->cbits - 8)) - 1;
	c->coff_mask = (1ull << c->csize_shift) - 1;
	c->nb_clusters = (c->file_size + c->cs - 1) >> c->cbits;
	if (c->nb_clusters > INT32_MAX) {
		c->r->check_errors = 1;
		fmt_seterr(&c->err, "File too large");
		return -1;
	}
	c->rt_entries = (uint64_t)c->h.rt_clusters * c->cs / 8;
	c->l1buf = fmt_alloc(a, L1_CHUNK, 8);
	c->sbuf = fmt_alloc(a, STREAM_BUF, 8);
	/* Runs of L2 tables: up to L2_RUN_MAX, less in a small arena. */
	left = fmt_arena_left(a) / 8 & ~(size_t)(c->cs - 1);
	c->l2cap = left < L2_CACHE_MAX ? left : L2_CACHE_MAX;
	if (c->l2cap < c->cs)
		c->l2cap = c->cs;
	c->cache = fmt_alloc(a, c->cs, 8);
	c->rt = fmt_alloc(a, c->rt_entries * 8 + 8, 8);
	if (c->l1buf == NULL || c->sbuf == NULL || c->cache == NULL ||
	    c->rt == NULL || fmt_arena_left(a) < c->l2cap) {
		fmt_seterr(&c->err, "Not enough memory to check the image");
		return -1;
	}
	if (rd(c, c->h.rt_off, c->rt, c->rt_entries * 8) != 0)
		return -1;
	for (i = 0; i < c->rt_entries; i++)
		c->rt[i] = get_be64((uint8_t *)&c->rt[i]);
	if (read_extensions(c) != 0 || snapshot_table_size(c) != 0)
		return -1;

	/*
	 * A rebuilt refcount table (for -r all), then the window: a
	 * counter and a stored refcount per cluster, covering the file,
	 * what it references past its end, and what a rebuild adds.
	 */
	slack = c->nb_clusters / c->rpb + 128;
	/* -r all grows the file to hold a block past its end. */
	far = c->nb_clusters;
	for (i = 0; i < c->rt_entries; i++) {
		uint64_t off = c->rt[i] & REFT_OFFSET_MASK;

		if (c->job->params->repair == INSTAR_CHECK_REPAIR_ALL &&
		    (off & (c->cs - 1)) == 0 && (off >> c->cbits) + 1 > far)
			far = (off >> c->cbits) + 1;
	}
	c->rt_new_cap = ((far + slack) / c->rpb + 2) * 8;
	c->rt_new_cap = (c->rt_new_cap + c->cs - 1) / c->cs * c->cs / 8;
	if (c->job->params->repair == INSTAR_CHECK_REPAIR_ALL &&
	    (c->rt_new = fmt_alloc(a, c->rt_new_cap * 8, 8)) == NULL) {
		fmt_seterr(&c->err, "Not enough memory to check the image");
		return -1;
	}
	/*
	 * The L2 runs' buffer is taken last, after the window: what a small
	 * image uses of it then shares the huge pages already touched
	 * instead of costing pages of its own (a fresh 2 MiB page costs the
	 * host about 0.3 ms to clear).
	 */
	left = fmt_arena_left(a);
	left = left > c->l2cap ? left - c->l2cap : 0;
	per = sizeof(uint32_t) + (c->rbits + 7) / 8;
	maxw = left > 64 * 1024 ? (left - 64 * 1024) / per : 0;
	if (maxw > far + slack)
		maxw = far + slack;
	if (c->job->window_max != 0 && maxw > c->job->window_max)
		maxw = c->job->window_max;
	maxw = (maxw + 63) & ~63ull;
	for (;;) {
		size_t save = a->used;

		c->wcap = maxw;
		c->segcap = (uint32_t)(maxw / c->rpb + 2);
		c->cnt = fmt_alloc(a, maxw * sizeof(uint32_t), 8);
		c->stored = fmt_alloc(a, maxw * c->rbits / 8 + 8, 8);
		c->segs = fmt_alloc(a, c->segcap * sizeof(struct seg), 8);
		if (c->cnt != NULL && c->stored != NULL && c->segs != NULL)
			break;
		a->used = save;
		if (maxw <= 64) {
			fmt_seterr(&c->err, "Not enough memory to check the "
			    "image");
			return -1;
		}
		maxw = (maxw / 2 + 63) & ~63ull;
	}
	if ((c->l2buf = fmt_alloc(a, c->l2cap, 8)) == NULL) {
		fmt_seterr(&c->err, "Not enough memory to check the image");
		return -1;
	}
	return 0;
}

static void
fill_result(struct ck *c)
{
	struct instar_check_result *r = c->r;

	r->has_checks = 1;
	r->corruptions = c->w_corr + c->c_corr + c->p_corr;
	r->leaks = c->c_leak;
	r->check_errors = c->w_err + c->c_err + c->p_err;
	r->image_end_offset = (c->highest + 1) * c->cs;
	r->total_clusters = (c->h.size + c->cs - 1) >> c->cbits;
	r->allocated_clusters = c->alloc;
	r->fragmented_clusters = c->frag;
	r->compressed_clusters = c->comp;
}

static int
run_qcow2(struct ck *c)
{
	int fix = 0;

	if (setup_qcow2(c) != 0)
		return -1;
	if (c->job->params->repair == INSTAR_CHECK_REPAIR_LEAKS)
		fix = FIX_LEAKS;
	else if (c->job->params->repair == INSTAR_CHECK_REPAIR_ALL)
		fix = FIX_LEAKS | FIX_ERRORS;
	c->prog_total = fix ? 3 : 1;
	if (check_once(c, fix) != 0)
		return -1;
	if (c->failed) {
		fill_result(c);
		fmt_seterr(&c->err, "Input/output error");
		return -1;
	}
	if (fix && (c->fixed_corr || c->fixed_leak)) {
		/* qemu-img checks the repaired image once more. */
		uint64_t fc = c->fixed_corr, fl = c->fixed_leak;

		if (check_once(c, 0) != 0)
			return -1;
		c->fixed_corr = fc;
		c->fixed_leak = fl;
	}
	fill_result(c);
	c->r->corruptions_fixed = c->fixed_corr;
	c->r->leaks_fixed = c->fixed_leak;
	if (c->failed) {
		fmt_seterr(&c->err, "Input/output error");
		return -1;
	}
	return 0;
}

/* ---- VMDK: vmdk_co_check() ---- */

static int
run_vmdk(struct ck *c)
{
	struct fmt_arena *a = c->job->arena;
	struct vmdk_geom g;
	uint64_t gsec, sectors, grains, gt, gtbytes, gd_done = 0;
	uint32_t *gd;
	uint8_t *gtbuf;
	uint64_t gtcap, gtoff = 0, gtlen = 0;

	if (load_prefix(c) != 0 ||
	    vmdk_parse(&c->pio, &g, &c->info, &c->err) != 0)
		return -1;
	if (c->job->params->repair != INSTAR_CHECK_REPAIR_NONE) {
		/* qemu's vmdk_check refuses to fix: no checks at all. */
		c->r->has_checks = 0;
		return 0;
	}
	c->r->has_checks = 1;
	gsec = g.grain_size / 512;
	sectors = c->info.virtual_size / 512;
	grains = (sectors + gsec - 1) / gsec;
	gtbytes = (uint64_t)g.num_gtes * 4;
	gd = fmt_alloc(a, L1_CHUNK, 8);
	gtcap = gtbytes > L2_RUN_MAX ? gtbytes : L2_RUN_MAX;
	gtbuf = fmt_alloc(a, gtcap, 8);
	if (gd == NULL || gtbuf == NULL) {
		fmt_seterr(&c->err, "Not enough memory to check the image");
		return -1;
	}
	c->prog_total = grains / g.num_gtes + 1;
	for (gt = 0; gt * g.num_gtes < grains; gt++) {
		uint64_t l2, j;
		uint32_t gi = (uint32_t)(gt % (L1_CHUNK / 4));

		if (gt >= g.gd_entries) {
			emit(c, "ERROR: could not get cluster_offset for "
			    "sector %lld", L(gt * g.num_gtes * gsec));
			c->r->corruptions++;
			return 0;
		}
		if (gi == 0) {
			uint64_t n = g.gd_entries - gt;

			if (n > L1_CHUNK / 4)
				n = L1_CHUNK / 4;
			if (rd(c, g.gd_off + gt * 4, gd, n * 4) != 0)
				return -1;
			gd_done = gt + n;
			progress(c, n);
		}
		l2 = (uint64_t)get_le32((uint8_t *)&gd[gi]) * 512;
		if (l2 == 0)
			continue;
		if (gtlen == 0 || l2 < gtoff || l2 - gtoff > gtlen ||
		    gtbytes > gtlen - (l2 - gtoff)) {
			/* Read this table and those right after it. */
			uint64_t end = l2 + gtbytes, k;

			for (k = gt + 1; k < gd_done; k++) {
				uint64_t o = (uint64_t)get_le32((uint8_t *)
				    &gd[k % (L1_CHUNK / 4)]) * 512;

				if (o != end || end - l2 + gtbytes > gtcap)
					break;
				end += gtbytes;
			}
			gtlen = 0;
			if (rd(c, l2, gtbuf, end - l2) != 0)
				return -1;
			gtoff = l2;
			gtlen = end - l2;
		}
		for (j = 0; j < g.num_gtes && gt * g.num_gtes + j < grains;
		    j++) {
			uint32_t e = get_le32(gtbuf + (l2 - gtoff) + j * 4);

			if (e == 0 || (g.zero_grains && e == 1))
				continue;
			if ((uint64_t)e * 512 >= c->file_size) {
				/* qemu stops at the first one, failing. */
				emit(c, "ERROR: cluster offset for sector "
				    "%lld points after EOF",
				    L((gt * g.num_gtes + j) * gsec));
				c->r->corruptions++;
				fmt_seterr(&c->err, "Invalid "
				    "argument");
				return -1;
			}
		}
	}
	return 0;
}

int
check_run(const struct check_job *job, struct instar_check_result *res)
{
	struct fmt_arena *a = job->arena;
	const char *why;
	struct ck *c;
	int r = -1;

	memset(res, 0, INSTAR_CHECK_RESULT_MIN);
	res->status = 1;
	if ((why = check_params_validate(job->params, 1,
	    job->dev->write != NULL, false)) != NULL) {
		snprintf(res->error, sizeof(res->error), "bad check job: %s",
		    why);
		return -1;
	}
	c = fmt_alloc(a, sizeof(*c), 8);
	if (c == NULL) {
		snprintf(res->error, sizeof(res->error), "Not enough memory "
		    "to check the image");
		return -1;
	}
	memset(c, 0, sizeof(*c));
	c->job = job;
	c->io = job->dev;
	c->r = res;
	c->file_size = job->dev->size;
	switch (job->params->format) {
	case INSTAR_FMT_RAW:
		res->has_checks = 0;
		r = 0;
		break;
	case INSTAR_FMT_QCOW2:
		r = run_qcow2(c);
		break;
	case INSTAR_FMT_VMDK:
		r = run_vmdk(c);
		break;
	}
	if (r != 0) {
		if (c->err.msg[0] == '\0')
			fmt_seterr(&c->err, "Input/output error");
		memcpy(res->error, c->err.msg, sizeof(res->error));
		res->error[sizeof(res->error) - 1] = '\0';
		return -1;
	}
	res->status = 0;
	return 0;
}
