/*
 * Allocation maps and content of qcow2, VMDK and raw images, and of
 * backing chains of them.  See image.h.
 */
#include "image.h"
#include "inflate.h"

/* Table windows: large enough for long runs, small enough to stay cheap. */
#define TABLE_WIN_BYTES		(32u * 1024)
#define SECTOR			512ull
/*
 * Compressed clusters lie packed one after another; reading this much of
 * the file at once serves the next few dozen of them without another
 * trip to the host.
 */
#define COMPRESSED_AHEAD	(256u * 1024)

static int
win_setup(struct table_win *w, struct fmt_arena *a, uint32_t entry_len,
    struct fmt_err *err)
{
	w->cap = TABLE_WIN_BYTES / entry_len;
	w->buf = fmt_alloc(a, TABLE_WIN_BYTES, 8);
	w->count = 0;
	if (w->buf == NULL) {
		fmt_seterr(err, "out of memory for image tables");
		return -1;
	}
	return 0;
}

/*
 * Make entry idx of the table at table_off (entries entries of
 * entry_len bytes) available in the window, loading a run from idx on.
 */
static int
win_load(struct table_win *w, const struct fmt_io *io, uint64_t table_off,
    uint64_t entries, uint32_t entry_len, uint64_t idx, const char *what,
    struct fmt_err *err)
{
	uint64_t n;

	if (w->count != 0 && w->table_off == table_off && idx >= w->first &&
	    idx - w->first < w->count)
		return 0;
	n = entries - idx;
	if (n > w->cap)
		n = w->cap;
	if (io->read(io->ctx, table_off + idx * entry_len, w->buf,
	    (size_t)(n * entry_len)) != 0) {
		w->count = 0;
		fmt_seterr(err, "Could not read %s", what);
		return -1;
	}
	w->table_off = table_off;
	w->first = idx;
	w->count = (uint32_t)n;
	return 0;
}

/* ---- qcow2 ---- */

static int
qcow2_map_open(struct image *img, struct fmt_err *err)
{
	struct qcow2_map *q = &img->u.q;

	if (qcow2_parse(img->io, &q->h, &img->info, NULL, NULL, err) != 0 ||
	    qcow2_refuse_unsupported(&q->h, err) != 0)
		return -1;
	q->l2_bits = q->h.cluster_bits - 3;
	q->csize_shift = 62 - (q->h.cluster_bits - 8);
	q->csize_mask = (1ull << (q->h.cluster_bits - 8)) - 1;
	q->coff_mask = (1ull << q->csize_shift) - 1;
	/* qemu keeps the size in whole sectors; a ragged tail reads zero. */
	img->size = q->h.size & ~(SECTOR - 1);
	return win_setup(&q->l1, img->arena, 8, err) != 0 ||
	    win_setup(&q->l2, img->arena, 8, err) != 0 ? -1 : 0;
}

/* A host offset from a table: aligned as the table demands, in range. */
static int
check_host_off(const struct qcow2_hdr *h, uint64_t off, const char *what,
    struct fmt_err *err)
{
	if ((off & (h->cluster_size - 1)) != 0 || off == 0) {
		fmt_seterr(err, "%s offset %#llx is invalid; the image is "
		    "corrupt", what, (unsigned long long)off);
		return -1;
	}
	return 0;
}

static void
l2_extent(const struct qcow2_map *q, uint64_t entry, uint64_t in_cluster,
    struct extent *e)
{
	uint64_t host = entry & QCOW2_OFFSET_MASK;

	memset(e, 0, sizeof(*e));
	if (entry & QCOW2_COMPRESSED) {
		e->kind = EXTENT_COMPRESSED;
		e->centry = entry;
		e->coff = in_cluster;
	} else if (entry & QCOW2_ZERO)
		e->kind = EXTENT_ZERO;
	else if (host == 0)
		e->kind = EXTENT_UNALLOC;
	else {
		e->kind = EXTENT_DATA;
		e->host_off = host + in_cluster;
	}
	(void)q;
}

