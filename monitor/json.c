/*
 * JSON values printed exactly as qemu 7.2 prints them: QDict key order
 * (qobject/qdict.c), the pretty layout of qobject/json-writer.c and its
 * string escaping, which decodes qemu's "modified UTF-8" (util/unicode.c)
 * and replaces anything invalid with U+FFFD.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* qobject/qdict.c: QDICT_BUCKET_MAX */
#define QDICT_BUCKETS	512

struct json_member {
	char			*key;
	unsigned int		 bucket;
	struct json_value	*val;
};

struct json_value {
	enum json_type	type;
	union {
		bool		 b;
		int64_t		 i;
		uint64_t	 u;
		struct {
			char	*p;
			size_t	 len;
		} s;
		struct {
			/* kept in qemu's iteration order */
			struct json_member	*m;
			size_t			 n, cap;
		} o;
		struct {
			struct json_value	**v;
			size_t			  n, cap;
		} a;
	} u;
};

static struct json_value *
value_new(enum json_type type)
{
	struct json_value *v;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	v->type = type;
	return v;
}

struct json_value *
json_bool_new(bool b)
{
	struct json_value *v;

	if ((v = value_new(JSON_BOOL)) != NULL)
		v->u.b = b;
	return v;
}

struct json_value *
json_int_new(int64_t i)
{
	struct json_value *v;

	if ((v = value_new(JSON_INT)) != NULL)
		v->u.i = i;
	return v;
}

struct json_value *
json_uint_new(uint64_t u)
{
	struct json_value *v;

	if ((v = value_new(JSON_UINT)) != NULL)
		v->u.u = u;
	return v;
}

struct json_value *
json_string_new(const char *s, size_t len)
{
	struct json_value *v;
	const char *nul;

	/* qemu's strings are C strings: they end at the first NUL */
	if (s == NULL)
		len = 0;
	else if ((nul = memchr(s, '\0', len)) != NULL)
		len = (size_t)(nul - s);
	if ((v = value_new(JSON_STRING)) == NULL)
		return NULL;
	if (len == SIZE_MAX || (v->u.s.p = malloc(len + 1)) == NULL) {
		free(v);
		return NULL;
	}
	if (len > 0)
		memcpy(v->u.s.p, s, len);
	v->u.s.p[len] = '\0';
	v->u.s.len = len;
	return v;
}

struct json_value *
json_cstring_new(const char *s)
{
	return json_string_new(s, s == NULL ? 0 : strlen(s));
}

struct json_value *
json_object_new(void)
{
	return value_new(JSON_OBJECT);
}

struct json_value *
json_array_new(void)
{
	return value_new(JSON_ARRAY);
}

void
json_free(struct json_value *v)
{
	size_t i;

	if (v == NULL)
		return;
	switch (v->type) {
	case JSON_STRING:
		free(v->u.s.p);
		break;
	case JSON_OBJECT:
		for (i = 0; i < v->u.o.n; i++) {
			free(v->u.o.m[i].key);
			json_free(v->u.o.m[i].val);
		}
		free(v->u.o.m);
		break;
	case JSON_ARRAY:
		for (i = 0; i < v->u.a.n; i++)
			json_free(v->u.a.v[i]);
		free(v->u.a.v);
		break;
	default:
		break;
	}
	free(v);
}

/* qobject/qdict.c: tdb_hash(), from Samba's TDB; unsigned is 32 bits. */
static uint32_t
tdb_hash(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	uint32_t value;
	size_t i;

	value = (uint32_t)(0x238F13AFu * (uint32_t)strlen(name));
	for (i = 0; p[i] != '\0'; i++)
		value += (uint32_t)p[i] << (i * 5 % 24);
	return 1103515243u * value + 12345u;
}

unsigned int
json_qdict_bucket(const char *key)
{
	return tdb_hash(key) % QDICT_BUCKETS;
}

/*
 * Make room for one more element of size sz in arr (n used, *cap
 * allocated).  Returns the (possibly moved) array, or NULL with arr
 * untouched.
 */
static void *
grow(void *arr, size_t n, size_t *cap, size_t sz)
{
	void *np;
	size_t ncap;

	if (n < *cap)
		return arr;
	ncap = *cap == 0 ? 8 : *cap * 2;
	if (ncap < *cap || ncap > SIZE_MAX / sz)
		return NULL;
	if ((np = realloc(arr, ncap * sz)) == NULL)
		return NULL;
	*cap = ncap;
	return np;
}

