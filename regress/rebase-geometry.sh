# A safe instar rebase works on every qcow2 layout qemu-img writes:
# cluster sizes from 512 B to 2 MiB, mixed across the chain, v2 and v3,
# refcount widths 1 to 64, lazy refcounts, internal snapshots, refcount
# tables that must grow and L2 tables that must be allocated.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/rebase-lib.sh"

# pattern IMAGE: data at odd offsets, crossing cluster boundaries of
# every size.
pattern() {
	qio -c 'write -P 0x11 0 1M' -c 'write -P 0x12 1536k 5k' \
	    -c 'write -P 0x13 3583k 3k' -c 'write -P 0x14 6M 2M' \
	    -c 'write -P 0x15 10M 512' "$1"
}

# Mixed cluster sizes: a 4 KiB overlay over 64 KiB over 2 MiB.
qimg create -f qcow2 -o cluster_size=2M base2m.qcow2 12M
pattern base2m.qcow2
qimg create -f qcow2 -o cluster_size=64k -b base2m.qcow2 -F qcow2 \
    mid64k.qcow2
qio -c 'write -P 0x21 1M 100k' -c 'write -P 0x22 7M 5k' mid64k.qcow2
qimg create -f qcow2 -o cluster_size=4k -b mid64k.qcow2 -F qcow2 \
    top4k.qcow2
qio -c 'write -P 0x31 1030k 7k' top4k.qcow2
twin_rebase "4k over 64k over 2M, drop the middle" top4k.qcow2 \
    -b base2m.qcow2 -F qcow2
twin_rebase "4k over 64k over 2M, detach" top4k.qcow2 -b ""
qimg create -f qcow2 -o cluster_size=512 b512.qcow2 12M
qio -c 'write -P 0x11 0 512k' -c 'write -P 0x41 2M 3k' b512.qcow2
twin_rebase "4k onto 512" top4k.qcow2 -b b512.qcow2 -F qcow2
# A 2 MiB overlay over 512-byte clusters.
qimg create -f qcow2 -o cluster_size=2M -b b512.qcow2 -F qcow2 top2m.qcow2
qio -c 'write -P 0x51 4M 1k' top2m.qcow2
twin_rebase "2M over 512, detach" top2m.qcow2 -b ""
twin_rebase "2M over 512, onto 2M" top2m.qcow2 -b base2m.qcow2 -F qcow2

# Header and refcount variants of the overlay.
qimg create -f qcow2 -o cluster_size=64k other.qcow2 12M
qio -c 'write -P 0x11 0 512k' -c 'write -P 0x61 5M 1M' other.qcow2
for opts in refcount_bits=1 refcount_bits=2 refcount_bits=64 \
    compat=0.10 lazy_refcounts=on cluster_size=2M \
    cluster_size=512,refcount_bits=1 compat=0.10,cluster_size=4k; do
	qimg create -f qcow2 -o "$opts" -b base2m.qcow2 -F qcow2 "o.qcow2"
	qio -c 'write -P 0x71 2M 100k' o.qcow2
	twin_rebase "$opts, new base" o.qcow2 -b other.qcow2 -F qcow2
	twin_rebase "$opts, detach" o.qcow2 -b ""
done

# Lazy refcounts with the dirty bit cleared by a clean close: still fine.
qimg create -f qcow2 -o lazy_refcounts=on -b base2m.qcow2 -F qcow2 \
    lazy.qcow2
qio -c 'write -P 0x72 0 64k' lazy.qcow2
twin_rebase "lazy refcounts, closed cleanly" lazy.qcow2 -b ""

# Internal snapshots share clusters and L2 tables with the active layer:
# the rebase must not write through a shared table.
qimg create -f qcow2 -b base2m.qcow2 -F qcow2 snap.qcow2
qio -c 'write -P 0x81 0 64k' -c 'write -P 0x82 6M 64k' snap.qcow2
qimg snapshot -c first snap.qcow2
qio -c 'write -P 0x83 64k 64k' snap.qcow2
qimg snapshot -c second snap.qcow2
twin_rebase "internal snapshots" snap.qcow2 -b other.qcow2 -F qcow2
"$QEMU_IMG" snapshot -l "$I_OVL" | tail -n +3 | awk '{print $2}' \
    >"$WORK/.snaps"
printf 'first\nsecond\n' | cmp -s - "$WORK/.snaps"
check $? "internal snapshots: the list changed"

# The refcount table must grow: 512-byte clusters with 64-bit refcounts
# cover 2 MiB per refcount table cluster; copy 6 MiB into the overlay.
qimg create -f qcow2 big.qcow2 8M
qio -c 'write -P 0x91 0 6M' big.qcow2
qimg create -f qcow2 -o cluster_size=512,refcount_bits=64 -b big.qcow2 \
    -F qcow2 grow.qcow2
twin_rebase "refcount table grows" grow.qcow2 -b ""
qimg create -f qcow2 -o cluster_size=512,refcount_bits=1 -b big.qcow2 \
    -F qcow2 grow1.qcow2
twin_rebase "refcount table grows, 1-bit refcounts" grow1.qcow2 -b ""
qimg create -f qcow2 -o cluster_size=512,compat=0.10 -b big.qcow2 \
    -F qcow2 grow2.qcow2
twin_rebase "refcount table grows, v2" grow2.qcow2 -b ""

# L2 tables that must be allocated: a sparse overlay over backings with
# data far apart (each 64 KiB L2 table maps 512 MiB).
qimg create -f qcow2 far.qcow2 3G
qio -c 'write -P 0xa1 0 64k' -c 'write -P 0xa2 700M 128k' \
    -c 'write -P 0xa3 1536M 64k' -c 'write -P 0xa4 3071M 1M' far.qcow2
qimg create -f qcow2 -b far.qcow2 -F qcow2 sparse.qcow2
qio -c 'write -P 0xb1 1M 64k' sparse.qcow2
twin_rebase "L2 tables allocated" sparse.qcow2 -b ""
qimg create -f qcow2 far2.qcow2 3G
qio -c 'write -P 0xa1 0 64k' -c 'write -P 0xc2 2G 64k' far2.qcow2
twin_rebase "L2 tables allocated, new base" sparse.qcow2 -b far2.qcow2 \
    -F qcow2

finish
