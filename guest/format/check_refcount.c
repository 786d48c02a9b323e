/*
 * The counts against the stored refcounts, window by window, as qemu's
 * compare_refcounts(); their repair in place; OFLAG_COPIED.
 */
#include "check_state.h"

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
		int st = ck_block_at(c, idx, &off);

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
		if (ck_read(c, c->segs[i].file_off, c->stored + pos,
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
			if (ck_write(c, s->file_off, c->stored + pos,
			    (size_t)len) != 0)
				return -1;
			s->dirty = 0;
			any = true;
		}
		pos += len;
	}
	c->cache_blk = 0;
	return any ? ck_flush(c) : 0;
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

		if ((e = ck_stored_rc(c, k, &r1)) != 0) {
			if (e < -1)
				return -1;
			ck_emit(c, "Can't get refcount for cluster %lld: "
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
		ck_emit(c, "%s cluster %lld refcount=%llu reference=%llu",
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

		if ((c->fix & FIX_LEAKS) && ck_stored_rc(c, k, &r1) == 0 &&
		    r1 > r2)
			set_stored(c, k, r2);
	}
	return write_dirty(c);
}

int
ck_copied(struct ck *c)
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

		if (ck_read(c, c->h.l1_off + done * 8, c->l1buf,
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
			s = ck_stored_rc(c, l2 >> c->cbits, &rc);
			if (s < -1)
				return -1;
			if (s == 0 && (rc == 1) != ((e & QCOW2_COPIED) != 0)) {
				c->p_corr++;
				ck_emit(c, "%s OFLAG_COPIED L2 cluster: "
				    "l1_index=%d l1_entry=%llx refcount=%llu",
				    repair ? "Repairing" : "ERROR",
				    (int)(done + i), U(e), U(rc));
				if (repair) {
					uint8_t b[8];

					e = rc == 1 ? e | QCOW2_COPIED :
					    e & ~QCOW2_COPIED;
					store_be64(b, e);
					if (ck_write(c,
					    c->h.l1_off + (done + i) * 8,
					    b, 8) != 0) {
						c->p_err++;
						return -1;
					}
					c->p_corr--;
					c->fixed_corr++;
				}
			}
			tab = (uint8_t *)ck_l2_table(c, l2, c->l1buf, i, n);
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
					s = ck_stored_rc(c, (le &
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
				ck_emit(c, "%s OFLAG_COPIED data cluster: "
				    "l2_entry=%llx refcount=%llu",
				    repair ? "Repairing" : "ERROR", U(le),
				    U(rc));
				if (repair) {
					store_be64(tab + j * c->esize, rc == 1 ?
					    le | QCOW2_COPIED :
					    le & ~QCOW2_COPIED);
					dirty++;
				}
			}
			if (dirty > 0) {
				if (ck_write(c, l2, tab, c->cs) != 0) {
					c->p_err++;
					return -1;
				}
				c->p_corr -= dirty;
				c->fixed_corr += dirty;
			}
		}
		done += n;
		ck_progress(c, n);
	}
	return c->fix ? ck_flush(c) : 0;
}

void
ck_reset_counts(struct ck *c)
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
int
ck_all_windows(struct ck *c, bool fixing, bool report)
{
	uint64_t ws;

	c->fixing = fixing;
	for (ws = 0; ws == 0 || ws < c->range; ws += c->wcap) {
		c->ws = ws;
		c->wn = c->wcap;
		c->loaded = false;
		c->first_pass = ws == 0 && (!fixing || report);
		if (ck_walk(c) != 0)
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
		ck_progress(c, 1);
	}
	/* One window: its refcounts serve the OFLAG_COPIED check too. */
	c->loaded = c->range <= c->wcap;
	c->first_pass = c->fixing = false;
	return 0;
}

/* Clear the dirty and corrupt bits after a clean repair. */
int
ck_mark_clean(struct ck *c)
{
	uint8_t b[8];
	uint64_t f;

	if (c->h.version < 3 ||
	    !(c->h.incompat & (INCOMPAT_DIRTY | INCOMPAT_CORRUPT)))
		return 0;
	f = c->h.incompat & ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT);
	store_be64(b, f);
	if (ck_write(c, 72, b, 8) != 0 || ck_flush(c) != 0)
		return -1;
	c->h.incompat = f;
	return 0;
}