int
json_object_put(struct json_value *obj, const char *key,
    struct json_value *val)
{
	struct json_member *m;
	unsigned int bucket;
	size_t i, pos;
	char *k;

	if (obj == NULL || obj->type != JSON_OBJECT || key == NULL ||
	    val == NULL)
		goto fail;
	bucket = json_qdict_bucket(key);
	for (i = 0; i < obj->u.o.n; i++) {
		m = &obj->u.o.m[i];
		if (m->bucket == bucket && strcmp(m->key, key) == 0) {
			/* qdict_put_obj() replaces the value in place */
			json_free(m->val);
			m->val = val;
			return 0;
		}
	}
	/*
	 * QLIST_INSERT_HEAD into the bucket: the new member goes before
	 * every older member of the same bucket, after lower buckets.
	 */
	for (pos = 0; pos < obj->u.o.n; pos++)
		if (obj->u.o.m[pos].bucket >= bucket)
			break;
	if ((k = strdup(key)) == NULL)
		goto fail;
	if ((m = grow(obj->u.o.m, obj->u.o.n, &obj->u.o.cap,
	    sizeof(*m))) == NULL) {
		free(k);
		goto fail;
	}
	obj->u.o.m = m;
	memmove(&m[pos + 1], &m[pos], (obj->u.o.n - pos) * sizeof(*m));
	m[pos].key = k;
	m[pos].bucket = bucket;
	m[pos].val = val;
	obj->u.o.n++;
	return 0;
 fail:
	json_free(val);
	return -1;
}

int
json_array_append(struct json_value *arr, struct json_value *val)
{
	struct json_value **v;

	if (arr == NULL || arr->type != JSON_ARRAY || val == NULL)
		goto fail;
	if ((v = grow(arr->u.a.v, arr->u.a.n, &arr->u.a.cap,
	    sizeof(*v))) == NULL)
		goto fail;
	arr->u.a.v = v;
	v[arr->u.a.n++] = val;
	return 0;
 fail:
	json_free(val);
	return -1;
}

enum json_type
json_type(const struct json_value *v)
{
	return v->type;
}

bool
json_get_bool(const struct json_value *v)
{
	return v->type == JSON_BOOL && v->u.b;
}

const char *
json_get_string(const struct json_value *v)
{
	return v->type == JSON_STRING ? v->u.s.p : NULL;
}

size_t
json_length(const struct json_value *v)
{
	switch (v->type) {
	case JSON_OBJECT:
		return v->u.o.n;
	case JSON_ARRAY:
		return v->u.a.n;
	case JSON_STRING:
		return v->u.s.len;
	default:
		return 0;
	}
}

const char *
json_object_key(const struct json_value *v, size_t i)
{
	if (v->type != JSON_OBJECT || i >= v->u.o.n)
		return NULL;
	return v->u.o.m[i].key;
}

const struct json_value *
json_object_value(const struct json_value *v, size_t i)
{
	if (v->type != JSON_OBJECT || i >= v->u.o.n)
		return NULL;
	return v->u.o.m[i].val;
}

const struct json_value *
json_array_get(const struct json_value *v, size_t i)
{
	if (v->type != JSON_ARRAY || i >= v->u.a.n)
		return NULL;
	return v->u.a.v[i];
}

int
json_number_str(const struct json_value *v, char *buf, size_t len)
{
	int r;

	/* qnum_to_string(): "%" PRId64 or "%" PRIu64 */
	if (v->type == JSON_INT)
		r = snprintf(buf, len, "%" PRId64, v->u.i);
	else if (v->type == JSON_UINT)
		r = snprintf(buf, len, "%" PRIu64, v->u.u);
	else
		return -1;
	if (r < 0 || (size_t)r >= len)
		return -1;
	return 0;
}

/*
 * util/unicode.c: mod_utf8_codepoint().  Decodes the sequence at s (n
 * bytes available; bytes past n read as NUL, as past qemu's terminator)
 * and returns the code point or -1, setting *used to the bytes consumed
 * exactly as qemu advances, so invalid input maps to the same number of
 * U+FFFD replacements.
 */
