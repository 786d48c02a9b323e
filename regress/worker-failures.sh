# A worker that fails, dies, sends garbage, speaks out of turn or says
# nothing gives one clear error and exit 1, never a hang or a crash.
# The monitor runs the worker next to its own executable, so a copy of
# instar beside a fake instar-worker exercises the monitor's side alone.
. "$(dirname "$0")/test-exec.sh"

mkdir bin
cp "$INSTAR" bin/instar
"$QEMU_IMG" create -f qcow2 img.qcow2 1M >/dev/null || fail "create"

# fake_worker BODY: install a worker that runs BODY (sh) with the
# monitor's socket on descriptor 3.
fake_worker() {
	printf '#!/bin/sh\n%s\n' "$1" >bin/instar-worker
	chmod +x bin/instar-worker
}

# expect_failure DESC PATTERN [TIMEOUT]: instar info fails with PATTERN
# within TIMEOUT seconds (default 10).
expect_failure() {
	timeout "${3:-10}" bin/instar info img.qcow2 >out 2>err
	rc=$?
	if [ "$rc" -ne 1 ]; then
		fail "$1: exit $rc, want 1: $(cat err)"
	elif ! grep -q -- "$2" err; then
		fail "$1: stderr lacks '$2': $(cat err)"
	elif [ -s out ]; then
		fail "$1: printed output"
	else
		pass
	fi
}

fake_worker 'exit 3'
expect_failure "worker exits" "the worker failed (exit status 3)"

fake_worker 'kill -SEGV $$'
expect_failure "worker crashes" "the worker died of signal 11"

fake_worker 'kill -SYS $$'
expect_failure "worker killed by the sandbox" \
    "the sandbox stopped a forbidden system call"

# A length prefix far over the cap: refused before anything is read.
fake_worker "printf '\\377\\377\\377\\377' >&3; sleep 5"
expect_failure "oversized frame" "frame length out of range"

# A well-formed frame of the wrong type for the state (Done, not Ready).
fake_worker "printf '\\000\\000\\000\\002\\032\\000' >&3; sleep 5"
expect_failure "message out of turn" "sent a message out of turn"

# A frame that is not a protobuf envelope.
fake_worker "printf '\\000\\000\\000\\003abc' >&3; sleep 5"
expect_failure "garbage frame" "malformed frame"

# Silence: the monitor gives up after the guest's limit plus its grace.
fake_worker 'exec sleep 60'
expect_failure "silent worker" "timed out waiting for the peer" 30

# A worker that cannot be executed at all.
printf '#!/nonexistent/interpreter\n' >bin/instar-worker
expect_failure "unexecutable worker" "could not be started"

finish
