/*
 * qemu's size_to_str() (util/cutils.c), reproduced to the bit: the unit
 * choice uses frexp() on val * 1024 / 1000 so that a value that would
 * print as 1000 or more in one unit moves up to the next unit.
 */
#include <math.h>
#include <stdio.h>

#include "sizestr.h"

int
size_to_str(char *buf, size_t len, uint64_t val)
{
	static const char *const suffixes[] = {
		"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"
	};
	uint64_t div;
	int i, r;

	/*
	 * The exponent minus one is floor(log2(val * 1024 / 1000)); qemu
	 * divides by (1000.0 / 1024.0) in double precision, so do we.
	 * For val 0 frexp() yields 0 and (0 - 1) / 10 truncates to 0.
	 */
	frexp((double)val / (1000.0 / 1024.0), &i);
	i = (i - 1) / 10;
	if (i < 0 || i >= (int)(sizeof(suffixes) / sizeof(suffixes[0])))
		return -1;	/* cannot happen for a uint64_t */
	div = 1ULL << (i * 10);
	r = snprintf(buf, len, "%0.3g %sB", (double)val / (double)div,
	    suffixes[i]);
	if (r < 0 || (size_t)r >= len)
		return -1;
	return 0;
}
