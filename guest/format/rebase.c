/*
 * Safe and unsafe rebase of a qcow2 or VMDK overlay.
 *
 * Safe mode keeps what the overlay reads: wherever the overlay holds
 * nothing itself, the old chain's content is compared with the new
 * chain's, and where they differ the old content is written into the
 * overlay.  Only ranges where some layer of either chain holds
 * something are read at all: a range both chains leave unallocated down
 * to the bottom reads as zeros through both, and a range both take from
 * the same device and offset (a new backing inside the old chain) is
 * the same content.  So the cost follows what is allocated, not the
 * virtual size.  The header (a VMDK's descriptor) changes last.  A
 * VMDK overlay keeps its own CID, since what it reads does not change,
 * so images made on top of it stay valid; it records its new parent's
 * CID, read here from the parent itself.
 */
#include "image.h"
#include "qcow2_write.h"
#include "rebase.h"
#include "vmdk_write.h"

/* Bytes compared per step: big reads, few exits, few pages touched. */
#define COMPARE_BYTES		(2u * 1024 * 1024)
/* Report progress after walking this much of the overlay. */
#define PROGRESS_BYTES		(256ull * 1024 * 1024)

struct rebase {
	const struct rebase_job	*job;
	struct image		 overlay;
	struct image		*devimg[INSTAR_MAX_DEVICES];
	struct image		*old_layers[INSTAR_MAX_DEVICES];
	struct image		*new_layers[INSTAR_MAX_DEVICES];
	struct chain		 old_chain;
	struct chain		 new_chain;
	uint32_t		 old_base;	/* device of old layer 0 */
	uint32_t		 new_base;	/* device of new layer 0 */
	struct qcow2_writer	 w;		/* a qcow2 overlay's writer */
	struct vmdk_writer	 vw;		/* a VMDK overlay's */
	bool			 vmdk;		/* which of the two */
	uint64_t		 cs;
	uint64_t		 size;		/* the overlay's */
	uint8_t			*obuf;
	uint8_t			*nbuf;
	size_t			 buf_len;
	uint64_t		 reported;
};

static void
report(struct rebase *r, uint64_t done)
{
	if (r->job->progress != NULL)
		r->job->progress(r->job->progress_arg, done, r->size);
	r->reported = done;
}

static int
open_layer(struct rebase *r, uint32_t dev, struct fmt_err *err)
{
	const struct rebase_job *job = r->job;
	struct image *img;

	if (r->devimg[dev] != NULL)
		return 0;
	img = fmt_alloc(job->arena, sizeof(*img), 8);
	if (img == NULL) {
		fmt_seterr(err, "out of memory for the backing chain");
		return -1;
	}
	if (image_open(img, &job->devs[dev], job->params->formats[dev],
	    job->arena, err) != 0)
		return -1;
	r->devimg[dev] = img;
	return 0;
}

static int
open_chains(struct rebase *r, struct fmt_err *err)
{
	const struct instar_rebase_params *p = r->job->params;
	uint32_t i;

	r->old_base = 1;
	r->new_base = p->new_chain_start;
	for (i = 0; i < p->old_chain_len; i++) {
		if (open_layer(r, 1 + i, err) != 0)
			return -1;
		r->old_layers[i] = r->devimg[1 + i];
	}
	for (i = 0; i < p->new_chain_len; i++) {
		if (open_layer(r, p->new_chain_start + i, err) != 0)
			return -1;
		r->new_layers[i] = r->devimg[p->new_chain_start + i];
	}
	r->old_chain.layers = r->old_layers;
	r->old_chain.n = p->old_chain_len;
	r->new_chain.layers = r->new_layers;
	r->new_chain.n = p->new_chain_len;
	return 0;
}

