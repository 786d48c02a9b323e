/*
 * instar-worker: exec'd by the monitor for one job, with its socket on
 * fd 3.  It builds the VM while it still may open /dev/kvm, reads the job,
 * locks itself down, and then serves images one at a time: each arrives
 * as a descriptor, is inspected by a fresh run of the guest, and the
 * checked result goes back to the monitor.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "frame.h"
#include "hypercall.h"
#include "image_info.h"
#include "image_info_check.h"
#include "log.h"
#include "sandbox.h"
#include "vmm.h"
#include "worker.h"

#define WORKER_SOCK_FD		3
/* No job may ask for a guest run longer than this. */
#define WORKER_TIMEOUT_MAX_MS	(60u * 60 * 1000)

_Static_assert(sizeof(struct instar_info_result) <= INSTAR_HC_RESULT_MAX,
    "an info result must fit the vmm's result cap");

extern const uint8_t instar_guest_image[];
extern const uint64_t instar_guest_image_size;

#ifdef INSTAR_SANITIZERS
/*
 * LeakSanitizer's exit-time scan needs threads and ptrace, which the
 * sandbox rightly forbids; the sanitizer build checks leaks elsewhere.
 */
const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

int
worker_image_stat(int fd, struct stat *st)
{
	if (sandbox_fstat(fd, st) != 0 || !S_ISREG(st->st_mode) ||
	    st->st_size < 0)
		return -1;
	return 0;
}

void
send_failure(int sock, const char *msg)
{
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__Failure fail = INSTAR__FAILURE__INIT;

	fail.message = (char *)msg;
	env.body_case = INSTAR__ENVELOPE__BODY_FAILURE;
	env.failure = &fail;
	if (frame_send(sock, &env, NULL, 0) != 0)
		fatal_f("cannot reach the monitor: %s", strerror(errno));
}

static void
send_ready(int sock)
{
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__Ready ready = INSTAR__READY__INIT;

	env.body_case = INSTAR__ENVELOPE__BODY_READY;
	env.ready = &ready;
	if (frame_send(sock, &env, NULL, 0) != 0)
		fatal_f("cannot reach the monitor: %s", strerror(errno));
}

static Instar__Format
format_to_pb(uint32_t fmt)
{
	switch (fmt) {
	case INSTAR_FMT_QCOW2:
		return INSTAR__FORMAT__FORMAT_QCOW2;
	case INSTAR_FMT_VMDK:
		return INSTAR__FORMAT__FORMAT_VMDK;
	default:
		return INSTAR__FORMAT__FORMAT_RAW;
	}
}

uint32_t
format_from_pb(Instar__Format fmt)
{
	switch (fmt) {
	case INSTAR__FORMAT__FORMAT_QCOW2:
		return INSTAR_FMT_QCOW2;
	case INSTAR__FORMAT__FORMAT_VMDK:
		return INSTAR_FMT_VMDK;
	case INSTAR__FORMAT__FORMAT_RAW:
		return INSTAR_FMT_RAW;
	default:
		return INSTAR_FMT_PROBE;
	}
}

/*
 * The snapshot list of a validated result as protobuf messages pointing
 * into it.  Static: the list may hold thousands of entries.
 */
static size_t
snapshots_to_pb(const struct instar_info_result *res, Instar__Snapshot ***out)
{
	static Instar__Snapshot pb[INSTAR_SNAP_COUNT_MAX];
	static Instar__Snapshot *ptrs[INSTAR_SNAP_COUNT_MAX];
	struct instar_snapshot sn;
	size_t pos = 0, i;

	for (i = 0; i < res->nsnapshots && i < INSTAR_SNAP_COUNT_MAX; i++) {
		if (image_info_snapshot_next(res->snapshots,
		    res->snapshots_len, &pos, &sn) != 0)
			break;
		instar__snapshot__init(&pb[i]);
		pb[i].id.data = (uint8_t *)sn.id;
		pb[i].id.len = sn.hdr.id_len;
		pb[i].name.data = (uint8_t *)sn.name;
		pb[i].name.len = sn.hdr.name_len;
		pb[i].vm_state_size = sn.hdr.vm_state_size;
		pb[i].date_sec = sn.hdr.date_sec;
		pb[i].date_nsec = sn.hdr.date_nsec;
		pb[i].vm_clock_nsec = sn.hdr.vm_clock_nsec;
		pb[i].has_icount = sn.hdr.icount != INSTAR_SNAP_ICOUNT_NONE;
		pb[i].icount = sn.hdr.icount;
		ptrs[i] = &pb[i];
	}
	*out = ptrs;
	return i;
}

