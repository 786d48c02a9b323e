/*
 * "qemu-img info" output, human and JSON, byte-identical to qemu-img 7.2.
 */
#ifndef INSTAR_MONITOR_INFO_PRINT_H
#define INSTAR_MONITOR_INFO_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "instar.pb-c.h"

struct info_entry {
	/*
	 * As qemu would name the image: the user's argument for the top,
	 * the previous entry's full backing filename below it.
	 */
	const char		*filename;
	const Instar__ImageInfo	*info;
	int64_t			 actual_size;	/* st_blocks * 512, or -1 */
	const char		*full_backing_filename;	/* NULL if none */
};

/*
 * Print n entries as qemu-img info does; n > 1 separates images with a
 * blank line as "--backing-chain" does.  Return 0, or -1 on allocation
 * failure, bad input (errno EINVAL) or write error.
 */
int	info_print_human(FILE *, const struct info_entry *, size_t);
/* chain: print a JSON array even when n == 1, as --backing-chain does. */
int	info_print_json(FILE *, const struct info_entry *, size_t, bool);

#endif /* INSTAR_MONITOR_INFO_PRINT_H */
