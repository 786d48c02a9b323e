/*
 * qcow2 metadata for "info": the header, its extensions, the backing
 * file name, the internal snapshot table and the bitmap directory
 * (qcow2_bitmaps.c), checked the way qemu 7.2's qcow2_do_open() and
 * qcow2_read_snapshots() check them so that an image
 * qemu refuses is refused here too, with the same words where they make
 * sense.
 */
#include "format.h"
#include "luks.h"
#include "qcow2.h"

/*
 * A read-through window over metadata read in small pieces.  The
 * extension walk may step through up to 2 MiB in 8-byte strides, the
 * snapshot table through 64 MiB in entries of 40 bytes and up; one
 * device read per step would be needlessly slow in the guest.
 */
struct win {
	const struct fmt_io	*io;
	uint64_t		 base;
	bool			 valid;
	uint8_t			*buf;	/* caller's buffer, size bytes */
	size_t			 size;
	const char		*ioerr;	/* what a failed read means */
};

#define HDR_WIN_LEN		4096
#define SNAP_WIN_LEN		16384	/* covers an id and a name */

static void
win_init(struct win *w, const struct fmt_io *io, uint8_t *buf, size_t size,
    const char *ioerr)
{
	w->io = io;
	w->base = 0;
	w->valid = false;
	w->buf = buf;
	w->size = size;
	w->ioerr = ioerr;
}

static int
win_read(struct win *w, uint64_t off, void *dst, size_t len,
    struct fmt_err *err)
{
	if (len > w->size) {
		fmt_seterr(err, "qcow2 metadata read too large");
		return -1;
	}
	if (!w->valid || off < w->base || off - w->base > w->size - len) {
		if (w->io->read(w->io->ctx, off, w->buf, w->size) != 0) {
			fmt_seterr(err, "%s", w->ioerr);
			return -1;
		}
		w->base = off;
		w->valid = true;
	}
	memcpy(dst, w->buf + (off - w->base), len);
	return 0;
}

static void
decode_header(const uint8_t *b, struct qcow2_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->version = get_be32(b + 4);
	h->backing_off = get_be64(b + 8);
	h->backing_len = get_be32(b + 16);
	h->cluster_bits = get_be32(b + 20);
	h->size = get_be64(b + 24);
	h->crypt_method = get_be32(b + 32);
	h->l1_size = get_be32(b + 36);
	h->l1_off = get_be64(b + 40);
	h->rt_off = get_be64(b + 48);
	h->rt_clusters = get_be32(b + 56);
	h->nb_snapshots = get_be32(b + 60);
	h->snap_off = get_be64(b + 64);
	if (h->version == 2) {
		/* v2 has none of these fields; qemu assumes their defaults. */
		h->refcount_order = 4;
		h->header_len = QCOW2_V2_HDR_LEN;
		return;
	}
	h->incompat = get_be64(b + 72);
	h->compat = get_be64(b + 80);
	h->autoclear = get_be64(b + 88);
	h->refcount_order = get_be32(b + 96);
	h->header_len = get_be32(b + 100);
	if (h->header_len > QCOW2_COMPRESSION_OFF)
		h->compression = b[QCOW2_COMPRESSION_OFF];
}

static int
check_geometry(struct qcow2_hdr *h, struct fmt_err *err)
{
	if (h->version < 2 || h->version > 3) {
		fmt_seterr(err, "Unsupported qcow2 version %u", h->version);
		return -1;
	}
	if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
	    h->cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
		fmt_seterr(err, "Unsupported cluster size: 2^%u",
		    h->cluster_bits);
		return -1;
	}
	h->cluster_size = 1ull << h->cluster_bits;
	if (h->version == 3 && h->header_len < QCOW2_V3_MIN_HDR_LEN) {
		fmt_seterr(err, "qcow2 header too short");
		return -1;
	}
	if (h->header_len > h->cluster_size) {
		fmt_seterr(err, "qcow2 header exceeds cluster size");
		return -1;
	}
	if (h->backing_off > h->cluster_size) {
		fmt_seterr(err, "Invalid backing file offset");
		return -1;
	}
	/* Extensions end where the backing name starts, or with the cluster. */
	h->ext_end = h->backing_off != 0 ? h->backing_off : h->cluster_size;
	return 0;
}

