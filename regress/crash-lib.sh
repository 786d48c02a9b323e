# Helpers for the crash-injection scripts (crash-rebase-commit.sh,
# crash-vmdk.sh), sourced after test-exec.sh.  The stop itself is the
# test-only switch INSTAR_TEST_STOP_AFTER_WRITES=N: see
# crash-rebase-commit.sh.

# flat IMAGE OUT: the guest-visible content of IMAGE as raw.
flat() {
	"$QEMU_IMG" convert -U -O raw "$1" "$2" ||
	    fail "cannot flatten $1"
}

# same_content A B WHAT: qemu-img compare finds A and B identical.
same_content() {
	"$QEMU_IMG" compare -q -U "$1" "$2" >/dev/null 2>&1
	check $? "$3: $2 does not read as it must"
}

# per_piece NOW BEFORE AFTER SIZE WHAT: every SIZE-byte piece of NOW
# equals the same piece of BEFORE or of AFTER (all raw files; shorter
# ones read as zeros past their end).
per_piece() {
	perl -e '
	    my ($now, $bef, $aft, $cs) = @ARGV;
	    open(my $n, "<", $now) or die; open(my $b, "<", $bef) or die;
	    open(my $a, "<", $aft) or die;
	    binmode($_) for ($n, $b, $a);
	    my $i = 0;
	    while (read($n, my $x, $cs)) {
		read($b, my $y, $cs); read($a, my $z, $cs);
		$y .= "\0" x (length($x) - length($y));
		$z .= "\0" x (length($x) - length($z));
		if ($x ne substr($y, 0, length($x)) &&
		    $x ne substr($z, 0, length($x))) {
			print "piece $i\n"; exit 1;
		}
		$i++;
	    }' "$1" "$2" "$3" "$4"
	check $? "$5: a piece of the base is neither as before nor as committed"
}
