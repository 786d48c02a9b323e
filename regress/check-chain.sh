# instar check --chain (an instar extension) checks every image of the
# backing chain: each report is qemu-img check's on that image, preceded
# by "image: NAME" (human) or an element of one JSON array; the exit
# status is the worst (1, 2, 3, 63, 0).
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/check-lib.sh"

# expect_chain DESC RC ARGS... -- IMAGES...: instar check --chain ARGS
# prints what qemu-img check ARGS prints for each of IMAGES, and exits RC.
expect_chain() {
	desc=$1
	want=$2
	shift 2
	args=
	while [ "$1" != "--" ]; do
		args="$args $1"
		shift
	done
	shift
	: >.want.out
	: >.want.json
	first=1
	for img in "$@"; do
		[ $first -eq 1 ] || echo >>.want.out
		first=0
		echo "image: $img" >>.want.out
		# shellcheck disable=SC2086
		"$QEMU_IMG" check $args "$img" >>.want.out 2>/dev/null
		# shellcheck disable=SC2086
		"$QEMU_IMG" check $args --output=json "$img" 2>/dev/null |
		    jq -c . >>.want.json
	done
	# shellcheck disable=SC2086
	"$INSTAR" check --chain $args "$1" >.got.out 2>.got.err
	rc=$?
	[ $rc -eq "$want" ]
	check $? "$desc: exit $rc, want $want: $(head -3 .got.err)"
	if cmp -s .want.out .got.out; then
		pass
	else
		fail "$desc: human reports differ"
		diff -u .want.out .got.out | head -30 >&2
	fi
	# shellcheck disable=SC2086
	"$INSTAR" check --chain $args --output=json "$1" >.got.json \
	    2>/dev/null
	rc=$?
	[ $rc -eq "$want" ]
	check $? "$desc (json): exit $rc, want $want"
	if jq -e 'type == "array"' .got.json >/dev/null 2>&1 &&
	    jq -c '.[]' .got.json | cmp -s .want.json -; then
		pass
	else
		fail "$desc (json): reports differ"
		jq -c '.[]' .got.json 2>&1 | diff -u .want.json - | head -30 >&2
	fi
}

qimg create -f qcow2 base.qcow2 16M
qio -c 'write -P 1 0 256k' base.qcow2
qimg create -f qcow2 -o cluster_size=4k -b base.qcow2 -F qcow2 mid.qcow2
qio -c 'write -P 2 64k 64k' mid.qcow2
mkdir sub
qimg create -f qcow2 -b ../mid.qcow2 -F qcow2 sub/top.qcow2
qio -c 'write -P 3 128k 4k' sub/top.qcow2

expect_chain "clean chain" 0 -- sub/top.qcow2 sub/../mid.qcow2 \
    sub/../base.qcow2
expect_chain "single image" 0 -- base.qcow2

# A leak in the middle layer: 3.
n=$(($(stat -c %s mid.qcow2) / 4096))
truncate -s +4k mid.qcow2
poke mid.qcow2 $((0x2000 + 2 * n)) 0001
"$QEMU_IMG" check mid.qcow2 >/dev/null 2>&1
check $(($? != 3)) "the middle layer's leak is not what the test wants"
expect_chain "leak in the middle" 3 -- sub/top.qcow2 sub/../mid.qcow2 \
    sub/../base.qcow2

# And a corruption at the bottom: 2 wins.
poke base.qcow2 $((0x20000 + 2 * 5)) 0000
"$QEMU_IMG" check base.qcow2 >/dev/null 2>&1
check $(($? != 2)) "the base's corruption is not what the test wants"
expect_chain "corrupt base" 2 -- sub/top.qcow2 sub/../mid.qcow2 \
    sub/../base.qcow2

# A raw base: reported as having no checks; the overlay is clean, so the
# worst is 63.
qimg create -f raw disk.raw 1M
qimg create -f qcow2 -b disk.raw -F raw over.qcow2
"$INSTAR" check --chain over.qcow2 >.got.out 2>.got.err
rc=$?
[ $rc -eq 63 ]
check $? "raw base: exit $rc, want 63"
grep -q "This image format does not support checks" .got.err
check $? "raw base: no 'does not support checks'"

# A middle layer whose check cannot complete (a VMDK grain beyond the
# end of the file: "Check failed: Invalid argument"): 1, and the images
# below it are still checked and reported.
mkdir v && cd v || exit 1
qimg create -f vmdk base.vmdk 16M
qimg create -f vmdk -b base.vmdk -F vmdk mid.vmdk 16M
qio -f vmdk -c 'write -P 1 0 128k' mid.vmdk
qimg create -f qcow2 -b mid.vmdk -F vmdk top.qcow2
gd=$(od -A n -t u8 -j 56 -N 8 mid.vmdk | tr -d ' ')
gt=$(od -A n -t u4 -j $((gd * 512)) -N 4 mid.vmdk | tr -d ' ')
poke mid.vmdk $((gt * 512 + 4)) 00001000
"$QEMU_IMG" check mid.vmdk >/dev/null 2>&1
check $(($? != 1)) "the VMDK layer's damage is not what the test wants"
expect_chain "failed middle layer" 1 -- top.qcow2 mid.vmdk base.vmdk
grep -q "^instar: Check failed: Invalid argument$" .got.err
check $? "failed middle layer: no 'Check failed: Invalid argument'"
cd .. || exit 1

# Repairing the whole chain: every image clean afterwards.
"$INSTAR" check --chain -r all sub/top.qcow2 >/dev/null 2>&1
for img in sub/top.qcow2 mid.qcow2 base.qcow2; do
	"$QEMU_IMG" check "$img" >/dev/null 2>&1
	check $? "--chain -r all: $img not clean afterwards"
done

finish
