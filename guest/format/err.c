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

void *
fmt_alloc(struct fmt_arena *a, size_t size, size_t align)
{
	uintptr_t start = (uintptr_t)a->base + a->used;
	uintptr_t p;
	size_t pad;

	if (align == 0 || (align & (align - 1)) != 0)
		return NULL;
	p = (start + align - 1) & ~(uintptr_t)(align - 1);
	pad = (size_t)(p - start);
	if (p < start || pad > a->size - a->used ||
	    size > a->size - a->used - pad)
		return NULL;
	a->used += pad + size;
	return (void *)p;
}
