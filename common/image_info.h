/*
 * What the guest reports about one image for "info".
 *
 * A flat, fixed-size record so the guest needs no encoder: the worker
 * copies it out of guest memory, checks every field with
 * image_info_validate() and only then turns it into a protobuf message.
 * Strings are NUL-terminated within their arrays; a record that breaks
 * that is rejected, never truncated.
 */
#ifndef INSTAR_IMAGE_INFO_H
#define INSTAR_IMAGE_INFO_H

#include <stdint.h>

#define INSTAR_NAME_MAX		1024	/* qemu's limit: 1023 bytes + NUL */
#define INSTAR_FMTNAME_MAX	32
#define INSTAR_CREATE_TYPE_MAX	64
#define INSTAR_ERROR_MAX	256

/* flags */
#define IMG_HAS_CLUSTER_SIZE	(1u << 0)
#define IMG_HAS_BACKING		(1u << 1)
#define IMG_HAS_BACKING_FMT	(1u << 2)
#define IMG_DIRTY		(1u << 3)
#define IMG_CORRUPT		(1u << 4)
#define IMG_LAZY_REFCOUNTS	(1u << 5)
#define IMG_EXTENDED_L2		(1u << 6)
#define IMG_ENCRYPTED		(1u << 7)
#define IMG_HAS_DATA_FILE	(1u << 8)
#define IMG_DATA_FILE_RAW	(1u << 9)
#define IMG_VMDK_COMPRESSED	(1u << 10)
#define IMG_FLAGS_ALL		((1u << 11) - 1)

#define IMG_COMPRESSION_ZLIB	0
#define IMG_COMPRESSION_ZSTD	1

struct instar_image_info {
	uint32_t format;		/* enum instar_fmt, never PROBE */
	uint32_t flags;			/* IMG_* */
	uint64_t virtual_size;		/* bytes */
	uint64_t cluster_size;		/* bytes, if IMG_HAS_CLUSTER_SIZE */
	/* qcow2 */
	uint32_t qcow2_version;		/* 2 or 3 */
	uint32_t refcount_bits;		/* 1..64, power of two */
	uint32_t compression_type;	/* IMG_COMPRESSION_* */
	/* vmdk */
	uint32_t vmdk_cid;
	uint32_t vmdk_parent_cid;
	uint32_t pad;
	char create_type[INSTAR_CREATE_TYPE_MAX];
	char backing_name[INSTAR_NAME_MAX];
	char backing_format[INSTAR_FMTNAME_MAX];
	char data_file[INSTAR_NAME_MAX];
};

/*
 * What the guest returns: either an info record or an error text.
 * status 0 means info is valid; otherwise error holds the reason.
 */
struct instar_info_result {
	int32_t status;
	uint32_t pad;
	char error[INSTAR_ERROR_MAX];
	struct instar_image_info info;
};

#endif
