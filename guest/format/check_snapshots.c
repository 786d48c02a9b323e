/*
 * The snapshot table in a qcow2 check, as qemu 7.2 has it: the image is
 * opened for checking without reading the table (BDRV_O_CHECK), then
 * qcow2_check_read_snapshot_table() reads it, qcow2_check_refcounts()
 * runs, and qcow2_check_fix_snapshot_table() writes the table anew if
 * an entry was found broken.
 *
 * With -r all, qemu drops what it cannot keep: snapshots past 65536 and
 * those past the 64 MiB table limit (the header's count is lowered at
 * once, which leaks their clusters for the refcount repair to free), and
 * extra data past 1 KiB; a version 3 entry with less than 16 bytes of
 * extra data is completed.  The new table goes to new clusters at the
 * end of the image through the shared writer, so that a crash before the
 * header names it leaves only leaked clusters; the old table is released
 * after.  Entries are copied from the old table one by one, so memory
 * does not grow with the table.
 */
#include "check_state.h"
#include "qcow2_write.h"

#define SNAP_OUT_BUF		(64u * 1024)
/* disk_size's end in the extra data: a v3 entry has at least this much. */
#define SNAPSHOT_EXTRA_V3	16u

/* One table entry as qcow2_do_read_snapshots() steps over it. */
struct snap_entry {
	uint8_t		hdr[SNAPSHOT_HDR_LEN];
	uint32_t	extra;		/* as recorded */
	uint32_t	kept;		/* extra data qemu keeps */
	uint16_t	id_size, name_size;
	uint64_t	extra_off;	/* where the extra data starts */
	uint64_t	id_off;
	uint64_t	end;		/* just past the name */
};

/*
 * qemu reads the table through its block layer, which fails anything
 * past BDRV_MAX_LENGTH and reads zeros past the end of the file (as
 * ck_read() does).
 */
static int
span_ok(uint64_t off, uint64_t len)
{
	return off <= BDRV_MAX_LENGTH && len <= BDRV_MAX_LENGTH - off;
}

static int
read_entry(struct ck *c, uint64_t off, struct snap_entry *e)
{
	if (!span_ok(off, SNAPSHOT_HDR_LEN) ||
	    ck_sread(c, off, e->hdr, sizeof(e->hdr)) != 0)
		return -1;
	e->id_size = get_be16(e->hdr + 12);
	e->name_size = get_be16(e->hdr + 14);
	e->extra = get_be32(e->hdr + 36);
	e->kept = e->extra > SNAPSHOT_EXTRA_MAX ? SNAPSHOT_EXTRA_MAX :
	    e->extra;
	e->extra_off = off + SNAPSHOT_HDR_LEN;
	e->id_off = e->extra_off + e->extra;
	e->end = e->id_off + e->id_size + e->name_size;
	if (!span_ok(e->extra_off, (uint64_t)e->extra + e->id_size +
	    e->name_size))
		return -1;
	return 0;
}

/* An error of the table's reading: qemu's check stops there. */
static int
read_failed(struct ck *c, const char *why, const char *hint, const char *err)
{
	ck_emit(c, "%sERROR failed to read the snapshot table: %s",
	    INSTAR_CHECK_PROG_PREFIX, why);
	if (hint[0] != '\0')
		ck_emit(c, "%s", hint);
	c->w_err++;
	c->failed = true;
	fmt_seterr(&c->err, "%s", err);
	return -1;
}

/* The header's snapshot count, lowered before the refcounts are checked. */
static int
write_count(struct ck *c, uint32_t n)
{
	uint8_t b[4];

	store_be32(b, n);
	if (ck_write(c, 60, b, sizeof(b)) != 0 || ck_flush(c) != 0) {
		c->w_err++;
		ck_emit(c, "ERROR failed to update the snapshot count in the "
		    "image header: Input/output error");
		return -1;
	}
	return 0;
}

