#!/bin/sh
#
# shapes.sh [INSTAR]: time instar against qemu-img on the shapes of the
# speed issue, the same images for both, and print for each case the
# mean and median wall time of each tool, the ratio instar/qemu-img, the
# throughput where a case moves data, and the peak RSS of each.
#
# Cases:
#   commit-c512 commit-c4k commit-c64k commit-c2m
#                 commit a top holding 64 MiB in 1 MiB pieces, 16 MiB
#                 apart, into a base holding 64 MiB, both 1 GiB with
#                 512 B, 4 KiB, 64 KiB or 2 MiB clusters
#   check-c512 check-c4k check-c64k check-c2m
#                 check that top
#   commit-compressed
#                 commit a 256 MiB top whose every cluster is
#                 compressed (text, about 4:1) into its base
#   commit-10-layers
#                 commit -b base from the top of a chain of 10 overlays
#                 of 16 MiB each over a base holding 64 MiB
#   info-chain-10 info-chain-50
#                 info --backing-chain of 10 and 50 overlays
#   check-4g-full a 4 GiB qcow2 with every cluster allocated
#   check-4g-frag a 4 GiB qcow2 with 1 GiB allocated in 64 KiB clusters
#                 written in a scattered order, so that neighbours in the
#                 guest are far apart in the file
#   info-1m rebase-u-1m
#                 latency: info and rebase -u of a 1 MiB image
#   commit-64m commit-256m commit-1g commit-4g
#                 throughput: commit a top holding that much data into
#                 an empty 4 GiB base
#
# Images are made with qemu-img and qemu-io in a scratch directory.
# Writing cases start each run from fresh copies made outside the
# timing, and the two tools' results must compare equal; read-only
# cases must print the same report.  INSTAR is the instar binary
# (default ./instar); BENCH_RUNS the runs per tool (default 5, 50 for
# the latency and info cases, 2 for commit-4g); BENCH_CASES a
# space-separated subset.  The peak RSS comes from bench/peak-rss
# beside INSTAR (PEAK_RSS to name another).
#
# A benchmark, never a test: slow timings never make it fail.  It exits
# non-zero only if a command it runs fails or the two results differ.

set -u

prog=shapes.sh
instar=${1:-./instar}
runs=${BENCH_RUNS:-5}
runs_fast=${BENCH_RUNS:-50}
runs_huge=${BENCH_RUNS:-2}
cases=${BENCH_CASES:-commit-c512 commit-c4k commit-c64k commit-c2m
    check-c512 check-c4k check-c64k check-c2m commit-compressed
    commit-10-layers info-chain-10 info-chain-50 check-4g-full
    check-4g-frag info-1m rebase-u-1m commit-64m commit-256m commit-1g
    commit-4g}
QEMU_IMG=${QEMU_IMG:-qemu-img}
QEMU_IO=${QEMU_IO:-qemu-io}

. "$(dirname "$0")/lib.sh"

check_count "$runs"
check_count "$runs_fast"
check_count "$runs_huge"
bench_setup

# A writing case names the images a run changes in bench_files: each
# run starts from NAME.orig copied to NAME.qcow2, and instar's result of the
# last one (bench_result) is kept and compared with qemu-img's.
bench_files=""
bench_result=""

bench_reset() {
	for _f in $bench_files; do
		cp "${_f%.qcow2}.orig" "$_f" || die "cannot copy $_f"
	done
}

bench_keep() {
	[ -z "$bench_result" ] || cp "$bench_result" "$bench_result.instar" ||
	    die "cannot keep instar's result"
}

bench_same() {
	[ -z "$bench_result" ] ||
	    "$QEMU_IMG" compare -q "$bench_result.instar" "$bench_result"
}

# same_report ARGS...: both tools print the same thing for ARGS.
same_report() {
	"$instar" "$@" >instar.out || die "instar $* failed"
	"$QEMU_IMG" "$@" >qemu.out || die "qemu-img $* failed"
	cmp -s instar.out qemu.out ||
	    die "instar and qemu-img print differently for $*"
}

