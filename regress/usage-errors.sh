# The command-line errors of all four subcommands, as qemu-img 7.2 words
# them: an unknown option, long or short, is named as it was given; so
# is an option that lacks its argument; a missing or extra file name is
# refused the same way.  The message (program names aside), the exit
# status and standard output must be qemu-img's, and no image changes.
# Run through a link named qemu-img, instar speaks as qemu-img: then its
# messages must be qemu-img's byte for byte, program name and all.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"

sums() {
	sha256sum "$@" | cut -c1-64 | tr '\n' ' '
}

# compare DESC EXPECTED: the run just made (stdout .iout, stderr .ierr,
# status irc) against qemu-img's (.qout, stderr EXPECTED, status qrc).
compare() {
	if [ $qrc -ne $irc ]; then
		fail "$1: instar exits $irc, qemu-img $qrc: $(cat "$WORK/.ierr")"
	elif ! cmp -s "$2" "$WORK/.ierr"; then
		fail "$1: message differs"
		diff -u "$2" "$WORK/.ierr" >&2
	elif ! cmp -s "$WORK/.qout" "$WORK/.iout"; then
		fail "$1: standard output differs"
		diff -u "$WORK/.qout" "$WORK/.iout" >&2
	else
		pass
	fi
}

# same_usage_error SUBCOMMAND ARGS...: see the top of this file.
same_usage_error() {
	sub=$1
	shift
	before=$(sums ./*.qcow2)
	"$QEMU_IMG" "$sub" "$@" >"$WORK/.qout" 2>"$WORK/.qerr"
	qrc=$?
	"$INSTAR" "$sub" "$@" >"$WORK/.iout" 2>"$WORK/.ierr"
	irc=$?
	sed -e 's/^qemu-img: /instar: /' \
	    -e "s/^Try 'qemu-img --help'/Try 'instar $sub --help'/" \
	    "$WORK/.qerr" >"$WORK/.qerr.n"
	compare "$sub $*" "$WORK/.qerr.n"
	[ "$before" = "$(sums ./*.qcow2)" ]
	check $? "$sub $*: files changed"
}

qimg create -f qcow2 base.qcow2 4M
qio -c 'write -P 0x11 0 1M' base.qcow2
qimg create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2

for sub in info check rebase commit; do
	same_usage_error $sub --no-such-option top.qcow2
	same_usage_error $sub --no-such-option=1 top.qcow2
	same_usage_error $sub -Z top.qcow2
	same_usage_error $sub top.qcow2 -f
	same_usage_error $sub top.qcow2 --format
	same_usage_error $sub
	same_usage_error $sub top.qcow2 base.qcow2
done
same_usage_error info top.qcow2 --output
same_usage_error info --output top.qcow2
same_usage_error info --output=xml top.qcow2
same_usage_error info -f no-such-format top.qcow2
same_usage_error info -f no-such-format --output=xml top.qcow2
same_usage_error check --output=xml top.qcow2
same_usage_error check -f no-such-format top.qcow2
same_usage_error rebase -f no-such-format -b base.qcow2 top.qcow2
same_usage_error commit -f no-such-format top.qcow2
same_usage_error check top.qcow2 -r
same_usage_error check -r sometimes top.qcow2
same_usage_error rebase top.qcow2 -b
same_usage_error rebase top.qcow2 -F
same_usage_error commit top.qcow2 -b
same_usage_error commit -d -b base.qcow2 -Y top.qcow2

# as_qemu_img ARGS...: instar through a link named qemu-img prints what
# qemu-img prints, unchanged, and exits the same way.
mkdir "$WORK/bin"
ln -s "$INSTAR" "$WORK/bin/qemu-img"
as_qemu_img() {
	"$QEMU_IMG" "$@" >"$WORK/.qout" 2>"$WORK/.qerr"
	qrc=$?
	"$WORK/bin/qemu-img" "$@" >"$WORK/.iout" 2>"$WORK/.ierr"
	irc=$?
	compare "as qemu-img $*" "$WORK/.qerr"
}
as_qemu_img
as_qemu_img no-such-command
for sub in info check rebase commit; do
	as_qemu_img $sub --no-such-option top.qcow2
	as_qemu_img $sub top.qcow2 -f
	as_qemu_img $sub -f no-such-format top.qcow2
	as_qemu_img $sub no-such-file.qcow2
done
# The work itself, through the link: info reads as qemu-img's does.
as_qemu_img info top.qcow2
as_qemu_img info --output=json --backing-chain top.qcow2
as_qemu_img check top.qcow2

finish
