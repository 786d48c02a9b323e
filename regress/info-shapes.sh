# instar info prints exactly what qemu-img info prints, human and JSON,
# for every image shape qemu-img can make that instar handles.
. "$(dirname "$0")/test-exec.sh"

make_shapes() {
	qimg create -f qcow2 v3.qcow2 64M
	qimg create -f qcow2 -o compat=0.10 v2.qcow2 64M
	qimg create -f qcow2 -o cluster_size=512 c512.qcow2 1G
	qimg create -f qcow2 -o cluster_size=2M c2m.qcow2 10G
	qimg create -f qcow2 -o refcount_bits=1 rc1.qcow2 64M
	qimg create -f qcow2 -o refcount_bits=64 rc64.qcow2 64M
	qimg create -f qcow2 -o lazy_refcounts=on lazy.qcow2 64M
	qimg create -f qcow2 -o extended_l2=on el2.qcow2 64M
	qimg create -f qcow2 -o compression_type=zstd zstd.qcow2 64M
	qimg create -f qcow2 empty.qcow2 0
	qimg create -f qcow2 huge.qcow2 16T
	qimg create -f qcow2 -o cluster_size=512 odd.qcow2 1000000001
	qimg create -f qcow2 data.qcow2 64M
	qio -c 'write -P 0x5a 0 3M' -c 'write -z 8M 1M' data.qcow2
	qimg create -f qcow2 -o compat=0.10 data-v2.qcow2 64M
	qio -c 'write -P 0x11 1M 64k' data-v2.qcow2
	qimg create -f raw extfile.raw 64M
	qimg create -f qcow2 -o data_file=extfile.raw ext.qcow2 64M
	qimg create -f qcow2 -o data_file=extfile.raw,data_file_raw=on \
	    extraw.qcow2 64M
	qimg create -f qcow2 base.qcow2 64M
	qimg create -f qcow2 -b base.qcow2 -F qcow2 overlay.qcow2
	qimg create -f qcow2 -o compat=0.10 -b base.qcow2 -F qcow2 \
	    overlay-v2.qcow2
	qimg create -f raw raw.img 10M
	qio -f raw -c 'write -P 0x1 0 1M' raw.img
	: >zero.raw
	qimg create -f vmdk plain.vmdk 100M
	qio -c 'write -P 0x7 0 1M' plain.vmdk
	qimg create -f vmdk -o subformat=monolithicSparse,zeroed_grain=on \
	    zg.vmdk 100M
	qimg create -f vmdk parent.vmdk 100M
	qimg create -f vmdk -b parent.vmdk -F vmdk child.vmdk
	qimg create -f vmdk -o subformat=streamOptimized stream.vmdk 100M
	qimg create -f vmdk -o adapter_type=lsilogic,hwversion=6 hw6.vmdk 1G
}

make_dirty() {
	# Dirty and corrupt are header bits (incompatible features, byte 79).
	qimg create -f qcow2 -o lazy_refcounts=on dirty.qcow2 64M
	poke dirty.qcow2 79 01
	qimg create -f qcow2 corrupt.qcow2 64M
	poke corrupt.qcow2 79 02
}

make_odd_format() {
	# A recorded backing format with a control character in it: qemu-img
	# prints it as it is (escaped in JSON), instar encodes it in human
	# output (see below).  Found by fuzz_format.
	qimg create -f qcow2 -b base.qcow2 -F qcow2 oddfmt.qcow2
	poke oddfmt.qcow2 120 710a636f77
}

make_unrecorded_format() {
	# A backing file with no recorded format: turn the backing-format
	# extension into an unknown one, which qemu keeps and ignores.
	qimg create -f qcow2 -b base.qcow2 -F qcow2 nofmt.qcow2
	poke nofmt.qcow2 112 12345678
}

make_shapes
make_dirty
make_unrecorded_format
make_odd_format

for img in v3.qcow2 v2.qcow2 c512.qcow2 c2m.qcow2 rc1.qcow2 rc64.qcow2 \
    lazy.qcow2 el2.qcow2 zstd.qcow2 empty.qcow2 huge.qcow2 odd.qcow2 \
    data.qcow2 data-v2.qcow2 ext.qcow2 extraw.qcow2 overlay.qcow2 \
    overlay-v2.qcow2 raw.img zero.raw plain.vmdk zg.vmdk child.vmdk \
    stream.vmdk hw6.vmdk dirty.qcow2 corrupt.qcow2 nofmt.qcow2 \
    oddfmt.qcow2; do
	same_output "$img json" info --output=json "$img"
	[ "$img" = oddfmt.qcow2 ] || same_output "$img human" info "$img"
	same_output "$img json -U" info -U --output=json "$img"
done

# Human output differs from qemu-img's in one way only: the newline in
# the recorded format prints as \n, on the one line.
"$QEMU_IMG" info oddfmt.qcow2 | perl -pe '
    s/^(backing file format: q)$/$1\\ncow/; $_ = "" if /^cow$/' \
    >"$WORK/.expected"
