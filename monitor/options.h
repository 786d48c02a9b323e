/*
 * What the subcommands' command lines share: the format names instar
 * knows (-f, -F, and recorded backing formats) and qemu's cache modes
 * (-t, -T).
 */
#ifndef INSTAR_MONITOR_OPTIONS_H
#define INSTAR_MONITOR_OPTIONS_H

#include <stdbool.h>

#include "instar.pb-c.h"

/* qcow2, vmdk or raw into *fmt; -1 for any other name. */
int		 format_parse(const char *, Instar__Format *);
/* The name of fmt; "unknown" for PROBE. */
const char	*format_name(Instar__Format);
/* The block drivers qemu-img 7.2 knows ("Supported formats:"). */
bool		 format_known_to_qemu(const char *);
/*
 * -f NAME for the image filename: *fmt is its format, or PROBE without
 * -f.  A name qemu does not know either is qemu's "Unknown driver"
 * error; one only qemu knows says which formats instar handles.
 */
int		 format_option(const char *filename, const char *name,
		    Instar__Format *fmt);
/* block.c bdrv_parse_cache_mode(): the names qemu-img accepts. */
bool		 cache_mode_valid(const char *);

#endif /* INSTAR_MONITOR_OPTIONS_H */
