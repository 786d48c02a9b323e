/*
 * Commit: every range some image above the base holds is written into
 * the base, then the top is emptied unless the caller keeps it.
 *
 * The upper chain (top down to, not including, the base) is walked by
 * its allocation maps, so the cost follows what it holds.  A qcow2 base
 * never has a cluster overwritten in place: each base cluster that
 * changes gets a new cluster, and its L2 entry is switched only after
 * the data and refcounts are on disk, so a crash leaves every base
 * cluster reading either as before or as committed.  Whole clusters
 * held as plain data by one image move host-side (the vmm copies them
 * with copy_file_range); only partial clusters, which must be merged
 * with what the base already holds, and compressed clusters, which must
 * be inflated, pass through the guest.  A raw base has no metadata to
 * order: its bytes are written in place, as qemu writes them.  A VMDK
 * base (vmdk_write.h) has no reference counts: a grain it holds is
 * rewritten in place, as qemu rewrites it, and new grains are appended
 * and referenced after they are on disk.  Its CID changes first, and
 * the VMDK image above it learns the new one at once, so the chain this
 * commit keeps stays readable, where qemu-img leaves it broken.
 */
#include "commit.h"
#include "image.h"
#include "qcow2_write.h"
#include "vmdk_write.h"

#define ZERO_BUF_BYTES		(256u * 1024)
#define PROGRESS_BYTES		(64ull * 1024 * 1024)
/*
 * Merged clusters that follow each other go to the base together, up to
 * this much: a run of compressed clusters then costs one allocation and
 * one write, not one round trip to the host per cluster.
 */
#define RUN_BYTES		(1024u * 1024)

struct commit {
	const struct commit_job	*job;
	struct image		*img[INSTAR_MAX_DEVICES];
	struct image		*upper_layers[INSTAR_MAX_DEVICES];
	struct image		*base_layers[INSTAR_MAX_DEVICES];
	struct chain		 upper;		/* top .. base - 1 */
	struct chain		 below;		/* base .. bottom */
	struct image		*base;
	const struct fmt_io	*base_io;
	uint32_t		 base_dev;
	struct qcow2_writer	 bw;		/* a qcow2 base's writer */
	struct qcow2_writer	 tw;		/* the top's, when emptied */
	struct vmdk_writer	 bvw;		/* a VMDK base's writer */
	struct vmdk_writer	 tvw;		/* a VMDK top's, when emptied */
	struct vmdk_writer	 cvw;		/* the VMDK child of a VMDK base */
	struct vmdk_writer	*child;		/* cvw, or tvw when the same */
	uint64_t		 top_size;
	uint64_t		 zero_from;	/* the base reads 0 from here */
	uint64_t		 bcs;		/* base cluster size */
	uint8_t			*run;		/* merged clusters, unwritten */
	uint64_t		 run_first;	/* the first one's index */
	uint64_t		 run_n;		/* how many run holds */
	uint64_t		 run_max;	/* how many it can hold */
	uint8_t			*zbuf;		/* zeros, for a raw base */
	uint64_t		 committed;	/* raw base: sectors */
	uint64_t		 bytes;
	uint64_t		 reported;
};

static void
report(struct commit *c, uint64_t done)
{
	if (c->job->progress != NULL)
		c->job->progress(c->job->progress_arg, done, c->top_size);
	c->reported = done;
}

static int
open_images(struct commit *c, struct fmt_err *err)
{
	const struct commit_job *job = c->job;
	uint32_t i, b = job->params->base_index;

	for (i = 0; i < job->ndevs; i++) {
		c->img[i] = fmt_alloc(job->arena, sizeof(struct image), 8);
		if (c->img[i] == NULL) {
			fmt_seterr(err, "out of memory for the chain");
			return -1;
		}
		if (image_open(c->img[i], &job->devs[i],
		    job->params->formats[i], job->arena, err) != 0)
			return -1;
		if (i < b)
			c->upper_layers[i] = c->img[i];
		else
			c->base_layers[i - b] = c->img[i];
	}
	c->upper.layers = c->upper_layers;
	c->upper.n = b;
	c->below.layers = c->base_layers;
	c->below.n = job->ndevs - b;
	c->base = c->img[b];
	c->base_io = &job->devs[b];
	c->base_dev = b;
	c->top_size = c->img[0]->size;
	return 0;
}

