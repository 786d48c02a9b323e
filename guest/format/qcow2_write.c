/*
 * The qcow2 writer: opening, allocation at the end of the image, refcount
 * updates at any width from 1 to 64 bits, and the batch commit that makes
 * L2 and L1 updates durable in the crash-safe order qcow2_write.h
 * describes.  The header rewrite is qcow2_write_header.c; growing and
 * emptying an image are qcow2_write_resize.c.
 */
#include "qcow2_write.h"

#define UPDATES_MAX		16384u	/* guest clusters per batch */
#define NEW_BLOCKS_MAX		4096u	/* refcount blocks per batch */

struct l2_group {
	uint64_t l1_idx;
	uint64_t old_l2;	/* 0: there was no table */
	uint64_t new_l2;	/* 0: changed in place */
	size_t first;		/* its updates: upd[first .. first + n) */
	size_t n;
};

struct new_block {
	uint64_t idx;		/* refcount table index */
	uint64_t off;		/* where the block was put */
};

/* The batch's bookkeeping that lives only while it commits. */
struct commit {
	struct l2_group *groups;
	size_t ngroups;
	struct new_block *blocks;
	size_t nblocks;
	uint64_t new_rt_off;	/* 0: the refcount table stays */
	uint64_t new_rt_clusters;
};

/*
 * Whether [off, off + len) is a place metadata may be changed in place:
 * past the header cluster and inside what the image holds (the file, or
 * clusters allocated since).  A table a hostile header puts anywhere
 * else is refused, never written.
 */
static bool
in_image(const struct qcow2_writer *w, uint64_t off, uint64_t len)
{
	uint64_t end = w->next_free << w->h.cluster_bits;

	return off >= w->h.cluster_size && off <= end && len <= end - off;
}

static int
corrupt_at(struct fmt_err *err, const char *what, uint64_t off)
{
	fmt_seterr(err, "%s at %#llx lies outside the image; the image is "
	    "corrupt", what, (unsigned long long)off);
	return -1;
}

/* ---- refcount entries, any width (qcow2_rc_get/set) ---- */

static uint64_t
rc_max(uint32_t bits)
{
	return bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
}

/* Refcount table entry idx (idx < rt_entries): a block offset or 0. */
static int
rt_entry(struct qcow2_writer *w, uint64_t idx, uint64_t *block,
    struct fmt_err *err)
{
	uint8_t b[8];

	if (fmt_io_read(w->io, w->h.rt_off + idx * 8, b, sizeof(b), err) != 0)
		return -1;
	*block = get_be64(b);
	if ((*block & QCOW2_RT_RESERVED) != 0 ||
	    (*block & (w->h.cluster_size - 1)) != 0) {
		fmt_seterr(err, "Refcount block offset %#llx is invalid; the "
		    "image is corrupt", (unsigned long long)*block);
		return -1;
	}
	if (*block != 0 && !in_image(w, *block, w->h.cluster_size))
		return corrupt_at(err, "A refcount block", *block);
	return 0;
}

/*
 * Add delta (+1 or -1) to one cluster's refcount in place.  Used for
 * clusters outside a batch's new range: the old refcount table, and
 * tables copied away from a snapshot.
 */
static int
rc_add(struct qcow2_writer *w, uint64_t host_off, int delta,
    struct fmt_err *err)
{
	uint64_t cluster = host_off >> w->h.cluster_bits;
	uint64_t idx = cluster / w->rc_per_block;
	uint64_t i = cluster % w->rc_per_block;
	uint64_t block, v, at;
	uint32_t bytes = w->rc_bits < 8 ? 1 : w->rc_bits / 8;
	uint8_t b[8];

