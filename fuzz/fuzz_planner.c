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
 *
 * Each rebase and commit is dry-run first, against shadows of its
 * writable devices (shadow.h): the dry run must change no byte, and
 * unless it ran out of memory or the real run met an I/O error, the
 * real run must end exactly as the dry run predicted: the same result
 * record, the same lengths.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "commit.h"
#include "format.h"
#include "rebase.h"
#include "shadow.h"

#define ARENA_BYTES	(32u << 20)
/* More than any legitimate job on these small inputs needs. */
#define SLACK		(64ull << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fdev {
	uint8_t *buf;
	size_t size;
	size_t cap;		/* writes must end at or below this */
	bool cap_is_io_error;	/* past cap: fail the write, not the run */
	bool failed;		/* a write failed so */
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
		if (d->cap_is_io_error) {
			d->failed = true;
			return -1;
		}
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
		if (d->cap_is_io_error) {
			d->failed = true;
			return -1;
		}
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
	d->failed = false;
}

static int
run_rebase(struct fmt_io *io, uint32_t fmt, struct fmt_arena *a,
    struct instar_rebase_result *res)
{
	static struct instar_rebase_params p;
	struct rebase_job job;
	int rc;

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
	rc = rebase_run(&job, res);
	if (rc != 0 && (res->status != 1 || res->error[0] == '\0'))
		abort();
	return rc;
}

/* top (device 0) into base (device 1), of the given formats. */
static int
run_commit(struct fmt_io *io, uint32_t top, uint32_t base,
    struct fmt_arena *a, struct instar_commit_result *res)
{
	static struct instar_commit_params p;
	struct commit_job job;
	int rc;

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
	rc = commit_run(&job, res);
	if (rc != 0 && (res->status != 1 || res->error[0] == '\0'))
		abort();
	return rc;
}

/* The shadows of a dry run and what they stand in for. */
struct dry {
	struct fmt_io io[2];
	struct fmt_io ro[2];
	struct fmt_shadow sh[2];
	struct fdev *dev[2];
	uint8_t *was[2];
	size_t was_len[2];
	bool shadowed[2];
};

/* io with each writable device replaced by a shadow over it. */
static void
dry_setup(struct dry *d, const struct fmt_io *io, struct fmt_arena *a)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		d->dev[i] = io[i].ctx;
		d->was_len[i] = d->dev[i]->size;
		if ((d->was[i] = malloc(d->was_len[i] + 1)) == NULL)
			abort();
		memcpy(d->was[i], d->dev[i]->buf, d->was_len[i]);
		d->shadowed[i] = io[i].write != NULL;
		d->io[i] = io[i];
		if (!d->shadowed[i])
			continue;
		fdev_io(d->dev[i], &d->ro[i], false);
		if (shadow_open(&d->sh[i], &d->ro[i], a, &d->io[i]) != 0)
			abort();
	}
}

/* The dry run wrote nothing; returns whether a shadow gave up. */
static bool
dry_check(struct dry *d)
{
	bool gave_up = false;
	size_t i;

	for (i = 0; i < 2; i++) {
		if (d->dev[i]->size != d->was_len[i] ||
		    memcmp(d->dev[i]->buf, d->was[i], d->was_len[i]) != 0)
			abort();
		if (d->shadowed[i] && shadow_error(&d->sh[i]) != NULL)
			gave_up = true;
	}
	return gave_up;
}

/* The real run ended as the dry run said, lengths included. */
static void
dry_compare(struct dry *d, bool gave_up, int dry_rc, int rc,
    const void *dry_res, const void *res, size_t len)
{
	size_t i;

	for (i = 0; i < 2; i++)
		free(d->was[i]);
	if (gave_up || d->dev[0]->failed || d->dev[1]->failed)
		return;
	if (dry_rc != rc || memcmp(dry_res, res, len) != 0)
		abort();
	for (i = 0; i < 2 && rc == 0; i++)
		if (d->shadowed[i] &&
		    shadow_size(&d->sh[i]) != d->dev[i]->size)
			abort();
}

static void
rebase_twice(struct fmt_io *io, uint32_t fmt, struct fmt_arena *a)
{
	static struct instar_rebase_result dry_res, res;
	static struct dry d;
	bool gave_up;
	int dry_rc, rc;

	dry_setup(&d, io, a);
	dry_rc = run_rebase(d.io, fmt, a, &dry_res);
	gave_up = dry_check(&d);
	a->used = 0;
	a->top = 0;
	rc = run_rebase(io, fmt, a, &res);
	dry_compare(&d, gave_up, dry_rc, rc, &dry_res, &res, sizeof(res));
}

static void
commit_twice(struct fmt_io *io, uint32_t top, uint32_t base,
    struct fmt_arena *a)
{
	static struct instar_commit_result dry_res, res;
	static struct dry d;
	bool gave_up;
	int dry_rc, rc;

	dry_setup(&d, io, a);
	dry_rc = run_commit(d.io, top, base, a, &dry_res);
	gave_up = dry_check(&d);
	a->used = 0;
	a->top = 0;
	rc = run_commit(io, top, base, a, &res);
	dry_compare(&d, gave_up, dry_rc, rc, &dry_res, &res, sizeof(res));
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
		commit_twice(swapped, INSTAR_FMT_RAW, INSTAR_FMT_VMDK, &a);
	} else if (commit)
		commit_twice(io, INSTAR_FMT_QCOW2, INSTAR_FMT_RAW, &a);
	else
		rebase_twice(io, vmdk ? INSTAR_FMT_VMDK : INSTAR_FMT_QCOW2,
		    &a);
	free(img.buf);
	free(raw.buf);
	return 0;
}