static int
check_compression(const struct qcow2_hdr *h, struct fmt_err *err)
{
	if (h->compression != IMG_COMPRESSION_ZLIB &&
	    h->compression != IMG_COMPRESSION_ZSTD) {
		fmt_seterr(err, "qcow2: unknown compression type: %u",
		    h->compression);
		return -1;
	}
	if (h->compression == IMG_COMPRESSION_ZLIB &&
	    (h->incompat & INCOMPAT_COMPRESSION)) {
		fmt_seterr(err, "qcow2: Compression type incompatible feature "
		    "bit must not be set");
		return -1;
	}
	if (h->compression != IMG_COMPRESSION_ZLIB &&
	    !(h->incompat & INCOMPAT_COMPRESSION)) {
		fmt_seterr(err, "qcow2: Compression type incompatible feature "
		    "bit must be set");
		return -1;
	}
	return 0;
}

/*
 * Step to the next header extension.  Returns 1 with *magic, *len and
 * *pos (its data) set, 0 at the end marker or the end of the area, -1
 * on error.  Each step advances at least 8 bytes and end is at most one
 * cluster, so a walk is bounded by 2 MiB / 8 steps.
 */
static int
ext_next(struct win *w, uint64_t *pos, uint64_t end, uint32_t *magic,
    uint32_t *len, struct fmt_err *err)
{
	uint8_t b[8];

	if (*pos >= end)
		return 0;
	if (win_read(w, *pos, b, sizeof(b), err) != 0)
		return -1;
	*magic = get_be32(b);
	*len = get_be32(b + 4);
	*pos += sizeof(b);
	if (*pos > end || *len > end - *pos) {
		fmt_seterr(err, "Header extension too large");
		return -1;
	}
	return *magic == EXT_END ? 0 : 1;
}

static uint64_t
ext_skip(uint64_t pos, uint32_t len)
{
	return pos + (((uint64_t)len + 7) & ~7ull);
}

/* Copy a name of len bytes into dst, refusing NULs rather than cutting. */
static int
read_name(struct win *w, uint64_t off, uint32_t len, char *dst,
    size_t dstsize, const char *what, struct fmt_err *err)
{
	if (len >= dstsize) {
		fmt_seterr(err, "%s too long", what);
		return -1;
	}
	if (win_read(w, off, dst, len, err) != 0)
		return -1;
	dst[len] = '\0';
	if (strlen(dst) != len) {
		fmt_seterr(err, "%s contains a NUL byte", what);
		return -1;
	}
	return 0;
}

/* Where the last feature-name table is, as qemu's pre-pass finds it. */
static void
find_feature_table(struct win *w, const struct qcow2_hdr *h,
    uint64_t *toff, uint32_t *tlen)
{
	struct fmt_err ignored;
	uint64_t pos = h->header_len;
	uint32_t magic, len;

	*toff = 0;
	*tlen = 0;
	while (ext_next(w, &pos, h->ext_end, &magic, &len, &ignored) == 1) {
		if (magic == EXT_BACKING_FMT && len >= BACKING_FMT_LEN)
			return;
		if (magic == EXT_FEATURE_TABLE) {
			*toff = pos;
			*tlen = len;
		}
		pos = ext_skip(pos, len);
	}
}

static void
append(char *buf, size_t size, size_t *used, const char *s)
{
	int n;

	if (*used >= size - 1)
		return;
	n = snprintf(buf + *used, size - *used, "%s%s",
	    *used > 0 ? ", " : "", s);
	if (n < 0)
		return;
	*used += (size_t)n;
	if (*used > size - 1)
		*used = size - 1;
}

/* A feature name for an error message: at most 46 printable bytes. */
static void
feature_name(const uint8_t *entry, char *name)
{
	size_t i;

	for (i = 0; i < FEATURE_NAME_LEN && entry[2 + i] != '\0'; i++)
		name[i] = entry[2 + i] >= 0x20 && entry[2 + i] < 0x7f ?
		    (char)entry[2 + i] : '?';
	name[i] = '\0';
}

