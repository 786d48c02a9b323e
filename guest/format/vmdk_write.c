/*
 * The monolithicSparse VMDK writer: see vmdk_write.h for the order of
 * writes.  Every table and directory offset comes from the image and is
 * checked against the file before it is read or written; a grain entry
 * that points into the header area is refused rather than written.
 */
#include "vmdk_write.h"

#define SECTOR			512ull
/* Grain entries are 32-bit sector numbers: no byte at or past this. */
#define VMDK_FILE_MAX		(SECTOR << 32)
#define GTE_ZERO		1u
/* Batch sizes: what is queued between two commits. */
#define UPD_CAP			16384
#define NGT_CAP			64
#define DIR_WIN_ENTRIES		1024
/* Emptying reads and clears this much of contiguous tables at once. */
#define EMPTY_SPAN_BYTES	(256u * 1024)

/* Whether [off, off + len) lies in the file, past its header sector. */
static bool
in_file(const struct vmdk_writer *w, uint64_t off, uint64_t len)
{
	return off >= SECTOR && off <= w->file_end &&
	    len <= w->file_end - off;
}

static int table_of(struct vmdk_writer *, uint64_t, uint32_t *, uint32_t *,
    struct fmt_err *);

/*
 * Every directory entry checked before the first write, so that a
 * damaged directory refuses the job with nothing changed rather than
 * half way through it.
 */
static int
check_directories(struct vmdk_writer *w, struct fmt_err *err)
{
	uint32_t sector, rsector;
	uint64_t i;

	for (i = 0; i < w->g.gd_entries; i++)
		if (table_of(w, i, &sector, &rsector, err) != 0)
			return -1;
	return 0;
}

int
vmdkw_open(struct vmdk_writer *w, const struct fmt_io *io, bool backed,
    struct fmt_arena *arena, struct fmt_err *err)
{
	struct instar_image_info info;
	uint64_t dir_bytes;

	memset(w, 0, sizeof(*w));
	w->io = io;
	w->arena = arena;
	w->backed = backed;
	if (vmdk_parse(io, &w->g, &info, err) != 0)
		return -1;
	if (w->g.compressed || strcmp(info.create_type,
	    "monolithicSparse") != 0) {
		fmt_seterr(err, "VMDK subformat '%s' cannot be written",
		    info.create_type);
		return -1;
	}
	if (w->g.grain_size > VMDKW_GRAIN_MAX) {
		fmt_seterr(err, "VMDK grains of %llu bytes are too big to "
		    "write (at most %u)", (unsigned long long)w->g.grain_size,
		    VMDKW_GRAIN_MAX);
		return -1;
	}
	w->file_end = io->size;
	if (w->file_end > VMDK_FILE_MAX) {
		fmt_seterr(err, "VMDK file is bigger than its grain entries "
		    "can address");
		return -1;
	}
	w->gt_bytes = ((uint64_t)w->g.num_gtes * 4 + SECTOR - 1) &
	    ~(SECTOR - 1);
	/* vmdk_parse() bounded the entries to 32 Mi: no overflow here. */
	dir_bytes = w->g.gd_entries * 4;
	if (!in_file(w, w->g.gd_off, dir_bytes) || (w->g.rgd_off != 0 &&
	    !in_file(w, w->g.rgd_off, dir_bytes))) {
		fmt_seterr(err, "VMDK grain directory lies outside the file");
		return -1;
	}
	w->gd.off = w->g.gd_off;
	w->rgd.off = w->g.rgd_off;
	w->gd.buf = fmt_alloc(arena, DIR_WIN_ENTRIES * 4, 8);
	w->rgd.buf = fmt_alloc(arena, DIR_WIN_ENTRIES * 4, 8);
	w->gt = fmt_alloc(arena, (size_t)w->gt_bytes, 8);
	w->scratch = fmt_alloc(arena, (size_t)w->gt_bytes, 8);
	w->upd = fmt_alloc(arena, UPD_CAP * sizeof(*w->upd), 8);
	w->ngt = fmt_alloc(arena, NGT_CAP * sizeof(*w->ngt), 8);
	if (w->gd.buf == NULL || w->rgd.buf == NULL || w->gt == NULL ||
	    w->scratch == NULL || w->upd == NULL || w->ngt == NULL) {
		fmt_seterr(err, "out of memory for the VMDK writer");
		return -1;
	}
	return check_directories(w, err);
}

