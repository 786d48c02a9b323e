/*
 * The qcow2 writer's resizing: growing the virtual size (and the L1 table
 * with it), and emptying an image of every cluster it allocates.
 */
#include "qcow2_write.h"

static int
write_zero_clusters(struct qcow2_writer *w, uint64_t off, uint64_t n,
    struct fmt_err *err)
{
	uint64_t k;

	memset(w->scratch, 0, (size_t)w->h.cluster_size);
	for (k = 0; k < n; k++)
		if (fmt_io_write(w->io, off + (k << w->h.cluster_bits),
		    w->scratch, (size_t)w->h.cluster_size, err) != 0)
			return -1;
	return 0;
}

/* A new, bigger L1 at the end, switched in with the new size at once. */
static int
grow_l1(struct qcow2_writer *w, uint64_t new_size, uint64_t need,
    struct fmt_err *err)
{
	uint64_t cs = w->h.cluster_size, n = (need * 8 + cs - 1) / cs;
	uint64_t off, k, old_bytes = (uint64_t)w->h.l1_size * 8, old_off;
	uint64_t *list, old_n = (old_bytes + cs - 1) / cs;
	uint8_t b[24];

	if (qcow2w_commit(w, err) != 0 || qcow2w_alloc(w, n, &off, err) != 0)
		return -1;
	for (k = 0; k < n; k++) {
		memset(w->scratch, 0, (size_t)cs);
		if (k * cs < old_bytes && fmt_io_read(w->io,
		    w->h.l1_off + k * cs,
		    w->scratch, (size_t)(old_bytes - k * cs < cs ?
		    old_bytes - k * cs : cs), err) != 0)
			return -1;
		if (fmt_io_write(w->io, off + k * cs, w->scratch, (size_t)cs,
		    err) != 0)
			return -1;
	}
	/* Refcounts for the new table, flushed. */
	if (qcow2w_commit(w, err) != 0)
		return -1;
	store_be64(b, new_size);
	store_be32(b + 8, w->h.crypt_method);
	store_be32(b + 12, (uint32_t)need);
	store_be64(b + 16, off);
	if (fmt_io_write(w->io, 24, b, sizeof(b), err) != 0 ||
	    fmt_io_flush(w->io, err) != 0)
		return -1;
	old_off = w->h.l1_off;
	w->h.size = new_size;
	w->h.l1_size = (uint32_t)need;
	w->h.l1_off = off;
	if (old_off == 0 || old_n == 0)
		return 0;
	if ((list = fmt_alloc(w->arena, old_n * sizeof(*list), 8)) == NULL) {
		fmt_seterr(err, "out of memory for the image writer");
		return -1;
	}
	for (k = 0; k < old_n; k++)
		list[k] = (old_off >> w->h.cluster_bits) + k;
	return qcow2w_release(w, list, old_n, err) != 0 ||
	    fmt_io_flush(w->io, err) != 0 ? -1 : 0;
}

int
qcow2w_grow(struct qcow2_writer *w, uint64_t new_size, struct fmt_err *err)
{
	uint64_t shift = 2 * (uint64_t)w->h.cluster_bits - 3, need;
	uint8_t b[8];

	if (new_size <= w->h.size)
		return 0;
	if (new_size > ((uint64_t)INT64_MAX & ~((1ull << 30) - 1))) {
		fmt_seterr(err, "Image is too big");
		return -1;
	}
	need = (new_size >> shift) + ((new_size & ((1ull << shift) - 1)) != 0);
	if (need > (32ull << 20) / 8) {
		fmt_seterr(err, "L1 table would grow beyond qemu's limit");
		return -1;
	}
	if (need > w->h.l1_size)
		return grow_l1(w, new_size, need, err);
	store_be64(b, new_size);
	if (fmt_io_write(w->io, 24, b, sizeof(b), err) != 0 ||
	    fmt_io_flush(w->io, err) != 0)
		return -1;
	w->h.size = new_size;
	return 0;
}

/* ---- emptying ---- */

/* Count the active tables' entries that hold something. */
static int
count_entries(struct qcow2_writer *w, uint64_t *count, struct fmt_err *err)
{
	uint64_t cs = w->h.cluster_size, per_chunk = cs / 8, i, j, n, l2;
	uint8_t *l1;

	*count = 0;
	if ((l1 = fmt_alloc(w->arena, (size_t)cs, 8)) == NULL) {
		fmt_seterr(err, "out of memory for the image writer");
		return -1;
	}
	for (i = 0; i < w->h.l1_size; i += n) {
		n = w->h.l1_size - i < per_chunk ? w->h.l1_size - i : per_chunk;
		if (fmt_io_read(w->io, w->h.l1_off + i * 8, l1, (size_t)(n * 8),
		    err) != 0)
			return -1;
		for (j = 0; j < n; j++) {
			l2 = get_be64(l1 + j * 8) & QCOW2_OFFSET_MASK;
			if (l2 == 0)
				continue;
			if (fmt_io_read(w->io, l2, w->scratch, (size_t)cs,
			    err) != 0)
				return -1;
			for (uint64_t k = 0; k < cs / 8; k++)
				*count += get_be64(w->scratch + k * 8) != 0;
		}
	}
	return 0;
}