/* Whether entry b continues the run that entry a started, n clusters on. */
static bool
l2_continues(const struct qcow2_map *q, const struct extent *first,
    uint64_t entry, uint64_t n)
{
	struct extent e;

	if (entry & QCOW2_COMPRESSED)
		return false;
	l2_extent(q, entry, 0, &e);
	if (e.kind != first->kind)
		return false;
	if (e.kind != EXTENT_DATA)
		return true;
	return e.host_off == first->host_off - (first->host_off &
	    (q->h.cluster_size - 1)) + (n << q->h.cluster_bits);
}

static int
qcow2_map_at(struct image *img, uint64_t off, uint64_t len, struct extent *e,
    struct fmt_err *err)
{
	struct qcow2_map *q = &img->u.q;
	const struct qcow2_hdr *h = &q->h;
	uint64_t cluster = off >> h->cluster_bits;
	uint64_t l1_idx = cluster >> q->l2_bits;
	uint64_t l2_idx = cluster & ((1ull << q->l2_bits) - 1);
	uint64_t in_cluster = off & (h->cluster_size - 1);
	uint64_t l1e, l2off, entry, n, per_l2 = 1ull << q->l2_bits;
	uint64_t span;

	if (win_load(&q->l1, img->io, h->l1_off, h->l1_size, 8, l1_idx,
	    "L1 table", err) != 0)
		return -1;
	l1e = get_be64(q->l1.buf + (l1_idx - q->l1.first) * 8);
	l2off = l1e & QCOW2_OFFSET_MASK;
	/* The rest of this L2 table's range, from off. */
	span = ((per_l2 - l2_idx) << h->cluster_bits) - in_cluster;
	if (l2off == 0) {
		memset(e, 0, sizeof(*e));
		e->kind = EXTENT_UNALLOC;
		e->len = span < len ? span : len;
		return 0;
	}
	if (check_host_off(h, l2off, "L2 table", err) != 0 ||
	    win_load(&q->l2, img->io, l2off, per_l2, 8, l2_idx, "L2 table",
	    err) != 0)
		return -1;
	entry = get_be64(q->l2.buf + (l2_idx - q->l2.first) * 8);
	l2_extent(q, entry, in_cluster, e);
	if (e->kind == EXTENT_DATA && check_host_off(h, entry &
	    QCOW2_OFFSET_MASK, "Data cluster", err) != 0)
		return -1;
	e->len = h->cluster_size - in_cluster;
	/* Extend over following entries of the same kind in the window. */
	for (n = 1; e->len < len && e->kind != EXTENT_COMPRESSED &&
	    l2_idx + n - q->l2.first < q->l2.count; n++) {
		entry = get_be64(q->l2.buf + (l2_idx + n - q->l2.first) * 8);
		if (!l2_continues(q, e, entry, n))
			break;
		e->len += h->cluster_size;
	}
	if (e->len > len)
		e->len = len;
	return 0;
}

/*
 * The csize bytes of the file at coff, through the read-ahead window,
 * which is filled only while the reads go forward through the file: a
 * scattered reader pays for no more than it reads.  The window may hold
 * stale bytes of free or metadata clusters, but a live compressed
 * cluster's bytes never change while its entry points at them: writers
 * only ever fill clusters whose refcount was 0, and image_forget()
 * empties the window when the layout may have changed.
 */
static const uint8_t *
compressed_bytes(struct image *img, uint64_t coff, uint64_t csize,
    struct fmt_err *err)
{
	struct qcow2_map *q = &img->u.q;
	bool forward = q->cin_next != 0 && coff + SECTOR >= q->cin_next &&
	    coff < q->cin_next + SECTOR;

	if (csize > q->cin_len || coff < q->cin_off ||
	    coff - q->cin_off > q->cin_len - csize) {
		q->cin_len = 0;
		if (img->io->read(img->io->ctx, coff, q->cin,
		    (size_t)(forward ? q->cin_cap : csize)) != 0) {
			fmt_seterr(err, "Could not read compressed cluster");
			return NULL;
		}
		q->cin_off = coff;
		q->cin_len = forward ? q->cin_cap : csize;
	}
	q->cin_next = coff + csize;
	return q->cin + (coff - q->cin_off);
}