	if (idx >= w->rt_entries) {
		fmt_seterr(err, "cluster %#llx is beyond the refcount table; "
		    "the image is corrupt", (unsigned long long)host_off);
		return -1;
	}
	if (rt_entry(w, idx, &block, err) != 0)
		return -1;
	if (block == 0) {
		fmt_seterr(err, "cluster %#llx has no refcount block; the "
		    "image is corrupt", (unsigned long long)host_off);
		return -1;
	}
	/* The entry's bytes alone; rc_get/rc_set index from there. */
	at = block + i * w->rc_bits / 8;
	if (fmt_io_read(w->io, at, b, bytes, err) != 0)
		return -1;
	v = qcow2_rc_get(b, w->rc_bits < 8 ? i % (8 / w->rc_bits) : 0,
	    w->rc_bits);
	if ((delta < 0 && v == 0) || (delta > 0 && v == rc_max(w->rc_bits))) {
		fmt_seterr(err, "refcount of cluster %#llx out of range; the "
		    "image is corrupt", (unsigned long long)host_off);
		return -1;
	}
	qcow2_rc_set(b, w->rc_bits < 8 ? i % (8 / w->rc_bits) : 0, w->rc_bits,
	    delta < 0 ? v - 1 : v + 1);
	return fmt_io_write(w->io, at, b, bytes, err);
}

/* ---- opening: where free space begins ---- */

static int
last_used_in_block(struct qcow2_writer *w, uint64_t block, uint64_t *last,
    bool *any, struct fmt_err *err)
{
	uint64_t i;

	if (fmt_io_read(w->io, block, w->scratch, (size_t)w->h.cluster_size,
	    err) != 0)
		return -1;
	*any = false;
	for (i = w->rc_per_block; i > 0; i--)
		if (qcow2_rc_get(w->scratch, i - 1, w->rc_bits) != 0) {
			*last = i - 1;
			*any = true;
			break;
		}
	return 0;
}

/*
 * The first cluster past everything in use: the end of the file, which
 * must hold every cluster with a refcount.
 * The table is read backwards a cluster at a time through buf.
 */
int
qcow2w_find_free_start(struct qcow2_writer *w, struct fmt_err *err)
{
	uint64_t cs = w->h.cluster_size, idx, lo, n, k, block, last;
	uint64_t cap = cs / 8;
	uint8_t *buf;
	bool any;

	if ((buf = fmt_alloc(w->arena, (size_t)cs, 8)) == NULL) {
		fmt_seterr(err, "out of memory for the refcount table");
		return -1;
	}

	w->next_free = (w->io->size + cs - 1) / cs;
	for (idx = w->rt_entries; idx > 0; idx = lo) {
		n = idx < cap ? idx : cap;
		lo = idx - n;
		if (fmt_io_read(w->io, w->h.rt_off + lo * 8, buf,
		    (size_t)(n * 8), err) != 0)
			return -1;
		for (k = n; k > 0; k--) {
			block = get_be64(buf + (k - 1) * 8);
			if (block == 0)
				continue;
			if (rt_entry(w, lo + k - 1, &block, err) != 0 ||
			    last_used_in_block(w, block, &last, &any, err) != 0)
				return -1;
			if (!any)
				continue;
			last += (lo + k - 1) * w->rc_per_block + 1;
			/*
			 * Clusters in use past the end of the file: the
			 * refcounts cannot be trusted to allocate from (and
			 * a hostile table could send new clusters anywhere).
			 */
			if (last > w->next_free) {
				fmt_seterr(err, "refcounts reach past the end "
				    "of the file; the image is corrupt (repair "
				    "it with 'qemu-img check -r all')");
				return -1;
			}
			return 0;
		}
	}
	return 0;
}

/* An L1 entry the writer may follow: no reserved bits, and an L2 table
 * (if any) cluster-aligned inside the image. */
static int
l1_entry_valid(const struct qcow2_writer *w, uint64_t idx, uint64_t e,
    struct fmt_err *err)
{
	if ((e & QCOW2_L1_RESERVED) != 0 ||
	    ((e & QCOW2_OFFSET_MASK) & (w->h.cluster_size - 1)) != 0) {
		fmt_seterr(err, "L1 entry %llu is invalid; the image is "
		    "corrupt", (unsigned long long)idx);
		return -1;
	}
	if ((e & QCOW2_OFFSET_MASK) != 0 && !in_image(w, e &
	    QCOW2_OFFSET_MASK, w->h.cluster_size))
		return corrupt_at(err, "An L2 table", e & QCOW2_OFFSET_MASK);
	return 0;
}

static int
read_l1(struct qcow2_writer *w, uint64_t idx, uint64_t *e,
    struct fmt_err *err)
{
	uint8_t b[8];

