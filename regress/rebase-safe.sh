# A safe instar rebase keeps what the overlay reads, whatever the shapes
# of the old and new chains: the result reads as before, as qemu-img's
# result reads, checks clean, and qemu-img info agrees with qemu-img's.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/rebase-lib.sh"

# A three-layer chain with data in every layer, some of it overlapping.
qimg create -f qcow2 base.qcow2 16M
qio -c 'write -P 0x11 0 4M' -c 'write -P 0x12 8M 2M' base.qcow2
qimg create -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2
qio -c 'write -P 0x21 1M 2M' -c 'write -P 0x22 12M 64k' \
    -c 'write -P 0x23 9M 4k' mid.qcow2
qimg create -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2
qio -c 'write -P 0x31 2M 512k' -c 'write -P 0x32 15M 1M' top.qcow2

# Drop the middle layer: the new backing is part of the old chain.
twin_rebase "drop the middle layer" top.qcow2 -b base.qcow2 -F qcow2
# Keep the chain as it is.
twin_rebase "onto the same backing" top.qcow2 -b mid.qcow2 -F qcow2

# An unrelated new base with data of its own, partly equal to the old.
qimg create -f qcow2 other.qcow2 16M
qio -c 'write -P 0x11 0 1M' -c 'write -P 0x44 4M 4M' \
    -c 'write -P 0x12 8M 1M' other.qcow2
twin_rebase "unrelated new base" top.qcow2 -b other.qcow2 -F qcow2
# The same, without -F: instar probes, qemu-img 7.2 needs -F.
QEMU_EXTRA="-F qcow2" twin_rebase "no -F" top.qcow2 -b other.qcow2

# Detach: everything the old chain provides moves into the overlay.
twin_rebase "detach" top.qcow2 -b ""
twin_rebase "detach, no backing before" base.qcow2 -b ""

# A raw new backing, with and without -F.
qimg create -f raw new.raw 16M
qio -f raw -c 'write -P 0x11 0 2M' -c 'write -P 0x55 6M 1M' new.raw
twin_rebase "raw new backing" top.qcow2 -b new.raw -F raw
QEMU_EXTRA="-F raw" twin_rebase "raw new backing, probed" top.qcow2 \
    -b new.raw

# A new backing with its own two-layer chain (qcow2 over qcow2 over raw).
qimg create -f raw nbase.raw 16M
qio -f raw -c 'write -P 0x61 0 8M' nbase.raw
qimg create -f qcow2 -b nbase.raw -F raw nmid.qcow2
qio -c 'write -P 0x11 0 1M' nmid.qcow2
qimg create -f qcow2 -b nmid.qcow2 -F qcow2 ntop.qcow2
qio -c 'write -P 0x21 1M 1M' ntop.qcow2
twin_rebase "new backing with a chain" top.qcow2 -b ntop.qcow2 -F qcow2
# A VMDK chain as the new backing.
qimg create -f vmdk vbase.vmdk 16M
qio -f vmdk -c 'write -P 0x11 0 3M' vbase.vmdk
qimg create -f vmdk -b vbase.vmdk -F vmdk vtop.vmdk
qio -f vmdk -c 'write -P 0x71 5M 1M' vtop.vmdk
twin_rebase "vmdk new chain" top.qcow2 -b vtop.vmdk -F vmdk

# Backings smaller and larger than the overlay.
qimg create -f qcow2 small.qcow2 6M
qio -c 'write -P 0x11 0 3M' small.qcow2
qimg create -f qcow2 big.qcow2 64M
qio -c 'write -P 0x11 0 4M' -c 'write -P 0x81 20M 1M' \
    -c 'write -P 0x82 63M 1M' big.qcow2
twin_rebase "onto a smaller backing" top.qcow2 -b small.qcow2 -F qcow2
twin_rebase "onto a larger backing" top.qcow2 -b big.qcow2 -F qcow2
qimg create -f qcow2 -b small.qcow2 -F qcow2 oversmall.qcow2 16M
qio -c 'write -P 0x91 7M 1M' oversmall.qcow2
twin_rebase "overlay larger than its old backing" oversmall.qcow2 \
    -b big.qcow2 -F qcow2
twin_rebase "unsafe, overlay larger than both" oversmall.qcow2 -b small.qcow2 \
    -F qcow2 -u
qimg create -f qcow2 -b big.qcow2 -F qcow2 overbig.qcow2 10M
twin_rebase "overlay smaller than its old backing" overbig.qcow2 \
    -b small.qcow2 -F qcow2
twin_rebase "overlay smaller, detach" overbig.qcow2 -b ""

# Zero and discarded clusters in the overlay and the backings.
qimg create -f qcow2 zb.qcow2 16M
qio -c 'write -P 0x11 0 16M' zb.qcow2
qimg create -f qcow2 -b zb.qcow2 -F qcow2 zm.qcow2
qio -c 'write -z 1M 1M' -c 'write -P 0x22 4M 1M' -c 'discard 4M 512k' \
    -c 'write -z -u 8M 1M' zm.qcow2