# read_case NAME RUNS ARGS...: a case that changes nothing.
read_case() {
	_rname=$1 _rruns=$2
	shift 2
	bench_files="" bench_result="" bench_mib=""
	same_report "$@"
	time_pair "$_rname" "$_rruns" "$@"
}

# write_case NAME RUNS MIB FILES RESULT ARGS...: a case that changes
# FILES (each NAME.qcow2 made from NAME.orig) and leaves RESULT to compare.
write_case() {
	_wname=$1 _wruns=$2
	bench_mib=$3 bench_files=$4 bench_result=$5
	shift 5
	time_pair "$_wname" "$_wruns" "$@"
}

# scatter IMG COUNT STRIDE_MIB PATTERN: COUNT 1 MiB writes, STRIDE_MIB
# apart from 0, through qemu-io's command loop (one process for all).
scatter() {
	_i=0
	while [ "$_i" -lt "$2" ]; do
		echo "write -q -P $4 $((_i * $3))M 1M"
		_i=$((_i + 1))
	done | "$QEMU_IO" "$1" >/dev/null || die "cannot write $1"
}

cluster_bytes() {
	case $1 in
	c512) echo 512 ;;
	c4k) echo 4096 ;;
	c64k) echo 65536 ;;
	c2m) echo 2097152 ;;
	*) die "unknown cluster size $1" ;;
	esac
}

# cluster_chain SIZE: base.orig (64 MiB at 0) under top.qcow2 (64 MiB
# scattered), both 1 GiB with that cluster size.
cluster_chain() {
	_cs=$(cluster_bytes "$1")
	"$QEMU_IMG" create -q -f qcow2 -o cluster_size="$_cs" base.qcow2 1G ||
	    die "create failed"
	fill base.qcow2 0 64 0x11
	"$QEMU_IMG" create -q -f qcow2 -o cluster_size="$_cs" \
	    -b base.qcow2 -F qcow2 top.qcow2 || die "create failed"
	scatter top.qcow2 64 16 0x22
	mv base.qcow2 base.orig && cp top.qcow2 top.orig ||
	    die "cannot keep the originals"
}

commit_clusters() {
	cluster_chain "$1"
	write_case "commit-$1" "$runs" 64 "base.qcow2 top.qcow2" base.qcow2 \
	    commit -q top.qcow2
	rm -f base.* top.*
}

check_clusters() {
	cluster_chain "$1"
	cp base.orig base.qcow2 || die "cannot copy"
	read_case "check-$1" "$runs" check --output=json top.qcow2
	rm -f base.* top.*
}

commit_compressed() {
	seq 1 40000000 | head -c 256M >text.raw || die "cannot make text"
	"$QEMU_IMG" create -q -f qcow2 base.qcow2 256M || die "create failed"
	fill base.qcow2 0 64 0x11
	"$QEMU_IMG" convert -c -f raw -O qcow2 text.raw top.qcow2 ||
	    die "convert failed"
	"$QEMU_IMG" rebase -u -b base.qcow2 -F qcow2 top.qcow2 ||
	    die "rebase failed"
	mv base.qcow2 base.orig && cp top.qcow2 top.orig || die "cannot copy"
	rm -f text.raw
	write_case commit-compressed "$runs" 256 "base.qcow2 top.qcow2" \
	    base.qcow2 commit -q top.qcow2
	rm -f base.* top.*
}

# layers N: l1.qcow2 ... lN.qcow2 over base.qcow2 (64 MiB at 0), each
# with 1 MiB written MIB_EACH MiB into the disk at a place of its own.
layers() {
	_n=$1 _each=$2
	"$QEMU_IMG" create -q -f qcow2 base.qcow2 4G || die "create failed"
	fill base.qcow2 0 64 0x11
	_below=base.qcow2 _i=1
	while [ "$_i" -le "$_n" ]; do
		"$QEMU_IMG" create -q -f qcow2 -b "$_below" -F qcow2 \
		    "l$_i.qcow2" || die "create failed"
		[ "$_each" -eq 0 ] ||
		    fill "l$_i.qcow2" $((_i * 128)) "$_each" $((_i + 1))
		_below=l$_i.qcow2
		_i=$((_i + 1))
	done
}

