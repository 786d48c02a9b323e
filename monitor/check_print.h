/*
 * Rendering of "qemu-img check" reports from what the sandbox found
 * (qemu-img.c: dump_human_image_check(), dump_json_image_check() and
 * img_check()'s repair summary, QEMU 7.2).
 */
#ifndef INSTAR_MONITOR_CHECK_PRINT_H
#define INSTAR_MONITOR_CHECK_PRINT_H

#include <stdio.h>

#include "instar.pb-c.h"
#include "json.h"

/*
 * qemu's ImageCheck: members inserted in schema order, the optional
 * ones only when not 0, so that json_print_pretty() prints them in
 * qemu's order.  NULL on allocation failure.
 */
struct json_value	*check_report_json(const char *filename,
			    const char *format, const Instar__CheckDone *);
/* The report on stdout after the check. */
void			 check_report_human(FILE *, const Instar__CheckDone *);
/* What img_check() prints between a repair and the check run again. */
void			 check_report_repaired(FILE *,
			    const Instar__CheckDone *);

#endif
