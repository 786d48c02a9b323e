/*
 * The worker's sandbox.  After this runs the process can talk to the
 * monitor over its socket, read (and, for writing jobs, write) the
 * descriptors it was given, run the vCPU, and little else; any other
 * system call kills it (SIGSYS).  It can open nothing by path, holds no
 * root uid, and sits in namespaces of its own where the kernel allows.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <linux/kvm.h>

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errbuf.h"
#include "sandbox.h"

/*
 * Who a worker started as root becomes: nobody.  A constant, not
 * getpwnam(): the name service may load modules or ask a directory
 * server, in a process still privileged and about to handle hostile
 * images.  65534 is nobody on every Linux distribution, and the kernel's
 * overflow id.
 */
#define SANDBOX_UID	65534
#define SANDBOX_GID	65534

/* Enough aligned blocks to tile any range of int descriptors. */
#define FD_BLOCKS_MAX	64

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * Namespaces of its own, the whole set tried first, then smaller ones:
 * the job needs none of what they take away, so a kernel that refuses
 * them costs only defence in depth, never the job.  Unprivileged, a
 * user namespace is what permits the others.  Root keeps its user
 * namespace: inside a new one no uid would be left to drop to.
 *
 * No network namespace: the filter allows no socket call but sendmsg
 * and recvmsg on the monitor's socket, so there is no network to take
 * away, and making one (a loopback device, its sysctls, its teardown
 * later) costs about 0.4 ms, over a tenth of a one-shot command.
 *
 * No PID namespace: unshare(CLONE_NEWPID) moves only the children of
 * the caller, and the worker can start none (its filter has no clone),
 * so it would guard nothing.  And it costs the job: x86 KVM starts the
 * VM's NX huge page recovery task on the first KVM_RUN (Linux 6.13 and
 * later), as a child of the caller in its PID namespace for children,
 * which has no init yet, so that KVM_RUN fails with EINVAL.
 */
static void
enter_namespaces(void)
{
	static const int sets[] = {
		CLONE_NEWNS | CLONE_NEWIPC,
		CLONE_NEWIPC,
		0,
	};
	int user = geteuid() == 0 ? 0 : CLONE_NEWUSER;
	size_t i;

	for (i = 0; i < nitems(sets); i++)
		if ((user | sets[i]) != 0 && unshare(user | sets[i]) == 0)
			break;
	/*
	 * Its new user namespace made the process undumpable.  It is still
	 * its user's, traceable and visible in /proc to that user as
	 * before; root's worker stays undumpable once it is nobody.
	 */
	if (user != 0 && i < nitems(sets))
		(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

/*
 * Started as root, become nobody before anything hostile is read: a
 * worker subverted through the vmm would otherwise act as root on
 * whatever the filter still lets it touch.  The images are open, and
 * their access was checked then, so they stay usable.  Not optional:
 * a root worker that cannot drop root does not run.
 */
static int
drop_root(char *err, size_t errlen)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) != 0) {
		errbuf_set(err, errlen, "getresuid: %s", strerror(errno));
		return -1;
	}
	if (ru != 0 && eu != 0 && su != 0)
		return 0;
	if (setgroups(0, NULL) != 0 ||
	    setresgid(SANDBOX_GID, SANDBOX_GID, SANDBOX_GID) != 0 ||
	    setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) != 0) {
		errbuf_set(err, errlen, "cannot drop root privileges: %s",
		    strerror(errno));
		return -1;
	}
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 ||
	    ru != SANDBOX_UID || eu != SANDBOX_UID || su != SANDBOX_UID ||
	    rg != SANDBOX_GID || eg != SANDBOX_GID || sg != SANDBOX_GID ||
	    setuid(0) == 0) {
		errbuf_set(err, errlen, "root privileges remain after "
		    "dropping them");
		return -1;
	}
	return 0;
}

/*
 * Clearing the bounding set needs CAP_SETPCAP, so it comes while the
 * process may still hold it: as root before the uid changes, or in its
 * new user namespace.  An unprivileged process without one cannot, and
 * with no_new_privs and no execve the bounding set cannot matter then.
 */
static void
drop_bounding_set(void)
{
	capng_clear(CAPNG_SELECT_BOTH);
	(void)capng_apply(CAPNG_SELECT_BOUNDS);
}

static int
drop_capabilities(char *err, size_t errlen)
{
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_apply(CAPNG_SELECT_CAPS) != 0) {
		errbuf_set(err, errlen, "cannot drop capabilities");
		return -1;
	}
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE) {
		errbuf_set(err, errlen, "capabilities remain after dropping");
		return -1;
	}
	return 0;
}

static int
set_limit(int resource, rlim_t value, const char *name, char *err,
    size_t errlen)
{
	struct rlimit rl = { value, value };

	if (setrlimit(resource, &rl) != 0) {
		errbuf_set(err, errlen,
		    "setrlimit %s: %s", name, strerror(errno));
		return -1;
	}
	return 0;
}

