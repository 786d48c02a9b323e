# instar commit with VMDK images: out of VMDK tops, into VMDK bases, and
# through VMDK images in between.  qemu-img commits into a VMDK base but
# cannot empty a VMDK top, and gives the base a new CID without telling
# the image above it, which can then no longer be read; instar empties
# the top and relinks it.  Each case checks that the base reads what the
# top read, that the top still reads the same (emptied, or kept with -d
# and -b), that qemu-img check is clean on every image, that the base got
# a new CID which its VMDK child records, and that nothing else changed.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/rebase-lib.sh"
. "$REGRESS_DIR/commit-lib.sh"
. "$REGRESS_DIR/vmdk-lib.sh"

# vmdk_commit DESC DIR TOP BASE CHILD [ARGS...]: commit TOP of the
# chain in $WORK/DIR down into BASE, whose child (the image right above
# it) is CHILD, and check the result as described above.  The fixture
# is left as it was; the work is done in DIR.i.
vmdk_commit() {
	desc=$1
	dir=$2
	top=$3
	base=$4
	child=$5
	shift 5
	work_copy "$dir" "$top"
	old_cid=$(cid_of "$WORK/$dir.i/$base")
	top_size=$(stat -c %s "$WORK/$dir.i/$top")
	run_ok "$desc" "$dir.i" commit "$@" "$top" || return
	if has_arg -q "$@"; then
		[ ! -s "$WORK/.iout" ]
	else
		grep -qx "Image committed." "$WORK/.iout"
	fi
	check $? "$desc: printed $(cat "$WORK/.iout")"
	cd "$WORK/$dir.i" || fail "cd"
	# The base's first bytes read what the top read.
	"$QEMU_IMG" convert -U -O raw "$base" "$WORK/.base.raw" &&
	    truncate -s "$(stat -c %s "$WORK/.before.raw")" "$WORK/.base.raw" &&
	    cmp -s "$WORK/.before.raw" "$WORK/.base.raw"
	check $? "$desc: $base does not read as $top did"
	reads_as "$desc: $top after the commit" "$top" "$WORK/.before.raw"
	for f in *.vmdk *.qcow2; do
		[ -f "$f" ] && clean_vmdk "$desc" "$f"
	done
	new_cid=$(cid_of "$base")
	[ "$new_cid" != "$old_cid" ]
	check $? "$desc: $base kept its CID $old_cid"
	case $child in
	*.vmdk)
		linked "$desc" "$child" "$base" ;;
	esac
	# Nothing but the base, the top (unless kept) and the base's child
	# may change; the child only in its descriptor.
	if is_drop "$@"; then
		only_changed "$desc" "$base" "$child"
	else
		holds_nothing "$desc" "$top"
		[ "$(stat -c %s "$top")" -le "$top_size" ]
		check $? "$desc: emptied $top grew"
		only_changed "$desc" "$base" "$child" "$top"
	fi
	cd "$WORK" || fail "cd"
}

# A VMDK top over a VMDK base: data in whole and partial grains, zero
# writes over base data, a grain the top rewrites completely.
mkchain two
cq two create -f vmdk -o zeroed_grain=on b.vmdk 32M
cio two -c 'write -P 0x11 0 4M' -c 'write -P 0x12 8M 1M' b.vmdk
cq two create -f vmdk -o zeroed_grain=on -b b.vmdk -F vmdk t.vmdk
cio two -c 'write -P 0x21 1M 2M' -c 'write -P 0x22 20M 100k' \
    -c 'write -z 8M 64k' -c 'write -P 0x23 31M 1M' t.vmdk
vmdk_commit "vmdk over vmdk" two t.vmdk b.vmdk t.vmdk
vmdk_commit "vmdk over vmdk, -d" two t.vmdk b.vmdk t.vmdk -d
vmdk_commit "vmdk over vmdk, -b" two t.vmdk b.vmdk t.vmdk -b b.vmdk
vmdk_commit "vmdk over vmdk, json" two t.vmdk b.vmdk t.vmdk -q
# What qemu-img leaves: the top keeps its data and cannot be read.
rm -rf "$WORK/two.q"
cp -a "$WORK/two" "$WORK/two.q"
cq two.q commit t.vmdk
(cd "$WORK/two.q" && "$QEMU_IMG" compare -U t.vmdk b.vmdk) \
    >/dev/null 2>&1
[ $? -ne 0 ]
check $? "qemu-img's VMDK commit left a readable top (REFERENCE changed?)"
# JSON: instar's report, with grains as clusters.
rm -rf "$WORK/two.j"
cp -a "$WORK/two" "$WORK/two.j"
run_ok "json" two.j commit --output=json t.vmdk
jq -e '.format == "vmdk" and ."base-format" == "vmdk" and
    ."base-cluster-size" == 65536 and .emptied == true and
    ."clusters-committed" > 0' "$WORK/.iout" >/dev/null
check $? "json report: $(cat "$WORK/.iout")"

# Without zero grains the zeros are written into the base's grains.
mkchain nozero
cq nozero create -f vmdk b.vmdk 16M
cio nozero -c 'write -P 0x31 0 2M' b.vmdk
cq nozero create -f vmdk -b b.vmdk -F vmdk t.vmdk
cio nozero -c 'write -z 64k 128k' -c 'write -P 0x32 5M 64k' t.vmdk
vmdk_commit "no zero grains" nozero t.vmdk b.vmdk t.vmdk

