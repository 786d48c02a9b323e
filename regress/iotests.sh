#!/bin/sh
# iotests.sh [-f FORMATS] [-b] [-s LIST] [TEST...]: QEMU 7.2's own
# qemu-iotests with instar standing in for qemu-img's info, rebase,
# commit and check.
#
# The suite comes from Debian's qemu source package, fetched once with a
# private apt configuration (the system's sources are not touched) into
# INSTAR_IOTESTS_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/instar);
# INSTAR_IOTESTS_SRC names an unpacked qemu 7.2 tree instead.
#
# For each format (qcow2, vmdk and raw unless -f says otherwise) the
# selected tests, those whose source calls one of the four subcommands,
# run twice: with the real qemu-img (the baseline) and with a qemu-img
# wrapper first in the suite's environment that sends info, rebase,
# commit and check to instar (run under the name qemu-img, so that it
# speaks as qemu-img) and every other subcommand to the real qemu-img.
# The wrapper logs each call it gives instar, so that a test counts only
# if it really exercised instar.  A failure is a test that passes on the
# baseline and not with instar, unless regress/iotests-divergences lists
# it with the reason.  -b runs the baseline only.  -s LIST runs only the
# tests LIST names, one "FORMAT TEST" per line (regress/iotests-gate is
# the fast selection CI runs); there, a test the baseline does not pass
# or that never calls instar fails too, since a gate must test something.
#
# Exit status: 0 when nothing failed, 1 otherwise or when the suite
# cannot be had.
set -u

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${INSTAR_BUILDDIR:-$here/..}" && pwd)
src=$(cd "${INSTAR_SRCDIR:-$here/..}" && pwd)
cache=${INSTAR_IOTESTS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/instar}
divergences=$src/regress/iotests-divergences
real_qemu_img=$(command -v qemu-img) || {
	echo "iotests: qemu-img not found (install qemu-utils)" >&2
	exit 1
}
formats="qcow2 vmdk raw"
baseline_only=false
list=

while getopts "bf:s:" opt; do
	case $opt in
	b) baseline_only=true ;;
	f) formats=$(echo "$OPTARG" | tr ',' ' ') ;;
	s) list=$OPTARG ;;
	*) echo "usage: iotests.sh [-b] [-f FORMATS] [-s LIST] [TEST...]" >&2
	   exit 1 ;;
	esac
done
shift $((OPTIND - 1))
if [ -n "$list" ]; then
	[ -r "$list" ] || { echo "iotests: cannot read $list" >&2; exit 1; }
	[ $# -eq 0 ] ||
	    { echo "iotests: -s and test names do not go together" >&2; exit 1; }
	formats=$(awk '!/^#/ && NF >= 2 { print $1 }' "$list" | sort -u)
fi

die() {
	echo "iotests: $*" >&2
	exit 1
}

# The qemu 7.2 tree: INSTAR_IOTESTS_SRC, or the cached source package.
suite_tree() {
	if [ -n "${INSTAR_IOTESTS_SRC:-}" ]; then
		echo "$INSTAR_IOTESTS_SRC"
		return
	fi
	for t in "$cache"/qemu-7.2*/; do
		[ -f "$t/tests/qemu-iotests/check" ] && { echo "${t%/}"; return; }
	done
	fetch_suite >&2 || die "cannot get QEMU 7.2's source package" \
	    "(apt-get source qemu from Debian 12 into $cache failed: see" \
	    "$cache/apt/log); set INSTAR_IOTESTS_SRC to an unpacked qemu" \
	    "7.2 tree instead"
	for t in "$cache"/qemu-7.2*/; do
		[ -f "$t/tests/qemu-iotests/check" ] && { echo "${t%/}"; return; }
	done
	die "the source package in $cache holds no tests/qemu-iotests/check"
}

# apt-get source with sources of its own: no deb-src entry is added to
# the system, and nothing needs root.
fetch_suite() {
	command -v apt-get >/dev/null && command -v dpkg-source >/dev/null ||
	    { echo "iotests: apt-get and dpkg-source (dpkg-dev) are needed"; \
	    return 1; }
	apt=$cache/apt
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" || return 1
	cat >"$apt/sources.list" <<-EOF
	deb-src http://deb.debian.org/debian bookworm main
	deb-src http://deb.debian.org/debian-security bookworm-security main
	EOF
	set -- -o Dir::Etc::SourceList="$apt/sources.list" \
	    -o Dir::Etc::SourceParts=/nonexistent \
	    -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" \
	    -o Debug::NoLocking=1
	echo "iotests: fetching QEMU 7.2's source package into $cache"
	apt-get "$@" update >"$apt/log" 2>&1 &&
	    (cd "$cache" && apt-get "$@" source qemu=1:7.2* >>"$apt/log" 2>&1 ||
	    apt-get "$@" source qemu >>"$apt/log" 2>&1)
}

tree=$(suite_tree) || exit 1
iotests=$tree/tests/qemu-iotests
case $(cat "$tree/VERSION" 2>/dev/null) in
7.2.*) ;;
*) die "$tree is not QEMU 7.2 (VERSION: $(cat "$tree/VERSION" 2>/dev/null))" ;;
esac
for prog in qemu-io qemu-nbd qemu-storage-daemon qemu-system-x86_64; do
	command -v $prog >/dev/null ||
	    die "$prog not found (install qemu-utils and qemu-system-x86)"
