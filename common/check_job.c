/*
 * Checks of the check job's records, shared by the worker (which builds
 * the parameters and reads the result) and the guest (which reads the
 * parameters out of memory it does not trust either), like rebase_job.c.
 */
#include "base.h"
#include "check_job.h"

const char *
check_params_validate(const struct instar_check_params *p,
    uint32_t ndevices, bool writable, bool probe)
{
	if (ndevices != 1)
		return "bad device count";
	if (p->repair != INSTAR_CHECK_REPAIR_NONE &&
	    p->repair != INSTAR_CHECK_REPAIR_LEAKS &&
	    p->repair != INSTAR_CHECK_REPAIR_ALL)
		return "bad repair mode";
	if (probe && p->repair != INSTAR_CHECK_REPAIR_NONE)
		return "repair with an info job";
	if (p->format != INSTAR_FMT_RAW && p->format != INSTAR_FMT_QCOW2 &&
	    p->format != INSTAR_FMT_VMDK &&
	    (!probe || p->format != INSTAR_FMT_PROBE))
		return "bad device format";
	if (writable != (p->repair != INSTAR_CHECK_REPAIR_NONE))
		return "image writable other than for a repair";
	return NULL;
}

static const char *
check_text(const struct instar_check_result *r)
{
	uint32_t pos = 0, n = 0, start;

	if (r->text_len > sizeof(r->text))
		return "text too long";
	while (pos < r->text_len) {
		start = pos;
		while (pos < r->text_len && r->text[pos] != '\0') {
			if (r->text[pos] < 0x20 || r->text[pos] > 0x7e)
				return "unprintable text";
			pos++;
		}
		if (pos == r->text_len)
			return "text line not terminated";
		if (pos - start >= INSTAR_CHECK_LINE_MAX)
			return "text line too long";
		pos++;
		n++;
	}
	if (n != r->nlines)
		return "line count does not match text";
	return NULL;
}

const char *
check_result_validate(const struct instar_check_result *r, size_t got)
{
	size_t len;

	if (got < INSTAR_CHECK_RESULT_MIN)
		return "short result";
	len = strnlen(r->error, sizeof(r->error));
	if (len == sizeof(r->error))
		return "error text not terminated";
	if (r->text_len > sizeof(r->text) ||
	    got != INSTAR_CHECK_RESULT_MIN + r->text_len)
		return "wrong size";
	if (r->status == 1)
		return len == 0 ? "failure without a reason" : check_text(r);
	if (r->status != 0)
		return "bad status";
	if (len != 0)
		return "error text on success";
	if (r->has_checks > 1)
		return "bad checks flag";
	if (!r->has_checks && (r->corruptions | r->leaks | r->check_errors |
	    r->corruptions_fixed | r->leaks_fixed | r->image_end_offset |
	    r->total_clusters | r->allocated_clusters |
	    r->fragmented_clusters | r->compressed_clusters |
	    r->lines_dropped | r->nlines) != 0)
		return "counts without checks";
	/* Not allocated <= total: an L1 may map more than the disk. */
	if (r->compressed_clusters > r->allocated_clusters ||
	    r->fragmented_clusters > r->allocated_clusters)
		return "cluster counts inconsistent";
	return check_text(r);
}
