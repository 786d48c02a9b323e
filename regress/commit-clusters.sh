# instar commit against qemu-img commit on the cluster shapes a commit
# meets: zero and discarded clusters, compressed clusters on either
# side, different cluster sizes, refcount widths, qcow2 v2 bases, lazy
# refcounts, and internal snapshots in the top (emptying keeps them).
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/rebase-lib.sh"
. "$REGRESS_DIR/commit-lib.sh"

# both DESC DIR TOP BASE [ARGS]: commit with and without -d.
both() {
	twin_commit "$1" "$2" "$3" "$4"
	twin_commit "$1, -d" "$2" "$3" "$4" -d
}

# Zero and discarded clusters in the top over data in the base, whole
# clusters and parts of clusters, and zeros over a v3 base.
mkchain zero
cq zero create -f qcow2 b.qcow2 16M
cio zero -c 'write -P 0x11 0 16M' b.qcow2
cq zero create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2
cio zero -c 'write -z 1M 1M' -c 'write -P 0x22 4M 1M' -c 'discard 4M 512k' \
    -c 'write -z -u 8M 1M' -c 'write -z 10M 4k' -c 'write -z 12M 96k' \
    -c 'write -P 0x23 14M 64k' -c 'write -z 14M 32k' t.qcow2
both "zero and discarded clusters" zero t.qcow2 b.qcow2
# The same over a base with no data there (zeros over nothing).
mkchain zeroempty
cq zeroempty create -f qcow2 b.qcow2 16M
cq zeroempty create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2
cio zeroempty -c 'write -z 1M 1M' -c 'write -z -u 8M 1M' t.qcow2
both "zeros over an empty base" zeroempty t.qcow2 b.qcow2
# Zeros into a raw base.
mkchain zeroraw
cq zeroraw create -f raw b.raw 8M
cio zeroraw -f raw -c 'write -P 0x11 0 8M' b.raw
cq zeroraw create -f qcow2 -b b.raw -F raw t.qcow2
cio zeroraw -c 'write -z 1M 1M' -c 'write -z 3M 4k' t.qcow2
both "zeros into raw" zeroraw t.qcow2 b.raw

# A compressed base being overwritten, wholly and partly.
mkchain cbase
cq cbase create -f qcow2 src.qcow2 16M
cio cbase -c 'write -P 0x11 0 8M' -c 'write -P 0x12 10M 2M' src.qcow2
cq cbase convert -c -O qcow2 src.qcow2 b.qcow2
rm -f "$WORK/cbase/src.qcow2"
cq cbase create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2
cio cbase -c 'write -P 0x21 64k 64k' -c 'write -P 0x22 1M 4k' \
    -c 'write -P 0x23 3M 1M' -c 'write -z 10M 64k' -c 'write -P 0x24 14M 1M' \
    t.qcow2
both "compressed base overwritten" cbase t.qcow2 b.qcow2
# A compressed top: its clusters are written uncompressed into the base.
mkchain ctop
cq ctop create -f qcow2 b.qcow2 16M
cio ctop -c 'write -P 0x11 0 16M' b.qcow2
cq ctop create -f qcow2 src.qcow2 16M
cio ctop -c 'write -P 0x21 1M 3M' -c 'write -P 0x22 9M 64k' src.qcow2
cq ctop convert -c -O qcow2 -B b.qcow2 -F qcow2 src.qcow2 t.qcow2
rm -f "$WORK/ctop/src.qcow2"
both "compressed top" ctop t.qcow2 b.qcow2
# Compressed clusters of every size (text, random bytes that stay
# uncompressed, patterns), the first half written backwards so that the
# file holds them in the reverse of the disk's order, the second half
# forwards, and two overwritten: reads that go backwards and forwards
# through compressed data of mixed sizes.
mkchain cmixed
cq cmixed create -f qcow2 b.qcow2 4M
cio cmixed -c 'write -P 0x11 0 4M' b.qcow2
seq 1 200000 | head -c 1M >"$WORK/cmixed/text" &&
    head -c 1M /dev/urandom >"$WORK/cmixed/noise" ||
    fail "cannot make cmixed's data"
