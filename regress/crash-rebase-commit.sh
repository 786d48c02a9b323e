# Crash injection: a rebase (safe mode) and a commit (emptying the top
# and not) are stopped after their N-th write request, for every N from
# 1 until the job completes, and each time:
#
#   * qemu-img check finds no corruption in any image (leaks allowed);
#   * a rebased overlay still reads exactly what it read before;
#   * a committed base reads, cluster by cluster, either what it read
#     before or what the top read (the committed content); the top still
#     reads what it read before;
#   * running the same command again completes, with the same result as
#     an uninterrupted run.
#
# The stop is the test-only switch INSTAR_TEST_STOP_AFTER_WRITES=N (read
# by the test build's monitor, instar-test, passed in its Job to the test
# worker, instar-worker-test, obeyed by its vmm, which ends the process
# right after serving the N-th write, copy or truncation: between a
# write and the flush that would follow it; the installed programs have
# no such switch, see test-hooks.sh).  The writes before the stop are in
# the page cache, as a killed process leaves them.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/crash-lib.sh"

MAX_STOPS=400

# no_corruption IMAGE WHAT: qemu-img check exits 0 (clean) or 3 (leaks).
no_corruption() {
	"$QEMU_IMG" check -q "$1" >/dev/null 2>&1
	rc=$?
	[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ]
	check $? "$2: qemu-img check exits $rc on $1"
}

# ---- safe rebase: drop a middle layer ----
mkdir rb && cd rb || exit 1
qimg create -f qcow2 -o cluster_size=4k base.qcow2 32M
qio -c 'write -P 0x11 0 2M' -c 'write -P 0x12 20M 1M' base.qcow2
qimg create -f qcow2 -o cluster_size=4k -b base.qcow2 -F qcow2 mid.qcow2
qio -c 'write -P 0x21 1M 2M' -c 'write -z 20M 512k' \
    -c 'write -P 0x22 30M 64k' mid.qcow2
qimg create -f qcow2 -o cluster_size=512,refcount_bits=64 \
    -b mid.qcow2 -F qcow2 top.qcow2
qio -c 'write -P 0x31 1536k 8k' top.qcow2
flat top.qcow2 before.raw
cp top.qcow2 top.orig
cp top.orig done.qcow2
"$INSTAR" rebase -q -b base.qcow2 -F qcow2 done.qcow2
check $? "uninterrupted rebase failed"
n=1
while [ $n -le $MAX_STOPS ]; do
	cp top.orig top.qcow2
	INSTAR_TEST_STOP_AFTER_WRITES=$n "$INSTAR_TEST" rebase -q \
	    -b base.qcow2 -F qcow2 top.qcow2 >/dev/null 2>&1
	rc=$?
	[ $rc -eq 0 ] && break
	no_corruption top.qcow2 "rebase stopped after write $n"
	same_content before.raw top.qcow2 "rebase stopped after write $n"
	"$INSTAR" rebase -q -b base.qcow2 -F qcow2 top.qcow2
	check $? "rebase after a stop at write $n failed"
	no_corruption top.qcow2 "rebase rerun after write $n"
	same_content done.qcow2 top.qcow2 "rebase rerun after write $n"
	"$QEMU_IMG" info -U top.qcow2 | grep -q '^backing file: base.qcow2$'
	check $? "rebase rerun after write $n: wrong backing file"
	n=$((n + 1))
done
[ $n -gt 3 ] && [ $n -le $MAX_STOPS ]
check $? "rebase: $n stops; expected a handful of writes"
cd .. || exit 1

# ---- commit: mixed cluster sizes, a compressed base, growth ----
# crash_commit NAME ARGS...: the commit of top.qcow2 in commit/, stopped
# after every write in turn.
crash_commit() {
	name=$1
	shift
	rm -rf "$name" && cp -r commit "$name" && cd "$name" || exit 1
	flat top.qcow2 top-before.raw
	flat mid.qcow2 mid-before.raw
	for f in top mid base; do cp $f.qcow2 $f.orig; done
	"$INSTAR" commit -q "$@" top.qcow2
	check $? "$name: uninterrupted commit failed"
	flat mid.qcow2 mid-done.raw
	for f in top mid; do cp $f.qcow2 $f.done; done
	n=1
	while [ $n -le $MAX_STOPS ]; do
		for f in top mid base; do cp $f.orig $f.qcow2; done
		INSTAR_TEST_STOP_AFTER_WRITES=$n "$INSTAR_TEST" commit -q "$@" \
		    top.qcow2 >/dev/null 2>&1
		[ $? -eq 0 ] && break
		for f in top mid base; do
			no_corruption $f.qcow2 "$name stopped after write $n"
		done
		flat mid.qcow2 mid-now.raw
		per_piece mid-now.raw mid-before.raw mid-done.raw 4096 \
		    "$name stopped after write $n"
		same_content top-before.raw top.qcow2 \
		    "$name stopped after write $n (top)"
		"$INSTAR" commit -q "$@" top.qcow2
		check $? "$name: commit after a stop at write $n failed"
		same_content mid-done.raw mid.qcow2 \
		    "$name rerun after write $n (base)"
		same_content top-before.raw top.qcow2 \
		    "$name rerun after write $n (top)"
		for f in top mid; do
			no_corruption $f.qcow2 "$name rerun after write $n"
		done
		n=$((n + 1))
	done
	[ $n -gt 3 ] && [ $n -le $MAX_STOPS ]
	check $? "$name: $n stops; expected a handful of writes"
	cd .. || exit 1
}

mkdir commit && cd commit || exit 1
qimg create -f qcow2 base.qcow2 24M
qio -c 'write -P 0x11 0 8M' base.qcow2
qimg create -f qcow2 -o cluster_size=4k,refcount_bits=1 -b base.qcow2 \
    -F qcow2 mid0.qcow2 16M
qio -c 'write -P 0x21 1M 1M' -c 'write -P 0x22 7M 2M' mid0.qcow2
qimg convert -c -O qcow2 -o cluster_size=4k,refcount_bits=1 \
    -B base.qcow2 -F qcow2 mid0.qcow2 mid.qcow2
rm -f mid0.qcow2
qimg create -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2 20M
qio -c 'write -P 0x31 1536k 100k' -c 'write -z 7M 64k' \
    -c 'write -P 0x32 18M 64k' top.qcow2
qimg snapshot -c keep top.qcow2
qio -c 'write -P 0x33 3M 64k' top.qcow2
cd .. || exit 1

crash_commit commit-empty
crash_commit commit-keep -d

finish
