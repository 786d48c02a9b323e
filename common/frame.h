/*
 * Length-prefixed protobuf frames over a socketpair, with optional
 * descriptors passed alongside (SCM_RIGHTS).
 */
#ifndef INSTAR_FRAME_H
#define INSTAR_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "instar.pb-c.h"

/* Largest frame either side accepts; checked before allocating. */
#define INSTAR_FRAME_MAX	(256u * 1024)
/* Most descriptors one frame may carry. */
#define INSTAR_FRAME_FDS_MAX	4

/*
 * Send one envelope and up to INSTAR_FRAME_FDS_MAX descriptors.
 * Returns 0, or -1 with errno set.
 */
int frame_send(int sock, const Instar__Envelope *env, const int *fds,
    size_t nfds);

/*
 * Receive one envelope.  Descriptors that arrive with it are stored in
 * fds[0..*nfds) (at most maxfds; any more close the frame as an error).
 * timeout_ms < 0 waits forever.  Returns the unpacked envelope (free with
 * instar__envelope__free_unpacked), or NULL with *why set to a static
 * description of what went wrong.
 */
Instar__Envelope *frame_recv(int sock, int timeout_ms, int *fds,
    size_t maxfds, size_t *nfds, const char **why);

/* Decode a frame body already in memory; NULL if it is not an envelope. */
Instar__Envelope *frame_decode(const uint8_t *buf, size_t len);

/* Encode the 4-byte length prefix; -1 if len exceeds INSTAR_FRAME_MAX. */
int frame_put_length(uint8_t hdr[4], size_t len);
/* Decode the prefix; -1 if it exceeds INSTAR_FRAME_MAX or is zero. */
int frame_get_length(const uint8_t hdr[4], size_t *len);

#endif
