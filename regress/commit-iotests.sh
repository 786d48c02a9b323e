# qemu's iotests 020, 097 and 313 replayed against instar commit, each
# held against qemu-img commit on a twin.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/rebase-lib.sh"
. "$REGRESS_DIR/commit-lib.sh"

G=$((1024 * 1024 * 1024))

# 020: patterns at 0 and 4 GiB of a 6 GiB image, committed down; the
# base's second L2 table and refcount blocks past 4 GiB come into play.
mkchain i020
cq i020 create -f qcow2 b.qcow2 6G
cio i020 -c 'write -P 0x11 0 128k' -c 'write -P 0x12 4G 128k' \
    -c 'write -P 0x13 5G 64k' b.qcow2
cq i020 create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2
cio i020 -c 'write -P 0x21 64k 128k' -c "write -P 0x22 $((4 * G - 65536)) 128k" \
    -c "write -P 0x23 $((6 * G - 65536)) 64k" -c 'write -z 5G 64k' t.qcow2
twin_commit "020" i020 t.qcow2 b.qcow2
twin_commit "020, -d" i020 t.qcow2 b.qcow2 -d

# 020, relative backing names in a subdirectory: FILENAME names the
# subdirectory, -b names the base relative to the image's directory,
# absolutely, or through ../; a name relative to the working directory
# is not found (as in qemu).
mkchain s020
mkdir -p "$WORK/s020/sub"
cq s020 create -f qcow2 sub/b.qcow2 6G
cio s020 -c 'write -P 0x11 0 128k' -c 'write -P 0x12 4G 128k' sub/b.qcow2
cq s020/sub create -f qcow2 -b b.qcow2 -F qcow2 m.qcow2
cio s020 -c 'write -P 0x21 4G 64k' sub/m.qcow2
cq s020/sub create -f qcow2 -b m.qcow2 -F qcow2 t.qcow2
cio s020 -c 'write -P 0x31 64k 64k' -c "write -P 0x32 $((4 * G + 32768)) 64k" \
    sub/t.qcow2
twin_commit "020 in a subdirectory" s020 sub/t.qcow2 sub/m.qcow2
twin_commit "020 in a subdirectory, -b relative" s020 sub/t.qcow2 \
    sub/b.qcow2 -b b.qcow2
twin_commit "020 in a subdirectory, -b ../sub/" s020 sub/t.qcow2 \
    sub/b.qcow2 -b ../sub/b.qcow2
twin_commit "020 in a subdirectory, -b absolute" s020 sub/t.qcow2 \
    sub/b.qcow2 -b @DIR@/sub/b.qcow2
twin_commit "020 in a subdirectory, -b from the working directory" \
    s020 sub/t.qcow2 sub/b.qcow2 -b sub/b.qcow2

# 097: base, intermediate and top of 2100 MiB + 512 B, data around the
# 2 GiB boundary in each and in the last 512 bytes, committed four ways.
mkchain i097
len=$((2100 * 1024 * 1024 + 512))
cq i097 create -f qcow2 b.qcow2 $len
cio i097 -c 'write -P 0x11 0x7ffd0000 192k' -c "write -P 0x14 $((len - 512)) 512" \
    b.qcow2
cq i097 create -f qcow2 -b b.qcow2 -F qcow2 m.qcow2 $len
cio i097 -c 'write -P 0x22 0x7ffe0000 128k' -c "write -P 0x24 $((len - 512)) 512" \
    m.qcow2
cq i097 create -f qcow2 -b m.qcow2 -F qcow2 t.qcow2 $len
cio i097 -c 'write -P 0x33 0x7fff0000 64k' -c "write -P 0x34 $((len - 512)) 512" \
    t.qcow2
twin_commit "097, default" i097 t.qcow2 m.qcow2
twin_commit "097, -b intermediate" i097 t.qcow2 m.qcow2 -b m.qcow2
twin_commit "097, -d" i097 t.qcow2 m.qcow2 -d
twin_commit "097, -b base" i097 t.qcow2 b.qcow2 -b b.qcow2

# 313: 4 KiB clusters, 64-bit refcounts, a top written all zeros.
mkchain i313
cq i313 create -f qcow2 -o cluster_size=4k,refcount_bits=64 b.qcow2 64M
cio i313 -c 'write -P 0x11 0 64M' b.qcow2
cq i313 create -f qcow2 -o cluster_size=4k,refcount_bits=64 \
    -b b.qcow2 -F qcow2 t.qcow2
cio i313 -c 'write -z 0 64M' t.qcow2
twin_commit "313" i313 t.qcow2 b.qcow2
twin_commit "313, -d" i313 t.qcow2 b.qcow2 -d

finish
