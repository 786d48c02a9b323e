# "info" on encrypted qcow2 images: the "encrypt" block qemu-img shows
# without a key (the LUKS header's cipher, hash, uuid and key slots, or
# the legacy AES format's name), and qemu's words for the LUKS headers
# and encryption extensions it refuses.  Human and JSON, byte for byte,
# with the same exit status as qemu-img.
. "$(dirname "$0")/test-exec.sh"

# luks_field FILE OFFSET STRING: a 32-byte NUL-padded header field.
luks_field() {
	poke "$1" "$2" "$(perl -e 'print unpack("H*",
	    pack("a32", $ARGV[0]))' "$3")"
}

# The cipher specifications qemu-img creates, each named as qemu does.
# (qemu-img 7.2 aborts making aes-192 in CBC mode: 24-byte keys times
# 4000 stripes are not whole sectors.)
n=0
for spec in "aes-256 xts plain64 sha256" "aes-128 cbc plain sha1" \
    "aes-192 xts essiv sha256" "serpent-192 xts plain64 sha512" \
    "cast5-128 cbc plain64 md5" "aes-256 ctr plain64 sha384" \
    "aes-128 ecb plain64 ripemd160" "twofish-128 xts essiv sha224"; do
	set -- $spec
	o=encrypt.cipher-alg=$1,encrypt.cipher-mode=$2,encrypt.ivgen-alg=$3
	o=$o,encrypt.hash-alg=$4
	[ "$3" = essiv ] && o=$o,encrypt.ivgen-hash-alg=sha256
	n=$((n + 1))
	luks_create -o "$o" "c$n.qcow2" 1M && same_info "c$n.qcow2"
done

# The legacy AES format, which qemu-img still makes.
"$QEMU_IMG" create -f qcow2 --object secret,id=sec0,data=password \
    -o encrypt.format=aes,encrypt.key-secret=sec0 aes.qcow2 1M >/dev/null ||
    fail "could not make an AES image"
same_info aes.qcow2

# In a chain: qemu opens every image without its key to describe it.
luks_create base.qcow2 4M
"$QEMU_IMG" create -f qcow2 -b base.qcow2 -F qcow2 over.qcow2 >/dev/null
same_info --backing-chain over.qcow2
luks_create -b base.qcow2 -F qcow2 encover.qcow2
same_info --backing-chain encover.qcow2

# LUKS without its header extension, which qemu-img 7.2's info crashes
# on (a segmentation fault): encrypted, with no "encrypt" block, since
# there is no header to describe.
cp c1.qcow2 noext.qcow2
ext=$(find_bytes noext.qcow2 0537be77)
[ "$ext" -gt 0 ] && poke noext.qcow2 "$ext" 12345678
"$INSTAR" info noext.qcow2 >noext.txt 2>&1 &&
    grep -qx "encrypted: yes" noext.txt && ! grep -q "encrypt:" noext.txt
check $? "LUKS without its extension: $(cat noext.txt)"
"$INSTAR" info --output=json noext.qcow2 >noext.json 2>&1 &&
    jq -e '.encrypted == true and
    (."format-specific".data | has("encrypt") | not)' noext.json >/dev/null
check $? "LUKS without its extension, JSON: $(cat noext.json)"

# Broken LUKS headers, one fault each: qemu's checks come in its order.
luks=$(find_bytes c1.qcow2 4c554b53babe0001)
[ "$luks" -gt 0 ]
check $? "no LUKS header found in c1.qcow2"
slot() { echo $((luks + 208 + 48 * $1 + $2)); }
damaged() {
	cp c1.qcow2 bad.qcow2
	"$@"
	same_info bad.qcow2
	[ "$qrc" -ne 0 ]
	check $? "qemu-img accepts a damaged header ($*)"
}
damaged poke bad.qcow2 "$luks" 4e4f544c554b
damaged poke bad.qcow2 $((luks + 6)) 0002
damaged poke bad.qcow2 $((luks + 8)) \
    "$(perl -e 'print "61" x 32')"
damaged poke bad.qcow2 $((luks + 40)) "$(perl -e 'print "78" x 32')"
damaged poke bad.qcow2 $((luks + 72)) "$(perl -e 'print "73" x 32')"
damaged poke bad.qcow2 $((luks + 104)) 00000007
damaged poke bad.qcow2 $((luks + 164)) 00000000
damaged poke bad.qcow2 "$(slot 3 44)" 00000f9f
damaged poke bad.qcow2 "$(slot 0 44)" ffffffff
damaged poke bad.qcow2 "$(slot 2 0)" 00000001
damaged poke bad.qcow2 "$(slot 0 4)" 00000000
damaged poke bad.qcow2 "$(slot 0 40)" 00000007
damaged poke bad.qcow2 "$(slot 7 40)" 00000f00
damaged poke bad.qcow2 "$(slot 2 40)" 00000201
damaged luks_field bad.qcow2 $((luks + 40)) xts
damaged luks_field bad.qcow2 $((luks + 40)) xts-plain64:sha3
damaged luks_field bad.qcow2 $((luks + 40)) gcm-plain64
damaged luks_field bad.qcow2 $((luks + 40)) xts-plain63
damaged luks_field bad.qcow2 $((luks + 40)) xts-essiv
damaged luks_field bad.qcow2 $((luks + 40)) xts-essiv:sha1
damaged luks_field bad.qcow2 $((luks + 8)) des
damaged luks_field bad.qcow2 $((luks + 72)) SHA256
damaged poke bad.qcow2 $((luks + 108)) 00000028

# Header fields qemu takes as they are: a hash after plain64 that it
# parses and drops, and a last key slot whose end wraps in 32 bits.
cp c1.qcow2 odd.qcow2
luks_field odd.qcow2 $((luks + 40)) xts-plain64:sha512
same_info odd.qcow2
cp c1.qcow2 wrap.qcow2
poke wrap.qcow2 "$(slot 7 40)" ffffff00
same_info wrap.qcow2

# The extension's pointer: short, unaligned, past the end of the file
# (zeros there), and past the block layer's limit.
ext=$(find_bytes c1.qcow2 0537be77)
damaged poke bad.qcow2 $((ext + 16)) 000000000000024f
damaged poke bad.qcow2 $((ext + 8)) 0000000000010200
damaged poke bad.qcow2 $((ext + 8)) 0000000040000000
damaged poke bad.qcow2 $((ext + 8)) 7fffffffbfff0000
damaged poke bad.qcow2 $((ext + 8)) 7fffffffc0000000
damaged poke bad.qcow2 $((ext + 8)) ffffffffffff0000

finish
