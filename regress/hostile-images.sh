# Hostile images against every subcommand: info, info --backing-chain,
# check, commit, rebase -u and rebase (safe), each on a malformed image
# (and, further down, on a good image over a malformed one).  Whatever
# the image holds, instar must end normally (no signal, no hang: 20 s at
# most) and a run that fails must change no file of the fixture.
#
# What it must do beyond that is written per image and subcommand as
# one letter:
#   R  refuse: exit 1, nothing on stdout, exactly one line on stderr that
#      names the problem (the pattern given), with no printf conversion
#      left unexpanded in it.  For images qemu-img cannot open either,
#      and for images qemu-img would write although their metadata lies
#      outside the file (qemu-img check calls them corrupt, exit 2):
#      writing into metadata that is not there is not an admin's wish.
#   Q  what qemu-img does: the same exit status, the same stdout and the
#      same stderr (qemu-img's prefix read as instar's).  For images
#      qemu-img legitimately handles: info shows what it can, check
#      reports the damage (exit 2), its errors are an admin's reference.
#   W  a write qemu-img also makes: both exit 0, qemu-img info sees the
#      same image in both results and a base both committed into reads
#      the same (an unsafe rebase rewrites only the header; data past
#      the end of the file reads as zeros for both).
#   C  as Q, for a check that finds more than a job records (see
#      instar-check(1)): instar's findings are qemu-img's first ones,
#      then a line saying how many more there were.
. "$(dirname "$0")/test-exec.sh"

# ---- the fixtures: one directory each, the hostile image named h.* ----

# A valid backing file X for the rebases ("-b new.qcow2").
newdir() {
	mkdir "$WORK/$1" || fail "mkdir $1"
	"$QEMU_IMG" create -q -f qcow2 "$WORK/$1/new.qcow2" 64M ||
	    fail "create $1/new.qcow2"
}

# An overlay with 128 KiB of data over a 1 MiB base, 64 KiB clusters:
# cluster 0 header, 1 refcount table, 2 refcount block, 3 L1 (entry 0
# at 0x30000), 4 L2 (entry 0 at 0x40000), 5 and 6 data.
overlay() {
	newdir "$1"
	(cd "$WORK/$1" &&
	    "$QEMU_IMG" create -q -f qcow2 base.qcow2 64M &&
	    "$QEMU_IO" -c 'write -P 1 0 1M' base.qcow2 >/dev/null &&
	    "$QEMU_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 h.qcow2 &&
	    "$QEMU_IO" -c 'write -P 2 0 128k' h.qcow2 >/dev/null) ||
	    fail "overlay $1"
}

# A monolithicSparse VMDK with 128 KiB of data; its header is
# little-endian: capacity at 12, grain size at 20, descriptor size at
# 36, grain table entries at 44, redundant directory at 48, directory
# at 56.
vmdk() {
	newdir "$1"
	(cd "$WORK/$1" &&
	    "$QEMU_IMG" create -q -f vmdk h.vmdk 16M &&
	    "$QEMU_IO" -f vmdk -c 'write -P 1 0 128k' h.vmdk >/dev/null) ||
	    fail "vmdk $1"
}

# seeded_noise FILE N: N bytes that are the same on every run.
seeded_noise() {
	perl -e 'srand(7); print pack("C*", map { int(rand(256)) } 1 .. $ARGV[0])' \
	    "$2" >"$1"
}

newdir empty && : >"$WORK/empty/h.img"
newdir noise && seeded_noise "$WORK/noise/h.img" 1048576
# qcow2's magic and version 3, then noise.
newdir qnoise && seeded_noise "$WORK/qnoise/h.qcow2" 1048576 &&
    poke "$WORK/qnoise/h.qcow2" 0 514649fb00000003

overlay cb8 && poke "$WORK/cb8/h.qcow2" 20 00000008
overlay cb22 && poke "$WORK/cb22/h.qcow2" 20 00000016
overlay cb255 && poke "$WORK/cb255/h.qcow2" 20 000000ff
# 4 Mi L1 entries (32 MiB, qemu's limit) in a 448 KiB file.
overlay l1big && poke "$WORK/l1big/h.qcow2" 36 00400000
overlay l1huge && poke "$WORK/l1huge/h.qcow2" 36 7fffffff
overlay l1eof && poke "$WORK/l1eof/h.qcow2" 40 0000001000000000
overlay rteof && poke "$WORK/rteof/h.qcow2" 48 0000001000000000
overlay rtbig && poke "$WORK/rtbig/h.qcow2" 56 00ffffff
overlay l1unal && poke "$WORK/l1unal/h.qcow2" 40 0000000000030001
overlay rtunal && poke "$WORK/rtunal/h.qcow2" 48 0000000000010200
overlay l2unal && poke "$WORK/l2unal/h.qcow2" $((0x30000)) 8000000000040200
overlay dataunal &&
    poke "$WORK/dataunal/h.qcow2" $((0x40000)) 8000000000050200