	if (idx >= w->h.l1_size) {
		fmt_seterr(err, "cluster beyond the L1 table");
		return -1;
	}
	if (fmt_io_read(w->io, w->h.l1_off + idx * 8, b, sizeof(b), err) != 0)
		return -1;
	*e = get_be64(b);
	return l1_entry_valid(w, idx, *e, err);
}

/* The L1 table is checked this much at a time: few requests, even for
 * a big table of small clusters. */
#define L1_CHECK_CHUNK		(64u * 1024)

/*
 * Every L1 entry, before the first write: a job that wrote data and
 * only then met an L2 table outside the image would refuse after
 * changing the file.
 */
static int
check_l1(struct qcow2_writer *w, struct fmt_err *err)
{
	size_t mark = w->arena->used;
	uint64_t per = L1_CHECK_CHUNK / 8, idx, i, n;
	uint8_t *buf;
	int r = -1;

	if ((buf = fmt_alloc(w->arena, L1_CHECK_CHUNK, 8)) == NULL) {
		fmt_seterr(err, "out of memory for the L1 table");
		return -1;
	}
	for (idx = 0; idx < w->h.l1_size; idx += n) {
		n = w->h.l1_size - idx < per ? w->h.l1_size - idx : per;
		if (fmt_io_read(w->io, w->h.l1_off + idx * 8, buf,
		    (size_t)(n * 8), err) != 0)
			goto out;
		for (i = 0; i < n; i++)
			if (l1_entry_valid(w, idx + i, get_be64(buf + i * 8),
			    err) != 0)
				goto out;
	}
	r = 0;
 out:
	w->arena->used = mark;
	return r;
}

static int
writer_refuse(const struct qcow2_hdr *h, struct fmt_err *err)
{
	if (qcow2_refuse_unsupported(h, err) != 0)
		return -1;
	if (h->incompat & INCOMPAT_DIRTY) {
		fmt_seterr(err, "the image has the dirty bit set (its lazy "
		    "refcounts were not written back); repair it with "
		    "'qemu-img check -r all' first");
		return -1;
	}
	return 0;
}

int
qcow2w_open(struct qcow2_writer *w, const struct fmt_io *io,
    const struct qcow2_hdr *h, struct fmt_arena *arena, struct fmt_err *err)
{
	memset(w, 0, sizeof(*w));
	w->io = io;
	w->h = *h;
	w->arena = arena;
	if (io->write == NULL || io->flush == NULL) {
		fmt_seterr(err, "the image is read-only");
		return -1;
	}
	if (writer_refuse(h, err) != 0)
		return -1;
	w->rc_bits = 1u << h->refcount_order;
	w->rc_per_block = h->cluster_size * 8 / w->rc_bits;
	w->rt_entries = (uint64_t)h->rt_clusters * h->cluster_size / 8;
	w->scratch = fmt_alloc(arena, (size_t)h->cluster_size, 4096);
	w->upd_cap = UPDATES_MAX;
	w->upd = fmt_alloc(arena, w->upd_cap * sizeof(*w->upd), 8);
	if (w->scratch == NULL || w->upd == NULL) {
		fmt_seterr(err, "out of memory for the image writer");
		return -1;
	}
	/* Tables are checked against the file before anything is read. */
	w->next_free = (io->size + h->cluster_size - 1) >> h->cluster_bits;
	if (!in_image(w, h->rt_off, w->rt_entries * 8))
		return corrupt_at(err, "The refcount table", h->rt_off);
	if (h->l1_size > 0 && !in_image(w, h->l1_off, (uint64_t)h->l1_size * 8))
		return corrupt_at(err, "The L1 table", h->l1_off);
	if (check_l1(w, err) != 0 || qcow2w_find_free_start(w, err) != 0)
		return -1;
	w->batch_first = w->next_free;
	return 0;
}

/* ---- queueing ---- */

