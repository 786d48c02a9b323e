#include <stddef.h>
#include <stdint.h>

#include "vmm_check.h"

/* The page tables, boot GDT and boot block are the vmm's, not I/O. */
#define GUEST_IO_LOW	INSTAR_GUEST_STACK_LOW

const char *
vmm_check_doorbell(uint64_t phys_addr, uint32_t len, bool is_write,
    uint32_t *nr)
{
	uint64_t off;

	if (phys_addr < INSTAR_GUEST_DOORBELL ||
	    phys_addr - INSTAR_GUEST_DOORBELL >=
	    (uint64_t)INSTAR_HC_COUNT * INSTAR_HC_SLOT)
		return "access outside guest memory";
	off = phys_addr - INSTAR_GUEST_DOORBELL;
	if (!is_write || len != 4 || off % INSTAR_HC_SLOT != 0)
		return "malformed doorbell access";
	*nr = (uint32_t)(off / INSTAR_HC_SLOT);
	return NULL;
}

const char *
vmm_check_guest_range(uint64_t mem_size, uint64_t gpa, uint64_t len)
{
	if (gpa > mem_size || len > mem_size - gpa)
		return "guest buffer lies outside guest memory";
	return NULL;
}

const char *
vmm_check_device(const struct vmm_policy *pol, uint32_t dev)
{
	if (dev >= pol->ndevs)
		return "no such device";
	return NULL;
}

const char *
vmm_check_io(const struct vmm_policy *pol, const struct instar_hc_io *io,
    bool write)
{
	const struct vmm_device *d;
	const char *why;

	if ((why = vmm_check_device(pol, io->dev)) != NULL)
		return why;
	d = &pol->devs[io->dev];
	if (write && !d->writable)
		return "write to a read-only device";
	if (io->len == 0)
		return "zero-length transfer";
	if (io->len > INSTAR_HC_IO_MAX)
		return "transfer longer than the per-request cap";
	if (io->offset > VMM_OFFSET_MAX || io->len > VMM_OFFSET_MAX -
	    io->offset)
		return "device offset overflows";
	if (write && io->offset + io->len > d->write_limit)
		return "write beyond the device's write limit";
	if (io->buf < GUEST_IO_LOW)
		return "guest buffer overlaps the vmm's pages";
	return vmm_check_guest_range(pol->mem_size, io->buf, io->len);
}

const char *
vmm_check_copy(const struct vmm_policy *pol, const struct instar_hc_copy *cp)
{
	const char *why;

	if ((why = vmm_check_device(pol, cp->src_dev)) != NULL ||
	    (why = vmm_check_device(pol, cp->dst_dev)) != NULL)
		return why;
	if (cp->src_dev == cp->dst_dev)
		return "copy within one device";
	if (!pol->devs[cp->dst_dev].writable)
		return "write to a read-only device";
	if (cp->len == 0)
		return "zero-length transfer";
	if (cp->len > INSTAR_HC_COPY_MAX)
		return "transfer longer than the per-request cap";
	if (cp->src_off > VMM_OFFSET_MAX ||
	    cp->len > VMM_OFFSET_MAX - cp->src_off ||
	    cp->dst_off > VMM_OFFSET_MAX ||
	    cp->len > VMM_OFFSET_MAX - cp->dst_off)
		return "device offset overflows";
	if (cp->dst_off + cp->len > pol->devs[cp->dst_dev].write_limit)
		return "write beyond the device's write limit";
	return NULL;
}

const char *
vmm_check_truncate(const struct vmm_policy *pol,
    const struct instar_hc_truncate *t)
{
	const char *why;

	if ((why = vmm_check_device(pol, t->dev)) != NULL)
		return why;
	if (!pol->devs[t->dev].writable)
		return "write to a read-only device";
	if (t->size > VMM_OFFSET_MAX || t->size > pol->devs[t->dev].write_limit)
		return "length beyond the device's write limit";
	return NULL;
}

const char *
vmm_check_text(const struct vmm_policy *pol, const struct instar_hc_log *log)
{
	if (log->len > INSTAR_HC_LOG_MAX)
		return "log line longer than the cap";
	return vmm_check_guest_range(pol->mem_size, log->buf, log->len);
}

const char *
vmm_check_result(const struct vmm_policy *pol,
    const struct instar_hc_result *res, uint64_t min_len, uint64_t max_len)
{
	if ((res->flags & ~INSTAR_RESULT_EXIT) != 0)
		return "unknown result flags";
	if (res->len > INSTAR_HC_RESULT_MAX)
		return "result longer than the cap";
	if (res->len < min_len || res->len > max_len)
		return "result has the wrong size for this job";
	return vmm_check_guest_range(pol->mem_size, res->buf, res->len);
}
