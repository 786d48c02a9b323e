# A command that writes returns only once no process holds its images:
# the worker lets go of every image before its Done, and the monitor,
# which then no longer waits for the VM's teardown, checks that in /proc
# first.  So qemu can open the image for writing the moment instar has
# returned, and no write can land after it.  Each writing command is
# run, and at once every descriptor of every process on the machine is
# looked at, then qemu-io opens the images for writing (taking qemu's
# write locks, which a descriptor left in the worker would still hold).
. "$(dirname "$0")/test-exec.sh"

# holders FILE: the pids holding a descriptor open on FILE.
holders() {
	_id=$(stat -L -c '%d:%i' "$1")
	for _fd in /proc/[0-9]*/fd/*; do
		[ "$(stat -L -c '%d:%i' "$_fd" 2>/dev/null)" = "$_id" ] &&
		    echo "${_fd%/fd/*}"
	done | sort -u
}

# released DESC FILE...: nothing holds the files, and each opens for
# writing in qemu-io at once.
released() {
	_desc=$1
	shift
	for _f in "$@"; do
		_held=$(holders "$_f")
		[ -z "$_held" ]
		check $? "$_desc: $_f still held by $_held"
		"$QEMU_IO" -c 'quit' "$_f" >"$WORK/.io" 2>&1
		check $? "$_desc: qemu-io cannot open $_f for writing:" \
		    "$(cat "$WORK/.io")"
	done
}

fresh() {
	rm -f b.qcow2 m.qcow2 t.qcow2
	"$QEMU_IMG" create -q -f qcow2 b.qcow2 16M &&
	    "$QEMU_IO" -c 'write -q -P 0x11 0 4M' b.qcow2 &&
	    "$QEMU_IMG" create -q -f qcow2 -b b.qcow2 -F qcow2 m.qcow2 &&
	    "$QEMU_IO" -c 'write -q -P 0x22 1M 2M' m.qcow2 &&
	    "$QEMU_IMG" create -q -f qcow2 -b m.qcow2 -F qcow2 t.qcow2 &&
	    "$QEMU_IO" -c 'write -q -P 0x33 2M 2M' t.qcow2
	check $? "cannot make the chain"
}

fresh
"$INSTAR" rebase -u -b b.qcow2 -F qcow2 t.qcow2
check $? "rebase -u failed"
released "rebase -u" t.qcow2 b.qcow2

fresh
"$INSTAR" rebase -b b.qcow2 -F qcow2 t.qcow2
check $? "rebase failed"
released "rebase" t.qcow2 m.qcow2 b.qcow2
"$QEMU_IO" -c 'read -q -P 0x22 1M 1M' -c 'read -q -P 0x33 2M 2M' \
    t.qcow2 >/dev/null
check $? "rebase: the overlay does not read back as before"

fresh
"$INSTAR" commit t.qcow2 >/dev/null
check $? "commit failed"
released "commit" t.qcow2 m.qcow2 b.qcow2
"$QEMU_IO" -c 'read -q -P 0x33 2M 2M' m.qcow2 >/dev/null
check $? "commit: the data is not in the parent"

fresh
"$INSTAR" commit -b b.qcow2 t.qcow2 >/dev/null
check $? "commit -b failed"
released "commit -b" t.qcow2 m.qcow2 b.qcow2

fresh
"$INSTAR" check -r all t.qcow2 >/dev/null
check $? "check -r all failed"
released "check -r all" t.qcow2

"$QEMU_IMG" check b.qcow2 >/dev/null && "$QEMU_IMG" check m.qcow2 \
    >/dev/null && "$QEMU_IMG" check t.qcow2 >/dev/null
check $? "an image is not clean at the end"

finish