/* Directory entry idx (a table's sector; 0: none) through a window. */
static int
dir_entry(struct vmdk_writer *w, struct vmdk_dir_win *d, uint64_t idx,
    uint32_t *sector, struct fmt_err *err)
{
	uint64_t n;

	if (d->count == 0 || idx < d->first || idx >= d->first + d->count) {
		d->first = idx - idx % DIR_WIN_ENTRIES;
		n = w->g.gd_entries - d->first;
		if (n > DIR_WIN_ENTRIES)
			n = DIR_WIN_ENTRIES;
		d->count = 0;
		if (fmt_io_read(w->io, d->off + d->first * 4, d->buf,
		    (size_t)n * 4, err) != 0)
			return -1;
		d->count = (uint32_t)n;
	}
	*sector = get_le32(d->buf + (idx - d->first) * 4);
	return 0;
}

static int
check_table(const struct vmdk_writer *w, uint32_t sector,
    struct fmt_err *err)
{
	if (!in_file(w, (uint64_t)sector * SECTOR, w->gt_bytes)) {
		fmt_seterr(err, "VMDK grain table at sector %u lies outside "
		    "the file", sector);
		return -1;
	}
	return 0;
}

/* The pending new table for directory entry gd_idx, or NULL. */
static const struct vmdk_new_gt *
new_table(const struct vmdk_writer *w, uint64_t gd_idx)
{
	size_t i;

	for (i = w->nngt; i > 0; i--)
		if (w->ngt[i - 1].gd_idx == gd_idx)
			return &w->ngt[i - 1];
	return NULL;
}

/* The grain table sectors of directory entry gd_idx; 0 when none. */
static int
table_of(struct vmdk_writer *w, uint64_t gd_idx, uint32_t *sector,
    uint32_t *rsector, struct fmt_err *err)
{
	const struct vmdk_new_gt *t = new_table(w, gd_idx);

	if (t != NULL) {
		*sector = t->sector;
		*rsector = t->rsector;
		return 0;
	}
	*rsector = 0;
	if (dir_entry(w, &w->gd, gd_idx, sector, err) != 0)
		return -1;
	if (w->g.rgd_off != 0 && dir_entry(w, &w->rgd, gd_idx, rsector,
	    err) != 0)
		return -1;
	/* A write through one directory must reach the other too. */
	if (w->g.rgd_off != 0 && (*sector == 0) != (*rsector == 0)) {
		fmt_seterr(err, "VMDK redundant grain directory does not "
		    "match the primary one at entry %llu",
		    (unsigned long long)gd_idx);
		return -1;
	}
	if ((*sector != 0 && check_table(w, *sector, err) != 0) ||
	    (*rsector != 0 && check_table(w, *rsector, err) != 0))
		return -1;
	return 0;
}

/* The grain's entry as the file holds it now (0 with no table). */
static int
lookup(struct vmdk_writer *w, uint64_t grain, uint32_t *gte,
    struct fmt_err *err)
{
	uint64_t gd_idx = grain / w->g.num_gtes, off;
	uint32_t sector, rsector;