static int
mod_utf8_codepoint(const unsigned char *s, size_t n, size_t *used)
{
	static const int min_cp[5] = {
		0x80, 0x800, 0x10000, 0x200000, 0x4000000
	};
	unsigned int byte, mask, len, i;
	size_t pos = 0;
	int cp;

	if (n == 0 || s[0] == 0) {
		*used = 0;
		return -1;
	}
	byte = s[pos++];
	if (byte < 0x80)
		cp = (int)byte;
	else if (byte >= 0xFE)
		cp = -1;		/* impossible bytes 0xFE, 0xFF */
	else if ((byte & 0x40) == 0)
		cp = -1;		/* unexpected continuation byte */
	else {
		len = 0;
		for (mask = 0x80; byte & mask; mask >>= 1)
			len++;
		/* 0xC0..0xFD: 2..6 byte sequence */
		cp = (int)(byte & (mask - 1));
		for (i = 1; i < len; i++) {
			byte = pos < n ? s[pos] : 0;
			if ((byte & 0xC0) != 0x80) {
				cp = -1;	/* continuation byte missing */
				goto out;
			}
			pos++;
			cp = (int)(((unsigned int)cp << 6) | (byte & 0x3F));
		}
		if (cp > 0x10FFFF)
			cp = -1;	/* beyond Unicode range */
		else if ((cp >= 0xFDD0 && cp <= 0xFDEF) ||
		    (cp & 0xFFFE) == 0xFFFE)
			cp = -1;	/* noncharacter */
		else if (cp >= 0xD800 && cp <= 0xDFFF)
			cp = -1;	/* surrogate code point */
		else if (cp < min_cp[len - 2] && !(cp == 0 && len == 2))
			cp = -1;	/* overlong, not \xC0\x80 */
	}
 out:
	*used = pos;
	return cp;
}

int
json_print_string(FILE *out, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t pos = 0, used;
	int cp;

	fputc('"', out);
	while (pos < len && s[pos] != '\0') {
		cp = mod_utf8_codepoint(s + pos, len - pos, &used);
		pos += used;
		switch (cp) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\b':
			fputs("\\b", out);
			break;
		case '\f':
			fputs("\\f", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			if (cp < 0)
				cp = 0xFFFD;	/* replacement character */
			if (cp > 0xFFFF)
				fprintf(out, "\\u%04X\\u%04X",
				    0xD800 + ((cp - 0x10000) >> 10),
				    0xDC00 + ((cp - 0x10000) & 0x3FF));
			else if (cp < 0x20 || cp >= 0x7F)
				fprintf(out, "\\u%04X", (unsigned int)cp);
			else
				fputc(cp, out);
		}
	}
	fputc('"', out);
	return ferror(out) ? -1 : 0;
}

/* json-writer.c pretty_newline(): newline, 4 spaces per open container */
static void
newline(FILE *out, unsigned int depth)
{
	fprintf(out, "\n%*s", (int)(depth * 4), "");
}

static void
print_value(FILE *out, const struct json_value *v, unsigned int depth)
{
	char num[32];
	size_t i;

	switch (v->type) {
	case JSON_BOOL:
		fputs(v->u.b ? "true" : "false", out);
		break;
	case JSON_INT:
	case JSON_UINT:
		if (json_number_str(v, num, sizeof(num)) == 0)
			fputs(num, out);
		break;
	case JSON_STRING:
		json_print_string(out, v->u.s.p, v->u.s.len);
		break;
	case JSON_OBJECT:
		fputc('{', out);
		for (i = 0; i < v->u.o.n; i++) {
			if (i > 0)
				fputc(',', out);
			newline(out, depth + 1);
			json_print_string(out, v->u.o.m[i].key,
			    strlen(v->u.o.m[i].key));
			fputs(": ", out);
			print_value(out, v->u.o.m[i].val, depth + 1);
		}
		newline(out, depth);
		fputc('}', out);
		break;
	case JSON_ARRAY:
		fputc('[', out);
		for (i = 0; i < v->u.a.n; i++) {
			if (i > 0)
				fputc(',', out);
			newline(out, depth + 1);
			print_value(out, v->u.a.v[i], depth + 1);
		}
		newline(out, depth);
		fputc(']', out);
		break;
	}
}

int
json_print_pretty(FILE *out, const struct json_value *v)
{
	print_value(out, v, 0);
	return ferror(out) ? -1 : 0;
}

void
json_report_key(FILE *out, const char *key, bool first)
{
	fprintf(out, "%s\n    \"%s\": ", first ? "{" : ",", key);
}

void
json_report_uint(FILE *out, const char *key, uint64_t v)
{
	json_report_key(out, key, false);
	fprintf(out, "%" PRIu64, v);
}

void
json_report_bool(FILE *out, const char *key, bool v)
{
	json_report_key(out, key, false);
	fputs(v ? "true" : "false", out);
}

int
json_report_string(FILE *out, const char *s, size_t len)
{
	if (s == NULL)
		return fputs("null", out) == EOF ? -1 : 0;
	return json_print_string(out, s, len);
}
