# What a killed rebase or commit leaves (at worst leaked clusters) is
# found by instar check as by qemu-img check, and instar check -r leaks
# frees it as qemu-img check -r leaks does; a repair killed after any
# write leaves the image no worse, and a second one completes it.  The worker is stopped after
# its N-th write for every N (INSTAR_TEST_STOP_AFTER_WRITES, see
# regress/crash-rebase-commit.sh).
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/check-lib.sh"

MAX_STOPS=200

# after_stop WHAT IMAGE: check and repair IMAGE as left by a stop.
after_stop() {
	same_check "$1" "$2"
	same_check "$1 (json)" --output=json "$2"
	"$QEMU_IMG" check "$2" >/dev/null 2>&1
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 3 ]
	check $? "$1: qemu-img check exits $rc (corruption) on $2"
	if [ $rc -eq 3 ]; then
		LEAKY=$((LEAKY + 1))
		twin_repair "$1" leaks "$2"
		twin_repair "$1 (json)" leaks "$2" --output=json
	fi
}

# ---- safe rebase, dropping a middle layer ----
mkdir rb && cd rb || exit 1
qimg create -f qcow2 -o cluster_size=4k base.qcow2 16M
qio -c 'write -P 0x11 0 1M' base.qcow2
qimg create -f qcow2 -o cluster_size=4k -b base.qcow2 -F qcow2 mid.qcow2
qio -c 'write -P 0x21 512k 1M' -c 'write -P 0x22 9M 64k' mid.qcow2
qimg create -f qcow2 -o cluster_size=4k -b mid.qcow2 -F qcow2 top.qcow2
qio -c 'write -P 0x31 768k 8k' top.qcow2
cp top.qcow2 top.orig
LEAKY=0
n=1
while [ $n -le $MAX_STOPS ]; do
	cp top.orig top.qcow2
	INSTAR_TEST_STOP_AFTER_WRITES=$n "$INSTAR_TEST" rebase -q \
	    -b base.qcow2 -F qcow2 top.qcow2 >/dev/null 2>&1
	[ $? -eq 0 ] && break
	after_stop "rebase stopped after write $n" top.qcow2
	n=$((n + 1))
done
[ $n -gt 3 ] && [ $n -le $MAX_STOPS ]
check $? "rebase: $n stops; expected a handful of writes"
[ $LEAKY -gt 0 ]
check $? "rebase: no stop left a leak; the test shows nothing"
cd .. || exit 1

# ---- commit, emptying the top ----
mkdir cm && cd cm || exit 1
qimg create -f qcow2 -o cluster_size=4k base.qcow2 16M
qio -c 'write -P 0x11 0 1M' base.qcow2
qimg create -f qcow2 -o cluster_size=64k -b base.qcow2 -F qcow2 top.qcow2
qio -c 'write -P 0x31 512k 1M' -c 'write -P 0x32 12M 128k' top.qcow2
cp top.qcow2 top.orig
cp base.qcow2 base.orig
LEAKY=0
n=1
while [ $n -le $MAX_STOPS ]; do
	cp top.orig top.qcow2
	cp base.orig base.qcow2
	INSTAR_TEST_STOP_AFTER_WRITES=$n "$INSTAR_TEST" commit -q top.qcow2 \
	    >/dev/null 2>&1
	[ $? -eq 0 ] && break
	after_stop "commit stopped after write $n (base)" base.qcow2
	after_stop "commit stopped after write $n (top)" top.qcow2
	n=$((n + 1))
done
[ $n -gt 3 ] && [ $n -le $MAX_STOPS ]
check $? "commit: $n stops; expected a handful of writes"
[ $LEAKY -gt 0 ]
check $? "commit: no stop left a leak; the test shows nothing"
cd .. || exit 1

# ---- the repair itself, stopped after every write ----
# A repair stopped anywhere leaves the image no worse than before (no
# corruption where there was none, and a corrupt image not more
# corrupt), and a second repair then leaves it as an uninterrupted one.
# A stop is the vmm's test exit (status 99, VMM_TEST_STOP_STATUS).

# corruptions IMAGE: what qemu-img check counts.
corruptions() {
	"$QEMU_IMG" check --output=json "$1" 2>/dev/null |
	    jq '.corruptions // 0'
}

