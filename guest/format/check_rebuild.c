/*
 * The rebuild branch of qcow2_check_refcounts(): a refcount structure
 * qemu would rebuild from scratch (rebuild_refcount_structure()).
 */
#include "check_state.h"

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
				ck_emit(c, "%sERROR allocating refblock: "
				    "Cannot allocate memory",
				    INSTAR_CHECK_PROG_PREFIX);
				return -1;
			}
			if ((uint64_t)at >= end)
				end = (uint64_t)at + 1;
			if (*entries <= idx) {
				uint64_t n = ((idx + 1) * 8 + c->cs - 1) /
				    c->cs * c->cs / 8;

				if (n > c->rt_new_cap) {
					ck_emit(c, "%sERROR allocating "
					    "refblock: Cannot allocate memory",
					    INSTAR_CHECK_PROG_PREFIX);
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
		if (ck_write(c, off, c->cache, c->cs) != 0) {
			ck_emit(c, "%sERROR writing refblock: Input/output "
			    "error", INSTAR_CHECK_PROG_PREFIX);
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
			ck_emit(c, "%sERROR allocating reftable: Cannot "
			    "allocate memory", INSTAR_CHECK_PROG_PREFIX);
			return -1;
		}
		grown = write_refblocks(c, (uint64_t)at,
		    (uint64_t)at + rt_clusters, &entries);
		if (grown < 0)
			return -1;
	} while (grown);
	/* Blocks and table on disk before the header names them. */
	for (i = 0; i < entries; i++)
		store_be64((uint8_t *)&c->rt_new[i], c->rt_new[i]);
	if (ck_write(c, (uint64_t)at << c->cbits, c->rt_new,
	    entries * 8) != 0 ||
	    ck_flush(c) != 0) {
		ck_emit(c, "%sERROR writing reftable: Input/output error",
		    INSTAR_CHECK_PROG_PREFIX);
		return -1;
	}
	store_be64(b, (uint64_t)at << c->cbits);
	b[8] = (uint8_t)(rt_clusters >> 24);
	b[9] = (uint8_t)(rt_clusters >> 16);
	b[10] = (uint8_t)(rt_clusters >> 8);
	b[11] = (uint8_t)rt_clusters;
	if (ck_write(c, 48, b, sizeof(b)) != 0 || ck_flush(c) != 0) {
		ck_emit(c, "%sERROR setting reftable: Input/output error",
		    INSTAR_CHECK_PROG_PREFIX);
		return -1;
	}
	for (i = 0; i < entries; i++)
		c->rt_new[i] = get_be64((uint8_t *)&c->rt_new[i]);
	/* The new table is the one to read from now on. */
	c->rt = c->rt_new;
	c->rt_cap = c->rt_new_cap;
	c->rt_new = NULL;
	c->rt_entries = entries;
	c->h.rt_off = (uint64_t)at << c->cbits;
	c->h.rt_clusters = (uint32_t)rt_clusters;
	if (c->range > c->nb_clusters)
		c->nb_clusters = c->range;
	return 0;
}

/* The rebuild branch of qcow2_check_refcounts(). */
int
ck_rebuild(struct ck *c)
{
	uint64_t old_corr = c->w_corr + c->c_corr, old_leak = c->c_leak;
	uint64_t fixed_leak, fresh;
	int fix = c->fix;

	ck_emit(c, "Rebuilding refcount structure");
	if (c->range > c->wcap || c->signaled) {
		/* qemu's writes fail once it has marked the image corrupt. */
		ck_emit(c, "%sERROR %s", INSTAR_CHECK_PROG_PREFIX,
		    c->signaled ? "writing refblock: Input/output error" :
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
	if (ck_all_windows(c, true, true) != 0)
		return -1;
	if (c->rebuild)
		ck_emit(c, "ERROR rebuilt refcount structure is still broken");
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
