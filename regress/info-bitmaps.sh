# "info" on qcow2 images with persistent dirty bitmaps: the "bitmaps"
# list qemu-img shows (flags, name, granularity), human and JSON, byte
# for byte; and qemu's words and exit status for the bitmap directories
# and extension headers it refuses to open, with info, check, rebase
# and commit alike.
. "$(dirname "$0")/test-exec.sh"

# be FILE OFFSET LEN: a big-endian number of LEN (4 or 8) bytes.
be() {
	perl -e 'open(F, "<", $ARGV[0]) or die; binmode F;
	    seek(F, $ARGV[1], 0); read(F, my $b, $ARGV[2]);
	    print $ARGV[2] == 8 ? unpack("Q>", $b) : unpack("N", $b), "\n"' \
	    "$1" "$2" "$3"
}

hex64() { printf '%016x' "$1"; }
hex32() { printf '%08x' "$1"; }

# add_bitmaps IMAGE COUNT PREFIX SUFFIX: COUNT bitmaps named PREFIX, a
# number from 0, SUFFIX.  A test on fewer bitmaps than it says proves
# nothing, so the first failure is a failure, not the end of the list.
add_bitmaps() {
	_i=0
	while [ $_i -lt "$2" ]; do
		"$QEMU_IMG" bitmap --add "$1" "$3$_i$4" >/dev/null || {
			fail "qemu-img bitmap --add $1 (bitmap $_i of $2) failed"
			return
		}
		_i=$((_i + 1))
	done
}

# Images qemu-img makes.
qimg create -f qcow2 none.qcow2 10M
same_info none.qcow2

qimg create -f qcow2 one.qcow2 10M
qimg bitmap --add one.qcow2 b0
same_info one.qcow2

qimg create -f qcow2 many.qcow2 10M
qimg bitmap --add many.qcow2 b0
qimg bitmap --add -g 512k --disable many.qcow2 b1
qimg bitmap --add -g 512 many.qcow2 'a "quoted" name\'
qimg bitmap --add -g 2G many.qcow2 "$(printf 'caf\303\251 \342\202\254')"
qimg bitmap --disable many.qcow2 b0
qimg bitmap --enable many.qcow2 b1
qio -c 'write 0 1M' many.qcow2
same_info many.qcow2

# In use: a writer that never closed the image.
cp many.qcow2 inuse.qcow2
"$QEMU_IO" -c abort inuse.qcow2 >/dev/null 2>&1
qimg bitmap --add inuse.qcow2 after
same_info inuse.qcow2
same_words check inuse.qcow2

# The longest name qemu takes, and more bitmaps than fit in a screen.
long=$(perl -e 'print "n" x 1023')
qimg create -f qcow2 long.qcow2 1M
qimg bitmap --add long.qcow2 "$long"
same_info long.qcow2
qimg create -f qcow2 lots.qcow2 1M
add_bitmaps lots.qcow2 40 bitmap- ""
same_info lots.qcow2

# Other geometries and features next to the list.
for o in cluster_size=512 cluster_size=2M compression_type=zstd \
    extended_l2=on,cluster_size=128k lazy_refcounts=on refcount_bits=1; do
	n=$(echo "$o" | tr -c 'a-z0-9\n' _).qcow2
	qimg create -f qcow2 -o "$o" "$n" 100M
	qimg bitmap --add -g 4k "$n" g4k
	qimg bitmap --add --disable "$n" off
	same_info "$n"
done

# A chain with bitmaps in each layer.
qimg create -f qcow2 base.qcow2 10M
qimg bitmap --add base.qcow2 inbase
qimg create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qimg bitmap --add top.qcow2 intop
same_info --backing-chain top.qcow2

# Stale bitmaps (autoclear bit cleared): qemu lists none.  qemu-img also
# warns on standard error, which instar does not.
cp many.qcow2 stale.qcow2
poke stale.qcow2 95 00
same_output "stale bitmaps" -- info stale.qcow2
same_output "stale bitmaps, JSON" -- info --output=json stale.qcow2

# More than the sandbox sends back: refused, not cut.
mid=$(perl -e 'print "m" x 1000')
qimg create -f qcow2 huge.qcow2 1M
add_bitmaps huge.qcow2 30 "" "$mid"
refuses "24 KiB of bitmaps" "too many bitmaps to report: 30" -- \
    info huge.qcow2

