# instar commit's command line against qemu-img commit's: usage errors,
# -r sizes, -t and -f names, the errors before anything is written, and
# every spelling of -b that qemu finds (or does not) in the chain.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/rebase-lib.sh"
. "$REGRESS_DIR/commit-lib.sh"

mkchain c
mkdir -p "$WORK/c/sub/deep"
cq c create -f qcow2 sub/b.qcow2 8M
cio c -c 'write -P 0x11 0 2M' sub/b.qcow2
cq c/sub create -f qcow2 -b b.qcow2 -F qcow2 m.qcow2
cio c -c 'write -P 0x21 1M 2M' sub/m.qcow2
cq c/sub create -f qcow2 -b m.qcow2 -F qcow2 t.qcow2
cio c -c 'write -P 0x31 2M 2M' sub/t.qcow2
ln -s sub/b.qcow2 "$WORK/c/link.qcow2"
ln -s b.qcow2 "$WORK/c/sub/blink.qcow2"
cq c create -f qcow2 lone.qcow2 8M
cq c create -f raw plain.raw 8M

# same_failure DESC ARGS: instar and qemu-img commit, run in c, both exit
# 1 with the same message (qemu-img's name for itself aside) and no file
# changes; stdout is the same too (progress lines, with -p).
same_failure() {
	desc=$1
	shift
	chain_sums "$WORK/c" >"$WORK/.sums-before"
	(cd "$WORK/c" && "$QEMU_IMG" commit "$@") >"$WORK/.qout" 2>"$WORK/.qerr"
	qrc=$?
	(cd "$WORK/c" && "$INSTAR" commit "$@") >"$WORK/.iout" 2>"$WORK/.ierr"
	irc=$?
	sed -e 's/^qemu-img: /instar: /' \
	    -e "s/^Try 'qemu-img --help'/Try 'instar commit --help'/" \
	    "$WORK/.qerr" >"$WORK/.qerr.n"
	if [ $qrc -ne 1 ] || [ $irc -ne 1 ]; then
		fail "$desc: instar exits $irc, qemu-img $qrc ($*):" \
		    "$(cat "$WORK/.ierr")"
	elif ! cmp -s "$WORK/.qerr.n" "$WORK/.ierr"; then
		fail "$desc: message differs ($*)"
		diff -u "$WORK/.qerr.n" "$WORK/.ierr" >&2
	elif ! cmp -s "$WORK/.qout" "$WORK/.iout"; then
		fail "$desc: stdout differs ($*): $(od -c "$WORK/.iout")"
	else
		pass
	fi
	[ "$(chain_sums "$WORK/c")" = "$(cat "$WORK/.sums-before")" ]
	check $? "$desc: a failed commit changed files"
}

# Usage errors.
same_failure "no file name"
same_failure "two file names" sub/t.qcow2 sub/m.qcow2
same_failure "unknown option" -x sub/t.qcow2
same_failure "-r without its argument" sub/t.qcow2 -r
same_failure "-b without its argument" sub/t.qcow2 -b
refuses "--output=yaml" "--output must be used with human or json" \
    commit --output=yaml sub/t.qcow2
"$INSTAR" commit --help >"$WORK/.help" 2>&1
check $? "--help fails"
grep -q '^usage: instar commit' "$WORK/.help"
check $? "--help: no usage: $(cat "$WORK/.help")"

# -r: qemu_strtosz() sizes, cvtnum()'s messages, checked before anything
# else.  Good ones are held against qemu-img on a file that is missing.
for r in -1 abc 1x "" 1e3 1.5 1.5e3 0x1.8 0x10.5k 8E 9E 16E 0x1000000000000000k \
    99999999999999999999 99999999999999999999x 1.k.; do
	same_failure "-r '$r'" -r "$r" sub/t.qcow2
	same_failure "-r '$r', no file" -r "$r"
done
for r in 0 1 1b 1B 1k 1K 1M 1.5M 1.k 1. 0x10 0X10 0x10k " 1" 1G 1T 1P 7E \
    9223372036854775807 0.5k 1.0000001k; do
	same_failure "-r '$r' accepted" -r "$r" nothere.qcow2
done

# -t and -f names, missing and unusable files.
same_failure "bad cache mode" -t bogus sub/t.qcow2
same_failure "bad cache mode before -f" -f foo -t bogus sub/t.qcow2
same_failure "unknown format" -f foo sub/t.qcow2
same_failure "missing file" nothere.qcow2
same_failure "a directory" sub
same_failure "missing backing file" -p missing.qcow2
cq c create -f qcow2 -b gone.qcow2 -F qcow2 -u missing.qcow2 8M
same_failure "backing file missing" missing.qcow2
same_failure "backing file missing, -b" -b gone.qcow2 missing.qcow2
rm -f "$WORK/c/missing.qcow2"

# No backing file: qcow2 alone, raw, a qcow2 read as raw.
same_failure "no backing file" lone.qcow2
same_failure "no backing file, -p" -p lone.qcow2
same_failure "no backing file, -d" -d lone.qcow2
same_failure "raw" plain.raw
same_failure "qcow2 read as raw" -f raw sub/t.qcow2
same_failure "qcow2 read as vmdk" -f vmdk sub/t.qcow2

# -b: names qemu does not find in the chain.
for b in sub/b.qcow2 link.qcow2 t.qcow2 "" nothere nothere/../b.qcow2 \
    b.qcow2/ file:b.qcow2 file:sub/b.qcow2 lone.qcow2 ../c/lone.qcow2; do
	same_failure "-b '$b' not found" -b "$b" sub/t.qcow2
done
same_failure "-b not found, -p" -p -b nothere sub/t.qcow2

# -b: names it finds, relative to the image's directory, by realpath.
for b in b.qcow2 ./b.qcow2 ../sub/b.qcow2 deep/../b.qcow2 ../link.qcow2 \
    blink.qcow2 @DIR@/sub/b.qcow2 @DIR@/sub/../sub/b.qcow2 \
    @DIR@/sub/deep/../b.qcow2 @DIR@/link.qcow2; do
	twin_commit "-b '$b'" c sub/t.qcow2 sub/b.qcow2 -b "$b"
done
for b in m.qcow2 ./m.qcow2 @DIR@/sub/m.qcow2; do
	twin_commit "-b '$b'" c sub/t.qcow2 sub/m.qcow2 -b "$b"
done

finish
