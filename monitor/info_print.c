/*
 * Rendering of "qemu-img info" output from what the sandbox reported.
 *
 * Both outputs start from the same value: an ImageInfo object built the
 * way qemu's QAPI output visitor builds it (block/qapi.c
 * bdrv_query_image_info(), qcow2_get_specific_info(),
 * vmdk_get_specific_info()), inserting members in schema field order
 * (qapi/block-core.json).  json.c then yields qemu's QDict key order.
 * The human form follows bdrv_image_info_dump(), whose "Format specific
 * information" part walks that same dictionary (dump_qobject()).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image_info.h"
#include "info_print.h"
#include "json.h"
#include "sizestr.h"
#include "strvis.h"

#define NSEC_PER_SEC	1000000000ull

/* The name of a format an info result may carry; NULL for any other. */
static const char *
known_format_name(Instar__Format fmt)
{
	switch (fmt) {
	case INSTAR__FORMAT__FORMAT_RAW:
		return "raw";
	case INSTAR__FORMAT__FORMAT_QCOW2:
		return "qcow2";
	case INSTAR__FORMAT__FORMAT_VMDK:
		return "vmdk";
	default:
		return NULL;
	}
}

/* Length of a protobuf bytes field as the C string qemu would hold. */
static size_t
bytes_strlen(const ProtobufCBinaryData *b)
{
	const void *nul;

	if (b->data == NULL)
		return 0;
	if ((nul = memchr(b->data, '\0', b->len)) != NULL)
		return (size_t)((const uint8_t *)nul - b->data);
	return b->len;
}

static bool
has_backing(const Instar__ImageInfo *info)
{
	/* qemu: bs->backing_file[0] != '\0' */
	return info->has_backing_filename &&
	    bytes_strlen(&info->backing_filename) > 0;
}

static bool
has_backing_format(const Instar__ImageInfo *info)
{
	return info->backing_format != NULL && info->backing_format[0] != '\0';
}

static bool
is_encrypted(const Instar__ImageInfo *info)
{
	return info->format == INSTAR__FORMAT__FORMAT_QCOW2 &&
	    info->qcow2 != NULL && info->qcow2->encrypted;
}

/*
 * qemu copies ids and names into QEMUSnapshotInfo's fixed arrays, as C
 * strings, so it never reports longer ones or ones with a NUL inside.
 */
static int
check_snapshots(const Instar__ImageInfo *info)
{
	const Instar__Snapshot *sn;
	size_t i;

	if (info->n_snapshots > 0 &&
	    (info->snapshots == NULL ||
	    info->format != INSTAR__FORMAT__FORMAT_QCOW2))
		return -1;
	for (i = 0; i < info->n_snapshots; i++) {
		if ((sn = info->snapshots[i]) == NULL ||
		    (sn->id.len > 0 && sn->id.data == NULL) ||
		    (sn->name.len > 0 && sn->name.data == NULL) ||
		    sn->id.len > INSTAR_SNAP_ID_MAX ||
		    sn->name.len > INSTAR_SNAP_NAME_MAX ||
		    bytes_strlen(&sn->id) != sn->id.len ||
		    bytes_strlen(&sn->name) != sn->name.len)
			return -1;
	}
	return 0;
}

/* An "encrypt" block as the worker builds it, or none. */
static int
check_encrypt(const Instar__Qcow2Encryption *e)
{
	size_t i;

	if (e == NULL)
		return 0;
	if (e->format == NULL)
		return -1;
	if (strcmp(e->format, "aes") == 0)
		return 0;
	if (strcmp(e->format, "luks") != 0 || e->cipher_alg == NULL ||
	    e->cipher_mode == NULL || e->ivgen_alg == NULL ||
	    e->hash_alg == NULL || !e->has_payload_offset ||
	    e->payload_offset > INT64_MAX || !e->has_master_key_iters ||
	    !e->has_uuid || e->n_slots == 0 || e->slots == NULL)
		return -1;
	for (i = 0; i < e->n_slots; i++)
		if (e->slots[i] == NULL || e->slots[i]->key_offset > INT64_MAX)
			return -1;
	return 0;
}

