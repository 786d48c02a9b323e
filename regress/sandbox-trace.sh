# Evidence from strace that the process model holds for every
# subcommand: the monitor never reads, writes or maps an image, and each
# worker has no capabilities, no_new_privs and its seccomp filter before
# it runs the guest or reads an image, and opens nothing after.  A job
# that writes nothing (info, check without -r) can grow no file; one
# that writes lowers its file size limit to a finite bound no smaller
# than what it wrote.
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

# fsize_confined DESC TRACE: every worker's file size limits, as its
# job allows: 0 for a job that writes nothing, else finite and at least
# the size of every image the command wrote (a rebase and a commit
# lower the hard limit too: they run the guest once).
fsize_confined() {
	case $1 in
	info*|"check top.qcow2") _want=zero ;;
	"check -r"*) _want=soft; _files=top.qcow2 ;;
	rebase*) _want=both; _files=top.qcow2 ;;
	commit*) _want=both; _files="top.qcow2 mid.qcow2" ;;
	esac
	for _w in $(trace_workers "$2"); do
		_sets=$(worker_fsize_sets "$2" "$_w")
		if [ "$_want" = zero ]; then
			[ "$_sets" = "0 0" ]
			check $? "$1: worker $_w: file size limits $_sets," 			    "want only 0"
			continue
		fi
		# The last one bounds the run that wrote.
		# shellcheck disable=SC2046
		set -- "$1" "$2" $(echo "$_sets" | tail -n 1)
		[ $# -eq 4 ] && [ "$3" != inf ] && [ "$3" != 0 ]
		check $? "$1: worker $_w: no finite file size limit ($_sets)"
		[ $# -eq 4 ] || continue
		if [ "$_want" = both ]; then
			[ "$3" = "$4" ]
			check $? "$1: worker $_w: hard file size limit $4," 			    "soft $3"
		fi
		for _f in $_files; do
			_size=$(stat -c %s "$_f")
			[ "$3" != inf ] && [ "$3" -ge "$_size" ]
			check $? "$1: worker $_w: file size limit $3 below" 			    "$_f's $_size bytes"
		done
	done
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
	fsize_confined "$cmd" trace
done

finish
