/*
 * The worker's check of what the guest reported, before any of it
 * reaches the monitor.  The guest has parsed a hostile image and may
 * have been subverted by it, so its record is validated like input.
 */
#ifndef INSTAR_IMAGE_INFO_CHECK_H
#define INSTAR_IMAGE_INFO_CHECK_H

#include <stddef.h>

#include "image_info.h"

/* NULL if the record is well-formed, else what is wrong with it. */
const char *image_info_validate(const struct instar_image_info *);

/* One snapshot of a packed list, pointing into the list. */
struct instar_snapshot {
	struct instar_snapshot_hdr	 hdr;
	const uint8_t			*id;	/* hdr.id_len bytes */
	const uint8_t			*name;	/* hdr.name_len bytes */
};

/*
 * Decode the entry at *pos of the len-byte packed list and step past
 * it.  Returns 0, or -1 if the entry does not lie within the list.
 * Only lengths are checked here; see image_info_validate_result().
 */
int image_info_snapshot_next(const uint8_t *list, size_t len, size_t *pos,
    struct instar_snapshot *);

/* One bitmap of a packed list, pointing into the list. */
struct instar_bitmap {
	struct instar_bitmap_hdr	 hdr;
	const uint8_t			*name;	/* hdr.name_len bytes */
};

/* As image_info_snapshot_next(), for the bitmap list. */
int image_info_bitmap_next(const uint8_t *list, size_t len, size_t *pos,
    struct instar_bitmap *);

/*
 * NULL if a successful result of got bytes (as the vmm received it) is
 * well-formed: the record passes image_info_validate(), the snapshot and
 * bitmap lists fill exactly the bytes sent with nsnapshots and nbitmaps
 * entries, each within qemu's limits and free of NUL bytes, snapshots
 * only for qcow2 and bitmaps only for qcow2 v3.
 */
const char *image_info_validate_result(const struct instar_info_result *,
    size_t got);

/*
 * NULL if the error text is a non-empty NUL-terminated string (the hint
 * may be empty); control characters in it are replaced by '?'.
 */
const char *image_info_sanitize_error(char *msg, size_t size);
const char *image_info_sanitize_hint(char *hint, size_t size);

#endif
