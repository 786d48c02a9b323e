#!/bin/sh
#
# bench.sh [INSTAR]: time "instar info" against "qemu-img info" on the
# same three-image qcow2 chain and print, for each case, the mean wall
# time of each in milliseconds and the ratio instar/qemu-img.
#
# INSTAR is the instar binary (default ./instar).  BENCH_RUNS sets the
# number of runs of each command per case (default 200).  Uses hyperfine
# (with jq to read its JSON) when both are installed, else a shell loop
# that alternates the two commands and times each run with date +%s%N.
# BENCH_METHOD=loop forces the loop even when hyperfine is there.
#
# A benchmark, never a test: slow timings never make it fail.  It exits
# non-zero only if a command it runs fails.

# A case's options are split into words on purpose throughout.
# shellcheck disable=SC2086

set -u

prog=bench.sh
instar=${1:-./instar}
runs=${BENCH_RUNS:-200}
QEMU_IMG=${QEMU_IMG:-qemu-img}
QEMU_IO=${QEMU_IO:-qemu-io}

die() {
	echo "$prog: $*" >&2
	exit 1
}

case $runs in
''|*[!0-9]*|0) die "BENCH_RUNS must be a positive integer, not '$runs'" ;;
esac

case $instar in
/*) ;;
*) instar=$(pwd)/$instar ;;
esac
[ -x "$instar" ] || die "cannot execute $instar"
command -v "$QEMU_IMG" >/dev/null 2>&1 || die "$QEMU_IMG not found"
command -v "$QEMU_IO" >/dev/null 2>&1 || die "$QEMU_IO not found"
QEMU_IMG=$(command -v "$QEMU_IMG")

dir=$(mktemp -d "${TMPDIR:-/tmp}/instar-bench.XXXXXX") ||
    die "cannot create a temporary directory"
trap 'rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM HUP
cd "$dir" || die "cannot enter $dir"

# The chain of the demo: data in every layer, a compat=0.10 top.
{
	"$QEMU_IMG" create -q -f qcow2 base.qcow2 1G &&
	"$QEMU_IO" -c 'write -P 0x11 0 4M' base.qcow2 >/dev/null &&
	"$QEMU_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2 &&
	"$QEMU_IO" -c 'write -P 0x22 1M 1M' mid.qcow2 >/dev/null &&
	"$QEMU_IMG" create -q -f qcow2 -o compat=0.10 -b mid.qcow2 \
	    -F qcow2 top.qcow2
} || die "cannot create the test images"

# Run one command with the case's options; its output is not wanted.
run() {
	"$1" info $2 top.qcow2 >/dev/null
}

# A case must work once before it is timed; a difference from qemu-img
# is worth a note but is not what this script judges.
check_case() {
	"$instar" info $1 top.qcow2 >instar.out ||
	    die "instar info${1:+ $1} failed"
	"$QEMU_IMG" info $1 top.qcow2 >qemu.out ||
	    die "qemu-img info${1:+ $1} failed"
	cmp -s instar.out qemu.out ||
	    echo "$prog: note: 'info${1:+ $1}' output differs from qemu-img" >&2
}

# Single-quote a word for hyperfine's own command-line splitting.
quote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# Print "instar_ms qemu_ms" for one case.
time_hyperfine() {
	hyperfine $hf_shell --style none --warmup 3 --runs "$runs" \
	    --export-json hf.json \
	    "$(quote "$instar") info $1 top.qcow2" \
	    "$(quote "$QEMU_IMG") info $1 top.qcow2" >/dev/null 2>hf.err || {
		cat hf.err >&2
		die "hyperfine failed on 'info${1:+ $1}'"
	}
	jq -r '[.results[].mean * 1000] | map(tostring) | join(" ")' \
	    hf.json || die "cannot read hyperfine's results"
}

now_ns() {
	date +%s%N
}

# The cost of taking a timestamp, subtracted from every run.
calibrate() {
	i=0
	total=0
	while [ "$i" -lt 50 ]; do
		t0=$(now_ns)
		t1=$(now_ns)
		total=$((total + t1 - t0))
		i=$((i + 1))
	done
	overhead=$((total / 50))
}

# Print "instar_ms qemu_ms" for one case, alternating the two commands.
time_loop() {
	i=0
	sum_i=0
	sum_q=0
	while [ "$i" -lt "$runs" ]; do
		t0=$(now_ns)
		run "$instar" "$1" || die "instar info${1:+ $1} failed"
		t1=$(now_ns)
		run "$QEMU_IMG" "$1" || die "qemu-img info${1:+ $1} failed"
		t2=$(now_ns)
		sum_i=$((sum_i + t1 - t0 - overhead))
		sum_q=$((sum_q + t2 - t1 - overhead))
		i=$((i + 1))
	done
	awk -v a="$sum_i" -v b="$sum_q" -v n="$runs" \
	    'BEGIN { printf "%.6f %.6f\n", a / n / 1e6, b / n / 1e6 }'
}

case ${BENCH_METHOD:-} in
''|hyperfine|loop) ;;
*) die "BENCH_METHOD must be hyperfine or loop" ;;
esac
if [ "${BENCH_METHOD:-}" != loop ] &&
    command -v hyperfine >/dev/null 2>&1 && command -v jq >/dev/null 2>&1
then
	method=hyperfine
	# Without a shell in between, if this hyperfine can do that.
	hf_shell=
	if hyperfine --help 2>/dev/null | grep -q -e '--shell=none'; then
		hf_shell=--shell=none
	fi
else
	method=loop
	case $(now_ns) in
	''|*[!0-9]*) die "need hyperfine and jq, or a date(1) with %N" ;;
	esac
	calibrate
fi

echo "# $runs runs per command, timed with $method;" \
    "times are mean wall milliseconds"
printf '%-36s %10s %10s %8s\n' "# case" "instar" "qemu-img" "ratio"
for opts in "" "--output=json" "--backing-chain" \
    "--backing-chain --output=json"; do
	check_case "$opts"
	if [ "$method" = hyperfine ]; then
		times=$(time_hyperfine "$opts") || exit 1
	else
		times=$(time_loop "$opts") || exit 1
	fi
	set -- $times
	[ $# -eq 2 ] || die "no timings for 'info${opts:+ $opts}'"
	awk -v name="info${opts:+ $opts}" -v a="$1" -v b="$2" 'BEGIN {
		if (b > 0)
			r = sprintf("%.2f", a / b)
		else
			r = "n/a"
		printf "%-36s %10.2f %10.2f %8s\n", name, a, b, r
	}'
done
exit 0
