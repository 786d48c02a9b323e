/*
 * The check's I/O: reads through the prefix and the L2 cache, writes that
 * keep both current, the findings it prints and its progress.
 */
#include "check_state.h"

void
ck_emit(struct ck *c, const char *fmt, ...)
{
	struct instar_check_result *r = c->r;
	char line[INSTAR_CHECK_LINE_MAX];
	va_list ap;
	size_t len, i;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	line[sizeof(line) - 1] = '\0';
	len = strlen(line);
	for (i = 0; i < len; i++)
		if (line[i] < 0x20 || line[i] > 0x7e)
			line[i] = '?';
	/* Once one line did not fit, none after it is kept either: what is
	 * printed is the first lines, in order, then how many more. */
	if (r->lines_dropped != 0 ||
	    r->text_len + len + 1 > sizeof(r->text)) {
		r->lines_dropped++;
		return;
	}
	memcpy(r->text + r->text_len, line, len + 1);
	r->text_len += (uint32_t)(len + 1);
	r->nlines++;
}

/* Progress costs an exit: reported only after much reading. */
void
ck_progress(struct ck *c, uint64_t step)
{
	c->prog_done += step;
	if (c->prog_done > c->prog_total)
		c->prog_total = c->prog_done;
	if (c->unreported < PROGRESS_BYTES)
		return;
	c->unreported = 0;
	if (c->job->progress != NULL)
		c->job->progress(c->job->progress_arg, c->prog_done,
		    c->prog_total);
}

/* Read len bytes at off; past the end of the file reads zeros. */
int
ck_read(struct ck *c, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t n;

	if (off < c->pre_len && len <= c->pre_len - off) {
		memcpy(p, c->pre + off, len);
		return 0;
	}
	if (off >= c->file_size) {
		memset(p, 0, len);
		return 0;
	}
	n = c->file_size - off < len ? (size_t)(c->file_size - off) : len;
	c->unreported += n;
	memset(p + n, 0, len - n);
	while (n > 0) {
		size_t k = n < READ_MAX ? n : READ_MAX;

		if (c->io->read(c->io->ctx, off, p, k) != 0) {
			fmt_seterr(&c->err, "Could not read the image at "
			    "offset %llu", U(off));
			return -1;
		}
		off += k;
		p += k;
		n -= k;
	}
	return 0;
}

/* Copy what [off, off + len) holds into a cached copy of [at, at + n). */
static void
patch(uint8_t *copy, uint64_t at, size_t n, uint64_t off, const uint8_t *buf,
    size_t len)
{
	uint64_t from = off > at ? off : at;
	uint64_t to = off + len < at + n ? off + len : at + n;

	if (from < to && copy + (from - at) != buf + (from - off))
		memmove(copy + (from - at), buf + (from - off),
		    (size_t)(to - from));
}

int
ck_write(struct ck *c, uint64_t off, const void *buf, size_t len)
{
	uint32_t i;

	if (c->io->write(c->io->ctx, off, buf, len) != 0) {
		fmt_seterr(&c->err, "Could not write the image at offset %llu",
		    U(off));
		return -1;
	}
	if (off + len > c->file_size)
		c->file_size = off + len;
	/* The cached copies stay what the file holds. */
	patch(c->pre, 0, c->pre_len, off, buf, len);
	for (i = 0; i < c->nl2runs; i++)
		patch(c->l2buf + c->l2runs[i].pos, c->l2runs[i].off,
		    c->l2runs[i].len, off, buf, len);
	return 0;
}

static int
pio_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	return ck_read(ctx, off, buf, len);
}

/*
 * Read the file's first bytes once: the header, its extensions and
 * usually the first tables, which the parser then reads from memory.
 */
