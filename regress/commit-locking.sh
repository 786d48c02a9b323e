# instar commit takes the locks qemu-img commit takes: the top as a
# writer (with -d too), the backing chain as readers while it is opened,
# then, when the job starts, the base as a writer and the images between
# the top and the base as readers that no longer share consistent reads.
# A qemu-io holding a file stands for a VM.  The bytes held while a slow
# commit runs are read from /proc/locks, for qemu-img and for instar.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/rebase-lib.sh"
. "$REGRESS_DIR/commit-lib.sh"

. "$REGRESS_DIR/hold-lib.sh"

# hold_alone IMAGE [qemu-io options]: hold one qcow2 file alone, without
# its backing chain.
hold_alone() {
	img=$1
	shift
	hold_open "$img" "$@" "json:{\"driver\": \"qcow2\", \"backing\": null,
	    \"file\": {\"driver\": \"file\", \"filename\": \"$img\"}}"
}

# A chain in $WORK/c: b <- m <- t, data in each.
mkchain c
cq c create -f qcow2 b.qcow2 16M
cio c -c 'write -P 0x11 0 4M' b.qcow2
cq c create -f qcow2 -b b.qcow2 -F qcow2 m.qcow2
cio c -c 'write -P 0x21 1M 2M' m.qcow2
cq c create -f qcow2 -b m.qcow2 -F qcow2 t.qcow2
cio c -c 'write -P 0x31 2M 2M' t.qcow2
cd "$WORK/c" || exit 1

# same_failure DESC ARGS: with the holder in place, instar and qemu-img
# commit both exit 1 with the same message, and nothing changes.
same_failure() {
	desc=$1
	shift
	before=$(chain_sums "$WORK/c")
	"$QEMU_IMG" commit "$@" >/dev/null 2>"$WORK/.qerr"
	qrc=$?
	"$INSTAR" commit "$@" >"$WORK/.iout" 2>"$WORK/.ierr"
	irc=$?
	sed 's/^qemu-img: /instar: /' "$WORK/.qerr" >"$WORK/.qerr.n"
	if [ $qrc -ne 1 ] || [ $irc -ne 1 ]; then
		fail "$desc: instar exits $irc, qemu-img $qrc ($*):" \
		    "$(cat "$WORK/.ierr") / $(cat "$WORK/.qerr")"
	elif ! cmp -s "$WORK/.qerr.n" "$WORK/.ierr"; then
		fail "$desc: message differs"
		diff -u "$WORK/.qerr.n" "$WORK/.ierr" >&2
	elif [ -s "$WORK/.iout" ]; then
		fail "$desc: printed output despite failing"
	else
		pass
	fi
	[ "$before" = "$(chain_sums "$WORK/c")" ]
	check $? "$desc: a refused commit changed files"
}

# A VM using the top, writing or reading: no commit at all.
for ro in "" -r; do
	hold t.qcow2 $ro
	same_failure "top held $ro" t.qcow2
	grep -q "^instar: Could not open 't.qcow2': Failed to get \"write\" lock$" \
	    "$WORK/.ierr" &&
	    grep -q "^Is another process using the image \[t.qcow2\]?$" \
	    "$WORK/.ierr"
	check $? "top held $ro: not qemu's words: $(cat "$WORK/.ierr")"
	same_failure "top held $ro, -d" -d t.qcow2
	same_failure "top held $ro, -b" -b b.qcow2 t.qcow2
	release
done

# A VM writing any image of the chain: it cannot even be opened.
for img in m b; do
	hold $img.qcow2
	same_failure "$img held" t.qcow2
	same_failure "$img held, -d" -d t.qcow2
	same_failure "$img held, -b b" -b b.qcow2 t.qcow2
	release
done

# A VM reading the base: the base cannot become a writer.
hold m.qcow2 -r
same_failure "base read elsewhere" t.qcow2
grep -qx "instar: Failed to get \"write\" lock" "$WORK/.ierr" &&
    grep -qx "Is another process using the image \[m.qcow2\]?" "$WORK/.ierr"
