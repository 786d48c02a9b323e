/*
 * One error path style for the hosted programs.  error() and fatal() are
 * for messages a user reads ("instar: Could not open 'x': ..."); the _f
 * variants add the calling function's name, for failures that point at a
 * bug or an environment problem rather than at the user's input.  All of
 * them print one line, control characters encoded (see strvis.h): the
 * message may carry names from an image or text from the worker.
 */
#ifndef INSTAR_LOG_H
#define INSTAR_LOG_H

#include <stdarg.h>

void log_init(const char *progname);
const char *log_progname(void);

void error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A line of an error report without the prefix, as qemu-img's hints. */
void error_plain(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void error_fn(const char *func, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fatal_fn(const char *func, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

#define error_f(...)	error_fn(__func__, __VA_ARGS__)
#define fatal_f(...)	fatal_fn(__func__, __VA_ARGS__)

#endif