	if (gd_idx >= w->g.gd_entries) {
		fmt_seterr(err, "VMDK write beyond the grain directory");
		return -1;
	}
	if (table_of(w, gd_idx, &sector, &rsector, err) != 0)
		return -1;
	*gte = 0;
	if (sector == 0 || new_table(w, gd_idx) != NULL)
		return 0;
	off = (uint64_t)sector * SECTOR;
	if (w->gt_off != off) {
		w->gt_off = 0;
		if (fmt_io_read(w->io, off, w->gt, (size_t)w->gt_bytes,
		    err) != 0)
			return -1;
		w->gt_off = off;
	}
	*gte = get_le32(w->gt + (grain % w->g.num_gtes) * 4);
	return 0;
}

/* Whether an entry names a grain the image holds. */
static bool
holds(const struct vmdk_writer *w, uint32_t gte)
{
	return gte > GTE_ZERO || (gte == GTE_ZERO && !w->g.zero_grains);
}

/* Where a held grain lies, refused if that is not grain space. */
static int
held_at(const struct vmdk_writer *w, uint32_t gte, uint64_t *host,
    struct fmt_err *err)
{
	*host = (uint64_t)gte * SECTOR;
	if (*host < w->g.grain_off || !in_file(w, *host, w->g.grain_size)) {
		fmt_seterr(err, "VMDK grain at sector %u lies outside the "
		    "grain area; the image is corrupt", gte);
		return -1;
	}
	return 0;
}

/* len new bytes at the end of the file, aligned as asked. */
static int
alloc(struct vmdk_writer *w, uint64_t len, uint64_t align, uint64_t *off,
    struct fmt_err *err)
{
	uint64_t at = w->file_end > w->g.grain_off ? w->file_end :
	    w->g.grain_off;

	if (at > VMDK_FILE_MAX) {
		fmt_seterr(err, "VMDK file cannot grow past 2 TiB");
		return -1;
	}
	at += (align - 1);
	at -= at % align;
	if (at > VMDK_FILE_MAX || len > VMDK_FILE_MAX - at) {
		fmt_seterr(err, "VMDK file cannot grow past 2 TiB");
		return -1;
	}
	*off = at;
	w->file_end = at + len;
	return 0;
}

/* New, zeroed grain tables for directory entry gd_idx. */
static int
add_tables(struct vmdk_writer *w, uint64_t gd_idx, struct fmt_err *err)
{
	struct vmdk_new_gt *t;
	uint64_t off, roff = 0;

	if (w->nngt == NGT_CAP && vmdkw_commit(w, err) != 0)
		return -1;
	memset(w->scratch, 0, (size_t)w->gt_bytes);
	if (alloc(w, w->gt_bytes, SECTOR, &off, err) != 0 ||
	    fmt_io_write(w->io, off, w->scratch, (size_t)w->gt_bytes, err) != 0)
		return -1;
	if (w->g.rgd_off != 0 && (alloc(w, w->gt_bytes, SECTOR, &roff,
	    err) != 0 || fmt_io_write(w->io, roff, w->scratch,
	    (size_t)w->gt_bytes, err) != 0))
		return -1;
	t = &w->ngt[w->nngt++];
	t->gd_idx = gd_idx;
	t->sector = (uint32_t)(off / SECTOR);
	t->rsector = (uint32_t)(roff / SECTOR);
	return 0;
}

/* Queue grain's new entry; its content is written already. */
static int
queue(struct vmdk_writer *w, uint64_t grain, uint32_t gte,
    struct fmt_err *err)
{
	uint64_t gd_idx = grain / w->g.num_gtes;
	uint32_t sector, rsector;

	if (w->nupd == UPD_CAP && vmdkw_commit(w, err) != 0)
		return -1;
	if (table_of(w, gd_idx, &sector, &rsector, err) != 0)
		return -1;
	if (sector == 0 && add_tables(w, gd_idx, err) != 0)
		return -1;
	w->upd[w->nupd].grain = grain;
	w->upd[w->nupd].gte = gte;
	w->nupd++;
	return 0;
}

static int
check_order(struct vmdk_writer *w, uint64_t grain, uint64_t n,
    struct fmt_err *err)
{
	if (grain < w->next_grain || n > UINT64_MAX - grain) {
		fmt_seterr(err, "VMDK grains written out of order");
		return -1;
	}
	w->next_grain = grain + n;
	return 0;
}