/* Where a minimal image's refcount table, blocks and L1 go. */
struct layout {
	uint64_t start;		/* first cluster of the layout */
	uint64_t rt;		/* cluster index */
	uint64_t rt_clusters;
	uint64_t blocks;	/* first block's cluster */
	uint64_t l1;		/* cluster index */
	uint64_t end;		/* first cluster past it all */
	uint64_t first_idx;	/* the blocks count table indexes */
	uint64_t nblocks;	/* first_idx on, after index 0 if apart */
	bool	 own_zero;	/* index 0 comes first, for the header */
};

/*
 * Lay out, from cluster at, an L1 of l1c clusters, a refcount table and
 * the blocks that count the header and everything laid out here.
 */
static void
plan_layout(const struct qcow2_writer *w, uint64_t at, uint64_t l1c,
    bool l1_first, struct layout *lo)
{
	uint64_t cs = w->h.cluster_size, per = w->rc_per_block;
	uint64_t rt_c = 1, nb = 1, prev_rt, prev_nb;

	lo->start = at;
	lo->first_idx = at / per;
	lo->own_zero = lo->first_idx != 0;
	do {
		prev_rt = rt_c;
		prev_nb = nb;
		lo->end = at + l1c + rt_c + nb;
		nb = (lo->end - 1) / per - lo->first_idx + 1 +
		    (lo->own_zero ? 1 : 0);
		rt_c = (((lo->end - 1) / per + 1) * 8 + cs - 1) / cs;
	} while (rt_c != prev_rt || nb != prev_nb);
	lo->nblocks = nb;
	lo->rt_clusters = rt_c;
	if (l1_first) {
		lo->l1 = at;
		lo->rt = at + l1c;
	} else {
		lo->rt = at;
		lo->l1 = at + rt_c + nb;
	}
	lo->blocks = lo->rt + rt_c;
}

static uint64_t
layout_block_idx(const struct layout *lo, uint64_t k)
{
	if (lo->own_zero)
		return k == 0 ? 0 : lo->first_idx + k - 1;
	return lo->first_idx + k;
}

/* Write the table, blocks and empty L1 of a layout, then flush. */
static int
write_layout(struct qcow2_writer *w, const struct layout *lo, uint64_t l1c,
    struct fmt_err *err)
{
	uint64_t cs = w->h.cluster_size, per = w->rc_per_block, k, idx, c;
	uint8_t *blk = w->scratch, b[8];

	if (write_zero_clusters(w, lo->l1 * cs, l1c, err) != 0 ||
	    write_zero_clusters(w, lo->rt * cs, lo->rt_clusters, err) != 0)
		return -1;
	for (k = 0; k < lo->nblocks; k++) {
		idx = layout_block_idx(lo, k);
		memset(blk, 0, (size_t)cs);
		if (idx == 0)
			qcow2_rc_set(blk, 0, w->rc_bits, 1);
		/* The layout is one run of clusters: [start, end). */
		for (c = lo->start; c < lo->end; c++)
			if (c / per == idx)
				qcow2_rc_set(blk, c % per, w->rc_bits, 1);
		if (fmt_io_write(w->io, (lo->blocks + k) * cs, blk, (size_t)cs,
		    err) != 0)
			return -1;
		store_be64(b, (lo->blocks + k) * cs);
		if (fmt_io_write(w->io, lo->rt * cs + idx * 8, b, 8, err) != 0)
			return -1;
	}
	return fmt_io_flush(w->io, err);
}

static int
switch_layout(struct qcow2_writer *w, const struct layout *lo,
    struct fmt_err *err)
{
	uint64_t cs = w->h.cluster_size;
	uint8_t b[24];

	store_be32(b, w->h.l1_size);
	store_be64(b + 4, lo->l1 * cs);
	store_be64(b + 12, lo->rt * cs);
	store_be32(b + 20, (uint32_t)lo->rt_clusters);
	if (fmt_io_write(w->io, 36, b, sizeof(b), err) != 0 ||
	    fmt_io_flush(w->io, err) != 0)
		return -1;
	w->h.l1_off = lo->l1 * cs;
	w->h.rt_off = lo->rt * cs;
	w->h.rt_clusters = (uint32_t)lo->rt_clusters;
	w->rt_entries = lo->rt_clusters * cs / 8;
	return 0;
}

/*
 * qemu's fast path, made crash-safe in two steps: a complete minimal
 * image (empty L1, table, blocks) is written past the end and switched
 * in by one header write; then the same again from cluster 1, and the
 * file is cut short.  After either switch the image is consistent; a
 * crash in between leaves a longer file, nothing worse.
 */