overlay vs63 && poke "$WORK/vs63/h.qcow2" 24 8000000000000000
overlay vsmax && poke "$WORK/vsmax/h.qcow2" 24 fffffffffffffe00
overlay incompat && poke "$WORK/incompat/h.qcow2" 72 0000000000100000
overlay extdata && poke "$WORK/extdata/h.qcow2" 72 0000000000000004
overlay corrupt && poke "$WORK/corrupt/h.qcow2" 79 02
overlay bnoff && poke "$WORK/bnoff/h.qcow2" 8 00000000ffff0000
overlay bnlen && poke "$WORK/bnlen/h.qcow2" 16 00000800
overlay hdrlen && poke "$WORK/hdrlen/h.qcow2" 100 00000010
overlay rco7 && poke "$WORK/rco7/h.qcow2" 96 00000007
overlay v4 && poke "$WORK/v4/h.qcow2" 4 00000004
# The first header extension (at 0x70) claims 4 GiB.
overlay extlen && poke "$WORK/extlen/h.qcow2" $((0x74)) ffffff00
# Pointers far beyond the end of the file: a data cluster, an L2 table,
# a refcount block.
overlay l2far && poke "$WORK/l2far/h.qcow2" $((0x40000)) 80fffffff0000000
overlay l1far && poke "$WORK/l1far/h.qcow2" $((0x30000)) 80fffffff0000000
overlay rbfar && poke "$WORK/rbfar/h.qcow2" $((0x10000)) 00fffffff0000000

newdir loop && (cd "$WORK/loop" &&
    "$QEMU_IMG" create -q -f qcow2 a.qcow2 64M &&
    "$QEMU_IMG" create -q -f qcow2 -b a.qcow2 -F qcow2 h.qcow2 &&
    "$QEMU_IMG" rebase -q -u -b h.qcow2 -F qcow2 a.qcow2) || fail "loop"
newdir selfloop && (cd "$WORK/selfloop" &&
    "$QEMU_IMG" create -q -f qcow2 h.qcow2 64M &&
    "$QEMU_IMG" rebase -q -u -b h.qcow2 -F qcow2 h.qcow2) || fail "selfloop"
newdir deep && (cd "$WORK/deep" &&
    "$QEMU_IMG" create -q -f qcow2 d0.qcow2 1M && i=1 &&
    while [ $i -le 299 ]; do
	"$QEMU_IMG" create -q -f qcow2 -b "d$((i - 1)).qcow2" -F qcow2 \
	    "d$i.qcow2" || exit 1
	i=$((i + 1))
    done &&
    "$QEMU_IMG" create -q -f qcow2 -b d299.qcow2 -F qcow2 h.qcow2) ||
    fail "deep"

vmdk vgrain0 && poke "$WORK/vgrain0/h.vmdk" 20 0000000000000000
vmdk vcap && poke "$WORK/vcap/h.vmdk" 12 ffffffffffffffff
vmdk vgt && poke "$WORK/vgt/h.vmdk" 44 ffffffff
vmdk vgdeof && poke "$WORK/vgdeof/h.vmdk" 56 0000001000000000
vmdk vrgdeof && poke "$WORK/vrgdeof/h.vmdk" 48 0000001000000000
# Descriptors of 2 TiB and of 512 MiB in a file of a few hundred KiB.
vmdk vdesc && poke "$WORK/vdesc/h.vmdk" 36 ffffffff00000000
vmdk vdesc2 && poke "$WORK/vdesc2/h.vmdk" 36 0000100000000000
# The descriptor's 20 sectors full of one unending line; a well-formed
# descriptor whose parent name takes 9000 bytes.
vmdk vdtext && perl -e 'print "a" x 10240' >"$WORK/vdtext.txt" &&
    dd if="$WORK/vdtext.txt" of="$WORK/vdtext/h.vmdk" bs=512 seek=1 \
    conv=notrunc status=none
