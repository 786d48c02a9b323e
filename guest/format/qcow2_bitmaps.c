/*
 * A qcow2 image's persistent dirty bitmaps, as far as opening the image
 * looks at them: qemu 7.2 loads every bitmap whenever it opens an image
 * (qcow2_load_dirty_bitmaps()), read-only or not, and refuses the image
 * if the bitmap directory, an entry or a bitmap table breaks a rule.
 * "info" then lists the directory (qcow2_get_bitmap_info_list()).
 *
 * The directory may be 64 MiB and the guest keeps none of it: it walks
 * the directory twice through a window, once as bitmap_list_load() does
 * and once as the load loop does, remembering only where each name is.
 */
#include "format.h"
#include "qcow2.h"

#define DIR_WIN_LEN	65536	/* holds any entry that passes the checks */
#define TABLE_BUF_LEN	65536
#define NAME_SET_MAX	(1u << 17)	/* twice MAX_BITMAPS, a power of two */
#define NAME_REL_MASK	((1u << 26) - 1)

/* Errors as qemu words them, error_setg_errno() adding strerror(). */
#define ERR_EIO		"Input/output error"
#define ERR_EINVAL	"Invalid argument"

struct dir {
	const struct fmt_io	*io;
	uint64_t		 off;	/* of the directory in the image */
	uint64_t		 size;
	uint8_t			*win;	/* a window on the directory */
	size_t			 win_cap;
	uint64_t		 base;	/* of the window in the directory */
	uint64_t		 have;	/* bytes in the window */
	bool			 valid;
};

/* One directory entry, decoded, and its name as qemu keeps it. */
struct entry {
	uint64_t	rel;		/* where it starts in the directory */
	uint64_t	table_off;
	uint32_t	table_size;
	uint32_t	flags;
	uint8_t		type;
	uint8_t		gran_bits;
	uint16_t	name_size;
	uint32_t	extra;
	uint16_t	name_len;	/* up to the first NUL */
	char		name[INSTAR_BITMAP_NAME_MAX + 1];
};

/* Static: the guest's stack is better kept small, and one job runs. */
static uint8_t dir_win[DIR_WIN_LEN];
/*
 * A namesake lies anywhere in the directory: it is read through a window
 * of its own, one entry long, so that looking it up costs one small read
 * and leaves the walk's window in place.
 */
static uint8_t lookup_win[BME_ENTRY_LEN + INSTAR_BITMAP_NAME_MAX];
static uint8_t table_buf[TABLE_BUF_LEN];
static uint32_t name_set[NAME_SET_MAX];	/* entry offset + 1, or 0 */

static int
dir_read(struct dir *d, uint64_t rel, void *dst, size_t len,
    struct fmt_err *err)
{
	uint64_t n;

	if (len > d->win_cap || rel > d->size || len > d->size - rel) {
		fmt_seterr(err, "Broken bitmap directory");
		return -1;
	}
	if (!d->valid || rel < d->base || rel - d->base > d->have ||
	    len > d->have - (rel - d->base)) {
		n = d->size - rel;
		if (n > d->win_cap)
			n = d->win_cap;
		if (d->io->read(d->io->ctx, d->off + rel, d->win,
		    (size_t)n) != 0) {
			fmt_seterr(err, "Failed to read bitmap directory: "
			    ERR_EIO);
			return -1;
		}
		d->base = rel;
		d->have = n;
		d->valid = true;
	}
	memcpy(dst, d->win + (rel - d->base), len);
	return 0;
}

static void
decode_entry(const uint8_t *b, uint64_t rel, struct entry *e)
{
	memset(e, 0, sizeof(*e));
	e->rel = rel;
	e->table_off = get_be64(b);
	e->table_size = get_be32(b + 8);
	e->flags = get_be32(b + 12);
	e->type = b[16];
	e->gran_bits = b[17];
	e->name_size = get_be16(b + 18);
	e->extra = get_be32(b + 20);
}

