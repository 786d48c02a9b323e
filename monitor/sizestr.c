/*
 * qemu's size_to_str() (util/cutils.c), reproduced to the bit: the unit
 * choice uses frexp() on val * 1024 / 1000 so that a value that would
 * print as 1000 or more in one unit moves up to the next unit.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The multiplier a size suffix stands for, or 0 if c is none. */
static uint64_t
suffix_mul(char c)
{
	switch (toupper((unsigned char)c)) {
	case 'B':
		return 1;
	case 'K':
		return 1ULL << 10;
	case 'M':
		return 1ULL << 20;
	case 'G':
		return 1ULL << 30;
	case 'T':
		return 1ULL << 40;
	case 'P':
		return 1ULL << 50;
	case 'E':
		return 1ULL << 60;
	default:
		return 0;
	}
}

/*
 * do_strtosz() step by step, keeping its quirks: the fraction is held
 * as 64-bit fixed point and the product rounded half up, "1.k" is 1 KiB,
 * an exponent is refused, a suffix on a hexadecimal number is
 * deprecated, and trailing characters turn any failure (even an
 * overflow) into -EINVAL.
 */
int
size_parse(const char *nptr, uint64_t *result, bool *hex_suffix)
{
	const char *end;
	char *ep;
	uint64_t val, valf = 0, mul;
	unsigned __int128 whole, part;
	double fraction;
	int ret = -EINVAL;

	*hex_suffix = false;
	bool hex = false;

	errno = 0;
	val = strtoull(nptr, &ep, 10);
	end = ep;
	if (errno == ERANGE) {
		ret = -ERANGE;
		goto out;
	}
	if (end == nptr)
		goto out;
	if (memchr(nptr, '-', (size_t)(end - nptr)) != NULL) {
		end = nptr;
		goto out;
	}
	if (val == 0 && (*end == 'x' || *end == 'X')) {
		errno = 0;
		val = strtoull(nptr, &ep, 16);
		end = ep;
		if (errno == ERANGE) {
			ret = -ERANGE;
			goto out;
		}
		if (*end == '.') {
			end = nptr;
			goto out;
		}
		hex = true;
	} else if (*end == '.') {
		const char *f = end;

		errno = 0;
		fraction = strtod(f, &ep);
		if (ep == f || !isfinite(fraction) || errno != 0)
			end = f + 1;	/* "1." and "1.k" */
		else if (memchr(f, 'e', (size_t)(ep - f)) != NULL ||
		    memchr(f, 'E', (size_t)(ep - f)) != NULL) {
			end = nptr;
			goto out;
		} else {
			end = ep;
			/* 0 <= fraction < 1; scaled into 64.64 fixed point. */
			valf = fraction * 0x1p64 >= 0x1p64 ? UINT64_MAX :
			    (uint64_t)(fraction * 0x1p64);
		}
	}
	if ((mul = suffix_mul(*end)) != 0) {
		end++;
		*hex_suffix = hex;
	} else
		mul = 1;
	if (mul == 1) {
		if (valf != 0) {
			end = nptr;
			goto out;
		}
	} else {
		whole = (unsigned __int128)val * mul;
		part = (unsigned __int128)valf * mul;
		whole += part >> 64;
		whole += (uint64_t)part >> 63;	/* round half up */
		if (whole >> 64 != 0) {
			ret = -ERANGE;
			goto out;
		}
		val = (uint64_t)whole;
	}
	ret = 0;
 out:
	if (*end != '\0')
		ret = -EINVAL;
	if (ret == 0)
		*result = val;
	return ret;
}