static void
forget_base(void *arg)
{
	struct commit *c = arg;
	uint32_t i;

	for (i = 0; i < c->below.n; i++)
		image_forget(c->base_layers[i]);
}

static int
refuse(const struct commit *c, struct fmt_err *err)
{
	uint32_t i;

	if (c->base->fmt == INSTAR_FMT_VMDK && c->base->size < c->top_size) {
		fmt_seterr(err, "Operation not supported (a VMDK image cannot "
		    "grow)");
		return -1;
	}
	for (i = 0; i < c->upper.n; i++)
		if (c->img[i]->fmt == INSTAR_FMT_QCOW2 &&
		    c->img[i]->u.q.h.compression != IMG_COMPRESSION_ZLIB) {
			fmt_seterr(err, "zstd-compressed images are not "
			    "supported");
			return -1;
		}
	return 0;
}

/* ---- a raw base: bytes in place ---- */

static int
raw_write_extent(struct commit *c, const struct chain_extent *ce,
    uint64_t off, struct fmt_err *err)
{
	const struct fmt_io *io = c->base_io;
	uint64_t done, n, len = ce->e.len;

	if (ce->e.kind == EXTENT_DATA)
		return io->copy(io->ctx, off, c->upper_layers[ce->layer]->io,
		    ce->e.host_off, len) == 0 ? 0 :
		    (fmt_seterr(err, "Could not write to the base: I/O error"),
		    -1);
	for (done = 0; done < len; done += n) {
		n = len - done < ZERO_BUF_BYTES ? len - done : ZERO_BUF_BYTES;
		if (ce->e.kind == EXTENT_ZERO)
			memset(c->zbuf, 0, (size_t)n);
		else {
			struct extent e = ce->e;

			e.coff += done;
			if (image_read_extent(c->upper_layers[ce->layer], &e,
			    c->zbuf, n, err) != 0)
				return -1;
		}
		if (fmt_write_data(io, off + done, c->zbuf, (size_t)n) != 0) {
			fmt_seterr(err, "Could not write to the base: I/O error");
			return -1;
		}
	}
	return 0;
}

/* ---- a qcow2 base: new clusters, switched in ---- */

/*
 * The upper chain's content over the base's, in one base cluster, into
 * buf.  What the base holds there is read only if some of the cluster
 * shows through the upper chain.
 */
static int
merged_content(struct commit *c, uint64_t cl, uint8_t *buf, bool *all_zero,
    struct fmt_err *err)
{
	uint64_t start = cl * c->bcs, end = start + c->bcs, pos, n, zero;
	uint64_t upper_end = end < c->top_size ? end : c->top_size;
	struct chain_extent ce;

	/* A cluster cut short by the top's end is never covered whole. */
	if (chain_map(&c->upper, start, upper_end - start, &ce, err) != 0)
		return -1;
	if (ce.layer < 0 || ce.e.len < c->bcs) {
		/* What the base reads there now, through its backing chain. */
		if (chain_read(&c->below, start, buf, c->bcs, err) != 0)
			return -1;
		/* Past the base's old end it reads zeros (see grow_base). */
		zero = c->zero_from > start ? c->zero_from : start;
		if (zero < end)
			memset(buf + (zero - start), 0, (size_t)(end - zero));
	}
	/* The first extent is mapped already. */
	for (pos = start; pos < upper_end; pos += n) {
		if (pos != start && chain_map(&c->upper, pos, upper_end - pos,
		    &ce, err) != 0)
			return -1;
		n = ce.e.len;
		if (ce.layer < 0)
			continue;
		if (image_read_extent(c->upper_layers[ce.layer], &ce.e,
		    buf + (pos - start), n, err) != 0)
			return -1;
	}
	*all_zero = mem_is_zero(buf, (size_t)c->bcs);
	return 0;
}

/*
 * Write the run of merged clusters to the base: new clusters for all of
 * them in one piece, the data, then each L2 entry switched to its own.
 */
