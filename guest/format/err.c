/*
 * Error text for the format layer: why a job failed, in the user's words.
 */
#include "format.h"

void
fmt_seterr(struct fmt_err *err, const char *fmt, ...)
{
	static const char cut[] = "...";
	va_list ap;
	int n;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		err->msg[0] = '\0';
	/*
	 * Only a name from the image makes a message this long; the user
	 * must see that it was cut rather than read a shorter name.
	 */
	if (n >= (int)sizeof(err->msg))
		memcpy(err->msg + sizeof(err->msg) - sizeof(cut), cut,
		    sizeof(cut));
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
