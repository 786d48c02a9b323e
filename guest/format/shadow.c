/*
 * The dry run's device (shadow.h): written pages kept in a hash table,
 * unkept data as a sorted list of byte spans, the length tracked as
 * pwrite and ftruncate would move the file's.
 */
#include "shadow.h"

#define PAGES_CAP_MIN	1024u
#define SPANS_CAP_MIN	256u

/* A page written as metadata.  key is the page number plus one (0:
 * empty slot); buf NULL means the page reads as zeros. */
struct shadow_page {
	uint64_t key;
	uint8_t *buf;
};

static int
fail(struct fmt_shadow *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct fmt_shadow *s, const char *fmt, ...)
{
	va_list ap;

	if (s->why[0] != '\0')
		return -1;
	va_start(ap, fmt);
	if (vsnprintf(s->why, sizeof(s->why), fmt, ap) < 0)
		s->why[0] = '\0';
	va_end(ap);
	s->why[sizeof(s->why) - 1] = '\0';
	if (s->why[0] == '\0')
		s->why[0] = '?';
	return -1;
}

static int
out_of_memory(struct fmt_shadow *s)
{
	return fail(s, "not enough memory for the dry run to hold the "
	    "metadata the operation would write (%zu KiB held); the real "
	    "run is not limited by this", s->held / 1024);
}

/* ---- the page table ---- */

