/*
 * The format layer: probing and reading image metadata for qcow2, VMDK
 * monolithicSparse and raw.  Pure code over struct fmt_io; shared by the
 * guest and the hosted tests and fuzzers.
 */
#ifndef INSTAR_FORMAT_H
#define INSTAR_FORMAT_H

#include "base.h"
#include "hypercall.h"
#include "image_info.h"

/*
 * The one I/O interface the format code sees.  read() fills exactly len
 * bytes at off; bytes past the end of the device read as zeros.  write()
 * stores len bytes at off, growing the device as needed; copy() stores
 * there len bytes read from another device, without them passing
 * through the caller; truncate() sets the device's length; flush() makes
 * every change before it durable before any change after it.  Each
 * returns 0, or a negative value on an I/O error.  All but read are
 * NULL on a read-only device.  size is the device's length when opened.
 */
struct fmt_io {
	void *ctx;
	int (*read)(void *ctx, uint64_t off, void *buf, size_t len);
	int (*write)(void *ctx, uint64_t off, const void *buf, size_t len);
	int (*flush)(void *ctx);
	uint64_t size;
	int (*copy)(void *ctx, uint64_t off, const struct fmt_io *src,
	    uint64_t src_off, uint64_t len);
	int (*truncate)(void *ctx, uint64_t size);
	/*
	 * write() for guest data rather than metadata, or NULL to use
	 * write().  The format code never reads back what it stored this
	 * way, so a dry run (shadow.h) need only remember where it went.
	 */
	int (*write_data)(void *ctx, uint64_t off, const void *buf,
	    size_t len);
};

/* io's write_data(), or its write() where it has none. */
int fmt_write_data(const struct fmt_io *, uint64_t off, const void *buf,
    size_t len);

/*
 * Memory the caller lends the format code for one job: a bump allocator
 * over [base, base + size), never freed piecemeal, so a job's footprint
 * is bounded by what the caller hands over.  The format code allocates
 * from the bottom (used) and may give back what it took last by
 * resetting used; a dry run's shadow devices take from the top (top),
 * what they keep lasting the whole job.
 */
struct fmt_arena {
	uint8_t	*base;
	size_t	 size;
	size_t	 used;
	size_t	 top;
};

/* Aligned memory from the arena (align a power of two), or NULL. */
void *fmt_alloc(struct fmt_arena *, size_t size, size_t align);
/* The same from the arena's top end. */
void *fmt_alloc_top(struct fmt_arena *, size_t size, size_t align);
/* Bytes neither end has taken yet. */
size_t fmt_arena_left(const struct fmt_arena *);

/* Why an operation failed, in words fit for the user. */
struct fmt_err {
	char msg[INSTAR_ERROR_MAX];
	char hint[INSTAR_HINT_MAX];	/* qemu's error_append_hint() */
};

