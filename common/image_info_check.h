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

/*
 * NULL if the error text is a non-empty NUL-terminated string; control
 * characters in it are replaced by '?'.
 */
const char *image_info_sanitize_error(char *msg, size_t size);

#endif