/* qemu's report_unsupported_feature(): named bits first, then the rest. */
static void
report_features(struct win *w, const struct qcow2_hdr *h, uint64_t mask,
    struct fmt_err *err)
{
	char list[INSTAR_ERROR_MAX], name[FEATURE_NAME_LEN + 1], hex[48];
	uint8_t e[FEATURE_ENTRY_LEN];
	struct fmt_err ignored;
	uint64_t toff;
	uint32_t tlen, i, have;
	size_t used = 0;

	list[0] = '\0';
	find_feature_table(w, h, &toff, &tlen);
	for (i = 0; (uint64_t)i * FEATURE_ENTRY_LEN < tlen; i++) {
		have = tlen - i * FEATURE_ENTRY_LEN;
		if (have > FEATURE_ENTRY_LEN)
			have = FEATURE_ENTRY_LEN;
		memset(e, 0, sizeof(e));
		if (win_read(w, toff + (uint64_t)i * FEATURE_ENTRY_LEN, e,
		    have, &ignored) != 0 || e[2] == '\0')
			break;
		if (e[0] != 0 || e[1] >= 64 || !(mask & (1ull << e[1])))
			continue;
		feature_name(e, name);
		append(list, sizeof(list), &used, name);
		mask &= ~(1ull << e[1]);
	}
	if (mask != 0) {
		snprintf(hex, sizeof(hex), "Unknown incompatible feature: %llx",
		    (unsigned long long)mask);
		append(list, sizeof(list), &used, hex);
	}
	fmt_seterr(err, "Unsupported qcow2 feature(s): %s", list);
}

static int
check_features(struct win *w, const struct qcow2_hdr *h, struct fmt_err *err)
{
	if (h->incompat & ~INCOMPAT_KNOWN) {
		report_features(w, h, h->incompat & ~INCOMPAT_KNOWN, err);
		return -1;
	}
	if ((h->incompat & INCOMPAT_EXTL2) &&
	    h->cluster_size / QCOW2_SUBCLUSTERS <
	    (1u << QCOW2_MIN_CLUSTER_BITS)) {
		fmt_seterr(err, "Unsupported subcluster size: %u",
		    (unsigned)(h->cluster_size / QCOW2_SUBCLUSTERS));
		return -1;
	}
	if (h->refcount_order > 6) {
		fmt_seterr(err, "Reference count entry width too large; may "
		    "not exceed 64 bits");
		return -1;
	}
	return 0;
}

/* qcow2_validate_table(): bounded size, aligned offset, no overflow. */
int
qcow2_check_table(const struct qcow2_hdr *h, uint64_t off, uint64_t entries,
    uint64_t entry_len, uint64_t max_bytes, const char *name,
    struct fmt_err *err)
{
	if (entries > max_bytes / entry_len) {
		fmt_seterr(err, "%s too large", name);
		return -1;
	}
	if ((uint64_t)INT64_MAX - entries * entry_len < off ||
	    (off & (h->cluster_size - 1)) != 0) {
		fmt_seterr(err, "%s offset invalid", name);
		return -1;
	}
	return 0;
}

static int
check_tables(const struct qcow2_hdr *h, enum fmt_open mode,
    struct fmt_err *err)
{
	uint64_t l2_bits, shift, l1_need;

	/* A check rebuilds a missing table (qemu-iotests 108). */
	if (h->rt_clusters == 0 && mode != FMT_OPEN_CHECK) {
		fmt_seterr(err, "Image does not contain a reference count "
		    "table");
		return -1;
	}
	/* qemu leaves the snapshot table to the check (BDRV_O_CHECK). */
	if (qcow2_check_table(h, h->rt_off, h->rt_clusters, h->cluster_size,
	    MAX_REFTABLE_BYTES, "Reference count table", err) != 0 ||
	    (mode != FMT_OPEN_CHECK && qcow2_check_table(h, h->snap_off,
	    h->nb_snapshots,
	    SNAPSHOT_HDR_LEN, SNAPSHOT_HDR_LEN * MAX_SNAPSHOTS,
	    "Snapshot table", err) != 0) ||
	    qcow2_check_table(h, h->l1_off, h->l1_size, 8, MAX_L1_BYTES,
	    "Active L1 table", err) != 0)
		return -1;

