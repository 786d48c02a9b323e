/*
 * The qcow2 writer's header rewrite: a new backing file name and format
 * in the header's extension area, with qemu's feature table, keeping the
 * extensions qemu keeps.
 */
#include "qcow2_write.h"

#define FEATURE_TABLE_ENTRIES	8
/* qemu 7.2 writes no feature table into headers of 4 KiB clusters or
 * less (seen on 512 B to 4 KiB; 8 KiB and up have one). */
#define FEATURE_TABLE_MIN_CLUSTER	4096u

struct feature {
	uint8_t type;
	uint8_t bit;
	const char *name;
};

/* qemu 7.2's table, written into every v3 header it rewrites. */
static const struct feature qemu_features[FEATURE_TABLE_ENTRIES] = {
	{ 0, 0, "dirty bit" },
	{ 0, 1, "corrupt bit" },
	{ 0, 2, "external data file" },
	{ 0, 3, "compression type" },
	{ 0, 4, "extended L2 entries" },
	{ 1, 0, "lazy refcounts" },
	{ 2, 0, "bitmaps" },
	{ 2, 1, "raw external data" },
};

/* header_ext_add(): magic, length, data padded to 8 bytes. */
static int
ext_add(uint8_t *buf, size_t cap, size_t *pos, uint32_t magic,
    const uint8_t *data, size_t len)
{
	size_t padded = (len + 7) & ~(size_t)7;

	if (*pos > cap || 8 + padded > cap - *pos)
		return -1;
	store_be32(buf + *pos, magic);
	store_be32(buf + *pos + 4, (uint32_t)len);
	if (len > 0)
		memcpy(buf + *pos + 8, data, len);
	memset(buf + *pos + 8 + len, 0, padded - len);
	*pos += 8 + padded;
	return 0;
}

static int
add_feature_table(uint8_t *buf, size_t cap, size_t *pos)
{
	uint8_t t[FEATURE_TABLE_ENTRIES * 48];
	size_t i;

	memset(t, 0, sizeof(t));
	for (i = 0; i < FEATURE_TABLE_ENTRIES; i++) {
		t[i * 48] = qemu_features[i].type;
		t[i * 48 + 1] = qemu_features[i].bit;
		memcpy(t + i * 48 + 2, qemu_features[i].name,
		    strlen(qemu_features[i].name));
	}
	return ext_add(buf, cap, pos, EXT_FEATURE_TABLE, t, sizeof(t));
}

/*
 * Copy the extensions qemu keeps verbatim (bitmaps while their
 * autoclear bit holds, unknown ones) from the old header in old.
 * qemu writes the bitmaps extension before the unknown ones.
 */
static int
keep_extensions(const struct qcow2_hdr *h, const uint8_t *old, uint8_t *buf,
    size_t cap, size_t *pos, bool bitmaps_pass)
{
	uint64_t p = h->header_len, end = h->ext_end;
	uint32_t magic, len;
	bool bitmaps;

	while (p + 8 <= end) {
		magic = get_be32(old + p);
		len = get_be32(old + p + 4);
		p += 8;
		if (magic == EXT_END || len > end - p)
			break;
		bitmaps = magic == EXT_BITMAPS;
		if (bitmaps_pass ? (bitmaps &&
		    (h->autoclear & AUTOCLEAR_BITMAPS)) :
		    (!bitmaps && magic != EXT_BACKING_FMT &&
		    magic != EXT_FEATURE_TABLE && magic != EXT_DATA_FILE &&
		    magic != EXT_CRYPTO)) {
			if (ext_add(buf, cap, pos, magic, old + p, len) != 0)
				return -1;
		}
		p += ((uint64_t)len + 7) & ~7ull;
	}
	return 0;
}

static bool
has_bitmaps(const struct qcow2_hdr *h, const uint8_t *old)
{
	uint64_t p = h->header_len, end = h->ext_end;
	uint32_t magic, len;

	while (p + 8 <= end) {
		magic = get_be32(old + p);
		len = get_be32(old + p + 4);
		p += 8;
		if (magic == EXT_END || len > end - p)
			return false;
		if (magic == EXT_BITMAPS)
			return true;
		p += ((uint64_t)len + 7) & ~7ull;
	}
	return false;
}

