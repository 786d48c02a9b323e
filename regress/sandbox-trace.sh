# Evidence from strace that the process model holds for every
# subcommand: the monitor never reads, writes or maps an image, and each
# worker has no capabilities, no_new_privs and its seccomp filter before
# it runs the guest or reads an image, and opens nothing after.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/trace-lib.sh"

# A chain with data in every layer, fresh for every command.
mkchain() {
	rm -f base.qcow2 mid.qcow2 top.qcow2 new.qcow2
	qimg create -f qcow2 base.qcow2 16M
	qio -c 'write -P 0x11 0 4M' base.qcow2
	qimg create -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2
	qio -c 'write -P 0x21 1M 2M' mid.qcow2
	qimg create -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2
	qio -c 'write -P 0x31 2M 2M' top.qcow2
	qimg create -f qcow2 new.qcow2 16M
}

for cmd in "info --backing-chain top.qcow2" "check top.qcow2" \
    "check -r all top.qcow2" "rebase -b new.qcow2 -F qcow2 top.qcow2" \
    "rebase -u -b new.qcow2 -F qcow2 top.qcow2" "commit top.qcow2"; do
	mkchain
	# shellcheck disable=SC2086
	trace_instar trace $cmd >/dev/null
	check $? "instar $cmd under strace failed"
	monitor_confined "$cmd" trace
	workers_confined "$cmd" trace
done

finish
