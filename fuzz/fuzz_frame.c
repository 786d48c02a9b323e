/*
 * libFuzzer harness over the monitor-worker framing: a frame body from a
 * hostile peer must decode to a valid envelope or to nothing.
 */
#include <stdint.h>
#include <stdlib.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Instar__Envelope *env;
	size_t len;

	if (size >= 4)
		(void)frame_get_length(data, &len);
	env = frame_decode(data, size);
	if (env != NULL) {
		if (env->body_case == INSTAR__ENVELOPE__BODY__NOT_SET)
			abort();
		instar__envelope__free_unpacked(env, NULL);
	}
	return 0;
}