/* Bitmaps as qemu lists them: qcow2 v3, names as C strings. */
static int
check_bitmaps(const Instar__Qcow2Info *q)
{
	const Instar__Bitmap *bm;
	size_t i;

	if (q->n_bitmaps > 0 && (q->bitmaps == NULL || q->version != 3))
		return -1;
	for (i = 0; i < q->n_bitmaps; i++) {
		if ((bm = q->bitmaps[i]) == NULL ||
		    (bm->name.len > 0 && bm->name.data == NULL) ||
		    bm->name.len > INSTAR_BITMAP_NAME_MAX ||
		    bytes_strlen(&bm->name) != bm->name.len ||
		    bm->granularity < INSTAR_BITMAP_GRAN_MIN ||
		    (bm->granularity & (bm->granularity - 1)) != 0)
			return -1;
	}
	return 0;
}

/* Reject what qemu could never have reported. */
static int
check_entry(const struct info_entry *e)
{
	const Instar__ImageInfo *info = e->info;

	if (e->filename == NULL || info == NULL ||
	    known_format_name(info->format) == NULL ||
	    info->virtual_size > INT64_MAX ||
	    (info->has_cluster_size && info->cluster_size > INT64_MAX))
		return -1;
	if (info->format == INSTAR__FORMAT__FORMAT_QCOW2 &&
	    (info->qcow2 == NULL || info->qcow2->compression_type == NULL ||
	    (info->qcow2->version != 2 && info->qcow2->version != 3) ||
	    check_encrypt(info->qcow2->encrypt) != 0 ||
	    check_bitmaps(info->qcow2) != 0))
		return -1;
	if (info->format == INSTAR__FORMAT__FORMAT_VMDK &&
	    (info->vmdk == NULL || info->vmdk->create_type == NULL))
		return -1;
	return check_snapshots(info);
}

/* QCryptoBlockInfoLUKSSlot, members in schema order. */
static struct json_value *
luks_slot(const Instar__LuksSlot *slot)
{
	struct json_value *o;
	int r = 0;

	if ((o = json_object_new()) == NULL)
		return NULL;
	r |= json_object_put(o, "active", json_bool_new(slot->active));
	if (slot->has_iters)
		r |= json_object_put(o, "iters", json_int_new(slot->iters));
	if (slot->has_stripes)
		r |= json_object_put(o, "stripes",
		    json_int_new(slot->stripes));
	r |= json_object_put(o, "key-offset",
	    json_int_new((int64_t)slot->key_offset));
	if (r != 0) {
		json_free(o);
		return NULL;
	}
	return o;
}

/*
 * ImageInfoSpecificQCow2Encryption: the format, then for LUKS the
 * members of QCryptoBlockInfoLUKS in schema order.
 */
static struct json_value *
qcow2_encrypt(const Instar__Qcow2Encryption *e)
{
	struct json_value *o, *slots;
	size_t i;
	int r = 0;

	if ((o = json_object_new()) == NULL)
		return NULL;
	r |= json_object_put(o, "format", json_cstring_new(e->format));
	if (strcmp(e->format, "luks") != 0)
		goto out;
	r |= json_object_put(o, "cipher-alg", json_cstring_new(e->cipher_alg));
	r |= json_object_put(o, "cipher-mode",
	    json_cstring_new(e->cipher_mode));
	r |= json_object_put(o, "ivgen-alg", json_cstring_new(e->ivgen_alg));
	if (e->ivgen_hash_alg != NULL)
		r |= json_object_put(o, "ivgen-hash-alg",
		    json_cstring_new(e->ivgen_hash_alg));
	r |= json_object_put(o, "hash-alg", json_cstring_new(e->hash_alg));
	r |= json_object_put(o, "payload-offset",
	    json_int_new((int64_t)e->payload_offset));
	r |= json_object_put(o, "master-key-iters",
	    json_int_new(e->master_key_iters));
	r |= json_object_put(o, "uuid",
	    json_string_new((const char *)e->uuid.data, e->uuid.len));
	if ((slots = json_array_new()) == NULL)
		r = -1;
	for (i = 0; slots != NULL && i < e->n_slots; i++)
		if (json_array_append(slots, luks_slot(e->slots[i])) == -1)
			r = -1;
	r |= json_object_put(o, "slots", slots);
 out:
	if (r != 0) {
		json_free(o);
		return NULL;
	}
	return o;
}

