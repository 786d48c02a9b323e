# instar rebase --dry-run and instar commit --dry-run, in every mode: on
# one copy of a chain the dry run, on another the real run with the same
# arguments.  The dry run's JSON must be the real run's plus
# "dry-run": true, figure for figure (file lengths included, which must
# also be what the real run left); the dry run's copy must be untouched
# (contents, lengths, mtimes), and under strace no process may open an
# image for writing or write, resize or copy into any file.  A run that
# would fail fails dry with the same message and exit status, and
# writes nothing either.  The human plan ends saying nothing was
# written.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/trace-lib.sh"
. "$REGRESS_DIR/commit-lib.sh"

. "$REGRESS_DIR/hold-lib.sh"

# state DIR: each file's name, length, mtime (ns) and sha256.
state() {
	(cd "$1" && for f in *; do
		printf '%s %s %s\n' "$(stat -c '%n %s %.9Y' "$f")" \
		    "$(sha256sum <"$f" | cut -c1-64)"
	done)
}

# no_writes DESC TRACE: no image opened for writing, nothing written,
# resized or copied into a file, by any process of the run.
no_writes() {
	if grep -E ' openat\(.*(O_WRONLY|O_RDWR|O_CREAT|O_TRUNC)' "$2" |
	    grep -Ev '"/dev/(kvm|null|tty)"' >"$WORK/.opens"; [ -s "$WORK/.opens" ]
	then
		fail "$1: opened for writing: $(head -3 "$WORK/.opens")"
		return
	fi
	if grep -E ' (pwrite64|pwritev|ftruncate|fallocate|copy_file_range|sendfile|splice)\(' \
	    "$2" >"$WORK/.writes"; [ -s "$WORK/.writes" ]; then
		fail "$1: wrote: $(head -3 "$WORK/.writes")"
		return
	fi
	pass
}

# dry_vs_real DESC DIR CMD IMAGE ARGS...: instar CMD --dry-run on one
# copy of DIR, for real on another; see the top of this file.
dry_vs_real() {
	desc=$1
	dir=$2
	cmd=$3
	img=$4
	shift 4
	rm -rf "$WORK/$dir.dry" "$WORK/$dir.real"
	cp -a "$WORK/$dir" "$WORK/$dir.dry"
	cp -a "$WORK/$dir" "$WORK/$dir.real"
	state "$WORK/$dir.dry" >"$WORK/.before"
	(cd "$WORK/$dir.dry" && trace_instar "$WORK/.trace" "$cmd" \
	    --dry-run --output=json "$@" "$img" >"$WORK/.dry" \
	    2>"$WORK/.dry-err")
	drc=$?
	state "$WORK/$dir.dry" >"$WORK/.after"
	if cmp -s "$WORK/.before" "$WORK/.after"; then
		pass
	else
		fail "$desc: the dry run changed files:" \
		    "$(diff "$WORK/.before" "$WORK/.after" | head -6)"
	fi
	no_writes "$desc" "$WORK/.trace"
	(cd "$WORK/$dir.real" && "$INSTAR" "$cmd" --output=json "$@" "$img" \
	    >"$WORK/.real" 2>"$WORK/.real-err")
	rrc=$?
	if [ "$drc" -ne "$rrc" ]; then
		fail "$desc: dry run exits $drc, the real run $rrc:" \
		    "$(cat "$WORK/.dry-err" "$WORK/.real-err")"
		return
	fi
	if ! cmp -s "$WORK/.dry-err" "$WORK/.real-err"; then
		fail "$desc: dry run says '$(cat "$WORK/.dry-err")'," \
		    "the real run '$(cat "$WORK/.real-err")'"
		return
	fi
	pass
	[ "$rrc" -eq 0 ] || return
	if jq -e --slurpfile real "$WORK/.real" \
	    '."dry-run" == true and del(."dry-run") == $real[0] and
	    (keys_unsorted == ($real[0] | keys_unsorted) + ["dry-run"])' \
	    "$WORK/.dry" >/dev/null; then
		pass
	else
		fail "$desc: predicted $(cat "$WORK/.dry")," \
		    "got $(cat "$WORK/.real")"
	fi
	dry_sizes_real "$desc" "$dir" "$cmd" "$img"
	# The plan for people: the same run, nothing written either.
	(cd "$WORK/$dir.dry" && "$INSTAR" "$cmd" --dry-run "$@" "$img" \
	    >"$WORK/.plan" 2>&1)
	check $? "$desc: human dry run failed: $(cat "$WORK/.plan")"
	state "$WORK/$dir.dry" >"$WORK/.after"
	cmp -s "$WORK/.before" "$WORK/.after"
	check $? "$desc: the human dry run changed files"
	# -q quiets the plan as it quiets "Image committed." (the man pages).
	want="Dry run: nothing was written."
	case " $* " in *" -q "*) want= ;; esac
	[ "$(tail -n 1 "$WORK/.plan")" = "$want" ]
	check $? "$desc: plan's last line: '$(tail -n 1 "$WORK/.plan")'"
}

