# A read-only check that reads much metadata (here 64 MiB of L2 tables)
# runs in the guest run that opens the image and reports progress from
# there; the monitor must take that progress, not stop the worker as out
# of turn (qemu-iotests 044 did).  The image: qcow2 v3, 512-byte
# clusters, 4 GiB, every L2 table allocated and every entry a zero
# cluster without data, written by the generator below.  Outcome, text
# and exit status must be qemu-img check's.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"

qimg create -f qcow2 -o cluster_size=512 zeros.qcow2 4G
python3 - zeros.qcow2 <<'PY'
import struct, sys

cs = 512
l1_entries = 4 * 1024 ** 3 // cs // (cs // 8)   # one L2 table each
l1_clusters = l1_entries * 8 // cs
rb_clusters = rt_clusters = 1
while True:                                     # the refcounts cover all
    total = 1 + rt_clusters + rb_clusters + l1_clusters + l1_entries
    rb = -(-total // (cs // 2))
    rt = -(-rb * 8 // cs)
    if (rb, rt) == (rb_clusters, rt_clusters):
        break
    rb_clusters, rt_clusters = rb, rt
rt_off = cs
rb_off = rt_off + rt_clusters * cs
l1_off = rb_off + rb_clusters * cs
l2_off = l1_off + l1_clusters * cs
with open(sys.argv[1], "r+b") as f:
    f.seek(36)
    f.write(struct.pack(">IQQI", l1_entries, l1_off, rt_off, rt_clusters))
    f.seek(rt_off)
    f.write(b"".join(struct.pack(">Q", rb_off + i * cs)
                     for i in range(rb_clusters)))
    f.seek(rb_off)
    f.write(struct.pack(">H", 1) * total)
    f.seek(l1_off)
    f.write(b"".join(struct.pack(">Q", 1 << 63 | l2_off + i * cs)
                     for i in range(l1_entries)))
    f.seek(l2_off)
    f.write(struct.pack(">Q", 1) * (l1_entries * cs // 8))
    f.truncate(total * cs)
PY
check $? "the image could not be made"

"$QEMU_IMG" check zeros.qcow2 >"$WORK/.qout" 2>&1
qrc=$?
"$INSTAR" check zeros.qcow2 >"$WORK/.iout" 2>&1
irc=$?
[ $irc -eq $qrc ]
check $? "check exits $irc, qemu-img $qrc: $(head -3 "$WORK/.iout")"
sed 's/^qemu-img: /instar: /' "$WORK/.qout" | cmp -s - "$WORK/.iout"
check $? "check's report differs: $(diff "$WORK/.qout" "$WORK/.iout" | head -5)"
[ $qrc -eq 0 ]
check $? "qemu-img finds the generated image unclean: $(head -3 "$WORK/.qout")"

finish
