/*
 * Checks of the commit job's records, shared by the worker and the
 * guest, like rebase_job.c.
 */
#include "base.h"
#include "commit_job.h"

bool
commit_relinks_child(const struct instar_commit_params *p)
{
	return p->formats[p->base_index] == INSTAR_FMT_VMDK &&
	    p->formats[p->base_index - 1] == INSTAR_FMT_VMDK;
}

const char *
commit_params_validate(const struct instar_commit_params *p,
    uint32_t ndevices, uint64_t writable)
{
	uint64_t want;
	uint32_t i, f;

	if (ndevices < 2 || ndevices > INSTAR_MAX_DEVICES)
		return "bad device count";
	if (p->base_index == 0 || p->base_index >= ndevices)
		return "base outside the devices attached";
	if (p->empty_top > 1)
		return "bad emptying flag";
	for (i = 0; i < ndevices; i++) {
		f = p->formats[i];
		if (f != INSTAR_FMT_RAW && f != INSTAR_FMT_QCOW2 &&
		    f != INSTAR_FMT_VMDK)
			return "bad device format";
	}
	if (p->empty_top && p->formats[0] == INSTAR_FMT_RAW)
		return "a raw top cannot be emptied";
	want = 1ull << p->base_index;
	if (p->empty_top)
		want |= 1;
	if (commit_relinks_child(p))
		want |= 1ull << (p->base_index - 1);
	if (writable != want)
		return "writable devices other than the base, the top and "
		    "the base's child";
	return NULL;
}

const char *
commit_result_validate(const struct instar_commit_result *r)
{
	size_t len = strnlen(r->error, sizeof(r->error));
	uint32_t cs = r->base_cluster_size;

	if (len == sizeof(r->error))
		return "error text not terminated";
	if (r->status == 0) {
		if (len != 0)
			return "error text on success";
		if (cs < 512 || cs > (2u << 20) || (cs & (cs - 1)) != 0)
			return "bad cluster size";
		if (r->base_grown > 1)
			return "bad growth flag";
		if (r->top_file_size > INT64_MAX ||
		    r->base_file_size > INT64_MAX)
			return "bad file size";
		return NULL;
	}
	if (r->status != 1)
		return "bad status";
	return len == 0 ? "failure without a reason" : NULL;
}
