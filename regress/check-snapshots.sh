# check and check -r on qcow2 images whose snapshot table or refcount
# table qemu would not open for info: qemu-img check opens them without
# the snapshot table and without insisting on a refcount table
# (BDRV_O_CHECK), then reads, reports and repairs both.  Held against
# qemu-img as in check-damage.sh: the same findings, the same exit
# status, and a repaired image that qemu-img check finds as it finds its
# own (qemu-iotests 261, 060).
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/check-lib.sh"

# sn_entry FILE N: the offset of snapshot table entry N (from 0).
sn_entry() {
	perl -e 'open(F, "<", $ARGV[0]) or die; binmode F;
	    sub rd { seek(F, $_[0], 0); read(F, my $b, $_[1]); $b }
	    my $o = unpack("Q>", rd(64, 8));
	    for (1 .. $ARGV[1]) {
		my ($id, $name) = unpack("nn", rd($o + 12, 4));
		my $extra = unpack("N", rd($o + 36, 4));
		$o += (40 + $extra + $id + $name + 7) & ~7;
	    }
	    print "$o\n"' "$1" "$2"
}

# both_ways NAME: check it (human, JSON, quiet), then repair twin copies.
both_ways() {
	same_check_all "$1" "$1.qcow2"
	twin_repair "$1" leaks "$1.qcow2"
	twin_repair "$1" all "$1.qcow2"
	twin_repair "$1 (json)" all "$1.qcow2" --output=json
}

# Three snapshots with data between them, the template of the others.
qimg create -f qcow2 base.qcow2 64M
qio -c 'write -P 1 0 128k' base.qcow2
qimg snapshot -c sn0 base.qcow2
qio -c 'write -P 2 64k 128k' base.qcow2
qimg snapshot -c sn1 base.qcow2
qimg snapshot -c sn2 base.qcow2

# An entry with 64 KiB of extra data: the check stops, and -r all cuts
# it to the 1 KiB qemu keeps.
cp base.qcow2 extra.qcow2
poke extra.qcow2 $(($(sn_entry extra.qcow2 2) + 36)) 00010000
expect_rc "extra data" extra.qcow2 1
END_OFFSET_MAY_DIFFER=1
both_ways extra
unset END_OFFSET_MAY_DIFFER
# Both repairs keep the same snapshots, as qemu-img lists them.
qemu_list=$("$QEMU_IMG" snapshot -l q/img 2>&1)
instar_list=$("$QEMU_IMG" snapshot -l i/img 2>&1)
[ "$qemu_list" = "$instar_list" ] && [ -n "$qemu_list" ]
check $? "extra: the repaired snapshot list differs from qemu-img's"

# A version 3 entry with only 8 bytes of extra data (a v2 image whose
# header was made v3 by hand): a corruption that only -r all reports,
# and completes.
qimg create -f qcow2 -o compat=0.10 botched.qcow2 64M
qimg snapshot -c sn0 botched.qcow2
qimg snapshot -c sn1 botched.qcow2
poke botched.qcow2 4 00000003
poke botched.qcow2 100 00000068
poke botched.qcow2 96 00000004
expect_rc "botched v3" botched.qcow2 0
both_ways botched

# No refcount table (060): info refuses, check counts every cluster as
# unreferenced, and -r all builds a refcount structure anew.
qimg create -f qcow2 noreft.qcow2 64M
qio -c 'write -P 3 0 64k' noreft.qcow2
poke noreft.qcow2 56 00000000
expect_rc "no refcount table" noreft.qcow2 2
both_ways noreft

# A table of 64 MiB and more (qemu's cap): COUNT entries of 40 bytes,
# 1 KiB of extra data, and an id and a name of 65535 zero bytes each,
# from 16 MiB on in a sparse file.  507 fit.
qimg create -f qcow2 big.qcow2 64M
perl -e 'open(F, "+<", $ARGV[0]) or die; binmode F;
    my $t = 16 << 20; my $o = $t;
    for (1 .. $ARGV[1]) {
	$o = ($o + 7) & ~7;
	seek(F, $o + 12, 0); print F pack("nn", 65535, 65535);
	seek(F, $o + 36, 0); print F pack("N", 1024);
	$o += 40 + 1024 + 2 * 65535;
    }
    seek(F, $o, 0); print F "\0";
    seek(F, 60, 0); print F pack("NQ>", $ARGV[1], $t)' big.qcow2 510
check $? "cannot write big.qcow2's snapshot table"

# Every other subcommand refuses to open such a table, and qemu-img
# says on the next line how to mend it: for the image itself, for a
# backing file and for a new backing file, with the images untouched.
for img in extra big; do
	same_info $img.qcow2
	same_words rebase -u -b '' $img.qcow2
	same_words commit $img.qcow2
	qimg create -f qcow2 -u -b $img.qcow2 -F qcow2 over-$img.qcow2 64M
	same_words info --backing-chain over-$img.qcow2
	same_words rebase -b '' over-$img.qcow2
	same_words commit over-$img.qcow2
	qimg create -f qcow2 plain-$img.qcow2 64M
	same_words rebase -b $img.qcow2 -F qcow2 plain-$img.qcow2
done

finish