/* Qcow2BitmapInfo, members in schema order; flags in enum order. */
static struct json_value *
qcow2_bitmap(const Instar__Bitmap *bm)
{
	struct json_value *o, *flags;
	int r = 0;

	if ((o = json_object_new()) == NULL)
		return NULL;
	r |= json_object_put(o, "name",
	    json_string_new((const char *)bm->name.data, bm->name.len));
	r |= json_object_put(o, "granularity", json_int_new(bm->granularity));
	if ((flags = json_array_new()) == NULL)
		r = -1;
	if (flags != NULL && bm->in_use &&
	    json_array_append(flags, json_cstring_new("in-use")) == -1)
		r = -1;
	if (flags != NULL && bm->auto_enabled &&
	    json_array_append(flags, json_cstring_new("auto")) == -1)
		r = -1;
	r |= json_object_put(o, "flags", flags);
	if (r != 0) {
		json_free(o);
		return NULL;
	}
	return o;
}

/* "bitmaps" is left out, not empty, when there are none. */
static int
put_bitmaps(struct json_value *d, const Instar__Qcow2Info *q)
{
	struct json_value *list;
	size_t i;

	if (q->n_bitmaps == 0)
		return 0;
	if ((list = json_array_new()) == NULL)
		return -1;
	for (i = 0; i < q->n_bitmaps; i++)
		if (json_array_append(list, qcow2_bitmap(q->bitmaps[i])) == -1) {
			json_free(list);
			return -1;
		}
	return json_object_put(d, "bitmaps", list);
}

/* ImageInfoSpecificQCow2, members in schema order. */
static struct json_value *
qcow2_specific(const Instar__Qcow2Info *q)
{
	struct json_value *d;
	int r = 0;

	if ((d = json_object_new()) == NULL)
		return NULL;
	if (q->version == 2) {
		r |= json_object_put(d, "compat", json_cstring_new("0.10"));
		r |= json_object_put(d, "refcount-bits",
		    json_int_new(q->refcount_bits));
		r |= json_object_put(d, "compression-type",
		    json_cstring_new(q->compression_type));
		goto out;
	}
	r |= json_object_put(d, "compat", json_cstring_new("1.1"));
	/*
	 * qemu names the data file the header names, and says whether it
	 * is raw where the image has one by its header's bit.
	 */
	if (q->has_data_file)
		r |= json_object_put(d, "data-file",
		    json_string_new((const char *)q->data_file.data,
		    q->data_file.len));
	if (q->has_external_data && q->external_data)
		r |= json_object_put(d, "data-file-raw",
		    json_bool_new(q->data_file_raw));
	r |= json_object_put(d, "extended-l2", json_bool_new(q->extended_l2));
	r |= json_object_put(d, "lazy-refcounts",
	    json_bool_new(q->lazy_refcounts));
	r |= json_object_put(d, "corrupt", json_bool_new(q->corrupt));
	r |= json_object_put(d, "refcount-bits",
	    json_int_new(q->refcount_bits));
	if (q->encrypt != NULL)
		r |= json_object_put(d, "encrypt", qcow2_encrypt(q->encrypt));
	r |= put_bitmaps(d, q);
	r |= json_object_put(d, "compression-type",
	    json_cstring_new(q->compression_type));
 out:
	if (r != 0) {
		json_free(d);
		return NULL;
	}
	return d;
}