done
[ -x "$build/instar" ] || die "$build/instar was not built"

work=$(mktemp -d "${TMPDIR:-/tmp}/instar-iotests.XXXXXX") || exit 1
# A test that dies with its FUSE export still mounted leaves a mount
# that rm cannot remove.
cleanup() {
	awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts |
	    while read -r m; do umount -l "$m" 2>/dev/null ||
		fusermount -uz "$m" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

# Debian builds qemu-system without the qtest accelerator that the
# suite asks for; TCG runs the same machines (no guest code is loaded).
mkdir -p "$work/qemu"
cat >"$work/qemu/qemu-system-x86_64" <<EOF
#!/bin/sh
for arg do
	shift
	[ "\$arg" = qtest ] && arg=tcg
	set -- "\$@" "\$arg"
done
exec "$(command -v qemu-system-x86_64)" "\$@"
EOF
chmod +x "$work/qemu/qemu-system-x86_64"

# The wrapper: a test's TEST_DIR (one per test under check -j) names
# the test in the log.  The log's path is written into the wrapper, not
# passed in the environment, which the suite rebuilds for its tests.
mkdir -p "$work/bin" "$work/instar"
ln -s "$build/instar" "$work/instar/qemu-img"
cat >"$work/bin/qemu-img" <<EOF
#!/bin/sh
case \${1:-} in
info|rebase|commit|check)
	echo "\$(basename "\${TEST_DIR:-?}") \$*" >>"$work/calls"
	exec "$work/instar/qemu-img" "\$@" ;;
esac
exec "$real_qemu_img" "\$@"
EOF
chmod +x "$work/bin/qemu-img"

# Tests whose source calls info, rebase, commit or check, by the shell
# helpers or the python ones; the suite itself says which formats each
# supports (it reports the others as not run).
select_tests() {
	(cd "$iotests" && for t in [0-9][0-9][0-9] tests/*; do
		case $t in *.out | *.out.*) continue ;; esac
		[ -f "$t" ] && [ -x "$t" ] || continue
		grep -qE 'QEMU_IMG.*[[:space:]](info|rebase|commit|check)([[:space:]]|"|$)|_check_test_img|_img_info|qemu_img(_log|_pipe|_json)?\( *["'\''](info|rebase|commit|check)["'\'']|qemu_img_(check|info)\(|img_info_log\(' "$t" &&
		    echo "${t#tests/}"
	done)
}

if [ $# -gt 0 ]; then
	selected="$*"
elif [ -z "$list" ]; then
	selected=$(select_tests)
fi

listed_tests() {	# FORMAT: the tests LIST names for it
	awk -v f="$1" '!/^#/ && $1 == f { print $2 }' "$list"
}

# run_suite FORMAT QEMU_IMG_PROG OUT: the suite's TAP lines into OUT.
run_suite() {
	mkdir -p "$work/$1-$3"
	# Started through a link, check takes its directory for a build
	# tree's and keeps its output there, not in the cached source.
	ln -sf "$iotests/check" "$work/$1-$3/check"
	(cd "$work/$1-$3" && env QEMU_IMG_PROG="$2" \
	    QEMU_IO_PROG="$(command -v qemu-io)" \
	    QEMU_NBD_PROG="$(command -v qemu-nbd)" \
	    QSD_PROG="$(command -v qemu-storage-daemon)" \
	    QEMU_PROG="$work/qemu/qemu-system-x86_64" \
	    TEST_DIR="$work/$1-$3/scratch" \
	    python3 ./check -tap -j 2 "-$1" $selected \
	    >"$work/$1-$3.tap" 2>&1)
	# The suite keeps each failure's output beside the scratch files.
	for bad in "$work/$1-$3"/scratch/*/*.out.bad; do
		[ -f "$bad" ] || continue
		t=$(basename "$bad" .out.bad)
		grep -q "^not ok $1 $t\$" "$work/$1-$3.tap" &&
		    cp "$bad" "$work/$1-$3.$t.bad"
	done
}

status_of() {	# FORMAT TEST TAPFILE: pass, fail or skip
	if grep -q "^ok $1 $2\$" "$3"; then
		echo pass
	elif grep -q "^ok $1 $2 # SKIP" "$3"; then
		echo skip
	else
		echo fail
	fi
}

listed() {	# FORMAT TEST: the reason, when regress/iotests-divergences has one
	[ -f "$divergences" ] || return 1
	awk -v f="$1" -v t="$2" '$1 == f && $2 == t {
		$1 = ""; $2 = ""; sub(/^  */, ""); print; found = 1 }
	    END { exit !found }' "$divergences"
}

