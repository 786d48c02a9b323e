/*
 * A raw DEFLATE decoder (RFC 1951) for qcow2 compressed clusters.  The
 * guest has no libc and may not use SSE, so it cannot link the host's
 * zlib; this is our own, small and bounded.  zlib stays the reference:
 * the tests hold this decoder to it.
 */
#ifndef INSTAR_FORMAT_INFLATE_H
#define INSTAR_FORMAT_INFLATE_H

#include "base.h"

/*
 * Decode one raw DEFLATE stream (no zlib or gzip wrapper) from
 * in[0..in_len) into out[0..out_len).  Returns 0 when the output buffer
 * has been filled exactly (out_len bytes produced), or -1 when it was not
 * filled: the input is malformed, runs out first, or the stream ends
 * first, or a match refers back before the start of the output.  Never
 * reads outside in[0..in_len) or writes outside out[0..out_len).
 *
 * This is what qemu's qcow2 zlib decompression accepts: it calls zlib's
 * inflate() once with Z_FINISH over a whole cluster and takes Z_STREAM_END
 * or Z_BUF_ERROR with the output full, because a compressed cluster is
 * read with the rest of its last sector (garbage) after it.  Like zlib,
 * decoding goes on past the point where the output is full until the next
 * byte would be produced, the stream ends or the input runs out; a
 * malformed block header or an invalid code met on the way is still an
 * error.  No window outlives the call, so distances reach only into out.
 */
int inflate_raw(const uint8_t *in, size_t in_len, uint8_t *out,
    size_t out_len);

#endif
