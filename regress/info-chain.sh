# instar info --backing-chain follows chains the way qemu-img does:
# relative names against the naming image's directory, absolute names as
# they are, formats recorded or probed; loops and missing files refused.
. "$(dirname "$0")/test-exec.sh"

# The README's demo shape: three images, relative names.
qimg create -f qcow2 base.qcow2 64M
qio -c 'write -P 0x11 0 1M' base.qcow2
qimg create -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2
qimg create -f qcow2 -o compat=0.10 -b mid.qcow2 -F qcow2 top.qcow2
same_output "chain json" info --backing-chain --output=json top.qcow2
same_output "chain human" info --backing-chain top.qcow2
same_output "chain of one" info --backing-chain --output=json base.qcow2
same_output "no chain" info --output=json top.qcow2

# The chain seen from another directory: names resolve against the
# image's directory, and qemu prints the combined path.
mkdir -p d1/d2
qimg create -f qcow2 d1/low.qcow2 32M
qimg create -f qcow2 -b low.qcow2 -F qcow2 d1/d2/../mid2.qcow2
qimg create -f qcow2 -b ../mid2.qcow2 -F qcow2 d1/d2/high.qcow2
same_output "relative from subdir" info --backing-chain --output=json \
    d1/d2/high.qcow2
same_output "relative from subdir human" info --backing-chain \
    d1/d2/high.qcow2
(cd d1/d2 && same_output "relative from inside" info --backing-chain \
    --output=json high.qcow2)

# Absolute backing names.
qimg create -f qcow2 -b "$WORK/base.qcow2" -F qcow2 abs.qcow2
same_output "absolute backing" info --backing-chain --output=json abs.qcow2
same_output "absolute backing human" info --backing-chain abs.qcow2

# Mixed formats: qcow2 over VMDK over VMDK, and VMDK under qcow2 under
# qcow2 over raw (qemu lets a VMDK have only a VMDK parent).
qimg create -f raw r.raw 16M
qimg create -f vmdk vbase.vmdk 16M
qimg create -f vmdk -b vbase.vmdk -F vmdk vtop.vmdk
qimg create -f qcow2 -b vtop.vmdk -F vmdk q.qcow2
same_output "mixed chain" info --backing-chain --output=json q.qcow2
same_output "mixed chain human" info --backing-chain q.qcow2
same_output "vmdk chain" info --backing-chain --output=json vtop.vmdk
qimg create -f qcow2 -b r.raw -F raw qr.qcow2
qimg create -f qcow2 -b qr.qcow2 -F qcow2 qqr.qcow2
same_output "qcow2 over raw" info --backing-chain --output=json qqr.qcow2
same_output "qcow2 over raw human" info --backing-chain qqr.qcow2

# A backing whose format is not recorded is probed (here: raw).
qimg create -f qcow2 -b r.raw -F raw probe.qcow2
poke probe.qcow2 112 12345678
same_output "probed backing" info --backing-chain --output=json probe.qcow2

# A missing backing file: fine for the image alone, an error for chains.
qimg create -f qcow2 gone.qcow2 16M
qimg create -f qcow2 -b gone.qcow2 -F qcow2 orphan.qcow2
rm gone.qcow2
same_output "orphan alone" info --output=json orphan.qcow2
refuses "orphan chain" "gone.qcow2" info --backing-chain orphan.qcow2

# A loop: a -> b -> a.
qimg create -f qcow2 a.qcow2 16M
qimg create -f qcow2 -b a.qcow2 -F qcow2 b.qcow2
"$QEMU_IMG" rebase -u -b b.qcow2 -F qcow2 a.qcow2 || fail "make loop"
refuses "loop" "infinite loop" info --backing-chain a.qcow2
"$QEMU_IMG" info --backing-chain a.qcow2 >/dev/null 2>&1
[ $? -eq 1 ]
check $? "qemu-img accepts the loop we refuse"
# A self-loop.
qimg create -f qcow2 self.qcow2 16M
"$QEMU_IMG" rebase -u -b self.qcow2 -F qcow2 self.qcow2 2>/dev/null
refuses "self loop" "infinite loop" info --backing-chain self.qcow2

# A chain deeper than instar follows is refused by name.
qimg create -f qcow2 deep0.qcow2 1M
i=1
while [ $i -le 64 ]; do
	"$QEMU_IMG" create -f qcow2 -b "deep$((i - 1)).qcow2" -F qcow2 \
	    "deep$i.qcow2" >/dev/null || fail "deep $i"
	i=$((i + 1))
done
refuses "too deep" "deeper than 64" info --backing-chain deep64.qcow2
"$INSTAR" info --backing-chain --output=json deep63.qcow2 >deep.json
check $? "a 64-image chain is refused"
[ "$(jq length deep.json)" = 64 ]
check $? "a 64-image chain has 64 entries"

# A backing file that is a directory or a device is refused.
qimg create -f qcow2 dirimg.qcow2 1M
mkdir dirback
"$QEMU_IMG" rebase -u -b dirback -F raw dirimg.qcow2 2>/dev/null
refuses "directory backing" "to be a regular file" info --backing-chain \
    dirimg.qcow2

finish
