/*
 * How large a writing job may let each image it writes grow: a sound,
 * generous and finite bound derived from the image's own geometry, which
 * the vmm enforces per device and the kernel (RLIMIT_FSIZE) per process.
 */
#ifndef INSTAR_WRITE_LIMIT_H
#define INSTAR_WRITE_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* What a validated info says about an image's layout. */
struct image_geometry {
	uint32_t format;		/* enum instar_fmt */
	uint64_t virtual_size;
	uint64_t cluster_size;		/* qcow2 cluster, VMDK grain; 0 raw */
	uint32_t refcount_bits;		/* qcow2 */
	bool extended_l2;		/* qcow2 */
};

/*
 * The largest file size an image of geometry g, now file_size bytes
 * long, can reach when a job writes up to data bytes of guest data into
 * it and its virtual size becomes at most virtual_size (never less than
 * its own).  Saturates at INT64_MAX.
 */
uint64_t write_limit_image(const struct image_geometry *g, uint64_t file_size,
    uint64_t data, uint64_t virtual_size);

/*
 * The largest file size the metadata of an image of geometry g can
 * name, now file_size bytes long: what check -r all may grow it to
 * (qemu grows a file to hold a refcount block its table places past
 * the end, and rebuilds refcounts after every cluster referenced).
 */
uint64_t write_limit_addressable(const struct image_geometry *g,
    uint64_t file_size);

#endif