/*
 * Where the entry after e starts, as qemu's calc_dir_entry_size()
 * computes it: in an int, so huge extra data sizes wrap, even below e.
 */
static int64_t
entry_next(const struct entry *e)
{
	uint32_t size = (uint32_t)BME_ENTRY_LEN + e->name_size + e->extra;

	size = (size + 7) & ~7u;
	return (int64_t)e->rel + (int32_t)size;
}

/* The name field (after extra data qemu refuses anyway), up to max. */
static int
read_name(struct dir *d, struct entry *e, size_t max, struct fmt_err *err)
{
	size_t n = e->name_size < max ? e->name_size : max;

	if (dir_read(d, e->rel + BME_ENTRY_LEN, e->name, n, err) != 0)
		return -1;
	e->name[n] = '\0';
	e->name_len = (uint16_t)strnlen(e->name, n);
	return 0;
}

/* check_dir_entry(); len is the image's length as qemu has it. */
static bool
entry_ok(const struct entry *e, const struct qcow2_hdr *h, uint64_t len)
{
	uint64_t phys;

	if (e->table_size == 0 || e->table_off == 0 ||
	    (e->table_off & (h->cluster_size - 1)) != 0 ||
	    e->table_size > BME_MAX_TABLE_SIZE ||
	    e->gran_bits > BME_MAX_GRAN_BITS ||
	    e->gran_bits < BME_MIN_GRAN_BITS ||
	    (e->flags & BME_RESERVED_FLAGS) != 0 ||
	    e->name_size > INSTAR_BITMAP_NAME_MAX ||
	    e->type != BME_TYPE_DIRTY)
		return false;
	phys = (uint64_t)e->table_size * h->cluster_size;
	if (phys > BME_MAX_PHYS_SIZE)
		return false;
	/* A bitmap in use may be stale, sized before a resize. */
	return (e->flags & BME_FLAG_IN_USE) ||
	    len <= (phys * 8) << e->gran_bits;
}

static bool
put_entry(struct fmt_bitmaps *out, const struct entry *e)
{
	struct instar_bitmap_hdr bh;

	if (out->cap < out->len ||
	    sizeof(bh) + e->name_len > out->cap - out->len)
		return false;
	memset(&bh, 0, sizeof(bh));
	bh.granularity = 1u << e->gran_bits;
	bh.name_len = e->name_len;
	bh.flags = (uint8_t)(e->flags & (BME_FLAG_IN_USE | BME_FLAG_AUTO));
	memcpy(out->buf + out->len, &bh, sizeof(bh));
	memcpy(out->buf + out->len + sizeof(bh), e->name, e->name_len);
	out->len += sizeof(bh) + e->name_len;
	out->count++;
	return true;
}

/*
 * bitmap_list_load(): every entry is checked before any bitmap is
 * loaded.  Sets *full when out had no room for an entry.
 */
static int
list_load(struct dir *d, const struct qcow2_hdr *h, struct fmt_bitmaps *out,
    bool *full, struct fmt_err *err)
{
	static struct entry e;
	uint8_t b[BME_ENTRY_LEN];
	uint64_t rel = 0, len = h->size & ~511ull;
	uint32_t n = 0;
	int64_t next;

	while (rel < d->size) {
		if (d->size - rel < BME_ENTRY_LEN)
			goto broken;
		if (++n > h->nb_bitmaps) {
			fmt_seterr(err, "More bitmaps found than specified in "
			    "header extension");
			return -1;
		}
		if (dir_read(d, rel, b, sizeof(b), err) != 0)
			return -1;
		decode_entry(b, rel, &e);
		if ((next = entry_next(&e)) > (int64_t)d->size)
			goto broken;
		if (e.extra != 0) {
			fmt_seterr(err, "Bitmap extra data is not supported");
			return -1;
		}
		if (!entry_ok(&e, h, len)) {
			if (read_name(d, &e, INSTAR_ERROR_MAX, err) != 0)
				return -1;
			fmt_seterr(err, "Bitmap '%s' doesn't satisfy the "
			    "constraints", e.name);
			return -1;
		}
		if (read_name(d, &e, INSTAR_BITMAP_NAME_MAX, err) != 0)
			return -1;
		if (out != NULL && !*full && !put_entry(out, &e))
			*full = true;
		rel = (uint64_t)next;
	}
	if (n != h->nb_bitmaps) {
		fmt_seterr(err, "Less bitmaps found than specified in header "
		    "extension");
		return -1;
	}
	return 0;
broken:
	fmt_seterr(err, "Broken bitmap directory");
	return -1;
}

