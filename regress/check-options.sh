# instar check's command line as qemu-img check's: usage errors, -r and
# --output values, cache modes, formats, files that cannot be opened,
# backing files that cannot be opened, probed raw with -r; the same exit
# status, stdout and stderr lines.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"
. "$REGRESS_DIR/check-lib.sh"

qimg create -f qcow2 a.qcow2 16M
qio -c 'write -P 1 0 64k' a.qcow2
qimg create -f raw r.raw 1M

same_check "no file name"
same_check "two file names" a.qcow2 a.qcow2
same_check "missing -f argument" -f
same_check "unknown option" -x a.qcow2
same_check "unknown long option" --bogus a.qcow2
same_check "bad -r" -r foo a.qcow2
same_check "bad -r before the name check" -r foo
same_check "bad --output" --output=xml a.qcow2
same_check "bad --output, no file" --output=xml
same_check "bad -T" -T bogus a.qcow2
for mode in none off writeback writethrough directsync unsafe; do
	same_check "-T $mode" -T $mode a.qcow2
done
same_check "--output=human" --output=human a.qcow2
same_check "unknown format" -f foo a.qcow2
same_check "missing file" nonexistent.qcow2
same_check "missing file, json" --output=json nonexistent.qcow2
same_check "directory" -f qcow2 .
same_check "qcow2 read as vmdk" -f vmdk a.qcow2
same_check "raw read as qcow2" -f qcow2 r.raw

# A format QEMU knows and instar does not: refused as instar info
# refuses it.
refuses "vpc" "Unknown or unsupported format 'vpc'" check -f vpc a.qcow2

# A backing file that is missing fails the check, as in qemu-img.
qimg create -f qcow2 gone.qcow2 16M
qimg create -f qcow2 -b gone.qcow2 -F qcow2 orphan.qcow2
rm gone.qcow2
same_check "missing backing file" orphan.qcow2
same_check "missing backing file, json" --output=json orphan.qcow2

# A file name that JSON must escape: quotes, backslash, a tab, UTF-8
# and a byte that is not UTF-8.
odd=$(printf 'we"ird\\na\tme \303\251 \377.qcow2')
cp a.qcow2 "$odd"
same_check "odd file name" "$odd"
same_check "odd file name, json" --output=json "$odd"

# Encrypted images: qemu-img check needs the key, instar takes none.
luks_create enc.qcow2 8M
qimg create -f qcow2 -b enc.qcow2 -F qcow2 encover.qcow2
same_check "encrypted" enc.qcow2
same_check "encrypted, json, -U" --output=json -U enc.qcow2
same_check "encrypted backing file" encover.qcow2

# A probed raw image repaired: qemu's warning, then no checks.
cp r.raw r2.raw
same_check "probed raw -r leaks" -r leaks r2.raw
same_check "probed raw -r all -q" -r all -q r2.raw
same_check "raw -f raw -r all" -f raw -r all r2.raw

finish
