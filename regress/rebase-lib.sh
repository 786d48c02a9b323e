# Helpers for the rebase-*.sh scripts, sourced after test-exec.sh.
#
# The model: make a fixture with qemu-img/qemu-io, copy the overlay twice
# next to itself (so that relative backing names resolve the same), run
# qemu-img rebase on one copy and instar rebase on the other with the
# same arguments, and hold instar's result against qemu-img's:
#
#   * both exit the same way;
#   * instar's overlay reads the same as qemu-img's (qemu-img compare,
#     through the new chains) and, in safe mode, the same as the overlay
#     read before the rebase (a flattened raw copy);
#   * qemu-img check finds nothing wrong with instar's overlay;
#   * qemu-img info --output=json agrees, except for "filename" (the twins
#     have different names) and "actual-size" (the space a file occupies
#     depends on the allocation order and on the file system, not on the
#     image's content; qemu-img does not compare it either).  The
#     "dirty-flag" is kept: both must leave the image clean.
#
# The checks open images with -U, so that they work while a test holds
# a backing file.
#
# Refusals are held the other way round: instar exits 1 with the expected
# message and every file of the fixture is unchanged (sha256).

# The overlay copies of the last twin_rebase, for extra checks.
Q_OVL=
I_OVL=

# info_json IMAGE: qemu-img info's JSON without the fields that differ
# between twins for reasons unrelated to the rebase.
info_json() {
	"$QEMU_IMG" info -U --output=json "$1" |
	    jq -S 'del(.filename, ."actual-size")'
}

# flatten IMAGE OUT: the guest-visible content of IMAGE, as raw.
flatten() {
	"$QEMU_IMG" convert -U -O raw "$1" "$2" ||
	    fail "qemu-img convert $1 failed"
}

# compare_images DESC A B: qemu-img compare finds A and B identical.
compare_images() {
	if "$QEMU_IMG" compare -U "$2" "$3" >"$WORK/.compare" 2>&1; then
		pass
	else
		fail "$1: $2 and $3 differ: $(cat "$WORK/.compare")"
	fi
}

# check_clean DESC IMAGE: qemu-img check finds no errors and no leaks.
# With TWIN_NO_BACKING=1 the backing file is not opened (it may not
# exist).
check_clean() {
	if [ "${TWIN_NO_BACKING:-0}" -eq 1 ]; then
		set -- "$1" "json:{\"driver\": \"qcow2\", \"backing\": null,
		    \"file\": {\"driver\": \"file\", \"filename\": \"$2\"}}"
	else
		set -- "$1" "$2"
	fi
	shift
	if "$QEMU_IMG" check -U "$@" >"$WORK/.check" 2>&1; then
		pass
	else
		fail "qemu-img check $*: $(cat "$WORK/.check")"
	fi
}

# same_info DESC A B: qemu-img info agrees on A and B (see above).
same_info() {
	info_json "$2" >"$WORK/.info-a" 2>&1
	info_json "$3" >"$WORK/.info-b" 2>&1
	if cmp -s "$WORK/.info-a" "$WORK/.info-b"; then
		pass
	else
		fail "$1: qemu-img info differs"
		diff -u "$WORK/.info-a" "$WORK/.info-b" | head -30 >&2
	fi
}

# twin_rebase DESC OVERLAY ARGS...: rebase twins of OVERLAY with ARGS
# (the overlay's name is appended) and compare the results.  Arguments
# given in QEMU_EXTRA are passed to qemu-img only (qemu-img 7.2 needs
# -F where instar probes).  In safe mode (no -u among ARGS) the result
# must read as OVERLAY did before.  With TWIN_NO_BACKING=1 (a -u onto a
# file that does not exist) the results are not read, only checked and
# compared by qemu-img info.  Returns 0 if both rebases ran alike.
twin_rebase() {
	desc=$1
	ovl=$2
	shift 2
	dir=$(dirname "$ovl")
	base=$(basename "$ovl" .qcow2)
	Q_OVL=$dir/$base.q.qcow2
	I_OVL=$dir/$base.i.qcow2
	safe=1
	for a in "$@"; do
		[ "$a" = -u ] && safe=0
	done
	cp "$ovl" "$Q_OVL" && cp "$ovl" "$I_OVL" || fail "$desc: copy"
	[ $safe -eq 1 ] && flatten "$ovl" "$WORK/.before.raw"
	# shellcheck disable=SC2086
	"$QEMU_IMG" rebase ${QEMU_EXTRA:-} "$@" "$Q_OVL" \
	    >"$WORK/.qout" 2>"$WORK/.qerr"
	qrc=$?
	"$INSTAR" rebase "$@" "$I_OVL" >"$WORK/.iout" 2>"$WORK/.ierr"
	irc=$?
	if [ $qrc -ne $irc ]; then
		fail "$desc: instar exits $irc, qemu-img $qrc ($*):" \
		    "instar: $(cat "$WORK/.ierr") qemu-img: $(cat "$WORK/.qerr")"
		return 1
	fi
	pass
	[ $qrc -eq 0 ] || return 0
	if [ -s "$WORK/.iout" ]; then
		fail "$desc: instar printed output: $(cat "$WORK/.iout")"
	fi
	if [ "${TWIN_NO_BACKING:-0}" -ne 1 ]; then
		compare_images "$desc: against qemu-img's result" \
		    "$I_OVL" "$Q_OVL"
	fi
	if [ $safe -eq 1 ]; then
		compare_images "$desc: against the content before" \
		    "$WORK/.before.raw" "$I_OVL"
	fi
	check_clean "$desc" "$I_OVL"
	same_info "$desc" "$Q_OVL" "$I_OVL"
	return 0
}

# same_header DESC: (after a twin_rebase that succeeded, so:
# twin_rebase ... && same_header ...) the first cluster of the last twins is byte-identical
# (the header rewrite lays out cluster 0 exactly as qemu does).
same_header() {
	csize=$("$QEMU_IMG" info -U --output=json "$Q_OVL" |
	    jq '."cluster-size"')
	if cmp -s -n "$csize" "$Q_OVL" "$I_OVL"; then
		pass
	else
		fail "$1: cluster 0 differs from qemu-img's"
		cmp -l -n "$csize" "$Q_OVL" "$I_OVL" | head -10 >&2
	fi
}

# sums FILES...: a fingerprint of files, to show a refusal changed nothing.
sums() {
	sha256sum "$@" 2>&1
}

# refuses_unchanged DESC PATTERN FILES -- ARGS: instar rebase ARGS exits 1
# with PATTERN on stderr, and none of FILES (space-separated) changed.
refuses_unchanged() {
	desc=$1
	pattern=$2
	files=$3
	shift 4
	# shellcheck disable=SC2086
	before=$(sums $files)
	refuses "$desc" "$pattern" rebase "$@"
	# shellcheck disable=SC2086
	after=$(sums $files)
	if [ "$before" = "$after" ]; then
		pass
	else
		fail "$desc: a refused rebase changed files"
	fi
}

# qemu_refuses DESC ARGS: qemu-img rebase also exits 1 (run on a copy).
qemu_refuses() {
	desc=$1
	shift
	"$QEMU_IMG" rebase "$@" >/dev/null 2>&1
	rc=$?
	if [ $rc -eq 1 ]; then
		pass
	else
		fail "$desc: qemu-img rebase exits $rc, expected 1"
	fi
}
