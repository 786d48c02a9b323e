/*
 * "qemu-img check" reports, as qemu-img.c prints them.  qemu holds the
 * counts in int64_t and prints them with PRId64; the worker refuses
 * counts beyond INT64_MAX, so the conversions below are exact.
 */
#include <inttypes.h>
#include <stdint.h>

#include "check_print.h"

struct json_value *
check_report_json(const char *filename, const char *format,
    const Instar__CheckDone *d)
{
	struct json_value *x;
	int r = 0;

	if ((x = json_object_new()) == NULL)
		return NULL;
	r |= json_object_put(x, "filename", json_cstring_new(filename));
	r |= json_object_put(x, "format", json_cstring_new(format));
	r |= json_object_put(x, "check-errors",
	    json_int_new((int64_t)d->check_errors));
#define OPTIONAL(key, field)						\
	if (d->field != 0)						\
		r |= json_object_put(x, key, json_int_new((int64_t)d->field))
	OPTIONAL("image-end-offset", image_end_offset);
	OPTIONAL("corruptions", corruptions);
	OPTIONAL("leaks", leaks);
	OPTIONAL("corruptions-fixed", corruptions_fixed);
	OPTIONAL("leaks-fixed", leaks_fixed);
	OPTIONAL("total-clusters", total_clusters);
	OPTIONAL("allocated-clusters", allocated_clusters);
	OPTIONAL("fragmented-clusters", fragmented_clusters);
	OPTIONAL("compressed-clusters", compressed_clusters);
#undef OPTIONAL
	if (r != 0) {
		json_free(x);
		return NULL;
	}
	return x;
}

void
check_report_human(FILE *out, const Instar__CheckDone *d)
{
	int64_t corruptions = (int64_t)d->corruptions;
	int64_t leaks = (int64_t)d->leaks;
	int64_t check_errors = (int64_t)d->check_errors;
	int64_t total = (int64_t)d->total_clusters;
	int64_t allocated = (int64_t)d->allocated_clusters;
	int64_t fragmented = (int64_t)d->fragmented_clusters;
	int64_t compressed = (int64_t)d->compressed_clusters;

	if (!(corruptions || leaks || check_errors))
		fprintf(out, "No errors were found on the image.\n");
	else {
		if (corruptions)
			fprintf(out, "\n%" PRId64 " errors were found on the "
			    "image.\nData may be corrupted, or further writes "
			    "to the image may corrupt it.\n", corruptions);
		if (leaks)
			fprintf(out, "\n%" PRId64 " leaked clusters were "
			    "found on the image.\nThis means waste of disk "
			    "space, but no harm to data.\n", leaks);
		if (check_errors)
			fprintf(out, "\n%" PRId64 " internal errors have "
			    "occurred during the check.\n", check_errors);
	}
	if (total != 0 && allocated != 0)
		fprintf(out, "%" PRId64 "/%" PRId64 " = %0.2f%% allocated, "
		    "%0.2f%% fragmented, %0.2f%% compressed clusters\n",
		    allocated, total, allocated * 100.0 / total,
		    fragmented * 100.0 / allocated,
		    compressed * 100.0 / allocated);
	if (d->image_end_offset)
		fprintf(out, "Image end offset: %" PRId64 "\n",
		    (int64_t)d->image_end_offset);
}

void
check_report_repaired(FILE *out, const Instar__CheckDone *d)
{
	fprintf(out, "The following inconsistencies were found and "
	    "repaired:\n\n    %" PRId64 " leaked clusters\n    %" PRId64
	    " corruptions\n\nDouble checking the fixed image now...\n",
	    (int64_t)d->leaks_fixed, (int64_t)d->corruptions_fixed);
}