/* Write n grains at off, from data or host-side from src. */
static int
store(struct vmdk_writer *w, uint64_t off, uint64_t n, const uint8_t *data,
    const struct fmt_io *src, uint64_t src_off, struct fmt_err *err)
{
	uint64_t len = n * w->g.grain_size;

	if (data != NULL) {
		if (fmt_write_data(w->io, off, data, (size_t)len) != 0) {
			fmt_seterr(err, "Could not write the VMDK image: I/O "
			    "error");
			return -1;
		}
		return 0;
	}
	if (w->io->copy(w->io->ctx, off, src, src_off, len) != 0) {
		fmt_seterr(err, "Could not write the VMDK image: I/O error");
		return -1;
	}
	return 0;
}

/* Grains [grain, grain + n) from data or src: in place, or new space. */
static int
put(struct vmdk_writer *w, uint64_t grain, uint64_t n, const uint8_t *data,
    const struct fmt_io *src, uint64_t src_off, struct fmt_err *err)
{
	uint64_t gs = w->g.grain_size, i = 0, k, j, host;
	uint32_t gte;

	if (check_order(w, grain, n, err) != 0)
		return -1;
	while (i < n) {
		if (lookup(w, grain + i, &gte, err) != 0)
			return -1;
		if (holds(w, gte)) {
			if (held_at(w, gte, &host, err) != 0 ||
			    store(w, host, 1, data != NULL ? data + i * gs :
			    NULL, src, src_off + i * gs, err) != 0)
				return -1;
			i++;
			continue;
		}
		/* A run of grains the image lacks goes to new space at once. */
		for (k = 1; i + k < n; k++) {
			if (lookup(w, grain + i + k, &gte, err) != 0)
				return -1;
			if (holds(w, gte))
				break;
		}
		if (alloc(w, k * gs, gs, &host, err) != 0 ||
		    store(w, host, k, data != NULL ? data + i * gs : NULL, src,
		    src_off + i * gs, err) != 0)
			return -1;
		for (j = 0; j < k; j++)
			if (queue(w, grain + i + j,
			    (uint32_t)((host + j * gs) / SECTOR), err) != 0)
				return -1;
		i += k;
	}
	return 0;
}

int
vmdkw_put_data(struct vmdk_writer *w, uint64_t grain, uint64_t n,
    const uint8_t *data, struct fmt_err *err)
{
	if (put(w, grain, n, data, NULL, 0, err) != 0)
		return -1;
	w->grains_data += n;
	return 0;
}

int
vmdkw_put_copy(struct vmdk_writer *w, uint64_t grain, uint64_t n,
    const struct fmt_io *src, uint64_t src_off, struct fmt_err *err)
{
	if (src_off > UINT64_MAX - n * w->g.grain_size) {
		fmt_seterr(err, "VMDK copy source out of range");
		return -1;
	}
	if (put(w, grain, n, NULL, src, src_off, err) != 0)
		return -1;
	w->grains_data += n;
	return 0;
}

static int
need_zeros(struct vmdk_writer *w, struct fmt_err *err)
{
	if (w->zeros == NULL) {
		w->zeros = fmt_alloc(w->arena, (size_t)w->g.grain_size, 4096);
		if (w->zeros == NULL) {
			fmt_seterr(err, "out of memory for a zero grain");
			return -1;
		}
		memset(w->zeros, 0, (size_t)w->g.grain_size);
	}
	return 0;
}

/*
 * A held grain is zeroed in place, which keeps its space in use rather
 * than leaking it (VMDK cannot free space); a missing one becomes a zero
 * entry where the header allows them, else nothing if unallocated reads
 * as zeros anyway, else a grain of zeros.
 */
