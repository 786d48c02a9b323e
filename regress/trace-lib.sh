# Helpers for the scripts that hold instar's process model against an
# strace of it (sandbox-trace.sh, commit-trace.sh), sourced after
# test-exec.sh.  A trace is strace -f -qq output: each line starts with
# the pid.

if ! command -v strace >/dev/null 2>&1; then
	echo "$TEST_NAME: FAIL: strace not found (install strace)" >&2
	exit 1
fi

# What the checks below look at.
TRACE_CALLS=execve,openat,close,read,pread64,readv,preadv,write,pwrite64
TRACE_CALLS=$TRACE_CALLS,writev,pwritev,mmap,ftruncate,fallocate
TRACE_CALLS=$TRACE_CALLS,copy_file_range,sendfile,splice,prctl,seccomp
TRACE_CALLS=$TRACE_CALLS,capset,ioctl,prlimit64

# trace_instar TRACE ARGS...: run instar ARGS under strace into TRACE.
# LeakSanitizer cannot run under ptrace; this matters only to a
# sanitizer build.
trace_instar() {
	_trace=$1
	shift
	rm -f "$_trace"
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o "$_trace" \
	    -e trace="$TRACE_CALLS" "$INSTAR" "$@"
}

# trace_monitor TRACE: the monitor's pid (the first execve).
trace_monitor() {
	awk '/ execve\(/ { print $1; exit }' "$1"
}

# trace_workers TRACE: the pid of every worker started.
trace_workers() {
	awk '/ execve\(.*instar-worker"/ { print $1 }' "$1"
}

# monitor_image_access TRACE PID: the lines where the monitor PID read,
# wrote, mapped or resized a descriptor on an image while it was open.
# Images are what it opened by an image's name, or reopened through
# /proc/self/fd.
monitor_image_access() {
	awk -v pid="$2" '
	function fdarg(line, n,    a) {
		sub(/^[^(]*\(/, "", line)
		split(line, a, ", ")
		return a[n] + 0
	}
	$1 != pid { next }
	/ openat\(.*(\.qcow2"|\.vmdk"|\.img"|"\/proc\/self\/fd\/)/ &&
	    $NF ~ /^[0-9]+$/ {
		img[$NF] = 1; next
	}
	/ close\(/ { delete img[fdarg($0, 1)]; next }
	/ (read|pread64|readv|preadv|write|pwrite64|writev|pwritev|ftruncate|fallocate)\(/ {
		if (fdarg($0, 1) in img) print; next
	}
	/ (copy_file_range|sendfile|splice)\(/ {
		if (fdarg($0, 1) in img || fdarg($0, 3) in img) print; next
	}
	/ mmap\(/ { if (fdarg($0, 5) in img) print }
	' "$1"
}

# worker_steps TRACE PID: the line numbers of the worker's first
# capset to no capabilities at all, no_new_privs, seccomp filter, KVM_RUN
# and read of a descriptor it did not open itself (an image; the dynamic
# loader reads the libraries it opens), 0 for none.
worker_steps() {
	awk -v pid="$2" '
	function fdarg(line,    a) {
		sub(/^[^(]*\(/, "", line)
		split(line, a, ", ")
		return a[1] + 0
	}
	$1 != pid { next }
	/ openat\(/ && $NF ~ /^[0-9]+$/ { own[$NF] = 1 }
	/ close\(/ { delete own[fdarg($0)] }
	/ capset\(.*\{effective=0, permitted=0, inheritable=0\}\) = 0$/ &&
	    !caps { caps = NR }
	/PR_SET_NO_NEW_PRIVS, 1.* = 0$/ && !nnp { nnp = NR }
	/ seccomp\(SECCOMP_SET_MODE_FILTER.* = 0$/ && !filter { filter = NR }
	/KVM_RUN/ && !run { run = NR }
	/ pread64\(/ && !(fdarg($0) in own) && !rd { rd = NR }
	END { printf "%d %d %d %d %d\n", caps, nnp, filter, run, rd }
	' "$1"
}

# worker_fsize_sets TRACE PID: "SOFT HARD" for every file size limit the
# worker PID set, in bytes ("inf" for none), in order.  strace writes a
# multiple of 1024 as N*1024.
worker_fsize_sets() {
	awk -v pid="$2" '
	function bytes(v,    f, n, i, r) {
		if (v ~ /INFINITY/)
			return "inf"
		n = split(v, f, "*")
		r = f[1]
		for (i = 2; i <= n; i++)
			r *= f[i]
		return sprintf("%.0f", r)
	}
	$1 == pid && / prlimit64\(0, RLIMIT_FSIZE, \{/ && / = 0$/ {
		match($0, /rlim_cur=[^,]*/)
		cur = substr($0, RSTART + 9, RLENGTH - 9)
		match($0, /rlim_max=[^}]*/)
		max = substr($0, RSTART + 9, RLENGTH - 9)
		print bytes(cur), bytes(max)
	}' "$1"
}

# monitor_confined DESC TRACE: the monitor never touched an image.
monitor_confined() {
	_mon=$(trace_monitor "$2")
	[ -n "$_mon" ]
	check $? "$1: the trace lacks the monitor"
	_bad=$(monitor_image_access "$2" "$_mon")
	[ -z "$_bad" ]
	check $? "$1: the monitor touched an image: $_bad"
}

# workers_confined DESC TRACE: every worker dropped its capabilities and
# set no_new_privs, then loaded its filter, before it ran the guest or
# read an image, and opened nothing after.
workers_confined() {
	_wrks=$(trace_workers "$2")
	[ -n "$_wrks" ]
	check $? "$1: the trace lacks a worker"
	for _w in $_wrks; do
		# shellcheck disable=SC2046
		set -- "$1" "$2" $(worker_steps "$2" "$_w")
		[ "$3" -gt 0 ] && [ "$4" -gt 0 ] && [ "$5" -gt "$3" ] &&
		    [ "$5" -gt "$4" ]
		check $? "$1: worker $_w: no capabilities ($3) and" \
		    "no_new_privs ($4) before the filter ($5) expected"
		[ "$6" -gt "$5" ] && { [ "$7" -eq 0 ] || [ "$7" -gt "$5" ]; }
		check $? "$1: worker $_w: the guest ran ($6) or an image was" \
		    "read ($7) before the filter ($5)"
		_late=$(awk -v pid="$_w" -v after="$5" '$1 == pid &&
		    NR > after && / openat\(/' "$2")
		[ -z "$_late" ]
		check $? "$1: worker $_w opened a file inside the sandbox: $_late"
	done
}
