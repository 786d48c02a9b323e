/*
 * Reading an image's guest-visible content: which ranges an image
 * holds itself (its allocation map) and what they contain, for qcow2,
 * VMDK monolithicSparse and raw, and the same through a backing chain.
 *
 * Tables stream through small windows lent from a struct fmt_arena, so
 * memory does not grow with the image: a 16 TiB image costs what a
 * 1 GiB one does.  Every offset taken from a table is checked before it
 * is used.
 */
#ifndef INSTAR_IMAGE_H
#define INSTAR_IMAGE_H

#include "format.h"
#include "qcow2.h"

enum extent_kind {
	EXTENT_UNALLOC,		/* not in this image: the backing decides */
	EXTENT_ZERO,		/* reads as zeros */
	EXTENT_DATA,		/* stored uncompressed at host_off */
	EXTENT_COMPRESSED,	/* part of one compressed cluster */
};

struct extent {
	enum extent_kind kind;
	uint64_t len;		/* bytes from the offset asked about */
	uint64_t host_off;	/* DATA: device offset of the first byte */
	uint64_t centry;	/* COMPRESSED: the cluster's L2 entry */
	uint64_t coff;		/* COMPRESSED: offset inside the cluster */
};

/* A window onto a table of 8- or 4-byte entries on the device. */
struct table_win {
	uint8_t		*buf;
	uint32_t	 cap;		/* entries the buffer holds */
	uint64_t	 table_off;	/* which table is loaded (device offset) */
	uint64_t	 first;		/* index of buf's first entry */
	uint32_t	 count;		/* entries loaded; 0: none */
};

struct qcow2_map {
	struct qcow2_hdr	 h;
	uint32_t		 l2_bits;	/* log2(entries per L2 table) */
	uint32_t		 csize_shift;	/* compressed entry layout */
	uint64_t		 csize_mask;
	uint64_t		 coff_mask;
	struct table_win	 l1;
	struct table_win	 l2;
	/* One decompressed cluster, kept for reads smaller than it. */
	uint8_t			*cbuf;
	uint64_t		 centry;	/* what cbuf holds; 0: nothing */
	/* The file from cin_off on, read ahead for compressed clusters. */
	uint8_t			*cin;
	uint64_t		 cin_off;
	uint64_t		 cin_len;	/* 0: nothing */
	uint64_t		 cin_cap;
	uint64_t		 cin_next;	/* where the last one ended */
};

struct vmdk_map {
	uint64_t		 grain_size;	/* bytes */
	uint32_t		 num_gtes;
	uint64_t		 gd_off;	/* bytes */
	uint64_t		 gd_entries;
	bool			 zero_grains;	/* GTE 1 means zeros */
	struct table_win	 gd;
	struct table_win	 gt;
};

struct image {
	const struct fmt_io	*io;
	uint32_t		 fmt;
	uint64_t		 size;		/* guest-visible bytes */
	struct instar_image_info info;
	union {
		struct qcow2_map	q;
		struct vmdk_map		v;
	} u;
	struct fmt_arena	*arena;
};

/*
 * Open an image of a known format (not PROBE) for reading, checking its
 * header as "info" does and refusing what instar cannot read correctly
 * (encryption, external data files, extended L2 entries, a VMDK that is
 * not monolithicSparse; zstd clusters fail when read).  Returns 0 or -1 with err set.
 */
int image_open(struct image *, const struct fmt_io *, uint32_t fmt,
    struct fmt_arena *, struct fmt_err *);

/*
 * What the image holds at off: fills *e with a run of one kind starting
 * at off and at most len bytes long (len > 0, off + len <= size).
 */
int image_map(struct image *, uint64_t off, uint64_t len, struct extent *,
    struct fmt_err *);

/* Read the len bytes e describes (as image_map returned it) into buf. */
int image_read_extent(struct image *, const struct extent *, uint8_t *buf,
    uint64_t len, struct fmt_err *);

/* A qcow2 image's L2 entry for a guest cluster (0 with no L2 table). */
int qcow2_entry_at(struct image *, uint64_t cluster, uint64_t *entry,
    struct fmt_err *);

/* Drop cached tables: the image was changed under them. */
void image_forget(struct image *);

/* A backing chain, top first; reads fall through unallocated ranges. */
struct chain {
	struct image	**layers;
	uint32_t	  n;
};

/*
 * Where the chain's content at off comes from, for at most len bytes:
 * layer -1 when no layer holds it (it reads as zeros, or as whatever
 * lies below the chain); a layer's ZERO extent also stands for the
 * range past that layer's end, which reads as zeros whatever lies below.
 */
struct chain_extent {
	struct extent	 e;		/* ZERO, DATA or COMPRESSED */
	int		 layer;
};

/*
 * Whether every VMDK layer records its parent's CID, as qemu requires
 * to read through it.  A job checks its chains once, before it reads
 * through them and before it writes anything; chain_map() and
 * chain_read() take the links as checked.
 */
int chain_check_links(const struct chain *, struct fmt_err *);

int chain_map(const struct chain *, uint64_t off, uint64_t len,
    struct chain_extent *, struct fmt_err *);
/* Read len bytes of the chain's guest-visible content at off. */
int chain_read(const struct chain *, uint64_t off, uint8_t *buf,
    uint64_t len, struct fmt_err *);

#endif
