# Shared by the bench scripts: sourced, never run.  Sets up a scratch
# directory and gives die, now_ns, fill, report_runs, peak_rss and
# time_pair.
#
# The caller sets prog, instar, QEMU_IMG and QEMU_IO first.

die() {
	echo "$prog: $*" >&2
	exit 1
}

bench_setup() {
	case $instar in
	/*) ;;
	*) instar=$(pwd)/$instar ;;
	esac
	[ -x "$instar" ] || die "cannot execute $instar"
	peak_rss_prog=${PEAK_RSS:-$(dirname "$instar")/bench/peak-rss}
	command -v "$QEMU_IMG" >/dev/null 2>&1 || die "$QEMU_IMG not found"
	command -v "$QEMU_IO" >/dev/null 2>&1 || die "$QEMU_IO not found"
	dir=$(mktemp -d "${TMPDIR:-/tmp}/instar-bench.XXXXXX") ||
	    die "cannot create a temporary directory"
	trap 'rm -rf "$dir"' EXIT
	trap 'exit 130' INT TERM HUP
	cd "$dir" || die "cannot enter $dir"
}

check_count() {
	case $1 in
	''|*[!0-9]*|0) die "run counts must be positive integers, not '$1'" ;;
	esac
}

now_ns() {
	date +%s%N
}

# fill IMG OFF_MIB LEN_MIB PATTERN: qemu-io writes in 64 MiB pieces.
fill() {
	_img=$1 _off=$2 _len=$3 _pat=$4 _cmds=""
	while [ "$_len" -gt 0 ]; do
		_n=$((_len < 64 ? _len : 64))
		_cmds="$_cmds -c 'write -q -P $_pat ${_off}M ${_n}M'"
		_off=$((_off + _n))
		_len=$((_len - _n))
	done
	eval "\"$QEMU_IO\" $_cmds \"$_img\"" >/dev/null ||
	    die "cannot write $_img"
}

# report_runs NAME INSTAR_FILE QEMU_FILE [MIB]: as report, from files
# holding one run's time in ns per line, with the medians too: on a
# shared host a few runs stalled by a neighbour move the mean far more
# than the median.  With MIB, the data each run moved, also each tool's
# throughput in MB/s (10^6 bytes) at its median time.
report_runs() {
	for _f in "$2" "$3"; do
		sort -n "$_f" | awk '{ t[NR] = $1; s += $1 } END {
			m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
			printf "%f %f\n", s / NR / 1e6, m / 1e6
		}'
	done | awk -v n="$1" -v mib="${4:-}" '
		NR == 1 { mi = $1; di = $2 }
		NR == 2 { mq = $1; dq = $2 }
		END {
			printf "%-18s instar %9.2f ms   qemu-img %9.2f ms   ratio %.3f\n",
			    n, mi, mq, mi / mq
			printf "%-18s median %9.2f ms   qemu-img %9.2f ms   ratio %.3f\n",
			    "", di, dq, di / dq
			if (mib != "")
				printf "%-18s MB/s   %9.1f      qemu-img %9.1f\n", "",
				    mib * 1.048576 / (di / 1e3),
				    mib * 1.048576 / (dq / 1e3)
		}'
}

# peak_rss NAME ARGS...: one more run of each tool, after bench_reset,
# under bench/peak-rss: the peak RSS of the largest process each ran
# (for instar, its worker, which holds the guest's memory).
peak_rss() {
	_name=$1
	shift
	if [ ! -x "$peak_rss_prog" ]; then
		printf '%-18s peak RSS not measured: no %s\n' "" "$peak_rss_prog"
		return 0
	fi
	for _tool in "$instar" "$QEMU_IMG"; do
		bench_reset
		"$peak_rss_prog" rss.kib "$_tool" "$@" >/dev/null ||
		    die "$_tool $* failed"
		if [ "$_tool" = "$instar" ]; then
			_ri=$(cat rss.kib)
		else
			_rq=$(cat rss.kib)
		fi
	done
	awk -v ri="$_ri" -v rq="$_rq" 'BEGIN {
		printf "%-18s RSS    %9.1f MiB  qemu-img %9.1f MiB\n", "",
		    ri / 1024, rq / 1024
	}'
}

# time_pair NAME RUNS ARGS...: RUNS times each, alternating, run
# "instar ARGS" and "qemu-img ARGS" after the caller's bench_reset, timing
# only the command; the caller's bench_keep saves instar's result and
# bench_same compares it with qemu-img's last one.  Prints the means and
# medians (with the throughput if bench_mib holds the MiB a run moves),
# and the peak RSS of each.
time_pair() {
	_name=$1 _runs=$2
	shift 2
	_i=0
	: >instar.times
	: >qemu.times
	while [ "$_i" -lt "$_runs" ]; do
		for _tool in "$instar" "$QEMU_IMG"; do
			bench_reset
			sync
			_t0=$(now_ns)
			"$_tool" "$@" >/dev/null || die "$_tool $* failed"
			_t1=$(now_ns)
			if [ "$_tool" = "$instar" ]; then
				echo $((_t1 - _t0)) >>instar.times
				bench_keep
			else
				echo $((_t1 - _t0)) >>qemu.times
			fi
		done
		_i=$((_i + 1))
	done
	bench_same || die "$_name: instar's result differs from qemu-img's"
	report_runs "$_name" instar.times qemu.times "${bench_mib:-}"
	peak_rss "$_name" "$@"
}
