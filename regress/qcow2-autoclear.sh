# An autoclear bit that neither qemu 7.2 nor instar knows (bit 63 here)
# must be cleared by whatever writes the image (qcow2.txt); qemu does it
# as it opens an image for writing.  check -r, commit's top and rebase
# leave the header's autoclear field as qemu-img leaves it.  qemu-img
# commit leaves the bit in the base, which it reopens for writing rather
# than opens: instar clears it there too, as the specification asks.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"

# autoclear FILE: the field at offset 88, in hex.
autoclear() {
	od -An -tx1 -j88 -N8 "$1" | tr -d ' \n'
}

# set_bit63 FILE: or bit 63 into the autoclear field.
set_bit63() {
	printf '\200' | dd of="$1" bs=1 seek=88 conv=notrunc 2>/dev/null
}

# same_field DESC FILE-Q FILE-I: qemu-img's and instar's results alike.
same_field() {
	q=$(autoclear "$2")
	i=$(autoclear "$3")
	[ "$q" = "$i" ]
	check $? "$1: autoclear is $i after instar, $q after qemu-img"
	[ "$q" = 0000000000000000 ]
	check $? "$1: qemu-img leaves $q; the test expects the bit cleared"
}

qimg create -f qcow2 base.qcow2 4M
qio -c 'write -P 0x11 0 1M' base.qcow2
qimg create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qio -c 'write -P 0x22 512k 1M' top.qcow2
qimg create -f qcow2 new.qcow2 4M
set_bit63 base.qcow2
set_bit63 top.qcow2
[ "$(autoclear top.qcow2)" = 8000000000000000 ]
check $? "the test could not set bit 63"

# check without -r opens read-only: nothing changes.
cp top.qcow2 ro.qcow2
"$INSTAR" check ro.qcow2 >/dev/null
check $? "instar check of an image with bit 63 failed"
[ "$(autoclear ro.qcow2)" = 8000000000000000 ]
check $? "check without -r changed the header"

for mode in leaks all; do
	cp top.qcow2 q-$mode.qcow2
	cp top.qcow2 i-$mode.qcow2
	"$QEMU_IMG" check -r $mode q-$mode.qcow2 >/dev/null
	"$INSTAR" check -r $mode i-$mode.qcow2 >/dev/null
	check $? "instar check -r $mode failed"
	same_field "check -r $mode" q-$mode.qcow2 i-$mode.qcow2
done

for tool in q i; do
	mkdir $tool
	cp base.qcow2 top.qcow2 new.qcow2 $tool/
done
(cd q && "$QEMU_IMG" commit top.qcow2 >/dev/null)
(cd i && "$INSTAR" commit top.qcow2 >/dev/null)
check $? "instar commit failed"
[ "$(autoclear i/base.qcow2)" = 0000000000000000 ]
check $? "commit: the base keeps bit 63: $(autoclear i/base.qcow2)"
"$QEMU_IMG" compare q/base.qcow2 i/base.qcow2 >/dev/null
check $? "commit: the bases read differently"
same_field "commit: the top" q/top.qcow2 i/top.qcow2
"$QEMU_IMG" compare q/top.qcow2 i/top.qcow2 >/dev/null
check $? "commit: the tops read differently"
"$QEMU_IMG" check -q i/base.qcow2
check $? "commit: the base is not clean"

for tool in q i; do
	rm -rf $tool
	mkdir $tool
	cp base.qcow2 top.qcow2 new.qcow2 $tool/
done
(cd q && "$QEMU_IMG" rebase -b new.qcow2 -F qcow2 top.qcow2)
(cd i && "$INSTAR" rebase -b new.qcow2 -F qcow2 top.qcow2)
check $? "instar rebase failed"
same_field "rebase" q/top.qcow2 i/top.qcow2
"$QEMU_IMG" compare q/top.qcow2 i/top.qcow2 >/dev/null
check $? "rebase: the overlays read differently"

finish