static int
qcow2_read_compressed(struct image *img, const struct extent *e,
    uint8_t *buf, uint64_t len, struct fmt_err *err)
{
	struct qcow2_map *q = &img->u.q;
	uint64_t cs = q->h.cluster_size;
	uint64_t coff = e->centry & q->coff_mask;
	uint64_t sectors = ((e->centry >> q->csize_shift) & q->csize_mask) + 1;
	uint64_t csize = sectors * SECTOR - (coff & (SECTOR - 1));
	const uint8_t *in;

	/* Callers refuse such images first; this is the backstop. */
	if (q->h.compression != IMG_COMPRESSION_ZLIB) {
		fmt_seterr(err, "zstd-compressed clusters are not supported");
		return -1;
	}
	if (q->cbuf == NULL) {
		/* csize is at most two clusters (csize_mask). */
		q->cin_cap = 2 * cs > COMPRESSED_AHEAD ? 2 * cs :
		    COMPRESSED_AHEAD;
		q->cbuf = fmt_alloc(img->arena, (size_t)cs, 8);
		q->cin = fmt_alloc(img->arena, (size_t)q->cin_cap, 8);
		q->cin_len = 0;
		q->cin_next = 0;
		if (q->cbuf == NULL || q->cin == NULL) {
			fmt_seterr(err, "out of memory for compressed clusters");
			return -1;
		}
	}
	if (q->centry != e->centry) {
		q->centry = 0;
		if ((in = compressed_bytes(img, coff, csize, err)) == NULL)
			return -1;
		if (inflate_raw(in, (size_t)csize, q->cbuf, (size_t)cs) != 0) {
			fmt_seterr(err, "Could not decompress the cluster at "
			    "%#llx; the image is corrupt",
			    (unsigned long long)coff);
			return -1;
		}
		q->centry = e->centry;
	}
	if (e->coff > cs || len > cs - e->coff) {
		fmt_seterr(err, "compressed read outside its cluster");
		return -1;
	}
	memcpy(buf, q->cbuf + e->coff, (size_t)len);
	return 0;
}

int
qcow2_entry_at(struct image *img, uint64_t cluster, uint64_t *entry,
    struct fmt_err *err)
{
	struct qcow2_map *q = &img->u.q;
	const struct qcow2_hdr *h = &q->h;
	uint64_t l1_idx = cluster >> q->l2_bits;
	uint64_t l2_idx = cluster & ((1ull << q->l2_bits) - 1);
	uint64_t l2off;

	if (img->fmt != INSTAR_FMT_QCOW2 || l1_idx >= h->l1_size) {
		fmt_seterr(err, "cluster outside the image");
		return -1;
	}
	if (win_load(&q->l1, img->io, h->l1_off, h->l1_size, 8, l1_idx,
	    "L1 table", err) != 0)
		return -1;
	l2off = get_be64(q->l1.buf + (l1_idx - q->l1.first) * 8) &
	    QCOW2_OFFSET_MASK;
	*entry = 0;
	if (l2off == 0)
		return 0;
	if (check_host_off(h, l2off, "L2 table", err) != 0 ||
	    win_load(&q->l2, img->io, l2off, 1ull << q->l2_bits, 8, l2_idx,
	    "L2 table", err) != 0)
		return -1;
	*entry = get_be64(q->l2.buf + (l2_idx - q->l2.first) * 8);
	return 0;
}

void
image_forget(struct image *img)
{
	if (img->fmt == INSTAR_FMT_QCOW2) {
		img->u.q.l1.count = 0;
		img->u.q.l2.count = 0;
		img->u.q.centry = 0;
		img->u.q.cin_len = 0;
		img->u.q.cin_next = 0;
	} else if (img->fmt == INSTAR_FMT_VMDK) {
		img->u.v.gd.count = 0;
		img->u.v.gt.count = 0;
	}
}

/* ---- VMDK monolithicSparse ---- */

