/*
 * The plan a dry run prints (dry_run.h).
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "dry_run.h"
#include "json.h"
#include "sizestr.h"
#include "strvis.h"

static const char *
size_words(char *buf, size_t len, uint64_t v)
{
	if (size_to_str(buf, len, v) != 0)
		snprintf(buf, len, "%" PRIu64 " B", v);
	return buf;
}

void
dry_run_clusters(FILE *out, uint64_t clusters, uint32_t cluster_size,
    uint64_t bytes)
{
	char cs[SIZE_STR_MAX], total[SIZE_STR_MAX];

	if (clusters == 0) {
		fputs("nothing", out);
		return;
	}
	fprintf(out, "%" PRIu64 " cluster%s of %s (%s)", clusters,
	    clusters == 1 ? "" : "s",
	    size_words(cs, sizeof(cs), cluster_size),
	    size_words(total, sizeof(total), bytes));
}

const char *
dry_run_name(int slot, const char *name)
{
	static char vis[2][STRVIS_SIZE(PATH_MAX) + 2];
	char *buf = vis[slot != 0];
	size_t n;

	buf[0] = '\'';
	n = strvis_encode(buf + 1, sizeof(vis[0]) - 2, name, strlen(name));
	buf[1 + n] = '\'';
	buf[2 + n] = '\0';
	return buf;
}

void
dry_run_file(FILE *out, const char *name, uint64_t before, uint64_t after)
{
	char from[SIZE_STR_MAX], to[SIZE_STR_MAX];

	size_words(from, sizeof(from), before);
	size_words(to, sizeof(to), after);
	if (after == before)
		fprintf(out, "  %s would stay %s (%" PRIu64 " bytes)\n",
		    dry_run_name(0, name), from, before);
	else
		fprintf(out, "  %s would %s from %s to %s (%" PRIu64 " to %"
		    PRIu64 " bytes)\n", dry_run_name(0, name),
		    after > before ? "grow" : "shrink", from, to, before,
		    after);
}

void
dry_run_footer(FILE *out)
{
	fputs("Dry run: nothing was written.\n", out);
}

void
dry_run_json(FILE *out)
{
	json_report_bool(out, "dry-run", true);
}
