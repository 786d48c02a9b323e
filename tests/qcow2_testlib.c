/*
 * Helpers for the tests of the qcow2 writer's users (rebase, commit):
 * writable in-memory devices that log every write and flush, and a
 * reference counter that recounts an image's references independently
 * of the writer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "image.h"
#include "qcow2_testlib.h"

static int
wdev_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct wdev *d = ctx;
	size_t n = 0;

	memset(buf, 0, len);
	if (off < d->m->size) {
		n = d->m->size - (size_t)off;
		memcpy(buf, d->m->buf + off, n < len ? n : len);
	}
	return 0;
}

static int
wdev_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct wdev *d = ctx;
	struct io_event *ev;

	if (off + len > d->m->size)
		mem_img_resize(d->m, (size_t)(off + len));
	memcpy(d->m->buf + off, buf, len);
	assert_true(d->nlog < LOG_MAX);
	ev = &d->log[d->nlog++];
	memset(ev, 0, sizeof(*ev));
	ev->off = off;
	ev->len = len;
	ev->data = malloc(len);
	assert_non_null(ev->data);
	memcpy(ev->data, buf, len);
	return 0;
}

static int
wdev_copy(void *ctx, uint64_t off, const struct fmt_io *src,
    uint64_t src_off, uint64_t len)
{
	uint8_t *buf = malloc((size_t)len);
	int r;

	assert_non_null(buf);
	assert_int_equal(src->read(src->ctx, src_off, buf, (size_t)len), 0);
	r = wdev_write(ctx, off, buf, (size_t)len);
	free(buf);
	return r;
}

static int
wdev_truncate(void *ctx, uint64_t size)
{
	struct wdev *d = ctx;
	struct io_event *ev;

	mem_img_resize(d->m, (size_t)size);
	assert_true(d->nlog < LOG_MAX);
	ev = &d->log[d->nlog++];
	memset(ev, 0, sizeof(*ev));
	ev->off = size;
	ev->truncate = true;
	return 0;
}

void
wdev_replay(const struct wdev *d, size_t n, struct mem_img *img)
{
	const struct io_event *ev;
	size_t i;

	for (i = 0; i < n; i++) {
		ev = &d->log[i];
		if (ev->truncate)
			mem_img_resize(img, (size_t)ev->off);
		if (ev->data == NULL)
			continue;
		if (ev->off + ev->len > img->size)
			mem_img_resize(img, (size_t)(ev->off + ev->len));
		memcpy(img->buf + ev->off, ev->data, ev->len);
	}
}

static int
wdev_flush(void *ctx)
{
	struct wdev *d = ctx;

	assert_true(d->nlog < LOG_MAX);
	memset(&d->log[d->nlog++], 0, sizeof(struct io_event));
	return 0;
}

void
wdev_init(struct wdev *d, struct mem_img *m, struct fmt_io *io)
{
	d->m = m;
	d->nlog = 0;
	d->log = calloc(LOG_MAX, sizeof(*d->log));
	assert_non_null(d->log);
	io->ctx = d;
	io->read = wdev_read;
	io->write = wdev_write;
	io->flush = wdev_flush;
	io->copy = wdev_copy;
	io->truncate = wdev_truncate;
	io->write_data = NULL;
	io->size = m->size;
}

void
wdev_free(struct wdev *d)
{
	size_t i;

	for (i = 0; i < d->nlog; i++)
		free(d->log[i].data);
	free(d->log);
}

size_t
count_flushes(const struct wdev *d)
{
	size_t i, n = 0;

	for (i = 0; i < d->nlog; i++)
		n += d->log[i].data == NULL;
	return n;
}

/* ---- a reference counter, independent of the writer ---- */

static uint64_t
be64_at(const struct mem_img *m, uint64_t off)
{
	return off + 8 <= m->size ? get_be64(m->buf + off) : 0;
}

uint64_t
refcount_of(const struct mem_img *m, uint64_t cluster)
{
	uint32_t cb = get_be32(m->buf + 20);
	uint32_t order = get_be32(m->buf + 4) >= 3 ?
	    get_be32(m->buf + 96) : 4;
	uint32_t bits = 1u << order;
	uint64_t per = (1ull << cb) * 8 / bits;
	uint64_t rt = be64_at(m, 48), rt_entries, block, i, v = 0, k;

	rt_entries = (uint64_t)get_be32(m->buf + 56) << (cb - 3);
	if (cluster / per >= rt_entries)
		return 0;
	block = be64_at(m, rt + cluster / per * 8);
	if (block == 0)
		return 0;
	i = cluster % per;
	if (bits < 8)
		return (m->buf[block + i * bits / 8] >> (i * bits % 8)) &
		    ((1u << bits) - 1);
	for (k = 0; k < bits / 8; k++)
		v = v << 8 | m->buf[block + i * (bits / 8) + k];
	return v;
}

static void
count_range(uint32_t *refs, uint64_t nclusters, uint64_t off, uint64_t len,
    uint32_t cb)
{
	uint64_t c;

	for (c = off >> cb; c < (off + len + (1ull << cb) - 1) >> cb; c++) {
		assert_true(c < nclusters);
		refs[c]++;
	}
}

/* The snapshot table's length as qemu steps over it (no padding after). */
static uint64_t
snapshot_table_len(const struct mem_img *m)
{
	uint64_t start = be64_at(m, 64), off = start;
	uint32_t i, n = get_be32(m->buf + 60);

	for (i = 0; i < n; i++) {
		off = (off + 7) & ~7ull;
		assert_true(off + 40 <= m->size);
		off += 40 + (uint64_t)get_be32(m->buf + off + 36) +
		    get_be16(m->buf + off + 12) + get_be16(m->buf + off + 14);
	}
	return off - start;
}

