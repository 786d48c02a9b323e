/*
 * libFuzzer harness over the rebase, commit and check planners: a hostile
 * qcow2 image (the overlay or top) over a raw backing file, both in
 * memory.  Whatever the image claims, every write must land within a
 * bound set by what the job can legitimately need (the images' sizes,
 * not the virtual size they claim), no write may touch a read-only
 * device, and the job must end with a result or a reason.
 *
 * Input: byte 0 picks the job (bit 1 set: check of the image, its
 * repair mode (byte 0 >> 2) % 3, the image writable when repairing;
 * else even: safe rebase detaching the image from the raw file; odd:
 * commit of the image into the raw file, which is writable; with bit 2
 * also set, the image is a VMDK: the overlay of that rebase, or, for a
 * commit, the writable base the raw file is committed into), bytes 1-4
 * (little-endian) the raw file's length, then the raw file, then the
 * image.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "commit.h"
#include "format.h"
#include "rebase.h"

#define ARENA_BYTES	(32u << 20)
/* More than any legitimate job on these small inputs needs. */
#define SLACK		(64ull << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fdev {
	uint8_t *buf;
	size_t size;
	size_t cap;		/* writes must end at or below this */
	bool cap_is_io_error;	/* past cap: fail the write, not the run */
};

static int
fdev_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct fdev *d = ctx;

	memset(buf, 0, len);
	if (off < d->size)
		memcpy(buf, d->buf + off, d->size - off < len ?
		    d->size - (size_t)off : len);
	return 0;
}

static int
fdev_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct fdev *d = ctx;
	uint8_t *n;

	if (off > d->cap || len > d->cap - off) {
		if (d->cap_is_io_error)
			return -1;
		abort();	/* a planned write outside its bound */
	}
	if (off + len > d->size) {
		if ((n = realloc(d->buf, (size_t)(off + len))) == NULL)
			abort();
		memset(n + d->size, 0, (size_t)(off + len) - d->size);
		d->buf = n;
		d->size = (size_t)(off + len);
	}
	memcpy(d->buf + off, buf, len);
	return 0;
}

static int
fdev_copy(void *ctx, uint64_t off, const struct fmt_io *src,
    uint64_t src_off, uint64_t len)
{
	uint8_t *tmp;
	int r;

	if (len > SLACK)
		abort();
	if ((tmp = malloc((size_t)len)) == NULL)
		abort();
	src->read(src->ctx, src_off, tmp, (size_t)len);
	r = fdev_write(ctx, off, tmp, (size_t)len);
	free(tmp);
	return r;
}

static int
fdev_truncate(void *ctx, uint64_t len)
{
	struct fdev *d = ctx;

	if (len > d->cap) {
		if (d->cap_is_io_error)
			return -1;
		abort();
	}
	if (len < d->size)
		d->size = (size_t)len;
	else
		return fdev_write(ctx, len - (len > 0), "", len > 0);
	return 0;
}

static int
fdev_flush(void *ctx)
{
	(void)ctx;
	return 0;
}

static void
fdev_io(struct fdev *d, struct fmt_io *io, bool writable)
{
	memset(io, 0, sizeof(*io));
	io->ctx = d;
	io->read = fdev_read;
	io->size = d->size;
	if (writable) {
		io->write = fdev_write;
		io->flush = fdev_flush;
		io->copy = fdev_copy;
		io->truncate = fdev_truncate;
	}
}

static void
fdev_init(struct fdev *d, const uint8_t *p, size_t len, size_t cap)
{
	d->buf = malloc(len > 0 ? len : 1);
	if (d->buf == NULL)
		abort();
	memcpy(d->buf, p, len);
	d->size = len;
	d->cap = cap;
	d->cap_is_io_error = false;
}

static void
run_rebase(struct fmt_io *io, uint32_t fmt, struct fmt_arena *a)
{
	static struct instar_rebase_params p;
	static struct instar_rebase_result res;
	struct rebase_job job;

	memset(&p, 0, sizeof(p));
	p.formats[0] = fmt;
	p.formats[1] = INSTAR_FMT_RAW;
	p.old_chain_len = 1;
	p.new_chain_start = 2;
	memset(&job, 0, sizeof(job));
	job.params = &p;
	job.devs = io;
	job.ndevs = 2;
	job.arena = a;
	if (rebase_run(&job, &res) != 0 &&
	    (res.status != 1 || res.error[0] == '\0'))
		abort();
}

