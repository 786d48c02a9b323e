/*
 * What the worker's job handlers share: the connection, the VM and the
 * images attached for the next guest run.
 */
#ifndef INSTAR_WORKER_H
#define INSTAR_WORKER_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

#include "hypercall.h"
#include "image_info.h"
#include "instar.pb-c.h"
#include "vmm.h"
#include "write_limit.h"

struct stat;

/* Images remembered for write limits: two chains' worth. */
#define WORKER_KNOWN_MAX	(2 * INSTAR_MAX_DEVICES)

/* A file the worker inspected, by identity, and its validated layout. */
struct known_image {
	dev_t dev;
	ino_t ino;
	struct image_geometry geom;
};

struct worker {
	int sock;
	struct vmm *vm;
	uint32_t op;			/* enum instar_op of this job */
	bool may_write;			/* rebase, commit, check -r */
	bool dry_run;			/* rebase, commit: shadows only */
	uint64_t fsize_cap;		/* the file size limit inherited */
	uint32_t timeout_ms;
	uint32_t stop_after_writes;	/* tests only; 0: never */
	bool verbose;
	/* Images attached for the next run, device 0 first. */
	struct vmm_device devs[INSTAR_MAX_DEVICES];
	uint32_t dev_formats[INSTAR_MAX_DEVICES];
	struct {
		dev_t dev;
		ino_t ino;
	} dev_ids[INSTAR_MAX_DEVICES];
	uint32_t ndevs;
	struct known_image known[WORKER_KNOWN_MAX];
	size_t nknown;
	bool rebased;			/* a job changes images once */
};

/* wire.c */
void send_failure(int sock, const char *msg);
/* The same with a hint (NULL or empty for none). */
void send_failure_hint(int sock, const char *msg, const char *hint);
Instar__Format format_to_pb(uint32_t);
uint32_t format_from_pb(Instar__Format);
/*
 * What is wrong with a guest's result, or NULL: whole says it has the
 * size the job expects, invalid is its validator's verdict; a failure's
 * text must be fit to show (control characters are replaced).
 */
const char *result_problem(bool whole, const char *invalid, int32_t status,
    char *error, size_t size);
void send_malformed(struct worker *, const char *why);
/*
 * A run that failed: the guest's own reason when its result states one
 * plainly (it says it best), else the vmm's.
 */
void send_run_failure(struct worker *, bool whole, const char *invalid,
    int32_t status, char *error, size_t size, const char *vmm_err);

/* job_run.c */
/* What one guest run of a job needs beyond the attached devices. */
struct job_run {
	uint32_t op;
	const void *params;
	uint32_t params_len;
	void *result;
	size_t result_min;
	size_t result_len;
	uint64_t rate_limit;
};
/*
 * One guest run over the attached devices, progress passed on to the
 * monitor.  Returns vmm_run's verdict; *got is the result's length.
 */
int worker_run_guest(struct worker *, const struct job_run *, size_t *got,
    char *err, size_t errlen);

/*
 * fstat() the image open as fd; -1 unless it is a regular file, so that
 * its st_size is a length (>= 0).
 */
int worker_image_stat(int fd, struct stat *);

/*
 * Pass on an info job's result of got bytes: the image's info, or why it
 * could not be opened.  Returns whether the info went out.
 */
bool worker_report_info(struct worker *, struct instar_info_result *,
    size_t got);
/*
 * Run an info job on the image on fd and report it, as above; for_check
 * opens the image as a check does (INSTAR_OP_INFO_FOR_CHECK).
 */
bool worker_inspect(struct worker *, int fd, uint32_t format,
    bool for_check);

/* Take the image on fd as the next device; fatal if the job forbids it. */
void worker_attach(struct worker *, int fd, const Instar__AttachImage *);
/* Run the rebase or commit over the attached devices and report. */
void worker_rebase(struct worker *, const Instar__Rebase *);
void worker_commit(struct worker *, const Instar__Commit *);
/* Check (and repair) the one image attached since the last check. */
void worker_check(struct worker *, const Instar__Check *);
/*
 * Report the info of the image on fd and, if it opened, check it, in one
 * guest run; the image stays attached (worker_detach_all() closes it).
 */
void worker_info_check(struct worker *, int fd, uint32_t format,
    const Instar__Check *);
/* Close every attached image. */
void worker_detach_all(struct worker *);

/* Remember the validated info of the image behind st. */
void worker_remember(struct worker *, const struct stat *,
    const struct instar_image_info *);
/*
 * Set the next run's write limits: device grow_dev (or none, -1) may
 * take as much data as the largest virtual size of devices 0 .. ndata - 1
 * and grow to that size; every other writable device only its metadata,
 * or with rebuild (check -r all) as far as its format can address.  The
 * worker's file size limit becomes the largest of them, its hard limit
 * too with last_run.  Returns 0, or -1 with err set.
 */
int worker_limit_writes(struct worker *, int grow_dev, uint32_t ndata,
    bool rebuild, bool last_run, char *err, size_t errlen);

#endif
