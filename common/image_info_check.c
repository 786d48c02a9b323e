#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "base.h"
#include "hypercall.h"
#include "image_info_check.h"

/* A string field must end within its array. */
static bool
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static bool
printable(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static bool
is_power_of_two(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

static const char *
check_strings(const struct instar_image_info *info)
{
	if (!terminated(info->create_type, sizeof(info->create_type)) ||
	    !terminated(info->backing_name, sizeof(info->backing_name)) ||
	    !terminated(info->backing_format, sizeof(info->backing_format)) ||
	    !terminated(info->data_file, sizeof(info->data_file)))
		return "unterminated string";
	/*
	 * A recorded backing format is the image's own bytes, which qemu-img
	 * prints as they are (escaped in JSON), like the backing name; only
	 * the create type, which the guest picks from a fixed set, must be
	 * printable.
	 */
	if (!printable(info->create_type))
		return "non-printable create type";
	if ((info->flags & IMG_HAS_BACKING) && info->backing_name[0] == '\0')
		return "empty backing file name";
	if (!(info->flags & IMG_HAS_BACKING) && info->backing_name[0] != '\0')
		return "backing file name without a backing file";
	if ((info->flags & IMG_HAS_BACKING_FMT) &&
	    (!(info->flags & IMG_HAS_BACKING) ||
	    info->backing_format[0] == '\0'))
		return "backing format without a backing file";
	if (!(info->flags & IMG_HAS_DATA_FILE) && info->data_file[0] != '\0')
		return "data file name without a data file";
	return NULL;
}

static bool
luks_is_zero(const struct instar_image_info *info)
{
	return mem_is_zero((const uint8_t *)&info->luks, sizeof(info->luks));
}

/* A name the guest picked from qemu's enumerations: short and plain. */
static bool
crypto_name(const char *s, bool may_be_empty)
{
	return terminated(s, INSTAR_CRYPTO_NAME_MAX) && printable(s) &&
	    (may_be_empty || s[0] != '\0');
}

static const char *
check_luks(const struct instar_luks_info *l)
{
	size_t i, uuid_len;

	if (!crypto_name(l->cipher_alg, false) ||
	    !crypto_name(l->cipher_mode, false) ||
	    !crypto_name(l->ivgen_alg, false) ||
	    !crypto_name(l->ivgen_hash_alg, true) ||
	    !crypto_name(l->hash_alg, false))
		return "bad LUKS algorithm name";
	/* qemu reports an IV generator hash for ESSIV only. */
	if ((strcmp(l->ivgen_alg, "essiv") == 0) !=
	    (l->ivgen_hash_alg[0] != '\0'))
		return "LUKS IV generator hash without ESSIV";
	/* The uuid is the image's bytes, up to 40 of them. */
	if (!terminated(l->uuid, INSTAR_LUKS_UUID_MAX))
		return "bad LUKS uuid";
	uuid_len = strlen(l->uuid);
	if (!mem_is_zero((const uint8_t *)l->uuid + uuid_len,
	    sizeof(l->uuid) - uuid_len))
		return "bad LUKS uuid";
	for (i = 0; i < INSTAR_LUKS_SLOTS; i++) {
		const struct instar_luks_slot *s = &l->slots[i];

		if (s->active > 1 ||
		    (!s->active && (s->iters != 0 || s->stripes != 0)))
			return "bad LUKS key slot";
	}
	return NULL;
}

static const char *
check_encrypt(const struct instar_image_info *info)
{
	bool encrypted = (info->flags & IMG_ENCRYPTED) != 0;

	switch (info->encrypt_format) {
	case IMG_ENCRYPT_NONE:
	case IMG_ENCRYPT_AES:
		if (!luks_is_zero(info))
			return "LUKS header without LUKS encryption";
		if (info->encrypt_format == IMG_ENCRYPT_AES && !encrypted)
			return "encryption format without encryption";
		return NULL;
	case IMG_ENCRYPT_LUKS:
		if (!encrypted)
			return "encryption format without encryption";
		return check_luks(&info->luks);
	default:
		return "unknown encryption format";
	}
}

static const char *
check_qcow2(const struct instar_image_info *info)
{
	if (info->qcow2_version != 2 && info->qcow2_version != 3)
		return "bad qcow2 version";
	if (!is_power_of_two(info->refcount_bits) || info->refcount_bits > 64)
		return "bad refcount width";
	if (info->compression_type != IMG_COMPRESSION_ZLIB &&
	    info->compression_type != IMG_COMPRESSION_ZSTD)
		return "bad compression type";
	if (!(info->flags & IMG_HAS_CLUSTER_SIZE) ||
	    !is_power_of_two(info->cluster_size) ||
	    info->cluster_size < 512 || info->cluster_size > (2u << 20))
		return "bad cluster size";
	return check_encrypt(info);
}

static const char *
check_vmdk(const struct instar_image_info *info)
{
	if (info->create_type[0] == '\0')
		return "missing VMDK create type";
	if (!(info->flags & IMG_HAS_CLUSTER_SIZE) ||
	    !is_power_of_two(info->cluster_size) || info->cluster_size < 512)
		return "bad cluster size";
	/* qemu takes a VMDK's parent to be a VMDK, and so do we. */
	if ((info->flags & IMG_HAS_BACKING_FMT) &&
	    strcmp(info->backing_format, "vmdk") != 0)
		return "VMDK parent of a format other than vmdk";
	return NULL;
}

const char *
image_info_validate(const struct instar_image_info *info)
{
	const char *why;

	if (info->flags & ~IMG_FLAGS_ALL)
		return "unknown flags";
	if (info->virtual_size > (uint64_t)INT64_MAX)
		return "virtual size out of range";
	if ((why = check_strings(info)) != NULL)
		return why;
	if (info->format != INSTAR_FMT_QCOW2 &&
	    (info->encrypt_format != IMG_ENCRYPT_NONE ||
	    !luks_is_zero(info)))
		return "encryption outside qcow2";
	switch (info->format) {
	case INSTAR_FMT_RAW:
		if (info->flags != 0)
			return "raw image with format flags";
		return NULL;
	case INSTAR_FMT_QCOW2:
		return check_qcow2(info);
	case INSTAR_FMT_VMDK:
		return check_vmdk(info);
	default:
		return "unknown format";
	}
}

int
image_info_snapshot_next(const uint8_t *list, size_t len, size_t *pos,
    struct instar_snapshot *sn)
{
	size_t p = *pos;

	if (p > len || len - p < sizeof(sn->hdr))
		return -1;
	memcpy(&sn->hdr, list + p, sizeof(sn->hdr));
	p += sizeof(sn->hdr);
	if (len - p < (size_t)sn->hdr.id_len + sn->hdr.name_len)
		return -1;
	sn->id = list + p;
	sn->name = list + p + sn->hdr.id_len;
	*pos = p + sn->hdr.id_len + sn->hdr.name_len;
	return 0;
}

static const char *
check_snapshot(const struct instar_snapshot *sn)
{
	if (sn->hdr.reserved != 0)
		return "snapshot with reserved bits set";
	if (sn->hdr.id_len > INSTAR_SNAP_ID_MAX ||
	    sn->hdr.name_len > INSTAR_SNAP_NAME_MAX)
		return "snapshot id or name too long";
	/* qemu holds both as C strings: a NUL would have ended them. */
	if (memchr(sn->id, '\0', sn->hdr.id_len) != NULL ||
	    memchr(sn->name, '\0', sn->hdr.name_len) != NULL)
		return "NUL byte in a snapshot id or name";
	return NULL;
}

static const char *
check_snapshots(const struct instar_info_result *res)
{
	struct instar_snapshot sn;
	const char *why;
	size_t pos = 0;
	uint32_t i;

	if (res->nsnapshots == 0)
		return res->snapshots_len == 0 ? NULL :
		    "snapshot bytes without snapshots";
	if (res->info.format != INSTAR_FMT_QCOW2)
		return "snapshots where qemu lists none";
	if (res->nsnapshots > INSTAR_SNAP_COUNT_MAX)
		return "too many snapshots";
	for (i = 0; i < res->nsnapshots; i++) {
		if (image_info_snapshot_next(res->lists,
		    res->snapshots_len, &pos, &sn) != 0)
			return "snapshot list overruns its length";
		if ((why = check_snapshot(&sn)) != NULL)
			return why;
	}
	if (pos != res->snapshots_len)
		return "snapshot list longer than its entries";
	return NULL;
}

int
image_info_bitmap_next(const uint8_t *list, size_t len, size_t *pos,
    struct instar_bitmap *bm)
{
	size_t p = *pos;

	if (p > len || len - p < sizeof(bm->hdr))
		return -1;
	memcpy(&bm->hdr, list + p, sizeof(bm->hdr));
	p += sizeof(bm->hdr);
	if (len - p < bm->hdr.name_len)
		return -1;
	bm->name = list + p;
	*pos = p + bm->hdr.name_len;
	return 0;
}

static const char *
check_bitmap(const struct instar_bitmap *bm)
{
	if (bm->hdr.reserved != 0 ||
	    (bm->hdr.flags & ~(INSTAR_BITMAP_IN_USE | INSTAR_BITMAP_AUTO)))
		return "bitmap with reserved bits set";
	if (!is_power_of_two(bm->hdr.granularity) ||
	    bm->hdr.granularity < INSTAR_BITMAP_GRAN_MIN)
		return "bad bitmap granularity";
	if (bm->hdr.name_len > INSTAR_BITMAP_NAME_MAX)
		return "bitmap name too long";
	/* qemu holds the name as a C string. */
	if (memchr(bm->name, '\0', bm->hdr.name_len) != NULL)
		return "NUL byte in a bitmap name";
	return NULL;
}

/* The bitmap list sits right after the snapshot list. */
static const char *
check_bitmaps(const struct instar_info_result *res)
{
	const uint8_t *list = res->lists + res->snapshots_len;
	struct instar_bitmap bm;
	const char *why;
	size_t pos = 0;
	uint32_t i;

	if (res->nbitmaps == 0)
		return res->bitmaps_len == 0 ? NULL :
		    "bitmap bytes without bitmaps";
	/* qemu lists bitmaps of qcow2 v3 images only. */
	if (res->info.format != INSTAR_FMT_QCOW2 ||
	    res->info.qcow2_version != 3)
		return "bitmaps where qemu lists none";
	if (res->nbitmaps > INSTAR_BITMAP_COUNT_MAX)
		return "too many bitmaps";
	for (i = 0; i < res->nbitmaps; i++) {
		if (image_info_bitmap_next(list, res->bitmaps_len, &pos,
		    &bm) != 0)
			return "bitmap list overruns its length";
		if ((why = check_bitmap(&bm)) != NULL)
			return why;
	}
	if (pos != res->bitmaps_len)
		return "bitmap list longer than its entries";
	return NULL;
}

const char *
image_info_validate_result(const struct instar_info_result *res, size_t got)
{
	const char *why;

	if (res->status != 0)
		return "not a successful result";
	if (res->snapshots_len > INSTAR_SNAP_AREA_MAX ||
	    res->bitmaps_len > INSTAR_BITMAP_AREA_MAX ||
	    got != INSTAR_INFO_RESULT_MIN + res->snapshots_len +
	    res->bitmaps_len)
		return "list lengths disagree with the result's";
	if ((why = image_info_validate(&res->info)) != NULL)
		return why;
	if ((why = check_snapshots(res)) != NULL)
		return why;
	return check_bitmaps(res);
}

/*
 * An error text may quote image bytes; show them as '?' rather than let
 * a hostile image put control sequences on the user's terminal.
 */
static void
mask_controls(char *msg)
{
	size_t i;

	for (i = 0; msg[i] != '\0'; i++) {
		unsigned char c = (unsigned char)msg[i];

		if (c < 0x20 || c == 0x7f)
			msg[i] = '?';
	}
}

const char *
image_info_sanitize_error(char *msg, size_t size)
{
	if (!terminated(msg, size))
		return "unterminated error text";
	if (msg[0] == '\0')
		return "empty error text";
	mask_controls(msg);
	return NULL;
}

/* The same for the hint after an error, which is often empty. */
const char *
image_info_sanitize_hint(char *hint, size_t size)
{
	if (!terminated(hint, size))
		return "unterminated hint text";
	mask_controls(hint);
	return NULL;
}