keep=${INSTAR_IOTESTS_KEEP:-}
n_selected=0 n_base=0 n_passed=0 n_failed=0 n_listed=0 n_unused=0
n_missing=0
for fmt in $formats; do
	[ -n "$list" ] && selected=$(listed_tests "$fmt")
	: >"$work/calls"
	run_suite "$fmt" "$real_qemu_img" base
	if ! $baseline_only; then
		run_suite "$fmt" "$work/bin/qemu-img" instar
	fi
	for t in $selected; do
		base=$(status_of "$fmt" "$t" "$work/$fmt-base.tap")
		if [ "$base" != pass ] && [ -n "$list" ]; then
			n_missing=$((n_missing + 1))
			echo "$fmt $t: FAIL: listed, but $base with qemu-img alone"
			continue
		fi
		[ "$base" = skip ] && continue
		n_selected=$((n_selected + 1))
		if [ "$base" != pass ]; then
			echo "$fmt $t: fails with qemu-img alone"
			continue
		fi
		n_base=$((n_base + 1))
		$baseline_only && { echo "$fmt $t: passes with qemu-img"; continue; }
		calls=$(grep -c "^$t " "$work/calls")
		with=$(status_of "$fmt" "$t" "$work/$fmt-instar.tap")
		if [ "$calls" -eq 0 ] && [ -n "$list" ]; then
			n_missing=$((n_missing + 1))
			echo "$fmt $t: FAIL: listed, but instar was never called"
		elif [ "$calls" -eq 0 ]; then
			n_unused=$((n_unused + 1))
			echo "$fmt $t: $with, but instar was never called"
		elif [ "$with" = pass ]; then
			n_passed=$((n_passed + 1))
			echo "$fmt $t: pass ($calls instar calls)"
		elif reason=$(listed "$fmt" "$t"); then
			n_listed=$((n_listed + 1))
			echo "$fmt $t: divergence ($calls instar calls): $reason"
		else
			n_failed=$((n_failed + 1))
			echo "$fmt $t: FAIL ($calls instar calls)"
			if [ -f "$work/$fmt-instar.$t.bad" ]; then
				diff -u "$iotests/$t.out" \
				    "$work/$fmt-instar.$t.bad" 2>/dev/null |
				    sed -n '3,40s/^/    /p'
			fi
		fi
	done
	[ -n "$keep" ] && mkdir -p "$keep" && cp -r "$work"/. "$keep/"
done

echo "iotests: $n_selected selected, $n_base pass with qemu-img alone"
if $baseline_only; then
	exit 0
fi
echo "iotests: $n_unused of them never called instar"
echo "iotests: $n_passed passed, $n_failed failed, $n_listed listed divergences"
[ -z "$list" ] ||
    echo "iotests: $n_missing listed in $list but not run as listed"
[ $n_failed -eq 0 ] && [ $n_missing -eq 0 ]
