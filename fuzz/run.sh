#!/bin/sh
# A short, bounded fuzzing run for CI: seed the format and planner
# fuzzers with images qemu-img makes and the inflate fuzzer with zlib
# streams, then run each harness for FUZZ_SECONDS (default 30).  The
# request validator's harness needs no seeds: its input is a handful of
# numbers, and it picks bounds to try from a list of its own.
# Usage: fuzz/run.sh BUILDDIR   (a tree configured with --enable-fuzzing)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: fuzz/run.sh BUILDDIR}
seconds=${FUZZ_SECONDS:-30}
corpus=$(mktemp -d "${TMPDIR:-/tmp}/instar-fuzz.XXXXXX")
trap 'rm -rf "$corpus"' EXIT

mkdir "$corpus/format" "$corpus/frame" "$corpus/inflate" "$corpus/planner" \
    "$corpus/vmm_check"
cd "$corpus/format"
qemu-img create -q -f qcow2 v3.qcow2 64M
qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 64M
qemu-img create -q -f qcow2 -b v3.qcow2 -F qcow2 back.qcow2
# A backing name that would forge an output line (regress/hostile-names.sh).
qemu-img create -q -f qcow2 -u -b "$(printf './x\nimage: /etc/passwd')" \
    -F qcow2 forged.qcow2 64M
qemu-img create -q -f qcow2 -o extended_l2=on,compression_type=zstd x.qcow2 1G
qemu-img create -q -f vmdk v.vmdk 64M
qemu-img create -q -f vmdk -b v.vmdk -F vmdk child.vmdk
qemu-img create -q -f vmdk -o subformat=streamOptimized s.vmdk 64M
# Backing references as a hostile image holds them: outside any root,
# climbing out with "..".
qemu-img create -q -f qcow2 -u -b /nonexistent/secret.raw -F raw abs.qcow2 64M
qemu-img create -q -f qcow2 -u -b ../../outside/secret.raw -F raw up.qcow2 64M
# Internal snapshots, with clusters small enough for their table to stay
# in the seed (the check reads and repairs it).
qemu-img create -q -f qcow2 -o cluster_size=4096 snap.qcow2 1M
qemu-img snapshot -c one snap.qcow2
qemu-img snapshot -c two snap.qcow2
# Bitmaps: small clusters keep the directory and tables in the seed.
qemu-img create -q -f qcow2 -o cluster_size=512 bm.qcow2 64k
qemu-img bitmap --add bm.qcow2 b0
qemu-img bitmap --add --disable -g 64k bm.qcow2 b1
# Only the first cluster matters to the parsers; keep the seeds small.
for f in *; do truncate -s 131072 "$f"; done
# Inputs that once found a bug stay in the corpus.
cp "$here"/corpus/* .
cd - >/dev/null

# Raw deflate streams of a few shapes, as qemu writes them (4 KiB
# window), each after the two bytes that give its output size.
perl -MCompress::Raw::Zlib -e '
my $dir = shift;
srand(1);
my @data = ("instar qcow2 cluster " x 400, "\0" x 8000,
    join("", map { chr(int(rand(256))) } 1 .. 4000),
    join("", map { chr($_ % 7) x ($_ % 50) } 1 .. 300));
my $n = 0;
for my $d (@data) {
	for my $s (Z_DEFAULT_STRATEGY, Z_FIXED, Z_HUFFMAN_ONLY, Z_RLE) {
		for my $l (0, 1, 9) {
			my $z = Compress::Raw::Zlib::Deflate->new(
			    -WindowBits => -12, -Level => $l, -Strategy => $s,
			    -AppendOutput => 1);
			my $out = pack("v", length $d);
			$z->deflate($d, $out) == Z_OK && $z->flush($out) == Z_OK
			    or die "deflate failed";
			open(my $f, ">", "$dir/seed" . $n++) or die "$!";
			binmode $f;
			print $f $out;
			close $f;
		}
	}
}' "$corpus/inflate"

# Planner seeds: a job byte, a raw file's length, the raw file, then a
# small qcow2 image with a few clusters of data and zeros.
cd "$corpus/planner"
qemu-img create -q -f qcow2 -o cluster_size=4k p.qcow2 1M
qemu-io -c 'write -P 0x41 0 8k' -c 'write -z 64k 4k' p.qcow2 >/dev/null
qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=4k p2.qcow2 1M
qemu-io -c 'write -P 0x42 4k 4k' p2.qcow2 >/dev/null
qemu-img create -q -f vmdk -o zeroed_grain=on p.vmdk 2M
qemu-io -c 'write -P 0x43 0 64k' -c 'write -z 128k 64k' p.vmdk >/dev/null
for img in p.qcow2 p2.qcow2 p.vmdk; do
	jobs="0 1"
	case $img in *.vmdk) jobs="4 5" ;; esac
	for job in $jobs; do
		perl -e 'print chr($ARGV[0]), pack("V", 8192), "\x5a" x 8192' \
		    "$job" > "seed-$job-$img"
		cat "$img" >> "seed-$job-$img"
	done
	rm -f "$img"
done
cd - >/dev/null

"$build/fuzz/fuzz_format" -max_total_time="$seconds" -max_len=131072 \
    -print_final_stats=1 "$corpus/format"
"$build/fuzz/fuzz_frame" -max_total_time="$seconds" -max_len=4096 \
    -print_final_stats=1 "$corpus/frame"
"$build/fuzz/fuzz_inflate" -max_total_time="$seconds" -max_len=65536 \
    -print_final_stats=1 "$corpus/inflate"
"$build/fuzz/fuzz_planner" -max_total_time="$seconds" -max_len=262144 \
    -rss_limit_mb=2048 -print_final_stats=1 "$corpus/planner"
"$build/fuzz/fuzz_vmm_check" -max_total_time="$seconds" -max_len=256 \
    -print_final_stats=1 "$corpus/vmm_check"
