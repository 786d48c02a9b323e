/*
 * Backing file names resolved the way qemu resolves them.
 */
#ifndef INSTAR_MONITOR_PATH_H
#define INSTAR_MONITOR_PATH_H

/*
 * qemu's bdrv_get_full_backing_filename() for an image opened as
 * image_filename: an absolute name or one with a protocol prefix is
 * returned as-is, anything else is taken relative to the directory part
 * of image_filename exactly as block.c path_combine() computes it (no
 * normalisation, no realpath).  Returns a malloc'd string, or NULL on
 * allocation failure.
 */
char	*path_backing_full(const char *image_filename, const char *backing_name);

/* block.c path_has_protocol(): a ':' before any '/'. */
int	 path_has_protocol(const char *path);

#endif /* INSTAR_MONITOR_PATH_H */