/* Whether two chain extents are the same bytes without reading them. */
static bool
same_source(const struct rebase *r, const struct chain_extent *o,
    const struct chain_extent *n)
{
	bool oz = o->layer < 0 || o->e.kind == EXTENT_ZERO;
	bool nz = n->layer < 0 || n->e.kind == EXTENT_ZERO;

	if (oz || nz)
		return oz && nz;
	if (r->old_base + (uint32_t)o->layer != r->new_base + (uint32_t)n->layer ||
	    o->e.kind != n->e.kind)
		return false;
	if (o->e.kind == EXTENT_DATA)
		return o->e.host_off == n->e.host_off;
	return o->e.centry == n->e.centry && o->e.coff == n->e.coff;
}

/*
 * What one cluster of the compare buffers needs: nothing, a zero
 * cluster, or the old content written.
 */
enum verdict { SAME, ZERO, DATA };

/* Whether the overlay can mark a cluster as reading zeros. */
static bool
zero_entries(const struct rebase *r)
{
	return r->vmdk ? r->overlay.u.v.zero_grains :
	    r->overlay.u.q.h.version >= 3;
}

static enum verdict
judge(const struct rebase *r, uint64_t k, uint64_t want)
{
	uint64_t clen = want > k ? want - k : 0;

	if (clen > r->cs)
		clen = r->cs;
	if (memcmp(r->obuf + k, r->nbuf + k, (size_t)clen) == 0)
		return SAME;
	if (zero_entries(r) && mem_is_zero(r->obuf + k, (size_t)clen))
		return ZERO;
	return DATA;
}

static int
put_zero(struct rebase *r, uint64_t cl, struct fmt_err *err)
{
	return r->vmdk ? vmdkw_put_zero(&r->vw, cl, err) :
	    qcow2w_put_zero(&r->w, cl, err);
}

static int
put_data(struct rebase *r, uint64_t cl, uint64_t n, const uint8_t *buf,
    struct fmt_err *err)
{
	return r->vmdk ? vmdkw_put_data(&r->vw, cl, n, buf, err) :
	    qcow2w_put_data(&r->w, cl, n, buf, err);
}

/* Compare clusters [from, to) of both chains; change those that differ. */
static int
compare_clusters(struct rebase *r, uint64_t from, uint64_t to,
    struct fmt_err *err)
{
	uint64_t off, len, want, k, run;
	enum verdict v;

	for (off = from; off < to; off += len) {
		len = to - off < r->buf_len ? to - off : r->buf_len;
		/* Past the overlay's end nothing is visible: read no further. */
		want = r->size - off < len ? r->size - off : len;
		if (chain_read(&r->old_chain, off, r->obuf, want, err) != 0 ||
		    chain_read(&r->new_chain, off, r->nbuf, want, err) != 0)
			return -1;
		memset(r->obuf + want, 0, (size_t)(len - want));
		/* Runs of clusters to write go out in one write each. */
		for (k = 0; k < len; k += run) {
			v = judge(r, k, want);
			run = r->cs;
			if (v == DATA)
				while (k + run < len &&
				    judge(r, k + run, want) == DATA)
					run += r->cs;
			if (v == ZERO && put_zero(r, (off + k) / r->cs,
			    err) != 0)
				return -1;
			if (v == DATA && put_data(r, (off + k) / r->cs,
			    run / r->cs, r->obuf + k, err) != 0)
				return -1;
		}
		if (off + len - r->reported >= PROGRESS_BYTES / 64)
			report(r, off + len);
	}
	return 0;
}

/* A range [from, to) the overlay leaves to its backing, cluster aligned. */
static int
rebase_range(struct rebase *r, uint64_t from, uint64_t to,
    struct fmt_err *err)
{
	struct chain_extent o, n;
	uint64_t pos = from, run, cfrom, cto;

