/*
 * "json:" image names on the command line; see json_name.h.
 *
 * A recursive descent over qemu's JSON dialect (qobject/json-lexer.c):
 * objects, arrays, strings in double or single quotes with JSON's
 * escapes (and \' ), numbers, true, false and null.  Keys and values
 * are built in bounded buffers; anything longer, or nested deeper than
 * JSON_NAME_DEPTH_MAX, is refused, never cut short.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json_name.h"

struct jp {
	const char	*p;
	char		 key[JSON_NAME_KEY_MAX];
	size_t		 keylen;
	char		 value[JSON_NAME_VALUE_MAX];
	unsigned	 depth;
	json_name_fn	 fn;
	void		*arg;
	int		 rc;		/* the callback's, once nonzero */
	char		*why;
	size_t		 whylen;
	bool		 parse_error;	/* why follows "Could not parse" */
};

static int	value(struct jp *);
static int	fail(struct jp *, bool, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
fail(struct jp *j, bool parse_error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(j->why, j->whylen, fmt, ap);
	va_end(ap);
	j->parse_error = parse_error;
	return -1;
}

static void
skip_space(struct jp *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' ||
	    *j->p == '\r')
		j->p++;
}

static int
hex4(const char *p, unsigned *v)
{
	unsigned i, d;

	*v = 0;
	for (i = 0; i < 4; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			d = (unsigned)(p[i] - '0');
		else if (p[i] >= 'a' && p[i] <= 'f')
			d = (unsigned)(p[i] - 'a' + 10);
		else if (p[i] >= 'A' && p[i] <= 'F')
			d = (unsigned)(p[i] - 'A' + 10);
		else
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

/* Append code point cp as UTF-8 to out[*n..outlen). */
static int
put_utf8(char *out, size_t outlen, size_t *n, unsigned cp)
{
	unsigned char b[4];
	size_t len, i;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		len = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		len = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		len = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		len = 4;
	}
	if (outlen - *n <= len)
		return -1;
	for (i = 0; i < len; i++)
		out[(*n)++] = (char)b[i];
	return 0;
}

/* util/unicode.c's is_valid_codepoint(). */
static bool
valid_codepoint(unsigned cp)
{
	return cp <= 0x10ffff && !(cp >= 0xfdd0 && cp <= 0xfdef) &&
	    (cp & 0xfffe) != 0xfffe && !(cp >= 0xd800 && cp <= 0xdfff);
}

/*
 * A \u escape at j->p (after the "\u"): one code point, or a surrogate
 * pair for one, as qemu's parse_string() takes them.  U+0000 becomes
 * qemu's modified UTF-8, C0 80.
 */
static int
unicode_escape(struct jp *j, char *out, size_t outlen, size_t *n)
{
	const char *beg = j->p - 2;
	unsigned cp, lo;
	bool valid;

	if (hex4(j->p, &cp) != 0)
		return fail(j, true, "JSON parse error, invalid escape "
		    "sequence in string");
	j->p += 4;
	valid = true;
	if (cp >= 0xd800 && cp <= 0xdbff && j->p[0] == '\\' &&
	    j->p[1] == 'u') {
		if (hex4(j->p + 2, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
			cp = 0x10000 + ((cp & 0x3ff) << 10) + (lo & 0x3ff);
			j->p += 6;
		} else
			valid = false;
	}
	if (!valid || !valid_codepoint(cp))
		return fail(j, true, "JSON parse error, %.*s is not a valid "
		    "Unicode character", (int)(j->p - beg), beg);
	if (cp == 0) {
		if (outlen - *n <= 2)
			return fail(j, false, "an option is too long");
		out[(*n)++] = (char)0xc0;
		out[(*n)++] = (char)0x80;
		return 0;
	}
	if (put_utf8(out, outlen, n, cp) != 0)
		return fail(j, false, "an option is too long");
	return 0;
}

/* A string at j->p, its contents into out (NUL-terminated). */
static int
string(struct jp *j, char *out, size_t outlen)
{
	char quote = *j->p++, c;
	size_t n = 0;

	for (;;) {
		c = *j->p;
		if (c == '\0')
			return fail(j, true, "JSON parse error, premature EOI");
		if ((unsigned char)c < 0x20)
			return fail(j, true, "JSON parse error, stray '%c'", c);
		j->p++;
		if (c == quote)
			break;
		if (c == '\\') {
			c = *j->p++;
			switch (c) {
			case '"': case '\'': case '\\': case '/':
				break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u':
				if (unicode_escape(j, out, outlen, &n) != 0)
					return -1;
				continue;
			default:
				return fail(j, true, "JSON parse error, "
				    "invalid escape sequence in string");
			}
		}
		if (n + 1 >= outlen)
			return fail(j, false, "an option is too long");
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
}

/* A run of the characters in set, from j->p; its length. */
static size_t
span(struct jp *j, const char *set)
{
	size_t n = strspn(j->p, set);

	j->p += n;
	return n;
}

/*
 * A token qemu's lexer cannot go on with: what it read of it, with the
 * character that stopped it.
 */
static int
stray(struct jp *j, const char *start)
{
	int len = (int)(j->p - start) + (*j->p != '\0');

	return fail(j, true, "JSON parse error, stray '%.*s'", len, start);
}

/*
 * A number or a keyword, its text into j->value, as qemu's lexer reads
 * them: a keyword is lowercase letters only, so "qcow2" is the keyword
 * "qcow" before a number.
 */
static int
literal(struct jp *j)
{
	const char *start = j->p;
	size_t n;

	if (*j->p >= 'a' && *j->p <= 'z')
		(void)span(j, "abcdefghijklmnopqrstuvwxyz");
	else {
		if (*j->p == '-')
			j->p++;
		if (span(j, "0123456789") == 0)
			return stray(j, start);
		if (*j->p == '.') {
			j->p++;
			if (span(j, "0123456789") == 0)
				return stray(j, start);
		}
		if (*j->p == 'e' || *j->p == 'E') {
			j->p++;
			if (*j->p == '+' || *j->p == '-')
				j->p++;
			if (span(j, "0123456789") == 0)
				return stray(j, start);
		}
	}
	n = (size_t)(j->p - start);
	if (n >= sizeof(j->value))
		return fail(j, false, "an option is too long");
	memcpy(j->value, start, n);
	j->value[n] = '\0';
	if (start[0] >= 'a' && start[0] <= 'z' &&
	    strcmp(j->value, "true") != 0 && strcmp(j->value, "false") != 0 &&
	    strcmp(j->value, "null") != 0)
		return fail(j, true, "JSON parse error, invalid keyword '%s'",
		    j->value);
	return 0;
}

/* Extend the key by ".name" (or "name" at the top); *old to restore. */
static int
key_push(struct jp *j, const char *name, size_t *old)
{
	size_t len = strlen(name), dot = j->keylen > 0;

	*old = j->keylen;
	if (j->keylen + dot + len >= sizeof(j->key))
		return fail(j, false, "an option is too long");
	if (dot)
		j->key[j->keylen++] = '.';
	memcpy(j->key + j->keylen, name, len + 1);
	j->keylen += len;
	return 0;
}

static void
key_pop(struct jp *j, size_t old)
{
	j->keylen = old;
	j->key[old] = '\0';
}

/* The key and value to the callback; none in the checking pass. */
static int
emit(struct jp *j)
{
	if (j->fn != NULL && (j->rc = j->fn(j->arg, j->key, j->value)) != 0)
		return -1;
	return 0;
}

/* After a member or an element: ',' and more, or the closing c. */
static int
separator(struct jp *j, char close, const char *what, bool *more)
{
	skip_space(j);
	if (*j->p == '\0')
		return fail(j, true, "JSON parse error, premature EOI");
	if (*j->p == close) {
		j->p++;
		*more = false;
		return 0;
	}
	if (*j->p != ',')
		return fail(j, true, "JSON parse error, expected separator in "
		    "%s", what);
	j->p++;
	*more = true;
	return 0;
}

static int
object(struct jp *j)
{
	char name[JSON_NAME_KEY_MAX];
	size_t old;
	bool more = true;

	j->p++;
	skip_space(j);
	if (*j->p == '}') {
		j->p++;
		j->value[0] = '\0';
		return j->keylen > 0 ? emit(j) : 0;
	}
	while (more) {
		skip_space(j);
		if (*j->p == '\0')
			return fail(j, true, "JSON parse error, premature EOI");
		if (*j->p != '"' && *j->p != '\'') {
			/* A key is a value first, so a bad one fails as such. */
			if (*j->p != '{' && *j->p != '[' && literal(j) != 0)
				return -1;
			return fail(j, true, "JSON parse error, key is not a "
			    "string in object");
		}
		if (string(j, name, sizeof(name)) != 0)
			return -1;
		skip_space(j);
		if (*j->p == '\0')
			return fail(j, true, "JSON parse error, premature EOI");
		if (*j->p != ':')
			return fail(j, true, "JSON parse error, missing : in "
			    "object pair");
		j->p++;
		if (key_push(j, name, &old) != 0 || value(j) != 0)
			return -1;
		key_pop(j, old);
		if (separator(j, '}', "dict", &more) != 0)
			return -1;
	}
	return 0;
}

static int
array(struct jp *j)
{
	char index[24];
	size_t old;
	unsigned i;
	bool more = true;

	j->p++;
	skip_space(j);
	if (*j->p == ']') {
		j->p++;
		j->value[0] = '\0';
		return emit(j);
	}
	for (i = 0; more; i++) {
		(void)snprintf(index, sizeof(index), "%u", i);
		if (key_push(j, index, &old) != 0 || value(j) != 0)
			return -1;
		key_pop(j, old);
		if (separator(j, ']', "list", &more) != 0)
			return -1;
	}
	return 0;
}

static int
value(struct jp *j)
{
	int r;

	skip_space(j);
	if (*j->p == '\0')
		return fail(j, true, "JSON parse error, premature EOI");
	if (*j->p == '{' || *j->p == '[') {
		if (++j->depth > JSON_NAME_DEPTH_MAX)
			return fail(j, true, "JSON nesting depth limit "
			    "exceeded");
		r = *j->p == '{' ? object(j) : array(j);
		j->depth--;
		return r;
	}
	if (*j->p == '"' || *j->p == '\'') {
		if (string(j, j->value, sizeof(j->value)) != 0)
			return -1;
	} else if (*j->p == '}' || *j->p == ']' || *j->p == ',' ||
	    *j->p == ':')
		return fail(j, true, "JSON parse error, expecting value");
	else if (literal(j) != 0)
		return -1;
	return emit(j);
}

bool
json_name_is(const char *name)
{
	return strncmp(name, "json:", 5) == 0;
}

/*
 * One pass over the whole text: with fn NULL only to check it, as qemu
 * parses all of it before it looks at any option.
 */
static int
parse_pass(struct jp *j, const char *text)
{
	j->p = text;
	j->keylen = 0;
	j->key[0] = '\0';
	j->depth = 0;
	skip_space(j);
	if (*j->p == '\0')
		return fail(j, true, "Expecting a JSON value");
	if (*j->p != '{') {
		if (value(j) != 0)
			return -1;
		/* A value that is not an object parses, then is refused. */
		return fail(j, false, "Invalid JSON object given");
	}
	j->depth = 1;
	if (object(j) != 0)
		return -1;
	skip_space(j);
	if (*j->p != '\0')
		return fail(j, true, "Expecting at most one JSON value");
	return 0;
}

int
json_name_parse(const char *name, json_name_fn fn, void *arg, char *why,
    size_t whylen, bool *parse_error)
{
	struct jp j;

	memset(&j, 0, sizeof(j));
	j.why = why;
	j.whylen = whylen;
	why[0] = '\0';
	if (parse_pass(&j, name + 5) != 0) {
		*parse_error = j.parse_error;
		return -1;
	}
	j.fn = fn;
	j.arg = arg;
	if (parse_pass(&j, name + 5) != 0) {
		*parse_error = j.parse_error;
		return j.rc != 0 ? 1 : -1;
	}
	return 0;
}
