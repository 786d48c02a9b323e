# A fixed-seed batch of regress/difffuzz: random chains, random rebase,
# commit, info and check operations, run by qemu-img and by instar on
# twin copies and held against each other.  Longer or other-seed runs
# are made by hand: regress/difffuzz --iterations N --seed S.
. "$(dirname "$0")/test-exec.sh"

: "${INSTAR_SRCDIR:?run the regress tests through make check}"
DIFFFUZZ_SEED=20261123
DIFFFUZZ_ITERATIONS=300

if ! command -v python3 >/dev/null 2>&1; then
	echo "$TEST_NAME: FAIL: python3 not found (install python3)" >&2
	exit 1
fi

python3 "$INSTAR_SRCDIR/regress/difffuzz" --instar "$INSTAR" \
    --iterations "$DIFFFUZZ_ITERATIONS" --seed "$DIFFFUZZ_SEED" \
    >"$WORK/.difffuzz" 2>&1
rc=$?
grep '^DIVERGENCE' "$WORK/.difffuzz" >&2
summary=$(tail -n 1 "$WORK/.difffuzz")
echo "$TEST_NAME: seed $DIFFFUZZ_SEED: $summary"
if [ "$summary" != "$DIFFFUZZ_ITERATIONS passed, 0 failed" ]; then
	fail "difffuzz seed $DIFFFUZZ_SEED: $summary"
	tail -n 20 "$WORK/.difffuzz" >&2
elif [ "$rc" -ne 0 ]; then
	fail "difffuzz exited $rc despite: $summary"
else
	pass
fi
finish
