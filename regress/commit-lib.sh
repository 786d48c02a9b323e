# Helpers for the commit-*.sh scripts, sourced after test-exec.sh (they
# use rebase-lib.sh's checks too).
#
# The model: build a fixture chain in a directory of $WORK with relative
# backing names, copy the directory twice (DIR.q and DIR.i, so that the
# names resolve alike), run qemu-img commit in one copy and instar commit
# in the other with the same arguments, from inside the copy, and hold
# instar's result against qemu-img's:
#
#   * both exit the same way, and print the same (progress and JSON are
#     checked for their shape);
#   * instar's base reads as qemu-img's base (qemu-img compare) and, up to
#     FILENAME's size, as FILENAME read before the commit (a flattened raw
#     copy); qemu-img info agrees on the two bases, modulo actual-size;
#   * qemu-img check finds nothing wrong with any image instar wrote;
#   * FILENAME is emptied (nothing allocated at depth 0, still reading as
#     before, no larger a file than qemu-img leaves) or, with -d or -b,
#     byte-identical; every other file of the chain is byte-identical.
#
# Refusals: instar exits 1 with the expected message and every file of
# the fixture is unchanged (sha256).

# The twin directories of the last twin_commit, for extra checks.
Q_DIR=
I_DIR=

# chain_sums DIR: a fingerprint of every file under DIR, one per line.
chain_sums() {
	(cd "$1" && find . -type f | LC_ALL=C sort | xargs sha256sum)
}

# info_in DIR IMAGE: qemu-img info's JSON of IMAGE, run inside DIR so
# that twins give the same names, without the fields that differ for
# reasons unrelated to the commit.
info_in() {
	(cd "$1" && "$QEMU_IMG" info -U --output=json "$2") |
	    jq -S 'del(."actual-size")'
}

# is_drop ARGS: whether the arguments keep FILENAME as it is (-d, -b).
is_drop() {
	for a in "$@"; do
		case $a in
		-d|-b|-b?*)
			return 0 ;;
		esac
	done
	return 1
}

# has_arg WORD ARGS: whether WORD is one of ARGS.
has_arg() {
	w=$1
	shift
	for a in "$@"; do
		[ "$a" = "$w" ] && return 0
	done
	return 1
}

# depth0 IMAGE: how many map entries IMAGE itself holds (data or zeros).
depth0() {
	"$QEMU_IMG" map -U --output=json "$1" |
	    jq '[.[] | select(.depth == 0)] | length'
}

# check_stdout DESC ARGS: what instar printed on success, against
# qemu-img's (exact, but for the progress repeats and instar's JSON).
check_stdout() {
	desc=$1
	shift
	if has_arg --output=json "$@"; then
		if jq -e 'keys_unsorted == ["filename", "format",
		    "base-filename", "base-format", "clusters-committed",
		    "bytes-committed", "clusters-emptied", "base-cluster-size",
		    "base-grown", "emptied", "file-size-before",
		    "file-size-after", "base-file-size-before",
		    "base-file-size-after"]' "$WORK/.iout" >/dev/null 2>&1; then
			pass
		else
			fail "$desc: not instar's JSON report: $(cat "$WORK/.iout")"
		fi
		return
	fi
	if has_arg -p "$@" && ! has_arg -q "$@"; then
		# qemu prints "0.00" and "100.00" a varying number of times.
		tr '\r' '\n' <"$WORK/.iout" | uniq >"$WORK/.iout.u"
		tr '\r' '\n' <"$WORK/.qout" | uniq >"$WORK/.qout.u"
		if head -1 "$WORK/.iout.u" | grep -qx '    (0.00/100%)' &&
		    tail -3 "$WORK/.iout.u" | tr '\n' '|' |
		    grep -qx '    (100.00/100%)||Image committed.|' &&
		    ! grep -v -e '^    ([0-9.]*/100%)$' -e '^$' \
		    -e '^Image committed.$' "$WORK/.iout.u" | grep -q .; then
			pass
		else
			fail "$desc: progress output differs in shape:" \
			    "$(od -c "$WORK/.iout" | head -5)"
		fi
		return
	fi
	if cmp -s "$WORK/.qout" "$WORK/.iout"; then
		pass
	else
		fail "$desc: stdout differs from qemu-img's:" \
		    "instar: $(cat "$WORK/.iout") qemu-img: $(cat "$WORK/.qout")"
	fi
}

# check_clean_any DESC IMAGE: check_clean for formats that qemu-img can
# check (raw has nothing to check).
check_clean_any() {
	if "$QEMU_IMG" info -U --output=json "$2" |
	    jq -e '.format == "raw"' >/dev/null; then
		pass
	else
		check_clean "$@"
	fi
}

