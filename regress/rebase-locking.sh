# instar rebase takes the locks qemu-img rebase takes: the overlay as a
# writer that shares neither write nor resize, the old chain read-only
# (never shared with writers, -U or not), the new chain read-only with
# -U sharing everything.  A qemu-io holding a file stands for a VM.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/rebase-lib.sh"

. "$REGRESS_DIR/hold-lib.sh"

# holds_lock IMAGE: someone holds a QEMU lock on IMAGE's byte 100, read
# from /proc/locks so that the check itself takes no lock.
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

# same_failure DESC ARGS: instar and qemu-img rebase both exit 1 with the
# same message, on copies of nothing (the holder keeps the files as they
# are: neither may write).
same_failure() {
	desc=$1
	shift
	"$QEMU_IMG" rebase "$@" >/dev/null 2>"$WORK/.qerr"
	qrc=$?
	"$INSTAR" rebase "$@" >/dev/null 2>"$WORK/.ierr"
	irc=$?
	sed 's/^qemu-img: /instar: /' "$WORK/.qerr" >"$WORK/.qerr.n"
	if [ $qrc -ne 1 ] || [ $irc -ne 1 ]; then
		fail "$desc: instar exits $irc, qemu-img $qrc ($*):" \
		    "$(cat "$WORK/.ierr")"
	elif ! cmp -s "$WORK/.qerr.n" "$WORK/.ierr"; then
		fail "$desc: message differs"
		diff -u "$WORK/.qerr.n" "$WORK/.ierr" >&2
	else
		pass
	fi
}

# same_success DESC OVERLAY ARGS: both succeed despite the holder.
same_success() {
	desc=$1
	ovl=$2
	shift 2
	twin_rebase "$desc" "$ovl" "$@"
}

qimg create -f qcow2 base.qcow2 8M
qio -c 'write -P 0x11 0 1M' base.qcow2
qimg create -f qcow2 new.qcow2 8M
qimg create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2

# A VM writing the overlay: refused in both modes, with qemu's words.
hold top.qcow2
before=$(sums top.qcow2)
same_failure "overlay held" -b new.qcow2 -F qcow2 top.qcow2
grep -q "^instar: Could not open 'top.qcow2': Failed to get \"write\" lock$" \
    "$WORK/.ierr" &&
    grep -q "^Is another process using the image \[top.qcow2\]?$" \
    "$WORK/.ierr"
check $? "overlay held: not qemu's message: $(cat "$WORK/.ierr")"
same_failure "overlay held, unsafe" -u -b new.qcow2 -F qcow2 top.qcow2
same_failure "overlay held, -U" -U -u -b new.qcow2 -F qcow2 top.qcow2
[ "$before" = "$(sums top.qcow2)" ]
check $? "overlay held: it changed"
release

# Even a read-only user of the overlay stops a writer.
hold top.qcow2 -r
same_failure "overlay read elsewhere" -u -b new.qcow2 -F qcow2 top.qcow2
release

# A VM writing the old backing: a safe rebase must read it, refused.
hold base.qcow2
same_failure "old backing held" -b new.qcow2 -F qcow2 top.qcow2
same_failure "old backing held, -U" -U -b new.qcow2 -F qcow2 top.qcow2
# An unsafe rebase does not open it.
same_success "old backing held, unsafe" top.qcow2 -u -b new.qcow2 -F qcow2
release

# A VM writing the new backing: refused, unless -U shares it.
hold new.qcow2
same_failure "new backing held" -b new.qcow2 -F qcow2 top.qcow2
same_success "new backing held, -U" top.qcow2 -U -b new.qcow2 -F qcow2
same_success "new backing held, unsafe" top.qcow2 -u -b new.qcow2 -F qcow2
release

# Readers of the backing files are no obstacle.
hold base.qcow2 -r
same_success "old backing read elsewhere" top.qcow2 -b new.qcow2 -F qcow2
release
hold new.qcow2 -r
same_success "new backing read elsewhere" top.qcow2 -b new.qcow2 -F qcow2
release

# While instar rebases, it holds the overlay as qemu-img does: a writer
# that refuses to share write and resize.  Seen from a slow rebase (a big
# copy, progress on) by qemu-io trying to write the overlay meanwhile.
qimg create -f qcow2 bigbase.qcow2 1G
qio -c 'write -P 0x11 0 512M' bigbase.qcow2
qimg create -f qcow2 -b bigbase.qcow2 -F qcow2 bigtop.qcow2
"$INSTAR" rebase -p -b "" bigtop.qcow2 >"$WORK/.progress" 2>&1 &
pid=$!
i=0
while [ $i -lt 400 ] && ! holds_lock bigtop.qcow2; do
	sleep 0.01
	i=$((i + 1))
done
"$QEMU_IO" -c 'write 0 512' bigtop.qcow2 >"$WORK/.qio" 2>&1
qiorc=$?
wait $pid
irc=$?
check $irc "slow rebase failed: $(cat "$WORK/.progress")"
[ $qiorc -ne 0 ] && grep -q 'Failed to get "write" lock' "$WORK/.qio"
check $? "a writer got in while instar rebased: $(cat "$WORK/.qio")"

finish
