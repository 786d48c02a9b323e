/*
 * Error text for the format layer: why a job failed, in the user's words.
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
