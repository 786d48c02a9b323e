# Damage that qemu-img check -r all repairs by rebuilding the refcount
# structure (a used cluster with refcount 0, a refcount block outside
# the image, a misaligned refcount table entry), held against qemu-img
# as in check-damage.sh: the same findings, and the same repair.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/check-lib.sh"

# The fixture: 8 MiB, 64 KiB clusters, 16-bit refcounts, 128 KiB of
# data at 0.  Clusters: 0 header, 1 refcount table, 2 refcount block
# (entry n at 0x20000 + 2n), 3 L1 (entry 0 at 0x30000), 4 L2 (entries
# at 0x40000), 5 and 6 data.
mk() {
	qimg create -f qcow2 "$1" 8M
	qio -c 'write -P 1 0 128k' "$1"
}

# damaged NAME RC: qemu-img check must exit RC on NAME.qcow2 (the
# fixture is what the test means); then hold instar against qemu-img,
# checking and repairing.
damaged() {
	expect_rc "$1" "$1.qcow2" "$2"
	same_check_all "$1" "$1.qcow2"
	twin_repair "$1" leaks "$1.qcow2"
	twin_repair "$1" all "$1.qcow2"
	twin_repair "$1 (json)" leaks "$1.qcow2" --output=json
	twin_repair "$1 (json)" all "$1.qcow2" --output=json
	twin_repair "$1 (-q)" all "$1.qcow2" -q
}

# A data cluster with refcount 0.
mk zero.qcow2
poke zero.qcow2 $((0x20000 + 2 * 5)) 0000
damaged zero 2

# 64-bit refcounts, a data cluster's set to 0.
qimg create -f qcow2 -o refcount_bits=64 rc64.qcow2 8M
qio -c 'write -P 1 0 128k' rc64.qcow2
poke rc64.qcow2 $((0x20000 + 8 * 5)) 0000000000000000
damaged rc64 2


# Lazy refcounts, killed while writing: the dirty bit is set and the
# refcounts were never written (check does not replay them, as qemu's
# BDRV_O_CHECK open does not).
qimg create -f qcow2 -o lazy_refcounts=on lazy.qcow2 8M
"$QEMU_IO" -c 'write -P 1 0 256k' -c 'sigraise 9' lazy.qcow2 \
    >/dev/null 2>&1
damaged lazy 2

# A refcount table entry that is misaligned: qemu counts internal
# errors ("Can't get refcount for cluster N"), exit 1.
mk rtmisal.qcow2
poke rtmisal.qcow2 $((0x10000)) 0000000000020200
damaged rtmisal 1

# A refcount block beyond the end of the file.
mk rtbeyond.qcow2
poke rtbeyond.qcow2 $((0x10000)) 0000000010000000
damaged rtbeyond 2

finish
