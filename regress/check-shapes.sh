# instar check agrees with qemu-img check on clean images of many
# shapes: qcow2 v2 and v3, refcount widths 1 to 64, cluster sizes 512 B
# to 2 MiB, compressed clusters, internal snapshots, lazy refcounts,
# zero clusters, backing files, VMDK, and raw (no checks: exit 63);
# human, JSON and quiet output, and -f.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/check-lib.sh"

# A few patterns across the image, so that there is something to count.
fill() {
	qio -c 'write -P 0x11 0 192k' -c 'write -P 0x22 1M 64k' \
	    -c 'write -P 0x33 5M 4k' -c 'write -z 6M 128k' "$1"
}

qimg create -f qcow2 empty.qcow2 16M
same_check_all "empty v3" empty.qcow2

qimg create -f qcow2 -o compat=0.10 v2.qcow2 16M
fill v2.qcow2
same_check_all "v2" v2.qcow2
same_check_all "v2 -f qcow2" v2.qcow2 -f qcow2

qimg create -f qcow2 v3.qcow2 16M
fill v3.qcow2
same_check_all "v3" v3.qcow2
same_check "v3 -U" -U v3.qcow2
same_check "v3 -T none" -T none v3.qcow2
same_check "v3 --force-share --format=qcow2" --force-share \
    --format=qcow2 v3.qcow2

for bits in 1 2 4 8 16 32 64; do
	qimg create -f qcow2 -o refcount_bits=$bits rc$bits.qcow2 16M
	fill rc$bits.qcow2
	same_check_all "refcount_bits=$bits" rc$bits.qcow2
done

for cs in 512 4k 2M; do
	qimg create -f qcow2 -o cluster_size=$cs cs$cs.qcow2 16M
	fill cs$cs.qcow2
	same_check_all "cluster_size=$cs" cs$cs.qcow2
done

# 512-byte clusters with 64-bit refcounts: many tiny refcount blocks.
qimg create -f qcow2 -o cluster_size=512,refcount_bits=64 tiny.qcow2 64M
qio -c 'write -P 0x44 0 3M' -c 'write -P 0x55 40M 1M' tiny.qcow2
same_check_all "512 B clusters, 64-bit refcounts" tiny.qcow2

# A big sparse image: the tables are far apart, most of it unallocated.
qimg create -f qcow2 big.qcow2 4T
qio -c 'write -P 0x66 0 64k' -c 'write -P 0x77 3T 64k' big.qcow2
same_check_all "4 TiB sparse" big.qcow2

# Compressed clusters (and a partly compressed, partly plain image).
qimg create -f raw plain.raw 8M
qio -f raw -c 'write -P 0x12 0 3M' -c 'write -P 0x34 5M 1M' plain.raw
qimg convert -c -f raw -O qcow2 plain.raw comp.qcow2
same_check_all "compressed" comp.qcow2
qio -c 'write -P 0x56 64k 64k' comp.qcow2
same_check_all "compressed, partly rewritten" comp.qcow2
qimg convert -c -f raw -O qcow2 -o cluster_size=4k,compat=0.10 plain.raw \
    comp2.qcow2
same_check_all "compressed v2, 4 KiB clusters" comp2.qcow2

# Internal snapshots: clusters shared with the snapshot (refcount 2,
# COPIED clear), then rewritten.
qimg create -f qcow2 snap.qcow2 16M
fill snap.qcow2
qimg snapshot -c one snap.qcow2
qio -c 'write -P 0x99 0 64k' snap.qcow2
qimg snapshot -c two snap.qcow2
qio -c 'write -P 0x98 2M 64k' snap.qcow2
same_check_all "snapshots" snap.qcow2
qimg snapshot -d one snap.qcow2
same_check_all "snapshot deleted" snap.qcow2

# Lazy refcounts, closed cleanly.
qimg create -f qcow2 -o lazy_refcounts=on lazy.qcow2 16M
fill lazy.qcow2
same_check_all "lazy refcounts" lazy.qcow2

# An overlay with a backing file: only the overlay is checked.
qimg create -f qcow2 base.qcow2 16M
fill base.qcow2
qimg create -f qcow2 -b base.qcow2 -F qcow2 over.qcow2
qio -c 'write -P 0xab 64k 4k' over.qcow2
same_check_all "overlay" over.qcow2

# VMDK monolithicSparse, empty and written.
qimg create -f vmdk sparse.vmdk 16M
same_check_all "vmdk empty" sparse.vmdk
qio -f vmdk -c 'write -P 0x21 0 128k' -c 'write -P 0x31 7M 64k' sparse.vmdk
same_check_all "vmdk" sparse.vmdk
same_check_all "vmdk -f vmdk" sparse.vmdk -f vmdk

# VMDK streamOptimized (compressed grains).
qimg convert -f qcow2 -O vmdk -o subformat=streamOptimized v3.qcow2 \
    stream.vmdk
same_check_all "vmdk streamOptimized" stream.vmdk

# raw: no checks, exit 63 (probed or named).
qimg create -f raw disk.raw 4M
same_check_all "raw" disk.raw
same_check_all "raw -f raw" disk.raw -f raw
same_check "qcow2 read as raw" -f raw v3.qcow2

finish