/* Send a validated result; its record's strings are NUL-terminated. */
static void
send_info(int sock, struct instar_info_result *res)
{
	Instar__Envelope env = INSTAR__ENVELOPE__INIT;
	Instar__ImageInfo info = INSTAR__IMAGE_INFO__INIT;
	Instar__Qcow2Info q = INSTAR__QCOW2_INFO__INIT;
	Instar__VmdkInfo v = INSTAR__VMDK_INFO__INIT;
	struct instar_image_info *in = &res->info;

	info.format = format_to_pb(in->format);
	info.virtual_size = in->virtual_size;
	info.has_cluster_size = (in->flags & IMG_HAS_CLUSTER_SIZE) != 0;
	info.cluster_size = in->cluster_size;
	if (in->flags & IMG_HAS_BACKING) {
		info.has_backing_filename = 1;
		info.backing_filename.data = (uint8_t *)in->backing_name;
		info.backing_filename.len = strlen(in->backing_name);
	}
	if (in->flags & IMG_HAS_BACKING_FMT)
		info.backing_format = in->backing_format;
	info.dirty = (in->flags & IMG_DIRTY) != 0;
	if (in->format == INSTAR_FMT_QCOW2) {
		q.version = in->qcow2_version;
		q.refcount_bits = in->refcount_bits;
		q.compression_type = in->compression_type ==
		    IMG_COMPRESSION_ZSTD ? "zstd" : "zlib";
		q.lazy_refcounts = (in->flags & IMG_LAZY_REFCOUNTS) != 0;
		q.corrupt = (in->flags & IMG_CORRUPT) != 0;
		q.extended_l2 = (in->flags & IMG_EXTENDED_L2) != 0;
		q.encrypted = (in->flags & IMG_ENCRYPTED) != 0;
		q.data_file_raw = (in->flags & IMG_DATA_FILE_RAW) != 0;
		if (in->flags & IMG_HAS_DATA_FILE) {
			q.has_data_file = 1;
			q.data_file.data = (uint8_t *)in->data_file;
			q.data_file.len = strlen(in->data_file);
		}
		info.qcow2 = &q;
	} else if (in->format == INSTAR_FMT_VMDK) {
		v.cid = in->vmdk_cid;
		v.parent_cid = in->vmdk_parent_cid;
		v.create_type = in->create_type;
		v.compressed = (in->flags & IMG_VMDK_COMPRESSED) != 0;
		info.vmdk = &v;
	}
	info.n_snapshots = snapshots_to_pb(res, &info.snapshots);
	env.body_case = INSTAR__ENVELOPE__BODY_IMAGE_INFO;
	env.image_info = &info;
	if (frame_send(sock, &env, NULL, 0) != 0)
		fatal_f("cannot reach the monitor: %s", strerror(errno));
}

bool
worker_report_info(struct worker *w, struct instar_info_result *res,
    size_t got)
{
	char err[512];
	const char *why;

	if (res->status != 0) {
		if ((why = image_info_sanitize_error(res->error,
		    sizeof(res->error))) != NULL) {
			snprintf(err, sizeof(err), "sandbox returned a "
			    "malformed error (%s)", why);
			send_failure(w->sock, err);
		} else
			send_failure(w->sock, res->error);
		return false;
	}
	if ((why = image_info_validate_result(res, got)) != NULL) {
		snprintf(err, sizeof(err), "sandbox returned a malformed "
		    "result (%s)", why);
		send_failure(w->sock, err);
		return false;
	}
	send_info(w->sock, res);
	return true;
}