/* Set the message, and clear any hint given with an earlier one. */
void fmt_seterr(struct fmt_err *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Add what the user may do about the message just set. */
void fmt_sethint(struct fmt_err *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Copy why a job failed into a result's error text (size bytes with
 * its NUL), or fallback when nothing was said. */
void fmt_report(char *dst, size_t size, const struct fmt_err *,
    const char *fallback);

/*
 * io's read(), write(), write_data() (or write()) and flush(), returning
 * 0, or -1 with err saying which of them failed.
 */
int fmt_io_read(const struct fmt_io *, uint64_t off, void *buf, size_t len,
    struct fmt_err *);
int fmt_io_write(const struct fmt_io *, uint64_t off, const void *buf,
    size_t len, struct fmt_err *);
int fmt_io_write_data(const struct fmt_io *, uint64_t off, const void *buf,
    size_t len, struct fmt_err *);
int fmt_io_flush(const struct fmt_io *, struct fmt_err *);

/*
 * Decide an image's format from its first bytes, as qemu's probes would:
 * INSTAR_FMT_QCOW2, INSTAR_FMT_VMDK or INSTAR_FMT_RAW.  Formats instar
 * does not handle but recognises (qcow v1, QED, VDI, VHD, VHDX, LUKS, ...)
 * are an error naming the format, never "raw".  Returns 0 or -1.
 */
int fmt_probe(const struct fmt_io *, uint32_t *fmt, struct fmt_err *);

/*
 * Where "info" puts the internal snapshots qemu would list: packed
 * entries as image_info.h lays them out, in buf[0..len), count of them.
 * The caller sets buf and cap; a list that does not fit is an error.
 */
struct fmt_snapshots {
	uint8_t		*buf;
	size_t		 cap;
	size_t		 len;
	uint32_t	 count;
};

/*
 * Where "info" puts the persistent dirty bitmaps qemu would list, in the
 * same way: packed entries (image_info.h), buf[0..len), count of them.
 */
struct fmt_bitmaps {
	uint8_t		*buf;
	size_t		 cap;
	size_t		 len;
	uint32_t	 count;
};

/*
 * What an image is opened for, as far as qemu 7.2's open flags change
 * what it accepts.
 */
enum fmt_open {
	/* To read or write its data (rebase, commit). */
	FMT_OPEN_IO,
	/*
	 * For "qemu-img info" (BDRV_O_NO_IO): qcow2's external data file
	 * is neither opened nor required.
	 */
	FMT_OPEN_NO_IO,
	/*
	 * For "qemu-img check" (BDRV_O_CHECK): qcow2's snapshot table is
	 * left to the check, and a missing refcount table to its repair.
	 * Nothing is listed.
	 */
	FMT_OPEN_CHECK,
};

/*
 * Fill *info, *snaps and *bitmaps (which may be NULL) for "info" on an
 * image of the given format (not PROBE), opened as mode says.  Every
 * value read from the image is checked before use.  Returns 0 or -1 with
 * err set (and *info and the lists emptied).
 */
int fmt_info(const struct fmt_io *, uint32_t fmt, enum fmt_open mode,
    struct instar_image_info *, struct fmt_snapshots *, struct fmt_bitmaps *,
    struct fmt_err *);

/* Where a monolithicSparse VMDK keeps its grains; byte units. */
struct vmdk_geom {
	uint64_t grain_size;
	uint32_t num_gtes;		/* entries per grain table */
	uint64_t gd_off;		/* the primary grain directory */
	uint64_t rgd_off;		/* the redundant one; 0: none */
	uint64_t gd_entries;
	uint64_t grain_off;		/* where the header lets grains start */
	/* The embedded descriptor as the header places it, in sectors;
	 * qemu reads (and rewrites) it at VMDK_DESC_OFF whatever these say. */
	uint64_t desc_sector;
	uint64_t desc_sectors;
	bool	 zero_grains;		/* a GTE of 1 reads as zeros */
	bool	 compressed;
};

/* Where qemu reads a sparse VMDK's descriptor, and how much of it. */
#define VMDK_DESC_OFF		512
#define VMDK_DESC_LEN		(20 * 512)

/* vmdk_info(), also returning where the grains are. */
int vmdk_parse(const struct fmt_io *, struct vmdk_geom *,
    struct instar_image_info *, struct fmt_err *);

/*
 * The parent hint, CID and parentCID of a descriptor's text (len bytes,
 * NUL-terminated), found as qemu finds them, into info's backing_name,
 * vmdk_cid and vmdk_parent_cid.  Returns 0 or -1 with err set.
 */
int vmdk_desc_parse(const char *desc, size_t len, struct instar_image_info *,
    struct fmt_err *);

int qcow2_info(const struct fmt_io *, enum fmt_open,
    struct instar_image_info *, struct fmt_snapshots *, struct fmt_bitmaps *,
    struct fmt_err *);
int vmdk_info(const struct fmt_io *, struct instar_image_info *,
    struct fmt_err *);
int raw_info(const struct fmt_io *, struct instar_image_info *,
    struct fmt_err *);

#endif