cq cmixed create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2
# cmixed_put I: compressed cluster I, its content chosen by I.
cmixed_put() {
	case $(($1 % 3)) in
	0) from=text ;;
	1) from=noise ;;
	*) from= ;;
	esac
	if [ -n "$from" ]; then
		# -s reads from its file's start: cut a piece of its own.
		dd if="$WORK/cmixed/$from" of="$WORK/cmixed/src" bs=64k \
		    skip=$(($1 % 16)) count=1 2>/dev/null ||
		    fail "cannot cut cmixed's data"
		cio cmixed -c "write -c -s src $(($1 * 64))k 64k" t.qcow2
	else
		cio cmixed -c "write -c -P $(($1 + 1)) $(($1 * 64))k 64k" t.qcow2
	fi
}
i=31
while [ $i -ge 0 ]; do
	cmixed_put $i
	i=$((i - 1))
done
while [ $i -lt 64 ]; do
	[ $i -lt 32 ] || cmixed_put $i
	i=$((i + 1))
done
cio cmixed -c 'write -P 0x31 1M 4k' -c 'write -z 2M 64k' t.qcow2
both "compressed clusters scattered, of mixed sizes" cmixed t.qcow2 b.qcow2
# A compressed middle layer committed with -b.
mkchain cmid
cq cmid create -f qcow2 b.qcow2 16M
cio cmid -c 'write -P 0x11 0 4M' b.qcow2
cq cmid create -f qcow2 src.qcow2 16M
cio cmid -c 'write -P 0x21 2M 4M' src.qcow2
cq cmid convert -c -O qcow2 -B b.qcow2 -F qcow2 src.qcow2 m.qcow2
rm -f "$WORK/cmid/src.qcow2"
cq cmid create -f qcow2 -b m.qcow2 -F qcow2 t.qcow2
cio cmid -c 'write -P 0x31 5M 64k' t.qcow2
twin_commit "compressed middle, -b" cmid t.qcow2 b.qcow2 -b b.qcow2

# Mixed cluster sizes: 4 KiB over 64 KiB, and 2 MiB over 512 B.
mkchain mix1
cq mix1 create -f qcow2 b.qcow2 16M
cio mix1 -c 'write -P 0x11 0 8M' b.qcow2
cq mix1 create -f qcow2 -o cluster_size=4k -b b.qcow2 -F qcow2 t.qcow2
cio mix1 -c 'write -P 0x21 4k 4k' -c 'write -P 0x22 100k 8k' \
    -c 'write -z 1M 4k' -c 'write -P 0x23 9M 12k' -c 'write -P 0x24 15M 1M' \
    t.qcow2
both "4 KiB clusters over 64 KiB" mix1 t.qcow2 b.qcow2
mkchain mix2
cq mix2 create -f qcow2 -o cluster_size=512 b.qcow2 8M
cio mix2 -c 'write -P 0x11 0 2M' -c 'write -P 0x12 5M 512' b.qcow2
cq mix2 create -f qcow2 -o cluster_size=2M -b b.qcow2 -F qcow2 t.qcow2
cio mix2 -c 'write -P 0x21 512 512' -c 'write -P 0x22 3M 1M' \
    -c 'write -z 6M 2M' t.qcow2
both "2 MiB clusters over 512 B" mix2 t.qcow2 b.qcow2
mkchain mix3
cq mix3 create -f qcow2 -o cluster_size=2M b.qcow2 16M
cio mix3 -c 'write -P 0x11 0 16M' b.qcow2
cq mix3 create -f qcow2 -o cluster_size=512 -b b.qcow2 -F qcow2 t.qcow2
cio mix3 -c 'write -P 0x21 512 512' -c 'write -P 0x22 5M 3k' \
    -c 'write -z 9M 1k' t.qcow2
both "512 B clusters over 2 MiB" mix3 t.qcow2 b.qcow2

# Refcount widths 1 and 64 in the base.
for bits in 1 64; do
	mkchain rc$bits
	cq rc$bits create -f qcow2 -o refcount_bits=$bits b.qcow2 16M
	cio rc$bits -c 'write -P 0x11 0 4M' b.qcow2
	cq rc$bits create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2
	cio rc$bits -c 'write -P 0x21 2M 4M' -c 'write -z 1M 64k' \
	    -c 'write -P 0x22 12M 1M' t.qcow2
	both "refcount_bits=$bits base" rc$bits t.qcow2 b.qcow2