	/* One L2 table maps cluster_size / entry_size clusters. */
	l2_bits = h->cluster_bits - ((h->incompat & INCOMPAT_EXTL2) ? 4 : 3);
	shift = h->cluster_bits + l2_bits;
	l1_need = (h->size >> shift) +
	    ((h->size & ((1ull << shift) - 1)) != 0 ? 1 : 0);
	if (l1_need > INT32_MAX) {
		fmt_seterr(err, "Image is too big");
		return -1;
	}
	if (h->l1_size < l1_need) {
		fmt_seterr(err, "L1 table is too small");
		return -1;
	}
	if (h->crypt_method > CRYPT_LUKS) {
		fmt_seterr(err, "Unsupported encryption method %u",
		    h->crypt_method);
		return -1;
	}
	return 0;
}

/*
 * qemu opens the LUKS header while it walks the extensions, so its
 * errors come at the extension's place; even without a key it reads the
 * whole header (qcow2_crypto_hdr_read_func) to describe it.
 */
static int
ext_crypto(struct win *w, const struct qcow2_hdr *h, uint64_t pos,
    uint32_t len, struct instar_image_info *info, struct fmt_err *err)
{
	uint8_t b[CRYPTO_EXT_LEN], luks[LUKS_HDR_LEN];
	uint64_t off, hdr_len;

	if (h->crypt_method != CRYPT_LUKS) {
		fmt_seterr(err, "CRYPTO header extension only expected with "
		    "LUKS encryption method");
		return -1;
	}
	if (len != CRYPTO_EXT_LEN) {
		fmt_seterr(err, "CRYPTO header extension size %u, but expected "
		    "size %u", len, CRYPTO_EXT_LEN);
		return -1;
	}
	if (win_read(w, pos, b, sizeof(b), err) != 0)
		return -1;
	off = get_be64(b);
	hdr_len = get_be64(b + 8);
	if ((off & (h->cluster_size - 1)) != 0) {
		fmt_seterr(err, "Encryption header offset '%llu' is not a "
		    "multiple of cluster size '%llu'", (unsigned long long)off,
		    (unsigned long long)h->cluster_size);
		return -1;
	}
	if (hdr_len < sizeof(luks)) {
		fmt_seterr(err, "Request for data outside of extension header");
		return -1;
	}
	if (off > BDRV_MAX_LENGTH - sizeof(luks) ||
	    w->io->read(w->io->ctx, off, luks, sizeof(luks)) != 0) {
		fmt_seterr(err, "Could not read encryption header: "
		    "Input/output error");
		return -1;
	}
	if (luks_parse(luks, &info->luks, err) != 0)
		return -1;
	info->encrypt_format = IMG_ENCRYPT_LUKS;
	return 0;
}

static int
ext_bitmaps(struct win *w, struct qcow2_hdr *h, uint64_t pos,
    uint32_t len, struct fmt_err *err)
{
	uint8_t b[BITMAPS_EXT_LEN];
	uint32_t nb;
	uint64_t dir_size, dir_off;

	if (len != BITMAPS_EXT_LEN) {
		fmt_seterr(err, "bitmaps_ext: Invalid extension length");
		return -1;
	}
	/* Without the autoclear bit the bitmaps are stale and ignored. */
	if (!(h->autoclear & AUTOCLEAR_BITMAPS))
		return 0;
	if (win_read(w, pos, b, sizeof(b), err) != 0)
		return -1;
	nb = get_be32(b);
	dir_size = get_be64(b + 8);
	dir_off = get_be64(b + 16);
	if (get_be32(b + 4) != 0) {
		fmt_seterr(err, "bitmaps_ext: Reserved field is not zero");
		return -1;
	}
	if (nb > MAX_BITMAPS) {
		fmt_seterr(err, "bitmaps_ext: Image has %u bitmaps, exceeding "
		    "the QEMU supported maximum of %u", nb, MAX_BITMAPS);
		return -1;
	}
	if (nb == 0) {
		fmt_seterr(err, "found bitmaps extension with zero bitmaps");
		return -1;
	}
	if ((dir_off & (h->cluster_size - 1)) != 0) {
		fmt_seterr(err, "bitmaps_ext: invalid bitmap directory offset");
		return -1;
	}
	if (dir_size > MAX_BITMAP_DIR_BYTES) {
		fmt_seterr(err, "bitmaps_ext: bitmap directory size (%llu) "
		    "exceeds the maximum supported size (%llu)",
		    (unsigned long long)dir_size,
		    (unsigned long long)MAX_BITMAP_DIR_BYTES);
		return -1;
	}
	/* The directory itself is read once the header is done with. */
	h->nb_bitmaps = nb;
	h->bm_dir_size = dir_size;
	h->bm_dir_off = dir_off;
	return 0;
}

