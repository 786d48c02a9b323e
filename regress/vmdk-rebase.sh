# instar rebase of VMDK overlays, which qemu-img refuses ("Operation not
# supported", after copying data in safe mode).  Safe mode must keep what
# the overlay reads; -u only relinks.  Each time the descriptor must name
# the new parent (qemu-img info's backing file) and record its CID, so
# that qemu reads through it; the overlay keeps its own CID; qemu-img
# check is clean.  Refusals change nothing.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/rebase-lib.sh"
. "$REGRESS_DIR/commit-lib.sh"
. "$REGRESS_DIR/vmdk-lib.sh"

# vmdk_rebase DESC DIR OVERLAY NEWNAME SAFE [ARGS...]: rebase OVERLAY of
# $WORK/DIR (in a copy, DIR.i) with -b NEWNAME and ARGS.  SAFE=1: the
# overlay must read as before.  The new parent must be recorded, with
# its CID, or none when NEWNAME is empty.
vmdk_rebase() {
	desc=$1
	dir=$2
	ovl=$3
	new=$4
	safe=$5
	shift 5
	work_copy "$dir" "$ovl"
	cid=$(cid_of "$WORK/$dir.i/$ovl")
	run_ok "$desc" "$dir.i" rebase "$@" -b "$new" "$ovl" || return
	cd "$WORK/$dir.i" || fail "cd"
	[ "$safe" -eq 0 ] ||
	    reads_as "$desc: $ovl after the rebase" "$ovl" "$WORK/.before.raw"
	clean_vmdk "$desc" "$ovl"
	[ "$(cid_of "$ovl")" = "$cid" ]
	check $? "$desc: $ovl changed its CID"
	if [ -n "$new" ]; then
		[ "$(backing_of "$ovl")" = "$new" ]
		check $? "$desc: $ovl names $(backing_of "$ovl"), not $new"
		linked "$desc" "$ovl" "$new"
	else
		[ "$(backing_of "$ovl")" = null ] &&
		    [ "$(parent_cid_of "$ovl")" = 4294967295 ]
		check $? "$desc: $ovl still has a parent"
		grep -qa parentFileNameHint "$ovl"
		[ $? -ne 0 ]
		check $? "$desc: $ovl still has a parentFileNameHint"
	fi
	only_changed "$desc" "$ovl"
	cd "$WORK" || fail "cd"
}

# A three-layer VMDK chain and an unrelated VMDK with other content.
mkchain c
cq c create -f vmdk -o zeroed_grain=on b.vmdk 16M
cio c -c 'write -P 0x11 0 4M' -c 'write -P 0x12 12M 1M' b.vmdk
cq c create -f vmdk -b b.vmdk -F vmdk m.vmdk
cio c -c 'write -P 0x21 1M 1M' -c 'write -z 12M 64k' m.vmdk
cq c create -f vmdk -o zeroed_grain=on -b m.vmdk -F vmdk t.vmdk
cio c -c 'write -P 0x31 1536k 100k' -c 'write -P 0x32 8M 64k' t.vmdk
cq c create -f vmdk o.vmdk 16M
cio c -c 'write -P 0x41 0 16M' o.vmdk
cq c create -f vmdk -o zeroed_grain=on z.vmdk 16M

vmdk_rebase "safe, drop the middle" c t.vmdk b.vmdk 1
vmdk_rebase "safe, onto an unrelated parent" c t.vmdk o.vmdk 1
vmdk_rebase "safe, detach" c t.vmdk "" 1
vmdk_rebase "safe, onto an empty parent" c t.vmdk z.vmdk 1
vmdk_rebase "safe, same parent" c t.vmdk m.vmdk 1
vmdk_rebase "safe, -F vmdk, -p" c t.vmdk b.vmdk 1 -F vmdk -p
vmdk_rebase "unsafe" c t.vmdk o.vmdk 0 -u
vmdk_rebase "unsafe, -F vmdk" c t.vmdk b.vmdk 0 -u -F vmdk
vmdk_rebase "unsafe, detach" c t.vmdk "" 0 -u
vmdk_rebase "middle onto another parent" c m.vmdk o.vmdk 1
# Old content that is zeros where the new parent has data becomes zero
# grains in an overlay that allows them.
rm -rf "$WORK/c.z"
cp -a "$WORK/c" "$WORK/c.z"
run_ok "zero grains" c.z rebase --output=json -b o.vmdk t.vmdk
jq -e '.format == "vmdk" and ."clusters-zeroed" > 0 and
    ."cluster-size" == 65536' "$WORK/.iout" >/dev/null
