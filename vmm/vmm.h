/*
 * The virtual machine monitor the worker runs: one VM with fixed memory
 * and one vCPU in 64-bit mode, reset and rerun for each image.
 */
#ifndef INSTAR_VMM_H
#define INSTAR_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm_check.h"

struct vmm;

struct vmm_job {
	uint32_t op;			/* enum instar_op */
	uint32_t format;		/* enum instar_fmt for device 0 */
	const struct vmm_device *devs;
	uint32_t ndevs;
	uint32_t timeout_ms;		/* watchdog for one run */
	void *result;			/* receives the guest's result */
	size_t result_min;		/* the shortest result accepted */
	size_t result_len;		/* the longest: result's size */
	size_t *result_got;		/* out: its length; may be NULL */
	bool verbose;			/* copy guest log lines to stderr */
	const void *params;		/* copied after the boot block */
	uint32_t params_len;		/* at most INSTAR_BOOT_PARAMS_MAX */
	/* Called for each progress report; the watchdog restarts too. */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
	uint64_t rate_limit;		/* bytes/s written; 0: no limit */
	/* Tests only: exit the process after this many write requests. */
	uint32_t stop_after_writes;
};

/*
 * Create the VM.  Opens /dev/kvm, so call it before the sandbox is on.
 * Returns NULL with err filled on failure.
 */
struct vmm *vmm_open(const uint8_t *guest_image, size_t guest_len,
    char *err, size_t errlen);

/*
 * Reset the machine, load the guest and run it to completion.  Returns 0
 * when the guest delivered a result and exited cleanly; otherwise -1 with
 * err saying why (fault, timeout, bad request, guest-reported failure).
 */
int vmm_run(struct vmm *, const struct vmm_job *, char *err, size_t errlen);

int vmm_vcpu_fd(const struct vmm *);
void vmm_close(struct vmm *);

#endif