/*
 * Count every reference the active tables, the refcount structures, the
 * snapshot table and the header make, and compare with the stored
 * refcounts.  Returns the
 * number of leaked clusters; any cluster referenced more often than its
 * refcount says fails the test.
 */
uint64_t
check_refcounts(const struct mem_img *m)
{
	uint32_t cb = get_be32(m->buf + 20);
	uint64_t cs = 1ull << cb, n = (m->size + cs - 1) / cs;
	uint64_t l1 = be64_at(m, 40), l1_size = get_be32(m->buf + 36);
	uint64_t rt = be64_at(m, 48), rt_clusters = get_be32(m->buf + 56);
	uint64_t i, j, l2, e, leaks = 0, stored;
	uint32_t *refs = calloc(n + 1, sizeof(*refs));

	assert_non_null(refs);
	count_range(refs, n, 0, cs, cb);
	count_range(refs, n, l1, l1_size * 8, cb);
	count_range(refs, n, rt, rt_clusters * cs, cb);
	count_range(refs, n, be64_at(m, 64), snapshot_table_len(m), cb);
	for (i = 0; i < rt_clusters * cs / 8; i++)
		if ((e = be64_at(m, rt + i * 8)) != 0)
			count_range(refs, n, e, cs, cb);
	for (i = 0; i < l1_size; i++) {
		l2 = be64_at(m, l1 + i * 8) & QCOW2_OFFSET_MASK;
		if (l2 == 0)
			continue;
		count_range(refs, n, l2, cs, cb);
		for (j = 0; j < cs / 8; j++) {
			e = be64_at(m, l2 + j * 8);
			assert_false(e & QCOW2_COMPRESSED);
			if ((e & QCOW2_OFFSET_MASK) != 0)
				count_range(refs, n, e & QCOW2_OFFSET_MASK,
				    cs, cb);
			/* COPIED must say refcount 1 exactly. */
			if (e & QCOW2_COPIED)
				assert_int_equal(refcount_of(m,
				    (e & QCOW2_OFFSET_MASK) >> cb), 1);
		}
	}
	for (i = 0; i < n; i++) {
		stored = refcount_of(m, i);
		if (stored < refs[i])
			fail_msg("cluster %llu: refcount %llu, %u references",
			    (unsigned long long)i, (unsigned long long)stored,
			    refs[i]);
		if (stored > refs[i])
			leaks++;
	}
	free(refs);
	return leaks;
}

/* ---- images ---- */

void
set_refcount(struct mem_img *m, uint64_t cluster, uint64_t v)
{
	uint32_t cb = get_be32(m->buf + 20);
	uint32_t order = get_be32(m->buf + 4) >= 3 ?
	    get_be32(m->buf + 96) : 4;
	uint32_t bits = 1u << order;
	uint64_t per = (1ull << cb) * 8 / bits;
	uint64_t block = be64_at(m, be64_at(m, 48) + cluster / per * 8);
	uint64_t i = cluster % per, k;

	assert_int_not_equal(block, 0);
	if (bits < 8) {
		m->buf[block + i * bits / 8] |= (uint8_t)(v << (i * bits % 8));
		return;
	}
	for (k = bits / 8; k > 0; k--) {
		m->buf[block + i * (bits / 8) + k - 1] = (uint8_t)v;
		v >>= 8;
	}
}

/* An empty overlay as build_qcow2 lays it out, with its refcounts set. */
void
make_overlay(struct mem_img *m, uint32_t version, uint32_t cluster_bits,
    uint32_t refcount_order, uint64_t size, const char *backing)
{
	struct qcow2_opts o;
	uint64_t c;

	qcow2_default_opts(&o, size);
	o.version = version;
	o.cluster_bits = cluster_bits;
	o.refcount_order = version >= 3 ? refcount_order : 4;
	o.backing = backing;
	o.backing_fmt = backing != NULL ? "raw" : NULL;
	build_qcow2(m, &o);
	for (c = 0; c < m->size >> cluster_bits; c++)
		set_refcount(m, c, 1);
}

void
fill_pattern(struct mem_img *m, uint64_t off, uint64_t len, uint8_t seed)
{
	uint64_t i;

	for (i = 0; i < len; i++)
		m->buf[off + i] = (uint8_t)(seed + i / 512 * 7 + i % 251);
}

/* What the overlay reads, through a chain of itself and maybe a base. */
uint8_t *
read_all(struct mem_img *top, struct mem_img *base, uint64_t size)
{
	static uint8_t arena_mem[4 * MiB];
	struct fmt_arena a = { arena_mem, sizeof(arena_mem), 0, 0 };
	struct image ti, bi, *layers[2] = { &ti, &bi };
	struct chain c = { layers, base != NULL ? 2 : 1 };
	struct fmt_io tio, bio;
	struct fmt_err err;
	uint8_t *buf = malloc(size);

	assert_non_null(buf);
	mem_img_io(top, &tio);
	assert_int_equal(image_open(&ti, &tio, INSTAR_FMT_QCOW2, &a, &err), 0);
	if (base != NULL) {
		mem_img_io(base, &bio);
		assert_int_equal(image_open(&bi, &bio, INSTAR_FMT_RAW, &a,
		    &err), 0);
	}
	if (chain_read(&c, 0, buf, size, &err) != 0)
		fail_msg("%s", err.msg);
	return buf;
}

