# --image-opts, --object and "file:" names, as qemu-img 7.2 takes them
# on all four subcommands.  An image named in qemu's option syntax reads, checks,
# commits and rebases as the same image named by its file does under
# qemu-img; a spec or an object that qemu-img refuses is refused with
# qemu-img's words and exit status, and nothing changes.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"

# same_refusal SUBCOMMAND ARGS...: a refusal of qemu-img's, given by
# instar in the same words and exit status, changing nothing.
same_refusal() {
	same_words "$@"
	[ $qrc -ne 0 ] || fail "$*: qemu-img accepts it; the test is wrong"
}

# same_output DESC QEMU-IMG-ARGS -- INSTAR-ARGS: both succeed alike.
same_output() {
	desc=$1
	shift
	qargs=
	while [ "$1" != -- ]; do
		qargs="$qargs $1"
		shift
	done
	shift
	# shellcheck disable=SC2086
	"$QEMU_IMG" $qargs >"$WORK/.qout" 2>&1
	qrc=$?
	"$INSTAR" "$@" >"$WORK/.iout" 2>&1
	irc=$?
	if [ $qrc -ne 0 ] || [ $irc -ne 0 ]; then
		fail "$desc: qemu-img exits $qrc, instar $irc:" \
		    "$(cat "$WORK/.iout")"
	elif ! cmp -s "$WORK/.qout" "$WORK/.iout"; then
		fail "$desc: output differs"
		diff -u "$WORK/.qout" "$WORK/.iout" >&2
	else
		pass
	fi
}

qimg create -f qcow2 base.qcow2 4M
qio -c 'write -P 0x11 0 1M' base.qcow2
qimg create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qio -c 'write -P 0x22 512k 1M' top.qcow2
qimg create -f qcow2 other.qcow2 4M
qio -c 'write -P 0x33 2M 64k' other.qcow2
cp top.qcow2 'with,comma.qcow2'

spec=driver=qcow2,file.filename=top.qcow2
secret=secret,id=sec0,data=password

# info and check: the spec stands for the file.
same_output "info of a spec" info top.qcow2 -- info --image-opts "$spec"
same_output "info json of a spec" info --output=json top.qcow2 -- \
    info --output=json --image-opts "$spec"
same_output "info of a spec with file.driver" info top.qcow2 -- \
    info --image-opts "driver=qcow2,file.driver=file,file.filename=top.qcow2"
same_output "info of a probed spec" info --backing-chain top.qcow2 -- \
    info --backing-chain --image-opts file.filename=top.qcow2
same_output "info of a comma in a spec" info 'with,comma.qcow2' -- \
    info --image-opts 'file.filename=with,,comma.qcow2'
same_output "the last driver counts" info -f raw top.qcow2 -- \
    info --image-opts "driver=qcow2,driver=raw,file.filename=top.qcow2"
same_output "check of a spec" check top.qcow2 -- check --image-opts "$spec"
# qemu-img names the image in the JSON as the command line named it.
same_output "check json of a spec" check --output=json --image-opts \
    "$spec" -- check --output=json --image-opts "$spec"
for sub in info check; do
	same_output "$sub with a secret object" $sub top.qcow2 -- \
	    $sub --object "$secret" top.qcow2
done

# "file:PATH" is PATH over the file protocol, "./" first where a colon
# would read as a protocol of its own.
qimg create -f qcow2 -b base.qcow2 -F qcow2 ./c:d.qcow2
same_output "info of file:" info file:top.qcow2 -- info file:top.qcow2
same_output "info of file: with a colon" info --backing-chain file:c:d.qcow2 \
    -- info --backing-chain file:c:d.qcow2
same_output "check of file:" check file:top.qcow2 -- check file:top.qcow2

# qcow2's data-file options: qemu-img info, which opens no data file,
# drops them unused (whether the file they name exists or not), and so
# does instar's; another format's refusal of them is qemu-img's.  check,
# commit and rebase would open the data file, and instar opens none.
qimg create -f qcow2 -o data_file=df.data df.qcow2 1M
qio -c 'write -P 0x44 0 64k' df.qcow2
qimg amend -o data_file=elsewhere df.qcow2
for opts in data-file.filename=df.data data-file.filename=missing \
    data-file=missing driver=qcow2,data-file.driver=raw,data-file.file.filename=df.data; do
	same_output "info of a spec with $opts" info df.qcow2 -- \
	    info --image-opts "$opts,file.filename=df.qcow2"
done
same_output "info json of a spec with a data file" \
    info --output=json df.qcow2 -- \
    info --output=json --image-opts data-file.filename=df.data,file.filename=df.qcow2
same_refusal info --image-opts driver=raw,data-file.filename=df.data,file.filename=df.data
same_refusal info --image-opts data-file.filename=df.data,file.filename=df.data
qimg create -f vmdk v.vmdk 1M
same_refusal info --image-opts driver=vmdk,data-file=x,file.filename=v.vmdk
for sub in check commit; do
	refuses "$sub of a spec with a data file" \
	    "instar opens no external data file (option 'data-file.filename')" \
	    $sub --image-opts data-file.filename=df.data,file.filename=df.qcow2
done
refuses "rebase of a spec with a data file" \
    "instar opens no external data file (option 'data-file')" \
    rebase -u -b base.qcow2 -F qcow2 --image-opts data-file=x,file.filename=df.qcow2

