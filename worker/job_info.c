/*
 * The info job: one guest run reads an image's metadata, and the worker
 * passes on the validated result, remembering what it says of the file
 * for the writing jobs that may follow.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "frame.h"
#include "image_info_check.h"
#include "log.h"
#include "worker.h"

_Static_assert(sizeof(struct instar_info_result) <= INSTAR_HC_RESULT_MAX,
    "an info result must fit the vmm's result cap");

/*
 * The snapshot list of a validated result as protobuf messages pointing
 * into it.  Static: the list may hold thousands of entries.
 */
static size_t
snapshots_to_pb(const struct instar_info_result *res, Instar__Snapshot ***out)
{
	static Instar__Snapshot pb[INSTAR_SNAP_COUNT_MAX];
	static Instar__Snapshot *ptrs[INSTAR_SNAP_COUNT_MAX];
	struct instar_snapshot sn;
	size_t pos = 0, i;

	for (i = 0; i < res->nsnapshots && i < INSTAR_SNAP_COUNT_MAX; i++) {
		if (image_info_snapshot_next(res->lists,
		    res->snapshots_len, &pos, &sn) != 0)
			break;
		instar__snapshot__init(&pb[i]);
		pb[i].id.data = (uint8_t *)sn.id;
		pb[i].id.len = sn.hdr.id_len;
		pb[i].name.data = (uint8_t *)sn.name;
		pb[i].name.len = sn.hdr.name_len;
		pb[i].vm_state_size = sn.hdr.vm_state_size;
		pb[i].date_sec = sn.hdr.date_sec;
		pb[i].date_nsec = sn.hdr.date_nsec;
		pb[i].vm_clock_nsec = sn.hdr.vm_clock_nsec;
		pb[i].has_icount = sn.hdr.icount != INSTAR_SNAP_ICOUNT_NONE;
		pb[i].icount = sn.hdr.icount;
		ptrs[i] = &pb[i];
	}
	*out = ptrs;
	return i;
}

/* The bitmap list of a validated result, as the snapshots. */
static size_t
bitmaps_to_pb(const struct instar_info_result *res, Instar__Bitmap ***out)
{
	static Instar__Bitmap pb[INSTAR_BITMAP_COUNT_MAX];
	static Instar__Bitmap *ptrs[INSTAR_BITMAP_COUNT_MAX];
	const uint8_t *list = res->lists + res->snapshots_len;
	struct instar_bitmap bm;
	size_t pos = 0, i;

	for (i = 0; i < res->nbitmaps && i < INSTAR_BITMAP_COUNT_MAX; i++) {
		if (image_info_bitmap_next(list, res->bitmaps_len, &pos,
		    &bm) != 0)
			break;
		instar__bitmap__init(&pb[i]);
		pb[i].name.data = (uint8_t *)bm.name;
		pb[i].name.len = bm.hdr.name_len;
		pb[i].granularity = bm.hdr.granularity;
		pb[i].in_use = (bm.hdr.flags & INSTAR_BITMAP_IN_USE) != 0;
		pb[i].auto_enabled = (bm.hdr.flags & INSTAR_BITMAP_AUTO) != 0;
		ptrs[i] = &pb[i];
	}
	*out = ptrs;
	return i;
}

/*
 * The "encrypt" block of a validated qcow2 record, or NULL when qemu
 * shows none.  Static, like the snapshots: one image per message.
 */
static Instar__Qcow2Encryption *
encrypt_to_pb(struct instar_image_info *in)
{
	static Instar__Qcow2Encryption e;
	static Instar__LuksSlot slots[INSTAR_LUKS_SLOTS];
	static Instar__LuksSlot *ptrs[INSTAR_LUKS_SLOTS];
	struct instar_luks_info *l = &in->luks;
	size_t i;

	instar__qcow2_encryption__init(&e);
	switch (in->encrypt_format) {
	case IMG_ENCRYPT_AES:
		e.format = "aes";
		return &e;
	case IMG_ENCRYPT_LUKS:
		break;
	default:
		return NULL;
	}
	e.format = "luks";
	e.cipher_alg = l->cipher_alg;
	e.cipher_mode = l->cipher_mode;
	e.ivgen_alg = l->ivgen_alg;
	if (l->ivgen_hash_alg[0] != '\0')
		e.ivgen_hash_alg = l->ivgen_hash_alg;
	e.hash_alg = l->hash_alg;
	e.has_payload_offset = 1;
	e.payload_offset = (uint64_t)l->payload_offset_sector *
	    INSTAR_LUKS_SECTOR;
	e.has_master_key_iters = 1;
	e.master_key_iters = l->master_key_iters;
	e.has_uuid = 1;
	e.uuid.data = (uint8_t *)l->uuid;
	e.uuid.len = strlen(l->uuid);
	for (i = 0; i < INSTAR_LUKS_SLOTS; i++) {
		instar__luks_slot__init(&slots[i]);
		slots[i].active = l->slots[i].active != 0;
		slots[i].key_offset =
		    (uint64_t)l->slots[i].key_offset_sector *
		    INSTAR_LUKS_SECTOR;
		slots[i].has_iters = slots[i].has_stripes = slots[i].active;
		slots[i].iters = l->slots[i].iters;
		slots[i].stripes = l->slots[i].stripes;
		ptrs[i] = &slots[i];
	}
	e.n_slots = INSTAR_LUKS_SLOTS;
	e.slots = ptrs;
	return &e;
}

