/*
 * Error text for the format layer: why a job failed, in the user's words.
 */
#include "format.h"

static void format_bounded(char *, size_t, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

/* vsnprintf into dst, ending a message cut to fit in "...". */
static void
format_bounded(char *dst, size_t size, const char *fmt, va_list ap)
{
	static const char cut[] = "...";
	int n;

	n = vsnprintf(dst, size, fmt, ap);
	if (n < 0)
		dst[0] = '\0';
	/*
	 * Only a name from the image makes a message this long; the user
	 * must see that it was cut rather than read a shorter name.
	 */
	if (n >= (int)size && size >= sizeof(cut))
		memcpy(dst + size - sizeof(cut), cut, sizeof(cut));
	/* vsnprintf always terminates, but a broken one must not leak. */
	dst[size - 1] = '\0';
}

void
fmt_seterr(struct fmt_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	format_bounded(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* A hint belongs to the error it was given with. */
	err->hint[0] = '\0';
}

void
fmt_sethint(struct fmt_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	format_bounded(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
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
