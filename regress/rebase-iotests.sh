# QEMU's own rebase tests (tests/qemu-iotests 024, 028, 050, 252),
# replayed against instar: each result must read as before, as qemu-img's
# result reads, and check clean.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/rebase-lib.sh"

# 024: 64 KiB clusters; the old backing has 0x11 in the even clusters
# 0-14, the new backing 0x22 in clusters 0, 1, 4, 5, 8, 9, 12 and 13,
# the overlay 0x33 in clusters 0-3 and 8-11.
CLUSTER=65536
qimg create -f qcow2 -o cluster_size=64k t024-old.qcow2 1M
qimg create -f qcow2 -o cluster_size=64k t024-new.qcow2 1M
c=0
while [ $c -le 14 ]; do
	qio -c "write -P 0x11 $((c * CLUSTER)) $CLUSTER" t024-old.qcow2
	c=$((c + 2))
done
for c in 0 1 4 5 8 9 12 13; do
	qio -c "write -P 0x22 $((c * CLUSTER)) $CLUSTER" t024-new.qcow2
done
qimg create -f qcow2 -o cluster_size=64k -b t024-old.qcow2 -F qcow2 \
    t024.qcow2
for c in 0 1 2 3 8 9 10 11; do
	qio -c "write -P 0x33 $((c * CLUSTER)) $CLUSTER" t024.qcow2
done
twin_rebase "024" t024.qcow2 -b t024-new.qcow2 -F qcow2
# 024's second half: a chain whose layers have different cluster sizes
# and sizes (base 512k/64k, mid 1M/4k, overlay 1M/32k with writes that
# straddle the base's end), rebased onto the base.
qimg create -f qcow2 -o cluster_size=64k t024b-base.qcow2 512k
qio -c 'write -P 0xff 0 512k' t024b-base.qcow2
qimg create -f qcow2 -o cluster_size=4k -b t024b-base.qcow2 -F qcow2 \
    t024b-mid.qcow2 1M
qio -c 'write -P 0x11 256k 512k' t024b-mid.qcow2
qimg create -f qcow2 -o cluster_size=32k -b t024b-mid.qcow2 -F qcow2 \
    t024b.qcow2 1M
qio -c 'write -P 0x22 480k 32k' -c 'write -P 0x33 992k 32k' t024b.qcow2
twin_rebase "024, mixed sizes" t024b.qcow2 -b t024b-base.qcow2 -F qcow2

# 028: the backing ends at 3 GiB + 1536 bytes, not on a cluster boundary;
# the overlay is 4 GiB + 1536 bytes.
qimg create -f qcow2 t028-base.qcow2 $((3 * 1024 * 1024 * 1024 + 1536))
qio -c "write -P 0x49 $((3 * 1024 * 1024 * 1024 - 64 * 1024)) 65536" \
    -c "write -P 0x4a $((3 * 1024 * 1024 * 1024)) 1536" t028-base.qcow2
qimg create -f qcow2 -b t028-base.qcow2 -F qcow2 t028.qcow2 \
    $((4 * 1024 * 1024 * 1024 + 1536))
qio -c "write -P 0x4b $((3 * 1024 * 1024 * 1024 - 4096)) 8192" t028.qcow2
qimg create -f qcow2 t028-new.qcow2 $((3 * 1024 * 1024 * 1024 + 1536))
twin_rebase "028" t028.qcow2 -b t028-new.qcow2 -F qcow2
twin_rebase "028, detach" t028.qcow2 -b ""

# 050: an overlay of zeros over a backing of data, rebased onto another
# backing of other data, still reads zeros.
qimg create -f qcow2 t050-old.qcow2 10M
qio -c 'write -P 0x11 0 10M' t050-old.qcow2
qimg create -f qcow2 t050-new.qcow2 10M
qio -c 'write -P 0x22 0 10M' t050-new.qcow2
qimg create -f qcow2 -b t050-old.qcow2 -F qcow2 t050.qcow2
qio -c 'write -z 0 10M' t050.qcow2
twin_rebase "050" t050.qcow2 -b t050-new.qcow2 -F qcow2
"$QEMU_IO" -c 'read -P 0 0 10M' "$I_OVL" >"$WORK/.read" 2>&1 &&
    ! grep -q "Pattern verification failed" "$WORK/.read"
check $? "050: the overlay no longer reads zeros: $(cat "$WORK/.read")"

# 252: an overlay without a backing file is rebased onto one; where the
# overlay is unallocated and the new backing has data, the overlay must
# read zeros (cluster 4 becomes a zero cluster).
qimg create -f qcow2 t252-new.qcow2 1M
qio -c 'write -P 0xa5 0 1M' t252-new.qcow2
qimg create -f qcow2 t252.qcow2 1M
qio -c 'write -P 0x5a 0 256k' -c 'write -z 256k 64k' \
    -c 'write -P 0x5b 320k 64k' t252.qcow2
twin_rebase "252" t252.qcow2 -b t252-new.qcow2 -F qcow2
"$QEMU_IO" -c 'read -P 0 384k 640k' "$I_OVL" >"$WORK/.read" 2>&1 &&
    ! grep -q "Pattern verification failed" "$WORK/.read"
check $? "252: unallocated clusters do not read zeros: $(cat "$WORK/.read")"
# 252 also rebases onto a backing that is shorter than the overlay.
qimg create -f qcow2 t252-short.qcow2 512k
qio -c 'write -P 0xa6 0 512k' t252-short.qcow2
twin_rebase "252, short new backing" t252.qcow2 -b t252-short.qcow2 \
    -F qcow2

finish
