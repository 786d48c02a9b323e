# instar info prints exactly what qemu-img info prints, human and JSON,
# for every image shape qemu-img can make that instar handles.
. "$(dirname "$0")/test-exec.sh"

make_shapes() {
	qimg create -f qcow2 v3.qcow2 64M
	qimg create -f qcow2 -o compat=0.10 v2.qcow2 64M
	qimg create -f qcow2 -o cluster_size=512 c512.qcow2 1G
	qimg create -f qcow2 -o cluster_size=2M c2m.qcow2 10G
	qimg create -f qcow2 -o refcount_bits=1 rc1.qcow2 64M
	qimg create -f qcow2 -o refcount_bits=64 rc64.qcow2 64M
	qimg create -f qcow2 -o lazy_refcounts=on lazy.qcow2 64M
	qimg create -f qcow2 -o extended_l2=on el2.qcow2 64M
	qimg create -f qcow2 -o compression_type=zstd zstd.qcow2 64M
	qimg create -f qcow2 empty.qcow2 0
	qimg create -f qcow2 huge.qcow2 16T
	qimg create -f qcow2 -o cluster_size=512 odd.qcow2 1000000001
	qimg create -f qcow2 data.qcow2 64M
	qio -c 'write -P 0x5a 0 3M' -c 'write -z 8M 1M' data.qcow2
	qimg create -f qcow2 -o compat=0.10 data-v2.qcow2 64M
	qio -c 'write -P 0x11 1M 64k' data-v2.qcow2
	qimg create -f raw extfile.raw 64M
	qimg create -f qcow2 -o data_file=extfile.raw ext.qcow2 64M
	qimg create -f qcow2 -o data_file=extfile.raw,data_file_raw=on \
	    extraw.qcow2 64M
	qimg create -f qcow2 base.qcow2 64M
	qimg create -f qcow2 -b base.qcow2 -F qcow2 overlay.qcow2
	qimg create -f qcow2 -o compat=0.10 -b base.qcow2 -F qcow2 \
	    overlay-v2.qcow2
	qimg create -f raw raw.img 10M
	qio -f raw -c 'write -P 0x1 0 1M' raw.img
	: >zero.raw
	qimg create -f vmdk plain.vmdk 100M
	qio -c 'write -P 0x7 0 1M' plain.vmdk
	qimg create -f vmdk -o subformat=monolithicSparse,zeroed_grain=on \
	    zg.vmdk 100M
	qimg create -f vmdk parent.vmdk 100M
	qimg create -f vmdk -b parent.vmdk -F vmdk child.vmdk
	qimg create -f vmdk -o subformat=streamOptimized stream.vmdk 100M
	qimg create -f vmdk -o adapter_type=lsilogic,hwversion=6 hw6.vmdk 1G
}

make_dirty() {
	# Dirty and corrupt are header bits (incompatible features, byte 79).
	qimg create -f qcow2 -o lazy_refcounts=on dirty.qcow2 64M
	poke dirty.qcow2 79 01
	qimg create -f qcow2 corrupt.qcow2 64M
	poke corrupt.qcow2 79 02
}

make_unrecorded_format() {
	# A backing file with no recorded format: turn the backing-format
	# extension into an unknown one, which qemu keeps and ignores.
	qimg create -f qcow2 -b base.qcow2 -F qcow2 nofmt.qcow2
	poke nofmt.qcow2 112 12345678
}

make_shapes
make_dirty
make_unrecorded_format

for img in v3.qcow2 v2.qcow2 c512.qcow2 c2m.qcow2 rc1.qcow2 rc64.qcow2 \
    lazy.qcow2 el2.qcow2 zstd.qcow2 empty.qcow2 huge.qcow2 odd.qcow2 \
    data.qcow2 data-v2.qcow2 ext.qcow2 extraw.qcow2 overlay.qcow2 \
    overlay-v2.qcow2 raw.img zero.raw plain.vmdk zg.vmdk child.vmdk \
    stream.vmdk hw6.vmdk dirty.qcow2 corrupt.qcow2 nofmt.qcow2; do
	same_output "$img json" info --output=json "$img"
	same_output "$img human" info "$img"
	same_output "$img json -U" info -U --output=json "$img"
done

# An explicit format is honoured, as qemu-img does.
same_output "raw read as raw" info -f raw --output=json v3.qcow2
same_output "qcow2 as qcow2" info -f qcow2 --output=json v3.qcow2
same_output "vmdk as vmdk" info -f vmdk plain.vmdk
# The image path as given is what is printed.
mkdir sub && cp v3.qcow2 sub/
same_output "path in subdir" info --output=json sub/v3.qcow2
same_output "absolute path" info --output=json "$WORK/sub/v3.qcow2"

finish
