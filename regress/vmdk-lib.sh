# Helpers for the vmdk-*.sh scripts, sourced after test-exec.sh,
# rebase-lib.sh and commit-lib.sh.
#
# qemu-img cannot rebase a VMDK, and its VMDK commit leaves the top
# unreadable, so these tests hold instar's results against what the
# images read before (flattened raw copies) rather than against
# qemu-img's results, and check what qemu-img reads and says of them
# afterwards: qemu-img compare (which fails, as any qemu read does, when
# a child's parentCID is not its parent's CID), qemu-img check, and the
# parent name and CIDs qemu-img info reports.

# cid_of IMAGE / parent_cid_of IMAGE: the CIDs qemu-img info reports.
cid_of() {
	"$QEMU_IMG" info -U --output=json "$1" |
	    jq '."format-specific".data.cid'
}

parent_cid_of() {
	"$QEMU_IMG" info -U --output=json "$1" |
	    jq '."format-specific".data."parent-cid"'
}

# backing_of IMAGE: the backing file name qemu-img info reports, or
# "null".
backing_of() {
	"$QEMU_IMG" info -U --output=json "$1" | jq -r '."backing-filename"'
}

# linked DESC CHILD PARENT: CHILD records PARENT's CID, so qemu reads
# through it.
linked() {
	_lc=$(parent_cid_of "$2")
	_lp=$(cid_of "$3")
	[ -n "$_lc" ] && [ "$_lc" = "$_lp" ]
	check $? "$1: $2 records parent CID $_lc, $3 has CID $_lp"
}

# reads_as DESC IMAGE RAW: IMAGE reads (through its chain) exactly RAW.
reads_as() {
	compare_images "$1" "$3" "$2"
}

# clean_vmdk DESC IMAGE: qemu-img check finds nothing wrong.
clean_vmdk() {
	"$QEMU_IMG" check -U "$2" >"$WORK/.check" 2>&1
	check $? "$1: qemu-img check $2: $(cat "$WORK/.check")"
}

# holds_nothing DESC IMAGE: qemu-img map finds nothing at depth 0.
holds_nothing() {
	_hn=$(depth0 "$2")
	[ "$_hn" = 0 ]
	check $? "$1: $2 still holds $_hn extents"
}

# flat_in DIR IMAGE OUT: IMAGE of DIR (relative names) flattened to OUT.
flat_in() {
	(cd "$WORK/$1" && "$QEMU_IMG" convert -U -O raw "$2" "$3") ||
	    fail "cannot flatten $1/$2"
}

# work_copy DIR IMAGE: a fresh copy of the fixture $WORK/DIR as
# $WORK/DIR.i, with IMAGE flattened to $WORK/.before.raw and every
# file's sum in $WORK/.sums-before, for only_changed.
work_copy() {
	rm -rf "$WORK/$1.i"
	cp -a "$WORK/$1" "$WORK/$1.i"
	flat_in "$1.i" "$2" "$WORK/.before.raw"
	(cd "$WORK/$1.i" && chain_sums .) >"$WORK/.sums-before"
}

# only_changed DESC FILE...: in the current directory (a work_copy),
# no file but the FILEs differs from what work_copy recorded.
only_changed() {
	_odesc=$1
	shift
	chain_sums . | while read -r _osum _oname; do
		for _of in "$@"; do
			[ "$_oname" = "./$_of" ] && continue 2
		done
		grep -qx "$_osum  $_oname" "$WORK/.sums-before" ||
		    echo "$_oname"
	done >"$WORK/.changed"
	[ ! -s "$WORK/.changed" ]
	check $? "$_odesc: files changed that must not: $(cat "$WORK/.changed")"
}

# run_ok DESC DIR ARGS...: instar ARGS, run in $WORK/DIR, exits 0 and
# prints nothing on stderr.  stdout is left in $WORK/.iout.
run_ok() {
	_rdesc=$1
	_rdir=$2
	shift 2
	(cd "$WORK/$_rdir" && "$INSTAR" "$@") >"$WORK/.iout" 2>"$WORK/.ierr"
	_rrc=$?
	[ $_rrc -eq 0 ] && [ ! -s "$WORK/.ierr" ]
	check $? "$_rdesc: instar $* exits $_rrc: $(cat "$WORK/.ierr")"
}

# refuses_in DESC DIR PATTERN ARGS...: instar ARGS, run in $WORK/DIR,
# exits 1 with PATTERN on stderr, and no file of DIR changed.
refuses_in() {
	_fdesc=$1
	_fdir=$2
	_fpattern=$3
	shift 3
	chain_sums "$WORK/$_fdir" >"$WORK/.sums-before"
	# Not in a subshell: refuses counts its checks.
	cd "$WORK/$_fdir" || fail "cd $_fdir"
	refuses "$_fdesc" "$_fpattern" "$@"
	cd "$WORK" || fail "cd $WORK"
	[ "$(chain_sums "$WORK/$_fdir")" = "$(cat "$WORK/.sums-before")" ]
	check $? "$_fdesc: a refused command changed files"
}
