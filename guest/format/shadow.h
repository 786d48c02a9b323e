/*
 * A dry run's writable device: a struct fmt_io over a read-only one that
 * takes every write without passing it on.  The format code plans and
 * "performs" the whole job against it, so a dry run counts exactly what
 * the real run would, but nothing reaches the file.
 *
 * Metadata written is kept, page by page, so that the writer reads back
 * what it wrote (an L2 table it filled, a refcount block it grew); guest
 * data (fmt_io's write_data and copy) is not kept, only where it went,
 * and reading it back is an error rather than a guess.  The length is
 * tracked as the file's would be, so the run can say how big the file
 * would end up.  Memory comes from the top of the job's arena; a job
 * whose metadata outgrows it fails with a reason, never with a wrong
 * figure.
 */
#ifndef INSTAR_SHADOW_H
#define INSTAR_SHADOW_H

#include "format.h"

#define SHADOW_PAGE	4096u

struct shadow_page;

/* Bytes [start, end) of the device hold data the shadow did not keep. */
struct shadow_span {
	uint64_t start;
	uint64_t end;
};

struct fmt_shadow {
	struct fmt_io		 base;		/* the real device, read-only */
	struct fmt_arena	*arena;
	struct shadow_page	*pages;		/* open addressing, by page */
	size_t			 pages_cap;	/* a power of two */
	size_t			 npages;
	size_t			 held;		/* bytes of page buffers */
	struct shadow_span	*spans;		/* sorted, disjoint, apart */
	size_t			 spans_cap;
	size_t			 nspans;
	uint64_t		 size;		/* the length as written */
	uint64_t		 base_end;	/* base bytes show below this */
	char			 why[INSTAR_ERROR_MAX];	/* first failure */
};

/*
 * Set up shadow over base (whose read() is all it uses) with memory
 * from arena's top, and point io at it: a writable device whose length
 * starts as base's.  Returns 0, or -1 if the arena cannot hold even the
 * shadow's tables.
 */
int	 shadow_open(struct fmt_shadow *, const struct fmt_io *base,
	    struct fmt_arena *, struct fmt_io *io);

/* The device's length now, as the file's would be. */
uint64_t shadow_size(const struct fmt_shadow *);

/* Why an operation on the shadow failed, or NULL if none has. */
const char *shadow_error(const struct fmt_shadow *);

#endif