int
vmdkw_put_zero(struct vmdk_writer *w, uint64_t grain, struct fmt_err *err)
{
	uint32_t gte;

	if (lookup(w, grain, &gte, err) != 0)
		return -1;
	if (!holds(w, gte) && (gte == GTE_ZERO || (!w->g.zero_grains &&
	    !w->backed))) {
		/* Already reads as zeros. */
		return check_order(w, grain, 1, err);
	}
	if (holds(w, gte) || !w->g.zero_grains) {
		if (need_zeros(w, err) != 0)
			return -1;
		if (put(w, grain, 1, w->zeros, NULL, 0, err) != 0)
			return -1;
		w->grains_zero++;
		return 0;
	}
	if (check_order(w, grain, 1, err) != 0 ||
	    queue(w, grain, GTE_ZERO, err) != 0)
		return -1;
	w->grains_zero++;
	return 0;
}

/* Patch the entries of one table (sector) from upd[from, to). */
static int
patch_table(struct vmdk_writer *w, uint32_t sector, size_t from, size_t to,
    struct fmt_err *err)
{
	uint64_t off = (uint64_t)sector * SECTOR;
	size_t i;

	if (fmt_io_read(w->io, off, w->scratch, (size_t)w->gt_bytes, err) != 0)
		return -1;
	for (i = from; i < to; i++)
		store_le32(w->scratch + (w->upd[i].grain % w->g.num_gtes) * 4,
		    w->upd[i].gte);
	return fmt_io_write(w->io, off, w->scratch, (size_t)w->gt_bytes, err);
}

static int
write_entries(struct vmdk_writer *w, struct fmt_err *err)
{
	size_t from, to;
	uint64_t gd_idx;
	uint32_t sector, rsector;

	for (from = 0; from < w->nupd; from = to) {
		gd_idx = w->upd[from].grain / w->g.num_gtes;
		for (to = from + 1; to < w->nupd &&
		    w->upd[to].grain / w->g.num_gtes == gd_idx; to++)
			;
		if (table_of(w, gd_idx, &sector, &rsector, err) != 0)
			return -1;
		if (patch_table(w, sector, from, to, err) != 0 ||
		    (rsector != 0 && patch_table(w, rsector, from, to,
		    err) != 0))
			return -1;
	}
	return 0;
}

static int
write_directories(struct vmdk_writer *w, struct fmt_err *err)
{
	uint8_t e[4];
	size_t i;

	for (i = 0; i < w->nngt; i++) {
		store_le32(e, w->ngt[i].sector);
		if (fmt_io_write(w->io, w->g.gd_off + w->ngt[i].gd_idx * 4, e,
		    4, err) != 0)
			return -1;
		if (w->g.rgd_off == 0)
			continue;
		store_le32(e, w->ngt[i].rsector);
		if (fmt_io_write(w->io, w->g.rgd_off + w->ngt[i].gd_idx * 4, e,
		    4, err) != 0)
			return -1;
	}
	return 0;
}

int
vmdkw_commit(struct vmdk_writer *w, struct fmt_err *err)
{
	if (w->nupd == 0 && w->nngt == 0)
		return 0;
	if (fmt_io_flush(w->io, err) != 0 || write_entries(w, err) != 0 ||
	    fmt_io_flush(w->io, err) != 0)
		return -1;
	if (w->nngt != 0 && (write_directories(w, err) != 0 ||
	    fmt_io_flush(w->io, err) != 0))
		return -1;
	w->nupd = 0;
	w->nngt = 0;
	w->gd.count = 0;
	w->rgd.count = 0;
	w->gt_off = 0;
	if (w->on_commit != NULL)
		w->on_commit(w->on_commit_arg);
	return 0;
}

/* ---- the descriptor ---- */

/* Where the descriptor may be rewritten: qemu's place, within the
 * sectors the header gives it and before any table or grain. */