/*
 * One extent as vmdk_get_extent_info() describes it.  The sandbox only
 * handles single-file images, whose one extent is the image itself;
 * qemu leaves its type unset there, hence the empty "format".
 */
static struct json_value *
vmdk_extent(const struct info_entry *e)
{
	const Instar__ImageInfo *info = e->info;
	struct json_value *x;
	int r = 0;

	if ((x = json_object_new()) == NULL)
		return NULL;
	r |= json_object_put(x, "filename", json_cstring_new(e->filename));
	r |= json_object_put(x, "format", json_cstring_new(""));
	r |= json_object_put(x, "virtual-size",
	    json_int_new((int64_t)info->virtual_size));
	if (info->has_cluster_size)
		r |= json_object_put(x, "cluster-size",
		    json_int_new((int64_t)info->cluster_size));
	if (info->vmdk->compressed)
		r |= json_object_put(x, "compressed", json_bool_new(true));
	if (r != 0) {
		json_free(x);
		return NULL;
	}
	return x;
}

/* ImageInfoSpecificVmdk, members in schema order. */
static struct json_value *
vmdk_specific(const struct info_entry *e)
{
	const Instar__VmdkInfo *v = e->info->vmdk;
	struct json_value *d, *extents;
	int r = 0;

	if ((d = json_object_new()) == NULL)
		return NULL;
	r |= json_object_put(d, "create-type",
	    json_cstring_new(v->create_type));
	r |= json_object_put(d, "cid", json_int_new(v->cid));
	r |= json_object_put(d, "parent-cid", json_int_new(v->parent_cid));
	if ((extents = json_array_new()) == NULL ||
	    json_array_append(extents, vmdk_extent(e)) == -1)
		r = -1;
	r |= json_object_put(d, "extents", extents);
	if (r != 0) {
		json_free(d);
		return NULL;
	}
	return d;
}

/* ImageInfoSpecific: a flat union, "type" then "data". */
static int
put_format_specific(struct json_value *obj, const struct info_entry *e)
{
	struct json_value *spec, *data;
	const char *type;
	int r = 0;

	switch (e->info->format) {
	case INSTAR__FORMAT__FORMAT_QCOW2:
		data = qcow2_specific(e->info->qcow2);
		break;
	case INSTAR__FORMAT__FORMAT_VMDK:
		data = vmdk_specific(e);
		break;
	default:
		return 0;	/* raw has none */
	}
	type = known_format_name(e->info->format);
	if ((spec = json_object_new()) == NULL) {
		json_free(data);
		return -1;
	}
	r |= json_object_put(spec, "type", json_cstring_new(type));
	r |= json_object_put(spec, "data", data);
	r |= json_object_put(obj, "format-specific", spec);
	return r == 0 ? 0 : -1;
}

/* SnapshotInfo, members in schema order (block/qapi.c fills it). */
static struct json_value *
snapshot_info(const Instar__Snapshot *sn)
{
	struct json_value *o;
	int r = 0;

	if ((o = json_object_new()) == NULL)
		return NULL;
	r |= json_object_put(o, "id",
	    json_string_new((const char *)sn->id.data, sn->id.len));
	r |= json_object_put(o, "name",
	    json_string_new((const char *)sn->name.data, sn->name.len));
	/* qemu's fields are int64: huge unsigned values come out negative */
	r |= json_object_put(o, "vm-state-size",
	    json_int_new((int64_t)sn->vm_state_size));
	r |= json_object_put(o, "date-sec", json_int_new(sn->date_sec));
	r |= json_object_put(o, "date-nsec", json_int_new(sn->date_nsec));
	r |= json_object_put(o, "vm-clock-sec",
	    json_int_new((int64_t)(sn->vm_clock_nsec / NSEC_PER_SEC)));
	r |= json_object_put(o, "vm-clock-nsec",
	    json_int_new((int64_t)(sn->vm_clock_nsec % NSEC_PER_SEC)));
	if (sn->has_icount)
		r |= json_object_put(o, "icount",
		    json_int_new((int64_t)sn->icount));
	if (r != 0) {
		json_free(o);
		return NULL;
	}
	return o;
}

