/*
 * Upper bounds on how far a writing job can grow an image.  The guest
 * plans the writes and is untrusted once it has parsed a hostile image;
 * the bound comes from the images' geometry as validated infos reported
 * it, so a guest that asks for more than any correct plan could need is
 * stopped by the vmm (the device's write limit) and by the kernel (the
 * worker's RLIMIT_FSIZE).  Each term is generous: a bound too tight
 * would fail a correct job, one too loose only weakens a backstop.
 */
#include <stdint.h>

#include "hypercall.h"
#include "write_limit.h"

#define OFF_MAX		((uint64_t)INT64_MAX)
/* Headers, extensions, a partial last cluster or two: room to spare. */
#define SLACK_CLUSTERS	16u
#define SLACK_BYTES	(1ull << 20)
/* qcow2 host offsets: bits 9 to 55 of a table entry. */
#define QCOW2_OFFSET_END	(1ull << 56)
/* VMDK grain offsets: 32-bit sector numbers. */
#define VMDK_OFFSET_END		((1ull << 32) * 512)
/* A VMDK grain table: 512 entries of 4 bytes. */
#define VMDK_GT_ENTRIES	512u
#define VMDK_GT_BYTES	(VMDK_GT_ENTRIES * 4u)

/* Saturating arithmetic: an overflow means "as large as a file can be". */
static uint64_t
add(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_add_overflow(a, b, &r) || r > OFF_MAX ? OFF_MAX : r;
}

static uint64_t
mul(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_mul_overflow(a, b, &r) || r > OFF_MAX ? OFF_MAX : r;
}

/* ceil(a / b), b > 0. */
static uint64_t
div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

/*
 * qcow2: every cluster of data may be newly allocated (C = cluster
 * size, V = the virtual size it ends with, E = 8 or 16 bytes per L2
 * entry):
 *   data   ceil(data / C) clusters
 *   L2     ceil(ceil(V / C) / (C / E)) + 1 tables of one cluster, each
 *          possibly copied (snapshots share them)
 *   L1     a new table of ceil(V / (C * C / E)) entries of 8 bytes,
 *          rounded up to clusters, plus one
 *   T      file size + data + L2 + L1
 * and refcount blocks (C * 8 / R clusters each) and their table to
 * cover twice T, old and new at once as a rebuild keeps them, twice
 * over:
 *   RB     ceil(2T / (C * C * 8 / R)) + 1 blocks
 *   RT     ceil(8 * RB / C) + 1 clusters
 *   bound  T + T / 16 + 2 * (RB + RT) * C + 16 clusters
 * The sixteenth is for what an allocator leaves behind as it goes (a
 * refcount table outgrown and written anew, clusters given up on).
 */
static uint64_t
qcow2_limit(const struct image_geometry *g, uint64_t file_size,
    uint64_t data, uint64_t v)
{
	uint64_t c = g->cluster_size, e = g->extended_l2 ? 16 : 8;
	uint64_t r = g->refcount_bits, l2, l1, t, rb, rt, per_rb;

	l2 = mul(add(div_up(div_up(v, c), c / e), 1), 2);
	l1 = add(div_up(mul(div_up(v, mul(c, c / e)), 8), c), 1);
	t = add(add(file_size, mul(div_up(data, c), c)), mul(add(l2, l1), c));
	per_rb = mul(mul(c, c), 8) / r;
	rb = add(div_up(mul(t, 2), per_rb), 1);
	rt = add(div_up(mul(rb, 8), c), 1);
	return add(add(add(t, t / 16), mul(mul(add(rb, rt), c), 2)),
	    mul(SLACK_CLUSTERS, c));
}

/*
 * VMDK (sparse extents): every grain of data may be new (G = grain
 * size), and a grain table of 2 KiB may be allocated for every 512
 * grains of V, in both the directory and its redundant copy, as may the
 * two directories (4 bytes per table):
 *   bound  file size + ceil(data / G) * G
 *          + 2 * (ceil(V / (512 G)) + 1) * (2 KiB + 4)
 *          + 16 grains + 1 MiB
 */
static uint64_t
vmdk_limit(const struct image_geometry *g, uint64_t file_size,
    uint64_t data, uint64_t v)
{
	uint64_t gs = g->cluster_size, tables;

	tables = add(div_up(v, mul(gs, VMDK_GT_ENTRIES)), 1);
	return add(add(add(file_size, mul(div_up(data, gs), gs)),
	    mul(mul(tables, VMDK_GT_BYTES + 4), 2)),
	    add(mul(SLACK_CLUSTERS, gs), SLACK_BYTES));
}

/* Raw: the file ends where its guest data does, at most V. */
static uint64_t
raw_limit(uint64_t file_size, uint64_t v)
{
	return add(file_size > v ? file_size : v, SLACK_BYTES);
}

uint64_t
write_limit_image(const struct image_geometry *g, uint64_t file_size,
    uint64_t data, uint64_t virtual_size)
{
	uint64_t v = virtual_size > g->virtual_size ? virtual_size :
	    g->virtual_size;

	if (data > v)
		data = v;
	switch (g->format) {
	case INSTAR_FMT_QCOW2:
		if (g->cluster_size < 512 || g->refcount_bits == 0)
			return OFF_MAX;
		return qcow2_limit(g, file_size, data, v);
	case INSTAR_FMT_VMDK:
		if (g->cluster_size < 512)
			return OFF_MAX;
		return vmdk_limit(g, file_size, data, v);
	default:
		return raw_limit(file_size, v);
	}
}

/*
 * What the format's offsets can reach, plus a refcount structure and
 * slack (qcow2), or the metadata bound with no data, whichever is
 * larger.  A tighter bound would fail qemu-compatible repairs of
 * damaged images: a table entry may name any offset the format allows.
 */
uint64_t
write_limit_addressable(const struct image_geometry *g, uint64_t file_size)
{
	uint64_t meta = write_limit_image(g, file_size, 0, 0), end;

	switch (g->format) {
	case INSTAR_FMT_QCOW2:
		end = write_limit_image(g, QCOW2_OFFSET_END, 0, 0);
		break;
	case INSTAR_FMT_VMDK:
		end = add(VMDK_OFFSET_END, add(mul(SLACK_CLUSTERS,
		    g->cluster_size), SLACK_BYTES));
		break;
	default:
		end = 0;
		break;
	}
	return end > meta ? end : meta;
}