/* Re-read an entry list_load() has passed, with its whole name. */
static int
entry_at(struct dir *d, uint64_t rel, struct entry *e, struct fmt_err *err)
{
	uint8_t b[BME_ENTRY_LEN];

	if (dir_read(d, rel, b, sizeof(b), err) != 0)
		return -1;
	decode_entry(b, rel, e);
	return read_name(d, e, INSTAR_BITMAP_NAME_MAX, err);
}

static uint32_t
name_hash(const struct entry *e)
{
	uint32_t v = 2166136261u;
	uint16_t i;

	for (i = 0; i < e->name_len; i++)
		v = (v ^ (uint8_t)e->name[i]) * 16777619u;
	return v;
}

/*
 * bdrv_find_dirty_bitmap() over the bitmaps created so far; if none is
 * named like e, e becomes one.  Returns 1 if found, 0 if added, -1 on
 * error.  A slot holds the entry's offset + 1 (below 2^26, as the
 * directory is at most 64 MiB) and, above it, 6 bits of the name's
 * hash, so that most slots are passed over without reading a name.
 * Names are read through lookup, a window of one entry.
 */
static int
name_find_add(struct dir *lookup, uint32_t mask, const struct entry *e,
    struct fmt_err *err)
{
	static struct entry other;
	uint32_t hash = name_hash(e), tag = (hash >> 26) << 26, i;

	for (i = hash & mask; name_set[i] != 0; i = (i + 1) & mask) {
		if ((name_set[i] & ~NAME_REL_MASK) != tag)
			continue;
		if (entry_at(lookup, (name_set[i] & NAME_REL_MASK) - 1,
		    &other, err) != 0)
			return -1;
		if (other.name_len == e->name_len &&
		    memcmp(other.name, e->name, e->name_len) == 0)
			return 1;
	}
	name_set[i] = tag | ((uint32_t)e->rel + 1);
	return 0;
}

/* bitmap_table_load(): read the table and check_table_entry() each. */
static int
table_load(const struct fmt_io *io, const struct qcow2_hdr *h,
    const struct entry *e, struct fmt_err *err)
{
	uint64_t off = e->table_off, left = (uint64_t)e->table_size * 8;
	uint64_t v, o;
	size_t n, i;
	const char *why = ERR_EIO;

	if (off > BDRV_MAX_LENGTH || left > BDRV_MAX_LENGTH - off)
		goto fail;
	while (left > 0) {
		n = left < sizeof(table_buf) ? (size_t)left : sizeof(table_buf);
		if (io->read(io->ctx, off, table_buf, n) != 0)
			goto fail;
		for (i = 0; i < n; i += 8) {
			v = get_be64(table_buf + i);
			o = v & BME_OFFSET_MASK;
			if ((v & BME_RESERVED) != 0 || (o != 0 &&
			    ((v & BME_ALL_ONES) != 0 ||
			    (o & (h->cluster_size - 1)) != 0))) {
				why = ERR_EINVAL;
				goto fail;
			}
		}
		off += n;
		left -= n;
	}
	return 0;
fail:
	fmt_seterr(err, "Could not read bitmap_table table from image for "
	    "bitmap '%s': %s", e->name, why);
	return -1;
}

