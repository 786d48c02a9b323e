#!/bin/sh
#
# check.sh [INSTAR]: time "instar check" against "qemu-img check" on the
# same images and print, for each case, the mean and the median wall
# time of each in milliseconds and the ratios instar/qemu-img.
#
# Cases (those of the check issue):
#   check-4g-1g   a 4 GiB qcow2 with 1 GiB allocated
#   check-1t      a 1 TiB qcow2 holding nothing
#
# The two tools alternate on the same image, and must agree on its
# JSON report.  INSTAR is the instar binary (default ./instar);
# BENCH_RUNS the runs per tool (default 10); BENCH_CASES a
# space-separated subset of the cases.
#
# A benchmark, never a test: slow timings never make it fail.  It exits
# non-zero only if a command it runs fails or the two reports differ.

set -u

prog=check.sh
instar=${1:-./instar}
runs=${BENCH_RUNS:-10}
cases=${BENCH_CASES:-check-4g-1g check-1t}
QEMU_IMG=${QEMU_IMG:-qemu-img}
QEMU_IO=${QEMU_IO:-qemu-io}

. "$(dirname "$0")/lib.sh"

check_count "$runs"
bench_setup

# time_case NAME IMG: both tools, runs times each, alternating.
time_case() {
	_name=$1 _img=$2
	_i=0
	"$instar" check --output=json "$_img" >instar.json ||
	    die "instar check failed"
	"$QEMU_IMG" check --output=json "$_img" >qemu.json ||
	    die "qemu-img check failed"
	cmp -s instar.json qemu.json ||
	    die "$_name: instar and qemu-img report differently"
	: >instar.times
	: >qemu.times
	while [ "$_i" -lt "$runs" ]; do
		_t0=$(now_ns)
		"$instar" check -q "$_img" || die "instar check failed"
		_t1=$(now_ns)
		"$QEMU_IMG" check -q "$_img" || die "qemu-img check failed"
		_t2=$(now_ns)
		echo $((_t1 - _t0)) >>instar.times
		echo $((_t2 - _t1)) >>qemu.times
		_i=$((_i + 1))
	done
	report_runs "$_name" instar.times qemu.times
}

for c in $cases; do
	case $c in
	check-4g-1g)
		"$QEMU_IMG" create -q -f qcow2 big.qcow2 4G ||
		    die "cannot create big.qcow2"
		# 1 GiB in four pieces spread over the disk.
		fill big.qcow2 0 256 1
		fill big.qcow2 1024 256 2
		fill big.qcow2 2048 256 3
		fill big.qcow2 3840 256 4
		time_case "$c" big.qcow2
		;;
	check-1t)
		"$QEMU_IMG" create -q -f qcow2 sparse.qcow2 1T ||
		    die "cannot create sparse.qcow2"
		time_case "$c" sparse.qcow2
		;;
	*)
		die "unknown case $c"
		;;
	esac
done