static int
queue(struct qcow2_writer *w, uint64_t cluster, uint64_t entry, uint64_t old,
    struct fmt_err *err)
{
	if (w->nupd > 0 && cluster <= w->upd[w->nupd - 1].cluster) {
		fmt_seterr(err, "clusters queued out of order");
		return -1;
	}
	if (!(old & QCOW2_COMPRESSED) && (old & QCOW2_L2_RESERVED) != 0) {
		fmt_seterr(err,
		    "L2 entry %#llx is invalid; the image is corrupt",
		    (unsigned long long)old);
		return -1;
	}
	w->upd[w->nupd].cluster = cluster;
	w->upd[w->nupd].entry = entry;
	w->upd[w->nupd].old = old;
	w->nupd++;
	if (w->nupd == w->upd_cap)
		return qcow2w_commit(w, err);
	return 0;
}

int
qcow2w_put_data(struct qcow2_writer *w, uint64_t cluster, uint64_t n,
    const uint8_t *data, struct fmt_err *err)
{
	uint64_t cs = w->h.cluster_size, host, i;

	if (n == 0 || n > (QCOW2_OFFSET_MASK >> w->h.cluster_bits) ||
	    w->next_free > (QCOW2_OFFSET_MASK >> w->h.cluster_bits) - n) {
		fmt_seterr(err, "the image cannot grow any further");
		return -1;
	}
	/* New clusters, unreferenced until the commit: written at once. */
	host = w->next_free << w->h.cluster_bits;
	if (fmt_io_write_data(w->io, host, data, (size_t)(n * cs), err) != 0)
		return -1;
	w->next_free += n;
	w->clusters_data += n;
	for (i = 0; i < n; i++)
		if (queue(w, cluster + i, (host + i * cs) | QCOW2_COPIED, 0,
		    err) != 0)
			return -1;
	return 0;
}

int
qcow2w_alloc(struct qcow2_writer *w, uint64_t n, uint64_t *host,
    struct fmt_err *err)
{
	if (n == 0 || n > (QCOW2_OFFSET_MASK >> w->h.cluster_bits) ||
	    w->next_free > (QCOW2_OFFSET_MASK >> w->h.cluster_bits) - n) {
		fmt_seterr(err, "the image cannot grow any further");
		return -1;
	}
	*host = w->next_free << w->h.cluster_bits;
	w->next_free += n;
	return 0;
}

int
qcow2w_set(struct qcow2_writer *w, uint64_t cluster, uint64_t entry,
    uint64_t old, struct fmt_err *err)
{
	if (entry & QCOW2_ZERO)
		w->clusters_zero++;
	else if (entry != 0)
		w->clusters_data++;
	return queue(w, cluster, entry, old, err);
}

int
qcow2w_put_zero(struct qcow2_writer *w, uint64_t cluster,
    struct fmt_err *err)
{
	if (w->h.version < 3) {
		fmt_seterr(err, "zero clusters need qcow2 version 3");
		return -1;
	}
	w->clusters_zero++;
	return queue(w, cluster, QCOW2_ZERO, 0, err);
}

/* ---- commit step 1: L2 tables that must be new ---- */

static uint64_t
alloc_cluster(struct qcow2_writer *w)
{
	return w->next_free++ << w->h.cluster_bits;
}

/* Apply a group's updates to the L2 table in scratch, each entry still
 * what the caller saw when it queued the change. */
static int
apply_group(struct qcow2_writer *w, const struct l2_group *g,
    uint8_t *table, uint64_t table_first, struct fmt_err *err)
{
	uint64_t per_l2 = w->h.cluster_size / 8, i, slot;

	for (i = g->first; i < g->first + g->n; i++) {
		slot = (w->upd[i].cluster % per_l2) - table_first;
		if (get_be64(table + slot * 8) != w->upd[i].old) {
			fmt_seterr(err, "cluster %llu changed under the job",
			    (unsigned long long)w->upd[i].cluster);
			return -1;
		}
		store_be64(table + slot * 8, w->upd[i].entry);
	}
	return 0;
}