vmdk vparent && perl -e 'print "# Disk DescriptorFile\nversion=1\n",
    "CID=4260d3ef\nparentCID=5f7060d4\ncreateType=\"monolithicSparse\"\n",
    "parentFileNameHint=\"", "x" x 9000, "\"\n",
    "RW 32768 SPARSE \"h.vmdk\"\n", "\0" x 1024' >"$WORK/vparent.txt" &&
    dd if="$WORK/vparent.txt" of="$WORK/vparent/h.vmdk" bs=512 seek=1 \
    conv=notrunc status=none

# ---- running them ----

# op_args N IMAGE: set "$@"-ready OP for subcommand N on IMAGE.
op_args() {
	case $1 in
	1) OP="info $2" ;;
	2) OP="info --backing-chain $2" ;;
	3) OP="check $2" ;;
	4) OP="commit $2" ;;
	5) OP="rebase -u -b new.qcow2 -F qcow2 $2" ;;
	6) OP="rebase -b new.qcow2 -F qcow2 $2" ;;
	esac
}

dir_sums() {
	(cd "$1" && sha256sum -- * 2>&1)
}

# run PROG DIR: run PROG $OP in DIR, bounded; RC, and DIR's .out/.err
# beside it.
run() {
	(cd "$2" && exec timeout -s KILL 20 "$1" $OP) >"$2.out" 2>"$2.err"
	RC=$?
}

# ended_normally DESC: RC is an exit, not a signal or the timeout.
ended_normally() {
	if [ "$RC" -ge 124 ]; then
		fail "$1: exit $RC (a signal or the 20 s limit):" \
		    "$(head -3 "$2.err")"
		return 1
	fi
	pass
}

# expect_refusal DESC DIR PATTERN
expect_refusal() {
	if [ "$RC" -ne 1 ]; then
		fail "$1: exit $RC, want 1: $(head -3 "$2.err")"
	elif [ -s "$2.out" ]; then
		fail "$1: printed output despite failing"
	elif [ "$(wc -l <"$2.err")" -ne 1 ] ||
	    ! grep -q '^instar: ' "$2.err"; then
		fail "$1: stderr is not one instar line: $(cat "$2.err")"
	elif ! grep -q -- "$3" "$2.err"; then
		fail "$1: stderr lacks '$3': $(cat "$2.err")"
	elif grep -q '%[-0#]*[0-9]*[hlz]*[diouxXsp]' "$2.err"; then
		fail "$1: a conversion left in the message: $(cat "$2.err")"
	else
		pass
	fi
}

# expect_like_qemu DESC DIR QDIR
expect_like_qemu() {
	sed 's/^qemu-img: /instar: /' "$3.err" >"$3.errn"
	if [ "$RC" -ne "$QRC" ]; then
		fail "$1: exit $RC, qemu-img exits $QRC: $(head -3 "$2.err")"
	elif ! cmp -s "$2.out" "$3.out"; then
		fail "$1: stdout differs from qemu-img's"
		diff -u "$3.out" "$2.out" | head -20 >&2
	elif ! cmp -s "$2.err" "$3.errn"; then
		fail "$1: stderr differs from qemu-img's"
		diff -u "$3.errn" "$2.err" | head -20 >&2
	else
		pass
	fi
}

# info_json DIR IMAGE: qemu-img info's JSON, less the space the file
# takes (a matter of allocation order and file system).
info_json() {
	(cd "$1" && "$QEMU_IMG" info -U --output=json "$2" 2>&1 |
	    jq -S 'del(."actual-size")' 2>&1)
}

# expect_write DESC DIR QDIR IMAGE: both wrote; qemu-img info sees the
# same IMAGE in both, and a base both committed into reads the same.
expect_write() {
	if [ "$RC" -ne 0 ] || [ "$QRC" -ne 0 ]; then
		fail "$1: exit $RC, qemu-img $QRC, want 0: $(head -3 "$2.err")"
	elif [ "$(info_json "$2" "$4")" != "$(info_json "$3" "$4")" ]; then
		fail "$1: qemu-img info differs from qemu-img's result"
	elif [ -f "$2/base.qcow2" ] && ! "$QEMU_IMG" compare -U \
	    "$2/base.qcow2" "$3/base.qcow2" >/dev/null 2>&1; then
		fail "$1: the base differs from qemu-img's result"
	else
		pass
	fi
}

