/*
 * Validation of guest requests.  Pure functions, so every bound can be
 * unit-tested without KVM.  Each returns NULL when the request is
 * acceptable, or a static string naming the first rule it breaks.
 */
#ifndef INSTAR_VMM_CHECK_H
#define INSTAR_VMM_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "hypercall.h"

/* Byte offsets must fit off_t. */
#define VMM_OFFSET_MAX	((uint64_t)INT64_MAX)

struct vmm_device {
	int fd;
	uint64_t size;		/* bytes, at attach time */
	bool writable;
	bool shadow;		/* a dry run's: never written, see hypercall.h */
	uint64_t write_limit;	/* writes must end at or below this */
};

struct vmm_policy {
	uint64_t mem_size;
	const struct vmm_device *devs;
	uint32_t ndevs;
};

/*
 * Decode a store that exited as MMIO: it must be a 4-byte write to a
 * doorbell slot.  Sets *nr to the request number.
 */
const char *vmm_check_doorbell(uint64_t phys_addr, uint32_t len,
    bool is_write, uint32_t *nr);
const char *vmm_check_guest_range(uint64_t mem_size, uint64_t gpa,
    uint64_t len);
const char *vmm_check_device(const struct vmm_policy *, uint32_t dev);
const char *vmm_check_io(const struct vmm_policy *,
    const struct instar_hc_io *, bool write);
const char *vmm_check_copy(const struct vmm_policy *,
    const struct instar_hc_copy *);
const char *vmm_check_truncate(const struct vmm_policy *,
    const struct instar_hc_truncate *);
const char *vmm_check_text(const struct vmm_policy *,
    const struct instar_hc_log *);
/* A result's length must lie in [min_len, max_len]: the job's bounds. */
const char *vmm_check_result(const struct vmm_policy *,
    const struct instar_hc_result *, uint64_t min_len, uint64_t max_len);

#endif