static int
make_groups(struct qcow2_writer *w, struct commit *c, struct fmt_err *err)
{
	uint64_t per_l2 = w->h.cluster_size / 8, l1e;
	struct l2_group *g;
	size_t i;

	c->ngroups = 0;
	for (i = 0; i < w->nupd; i++) {
		uint64_t l1_idx = w->upd[i].cluster / per_l2;

		if (c->ngroups > 0 && c->groups[c->ngroups - 1].l1_idx ==
		    l1_idx) {
			c->groups[c->ngroups - 1].n++;
			continue;
		}
		g = &c->groups[c->ngroups++];
		memset(g, 0, sizeof(*g));
		g->l1_idx = l1_idx;
		g->first = i;
		g->n = 1;
		if (read_l1(w, l1_idx, &l1e, err) != 0)
			return -1;
		g->old_l2 = l1e & QCOW2_OFFSET_MASK;
		/* A table shared with a snapshot is copied, never changed. */
		if (g->old_l2 == 0 || !(l1e & QCOW2_COPIED))
			g->new_l2 = 1;
	}
	return 0;
}

static int
write_new_tables(struct qcow2_writer *w, struct commit *c,
    struct fmt_err *err)
{
	size_t cs = (size_t)w->h.cluster_size, i;

	for (i = 0; i < c->ngroups; i++) {
		struct l2_group *g = &c->groups[i];

		if (g->new_l2 == 0)
			continue;
		if (g->old_l2 == 0)
			memset(w->scratch, 0, cs);
		else if (fmt_io_read(w->io, g->old_l2, w->scratch, cs,
		    err) != 0)
			return -1;
		if (apply_group(w, g, w->scratch, 0, err) != 0)
			return -1;
		g->new_l2 = alloc_cluster(w);
		if (fmt_io_write(w->io, g->new_l2, w->scratch, cs, err) != 0)
			return -1;
	}
	return 0;
}

/* ---- commit step 2: refcounts for [batch_first, next_free) ---- */

static bool
block_planned(const struct commit *c, uint64_t idx)
{
	size_t i;

	for (i = 0; i < c->nblocks; i++)
		if (c->blocks[i].idx == idx)
			return true;
	return false;
}

/*
 * Give every refcount block index in the new range a block, and the
 * refcount table room for them all.  Each new block or table cluster
 * extends the range it must cover, so repeat until nothing changes.
 */
static int
plan_refcounts(struct qcow2_writer *w, struct commit *c, struct fmt_err *err)
{
	uint64_t cs = w->h.cluster_size, idx, block, need, clusters;
	uint64_t rt_entries = w->rt_entries;
	bool changed = true;

	while (changed) {
		changed = false;
		for (idx = w->batch_first / w->rc_per_block;
		    idx <= (w->next_free - 1) / w->rc_per_block; idx++) {
			if (block_planned(c, idx))
				continue;
			block = 0;
			if (idx < w->rt_entries &&
			    rt_entry(w, idx, &block, err) != 0)
				return -1;
			if (block != 0)
				continue;
			if (c->nblocks == NEW_BLOCKS_MAX) {
				fmt_seterr(err, "too many refcount blocks for "
				    "one batch");
				return -1;
			}
			c->blocks[c->nblocks].idx = idx;
			c->blocks[c->nblocks].off = alloc_cluster(w);
			c->nblocks++;
			changed = true;
		}
		need = (w->next_free - 1) / w->rc_per_block + 1;
		if (need > rt_entries) {
			/* Grow by half again, as qemu does, to grow rarely. */
			need += need / 2;
			clusters = (need * 8 + cs - 1) / cs;
			if (clusters * cs > (8ull << 20)) {
				fmt_seterr(err, "the refcount table would grow "
				    "beyond qemu's limit");
				return -1;
			}
			c->new_rt_clusters = clusters;
			c->new_rt_off = w->next_free << w->h.cluster_bits;
			w->next_free += clusters;
			rt_entries = clusters * cs / 8;
			changed = true;
		}
	}
	return 0;
}

/* Set refcount 1 for the batch's range within block idx, in table buf. */
static int
fill_block(struct qcow2_writer *w, uint64_t idx, uint8_t *blk,
    struct fmt_err *err)
{
	uint64_t first = idx * w->rc_per_block, i, lo, hi;

	lo = w->batch_first > first ? w->batch_first - first : 0;
	hi = w->next_free - first;
	if (hi > w->rc_per_block)
		hi = w->rc_per_block;
	for (i = lo; i < hi; i++) {
		if (qcow2_rc_get(blk, i, w->rc_bits) != 0) {
			fmt_seterr(err, "cluster %llu past the end of the "
			    "image has a refcount; the image is corrupt",
			    (unsigned long long)(first + i));
			return -1;
		}
		qcow2_rc_set(blk, i, w->rc_bits, 1);
	}
	return 0;
}