# dry_sizes_real DESC DIR CMD IMAGE: the lengths the real run reported
# are the files' own.
dry_sizes_real() {
	real=$WORK/$2.real
	if [ "$3" = rebase ]; then
		want=$(stat -c %s "$real/$4")
		got=$(jq '."file-size-after"' "$WORK/.real")
	else
		base=$(jq -r '."base-filename"' "$WORK/.real")
		want="$(stat -c %s "$real/$4") $(cd "$real" && stat -c %s "$base")"
		got="$(jq '."file-size-after"' "$WORK/.real") $(jq \
		    '."base-file-size-after"' "$WORK/.real")"
	fi
	[ "$want" = "$got" ]
	check $? "$1: reported lengths $got, the files have $want"
}

# ---- rebase, qcow2 ----

mkchain q
cq q create -f qcow2 b.qcow2 16M
cio q -c 'write -P 0x11 0 4M' -c 'write -P 0x12 8M 2M' b.qcow2
cq q create -f qcow2 -b b.qcow2 -F qcow2 m.qcow2
cio q -c 'write -P 0x21 1M 2M' -c 'write -P 0x22 12M 64k' m.qcow2
cq q create -f qcow2 -b m.qcow2 -F qcow2 t.qcow2
cio q -c 'write -P 0x31 2M 512k' -c 'write -P 0x33 6M 1536' t.qcow2
cq q create -f qcow2 n.qcow2 16M
cio q -c 'write -P 0x41 0 1M' -c 'write -P 0x11 8M 2M' n.qcow2

dry_vs_real "rebase onto another image" q rebase t.qcow2 -b n.qcow2 \
    -F qcow2
dry_vs_real "rebase, new backing probed" q rebase t.qcow2 -b n.qcow2
dry_vs_real "rebase dropping the middle" q rebase t.qcow2 -b b.qcow2 \
    -F qcow2
dry_vs_real "rebase detaching" q rebase t.qcow2 -b ""
dry_vs_real "rebase -u" q rebase t.qcow2 -u -b n.qcow2 -F qcow2
dry_vs_real "rebase -u, probed" q rebase t.qcow2 -u -b n.qcow2
dry_vs_real "rebase -u detaching" q rebase t.qcow2 -u -b ""
dry_vs_real "rebase -f" q rebase t.qcow2 -b "" -f qcow2

# v2: clusters of zeros are written as data; 512 B clusters with 64-bit
# refcounts: new refcount blocks and a bigger table.
mkchain v2
cq v2 create -f qcow2 b.qcow2 8M
cio v2 -c 'write -P 0x51 0 8M' b.qcow2
cq v2 create -f qcow2 -o compat=0.10 -b b.qcow2 -F qcow2 t.qcow2
cq v2 create -f qcow2 n.qcow2 16M
dry_vs_real "rebase of a v2 image" v2 rebase t.qcow2 -b n.qcow2 -F qcow2
mkchain small
cq small create -f qcow2 b.qcow2 8M
cio small -c 'write -P 0x61 0 6M' b.qcow2
cq small create -f qcow2 -o cluster_size=512,refcount_bits=64 \
    -b b.qcow2 -F qcow2 t.qcow2
dry_vs_real "rebase growing the refcount table" small rebase t.qcow2 -b ""

# ---- commit, qcow2 ----

dry_vs_real "commit into the backing file" q commit t.qcow2
dry_vs_real "commit -d" q commit t.qcow2 -d
dry_vs_real "commit -b through the middle" q commit t.qcow2 -b b.qcow2
dry_vs_real "commit the middle" q commit m.qcow2
dry_vs_real "commit -q" q commit t.qcow2 -q
dry_vs_real "commit -r" q commit t.qcow2 -r 1G

mkchain grow
cq grow create -f qcow2 b.qcow2 4M
cio grow -c 'write -P 0x71 0 4M' b.qcow2
cq grow create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2 64M
cio grow -c 'write -P 0x72 40M 3M' -c 'write -P 0x73 1M 64k' t.qcow2
dry_vs_real "commit into a base that grows" grow commit t.qcow2
dry_vs_real "commit into a base that grows, -d" grow commit t.qcow2 -d

mkchain raw
cq raw create -f raw b.raw 16M
cio raw -f raw -c 'write -P 0x81 0 2M' b.raw
cq raw create -f qcow2 -b b.raw -F raw t.qcow2
cio raw -c 'write -P 0x82 1M 3M' -c 'write -z 12M 1M' t.qcow2
dry_vs_real "commit into a raw base" raw commit t.qcow2

mkchain small4k
cq small4k create -f qcow2 -o cluster_size=65536 b.qcow2 16M
cio small4k -c 'write -P 0x91 0 16M' b.qcow2
cq small4k create -f qcow2 -o cluster_size=4096 -b b.qcow2 -F qcow2 t.qcow2
cio small4k -c 'write -P 0x92 100k 300k' -c 'write -P 0x93 5M 4k' t.qcow2
dry_vs_real "commit 4 KiB clusters into 64 KiB ones" small4k commit t.qcow2

