/*
 * What the subcommands' command lines share: the format names instar
 * knows (-f, -F, and recorded backing formats), qemu's cache modes
 * (-t, -T), --image-opts and --object.
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

/* --image-opts and --object, in every subcommand's getopt table. */
#define IMAGE_OPTS_OPTVAL	0x110
#define OBJECT_OPTVAL		0x111
/* The long options for both, for each subcommand's table. */
#define IMAGE_OPTS_LONGOPTS \
	{ "image-opts", no_argument, NULL, IMAGE_OPTS_OPTVAL }, \
	{ "object", required_argument, NULL, OBJECT_OPTVAL }
#define IMAGE_OPTS_USAGE \
	"  --image-opts      FILENAME is qemu's option string, e.g.\n" \
	"                    driver=qcow2,file.filename=disk.qcow2\n" \
	"  --object OBJDEF   a secret object, checked and unused: instar " \
	"opens no\n" \
	"                    encrypted image\n"
/*
 * The image name as given into the file to open and the format, as
 * qemu-img's img_open() takes it: with --image-opts (image_opts true)
 * the name is qemu's option string ("driver=qcow2,file.filename=a"),
 * as far as instar's images go: qcow2, vmdk or raw over the file
 * protocol; *format_name comes in as -f, which --image-opts excludes,
 * and leaves as the driver or NULL to probe.  Otherwise "file:PATH"
 * names PATH over qemu's file protocol, or "./PATH" where a colon in
 * PATH before any slash would read as another protocol, as qemu names
 * it then.  The errors of its open keep the name as given
 * (opened_as()).  without_io says the image is opened as qemu-img info
 * opens it, with no I/O: qcow2's data-file options are then taken and
 * dropped, as qemu drops them; elsewhere instar refuses them.  -1 after
 * qemu's error.
 */
int		 image_name_apply(bool image_opts, bool without_io,
		    const char **filename, const char **format_name);
/*
 * The probe found fmt for the image image_name_apply() named: -1 after
 * qemu's error if its options hold one that fmt does not take.
 */
int		 image_opts_probed(const char *filename, Instar__Format fmt);
/*
 * The name qemu gives filename in the errors of its open: the spec that
 * --image-opts named it with, or filename itself.
 */
const char	*opened_as(const char *filename);
/*
 * --object ARG: qemu-img takes it for the keys of encrypted images.
 * instar opens no encrypted image, so it checks a secret object's
 * syntax and keeps nothing; any other type is refused.  -1 after the
 * error.
 */
int		 object_option(const char *arg);

#endif /* INSTAR_MONITOR_OPTIONS_H */