static int
lower_limits(const struct sandbox_policy *pol, char *err, size_t errlen)
{
	/*
	 * No RLIMIT_NPROC of 0: the filter refuses every way to start a
	 * process, and the kernel's own task for the VM (see
	 * enter_namespaces) counts against the limit, so with it the first
	 * KVM_RUN fails with EAGAIN, for ever, once the worker is nobody.
	 */
	if (set_limit(RLIMIT_NOFILE, (rlim_t)pol->max_fd + 1, "NOFILE", err,
	    errlen) != 0 ||
	    set_limit(RLIMIT_CORE, 0, "CORE", err, errlen) != 0)
		return -1;
	/* A read-only job cannot grow any file, whatever the guest asks. */
	if (!pol->may_write &&
	    set_limit(RLIMIT_FSIZE, 0, "FSIZE", err, errlen) != 0)
		return -1;
	return 0;
}

#define ALLOW(ctx, call, ...) \
	seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(call), __VA_ARGS__)

static int
allow_kvm(scmp_filter_ctx ctx, int vcpu_fd)
{
	static const unsigned long requests[] = {
		KVM_RUN, KVM_GET_SREGS, KVM_SET_SREGS, KVM_SET_REGS,
	};
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
		rc |= ALLOW(ctx, ioctl, 2,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)vcpu_fd, 0),
		    SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)requests[i], 0));
	return rc;
}

static int
allow_memory(scmp_filter_ctx ctx)
{
	int rc = 0;

	/*
	 * malloc, for protobuf-c; never executable memory, and never a
	 * file's: a mapping of an image would let writes outlast the
	 * descriptor, and the monitor takes a worker that holds no image
	 * descriptor for one that can no longer write (worker_finish()).
	 */
	rc |= ALLOW(ctx, brk, 0);
	rc |= ALLOW(ctx, mmap, 2, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0),
	    SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_ANONYMOUS, MAP_ANONYMOUS));
	rc |= ALLOW(ctx, munmap, 0);
	rc |= ALLOW(ctx, mremap, 0);
	/*
	 * Allocators give memory back, and keep huge pages and core dumps
	 * out of their regions (the sanitizer build's does, as a worker
	 * ends); only those pieces of advice.
	 */
	rc |= ALLOW(ctx, madvise, 1, SCMP_A2(SCMP_CMP_EQ, MADV_DONTNEED, 0));
	rc |= ALLOW(ctx, madvise, 1, SCMP_A2(SCMP_CMP_EQ, MADV_NOHUGEPAGE, 0));
	rc |= ALLOW(ctx, madvise, 1, SCMP_A2(SCMP_CMP_EQ, MADV_DONTDUMP, 0));
	/* Finding the guest memory to wipe between images. */
	rc |= ALLOW(ctx, mincore, 0);
	return rc;
}

/* One aligned block of descriptors: (fd & mask) == start. */
struct fd_block {
	scmp_datum_t mask;
	scmp_datum_t start;
};

/*
 * libseccomp compares an argument once per rule, so a range lo .. hi
 * becomes the aligned power-of-two blocks that tile it, each one masked
 * comparison.  The mask covers all 64 bits: a negative descriptor,
 * sign-extended, matches none.  Returns the number of blocks.
 */
static size_t
fd_blocks(int lo, int hi, struct fd_block *b, size_t max)
{
	uint64_t cur = (uint64_t)lo, end = (uint64_t)hi, size;
	size_t n = 0;

	while (lo >= 0 && cur <= end && n < max) {
		for (size = 1; cur % (size * 2) == 0 &&
		    cur + size * 2 - 1 <= end; size *= 2)
			;
		b[n].mask = ~(scmp_datum_t)(size - 1);
		b[n].start = cur;
		n++;
		cur += size;
	}
	return n;
}

/*
 * The file calls, on descriptors in the images' range only: never on
 * the socket, the VM's descriptors or standard error.
 */
static int
allow_file_calls(scmp_filter_ctx ctx, const struct sandbox_policy *pol)
{
	struct fd_block b[FD_BLOCKS_MAX];
	size_t n, i, j;
	int rc = 0;

	n = fd_blocks(pol->io_fd_min, pol->max_fd, b, nitems(b));
	if (n == 0)
		return -1;
#define IN(arg, k)	SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, b[k].mask, b[k].start)
	for (i = 0; i < n; i++) {
		rc |= ALLOW(ctx, pread64, 1, IN(0, i));
		/*
		 * Only the descriptor form: newfstatat, which glibc's
		 * fstat() uses, would look up a path the filter cannot see
		 * (see sandbox_fstat).
		 */
		rc |= ALLOW(ctx, fstat, 1, IN(0, i));
		if (!pol->may_write)
			continue;
		rc |= ALLOW(ctx, pwrite64, 1, IN(0, i));
		rc |= ALLOW(ctx, fdatasync, 1, IN(0, i));
		rc |= ALLOW(ctx, ftruncate, 1, IN(0, i));
		/* Only to start writeback early, never to wait on it. */
		rc |= ALLOW(ctx, sync_file_range, 2, IN(0, i),
		    SCMP_A3(SCMP_CMP_EQ, SYNC_FILE_RANGE_WRITE, 0));
		for (j = 0; j < n; j++)
			rc |= ALLOW(ctx, copy_file_range, 3, IN(0, i),
			    IN(2, j), SCMP_A5(SCMP_CMP_EQ, 0, 0));
	}
#undef IN
	return rc;
}

