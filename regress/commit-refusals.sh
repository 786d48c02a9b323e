# What instar commit refuses, before it writes anything: a VMDK base
# that would have to grow (as qemu-img), a base marked corrupt (qemu-img
# writes into it), images it cannot rewrite safely, and files it may not
# write (as qemu-img).  VMDK commits that work are in vmdk-commit.sh.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/rebase-lib.sh"
. "$REGRESS_DIR/commit-lib.sh"

# qemu_exits DESC RC: what qemu-img did in the last commit_refuses.
qemu_exits() {
	[ "$(cat "$WORK/.qrc")" = "$2" ]
	check $? "$1: qemu-img commit exits $(cat "$WORK/.qrc"), not $2:" \
	    "$(cat "$WORK/.qerr")"
}

# A VMDK base that would have to grow: qemu-img fails the same way.
mkchain vgrow
cq vgrow create -f vmdk b.vmdk 8M
cq vgrow create -f qcow2 -b b.vmdk -F vmdk t.qcow2 16M
cio vgrow -c 'write -P 0x21 12M 1M' t.qcow2
commit_refuses "VMDK base that must grow" vgrow t.qcow2 \
    "Block job failed: Operation not supported (a VMDK image cannot grow)"
qemu_exits "VMDK base that must grow" 1
grep -qx "qemu-img: Block job failed: Operation not supported" \
    "$WORK/.qerr"
check $? "VMDK base that must grow: qemu-img says $(cat "$WORK/.qerr")"
# A qcow2 v2 base that would have to grow over a longer backing file:
# the grown range must read zeros, which v2 cannot record, and qemu-img
# fails before it writes anything.
mkchain v2grow
cq v2grow create -f qcow2 l.qcow2 16M
cio v2grow -c 'write -P 0x11 0 16M' l.qcow2
cq v2grow create -f qcow2 -o compat=0.10 -b l.qcow2 -F qcow2 b.qcow2 5M
cq v2grow create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2 12M
cio v2grow -c 'write -P 0x31 4M 2M' t.qcow2
commit_refuses "v2 base that must grow over a longer backing" v2grow \
    t.qcow2 "Block job failed: Operation not supported (a qcow2 v2 image cannot grow over a longer backing file)"
qemu_exits "v2 base that must grow over a longer backing" 1
commit_refuses "v2 base that must grow over a longer backing, -b" v2grow \
    t.qcow2 "a qcow2 v2 image cannot grow" -b b.qcow2
# A raw base whose format the image above does not record is probed;
# data committed to its start could make it probe as another format (a
# qcow2 header naming any file as its backing).  qemu-img refuses such
# a write when it comes to it; instar refuses the base whole.  The
# format extension (at 0x70 in this layout) is renamed to an unknown
# one, which qemu ignores.
mkchain probed
cq probed create -f raw b.raw 8M
cq probed create -f qcow2 -b b.raw -F raw t.qcow2
[ "$(od -An -tx1 -j112 -N4 "$WORK/probed/t.qcow2" | tr -d ' ')" = e2792aca ]
check $? "probed raw: the backing format extension is not at 0x70"
poke "$WORK/probed/t.qcow2" 112 12345678
"$QEMU_IMG" info -U --output=json "$WORK/probed/t.qcow2" |
    jq -e 'has("backing-filename-format") | not' >/dev/null
check $? "probed raw: the backing format is still recorded"
cio probed -c 'write -P 0x21 1M 1M' t.qcow2
commit_refuses "probed raw base" probed t.qcow2 \
    "Block job failed: Operation not permitted (the format of 'b.raw' was probed"
qemu_exits "probed raw base" 0
cq probed create -f qcow2 hdr.qcow2 1M
dd if="$WORK/probed/hdr.qcow2" of="$WORK/probed/hdr.bin" bs=512 count=1 \
    status=none
cio probed -c 'write -s hdr.bin 0 512' t.qcow2
rm -f "$WORK/probed/hdr.qcow2"
commit_refuses "probed raw base, qcow2 header at 0" probed t.qcow2 \
    "Operation not permitted"
qemu_exits "probed raw base, qcow2 header at 0" 1
grep -q "Block job failed: Operation not permitted" "$WORK/.qerr"
check $? "probed raw base: qemu-img says $(cat "$WORK/.qerr")"

# A base marked corrupt: qemu-img reopens it read-write without a word
# and writes into it; instar says what qemu says when it opens one.
mkchain corrupt
cq corrupt create -f qcow2 b.qcow2 16M
cio corrupt -c 'write -P 0x11 0 1M' b.qcow2
cq corrupt create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2
cio corrupt -c 'write -P 0x21 1M 1M' t.qcow2
poke "$WORK/corrupt/b.qcow2" 79 02
commit_refuses "corrupt base" corrupt t.qcow2 \
    "Could not open 'b.qcow2': qcow2: Image is corrupt; cannot be opened read/write"
qemu_exits "corrupt base" 0
commit_refuses "corrupt base, -b" corrupt t.qcow2 "Image is corrupt" \
    -b b.qcow2
# A corrupt top: both refuse with the same words.
poke "$WORK/corrupt/b.qcow2" 79 00
poke "$WORK/corrupt/t.qcow2" 79 02
commit_refuses "corrupt top" corrupt t.qcow2 \
    "^instar: Could not open 't.qcow2': qcow2: Image is corrupt; cannot be opened read/write$"
