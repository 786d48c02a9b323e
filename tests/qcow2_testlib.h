/*
 * Helpers for the tests of the qcow2 writer's users: see qcow2_testlib.c.
 */
#ifndef INSTAR_QCOW2_TESTLIB_H
#define INSTAR_QCOW2_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "image_builder.h"

#define KiB		1024ull
#define MiB		(1024ull * KiB)
#define LOG_MAX		100000

/* One write or flush the planner made, in order. */
struct io_event {
	uint64_t off;
	size_t len;
	uint8_t *data;		/* NULL for a flush or a truncation */
	bool truncate;		/* set the length to off */
};

/* A writable device over a mem_img that records what happens to it. */
struct wdev {
	struct mem_img *m;
	struct io_event *log;
	size_t nlog;
};

/* A writable device over m: write, flush, copy and truncate, logged. */
void	 wdev_init(struct wdev *, struct mem_img *, struct fmt_io *);
/* Apply the log's events before index n to img, as a crash there would
 * leave it (every write before the crash landed). */
void	 wdev_replay(const struct wdev *, size_t n, struct mem_img *img);
void	 wdev_free(struct wdev *);
size_t	 count_flushes(const struct wdev *);

/* The stored refcount of a cluster of the qcow2 image in m. */
uint64_t refcount_of(const struct mem_img *, uint64_t cluster);
/*
 * Recount every reference of the active tables, the refcount structures
 * and the header; fail the test on a refcount below its references.
 * Returns the number of leaked clusters.
 */
uint64_t check_refcounts(const struct mem_img *);
void	 set_refcount(struct mem_img *, uint64_t cluster, uint64_t v);

/* An empty qcow2 (build_qcow2's layout) with its refcounts set. */
void	 make_overlay(struct mem_img *, uint32_t version,
	    uint32_t cluster_bits, uint32_t refcount_order, uint64_t size,
	    const char *backing);
void	 fill_pattern(struct mem_img *, uint64_t off, uint64_t len,
	    uint8_t seed);
/* What the qcow2 top reads (through the raw base, if given); malloc'd. */
uint8_t	*read_all(struct mem_img *top, struct mem_img *base, uint64_t size);

#endif