static int
flush_run(struct commit *c, struct fmt_err *err)
{
	uint64_t n = c->run_n, host, k, old;

	if (n == 0)
		return 0;
	c->run_n = 0;
	if (c->base->fmt == INSTAR_FMT_VMDK)
		return vmdkw_put_data(&c->bvw, c->run_first, n, c->run, err);
	if (qcow2w_alloc(&c->bw, n, &host, err) != 0)
		return -1;
	if (fmt_write_data(c->base_io, host, c->run,
	    (size_t)(n * c->bcs)) != 0) {
		fmt_seterr(err, "Could not write to the base: I/O error");
		return -1;
	}
	for (k = 0; k < n; k++)
		if (qcow2_entry_at(c->base, c->run_first + k, &old, err) != 0 ||
		    qcow2w_set(&c->bw, c->run_first + k,
		    (host + k * c->bcs) | QCOW2_COPIED, old, err) != 0)
			return -1;
	return 0;
}

/*
 * Merge the upper chain's content over the base's in one cluster.  Data
 * joins the run when it follows it (flush_run() writes it); zeros are
 * written at once, after the run before them.
 */
static int
merge_cluster(struct commit *c, uint64_t cl, struct fmt_err *err)
{
	uint64_t old;
	bool all_zero;

	if (c->run_n > 0 && (cl != c->run_first + c->run_n ||
	    c->run_n == c->run_max) && flush_run(c, err) != 0)
		return -1;
	if (merged_content(c, cl, c->run + c->run_n * c->bcs, &all_zero,
	    err) != 0)
		return -1;
	if (!all_zero || (c->base->fmt == INSTAR_FMT_QCOW2 &&
	    c->base->u.q.h.version < 3)) {
		if (c->run_n == 0)
			c->run_first = cl;
		c->run_n++;
		return 0;
	}
	if (flush_run(c, err) != 0)
		return -1;
	if (c->base->fmt == INSTAR_FMT_VMDK)
		return vmdkw_put_zero(&c->bvw, cl, err);
	if (qcow2_entry_at(c->base, cl, &old, err) != 0)
		return -1;
	return qcow2w_set(&c->bw, cl, QCOW2_ZERO, old, err);
}

/* n whole clusters from cl that read as zeros above the base. */
static int
zero_clusters(struct commit *c, uint64_t cl, uint64_t n, struct fmt_err *err)
{
	uint64_t k, old;

	if (flush_run(c, err) != 0)
		return -1;
	if (c->base->fmt == INSTAR_FMT_VMDK) {
		for (k = 0; k < n; k++)
			if (vmdkw_put_zero(&c->bvw, cl + k, err) != 0)
				return -1;
		return 0;
	}
	/* v2 has no zero flag; with nothing below, unallocated reads 0. */
	if (c->base->u.q.h.version < 3 && c->below.n > 1) {
		for (k = 0; k < n; k++)
			if (merge_cluster(c, cl + k, err) != 0)
				return -1;
		return 0;
	}
	for (k = 0; k < n; k++) {
		if (qcow2_entry_at(c->base, cl + k, &old, err) != 0 ||
		    qcow2w_set(&c->bw, cl + k, c->base->u.q.h.version >= 3 ?
		    QCOW2_ZERO : 0, old, err) != 0)
			return -1;
	}
	return 0;
}

/* n whole clusters from cl, plain data at src_off of one upper image. */
static int
copy_clusters(struct commit *c, uint64_t cl, uint64_t n,
    const struct image *src, uint64_t src_off, struct fmt_err *err)
{
	uint64_t host, k, old;

	if (flush_run(c, err) != 0)
		return -1;
	if (c->base->fmt == INSTAR_FMT_VMDK)
		return vmdkw_put_copy(&c->bvw, cl, n, src->io, src_off, err);
	if (qcow2w_alloc(&c->bw, n, &host, err) != 0)
		return -1;
	if (c->base_io->copy(c->base_io->ctx, host, src->io, src_off,
	    n * c->bcs) != 0) {
		fmt_seterr(err, "Could not write to the base: I/O error");
		return -1;
	}
	for (k = 0; k < n; k++)
		if (qcow2_entry_at(c->base, cl + k, &old, err) != 0 ||
		    qcow2w_set(&c->bw, cl + k, (host + k * c->bcs) |
		    QCOW2_COPIED, old, err) != 0)
			return -1;
	return 0;
}

