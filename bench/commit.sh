#!/bin/sh
#
# commit.sh [INSTAR]: time "instar commit" against "qemu-img commit" on
# the same images and print, for each case, the mean wall time of each
# in milliseconds and the ratio instar/qemu-img.
#
# Cases (those of the commit issue):
#   commit-256m  commit a top holding 256 MiB into its parent, in a
#                4 GiB chain whose base holds 1 GiB
#   commit-empty commit an overlay that holds nothing
#   commit-vmdk-256m  commit a VMDK top holding 256 MiB into its VMDK
#                parent, which holds 512 MiB of 4 GiB (qemu-img leaves
#                that top unreadable and unemptied; only the bases are
#                compared)
#
# Every timed run starts from fresh copies of the top and its parent,
# made outside the timing; the two tools alternate, and their bases must
# compare equal.  INSTAR is the instar binary (default ./instar);
# BENCH_RUNS the runs per tool (default 3, 20 for commit-empty);
# BENCH_CASES a space-separated subset of the cases.
#
# A benchmark, never a test: slow timings never make it fail.  It exits
# non-zero only if a command it runs fails or the two results differ.

set -u

prog=commit.sh
instar=${1:-./instar}
runs=${BENCH_RUNS:-3}
runs_e=${BENCH_RUNS:-20}
cases=${BENCH_CASES:-commit-256m commit-empty commit-vmdk-256m}
QEMU_IMG=${QEMU_IMG:-qemu-img}
QEMU_IO=${QEMU_IO:-qemu-io}

. "$(dirname "$0")/lib.sh"

check_count "$runs"
check_count "$runs_e"
bench_setup

# The cases' images: top.$ext over mid.$ext.
ext=qcow2

bench_reset() {
	cp top.orig "top.$ext" && cp mid.orig "mid.$ext" ||
	    die "cannot copy the images"
}

bench_keep() {
	cp "mid.$ext" mid.instar || die "cannot keep instar's result"
}

bench_same() {
	"$QEMU_IMG" compare -q -f "$ext" -F "$ext" mid.instar "mid.$ext"
}

# time_case NAME RUNS: "commit -q top.$ext" on fresh copies.
time_case() {
	time_pair "$1" "$2" commit -q "top.$ext"
}

chain() {
	"$QEMU_IMG" create -q -f qcow2 base.qcow2 4G || die "create failed"
	fill base.qcow2 0 1024 0x11
	"$QEMU_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 mid.orig ||
	    die "create failed"
	fill mid.orig 2048 64 0x22
	"$QEMU_IMG" create -q -f qcow2 -u -b mid.qcow2 -F qcow2 top.orig 4G ||
	    die "create failed"
}

commit_256m() {
	chain
	cp mid.orig mid.qcow2 || die "cannot copy"
	fill top.orig 768 256 0x33
	time_case commit-256m "$runs"
	rm -f base.qcow2 mid.* top.*
}

commit_empty() {
	chain
	time_case commit-empty "$runs_e"
	rm -f base.qcow2 mid.* top.*
}

commit_vmdk_256m() {
	ext=vmdk
	# A VMDK child records its parent's CID, read when it is created.
	"$QEMU_IMG" create -q -f vmdk mid.vmdk 4G || die "create failed"
	fill mid.vmdk 0 512 0x11
	"$QEMU_IMG" create -q -f vmdk -b mid.vmdk -F vmdk top.orig ||
	    die "create failed"
	fill top.orig 768 256 0x33
	mv mid.vmdk mid.orig || die "cannot rename"
	time_case commit-vmdk-256m "$runs"
	rm -f mid.* top.*
	ext=qcow2
}

for c in $cases; do
	case $c in
	commit-256m) commit_256m ;;
	commit-empty) commit_empty ;;
	commit-vmdk-256m) commit_vmdk_256m ;;
	*) die "unknown case '$c'" ;;
	esac
done
