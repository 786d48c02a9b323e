/*
 * Checks of the rebase job's records, shared by the worker (which
 * builds the parameters and reads the result) and the guest (which
 * reads the parameters out of memory it does not trust either).
 */
#include "base.h"
#include "rebase_job.h"

static int
known_format(uint32_t fmt)
{
	return fmt == INSTAR_FMT_RAW || fmt == INSTAR_FMT_QCOW2 ||
	    fmt == INSTAR_FMT_VMDK;
}

static const char *
check_chains(const struct instar_rebase_params *p, uint32_t ndevices)
{
	if (p->old_chain_len > ndevices - 1)
		return "old chain longer than the devices attached";
	if (p->new_chain_len == 0)
		return NULL;
	if (p->new_chain_start == 0 || p->new_chain_start >= ndevices ||
	    p->new_chain_len > ndevices - p->new_chain_start)
		return "new chain outside the devices attached";
	/* Devices are attached once: a new chain inside the old one ends
	 * with it. */
	if (p->new_chain_start <= p->old_chain_len &&
	    p->new_chain_start + p->new_chain_len != p->old_chain_len + 1)
		return "new chain is not a tail of the old one";
	if (p->new_chain_start > p->old_chain_len + 1)
		return "devices attached but in no chain";
	return NULL;
}

const char *
rebase_params_validate(const struct instar_rebase_params *p,
    uint32_t ndevices)
{
	uint32_t i;

	if (ndevices == 0 || ndevices > INSTAR_MAX_DEVICES)
		return "bad device count";
	if (p->unsafe > 1)
		return "bad mode";
	if (p->formats[0] != INSTAR_FMT_QCOW2 &&
	    p->formats[0] != INSTAR_FMT_VMDK)
		return "overlay is neither qcow2 nor VMDK";
	/* Unsafe: a VMDK overlay gets its new parent, to read its CID. */
	if (p->unsafe && (p->old_chain_len != 0 || p->new_chain_len >
	    (p->formats[0] == INSTAR_FMT_VMDK ? 1u : 0u)))
		return "unsafe rebase with chains";
	for (i = 1; i < ndevices; i++)
		if (!known_format(p->formats[i]))
			return "bad device format";
	if (p->name_len >= sizeof(p->backing_name) ||
	    strnlen(p->backing_name, sizeof(p->backing_name)) != p->name_len)
		return "bad backing name";
	if (strnlen(p->backing_format, sizeof(p->backing_format)) ==
	    sizeof(p->backing_format))
		return "bad backing format";
	if (p->name_len == 0 && (p->backing_format[0] != '\0' ||
	    p->new_chain_len != 0))
		return "detach with a backing format or chain";
	return check_chains(p, ndevices);
}

const char *
rebase_result_validate(const struct instar_rebase_result *r)
{
	size_t len = strnlen(r->error, sizeof(r->error));

	if (len == sizeof(r->error))
		return "error text not terminated";
	if (r->status == 0) {
		if (len != 0)
			return "error text on success";
		if (r->cluster_size < 512 || r->cluster_size > (2u << 20) ||
		    (r->cluster_size & (r->cluster_size - 1)) != 0)
			return "bad cluster size";
		if (r->bytes_copied / r->cluster_size != r->clusters_copied ||
		    r->bytes_copied % r->cluster_size != 0)
			return "byte count does not match clusters";
		if (r->file_size > INT64_MAX)
			return "bad file size";
		return NULL;
	}
	if (r->status != 1)
		return "bad status";
	return len == 0 ? "failure without a reason" : NULL;
}