int
ck_read_snapshot_table(struct ck *c, int fix)
{
	struct fmt_err verr;
	struct snap_entry e;
	uint64_t off = c->h.snap_off, table = 0;
	uint32_t i, n = c->h.nb_snapshots, reduced = 0, dropped = 0;
	char why[96];

	c->s_corr = 0;
	c->snap_size = 0;
	if (n > MAX_SNAPSHOTS && (fix & FIX_ERRORS)) {
		ck_emit(c, "Discarding %u overhanging snapshots",
		    n - (uint32_t)MAX_SNAPSHOTS);
		reduced = n - (uint32_t)MAX_SNAPSHOTS;
		n = (uint32_t)MAX_SNAPSHOTS;
	}
	if (qcow2_check_table(&c->h, c->h.snap_off, n, SNAPSHOT_HDR_LEN,
	    SNAPSHOT_HDR_LEN * MAX_SNAPSHOTS, "snapshot table", &verr) != 0) {
		ck_emit(c, "%sERROR %s", INSTAR_CHECK_PROG_PREFIX, verr.msg);
		if (n > MAX_SNAPSHOTS)
			ck_emit(c, "You can force-remove all %u overhanging "
			    "snapshots with qemu-img check -r all",
			    n - (uint32_t)MAX_SNAPSHOTS);
		c->w_err++;
		c->failed = true;
		/* -EFBIG for the count, -EINVAL for the offset. */
		fmt_seterr(&c->err, n > MAX_SNAPSHOTS ? "File too large" :
		    "Invalid argument");
		return -1;
	}
	for (i = 0; i < n; i++) {
		uint64_t pre = off;

		table = (table + 7) & ~7ull;
		off = (off + 7) & ~7ull;
		if (read_entry(c, off, &e) != 0)
			return read_failed(c, SNAPSHOT_READ_ERR, "",
			    "Input/output error");
		if (e.extra > SNAPSHOT_EXTRA_MAX) {
			if (!(fix & FIX_ERRORS)) {
				(void)snprintf(why, sizeof(why), "Too much "
				    "extra metadata in snapshot table entry "
				    "%u", i);
				return read_failed(c, why, "You can "
				    "force-remove this extra metadata with "
				    "qemu-img check -r all", "File too large");
			}
			ck_emit(c, "Discarding too much extra metadata in "
			    "snapshot table entry %u (%u > %u)", i, e.extra,
			    SNAPSHOT_EXTRA_MAX);
			dropped++;
		}
		off = e.end;
		table += SNAPSHOT_HDR_LEN + e.kept + e.id_size + e.name_size;
		if (table > SNAPSHOTS_SIZE_MAX ||
		    off - c->h.snap_off > INT32_MAX) {
			if (!(fix & FIX_ERRORS)) {
				char more[128];

				(void)snprintf(more, sizeof(more), "You can "
				    "force-remove all %u overhanging snapshots "
				    "with qemu-img check -r all", n - i);
				return read_failed(c, "Snapshot table is too "
				    "big", more, "File too large");
			}
			ck_emit(c, "Discarding %u overhanging snapshots "
			    "(snapshot table is too big)", n - i);
			reduced += n - i;
			n = i;
			off = pre;
			break;
		}
	}
	c->snap_size = off - c->h.snap_off;
	c->s_corr = dropped;
	if (reduced) {
		if (write_count(c, n) != 0) {
			c->failed = true;
			fmt_seterr(&c->err, "Input/output error");
			return -1;
		}
		c->h.nb_snapshots = n;
		c->fixed_corr += reduced;
	}
	if (c->h.version < 3)
		return 0;
	/* A version 3 entry holds vm_state_size_large and disk_size. */
	off = c->h.snap_off;
	for (i = 0; i < n; i++) {
		off = (off + 7) & ~7ull;
		if (read_entry(c, off, &e) != 0)
			return read_failed(c, SNAPSHOT_READ_ERR, "",
			    "Input/output error");
		if (e.extra < SNAPSHOT_EXTRA_V3) {
			c->s_corr++;
			ck_emit(c, "%s snapshot table entry %u is incomplete",
			    (fix & FIX_ERRORS) ? "Repairing" : "ERROR", i);
		}
		off = e.end;
	}
	return 0;
}

/* ---- qcow2_write_snapshots(), for the repair ---- */

/* Writes gathered into runs of the new table. */
struct snap_out {
	struct ck	*c;
	uint8_t		*buf;
	size_t		 len;
	uint64_t	 at;		/* where buf[0] goes */
	bool		 dry;		/* only count: the table's size */
	uint64_t	 size;		/* bytes of the table so far */
};

static int
out_flush(struct snap_out *o)
{
	if (o->len == 0)
		return 0;
	if (ck_write(o->c, o->at, o->buf, o->len) != 0)
		return -1;
	o->at += o->len;
	o->len = 0;
	return 0;
}

static int
out_put(struct snap_out *o, const void *src, size_t len)
{
	const uint8_t *p = src;

	o->size += len;
	if (o->dry)
		return 0;
	while (len > 0) {
		size_t n = SNAP_OUT_BUF - o->len;

		if (n > len)
			n = len;
		memcpy(o->buf + o->len, p, n);
		o->len += n;
		p += n;
		len -= n;
		if (o->len == SNAP_OUT_BUF && out_flush(o) != 0)
			return -1;
	}
	return 0;
}

