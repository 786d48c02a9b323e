# Shared set-up for the regress/ scripts, in the style of OpenSSH's
# regress/test-exec.sh: each script sources this, runs its checks with
# the helpers below and ends with "finish".
#
# Environment (set by "make check"): INSTAR_BUILDDIR, QEMU_IMG, QEMU_IO.

set -u

: "${INSTAR_BUILDDIR:?run the regress tests through make check}"
: "${QEMU_IMG:=qemu-img}"
: "${QEMU_IO:=qemu-io}"
INSTAR="$INSTAR_BUILDDIR/instar"
# The test build, with the crash-injection hook; only the crash tests.
INSTAR_TEST="$INSTAR_BUILDDIR/instar-test"
TEST_NAME=$(basename "$0" .sh)
FAILED=0
CHECKS=0

# KVM is not optional: a missing /dev/kvm fails the suite, loudly.
if [ ! -c /dev/kvm ] || [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "$TEST_NAME: FAIL: /dev/kvm is missing or not accessible;" \
	    "instar's tests need KVM" >&2
	exit 1
fi
for tool in "$QEMU_IMG" "$QEMU_IO" jq; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "$TEST_NAME: FAIL: $tool not found (install qemu-utils" \
		    "and jq)" >&2
		exit 1
	fi
done
for prog in "$INSTAR" "$INSTAR_TEST"; do
	if [ ! -x "$prog" ]; then
		echo "$TEST_NAME: FAIL: $prog was not built" >&2
		exit 1
	fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/instar-$TEST_NAME.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

fail() {
	echo "$TEST_NAME: FAIL: $*" >&2
	FAILED=$((FAILED + 1))
}

pass() {
	CHECKS=$((CHECKS + 1))
}

# check DESCRIPTION: count a check and report it if the last command failed
check() {
	if [ "$1" -eq 0 ]; then
		pass
	else
		shift
		fail "$*"
	fi
}

qimg() {
	"$QEMU_IMG" "$@" >/dev/null || fail "qemu-img $* failed"
}

qio() {
	"$QEMU_IO" "$@" >/dev/null || fail "qemu-io $* failed"
}

# same_output DESC -- ARGS: instar and qemu-img print the same bytes and
# exit the same way for the same arguments.
same_output() {
	desc=$1
	shift
	"$QEMU_IMG" "$@" >"$WORK/.expected" 2>/dev/null
	qrc=$?
	"$INSTAR" "$@" >"$WORK/.actual" 2>"$WORK/.stderr"
	irc=$?
	if [ "$qrc" -ne "$irc" ]; then
		fail "$desc: exit $irc, qemu-img exits $qrc ($*):" \
		    "$(cat "$WORK/.stderr")"
		return
	fi
	if ! cmp -s "$WORK/.expected" "$WORK/.actual"; then
		fail "$desc: output differs from qemu-img ($*)"
		diff -u "$WORK/.expected" "$WORK/.actual" | head -40 >&2
		return
	fi
	pass
}

# image_sums: the hashes of the images in the working directory.
image_sums() {
	sha256sum ./*.qcow2 ./*.vmdk ./*.raw 2>/dev/null | cut -c1-64 |
	    tr '\n' ' '
}

# same_words ARGS...: the same standard output, standard error (program
# name aside) and exit status as qemu-img's for the same arguments; on a
# refusal, no image changed.  qrc is qemu-img's exit status afterwards.
same_words() {
	before=$(image_sums)
	"$QEMU_IMG" "$@" >"$WORK/.qout" 2>"$WORK/.qerr"
	qrc=$?
	"$INSTAR" "$@" >"$WORK/.iout" 2>"$WORK/.ierr"
	irc=$?
	sed 's/^qemu-img: /instar: /' "$WORK/.qerr" >"$WORK/.qerr.n"
	if [ $irc -ne $qrc ]; then
		fail "$*: instar exits $irc, qemu-img $qrc:" \
		    "$(cat "$WORK/.ierr")"
	elif ! cmp -s "$WORK/.qerr.n" "$WORK/.ierr"; then
		fail "$*: standard error differs"
		diff -u "$WORK/.qerr.n" "$WORK/.ierr" >&2
	elif ! cmp -s "$WORK/.qout" "$WORK/.iout"; then
		fail "$*: standard output differs"
		diff -u "$WORK/.qout" "$WORK/.iout" >&2
	else
		pass
	fi
	if [ $qrc -ne 0 ]; then
		[ "$before" = "$(image_sums)" ]
		check $? "$*: files changed"
	fi
}

# same_info ARGS...: same_words for "info ARGS" in both output formats.
same_info() {
	same_words info "$@"
	same_words info --output=json "$@"
}

# find_bytes FILE HEX: the offset of the first occurrence, or -1.
find_bytes() {
	perl -e 'open(F, "<", $ARGV[0]) or die; binmode F; local $/;
	    my $d = <F>; print index($d, pack("H*", $ARGV[1])), "\n"' "$1" "$2"
}

# refuses DESC PATTERN ARGS...: instar exits 1, prints PATTERN on stderr,
# prints nothing on stdout and is not killed by a signal.
refuses() {
	desc=$1
	pattern=$2
	shift 2
	"$INSTAR" "$@" >"$WORK/.actual" 2>"$WORK/.stderr"
	rc=$?
	if [ "$rc" -ne 1 ]; then
		fail "$desc: exit $rc, want 1 ($*): $(cat "$WORK/.stderr")"
		return
	fi
	if ! grep -q -- "$pattern" "$WORK/.stderr"; then
		fail "$desc: stderr lacks '$pattern': $(cat "$WORK/.stderr")"
		return
	fi
	if [ -s "$WORK/.actual" ]; then
		fail "$desc: printed output despite failing"
		return
	fi
	pass
}

# luks_create ARGS...: qemu-img create a LUKS-encrypted qcow2 (secret
# "password") in the current directory.  Tried a few times: on a loaded
# machine LUKS's timing of its key derivation sometimes fails ("Unable
# to get accurate CPU usage").
luks_create() {
	_try=0
	while [ $_try -lt 5 ]; do
		"$QEMU_IMG" create -f qcow2 \
		    --object secret,id=sec0,data=password \
		    -o encrypt.format=luks,encrypt.key-secret=sec0 \
		    -o encrypt.iter-time=10 "$@" >/dev/null 2>&1 && return 0
		_try=$((_try + 1))
	done
	fail "could not make an encrypted image: $*"
	return 1
}

# poke FILE OFFSET HEXBYTES: overwrite bytes in place (for malformed images)
poke() {
	perl -e 'print pack("H*", $ARGV[0])' "$3" |
	    dd of="$1" bs=1 seek="$2" conv=notrunc status=none ||
	    fail "poke $1 $2 failed"
}

finish() {
	if [ "$FAILED" -ne 0 ]; then
		echo "$TEST_NAME: $FAILED of $((CHECKS + FAILED)) checks failed"
		exit 1
	fi
	if [ "$CHECKS" -eq 0 ]; then
		echo "$TEST_NAME: no checks ran"
		exit 1
	fi
	echo "$TEST_NAME: $CHECKS checks passed"
	exit 0
}
