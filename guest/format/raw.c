/*
 * raw: the image is the disk.  Nothing to parse, nothing to trust.
 */
#include "format.h"

int
raw_info(const struct fmt_io *io, struct instar_image_info *info,
    struct fmt_err *err)
{
	memset(info, 0, sizeof(*info));
	/* qemu counts whole sectors, so a ragged tail rounds up. */
	if (io->size > UINT64_MAX - 511) {
		fmt_seterr(err, "Image is too big");
		return -1;
	}
	info->format = INSTAR_FMT_RAW;
	info->virtual_size = (io->size + 511) & ~(uint64_t)511;
	return 0;
}
