/*
 * libFuzzer harness over the guest's raw DEFLATE decoder.  The first two
 * input bytes choose the output size, the rest is the stream.  The output
 * buffer is allocated to size, so ASan sees any write past it, and the
 * verdict and bytes must be zlib's, called as qemu calls it for a qcow2
 * compressed cluster.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "inflate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 0..32767 byte by byte, then up to 2 MiB, a qcow2 cluster's most. */
static size_t
out_size(const uint8_t *p)
{
	size_t v = (size_t)p[0] | (size_t)p[1] << 8;

	return v < 32768 ? v : (v - 32768 + 1) * 64;
}

static int
zlib_qemu(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	z_stream z;
	int ret;

	memset(&z, 0, sizeof(z));
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)in_len;
	z.next_out = out;
	z.avail_out = (uInt)out_len;
	if (inflateInit2(&z, -12) != Z_OK)
		abort();
	ret = inflate(&z, Z_FINISH);
	ret = (ret == Z_STREAM_END || ret == Z_BUF_ERROR) &&
	    z.avail_out == 0 ? 0 : -1;
	inflateEnd(&z);
	return ret;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *out, *ref;
	size_t out_len;
	int ret;

	if (size < 2)
		return 0;
	out_len = out_size(data);
	/* Exactly out_len bytes: not one more for a write to land in. */
	out = malloc(out_len);
	ref = malloc(out_len + 1);
	if ((out == NULL && out_len != 0) || ref == NULL)
		abort();
	ret = inflate_raw(data + 2, size - 2, out, out_len);
	if (ret != 0 && ret != -1)
		abort();
	if (zlib_qemu(data + 2, size - 2, ref, out_len) != ret)
		abort();
	if (ret == 0 && out_len != 0 && memcmp(out, ref, out_len) != 0)
		abort();
	free(out);
	free(ref);
	return 0;
}
