/*
 * Synthetic images for the format tests.  Layouts follow what qemu-img
 * 7.2 writes, so a value read back can be compared with a real image.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_builder.h"

static void *
xcalloc(size_t n)
{
	void *p = calloc(1, n != 0 ? n : 1);

	if (p == NULL) {
		fprintf(stderr, "image_builder: out of memory\n");
		abort();
	}
	return p;
}

void
mem_img_alloc(struct mem_img *m, size_t size)
{
	m->buf = xcalloc(size);
	m->size = size;
	m->fail_reads = false;
}

void
mem_img_free(struct mem_img *m)
{
	free(m->buf);
	m->buf = NULL;
	m->size = 0;
}

void
mem_img_resize(struct mem_img *m, size_t size)
{
	uint8_t *n = xcalloc(size);

	memcpy(n, m->buf, m->size < size ? m->size : size);
	free(m->buf);
	m->buf = n;
	m->size = size;
}

static int
mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct mem_img *m = ctx;
	size_t n = 0;

	if (m->fail_reads)
		return -1;
	memset(buf, 0, len);
	if (off < m->size) {
		n = m->size - (size_t)off;
		if (n > len)
			n = len;
		memcpy(buf, m->buf + off, n);
	}
	return 0;
}

void
mem_img_io(struct mem_img *m, struct fmt_io *io)
{
	io->ctx = m;
	io->read = mem_read;
	io->write = NULL;
	io->flush = NULL;
	io->copy = NULL;
	io->truncate = NULL;
	io->write_data = NULL;
	io->size = m->size;
}

static uint8_t *
at(struct mem_img *m, size_t off, size_t len)
{
	if (off > m->size || len > m->size - off) {
		fprintf(stderr, "image_builder: write at %zu+%zu beyond %zu\n",
		    off, len, m->size);
		abort();
	}
	return m->buf + off;
}

void
put_bytes(struct mem_img *m, size_t off, const void *p, size_t len)
{
	memcpy(at(m, off, len), p, len);
}

void
put_be16(struct mem_img *m, size_t off, uint16_t v)
{
	uint8_t *p = at(m, off, 2);

	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void
put_be32(struct mem_img *m, size_t off, uint32_t v)
{
	put_be16(m, off, (uint16_t)(v >> 16));
	put_be16(m, off + 2, (uint16_t)v);
}

void
put_be64(struct mem_img *m, size_t off, uint64_t v)
{
	put_be32(m, off, (uint32_t)(v >> 32));
	put_be32(m, off + 4, (uint32_t)v);
}

void
put_le16(struct mem_img *m, size_t off, uint16_t v)
{
	uint8_t *p = at(m, off, 2);

	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void
put_le32(struct mem_img *m, size_t off, uint32_t v)
{
	put_le16(m, off, (uint16_t)v);
	put_le16(m, off + 2, (uint16_t)(v >> 16));
}

void
put_le64(struct mem_img *m, size_t off, uint64_t v)
{
	put_le32(m, off, (uint32_t)v);
	put_le32(m, off + 4, (uint32_t)(v >> 32));
}

/* ---- qcow2 ---- */

void
qcow2_default_opts(struct qcow2_opts *o, uint64_t size)
{
	memset(o, 0, sizeof(*o));
	o->version = 3;
	o->cluster_bits = 16;
	o->size = size;
	o->refcount_order = 4;
}

static size_t
put_ext(struct mem_img *m, size_t pos, uint32_t magic, const void *data,
    uint32_t len)
{
	put_be32(m, pos, magic);
	put_be32(m, pos + 4, len);
	if (len > 0)
		put_bytes(m, pos + 8, data, len);
	return pos + 8 + ((len + 7u) & ~7u);
}

static size_t
put_feature_table(struct mem_img *m, size_t pos, const struct qcow2_opts *o)
{
	size_t i, n;

	put_be32(m, pos, 0x6803f857u);
	put_be32(m, pos + 4, (uint32_t)(o->nfeatures * 48));
	for (i = 0; i < o->nfeatures; i++) {
		at(m, pos + 8 + i * 48, 48)[0] = o->features[i].type;
		at(m, pos + 8 + i * 48, 48)[1] = o->features[i].bit;
		n = strlen(o->features[i].name);
		put_bytes(m, pos + 8 + i * 48 + 2, o->features[i].name,
		    n > 46 ? 46 : n);
	}
	return pos + 8 + o->nfeatures * 48;
}