/* top (device 0) into base (device 1), of the given formats. */
static void
run_commit(struct fmt_io *io, uint32_t top, uint32_t base,
    struct fmt_arena *a)
{
	static struct instar_commit_params p;
	static struct instar_commit_result res;
	struct commit_job job;

	memset(&p, 0, sizeof(p));
	p.base_index = 1;
	p.formats[0] = top;
	p.formats[1] = base;
	p.new_cid = 0x1234;
	memset(&job, 0, sizeof(job));
	job.params = &p;
	job.devs = io;
	job.ndevs = 2;
	job.arena = a;
	if (commit_run(&job, &res) != 0 &&
	    (res.status != 1 || res.error[0] == '\0'))
		abort();
}

/*
 * A check, repairing or not: a result or a reason, always a valid
 * record; a repair's writes stay near the image (a rebuild adds a few
 * clusters; growing the file for a block far past its end fails as an
 * I/O error would).
 */
static void
run_check(struct fdev *img, uint32_t repair, struct fmt_arena *a)
{
	static struct instar_check_params p;
	static struct instar_check_result res;
	struct check_job job;
	struct fmt_io io;

	memset(&p, 0, sizeof(p));
	p.repair = repair;
	p.format = INSTAR_FMT_QCOW2;
	img->cap = img->size + (size_t)SLACK;
	img->cap_is_io_error = true;
	fdev_io(img, &io, repair != INSTAR_CHECK_REPAIR_NONE);
	memset(&job, 0, sizeof(job));
	job.params = &p;
	job.dev = &io;
	job.arena = a;
	if (check_run(&job, &res) != 0 &&
	    (res.status != 1 || res.error[0] == '\0'))
		abort();
	if (check_result_validate(&res, INSTAR_CHECK_RESULT_MIN +
	    res.text_len) != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *arena_mem;
	struct fmt_arena a;
	struct fdev img, raw;
	struct fmt_io io[2], swapped[2];
	uint32_t raw_len;
	bool commit, vmdk;
	uint8_t pick;

	if (size < 5)
		return 0;
	pick = data[0];
	commit = data[0] & 1;
	vmdk = (data[0] & 6) == 4;
	raw_len = (uint32_t)data[1] | (uint32_t)data[2] << 8 |
	    (uint32_t)data[3] << 16 | (uint32_t)data[4] << 24;
	data += 5;
	size -= 5;
	if (raw_len > size)
		raw_len = (uint32_t)size;
	if (arena_mem == NULL && (arena_mem = malloc(ARENA_BYTES)) == NULL)
		abort();
	/*
	 * A rebase writes the raw file's data into the image, plus tables:
	 * a write past that bound is a planner bug.  A commit writes the
	 * image's data into the raw file anywhere up to the virtual size
	 * the image claims, legitimately; past what memory allows here the
	 * write fails as an I/O error would, exercising those paths.
	 */
	fdev_init(&raw, data, raw_len, commit && !vmdk ? (size_t)SLACK : 0);
	raw.cap_is_io_error = commit;
	fdev_init(&img, data + raw_len, size - raw_len,
	    commit && !vmdk ? 0 :
	    (size_t)(size + 4 * (uint64_t)raw_len + SLACK));
	fdev_io(&raw, &io[1], commit && !vmdk);
	fdev_io(&img, &io[0], !commit || vmdk);
	a.base = arena_mem;
	a.size = ARENA_BYTES;
	a.used = 0;
	a.top = 0;
	if (pick & 2)
		run_check(&img, (uint32_t)(pick >> 2) % 3, &a);
	else if (commit && vmdk) {
		/* The raw file is the top, the hostile VMDK the base. */
		swapped[0] = io[1];
		swapped[1] = io[0];
		run_commit(swapped, INSTAR_FMT_RAW, INSTAR_FMT_VMDK, &a);
	} else if (commit)
		run_commit(io, INSTAR_FMT_QCOW2, INSTAR_FMT_RAW, &a);
	else
		run_rebase(io, vmdk ? INSTAR_FMT_VMDK : INSTAR_FMT_QCOW2, &a);
	free(img.buf);
	free(raw.buf);
	return 0;
}
