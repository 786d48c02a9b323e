#!/bin/sh
#
# rebase.sh [INSTAR]: time "instar rebase" against "qemu-img rebase" on
# the same images and print, for each case, the mean wall time of each
# in milliseconds and the ratio instar/qemu-img.
#
# Cases (those of the rebase issue):
#   drop-middle  safe rebase of a 3-image 4 GiB chain, dropping a middle
#                layer with 512 MiB of data (base 1 GiB of data)
#   sparse-100g  safe rebase of a 100 GiB chain with 1 MiB allocated in
#                each layer, dropping the middle layer
#   sparse-unrelated  the same chain rebased onto a copy of its base:
#                qemu-img cannot tell it is in the chain and reads it all
#   unsafe       rebase -u, end to end
#
# Every timed run starts from a fresh copy of the overlay, made outside
# the timing; the two tools alternate.  INSTAR is the instar binary
# (default ./instar); BENCH_RUNS the runs per tool for the big cases
# (default 3), BENCH_RUNS_U for the unsafe case (default 100);
# BENCH_CASES a space-separated subset of the cases.
#
# A benchmark, never a test: slow timings never make it fail.  It exits
# non-zero only if a command it runs fails or the two results differ.

set -u

prog=rebase.sh
instar=${1:-./instar}
runs=${BENCH_RUNS:-3}
runs_u=${BENCH_RUNS_U:-100}
cases=${BENCH_CASES:-drop-middle sparse-100g sparse-unrelated unsafe}
QEMU_IMG=${QEMU_IMG:-qemu-img}
QEMU_IO=${QEMU_IO:-qemu-io}

. "$(dirname "$0")/lib.sh"

check_count "$runs"
check_count "$runs_u"
bench_setup

bench_reset() {
	cp top.orig top.qcow2 || die "cannot copy the overlay"
}

bench_keep() {
	cp top.qcow2 top.instar || die "cannot keep instar's result"
}

bench_same() {
	"$QEMU_IMG" compare -q top.instar top.qcow2
}

# time_case NAME RUNS ARGS...: "rebase ARGS top.qcow2" on a fresh copy.
time_case() {
	_case=$1 _n=$2
	shift 2
	time_pair "$_case" "$_n" rebase "$@" top.qcow2
}

drop_middle() {
	"$QEMU_IMG" create -q -f qcow2 base.qcow2 4G || die "create failed"
	fill base.qcow2 0 1024 0x11
	"$QEMU_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2 ||
	    die "create failed"
	fill mid.qcow2 512 512 0x22
	"$QEMU_IMG" create -q -f qcow2 -b mid.qcow2 -F qcow2 top.orig ||
	    die "create failed"
	fill top.orig 3000 16 0x33
	time_case drop-middle "$runs" -b base.qcow2 -F qcow2
	rm -f base.qcow2 mid.qcow2 top.*
}

sparse_chain() {
	"$QEMU_IMG" create -q -f qcow2 base.qcow2 100G || die "create failed"
	"$QEMU_IO" -c 'write -q -P 0x11 10G 1M' base.qcow2 ||
	    die "cannot write"
	"$QEMU_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2 ||
	    die "create failed"
	"$QEMU_IO" -c 'write -q -P 0x22 50G 1M' mid.qcow2 || die "cannot write"
	"$QEMU_IMG" create -q -f qcow2 -b mid.qcow2 -F qcow2 top.orig ||
	    die "create failed"
	"$QEMU_IO" -c 'write -q -P 0x33 90G 1M' top.orig || die "cannot write"
}

sparse_100g() {
	sparse_chain
	time_case sparse-100g "$runs" -b base.qcow2 -F qcow2
	rm -f base.qcow2 mid.qcow2 top.*
}

sparse_unrelated() {
	sparse_chain
	cp base.qcow2 copy.qcow2 || die "cannot copy the base"
	time_case sparse-unrelated "$runs" -b copy.qcow2 -F qcow2
	rm -f base.qcow2 copy.qcow2 mid.qcow2 top.*
}

unsafe() {
	"$QEMU_IMG" create -q -f qcow2 base.qcow2 1G || die "create failed"
	"$QEMU_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 top.orig ||
	    die "create failed"
	"$QEMU_IMG" create -q -f qcow2 other.qcow2 1G || die "create failed"
	time_case unsafe "$runs_u" -u -b other.qcow2 -F qcow2
	rm -f base.qcow2 other.qcow2 top.*
}

for c in $cases; do
	case $c in
	drop-middle) drop_middle ;;
	sparse-100g) sparse_100g ;;
	sparse-unrelated) sparse_unrelated ;;
	unsafe) unsafe ;;
	*) die "unknown case '$c'" ;;
	esac
done