"$INSTAR" info oddfmt.qcow2 >"$WORK/.actual"
cmp -s "$WORK/.expected" "$WORK/.actual"
check $? "oddfmt.qcow2 human: not qemu-img's with the newline encoded"

# Internal snapshots: listed in both forms, dates in local time (both
# tools read the same TZ, so any zone must give the same bytes).
snap_table() {
	perl -e 'open(F, "<", $ARGV[0]) or die; seek(F, 64, 0);
	    read(F, $b, 8) == 8 or die; print unpack("Q>", $b)' "$1"
}

# put_snapshot FILE OFFSET EXTRA VMSTATE32 VMSTATE64 SEC NSEC CLOCK ICOUNT
#     ID NAME: write one snapshot table entry by hand
put_snapshot() {
	perl -e 'my ($f, $off, $x, $v32, $v64, $s, $ns, $c, $ic, $id, $n) =
	    @ARGV; open(F, "+<", $f) or die; binmode F; seek(F, $off, 0);
	    my $e = pack("Q>Q>Q>", $v64, 0, $ic) . "\0" x 1024;
	    print F pack("Q>NnnNNQ>NN", 0, 0, length($id), length($n), $s,
	    $ns, $c, $v32, $x), substr($e, 0, $x), $id, $n' "$@" ||
	    fail "put_snapshot $* failed"
}

make_snapshots() {
	qimg create -f qcow2 snap1.qcow2 64M
	qimg snapshot -c only snap1.qcow2
	qimg create -f qcow2 snap3.qcow2 64M
	qio -c 'write -P 0x3 0 1M' snap3.qcow2
	qimg snapshot -c first snap3.qcow2
	qio -c 'write -P 0x4 0 1M' snap3.qcow2
	qimg snapshot -c "second one" snap3.qcow2
	qimg snapshot -c third-with-a-long-name-past-the-column snap3.qcow2
	qimg create -f qcow2 -o compat=0.10 snap-v2.qcow2 64M
	qimg snapshot -c v2 snap-v2.qcow2
	# Hand-written entries: VM state and clock, v2 entries with no
	# extra data (so no icount), an icount, huge values qemu prints as
	# negative numbers, names past QEMUSnapshotInfo's 127/255 bytes.
	cp snap1.qcow2 snapvm.qcow2
	t=$(snap_table snapvm.qcow2)
	long=$(printf '%0300d' 7)
	put_snapshot snapvm.qcow2 "$t" 24 0 12345678901 1600000000 \
	    999999999 90061000000123 42 1 vm
	put_snapshot snapvm.qcow2 $((t + 72)) 0 4096 0 1000000000 5 \
	    3723000000000 0 2 "no extra"
	put_snapshot snapvm.qcow2 $((t + 128)) 16 0 18446744073709551615 \
	    4294967295 0 18446744073709551615 0 10 huge
	put_snapshot snapvm.qcow2 $((t + 192)) 24 0 0 0 0 0 \
	    9223372036854775808 "$long" "$long"
	poke snapvm.qcow2 60 00000004
	qimg create -f qcow2 sbase.qcow2 64M
	qimg snapshot -c base-snap sbase.qcow2
	qimg create -f qcow2 -b sbase.qcow2 -F qcow2 smid.qcow2
	qimg snapshot -c a smid.qcow2
	qimg snapshot -c b smid.qcow2
	qimg snapshot -c c smid.qcow2
	qimg create -f qcow2 -b smid.qcow2 -F qcow2 stop.qcow2
}

make_snapshots
for tz in UTC America/New_York Asia/Kolkata; do
	TZ=$tz
	export TZ
	for img in snap1.qcow2 snap3.qcow2 snap-v2.qcow2 snapvm.qcow2; do
		same_output "$img human $tz" info "$img"
	done
	same_output "snapshot chain human $tz" info --backing-chain stop.qcow2
done
unset TZ
for img in snap1.qcow2 snap3.qcow2 snap-v2.qcow2 snapvm.qcow2; do
	same_output "$img json" info --output=json "$img"
done
same_output "snapshot chain json" info --backing-chain --output=json \
    stop.qcow2
same_output "snapshot in the middle json" info --backing-chain \
    --output=json smid.qcow2

# An explicit format is honoured, as qemu-img does.
same_output "raw read as raw" info -f raw --output=json v3.qcow2
same_output "qcow2 as qcow2" info -f qcow2 --output=json v3.qcow2
same_output "vmdk as vmdk" info -f vmdk plain.vmdk
# The image path as given is what is printed.
mkdir sub && cp v3.qcow2 sub/
same_output "path in subdir" info --output=json sub/v3.qcow2
same_output "absolute path" info --output=json "$WORK/sub/v3.qcow2"

finish