# expect_capped DESC DIR QDIR: as expect_like_qemu, but for a check
# with more findings than a job records: instar's lines are qemu-img's
# first ones, then one line saying how many were not recorded.
expect_capped() {
	sed 's/^qemu-img: /instar: /' "$3.err" >"$3.errn"
	ilines=$(wc -l <"$2.err")
	qlines=$(wc -l <"$3.errn")
	if [ "$RC" -ne "$QRC" ]; then
		fail "$1: exit $RC, qemu-img exits $QRC: $(head -3 "$2.err")"
	elif ! cmp -s "$2.out" "$3.out"; then
		fail "$1: stdout differs from qemu-img's"
	elif head -n $((ilines - 1)) "$2.err" >"$2.errh" &&
	    head -n $((ilines - 1)) "$3.errn" >"$3.errh" &&
	    ! cmp -s "$2.errh" "$3.errh"; then
		fail "$1: the recorded findings are not qemu-img's first ones"
	elif [ "$(tail -n 1 "$2.err")" != "instar: ($((qlines - ilines + 1))"\
" more lines of findings were not recorded)" ]; then
		fail "$1: last line: $(tail -n 1 "$2.err")"
	else
		pass
	fi
}

# hostile NAME SPEC [PATTERN]: run the six subcommands (SPEC's letters,
# in op_args order) on NAME's fixture, each on a fresh copy.
hostile() {
	name=$1
	spec=$2
	pattern=${3:-}
	img=$(cd "$WORK/$name" && ls h.*)
	n=1
	while [ $n -le 6 ]; do
		op_args $n "$img"
		how=$(echo "$spec" | cut -c$n)
		hostile_one "$name: $OP" "$name" "$how" "$pattern" "$img"
		n=$((n + 1))
	done
}

# hostile_one DESC NAME HOW PATTERN IMAGE, with OP set.
hostile_one() {
	rm -rf "$WORK/run" "$WORK/qrun"
	cp -R "$WORK/$2" "$WORK/run" || fail "copy $2"
	before=$(dir_sums "$WORK/run")
	run "$INSTAR" "$WORK/run"
	ended_normally "$1" "$WORK/run" || return
	irc=$RC
	case $3 in
	R)
		expect_refusal "$1" "$WORK/run" "$4" ;;
	Q|W|C)
		cp -R "$WORK/$2" "$WORK/qrun" || fail "copy $2"
		run "$QEMU_IMG" "$WORK/qrun"
		QRC=$RC
		RC=$irc
		case $3 in
		Q) expect_like_qemu "$1" "$WORK/run" "$WORK/qrun" ;;
		W) expect_write "$1" "$WORK/run" "$WORK/qrun" "$5" ;;
		C) expect_capped "$1" "$WORK/run" "$WORK/qrun" ;;
		esac
		;;
	*)
		fail "$1: no expectation '$3'" ;;
	esac
	# Reading never writes; a failure leaves everything as it was.
	case $OP in
	info*|check*) changed_ok=0 ;;
	*) [ "$irc" -eq 0 ] && changed_ok=1 || changed_ok=0 ;;
	esac
	if [ $changed_ok -eq 0 ]; then
		[ "$before" = "$(dir_sums "$WORK/run")" ]
		check $? "$1: exit $irc, but a file changed"
	fi
}

# Images qemu-img cannot open either: every subcommand refuses, in the
# words qemu-img uses where it has words for it.
hostile cb8 RRRRRR "Unsupported cluster size: 2^8"
hostile cb22 RRRRRR "Unsupported cluster size: 2^22"
hostile cb255 RRRRRR "Unsupported cluster size: 2^255"
hostile qnoise RRRRRR "Could not open 'h.qcow2': "
hostile l1huge RRRRRR "Active L1 table too large"
hostile rtbig RRRRRR "Reference count table too large"
hostile l1unal RRRRRR "Active L1 table offset invalid"
hostile rtunal RRRRRR "Reference count table offset invalid"
hostile vs63 RRRRRR "Image is too big"
# qemu-img says "Could not refresh total sector count: File too large".
hostile vsmax RRRRRR "Image is too big"
hostile incompat RRRRRR "Unknown incompatible feature: 100000"
hostile bnoff RRRRRR "Invalid backing file offset"
hostile bnlen RRRRRR "Backing file name too long"
hostile hdrlen RRRRRR "header too short"
hostile rco7 RRRRRR "Reference count entry width too large"
hostile v4 RRRRRR "Unsupported qcow2 version 4"
hostile extlen RRRRRR "xtension"
# The external data file bit without a data file: qemu-img info and
# info --backing-chain open without I/O and show the header; the others
# need the data file.
hostile extdata QQRRRR "'data-file' is required for this image"
hostile vgrain0 RRRRRR "L1 entry size is invalid"
hostile vgt RRRRRR "L2 table size too big"
# qemu-img: "Could not refresh total sector count: File too large".
hostile vcap RRRRRR "too big"
# qemu-img: "Could not open 'h.vmdk': Invalid argument" for both.
hostile vdtext RRRRRR "VMDK descriptor has no valid CID"
hostile vparent RRRRRR "VMDK parent file name too long"