int
ck_load_prefix(struct ck *c)
{
	size_t n = c->file_size < PREFIX_MAX ? (size_t)c->file_size :
	    PREFIX_MAX;

	if ((c->pre = fmt_alloc(c->job->arena, n + 8, 8)) == NULL) {
		fmt_seterr(&c->err, "Not enough memory to check the image");
		return -1;
	}
	if (ck_read(c, 0, c->pre, n) != 0)
		return -1;
	c->pre_len = n;
	memset(&c->pio, 0, sizeof(c->pio));
	c->pio.ctx = c;
	c->pio.read = pio_read;
	c->pio.size = c->io->size;
	return 0;
}

int
ck_flush(struct ck *c)
{
	if (c->io->flush(c->io->ctx) != 0) {
		fmt_seterr(&c->err, "Could not flush the image");
		return -1;
	}
	return 0;
}

/* Small reads of a table streamed through one buffer. */
int
ck_sread(struct ck *c, uint64_t off, void *dst, size_t len)
{
	if (len > STREAM_BUF)
		return ck_read(c, off, dst, len);
	if (c->slen == 0 || off < c->soff || off - c->soff > c->slen ||
	    len > c->slen - (off - c->soff)) {
		if (ck_read(c, off, c->sbuf, STREAM_BUF) != 0)
			return -1;
		c->soff = off;
		c->slen = STREAM_BUF;
	}
	memcpy(dst, c->sbuf + (off - c->soff), len);
	return 0;
}

/* Where refcount block idx lives: 0 none, 1 at *off, -1 misaligned. */
int
ck_block_at(const struct ck *c, uint64_t idx, uint64_t *off)
{
	if (idx >= c->rt_entries)
		return 0;
	*off = c->rt[idx] & REFT_OFFSET_MASK;
	if (*off == 0)
		return 0;
	return (*off & (c->cs - 1)) != 0 ? -1 : 1;
}

/*
 * qcow2_signal_corruption() for a misaligned refcount block: printed
 * once; qemu then marks a writable image corrupt.  Returns -1.
 */
static int
signal_bad(struct ck *c, uint64_t idx)
{
	uint64_t off = c->rt[idx] & REFT_OFFSET_MASK;
	uint8_t b[8];

	if (c->signaled)
		return -1;
	c->signaled = true;
	/* Fatal, marking the image, only where qemu could write it. */
	ck_emit(c, "qcow2: %s: Refblock offset %s%llx unaligned (reftable "
	    "index: %s%llx); further %scorruption events will be suppressed",
	    c->io->write != NULL ? "Marking image as corrupt" :
	    "Image is corrupt", off ? "0x" : "", U(off), idx ? "0x" : "",
	    U(idx), c->io->write != NULL ? "" : "non-fatal ");
	if (c->io->write != NULL && c->h.version >= 3) {
		c->h.incompat |= INCOMPAT_CORRUPT;
		store_be64(b, c->h.incompat);
		if (ck_write(c, 72, b, 8) != 0 || ck_flush(c) != 0)
			return -2;
	}
	return -1;
}

/*
 * The stored refcount of cluster k, as qemu's qcow2_get_refcount():
 * 0 with the value, -1 when its block is misaligned.
 */
int
ck_stored_rc(struct ck *c, uint64_t k, uint64_t *v)
{
	uint64_t idx = k / c->rpb, off;
	int r;

	if (c->loaded && k >= c->ws && k - c->ws < c->wn) {
		const struct seg *s = &c->segs[idx - c->ws / c->rpb];

		if (s->state == SEG_BAD)
			return signal_bad(c, idx);
		*v = s->state == SEG_NONE ? 0 :
		    qcow2_rc_get(c->stored, k - c->ws, c->rbits);
		return 0;
	}
	if ((r = ck_block_at(c, idx, &off)) <= 0) {
		*v = 0;
		return r < 0 ? signal_bad(c, idx) : 0;
	}
	if (c->cache_blk != idx + 1) {
		c->cache_blk = 0;
		if (ck_read(c, off, c->cache, c->cs) != 0)
			return -2;
		c->cache_blk = idx + 1;
	}
	*v = qcow2_rc_get(c->cache, k % c->rpb, c->rbits);
	return 0;
}
