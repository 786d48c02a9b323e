/*
 * The guest's job dispatch.  Everything here runs on untrusted image
 * bytes; whatever it concludes, the vmm re-checks before believing it.
 */
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "commit.h"
#include "format.h"
#include "qcow2.h"
#include "rebase.h"
#include "runtime.h"
#include "shadow.h"

/*
 * A device as the job sees it.  A dry run's stand-in for a writable
 * device keeps its writes in shadow instead.
 */
struct guest_dev {
	uint32_t index;
	struct fmt_shadow *shadow;
};

static int
guest_dev_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct guest_dev *dev = ctx;

	return dev_read(dev->index, off, buf, len) == 0 ? 0 : -1;
}

static int
guest_dev_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	const struct guest_dev *dev = ctx;

	return dev_write(dev->index, off, buf, len) == 0 ? 0 : -1;
}

static int
guest_dev_flush(void *ctx)
{
	const struct guest_dev *dev = ctx;

	return dev_flush(dev->index) == 0 ? 0 : -1;
}

static int
guest_dev_copy(void *ctx, uint64_t off, const struct fmt_io *src,
    uint64_t src_off, uint64_t len)
{
	const struct guest_dev *dev = ctx, *from = src->ctx;

	return dev_copy(dev->index, off, from->index, src_off, len) == 0 ?
	    0 : -1;
}

static int
guest_dev_truncate(void *ctx, uint64_t size)
{
	const struct guest_dev *dev = ctx;

	return dev_truncate(dev->index, size) == 0 ? 0 : -1;
}

/*
 * Open device index into *io.  A dry run's shadowed device gets its
 * shadow, with memory from arena's top; it may be NULL for jobs that
 * have none.
 */
static int
open_device(uint32_t index, struct guest_dev *dev, struct fmt_io *io,
    struct fmt_shadow *shadow, struct fmt_arena *arena)
{
	struct fmt_io ro;
	uint32_t flags;
	int r;

	dev->index = index;
	dev->shadow = NULL;
	io->ctx = dev;
	io->read = guest_dev_read;
	io->write = NULL;
	io->flush = NULL;
	io->copy = NULL;
	io->truncate = NULL;
	io->write_data = NULL;
	if ((r = dev_geometry(index, &io->size, &flags)) != 0)
		return r;
	if ((flags & INSTAR_DEV_SHADOW) && !(flags & INSTAR_DEV_WRITABLE)) {
		if (shadow == NULL || arena == NULL)
			return -1;
		ro = *io;
		dev->shadow = shadow;
		return shadow_open(shadow, &ro, arena, io);
	}
	if (flags & INSTAR_DEV_WRITABLE) {
		io->write = guest_dev_write;
		io->flush = guest_dev_flush;
		io->copy = guest_dev_copy;
		io->truncate = guest_dev_truncate;
	}
	return 0;
}

/*
 * Probe the image on io unless *fmt names its format, then describe it as
 * an open for mode sees it.
 */
static int
inspect(const struct fmt_io *io, uint32_t *fmt, enum fmt_open mode,
    struct instar_image_info *info, struct fmt_snapshots *snaps,
    struct fmt_bitmaps *bitmaps, struct fmt_err *err)
{
	if (*fmt == INSTAR_FMT_PROBE && fmt_probe(io, fmt, err) != 0)
		return -1;
	return fmt_info(io, *fmt, mode, info, snaps, bitmaps, err);
}

/* What an info job opens its image for. */
static enum fmt_open
info_open_mode(uint32_t op)
{
	switch (op) {
	case INSTAR_OP_INFO_NO_IO:
		return FMT_OPEN_NO_IO;
	case INSTAR_OP_INFO_FOR_CHECK:
		return FMT_OPEN_CHECK;
	default:
		return FMT_OPEN_IO;
	}
}

/* Static: the result is large and the stack is better kept for parsers. */
static struct instar_info_result info_result;

