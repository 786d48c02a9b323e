#!/bin/sh
# portability.sh [BUILDDIR]: instar on ordinary KVM, not only on the
# paravirtual kind it was developed on.  It boots an emulated AMD SVM
# host (regress/emulated-host.sh: qemu-system-x86_64 -accel tcg -cpu
# max,+svm, Debian's kernel, kvm and kvm-amd loaded inside) and runs
# there instar's info, check, safe and unsafe rebase and commit against
# qemu-img's on the same images, printing one line per case and
# "N passed, N failed".  Intel VMX cannot be emulated this way.
set -u

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-${INSTAR_BUILDDIR:-$here/..}}" && pwd)

# Inside the emulated host: the cases themselves.
if [ "${PORTABILITY_INSIDE:-}" != yes ]; then
	exec "$here/emulated-host.sh" env PORTABILITY_INSIDE=yes \
	    INSTAR_BUILDDIR="$build" sh "$here/portability.sh" "$build"
fi

instar=$build/instar
passed=0
failed=0
work=$(mktemp -d /tmp/instar-portability.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

result() {
	if [ "$1" -eq 0 ]; then
		echo "pass: $2"
		passed=$((passed + 1))
	else
		echo "FAIL: $2"
		failed=$((failed + 1))
	fi
}

vendor=$(grep -m1 '^vendor_id' /proc/cpuinfo | sed 's/.*: //')
grep -qw svm /proc/cpuinfo && [ -c /dev/kvm ]
result $? "the host is $vendor with SVM and /dev/kvm"

# A three-image chain, and a twin for qemu-img.
chain() {
	rm -rf "$1" && mkdir "$1" && (cd "$1" &&
	    qemu-img create -q -f qcow2 base.qcow2 64M &&
	    qemu-io -c 'write -P 0x11 0 4M' base.qcow2 >/dev/null &&
	    qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2 &&
	    qemu-io -c 'write -P 0x22 1M 1M' mid.qcow2 >/dev/null &&
	    qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2 &&
	    qemu-io -c 'write -P 0x33 3M 64k' top.qcow2 >/dev/null)
}
chain i && chain q
result $? "qemu-img makes the chains"

# same DESC CMD...: instar and qemu-img print the same for CMD.
same() {
	desc=$1
	shift
	(cd i && "$instar" "$@") >i.out 2>&1
	irc=$?
	(cd q && qemu-img "$@") >q.out 2>&1
	qrc=$?
	[ $irc -eq $qrc ] && cmp -s i.out q.out
	result $? "$desc"
}
same "info" info top.qcow2
same "info --backing-chain --output=json" info --backing-chain \
    --output=json top.qcow2
same "check" check top.qcow2
same "check --output=json" check --output=json mid.qcow2

# alike DESC: the two chains read the same and check clean.
alike() {
	r=0
	for f in top mid base; do
		qemu-img compare -q "i/$f.qcow2" "q/$f.qcow2" || r=1
		qemu-img check -q "i/$f.qcow2" || r=1
	done
	result $r "$1"
}

"$instar" rebase -u -b base.qcow2 -F qcow2 i/top.qcow2 &&
    (cd q && qemu-img rebase -u -b base.qcow2 -F qcow2 top.qcow2)
result $? "rebase -u runs"
(cd i && qemu-img info --output=json top.qcow2) | grep -v actual-size >i.json
(cd q && qemu-img info --output=json top.qcow2) | grep -v actual-size >q.json
cmp -s i.json q.json
result $? "rebase -u writes the header qemu-img writes"
"$instar" rebase -u -b mid.qcow2 -F qcow2 i/top.qcow2 &&
    (cd q && qemu-img rebase -u -b mid.qcow2 -F qcow2 top.qcow2)
result $? "rebase -u back"

(cd i && "$instar" rebase -b base.qcow2 -F qcow2 top.qcow2) &&
    (cd q && qemu-img rebase -b base.qcow2 -F qcow2 top.qcow2)
result $? "safe rebase runs"
alike "safe rebase: the images read as qemu-img's"

chain i && chain q
"$instar" commit -q i/top.qcow2 && qemu-img commit -q q/top.qcow2
result $? "commit runs"
alike "commit: the images read as qemu-img's"
"$instar" commit -q -b base.qcow2 i/mid.qcow2 &&
    qemu-img commit -q -b base.qcow2 q/mid.qcow2
result $? "commit -b runs"
alike "commit -b: the images read as qemu-img's"

echo "portability ($vendor, $(uname -r)): $passed passed, $failed failed"
[ $failed -eq 0 ]
