/*
 * The limits a writing job's guest run gets: how far each writable image
 * may grow (the vmm's per-device write limit) and, over them all, the
 * worker's file size limit, which the kernel enforces even should the
 * vmm's checks be wrong.  Both come from the validated infos of the
 * images, remembered by file identity as each was inspected: the images
 * attached later are the same files, sent again.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <string.h>

#include "sandbox.h"
#include "worker.h"
#include "write_limit.h"

static struct known_image *
find_known(struct worker *w, dev_t dev, ino_t ino)
{
	size_t i;

	for (i = 0; i < w->nknown; i++)
		if (w->known[i].dev == dev && w->known[i].ino == ino)
			return &w->known[i];
	return NULL;
}

void
worker_remember(struct worker *w, const struct stat *st,
    const struct instar_image_info *in)
{
	struct known_image *k;

	if ((k = find_known(w, st->st_dev, st->st_ino)) == NULL) {
		/* Oldest first out; a job names far fewer images. */
		if (w->nknown == WORKER_KNOWN_MAX) {
			memmove(&w->known[0], &w->known[1],
			    sizeof(w->known[0]) * (WORKER_KNOWN_MAX - 1));
			w->nknown--;
		}
		k = &w->known[w->nknown++];
	}
	memset(k, 0, sizeof(*k));
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	k->geom.format = in->format;
	k->geom.virtual_size = in->virtual_size;
	if (in->flags & IMG_HAS_CLUSTER_SIZE)
		k->geom.cluster_size = in->cluster_size;
	k->geom.refcount_bits = in->refcount_bits;
	k->geom.extended_l2 = (in->flags & IMG_EXTENDED_L2) != 0;
}

static const struct image_geometry *
device_geometry(struct worker *w, uint32_t i, char *err, size_t errlen)
{
	const struct known_image *k;

	k = find_known(w, w->dev_ids[i].dev, w->dev_ids[i].ino);
	if (k == NULL || k->geom.format != w->dev_formats[i]) {
		snprintf(err, errlen, "image %u was attached without being "
		    "opened first", i);
		return NULL;
	}
	return &k->geom;
}

int
worker_limit_writes(struct worker *w, int grow_dev, uint32_t ndata,
    bool rebuild, bool last_run, char *err, size_t errlen)
{
	const struct image_geometry *g;
	uint64_t data = 0, limit, fsize = 0;
	uint32_t i;

	/* The data comes from the top ndata images, read through the top. */
	for (i = 0; i < ndata && i < w->ndevs; i++) {
		if ((g = device_geometry(w, i, err, errlen)) == NULL)
			return -1;
		if (g->virtual_size > data)
			data = g->virtual_size;
	}
	for (i = 0; i < w->ndevs; i++) {
		if (!w->devs[i].writable)
			continue;
		if ((g = device_geometry(w, i, err, errlen)) == NULL)
			return -1;
		/* Only the image the job fills may take data or grow. */
		if (rebuild)
			limit = write_limit_addressable(g, w->devs[i].size);
		else if ((int)i == grow_dev)
			limit = write_limit_image(g, w->devs[i].size, data,
			    data);
		else
			limit = write_limit_image(g, w->devs[i].size, 0, 0);
		w->devs[i].write_limit = limit;
		if (limit > fsize)
			fsize = limit;
	}
	/* Never above what the user allowed the monitor. */
	if (fsize > w->fsize_cap)
		fsize = w->fsize_cap;
	return sandbox_limit_fsize(fsize, last_run, err, errlen);
}