check $? "zero grains: $(cat "$WORK/.iout")"
reads_as "zero grains: t.vmdk" "$WORK/c.z/t.vmdk" "$WORK/c/t.vmdk"
# The middle after -u onto another parent reads that parent's content
# where it holds nothing, and the top over it reads through it.
rm -rf "$WORK/c.u"
cp -a "$WORK/c" "$WORK/c.u"
run_ok "unsafe middle" c.u rebase -u -b o.vmdk m.vmdk
linked "unsafe middle: top still linked" "$WORK/c.u/t.vmdk" \
    "$WORK/c.u/m.vmdk"
"$QEMU_IO" -c 'read -P 0x41 8M 64k' "$WORK/c.u/m.vmdk" >/dev/null 2>&1
check $? "unsafe middle: m.vmdk does not read its new parent"

# What qemu-img does with the same: refuses, after copying in safe mode.
rm -rf "$WORK/c.q"
cp -a "$WORK/c" "$WORK/c.q"
(cd "$WORK/c.q" && "$QEMU_IMG" rebase -u -b o.vmdk -F vmdk t.vmdk) \
    >/dev/null 2>"$WORK/.qerr"
grep -q "Operation not supported" "$WORK/.qerr"
check $? "qemu-img rebase of a VMDK: $(cat "$WORK/.qerr")"

# Refused, nothing changed: a parent that is not a VMDK (qemu opens a
# VMDK's parent as a VMDK whatever it is), a name the descriptor cannot
# hold, a descriptor with no room, a streamOptimized overlay, an old
# chain whose links are broken.
cq c create -f qcow2 q.qcow2 16M
refuses_in "qcow2 parent, -F" c "backing file of a VMDK image can only be a VMDK" \
    rebase -u -b q.qcow2 -F qcow2 t.vmdk
refuses_in "qcow2 parent, probed" c "and this one is qcow2" \
    rebase -u -b q.qcow2 t.vmdk
refuses_in "qcow2 parent, safe" c "and this one is qcow2" \
    rebase -b q.qcow2 t.vmdk
ln -s o.vmdk "$WORK/c/quo\"te.vmdk"
refuses_in "quote in the name" c "quotes or line breaks" \
    rebase -u -b "quo\"te.vmdk" t.vmdk
mkchain small
cq small create -f vmdk b.vmdk 4M
cq small create -f vmdk -b b.vmdk -F vmdk t.vmdk
part=$(printf '%0150d' 0)
long=$part/$part/b.vmdk
mkdir -p "$WORK/small/$part/$part"
cp "$WORK/small/b.vmdk" "$WORK/small/$long"
# The header's descriptor size: one sector instead of twenty.
poke "$WORK/small/t.vmdk" 36 0100000000000000
refuses_in "descriptor without room" small "does not fit its 512 bytes" \
    rebase -u -b "$long" t.vmdk
mkchain stream
cq stream create -f vmdk b.vmdk 4M
cq stream create -f vmdk -o subformat=streamOptimized t.vmdk 4M
refuses_in "streamOptimized overlay" stream "'streamOptimized'" \
    rebase -u -b b.vmdk t.vmdk
# Flat and multi-extent VMDKs (a text descriptor naming other files).
cq stream create -f vmdk -o subformat=monolithicFlat f.vmdk 4M
cq stream create -f vmdk -o subformat=twoGbMaxExtentSparse x.vmdk 4M
refuses_in "flat overlay" stream \
    "VMDK create type 'monolithicFlat' is not supported" \
    rebase -u -b b.vmdk f.vmdk
refuses_in "multi-extent overlay" stream \
    "VMDK create type 'twoGbMaxExtentSparse' is not supported" \
    rebase -b b.vmdk x.vmdk
refuses_in "flat new parent" stream \
    "VMDK create type 'monolithicFlat' is not supported" \
    rebase -b f.vmdk b.vmdk
# A commit by qemu-img leaves the top's parentCID stale: reading through
# it fails in qemu, and a safe rebase of an image over it refuses.
mkchain stale
cq stale create -f vmdk b.vmdk 4M
cq stale create -f vmdk -b b.vmdk -F vmdk m.vmdk
cio stale -c 'write -P 0x51 0 1M' m.vmdk
cq stale create -f vmdk -b m.vmdk -F vmdk t.vmdk
cq stale commit m.vmdk
cq stale create -f vmdk n.vmdk 4M
refuses_in "stale old chain" stale "is not its parent's CID" \
    rebase -b n.vmdk t.vmdk

finish
