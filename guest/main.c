/*
 * The guest's job dispatch.  Everything here runs on untrusted image
 * bytes; whatever it concludes, the vmm re-checks before believing it.
 */
#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "runtime.h"

struct guest_dev {
	uint32_t index;
};

static int
guest_dev_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct guest_dev *dev = ctx;

	return dev_read(dev->index, off, buf, len) == 0 ? 0 : -1;
}

static int
open_device(uint32_t index, struct guest_dev *dev, struct fmt_io *io)
{
	uint32_t flags;

	dev->index = index;
	io->ctx = dev;
	io->read = guest_dev_read;
	return dev_geometry(index, &io->size, &flags);
}

/* Static: the result is large and the stack is better kept for parsers. */
static struct instar_info_result info_result;

static int
run_info(const struct instar_boot *boot)
{
	struct instar_info_result *res = &info_result;
	struct fmt_snapshots snaps;
	struct guest_dev dev;
	struct fmt_io io;
	struct fmt_err err;
	uint32_t fmt = boot->format;

	/*
	 * Only the fixed part: the snapshot area is sent no further than
	 * snaps.len, and zeroing all 128 KiB of it would fault in 32 pages,
	 * which dominated a run on nested KVM.
	 */
	memset(res, 0, INSTAR_INFO_RESULT_MIN);
	memset(&err, 0, sizeof(err));
	memset(&snaps, 0, sizeof(snaps));
	snaps.buf = res->snapshots;
	snaps.cap = sizeof(res->snapshots);
	if (open_device(0, &dev, &io) != 0) {
		fmt_seterr(&err, "Could not get the image's size");
		goto fail;
	}
	if (fmt == INSTAR_FMT_PROBE && fmt_probe(&io, &fmt, &err) != 0)
		goto fail;
	if (fmt_info(&io, fmt, &res->info, &snaps, &err) != 0)
		goto fail;
	res->status = 0;
	res->nsnapshots = snaps.count;
	res->snapshots_len = (uint32_t)snaps.len;
	/* Only the part of the snapshot area in use crosses over. */
	return guest_result(res, INSTAR_INFO_RESULT_MIN + snaps.len);
 fail:
	memset(&res->info, 0, sizeof(res->info));
	res->status = 1;
	memcpy(res->error, err.msg, sizeof(res->error));
	res->error[sizeof(res->error) - 1] = '\0';
	return guest_result(res, INSTAR_INFO_RESULT_MIN);
}

int
guest_run(const struct instar_boot *boot)
{
	switch (boot->op) {
	case INSTAR_OP_INFO:
		return run_info(boot);
	default:
		guest_log("unknown job %u", boot->op);
		return -1;
	}
}
