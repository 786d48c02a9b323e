/*
 * VMDK metadata for "info": the monolithicSparse (and, for info only,
 * streamOptimized) header and the descriptor embedded after it, read the
 * way qemu 7.2's vmdk_open() reads them.  Descriptor-only VMDKs and
 * other create types are recognised and refused by name.
 */
#include "format.h"

#define VMDK4_MAGIC		0x4b444d56u	/* "KDMV" read big-endian */
#define VMDK3_MAGIC		0x434f5744u	/* "COWD" */
#define SECTOR			512ull
#define HDR_LEN			512
#define FLAG_RGD		(1u << 1)
#define FLAG_ZERO_GRAIN		(1u << 2)
#define COMPRESS_DEFLATE	1
#define GD_AT_END		0xffffffffffffffffull
#define MARKER_EOS		0
#define MARKER_FOOTER		3
#define FOOTER_LEN		1536

/* qemu reads up to 1 MiB of a text descriptor; a createType is early. */
#define TEXT_DESC_MAX		(64 * 1024 - 1)
#define CREATE_TYPE_LEN		128	/* qemu's ct[] */

#define MAX_GTES_PER_GT		512
#define MAX_GRANULARITY		0x200000ull
#define MAX_L1_ENTRIES		(32ull * 1024 * 1024)
#define NAME_LEN_MAX		1023

struct vmdk_hdr {
	uint32_t	version;
	uint32_t	flags;
	uint64_t	capacity;
	uint64_t	granularity;
	uint64_t	desc_offset;
	uint64_t	desc_size;
	uint32_t	num_gtes;
	uint64_t	rgd_offset;
	uint64_t	gd_offset;
	uint64_t	grain_offset;
	uint16_t	compress;
};