bool
worker_inspect(struct worker *w, int fd, uint32_t format)
{
	static struct instar_info_result res;
	struct vmm_device dev;
	struct vmm_job job;
	struct stat st;
	char err[512];
	size_t got = 0;

	if (worker_image_stat(fd, &st) != 0) {
		send_failure(w->sock, "not a regular file");
		return false;
	}
	memset(&dev, 0, sizeof(dev));
	dev.fd = fd;
	dev.size = (uint64_t)st.st_size;
	memset(&job, 0, sizeof(job));
	job.op = INSTAR_OP_INFO;
	job.format = format;
	job.devs = &dev;
	job.ndevs = 1;
	job.timeout_ms = w->timeout_ms;
	job.result = &res;
	job.result_min = INSTAR_INFO_RESULT_MIN;
	job.result_len = sizeof(res);
	job.result_got = &got;
	job.verbose = w->verbose;
	/* No memset: vmm_run fills res and zeroes what the guest did not. */
	if (vmm_run(w->vm, &job, err, sizeof(err)) != 0) {
		send_failure(w->sock, err);
		return false;
	}
	if (!worker_report_info(w, &res, got))
		return false;
	/* What a writing job may later do to this file follows from it. */
	worker_remember(w, &st, &res.info);
	return true;
}

static Instar__Envelope *
receive(struct worker *w, int *fds, size_t maxfds, size_t *nfds)
{
	Instar__Envelope *env;
	const char *why;

	env = frame_recv(w->sock, -1, fds, maxfds, nfds, &why);
	if (env == NULL) {
		/* The monitor going away is how a job normally ends early. */
		if (strcmp(why, "peer closed the connection") == 0)
			exit(0);
		fatal("bad frame from the monitor: %s", why);
	}
	return env;
}

/* Serve images until the monitor says Done. */
static void
serve(struct worker *w)
{
	for (;;) {
		Instar__Envelope *env;
		int fds[INSTAR_FRAME_FDS_MAX];
		size_t nfds;

		env = receive(w, fds, 1, &nfds);
		switch (env->body_case) {
		case INSTAR__ENVELOPE__BODY_ATTACH_IMAGE:
			if (nfds != 1)
				fatal("attach request without a descriptor");
			worker_attach(w, fds[0], env->attach_image);
			break;
		case INSTAR__ENVELOPE__BODY_REBASE:
			if (nfds != 0)
				fatal("unexpected descriptor with a rebase");
			worker_rebase(w, env->rebase);
			worker_detach_all(w);
			break;
		case INSTAR__ENVELOPE__BODY_COMMIT:
			if (nfds != 0)
				fatal("unexpected descriptor with a commit");
			worker_commit(w, env->commit);
			worker_detach_all(w);
			break;
		case INSTAR__ENVELOPE__BODY_CHECK:
			if (nfds != 0)
				fatal("unexpected descriptor with a check");
			worker_check(w, env->check);
			/* The next Check takes the next image. */
			worker_detach_all(w);
			break;
		case INSTAR__ENVELOPE__BODY_OPEN_IMAGE:
			if (nfds != 1)
				fatal("image request without a descriptor");
			if (env->open_image->check != NULL) {
				worker_info_check(w, fds[0],
				    format_from_pb(env->open_image->format),
				    env->open_image->check);
				worker_detach_all(w);
				break;
			}
			(void)worker_inspect(w, fds[0],
			    format_from_pb(env->open_image->format));
			close(fds[0]);
			break;
		case INSTAR__ENVELOPE__BODY_DONE:
			instar__envelope__free_unpacked(env, NULL);
			return;
		default:
			fatal("unexpected message %d from the monitor",
			    (int)env->body_case);
		}
		instar__envelope__free_unpacked(env, NULL);
	}
}

static void
check_socket(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
		fatal("this program is started by instar, not by hand");
}