# Three VMDK layers: the middle one into the base (the top keeps reading
# through it), then the top into the middle, and the top two layers down
# with -b, which relinks the middle.
mkchain three
cq three create -f vmdk -o zeroed_grain=on b.vmdk 16M
cio three -c 'write -P 0x41 0 3M' b.vmdk
cq three create -f vmdk -o zeroed_grain=on -b b.vmdk -F vmdk m.vmdk
cio three -c 'write -P 0x42 1M 1M' -c 'write -z 2M 64k' m.vmdk
cq three create -f vmdk -b m.vmdk -F vmdk t.vmdk
cio three -c 'write -P 0x43 1536k 1M' -c 'write -P 0x44 10M 64k' t.vmdk
vmdk_commit "middle into base" three m.vmdk b.vmdk m.vmdk
reads_as "middle into base: the top" "$WORK/three.i/t.vmdk" \
    "$WORK/three/t.vmdk"
vmdk_commit "top two layers down" three t.vmdk b.vmdk m.vmdk -b b.vmdk
vmdk_commit "top into middle" three t.vmdk m.vmdk t.vmdk

# A qcow2 top over VMDK layers; qemu-img can do this one, so the base
# must also read as qemu-img's.
mkchain mixed
cq mixed create -f vmdk b.vmdk 16M
cio mixed -c 'write -P 0x51 0 2M' b.vmdk
cq mixed create -f vmdk -b b.vmdk -F vmdk m.vmdk
cio mixed -c 'write -P 0x52 3M 1M' m.vmdk
cq mixed create -f qcow2 -o cluster_size=4096 -b m.vmdk -F vmdk t.qcow2
cio mixed -c 'write -P 0x53 4k 8k' -c 'write -P 0x54 3M 200k' \
    -c 'write -z 100k 60k' t.qcow2
vmdk_commit "qcow2 over vmdk" mixed t.qcow2 m.vmdk t.qcow2
rm -rf "$WORK/mixed.q"
cp -a "$WORK/mixed" "$WORK/mixed.q"
cq mixed.q commit t.qcow2
compare_images "qcow2 over vmdk: base against qemu-img's" \
    "$WORK/mixed.q/m.vmdk" "$WORK/mixed.i/m.vmdk"
vmdk_commit "qcow2 over two vmdk, -b" mixed t.qcow2 b.vmdk m.vmdk \
    -b b.vmdk

# A VMDK base bigger than the top.
mkchain bigger
cq bigger create -f vmdk b.vmdk 32M
cio bigger -c 'write -P 0x61 20M 2M' b.vmdk
cq bigger create -f qcow2 -b b.vmdk -F vmdk t.qcow2 16M
cio bigger -c 'write -P 0x62 15M 1M' t.qcow2
vmdk_commit "bigger vmdk base" bigger t.qcow2 b.vmdk t.qcow2

# A base without grain tables where the top has data: instar allocates
# them (qemu preallocates every table and cannot).  The primary and
# redundant directory entries of the second table are cleared.
mkchain notables
cq notables create -f vmdk b.vmdk 64M
cq notables create -f vmdk -b b.vmdk -F vmdk t.vmdk
cio notables -c 'write -P 0x71 40M 1M' t.vmdk
gd=$(od -An -tu8 -j56 -N8 "$WORK/notables/b.vmdk" | tr -d ' ')
rgd=$(od -An -tu8 -j48 -N8 "$WORK/notables/b.vmdk" | tr -d ' ')
poke "$WORK/notables/b.vmdk" $((gd * 512 + 4)) 00000000
poke "$WORK/notables/b.vmdk" $((rgd * 512 + 4)) 00000000
vmdk_commit "base lacking grain tables" notables t.vmdk b.vmdk t.vmdk

# Refused, nothing changed: a streamOptimized base, a base whose
# redundant directory disagrees with the primary one.
mkchain stream
cq stream create -f vmdk -o subformat=streamOptimized b.vmdk 8M
cq stream create -f qcow2 -b b.vmdk -F vmdk t.qcow2
cio stream -c 'write -P 0x81 0 1M' t.qcow2
refuses_in "streamOptimized base" stream \
    "VMDK subformat 'streamOptimized' is not supported" commit t.qcow2
cq stream create -f vmdk -o subformat=monolithicFlat f.vmdk 8M
cq stream create -f qcow2 -b f.vmdk -F vmdk tf.qcow2
refuses_in "flat base" stream \
    "VMDK create type 'monolithicFlat' is not supported" commit tf.qcow2
cq stream create -f vmdk -o subformat=twoGbMaxExtentSparse x.vmdk 8M
cq stream create -f qcow2 -b x.vmdk -F vmdk tx.qcow2
refuses_in "multi-extent base" stream \
    "VMDK create type 'twoGbMaxExtentSparse' is not supported" \
    commit tx.qcow2
mkchain rgd
cq rgd create -f vmdk b.vmdk 64M
cq rgd create -f vmdk -b b.vmdk -F vmdk t.vmdk
cio rgd -c 'write -P 0x91 40M 1M' t.vmdk
rgd=$(od -An -tu8 -j48 -N8 "$WORK/rgd/b.vmdk" | tr -d ' ')
poke "$WORK/rgd/b.vmdk" $((rgd * 512 + 4)) 00000000
refuses_in "redundant directory mismatch" rgd \
    "redundant grain directory does not match" commit t.vmdk

finish
