# instar commit against qemu-img commit on twin chains: which base, -d,
# -b one and two layers down, an empty top, a top larger than its base
# (qcow2 and raw bases grow), and what each prints.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/rebase-lib.sh"
. "$REGRESS_DIR/commit-lib.sh"

# A three-layer chain with data in every layer, some of it overlapping,
# some not cluster-aligned.
mkchain c3
cq c3 create -f qcow2 b.qcow2 16M
cio c3 -c 'write -P 0x11 0 4M' -c 'write -P 0x12 8M 2M' b.qcow2
cq c3 create -f qcow2 -b b.qcow2 -F qcow2 m.qcow2
cio c3 -c 'write -P 0x21 1M 2M' -c 'write -P 0x22 12M 64k' \
    -c 'write -P 0x23 9M 4k' m.qcow2
cq c3 create -f qcow2 -b m.qcow2 -F qcow2 t.qcow2
cio c3 -c 'write -P 0x31 2M 512k' -c 'write -P 0x32 15M 1M' \
    -c 'write -P 0x33 6M 1536' -c 'write -P 0x34 9M 512' t.qcow2

twin_commit "implicit base" c3 t.qcow2 m.qcow2
twin_commit "-d" c3 t.qcow2 m.qcow2 -d
twin_commit "-b the backing file" c3 t.qcow2 m.qcow2 -b m.qcow2
twin_commit "-b two layers down" c3 t.qcow2 b.qcow2 -b b.qcow2
twin_commit "-b two layers down, -d" c3 t.qcow2 b.qcow2 -d -b b.qcow2
twin_commit "the middle into the bottom" c3 m.qcow2 b.qcow2
twin_commit "-q" c3 t.qcow2 m.qcow2 -q
twin_commit "-p" c3 t.qcow2 m.qcow2 -p
twin_commit "-p -q" c3 t.qcow2 m.qcow2 -p -q
twin_commit "-t none" c3 t.qcow2 m.qcow2 -t none
twin_commit "-r 1G" c3 t.qcow2 m.qcow2 -r 1G
twin_commit "-f qcow2" c3 t.qcow2 m.qcow2 -f qcow2

# --output=json: instar's report, and the same images as without it.
twin_commit "--output=json" c3 t.qcow2 m.qcow2 --output=json
jq -e '.filename == "t.qcow2" and .format == "qcow2" and
    ."base-filename" == "m.qcow2" and ."base-format" == "qcow2" and
    ."base-cluster-size" == 65536 and ."base-grown" == false and
    .emptied == true and ."clusters-committed" > 0 and
    ."bytes-committed" > 0 and ."clusters-emptied" > 0' \
    "$WORK/.iout" >/dev/null
check $? "--output=json: wrong report: $(cat "$WORK/.iout")"
twin_commit "--output=json -b" c3 t.qcow2 b.qcow2 --output=json -b b.qcow2
jq -e '."base-filename" == "b.qcow2" and .emptied == false and
    ."clusters-emptied" == 0' "$WORK/.iout" >/dev/null
check $? "--output=json -b: wrong report: $(cat "$WORK/.iout")"
twin_commit "--output=json -p" c3 t.qcow2 m.qcow2 --output=json -p

# An empty top: nothing to copy, the base unchanged in content.
mkchain empty
cq empty create -f qcow2 b.qcow2 16M
cio empty -c 'write -P 0x11 0 4M' b.qcow2
cq empty create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2
twin_commit "empty top" empty t.qcow2 b.qcow2
twin_commit "empty top, -d" empty t.qcow2 b.qcow2 -d
twin_commit "empty top, json" empty t.qcow2 b.qcow2 --output=json
jq -e '."clusters-committed" == 0 and ."bytes-committed" == 0' \
    "$WORK/.iout" >/dev/null
check $? "empty top: wrong report: $(cat "$WORK/.iout")"

# A top larger than its base: the base grows to the top's size.
mkchain grow
cq grow create -f qcow2 b.qcow2 6M
cio grow -c 'write -P 0x11 0 3M' b.qcow2
cq grow create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2 16M
cio grow -c 'write -P 0x21 1M 1M' -c 'write -P 0x22 12M 1M' \
    -c 'write -P 0x23 16383k 1k' t.qcow2
twin_commit "qcow2 base grows" grow t.qcow2 b.qcow2
twin_commit "qcow2 base grows, -d" grow t.qcow2 b.qcow2 -d --output=json
jq -e '."base-grown" == true' "$WORK/.iout" >/dev/null
check $? "qcow2 base grows: not reported: $(cat "$WORK/.iout")"
# Only a top that wrote nothing past the base's end: it still grows.
mkchain growempty
cq growempty create -f qcow2 b.qcow2 6M
cio growempty -c 'write -P 0x11 0 3M' b.qcow2
cq growempty create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2 16M
twin_commit "qcow2 base grows, empty top" growempty t.qcow2 b.qcow2
# A base whose size is not a multiple of its cluster size.
mkchain growodd
cq growodd create -f qcow2 b.qcow2 3000k
cio growodd -c 'write -P 0x11 0 2999k' b.qcow2
cq growodd create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2 7001k
cio growodd -c 'write -P 0x21 2990k 20k' -c 'write -P 0x22 7000k 1k' \
    t.qcow2
