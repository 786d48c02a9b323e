# instar info honours QEMU's image locks as qemu-img info does: an image a
# VM (here qemu-io) has open read-write is refused, unless -U shares it;
# an image open read-only elsewhere is fine.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/hold-lib.sh"

# holds_lock IMAGE: whether some process holds a QEMU lock on IMAGE's
# byte 100 (consistent read), read from /proc/locks so the check itself
# takes no lock (a probe with qemu-img would, and could make qemu-io's
# own start fail).
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
qimg create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2

hold top.qcow2
same_output "held image json" info --output=json top.qcow2
same_output "held image human" info top.qcow2
refuses "held image" 'Failed to get shared "write" lock' info top.qcow2
grep -q "Is another process using the image \[top.qcow2\]?" "$WORK/.stderr"
check $? "no hint about the other process"
same_output "held image -U" info -U --output=json top.qcow2
same_output "held image --force-share" info --force-share top.qcow2
release

# A held backing file stops a chain walk, as in qemu-img.
hold base.qcow2
same_output "held backing" info --backing-chain --output=json top.qcow2
same_output "held backing, top only" info --output=json top.qcow2
same_output "held backing -U" info -U --backing-chain --output=json \
    top.qcow2
release

# Read-only users share everything we need.
hold top.qcow2 -r
same_output "read-only holder" info --output=json top.qcow2
release

finish