static int
ext_one(struct win *w, struct qcow2_hdr *h, uint32_t magic,
    uint64_t pos, uint32_t len, struct instar_image_info *info,
    struct fmt_err *err)
{
	switch (magic) {
	case EXT_BACKING_FMT:
		if (len >= BACKING_FMT_LEN) {
			fmt_seterr(err, "Backing format name too long: len=%u "
			    "(>=%u)", len, BACKING_FMT_LEN);
			return -1;
		}
		return read_name(w, pos, len, info->backing_format,
		    sizeof(info->backing_format), "Backing format name", err);
	case EXT_DATA_FILE:
		if (read_name(w, pos, len, info->data_file,
		    sizeof(info->data_file), "Data file name", err) != 0)
			return -1;
		info->flags |= IMG_HAS_DATA_FILE;
		return 0;
	case EXT_CRYPTO:
		return ext_crypto(w, h, pos, len, info, err);
	case EXT_BITMAPS:
		return ext_bitmaps(w, h, pos, len, err);
	default:
		/* Feature table and unknown extensions: nothing for info. */
		return 0;
	}
}

static int
read_extensions(struct win *w, struct qcow2_hdr *h, enum fmt_open mode,
    struct instar_image_info *info, struct fmt_err *err)
{
	uint64_t pos = h->header_len;
	uint32_t magic, len;
	int r;

	while ((r = ext_next(w, &pos, h->ext_end, &magic, &len, err)) == 1) {
		if (ext_one(w, h, magic, pos, len, info, err) != 0)
			return -1;
		pos = ext_skip(pos, len);
	}
	if (r < 0)
		return -1;

	/*
	 * qemu checks these as it opens the data file, which an open
	 * without I/O skips (Debian's fix of CVE-2024-4467).
	 */
	if (mode == FMT_OPEN_NO_IO)
		return 0;
	if ((h->incompat & INCOMPAT_DATA_FILE) &&
	    !(info->flags & IMG_HAS_DATA_FILE)) {
		fmt_seterr(err, "'data-file' is required for this image");
		return -1;
	}
	if (!(h->incompat & INCOMPAT_DATA_FILE) &&
	    (h->autoclear & AUTOCLEAR_DATA_RAW)) {
		fmt_seterr(err, "data-file-raw requires a data file");
		return -1;
	}
	return 0;
}

static int
read_backing(struct win *w, const struct qcow2_hdr *h,
    struct instar_image_info *info, struct fmt_err *err)
{
	uint64_t room;

	if (h->backing_off == 0)
		return 0;
	/* The name must fit in the header cluster and in qemu's buffer. */
	room = h->cluster_size - h->backing_off;
	if (h->backing_len > NAME_LEN_MAX || h->backing_len > room) {
		fmt_seterr(err, "Backing file name too long");
		return -1;
	}
	if (read_name(w, h->backing_off, h->backing_len, info->backing_name,
	    sizeof(info->backing_name), "Backing file name", err) != 0)
		return -1;
	if (h->backing_len > 0)
		info->flags |= IMG_HAS_BACKING;
	return 0;
}

/* One table entry as qemu's qcow2_snapshot_list() passes it on. */
struct snap {
	struct instar_snapshot_hdr	hdr;
	char				id[INSTAR_SNAP_ID_MAX];
	char				name[INSTAR_SNAP_NAME_MAX];
};

/*
 * qemu reads [off, off + len) of the table through its block layer,
 * which fails anything past BDRV_MAX_LENGTH (even an empty read) and
 * reads zeros past the end of the file, as our io does.
 */
static int
snap_span(uint64_t off, uint64_t len, struct fmt_err *err)
{
	if (off > BDRV_MAX_LENGTH || len > BDRV_MAX_LENGTH - off) {
		fmt_seterr(err, SNAPSHOT_READ_ERR);
		return -1;
	}
	return 0;
}