static int
write_blocks(struct qcow2_writer *w, struct commit *c, struct fmt_err *err)
{
	size_t cs = (size_t)w->h.cluster_size, i;
	uint64_t idx, block;

	for (i = 0; i < c->nblocks; i++) {
		memset(w->scratch, 0, cs);
		if (fill_block(w, c->blocks[i].idx, w->scratch, err) != 0 ||
		    fmt_io_write(w->io, c->blocks[i].off, w->scratch, cs,
		    err) != 0)
			return -1;
	}
	/* Blocks that exist already: the range's entries go from 0 to 1. */
	for (idx = w->batch_first / w->rc_per_block;
	    idx <= (w->next_free - 1) / w->rc_per_block; idx++) {
		if (block_planned(c, idx))
			continue;
		if (rt_entry(w, idx, &block, err) != 0 ||
		    fmt_io_read(w->io, block, w->scratch, cs, err) != 0 ||
		    fill_block(w, idx, w->scratch, err) != 0 ||
		    fmt_io_write(w->io, block, w->scratch, cs, err) != 0)
			return -1;
	}
	return 0;
}

/*
 * Enter the new blocks in the table, highest index first.  A block's own
 * refcount lives in a block of the same or a higher index (blocks are
 * allocated past the clusters they cover), so in this order no block is
 * ever referenced before the block that counts it: a crash between two
 * entries leaves leaks, never a referenced cluster with refcount 0.
 */
static int
write_table_entries(struct qcow2_writer *w, const struct commit *c,
    uint64_t table_off, struct fmt_err *err)
{
	uint8_t b[8];
	size_t i;

	for (i = c->nblocks; i > 0; i--) {
		store_be64(b, c->blocks[i - 1].off);
		if (fmt_io_write(w->io, table_off + c->blocks[i - 1].idx * 8, b,
		    8, err) != 0)
			return -1;
	}
	return 0;
}

/* A copy of the table, grown, with the new blocks in it. */
static int
write_grown_table(struct qcow2_writer *w, const struct commit *c,
    struct fmt_err *err)
{
	uint64_t cs = w->h.cluster_size, k, old_bytes = w->rt_entries * 8;

	for (k = 0; k < c->new_rt_clusters; k++) {
		memset(w->scratch, 0, (size_t)cs);
		if (k * cs < old_bytes && fmt_io_read(w->io,
		    w->h.rt_off + k * cs, w->scratch, (size_t)cs, err) != 0)
			return -1;
		if (fmt_io_write(w->io, c->new_rt_off + k * cs, w->scratch,
		    (size_t)cs, err) != 0)
			return -1;
	}
	return write_table_entries(w, c, c->new_rt_off, err);
}

/* The header names the new table; then the old one is released. */
static int
switch_table(struct qcow2_writer *w, const struct commit *c,
    struct fmt_err *err)
{
	uint64_t old_off = w->h.rt_off, k, old_clusters = w->h.rt_clusters;
	uint8_t b[12];

	store_be64(b, c->new_rt_off);
	store_be32(b + 8, (uint32_t)c->new_rt_clusters);
	if (fmt_io_write(w->io, 48, b, sizeof(b), err) != 0 ||
	    fmt_io_flush(w->io, err) != 0)
		return -1;
	w->h.rt_off = c->new_rt_off;
	w->h.rt_clusters = (uint32_t)c->new_rt_clusters;
	w->rt_entries = c->new_rt_clusters * w->h.cluster_size / 8;
	for (k = 0; k < old_clusters; k++)
		if (rc_add(w, old_off + k * w->h.cluster_size, -1, err) != 0)
			return -1;
	return 0;
}

static int
write_refcounts(struct qcow2_writer *w, struct commit *c, struct fmt_err *err)
{
	if (plan_refcounts(w, c, err) != 0 || write_blocks(w, c, err) != 0)
		return -1;
	if (c->new_rt_off == 0)
		return write_table_entries(w, c, w->h.rt_off, err) != 0 ||
		    fmt_io_flush(w->io, err) != 0 ? -1 : 0;
	if (write_grown_table(w, c, err) != 0 || fmt_io_flush(w->io, err) != 0)
		return -1;
	return switch_table(w, c, err);
}

