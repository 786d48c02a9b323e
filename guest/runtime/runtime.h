/*
 * The guest's runtime: hypercalls, a bump heap reset per job, and the
 * entry point the runtime calls once the machine is set up.  The job
 * itself runs in user mode (see runtime.c).
 */
#ifndef INSTAR_GUEST_RUNTIME_H
#define INSTAR_GUEST_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "hypercall.h"

/*
 * Issue request nr with its block at arg (identity mapped: va == gpa) by
 * ringing its doorbell; the store exits to the vmm, which has served the
 * request by the time the next instruction runs.
 */
static inline void
hypercall(unsigned int nr, void *arg)
{
	volatile uint32_t *bell = (volatile uint32_t *)(uintptr_t)
	    (INSTAR_GUEST_DOORBELL + (uint64_t)nr * INSTAR_HC_SLOT);

	__asm__ volatile("movl %1, %0"
	    : "=m"(*bell) : "r"((uint32_t)(uintptr_t)arg) : "memory");
}

void guest_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void guest_exit(int status);

/* Aligned allocation from the heap; NULL when memory is exhausted. */
void *guest_alloc(size_t size, size_t align);

/* Device helpers; return 0 or a negative INSTAR_HC_* code. */
int dev_geometry(uint32_t dev, uint64_t *size, uint32_t *flags);
int dev_read(uint32_t dev, uint64_t off, void *buf, size_t len);
int dev_write(uint32_t dev, uint64_t off, const void *buf, size_t len);
int dev_flush(uint32_t dev);
int dev_copy(uint32_t dst, uint64_t off, uint32_t src, uint64_t src_off,
    uint64_t len);
int dev_truncate(uint32_t dev, uint64_t size);
int guest_result(const void *buf, size_t len);
/* Deliver buf with the exit request instead: one exit for both. */
int guest_result_at_exit(const void *buf, size_t len);
/* Report progress; also the heartbeat the vmm's watchdog waits for. */
void guest_progress(uint64_t done, uint64_t total);
/* Take all the heap that is left; *size says how much. */
void *guest_alloc_rest(size_t *size);

/*
 * Set the runtime up from the boot block the vmm wrote (the heap, the
 * device table) and return the block; one that makes no sense ends the
 * guest.  start.S enters the program's guest_main(void), which calls
 * this first and never returns.
 */
const struct instar_boot *runtime_init(void);
void guest_main(void) __attribute__((noreturn));

#endif
