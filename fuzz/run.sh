#!/bin/sh
# A short, bounded fuzzing run for CI: seed the format fuzzer with images
# qemu-img makes, then run each harness for FUZZ_SECONDS (default 30).
# Usage: fuzz/run.sh BUILDDIR   (a tree configured with --enable-fuzzing)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: fuzz/run.sh BUILDDIR}
seconds=${FUZZ_SECONDS:-30}
corpus=$(mktemp -d "${TMPDIR:-/tmp}/instar-fuzz.XXXXXX")
trap 'rm -rf "$corpus"' EXIT

mkdir "$corpus/format" "$corpus/frame"
cd "$corpus/format"
qemu-img create -q -f qcow2 v3.qcow2 64M
qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 64M
qemu-img create -q -f qcow2 -b v3.qcow2 -F qcow2 back.qcow2
qemu-img create -q -f qcow2 -o extended_l2=on,compression_type=zstd x.qcow2 1G
qemu-img create -q -f vmdk v.vmdk 64M
qemu-img create -q -f vmdk -b v.vmdk -F vmdk child.vmdk
qemu-img create -q -f vmdk -o subformat=streamOptimized s.vmdk 64M
# Only the first cluster matters to the parsers; keep the seeds small.
for f in *; do truncate -s 131072 "$f"; done
# Inputs that once found a bug stay in the corpus.
cp "$here"/corpus/* .
cd - >/dev/null

"$build/fuzz/fuzz_format" -max_total_time="$seconds" -max_len=131072 \
    -print_final_stats=1 "$corpus/format"
"$build/fuzz/fuzz_frame" -max_total_time="$seconds" -max_len=4096 \
    -print_final_stats=1 "$corpus/frame"
