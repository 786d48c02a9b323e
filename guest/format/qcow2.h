/*
 * qcow2 on-disk layout and the checked header, shared by the parts of
 * the format code that read it ("info", the cluster map) and write it
 * (the rebase writer).  See QEMU's docs/interop/qcow2.txt.
 */
#ifndef INSTAR_QCOW2_H
#define INSTAR_QCOW2_H

#include "format.h"

#define QCOW2_MAGIC		0x514649fbu	/* "QFI\xfb" */
/* qemu always reads sizeof(QCowHeader) */
#define QCOW2_HDR_READ		112
#define QCOW2_V2_HDR_LEN	72
#define QCOW2_V3_MIN_HDR_LEN	104
#define QCOW2_COMPRESSION_OFF	104
#define QCOW2_MIN_CLUSTER_BITS	9
#define QCOW2_MAX_CLUSTER_BITS	21
#define QCOW2_SUBCLUSTERS	32

#define INCOMPAT_DIRTY		(1ull << 0)
#define INCOMPAT_CORRUPT	(1ull << 1)
#define INCOMPAT_DATA_FILE	(1ull << 2)
#define INCOMPAT_COMPRESSION	(1ull << 3)
#define INCOMPAT_EXTL2		(1ull << 4)
#define INCOMPAT_KNOWN		0x1full
#define COMPAT_LAZY_REFCOUNTS	(1ull << 0)
#define AUTOCLEAR_BITMAPS	(1ull << 0)
#define AUTOCLEAR_DATA_RAW	(1ull << 1)
/* The autoclear bits instar (like qemu 7.2) knows; a writer clears the rest. */
#define AUTOCLEAR_KNOWN		(AUTOCLEAR_BITMAPS | AUTOCLEAR_DATA_RAW)

#define EXT_END			0u
#define EXT_BACKING_FMT		0xe2792acau
#define EXT_FEATURE_TABLE	0x6803f857u
#define EXT_CRYPTO		0x0537be77u
#define EXT_BITMAPS		0x23852875u
#define EXT_DATA_FILE		0x44415441u

#define CRYPT_NONE		0
#define CRYPT_AES		1
#define CRYPT_LUKS		2

/* qemu's limits (block/qcow2.h) */
#define MAX_REFTABLE_BYTES	(8ull << 20)
#define MAX_L1_BYTES		(32ull << 20)
#define SNAPSHOT_HDR_LEN	40ull
#define MAX_SNAPSHOTS		65536ull
#define SNAPSHOT_EXTRA_MAX	1024u	/* QCOW_MAX_SNAPSHOT_EXTRA_DATA */
#define SNAPSHOTS_SIZE_MAX	(1024ull * MAX_SNAPSHOTS)
#define MAX_BITMAPS		65535u
#define MAX_BITMAP_DIR_BYTES	(1024ull * MAX_BITMAPS)
#define BACKING_FMT_LEN		16	/* sizeof(bs->backing_format) */
#define NAME_LEN_MAX		1023
#define FEATURE_ENTRY_LEN	48
#define FEATURE_NAME_LEN	46
#define CRYPTO_EXT_LEN		16
#define BITMAPS_EXT_LEN		24

/* Bitmap directory entries and tables (block/qcow2-bitmap.c's BME_*). */
#define BME_ENTRY_LEN		24
#define BME_MAX_TABLE_SIZE	0x8000000u
#define BME_MAX_PHYS_SIZE	0x20000000ull
#define BME_MIN_GRAN_BITS	9
#define BME_MAX_GRAN_BITS	31
#define BME_FLAG_IN_USE		(1u << 0)
#define BME_FLAG_AUTO		(1u << 1)
#define BME_RESERVED_FLAGS	0xfffffffcu
#define BME_TYPE_DIRTY		1
#define BME_RESERVED		0xff000000000001feull	/* table entries */
#define BME_OFFSET_MASK		0x00fffffffffffe00ull
#define BME_ALL_ONES		(1ull << 0)

/* The extra data qemu knows: vm_state_size_large, disk_size, icount. */
#define SNAPSHOT_EXTRA_LEN	24u
#define SNAPSHOT_EXTRA_VMSTATE	8u	/* enough for vm_state_size_large */
/* qemu's block layer fails any access ending past BDRV_MAX_LENGTH. */
#define BDRV_MAX_LENGTH		((uint64_t)INT64_MAX & ~((1ull << 30) - 1))
#define SNAPSHOT_READ_ERR	"Failed to read snapshot table: " \
				"Input/output error"

