/* Format names and cache modes on the command line: see options.h. */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_name.h"
#include "log.h"
#include "options.h"

int
format_parse(const char *name, Instar__Format *fmt)
{
	if (strcmp(name, "qcow2") == 0)
		*fmt = INSTAR__FORMAT__FORMAT_QCOW2;
	else if (strcmp(name, "vmdk") == 0)
		*fmt = INSTAR__FORMAT__FORMAT_VMDK;
	else if (strcmp(name, "raw") == 0)
		*fmt = INSTAR__FORMAT__FORMAT_RAW;
	else
		return -1;
	return 0;
}

const char *
format_name(Instar__Format fmt)
{
	switch (fmt) {
	case INSTAR__FORMAT__FORMAT_QCOW2:
		return "qcow2";
	case INSTAR__FORMAT__FORMAT_VMDK:
		return "vmdk";
	case INSTAR__FORMAT__FORMAT_RAW:
		return "raw";
	default:
		return "unknown";
	}
}

bool
cache_mode_valid(const char *mode)
{
	static const char *const modes[] = {
		"off", "none", "directsync", "writeback", "unsafe",
		"writethrough",
	};
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(mode, modes[i]) == 0)
			return true;
	return false;
}

bool
format_known_to_qemu(const char *name)
{
	static const char *const known[] = {
		"blkdebug", "blklogwrites", "blkverify", "bochs", "cloop",
		"compress", "copy-before-write", "copy-on-read", "dmg",
		"file", "ftp", "ftps", "gluster", "host_cdrom",
		"host_device", "http", "https", "iscsi", "iser", "luks",
		"nbd", "nfs", "null-aio", "null-co", "nvme", "parallels",
		"preallocate", "qcow", "qed", "quorum", "rbd",
		"replication", "snapshot-access", "ssh", "throttle", "vdi",
		"vhdx", "vpc", "vvfat",
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(name, known[i]) == 0)
			return true;
	return false;
}

int
format_option(const char *filename, const char *name, Instar__Format *fmt)
{
	*fmt = INSTAR__FORMAT__FORMAT_PROBE;
	if (name == NULL || format_parse(name, fmt) == 0)
		return 0;
	if (format_known_to_qemu(name))
		error("Unknown or unsupported format '%s' (instar handles "
		    "qcow2, vmdk and raw)", name);
	else
		error("Could not open '%s': Unknown driver '%s'", filename,
		    name);
	return -1;
}

/* Longer than any key qemu has; values are paths, so PATH_MAX. */
#define OPT_KEY_MAX	64

struct opt_item {
	char	key[OPT_KEY_MAX];
	char	value[PATH_MAX];
};

/*
 * Copy up to stop or a ',' that ends the item: in a value ",," stands
 * for a comma and only a single one ends it.
 */
static const char *
opt_copy(const char *p, char stop, bool in_value, char *out, size_t outlen,
    bool *too_long)
{
	size_t n = 0;

	while (*p != '\0' && *p != stop) {
		if (*p == ',') {
			if (!in_value || p[1] != ',')
				break;
			p++;
		}
		if (n + 1 >= outlen)
			*too_long = true;
		else
			out[n++] = *p;
		p++;
	}
	out[n] = '\0';
	return p;
}

/*
 * The next item of qemu's "key=value,..." (util/qemu-option.c), or
 * NULL at the end.  The first item may be a bare value, for the
 * implied key "file"; a later bare key is qemu's short form of
 * "key=on".
 */
static const char *
opt_next(const char *p, bool first, struct opt_item *it, bool *too_long)
{
	const char *q;

	if (*p == '\0')
		return NULL;
	q = opt_copy(p, '=', false, it->key, sizeof(it->key), too_long);
	if (*q == '=')
		q = opt_copy(q + 1, '\0', true, it->value, sizeof(it->value),
		    too_long);
	else if (first) {
		q = opt_copy(p, '\0', true, it->value, sizeof(it->value),
		    too_long);
		(void)snprintf(it->key, sizeof(it->key), "file");
	} else
		(void)snprintf(it->value, sizeof(it->value), "on");
	return *q == ',' ? q + 1 : q;
}

