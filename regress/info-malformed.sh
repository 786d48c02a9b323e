# Malformed and unsupported images: a clear error, exit 1, nothing on
# stdout, no crash, and no hang.
. "$(dirname "$0")/test-exec.sh"

fresh() {
	rm -f "$1"
	"$QEMU_IMG" create -f qcow2 ${2:+-o "$2"} "$1" 64M >/dev/null ||
	    fail "create $1"
}

fresh trunc.qcow2 && truncate -s 50 trunc.qcow2
refuses "truncated header" "qcow2" info trunc.qcow2

fresh cb8.qcow2 && poke cb8.qcow2 20 00000008
refuses "cluster_bits 8" "luster size" info cb8.qcow2
fresh cb22.qcow2 && poke cb22.qcow2 20 00000016
refuses "cluster_bits 22" "luster size" info cb22.qcow2

fresh v4.qcow2 && poke v4.qcow2 4 00000004
refuses "version 4" "version" info v4.qcow2

fresh incompat.qcow2 && poke incompat.qcow2 72 0000000000100000
refuses "unknown incompatible bit" "eature" info incompat.qcow2

fresh bfo.qcow2 && poke bfo.qcow2 8 00000000ffff0000 &&
    poke bfo.qcow2 16 00000008
refuses "backing name beyond the file" "ack" info bfo.qcow2

fresh bfl.qcow2 && poke bfl.qcow2 8 0000000000000200 &&
    poke bfl.qcow2 16 00000800
refuses "backing name too long" "ack" info bfl.qcow2

fresh l1.qcow2 && poke l1.qcow2 40 0000000000030001
refuses "unaligned L1 table" "L1" info l1.qcow2

fresh rco.qcow2 && poke rco.qcow2 96 00000007
refuses "refcount order 7" "eference count" info rco.qcow2

fresh hl.qcow2 && poke hl.qcow2 100 00000010
refuses "header length too short" "eader" info hl.qcow2

# Snapshot tables qemu refuses to open, with its words; and one too long
# for instar to report, which it refuses rather than cut short.
fresh snx.qcow2 && "$QEMU_IMG" snapshot -c s snx.qcow2 &&
    t=$(perl -e 'open(F, "<", $ARGV[0]); seek(F, 64, 0); read(F, $b, 8);
    print unpack("Q>", $b)' snx.qcow2) && poke snx.qcow2 $((t + 36)) 00000401
refuses "snapshot extra data too big" \
    "Too much extra metadata in snapshot table entry 0" info snx.qcow2
fresh snn.qcow2 && poke snn.qcow2 60 00010001
refuses "65537 snapshots" "Snapshot table too large" info snn.qcow2
fresh sno.qcow2 && poke sno.qcow2 60 0000000100000000000f0008
refuses "unaligned snapshot table" "Snapshot table offset invalid" \
    info sno.qcow2
fresh snf.qcow2 && poke snf.qcow2 60 000000017fffffffc0000000
refuses "snapshot table out of reach" "Failed to read snapshot table" \
    info snf.qcow2
# 65536 empty entries past the end of the file: qemu lists them all.
fresh snm.qcow2 && poke snm.qcow2 60 000100000000000010000000
refuses "too many snapshots to report" \
    "too many snapshots to report: 65536" info snm.qcow2

"$QEMU_IMG" create -f vmdk gran.vmdk 10M >/dev/null
poke gran.vmdk 20 0000000000000000
refuses "vmdk granularity 0" "vmdk\|VMDK\|grain" info gran.vmdk

"$QEMU_IMG" create -f vmdk cap.vmdk 10M >/dev/null
poke cap.vmdk 12 ffffffffffffffff
refuses "vmdk capacity overflow" "too big" info cap.vmdk

"$QEMU_IMG" create -f vmdk gt.vmdk 10M >/dev/null
poke gt.vmdk 44 ffffffff
refuses "vmdk grain table size" "L2 table size too big" info gt.vmdk

"$QEMU_IMG" create -f vmdk -o subformat=monolithicFlat flat.vmdk 10M \
    >/dev/null
refuses "monolithicFlat" "monolithicFlat" info flat.vmdk

"$QEMU_IMG" create -f vdi disk.vdi 10M >/dev/null
refuses "vdi" "vdi" info disk.vdi

head -c 65536 /dev/urandom >noise.bin
refuses "noise as qcow2" "qcow2" info -f qcow2 noise.bin
refuses "unknown -f" "Unknown" info -f foo noise.bin
refuses "missing file" "No such file" info nosuchfile.qcow2
refuses "no file name" "Expecting one image file name" info
refuses "two file names" "Expecting one image file name" info a b
refuses "bad --output" "--output must be used" info --output=xml \
    noise.bin
refuses "directory" "to be a regular file" info .

# Garbage of every size near the header: never a crash or a hang.
for n in 0 1 3 4 8 71 72 103 104 511 512 4096; do
	head -c 65536 /dev/urandom >g.bin
	printf 'QFI\373\000\000\000\003' | dd of=g.bin conv=notrunc \
	    status=none
	truncate -s "$n" g.bin
	timeout 20 "$INSTAR" info g.bin >/dev/null 2>&1
	rc=$?
	[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]
	check $? "garbage of $n bytes: exit $rc"
done

finish