# rebase -u records any format qemu knows, opening nothing.
cp top.qcow2 q-hd.qcow2
cp top.qcow2 i-hd.qcow2
"$QEMU_IMG" rebase -u -b /nonexistent/disk -F host_device q-hd.qcow2
"$INSTAR" rebase -u -b /nonexistent/disk -F host_device i-hd.qcow2
check $? "instar rebase -u -F host_device failed"
[ "$("$QEMU_IMG" info --output=json q-hd.qcow2 | jq -c '[."backing-filename", ."backing-filename-format"]')" = \
    "$("$QEMU_IMG" info --output=json i-hd.qcow2 | jq -c '[."backing-filename", ."backing-filename-format"]')" ]
check $? "rebase -u -F host_device: the backing references differ"

# commit and rebase -u on copies: the images end up alike.
for tool in q i; do
	cp base.qcow2 $tool-base.qcow2
	qimg rebase -u -b $tool-base.qcow2 -F qcow2 top.qcow2 >/dev/null
	cp top.qcow2 $tool-top.qcow2
	cp base.qcow2 $tool-rbase.qcow2
	cp top.qcow2 $tool-rtop.qcow2
done
qimg rebase -u -b base.qcow2 -F qcow2 top.qcow2
"$QEMU_IMG" commit --object "$secret" \
    --image-opts driver=qcow2,file.filename=q-top.qcow2 >"$WORK/.qout" 2>&1
check $? "qemu-img commit of a spec failed: $(cat "$WORK/.qout")"
"$INSTAR" commit --object "$secret" \
    --image-opts driver=qcow2,file.filename=i-top.qcow2 >"$WORK/.iout" 2>&1
check $? "instar commit of a spec failed: $(cat "$WORK/.iout")"
cmp -s "$WORK/.qout" "$WORK/.iout"
check $? "commit of a spec: output differs"
"$QEMU_IMG" compare -f qcow2 -F qcow2 q-base.qcow2 i-base.qcow2 >/dev/null
check $? "commit of a spec: the bases differ"
"$QEMU_IMG" check -q i-base.qcow2
check $? "commit of a spec: the base is not clean"

"$QEMU_IMG" rebase -u -b other.qcow2 -F qcow2 \
    --image-opts driver=qcow2,file.filename=q-rtop.qcow2
"$INSTAR" rebase -u -b other.qcow2 -F qcow2 \
    --image-opts driver=qcow2,file.filename=i-rtop.qcow2
check $? "instar rebase -u of a spec failed"
[ "$("$QEMU_IMG" info --output=json q-rtop.qcow2 | jq -c '[."backing-filename", ."backing-filename-format"]')" = \
    "$("$QEMU_IMG" info --output=json i-rtop.qcow2 | jq -c '[."backing-filename", ."backing-filename-format"]')" ]
check $? "rebase -u of a spec: the backing references differ"
"$INSTAR" rebase -b other.qcow2 -F qcow2 --object "$secret" \
    --image-opts file.filename=i-rbase.qcow2 >/dev/null 2>&1
"$QEMU_IMG" rebase -b other.qcow2 -F qcow2 --object "$secret" \
    --image-opts file.filename=q-rbase.qcow2
"$QEMU_IMG" compare q-rbase.qcow2 i-rbase.qcow2 >/dev/null
check $? "safe rebase of a probed spec: the images read differently"

# What qemu-img refuses, refused alike.
for sub in info check commit; do
	same_refusal $sub --image-opts -f qcow2 "$spec"
	same_refusal $sub --image-opts driver=qcow2
	same_refusal $sub --image-opts ""
	same_refusal $sub --image-opts driver=nosuch,file.filename=top.qcow2
	same_refusal $sub --image-opts driver=qcow2,file=top.qcow2
	same_refusal $sub --image-opts top.qcow2
	same_refusal $sub --image-opts "$spec,bogus=1"
	same_refusal $sub --image-opts "$spec,file.bogus=1"
	same_refusal $sub --image-opts "driver=qcow2,,x"
	same_refusal $sub --image-opts driver=qcow2,file.filename=missing.qcow2
	# Whether the spec names an image at all is said first.
	same_refusal $sub --image-opts bogus=1
	same_refusal $sub --image-opts bogus=1,driver=qcow2
	# A format's refusal of the file names the spec.
	same_refusal $sub --image-opts driver=vmdk,file.filename=top.qcow2
	same_refusal $sub --object secret,data=x top.qcow2
	same_refusal $sub --object secret,id=sec0 top.qcow2
	same_refusal $sub --object id=x top.qcow2
	same_refusal $sub --object nosuchtype,id=x top.qcow2
	same_refusal $sub file:missing.qcow2
	same_refusal $sub file:a:b.qcow2
done
same_refusal rebase -u -b base.qcow2 -F nosuchformat top.qcow2
same_refusal rebase -u -b base.qcow2 --image-opts -f qcow2 "$spec"
same_refusal rebase -u -b base.qcow2 --image-opts driver=qcow2
same_refusal rebase -u -b base.qcow2 --image-opts "$spec,bogus=1"
same_refusal rebase -u -b base.qcow2 --object secret,data=x top.qcow2

finish
