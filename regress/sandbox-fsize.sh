# A writing job's file size limit holds: a write past it fails with
# EFBIG, which ends the job with a clear error ("File too large"), never
# a crash, and leaves the images as a crash at that point would (no
# corruption; the data not yet committed still where it was).  The limit
# here is the user's own (ulimit -f below the image's size), which the
# worker keeps when it is lower than what the job's plan needs.
. "$(dirname "$0")/test-exec.sh"

# limited ARGS...: instar ARGS with a file size limit of about a MiB
# (ulimit -f counts 512- or 1024-byte blocks, by shell).
limited() {
	(ulimit -f 2048 && exec "$INSTAR" "$@") >out.txt 2>err.txt
}

# too_large DESC RC: instar exited 1 for the size limit, not killed.
too_large() {
	[ "$2" -eq 1 ]
	check $? "$1: exit $2, want 1: $(cat err.txt)"
	grep -q "File too large" err.txt
	check $? "$1: stderr lacks 'File too large': $(cat err.txt)"
	! grep -q -e "forbidden system call" -e "killed" -e "signal" err.txt
	check $? "$1: the worker died: $(cat err.txt)"
}

# intact DESC IMAGE: qemu-img finds no corruption in IMAGE (leaks, as a
# crash leaves them, are fine).
intact() {
	"$QEMU_IMG" check "$2" >/dev/null 2>&1
	_rc=$?
	[ "$_rc" -eq 0 ] || [ "$_rc" -eq 3 ]
	check $? "$1: qemu-img check $2 exits $_rc"
}

# commit: the base, already past the limit, cannot take the top's data.
rm -f base.qcow2 top.qcow2 top.orig.qcow2
qimg create -f qcow2 base.qcow2 16M
qio -c 'write -P 0x11 0 4M' base.qcow2
qimg create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qio -c 'write -P 0x22 8M 4M' top.qcow2
cp top.qcow2 top.orig.qcow2
limited commit top.qcow2
too_large "commit" $?
intact "commit" base.qcow2
"$QEMU_IMG" compare top.qcow2 top.orig.qcow2 >/dev/null 2>&1
check $? "commit: the top changed although the commit failed"

# rebase: the overlay must take the old backing's data to drop it.
rm -f base.qcow2 top.qcow2
qimg create -f qcow2 base.qcow2 16M
qio -c 'write -P 0x11 0 4M' base.qcow2
qimg create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qio -c 'write -P 0x22 8M 4M' top.qcow2
limited rebase -b "" top.qcow2
too_large "rebase" $?
intact "rebase" top.qcow2
"$QEMU_IMG" info --output=json top.qcow2 | jq -e \
    '."backing-filename" == "base.qcow2"' >/dev/null
check $? "rebase: the backing changed although the rebase failed"

finish
