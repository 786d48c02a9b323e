# instar check honours QEMU's image locks as qemu-img check does: an
# image a VM (here qemu-io) writes is refused, and so is its backing
# file's writer; -U shares everything; -r needs write, so even a
# read-only user elsewhere refuses it.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/check-lib.sh"

. "$REGRESS_DIR/hold-lib.sh"

# holds_lock IMAGE: some process holds QEMU's byte 100 of IMAGE (read
# from /proc/locks, so that looking takes no lock).
holds_lock() {
	awk -v ino=":$(stat -c %i "$1")" '
	    $2 == "OFDLCK" && substr($6, length($6) - length(ino) + 1) == ino &&
	    $7 <= 100 && $8 >= 100 { found = 1 }
	    END { exit !found }' /proc/locks
}

# hold waits for byte 100 itself, not for just any lock.
holder_locked() {
	holds_lock "$1"
}

qimg create -f qcow2 base.qcow2 16M
qio -c 'write -P 1 0 64k' base.qcow2
qimg create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qio -c 'write -P 2 64k 64k' top.qcow2

# A writer holds the top.
hold top.qcow2
same_check "held image" top.qcow2
same_check "held image json" --output=json top.qcow2
same_check "held image -r leaks" -r leaks top.qcow2
same_check "held image -U" -U top.qcow2
same_check "held image --force-share json" --force-share --output=json \
    top.qcow2
release

# A writer holds the backing file.
hold base.qcow2
same_check "held backing" top.qcow2
same_check "held backing -U" -U top.qcow2
same_check "held backing -r all" -r all top.qcow2
release

# A reader holds the top: checking is fine, repairing is not.
hold top.qcow2 -r
same_check "read-only holder" top.qcow2
same_check "read-only holder -r leaks" -r leaks top.qcow2
same_check "read-only holder -r all -U" -r all -U top.qcow2
release

# The bytes locked, as qemu-img check locks them (seen with strace):
# consistent read held, write and resize not shared; with -r write and
# resize held too; with -U everything shared.
# locked_bytes ARGS...: the bytes instar check ARGS top.qcow2 read-locks
# on top.qcow2, sorted, on one line.
locked_bytes() {
	strace -f -qq -e trace=openat,fcntl -o "$WORK/.trace" \
	    "$INSTAR" check "$@" top.qcow2 >/dev/null 2>&1
	fd=$(sed -n 's/.*openat(.*"top.qcow2".* = \([0-9]*\)$/\1/p' \
	    "$WORK/.trace" | head -1)
	sed -n "s/.*fcntl($fd, F_OFD_SETLK, {l_type=F_RDLCK, .*l_start=\([0-9]*\),.*/\1/p" \
	    "$WORK/.trace" | sort -n | tr '\n' ' '
}
if command -v strace >/dev/null 2>&1; then
	got=$(locked_bytes)
	[ "$got" = "100 201 203 " ]
	check $? "check locks '$got', want '100 201 203 '"
	got=$(locked_bytes -r leaks)
	[ "$got" = "100 101 103 201 203 " ]
	check $? "check -r leaks locks '$got', want '100 101 103 201 203 '"
	got=$(locked_bytes -U)
	[ "$got" = "100 " ]
	check $? "check -U locks '$got', want '100 '"
else
	fail "strace not found; the lock bytes are not checked"
fi

# How the monitor ends a worker (instar(1)).  Without -r it drops the
# lock of every image (an F_UNLCK of the whole file) and only then kills
# the worker without waiting for it, so the locks cannot outlast the
# command through the worker's copies of the descriptors.  With -r the
# worker may write, so the monitor keeps the locks until it exits and
# kills the worker only once the worker has said it closed every image
# and /proc shows it holds none (regress/worker-release.sh).
# ending ARGS...: for instar check ARGS top.qcow2, the monitor's image
# descriptors unlocked before its first kill, "kill" if it kills a
# worker, and "wait" if it waits for one.
ending() {
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq \
	    -e trace=execve,openat,fcntl,kill,wait4 \
	    -o "$WORK/.trace" "$INSTAR" check "$@" top.qcow2 >/dev/null 2>&1
	awk '
	NR == 1 { monitor = $1 }
	/ execve\(.*instar-worker"/ { worker = $1 }
	$1 != monitor { next }
	/ openat\(.*"(top|base)\.qcow2"/ && $NF ~ /^[0-9]+$/ { img[$NF] = 1 }
	/ fcntl\(.*F_UNLCK, l_whence=SEEK_SET, l_start=0, l_len=0/ &&
	    !killed {
		fd = $2; sub(/^fcntl\(/, "", fd); sub(/,$/, "", fd)
		if (fd in img) { unlocked++; delete img[fd] }
	}
	$2 == "kill(" worker "," && / SIGKILL/ { killed = 1 }
	$2 ~ "^wait4\\(" worker "," { waited = 1 }
	END {
		printf "%d", unlocked
		if (killed) printf " kill"
		if (waited) printf " wait"
		printf "\n"
	}' "$WORK/.trace"
}
if command -v strace >/dev/null 2>&1; then
	got=$(ending)
	[ "$got" = "2 kill" ]
	check $? "check ends its worker with '$got', want '2 kill'"
	got=$(ending --chain)
	[ "$got" = "2 kill" ]
	check $? "check --chain ends its worker with '$got', want '2 kill'"
	got=$(ending -r leaks)
	[ "$got" = "0 kill" ]
	check $? "check -r leaks ends its worker with '$got', want '0 kill'"
fi

# And what a user sees: once instar check has returned, nothing holds
# the image's locks any more, so a writer may start at once.
i=0
while [ $i -lt 10 ]; do
	"$INSTAR" check -q top.qcow2
	holds_lock top.qcow2 && break
	i=$((i + 1))
done
[ $i -eq 10 ]
check $? "a lock on top.qcow2 outlived instar check"

finish
