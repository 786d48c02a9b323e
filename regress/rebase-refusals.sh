# What instar rebase refuses, it refuses with a reason, exit status 1 and
# every file unchanged: features it cannot rewrite safely (external data
# files, extended L2 entries, encryption), images it should not write
# (marked corrupt, dirty), state a safe rebase would make stale
# (persistent bitmaps) and backing layers it cannot read (zstd).
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/rebase-lib.sh"

qimg create -f qcow2 base.qcow2 8M
qio -c 'write -P 0x11 0 2M' base.qcow2
qimg create -f qcow2 new.qcow2 8M

# both_ways DESC PATTERN IMAGE FILES: refused in safe and unsafe mode.
both_ways() {
	refuses_unchanged "$1, safe" "$2" "$4" -- -b new.qcow2 -F qcow2 "$3"
	refuses_unchanged "$1, unsafe" "$2" "$4" -- -u -b new.qcow2 \
	    -F qcow2 "$3"
}

# External data files: the data lives in another file instar was not
# given.  (qemu-img rebases these.)
qimg create -f qcow2 -o data_file=ext.data -b base.qcow2 -F qcow2 \
    ext.qcow2
qio -c 'write -P 0x22 0 64k' ext.qcow2
both_ways "external data file" "external data file" ext.qcow2 \
    "ext.qcow2 ext.data base.qcow2"

# Extended L2 entries (subclusters).
qimg create -f qcow2 -o extended_l2=on -b base.qcow2 -F qcow2 ext-l2.qcow2
qio -c 'write -P 0x22 0 4k' ext-l2.qcow2
both_ways "extended L2" "[Ee]xtended L2" ext-l2.qcow2 \
    "ext-l2.qcow2 base.qcow2"

# Encryption: qemu-img cannot open it without its secret either.
luks_create -b base.qcow2 -F qcow2 enc.qcow2
cp enc.qcow2 enc.q.qcow2
qemu_refuses "encrypted" -u -b new.qcow2 -F qcow2 enc.q.qcow2
both_ways "encrypted" "encrypt" enc.qcow2 "enc.qcow2 base.qcow2"

# Marked corrupt (incompatible feature bit 1): qemu-img's own message.
qimg create -f qcow2 -b base.qcow2 -F qcow2 corrupt.qcow2
poke corrupt.qcow2 79 02
cp corrupt.qcow2 corrupt.q.qcow2
qemu_refuses "corrupt" -u -b new.qcow2 -F qcow2 corrupt.q.qcow2
both_ways "corrupt" \
    "Could not open 'corrupt.qcow2': qcow2: Image is corrupt; cannot be opened read/write" \
    corrupt.qcow2 "corrupt.qcow2 base.qcow2"

# The dirty bit (lazy refcounts not flushed): the refcounts cannot be
# trusted to allocate from; qemu-img check -r all repairs it first.
qimg create -f qcow2 -o lazy_refcounts=on -b base.qcow2 -F qcow2 \
    dirty.qcow2
qio -c 'write -P 0x22 1M 64k' dirty.qcow2
poke dirty.qcow2 79 01
refuses_unchanged "dirty, safe" "check -r all" "dirty.qcow2 base.qcow2" -- \
    -b new.qcow2 -F qcow2 dirty.qcow2
refuses_unchanged "dirty, unsafe" "check -r all" "dirty.qcow2" -- \
    -u -b new.qcow2 -F qcow2 dirty.qcow2
# ... and once repaired, it rebases.
qimg check -r all dirty.qcow2
twin_rebase "dirty, repaired" dirty.qcow2 -b new.qcow2 -F qcow2

# Persistent dirty bitmaps would go stale when a safe rebase writes data;
# an unsafe rebase writes no data and keeps them (see rebase-unsafe).
qimg create -f qcow2 -b base.qcow2 -F qcow2 bm.qcow2
qimg bitmap --add bm.qcow2 b0
refuses_unchanged "bitmaps, safe" "[Bb]itmap" "bm.qcow2 base.qcow2" -- \
    -b new.qcow2 -F qcow2 bm.qcow2

# A zstd-compressed layer in the old chain cannot be read in the guest.
qimg convert -c -O qcow2 -o compression_type=zstd base.qcow2 zbase.qcow2
qimg create -f qcow2 -b zbase.qcow2 -F qcow2 ztop.qcow2
refuses_unchanged "zstd old backing, safe" "zstd" \
    "ztop.qcow2 zbase.qcow2" -- -b new.qcow2 -F qcow2 ztop.qcow2
# ... nor in the new chain.
qimg create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
refuses_unchanged "zstd new backing, safe" "zstd" "top.qcow2" -- \
    -b zbase.qcow2 -F qcow2 top.qcow2
# A zstd overlay itself is fine: instar writes no compressed clusters.
qimg create -f qcow2 -o compression_type=zstd -b base.qcow2 -F qcow2 \
    zover.qcow2
twin_rebase "zstd overlay" zover.qcow2 -b new.qcow2 -F qcow2
# The unsafe mode reads no backing: zstd layers do not matter.
twin_rebase "zstd old backing, unsafe" ztop.qcow2 -u -b new.qcow2 -F qcow2

# Too deep: the devices of one job are limited (64 in all).
qimg create -f qcow2 d0.qcow2 1M
i=1
while [ $i -le 64 ]; do
	"$QEMU_IMG" create -f qcow2 -b "d$((i - 1)).qcow2" -F qcow2 \
	    "d$i.qcow2" >/dev/null || fail "deep $i"
	i=$((i + 1))
done
refuses_unchanged "chain too deep" "64" "d64.qcow2" -- -b new.qcow2 \
    -F qcow2 d64.qcow2
# An unsafe rebase opens none of it.
twin_rebase "deep chain, unsafe" d64.qcow2 -u -b new.qcow2 -F qcow2

# Tables a hostile header puts outside the file: refused before any
# write, with the offset written out (the guest's printf knows %#llx).
qimg create -f qcow2 -b base.qcow2 -F qcow2 l1out.qcow2
qio -c 'write -P 0x22 0 64k' l1out.qcow2
poke l1out.qcow2 40 0000001000000000
refuses_unchanged "L1 table beyond the file" \
    "The L1 table at 0x1000000000 lies outside the image" \
    "l1out.qcow2 base.qcow2 new.qcow2" -- -b new.qcow2 -F qcow2 l1out.qcow2

# An L1 entry naming an L2 table far beyond the file: qemu-img copies
# the backing data in, then fails to write that table; instar refuses
# before the first write.
qimg create -f qcow2 -b base.qcow2 -F qcow2 l2out.qcow2
qio -c 'write -P 0x22 0 64k' l2out.qcow2
poke l2out.qcow2 $((0x30000)) 80fffffff0000000
refuses_unchanged "L2 table beyond the file" \
    "An L2 table at 0xfffffff0000000 lies outside the image" \
    "l2out.qcow2 base.qcow2 new.qcow2" -- -b new.qcow2 -F qcow2 l2out.qcow2

finish
