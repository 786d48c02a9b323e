# Evidence from strace that instar commit's monitor never reads, writes,
# maps or resizes an image, although it opens the top and the base
# read-write: all of that happens in the worker, for the guest.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/trace-lib.sh"

qimg create -f qcow2 base.qcow2 16M
qio -c 'write -P 0x11 0 4M' base.qcow2
qimg create -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2
qio -c 'write -P 0x21 1M 2M' mid.qcow2
qimg create -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2 32M
qio -c 'write -P 0x31 2M 2M' -c 'write -P 0x32 20M 1M' top.qcow2

for args in "" "-d" "-b base.qcow2"; do
	# shellcheck disable=SC2086
	trace_instar trace commit -q $args top.qcow2
	check $? "instar commit $args under strace failed"
	monitor_confined "commit $args" trace
	mon=$(trace_monitor trace)
	# The writes were there, in the worker (so the trace saw them).
	awk -v pid="$mon" '$1 != pid && / (pwrite64|copy_file_range)\(/ {
	    found = 1 } END { exit !found }' trace
	check $? "commit $args: no write in the trace"
	# Data again for the next round.
	qio -c 'write -P 0x33 2M 2M' top.qcow2
done

finish
