/*
 * The monitor's side of the worker: start it, speak the protocol, and
 * turn every way it can fail into one clear sentence.
 */
#ifndef INSTAR_WORKER_CLIENT_H
#define INSTAR_WORKER_CLIENT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "instar.pb-c.h"

enum worker_state {
	WS_STARTING,		/* job sent, waiting for Ready */
	WS_IDLE,		/* nothing outstanding */
	WS_AWAIT_INFO,		/* image sent, waiting for its info */
	WS_RELEASED,		/* told it is done; not yet reaped */
	WS_DEAD,
};

struct worker_conn {
	pid_t pid;
	int sock;
	enum worker_state state;
	int reply_timeout_ms;
	char error[1024];	/* why the last call failed */
};

int worker_start(struct worker_conn *, Instar__Op, uint32_t guest_timeout_ms);

/*
 * Ask for the facts about the image open on fd.  Returns the envelope
 * (its image_info is set; free with instar__envelope__free_unpacked), or
 * NULL with conn->error set.  *image_error tells whether the failure was
 * about the image (the worker carries on) or about the worker itself.
 */
Instar__Envelope *worker_image_info(struct worker_conn *, int fd,
    Instar__Format, int *image_error);

/*
 * Tell the worker it is done (worker_release), and reap it (worker_wait:
 * 0 if it exited cleanly).  Between the two the caller may print what the
 * worker sent, rather than wait for the VM to be torn down first.
 * worker_finish does both.
 */
int worker_release(struct worker_conn *);
int worker_wait(struct worker_conn *);
int worker_finish(struct worker_conn *);

/* Kill and reap a worker after a failure. */
void worker_abort(struct worker_conn *);

#endif