static int
allow_io(scmp_filter_ctx ctx, const struct sandbox_policy *pol)
{
	int rc = 0;

	rc |= ALLOW(ctx, sendmsg, 1,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)pol->sock, 0));
	rc |= ALLOW(ctx, recvmsg, 1,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)pol->sock, 0));
	rc |= ALLOW(ctx, write, 1, SCMP_A0(SCMP_CMP_EQ, 2, 0));
	rc |= ALLOW(ctx, close, 0);
	rc |= allow_file_calls(ctx, pol);
	if (pol->may_write) {
		/* A rate limit sleeps, relative and on the monotonic clock. */
		rc |= ALLOW(ctx, clock_nanosleep, 2,
		    SCMP_A0(SCMP_CMP_EQ, CLOCK_MONOTONIC, 0),
		    SCMP_A1(SCMP_CMP_EQ, 0, 0));
		/*
		 * Each run lowers its own file size limit to what its plan
		 * needs (sandbox_limit_fsize); without CAP_SYS_RESOURCE no
		 * hard limit can be raised.
		 */
		rc |= ALLOW(ctx, prlimit64, 2, SCMP_A0(SCMP_CMP_EQ, 0, 0),
		    SCMP_A1(SCMP_CMP_EQ, RLIMIT_FSIZE, 0));
	}
	return rc;
}

static int
allow_process(scmp_filter_ctx ctx)
{
	int rc = 0;

	rc |= ALLOW(ctx, exit_group, 0);
	rc |= ALLOW(ctx, exit, 0);
	rc |= ALLOW(ctx, rt_sigreturn, 0);
	rc |= ALLOW(ctx, setitimer, 0);
	rc |= ALLOW(ctx, clock_gettime, 0);
	return rc;
}

static int
load_filter(const struct sandbox_policy *pol, char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	int rc;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		errbuf_set(err, errlen, "seccomp_init failed");
		return -1;
	}
	rc = allow_kvm(ctx, pol->vcpu_fd) | allow_memory(ctx) |
	    allow_io(ctx, pol) | allow_process(ctx);
	if (rc != 0) {
		seccomp_release(ctx);
		errbuf_set(err, errlen, "cannot build the seccomp filter");
		return -1;
	}
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		errbuf_set(err, errlen, "cannot load the seccomp filter: %s",
		    strerror(-rc));
		return -1;
	}
	return 0;
}

int
sandbox_fstat(int fd, struct stat *st)
{
	/* On x86-64 the kernel's struct stat is glibc's. */
	return (int)syscall(SYS_fstat, fd, st);
}

int
sandbox_fd_floor(int max_fd, int *floor, char *err, size_t errlen)
{
	int fd, top = -1;

	for (fd = 0; fd <= max_fd; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			top = fd;
	for (fd = 0; fd < top; fd++)
		if (fcntl(fd, F_GETFD) == -1) {
			errbuf_set(err, errlen, "descriptor %d is free below "
			    "open descriptor %d", fd, top);
			return -1;
		}
	if (top >= max_fd) {
		errbuf_set(err, errlen, "no descriptors left for images");
		return -1;
	}
	*floor = top + 1;
	return 0;
}

int
sandbox_limit_fsize(uint64_t limit, bool hard, char *err, size_t errlen)
{
	struct rlimit cur, rl;

	if (prlimit(0, RLIMIT_FSIZE, NULL, &cur) != 0) {
		errbuf_set(err, errlen, "getrlimit FSIZE: %s", strerror(errno));
		return -1;
	}
	rl.rlim_cur = limit < (uint64_t)cur.rlim_max ? (rlim_t)limit :
	    cur.rlim_max;
	rl.rlim_max = hard ? rl.rlim_cur : cur.rlim_max;
	if (prlimit(0, RLIMIT_FSIZE, &rl, NULL) != 0) {
		errbuf_set(err, errlen, "setrlimit FSIZE: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
sandbox_enter(const struct sandbox_policy *pol, char *err, size_t errlen)
{
	/* A write past the file size limit then fails with EFBIG. */
	if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR) {
		errbuf_set(err, errlen, "SIGXFSZ: %s", strerror(errno));
		return -1;
	}
	enter_namespaces();
	drop_bounding_set();
	if (drop_root(err, errlen) != 0 ||
	    drop_capabilities(err, errlen) != 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		errbuf_set(err, errlen,
		    "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	if (lower_limits(pol, err, errlen) != 0)
		return -1;
	return load_filter(pol, err, errlen);
}