# Damaged copies of a two-bitmap image, one fault each.
qimg create -f qcow2 d.qcow2 10M
qimg bitmap --add d.qcow2 b0
qimg bitmap --add --disable -g 512k d.qcow2 b1
qimg create -f qcow2 dbase.qcow2 10M
ext=$(find_bytes d.qcow2 23852875)
[ "$ext" -gt 0 ]
check $? "no bitmaps extension in d.qcow2"
dir=$(be d.qcow2 $((ext + 24)) 8)
dsize=$(be d.qcow2 $((ext + 16)) 8)
e1=$((dir + 32))
table=$(be d.qcow2 "$dir" 8)
damaged() {
	cp d.qcow2 bad.qcow2
	"$@"
	same_info bad.qcow2
	[ "$qrc" -ne 0 ]
	check $? "qemu-img accepts a damaged directory ($*)"
}
# Every open loads the bitmaps: the other subcommands refuse the same.
damaged_all() {
	damaged "$@"
	same_words check bad.qcow2
	same_words check --output=json bad.qcow2
	same_words rebase -u -b dbase.qcow2 -F qcow2 bad.qcow2
	same_words commit bad.qcow2
}
# The extension
damaged poke bad.qcow2 $((ext + 4)) 00000010
damaged poke bad.qcow2 $((ext + 8)) 00000000
damaged poke bad.qcow2 $((ext + 8)) 00010000
damaged_all poke bad.qcow2 $((ext + 8)) 00000001
damaged poke bad.qcow2 $((ext + 8)) 00000003
damaged poke bad.qcow2 $((ext + 12)) 00000001
damaged_all poke bad.qcow2 $((ext + 16)) 0000000000000000
damaged poke bad.qcow2 $((ext + 16)) 0000000004000000
damaged poke bad.qcow2 $((ext + 16)) "$(hex64 $((dsize - 8)))"
damaged poke bad.qcow2 $((ext + 16)) "$(hex64 $((dsize + 8)))"
damaged poke bad.qcow2 $((ext + 16)) "$(hex64 $((dsize + 24)))"
damaged poke bad.qcow2 $((ext + 24)) "$(hex64 $((dir + 512)))"
damaged poke bad.qcow2 $((ext + 24)) 0000000100000000
damaged_all poke bad.qcow2 $((ext + 24)) 7fffffffc0000000
# An entry's fields
damaged_all poke bad.qcow2 $((e1 + 8)) 00000000
damaged poke bad.qcow2 "$e1" 0000000000000000
damaged poke bad.qcow2 "$e1" "$(hex64 $((table + 512)))"
damaged poke bad.qcow2 $((e1 + 8)) 08000001
damaged poke bad.qcow2 $((e1 + 8)) 00002001
damaged poke bad.qcow2 $((e1 + 17)) 08
damaged poke bad.qcow2 $((e1 + 17)) 20
damaged poke bad.qcow2 $((e1 + 12)) 00000004
damaged poke bad.qcow2 $((e1 + 12)) 80000000
damaged poke bad.qcow2 $((e1 + 16)) 00
damaged poke bad.qcow2 $((e1 + 16)) 02
damaged poke bad.qcow2 $((e1 + 18)) 0400
damaged poke bad.qcow2 $((e1 + 20)) 00000008
damaged poke bad.qcow2 $((e1 + 20)) fffffff0
damaged poke bad.qcow2 $((dir + 20)) 7fffffd0
damaged poke bad.qcow2 $((dir + 20)) 7ffffff0
# Names: a bitmap not in use may not repeat an earlier one's name
damaged_all poke bad.qcow2 $((e1 + 25)) 30
# Bitmap tables: entries, place and size
damaged_all poke bad.qcow2 "$table" 0000000000000002
damaged poke bad.qcow2 "$table" 0100000000000000
damaged poke bad.qcow2 "$table" 0000000000010001
damaged poke bad.qcow2 "$table" 0000000000010200
damaged poke bad.qcow2 "$dir" 7fffffffc0000000
damaged poke bad.qcow2 $((dir + 8)) 00000002
damaged_all poke bad.qcow2 $((e1 + 8)) 00000002

# What qemu takes: an in-use namesake, a bad table in an in-use bitmap,
# a table entry of all ones, the extreme granularities, a name that a
# NUL empties or ends early, an in-use bitmap's short table.
ok() {
	cp d.qcow2 good.qcow2
	"$@"
	same_info good.qcow2
	[ "$qrc" -eq 0 ]
	check $? "qemu-img refuses ($*)"
}
ok eval 'poke good.qcow2 $((e1 + 25)) 30; poke good.qcow2 $((e1 + 15)) 01'
ok eval 'poke good.qcow2 $((dir + 15)) 03; poke good.qcow2 $table 02'
ok poke good.qcow2 "$table" 0000000000000001
ok poke good.qcow2 $((e1 + 17)) 09
ok poke good.qcow2 $((e1 + 17)) 1f
ok poke good.qcow2 $((e1 + 24)) 00
ok poke good.qcow2 $((e1 + 18)) 0003
ok eval 'poke good.qcow2 $((dir + 15)) 03; poke good.qcow2 $((dir + 8)) 00000002'

finish