/* The fixed fields, and unknown ones qemu keeps after them. */
static size_t
build_fixed(const struct qcow2_hdr *h, const uint8_t *old, uint8_t *buf)
{
	uint64_t autoclear = h->autoclear & AUTOCLEAR_KNOWN;
	size_t unknown;

	if (h->version == 2) {
		memcpy(buf, old, QCOW2_V2_HDR_LEN);
		return QCOW2_V2_HDR_LEN;
	}
	memcpy(buf, old, QCOW2_V3_MIN_HDR_LEN);
	memset(buf + QCOW2_V3_MIN_HDR_LEN, 0,
	    QCOW2_HDR_READ - QCOW2_V3_MIN_HDR_LEN);
	buf[QCOW2_COMPRESSION_OFF] = (uint8_t)h->compression;
	if (!has_bitmaps(h, old))
		autoclear &= ~AUTOCLEAR_BITMAPS;
	store_be64(buf + 88, autoclear);
	unknown = h->header_len > QCOW2_HDR_READ ?
	    h->header_len - QCOW2_HDR_READ : 0;
	memcpy(buf + QCOW2_HDR_READ, old + QCOW2_HDR_READ, unknown);
	store_be32(buf + 100, (uint32_t)(QCOW2_HDR_READ + unknown));
	return QCOW2_HDR_READ + unknown;
}

/*
 * Build the new header cluster in w->scratch from the one on disk, with
 * the refcount table where it is now.
 */
static int
build_header(struct qcow2_writer *w, const char *name, size_t name_len,
    const char *format, struct fmt_err *err)
{
	size_t cs = (size_t)w->h.cluster_size, pos, mark = w->arena->used;
	uint8_t *old, *buf = w->scratch;
	int r = -1;

	if (name_len > NAME_LEN_MAX) {
		fmt_seterr(err, "backing file name too long");
		return -1;
	}
	if ((old = fmt_alloc(w->arena, cs, 4096)) == NULL) {
		fmt_seterr(err, "out of memory for the header");
		return -1;
	}
	if (fmt_io_read(w->io, 0, old, cs, err) != 0)
		goto out;
	store_be64(old + 48, w->h.rt_off);
	store_be32(old + 56, w->h.rt_clusters);
	memset(buf, 0, cs);
	pos = build_fixed(&w->h, old, buf);
	if ((name_len > 0 && format[0] != '\0' && ext_add(buf, cs, &pos,
	    EXT_BACKING_FMT, (const uint8_t *)format, strlen(format)) != 0) ||
	    (w->h.version >= 3 && cs > FEATURE_TABLE_MIN_CLUSTER &&
	    add_feature_table(buf, cs, &pos) != 0) ||
	    keep_extensions(&w->h, old, buf, cs, &pos, true) != 0 ||
	    keep_extensions(&w->h, old, buf, cs, &pos, false) != 0 ||
	    ext_add(buf, cs, &pos, EXT_END, NULL, 0) != 0 ||
	    name_len > cs - pos) {
		fmt_seterr(err, "No space left in the file header");
		goto out;
	}
	store_be64(buf + 8, name_len > 0 ? pos : 0);
	store_be32(buf + 16, (uint32_t)name_len);
	memcpy(buf + pos, name, name_len);
	r = 0;
out:
	w->arena->used = mark;
	return r;
}

int
qcow2w_check_backing(struct qcow2_writer *w, const char *name,
    size_t name_len, const char *format, struct fmt_err *err)
{
	return build_header(w, name, name_len, format, err);
}

int
qcow2w_set_backing(struct qcow2_writer *w, const char *name,
    size_t name_len, const char *format, struct fmt_err *err)
{
	if (qcow2w_commit(w, err) != 0 ||
	    build_header(w, name, name_len, format, err) != 0)
		return -1;
	if (fmt_io_write(w->io, 0, w->scratch, (size_t)w->h.cluster_size,
	    err) != 0 || fmt_io_flush(w->io, err) != 0)
		return -1;
	return 0;
}
