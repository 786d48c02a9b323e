/*
 * A small vsnprintf for the guest's messages.  It always NUL-terminates
 * and returns the length the full output would have had, like C99's.
 * Supported: %s %c %d %i %u %x %X %p %%, flags '0', '-' and '#', a
 * width, and the h, l, ll and z length modifiers.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base.h"

struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void
out_char(struct out *o, char c)
{
	if (o->size > 0 && o->len < o->size - 1)
		o->buf[o->len] = c;
	o->len++;
}

static void
out_pad(struct out *o, char c, size_t count)
{
	while (count-- > 0)
		out_char(o, c);
}

static void
out_str(struct out *o, const char *s, size_t width, bool left)
{
	size_t n = strlen(s);

	if (!left && width > n)
		out_pad(o, ' ', width - n);
	while (*s != '\0')
		out_char(o, *s++);
	if (left && width > n)
		out_pad(o, ' ', width - n);
}

/* prefix is what goes before the digits and any zero padding: a sign
 * or a "0x". */
static void
out_num(struct out *o, uint64_t v, const char *prefix, unsigned int base,
    bool upper, size_t width, bool zero, bool left)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	size_t n = 0, total;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v != 0);
	total = n + strlen(prefix);
	if (!left && !zero && width > total)
		out_pad(o, ' ', width - total);
	while (*prefix != '\0')
		out_char(o, *prefix++);
	if (!left && zero && width > total)
		out_pad(o, '0', width - total);
	while (n > 0)
		out_char(o, tmp[--n]);
	if (left && width > total)
		out_pad(o, ' ', width - total);
}

enum length { LEN_INT, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE };

static uint64_t
arg_unsigned(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_SHORT:
		return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_LONG:
		return va_arg(*ap, unsigned long);
	case LEN_LLONG:
		return va_arg(*ap, unsigned long long);
	case LEN_SIZE:
		return va_arg(*ap, size_t);
	default:
		return va_arg(*ap, unsigned int);
	}
}

static int64_t
arg_signed(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_SHORT:
		return (short)va_arg(*ap, int);
	case LEN_LONG:
		return va_arg(*ap, long);
	case LEN_LLONG:
		return va_arg(*ap, long long);
	case LEN_SIZE:
		return (int64_t)va_arg(*ap, size_t);
	default:
		return va_arg(*ap, int);
	}
}

static const char *
parse_length(const char *f, enum length *len)
{
	*len = LEN_INT;
	if (*f == 'h') {
		*len = LEN_SHORT;
		f++;
	} else if (*f == 'z') {
		*len = LEN_SIZE;
		f++;
	} else if (*f == 'l') {
		*len = LEN_LONG;
		f++;
		if (*f == 'l') {
			*len = LEN_LLONG;
			f++;
		}
	}
	return f;
}

struct spec {
	size_t width;
	bool zero;	/* '0' */
	bool left;	/* '-' */
	bool alt;	/* '#': 0x before a non-zero hexadecimal number */
	enum length len;
};

static void
out_conversion(struct out *o, char conv, va_list *ap, const struct spec *sp)
{
	size_t width = sp->width;
	bool zero = sp->zero, left = sp->left;
	enum length len = sp->len;
	uint64_t uv;
	int64_t sv;
	const char *s;

	switch (conv) {
	case 's':
		s = va_arg(*ap, const char *);
		out_str(o, s != NULL ? s : "(null)", width, left);
		break;
	case 'c':
		out_char(o, (char)va_arg(*ap, int));
		break;
	case 'd':
	case 'i':
		sv = arg_signed(ap, len);
		out_num(o, sv < 0 ? (uint64_t)0 - (uint64_t)sv : (uint64_t)sv,
		    sv < 0 ? "-" : "", 10, false, width, zero, left);
		break;
	case 'u':
		out_num(o, arg_unsigned(ap, len), "", 10, false, width,
		    zero, left);
		break;
	case 'x':
	case 'X':
		uv = arg_unsigned(ap, len);
		out_num(o, uv, sp->alt && uv != 0 ? (conv == 'X' ? "0X" : "0x") :
		    "", 16, conv == 'X', width, zero, left);
		break;
	case 'p':
		out_str(o, "0x", 0, false);
		out_num(o, (uint64_t)(uintptr_t)va_arg(*ap, void *), "",
		    16, false, 0, false, false);
		break;
	case '%':
		out_char(o, '%');
		break;
	default:
		/* Unknown conversion: show it rather than guess at va_arg. */
		out_char(o, '%');
		out_char(o, conv);
		break;
	}
}

int
vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	va_list args;

	va_copy(args, ap);
	while (*fmt != '\0') {
		struct spec sp = { 0, false, false, false, LEN_INT };

		if (*fmt != '%') {
			out_char(&o, *fmt++);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '0')
				sp.zero = true;
			else if (*fmt == '-')
				sp.left = true;
			else if (*fmt == '#')
				sp.alt = true;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9' && sp.width < 1000)
			sp.width = sp.width * 10 + (size_t)(*fmt++ - '0');
		fmt = parse_length(fmt, &sp.len);
		if (*fmt == '\0')
			break;
		out_conversion(&o, *fmt++, &args, &sp);
	}
	va_end(args);
	if (size > 0)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len > INT32_MAX ? INT32_MAX : (int)o.len;
}

int
snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