# twin_commit DESC DIR TOP BASE [ARGS...]: commit twins of the chain in
# $WORK/DIR, FILENAME being TOP and the base expected to be BASE (both
# relative to DIR), and compare the results as described above.  In ARGS
# "@DIR@" stands for the absolute path of the twin directory.  Returns 0
# if both commits ran alike.
twin_commit() {
	desc=$1
	dir=$2
	top=$3
	basef=$4
	shift 4
	Q_DIR=$WORK/$dir.q
	I_DIR=$WORK/$dir.i
	rm -rf "$Q_DIR" "$I_DIR"
	cp -a "$WORK/$dir" "$Q_DIR" && cp -a "$WORK/$dir" "$I_DIR" ||
	    fail "$desc: copy"
	(cd "$I_DIR" && "$QEMU_IMG" convert -U -O raw "$top" \
	    "$WORK/.before.raw") || fail "$desc: flatten $top"
	chain_sums "$I_DIR" >"$WORK/.sums-before"
	cp "$I_DIR/$top" "$WORK/.top-before"
	qargs=
	iargs=
	for a in "$@"; do
		# instar's own option; qemu-img knows only human output.
		case $a in
		--output=*)
			iargs="$iargs $a"
			continue ;;
		esac
		qargs="$qargs $(printf '%s' "$a" | sed "s|@DIR@|$Q_DIR|g")"
		iargs="$iargs $(printf '%s' "$a" | sed "s|@DIR@|$I_DIR|g")"
	done
	# shellcheck disable=SC2086
	(cd "$Q_DIR" && "$QEMU_IMG" commit $qargs "$top") \
	    >"$WORK/.qout" 2>"$WORK/.qerr"
	qrc=$?
	# shellcheck disable=SC2086
	(cd "$I_DIR" && "$INSTAR" commit $iargs "$top") \
	    >"$WORK/.iout" 2>"$WORK/.ierr"
	irc=$?
	if [ $qrc -ne $irc ]; then
		fail "$desc: instar exits $irc, qemu-img $qrc ($*):" \
		    "instar: $(cat "$WORK/.ierr") qemu-img: $(cat "$WORK/.qerr")"
		return 1
	fi
	pass
	if [ $qrc -ne 0 ]; then
		sed 's/^qemu-img: /instar: /' "$WORK/.qerr" >"$WORK/.qerr.n"
		if cmp -s "$WORK/.qerr.n" "$WORK/.ierr"; then
			pass
		else
			fail "$desc: message differs from qemu-img's:" \
			    "$(diff "$WORK/.qerr.n" "$WORK/.ierr" | tail -n +2)"
		fi
		if [ "$(chain_sums "$I_DIR")" = "$(cat "$WORK/.sums-before")" ]
		then
			pass
		else
			fail "$desc: a failed commit changed files"
		fi
		return 0
	fi
	if [ -s "$WORK/.ierr" ]; then
		fail "$desc: instar wrote to stderr: $(cat "$WORK/.ierr")"
	fi
	check_stdout "$desc" "$@"
	compare_images "$desc: base against qemu-img's" "$I_DIR/$basef" \
	    "$Q_DIR/$basef"
	# The base's first bytes, as many as the top has (the base may be
	# larger); qemu-img compare when the sizes agree, as it looks only
	# where something is allocated.
	tsize=$(stat -c %s "$WORK/.before.raw")
	bsize=$("$QEMU_IMG" info -U --output=json "$I_DIR/$basef" |
	    jq '."virtual-size"')
	if [ "$tsize" -eq "$bsize" ]; then
		(cd "$I_DIR" && "$QEMU_IMG" compare -U "$WORK/.before.raw" \
		    "$basef") >"$WORK/.compare" 2>&1
	else
		(cd "$I_DIR" && "$QEMU_IMG" convert -U -O raw "$basef" \
		    "$WORK/.after.raw") &&
		truncate -s "$tsize" "$WORK/.after.raw" &&
		cmp "$WORK/.before.raw" "$WORK/.after.raw" >"$WORK/.compare" 2>&1
	fi
	if [ $? -eq 0 ]; then
		pass
	else
		fail "$desc: the base does not read as $top did:" \
		    "$(cat "$WORK/.compare")"
	fi
	check_clean_any "$desc: base" "$I_DIR/$basef"
	info_in "$Q_DIR" "$basef" >"$WORK/.info-q"
	info_in "$I_DIR" "$basef" >"$WORK/.info-i"
	if cmp -s "$WORK/.info-q" "$WORK/.info-i"; then
		pass
	else
		fail "$desc: qemu-img info of the bases differs"
		diff -u "$WORK/.info-q" "$WORK/.info-i" | head -30 >&2
	fi
	if is_drop "$@"; then
		cmp -s "$WORK/.top-before" "$I_DIR/$top"
		check $? "$desc: $top changed although kept"
	else
		check_emptied "$desc"
	fi
	# Nothing but the base (and an emptied top) may change.
	chain_sums "$I_DIR" | while read -r sum name; do
		[ "$name" = "./$basef" ] && continue
		if ! is_drop "$@" && [ "$name" = "./$top" ]; then
			continue
		fi
		grep -qx "$sum  $name" "$WORK/.sums-before" ||
		    echo "$name"
	done >"$WORK/.changed"
	if [ -s "$WORK/.changed" ]; then
		fail "$desc: files changed that must not:" \
		    "$(cat "$WORK/.changed")"
	else
		pass
	fi
	return 0
}

