/*
 * What rebase and commit share for --dry-run: the option, and the
 * pieces of the plan they print for a person to read before the real
 * run.  Every name printed is passed through strvis().
 */
#ifndef INSTAR_MONITOR_DRY_RUN_H
#define INSTAR_MONITOR_DRY_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define DRY_RUN_OPTION	"dry-run"
#define DRY_RUN_OPTVAL	0x101

/* "16 clusters of 64 KiB (1 MiB)", or "nothing" for none. */
void	dry_run_clusters(FILE *, uint64_t clusters, uint32_t cluster_size,
	    uint64_t bytes);

/*
 * "  'name' would grow from 1.19 MiB to 2.19 MiB" (or shrink, or stay
 * the same size), a line of the plan about one file's length.
 */
void	dry_run_file(FILE *, const char *name, uint64_t before,
	    uint64_t after);

/* A name for the plan, quoted and made safe to print (static buffer
 * per slot: slot 0 or 1, so that two fit in one printf). */
const char *dry_run_name(int slot, const char *name);

/* The plan's last line. */
void	dry_run_footer(FILE *);

/* ", \"dry-run\": true" for the JSON report, before its closing. */
void	dry_run_json(FILE *);

#endif
