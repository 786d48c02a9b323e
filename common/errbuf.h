/*
 * Filling a caller's error buffer: the style of the vmm and the sandbox,
 * which report why something failed without printing it themselves.
 */
#ifndef INSTAR_ERRBUF_H
#define INSTAR_ERRBUF_H

#include <stddef.h>

void errbuf_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
