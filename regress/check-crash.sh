# What a killed rebase or commit leaves (at worst leaked clusters) is
# found by instar check as by qemu-img check, and instar check -r leaks
# frees it as qemu-img check -r leaks does.  The worker is stopped after
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
	INSTAR_TEST_STOP_AFTER_WRITES=$n "$INSTAR" rebase -q \
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
	INSTAR_TEST_STOP_AFTER_WRITES=$n "$INSTAR" commit -q top.qcow2 \
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

finish
