/* qemu-img -p: see progress.h. */
#include <stdio.h>
#include <string.h>

#include "progress.h"

static void
progress_print(const struct progress *p)
{
	printf("    (%3.2f/100%%)\r", (double)p->current);
	fflush(stdout);
}

void
progress_set(struct progress *p, float current)
{
	if (!p->enabled)
		return;
	if (current > 100.0f)
		current = 100.0f;
	p->current = current;
	if (current > p->last_print + p->min_skip ||
	    current < p->last_print - p->min_skip ||
	    current == 0.0f || current == 100.0f) {
		p->last_print = current;
		progress_print(p);
	}
}

void
progress_init(struct progress *p, bool enabled, float min_skip)
{
	memset(p, 0, sizeof(*p));
	p->enabled = enabled;
	p->min_skip = min_skip;
	progress_set(p, 0.0f);
}

void
progress_end(struct progress *p)
{
	if (!p->enabled)
		return;
	printf("\n");
	fflush(stdout);
	p->enabled = false;
}

void
progress_update(uint64_t done, uint64_t total, void *arg)
{
	if (total != 0)
		progress_set(arg, (float)((double)done * 100.0 /
		    (double)total));
}
