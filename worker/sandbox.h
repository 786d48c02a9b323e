/*
 * The worker's confinement, applied after the VM exists and before any
 * image byte is read: its own namespaces where the kernel allows, an
 * unprivileged uid when started as root, no capabilities, no_new_privs,
 * low rlimits and a default-deny seccomp filter.
 */
#ifndef INSTAR_SANDBOX_H
#define INSTAR_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stat;

struct sandbox_policy {
	int sock;		/* the monitor's socket */
	int vcpu_fd;		/* the only fd ioctl may touch */
	int max_fd;		/* highest fd the worker may hold */
	int io_fd_min;		/* lowest fd file I/O may use (the images) */
	bool may_write;		/* job writes images */
};

int sandbox_enter(const struct sandbox_policy *, char *err, size_t errlen);

/*
 * The lowest descriptor above every one open now, probing 0 .. max_fd:
 * where the next descriptor received will land.  Fails when a free
 * number lies below an open one (a received image would take it).
 */
int sandbox_fd_floor(int max_fd, int *floor, char *err, size_t errlen);

/*
 * Set the file size limit for a writing job's next guest run: the soft
 * limit to limit, at most the hard one, and with hard set the hard
 * limit too, which nothing in the sandbox can raise again.  Returns 0,
 * or -1 with err set.
 */
int sandbox_limit_fsize(uint64_t limit, bool hard, char *err, size_t errlen);

/*
 * fstat(2) through the fstat system call itself, the only form the
 * filter allows.  Returns 0, or -1 with errno set.
 */
int sandbox_fstat(int fd, struct stat *st);

#endif