/* "snapshots" is left out, not empty, when there are none. */
static int
put_snapshots(struct json_value *obj, const Instar__ImageInfo *info)
{
	struct json_value *list;
	size_t i;

	if (info->n_snapshots == 0)
		return 0;
	if ((list = json_array_new()) == NULL)
		return -1;
	for (i = 0; i < info->n_snapshots; i++)
		if (json_array_append(list,
		    snapshot_info(info->snapshots[i])) == -1) {
			json_free(list);
			return -1;
		}
	return json_object_put(obj, "snapshots", list);
}

/* ImageInfo for one entry, members in schema order. */
static struct json_value *
image_info(const struct info_entry *e)
{
	const Instar__ImageInfo *info = e->info;
	struct json_value *o;
	int r = 0;

	if ((o = json_object_new()) == NULL)
		return NULL;
	r |= json_object_put(o, "filename", json_cstring_new(e->filename));
	r |= json_object_put(o, "format",
	    json_cstring_new(known_format_name(info->format)));
	r |= json_object_put(o, "dirty-flag", json_bool_new(info->dirty));
	if (e->actual_size >= 0)
		r |= json_object_put(o, "actual-size",
		    json_int_new(e->actual_size));
	r |= json_object_put(o, "virtual-size",
	    json_int_new((int64_t)info->virtual_size));
	if (info->has_cluster_size && info->cluster_size != 0)
		r |= json_object_put(o, "cluster-size",
		    json_int_new((int64_t)info->cluster_size));
	if (is_encrypted(info))
		r |= json_object_put(o, "encrypted", json_bool_new(true));
	if (has_backing(info)) {
		r |= json_object_put(o, "backing-filename",
		    json_string_new((const char *)info->backing_filename.data,
		    info->backing_filename.len));
		if (e->full_backing_filename != NULL)
			r |= json_object_put(o, "full-backing-filename",
			    json_cstring_new(e->full_backing_filename));
		if (has_backing_format(info))
			r |= json_object_put(o, "backing-filename-format",
			    json_cstring_new(info->backing_format));
	}
	r |= put_snapshots(o, info);
	r |= put_format_specific(o, e);
	if (r != 0) {
		json_free(o);
		return NULL;
	}
	return o;
}

static void
dump_value(FILE *, const struct json_value *, unsigned int);

/* block/qapi.c dump_qdict(): dashes in keys become spaces. */
static void
dump_dict(FILE *out, const struct json_value *d, unsigned int indent)
{
	const struct json_value *v;
	const char *key, *k;
	enum json_type t;
	size_t i;

	for (i = 0; i < json_length(d); i++) {
		key = json_object_key(d, i);
		v = json_object_value(d, i);
		t = json_type(v);
		fprintf(out, "%*s", (int)(indent * 4), "");
		for (k = key; *k != '\0'; k++)
			fputc(*k == '-' ? ' ' : *k, out);
		fputc(':', out);
		fputc(t == JSON_OBJECT || t == JSON_ARRAY ? '\n' : ' ', out);
		dump_value(out, v, indent + 1);
	}
}

/* block/qapi.c dump_qlist() */
static void
dump_list(FILE *out, const struct json_value *l, unsigned int indent)
{
	const struct json_value *v;
	enum json_type t;
	size_t i;

	for (i = 0; i < json_length(l); i++) {
		v = json_array_get(l, i);
		t = json_type(v);
		fprintf(out, "%*s[%zu]:%c", (int)(indent * 4), "", i,
		    t == JSON_OBJECT || t == JSON_ARRAY ? '\n' : ' ');
		dump_value(out, v, indent + 1);
	}
}

/*
 * block/qapi.c dump_qobject(): scalars one per line; strings (a VMDK
 * create type, extent file names) come from the image, so encoded.
 */