static int
vmdk_map_open(struct image *img, struct fmt_err *err)
{
	struct vmdk_map *v = &img->u.v;
	struct vmdk_geom g;

	if (vmdk_parse(img->io, &g, &img->info, err) != 0)
		return -1;
	if (g.compressed || strcmp(img->info.create_type,
	    "monolithicSparse") != 0) {
		fmt_seterr(err, "VMDK subformat '%s' is not supported",
		    img->info.create_type);
		return -1;
	}
	v->grain_size = g.grain_size;
	v->num_gtes = g.num_gtes;
	v->gd_off = g.gd_off;
	v->gd_entries = g.gd_entries;
	v->zero_grains = g.zero_grains;
	img->size = img->info.virtual_size;
	return win_setup(&v->gd, img->arena, 4, err) != 0 ||
	    win_setup(&v->gt, img->arena, 4, err) != 0 ? -1 : 0;
}

static void
gte_extent(const struct vmdk_map *v, uint32_t gte, struct extent *e)
{
	memset(e, 0, sizeof(*e));
	if (gte == 0)
		e->kind = EXTENT_UNALLOC;
	else if (gte == 1 && v->zero_grains)
		e->kind = EXTENT_ZERO;
	else {
		e->kind = EXTENT_DATA;
		e->host_off = (uint64_t)gte * SECTOR;
	}
}

static int
vmdk_map_at(struct image *img, uint64_t off, uint64_t len, struct extent *e,
    struct fmt_err *err)
{
	struct vmdk_map *v = &img->u.v;
	uint64_t grain = off / v->grain_size;
	uint64_t gd_idx = grain / v->num_gtes;
	uint64_t gt_idx = grain % v->num_gtes;
	uint64_t in_grain = off % v->grain_size;
	uint64_t gt_off, n;
	struct extent next;

	if (gd_idx >= v->gd_entries) {
		fmt_seterr(err, "VMDK read beyond the grain directory");
		return -1;
	}
	if (win_load(&v->gd, img->io, v->gd_off, v->gd_entries, 4, gd_idx,
	    "grain directory", err) != 0)
		return -1;
	gt_off = (uint64_t)get_le32(v->gd.buf + (gd_idx - v->gd.first) * 4) *
	    SECTOR;
	if (gt_off == 0) {
		memset(e, 0, sizeof(*e));
		e->kind = EXTENT_UNALLOC;
		e->len = (v->num_gtes - gt_idx) * v->grain_size - in_grain;
	} else {
		if (win_load(&v->gt, img->io, gt_off, v->num_gtes, 4, gt_idx,
		    "grain table", err) != 0)
			return -1;
		gte_extent(v, get_le32(v->gt.buf + (gt_idx - v->gt.first) * 4),
		    e);
		if (e->kind == EXTENT_DATA)
			e->host_off += in_grain;
		e->len = v->grain_size - in_grain;
		for (n = 1; e->len < len &&
		    gt_idx + n - v->gt.first < v->gt.count; n++) {
			gte_extent(v, get_le32(v->gt.buf +
			    (gt_idx + n - v->gt.first) * 4), &next);
			if (next.kind != e->kind || (e->kind == EXTENT_DATA &&
			    next.host_off != e->host_off + e->len))
				break;
			e->len += v->grain_size;
		}
	}
	if (e->len > len)
		e->len = len;
	return 0;
}

/* ---- any format ---- */

int
image_open(struct image *img, const struct fmt_io *io, uint32_t fmt,
    struct fmt_arena *arena, struct fmt_err *err)
{
	memset(img, 0, sizeof(*img));
	img->io = io;
	img->fmt = fmt;
	img->arena = arena;
	switch (fmt) {
	case INSTAR_FMT_QCOW2:
		return qcow2_map_open(img, err);
	case INSTAR_FMT_VMDK:
		return vmdk_map_open(img, err);
	case INSTAR_FMT_RAW:
		if (raw_info(io, &img->info, err) != 0)
			return -1;
		img->size = img->info.virtual_size;
		return 0;
	default:
		fmt_seterr(err, "unknown image format");
		return -1;
	}
}