/* Send a validated result; its record's strings are NUL-terminated. */
static void
send_info(int sock, struct instar_info_result *res)
{
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__ImageInfo info = INSTAR__IMAGE_INFO__INIT;
	Instar__Qcow2Info q = INSTAR__QCOW2_INFO__INIT;
	Instar__VmdkInfo v = INSTAR__VMDK_INFO__INIT;
	struct instar_image_info *in = &res->info;

	info.format = format_to_pb(in->format);
	info.virtual_size = in->virtual_size;
	info.has_cluster_size = (in->flags & IMG_HAS_CLUSTER_SIZE) != 0;
	info.cluster_size = in->cluster_size;
	if (in->flags & IMG_HAS_BACKING) {
		info.has_backing_filename = 1;
		info.backing_filename.data = (uint8_t *)in->backing_name;
		info.backing_filename.len = strlen(in->backing_name);
	}
	if (in->flags & IMG_HAS_BACKING_FMT)
		info.backing_format = in->backing_format;
	info.dirty = (in->flags & IMG_DIRTY) != 0;
	if (in->format == INSTAR_FMT_QCOW2) {
		q.version = in->qcow2_version;
		q.refcount_bits = in->refcount_bits;
		q.compression_type = in->compression_type ==
		    IMG_COMPRESSION_ZSTD ? "zstd" : "zlib";
		q.lazy_refcounts = (in->flags & IMG_LAZY_REFCOUNTS) != 0;
		q.corrupt = (in->flags & IMG_CORRUPT) != 0;
		q.extended_l2 = (in->flags & IMG_EXTENDED_L2) != 0;
		q.encrypted = (in->flags & IMG_ENCRYPTED) != 0;
		q.encrypt = encrypt_to_pb(in);
		q.n_bitmaps = bitmaps_to_pb(res, &q.bitmaps);
		q.data_file_raw = (in->flags & IMG_DATA_FILE_RAW) != 0;
		if (in->flags & IMG_EXTERNAL_DATA) {
			q.has_external_data = 1;
			q.external_data = 1;
		}
		if (in->flags & IMG_HAS_DATA_FILE) {
			q.has_data_file = 1;
			q.data_file.data = (uint8_t *)in->data_file;
			q.data_file.len = strlen(in->data_file);
		}
		info.qcow2 = &q;
	} else if (in->format == INSTAR_FMT_VMDK) {
		v.cid = in->vmdk_cid;
		v.parent_cid = in->vmdk_parent_cid;
		v.create_type = in->create_type;
		v.compressed = (in->flags & IMG_VMDK_COMPRESSED) != 0;
		info.vmdk = &v;
	}
	info.n_snapshots = snapshots_to_pb(res, &info.snapshots);
	env.body_case = INSTAR__ENVELOPE__BODY_IMAGE_INFO;
	env.image_info = &info;
	if (frame_send(sock, &env, NULL, 0) != 0)
		fatal_f("cannot reach the monitor: %s", strerror(errno));
}

bool
worker_report_info(struct worker *w, struct instar_info_result *res,
    size_t got)
{
	char err[512];
	const char *why;

	if (res->status != 0) {
		if ((why = image_info_sanitize_error(res->error,
		    sizeof(res->error))) != NULL ||
		    (why = image_info_sanitize_hint(res->hint,
		    sizeof(res->hint))) != NULL) {
			snprintf(err, sizeof(err), "sandbox returned a "
			    "malformed error (%s)", why);
			send_failure(w->sock, err);
		} else
			send_failure_hint(w->sock, res->error, res->hint);
		return false;
	}
	if ((why = image_info_validate_result(res, got)) != NULL) {
		snprintf(err, sizeof(err), "sandbox returned a malformed "
		    "result (%s)", why);
		send_failure(w->sock, err);
		return false;
	}
	send_info(w->sock, res);
	return true;
}

bool
worker_inspect(struct worker *w, int fd, uint32_t format, bool for_check)
{
	static struct instar_info_result res;
	struct vmm_device dev;
	struct vmm_job job;
	struct stat st;
	char err[512];
	size_t got = 0;

	if (worker_image_stat(fd, &st) != 0) {
		send_failure(w->sock, "not a regular file");
		return false;
	}
	memset(&dev, 0, sizeof(dev));
	dev.fd = fd;
	dev.size = (uint64_t)st.st_size;
	memset(&job, 0, sizeof(job));
	/* Only "info" itself opens an image without I/O. */
	if (for_check)
		job.op = INSTAR_OP_INFO_FOR_CHECK;
	else if (w->op == INSTAR_OP_INFO)
		job.op = INSTAR_OP_INFO_NO_IO;
	else
		job.op = INSTAR_OP_INFO;
	job.format = format;
	job.devs = &dev;
	job.ndevs = 1;
	job.timeout_ms = w->timeout_ms;
	job.result = &res;
	job.result_min = INSTAR_INFO_RESULT_MIN;
	job.result_len = sizeof(res);
	job.result_got = &got;
	job.verbose = w->verbose;
	/* No memset: vmm_run fills res and zeroes what the guest did not. */
	if (vmm_run(w->vm, &job, err, sizeof(err)) != 0) {
		send_failure(w->sock, err);
		return false;
	}
	if (!worker_report_info(w, &res, got))
		return false;
	/* What a writing job may later do to this file follows from it. */
	worker_remember(w, &st, &res.info);
	return true;
}