static int
empty_fast(struct qcow2_writer *w, bool empty_already, struct fmt_err *err)
{
	uint64_t cs = w->h.cluster_size;
	uint64_t l1c = ((uint64_t)w->h.l1_size * 8 + cs - 1) / cs;
	struct layout fin, tmp;
	uint64_t at;

	plan_layout(w, 1, l1c, false, &fin);
	/* Already what it would become: nothing to write, nothing to wait. */
	if (w->h.l1_off == fin.l1 * cs && w->h.rt_off == fin.rt * cs &&
	    w->h.rt_clusters == fin.rt_clusters && w->next_free == fin.end &&
	    w->io->size <= fin.end * cs && empty_already)
		return 0;
	at = w->next_free > fin.end ? w->next_free : fin.end;
	plan_layout(w, at, l1c, true, &tmp);
	/* Tables qemu would refuse to open are not worth the fast path. */
	if (tmp.rt_clusters * cs > MAX_REFTABLE_BYTES)
		return 1;
	if (write_layout(w, &tmp, l1c, err) != 0 ||
	    switch_layout(w, &tmp, err) != 0 ||
	    write_layout(w, &fin, l1c, err) != 0 ||
	    switch_layout(w, &fin, err) != 0)
		return -1;
	if (w->io->truncate(w->io->ctx, fin.end * cs) != 0 ||
	    fmt_io_flush(w->io, err) != 0) {
		fmt_seterr(err, "Could not shrink the image: I/O error");
		return -1;
	}
	w->next_free = fin.end;
	w->batch_first = fin.end;
	return 0;
}

/*
 * The general path, for images whose other tables (snapshots, bitmaps)
 * must stay: a chunk of the L1 at a time, the entries are zeroed and
 * flushed, then everything they reached loses a reference.
 */
static int
empty_slow(struct qcow2_writer *w, struct fmt_err *err)
{
	uint64_t cs = w->h.cluster_size, per_chunk = cs / 8, i, j, k, n, l2;
	uint64_t *list, first, count, cap = 2 * (cs / 8) + 1, ln;
	uint8_t *l1, *zero;

	l1 = fmt_alloc(w->arena, (size_t)cs, 8);
	zero = fmt_alloc(w->arena, (size_t)cs, 8);
	list = fmt_alloc(w->arena, (size_t)(cap * sizeof(*list)), 8);
	if (l1 == NULL || zero == NULL || list == NULL) {
		fmt_seterr(err, "out of memory for the image writer");
		return -1;
	}
	memset(zero, 0, (size_t)cs);
	for (i = 0; i < w->h.l1_size; i += n) {
		n = w->h.l1_size - i < per_chunk ? w->h.l1_size - i : per_chunk;
		if (fmt_io_read(w->io, w->h.l1_off + i * 8, l1, (size_t)(n * 8),
		    err) != 0 ||
		    fmt_io_write(w->io, w->h.l1_off + i * 8, zero,
		    (size_t)(n * 8), err) != 0 || fmt_io_flush(w->io, err) != 0)
			return -1;
		for (j = 0; j < n; j++) {
			l2 = get_be64(l1 + j * 8) & QCOW2_OFFSET_MASK;
			if (l2 == 0)
				continue;
			if (fmt_io_read(w->io, l2, w->scratch, (size_t)cs,
			    err) != 0)
				return -1;
			ln = 0;
			list[ln++] = l2 >> w->h.cluster_bits;
			for (k = 0; k < cs / 8; k++) {
				qcow2w_entry_clusters(w,
				    get_be64(w->scratch + k * 8),
				    &first, &count);
				for (; count > 0 && ln < cap; count--)
					list[ln++] = first++;
			}
			if (qcow2w_release(w, list, ln, err) != 0)
				return -1;
		}
	}
	if (fmt_io_flush(w->io, err) != 0 || qcow2w_find_free_start(w,
	    err) != 0)
		return -1;
	if (w->next_free * cs < w->io->size &&
	    w->io->truncate(w->io->ctx, w->next_free * cs) != 0) {
		fmt_seterr(err, "Could not shrink the image: I/O error");
		return -1;
	}
	w->batch_first = w->next_free;
	return fmt_io_flush(w->io, err);
}

int
qcow2w_make_empty(struct qcow2_writer *w, uint64_t *emptied,
    struct fmt_err *err)
{
	size_t mark = w->arena->used;
	int r;

	if (w->io->truncate == NULL) {
		fmt_seterr(err, "the image cannot be shrunk");
		return -1;
	}
	/* Cleared even when nothing is queued: emptying writes anyway. */
	if (qcow2w_clear_autoclear(w, err) != 0 ||
	    qcow2w_commit(w, err) != 0 || count_entries(w, emptied, err) != 0)
		return -1;
	w->arena->used = mark;
	r = 1;
	if (w->h.nb_snapshots == 0 && !(w->h.autoclear & AUTOCLEAR_BITMAPS))
		r = empty_fast(w, *emptied == 0, err);
	if (r == 1)
		r = empty_slow(w, err);
	w->arena->used = mark;
	return r;
}
