/*
 * Hosted helpers for the format tests: synthetic qcow2 and VMDK images
 * built in memory, knobs to break them, and a struct fmt_io over them.
 */
#ifndef INSTAR_IMAGE_BUILDER_H
#define INSTAR_IMAGE_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"

/* An image in memory.  Reads past size return zeros, as fmt_io demands. */
struct mem_img {
	uint8_t	*buf;
	size_t	 size;
	bool	 fail_reads;	/* every read reports an I/O error */
};

void	mem_img_alloc(struct mem_img *, size_t);
void	mem_img_free(struct mem_img *);
void	mem_img_resize(struct mem_img *, size_t);
void	mem_img_io(struct mem_img *, struct fmt_io *);

void	put_be16(struct mem_img *, size_t, uint16_t);
void	put_be32(struct mem_img *, size_t, uint32_t);
void	put_be64(struct mem_img *, size_t, uint64_t);
void	put_le16(struct mem_img *, size_t, uint16_t);
void	put_le32(struct mem_img *, size_t, uint32_t);
void	put_le64(struct mem_img *, size_t, uint64_t);
void	put_bytes(struct mem_img *, size_t, const void *, size_t);

/* A raw header extension to add after the standard ones. */
struct qcow2_ext {
	uint32_t	 magic;
	uint32_t	 len;
	const void	*data;
};

struct qcow2_feature {
	uint8_t		 type;
	uint8_t		 bit;
	const char	*name;
};

struct qcow2_opts {
	uint32_t	 version;		/* 2 or 3 */
	uint32_t	 cluster_bits;
	uint64_t	 size;
	uint32_t	 refcount_order;	/* v3 only */
	uint64_t	 incompat;
	uint64_t	 compat;
	uint64_t	 autoclear;
	uint32_t	 header_length;		/* 0: 72 for v2, 112 for v3 */
	uint8_t		 compression_type;
	uint32_t	 crypt_method;
	const char	*backing;		/* NULL: no backing file */
	const char	*backing_fmt;		/* NULL: no extension */
	const char	*data_file;		/* NULL: no extension */
	const struct qcow2_feature *features;	/* NULL: no table */
	size_t		 nfeatures;
	const struct qcow2_ext *exts;
	size_t		 nexts;
};

/* qemu-img's defaults: v3, 64 KiB clusters, 16-bit refcounts. */
void	qcow2_default_opts(struct qcow2_opts *, uint64_t size);

/*
 * Header at 0, refcount table in cluster 1, refcount block in cluster 2,
 * L1 table from cluster 3; four clusters long (or more for a big L1).
 * Field offsets are those of the spec, for tests to overwrite.
 */
void	build_qcow2(struct mem_img *, const struct qcow2_opts *);

/* Where build_qcow2() put the backing file name (0: none). */
size_t	qcow2_backing_offset(const struct mem_img *);

/*
 * One internal snapshot table entry.  extra is extra_data_size; the
 * first min(extra, 24) bytes of extra data are vm_state_size_large,
 * disk_size and icount, any more are zeros.  id and name are written
 * with their given lengths (they may hold NULs).
 */
struct qcow2_snap {
	uint32_t	 extra;
	uint32_t	 vm_state_size;		/* the 32-bit header field */
	uint64_t	 vm_state_size_large;
	uint32_t	 date_sec;
	uint32_t	 date_nsec;
	uint64_t	 vm_clock_nsec;
	uint64_t	 icount;
	const char	*id;
	size_t		 id_len;
	const char	*name;
	size_t		 name_len;
};

/*
 * Write n entries as qemu lays them out (each 8-byte aligned) from off,
 * growing the image to hold them, and point the header's snapshot
 * count and offset at them.  Returns the table's length.
 */
size_t	qcow2_put_snapshots(struct mem_img *, size_t off,
	    const struct qcow2_snap *, size_t n);

struct vmdk_opts {
	uint32_t	 version;
	uint32_t	 flags;
	uint64_t	 capacity;		/* sectors */
	uint64_t	 granularity;		/* sectors */
	uint32_t	 num_gtes;
	uint16_t	 compress;
	bool		 gd_at_end;		/* stream-optimized footer */
	uint32_t	 cid;
	uint32_t	 parent_cid;
	const char	*create_type;
	const char	*parent;		/* NULL: no parentFileNameHint */
	const char	*descriptor;		/* non-NULL: use this text */
	size_t		 descriptor_len;	/* 0: strlen(descriptor) */
};

void	vmdk_default_opts(struct vmdk_opts *, uint64_t capacity);

/*
 * Header in sector 0, a 20-sector descriptor from sector 1, then the
 * redundant and primary grain directories and tables; grains follow.
 */
void	build_vmdk(struct mem_img *, const struct vmdk_opts *);

/* A descriptor-only (text) VMDK. */
void	build_text(struct mem_img *, const char *);

#endif