/*
 * The upper chain holds [pos, pos + len) as ce says; the base is qcow2
 * or VMDK, with clusters or grains (both "clusters" here).  Whole base
 * clusters of plain data or zeros are done wholesale; the clusters at
 * either ragged end, and compressed data, are merged one at a time
 * (and written in runs, see merge_cluster()).
 * Returns the end of what was done (a cluster boundary or pos + len).
 */
static int
cluster_extent(struct commit *c, const struct chain_extent *ce, uint64_t pos,
    uint64_t len, uint64_t *done, struct fmt_err *err)
{
	uint64_t first = (pos + c->bcs - 1) / c->bcs, last, end = pos + len;

	last = end / c->bcs;
	if (end == c->top_size && end % c->bcs != 0 &&
	    c->base->size <= c->top_size)
		last++;	/* the base's last cluster ends with the top */
	if (pos % c->bcs != 0 || first >= last ||
	    ce->e.kind == EXTENT_COMPRESSED) {
		/* One cluster, merged; the walk continues after it. */
		if (merge_cluster(c, pos / c->bcs, err) != 0)
			return -1;
		*done = (pos / c->bcs + 1) * c->bcs;
		return 0;
	}
	if (ce->e.kind == EXTENT_ZERO) {
		if (zero_clusters(c, first, last - first, err) != 0)
			return -1;
	} else if (copy_clusters(c, first, last - first,
	    c->upper_layers[ce->layer], ce->e.host_off, err) != 0)
		return -1;
	*done = last * c->bcs;
	return 0;
}

static int
walk_upper(struct commit *c, struct fmt_err *err)
{
	struct chain_extent ce;
	uint64_t pos = 0, next;

	while (pos < c->top_size) {
		if (chain_map(&c->upper, pos, c->top_size - pos, &ce,
		    err) != 0)
			return -1;
		if (ce.layer < 0 && pos + ce.e.len <= c->zero_from) {
			pos += ce.e.len;
			continue;
		}
		if (ce.layer < 0 && pos < c->zero_from) {
			pos = c->zero_from;
			continue;
		}
		if (ce.layer < 0) {
			/* Grown, unheld: zeros, which are not committed data. */
			ce.e.kind = EXTENT_ZERO;
			if (cluster_extent(c, &ce, pos, ce.e.len, &next,
			    err) != 0)
				return -1;
			pos = next < c->top_size ? next : c->top_size;
			continue;
		}
		if (c->base->fmt == INSTAR_FMT_RAW) {
			if (raw_write_extent(c, &ce, pos, err) != 0)
				return -1;
			c->committed += (ce.e.len + 511) / 512;
			next = pos + ce.e.len;
		} else if (cluster_extent(c, &ce, pos, ce.e.len, &next,
		    err) != 0)
			return -1;
		if (next > c->top_size)
			next = c->top_size;
		c->bytes += next - pos;
		pos = next;
		if (pos - c->reported >= PROGRESS_BYTES)
			report(c, pos);
	}
	return flush_run(c, err);
}

/* ---- the base's size ---- */

static int
grow_base(struct commit *c, struct instar_commit_result *res,
    struct fmt_err *err)
{
	const struct fmt_io *io = c->base_io;
	struct image *b = c->base;

