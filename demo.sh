#!/bin/sh
# A short demonstration on images made with qemu-img in a temporary
# directory: show a three-image qcow2 chain with "instar info
# --backing-chain", see what dropping its middle layer would do with
# "instar rebase --dry-run", then drop it with "instar rebase" and hold
# the result against qemu-img's on a twin copy.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# Without a KVM of its own, a host can still show instar at work on an
# emulated AMD SVM host, slowly.
if [ ! -c /dev/kvm ] && [ -z "${INSTAR_DEMO_EMULATED:-}" ]; then
	echo "demo: this host has no /dev/kvm; running the demo on an" \
	    "emulated AMD SVM host (regress/emulated-host.sh, slow)" >&2
	exec "$here/regress/emulated-host.sh" env INSTAR_DEMO_EMULATED=1 \
	    "$here/demo.sh"
fi
instar=${INSTAR:-$here/instar}
dir=$(mktemp -d "${TMPDIR:-/tmp}/instar-demo.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir"

qemu-img create -q -f qcow2 base.qcow2 1G
qemu-io -c 'write -P 0x11 0 4M' base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2
qemu-io -c 'write -P 0x22 1M 1M' mid.qcow2 >/dev/null
qemu-img create -q -f qcow2 -o compat=0.10 -b mid.qcow2 -F qcow2 top.qcow2
qemu-io -c 'write -P 0x33 3M 64k' top.qcow2 >/dev/null

echo "\$ instar info --backing-chain top.qcow2"
"$instar" info --backing-chain top.qcow2
echo
"$instar" info --backing-chain --output=json top.qcow2 >instar.json
qemu-img info --backing-chain --output=json top.qcow2 >qemu.json
if ! cmp -s instar.json qemu.json; then
	echo "demo: info output differs from qemu-img info" >&2
	exit 1
fi
echo "(byte for byte what qemu-img info prints, in human and JSON form;"
echo " every image byte was parsed inside a KVM guest)"
echo

qemu-img convert -O raw top.qcow2 before.raw
cp top.qcow2 twin.qcow2
sum_before=$(sha256sum top.qcow2)
echo "\$ instar rebase --dry-run -b base.qcow2 -F qcow2 top.qcow2"
"$instar" rebase --dry-run -b base.qcow2 -F qcow2 top.qcow2
if [ "$(sha256sum top.qcow2)" != "$sum_before" ]; then
	echo "demo: the dry run changed top.qcow2" >&2
	exit 1
fi
echo
echo "\$ instar rebase --output=json -b base.qcow2 -F qcow2 top.qcow2"
"$instar" rebase --output=json -b base.qcow2 -F qcow2 top.qcow2
qemu-img rebase -b base.qcow2 -F qcow2 twin.qcow2
qemu-img compare -q before.raw top.qcow2 || {
	echo "demo: the overlay no longer reads what it read before" >&2
	exit 1
}
qemu-img compare -q twin.qcow2 top.qcow2 || {
	echo "demo: instar's result differs from qemu-img rebase's" >&2
	exit 1
}
qemu-img check -q top.qcow2 || {
	echo "demo: qemu-img check finds errors in instar's result" >&2
	exit 1
}
echo "(mid.qcow2 dropped: top.qcow2 reads as before, the same as after"
echo " qemu-img rebase, and qemu-img check finds it clean)"