check $? "base read elsewhere: not qemu's words: $(cat "$WORK/.ierr")"
same_failure "base read elsewhere, -d" -d t.qcow2
release
hold b.qcow2 -r
same_failure "deep base read elsewhere" -b b.qcow2 t.qcow2
release
# A VM reading an image between the top and the base (and only it): the
# commit will change what it reads, so it is refused, even with -U.
for u in "" -U; do
	hold_alone "$WORK/c/m.qcow2" -r $u
	same_failure "middle read elsewhere $u" -b b.qcow2 t.qcow2
	grep -qx "instar: Failed to get shared \"consistent read\" lock" \
	    "$WORK/.ierr"
	check $? "middle read elsewhere $u: not qemu's words:" \
	    "$(cat "$WORK/.ierr")"
	release
done

# A VM reading what lies below the base is no obstacle.
for tool in qemu-img instar; do
	rm -rf "$WORK/ok"
	cp -a "$WORK/c" "$WORK/ok"
	hold "$WORK/ok/b.qcow2" -r
	if [ $tool = qemu-img ]; then
		(cd "$WORK/ok" && "$QEMU_IMG" commit -q t.qcow2)
	else
		(cd "$WORK/ok" && "$INSTAR" commit -q t.qcow2)
	fi
	check $? "$tool: below the base read elsewhere: commit failed"
	release
	"$QEMU_IMG" compare -U "$WORK/c/t.qcow2" "$WORK/ok/t.qcow2" >/dev/null
	check $? "$tool: below the base read elsewhere: wrong result"
done

# While a commit runs (slowed down by -r), the bytes held on each image
# are those qemu-img holds: the top and the base as writers that share
# neither write nor resize (100 101 103 201 203), the middle as a reader
# that shares no consistent read (100 200 201 203), below the base as a
# reader (100 201 203).
mkchain big
cq big create -f qcow2 b0.qcow2 1G
cq big create -f qcow2 -b b0.qcow2 -F qcow2 b.qcow2
cq big create -f qcow2 -b b.qcow2 -F qcow2 m.qcow2
cio big -c 'write -P 0x21 0 8M' m.qcow2
cq big create -f qcow2 -b m.qcow2 -F qcow2 t.qcow2
cio big -c 'write -P 0x31 4M 8M' t.qcow2
for args in "" "-d" "-b b.qcow2"; do
	for tool in qemu-img instar; do
		rm -rf "$WORK/run"
		cp -a "$WORK/big" "$WORK/run"
		if [ $tool = qemu-img ]; then
			# shellcheck disable=SC2086
			(cd "$WORK/run" && exec "$QEMU_IMG" commit -q -r 1M \
			    $args t.qcow2 2>/dev/null) &
		else
			# shellcheck disable=SC2086
			(cd "$WORK/run" && exec "$INSTAR" commit -q -r 1M \
			    $args t.qcow2 2>/dev/null) &
		fi
		pid=$!
		# Wait until the base is a writer: the job has started.
		i=0
		while [ $i -lt 400 ]; do
			case $args in
			-b*)	base=b.qcow2 ;;
			*)	base=m.qcow2 ;;
			esac
			case " $(lock_bytes "$WORK/run/$base")" in
			*" 101 "*) break ;;
			esac
			sleep 0.05
			i=$((i + 1))
		done
		for img in t m b b0; do
			echo "$img: $(lock_bytes "$WORK/run/$img.qcow2")"
		done >"$WORK/.locks.$tool"
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	grep -q "^t: 100 101 103 201 203 $" "$WORK/.locks.qemu-img"
	check $? "qemu-img never held its locks ($args):" \
	    "$(cat "$WORK/.locks.qemu-img")"
	if cmp -s "$WORK/.locks.qemu-img" "$WORK/.locks.instar"; then
		pass
	else
		fail "locks held while committing ($args) differ from qemu-img's"
		diff -u "$WORK/.locks.qemu-img" "$WORK/.locks.instar" >&2
	fi
done
cd "$WORK" || exit 1

finish
