#include <string.h>

#include "strvis.h"

/* The encoding of one byte into out (at least 5 bytes); its length. */
static size_t
encode_byte(char out[5], unsigned char c)
{
	static const char digits[] = "01234567";

	if (c >= 0x20 && c != 0x7f) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	if (c == '\n' || c == '\t' || c == '\r') {
		out[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
		return 2;
	}
	out[1] = digits[(c >> 6) & 7];
	out[2] = digits[(c >> 3) & 7];
	out[3] = digits[c & 7];
	return 4;
}

size_t
strvis_encode(char *dst, size_t size, const char *src, size_t len)
{
	char e[5];
	size_t i, n, out = 0;

	if (size == 0)
		return 0;
	for (i = 0; i < len; i++) {
		n = encode_byte(e, (unsigned char)src[i]);
		if (n >= size - out)
			break;
		memcpy(dst + out, e, n);
		out += n;
	}
	dst[out] = '\0';
	return out;
}

const char *
strvis(char *dst, size_t size, const char *src)
{
	strvis_encode(dst, size, src, strlen(src));
	return dst;
}

int
strvis_fwrite(FILE *out, const char *src, size_t len)
{
	char e[5];
	size_t i, n;

	for (i = 0; i < len; i++) {
		n = encode_byte(e, (unsigned char)src[i]);
		if (fwrite(e, 1, n, out) != n)
			return EOF;
	}
	return 0;
}

int
strvis_fputs(FILE *out, const char *src)
{
	return strvis_fwrite(out, src, strlen(src));
}