static uint64_t
l1_entries(const struct qcow2_opts *o)
{
	uint32_t l2_bits = o->cluster_bits -
	    ((o->incompat & (1u << 4)) ? 4 : 3);
	uint32_t shift = o->cluster_bits + l2_bits;
	uint64_t n = (o->size >> shift) +
	    ((o->size & ((1ull << shift) - 1)) != 0);

	return n != 0 ? n : 1;
}

static void
qcow2_fixed_header(struct mem_img *m, const struct qcow2_opts *o,
    uint64_t cs, uint64_t l1)
{
	put_be32(m, 0, 0x514649fbu);
	put_be32(m, 4, o->version);
	put_be32(m, 20, o->cluster_bits);
	put_be64(m, 24, o->size);
	put_be32(m, 32, o->crypt_method);
	put_be32(m, 36, (uint32_t)l1);
	put_be64(m, 40, 3 * cs);
	put_be64(m, 48, cs);
	put_be32(m, 56, 1);
	if (o->version < 3)
		return;
	put_be64(m, 72, o->incompat);
	put_be64(m, 80, o->compat);
	put_be64(m, 88, o->autoclear);
	put_be32(m, 96, o->refcount_order);
	put_be32(m, 100, o->header_length != 0 ? o->header_length : 112);
	at(m, 104, 1)[0] = o->compression_type;
}

void
build_qcow2(struct mem_img *m, const struct qcow2_opts *o)
{
	uint64_t cs = 1ull << o->cluster_bits, l1 = l1_entries(o);
	size_t pos, i, l1_clusters = (size_t)((l1 * 8 + cs - 1) / cs);

	mem_img_alloc(m, (size_t)cs * (3 + l1_clusters));
	qcow2_fixed_header(m, o, cs, l1);
	/* The refcount block covers the metadata clusters, refcount 1. */
	put_be64(m, (size_t)cs, 2 * cs);

	pos = o->version < 3 ? 72 :
	    (o->header_length != 0 ? o->header_length : 112);
	if (o->backing_fmt != NULL)
		pos = put_ext(m, pos, 0xe2792acau, o->backing_fmt,
		    (uint32_t)strlen(o->backing_fmt));
	if (o->data_file != NULL)
		pos = put_ext(m, pos, 0x44415441u, o->data_file,
		    (uint32_t)strlen(o->data_file));
	if (o->features != NULL)
		pos = put_feature_table(m, pos, o);
	for (i = 0; i < o->nexts; i++)
		pos = put_ext(m, pos, o->exts[i].magic, o->exts[i].data,
		    o->exts[i].len);
	pos += 8;	/* end marker: already zero */
	if (o->backing != NULL) {
		put_be64(m, 8, pos);
		put_be32(m, 16, (uint32_t)strlen(o->backing));
		put_bytes(m, pos, o->backing, strlen(o->backing));
	}
}

size_t
qcow2_backing_offset(const struct mem_img *m)
{
	return (size_t)get_be64(m->buf + 8);
}

/* ---- VMDK ---- */

static size_t
put_snapshot(struct mem_img *m, size_t off, const struct qcow2_snap *sn)
{
	uint8_t extra[24];
	size_t known = sn->extra < sizeof(extra) ? sn->extra : sizeof(extra);
	size_t end = off + 40 + sn->extra + sn->id_len + sn->name_len, i;

	if (end > m->size)
		mem_img_resize(m, end);
	memset(m->buf + off, 0, end - off);
	put_be16(m, off + 12, (uint16_t)sn->id_len);
	put_be16(m, off + 14, (uint16_t)sn->name_len);
	put_be32(m, off + 16, sn->date_sec);
	put_be32(m, off + 20, sn->date_nsec);
	put_be64(m, off + 24, sn->vm_clock_nsec);
	put_be32(m, off + 32, sn->vm_state_size);
	put_be32(m, off + 36, sn->extra);
	off += 40;
	/* vm_state_size_large, disk_size (left zero), icount */
	memset(extra, 0, sizeof(extra));
	for (i = 0; i < 8; i++) {
		extra[i] = (uint8_t)(sn->vm_state_size_large >> (56 - 8 * i));
		extra[16 + i] = (uint8_t)(sn->icount >> (56 - 8 * i));
	}
	put_bytes(m, off, extra, known);
	off += sn->extra;
	if (sn->id_len > 0)
		put_bytes(m, off, sn->id, sn->id_len);
	off += sn->id_len;
	if (sn->name_len > 0)
		put_bytes(m, off, sn->name, sn->name_len);
	return end;
}

