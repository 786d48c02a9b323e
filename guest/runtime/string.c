/*
 * The few libc string functions the guest needs.  gcc may emit calls to
 * memcpy/memset/memmove/memcmp on its own, so these exact names must
 * exist; the guest is built with -fno-tree-loop-distribute-patterns so
 * these loops are not turned back into calls to themselves.
 */
#include <stddef.h>
#include <stdint.h>

#include "base.h"

void *
memcpy(void *dst, const void *src, size_t len)
{
	void *ret = dst;

	__asm__ volatile("rep movsb"
	    : "+D"(dst), "+S"(src), "+c"(len) : : "memory");
	return ret;
}

void *
memmove(void *dst, const void *src, size_t len)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d == s || len == 0)
		return dst;
	if (d < s || d >= s + len)
		return memcpy(dst, src, len);
	while (len-- > 0)
		d[len] = s[len];
	return dst;
}

void *
memset(void *dst, int c, size_t len)
{
	void *ret = dst;

	__asm__ volatile("rep stosb"
	    : "+D"(dst), "+c"(len) : "a"(c) : "memory");
	return ret;
}

int
memcmp(const void *a, const void *b, size_t len)
{
	const unsigned char *pa = a, *pb = b;
	size_t i;

	for (i = 0; i < len; i++) {
		if (pa[i] != pb[i])
			return pa[i] < pb[i] ? -1 : 1;
	}
	return 0;
}

size_t
strlen(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0')
		n++;
	return n;
}

size_t
strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n] != '\0')
		n++;
	return n;
}

int
strncmp(const char *a, const char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char ca = (unsigned char)a[i];
		unsigned char cb = (unsigned char)b[i];

		if (ca != cb)
			return ca < cb ? -1 : 1;
		if (ca == '\0')
			return 0;
	}
	return 0;
}

int
strcmp(const char *a, const char *b)
{
	return strncmp(a, b, SIZE_MAX);
}
