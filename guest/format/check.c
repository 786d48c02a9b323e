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
#include "check_state.h"

/* qcow2_check_refcounts() with fix; -1: stop with err set. */
static int
check_once(struct ck *c, int fix)
{
	ck_reset_counts(c);
	c->fix = fix;
	if (ck_all_windows(c, false, false) != 0)
		return -1;
	if (c->failed)
		return 0;
	if (c->rebuild && (fix & FIX_ERRORS)) {
		if (ck_rebuild(c) != 0)
			return -1;
		if (c->failed)
			return 0;
	} else if (fix) {
		if (c->rebuild) {
			ck_emit(c, "ERROR need to rebuild refcount structures");
			c->c_err++;
			c->failed = true;
			return 0;
		}
		if (c->c_leak || c->c_corr || c->w_corr) {
			c->c_leak = c->c_corr = c->c_err = 0;
			if (ck_all_windows(c, true, false) != 0)
				return -1;
		}
	}
	if (ck_copied(c) != 0 || ck_fix_snapshot_table(c) != 0)
		return -1;
	if (c->failed)
		return 0;
	if (fix && c->w_err + c->c_err + c->p_err == 0 &&
	    c->w_corr + c->c_corr + c->p_corr + c->s_corr == 0 &&
	    ck_mark_clean(c) != 0)
		return -1;
	return 0;
}

static int
read_extensions(struct ck *c)
{
	uint64_t pos = c->h.header_len;
	uint8_t b[24];

	while (pos + 8 <= c->h.ext_end) {
		uint32_t magic, len;

		if (ck_read(c, pos, b, 8) != 0)
			return -1;
		magic = get_be32(b);
		len = get_be32(b + 4);
		pos += 8;
		if (magic == EXT_END)
			break;
		if (magic == EXT_CRYPTO && len == CRYPTO_EXT_LEN) {
			if (ck_read(c, pos, b, 16) != 0)
				return -1;
			c->crypto_off = get_be64(b);
			c->crypto_len = get_be64(b + 8);
		} else if (magic == EXT_BITMAPS && len == BITMAPS_EXT_LEN &&
		    (c->h.autoclear & AUTOCLEAR_BITMAPS)) {
			if (ck_read(c, pos, b, 24) != 0)
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

	if (ck_load_prefix(c) != 0 ||
	    qcow2_parse_for_check(&c->pio, &c->h, &c->info, &c->err) != 0)
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
	/* Room for the table to grow by a cluster, should a repair of the
	 * snapshot table need it. */
	c->rt_cap = c->rt_entries + c->cs / 8;
	c->rt = fmt_alloc(a, c->rt_cap * 8 + 8, 8);
	if (c->l1buf == NULL || c->sbuf == NULL || c->cache == NULL ||
	    c->rt == NULL || fmt_arena_left(a) < c->l2cap) {
		fmt_seterr(&c->err, "Not enough memory to check the image");
		return -1;
	}
	if (ck_read(c, c->h.rt_off, c->rt, c->rt_entries * 8) != 0)
		return -1;
	for (i = 0; i < c->rt_entries; i++)
		c->rt[i] = get_be64((uint8_t *)&c->rt[i]);
	if (read_extensions(c) != 0)
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

		/* Past INT64_MAX qemu does not grow the file: no room. */
		if (c->job->params->repair == INSTAR_CHECK_REPAIR_ALL &&
		    (off & (c->cs - 1)) == 0 &&
		    off <= (uint64_t)INT64_MAX - c->cs &&
		    (off >> c->cbits) + 1 > far)
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
	r->corruptions = c->w_corr + c->c_corr + c->p_corr + c->s_corr;
	r->leaks = c->c_leak;
	r->check_errors = c->w_err + c->c_err + c->p_err;
	r->image_end_offset = (c->highest + 1) * c->cs;
	r->total_clusters = (c->h.size + c->cs - 1) >> c->cbits;
	r->allocated_clusters = c->alloc;
	r->fragmented_clusters = c->frag;
	r->compressed_clusters = c->comp;
}

/*
 * qemu opens an image it repairs for writing, and so clears the
 * autoclear bits it does not know (qcow2.txt asks it of every writer),
 * whether or not the repair finds anything; a repair here does the
 * same, before anything else.
 */
static int
clear_unknown_autoclear(struct ck *c)
{
	uint64_t known = c->h.autoclear & AUTOCLEAR_KNOWN;
	uint8_t b[8];

	if (c->h.version < 3 || c->h.autoclear == known)
		return 0;
	store_be64(b, known);
	if (ck_write(c, 88, b, sizeof(b)) != 0 || ck_flush(c) != 0)
		return -1;
	c->h.autoclear = known;
	return 0;
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
	if (fix && clear_unknown_autoclear(c) != 0)
		return -1;
	if (ck_read_snapshot_table(c, fix) != 0 || check_once(c, fix) != 0)
		return -1;
	if (c->failed) {
		fill_result(c);
		if (c->err.msg[0] == '\0')
			fmt_seterr(&c->err, "Input/output error");
		return -1;
	}
	if (fix && (c->fixed_corr || c->fixed_leak)) {
		/* qemu-img checks the repaired image once more. */
		uint64_t fc = c->fixed_corr, fl = c->fixed_leak;

		if (ck_read_snapshot_table(c, 0) != 0 ||
		    check_once(c, 0) != 0)
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
		r = ck_run_vmdk(c);
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