qimg create -f qcow2 -b zm.qcow2 -F qcow2 zt.qcow2
qio -c 'write -z 2M 64k' -c 'write -P 0x33 3M 1M' -c 'discard 3M 128k' \
    zt.qcow2
twin_rebase "zeros and discards, drop middle" zt.qcow2 -b zb.qcow2 \
    -F qcow2
twin_rebase "zeros and discards, detach" zt.qcow2 -b ""
qimg create -f qcow2 empty.qcow2 16M
twin_rebase "zeros and discards, onto empty" zt.qcow2 -b empty.qcow2 \
    -F qcow2
# The same in a v2 chain (no zero flag: zeros are written as data).
qimg create -f qcow2 -o compat=0.10 zb2.qcow2 16M
qio -c 'write -P 0x11 0 16M' zb2.qcow2
qimg create -f qcow2 -o compat=0.10 -b zb2.qcow2 -F qcow2 zt2.qcow2
qio -c 'write -z 1M 1M' -c 'write -P 0x33 3M 1M' zt2.qcow2
twin_rebase "v2 zeros, detach" zt2.qcow2 -b ""
twin_rebase "v2 zeros, onto empty" zt2.qcow2 -b empty.qcow2 -F qcow2

# A compressed old backing.
qimg create -f qcow2 plainbase.qcow2 16M
qio -c 'write -P 0x11 0 5M' -c 'write -P 0xa5 9M 3M' plainbase.qcow2
qimg convert -c -O qcow2 plainbase.qcow2 cbase.qcow2
qimg create -f qcow2 -b cbase.qcow2 -F qcow2 ctop.qcow2
qio -c 'write -P 0x33 4M 1M' ctop.qcow2
twin_rebase "compressed old backing, detach" ctop.qcow2 -b ""
twin_rebase "compressed old backing, new base" ctop.qcow2 -b other.qcow2 \
    -F qcow2
# Compressed clusters in the overlay itself count as allocated.
qimg convert -c -O qcow2 -B base.qcow2 -F qcow2 top.qcow2 ctop2.qcow2
twin_rebase "compressed overlay" ctop2.qcow2 -b other.qcow2 -F qcow2

# The overlay's backing chain written before its header named it: an
# old backing with a relative name in another directory.
mkdir -p sub
qimg create -f qcow2 -b ../base.qcow2 -F qcow2 sub/top.qcow2
qio -c 'write -P 0x31 0 64k' sub/top.qcow2
twin_rebase "chain across directories" sub/top.qcow2 -b ../other.qcow2 \
    -F qcow2

# An overlay with no backing file, rebased onto one that holds data:
# the zeros it read are written where the new backing differs.  v3
# records them as zero clusters, as qemu-img does.  In a v2 overlay
# instar writes zero-filled clusters; qemu-img 7.2 writes its zeros
# while the overlay has no backing file yet, which v2 turns into
# unallocated clusters, which then read the new backing: it is no
# reference there (instar-rebase(1), COMPATIBILITY; found by
# regress/difffuzz).
qimg create -f qcow2 full.qcow2 8M
qio -c 'write -P 0x77 0 8M' full.qcow2
qimg create -f qcow2 lone3.qcow2 8M
qio -c 'write -P 0x51 1M 64k' -c 'write -P 0x52 5000k 3k' lone3.qcow2
twin_rebase "v3, no backing before" lone3.qcow2 -b full.qcow2 -F qcow2
qimg create -f qcow2 -o compat=0.10 lone.qcow2 8M
qio -c 'write -P 0x51 1M 64k' -c 'write -P 0x52 5000k 3k' lone.qcow2
cp lone.qcow2 lone.q.qcow2 && cp lone.qcow2 lone.i.qcow2 || fail "lone: copy"
flatten lone.qcow2 "$WORK/.lone.raw"
"$INSTAR" rebase -b full.qcow2 -F qcow2 lone.i.qcow2
check $? "v2, no backing before: instar rebase failed"
compare_images "v2, no backing before: against the content before" \
    "$WORK/.lone.raw" lone.i.qcow2
check_clean "v2, no backing before" lone.i.qcow2
"$QEMU_IMG" rebase -b full.qcow2 -F qcow2 lone.q.qcow2 >/dev/null 2>&1
check $? "v2, no backing before: qemu-img rebase failed"
same_info "v2, no backing before" lone.q.qcow2 lone.i.qcow2
! "$QEMU_IMG" compare -U "$WORK/.lone.raw" lone.q.qcow2 >/dev/null 2>&1
check $? "v2, no backing before: qemu-img now keeps the content; drop the" \
    "difference from instar-rebase(1) and regress/difffuzz"

finish
