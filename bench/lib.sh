# Shared by the bench scripts: sourced, never run.  Sets up a scratch
# directory and gives die, now_ns, fill, report and time_pair.
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

# report NAME INSTAR_NS QEMU_NS RUNS
report() {
	awk -v n="$1" -v ti="$2" -v tq="$3" -v r="$4" 'BEGIN {
		mi = ti / r / 1e6; mq = tq / r / 1e6
		printf "%-16s instar %9.2f ms   qemu-img %9.2f ms   ratio %.3f\n",
		    n, mi, mq, mi / mq
	}'
}

# report_runs NAME INSTAR_FILE QEMU_FILE: as report, from files holding
# one run's time in ns per line, with the medians too: on a shared host a
# few runs stalled by a neighbour move the mean far more than the median.
report_runs() {
	for _f in "$2" "$3"; do
		sort -n "$_f" | awk '{ t[NR] = $1; s += $1 } END {
			m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
			printf "%f %f\n", s / NR / 1e6, m / 1e6
		}'
	done | awk -v n="$1" '
		NR == 1 { mi = $1; di = $2 }
		NR == 2 { mq = $1; dq = $2 }
		END {
			printf "%-16s instar %9.2f ms   qemu-img %9.2f ms   ratio %.3f\n",
			    n, mi, mq, mi / mq
			printf "%-16s median %9.2f ms   qemu-img %9.2f ms   ratio %.3f\n",
			    "", di, dq, di / dq
		}'
}

# time_pair NAME RUNS ARGS...: RUNS times each, alternating, run
# "instar ARGS" and "qemu-img ARGS" after the caller's bench_reset, timing
# only the command; the caller's bench_keep saves instar's result and
# bench_same compares it with qemu-img's last one.  Prints the means.
time_pair() {
	_name=$1 _runs=$2
	shift 2
	_ti=0 _tq=0 _i=0
	while [ "$_i" -lt "$_runs" ]; do
		for _tool in "$instar" "$QEMU_IMG"; do
			bench_reset
			sync
			_t0=$(now_ns)
			"$_tool" "$@" || die "$_tool $* failed"
			_t1=$(now_ns)
			if [ "$_tool" = "$instar" ]; then
				_ti=$((_ti + _t1 - _t0))
				bench_keep
			else
				_tq=$((_tq + _t1 - _t0))
			fi
		done
		_i=$((_i + 1))
	done
	bench_same || die "$_name: instar's result differs from qemu-img's"
	report "$_name" "$_ti" "$_tq" "$_runs"
}