	if (b->size >= c->top_size)
		return 0;
	/*
	 * The grown range read zeros through the top, whatever the base's
	 * backing file holds there, and must go on doing so.  qemu zeroes
	 * the rest of the last cluster with zero writes and whole clusters
	 * after it with the zero flag, which v2 lacks: a v2 image that must
	 * grow past its last cluster fails in qemu-img before anything is
	 * written.
	 */
	if (b->fmt == INSTAR_FMT_QCOW2 && c->below.n > 1 &&
	    c->base_layers[1]->size > b->size) {
		if (b->u.q.h.version < 3 &&
		    c->top_size > (b->size + c->bcs - 1) / c->bcs * c->bcs) {
			fmt_seterr(err, "Operation not supported (a qcow2 v2 "
			    "image cannot grow over a longer backing file)");
			return -1;
		}
		c->zero_from = b->size;
	}
	if (b->fmt == INSTAR_FMT_QCOW2) {
		if (qcow2w_grow(&c->bw, c->top_size, err) != 0)
			return -1;
	} else if (io->truncate(io->ctx, c->top_size) != 0 ||
	    io->flush(io->ctx) != 0) {
		fmt_seterr(err, "Could not grow the base: I/O error");
		return -1;
	}
	res->base_grown = 1;
	/* Read the base again: its size and tables changed. */
	return image_open(b, io, b->fmt, c->job->arena, err);
}

/*
 * The writers, opened (and every descriptor change tried) before the
 * first write, so that whatever can refuse does so with nothing changed.
 */
static int
open_writers(struct commit *c, struct fmt_err *err)
{
	const struct commit_job *job = c->job;
	const struct instar_commit_params *p = job->params;
	struct image *top = c->img[0];

	if (p->empty_top && top->fmt == INSTAR_FMT_QCOW2 &&
	    qcow2w_open(&c->tw, &job->devs[0], &top->u.q.h, job->arena,
	    err) != 0)
		return -1;
	if (p->empty_top && top->fmt == INSTAR_FMT_VMDK &&
	    vmdkw_open(&c->tvw, &job->devs[0], true, job->arena, err) != 0)
		return -1;
	if (c->base->fmt == INSTAR_FMT_QCOW2) {
		if (qcow2w_open(&c->bw, c->base_io, &c->base->u.q.h,
		    job->arena, err) != 0)
			return -1;
		c->bw.on_commit = forget_base;
		c->bw.on_commit_arg = c;
	} else if (c->base->fmt == INSTAR_FMT_VMDK) {
		if (vmdkw_open(&c->bvw, c->base_io, c->below.n > 1,
		    job->arena, err) != 0)
			return -1;
		c->bvw.on_commit = forget_base;
		c->bvw.on_commit_arg = c;
	}
	if (!commit_relinks_child(p))
		return 0;
	if (c->base_dev - 1 == 0 && p->empty_top)
		c->child = &c->tvw;
	else {
		c->child = &c->cvw;
		if (vmdkw_open(&c->cvw, &job->devs[c->base_dev - 1], true,
		    job->arena, err) != 0)
			return -1;
	}
	return 0;
}

/*
 * A VMDK base gets a new CID, as any VMDK writer gives it, before its
 * first grain changes: a child that does not know about the change can
 * no longer read through it.  The image above it that this commit keeps
 * reading through it learns the new CID at once.
 */
static int
renew_cids(struct commit *c, bool dry_run, struct fmt_err *err)
{
	const struct instar_commit_params *p = c->job->params;
	struct vmdk_relink base = { .set_cid = true };
	struct vmdk_relink child = { .set_parent = true };
	uint32_t old = c->base->info.vmdk_cid, cid = p->new_cid;
	const struct instar_image_info *ci;

	if (c->base->fmt != INSTAR_FMT_VMDK)
		return 0;
	while (cid == old || cid == VMDK_NO_PARENT)
		cid++;
	base.cid = cid;
	if (vmdkw_relink(&c->bvw, &base, dry_run, err) != 0)
		return -1;
	if (!commit_relinks_child(p))
		return 0;
	/* The child keeps the name it records; only the CID changes. */
	ci = &c->img[c->base_dev - 1]->info;
	child.parent_cid = cid;
	child.hint = ci->backing_name;
	child.hint_len = strlen(ci->backing_name);
	return vmdkw_relink(c->child, &child, dry_run, err);
}

