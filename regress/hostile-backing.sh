# Backing references as hostile input: an image may name any file as its
# backing file.  With backing roots set (--backing-root, or
# INSTAR_BACKING_ROOT), every reference read from an image must resolve
# beneath a root, through absolute names, "..", and symbolic links alike;
# otherwise every subcommand refuses, names the reference, and neither
# opens nor changes the file.  Always, with or without roots: a FIFO or a
# directory named as a backing file is refused at once (no hang), and
# commit does not grow a base whose format was only probed.
#
# The "secret" and the "victim" are files this test makes in its own
# directory; no test here touches a system file.
. "$(dirname "$0")/test-exec.sh"

ROOT="$WORK/images"
OUT="$WORK/outside"
mkdir "$ROOT" "$OUT" "$ROOT/sub" || fail "mkdir"

# What lies outside the root: a secret to leak, a victim to write into.
perl -e 'print "SECRET!!" x 131072' >"$OUT/secret.raw"
perl -e 'print "victim.." x 8192' >"$OUT/victim.raw"
mkfifo "$ROOT/pipe" "$OUT/pipe" || fail "mkfifo"

(cd "$ROOT" &&
    "$QEMU_IMG" create -q -f qcow2 base.qcow2 4M &&
    "$QEMU_IO" -c 'write -P 1 0 1M' base.qcow2 >/dev/null &&
    "$QEMU_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2 &&
    "$QEMU_IO" -c 'write -P 2 1M 64k' mid.qcow2 >/dev/null &&
    "$QEMU_IMG" create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2 &&
    "$QEMU_IO" -c 'write -P 3 2M 64k' top.qcow2 >/dev/null &&
    "$QEMU_IMG" create -q -f qcow2 new.qcow2 4M) || fail "good chain"

# hostile NAME REFERENCE [FORMAT]: an overlay in the root with 64 KiB of
# its own data whose backing reference is REFERENCE.
hostile() {
	(cd "$ROOT" &&
	    "$QEMU_IMG" create -q -f qcow2 "$1" 4M &&
	    "$QEMU_IO" -c 'write -P 9 0 64k' "$1" >/dev/null &&
	    if [ -n "${3:-}" ]; then
		"$QEMU_IMG" rebase -q -u -b "$2" -F "$3" "$1"
	    else
		# qemu-img 7.2 records no reference without a format; -F raw
		# then strip the format extension's type to none.
		"$QEMU_IMG" rebase -q -u -b "$2" -F raw "$1" &&
		    perl -e '
			open(my $f, "+<", $ARGV[0]) or die;
			binmode $f; read($f, my $h, 4096);
			my $i = index($h, pack("N", 0xe2792aca));
			die "no format extension" if $i < 0;
			seek($f, $i, 0); print $f pack("N", 0x12345678);
			close $f' "$1"
	    fi) || fail "hostile $1"
}

hostile abs.qcow2 "$OUT/secret.raw" raw
hostile dotdot.qcow2 "sub/../../outside/secret.raw" raw
ln -s ../outside/secret.raw "$ROOT/sneaky" || fail "ln sneaky"
hostile link.qcow2 sneaky raw
ln -s "$OUT" "$ROOT/sub/out" || fail "ln out"
hostile dirlink.qcow2 "sub/out/secret.raw" raw
hostile victim.qcow2 "$OUT/victim.raw" raw
hostile probed.qcow2 "$OUT/victim.raw"
hostile fifo.qcow2 pipe raw
hostile fifo-out.qcow2 "$OUT/pipe" raw
hostile dir.qcow2 sub raw
# Inside the root by way of an absolute symbolic link: allowed.
ln -s "$ROOT/base.qcow2" "$ROOT/sub/base-link" || fail "ln base-link"
(cd "$ROOT" && "$QEMU_IMG" create -q -f qcow2 -b sub/base-link -F qcow2 \
    inlink.qcow2) || fail "inlink"