static int
snap_read(struct win *w, uint64_t off, void *dst, size_t len,
    struct fmt_err *err)
{
	if (snap_span(off, len, err) != 0)
		return -1;
	return len == 0 ? 0 : win_read(w, off, dst, len, err);
}

/*
 * An id or name of size bytes at *off.  qemu reads all of it but keeps
 * a C string copied into QEMUSnapshotInfo: up to the first NUL and at
 * most max bytes.  Only those bytes are read here.
 */
static int
snap_string(struct win *w, uint64_t *off, uint16_t size, char *dst,
    uint16_t max, uint16_t *len, struct fmt_err *err)
{
	uint16_t n = size < max ? size : max;

	if (snap_span(*off, size, err) != 0 ||
	    snap_read(w, *off, dst, n, err) != 0)
		return -1;
	*len = (uint16_t)strnlen(dst, n);
	*off += size;
	return 0;
}

/*
 * Table entry i at *off (8-byte aligned by the caller): the 40-byte
 * header, extra data, id, name.  Sets *len to the entry's length as
 * qemu counts it and leaves *off just past the entry.
 */
static int
snap_entry(struct win *w, uint32_t i, uint64_t *off, struct snap *sn,
    uint64_t *len, struct fmt_err *err)
{
	uint8_t h[SNAPSHOT_HDR_LEN], x[SNAPSHOT_EXTRA_LEN];
	uint32_t extra, known;
	uint16_t id_size, name_size;

	if (snap_read(w, *off, h, sizeof(h), err) != 0)
		return -1;
	*off += sizeof(h);
	memset(sn, 0, sizeof(*sn));
	id_size = get_be16(h + 12);
	name_size = get_be16(h + 14);
	sn->hdr.date_sec = get_be32(h + 16);
	sn->hdr.date_nsec = get_be32(h + 20);
	sn->hdr.vm_clock_nsec = get_be64(h + 24);
	sn->hdr.vm_state_size = get_be32(h + 32);
	extra = get_be32(h + 36);
	if (extra > SNAPSHOT_EXTRA_MAX) {
		fmt_seterr(err, "Too much extra metadata in snapshot table "
		    "entry %u", i);
		fmt_sethint(err, "You can force-remove this extra metadata "
		    "with qemu-img check -r all");
		return -1;
	}
	known = extra < SNAPSHOT_EXTRA_LEN ? extra : SNAPSHOT_EXTRA_LEN;
	memset(x, 0, sizeof(x));
	if (snap_read(w, *off, x, known, err) != 0)
		return -1;
	*off += known;
	/* Later fields are optional; a v2 entry may have none. */
	if (extra >= SNAPSHOT_EXTRA_VMSTATE)
		sn->hdr.vm_state_size = get_be64(x);
	sn->hdr.icount = extra >= SNAPSHOT_EXTRA_LEN ? get_be64(x + 16) :
	    INSTAR_SNAP_ICOUNT_NONE;
	/* qemu keeps unknown extra data to write back; info skips it. */
	if (extra > known) {
		if (snap_span(*off, extra - known, err) != 0)
			return -1;
		*off += extra - known;
	}
	if (snap_string(w, off, id_size, sn->id, INSTAR_SNAP_ID_MAX,
	    &sn->hdr.id_len, err) != 0 ||
	    snap_string(w, off, name_size, sn->name, INSTAR_SNAP_NAME_MAX,
	    &sn->hdr.name_len, err) != 0)
		return -1;
	*len = SNAPSHOT_HDR_LEN + extra + id_size + name_size;
	return 0;
}

/* Append one packed entry; -1 if the list is full. */
static int
snap_put(struct fmt_snapshots *out, const struct snap *sn)
{
	size_t need = sizeof(sn->hdr) + sn->hdr.id_len + sn->hdr.name_len;

	if (out->cap < out->len || need > out->cap - out->len)
		return -1;
	memcpy(out->buf + out->len, &sn->hdr, sizeof(sn->hdr));
	out->len += sizeof(sn->hdr);
	memcpy(out->buf + out->len, sn->id, sn->hdr.id_len);
	out->len += sn->hdr.id_len;
	memcpy(out->buf + out->len, sn->name, sn->hdr.name_len);
	out->len += sn->hdr.name_len;
	out->count++;
	return 0;
}

