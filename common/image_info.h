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

#include <stddef.h>
#include <stdint.h>

#define INSTAR_NAME_MAX		1024	/* qemu's limit: 1023 bytes + NUL */
#define INSTAR_FMTNAME_MAX	32
#define INSTAR_CREATE_TYPE_MAX	64
#define INSTAR_ERROR_MAX	256
/* A second line after an error, telling the user what may be done. */
#define INSTAR_HINT_MAX		128

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
/* qcow2's external data file bit, named or not (IMG_HAS_DATA_FILE). */
#define IMG_EXTERNAL_DATA	(1u << 11)
#define IMG_FLAGS_ALL		((1u << 12) - 1)

#define IMG_COMPRESSION_ZLIB	0
#define IMG_COMPRESSION_ZSTD	1

/*
 * What "qemu-img info" shows of a qcow2 image's encryption (its
 * "encrypt" block): nothing, the legacy AES format's name, or the LUKS
 * header that qemu reads even without a key.
 */
#define IMG_ENCRYPT_NONE	0
#define IMG_ENCRYPT_AES		1
#define IMG_ENCRYPT_LUKS	2

#define INSTAR_LUKS_SLOTS	8
#define INSTAR_LUKS_SECTOR	512u	/* the header's offsets count these */
#define INSTAR_CRYPTO_NAME_MAX	16	/* "twofish-256" and the like */
#define INSTAR_LUKS_UUID_MAX	41	/* the header's 40 bytes + NUL */

struct instar_luks_slot {
	uint32_t active;		/* 0 or 1 */
	uint32_t iters;			/* if active, else 0 */
	uint32_t stripes;		/* if active, else 0 */
	uint32_t key_offset_sector;	/* INSTAR_LUKS_SECTOR units */
};

/*
 * The names are qemu's QAPI enumeration strings, which the guest picks
 * from fixed tables after parsing the header's own; the uuid is the
 * header's bytes up to the first NUL, as qemu copies them.
 */
struct instar_luks_info {
	char cipher_alg[INSTAR_CRYPTO_NAME_MAX];
	char cipher_mode[INSTAR_CRYPTO_NAME_MAX];
	char ivgen_alg[INSTAR_CRYPTO_NAME_MAX];
	char ivgen_hash_alg[INSTAR_CRYPTO_NAME_MAX];	/* "" unless essiv */
	char hash_alg[INSTAR_CRYPTO_NAME_MAX];
	char uuid[48];			/* NUL within INSTAR_LUKS_UUID_MAX */
	uint32_t payload_offset_sector;
	uint32_t master_key_iters;
	struct instar_luks_slot slots[INSTAR_LUKS_SLOTS];
};

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
	uint32_t encrypt_format;	/* IMG_ENCRYPT_*, qcow2 only */
	char create_type[INSTAR_CREATE_TYPE_MAX];
	char backing_name[INSTAR_NAME_MAX];
	char backing_format[INSTAR_FMTNAME_MAX];
	char data_file[INSTAR_NAME_MAX];
	struct instar_luks_info luks;	/* if IMG_ENCRYPT_LUKS, else zero */
};

/*
 * A qcow2 internal snapshot as "qemu-img info" lists it.  The list is
 * variable-length, so it travels after the fixed record as packed
 * entries: this header (copied with memcpy, never dereferenced in place,
 * as entries are not aligned), then id_len bytes of id and name_len
 * bytes of name, without terminators.  qemu copies both into
 * QEMUSnapshotInfo's id_str[128] and name[256], stopping at a NUL, so
 * neither is longer than that or contains a NUL byte; otherwise any
 * bytes are allowed.
 */
#define INSTAR_SNAP_ID_MAX	127
#define INSTAR_SNAP_NAME_MAX	255
#define INSTAR_SNAP_ICOUNT_NONE	UINT64_MAX	/* no icount recorded */

struct instar_snapshot_hdr {
	uint64_t vm_state_size;		/* bytes */
	uint32_t date_sec;
	uint32_t date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t icount;		/* or INSTAR_SNAP_ICOUNT_NONE */
	uint16_t id_len;
	uint16_t name_len;
	uint32_t reserved;		/* zero */
};

/*
 * Room for the packed list.  It bounds the reply frame too: an entry's
 * protobuf form is at most 15 bytes longer than its packed form of at
 * least 40, so 128 KiB of entries encode in under 176 KiB, well inside
 * INSTAR_FRAME_MAX with the rest of the record.  A longer list is an
 * error, never a truncated one.
 */
#define INSTAR_SNAP_AREA_MAX	(128u * 1024)
#define INSTAR_SNAP_COUNT_MAX	\
	(INSTAR_SNAP_AREA_MAX / sizeof(struct instar_snapshot_hdr))

/*
 * A qcow2 v3 persistent dirty bitmap as "qemu-img info" lists it, packed
 * like the snapshots: this header, then name_len bytes of name.  qemu
 * holds the name as a C string (g_strndup() of the directory's bytes),
 * so it stops at the first NUL and, as the directory entry is checked,
 * is at most 1023 bytes.  The granularity is 2^9 to 2^31 bytes; the
 * flags are the entry's in-use and auto bits, the others being refused.
 */
#define INSTAR_BITMAP_NAME_MAX	1023
#define INSTAR_BITMAP_GRAN_MIN	(1u << 9)
#define INSTAR_BITMAP_GRAN_MAX	(1u << 31)
#define INSTAR_BITMAP_IN_USE	(1u << 0)
#define INSTAR_BITMAP_AUTO	(1u << 1)

struct instar_bitmap_hdr {
	uint32_t granularity;		/* bytes */
	uint16_t name_len;
	uint8_t flags;			/* INSTAR_BITMAP_* */
	uint8_t reserved;		/* zero */
};

/*
 * Room for the packed bitmap list.  An entry's protobuf form is its
 * name and at most 16 bytes, 8 more than its packed form, so the 3072
 * entries 24 KiB can hold at most encode in under 48 KiB: with the
 * snapshots' 176 KiB and the rest of the record, still inside
 * INSTAR_FRAME_MAX.  Images carry a handful of bitmaps; a list that
 * does not fit is an error.
 */
#define INSTAR_BITMAP_AREA_MAX	(24u * 1024)
#define INSTAR_BITMAP_COUNT_MAX	\
	(INSTAR_BITMAP_AREA_MAX / sizeof(struct instar_bitmap_hdr))

/*
 * What the guest returns: either an info record or an error text.
 * status 0 means info is valid; otherwise error holds the reason.  The
 * snapshot list fills lists[0..snapshots_len), the bitmap list follows
 * it at once, and only the first INSTAR_INFO_RESULT_MIN + snapshots_len
 * + bitmaps_len bytes are sent.
 */
struct instar_info_result {
	int32_t status;
	uint32_t pad;
	char error[INSTAR_ERROR_MAX];
	char hint[INSTAR_HINT_MAX];	/* with error; may be empty */
	struct instar_image_info info;
	uint32_t nsnapshots;		/* entries in the snapshot list */
	uint32_t snapshots_len;		/* its bytes, at most SNAP_AREA_MAX */
	uint32_t nbitmaps;		/* entries in the bitmap list */
	uint32_t bitmaps_len;		/* its bytes, at most BITMAP_AREA_MAX */
	uint8_t lists[INSTAR_SNAP_AREA_MAX + INSTAR_BITMAP_AREA_MAX];
};

#define INSTAR_INFO_RESULT_MIN	offsetof(struct instar_info_result, lists)

#endif