static int
desc_room(const struct vmdk_writer *w, size_t *room, struct fmt_err *err)
{
	uint64_t end, limit = w->g.grain_off;

	if (w->g.desc_sector != VMDK_DESC_OFF / SECTOR ||
	    w->g.desc_sectors == 0 ||
	    w->g.desc_sectors > VMDK_DESC_LEN / SECTOR) {
		fmt_seterr(err, "VMDK descriptor is not where qemu reads it "
		    "(sector 1, at most 20 sectors)");
		return -1;
	}
	end = VMDK_DESC_OFF + w->g.desc_sectors * SECTOR;
	if (w->g.gd_off < limit)
		limit = w->g.gd_off;
	if (w->g.rgd_off != 0 && w->g.rgd_off < limit)
		limit = w->g.rgd_off;
	if (end > limit) {
		fmt_seterr(err, "VMDK descriptor overlaps the grain "
		    "directories");
		return -1;
	}
	*room = (size_t)(end - VMDK_DESC_OFF);
	return 0;
}

struct text {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	bool	 over;
};

static void
text_add(struct text *t, const char *s, size_t n)
{
	if (t->over || n >= t->cap - t->len) {
		t->over = true;
		return;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

static bool
starts(const char *line, size_t n, const char *key)
{
	size_t k = strlen(key);

	return n >= k && memcmp(line, key, k) == 0;
}

/* One rewritten line: key, value, and the line's own ending. */
static void
add_hex_line(struct text *t, const char *key, uint32_t v, bool cr)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%s%x%s\n", key, v, cr ? "\r" :
	    "");

	text_add(t, tmp, (size_t)n);
}

static void
add_hint_line(struct text *t, const struct vmdk_relink *l, bool cr)
{
	text_add(t, "parentFileNameHint=\"", 20);
	text_add(t, l->hint, l->hint_len);
	text_add(t, cr ? "\"\r\n" : "\"\n", cr ? 3 : 2);
}

/*
 * The new text from the old, line by line.  The hint goes where qemu
 * puts it, right after createType, taking the empty line qemu leaves
 * there when there is no parent; detaching leaves that empty line.
 */
static int
rewrite(const char *old, const struct vmdk_relink *l, struct text *t,
    struct fmt_err *err)
{
	const char *p = old, *nl;
	size_t n;
	bool cr, empty, want_hint = l->set_parent && l->hint_len != 0;
	bool slot = false, saw_cid = false, saw_pcid = false;

	for (; *p != '\0'; p += n + (nl != NULL)) {
		for (n = 0; p[n] != '\0' && p[n] != '\n'; n++)
			;
		nl = p[n] == '\n' ? p + n : NULL;
		cr = n > 0 && p[n - 1] == '\r';
		empty = n == (cr ? 1u : 0u);
		saw_cid |= starts(p, n, "CID=");
		saw_pcid |= starts(p, n, "parentCID=");
		if (slot) {
			/* The line after createType: the hint's place. */
			slot = false;
			add_hint_line(t, l, cr);
			want_hint = false;
			if (empty)
				continue;
		}
		if (starts(p, n, "CID=") && l->set_cid)
			add_hex_line(t, "CID=", l->cid, cr);
		else if (starts(p, n, "parentCID=") && l->set_parent)
			add_hex_line(t, "parentCID=", l->parent_cid, cr);
		else if (starts(p, n, "parentFileNameHint=") &&
		    l->set_parent) {
			if (want_hint) {
				add_hint_line(t, l, cr);
				want_hint = false;
			} else if (l->hint_len == 0)
				text_add(t, cr ? "\r\n" : "\n", cr ? 2 : 1);
		} else {
			text_add(t, p, n);
			if (nl != NULL)
				text_add(t, "\n", 1);
		}
		slot = want_hint && starts(p, n, "createType=");
	}
	if (want_hint)
		add_hint_line(t, l, false);
	if (!saw_cid || !saw_pcid) {
		fmt_seterr(err, "VMDK descriptor has no %s line",
		    saw_cid ? "parentCID" : "CID");
		return -1;
	}
	return 0;
}

