/*
 * Safe printing of text that did not come from the user: names read
 * from images, messages relayed from the worker.  In the spirit of
 * OpenSSH's strnvis(): a control byte must never reach a terminal or a
 * log as itself, or an image could forge lines ("\nimage: /etc/passwd")
 * or drive the terminal.
 *
 * The encoding: newline, tab and carriage return as \n, \t and \r; any
 * other byte below 0x20, and DEL, as a backslash and three octal digits
 * (\033).  Every other byte, bytes of 0x80 and above included, passes
 * unchanged, so printable names (UTF-8 ones too) print exactly as
 * qemu-img prints them.  A backslash is not doubled, for the same
 * reason: a name holding a backslash prints as qemu-img prints it.  The
 * cost is that "\n" in the output may stand for a newline byte or for
 * the two characters themselves; no line can be forged either way, and
 * --output=json gives the exact bytes.
 */
#ifndef INSTAR_STRVIS_H
#define INSTAR_STRVIS_H

#include <stddef.h>
#include <stdio.h>

/* Room for n bytes, every one escaped, and the NUL. */
#define STRVIS_SIZE(n)	((n) * 4 + 1)

/*
 * Encode len bytes of src into dst (size bytes), always NUL-terminated;
 * what does not fit is dropped at a whole escape, never half of one.
 * Return the length written.
 */
size_t	strvis_encode(char *dst, size_t size, const char *src,
	    size_t len);
/* The same for a C string, returning dst: for "%s" arguments. */
const char *strvis(char *dst, size_t size, const char *src);
/* Write len bytes of src to out, encoded; 0, or EOF on write error. */
int	strvis_fwrite(FILE *out, const char *src, size_t len);
/* The same for a C string. */
int	strvis_fputs(FILE *out, const char *src);

#endif /* INSTAR_STRVIS_H */