commit_layers() {
	layers 10 16
	_files=base.qcow2
	for _f in base.qcow2 l*.qcow2; do
		cp "$_f" "${_f%.qcow2}.orig" || die "cannot copy"
		[ "$_f" = base.qcow2 ] || _files="$_files $_f"
	done
	write_case commit-10-layers "$runs" 160 "$_files" base.qcow2 \
	    commit -q -b base.qcow2 l10.qcow2
	rm -f base.* l*.qcow2* l*.orig
}

info_chain() {
	layers "$1" 0
	read_case "info-chain-$1" "$runs_fast" info --backing-chain "l$1.qcow2"
	rm -f base.* l*.qcow2
}

check_full() {
	"$QEMU_IMG" create -q -f qcow2 full.qcow2 4G || die "create failed"
	fill full.qcow2 0 4096 0x44
	read_case check-4g-full "$runs" check --output=json full.qcow2
	rm -f full.qcow2
}

# 16384 clusters of 64 KiB, each written alone, cluster i of the run at
# guest cluster (i * 7919) mod 65536: the file holds them in an order
# unrelated to the guest's, with L2 tables between them.
check_frag() {
	"$QEMU_IMG" create -q -f qcow2 frag.qcow2 4G || die "create failed"
	_i=0
	while [ "$_i" -lt 16384 ]; do
		echo "write -q -P 5 $(((_i * 7919 % 65536) * 64))k 64k"
		_i=$((_i + 1))
	done | "$QEMU_IO" frag.qcow2 >/dev/null || die "cannot write"
	read_case check-4g-frag "$runs" check --output=json frag.qcow2
	rm -f frag.qcow2
}

info_small() {
	"$QEMU_IMG" create -q -f qcow2 small.qcow2 1M || die "create failed"
	"$QEMU_IO" -c 'write -q -P 7 0 64k' small.qcow2 >/dev/null ||
	    die "cannot write"
	read_case info-1m "$runs_fast" info small.qcow2
	rm -f small.qcow2
}

rebase_u_small() {
	"$QEMU_IMG" create -q -f qcow2 base.qcow2 1M || die "create failed"
	"$QEMU_IMG" create -q -f qcow2 other.qcow2 1M || die "create failed"
	"$QEMU_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 top.orig ||
	    die "create failed"
	write_case rebase-u-1m "$runs_fast" "" top.qcow2 top.qcow2 \
	    rebase -u -b other.qcow2 -F qcow2 top.qcow2
	rm -f base.qcow2 other.qcow2 top.*
}

# commit_size NAME MIB RUNS: a top holding MIB, contiguous from 0, over
# an empty 4 GiB base.
commit_size() {
	"$QEMU_IMG" create -q -f qcow2 base.qcow2 4G || die "create failed"
	"$QEMU_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 top.orig ||
	    die "create failed"
	fill top.orig 0 "$2" 0x55
	mv base.qcow2 base.orig || die "cannot rename"
	write_case "$1" "$3" "$2" "base.qcow2 top.qcow2" base.qcow2 \
	    commit -q top.qcow2
	rm -f base.* top.*
}

for c in $cases; do
	case $c in
	commit-c512|commit-c4k|commit-c64k|commit-c2m)
		commit_clusters "${c#commit-}" ;;
	check-c512|check-c4k|check-c64k|check-c2m)
		check_clusters "${c#check-}" ;;
	commit-compressed) commit_compressed ;;
	commit-10-layers) commit_layers ;;
	info-chain-10) info_chain 10 ;;
	info-chain-50) info_chain 50 ;;
	check-4g-full) check_full ;;
	check-4g-frag) check_frag ;;
	info-1m) info_small ;;
	rebase-u-1m) rebase_u_small ;;
	commit-64m) commit_size commit-64m 64 "$runs" ;;
	commit-256m) commit_size commit-256m 256 "$runs" ;;
	commit-1g) commit_size commit-1g 1024 "$runs" ;;
	commit-4g) commit_size commit-4g 4096 "$runs_huge" ;;
	*) die "unknown case '$c'" ;;
	esac
done