static int
out_pad(struct snap_out *o)
{
	static const uint8_t zeros[8];

	return out_put(o, zeros, (size_t)(-o->size & 7));
}

/* How long the C string of size bytes at off is: qemu keeps an id or a
 * name up to its first NUL. */
static int
string_len(struct ck *c, uint64_t off, uint16_t size, uint16_t *len)
{
	uint8_t chunk[512];
	uint32_t done = 0;

	while (done < size) {
		size_t n = size - done < sizeof(chunk) ? size - done :
		    sizeof(chunk);
		size_t k;

		if (ck_sread(c, off + done, chunk, n) != 0)
			return -1;
		k = strnlen((const char *)chunk, n);
		done += (uint32_t)k;
		if (k < n)
			break;
	}
	*len = (uint16_t)done;
	return 0;
}

static int
copy_bytes(struct ck *c, struct snap_out *o, uint64_t off, uint32_t len)
{
	uint8_t chunk[512];

	if (o->dry) {
		o->size += len;
		return 0;
	}
	while (len > 0) {
		size_t n = len < sizeof(chunk) ? len : sizeof(chunk);

		if (ck_sread(c, off, chunk, n) != 0 ||
		    out_put(o, chunk, n) != 0)
			return -1;
		off += n;
		len -= (uint32_t)n;
	}
	return 0;
}

/* Entry e as qemu writes it back: all the extra data it knows. */
static int
copy_entry(struct ck *c, struct snap_out *o, const struct snap_entry *e)
{
	uint8_t h[SNAPSHOT_HDR_LEN], x[SNAPSHOT_EXTRA_MAX];
	uint64_t vm_state, disk_size, icount;
	uint32_t extra = e->kept > SNAPSHOT_EXTRA_LEN ? e->kept :
	    SNAPSHOT_EXTRA_LEN;
	uint16_t id_len, name_len;

	if (string_len(c, e->id_off, e->id_size, &id_len) != 0 ||
	    string_len(c, e->id_off + e->id_size, e->name_size,
	    &name_len) != 0)
		return -1;
	memset(x, 0, sizeof(x));
	if (!o->dry && ck_sread(c, e->extra_off, x, e->kept) != 0)
		return -1;
	vm_state = e->kept >= SNAPSHOT_EXTRA_VMSTATE ? get_be64(x) :
	    get_be32(e->hdr + 32);
	disk_size = e->kept >= SNAPSHOT_EXTRA_V3 ? get_be64(x + 8) :
	    (c->h.size & ~511ull);
	icount = e->kept >= SNAPSHOT_EXTRA_LEN ? get_be64(x + 16) :
	    UINT64_MAX;
	memcpy(h, e->hdr, sizeof(h));
	store_be16(h + 12, id_len);
	store_be16(h + 14, name_len);
	/* Older readers take a state too big for 32 bits as disk-only. */
	store_be32(h + 32, vm_state <= UINT32_MAX ? (uint32_t)vm_state : 0);
	store_be32(h + 36, extra);
	store_be64(x, vm_state);
	store_be64(x + 8, disk_size);
	store_be64(x + 16, icount);
	return out_pad(o) != 0 || out_put(o, h, sizeof(h)) != 0 ||
	    out_put(o, x, extra) != 0 ||
	    copy_bytes(c, o, e->id_off, id_len) != 0 ||
	    copy_bytes(c, o, e->id_off + e->id_size, name_len) != 0 ? -1 : 0;
}

/* Every entry kept, from the old table into o (or only counted). */
static int
copy_table(struct ck *c, struct snap_out *o)
{
	struct snap_entry e;
	uint64_t off = c->h.snap_off;
	uint32_t i;

	for (i = 0; i < c->h.nb_snapshots; i++) {
		off = (off + 7) & ~7ull;
		if (read_entry(c, off, &e) != 0) {
			fmt_seterr(&c->err, "Input/output error");
			return -1;
		}
		if (copy_entry(c, o, &e) != 0)
			return -1;
		if (o->size > SNAPSHOTS_SIZE_MAX) {
			fmt_seterr(&c->err, "File too large");
			return -1;
		}
		off = e.end;
	}
	return out_flush(o);
}

static int
ck_io_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	return ck_read(ctx, off, buf, len);
}

static int
ck_io_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	return ck_write(ctx, off, buf, len);
}

static int
ck_io_flush(void *ctx)
{
	return ck_flush(ctx);
}