static bool
hint_ok(const struct vmdk_relink *l)
{
	size_t i;

	for (i = 0; i < l->hint_len; i++)
		if (l->hint[i] == '"' || l->hint[i] == '\n' ||
		    l->hint[i] == '\r' || l->hint[i] == '\0')
			return false;
	return l->hint_len < INSTAR_NAME_MAX;
}

/* Scratch for one rewrite, lent by the arena and handed back. */
struct relink_scratch {
	char			 old[VMDK_DESC_LEN];
	char			 new[VMDK_DESC_LEN];
	struct instar_image_info before;
	struct instar_image_info after;
};

/* The new text must read back, the way qemu reads it, as meant. */
static int
verify(struct relink_scratch *s, const struct text *t,
    const struct vmdk_relink *l, struct fmt_err *err)
{
	const struct instar_image_info *b = &s->before, *a = &s->after;
	uint32_t want_cid = l->set_cid ? l->cid : b->vmdk_cid;
	uint32_t want_pcid = l->set_parent ? l->parent_cid :
	    b->vmdk_parent_cid;
	const char *want_hint = l->set_parent ? l->hint : b->backing_name;
	size_t hint_len = l->set_parent ? l->hint_len :
	    strlen(b->backing_name);

	memset(&s->after, 0, sizeof(s->after));
	if (vmdk_desc_parse(t->buf, t->len, &s->after, err) != 0)
		return -1;
	if (a->vmdk_cid != want_cid || a->vmdk_parent_cid != want_pcid ||
	    strlen(a->backing_name) != hint_len ||
	    memcmp(a->backing_name, want_hint, hint_len) != 0) {
		fmt_seterr(err, "VMDK descriptor cannot be rewritten so that "
		    "it reads back as meant");
		return -1;
	}
	return 0;
}

int
vmdkw_relink(struct vmdk_writer *w, const struct vmdk_relink *l,
    bool dry_run, struct fmt_err *err)
{
	size_t mark = w->arena->used;
	struct relink_scratch *s;
	struct text t;
	size_t room;
	int r = -1;

	if (l->set_parent && !hint_ok(l)) {
		fmt_seterr(err, "a VMDK descriptor cannot record a parent "
		    "name with quotes or line breaks in it");
		return -1;
	}
	if (desc_room(w, &room, err) != 0)
		return -1;
	if ((s = fmt_alloc(w->arena, sizeof(*s), 8)) == NULL) {
		fmt_seterr(err, "out of memory for the VMDK descriptor");
		return -1;
	}
	memset(s, 0, sizeof(*s));
	t.buf = s->new;
	t.cap = room;
	t.len = 0;
	t.over = false;
	if (fmt_io_read(w->io, VMDK_DESC_OFF, s->old, room, err) != 0)
		goto out;
	s->old[room - 1] = '\0';
	if (vmdk_desc_parse(s->old, strlen(s->old), &s->before, err) != 0 ||
	    rewrite(s->old, l, &t, err) != 0)
		goto out;
	if (t.over) {
		fmt_seterr(err, "the new VMDK descriptor does not fit its "
		    "%zu bytes", room);
		goto out;
	}
	if (verify(s, &t, l, err) != 0)
		goto out;
	if (!dry_run && (fmt_io_write(w->io, VMDK_DESC_OFF, t.buf, room,
	    err) != 0 ||
	    fmt_io_flush(w->io, err) != 0))
		goto out;
	r = 0;
 out:
	w->arena->used = mark;
	return r;
}

/* ---- emptying ---- */

/*
 * Clear the tables of directory entries [first, first + n), which lie
 * one after another from sector; counts what the primary ones held.
 */