static void
dump_value(FILE *out, const struct json_value *v, unsigned int indent)
{
	const char *s;
	char num[32];

	switch (json_type(v)) {
	case JSON_INT:
	case JSON_UINT:
		if (json_number_str(v, num, sizeof(num)) == 0)
			fprintf(out, "%s\n", num);
		break;
	case JSON_STRING:
		s = json_get_string(v);
		strvis_fwrite(out, s, json_length(v));
		fputc('\n', out);
		break;
	case JSON_BOOL:
		fputs(json_get_bool(v) ? "true\n" : "false\n", out);
		break;
	case JSON_OBJECT:
		dump_dict(out, v, indent);
		break;
	case JSON_ARRAY:
		dump_list(out, v, indent);
		break;
	}
}

/* Look up a member of an object; NULL if absent. */
static const struct json_value *
member(const struct json_value *o, const char *key)
{
	size_t i;

	for (i = 0; i < json_length(o); i++)
		if (strcmp(json_object_key(o, i), key) == 0)
			return json_object_value(o, i);
	return NULL;
}

/* A bytes field that holds no NUL, encoded for a terminal in buf. */
static void
bytes_vis(char *buf, size_t size, const ProtobufCBinaryData *b)
{
	strvis_encode(buf, size, (const char *)b->data, bytes_strlen(b));
}

/* block/qapi.c bdrv_snapshot_dump(): one row of the table. */
static int
dump_snapshot(FILE *out, const Instar__Snapshot *sn)
{
	char id[STRVIS_SIZE(INSTAR_SNAP_ID_MAX)];
	char name[STRVIS_SIZE(INSTAR_SNAP_NAME_MAX)];
	char vmsize[SIZE_STR_MAX], date[32], clock[64], icount[32];
	uint64_t secs = sn->vm_clock_nsec / NSEC_PER_SEC;
	time_t t = (time_t)sn->date_sec;
	struct tm tm;

	bytes_vis(id, sizeof(id), &sn->id);
	bytes_vis(name, sizeof(name), &sn->name);
	if (size_to_str(vmsize, sizeof(vmsize), sn->vm_state_size) == -1)
		return -1;
	/* qemu formats the date in local time (GDateTime) */
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		return -1;
	snprintf(clock, sizeof(clock), "%02d:%02d:%02d.%03d",
	    (int)(secs / 3600), (int)((secs / 60) % 60), (int)(secs % 60),
	    (int)((sn->vm_clock_nsec / 1000000) % 1000));
	icount[0] = '\0';
	if (sn->has_icount)
		snprintf(icount, sizeof(icount), "%" PRId64,
		    (int64_t)sn->icount);
	fprintf(out, "%-9s %-16s %8s%20s%13s%11s\n",
	    id, name, vmsize, date, clock, icount);
	return 0;
}

/* bdrv_image_info_dump()'s "Snapshot list:" part. */
static int
dump_snapshots(FILE *out, const Instar__ImageInfo *info)
{
	size_t i;

	if (info->n_snapshots == 0)
		return 0;
	fputs("Snapshot list:\n", out);
	fprintf(out, "%-10s%-17s%8s%20s%13s%11s\n",
	    "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT");
	for (i = 0; i < info->n_snapshots; i++)
		if (dump_snapshot(out, info->snapshots[i]) == -1)
			return -1;
	return 0;
}

/* The backing lines of bdrv_image_info_dump(); every name is encoded. */
static void
dump_backing(FILE *out, const struct info_entry *e)
{
	const Instar__ImageInfo *info = e->info;
	const char *name = (const char *)info->backing_filename.data;
	size_t len = bytes_strlen(&info->backing_filename);
	const char *full = e->full_backing_filename;

	fputs("backing file: ", out);
	strvis_fwrite(out, name, len);
	if (full == NULL)
		fputs(" (cannot determine actual path)", out);
	else if (strlen(full) != len || memcmp(full, name, len) != 0) {
		fputs(" (actual path: ", out);
		strvis_fputs(out, full);
		fputc(')', out);
	}
	fputc('\n', out);
	if (has_backing_format(info)) {
		fputs("backing file format: ", out);
		strvis_fputs(out, info->backing_format);
		fputc('\n', out);
	}
}