	while (pos < to) {
		if (chain_map(&r->old_chain, pos, to - pos, &o, err) != 0 ||
		    chain_map(&r->new_chain, pos, to - pos, &n, err) != 0)
			return -1;
		run = o.e.len < n.e.len ? o.e.len : n.e.len;
		if (same_source(r, &o, &n)) {
			pos += run;
			continue;
		}
		cfrom = pos - pos % r->cs;
		cto = pos + run + (r->cs - 1);
		cto -= cto % r->cs;
		if (cto > to)
			cto = to;
		if (compare_clusters(r, cfrom, cto, err) != 0)
			return -1;
		pos = cto;
	}
	return 0;
}

static int
walk_overlay(struct rebase *r, struct fmt_err *err)
{
	struct extent e;
	uint64_t pos = 0;

	while (pos < r->size) {
		if (image_map(&r->overlay, pos, r->size - pos, &e, err) != 0)
			return -1;
		if (e.kind == EXTENT_UNALLOC &&
		    rebase_range(r, pos, pos + e.len, err) != 0)
			return -1;
		pos += e.len;
		if (pos - r->reported >= PROGRESS_BYTES)
			report(r, pos);
	}
	return 0;
}

static int
refuse_safe(const struct rebase *r, struct fmt_err *err)
{
	uint32_t i;

	if (!r->vmdk && (r->overlay.u.q.h.autoclear & AUTOCLEAR_BITMAPS)) {
		fmt_seterr(err, "the image has persistent dirty bitmaps, "
		    "which a safe rebase would leave stale");
		return -1;
	}
	/* The overlay's own compressed clusters are never read. */
	for (i = 1; i < INSTAR_MAX_DEVICES; i++) {
		const struct image *img = r->devimg[i];

		if (img != NULL && img->fmt == INSTAR_FMT_QCOW2 &&
		    img->u.q.h.compression != IMG_COMPRESSION_ZLIB) {
			fmt_seterr(err, "zstd-compressed backing images are "
			    "not supported");
			return -1;
		}
	}
	return 0;
}

static int
rebase_safe(struct rebase *r, struct fmt_err *err)
{
	const struct rebase_job *job = r->job;

	if (open_chains(r, err) != 0 || refuse_safe(r, err) != 0 ||
	    chain_check_links(&r->old_chain, err) != 0 ||
	    chain_check_links(&r->new_chain, err) != 0)
		return -1;
	r->buf_len = COMPARE_BYTES > r->cs ? COMPARE_BYTES : (size_t)r->cs;
	r->obuf = fmt_alloc(job->arena, r->buf_len, 4096);
	r->nbuf = fmt_alloc(job->arena, r->buf_len, 4096);
	if (r->obuf == NULL || r->nbuf == NULL) {
		fmt_seterr(err, "out of memory for comparing");
		return -1;
	}
	report(r, 0);
	if (walk_overlay(r, err) != 0 || (r->vmdk ? vmdkw_commit(&r->vw,
	    err) : qcow2w_commit(&r->w, err)) != 0)
		return -1;
	report(r, r->size);
	return 0;
}

/*
 * What a VMDK overlay records of its new parent: the name and the
 * parent's CID, which the guest reads itself from the attached parent.
 */
static int
vmdk_link(struct rebase *r, struct vmdk_relink *l, struct fmt_err *err)
{
	const struct rebase_job *job = r->job;
	const struct instar_rebase_params *p = job->params;
	uint32_t dev = p->new_chain_start;

	memset(l, 0, sizeof(*l));
	l->set_parent = true;
	l->parent_cid = VMDK_NO_PARENT;
	l->hint = p->backing_name;
	l->hint_len = p->name_len;
	if (p->name_len == 0)
		return 0;
	if (strcmp(p->backing_format, "vmdk") != 0) {
		fmt_seterr(err, "Operation not supported (a VMDK image's "
		    "backing file must be a VMDK image, not %s)",
		    p->backing_format);
		return -1;
	}
	if (p->new_chain_len == 0) {
		fmt_seterr(err, "invalid rebase request: the new VMDK parent "
		    "is not attached");
		return -1;
	}
	if (open_layer(r, dev, err) != 0)
		return -1;
	if (r->devimg[dev]->fmt != INSTAR_FMT_VMDK) {
		fmt_seterr(err, "Operation not supported (a VMDK image's "
		    "backing file must be a VMDK image)");
		return -1;
	}
	l->parent_cid = r->devimg[dev]->info.vmdk_cid;
	return 0;
}