struct image_spec {
	char	driver[PATH_MAX];	/* "" to probe */
	char	filename[PATH_MAX];
	char	file_ref[PATH_MAX];	/* file=NODE: a node, never a path */
	/*
	 * The first option refused, said once the spec is known to name
	 * an image at all, as qemu opens the image before it finds an
	 * option nothing consumed: refused, or the key that the format
	 * does not take (said with the format's name, known only then).
	 */
	char	refused[PATH_MAX + 128];
	char	format_key[OPT_KEY_MAX];
	/* The first data-file option, which only qcow2 takes. */
	char	data_file_key[OPT_KEY_MAX];
};

static void
spec_refuse(struct image_spec *is, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
spec_refuse(struct image_spec *is, const char *fmt, ...)
{
	va_list ap;

	if (is->refused[0] != '\0' || is->format_key[0] != '\0')
		return;
	va_start(ap, fmt);
	(void)vsnprintf(is->refused, sizeof(is->refused), fmt, ap);
	va_end(ap);
}

/* One key of spec into is; what instar lacks is refused, for later. */
static void
image_spec_key(const struct opt_item *it, struct image_spec *is)
{
	if (strcmp(it->key, "driver") == 0)
		(void)snprintf(is->driver, sizeof(is->driver), "%s", it->value);
	else if (strcmp(it->key, "file.filename") == 0)
		(void)snprintf(is->filename, sizeof(is->filename), "%s",
		    it->value);
	else if (strcmp(it->key, "file") == 0)
		(void)snprintf(is->file_ref, sizeof(is->file_ref), "%s",
		    it->value);
	else if (strcmp(it->key, "file.driver") == 0) {
		if (strcmp(it->value, "file") != 0)
			spec_refuse(is, "instar opens images over the file "
			    "protocol only, not '%s'", it->value);
	} else if (strcmp(it->key, "file.locking") == 0) {
		/* Off would take no locks at all: instar always does. */
		if (strcmp(it->value, "on") != 0 &&
		    strcmp(it->value, "auto") != 0)
			spec_refuse(is, "instar always locks its images "
			    "(file.locking=%s)", it->value);
	} else if (strcmp(it->key, "data-file") == 0 ||
	    strncmp(it->key, "data-file.", 10) == 0) {
		if (is->data_file_key[0] == '\0')
			(void)snprintf(is->data_file_key,
			    sizeof(is->data_file_key), "%s", it->key);
	} else if (strncmp(it->key, "encrypt.", 8) == 0)
		spec_refuse(is, "instar opens no encrypted images (%s)",
		    it->key);
	else if (strncmp(it->key, "file.", 5) == 0)
		spec_refuse(is, "Block protocol 'file' doesn't support the "
		    "option '%s'", it->key + 5);
	else if (is->refused[0] == '\0' && is->format_key[0] == '\0')
		(void)snprintf(is->format_key, sizeof(is->format_key), "%s",
		    it->key);
}

static int
image_spec_parse(const char *spec, struct image_spec *is)
{
	struct opt_item it;
	const char *p = spec;
	bool first = true, too_long = false;

	memset(is, 0, sizeof(*is));
	while ((p = opt_next(p, first, &it, &too_long)) != NULL) {
		first = false;
		if (too_long) {
			error("Could not open '%s': an option is too long",
			    spec);
			return -1;
		}
		image_spec_key(&it, is);
	}
	return 0;
}

/* The one image named with --image-opts or file:, and its file. */
static const char *applied_spec, *applied_filename;

const char *
opened_as(const char *filename)
{
	if (applied_spec != NULL && strcmp(filename, applied_filename) == 0)
		return applied_spec;
	return filename;
}

static void
file_protocol_apply(const char **filename)
{
	const char *path = *filename, *colon, *slash;
	char *name;
	size_t len;

	if (strncmp(path, "file:", 5) != 0)
		return;
	path += 5;
	colon = strchr(path, ':');
	slash = strchr(path, '/');
	len = strlen(path) + 3;
	if ((name = malloc(len)) == NULL)
		fatal("out of memory");
	(void)snprintf(name, len, "%s%s", colon != NULL &&
	    (slash == NULL || colon < slash) ? "./" : "", path);
	applied_spec = *filename;
	applied_filename = name;
	*filename = name;
}

/* Whether the image is opened as qemu-img info opens it (BDRV_O_NO_IO). */
static bool opening_without_io;
/* A data-file option waiting for the probe to say whether it is qcow2's. */
static const char *pending_data_file_key;

/*
 * qcow2's data-file options.  Opened without I/O, as qemu-img info
 * opens an image, qemu 7.2 drops them unused (so that info never opens a
 * file an untrusted image could name), and so does instar.  Otherwise
 * qemu would open the data file they name; instar opens no data file.
 */
static int
data_file_options(const char *spec, struct image_spec *is,
    const char *format_name)
{
	if (is->data_file_key[0] == '\0')
		return 0;
	if (format_name != NULL && strcmp(format_name, "qcow2") != 0) {
		error("Could not open '%s': Block format '%s' does not "
		    "support the option '%s'", spec, format_name,
		    is->data_file_key);
		return -1;
	}
	if (!opening_without_io) {
		error("Could not open '%s': instar opens no external data "
		    "file (option '%s')", spec, is->data_file_key);
		return -1;
	}
	if (format_name == NULL)
		pending_data_file_key = is->data_file_key;
	return 0;
}

int
image_opts_probed(const char *filename, Instar__Format fmt)
{
	if (pending_data_file_key == NULL || fmt == INSTAR__FORMAT__FORMAT_QCOW2)
		return 0;
	error("Could not open '%s': Block format '%s' does not support the "
	    "option '%s'", opened_as(filename), format_name(fmt),
	    pending_data_file_key);
	return -1;
}

/*
 * What the spec's options name, checked as qemu's open checks them:
 * the file and, unless -f named one, the format.
 */
static int
image_spec_finish(const char *spec, struct image_spec *is,
    const char **filename, const char **format_name)
{
	Instar__Format fmt;

	if (*format_name == NULL && is->driver[0] != '\0' &&
	    format_option(spec, is->driver, &fmt) != 0)
		return -1;
	if (is->file_ref[0] != '\0' && is->filename[0] == '\0') {
		error("Could not open '%s': Cannot find device='%s' nor "
		    "node-name='%s'", spec, is->file_ref, is->file_ref);
		return -1;
	}
	if (is->filename[0] == '\0') {
		if (is->driver[0] == '\0' && *format_name == NULL)
			error("Could not open '%s': Must specify either "
			    "driver or file", spec);
		else
			error("Could not open '%s': A block device must be "
			    "specified for \"file\"", spec);
		return -1;
	}
	if (*format_name == NULL && is->driver[0] != '\0')
		*format_name = is->driver;
	if (is->refused[0] != '\0') {
		error("Could not open '%s': %s", spec, is->refused);
		return -1;
	}
	if (is->format_key[0] != '\0') {
		error("Could not open '%s': Block format '%s' does not "
		    "support the option '%s'", spec, *format_name != NULL ?
		    *format_name : "(probed)", is->format_key);
		return -1;
	}
	if (data_file_options(spec, is, *format_name) != 0)
		return -1;
	*filename = is->filename;
	applied_spec = spec;
	applied_filename = *filename;
	return 0;
}

static int
image_opts_apply(const char *spec, const char **filename,
    const char **format_name)
{
	/* Static: the names handed out live as long as the command. */
	static struct image_spec is;

	/* img_open()'s order: -f first, then the options, then the open. */
	if (*format_name != NULL) {
		error("--image-opts and --format are mutually exclusive");
		return -1;
	}
	if (image_spec_parse(spec, &is) != 0)
		return -1;
	return image_spec_finish(spec, &is, filename, format_name);
}

struct json_spec {
	const char		*spec;
	struct image_spec	*is;
};

static int
json_spec_key(void *arg, const char *key, const char *value)
{
	struct json_spec *js = arg;
	struct opt_item it;

	if ((size_t)snprintf(it.key, sizeof(it.key), "%s", key) >=
	    sizeof(it.key) || (size_t)snprintf(it.value, sizeof(it.value),
	    "%s", value) >= sizeof(it.value)) {
		error("Could not open '%s': an option is too long", js->spec);
		return -1;
	}
	image_spec_key(&it, js->is);
	return 0;
}

/*
 * A "json:{...}" name: the same options as --image-opts takes, as a
 * JSON object.  A format given with -f wins over the object's driver,
 * as qemu's bdrv_fill_options() lets the explicit options win.
 */
static int
json_apply(const char **filename, const char **format_name)
{
	static struct image_spec is;
	struct json_spec js = { *filename, &is };
	char why[256];
	bool parse_error;
	int r;

	memset(&is, 0, sizeof(is));
	r = json_name_parse(*filename, json_spec_key, &js, why, sizeof(why),
	    &parse_error);
	if (r > 0)
		return -1;
	if (r < 0) {
		error("Could not open '%s': %s%s", *filename, parse_error ?
		    "Could not parse the JSON options: " : "", why);
		return -1;
	}
	return image_spec_finish(*filename, &is, filename, format_name);
}

/* The user-creatable qom-types of qemu-img 7.2 that need no machine. */
static bool
object_type_known(const char *type)
{
	static const char *const known[] = {
		"authz-list", "authz-listfile", "authz-pam", "authz-simple",
		"secret", "secret_keyring", "throttle-group",
		"tls-cipher-suites", "tls-creds-anon", "tls-creds-psk",
		"tls-creds-x509",
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(type, known[i]) == 0)
			return true;
	return false;
}

int
object_option(const char *arg)
{
	struct opt_item it;
	const char *p = arg;
	char type[PATH_MAX] = "";
	bool first = true, too_long = false, id = false, data = false;

	while ((p = opt_next(p, first, &it, &too_long)) != NULL) {
		if (too_long) {
			error("--object: an option is too long");
			return -1;
		}
		/* The first item is the type: "secret,..." or qom-type=. */
		if ((first && strcmp(it.key, "file") == 0) ||
		    strcmp(it.key, "qom-type") == 0)
			(void)snprintf(type, sizeof(type), "%s", it.value);
		else if (strcmp(it.key, "id") == 0)
			id = it.value[0] != '\0';
		else if (strcmp(it.key, "data") == 0 ||
		    strcmp(it.key, "file") == 0)
			data = true;
		first = false;
	}
	if (type[0] == '\0') {
		error("Parameter 'qom-type' is missing");
		return -1;
	}
	if (!object_type_known(type)) {
		error("Parameter 'qom-type' does not accept value '%s'", type);
		return -1;
	}
	if (strcmp(type, "secret") != 0) {
		error("--object %s: instar takes only secret objects",
		    type);
		return -1;
	}
	if (!id) {
		error("Parameter 'id' is missing");
		return -1;
	}
	if (!data) {
		error("Either 'file' or 'data' must be provided");
		return -1;
	}
	return 0;
}

int
image_name_apply(bool image_opts, bool without_io, const char **filename,
    const char **format_name)
{
	opening_without_io = without_io;
	if (image_opts)
		return image_opts_apply(*filename, filename, format_name);
	if (json_name_is(*filename))
		return json_apply(filename, format_name);
	file_protocol_apply(filename);
	return 0;
}