# Empty and noise probe as raw: info shows a raw image, check has
# nothing to check (63), commit finds no backing file, all as qemu-img
# (commit with qemu's warning about the probed raw image first); a raw
# image has no backing file to change.
hostile empty QQQQRR "Operation not supported"
hostile noise QQQQRR "Operation not supported"

# Metadata outside the file or misaligned: info shows the header as
# qemu-img does and check reports the damage as qemu-img does (exit 2).
# The writers refuse before writing anything: qemu-img writes some of
# these (reading the missing tables as zeros, or leaking clusters it
# then cannot reference) and aborts on others.
# (l1big's L1 table runs over the L2 table and the data: 98307 findings.)
hostile l1big QQCRRR "The L1 table at 0x30000 lies outside the image"
hostile l1eof QQQRRR "The L1 table at 0x1000000000 lies outside the image"
hostile rteof QQQRRR \
    "The refcount table at 0x1000000000 lies outside the image"
hostile rbfar QQQRRR \
    "A refcount block at 0xfffffff0000000 lies outside the image"
hostile l1far QQQRRR "An L2 table at 0xfffffff0000000 lies outside the image"
hostile l2unal QQQRRR "L1 entry 0 is invalid"
# A misaligned data cluster is only met by the jobs that read data; an
# unsafe rebase rewrites the header, as qemu-img's does.
hostile dataunal QQQRWR "Data cluster offset 0x50200 is invalid"
# A data cluster past the end of the file reads as zeros, as in qemu;
# check reports it.  The writers write what qemu-img writes.
hostile l2far QQQWWW
# Marked corrupt: readable, never writable (qemu-img's words).
hostile corrupt QQQRRR "Image is corrupt; cannot be opened read/write"

# Backing loops: info of the top alone is fine; following the chain
# ends in a clear refusal (qemu-img check spins here until killed).
# commit and a safe rebase open the top read-write and stop, as
# qemu-img does and in its words, at the lock the top's own second
# opening cannot take.  An unsafe rebase opens no backing file: it
# cuts the loop.
hostile loop QRRQWQ "creates an infinite loop"
hostile selfloop QRRQWQ "creates an infinite loop"

# 300 deep: instar's jobs hold at most 64 images and say so; qemu-img
# follows the chain.  An unsafe rebase does not open it.
hostile deep QRRRWR "64 images"

# Grain directories and descriptors beyond the end of the file: read as
# zeros, as qemu-img reads them.  VMDK images cannot be rebased.
hostile vgdeof QQQQRR "Operation not supported"
hostile vrgdeof QQQQRR "Operation not supported"
hostile vdesc QQQQRR "Operation not supported"
hostile vdesc2 QQQQRR "Operation not supported"

# ---- a good image over a hostile one, and a hostile new backing ----
# The good overlay t.qcow2 is never written when a layer it needs cannot
# be opened; the errors are qemu-img's ("Could not open backing file:"
# and "Could not open new backing file").
# layer NAME SPEC [PATTERN]: SPEC's letters for info --backing-chain,
# check, commit, rebase of the overlay, rebase onto the hostile image.
layer() {
	name=$1
	img=$(cd "$WORK/$name" && ls h.*)
	fmt=${img#h.}
	(cd "$WORK/$name" &&
	    "$QEMU_IMG" create -q -f qcow2 -u -b "$img" -F "$fmt" t.qcow2 \
		64M &&
	    "$QEMU_IMG" create -q -f qcow2 -b new.qcow2 -F qcow2 n.qcow2) ||
	    fail "layer $name"
	n=1
	for OP in "info --backing-chain t.qcow2" "check t.qcow2" \
	    "commit t.qcow2" "rebase -b new.qcow2 -F qcow2 t.qcow2" \
	    "rebase -b $img -F $fmt n.qcow2"; do
		hostile_one "$name below: $OP" "$name" "$(echo "$2" | cut -c$n)" \
		    "${3:-}" t.qcow2
		n=$((n + 1))
	done
}
for name in cb8 incompat bnoff vs63 l1huge rtunal vgrain0 extdata; do
	layer "$name" QQQQQ
done

finish