size_t
qcow2_put_snapshots(struct mem_img *m, size_t off,
    const struct qcow2_snap *sn, size_t n)
{
	size_t pos = off, i;

	for (i = 0; i < n; i++)
		pos = put_snapshot(m, (pos + 7) & ~(size_t)7, &sn[i]);
	put_be32(m, 60, (uint32_t)n);
	put_be64(m, 64, off);
	return pos - off;
}

void
vmdk_default_opts(struct vmdk_opts *o, uint64_t capacity)
{
	memset(o, 0, sizeof(*o));
	o->version = 1;
	o->flags = 3;
	o->capacity = capacity;
	o->granularity = 128;
	o->num_gtes = 512;
	o->cid = 0x12345678;
	o->parent_cid = 0xffffffff;
	o->create_type = "monolithicSparse";
}

static size_t
vmdk_descriptor(char *d, size_t size, const struct vmdk_opts *o)
{
	int n;

	n = snprintf(d, size,
	    "# Disk DescriptorFile\nversion=1\nCID=%08x\nparentCID=%08x\n"
	    "createType=\"%s\"\n%s%s%s"
	    "# Extent description\nRW %llu SPARSE \"test.vmdk\"\n\n"
	    "# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\n",
	    o->cid, o->parent_cid, o->create_type,
	    o->parent != NULL ? "parentFileNameHint=\"" : "",
	    o->parent != NULL ? o->parent : "",
	    o->parent != NULL ? "\"\n" : "",
	    (unsigned long long)o->capacity);
	if (n < 0 || (size_t)n >= size)
		abort();
	return (size_t)n;
}

static void
vmdk_header(struct mem_img *m, size_t base, const struct vmdk_opts *o,
    uint64_t gd, uint64_t rgd, uint64_t grains)
{
	put_bytes(m, base, "KDMV", 4);
	put_le32(m, base + 4, o->version);
	put_le32(m, base + 8, o->flags | (o->compress ? 3u << 16 : 0));
	put_le64(m, base + 12, o->capacity);
	put_le64(m, base + 20, o->granularity);
	put_le64(m, base + 28, 1);
	put_le64(m, base + 36, 20);
	put_le32(m, base + 44, o->num_gtes);
	put_le64(m, base + 48, rgd);
	put_le64(m, base + 56, gd);
	put_le64(m, base + 64, grains);
	put_bytes(m, base + 73, "\n \r\n", 4);
	put_le16(m, base + 77, o->compress);
}

void
build_vmdk(struct mem_img *m, const struct vmdk_opts *o)
{
	char desc[20 * 512];
	uint64_t per_gt, ngt, gd_sec, gt_sec, rgd, gd, grains, g;
	size_t len;

	per_gt = (uint64_t)o->num_gtes * o->granularity;
	ngt = per_gt != 0 ? (o->capacity + per_gt - 1) / per_gt : 0;
	if (ngt > 4096)
		ngt = 4096;	/* keep test images small */
	gd_sec = (ngt * 4 + 511) / 512;
	gt_sec = ngt * (((uint64_t)o->num_gtes * 4 + 511) / 512);
	rgd = 21;
	gd = rgd + gd_sec + gt_sec;
	grains = gd + gd_sec + gt_sec;
	g = o->granularity != 0 && o->granularity <= 4096 ?
	    o->granularity : 1;
	grains = (grains + g - 1) / g * g;

	mem_img_alloc(m, (size_t)(grains * 512 + (o->gd_at_end ? 1536 : 0)));
	vmdk_header(m, 0, o, o->gd_at_end ? ~0ull : gd, rgd, grains);
	if (o->descriptor != NULL) {
		len = o->descriptor_len != 0 ? o->descriptor_len :
		    strlen(o->descriptor);
		if (len > sizeof(desc))
			abort();
		put_bytes(m, 512, o->descriptor, len);
	} else {
		len = vmdk_descriptor(desc, sizeof(desc), o);
		put_bytes(m, 512, desc, len);
	}
	if (o->gd_at_end) {
		/* footer marker, footer header, end-of-stream marker */
		put_le32(m, (size_t)grains * 512 + 12, 3);
		vmdk_header(m, (size_t)grains * 512 + 512, o, gd, rgd, grains);
	}
}

void
build_text(struct mem_img *m, const char *text)
{
	mem_img_alloc(m, strlen(text));
	put_bytes(m, 0, text, strlen(text));
}