/*
 * qcow2_read_snapshots(), one entry at a time through a bounded window.
 * check_tables() has bounded the count and aligned the offset; the
 * table itself is bounded by qemu's 64 MiB limit, checked as it grows.
 * qemu lists no snapshots for an image with an external data file (the
 * incompatible bit, not just the name's extension), but reads and so
 * checks the table all the same; report says whether to keep entries.
 */
static int
read_snapshots(const struct fmt_io *io, const struct qcow2_hdr *h,
    bool report, struct fmt_snapshots *out, struct fmt_err *err)
{
	uint8_t buf[SNAP_WIN_LEN];
	struct win w;
	struct snap sn;
	uint64_t off, len, table = 0;
	bool full = false;
	uint32_t i;

	/* The common case touches none of the 16 KiB window's pages. */
	if (h->nb_snapshots == 0)
		return 0;
	win_init(&w, io, buf, sizeof(buf), SNAPSHOT_READ_ERR);
	for (i = 0; i < h->nb_snapshots; i++) {
		/* Entries start 8-byte aligned; so does the table. */
		table = (table + 7) & ~7ull;
		off = h->snap_off + table;
		if (snap_entry(&w, i, &off, &sn, &len, err) != 0)
			return -1;
		table += len;
		if (table > SNAPSHOTS_SIZE_MAX) {
			fmt_seterr(err, "Snapshot table is too big");
			fmt_sethint(err, "You can force-remove all %u "
			    "overhanging snapshots with qemu-img check -r all",
			    h->nb_snapshots - i);
			return -1;
		}
		/* Keep checking when full: qemu's errors come first. */
		if (report && !full && snap_put(out, &sn) != 0)
			full = true;
	}
	if (full) {
		fmt_seterr(err, "too many snapshots to report: %u",
		    h->nb_snapshots);
		return -1;
	}
	return 0;
}

static void
fill_info(const struct qcow2_hdr *h, struct instar_image_info *info)
{
	info->format = INSTAR_FMT_QCOW2;
	/* qemu keeps the size in whole sectors, dropping a ragged tail. */
	info->virtual_size = h->size & ~511ull;
	info->cluster_size = h->cluster_size;
	info->qcow2_version = h->version;
	info->refcount_bits = 1u << h->refcount_order;
	info->compression_type = h->compression;
	info->flags |= IMG_HAS_CLUSTER_SIZE;
	if (h->incompat & INCOMPAT_DIRTY)
		info->flags |= IMG_DIRTY;
	if (h->incompat & INCOMPAT_CORRUPT)
		info->flags |= IMG_CORRUPT;
	if (h->incompat & INCOMPAT_EXTL2)
		info->flags |= IMG_EXTENDED_L2;
	if (h->compat & COMPAT_LAZY_REFCOUNTS)
		info->flags |= IMG_LAZY_REFCOUNTS;
	if (h->autoclear & AUTOCLEAR_DATA_RAW)
		info->flags |= IMG_DATA_FILE_RAW;
	if (h->incompat & INCOMPAT_DATA_FILE)
		info->flags |= IMG_EXTERNAL_DATA;
	if (h->crypt_method != CRYPT_NONE)
		info->flags |= IMG_ENCRYPTED;
	/* The legacy AES format needs no header to be described. */
	if (h->crypt_method == CRYPT_AES)
		info->encrypt_format = IMG_ENCRYPT_AES;
	/* qemu shows a backing format only alongside a backing file. */
	if ((info->flags & IMG_HAS_BACKING) && info->backing_format[0] != '\0')
		info->flags |= IMG_HAS_BACKING_FMT;
	else
		memset(info->backing_format, 0, sizeof(info->backing_format));
}

static int
parse(const struct fmt_io *io, struct qcow2_hdr *h,
    struct instar_image_info *info, struct fmt_snapshots *snaps,
    struct fmt_bitmaps *bitmaps, enum fmt_open mode, struct fmt_err *err)
{
	uint8_t b[QCOW2_HDR_READ], wbuf[HDR_WIN_LEN];
	struct fmt_snapshots none;
	struct win w;