# ---- VMDK ----

mkchain vmdk
cq vmdk create -f vmdk b.vmdk 16M
cio vmdk -f vmdk -c 'write -P 0xa1 0 2M' -c 'write -P 0xa2 8M 1M' b.vmdk
cq vmdk create -f vmdk -b b.vmdk -F vmdk t.vmdk
cio vmdk -f vmdk -c 'write -P 0xa3 1M 2M' t.vmdk
cq vmdk create -f vmdk n.vmdk 16M
cio vmdk -f vmdk -c 'write -P 0xa4 4M 1M' n.vmdk
dry_vs_real "VMDK rebase onto another image" vmdk rebase t.vmdk -b n.vmdk \
    -F vmdk
dry_vs_real "VMDK rebase detaching" vmdk rebase t.vmdk -b ""
dry_vs_real "VMDK rebase -u" vmdk rebase t.vmdk -u -b n.vmdk
dry_vs_real "VMDK commit" vmdk commit t.vmdk
dry_vs_real "VMDK commit -d" vmdk commit t.vmdk -d

# ---- what would fail, fails the same way ----

dry_vs_real "rebase onto a missing file" q rebase t.qcow2 -b gone.qcow2 \
    -F qcow2
dry_vs_real "rebase -u onto a missing file, no -F" q rebase t.qcow2 -u \
    -b gone.qcow2
dry_vs_real "rebase without -b" q rebase t.qcow2
dry_vs_real "rebase of a raw image" raw rebase b.raw -b ""
dry_vs_real "commit without a backing file" q commit b.qcow2
dry_vs_real "commit -b not in the chain" q commit t.qcow2 -b n.qcow2

mkchain gone
cq gone create -f qcow2 b.qcow2 1M
cq gone create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2
rm -f "$WORK/gone/b.qcow2"
dry_vs_real "commit with its backing file missing" gone commit t.qcow2
dry_vs_real "rebase with its backing file missing" gone rebase t.qcow2 -b ""

mkchain loop
cq loop create -f qcow2 a.qcow2 1M
cq loop create -f qcow2 -b a.qcow2 -F qcow2 b.qcow2
cq loop rebase -u -b b.qcow2 -F qcow2 a.qcow2
dry_vs_real "commit of a backing loop" loop commit b.qcow2
dry_vs_real "rebase of a backing loop" loop rebase b.qcow2 -b ""

mkchain vsize
cq vsize create -f vmdk b.vmdk 1M
cq vsize create -f vmdk -b b.vmdk -F vmdk t.vmdk 2M
dry_vs_real "commit into a VMDK that would have to grow" vsize commit t.vmdk

# Read-only files: the real run cannot open them for writing, nor can a
# dry run pretend it could.  As root only a read-only mount refuses.
if [ "$(id -u)" -ne 0 ]; then
	mkchain ro
	cq ro create -f qcow2 b.qcow2 1M
	cq ro create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2
	chmod a-w "$WORK/ro/t.qcow2" "$WORK/ro/b.qcow2"
	dry_vs_real "rebase of a read-only overlay" ro rebase t.qcow2 -b ""
	dry_vs_real "commit into a read-only base" ro commit t.qcow2 -d
fi

# An image a running VM holds (qemu-io stands for it): the same refusal,
# on the same files (neither run can write them).

# held DESC IMAGE-TO-HOLD CMD IMAGE ARGS: both runs refuse alike.
held() {
	desc=$1
	target=$2
	cmd=$3
	img=$4
	shift 4
	hold "$WORK/q/$target"
	state "$WORK/q" >"$WORK/.before"
	(cd "$WORK/q" && "$INSTAR" "$cmd" --dry-run "$@" "$img" \
	    >/dev/null 2>"$WORK/.dry-err")
	drc=$?
	(cd "$WORK/q" && "$INSTAR" "$cmd" "$@" "$img" >/dev/null \
	    2>"$WORK/.real-err")
	rrc=$?
	release
	state "$WORK/q" >"$WORK/.after"
	if [ "$drc" -ne 1 ] || [ "$rrc" -ne 1 ] ||
	    ! cmp -s "$WORK/.dry-err" "$WORK/.real-err" ||
	    ! grep -q 'lock' "$WORK/.real-err"; then
		fail "$desc: dry run $drc '$(cat "$WORK/.dry-err")', real" \
		    "$rrc '$(cat "$WORK/.real-err")'"
	else
		pass
	fi
	cmp -s "$WORK/.before" "$WORK/.after"
	check $? "$desc: files changed"
}

held "rebase of an overlay in use" t.qcow2 rebase t.qcow2 -b ""
held "rebase onto a chain in use" b.qcow2 rebase t.qcow2 -b n.qcow2 \
    -F qcow2
held "commit into a base in use" m.qcow2 commit t.qcow2
held "commit of a top in use" t.qcow2 commit t.qcow2

finish
