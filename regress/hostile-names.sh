# Names from images that try to forge output lines: a backing file name
# and a snapshot tag holding "\nimage: /etc/passwd".  In human output and
# in error text every control character is encoded (\n, \t, \r, \ooo),
# so no line of stdout or stderr can begin with the forged text, and the
# encoded form appears where qemu-img would print the raw name; apart
# from that encoding human output is qemu-img's.  JSON is unchanged:
# byte-identical to qemu-img's, and it carries the raw name.
#
# The "victim" is a file of the test's own: the forged name is relative,
# so it resolves inside $WORK.  It starts with "./" so that neither tool
# reads "x\nimage:" as a protocol prefix.
. "$(dirname "$0")/test-exec.sh"

forged=$(printf './x\nimage: /etc/passwd')
dangling=$(printf './y\nimage: /etc/passwd')
# The encoded form, as a fixed string for grep -F.
shown='./x\nimage: /etc/passwd'
dshown='./y\nimage: /etc/passwd'

# no_forged_line WHAT FILE...: no line of the files starts with the
# forged text.
no_forged_line() {
	what=$1
	shift
	if grep -q '^image: /etc/passwd' "$@"; then
		fail "$what: forged: $(grep '^image: /etc' "$@" | head -3)"
	else
		pass
	fi
}

# shows WHAT FILE TEXT: FILE holds TEXT (fixed string).
shows() {
	grep -q -F -- "$3" "$2"
	check $? "$1: '$3' not in $2: $(head -5 "$2")"
}

# run_instar ARGS: run instar; RC, $WORK/.out, $WORK/.err.
run_instar() {
	"$INSTAR" "$@" >"$WORK/.out" 2>"$WORK/.err"
	RC=$?
}

# like_qemu_encoded WHAT ARGS: instar's stdout is qemu-img's with the
# forged name encoded, and neither exits differently.
like_qemu_encoded() {
	what=$1
	shift
	"$QEMU_IMG" "$@" 2>/dev/null | perl -0pe \
	    's/([xys])\nimage: \/etc\/passwd/$1\\nimage: \/etc\/passwd/g' \
	    >"$WORK/.expected"
	run_instar "$@"
	if ! cmp -s "$WORK/.expected" "$WORK/.out"; then
		fail "$what: not qemu-img's output with the name encoded"
		diff -u "$WORK/.expected" "$WORK/.out" | head -20 >&2
	else
		pass
	fi
	no_forged_line "$what" "$WORK/.out" "$WORK/.err"
}

# ---- the fixtures ----
mkdir -p "$(dirname "$forged")" || fail "mkdir for the forged name"
qimg create -f qcow2 "$forged" 8M
qio -c 'write -P 0x11 0 1M' "$forged"
qimg create -f qcow2 new.qcow2 8M
qimg create -f qcow2 -b new.qcow2 -F qcow2 top.qcow2
qio -c 'write -P 0x22 512k 1M' top.qcow2
qimg rebase -u -b "$forged" -F qcow2 top.qcow2
qimg create -f qcow2 -b new.qcow2 -F qcow2 dangling.qcow2
qimg rebase -u -b "$dangling" -F qcow2 dangling.qcow2
qimg create -f qcow2 snap.qcow2 8M
qimg snapshot -c "$(printf 's\nimage: /etc/passwd')" snap.qcow2
cp top.qcow2 top.orig
"$QEMU_IMG" convert -O raw top.qcow2 top.raw || fail "flatten top.qcow2"

# ---- human output: encoded, otherwise qemu-img's ----
like_qemu_encoded "info" info top.qcow2
shows "info" "$WORK/.out" "backing file: $shown"
like_qemu_encoded "info --backing-chain" info --backing-chain top.qcow2
shows "info --backing-chain" "$WORK/.out" "image: $shown"
like_qemu_encoded "info, dangling" info dangling.qcow2
shows "info, dangling" "$WORK/.out" "backing file: $dshown"
like_qemu_encoded "info, snapshot tag" info snap.qcow2
shows "info, snapshot tag" "$WORK/.out" 's\nimage: /etc/passwd'

run_instar check top.qcow2
check $RC "check: exit $RC: $(cat "$WORK/.err")"
no_forged_line "check" "$WORK/.out" "$WORK/.err"
run_instar check --chain top.qcow2
check $RC "check --chain: exit $RC: $(cat "$WORK/.err")"
no_forged_line "check --chain" "$WORK/.out" "$WORK/.err"
shows "check --chain" "$WORK/.out" "image: $shown"

# ---- JSON: qemu-img's bytes, the raw name ----
same_output "info json" info --output=json top.qcow2
same_output "info --backing-chain json" info --backing-chain \
    --output=json top.qcow2
same_output "info json, snapshot tag" info --output=json snap.qcow2
[ "$("$INSTAR" info --output=json top.qcow2 |
    jq -r '."backing-filename"')" = "$forged" ]
check $? "info json: backing-filename is not the raw name"
[ "$("$INSTAR" info --backing-chain --output=json top.qcow2 |
    jq -r '.[1].filename')" = "$forged" ]
check $? "info --backing-chain json: the second filename is not the raw name"
"$INSTAR" check --output=json top.qcow2 | jq -e . >/dev/null
check $? "check json does not parse"

# ---- error text: the name encoded, on one line ----
# expect_error WHAT ARGS: instar fails, says so in one line of stderr
# that holds the encoded dangling name, and forges nothing.
expect_error() {
	what=$1
	shift
	run_instar "$@"
	if [ "$RC" -eq 0 ] || [ "$RC" -ge 124 ]; then
		fail "$what: exit $RC, want a failure: $(cat "$WORK/.err")"
		return
	fi
	pass
	no_forged_line "$what" "$WORK/.out" "$WORK/.err"
	shows "$what" "$WORK/.err" "$dshown"
}
cp dangling.qcow2 dangling.orig
expect_error "info --backing-chain, dangling" info --backing-chain \
    dangling.qcow2
expect_error "check, dangling" check dangling.qcow2
expect_error "commit, dangling" commit dangling.qcow2
expect_error "rebase, dangling" rebase -b new.qcow2 -F qcow2 dangling.qcow2
expect_error "rebase onto a dangling name" rebase -b "$dangling" -F qcow2 \
    top.qcow2
cmp -s dangling.qcow2 dangling.orig && cmp -s top.qcow2 top.orig
check $? "a failed run changed an image"

# ---- the writers, through the forged name, print nothing forged ----
run_instar rebase -b new.qcow2 -F qcow2 top.qcow2
check $RC "rebase: exit $RC: $(cat "$WORK/.err")"
no_forged_line "rebase" "$WORK/.out" "$WORK/.err"
cp top.orig top.qcow2
run_instar commit top.qcow2
check $RC "commit: exit $RC: $(cat "$WORK/.err")"
no_forged_line "commit" "$WORK/.out" "$WORK/.err"
"$QEMU_IMG" compare -q -U top.raw "$forged" >/dev/null 2>&1
check $? "commit through the forged name: the base lacks the top's data"

finish