/* A bounded substring search; the descriptor is NUL-terminated text. */
static const char *
find(const char *hay, size_t hlen, const char *needle)
{
	size_t n = strlen(needle), i;

	if (n > hlen)
		return NULL;
	for (i = 0; i <= hlen - n; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return hay + i;
	return NULL;
}

/* Decode the header that follows the magic (VMDK4Header in qemu). */
static void
decode_header(const uint8_t *p, struct vmdk_hdr *h)
{
	h->version = get_le32(p);
	h->flags = get_le32(p + 4);
	h->capacity = get_le64(p + 8);
	h->granularity = get_le64(p + 16);
	h->desc_offset = get_le64(p + 24);
	h->desc_size = get_le64(p + 32);
	h->num_gtes = get_le32(p + 40);
	h->rgd_offset = get_le64(p + 44);
	h->gd_offset = get_le64(p + 52);
	h->grain_offset = get_le64(p + 60);
	h->compress = get_le16(p + 73);
}

/* Describe a descriptor string safely for an error message. */
static void
printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

static bool
is_known_type(const char *ct)
{
	static const char *const types[] = {
		"monolithicFlat", "vmfs", "vmfsSparse", "seSparse",
		"twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(ct, types[i]) == 0)
			return true;
	return false;
}

/*
 * vmdk_parse_description(): the value after 'createType="' up to the
 * next quote.  Like qemu it skips two bytes after the name unchecked.
 */
static int
parse_create_type(const char *desc, size_t len, char *ct, size_t ctsize)
{
	const char *p, *q, *end = desc + len;

	if ((p = find(desc, len, "createType")) == NULL)
		return -1;
	if ((size_t)(end - p) <= strlen("createType") + 2)
		return -1;
	p += strlen("createType") + 2;
	for (q = p; q < end && *q != '"'; q++)
		;
	if (q == end || (size_t)(q - p) + 1 > ctsize)
		return -1;
	memcpy(ct, p, (size_t)(q - p));
	ct[q - p] = '\0';
	return 0;
}

/*
 * A VMDK whose metadata is a text descriptor naming other files.  qemu
 * opens several of these create types; instar handles none of them.
 */
static int
refuse_text_descriptor(const struct fmt_io *io, uint64_t off,
    struct fmt_err *err)
{
	char desc[TEXT_DESC_MAX + 1], ct[CREATE_TYPE_LEN];
	size_t want = TEXT_DESC_MAX;

	if (io->size < want)
		want = (size_t)io->size;
	if (io->read(io->ctx, off, desc, want) != 0) {
		fmt_seterr(err, "Could not read from file");
		return -1;
	}
	desc[want] = '\0';
	if (parse_create_type(desc, strlen(desc), ct, sizeof(ct)) != 0) {
		fmt_seterr(err, "invalid VMDK image descriptor");
		return -1;
	}
	printable(ct);
	if (is_known_type(ct))
		fmt_seterr(err, "VMDK create type '%s' is not supported", ct);
	else
		fmt_seterr(err, "Unsupported image type '%s'", ct);
	return -1;
}

/* A stream-optimized image may keep its real header in a footer. */
static int
read_footer(const struct fmt_io *io, struct vmdk_hdr *h, struct fmt_err *err)
{
	uint8_t f[FOOTER_LEN];
	uint64_t end = (io->size + SECTOR - 1) & ~(SECTOR - 1);

	if (end < FOOTER_LEN ||
	    io->read(io->ctx, end - FOOTER_LEN, f, sizeof(f)) != 0) {
		fmt_seterr(err, "Failed to read footer");
		return -1;
	}
	if (get_be32(f + 512) != VMDK4_MAGIC ||
	    get_le32(f + 8) != 0 || get_le32(f + 12) != MARKER_FOOTER ||
	    get_le64(f + 1024) != 0 || get_le32(f + 1032) != 0 ||
	    get_le32(f + 1036) != MARKER_EOS) {
		fmt_seterr(err, "Invalid footer");
		return -1;
	}
	decode_header(f + 516, h);
	return 0;
}

/* The checks of vmdk_open_vmdk4() and vmdk_add_extent(), in its order. */
static int
check_header(const struct fmt_io *io, const struct vmdk_hdr *h,
    struct fmt_err *err)
{
	uint32_t l1_entry_sectors;
	uint64_t l1_size, file_sectors;

	if (h->version > 3) {
		fmt_seterr(err, "Unsupported VMDK version %u", h->version);
		return -1;
	}
	if (h->num_gtes > MAX_GTES_PER_GT) {
		fmt_seterr(err, "L2 table size too big");
		return -1;
	}
	/* qemu keeps this product in 32 bits; so must the check. */
	l1_entry_sectors = (uint32_t)(h->num_gtes * h->granularity);
	if (l1_entry_sectors == 0) {
		fmt_seterr(err, "L1 entry size is invalid");
		return -1;
	}
	file_sectors = io->size / SECTOR + (io->size % SECTOR != 0);
	if (file_sectors < h->grain_offset) {
		fmt_seterr(err, "File truncated, expecting at least %llu bytes",
		    (unsigned long long)(h->grain_offset * SECTOR));
		return -1;
	}
	if (h->granularity > MAX_GRANULARITY) {
		fmt_seterr(err, "Invalid granularity, image may be corrupt");
		return -1;
	}
	/* Grain arithmetic elsewhere shifts; qemu merely divides. */
	if ((h->granularity & (h->granularity - 1)) != 0) {
		fmt_seterr(err, "Invalid granularity %llu, not a power of two",
		    (unsigned long long)h->granularity);
		return -1;
	}
	l1_size = h->capacity / l1_entry_sectors +
	    (h->capacity % l1_entry_sectors != 0);
	if (l1_size > MAX_L1_ENTRIES) {
		fmt_seterr(err, "L1 size too big");
		return -1;
	}
	if (h->capacity > (uint64_t)INT64_MAX / SECTOR) {
		fmt_seterr(err, "Image is too big");
		return -1;
	}
	if (h->gd_offset > (uint64_t)INT64_MAX / SECTOR ||
	    ((h->flags & FLAG_RGD) &&
	    h->rgd_offset > (uint64_t)INT64_MAX / SECTOR)) {
		fmt_seterr(err, "Could not read l1 table");
		return -1;
	}
	return 0;
}

/* scanf("%x") as glibc does it: space, sign, 0x, saturating digits. */
static int
parse_hex32(const char *p, uint32_t *out)
{
	uint64_t v = 0;
	bool neg = false, any = false, sat = false;
	int d;

	while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
		p++;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		any = true;
		p += 2;
	}
	for (;; p++) {
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		any = true;
		if (v > (UINT64_MAX - (uint64_t)d) / 16)
			sat = true;
		else
			v = v * 16 + (uint64_t)d;
	}
	if (!any)
		return -1;
	if (sat)
		v = UINT64_MAX;
	*out = (uint32_t)(neg ? 0 - v : v);
	return 0;
}

/* vmdk_read_cid(): the hex number after the first "CID" (+ '='). */
static int
read_cid(const char *desc, size_t len, const char *key, uint32_t *cid,
    struct fmt_err *err)
{
	const char *p = find(desc, len, key);
	size_t skip = strlen(key) + 1;

	if (p == NULL || (size_t)(desc + len - p) < skip ||
	    parse_hex32(p + skip, cid) != 0) {
		fmt_seterr(err, "VMDK descriptor has no valid %s", key);
		return -1;
	}
	return 0;
}

/* vmdk_parent_open(): parentFileNameHint="..." names the backing file. */
static int
read_parent(const char *desc, size_t len, struct instar_image_info *info,
    struct fmt_err *err)
{
	const char *key = "parentFileNameHint";
	const char *p = find(desc, len, key), *q, *end = desc + len;
	size_t skip = strlen(key) + 2;

	if (p == NULL)
		return 0;
	if ((size_t)(end - p) < skip) {
		fmt_seterr(err, "Invalid parentFileNameHint in VMDK "
		    "descriptor");
		return -1;
	}
	p += skip;
	for (q = p; q < end && *q != '"'; q++)
		;
	if (q == end) {
		fmt_seterr(err, "Invalid parentFileNameHint in VMDK "
		    "descriptor");
		return -1;
	}
	if ((size_t)(q - p) > NAME_LEN_MAX) {
		fmt_seterr(err, "VMDK parent file name too long");
		return -1;
	}
	memcpy(info->backing_name, p, (size_t)(q - p));
	info->backing_name[q - p] = '\0';
	/* qemu records an empty hint as no backing file at all. */
	if (q > p) {
		info->flags |= IMG_HAS_BACKING | IMG_HAS_BACKING_FMT;
		memcpy(info->backing_format, "vmdk", sizeof("vmdk"));
	}
	return 0;
}

int
vmdk_desc_parse(const char *desc, size_t len, struct instar_image_info *info,
    struct fmt_err *err)
{
	if (read_parent(desc, len, info, err) != 0 ||
	    read_cid(desc, len, "CID", &info->vmdk_cid, err) != 0 ||
	    read_cid(desc, len, "parentCID", &info->vmdk_parent_cid, err) != 0)
		return -1;
	return 0;
}

static int
read_descriptor(const struct fmt_io *io, struct instar_image_info *info,
    struct fmt_err *err)
{
	char desc[VMDK_DESC_LEN];

	if (io->read(io->ctx, VMDK_DESC_OFF, desc, sizeof(desc)) != 0) {
		fmt_seterr(err, "Could not read VMDK descriptor");
		return -1;
	}
	/* The text ends at the first NUL, or one byte short of the buffer. */
	desc[sizeof(desc) - 1] = '\0';
	return vmdk_desc_parse(desc, strlen(desc), info, err);
}

static void
fill_geom(const struct vmdk_hdr *h, struct vmdk_geom *g)
{
	uint64_t per_gt = (uint64_t)h->num_gtes * h->granularity;

	g->grain_size = h->granularity * SECTOR;
	g->num_gtes = h->num_gtes;
	g->gd_off = h->gd_offset * SECTOR;
	/* check_header() bounded both factors and the quotient. */
	g->gd_entries = h->capacity / per_gt + (h->capacity % per_gt != 0);
	g->zero_grains = (h->flags & FLAG_ZERO_GRAIN) != 0;
	g->compressed = h->compress == COMPRESS_DEFLATE;
	/* check_header() bounded every offset below 2^63 bytes. */
	g->rgd_off = (h->flags & FLAG_RGD) ? h->rgd_offset * SECTOR : 0;
	g->grain_off = h->grain_offset * SECTOR;
	g->desc_sector = h->desc_offset;
	g->desc_sectors = h->desc_size;
}

static int
sparse_info(const struct fmt_io *io, const uint8_t *b,
    struct vmdk_geom *g, struct instar_image_info *info,
    struct fmt_err *err)
{
	struct vmdk_hdr h;

	decode_header(b + 4, &h);
	if (h.capacity == 0 && h.desc_offset != 0) {
		if (h.desc_offset > UINT64_MAX / SECTOR) {
			fmt_seterr(err, "invalid VMDK image descriptor");
			return -1;
		}
		return refuse_text_descriptor(io, h.desc_offset * SECTOR, err);
	}
	if (h.gd_offset == GD_AT_END && read_footer(io, &h, err) != 0)
		return -1;
	if (check_header(io, &h, err) != 0)
		return -1;
	fill_geom(&h, g);
	info->format = INSTAR_FMT_VMDK;
	info->virtual_size = h.capacity * SECTOR;
	info->cluster_size = h.granularity * SECTOR;
	info->flags |= IMG_HAS_CLUSTER_SIZE;
	if (h.compress == COMPRESS_DEFLATE) {
		info->flags |= IMG_VMDK_COMPRESSED;
		memcpy(info->create_type, "streamOptimized",
		    sizeof("streamOptimized"));
	} else
		memcpy(info->create_type, "monolithicSparse",
		    sizeof("monolithicSparse"));
	return read_descriptor(io, info, err);
}

int
vmdk_info(const struct fmt_io *io, struct instar_image_info *info,
    struct fmt_err *err)
{
	struct vmdk_geom g;

	return vmdk_parse(io, &g, info, err);
}

int
vmdk_parse(const struct fmt_io *io, struct vmdk_geom *g,
    struct instar_image_info *info, struct fmt_err *err)
{
	uint8_t b[HDR_LEN];
	int r;

	memset(g, 0, sizeof(*g));
	memset(info, 0, sizeof(*info));
	if (io->size < 4) {
		fmt_seterr(err, "File is too small, not a valid image");
		return -1;
	}
	if (io->read(io->ctx, 0, b, sizeof(b)) != 0) {
		fmt_seterr(err, "Could not read VMDK header");
		return -1;
	}
	switch (get_be32(b)) {
	case VMDK4_MAGIC:
		r = sparse_info(io, b, g, info, err);
		break;
	case VMDK3_MAGIC:
		fmt_seterr(err, "VMDK version 3 (COWD) sparse images are not "
		    "supported");
		r = -1;
		break;
	default:
		r = refuse_text_descriptor(io, 0, err);
		break;
	}
	if (r != 0)
		memset(info, 0, sizeof(*info));
	return r;
}