/* ---- commit step 3: point the tables at the new clusters ---- */

static int
update_in_place(struct qcow2_writer *w, const struct l2_group *g,
    struct fmt_err *err)
{
	uint64_t per_l2 = w->h.cluster_size / 8;
	uint64_t lo = w->upd[g->first].cluster % per_l2;
	uint64_t hi = w->upd[g->first + g->n - 1].cluster % per_l2 + 1;
	size_t len = (size_t)((hi - lo) * 8);

	if ((g->old_l2 & (w->h.cluster_size - 1)) != 0) {
		fmt_seterr(err, "L2 table offset is invalid; the image is "
		    "corrupt");
		return -1;
	}
	if (fmt_io_read(w->io, g->old_l2 + lo * 8, w->scratch, len, err) != 0 ||
	    apply_group(w, g, w->scratch, lo, err) != 0)
		return -1;
	return fmt_io_write(w->io, g->old_l2 + lo * 8, w->scratch, len, err);
}

static int
write_tables(struct qcow2_writer *w, const struct commit *c,
    struct fmt_err *err)
{
	uint8_t b[8];
	size_t i;

	for (i = 0; i < c->ngroups; i++) {
		const struct l2_group *g = &c->groups[i];

		if (g->new_l2 == 0) {
			if (update_in_place(w, g, err) != 0)
				return -1;
			continue;
		}
		store_be64(b, g->new_l2 | QCOW2_COPIED);
		if (fmt_io_write(w->io, w->h.l1_off + g->l1_idx * 8, b, 8,
		    err) != 0)
			return -1;
	}
	return fmt_io_flush(w->io, err);
}

/* ---- commit step 4: what the tables no longer point to is released ---- */

/* The host clusters an L2 entry holds a reference on: [*first, +*n). */
void
qcow2w_entry_clusters(const struct qcow2_writer *w, uint64_t e, uint64_t *first,
    uint64_t *n)
{
	uint32_t cb = w->h.cluster_bits;
	uint32_t shift = 62 - (cb - 8);
	uint64_t off, len;

	*n = 0;
	if (e & QCOW2_COMPRESSED) {
		/* As qemu counts them: whole sectors from the sector start. */
		off = e & ((1ull << shift) - 1) & ~511ull;
		len = (((e >> shift) & ((1ull << (cb - 8)) - 1)) + 1) * 512;
		*first = off >> cb;
		*n = ((off + len - 1) >> cb) - *first + 1;
	} else if ((e & QCOW2_OFFSET_MASK) != 0) {
		*first = (e & QCOW2_OFFSET_MASK) >> cb;
		*n = 1;
	}
}

static void
sift_down(uint64_t *a, size_t start, size_t n)
{
	size_t root = start, child;
	uint64_t t;

	while ((child = 2 * root + 1) < n) {
		if (child + 1 < n && a[child] < a[child + 1])
			child++;
		if (a[root] >= a[child])
			return;
		t = a[root];
		a[root] = a[child];
		a[child] = t;
		root = child;
	}
}

/* Heapsort: bounded time and no recursion on the guest's stack. */
static void
sort_u64(uint64_t *a, size_t n)
{
	size_t i;
	uint64_t t;

	for (i = n / 2; i > 0; i--)
		sift_down(a, i - 1, n);
	for (i = n; i > 1; i--) {
		t = a[0];
		a[0] = a[i - 1];
		a[i - 1] = t;
		sift_down(a, 0, i - 1);
	}
}

/*
 * Take one reference off each cluster in list (a cluster may appear
 * more than once), a refcount block at a time.
 */
int
qcow2w_release(struct qcow2_writer *w, uint64_t *list, size_t n,
    struct fmt_err *err)
{
	size_t cs = (size_t)w->h.cluster_size, i = 0;
	uint64_t idx, block, k, v;

