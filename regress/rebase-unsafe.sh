# instar rebase -u rewrites the overlay's header exactly as qemu-img does:
# cluster 0 of the result is byte-identical to qemu-img's for every kind
# of qcow2 header (v2 and v3, every cluster size, extensions), for names
# added, changed, lengthened, shortened and removed.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/rebase-lib.sh"

# unsafe_twins DESC OVERLAY ARGS: twin_rebase, then the header check.
# Most new names here name no file: the results are checked with their
# backing files left closed.
unsafe_twins() {
	desc=$1
	shift
	TWIN_NO_BACKING=1 twin_rebase "$desc" "$@" && same_header "$desc"
}

qimg create -f qcow2 base.qcow2 8M
qimg create -f raw r.raw 8M
qimg create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2

unsafe_twins "v3, same length name" top.qcow2 -u -b wxyz.qcow2 -F qcow2
unsafe_twins "v3, longer name" top.qcow2 -u -b longer-name.qcow2 -F qcow2
unsafe_twins "v3, shorter name" top.qcow2 -u -b b -F qcow2
unsafe_twins "v3, raw format" top.qcow2 -u -b r.raw -F raw
unsafe_twins "v3, vmdk format" top.qcow2 -u -b x.vmdk -F vmdk
unsafe_twins "v3, detach" top.qcow2 -u -b ""
unsafe_twins "v3, detach with -F" top.qcow2 -u -b "" -F qcow2
unsafe_twins "v3, same name" top.qcow2 -u -b base.qcow2 -F qcow2

# An overlay without a backing file gets one.
qimg create -f qcow2 plain.qcow2 8M
unsafe_twins "v3, attach" plain.qcow2 -u -b base.qcow2 -F qcow2
unsafe_twins "v3, detach nothing" plain.qcow2 -u -b ""

# No -F: instar probes the new backing; qemu-img 7.2 needs -F.
QEMU_EXTRA="-F raw" unsafe_twins "probe raw" top.qcow2 -u -b r.raw
QEMU_EXTRA="-F qcow2" unsafe_twins "probe qcow2" top.qcow2 -u \
    -b base.qcow2
qimg create -f vmdk v.vmdk 8M
QEMU_EXTRA="-F vmdk" unsafe_twins "probe vmdk" top.qcow2 -u -b v.vmdk

# v2 headers: no feature table, 72-byte header.
qimg create -f qcow2 -o compat=0.10 -b base.qcow2 -F qcow2 v2.qcow2
unsafe_twins "v2, change" v2.qcow2 -u -b another.qcow2 -F qcow2
unsafe_twins "v2, detach" v2.qcow2 -u -b ""
qimg create -f qcow2 -o compat=0.10 v2plain.qcow2 8M
unsafe_twins "v2, attach" v2plain.qcow2 -u -b base.qcow2 -F qcow2

# Every cluster size, and other header options.
for cs in 512 4096 65536 2097152; do
	qimg create -f qcow2 -o cluster_size=$cs -b base.qcow2 -F qcow2 \
	    cs$cs.qcow2
	unsafe_twins "cluster size $cs" cs$cs.qcow2 -u -b new-$cs.qcow2 \
	    -F qcow2
done
for opt in refcount_bits=1 refcount_bits=64 lazy_refcounts=on \
    compression_type=zstd; do
	qimg create -f qcow2 -o "$opt" -b base.qcow2 -F qcow2 "o-$opt.qcow2"
	unsafe_twins "$opt" "o-$opt.qcow2" -u -b new.qcow2 -F qcow2
done

# Data and snapshots are untouched by the header rewrite.
qimg create -f qcow2 -b base.qcow2 -F qcow2 data.qcow2
qio -c 'write -P 0x5a 0 3M' -c 'write -z 4M 1M' data.qcow2
qimg snapshot -c snap1 data.qcow2
qio -c 'write -P 0x6b 1M 1M' data.qcow2
unsafe_twins "with data and a snapshot" data.qcow2 -u -b new.qcow2 \
    -F qcow2

# A persistent bitmap keeps its extension (only safe mode refuses).  No
# header comparison: qemu-img, opening the image read-write, stores its
# bitmaps again on close and so moves the bitmap directory; instar leaves
# it where it was.  qemu-img info (which lists the bitmaps) must agree.
qimg create -f qcow2 -b base.qcow2 -F qcow2 bm.qcow2
qimg bitmap --add bm.qcow2 bitmap0
TWIN_NO_BACKING=1 twin_rebase "with a bitmap" bm.qcow2 -u -b new.qcow2 \
    -F qcow2

# Long names: 300 bytes, the longest (1023), and names that do not fit.
long300=$(printf 'd%.0s' $(seq 300))
long1023=$(printf 'e%.0s' $(seq 1023))
unsafe_twins "300-byte name" top.qcow2 -u -b "$long300" -F qcow2
unsafe_twins "1023-byte name" top.qcow2 -u -b "$long1023" -F qcow2
cp top.qcow2 long.qcow2
qemu_refuses "1024-byte name" -u -b "${long1023}e" -F qcow2 long.qcow2
refuses_unchanged "1024-byte name" "Could not change the backing file" \
    long.qcow2 -- -u -b "${long1023}e" -F qcow2 long.qcow2
# 512-byte clusters: a 376-byte name fits with "qcow2", 377 does not.
qimg create -f qcow2 -o cluster_size=512 -b base.qcow2 -F qcow2 small.qcow2
unsafe_twins "376 bytes in a 512-byte header" small.qcow2 -u \
    -b "$(printf 'f%.0s' $(seq 376))" -F qcow2
cp small.qcow2 small.q.qcow2
qemu_refuses "377 bytes in a 512-byte header" -u \
    -b "$(printf 'f%.0s' $(seq 377))" -F qcow2 small.q.qcow2
refuses_unchanged "377 bytes in a 512-byte header" \
    "No space left in the file header" small.qcow2 -- -u \
    -b "$(printf 'f%.0s' $(seq 377))" -F qcow2 small.qcow2
# ... and a long name already there is replaced by a short one.
"$QEMU_IMG" rebase -u -b "$(printf 'g%.0s' $(seq 370))" -F qcow2 \
    small.qcow2 || fail "long name into small.qcow2"
unsafe_twins "long name to short, 512-byte header" small.qcow2 -u \
    -b short.qcow2 -F raw

# Odd but legal names are recorded verbatim.
unsafe_twins "name with spaces and quotes" top.qcow2 -u \
    -b "a b'c\"d.qcow2" -F qcow2
unsafe_twins "name with a protocol prefix" top.qcow2 -u \
    -b "file:x.qcow2" -F qcow2
unsafe_twins "relative with dots" top.qcow2 -u -b "../x/./y.qcow2" \
    -F qcow2

finish
