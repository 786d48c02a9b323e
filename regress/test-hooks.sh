# The crash-injection hook (INSTAR_TEST_STOP_AFTER_WRITES) exists only
# in the test build.  The installed-layout instar does not read the
# variable: a commit and a safe rebase run with it set complete and
# leave clean images.  The test build stops its worker at the N-th
# write, as the crash tests rely on.  The installed worker refuses a job
# that asks for the stop, so a monitor built with the hook cannot use
# it against an installed worker either, and nothing is written.
. "$(dirname "$0")/test-exec.sh"

# chain: base.qcow2 under top.qcow2, each with data of its own.
chain() {
	rm -f base.qcow2 top.qcow2
	qimg create -f qcow2 base.qcow2 8M
	qio -c 'write -P 0x11 0 1M' base.qcow2
	qimg create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
	qio -c 'write -P 0x22 512k 1M' top.qcow2
	"$QEMU_IMG" convert -O raw top.qcow2 top.raw || fail "flatten top"
}

# clean IMAGE WHAT: qemu-img check and instar check find nothing.
clean() {
	"$QEMU_IMG" check -q "$1" >/dev/null 2>&1
	check $? "$2: qemu-img check is not clean on $1"
	"$INSTAR" check -q "$1" >/dev/null 2>&1
	check $? "$2: instar check is not clean on $1"
}

# The installed program does not even hold the variable's name.
if grep -q INSTAR_TEST_STOP_AFTER_WRITES "$INSTAR"; then
	fail "the installed instar knows INSTAR_TEST_STOP_AFTER_WRITES"
else
	pass
fi
if grep -q INSTAR_TEST_STOP_AFTER_WRITES "$INSTAR_TEST"; then
	pass
else
	fail "the test build lacks INSTAR_TEST_STOP_AFTER_WRITES"
fi

# ---- the installed-layout instar ignores the variable ----
chain
INSTAR_TEST_STOP_AFTER_WRITES=1 "$INSTAR" commit -q top.qcow2 \
    2>"$WORK/.err"
check $? "commit with the variable set failed: $(cat "$WORK/.err")"
"$QEMU_IMG" compare -q top.raw base.qcow2 >/dev/null 2>&1
check $? "commit with the variable set: the base lacks the top's data"
clean base.qcow2 "commit with the variable set"
clean top.qcow2 "commit with the variable set"

chain
qimg create -f qcow2 new.qcow2 8M
INSTAR_TEST_STOP_AFTER_WRITES=1 "$INSTAR" rebase -q -b new.qcow2 \
    -F qcow2 top.qcow2 2>"$WORK/.err"
check $? "rebase with the variable set failed: $(cat "$WORK/.err")"
"$QEMU_IMG" compare -q top.raw top.qcow2 >/dev/null 2>&1
check $? "rebase with the variable set: top reads differently"
"$QEMU_IMG" info -U top.qcow2 | grep -q '^backing file: new.qcow2$'
check $? "rebase with the variable set: wrong backing file"
clean top.qcow2 "rebase with the variable set"

# ---- the test build stops at the first write ----
chain
INSTAR_TEST_STOP_AFTER_WRITES=1 "$INSTAR_TEST" commit -q top.qcow2 \
    2>"$WORK/.err"
rc=$?
[ $rc -ne 0 ] && grep -q "the worker failed (exit status 99)" "$WORK/.err"
check $? "the test build did not stop at write 1 (exit $rc):" \
    "$(cat "$WORK/.err")"
# Without the variable the test build is an ordinary instar.
chain
"$INSTAR_TEST" commit -q top.qcow2
check $? "the test build's commit without the variable failed"

# ---- the installed worker refuses the stop ----
# The test monitor, copied beside a link to the installed worker under
# the test worker's name: it sends the stop to a worker without hooks.
mkdir "$WORK/bin" || fail "mkdir bin"
cp "$INSTAR_TEST" "$WORK/bin/instar-test" || fail "copy instar-test"
ln -s "$INSTAR_BUILDDIR/instar-worker" "$WORK/bin/instar-worker-test" ||
    fail "link the worker"
chain
cp base.qcow2 base.orig
cp top.qcow2 top.orig
INSTAR_TEST_STOP_AFTER_WRITES=1 "$WORK/bin/instar-test" commit -q \
    top.qcow2 >"$WORK/.out" 2>"$WORK/.err"
rc=$?
[ $rc -ne 0 ] && grep -q "this worker has no test hooks" "$WORK/.err"
check $? "the installed worker obeyed or ignored the stop (exit $rc):" \
    "$(cat "$WORK/.err")"
cmp -s base.qcow2 base.orig && cmp -s top.qcow2 top.orig
check $? "the refused job changed an image"

finish
