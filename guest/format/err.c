/*
 * Error text and job memory for the format layer.
 */
#include "format.h"

void
fmt_seterr(struct fmt_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	if (vsnprintf(err->msg, sizeof(err->msg), fmt, ap) < 0)
		err->msg[0] = '\0';
	va_end(ap);
	/* vsnprintf always terminates, but a broken one must not leak. */
	err->msg[sizeof(err->msg) - 1] = '\0';
}

void
fmt_report(char *dst, size_t size, const struct fmt_err *err,
    const char *fallback)
{
	const char *why = err->msg[0] != '\0' ? err->msg : fallback;
	size_t n = strnlen(why, size - 1);

	memcpy(dst, why, n);
	dst[n] = '\0';
}

size_t
fmt_arena_left(const struct fmt_arena *a)
{
	if (a->used > a->size || a->top > a->size - a->used)
		return 0;
	return a->size - a->used - a->top;
}

void *
fmt_alloc(struct fmt_arena *a, size_t size, size_t align)
{
	uintptr_t start = (uintptr_t)a->base + a->used;
	uintptr_t p;
	size_t pad, left = fmt_arena_left(a);

	if (align == 0 || (align & (align - 1)) != 0)
		return NULL;
	p = (start + align - 1) & ~(uintptr_t)(align - 1);
	pad = (size_t)(p - start);
	if (p < start || pad > left || size > left - pad)
		return NULL;
	a->used += pad + size;
	return (void *)p;
}

void *
fmt_alloc_top(struct fmt_arena *a, size_t size, size_t align)
{
	uintptr_t end, p;
	size_t left = fmt_arena_left(a), taken;

	if (align == 0 || (align & (align - 1)) != 0 || size > left)
		return NULL;
	end = (uintptr_t)a->base + a->size - a->top;
	p = (end - size) & ~(uintptr_t)(align - 1);
	taken = (size_t)(end - p);
	if (taken > left)
		return NULL;
	a->top += taken;
	return (void *)p;
}

int
fmt_write_data(const struct fmt_io *io, uint64_t off, const void *buf,
    size_t len)
{
	if (io->write_data != NULL)
		return io->write_data(io->ctx, off, buf, len);
	return io->write(io->ctx, off, buf, len);
}