stamp() {
	for f in "$OUT/secret.raw" "$OUT/victim.raw" "$ROOT"/*.qcow2; do
		printf '%s %s\n' "$(sha256sum <"$f")" \
		    "$(stat -c '%s %Y.%y' "$f")"
	done
}
stamp >"$WORK/stamp.before"

# unchanged DESC: no file of the fixture changed.
unchanged() {
	stamp >"$WORK/stamp.after"
	cmp -s "$WORK/stamp.before" "$WORK/stamp.after"
	check $? "$1: a file changed"
}

# The subcommands run on each overlay, as letters name them below.
ops() {
	echo "info --backing-chain $1"
	echo "info --output=json --backing-chain $1"
	echo "check $1"
	echo "commit $1"
	echo "commit -b $ROOT/base.qcow2 $1"
	echo "rebase -b new.qcow2 -F qcow2 $1"
}

# traced HOW OP: run instar's OP in the root, with the root set as HOW
# says (option or env), under strace for the files it opens.
traced() {
	_sub=${2%% *}
	_args=${2#* }
	# shellcheck disable=SC2086
	if [ "$1" = option ]; then
		# LeakSanitizer cannot run under ptrace (a sanitizer build).
		(cd "$ROOT" && ASAN_OPTIONS=detect_leaks=0 exec strace -f -qq \
		    -o "$WORK/trace" \
		    -e trace=open,openat,openat2 timeout 20 "$INSTAR" $_sub \
		    --backing-root "$ROOT" $_args)
	else
		(cd "$ROOT" && INSTAR_BACKING_ROOT="$ROOT" \
		    ASAN_OPTIONS=detect_leaks=0 exec strace -f -qq \
		    -o "$WORK/trace" -e trace=open,openat,openat2 \
		    timeout 20 "$INSTAR" $_sub $_args)
	fi >"$WORK/out" 2>"$WORK/err"
}

# confined HOW NAME: every subcommand on NAME is refused with the
# reference named, the secret and victim never opened, nothing changed.
confined() {
	ops "$2" >"$WORK/ops"
	while read -r op; do
		traced "$1" "$op"
		rc=$?
		[ $rc -eq 1 ]
		check $? "$1 $op: exit $rc, want 1: $(cat "$WORK/err")"
		grep -q "is not beneath a backing root" "$WORK/err"
		check $? "$1 $op: no refusal: $(cat "$WORK/err")"
		[ "$(grep -c . "$WORK/err")" -eq 1 ]
		check $? "$1 $op: more than one line: $(cat "$WORK/err")"
		! grep -q 'secret\|victim\.raw\|outside\|sneaky' "$WORK/trace"
		check $? "$1 $op: opened a file outside the root:" \
		    "$(grep 'secret\|victim\.raw\|outside\|sneaky' "$WORK/trace")"
		[ ! -s "$WORK/out" ]
		check $? "$1 $op: printed output despite refusing"
	done <"$WORK/ops"
	unchanged "$1 $2"
}

for name in abs.qcow2 dotdot.qcow2 link.qcow2 dirlink.qcow2 victim.qcow2; do
	confined option "$name"
	confined env "$name"
done

# The refusal names the reference as qemu composes it, and where it leads.
(cd "$ROOT" && "$INSTAR" info --backing-chain --backing-root . \
    link.qcow2) >/dev/null 2>"$WORK/err"
grep -q "^instar: Could not open 'sneaky': 'sneaky' (that is '$OUT/secret.raw') is not beneath a backing root$" \
    "$WORK/err"
check $? "info names the reference and its target: $(cat "$WORK/err")"
(cd "$ROOT" && "$INSTAR" commit --backing-root "$ROOT" abs.qcow2) \
    >/dev/null 2>"$WORK/err"
grep -q "^instar: Could not open 'abs.qcow2': Could not open backing file: '$OUT/secret.raw' is not beneath a backing root$" \
    "$WORK/err"
check $? "commit nests the refusal as qemu nests errors: $(cat "$WORK/err")"

# ---- inside the roots, everything works as without them ----
for op in "info --backing-chain top.qcow2" \
    "info --output=json --backing-chain top.qcow2" "check top.qcow2" \
    "info --backing-chain inlink.qcow2"; do
	# shellcheck disable=SC2086
	(cd "$ROOT" && "$INSTAR" $op) >"$WORK/free" 2>&1
	# shellcheck disable=SC2086
	(cd "$ROOT" && "$INSTAR" ${op%% *} --backing-root "$ROOT" \
	    ${op#* }) >"$WORK/rooted" 2>&1
	cmp -s "$WORK/free" "$WORK/rooted"
	check $? "$op: a root changes the output"
done
# A root named relatively, through a symbolic link, or among others.
ln -s "$ROOT" "$WORK/root-link" || fail "ln root-link"
(cd "$WORK" && "$INSTAR" info --backing-chain --backing-root images \
    images/top.qcow2 >/dev/null)
check $? "relative root"
"$INSTAR" info --backing-chain --backing-root "$WORK/root-link" \
    "$ROOT/top.qcow2" >/dev/null
check $? "root through a symbolic link"
INSTAR_BACKING_ROOT="$OUT:$ROOT" "$INSTAR" info --backing-chain \
    "$ROOT/top.qcow2" >/dev/null
check $? "second root of INSTAR_BACKING_ROOT"
# --backing-root takes the place of INSTAR_BACKING_ROOT.
INSTAR_BACKING_ROOT="$ROOT" refuses "option replaces env" \
    "is not beneath a backing root" info --backing-chain \
    --backing-root "$OUT" "$ROOT/top.qcow2"
# Images named on the command line are the user's choice.
"$INSTAR" info --backing-root "$ROOT" "$OUT/secret.raw" >/dev/null
check $? "a file named on the command line is not confined"

cp "$ROOT/base.qcow2" "$ROOT/mid.qcow2" "$ROOT/top.qcow2" "$WORK/" ||
    fail "copy chain"
mkdir "$WORK/q" && cp "$ROOT/base.qcow2" "$ROOT/mid.qcow2" \
    "$ROOT/top.qcow2" "$WORK/q/" || fail "copy chain for qemu-img"
"$INSTAR" commit --backing-root "$WORK" -q "$WORK/top.qcow2"
check $? "commit inside the root"
"$QEMU_IMG" commit -q "$WORK/q/top.qcow2" || fail "qemu-img commit"
"$QEMU_IMG" compare -q -f qcow2 -F qcow2 "$WORK/mid.qcow2" "$WORK/q/mid.qcow2"
check $? "commit inside the root: mid differs from qemu-img's"
"$QEMU_IMG" check -q "$WORK/mid.qcow2"
check $? "commit inside the root: mid does not check clean"
"$INSTAR" rebase --backing-root "$WORK" -b base.qcow2 -F qcow2 \
    "$WORK/top.qcow2"
check $? "safe rebase inside the root"
"$QEMU_IMG" compare -q "$WORK/top.qcow2" "$WORK/q/top.qcow2"
check $? "rebase inside the root: reads differently"

# ---- bad roots ----
refuses "missing root" "^instar: --backing-root '$WORK/none': No such file or directory$" \
    info --backing-root "$WORK/none" "$ROOT/top.qcow2"
refuses "file as root" "Not a directory" \
    info --backing-root "$ROOT/base.qcow2" "$ROOT/top.qcow2"
INSTAR_BACKING_ROOT="$ROOT::$OUT" refuses "empty root in env" \
    "INSTAR_BACKING_ROOT: an empty name is not a directory" \
    info "$ROOT/top.qcow2"

# ---- always: FIFOs and directories are refused, never waited on ----
for name in fifo.qcow2 fifo-out.qcow2 dir.qcow2; do
	ops "$name" >"$WORK/ops"
	while read -r op; do
		# shellcheck disable=SC2086
		(cd "$ROOT" && timeout 20 "$INSTAR" $op) >/dev/null \
		    2>"$WORK/err"
		rc=$?
		[ $rc -eq 1 ]
		check $? "$op: exit $rc, want 1 (124: it hung)"
		# A directory opened for writing fails before the check.
		grep -q "to be a regular file\|: Is a directory$" "$WORK/err"
		check $? "$op: $(cat "$WORK/err")"
	done <"$WORK/ops"
done
for op in "info" "check" "commit" "rebase -u -b base.qcow2 -F qcow2"; do
	# shellcheck disable=SC2086
	(cd "$ROOT" && timeout 20 "$INSTAR" $op pipe) >/dev/null 2>"$WORK/err"
	rc=$?
	[ $rc -eq 1 ]
	check $? "$op on a FIFO: exit $rc, want 1 (124: it hung)"
done
(cd "$ROOT" && timeout 20 "$INSTAR" rebase -b pipe -F raw top.qcow2) \
    >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q "to be a regular file" "$WORK/err"
check $? "rebase onto a FIFO: $(cat "$WORK/err")"

# ---- always: commit does not grow a probed raw base ----
(cd "$ROOT" && "$INSTAR" commit probed.qcow2) >/dev/null 2>"$WORK/err"
[ $? -eq 1 ] && grep -q "was probed" "$WORK/err"
check $? "commit into a probed raw base: $(cat "$WORK/err")"
unchanged "commit into a probed raw base"

finish
