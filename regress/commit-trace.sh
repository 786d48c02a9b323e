# Evidence from strace that instar commit's monitor never reads, writes,
# maps or resizes an image, although it opens the top and the base
# read-write: all of that happens in the worker, for the guest.
. "$(dirname "$0")/test-exec.sh"

if ! command -v strace >/dev/null 2>&1; then
	echo "$TEST_NAME: FAIL: strace not found (install strace)" >&2
	exit 1
fi

qimg create -f qcow2 base.qcow2 16M
qio -c 'write -P 0x11 0 4M' base.qcow2
qimg create -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2
qio -c 'write -P 0x21 1M 2M' mid.qcow2
qimg create -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2 32M
qio -c 'write -P 0x31 2M 2M' -c 'write -P 0x32 20M 1M' top.qcow2

calls=execve,openat,close,read,pread64,readv,preadv,write,pwrite64,writev
calls=$calls,pwritev,mmap,ftruncate,fallocate,copy_file_range,sendfile
calls=$calls,splice
for args in "" "-d" "-b base.qcow2"; do
	rm -f trace
	# shellcheck disable=SC2086
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o trace \
	    -e trace="$calls" "$INSTAR" commit -q $args top.qcow2
	check $? "instar commit $args under strace failed"
	mon=$(awk '/ execve\(/ { print $1; exit }' trace)
	[ -n "$mon" ]
	check $? "trace lacks the monitor"
	# Descriptors on images: opened by name or reopened through
	# /proc/self/fd; none may be read, written, mapped or resized
	# while open.
	bad=$(awk -v pid="$mon" '
	function fdarg(line, n,    a) {
		sub(/^[^(]*\(/, "", line)
		split(line, a, ", ")
		return a[n] + 0
	}
	$1 != pid { next }
	/ openat\(.*(\.qcow2"|"\/proc\/self\/fd\/)/ && $NF ~ /^[0-9]+$/ {
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
	' trace)
	[ -z "$bad" ]
	check $? "commit $args: the monitor touched an image: $bad"
	# The writes were there, in the worker (so the trace saw them).
	awk -v pid="$mon" '$1 != pid && / (pwrite64|copy_file_range)\(/ {
	    found = 1 } END { exit !found }' trace
	check $? "commit $args: no write in the trace"
	# Data again for the next round.
	qio -c 'write -P 0x33 2M 2M' top.qcow2
done

finish
