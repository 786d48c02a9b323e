/*
 * block.c path_combine() and bdrv_make_absolute_filename() for POSIX
 * hosts.  qemu never normalises these names, so "sub/../b.qcow2" and
 * "./x" come out exactly as composed; matching its output means
 * matching that too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"

int
path_has_protocol(const char *path)
{
	return path[strcspn(path, ":/")] == ':';
}

static int
path_is_absolute(const char *path)
{
	return path[0] == '/';
}

/*
 * Length of the directory part of base, including its trailing '/':
 * path_combine() keeps everything up to the last '/', or up to just
 * past the protocol's ':' if that comes later, or nothing.
 */
static size_t
dir_prefix_len(const char *base)
{
	const char *p = base, *p1;

	if (path_has_protocol(base)) {
		if ((p1 = strchr(base, ':')) != NULL)
			p = p1 + 1;
	}
	if ((p1 = strrchr(base, '/')) != NULL)
		p1++;
	else
		p1 = base;
	if (p1 > p)
		p = p1;
	return (size_t)(p - base);
}

char *
path_backing_full(const char *image_filename, const char *backing_name)
{
	size_t dlen, blen;
	char *r;

	if (path_has_protocol(backing_name) || path_is_absolute(backing_name))
		return strdup(backing_name);
	dlen = dir_prefix_len(image_filename);
	blen = strlen(backing_name);
	if (dlen > SIZE_MAX - blen - 1)
		return NULL;
	if ((r = malloc(dlen + blen + 1)) == NULL)
		return NULL;
	memcpy(r, image_filename, dlen);
	memcpy(r + dlen, backing_name, blen + 1);
	return r;
}