qemu_exits "corrupt top" 1
commit_refuses "corrupt top, -d" corrupt t.qcow2 "Image is corrupt" -d

# Encrypted images, which the guest cannot read without their keys:
# refused where qemu-img (given no key) fails to open them, at their
# place in the chain (luks_create retries the making of one).
mkluks() {
	d=$1
	shift
	# A subshell's fail is lost: count the failure out here.
	(cd "$WORK/$d" && luks_create "$@") && return 0
	fail "could not make an encrypted image: $*"
	return 1
}
mkchain enc
cq enc create -f qcow2 b.qcow2 16M
mkluks enc -b b.qcow2 -F qcow2 t.qcow2 ||:
commit_refuses "encrypted top" enc t.qcow2 \
    "^instar: Could not open 't.qcow2': encrypted images are not supported$"
qemu_exits "encrypted top" 1
mkchain enc
mkluks enc b.qcow2 16M ||:
cq enc create -f qcow2 -b b.qcow2 -F qcow2 -u m.qcow2 16M
cq enc create -f qcow2 -b m.qcow2 -F qcow2 -u t.qcow2 16M
commit_refuses "encrypted base" enc t.qcow2 \
    "^instar: Could not open 't.qcow2': Could not open backing file: Could not open backing file: encrypted images are not supported$" \
    -b b.qcow2
qemu_exits "encrypted base" 1
commit_refuses "encrypted below the base" enc t.qcow2 \
    "Could not open backing file: encrypted images are not supported$"
qemu_exits "encrypted below the base" 1

# What the guest does not rewrite: external data files, extended L2
# entries, in the top or the base; zstd in the top.
for opt in data_file=b.data extended_l2=on; do
	mkchain feat
	cq feat create -f qcow2 -o $opt b.qcow2 16M
	cq feat create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2
	cio feat -c 'write -P 0x21 1M 1M' t.qcow2
	commit_refuses "base with $opt" feat t.qcow2 "Block job failed: "
	mkchain feat
	cq feat create -f qcow2 b.qcow2 16M
	cq feat create -f qcow2 -o $opt -b b.qcow2 -F qcow2 t.qcow2
	cio feat -c 'write -P 0x21 1M 1M' t.qcow2
	commit_refuses "top with $opt" feat t.qcow2 "Block job failed: "
done
mkchain zstd
cq zstd create -f qcow2 b.qcow2 16M
cq zstd create -f qcow2 -o compression_type=zstd -b b.qcow2 -F qcow2 t.qcow2
cio zstd -c 'write -c -P 0x21 0 64k' t.qcow2
commit_refuses "zstd top" zstd t.qcow2 "Block job failed: "

# Files that may not be written, as qemu-img: the base (qemu reopens it
# read-write when the job starts), the top even with -d (qemu opens it
# read-write).  instar needs /dev/kvm, which is root's here, so the files
# are made immutable (chattr +i) rather than unwritable by mode.
trap 'chattr -i "$WORK"/perm/* 2>/dev/null; rm -rf "$WORK"' EXIT
mkchain perm
cq perm create -f qcow2 b.qcow2 16M
cq perm create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2
cio perm -c 'write -P 0x21 1M 1M' t.qcow2
# same_refusal DESC ARGS: both exit 1 with the same words, in perm.
same_refusal() {
	desc=$1
	shift
	before=$(chain_sums "$WORK/perm")
	(cd "$WORK/perm" && "$QEMU_IMG" commit "$@") >/dev/null \
	    2>"$WORK/.qerr"
	qrc=$?
	(cd "$WORK/perm" && "$INSTAR" commit "$@") >"$WORK/.iout" \
	    2>"$WORK/.ierr"
	irc=$?
	sed 's/^qemu-img: /instar: /' "$WORK/.qerr" >"$WORK/.qerr.n"
	[ $qrc -eq 1 ] && [ $irc -eq 1 ] && [ ! -s "$WORK/.iout" ] &&
	    cmp -s "$WORK/.qerr.n" "$WORK/.ierr"
	check $? "$desc: instar $irc: $(cat "$WORK/.ierr"), qemu-img $qrc:" \
	    "$(cat "$WORK/.qerr")"
	[ "$before" = "$(chain_sums "$WORK/perm")" ]
	check $? "$desc: something changed"
}
if chattr +i "$WORK/perm/b.qcow2" 2>/dev/null; then
	same_refusal "immutable base" t.qcow2
	same_refusal "immutable base, -b" -b b.qcow2 t.qcow2
	chattr -i "$WORK/perm/b.qcow2"
	chattr +i "$WORK/perm/t.qcow2"
	same_refusal "immutable top" t.qcow2
	same_refusal "immutable top, -d" -d t.qcow2
	same_refusal "immutable top, -b" -b b.qcow2 t.qcow2
	chattr -i "$WORK/perm/t.qcow2"
else
	fail "chattr +i failed: cannot test files that may not be written"
fi

# A loop through the top: the top's own writer lock stops the walk,
# with qemu's words.
mkchain loop
cq loop create -f qcow2 a.qcow2 16M
cq loop create -f qcow2 -b a.qcow2 -F qcow2 b.qcow2
cq loop create -f qcow2 -b b.qcow2 -F qcow2 -u a.qcow2 16M
mv "$WORK/loop" "$WORK/perm.loop"
rm -rf "$WORK/perm"
mv "$WORK/perm.loop" "$WORK/perm"
same_refusal "a backing loop" b.qcow2

finish