struct qcow2_hdr {
	uint32_t	version;
	uint64_t	backing_off;
	uint32_t	backing_len;
	uint32_t	cluster_bits;
	uint64_t	size;
	uint32_t	crypt_method;
	uint32_t	l1_size;
	uint64_t	l1_off;
	uint64_t	rt_off;
	uint32_t	rt_clusters;
	uint32_t	nb_snapshots;
	uint64_t	snap_off;
	uint64_t	incompat;
	uint64_t	compat;
	uint64_t	autoclear;
	uint32_t	refcount_order;
	uint32_t	header_len;
	uint32_t	compression;
	uint64_t	cluster_size;
	uint64_t	ext_end;
	/* The bitmaps extension, if the autoclear bit keeps it valid. */
	uint32_t	nb_bitmaps;
	uint64_t	bm_dir_off;
	uint64_t	bm_dir_size;
};

/* L1, L2 and refcount-table entries (qcow2.txt, "Cluster mapping"). */
#define QCOW2_OFFSET_MASK	0x00fffffffffffe00ull	/* bits 9-55 */
#define QCOW2_COPIED		(1ull << 63)
#define QCOW2_COMPRESSED	(1ull << 62)
#define QCOW2_ZERO		(1ull << 0)
#define QCOW2_L1_RESERVED	0x7f000000000001ffull
#define QCOW2_L2_RESERVED	0x3f000000000001feull
#define QCOW2_RT_RESERVED	0x00000000000001ffull

/*
 * Read and check an image's header the way qemu's qcow2_do_open() does
 * (extensions, backing name, snapshot table), filling *h and *info.
 * snaps and bitmaps may be NULL when the lists are not wanted; the
 * tables and the bitmap directory are checked all the same.  Returns 0
 * or -1 with err set.
 */
int qcow2_parse(const struct fmt_io *, struct qcow2_hdr *,
    struct instar_image_info *, struct fmt_snapshots *,
    struct fmt_bitmaps *, struct fmt_err *);
/*
 * The same as qemu opens an image to check it (BDRV_O_CHECK): the
 * snapshot table is left alone, for the check to read and repair.
 */
int qcow2_parse_for_check(const struct fmt_io *, struct qcow2_hdr *,
    struct instar_image_info *, struct fmt_err *);
/*
 * qcow2_validate_table(): entries of entry_len bytes at off, at most
 * max_bytes, cluster aligned; -1 with err "NAME too large" or "NAME
 * offset invalid".
 */
int qcow2_check_table(const struct qcow2_hdr *, uint64_t off,
    uint64_t entries, uint64_t entry_len, uint64_t max_bytes,
    const char *name, struct fmt_err *);

/*
 * Load the bitmap directory h's extension names and check it, then each
 * bitmap, as qemu's qcow2_load_dirty_bitmaps() does on every open that
 * is not inactive (info, check, rebase and commit alike): the directory
 * entries (bitmap_list_load(), check_dir_entry()), then, entry by entry,
 * duplicate names and the bitmap tables of bitmaps not in use.  Fills
 * out, if not NULL, with the list qcow2_get_bitmap_info_list() gives
 * for a v3 image.  Returns 0 or -1 with qemu's error in err.
 */
int qcow2_bitmaps_load(const struct fmt_io *, const struct qcow2_hdr *,
    struct fmt_bitmaps *, struct fmt_err *);

/*
 * What instar reads and writes no data of: an image marked corrupt, an
 * encrypted one, one with an external data file or extended L2 entries.
 * Returns 0, or -1 with err saying why.
 */
int qcow2_refuse_unsupported(const struct qcow2_hdr *, struct fmt_err *);

/*
 * Refcount entry i of a refcount block, bits wide (1 to 64): sub-byte
 * widths least significant bits first, wider ones big-endian.
 */
uint64_t qcow2_rc_get(const uint8_t *block, uint64_t i, uint32_t bits);
void qcow2_rc_set(uint8_t *block, uint64_t i, uint32_t bits, uint64_t v);

#endif