/* What the Job message says: the operation, and whether it may write. */
static void
take_job(struct worker *w, const Instar__Job *job)
{
	switch (job->op) {
	case INSTAR__OP__OP_INFO:
		w->op = INSTAR_OP_INFO;
		break;
	case INSTAR__OP__OP_REBASE:
		w->op = INSTAR_OP_REBASE;
		w->may_write = true;
		break;
	case INSTAR__OP__OP_COMMIT:
		w->op = INSTAR_OP_COMMIT;
		w->may_write = true;
		break;
	case INSTAR__OP__OP_CHECK:
		w->op = INSTAR_OP_CHECK;
		break;
	case INSTAR__OP__OP_CHECK_REPAIR:
		w->op = INSTAR_OP_CHECK;
		w->may_write = true;
		break;
	default:
		fatal("unknown job %d", (int)job->op);
	}
	/* A dry run writes nothing: its filter is a reader's. */
	if (job->has_dry_run && job->dry_run) {
		if (w->op != INSTAR_OP_REBASE && w->op != INSTAR_OP_COMMIT)
			fatal("only a rebase or a commit can be dry-run");
		w->dry_run = true;
		w->may_write = false;
	}
	w->timeout_ms = job->guest_timeout_ms;
	if (job->has_test_stop_after_writes)
		w->stop_after_writes = job->test_stop_after_writes;
	if (w->timeout_ms == 0 || w->timeout_ms > WORKER_TIMEOUT_MAX_MS)
		w->timeout_ms = WORKER_TIMEOUT_MAX_MS;
}

/*
 * Lock the worker down for its job.  Only a job that changes an image
 * may write at all (each device's writable flag stays enforced by the
 * vmm), and file I/O only on the descriptors images arrive in: the
 * numbers above every one open now, up to the descriptor limit.
 */
static int
confine(struct worker *w, char *err, size_t errlen)
{
	struct sandbox_policy pol;
	struct rlimit rl;

	memset(&pol, 0, sizeof(pol));
	pol.sock = w->sock;
	pol.vcpu_fd = vmm_vcpu_fd(w->vm);
	/* Room for the VM's descriptors plus the images of one job. */
	pol.max_fd = pol.vcpu_fd + INSTAR_MAX_DEVICES + INSTAR_FRAME_FDS_MAX + 1;
	pol.may_write = w->may_write;
	if (getrlimit(RLIMIT_FSIZE, &rl) != 0) {
		errbuf_set(err, errlen, "getrlimit FSIZE: %s", strerror(errno));
		return -1;
	}
	w->fsize_cap = (uint64_t)rl.rlim_cur;
	if (sandbox_fd_floor(pol.max_fd, &pol.io_fd_min, err, errlen) != 0)
		return -1;
	return sandbox_enter(&pol, err, errlen);
}

int
main(int argc, char **argv)
{
	struct worker w;
	Instar__Envelope *env;
	char err[512];
	size_t nfds;

	(void)argv;
	log_init("instar-worker");
	if (argc != 1)
		fatal("usage: instar-worker (started by instar)");
	check_socket(WORKER_SOCK_FD);
	/* Nothing the monitor did not hand over on purpose. */
	if (close_range(WORKER_SOCK_FD + 1, ~0u, 0) != 0)
		fatal_f("close_range: %s", strerror(errno));
	memset(&w, 0, sizeof(w));
	w.sock = WORKER_SOCK_FD;
	w.vm = vmm_open(instar_guest_image, (size_t)instar_guest_image_size,
	    err, sizeof(err));
	if (w.vm == NULL) {
		send_failure(w.sock, err);
		return 1;
	}
	env = receive(&w, NULL, 0, &nfds);
	if (env->body_case != INSTAR__ENVELOPE__BODY_JOB)
		fatal("the first message must be a job");
	take_job(&w, env->job);
	instar__envelope__free_unpacked(env, NULL);
	if (confine(&w, err, sizeof(err)) != 0) {
		send_failure(w.sock, err);
		return 1;
	}
	send_ready(w.sock);
	serve(&w);
	vmm_close(w.vm);
	return 0;
}