int
image_map(struct image *img, uint64_t off, uint64_t len, struct extent *e,
    struct fmt_err *err)
{
	if (len == 0 || off > img->size || len > img->size - off) {
		fmt_seterr(err, "image map outside the image");
		return -1;
	}
	switch (img->fmt) {
	case INSTAR_FMT_QCOW2:
		return qcow2_map_at(img, off, len, e, err);
	case INSTAR_FMT_VMDK:
		return vmdk_map_at(img, off, len, e, err);
	default:
		memset(e, 0, sizeof(*e));
		e->kind = EXTENT_DATA;
		e->host_off = off;
		e->len = len;
		return 0;
	}
}

int
image_read_extent(struct image *img, const struct extent *e, uint8_t *buf,
    uint64_t len, struct fmt_err *err)
{
	switch (e->kind) {
	case EXTENT_DATA:
		if (e->host_off > (uint64_t)INT64_MAX - len) {
			fmt_seterr(err, "data offset out of range");
			return -1;
		}
		if (img->io->read(img->io->ctx, e->host_off, buf,
		    (size_t)len) != 0) {
			fmt_seterr(err, "Could not read image data");
			return -1;
		}
		return 0;
	case EXTENT_COMPRESSED:
		return qcow2_read_compressed(img, e, buf, len, err);
	default:
		memset(buf, 0, (size_t)len);
		return 0;
	}
}

/* ---- chains ---- */

/*
 * qemu reads through a VMDK only into a VMDK parent whose CID is the
 * one the child recorded; anything else means the parent changed after
 * the child was made, and qemu fails the read (EINVAL).  So does instar.
 */
static int
check_vmdk_parent(const struct image *child, const struct image *parent,
    struct fmt_err *err)
{
	if (parent->fmt != INSTAR_FMT_VMDK) {
		fmt_seterr(err, "Could not read through a VMDK image into a "
		    "parent that is not a VMDK image");
		return -1;
	}
	if (child->info.vmdk_parent_cid != parent->info.vmdk_cid) {
		fmt_seterr(err, "Could not read through a VMDK image: its "
		    "parentCID %x is not its parent's CID %x (the parent "
		    "changed after it)", child->info.vmdk_parent_cid,
		    parent->info.vmdk_cid);
		return -1;
	}
	return 0;
}

int
chain_check_links(const struct chain *c, struct fmt_err *err)
{
	uint32_t i;

	for (i = 0; i + 1 < c->n; i++)
		if (c->layers[i]->fmt == INSTAR_FMT_VMDK &&
		    check_vmdk_parent(c->layers[i], c->layers[i + 1], err) != 0)
			return -1;
	return 0;
}

int
chain_map(const struct chain *c, uint64_t off, uint64_t len,
    struct chain_extent *ce, struct fmt_err *err)
{
	uint32_t i;

	memset(ce, 0, sizeof(*ce));
	for (i = 0; i < c->n; i++) {
		struct image *img = c->layers[i];

		/* Past a layer's end its overlay reads zeros, whatever lies
		 * below: qemu's block layer zero-fills there. */
		if (off >= img->size) {
			memset(&ce->e, 0, sizeof(ce->e));
			ce->e.kind = EXTENT_ZERO;
			ce->e.len = len;
			ce->layer = (int)i;
			return 0;
		}
		if (len > img->size - off)
			len = img->size - off;
		if (image_map(img, off, len, &ce->e, err) != 0)
			return -1;
		if (ce->e.kind != EXTENT_UNALLOC) {
			ce->layer = (int)i;
			return 0;
		}
		len = ce->e.len;
	}
	memset(&ce->e, 0, sizeof(ce->e));
	ce->e.kind = EXTENT_ZERO;
	ce->e.len = len;
	ce->layer = -1;
	return 0;
}

int
chain_read(const struct chain *c, uint64_t off, uint8_t *buf, uint64_t len,
    struct fmt_err *err)
{
	struct chain_extent ce;

	while (len > 0) {
		if (chain_map(c, off, len, &ce, err) != 0)
			return -1;
		if (ce.layer < 0)
			memset(buf, 0, (size_t)ce.e.len);
		else if (image_read_extent(c->layers[ce.layer], &ce.e, buf,
		    ce.e.len, err) != 0)
			return -1;
		buf += ce.e.len;
		off += ce.e.len;
		len -= ce.e.len;
	}
	return 0;
}
