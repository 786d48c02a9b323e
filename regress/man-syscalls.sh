# The man page's SECURITY section lists exactly the system calls the
# worker's seccomp filter allows: the names in worker/sandbox.c's rules
# against the names on the .It lines of instar(1)'s list.  A call added
# to the filter and not documented, or documented and gone, fails here.
. "$(dirname "$0")/test-exec.sh"

: "${INSTAR_SRCDIR:?run the regress tests through make check}"
SANDBOX_C="$INSTAR_SRCDIR/worker/sandbox.c"
MAN="$INSTAR_SRCDIR/man/instar.1"

# Every rule goes through ALLOW(ctx, name, ...) or names SCMP_SYS(name)
# itself; "call" is the macro's own parameter.
{
	sed -n 's/.*ALLOW(ctx, *\([a-z_0-9]*\),.*/\1/p' "$SANDBOX_C"
	grep -o 'SCMP_SYS([a-z_0-9]*)' "$SANDBOX_C" |
	    sed 's/SCMP_SYS(\(.*\))/\1/'
} | grep -v '^call$' | sort -u >filter.txt

# The list that follows "The system calls allowed": its items' Xr and
# Fn names, as the kernel names them (the man pages name pread64,
# pwrite64 and prlimit64 pread, pwrite and prlimit, and exit _exit).
awk '
/^The system calls allowed/ { inlist = 1; next }
inlist && /^\.El/ { exit }
inlist && /^\.It / {
	for (i = 2; i <= NF; i++)
		if (($i == "Xr" || $i == "Fn") && i < NF)
			print $(i + 1)
}' "$MAN" | sed -e 's/^pread$/pread64/' -e 's/^pwrite$/pwrite64/' \
    -e 's/^prlimit$/prlimit64/' -e 's/^_exit$/exit/' | sort -u >man.txt

[ -s filter.txt ] && [ "$(wc -l <filter.txt)" -ge 10 ]
check $? "no system calls found in $SANDBOX_C: $(cat filter.txt)"
[ -s man.txt ] && [ "$(wc -l <man.txt)" -ge 10 ]
check $? "no system call list found in $MAN: $(cat man.txt)"

undocumented=$(comm -23 filter.txt man.txt | tr '\n' ' ')
[ -z "$undocumented" ]
check $? "allowed by the filter, not in instar(1): $undocumented"
stale=$(comm -13 filter.txt man.txt | tr '\n' ' ')
[ -z "$stale" ]
check $? "in instar(1), not allowed by the filter: $stale"

finish