	sort_u64(list, n);
	while (i < n) {
		idx = list[i] / w->rc_per_block;
		if (idx >= w->rt_entries)
			goto corrupt;
		if (rt_entry(w, idx, &block, err) != 0)
			return -1;
		if (block == 0)
			goto corrupt;
		if (fmt_io_read(w->io, block, w->scratch, cs, err) != 0)
			return -1;
		for (; i < n && list[i] / w->rc_per_block == idx; i++) {
			k = list[i] % w->rc_per_block;
			if ((v = qcow2_rc_get(w->scratch, k, w->rc_bits)) == 0)
				goto corrupt;
			qcow2_rc_set(w->scratch, k, w->rc_bits, v - 1);
		}
		if (fmt_io_write(w->io, block, w->scratch, cs, err) != 0)
			return -1;
	}
	return 0;
corrupt:
	fmt_seterr(err, "cluster %llu has no reference left to release; the "
	    "image is corrupt", (unsigned long long)list[i]);
	return -1;
}

static int
release_old(struct qcow2_writer *w, const struct commit *c,
    struct fmt_err *err)
{
	size_t i, n = 0, cap = w->nupd * 2 + c->ngroups;
	uint64_t *list, first, count, k;

	if ((list = fmt_alloc(w->arena, cap * sizeof(*list), 8)) == NULL) {
		fmt_seterr(err, "out of memory for the image writer");
		return -1;
	}
	for (i = 0; i < w->nupd; i++) {
		qcow2w_entry_clusters(w, w->upd[i].old, &first, &count);
		/* A compressed entry spans at most two clusters. */
		for (k = 0; k < count && n < cap; k++)
			list[n++] = first + k;
	}
	for (i = 0; i < c->ngroups; i++)
		if (c->groups[i].new_l2 != 0 && c->groups[i].old_l2 != 0 &&
		    n < cap)
			list[n++] = c->groups[i].old_l2 >> w->h.cluster_bits;
	return n == 0 ? 0 : qcow2w_release(w, list, n, err);
}

/*
 * A writer must clear the autoclear bits it does not know (qcow2.txt),
 * and qemu does so as it opens an image for writing: here before the
 * first metadata write, so that the bit never outlives the data it
 * would have described.  In place and alone: clearing one is always
 * safe, whatever follows or does not.  (qemu-img commit leaves them in
 * the base, which it reopens rather than opens for writing; instar
 * clears them there too.)
 */
int
qcow2w_clear_autoclear(struct qcow2_writer *w, struct fmt_err *err)
{
	uint64_t known = w->h.autoclear & AUTOCLEAR_KNOWN;
	uint8_t field[8];

	if (w->h.version < 3 || w->h.autoclear == known)
		return 0;
	store_be64(field, known);
	if (fmt_io_write(w->io, 88, field, sizeof(field), err) != 0 ||
	    fmt_io_flush(w->io, err) != 0)
		return -1;
	w->h.autoclear = known;
	return 0;
}

int
qcow2w_commit(struct qcow2_writer *w, struct fmt_err *err)
{
	struct commit c;
	size_t mark = w->arena->used;
	int r = -1;

	if (w->nupd == 0 && w->next_free == w->batch_first)
		return 0;
	if (qcow2w_clear_autoclear(w, err) != 0)
		return -1;
	memset(&c, 0, sizeof(c));
	c.groups = fmt_alloc(w->arena, (w->nupd + 1) * sizeof(*c.groups), 8);
	c.blocks = fmt_alloc(w->arena, NEW_BLOCKS_MAX * sizeof(*c.blocks), 8);
	if (c.groups == NULL || c.blocks == NULL) {
		fmt_seterr(err, "out of memory for the image writer");
		goto out;
	}
	if (make_groups(w, &c, err) != 0 ||
	    write_new_tables(w, &c, err) != 0 ||
	    (w->next_free > w->batch_first &&
	    write_refcounts(w, &c, err) != 0) ||
	    write_tables(w, &c, err) != 0 ||
	    release_old(w, &c, err) != 0)
		goto out;
	w->nupd = 0;
	w->batch_first = w->next_free;
	if (w->on_commit != NULL)
		w->on_commit(w->on_commit_arg);
	r = 0;
out:
	/* The bookkeeping is the arena's last allocation: give it back. */
	w->arena->used = mark;
	return r;
}