done
# A base with 2-bit refcounts whose clusters a snapshot shares:
# overwriting them allocates anew and leaves the snapshot's alone.
mkchain rc1snap
cq rc1snap create -f qcow2 -o refcount_bits=2 b2.qcow2 16M
cio rc1snap -c 'write -P 0x11 0 4M' b2.qcow2
cq rc1snap snapshot -c snap b2.qcow2
cq rc1snap create -f qcow2 -b b2.qcow2 -F qcow2 t.qcow2
cio rc1snap -c 'write -P 0x21 1M 1M' t.qcow2
both "refcount_bits=2 base with a snapshot" rc1snap t.qcow2 b2.qcow2

# compat=0.10 (v2) bases, with and without a backing file of their own:
# zeros are discarded or written as data clusters.
mkchain v2
cq v2 create -f qcow2 -o compat=0.10 b.qcow2 16M
cio v2 -c 'write -P 0x11 0 8M' b.qcow2
cq v2 create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2
cio v2 -c 'write -P 0x21 1M 1M' -c 'write -z 4M 1M' -c 'write -z 6M 4k' \
    -c 'write -z 12M 1M' t.qcow2
both "compat=0.10 base" v2 t.qcow2 b.qcow2
mkchain v2b
cq v2b create -f qcow2 bb.qcow2 16M
cio v2b -c 'write -P 0x01 0 16M' bb.qcow2
cq v2b create -f qcow2 -o compat=0.10 -b bb.qcow2 -F qcow2 b.qcow2
cio v2b -c 'write -P 0x11 0 8M' b.qcow2
cq v2b create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2
cio v2b -c 'write -P 0x21 1M 1M' -c 'write -z 4M 1M' -c 'write -z 6M 4k' \
    -c 'write -z 12M 1M' t.qcow2
both "compat=0.10 base with a backing file" v2b t.qcow2 b.qcow2
# A v2 top is emptied too.
mkchain v2top
cq v2top create -f qcow2 b.qcow2 16M
cio v2top -c 'write -P 0x11 0 8M' b.qcow2
cq v2top create -f qcow2 -o compat=0.10 -b b.qcow2 -F qcow2 t.qcow2
cio v2top -c 'write -P 0x21 1M 1M' -c 'write -z 4M 1M' t.qcow2
both "compat=0.10 top" v2top t.qcow2 b.qcow2

# Lazy refcounts in the base and in the top.
mkchain lazy
cq lazy create -f qcow2 -o lazy_refcounts=on b.qcow2 16M
cio lazy -c 'write -P 0x11 0 4M' b.qcow2
cq lazy create -f qcow2 -o lazy_refcounts=on -b b.qcow2 -F qcow2 t.qcow2
cio lazy -c 'write -P 0x21 2M 4M' -c 'write -z 8M 1M' t.qcow2
both "lazy refcounts" lazy t.qcow2 b.qcow2

# Internal snapshots in the top: emptying keeps them, and their data.
mkchain snap
cq snap create -f qcow2 b.qcow2 16M
cio snap -c 'write -P 0x11 0 4M' b.qcow2
cq snap create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2
cio snap -c 'write -P 0x21 1M 2M' t.qcow2
cq snap snapshot -c s1 t.qcow2
cio snap -c 'write -P 0x22 2M 2M' -c 'write -z 8M 64k' t.qcow2
both "snapshots in the top" snap t.qcow2 b.qcow2
if twin_commit "snapshots in the top, kept" snap t.qcow2 b.qcow2; then
	"$QEMU_IMG" snapshot -l "$I_DIR/t.qcow2" | grep -q ' s1 '
	check $? "snapshots in the top: s1 is gone"
	"$QEMU_IMG" convert -U -l s1 -O raw "$I_DIR/t.qcow2" "$WORK/.s1.i"
	"$QEMU_IMG" convert -U -l s1 -O raw "$Q_DIR/t.qcow2" "$WORK/.s1.q"
	cmp -s "$WORK/.s1.i" "$WORK/.s1.q"
	check $? "snapshots in the top: s1 reads differently from qemu-img's"
fi

# A base with a snapshot: overwritten clusters are shared (refcount 2).
mkchain bsnap
cq bsnap create -f qcow2 b.qcow2 16M
cio bsnap -c 'write -P 0x11 0 4M' b.qcow2
cq bsnap snapshot -c s1 b.qcow2
cq bsnap create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2
cio bsnap -c 'write -P 0x21 1M 2M' -c 'write -z 3M 64k' t.qcow2
both "a base with a snapshot" bsnap t.qcow2 b.qcow2

finish
