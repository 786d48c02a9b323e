#!/bin/sh
# A short demonstration: make a three-image qcow2 chain with qemu-img in a
# temporary directory and show it with "instar info --backing-chain".
set -eu

here=$(cd "$(dirname "$0")" && pwd)
instar=${INSTAR:-$here/instar}
dir=$(mktemp -d "${TMPDIR:-/tmp}/instar-demo.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir"

qemu-img create -q -f qcow2 base.qcow2 1G
qemu-io -c 'write -P 0x11 0 4M' base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2
qemu-io -c 'write -P 0x22 1M 1M' mid.qcow2 >/dev/null
qemu-img create -q -f qcow2 -o compat=0.10 -b mid.qcow2 -F qcow2 top.qcow2

echo "\$ instar info --backing-chain top.qcow2"
"$instar" info --backing-chain top.qcow2
echo
echo "\$ instar info --backing-chain --output=json top.qcow2"
"$instar" info --backing-chain --output=json top.qcow2
echo
"$instar" info --backing-chain --output=json top.qcow2 >instar.json
qemu-img info --backing-chain --output=json top.qcow2 >qemu.json
if cmp -s instar.json qemu.json; then
	echo "(byte for byte what qemu-img info prints; every image byte" \
	    "was parsed inside a KVM guest)"
else
	echo "demo: output differs from qemu-img info" >&2
	exit 1
fi
