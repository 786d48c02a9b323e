#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

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

static void log_emit(const char *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

static void
log_emit(const char *func, const char *fmt, va_list ap)
{
	/* One fprintf per part; stderr is unbuffered, so build one line. */
	char line[8192];
	int n;

	if (func != NULL)
		n = snprintf(line, sizeof(line), "%s: %s: ", progname, func);
	else
		n = snprintf(line, sizeof(line), "%s: ", progname);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

void
error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

void
error_fn(const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(func, fmt, ap);
	va_end(ap);
}

void
fatal_fn(const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(func, fmt, ap);
	va_end(ap);
	exit(1);
}
