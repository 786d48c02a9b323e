/*
 * qemu's "json:" image names: "json:{...}" given for an image on the
 * command line, the options of --image-opts written as a JSON object.
 * The object is flattened as qemu's qdict_flatten() flattens it, so
 * {"file": {"filename": "x"}} gives the key "file.filename", and each
 * key and its value (a string's contents, or the literal text of a
 * number, true, false or null) is handed to a callback.  qemu's dialect
 * is taken: strings may be single-quoted too.
 *
 * Only the command line is parsed here: names read from an image are
 * never given to this parser, as the monitor parses no image bytes.
 */
#ifndef INSTAR_JSON_NAME_H
#define INSTAR_JSON_NAME_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_NAME_KEY_MAX	256
#define JSON_NAME_VALUE_MAX	4096
#define JSON_NAME_DEPTH_MAX	32

/* A key and its value; nonzero stops the parse. */
typedef int (*json_name_fn)(void *arg, const char *key, const char *value);

/* Whether name is a "json:" name. */
bool	json_name_is(const char *name);

/*
 * Parse the object after "json:" in name.  Returns 0; 1 when the
 * callback stopped it; or -1 with the reason in why, in qemu's words:
 * what follows "Could not parse the JSON options: " when *parse_error,
 * or a reason that stands alone ("Invalid JSON object given").
 */
int	json_name_parse(const char *name, json_name_fn fn, void *arg,
	    char *why, size_t whylen, bool *parse_error);

#endif