# check_emptied DESC: (after twin_commit without -d) the top holds
# nothing of its own, checks clean, still reads as before (now through
# the base), keeps qemu-img's header facts, and its file is no larger
# than the one qemu-img leaves.
check_emptied() {
	n=$(depth0 "$I_DIR/$top")
	if [ "$n" = 0 ]; then
		pass
	else
		fail "$1: $top still holds $n extents:" \
		    "$("$QEMU_IMG" map -U --output=json "$I_DIR/$top")"
	fi
	check_clean "$1: top" "$I_DIR/$top"
	compare_images "$1: top against its content before" \
	    "$WORK/.before.raw" "$I_DIR/$top"
	info_in "$Q_DIR" "$top" >"$WORK/.info-q"
	info_in "$I_DIR" "$top" >"$WORK/.info-i"
	if cmp -s "$WORK/.info-q" "$WORK/.info-i"; then
		pass
	else
		fail "$1: qemu-img info of the emptied tops differs"
		diff -u "$WORK/.info-q" "$WORK/.info-i" | head -30 >&2
	fi
	qs=$(stat -c %s "$Q_DIR/$top")
	is=$(stat -c %s "$I_DIR/$top")
	if [ "$is" -le "$qs" ]; then
		pass
	else
		fail "$1: emptied $top is $is bytes, qemu-img's $qs"
	fi
}

# commit_refuses DESC DIR TOP PATTERN [ARGS...]: instar commit ARGS TOP,
# run in $WORK/DIR, exits 1 with PATTERN on stderr and nothing on stdout,
# and no file under DIR changed.  What qemu-img does with the same is
# left in $WORK/.qrc and $WORK/.qerr (on a copy).
commit_refuses() {
	desc=$1
	dir=$2
	top=$3
	pattern=$4
	shift 4
	rm -rf "$WORK/$dir.q"
	cp -a "$WORK/$dir" "$WORK/$dir.q"
	(cd "$WORK/$dir.q" && "$QEMU_IMG" commit "$@" "$top") \
	    >/dev/null 2>"$WORK/.qerr"
	echo $? >"$WORK/.qrc"
	chain_sums "$WORK/$dir" >"$WORK/.sums-before"
	(cd "$WORK/$dir" && "$INSTAR" commit "$@" "$top") \
	    >"$WORK/.actual" 2>"$WORK/.stderr"
	rc=$?
	if [ "$rc" -ne 1 ]; then
		fail "$desc: exit $rc, want 1 ($*): $(cat "$WORK/.stderr")"
	elif ! grep -q -- "$pattern" "$WORK/.stderr"; then
		fail "$desc: stderr lacks '$pattern': $(cat "$WORK/.stderr")"
	elif [ -s "$WORK/.actual" ]; then
		fail "$desc: printed output despite failing"
	else
		pass
	fi
	if [ "$(chain_sums "$WORK/$dir")" = "$(cat "$WORK/.sums-before")" ]
	then
		pass
	else
		fail "$desc: a refused commit changed files"
	fi
}

# mkchain DIR: an empty fixture directory.
mkchain() {
	rm -rf "${WORK:?}/$1"
	mkdir -p "$WORK/$1"
}

# cq DIR ARGS / cio DIR ARGS: qemu-img / qemu-io run inside $WORK/DIR
# (fixtures use relative backing names).
cq() {
	d=$1
	shift
	(cd "$WORK/$d" && "$QEMU_IMG" "$@" >/dev/null) ||
	    fail "in $d: qemu-img $* failed"
}

cio() {
	d=$1
	shift
	(cd "$WORK/$d" && "$QEMU_IO" "$@" >/dev/null) ||
	    fail "in $d: qemu-io $* failed"
}
