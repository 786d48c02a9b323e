/*
 * Which files another process holds open, as /proc shows them: how the
 * monitor tells that a worker has let go of every image.
 */
#ifndef INSTAR_MONITOR_PROC_FDS_H
#define INSTAR_MONITOR_PROC_FDS_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

struct file_id {
	dev_t dev;
	ino_t ino;
};

/* The identity of the file open on fd; -1 with errno if fstat fails. */
int	 file_id_of(int fd, struct file_id *);

/*
 * Whether process pid may hold a descriptor on one of the n files.
 * False only when its /proc/PID/fd was read through and none of them is
 * there; anything unclear (no /proc, a descriptor that cannot be looked
 * at, a process that cannot be seen) answers true.
 */
bool	 proc_may_hold(pid_t pid, const struct file_id *files, size_t n);

#endif /* INSTAR_MONITOR_PROC_FDS_H */
