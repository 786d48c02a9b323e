# Helpers for the check-*.sh scripts, sourced after test-exec.sh.
#
# The model: run qemu-img check and instar check with the same arguments
# on the same image (or, when they repair, on twin copies with the same
# name in two directories) and require the same exit status, the same
# standard output byte for byte (human and JSON) and the same lines on
# standard error, once each program's own prefix ("qemu-img: ",
# "instar: ") and usage hint are set aside.  After a repair, qemu-img
# check must find instar's result exactly as it finds its own.

# norm_err FILE: stderr with qemu-img's words in instar's.
norm_err() {
	sed -e 's/^qemu-img: /instar: /' \
	    -e "s/^Try 'qemu-img --help'/Try 'instar check --help'/" "$1"
}

# cmp_runs DESC QRC IRC DIR: compare the runs saved in DIR/.q.* and
# DIR/.i.* (out and err), and their exit statuses.  With
# END_OFFSET_MAY_DIFFER set, the image end offset is left out: instar
# writes a new snapshot table at the end of the file, where qemu takes
# the first free clusters (instar-check(1)).
cmp_runs() {
	if [ "$2" -ne "$3" ]; then
		fail "$1: exit $3, qemu-img exits $2:" \
		    "$(head -5 "$4/.i.err")"
		return 1
	fi
	if [ -n "${END_OFFSET_MAY_DIFFER:-}" ]; then
		for f in "$4/.q.out" "$4/.i.out"; do
			sed -i -e '/^Image end offset: /d' \
			    -e '/"image-end-offset": /d' "$f"
		done
	fi
	if ! cmp -s "$4/.q.out" "$4/.i.out"; then
		fail "$1: stdout differs from qemu-img's"
		diff -u "$4/.q.out" "$4/.i.out" | head -40 >&2
		return 1
	fi
	norm_err "$4/.q.err" >"$4/.q.errn"
	if ! cmp -s "$4/.q.errn" "$4/.i.err"; then
		fail "$1: stderr differs from qemu-img's"
		diff -u "$4/.q.errn" "$4/.i.err" | head -40 >&2
		return 1
	fi
	pass
	return 0
}

# same_check DESC ARGS...: qemu-img check ARGS and instar check ARGS
# (which must not repair) agree, in the current directory.
same_check() {
	desc=$1
	shift
	"$QEMU_IMG" check "$@" >.q.out 2>.q.err
	qrc=$?
	"$INSTAR" check "$@" >.i.out 2>.i.err
	irc=$?
	cmp_runs "$desc" "$qrc" "$irc" .
}

# same_check_all DESC IMAGE [ARGS...]: same_check in human, JSON and
# quiet forms.
same_check_all() {
	all_desc=$1
	all_img=$2
	shift 2
	same_check "$all_desc" "$@" "$all_img"
	same_check "$all_desc (json)" --output=json "$@" "$all_img"
	same_check "$all_desc (-q)" -q "$@" "$all_img"
}

# expect_rc DESC IMAGE RC: qemu-img check exits RC on IMAGE,
# so that a fixture really is what the test means it to be.
expect_rc() {
	"$QEMU_IMG" check "$2" >/dev/null 2>&1
	rc=$?
	[ "$rc" -eq "$3" ]
	check $? "$1: qemu-img check exits $rc on $2, the test wants $3"
}

# twin_repair DESC MODE IMAGE [ARGS...]: copy IMAGE to q/ and i/ under
# one name, run qemu-img check -r MODE in q/ and instar check -r MODE in
# i/, compare the runs, then compare qemu-img check's view of both
# results (human and JSON).
twin_repair() {
	tw_desc=$1
	tw_mode=$2
	tw_img=$3
	shift 3
	rm -rf q i
	mkdir q i || exit 1
	cp "$tw_img" q/img || exit 1
	cp "$tw_img" i/img || exit 1
	(cd q && "$QEMU_IMG" check -r "$tw_mode" "$@" img >.q.out 2>.q.err)
	qrc=$?
	(cd i && "$INSTAR" check -r "$tw_mode" "$@" img >../q/.i.out \
	    2>../q/.i.err)
	irc=$?
	cmp_runs "$tw_desc: check -r $tw_mode" "$qrc" "$irc" q || return
	for out in human json; do
		(cd q && "$QEMU_IMG" check --output=$out img >.q.out \
		    2>.q.err)
		qrc=$?
		(cd i && "$QEMU_IMG" check --output=$out img >../q/.i.out \
		    2>../q/.i.err)
		irc=$?
		# Compare qemu-img's words on both sides.
		sed -i 's/^qemu-img: /instar: /' q/.i.err
		cmp_runs "$tw_desc: qemu-img check ($out) after -r $tw_mode" \
		    "$qrc" "$irc" q
	done
}