# crash_repair DESC MODE IMAGE
crash_repair() {
	"$QEMU_IMG" check "$3" >/dev/null 2>&1
	before=$?
	before_c=$(corruptions "$3")
	cp "$3" whole.qcow2
	"$INSTAR" check -r "$2" whole.qcow2 >/dev/null 2>&1
	"$QEMU_IMG" check --output=json whole.qcow2 >whole.json 2>/dev/null
	n=1
	while [ $n -le $MAX_STOPS ]; do
		cp "$3" r.qcow2
		INSTAR_TEST_STOP_AFTER_WRITES=$n "$INSTAR_TEST" check -r "$2" \
		    r.qcow2 >/dev/null 2>.stop.err
		grep -q "the worker failed (exit status 99)" .stop.err || break
		"$QEMU_IMG" check r.qcow2 >/dev/null 2>&1
		now=$?
		now_c=$(corruptions r.qcow2)
		{ [ $now -eq 0 ] || [ $now -eq 3 ] || [ $now -eq "$before" ]; } &&
		    [ "$now_c" -le "$before_c" ]
		check $? "$1: repair stopped after write $n: qemu-img check" \
		    "exits $now with $now_c corruptions (before: $before," \
		    "$before_c)"
		"$INSTAR" check -r "$2" r.qcow2 >/dev/null 2>&1
		"$QEMU_IMG" check --output=json r.qcow2 2>/dev/null |
		    sed 's/"r.qcow2"/"whole.qcow2"/' >r.json
		cmp -s whole.json r.json
		check $? "$1: repair rerun after a stop at write $n differs" \
		    "from an uninterrupted one"
		n=$((n + 1))
	done
	[ $n -gt 1 ] && [ $n -le $MAX_STOPS ]
	check $? "$1: $n stops; the repair wrote nothing?"
}

mkdir rp && cd rp || exit 1
# Leaks spread over many refcount blocks (512-byte clusters, 64-bit
# refcounts: 64 entries a block), left by a rebase stopped late.
qimg create -f qcow2 -o cluster_size=512,refcount_bits=64 base.qcow2 4M
qio -c 'write -P 1 0 1M' base.qcow2
qimg create -f qcow2 -o cluster_size=512,refcount_bits=64 \
    -b base.qcow2 -F qcow2 mid.qcow2
qio -c 'write -P 2 256k 512k' mid.qcow2
qimg create -f qcow2 -o cluster_size=512,refcount_bits=64 \
    -b mid.qcow2 -F qcow2 top.qcow2
qio -c 'write -P 3 2M 64k' top.qcow2
cp top.qcow2 top.orig
n=1
leaky=0
while [ $n -le $MAX_STOPS ]; do
	cp top.orig top.qcow2
	INSTAR_TEST_STOP_AFTER_WRITES=$n "$INSTAR_TEST" rebase -q \
	    -b base.qcow2 -F qcow2 top.qcow2 >/dev/null 2>&1
	[ $? -eq 0 ] && break
	"$QEMU_IMG" check top.qcow2 >/dev/null 2>&1
	[ $? -eq 3 ] && cp top.qcow2 leaky.qcow2 && leaky=1
	n=$((n + 1))
done
[ $leaky -eq 1 ]
check $? "no stopped rebase left leaks to repair"
[ $leaky -eq 1 ] && crash_repair "leaks of a stopped rebase" leaks \
    leaky.qcow2

# Hundreds of leaks over many refcount blocks: L2 tables dropped from
# the L1 table of a 512-byte-cluster image with 64-bit refcounts leave
# them and their data clusters unreferenced.
qimg create -f qcow2 -o cluster_size=512,refcount_bits=64 drop.qcow2 4M
qio -c 'write -P 1 0 1M' drop.qcow2
l1=$(od -A n -t x8 --endian=big -j 40 -N 8 drop.qcow2 | tr -d ' ')
poke drop.qcow2 $((0x$l1 + 8)) 0000000000000000000000000000000000000000000000000000000000000000
"$QEMU_IMG" check drop.qcow2 >/dev/null 2>&1
check $(($? != 3)) "dropped L2 tables: not a leak-only image"
crash_repair "L2 tables dropped" leaks drop.qcow2

# A data cluster missing its COPIED flag, and a refcount too high on
# another: -r all rewrites an L2 entry and a refcount.
qimg create -f qcow2 mixed.qcow2 8M
qio -c 'write -P 1 0 128k' mixed.qcow2
poke mixed.qcow2 $((0x40000)) 0000000000050000
poke mixed.qcow2 $((0x20000 + 2 * 6)) 0002
crash_repair "COPIED and refcount" all mixed.qcow2

# Rebuilds of the refcount structure (-r all): a used cluster with
# refcount 0, and a refcount block outside the image.
qimg create -f qcow2 zero.qcow2 8M
qio -c 'write -P 1 0 128k' zero.qcow2
poke zero.qcow2 $((0x20000 + 2 * 5)) 0000
crash_repair "rebuild, refcount 0" all zero.qcow2
qimg create -f qcow2 rtb.qcow2 8M
qio -c 'write -P 1 0 128k' rtb.qcow2
poke rtb.qcow2 $((0x10000)) 0000000010000000
crash_repair "rebuild, refcount block outside" all rtb.qcow2
cd .. || exit 1

finish