	if (snaps == NULL) {
		memset(&none, 0, sizeof(none));
		snaps = &none;
	}
	memset(info, 0, sizeof(*info));
	snaps->len = 0;
	snaps->count = 0;
	if (bitmaps != NULL) {
		bitmaps->len = 0;
		bitmaps->count = 0;
	}
	if (io->read(io->ctx, 0, b, sizeof(b)) != 0) {
		fmt_seterr(err, "Could not read qcow2 header");
		return -1;
	}
	if (get_be32(b) != QCOW2_MAGIC) {
		fmt_seterr(err, "Image is not in qcow2 format");
		return -1;
	}
	decode_header(b, h);
	win_init(&w, io, wbuf, sizeof(wbuf), "Could not read qcow2 header");
	if (check_geometry(h, err) != 0 ||
	    check_compression(h, err) != 0 ||
	    check_features(&w, h, err) != 0 ||
	    check_tables(h, mode, err) != 0 ||
	    read_extensions(&w, h, mode, info, err) != 0 ||
	    read_backing(&w, h, info, err) != 0 ||
	    (mode != FMT_OPEN_CHECK && read_snapshots(io, h, snaps != &none &&
	    !(h->incompat & INCOMPAT_DATA_FILE), snaps, err) != 0) ||
	    qcow2_bitmaps_load(io, h, bitmaps, err) != 0)
		goto fail;
	fill_info(h, info);
	return 0;
fail:
	memset(info, 0, sizeof(*info));
	snaps->len = 0;
	snaps->count = 0;
	return -1;
}

int
qcow2_parse(const struct fmt_io *io, struct qcow2_hdr *h,
    struct instar_image_info *info, struct fmt_snapshots *snaps,
    struct fmt_bitmaps *bitmaps, struct fmt_err *err)
{
	return parse(io, h, info, snaps, bitmaps, FMT_OPEN_IO, err);
}

int
qcow2_parse_for_check(const struct fmt_io *io, struct qcow2_hdr *h,
    struct instar_image_info *info, struct fmt_err *err)
{
	return parse(io, h, info, NULL, NULL, FMT_OPEN_CHECK, err);
}

int
qcow2_refuse_unsupported(const struct qcow2_hdr *h, struct fmt_err *err)
{
	if (h->incompat & INCOMPAT_CORRUPT) {
		fmt_seterr(err, "the image is marked corrupt; repair it with "
		    "'qemu-img check -r all' first");
		return -1;
	}
	if (h->crypt_method != CRYPT_NONE) {
		fmt_seterr(err, "encrypted images are not supported");
		return -1;
	}
	if (h->incompat & INCOMPAT_DATA_FILE) {
		fmt_seterr(err, "images with an external data file are not "
		    "supported");
		return -1;
	}
	if (h->incompat & INCOMPAT_EXTL2) {
		fmt_seterr(err, "images with extended L2 entries are not "
		    "supported");
		return -1;
	}
	return 0;
}

int
qcow2_info(const struct fmt_io *io, enum fmt_open mode,
    struct instar_image_info *info, struct fmt_snapshots *snaps,
    struct fmt_bitmaps *bitmaps, struct fmt_err *err)
{
	struct qcow2_hdr h;

	if (mode == FMT_OPEN_CHECK)
		return parse(io, &h, info, NULL, NULL, mode, err);
	return parse(io, &h, info, snaps, bitmaps, mode, err);
}

uint64_t
qcow2_rc_get(const uint8_t *blk, uint64_t i, uint32_t bits)
{
	uint64_t v = 0;
	uint32_t k;

	if (bits < 8)
		return (uint64_t)(blk[i * bits / 8] >> (i * bits % 8)) &
		    ((1u << bits) - 1);
	for (k = 0; k < bits / 8; k++)
		v = v << 8 | blk[i * (bits / 8) + k];
	return v;
}

void
qcow2_rc_set(uint8_t *blk, uint64_t i, uint32_t bits, uint64_t v)
{
	uint32_t k, shift;
	uint8_t mask;

	if (bits < 8) {
		shift = (uint32_t)(i * bits % 8);
		mask = (uint8_t)(((1u << bits) - 1) << shift);
		blk[i * bits / 8] = (uint8_t)((blk[i * bits / 8] & ~mask) |
		    ((v << shift) & mask));
		return;
	}
	for (k = bits / 8; k > 0; k--) {
		blk[i * (bits / 8) + k - 1] = (uint8_t)v;
		v >>= 8;
	}
}
