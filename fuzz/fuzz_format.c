/*
 * libFuzzer harness over the format code: the input is an image.  It is
 * probed, then inspected as every format, and whatever comes back (the
 * record and its snapshot and bitmap lists) must pass the worker's own validation:
 * the checks the guest makes must be enough that a well-formed result
 * can never be rejected downstream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "image_info_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_img {
	const uint8_t *data;
	size_t size;
};

static int
fuzz_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct fuzz_img *img = ctx;
	size_t n = 0;

	if (off < img->size) {
		n = img->size - (size_t)off;
		if (n > len)
			n = len;
		memcpy(buf, img->data + off, n);
	}
	memset((uint8_t *)buf + n, 0, len - n);
	return 0;
}

/* Static: the snapshot area is large. */
static struct instar_info_result res;

static void
inspect(const struct fmt_io *io, uint32_t fmt, enum fmt_open mode)
{
	struct fmt_snapshots snaps;
	struct fmt_bitmaps bitmaps;
	struct fmt_err err;

	memset(&err, 0, sizeof(err));
	memset(&res, 0, sizeof(res));
	memset(&snaps, 0, sizeof(snaps));
	memset(&bitmaps, 0, sizeof(bitmaps));
	snaps.buf = res.lists;
	snaps.cap = INSTAR_SNAP_AREA_MAX;
	bitmaps.buf = res.lists + INSTAR_SNAP_AREA_MAX;
	bitmaps.cap = INSTAR_BITMAP_AREA_MAX;
	if (fmt_info(io, fmt, mode, &res.info, &snaps, &bitmaps, &err) == 0) {
		/* Exactly what the guest would send, as the worker sees it. */
		res.nsnapshots = snaps.count;
		res.snapshots_len = (uint32_t)snaps.len;
		res.nbitmaps = bitmaps.count;
		res.bitmaps_len = (uint32_t)bitmaps.len;
		if (snaps.len > snaps.cap || bitmaps.len > bitmaps.cap)
			abort();
		memmove(res.lists + snaps.len, bitmaps.buf, bitmaps.len);
		if (image_info_validate_result(&res, INSTAR_INFO_RESULT_MIN +
		    snaps.len + bitmaps.len) != NULL)
			abort();
	} else if (memchr(err.msg, '\0', sizeof(err.msg)) == NULL ||
	    err.msg[0] == '\0' || snaps.len != 0 || snaps.count != 0 ||
	    bitmaps.len != 0 || bitmaps.count != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_img img = { data, size };
	struct fmt_io io;
	struct fmt_err err;
	uint32_t fmt;

	memset(&io, 0, sizeof(io));
	io.ctx = &img;
	io.read = fuzz_read;
	io.size = size;
	memset(&err, 0, sizeof(err));
	if (fmt_probe(&io, &fmt, &err) == 0)
		inspect(&io, fmt, FMT_OPEN_IO);
	/* Each way an image is opened takes other headers. */
	inspect(&io, INSTAR_FMT_QCOW2, FMT_OPEN_IO);
	inspect(&io, INSTAR_FMT_QCOW2, FMT_OPEN_NO_IO);
	inspect(&io, INSTAR_FMT_QCOW2, FMT_OPEN_CHECK);
	inspect(&io, INSTAR_FMT_VMDK, FMT_OPEN_IO);
	inspect(&io, INSTAR_FMT_RAW, FMT_OPEN_IO);
	return 0;
}
