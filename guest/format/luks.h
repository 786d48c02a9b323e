/*
 * The LUKS (version 1) header a qcow2 image's encryption extension
 * points at.  "qemu-img info" describes it without a key, after the
 * same checks qemu's crypto/block-luks.c makes; see the LUKS1 on-disk
 * format specification.
 */
#ifndef INSTAR_LUKS_H
#define INSTAR_LUKS_H

#include "format.h"

#define LUKS_HDR_LEN		592	/* up to the key material */

/*
 * Check hdr as qcrypto_block_luks_check_header() does, then parse its
 * cipher specification as qcrypto_block_luks_parse_header() does, into
 * out.  Returns 0, or -1 with qemu's error in err.
 */
int luks_parse(const uint8_t hdr[LUKS_HDR_LEN], struct instar_luks_info *out,
    struct fmt_err *err);

#endif