/* block/qapi.c bdrv_image_info_dump() */
static int
dump_human(FILE *out, const struct info_entry *e, const struct json_value *o)
{
	const Instar__ImageInfo *info = e->info;
	const struct json_value *spec;
	char vsize[SIZE_STR_MAX], dsize[SIZE_STR_MAX];

	if (size_to_str(vsize, sizeof(vsize), info->virtual_size) == -1)
		return -1;
	if (e->actual_size < 0)
		snprintf(dsize, sizeof(dsize), "unavailable");
	else if (size_to_str(dsize, sizeof(dsize),
	    (uint64_t)e->actual_size) == -1)
		return -1;
	/* Below the top, filename is a backing name from an image. */
	fputs("image: ", out);
	strvis_fputs(out, e->filename);
	fprintf(out, "\n"
	    "file format: %s\n"
	    "virtual size: %s (%" PRId64 " bytes)\n"
	    "disk size: %s\n",
	    known_format_name(info->format), vsize,
	    (int64_t)info->virtual_size, dsize);
	if (is_encrypted(info))
		fputs("encrypted: yes\n", out);
	if (info->has_cluster_size && info->cluster_size != 0)
		fprintf(out, "cluster_size: %" PRId64 "\n",
		    (int64_t)info->cluster_size);
	if (info->dirty)
		fputs("cleanly shut down: no\n", out);
	if (has_backing(info))
		dump_backing(out, e);
	if (dump_snapshots(out, info) == -1)
		return -1;
	if ((spec = member(o, "format-specific")) != NULL &&
	    (spec = member(spec, "data")) != NULL) {
		fputs("Format specific information:\n", out);
		dump_value(out, spec, 1);
	}
	return 0;
}

static int
check_entries(const struct info_entry *entries, size_t n)
{
	size_t i;

	if (entries == NULL && n > 0)
		goto inval;
	for (i = 0; i < n; i++)
		if (check_entry(&entries[i]) == -1)
			goto inval;
	return 0;
 inval:
	errno = EINVAL;
	return -1;
}

static void
free_infos(struct json_value **objs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		json_free(objs[i]);
	free(objs);
}

int
info_print_human(FILE *out, const struct info_entry *entries, size_t n)
{
	struct json_value **objs;
	size_t i;
	int r = 0;

	if (check_entries(entries, n) == -1)
		return -1;
	if (n == 0)
		return 0;
	/* build everything first: running out of memory prints nothing */
	if ((objs = calloc(n, sizeof(*objs))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if ((objs[i] = image_info(&entries[i])) == NULL) {
			free_infos(objs, n);
			return -1;
		}
	}
	for (i = 0; i < n && r == 0; i++) {
		/* dump_human_image_info_list(): a blank line between images */
		if (i > 0)
			fputc('\n', out);
		r = dump_human(out, &entries[i], objs[i]);
	}
	free_infos(objs, n);
	if (r == -1 || fflush(out) == EOF || ferror(out))
		return -1;
	return 0;
}

int
info_print_json(FILE *out, const struct info_entry *entries, size_t n,
    bool chain)
{
	struct json_value *top, *o;
	size_t i;
	int r;

	if (check_entries(entries, n) == -1)
		return -1;
	if (!chain && n != 1) {
		errno = EINVAL;
		return -1;
	}
	if (!chain)
		top = image_info(&entries[0]);
	else if ((top = json_array_new()) != NULL) {
		for (i = 0; i < n; i++) {
			o = image_info(&entries[i]);
			if (json_array_append(top, o) == -1) {
				json_free(top);
				return -1;
			}
		}
	}
	if (top == NULL)
		return -1;
	/* dump_json_image_info{,_list}(): printf("%s\n", ...) */
	r = json_print_pretty(out, top);
	json_free(top);
	fputc('\n', out);
	if (r == -1 || fflush(out) == EOF || ferror(out))
		return -1;
	return 0;
}
