/*
 * A small JSON value builder whose output is byte-identical to qemu's.
 *
 * qemu-img builds its JSON from a QDict, a hash table of 512 buckets
 * that is iterated bucket by bucket, newest entry first within a
 * bucket.  The order of keys in its output therefore depends on the
 * keys' hashes and on the order they were inserted.  json_object_put()
 * keeps members in exactly that iteration order, so callers insert keys
 * in the order qemu's QAPI visitor does (schema field order) and get
 * qemu's key order for free, without any per-case key lists.
 */
#ifndef INSTAR_MONITOR_JSON_H
#define INSTAR_MONITOR_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum json_type {
	JSON_BOOL,
	JSON_INT,
	JSON_UINT,
	JSON_STRING,
	JSON_OBJECT,
	JSON_ARRAY,
};

struct json_value;

/* Constructors return NULL on allocation failure. */
struct json_value	*json_bool_new(bool);
struct json_value	*json_int_new(int64_t);
struct json_value	*json_uint_new(uint64_t);
/* Copies len bytes; the string ends early at a NUL, as a C string would. */
struct json_value	*json_string_new(const char *, size_t);
struct json_value	*json_cstring_new(const char *);
struct json_value	*json_object_new(void);
struct json_value	*json_array_new(void);
void			 json_free(struct json_value *);

/*
 * Both take ownership of val, also on failure (val is then freed), so
 * that calls can be chained without leaking: put(o, k, json_x_new(..))
 * fails cleanly when the constructor returned NULL.  Return 0 or -1.
 * An existing key has its value replaced in place, as qdict_put_obj().
 */
int	json_object_put(struct json_value *, const char *, struct json_value *);
int	json_array_append(struct json_value *, struct json_value *);

/* Accessors, for renderers other than the JSON printer. */
enum json_type		 json_type(const struct json_value *);
bool			 json_get_bool(const struct json_value *);
const char		*json_get_string(const struct json_value *);
size_t			 json_length(const struct json_value *);
/* i-th member in qemu's iteration order (objects) or i-th element. */
const char		*json_object_key(const struct json_value *, size_t);
const struct json_value	*json_object_value(const struct json_value *, size_t);
const struct json_value	*json_array_get(const struct json_value *, size_t);
/* A number as qnum_to_string() formats it; buf needs 21 bytes. */
int			 json_number_str(const struct json_value *, char *,
			    size_t);

/* The bucket qemu's QDict puts key in (exposed for tests). */
unsigned int		 json_qdict_bucket(const char *);

/*
 * Write v as qobject_to_json_pretty() does, without a trailing newline.
 * Returns 0, or -1 on a write error.
 */
int	json_print_pretty(FILE *, const struct json_value *);
/* Write a quoted string escaped as qemu's JSON writer does. */
int	json_print_string(FILE *, const char *, size_t);

/*
 * instar's own flat reports (rebase, commit): one member per line in the
 * caller's order, laid out as qemu's pretty printer lays out an object.
 * json_report_key() starts the object when first is set; the caller
 * ends it with "\n}\n".  json_report_string() prints null for NULL;
 * json_report_uint() and json_report_bool() print a whole member that is
 * not the first.
 */
void	json_report_key(FILE *, const char *key, bool first);
void	json_report_uint(FILE *, const char *key, uint64_t);
void	json_report_bool(FILE *, const char *key, bool);
int	json_report_string(FILE *, const char *, size_t);

#endif /* INSTAR_MONITOR_JSON_H */
