# Sourced after test-exec.sh by the tests that need a running VM holding
# an image; a qemu-io stands for the VM.
#
# hold IMAGE [qemu-io options]: keep IMAGE open in qemu-io until release,
# returning once holder_locked IMAGE sees its locks.  holder_locked is
# "some OFD lock on IMAGE"; a test that must wait for a particular byte
# defines its own after sourcing this.  hold_open IMAGE QEMU-IO-ARG...
# does the same for a qemu-io command line of the test's own.

HOLDER=
stop_holder() {
	if [ -n "$HOLDER" ]; then
		kill "$HOLDER" 2>/dev/null
		wait "$HOLDER" 2>/dev/null
	fi
	HOLDER=
}
trap 'stop_holder; rm -rf "$WORK"' EXIT

# lock_bytes IMAGE: the bytes someone holds an OFD lock on in IMAGE, one
# a line, sorted, from /proc/locks (taking no lock to look: a probe with
# qemu-img would, and could make qemu-io's own start fail).
lock_bytes() {
	awk -v ino=":$(stat -c %i "$1")" '
	    $2 == "OFDLCK" && substr($6, length($6) - length(ino) + 1) == ino {
		for (b = $7; b <= $8; b++) print b
	    }' /proc/locks | sort -n | tr '\n' ' '
}

holder_locked() {
	[ -n "$(lock_bytes "$1")" ]
}

# Its names are its own (hold_*): callers keep theirs, img included.
hold_open() {
	hold_img=$1
	shift
	mkfifo "$WORK/hold.fifo"
	"$QEMU_IO" "$@" <"$WORK/hold.fifo" >/dev/null 2>&1 &
	HOLDER=$!
	exec 9>"$WORK/hold.fifo"
	rm -f "$WORK/hold.fifo"
	hold_i=0
	while [ $hold_i -lt 400 ]; do	# up to ~20 s on a loaded machine
		holder_locked "$hold_img" && return 0
		sleep 0.05
		hold_i=$((hold_i + 1))
	done
	fail "qemu-io never locked $hold_img"
}

hold() {
	hold_img=$1
	shift
	hold_open "$hold_img" "$@" "$hold_img"
}

release() {
	exec 9>&-
	stop_holder
}
