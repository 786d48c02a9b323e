# Crash injection for VMDK images: a safe rebase of a VMDK overlay, and
# a commit of a VMDK top into its VMDK base (emptying the top, and with
# -d), stopped after their N-th write request for every N until the job
# completes (INSTAR_TEST_STOP_AFTER_WRITES; see crash-rebase-commit.sh).
# Each time:
#
#   * qemu-img check finds nothing wrong with any image;
#   * a rebased overlay still reads exactly what it read before;
#   * a committed base reads, grain by grain, as before or as committed;
#   * the top reads as before, except in one documented window: between
#     the base's new CID and the top learning it (two descriptor writes,
#     two files, no way to make them one), where qemu refuses to read
#     through the top until the commit is run again;
#   * running the same command again completes, with the same result as
#     an uninterrupted run.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/crash-lib.sh"

MAX_STOPS=300
GRAIN=65536

clean() {
	"$QEMU_IMG" check -q "$1" >/dev/null 2>&1
	check $? "$2: qemu-img check fails on $1"
}

cid() {
	"$QEMU_IMG" info -U --output=json "$1" |
	    jq ".\"format-specific\".data.\"$2\""
}

# ---- safe rebase of a VMDK overlay: drop the middle layer ----
mkdir rb && cd rb || exit 1
qimg create -f vmdk base.vmdk 8M
qio -c 'write -P 0x11 0 2M' -c 'write -P 0x12 6M 1M' base.vmdk
qimg create -f vmdk -b base.vmdk -F vmdk mid.vmdk
qio -c 'write -P 0x21 1M 2M' -c 'write -P 0x22 6M 128k' mid.vmdk
qimg create -f vmdk -o zeroed_grain=on -b mid.vmdk -F vmdk top.vmdk
qio -c 'write -P 0x31 1536k 8k' top.vmdk
flat top.vmdk before.raw
cp top.vmdk top.orig
n=1
while [ $n -le $MAX_STOPS ]; do
	cp top.orig top.vmdk
	INSTAR_TEST_STOP_AFTER_WRITES=$n "$INSTAR_TEST" rebase -q -b base.vmdk \
	    top.vmdk >/dev/null 2>&1
	[ $? -eq 0 ] && break
	clean top.vmdk "rebase stopped after write $n"
	same_content before.raw top.vmdk "rebase stopped after write $n"
	"$INSTAR" rebase -q -b base.vmdk top.vmdk
	check $? "rebase after a stop at write $n failed"
	clean top.vmdk "rebase rerun after write $n"
	same_content before.raw top.vmdk "rebase rerun after write $n"
	[ "$(cid top.vmdk parent-cid)" = "$(cid base.vmdk cid)" ]
	check $? "rebase rerun after write $n: not linked to base.vmdk"
	n=$((n + 1))
done
[ $n -gt 3 ] && [ $n -le $MAX_STOPS ]
check $? "rebase: $n stops; expected a handful of writes"
cd .. || exit 1

# ---- commit of a VMDK top into its VMDK base ----
mkdir commit && cd commit || exit 1
qimg create -f vmdk -o zeroed_grain=on base.vmdk 8M
qio -c 'write -P 0x11 0 3M' base.vmdk
qimg create -f vmdk -o zeroed_grain=on -b base.vmdk -F vmdk top.vmdk
qio -c 'write -P 0x21 1M 1M' -c 'write -P 0x22 5M 100k' \
    -c 'write -z 2M 64k' -c 'write -P 0x23 7M 64k' top.vmdk
cd .. || exit 1

# crash_commit NAME ARGS...: the commit of commit/top.vmdk, stopped
# after every write in turn.
crash_commit() {
	name=$1
	shift
	rm -rf "$name" && cp -r commit "$name" && cd "$name" || exit 1
	flat top.vmdk top-before.raw
	flat base.vmdk base-before.raw
	for f in top base; do cp $f.vmdk $f.orig; done
	"$INSTAR" commit -q "$@" top.vmdk
	check $? "$name: uninterrupted commit failed"
	flat base.vmdk base-done.raw
	windows=0
	n=1
	while [ $n -le $MAX_STOPS ]; do
		for f in top base; do cp $f.orig $f.vmdk; done
		INSTAR_TEST_STOP_AFTER_WRITES=$n "$INSTAR_TEST" commit -q "$@" \
		    top.vmdk >/dev/null 2>&1
		[ $? -eq 0 ] && break
		for f in top base; do
			clean $f.vmdk "$name stopped after write $n"
		done
		flat base.vmdk base-now.raw
		per_piece base-now.raw base-before.raw base-done.raw $GRAIN \
		    "$name stopped after write $n"
		if [ "$(cid top.vmdk parent-cid)" = "$(cid base.vmdk cid)" ]
		then
			same_content top-before.raw top.vmdk \
			    "$name stopped after write $n (top)"
		else
			windows=$((windows + 1))
		fi
		"$INSTAR" commit -q "$@" top.vmdk
		check $? "$name: commit after a stop at write $n failed"
		same_content base-done.raw base.vmdk \
		    "$name rerun after write $n (base)"
		same_content top-before.raw top.vmdk \
		    "$name rerun after write $n (top)"
		for f in top base; do
			clean $f.vmdk "$name rerun after write $n"
		done
		n=$((n + 1))
	done
	[ $n -gt 3 ] && [ $n -le $MAX_STOPS ]
	check $? "$name: $n stops; expected a handful of writes"
	# Only the stop right after the base's descriptor write leaves the
	# top behind.
	[ $windows -eq 1 ]
	check $? "$name: the top was unreadable after $windows stops, not 1"
	cd .. || exit 1
}

crash_commit commit-empty
crash_commit commit-keep -d

finish
