# instar rebase finds files the way qemu-img rebase does: a relative -b
# is recorded verbatim and resolved against the overlay's directory, not
# the current one; absolute names work from anywhere; long names work.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/rebase-lib.sh"

mkdir -p images/sub elsewhere
qimg create -f qcow2 images/base.qcow2 8M
qio -c 'write -P 0x11 0 2M' images/base.qcow2
qimg create -f qcow2 images/sub/new.qcow2 8M
qio -c 'write -P 0x22 1M 2M' images/sub/new.qcow2
qimg create -f qcow2 -b base.qcow2 -F qcow2 images/top.qcow2
qio -c 'write -P 0x33 0 64k' images/top.qcow2

# A relative -b, from the overlay's parent directory: "sub/new.qcow2"
# names images/sub/new.qcow2 and is recorded as given.
if twin_rebase "relative -b" images/top.qcow2 -b sub/new.qcow2 -F qcow2
then
	"$QEMU_IMG" info --output=json "$I_OVL" |
	    jq -e '."backing-filename" == "sub/new.qcow2"' >/dev/null
	check $? "relative -b: not recorded verbatim"
fi

# The same from another directory, with the overlay named relatively.
# (No subshells: the check counters must survive.)
cd elsewhere
twin_rebase "relative -b from another cwd" ../images/top.qcow2 \
    -b sub/new.qcow2 -F qcow2
cd "$WORK"
# A -b that exists only relative to the current directory is not used.
mkdir -p elsewhere/sub
qimg create -f qcow2 elsewhere/sub/x.qcow2 8M
cd elsewhere
refuses_unchanged "-b relative to the cwd" \
    "Could not open new backing file 'sub/x.qcow2'" \
    "../images/top.qcow2" -- -b sub/x.qcow2 -F qcow2 ../images/top.qcow2
cd "$WORK"

# Absolute names, from another directory.
twin_rebase "absolute paths" "$WORK/images/top.qcow2" \
    -b "$WORK/images/sub/new.qcow2" -F qcow2
cd /
twin_rebase "absolute paths from /" "$WORK/images/top.qcow2" \
    -b "$WORK/images/sub/new.qcow2" -F qcow2
# An absolute overlay with a relative -b: resolved against the overlay.
cd "$WORK/elsewhere"
twin_rebase "absolute overlay, relative -b" "$WORK/images/top.qcow2" \
    -b sub/new.qcow2 -F qcow2
cd "$WORK"
# Dropping a layer named by an absolute path, when the chain names it
# relatively: still the same file, so the guest reads it from the chain.
qimg create -f qcow2 -b base.qcow2 -F qcow2 images/mid.qcow2
qio -c 'write -P 0x44 3M 1M' images/mid.qcow2
qimg create -f qcow2 -b mid.qcow2 -F qcow2 images/top2.qcow2
twin_rebase "drop a layer named absolutely" images/top2.qcow2 \
    -b "$WORK/images/base.qcow2" -F qcow2

# A long relative name (300+ bytes) through nested directories.
long=images
i=0
while [ $i -lt 11 ]; do
	long=$long/directory-with-a-long-name-$i
	i=$((i + 1))
done
mkdir -p "$long"
qimg create -f qcow2 "$long/far-away-new-backing-file.qcow2" 8M
qio -c 'write -P 0x55 5M 1M' "$long/far-away-new-backing-file.qcow2"
rel=${long#images/}/far-away-new-backing-file.qcow2
[ ${#rel} -gt 300 ]
check $? "the long name is only ${#rel} bytes"
twin_rebase "long relative -b" images/top.qcow2 -b "$rel" -F qcow2 &&
    same_header "long relative -b"
# A long name that cannot fit a 512-byte cluster's header: refused with
# qemu's message, and (unlike qemu-img) before anything is copied.
qimg create -f qcow2 -o cluster_size=512 -b base.qcow2 -F qcow2 \
    images/small.qcow2
long2=$long
while [ ${#long2} -lt 420 ]; do
	long2=$long2/more
done
mkdir -p "$long2"
qimg create -f qcow2 "$long2/n.qcow2" 8M
qio -c 'write -P 0x66 0 1M' "$long2/n.qcow2"
rel2=${long2#images/}/n.qcow2
refuses_unchanged "name too long for the header" \
    "No space left in the file header" "images/small.qcow2" -- \
    -b "$rel2" -F qcow2 images/small.qcow2
cp images/small.qcow2 images/small.q.qcow2
qemu_refuses "name too long for the header" -b "$rel2" -F qcow2 \
    images/small.q.qcow2

finish