static int
run_info(const struct instar_boot *boot)
{
	struct instar_info_result *res = &info_result;
	struct fmt_snapshots snaps;
	struct fmt_bitmaps bitmaps;
	struct guest_dev dev;
	struct fmt_io io;
	struct fmt_err err;
	uint32_t fmt = boot->format;

	/*
	 * Only the fixed part: the lists are sent no further than they
	 * reach, and zeroing all 152 KiB of them would fault in 38 pages,
	 * which dominated a run on nested KVM.
	 */
	memset(res, 0, INSTAR_INFO_RESULT_MIN);
	memset(&err, 0, sizeof(err));
	memset(&snaps, 0, sizeof(snaps));
	memset(&bitmaps, 0, sizeof(bitmaps));
	snaps.buf = res->lists;
	snaps.cap = INSTAR_SNAP_AREA_MAX;
	bitmaps.buf = res->lists + INSTAR_SNAP_AREA_MAX;
	bitmaps.cap = INSTAR_BITMAP_AREA_MAX;
	if (open_device(0, &dev, &io, NULL, NULL) != 0) {
		fmt_seterr(&err, "Could not get the image's size");
		goto fail;
	}
	if (inspect(&io, &fmt, info_open_mode(boot->op), &res->info, &snaps,
	    &bitmaps, &err) != 0)
		goto fail;
	res->status = 0;
	res->nsnapshots = snaps.count;
	res->snapshots_len = (uint32_t)snaps.len;
	res->nbitmaps = bitmaps.count;
	res->bitmaps_len = (uint32_t)bitmaps.len;
	/* The bitmap list follows the snapshots; only what is used is sent. */
	memmove(res->lists + snaps.len, bitmaps.buf, bitmaps.len);
	return guest_result_at_exit(res, INSTAR_INFO_RESULT_MIN + snaps.len +
	    bitmaps.len);
 fail:
	memset(&res->info, 0, sizeof(res->info));
	res->status = 1;
	memcpy(res->error, err.msg, sizeof(res->error));
	res->error[sizeof(res->error) - 1] = '\0';
	memcpy(res->hint, err.hint, sizeof(res->hint));
	res->hint[sizeof(res->hint) - 1] = '\0';
	return guest_result_at_exit(res, INSTAR_INFO_RESULT_MIN);
}

static void
job_progress(void *arg, uint64_t done, uint64_t total)
{
	(void)arg;
	guest_progress(done, total);
}

/* The devices of a job that plans changes: rebase, commit, check. */
static struct guest_dev job_devs[INSTAR_MAX_DEVICES];
static struct fmt_io job_ios[INSTAR_MAX_DEVICES];
static struct fmt_shadow job_shadows[INSTAR_MAX_DEVICES];

/*
 * Set up a planning job: a private copy of its parameters (nothing may
 * change under the checks), every device opened, and the rest of the
 * heap lent as the job's arena.  Returns NULL, or why it cannot run.
 */
static const char *
job_setup(const struct instar_boot *boot, void *params, size_t params_len,
    struct fmt_arena *arena)
{
	uint32_t i;

	if (boot->params_len != params_len || boot->ndevices == 0 ||
	    boot->ndevices > INSTAR_MAX_DEVICES)
		return "bad job parameters";
	memcpy(params, (const uint8_t *)boot + sizeof(*boot), params_len);
	memset(arena, 0, sizeof(*arena));
	arena->base = guest_alloc_rest(&arena->size);
	for (i = 0; i < boot->ndevices; i++)
		if (open_device(i, &job_devs[i], &job_ios[i], &job_shadows[i],
		    arena) != 0)
			return "Could not get an image's size";
	return NULL;
}

/*
 * The length device i's file would have after a dry run; 0 for a device
 * that is not shadowed, whose file the worker measures itself.
 */
static uint64_t
job_dev_length(uint32_t i)
{
	const struct guest_dev *dev = &job_devs[i];

	return dev->shadow != NULL ? shadow_size(dev->shadow) : 0;
}

/*
 * Where a shadow failed, its reason is the job's: the format code says
 * only that a write or a read failed.
 */
static void
shadow_reason(uint32_t ndevices, char *error, size_t size)
{
	const char *why;
	uint32_t i;
	size_t n;

	for (i = 0; i < ndevices; i++) {
		if (job_devs[i].shadow == NULL ||
		    (why = shadow_error(job_devs[i].shadow)) == NULL)
			continue;
		n = strnlen(why, size - 1);
		memcpy(error, why, n);
		error[n] = '\0';
		return;
	}
}

static void
set_error(char *dst, size_t size, const char *why)
{
	size_t n = strnlen(why, size - 1);

	memcpy(dst, why, n);
	dst[n] = '\0';
}

static struct instar_rebase_params rebase_params;
static struct instar_rebase_result rebase_result;

static int
run_rebase(const struct instar_boot *boot)
{
	struct instar_rebase_result *res = &rebase_result;
	struct rebase_job job;
	struct fmt_arena arena;
	const char *why;

	memset(res, 0, sizeof(*res));
	res->status = 1;
	if ((why = job_setup(boot, &rebase_params, sizeof(rebase_params),
	    &arena)) != NULL) {
		set_error(res->error, sizeof(res->error), why);
		return guest_result_at_exit(res, sizeof(*res));
	}
	memset(&job, 0, sizeof(job));
	job.params = &rebase_params;
	job.devs = job_ios;
	job.ndevs = boot->ndevices;
	job.arena = &arena;
	job.progress = job_progress;
	if (rebase_run(&job, res) != 0)
		shadow_reason(boot->ndevices, res->error, sizeof(res->error));
	else
		res->file_size = job_dev_length(0);
	return guest_result_at_exit(res, sizeof(*res));
}

static struct instar_commit_params commit_params;
static struct instar_commit_result commit_result;

