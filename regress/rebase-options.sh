# instar rebase takes qemu-img rebase's command line: the same usage
# errors, messages and exit codes, -p progress in qemu's format, -q, the
# cache mode names, and the files qemu-img would refuse to open.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/rebase-lib.sh"

# same_error DESC ARGS: instar rebase fails like qemu-img rebase, with
# the same message (program names aside), and changes nothing.
same_error() {
	desc=$1
	shift
	before=$(sums ./*.qcow2)
	"$QEMU_IMG" rebase "$@" >"$WORK/.qout" 2>"$WORK/.qerr"
	qrc=$?
	"$INSTAR" rebase "$@" >"$WORK/.iout" 2>"$WORK/.ierr"
	irc=$?
	sed -e 's/^qemu-img: /instar: /' \
	    -e "s/^Try 'qemu-img --help'/Try 'instar rebase --help'/" \
	    "$WORK/.qerr" >"$WORK/.qerr.n"
	if [ $qrc -ne $irc ] || [ $irc -ne 1 ]; then
		fail "$desc: instar exits $irc, qemu-img $qrc ($*)"
	elif ! cmp -s "$WORK/.qerr.n" "$WORK/.ierr"; then
		fail "$desc: message differs ($*)"
		diff -u "$WORK/.qerr.n" "$WORK/.ierr" >&2
	elif ! cmp -s "$WORK/.qout" "$WORK/.iout"; then
		fail "$desc: standard output differs ($*)"
		diff -u "$WORK/.qout" "$WORK/.iout" >&2
	else
		pass
	fi
	[ "$before" = "$(sums ./*.qcow2)" ]
	check $? "$desc: files changed"
}

qimg create -f qcow2 base.qcow2 4M
qio -c 'write -P 0x11 0 1M' base.qcow2
qimg create -f qcow2 new.qcow2 4M
qimg create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2

# Usage errors.
same_error "no -b, no -u" top.qcow2
same_error "no file" -b new.qcow2 -F qcow2
same_error "no arguments"
same_error "two files" -b new.qcow2 -F qcow2 top.qcow2 base.qcow2
same_error "unknown option" -x top.qcow2
same_error "unknown long option" --bogus top.qcow2
same_error "-b without its argument" -b
same_error "-F without its argument" -b new.qcow2 top.qcow2 -F
# Names qemu-img does not know.
same_error "bad cache" -t fast -b new.qcow2 -F qcow2 top.qcow2
same_error "bad source cache" -T fast -b new.qcow2 -F qcow2 top.qcow2
same_error "cache names are case-sensitive" -t None -b new.qcow2 \
    -F qcow2 top.qcow2
same_error "empty cache name" -t "" -b new.qcow2 -F qcow2 top.qcow2
same_error "bad -f" -f qcow3 -b new.qcow2 -F qcow2 top.qcow2
same_error "bad -F" -b new.qcow2 -F qcow3 top.qcow2
same_error "bad -F, unsafe" -u -b new.qcow2 -F qcow3 top.qcow2
# Files that cannot be opened.
same_error "no overlay" -b new.qcow2 -F qcow2 nothere.qcow2
same_error "no overlay, unsafe" -u -b new.qcow2 -F qcow2 nothere.qcow2
mkdir adir
same_error "overlay is a directory" -b new.qcow2 -F qcow2 adir
same_error "no new backing" -b nope.qcow2 -F qcow2 top.qcow2
same_error "no new backing, no -F" -b nope.qcow2 top.qcow2
same_error "new backing is a directory" -b adir -F qcow2 top.qcow2
same_error "new backing in a missing directory" -b /nonexistent/x.qcow2 \
    -F qcow2 top.qcow2
qimg create -f raw r.raw 4M
same_error "new backing not of the format -F names" -b r.raw -F qcow2 \
    top.qcow2
# A missing old backing file stops a safe rebase, at any depth.
qimg create -f qcow2 gone.qcow2 4M
qimg create -f qcow2 -b gone.qcow2 -F qcow2 orphan.qcow2
qimg create -f qcow2 -b orphan.qcow2 -F qcow2 orphan2.qcow2
rm gone.qcow2
same_error "old backing missing" -b new.qcow2 -F qcow2 orphan.qcow2
same_error "old backing missing, detach" -b "" orphan.qcow2
same_error "old backing's backing missing" -b new.qcow2 -F qcow2 \
    orphan2.qcow2
same_error "new backing's backing missing" -b orphan.qcow2 -F qcow2 \
    top.qcow2
# The overlay may not be its own new backing.
same_error "onto itself" -b top.qcow2 -F qcow2 top.qcow2

# Overlays that are not qcow2: qemu-img fails to change the header;
# instar refuses before it changes anything.
refuses_unchanged "raw overlay" \
    "Could not change the backing file to 'new.qcow2': Operation not supported" \
    "r.raw" -- -f raw -b new.qcow2 -F qcow2 r.raw
refuses_unchanged "qcow2 read as raw" "Operation not supported" \
    "top.qcow2" -- -f raw -b new.qcow2 -F qcow2 top.qcow2
qimg create -f vmdk v.vmdk 4M
cp v.vmdk v.q.vmdk
qemu_refuses "vmdk overlay" -u -b new.qcow2 -F qcow2 v.q.vmdk
refuses_unchanged "vmdk overlay" "Operation not supported" "v.vmdk" -- \
    -u -b new.qcow2 -F qcow2 v.vmdk

# An unsafe rebase opens only the overlay: missing backing files are fine.
twin_rebase "unsafe over a missing backing" orphan.qcow2 -u -b new.qcow2 \
    -F qcow2 && same_header "unsafe over a missing backing"
TWIN_NO_BACKING=1 twin_rebase "unsafe to a missing file" top.qcow2 -u \
    -b later.qcow2 -F qcow2 && same_header "unsafe to a missing file"
# -u without -b detaches, as in qemu-img.
twin_rebase "unsafe without -b" top.qcow2 -u &&
    same_header "unsafe without -b"
# -u without -F probes the new backing, so it must exist.
refuses_unchanged "unsafe, no -F, missing backing" \
    "Could not open new backing file 'later.qcow2'" top.qcow2 -- \
    -u -b later.qcow2 top.qcow2

# Every cache mode name qemu-img accepts, for both options.
for mode in none off writeback writethrough directsync unsafe; do
	QEMU_EXTRA= twin_rebase "cache $mode" top.qcow2 -u -t $mode \
	    -T $mode -b new.qcow2 -F qcow2
done

# -p: qemu's progress lines on standard output, "    (x.xx/100%)\r",
# from 0 to 100, then a newline; also when it fails, and also when
# standard output is not a terminal.  -q turns it off.
cp top.qcow2 p.qcow2
"$INSTAR" rebase -p -u -b new.qcow2 -F qcow2 p.qcow2 >"$WORK/.iout"
check $? "progress, unsafe: exit status"
"$QEMU_IMG" rebase -p -u -b new.qcow2 -F qcow2 p.qcow2 >"$WORK/.qout"
cmp -s "$WORK/.qout" "$WORK/.iout"
check $? "progress, unsafe: not qemu-img's output:" \
    "$(od -c "$WORK/.iout" | head -5)"
cp top.qcow2 p.qcow2
"$INSTAR" rebase -p -b new.qcow2 -F qcow2 p.qcow2 >"$WORK/.iout"
check $? "progress, safe: exit status"
printf '    (0.00/100%%)\r' | cmp -s -n 16 - "$WORK/.iout"
check $? "progress, safe: does not start at 0: $(od -c "$WORK/.iout")"
printf '    (100.00/100%%)\r\n' >"$WORK/.end"
tail -c 19 "$WORK/.iout" | cmp -s - "$WORK/.end"
check $? "progress, safe: does not end at 100: $(od -c "$WORK/.iout")"
same_error "progress, failing" -p -b nope.qcow2 -F qcow2 top.qcow2
same_error "progress, bad cache" -p -t fast -b nope.qcow2 -F qcow2 \
    top.qcow2
same_error "progress and quiet, failing" -p -q -b nope.qcow2 -F qcow2 \
    top.qcow2
cp top.qcow2 p.qcow2
"$INSTAR" rebase -p -q -b new.qcow2 -F qcow2 p.qcow2 >"$WORK/.iout"
check $? "quiet: exit status"
[ ! -s "$WORK/.iout" ]
check $? "quiet: printed $(od -c "$WORK/.iout" | head -3)"

# --output=json: instar's own report, one stable object.
cp top.qcow2 j.qcow2
"$INSTAR" rebase --output=json -b new.qcow2 -F qcow2 j.qcow2 \
    >"$WORK/.json"
check $? "json, safe: exit status"
jq -e '.filename == "j.qcow2" and .format == "qcow2" and
    .mode == "safe" and ."old-backing-filename" == "base.qcow2" and
    ."old-backing-format" == "qcow2" and
    ."new-backing-filename" == "new.qcow2" and
    ."new-backing-format" == "qcow2" and ."cluster-size" == 65536 and
    ."clusters-copied" == 16 and ."clusters-zeroed" == 0 and
    ."bytes-copied" == 1048576' "$WORK/.json" >/dev/null
check $? "json, safe: $(cat "$WORK/.json")"
jq -r 'keys_unsorted | join(",")' "$WORK/.json" >"$WORK/.keys"
echo "filename,format,mode,old-backing-filename,old-backing-format,new-backing-filename,new-backing-format,cluster-size,clusters-copied,clusters-zeroed,bytes-copied,file-size-before,file-size-after" |
    cmp -s - "$WORK/.keys"
check $? "json: key order $(cat "$WORK/.keys")"
"$INSTAR" rebase --output=json -u -b "" j.qcow2 >"$WORK/.json"
check $? "json, detach: exit status"
jq -e '.mode == "unsafe" and ."old-backing-filename" == "new.qcow2" and
    ."new-backing-filename" == null and ."new-backing-format" == null and
    ."clusters-copied" == 0 and ."bytes-copied" == 0' \
    "$WORK/.json" >/dev/null
check $? "json, detach: $(cat "$WORK/.json")"
"$INSTAR" rebase --output=json -u -b 'a"b\c' -F raw j.qcow2 >"$WORK/.json"
check $? "json, escaping: exit status"
jq -e '."old-backing-filename" == null and
    ."old-backing-format" == null and
    ."new-backing-filename" == "a\"b\\c"' "$WORK/.json" >/dev/null
check $? "json, escaping: $(cat "$WORK/.json")"
refuses "bad --output" "human or json" rebase --output=xml -u j.qcow2

finish
