# Evidence from strace that the process model holds for info: the monitor
# never reads or maps an image, and the worker has no_new_privs and its
# seccomp filter in place before it runs the guest or reads an image.
. "$(dirname "$0")/test-exec.sh"

if ! command -v strace >/dev/null 2>&1; then
	echo "$TEST_NAME: FAIL: strace not found (install strace)" >&2
	exit 1
fi

"$QEMU_IMG" create -f qcow2 base.qcow2 16M >/dev/null || fail "create"
"$QEMU_IO" -c 'write -P 0x11 0 64k' base.qcow2 >/dev/null || fail "write"
"$QEMU_IMG" create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2 >/dev/null ||
    fail "create top"

# LeakSanitizer cannot run under ptrace; this matters only to a
# sanitizer build.
calls=execve,openat,close,read,pread64,readv,preadv,mmap,prctl,seccomp,ioctl
ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o trace -e trace="$calls" \
    "$INSTAR" info --backing-chain top.qcow2 >/dev/null
check $? "instar info under strace failed"

mon=$(awk '/ execve\(/ { print $1; exit }' trace)
wrk=$(awk '/execve\(.*instar-worker"/ { print $1; exit }' trace)
[ -n "$mon" ] && [ -n "$wrk" ]
check $? "trace lacks the monitor or the worker"

# Monitor: track the descriptors it opened images on, and fail on any
# read or mmap of one while it is open.
bad=$(awk -v pid="$mon" '
function fdarg(line, n,    a, args) {
	sub(/^[^(]*\(/, "", line)
	split(line, a, ", ")
	return a[n] + 0
}
$1 != pid { next }
/ openat\(.*\.qcow2"/ && $NF ~ /^[0-9]+$/ { img[$NF] = 1; next }
/ close\(/ { delete img[fdarg($0, 1)]; next }
/ (read|pread64|readv|preadv)\(/ { if (fdarg($0, 1) in img) print; next }
/ mmap\(/ { if (fdarg($0, 5) in img) print }
' trace)
[ -z "$bad" ]
check $? "the monitor read an image: $bad"

# Worker: the order of its first steps.  Reads of descriptors it opened
# itself (the dynamic loader reading libraries) are not image reads.
order=$(awk -v pid="$wrk" '
function fdarg(line,    a) {
	sub(/^[^(]*\(/, "", line)
	split(line, a, ", ")
	return a[1] + 0
}
$1 != pid { next }
/ openat\(/ && $NF ~ /^[0-9]+$/ { own[$NF] = 1 }
/ close\(/ { delete own[fdarg($0)] }
/PR_SET_NO_NEW_PRIVS/ && !nnp { nnp = NR }
/ seccomp\(SECCOMP_SET_MODE_FILTER.* = 0$/ && !filter { filter = NR }
/KVM_RUN/ && !run { run = NR }
/ pread64\(/ && !(fdarg($0) in own) && !rd { rd = NR }
END { printf "%d %d %d %d\n", nnp, filter, run, rd }
' trace)
set -- $order
[ "$1" -gt 0 ] && [ "$2" -gt "$1" ]
check $? "worker: no_new_privs then seccomp expected, got line $1 and $2"
[ "$3" -gt "$2" ] && [ "$4" -gt "$2" ]
check $? "worker: guest ran ($3) or an image was read ($4) before the filter ($2)"
# After the filter the worker opens nothing.
late=$(awk -v pid="$wrk" -v after="$2" '$1 == pid && NR > after &&
    / openat\(/' trace)
[ -z "$late" ]
check $? "worker opened a file inside the sandbox: $late"

finish