static int
clear_span(struct vmdk_writer *w, uint32_t sector, uint64_t n,
    uint8_t *buf, uint64_t *held, struct fmt_err *err)
{
	uint64_t off = (uint64_t)sector * SECTOR, len = n * w->gt_bytes, i;
	bool any = false;

	if (fmt_io_read(w->io, off, buf, (size_t)len, err) != 0)
		return -1;
	for (i = 0; i < len; i += 4)
		if (get_le32(buf + i) != 0) {
			any = true;
			if (held != NULL)
				(*held)++;
		}
	if (!any)
		return 0;
	memset(buf, 0, (size_t)len);
	return fmt_io_write(w->io, off, buf, (size_t)len, err);
}

/* Clear every table one directory names; *end: past the last one. */
static int
clear_directory(struct vmdk_writer *w, struct vmdk_dir_win *d,
    uint8_t *buf, uint64_t *held, uint64_t *end, struct fmt_err *err)
{
	uint64_t per_span = EMPTY_SPAN_BYTES / w->gt_bytes, idx = 0, n;
	uint32_t first, s;

	while (idx < w->g.gd_entries) {
		if (dir_entry(w, d, idx, &first, err) != 0)
			return -1;
		if (first == 0) {
			idx++;
			continue;
		}
		/* Tables laid out back to back are read and cleared whole. */
		for (n = 1; idx + n < w->g.gd_entries && n < per_span; n++) {
			if (dir_entry(w, d, idx + n, &s, err) != 0)
				return -1;
			if ((uint64_t)s * SECTOR != (uint64_t)first * SECTOR +
			    n * w->gt_bytes)
				break;
		}
		if (!in_file(w, (uint64_t)first * SECTOR, n * w->gt_bytes)) {
			fmt_seterr(err, "VMDK grain table at sector %u lies "
			    "outside the file", first);
			return -1;
		}
		if (clear_span(w, first, n, buf, held, err) != 0)
			return -1;
		if ((uint64_t)first * SECTOR + n * w->gt_bytes > *end)
			*end = (uint64_t)first * SECTOR + n * w->gt_bytes;
		idx += n;
	}
	return 0;
}

int
vmdkw_make_empty(struct vmdk_writer *w, uint64_t *emptied,
    struct fmt_err *err)
{
	size_t mark = w->arena->used;
	uint64_t end = w->g.grain_off, dir_end;
	uint8_t *buf;
	int r = -1;

	*emptied = 0;
	if (vmdkw_commit(w, err) != 0)
		return -1;
	if (EMPTY_SPAN_BYTES < w->gt_bytes) {
		fmt_seterr(err, "VMDK grain tables too big to empty");
		return -1;
	}
	buf = fmt_alloc(w->arena, EMPTY_SPAN_BYTES, 4096);
	if (buf == NULL) {
		fmt_seterr(err, "out of memory for emptying the image");
		return -1;
	}
	dir_end = w->g.gd_off + w->g.gd_entries * 4;
	if (dir_end > end)
		end = dir_end;
	if (w->g.rgd_off != 0 && w->g.rgd_off + w->g.gd_entries * 4 > end)
		end = w->g.rgd_off + w->g.gd_entries * 4;
	if (clear_directory(w, &w->gd, buf, emptied, &end, err) != 0 ||
	    (w->g.rgd_off != 0 && clear_directory(w, &w->rgd, buf, NULL,
	    &end, err) != 0) || fmt_io_flush(w->io, err) != 0)
		goto out;
	/* Nothing past the last table is referenced any more. */
	end = (end + SECTOR - 1) & ~(SECTOR - 1);
	if (end < w->file_end) {
		if (w->io->truncate(w->io->ctx, end) != 0) {
			fmt_seterr(err, "Could not shrink the VMDK image: I/O "
			    "error");
			goto out;
		}
		w->file_end = end;
		if (fmt_io_flush(w->io, err) != 0)
			goto out;
	}
	w->gd.count = 0;
	w->rgd.count = 0;
	w->gt_off = 0;
	r = 0;
 out:
	w->arena->used = mark;
	return r;
}