/* The refcount table again, should the writer have moved or grown it. */
static int
reload_reftable(struct ck *c)
{
	uint8_t b[12];
	uint64_t entries, i;

	if (ck_read(c, 48, b, sizeof(b)) != 0)
		return -1;
	c->h.rt_off = get_be64(b);
	c->h.rt_clusters = get_be32(b + 8);
	entries = (uint64_t)c->h.rt_clusters * c->cs / 8;
	if (entries > c->rt_cap) {
		fmt_seterr(&c->err, "Not enough memory to check the image");
		return -1;
	}
	if (ck_read(c, c->h.rt_off, c->rt, entries * 8) != 0)
		return -1;
	for (i = 0; i < entries; i++)
		c->rt[i] = get_be64((uint8_t *)&c->rt[i]);
	c->rt_entries = entries;
	return 0;
}

/* The old table's clusters, each losing the table's reference. */
static int
release_old(struct ck *c, struct qcow2_writer *w, uint64_t off,
    uint64_t size)
{
	uint64_t first = off >> c->cbits, last, k, *list;
	size_t n;

	if (size == 0)
		return 0;
	last = (off + size - 1) >> c->cbits;
	n = (size_t)(last - first + 1);
	if ((list = fmt_alloc(c->job->arena, n * sizeof(*list), 8)) == NULL) {
		fmt_seterr(&c->err, "Not enough memory to check the image");
		return -1;
	}
	for (k = 0; k < n; k++)
		list[k] = first + k;
	return qcow2w_release(w, list, n, &c->err);
}

/*
 * The writer, on the arena the L2 runs' buffer lends it (the last
 * allocation, a cache the next walk fills again): new clusters at the
 * end, their refcounts, the header switched, the old table released.
 */
static int
rewrite_table(struct ck *c)
{
	struct fmt_arena *a = c->job->arena;
	size_t mark = a->used;
	struct qcow2_writer w;
	struct qcow2_hdr h = c->h;
	struct snap_out o;
	struct fmt_io io;
	uint64_t host, old_off = c->h.snap_off, old_size = c->snap_size;
	uint8_t b[12];
	int r = -1;

	a->used = (size_t)(c->l2buf - a->base);
	c->nl2runs = 0;
	c->l2used = 0;
	memset(&o, 0, sizeof(o));
	o.c = c;
	o.dry = true;
	if (copy_table(c, &o) != 0)
		goto out;
	memset(&io, 0, sizeof(io));
	io.ctx = c;
	io.read = ck_io_read;
	io.write = ck_io_write;
	io.flush = ck_io_flush;
	io.size = c->file_size;
	/* The refcounts were just made right: the writer may trust them. */
	h.incompat &= ~(uint64_t)(INCOMPAT_DIRTY | INCOMPAT_CORRUPT);
	if (qcow2w_open(&w, &io, &h, a, &c->err) != 0 ||
	    (o.buf = fmt_alloc(a, SNAP_OUT_BUF, 8)) == NULL)
		goto out;
	host = 0;
	if (o.size > 0 && qcow2w_alloc(&w, (o.size + c->cs - 1) >> c->cbits,
	    &host, &c->err) != 0)
		goto out;
	o.dry = false;
	o.at = host;
	o.size = 0;
	if (copy_table(c, &o) != 0 || qcow2w_commit(&w, &c->err) != 0 ||
	    ck_flush(c) != 0)
		goto out;
	store_be32(b, c->h.nb_snapshots);
	store_be64(b + 4, host);
	if (ck_write(c, 60, b, sizeof(b)) != 0 || ck_flush(c) != 0 ||
	    release_old(c, &w, old_off, old_size) != 0 || ck_flush(c) != 0)
		goto out;
	c->h.snap_off = host;
	c->snap_size = o.size;
	r = reload_reftable(c);
out:
	/* What was read through the stream buffer may be stale now. */
	c->slen = 0;
	c->cache_blk = 0;
	c->loaded = false;
	c->nb_clusters = (c->file_size + c->cs - 1) >> c->cbits;
	a->used = mark;
	return r;
}

int
ck_fix_snapshot_table(struct ck *c)
{
	if (c->s_corr == 0 || !(c->fix & FIX_ERRORS))
		return 0;
	if (rewrite_table(c) != 0) {
		ck_emit(c, "ERROR failed to update snapshot table: %s",
		    c->err.msg);
		c->w_err++;
		c->failed = true;
		return 0;
	}
	c->fixed_corr += c->s_corr;
	c->s_corr = 0;
	return 0;
}