/*
 * load_bitmap_data() wants exactly the table an HBitmap of the image's
 * length serializes to: 64-bit words of bits, in clusters.
 */
static int
table_size_check(const struct qcow2_hdr *h, const struct entry *e,
    struct fmt_err *err)
{
	uint64_t len = h->size & ~511ull, words, clusters = 0;

	if (len > 0) {
		words = (((len - 1) >> e->gran_bits) >> 6) + 1;
		clusters = (words * 8 + h->cluster_size - 1) >> h->cluster_bits;
	}
	if (clusters != e->table_size) {
		fmt_seterr(err, "Could not read bitmap '%s' from image: "
		    ERR_EINVAL, e->name);
		return -1;
	}
	return 0;
}

/* The load loop of qcow2_load_dirty_bitmaps(), entry by entry. */
static int
bitmaps_create(struct dir *d, struct dir *lookup, const struct qcow2_hdr *h,
    struct fmt_err *err)
{
	static struct entry e;
	uint64_t rel = 0;
	uint32_t i, mask = 1;
	int found;

	while (mask < 2 * h->nb_bitmaps)
		mask <<= 1;
	memset(name_set, 0, mask * sizeof(name_set[0]));
	mask--;
	for (i = 0; i < h->nb_bitmaps; i++, rel = (uint64_t)entry_next(&e)) {
		if (entry_at(d, rel, &e, err) != 0 ||
		    (found = name_find_add(lookup, mask, &e, err)) < 0)
			return -1;
		/* An in-use namesake is taken for one being migrated. */
		if (found && (e.flags & BME_FLAG_IN_USE))
			continue;
		/* load_bitmap() creates the bitmap before it reads any data. */
		if (found) {
			fmt_seterr(err, "Bitmap already exists: %s", e.name);
			return -1;
		}
		/* An in-use bitmap's data is not loaded, so not checked. */
		if (e.flags & BME_FLAG_IN_USE)
			continue;
		if (table_load(d->io, h, &e, err) != 0 ||
		    table_size_check(h, &e, err) != 0)
			return -1;
	}
	return 0;
}

int
qcow2_bitmaps_load(const struct fmt_io *io, const struct qcow2_hdr *h,
    struct fmt_bitmaps *out, struct fmt_err *err)
{
	struct dir d, lookup;
	bool full = false;

	if (out != NULL) {
		out->len = 0;
		out->count = 0;
	}
	if (h->nb_bitmaps == 0)
		return 0;
	if (h->bm_dir_size == 0) {
		fmt_seterr(err, "Requested bitmap directory size is zero");
		return -1;
	}
	if (h->bm_dir_size > MAX_BITMAP_DIR_BYTES) {
		fmt_seterr(err, "Requested bitmap directory size is too big");
		return -1;
	}
	/* qemu reads the whole directory first. */
	if (h->bm_dir_off > BDRV_MAX_LENGTH ||
	    h->bm_dir_size > BDRV_MAX_LENGTH - h->bm_dir_off) {
		fmt_seterr(err, "Failed to read bitmap directory: " ERR_EIO);
		return -1;
	}
	memset(&d, 0, sizeof(d));
	d.io = io;
	d.off = h->bm_dir_off;
	d.size = h->bm_dir_size;
	lookup = d;
	d.win = dir_win;
	d.win_cap = sizeof(dir_win);
	lookup.win = lookup_win;
	lookup.win_cap = sizeof(lookup_win);
	if (list_load(&d, h, out, &full, err) != 0 ||
	    bitmaps_create(&d, &lookup, h, err) != 0)
		goto fail;
	if (full) {
		fmt_seterr(err, "too many bitmaps to report: %u",
		    h->nb_bitmaps);
		goto fail;
	}
	return 0;
fail:
	if (out != NULL) {
		out->len = 0;
		out->count = 0;
	}
	return -1;
}