static int
run_commit(const struct instar_boot *boot)
{
	struct instar_commit_result *res = &commit_result;
	struct commit_job job;
	struct fmt_arena arena;
	const char *why;

	memset(res, 0, sizeof(*res));
	res->status = 1;
	if ((why = job_setup(boot, &commit_params, sizeof(commit_params),
	    &arena)) != NULL) {
		set_error(res->error, sizeof(res->error), why);
		return guest_result_at_exit(res, sizeof(*res));
	}
	memset(&job, 0, sizeof(job));
	job.params = &commit_params;
	job.devs = job_ios;
	job.ndevs = boot->ndevices;
	job.arena = &arena;
	job.progress = job_progress;
	if (commit_run(&job, res) != 0)
		shadow_reason(boot->ndevices, res->error, sizeof(res->error));
	else {
		/* commit_run() checked base_index against the devices. */
		res->top_file_size = job_dev_length(0);
		res->base_file_size = job_dev_length(commit_params.base_index);
	}
	return guest_result_at_exit(res, sizeof(*res));
}

static struct instar_check_params check_params;
static struct instar_check_result check_result;

static int
run_check(const struct instar_boot *boot)
{
	struct instar_check_result *res = &check_result;
	struct check_job job;
	struct fmt_arena arena;
	const char *why;

	/* Only the fixed part: the text crosses over no further than used. */
	memset(res, 0, INSTAR_CHECK_RESULT_MIN);
	res->status = 1;
	if (boot->ndevices != 1)
		why = "bad check job";
	else
		why = job_setup(boot, &check_params, sizeof(check_params),
		    &arena);
	if (why != NULL) {
		set_error(res->error, sizeof(res->error), why);
		return guest_result_at_exit(res, INSTAR_CHECK_RESULT_MIN);
	}
	memset(&job, 0, sizeof(job));
	job.params = &check_params;
	job.dev = &job_ios[0];
	job.arena = &arena;
	job.progress = job_progress;
	check_run(&job, res);
	return guest_result_at_exit(res, INSTAR_CHECK_RESULT_MIN +
	    res->text_len);
}

static struct instar_info_check_result info_check_result;

/*
 * An info job, then a check of the same image in the same run.  The
 * image is opened as a check opens it, which lists nothing.
 */
static int
run_info_check(const struct instar_boot *boot)
{
	struct instar_info_check_result *res = &info_check_result;
	struct fmt_snapshots snaps;
	struct check_job job;
	struct fmt_arena arena;
	struct fmt_err err;
	const char *why;
	uint32_t fmt;

	memset(res, 0, INSTAR_INFO_CHECK_RESULT_MIN);
	res->check.status = 1;
	memset(&err, 0, sizeof(err));
	if (boot->ndevices != 1)
		why = "bad check job";
	else if ((why = job_setup(boot, &check_params, sizeof(check_params),
	    &arena)) == NULL && check_params_validate(&check_params, 1,
	    job_ios[0].write != NULL, true) != NULL)
		why = "bad check job";
	if (why != NULL) {
		fmt_seterr(&err, "%s", why);
		goto fail;
	}
	memset(&snaps, 0, sizeof(snaps));
	fmt = check_params.format;
	if (inspect(&job_ios[0], &fmt, FMT_OPEN_CHECK, &res->info, &snaps,
	    NULL, &err) != 0)
		goto fail;
	check_params.format = fmt;
	memset(&job, 0, sizeof(job));
	job.params = &check_params;
	job.dev = &job_ios[0];
	job.arena = &arena;
	job.progress = job_progress;
	check_run(&job, &res->check);
	return guest_result_at_exit(res, INSTAR_INFO_CHECK_RESULT_MIN +
	    res->check.text_len);
 fail:
	memset(&res->info, 0, sizeof(res->info));
	res->info_status = 1;
	memcpy(res->info_error, err.msg, sizeof(res->info_error));
	res->info_error[sizeof(res->info_error) - 1] = '\0';
	return guest_result_at_exit(res, INSTAR_INFO_CHECK_RESULT_MIN);
}

static int
guest_run(const struct instar_boot *boot)
{
	switch (boot->op) {
	case INSTAR_OP_INFO:
	case INSTAR_OP_INFO_NO_IO:
	case INSTAR_OP_INFO_FOR_CHECK:
		return run_info(boot);
	case INSTAR_OP_REBASE:
		return run_rebase(boot);
	case INSTAR_OP_COMMIT:
		return run_commit(boot);
	case INSTAR_OP_CHECK:
		return run_check(boot);
	case INSTAR_OP_INFO_CHECK:
		return run_info_check(boot);
	default:
		guest_log("unknown job %u", boot->op);
		return -1;
	}
}

void
guest_main(void)
{
	guest_exit(guest_run(runtime_init()) == 0 ? 0 : 1);
}
