/*
 * Human-readable sizes as qemu prints them ("1.25 MiB", "196 KiB").
 */
#ifndef INSTAR_MONITOR_SIZESTR_H
#define INSTAR_MONITOR_SIZESTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest result, "1.02e+03 KiB"-style worst cases included. */
#define SIZE_STR_MAX	32

/*
 * Format val as util/cutils.c size_to_str() does: "%0.3g %sB" with a
 * binary unit.  Returns 0, or -1 if buf (len bytes) is too small.
 */
int	size_to_str(char *buf, size_t len, uint64_t val);

/*
 * Parse a size as util/cutils.c qemu_strtosz() does: decimal bytes with
 * an optional suffix B, K, M, G, T, P or E (either case, powers of
 * 1024), a decimal fraction only with a suffix other than B, or a
 * hexadecimal number (0x...) without a fraction.  Nothing may follow.
 * Returns 0, -EINVAL for a malformed size or -ERANGE for one that does
 * not fit in 64 bits.  *hex_suffix tells whether a hexadecimal number
 * had a suffix, which qemu 7.2 accepts but warns is deprecated (it
 * warns as soon as it sees one, even if the size is then refused).
 */
int	size_parse(const char *, uint64_t *, bool *hex_suffix);

#endif /* INSTAR_MONITOR_SIZESTR_H */