twin_commit "odd-sized base grows" growodd t.qcow2 b.qcow2
# A base whose own backing file is longer than it: the range it grows
# by read zeros through the top, whatever that backing file holds there,
# and must go on doing so (qemu zeroes it in a v3 base).
mkchain growlong
cq growlong create -f qcow2 l.qcow2 16M
cio growlong -c 'write -P 0x11 0 16M' l.qcow2
cq growlong create -f qcow2 -b l.qcow2 -F qcow2 b.qcow2 5000k
cio growlong -c 'write -P 0x21 1M 1M' b.qcow2
cq growlong create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2 12M
cio growlong -c 'write -P 0x31 4M 2M' -c 'write -P 0x32 11M 4k' t.qcow2
twin_commit "base grows over a longer backing" growlong t.qcow2 b.qcow2
twin_commit "base grows over a longer backing, -d" growlong t.qcow2 \
    b.qcow2 -d
twin_commit "base grows over a longer backing, -b" growlong t.qcow2 \
    b.qcow2 -b b.qcow2
mkchain growlong4k
cq growlong4k create -f qcow2 l.qcow2 16M
cio growlong4k -c 'write -P 0x11 0 16M' l.qcow2
cq growlong4k create -f qcow2 -o cluster_size=4k -b l.qcow2 -F qcow2 \
    b.qcow2 5001k
cq growlong4k create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2 12M
cio growlong4k -c 'write -P 0x31 5000k 3k' t.qcow2
twin_commit "4k base grows over a longer backing" growlong4k t.qcow2 \
    b.qcow2 -d
# A v2 base cannot record zero clusters, but one that grows only within
# its last cluster has the rest of it written with zeros.
mkchain growlongv2
cq growlongv2 create -f qcow2 l.qcow2 16M
cio growlongv2 -c 'write -P 0x11 0 16M' l.qcow2
cq growlongv2 create -f qcow2 -o compat=0.10,cluster_size=2M -b l.qcow2 \
    -F qcow2 b.qcow2 1000k
cio growlongv2 -c 'write -P 0x21 100k 4k' b.qcow2
cq growlongv2 create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2 1536k
cio growlongv2 -c 'write -P 0x31 1200k 4k' t.qcow2
twin_commit "v2 base grows within its last cluster" growlongv2 t.qcow2 \
    b.qcow2
twin_commit "v2 base grows within its last cluster, -b" growlongv2 \
    t.qcow2 b.qcow2 -b b.qcow2

# Raw bases, growing or not.
mkchain raw
cq raw create -f raw b.raw 8M
cio raw -f raw -c 'write -P 0x11 0 3M' b.raw
cq raw create -f qcow2 -b b.raw -F raw t.qcow2
cio raw -c 'write -P 0x21 1M 1M' -c 'write -z 5M 1M' -c 'write -P 0x22 7M 4k' \
    t.qcow2
twin_commit "raw base" raw t.qcow2 b.raw
twin_commit "raw base, json" raw t.qcow2 b.raw --output=json
jq -e '."base-format" == "raw" and ."base-cluster-size" == 512' \
    "$WORK/.iout" >/dev/null
check $? "raw base: wrong report: $(cat "$WORK/.iout")"
mkchain rawgrow
cq rawgrow create -f raw b.raw 5000k
cio rawgrow -f raw -c 'write -P 0x11 0 3M' b.raw
cq rawgrow create -f qcow2 -b b.raw -F raw t.qcow2 12M
cio rawgrow -c 'write -P 0x21 4M 2M' -c 'write -P 0x22 11M 1M' t.qcow2
twin_commit "raw base grows" rawgrow t.qcow2 b.raw
s=$(stat -c %s "$I_DIR/b.raw")
[ "$s" -eq $((12 * 1024 * 1024)) ]
check $? "raw base grows: its file is $s bytes"
# A qcow2 over raw over nothing, committed two layers down into raw.
mkchain raw3
cq raw3 create -f raw b.raw 8M
cio raw3 -f raw -c 'write -P 0x11 0 8M' b.raw
cq raw3 create -f qcow2 -b b.raw -F raw m.qcow2
cio raw3 -c 'write -P 0x21 0 1M' m.qcow2
cq raw3 create -f qcow2 -b m.qcow2 -F qcow2 t.qcow2
cio raw3 -c 'write -P 0x31 512k 1M' t.qcow2
twin_commit "into raw, two layers down" raw3 t.qcow2 b.raw -b b.raw

# A base larger than the top is never truncated.
mkchain shrink
cq shrink create -f qcow2 b.qcow2 32M
cio shrink -c 'write -P 0x11 0 32M' b.qcow2
cq shrink create -f qcow2 -b b.qcow2 -F qcow2 t.qcow2 8M
cio shrink -c 'write -P 0x21 1M 1M' t.qcow2
twin_commit "larger base" shrink t.qcow2 b.qcow2
"$QEMU_IMG" info -U --output=json "$I_DIR/b.qcow2" |
    jq -e '."virtual-size" == 33554432' >/dev/null
check $? "larger base: it was resized"

finish
