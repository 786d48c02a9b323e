#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "strvis.h"

static const char *progname = "instar";

void
log_init(const char *name)
{
	progname = name;
}

const char *
log_progname(void)
{
	return progname;
}

static void log_emit(bool, const char *, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

/*
 * The whole line is encoded, not only its arguments: a message may
 * carry a name from an image or text from the worker at any place, and
 * no message means to span lines.
 */
static void
log_emit(bool prefix, const char *func, const char *fmt, va_list ap)
{
	/* One fprintf per part; stderr is unbuffered, so build one line. */
	char line[8192], vis[STRVIS_SIZE(sizeof(line))];
	int n;

	if (!prefix)
		n = 0;
	else if (func != NULL)
		n = snprintf(line, sizeof(line), "%s: %s: ", progname, func);
	else
		n = snprintf(line, sizeof(line), "%s: ", progname);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	fprintf(stderr, "%s\n", strvis(vis, sizeof(vis), line));
}

void
error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(true, NULL, fmt, ap);
	va_end(ap);
}

void
error_plain(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(false, NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(true, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

void
error_fn(const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(true, func, fmt, ap);
	va_end(ap);
}

void
fatal_fn(const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(true, func, fmt, ap);
	va_end(ap);
	exit(1);
}