static void
forget_overlay(void *arg)
{
	struct rebase *r = arg;

	image_forget(&r->overlay);
}

static int
open_overlay(struct rebase *r, struct fmt_err *err)
{
	const struct rebase_job *job = r->job;
	const struct instar_rebase_params *p = job->params;

	if (image_open(&r->overlay, &job->devs[0], p->formats[0], job->arena,
	    err) != 0)
		return -1;
	r->devimg[0] = &r->overlay;
	r->size = r->overlay.size;
	switch (r->overlay.fmt) {
	case INSTAR_FMT_QCOW2:
		r->cs = r->overlay.u.q.h.cluster_size;
		return qcow2w_open(&r->w, &job->devs[0], &r->overlay.u.q.h,
		    job->arena, err) != 0 ||
		    qcow2w_check_backing(&r->w, p->backing_name, p->name_len,
		    p->backing_format, err) != 0 ? -1 : 0;
	case INSTAR_FMT_VMDK:
		r->vmdk = true;
		r->cs = r->overlay.u.v.grain_size;
		if (vmdkw_open(&r->vw, &job->devs[0], p->name_len != 0,
		    job->arena, err) != 0)
			return -1;
		r->vw.on_commit = forget_overlay;
		r->vw.on_commit_arg = r;
		return 0;
	default:
		fmt_seterr(err, "Operation not supported");
		return -1;
	}
}

static int
run(struct rebase *r, struct instar_rebase_result *res, struct fmt_err *err)
{
	const struct rebase_job *job = r->job;
	const struct instar_rebase_params *p = job->params;
	struct vmdk_relink link;
	const char *why;

	if ((why = rebase_params_validate(p, job->ndevs)) != NULL) {
		fmt_seterr(err, "invalid rebase request: %s", why);
		return -1;
	}
	if (open_overlay(r, err) != 0)
		return -1;
	res->cluster_size = (uint32_t)r->cs;
	/* A descriptor that cannot take the new parent refuses first. */
	if (r->vmdk && (vmdk_link(r, &link, err) != 0 ||
	    vmdkw_relink(&r->vw, &link, true, err) != 0))
		return -1;
	if (!p->unsafe && rebase_safe(r, err) != 0)
		return -1;
	if (r->vmdk) {
		res->clusters_copied = r->vw.grains_data;
		res->clusters_zeroed = r->vw.grains_zero;
		res->bytes_copied = r->vw.grains_data * r->cs;
		return vmdkw_relink(&r->vw, &link, false, err);
	}
	res->clusters_copied = r->w.clusters_data;
	res->clusters_zeroed = r->w.clusters_zero;
	res->bytes_copied = r->w.clusters_data * r->cs;
	return qcow2w_set_backing(&r->w, p->backing_name, p->name_len,
	    p->backing_format, err);
}

int
rebase_run(const struct rebase_job *job, struct instar_rebase_result *res)
{
	struct rebase *r;
	struct fmt_err err;

	memset(res, 0, sizeof(*res));
	memset(&err, 0, sizeof(err));
	r = fmt_alloc(job->arena, sizeof(*r), 8);
	if (r == NULL)
		fmt_seterr(&err, "out of memory");
	else {
		memset(r, 0, sizeof(*r));
		r->job = job;
		if (run(r, res, &err) == 0)
			return 0;
	}
	memset(res, 0, sizeof(*res));
	res->status = 1;
	fmt_report(res->error, sizeof(res->error), &err, "rebase failed");
	return -1;
}
