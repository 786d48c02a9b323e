/*
 * calculate_refcounts(): every reference the image makes (header, L1 and
 * L2 tables, data and compressed clusters, snapshots, refcount table and
 * blocks, encryption header, bitmaps) counted in the current window, with
 * qemu's messages for what is wrong with a reference itself.
 */
#include "check_state.h"

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
			ck_emit(c, "ERROR: counting reference for region "
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
			ck_emit(c, "ERROR: overflow cluster offset=0x%llx",
			    U(k << c->cbits));
			ck_emit(c, "Use qemu-img amend to increase the "
			    "refcount "
			    "entry width or qemu-img convert to create a clean "
			    "copy if the image cannot be opened for writing");
			c->w_corr++;
			continue;
		}
		(*n)++;
	}
}

/*
 * The L2 table at off, read with the tables that follow it in the L1
 * chunk when they lie one after another in the file: one read for a run.
 */
const uint8_t *
ck_l2_table(struct ck *c, uint64_t off, const uint64_t *l1, uint32_t i,
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
	if (ck_read(c, off, c->l2buf + c->l2used, (size_t)(end - off)) != 0) {
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
		store_be64(p + 8, bm);
		store_be64(p, 0);
	} else
		store_be64(p, QCOW2_ZERO);
	if (ck_write(c, l2_off + i * c->esize, p, c->esize) != 0 ||
	    ck_flush(c) != 0)
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
			ck_emit(c, "ERROR found l2 entry with reserved bits "
			    "set: %llx", U(e));
			c->w_corr++;
		}
		switch (t) {
		case T_COMPRESSED: {
			uint64_t coff, ns, csize;

			if (e & QCOW2_COPIED) {
				if (rep) {
					ck_emit(c, "ERROR: coffset=0x%llx: "
					    "copied flag must never be set for "
					    "compressed clusters",
					    U(e & c->coff_mask));
					c->w_corr++;
				}
				e &= ~QCOW2_COPIED;
			}
			if (c->data_file) {
				if (rep) {
					ck_emit(c, "ERROR compressed cluster "
					    "%d with data file, entry=0x%llx",
					    (int)i, U(e));
					c->w_corr++;
				}
				break;
			}
			if (bm != 0) {
				if (rep) {
					ck_emit(c, "ERROR compressed cluster "
					    "%d with non-zero subcluster "
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
				ck_emit(c, "ERROR offset=%llx: Allocated "
				    "cluster "
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
					ck_emit(c, "%s offset=%llx: "
					    "Preallocated "
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
					ck_emit(c, "ERROR offset=%llx: Data "
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
				ck_emit(c, "ERROR: Unallocated cluster has "
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

		if (ck_read(c, l1_off + done * 8, c->l1buf,
		    (size_t)n * 8) != 0) {
			ck_emit(c, "ERROR: I/O error in check_refcounts_l1");
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
				ck_emit(c, "ERROR found L1 entry with reserved "
				    "bits set: %llx", U(e));
				c->w_corr++;
			}
			l2 = e & QCOW2_OFFSET_MASK;
			inc(c, l2, c->cs);
			if ((l2 & (c->cs - 1)) && c->first_pass) {
				ck_emit(c, "ERROR l2_offset=%llx: Table is not "
				    "cluster aligned; L1 entry corrupted",
				    U(l2));
				c->w_corr++;
			}
			if ((tab = ck_l2_table(c, l2, c->l1buf, i,
			    n)) == NULL) {
				ck_emit(c, "ERROR: I/O error in "
				    "check_refcounts_l2");
				c->w_err++;
				return -1;
			}
			if (check_l2(c, l2, (uint8_t *)tab, active) != 0)
				return -1;
		}
		done += n;
		ck_progress(c, n);
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
		ck_emit(c, "ERROR %d snapshots in image with data file",
		    (int)c->h.nb_snapshots);
		c->w_corr++;
	}
	for (i = 0; i < c->h.nb_snapshots; i++) {
		uint64_t l1_off;
		uint32_t l1_size, extra, idl, nml;
		char id[128], name[256];

		off = (off + 7) & ~7ull;
		if (ck_sread(c, off, b, sizeof(b)) != 0)
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

			if (ck_sread(c, p, id, a) != 0 ||
			    ck_sread(c, p + idl, name, z) != 0)
				return -1;
			id[a] = '\0';
			name[z] = '\0';
			if (l1_off & (c->cs - 1))
				ck_emit(c, "ERROR snapshot %s (%s) l1_offset=%s"
				    "%llx: L1 table is not cluster aligned; "
				    "snapshot table entry corrupted", id, name,
				    l1_off ? "0x" : "", U(l1_off));
			else
				ck_emit(c, "ERROR snapshot %s (%s) "
				    "l1_size=%s%x: "
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

		if (end - off < sizeof(b) || ck_sread(c, off, b,
		    sizeof(b)) != 0) {
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

			if (ck_sread(c, toff + j * 8, e8, 8) != 0)
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
				ck_emit(c, "ERROR refcount table entry %lld "
				    "has reserved bits set", L(i));
				c->w_corr++;
			}
			c->rebuild = true;
			continue;
		}
		if (off & (c->cs - 1)) {
			if (c->first_pass) {
				ck_emit(c, "ERROR refcount block %lld is not "
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
			ck_emit(c, "%s refcount block %lld is outside image",
			    c->fix & FIX_ERRORS ? "Repairing" : "ERROR", L(i));
			if (!(c->fix & FIX_ERRORS))
				continue;
			/*
			 * qemu grows the file to hold it (it reads zeros),
			 * unless the end would pass INT64_MAX.
			 */
			if (off > (uint64_t)INT64_MAX - c->cs ||
			    k + 1 > c->wcap || c->io->truncate == NULL ||
			    c->io->truncate(c->io->ctx, off + c->cs) != 0) {
				c->rebuild = true;
				ck_emit(c, "ERROR could not resize image: %s",
				    off > (uint64_t)INT64_MAX - c->cs ?
				    "Invalid argument" : k + 1 > c->wcap ?
				    "File too large" : "Input/output error");
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
			ck_emit(c, "ERROR refcount block %lld refcount=%llu",
			    L(i), U(c->cnt[k - c->ws]));
			c->w_corr++;
			c->rebuild = true;
		}
	}
}

/* calculate_refcounts(), for the current window. */
int
ck_walk(struct ck *c)
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