static int
finish_base(struct commit *c, struct instar_commit_result *res,
    struct fmt_err *err)
{
	switch (c->base->fmt) {
	case INSTAR_FMT_QCOW2:
		if (qcow2w_commit(&c->bw, err) != 0)
			return -1;
		res->clusters_committed = c->bw.clusters_data +
		    c->bw.clusters_zero;
		return 0;
	case INSTAR_FMT_VMDK:
		if (vmdkw_commit(&c->bvw, err) != 0)
			return -1;
		res->clusters_committed = c->bvw.grains_data +
		    c->bvw.grains_zero;
		return 0;
	default:
		if (c->base_io->flush(c->base_io->ctx) != 0) {
			fmt_seterr(err, "Could not flush the base: I/O error");
			return -1;
		}
		res->clusters_committed = c->committed;
		return 0;
	}
}

static int
empty_top(struct commit *c, struct instar_commit_result *res,
    struct fmt_err *err)
{
	if (!c->job->params->empty_top)
		return 0;
	if (c->img[0]->fmt == INSTAR_FMT_VMDK)
		return vmdkw_make_empty(&c->tvw, &res->clusters_emptied, err);
	return qcow2w_make_empty(&c->tw, &res->clusters_emptied, err);
}

static uint64_t
base_cluster_size(const struct image *base)
{
	switch (base->fmt) {
	case INSTAR_FMT_QCOW2:
		return base->u.q.h.cluster_size;
	case INSTAR_FMT_VMDK:
		return base->u.v.grain_size;
	default:
		return 512;
	}
}

static int
run(struct commit *c, struct instar_commit_result *res, struct fmt_err *err)
{
	const struct commit_job *job = c->job;
	const struct instar_commit_params *p = job->params;
	uint64_t writable = 0;
	const char *why;
	uint32_t i;

	for (i = 0; i < job->ndevs && i < 64; i++)
		if (job->devs[i].write != NULL)
			writable |= 1ull << i;
	if ((why = commit_params_validate(p, job->ndevs, writable)) != NULL) {
		fmt_seterr(err, "invalid commit request: %s", why);
		return -1;
	}
	if (open_images(c, err) != 0 || refuse(c, err) != 0 ||
	    chain_check_links(&c->upper, err) != 0 ||
	    chain_check_links(&c->below, err) != 0)
		return -1;
	c->bcs = base_cluster_size(c->base);
	if (c->bcs > VMDKW_GRAIN_MAX) {
		fmt_seterr(err, "VMDK grains of %llu bytes are too big to "
		    "write", (unsigned long long)c->bcs);
		return -1;
	}
	res->base_cluster_size = (uint32_t)c->bcs;
	c->run_max = c->bcs < RUN_BYTES ? RUN_BYTES / c->bcs : 1;
	c->run = fmt_alloc(job->arena, (size_t)(c->run_max * c->bcs), 4096);
	c->zbuf = fmt_alloc(job->arena, ZERO_BUF_BYTES, 4096);
	if (c->run == NULL || c->zbuf == NULL) {
		fmt_seterr(err, "out of memory for the commit");
		return -1;
	}
	/* Everything that can refuse does so before the first write. */
	if (open_writers(c, err) != 0 || renew_cids(c, true, err) != 0)
		return -1;
	report(c, 0);
	if (renew_cids(c, false, err) != 0 || grow_base(c, res, err) != 0 ||
	    walk_upper(c, err) != 0 || finish_base(c, res, err) != 0)
		return -1;
	res->bytes_committed = c->bytes;
	if (empty_top(c, res, err) != 0)
		return -1;
	report(c, c->top_size);
	return 0;
}

int
commit_run(const struct commit_job *job, struct instar_commit_result *res)
{
	struct commit *c;
	struct fmt_err err;

	memset(res, 0, sizeof(*res));
	memset(&err, 0, sizeof(err));
	c = fmt_alloc(job->arena, sizeof(*c), 8);
	if (c == NULL)
		fmt_seterr(&err, "out of memory");
	else {
		memset(c, 0, sizeof(*c));
		c->job = job;
		c->zero_from = UINT64_MAX;
		if (run(c, res, &err) == 0)
			return 0;
	}
	memset(res, 0, sizeof(*res));
	res->status = 1;
	fmt_report(res->error, sizeof(res->error), &err, "commit failed");
	return -1;
}