static size_t
slot_of(uint64_t key, size_t cap)
{
	/* Fibonacci hashing: neighbouring pages land far apart. */
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

static struct shadow_page *
page_find(const struct fmt_shadow *s, uint64_t pno)
{
	size_t i = slot_of(pno + 1, s->pages_cap);

	while (s->pages[i].key != 0) {
		if (s->pages[i].key == pno + 1)
			return &s->pages[i];
		i = (i + 1) & (s->pages_cap - 1);
	}
	return NULL;
}

static struct shadow_page *
slot_insert(struct shadow_page *table, size_t cap, uint64_t key)
{
	size_t i = slot_of(key, cap);

	while (table[i].key != 0)
		i = (i + 1) & (cap - 1);
	table[i].key = key;
	table[i].buf = NULL;
	return &table[i];
}

/* Double the table (the old one stays behind in the arena). */
static int
pages_grow(struct fmt_shadow *s)
{
	struct shadow_page *table, *p;
	size_t cap, i;

	if (s->pages_cap > SIZE_MAX / 2 / sizeof(*table))
		return out_of_memory(s);
	cap = s->pages_cap * 2;
	if ((table = fmt_alloc_top(s->arena, cap * sizeof(*table), 8)) ==
	    NULL)
		return out_of_memory(s);
	memset(table, 0, cap * sizeof(*table));
	for (i = 0; i < s->pages_cap; i++) {
		if (s->pages[i].key == 0)
			continue;
		p = slot_insert(table, cap, s->pages[i].key);
		p->buf = s->pages[i].buf;
	}
	s->pages = table;
	s->pages_cap = cap;
	return 0;
}

/* A new zero page for pno, or NULL with the failure recorded. */
static struct shadow_page *
page_add(struct fmt_shadow *s, uint64_t pno)
{
	/* Kept below 70% full, so that probes stay short. */
	if ((s->npages + 1) * 10 > s->pages_cap * 7 && pages_grow(s) != 0)
		return NULL;
	s->npages++;
	return slot_insert(s->pages, s->pages_cap, pno + 1);
}

static uint8_t *
page_buffer(struct fmt_shadow *s)
{
	uint8_t *buf;

	if ((buf = fmt_alloc_top(s->arena, SHADOW_PAGE, SHADOW_PAGE)) ==
	    NULL) {
		out_of_memory(s);
		return NULL;
	}
	s->held += SHADOW_PAGE;
	return buf;
}

/* ---- spans of data not kept ---- */

/* The first span that ends after off. */
static size_t
span_after(const struct fmt_shadow *s, uint64_t off)
{
	size_t lo = 0, hi = s->nspans, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->spans[mid].end <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool
spans_overlap(const struct fmt_shadow *s, uint64_t start, uint64_t end,
    uint64_t *first)
{
	size_t i = span_after(s, start);

	if (i == s->nspans || s->spans[i].start >= end)
		return false;
	*first = s->spans[i].start > start ? s->spans[i].start : start;
	return true;
}

static int
spans_reserve(struct fmt_shadow *s, size_t more)
{
	struct shadow_span *spans;
	size_t cap = s->spans_cap;

	if (s->nspans + more <= cap)
		return 0;
	while (cap < s->nspans + more) {
		if (cap > SIZE_MAX / 2 / sizeof(*spans))
			return out_of_memory(s);
		cap *= 2;
	}
	if ((spans = fmt_alloc_top(s->arena, cap * sizeof(*spans), 8)) == NULL)
		return out_of_memory(s);
	memcpy(spans, s->spans, s->nspans * sizeof(*spans));
	s->spans = spans;
	s->spans_cap = cap;
	return 0;
}

/* Take [start, end) out of every span. */
static int
spans_remove(struct fmt_shadow *s, uint64_t start, uint64_t end)
{
	size_t i = span_after(s, start), j;
	struct shadow_span *sp;

	if (i == s->nspans || s->spans[i].start >= end)
		return 0;
	sp = &s->spans[i];
	if (sp->start < start && sp->end > end) {
		/* Inside one span: it splits in two. */
		if (spans_reserve(s, 1) != 0)
			return -1;
		sp = &s->spans[i];
		memmove(sp + 1, sp, (s->nspans - i) * sizeof(*sp));
		s->nspans++;
		sp[0].end = start;
		sp[1].start = end;
		return 0;
	}
	if (sp->start < start) {
		sp->end = start;
		i++;
	}
	for (j = i; j < s->nspans && s->spans[j].end <= end; j++)
		;
	if (j < s->nspans && s->spans[j].start < end)
		s->spans[j].start = end;
	memmove(&s->spans[i], &s->spans[j], (s->nspans - j) * sizeof(*sp));
	s->nspans -= j - i;
	return 0;
}

/* Add [start, end), merged with every span it touches. */
static int
spans_add(struct fmt_shadow *s, uint64_t start, uint64_t end)
{
	size_t i, j;

	/* The first span that ends at or after start touches it. */
	i = start > 0 ? span_after(s, start - 1) : 0;
	for (j = i; j < s->nspans && s->spans[j].start <= end; j++) {
		if (s->spans[j].start < start)
			start = s->spans[j].start;
		if (s->spans[j].end > end)
			end = s->spans[j].end;
	}
	if (j == i) {
		if (spans_reserve(s, 1) != 0)
			return -1;
		memmove(&s->spans[i + 1], &s->spans[i],
		    (s->nspans - i) * sizeof(*s->spans));
		s->nspans++;
	} else {
		memmove(&s->spans[i + 1], &s->spans[j],
		    (s->nspans - j) * sizeof(*s->spans));
		s->nspans -= j - i - 1;
	}
	s->spans[i].start = start;
	s->spans[i].end = end;
	return 0;
}

/* ---- reading ---- */

/* Bytes [off, off + len) as the base shows them now: zeros past the
 * point where the length was ever cut. */
static int
read_base(struct fmt_shadow *s, uint64_t off, uint8_t *buf, size_t len)
{
	size_t n = 0;

	if (off < s->base_end)
		n = s->base_end - off < len ? (size_t)(s->base_end - off) : len;
	if (n > 0 && s->base.read(s->base.ctx, off, buf, n) != 0)
		return fail(s, "Could not read the image: I/O error");
	memset(buf + n, 0, len - n);
	return 0;
}

static int
shadow_read(void *ctx, uint64_t off, void *out, size_t len)
{
	struct fmt_shadow *s = ctx;
	const struct shadow_page *p;
	uint8_t *buf = out;
	uint64_t first, run_off = off, pos, pno, in;
	size_t n, run_len = 0;

	if (len == 0)
		return 0;
	if (off > UINT64_MAX - len)
		return fail(s, "a read past the largest offset");
	if (spans_overlap(s, off, off + len, &first))
		return fail(s, "the operation reads back data it has just "
		    "written (at byte %llu), which a dry run does not keep; "
		    "it cannot be predicted without writing",
		    (unsigned long long)first);
	/* Unkept pages in a row go to the base in one read. */
	for (pos = off; pos < off + len; pos += n) {
		pno = pos / SHADOW_PAGE;
		in = pos % SHADOW_PAGE;
		n = SHADOW_PAGE - in < off + len - pos ?
		    (size_t)(SHADOW_PAGE - in) : (size_t)(off + len - pos);
		if ((p = page_find(s, pno)) == NULL) {
			run_len += n;
			continue;
		}
		if (run_len > 0 && read_base(s, run_off, buf + (run_off - off),
		    run_len) != 0)
			return -1;
		if (p->buf != NULL)
			memcpy(buf + (pos - off), p->buf + in, n);
		else
			memset(buf + (pos - off), 0, n);
		run_off = pos + n;
		run_len = 0;
	}
	if (run_len > 0 && read_base(s, run_off, buf + (run_off - off),
	    run_len) != 0)
		return -1;
	return 0;
}

/* ---- writing ---- */

static int
grow_to(struct fmt_shadow *s, uint64_t off, uint64_t len)
{
	if (off > UINT64_MAX - len)
		return fail(s, "a write past the largest offset");
	if (off + len > s->size)
		s->size = off + len;
	return 0;
}

/* Store n bytes of src at byte in of page pno. */
static int
page_store(struct fmt_shadow *s, uint64_t pno, size_t in, const uint8_t *src,
    size_t n)
{
	struct shadow_page *p = page_find(s, pno);
	bool zeros = mem_is_zero(src, n);
	uint8_t *buf;

	if (p != NULL && p->buf == NULL && zeros)
		return 0;
	if (p == NULL && n == SHADOW_PAGE && zeros)
		return page_add(s, pno) != NULL ? 0 : -1;
	if (p == NULL || p->buf == NULL) {
		if ((buf = page_buffer(s)) == NULL)
			return -1;
		if (p != NULL)
			memset(buf, 0, SHADOW_PAGE);
		else if (n < SHADOW_PAGE && read_base(s, pno * SHADOW_PAGE,
		    buf, SHADOW_PAGE) != 0)
			return -1;
		if (p == NULL && (p = page_add(s, pno)) == NULL)
			return -1;
		p->buf = buf;
	}
	memcpy(p->buf + in, src, n);
	return 0;
}

static int
shadow_write(void *ctx, uint64_t off, const void *data, size_t len)
{
	struct fmt_shadow *s = ctx;
	const uint8_t *src = data;
	uint64_t pos;
	size_t in, n;

	if (len == 0)
		return 0;
	if (grow_to(s, off, len) != 0 || spans_remove(s, off, off + len) != 0)
		return -1;
	for (pos = off; pos < off + len; pos += n) {
		in = (size_t)(pos % SHADOW_PAGE);
		n = SHADOW_PAGE - in < off + len - pos ? SHADOW_PAGE - in :
		    (size_t)(off + len - pos);
		if (page_store(s, pos / SHADOW_PAGE, in, src + (pos - off),
		    n) != 0)
			return -1;
	}
	return 0;
}

static int
forget(struct fmt_shadow *s, uint64_t off, uint64_t len)
{
	if (len == 0)
		return 0;
	if (grow_to(s, off, len) != 0)
		return -1;
	return spans_add(s, off, off + len);
}

static int
shadow_write_data(void *ctx, uint64_t off, const void *data, size_t len)
{
	(void)data;
	return forget(ctx, off, len);
}

static int
shadow_copy(void *ctx, uint64_t off, const struct fmt_io *src,
    uint64_t src_off, uint64_t len)
{
	(void)src;
	(void)src_off;
	return forget(ctx, off, len);
}

/*
 * Cut or extend the length.  What lies past a cut reads as zeros from
 * then on, even once the length grows again, as in a file.
 */
static int
shadow_truncate(void *ctx, uint64_t size)
{
	struct fmt_shadow *s = ctx;
	struct shadow_page *p;
	uint64_t start;
	size_t i, in;

	if (size >= s->size) {
		s->size = size;
		return 0;
	}
	if (spans_remove(s, size, s->size) != 0)
		return -1;
	for (i = 0; i < s->pages_cap; i++) {
		p = &s->pages[i];
		if (p->key == 0 || p->buf == NULL)
			continue;
		start = (p->key - 1) * SHADOW_PAGE;
		if (start + SHADOW_PAGE <= size)
			continue;
		in = start >= size ? 0 : (size_t)(size - start);
		memset(p->buf + in, 0, SHADOW_PAGE - in);
	}
	if (size < s->base_end)
		s->base_end = size;
	s->size = size;
	return 0;
}

static int
shadow_flush(void *ctx)
{
	(void)ctx;
	return 0;
}

int
shadow_open(struct fmt_shadow *s, const struct fmt_io *base,
    struct fmt_arena *arena, struct fmt_io *io)
{
	memset(s, 0, sizeof(*s));
	s->base = *base;
	s->arena = arena;
	s->size = base->size;
	s->base_end = base->size;
	s->pages_cap = PAGES_CAP_MIN;
	s->spans_cap = SPANS_CAP_MIN;
	s->pages = fmt_alloc_top(arena, s->pages_cap * sizeof(*s->pages), 8);
	s->spans = fmt_alloc_top(arena, s->spans_cap * sizeof(*s->spans), 8);
	if (s->pages == NULL || s->spans == NULL)
		return out_of_memory(s);
	memset(s->pages, 0, s->pages_cap * sizeof(*s->pages));
	memset(io, 0, sizeof(*io));
	io->ctx = s;
	io->size = base->size;
	io->read = shadow_read;
	io->write = shadow_write;
	io->write_data = shadow_write_data;
	io->copy = shadow_copy;
	io->truncate = shadow_truncate;
	io->flush = shadow_flush;
	return 0;
}

uint64_t
shadow_size(const struct fmt_shadow *s)
{
	return s->size;
}

const char *
shadow_error(const struct fmt_shadow *s)
{
	return s->why[0] != '\0' ? s->why : NULL;
}
