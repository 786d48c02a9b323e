# The worker runs confined: no capabilities, no_new_privs, a seccomp
# filter, and no descriptors beyond its socket and the VM's.
. "$(dirname "$0")/test-exec.sh"

PROBE="$INSTAR_BUILDDIR/sandbox-probe"
out=$("$PROBE" 2>&1)
check $? "sandbox-probe failed: $out"

for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
	echo "$out" | grep -q "^$cap:[[:space:]]*0000000000000000$"
	check $? "worker holds capabilities ($cap): $(echo "$out" | grep "^$cap")"
done
echo "$out" | grep -q "^NoNewPrivs:[[:space:]]*1$"
check $? "worker lacks no_new_privs"
echo "$out" | grep -q "^Seccomp:[[:space:]]*2$"
check $? "worker has no seccomp filter"

# Only: /dev/null on 0 and 1, stderr, the socket, the VM and the vCPU.
extra=$(echo "$out" | grep '^fd ' | grep -v -e '^fd 0: /dev/null$' \
    -e '^fd 1: /dev/null$' -e '^fd 2: ' -e '^fd 3: socket:' \
    -e 'anon_inode:kvm-vm$' -e 'anon_inode:kvm-vcpu:0$')
[ -z "$extra" ]
check $? "worker holds unexpected descriptors: $extra"

# The worker refuses to run when not started by the monitor.
"$INSTAR_BUILDDIR/instar-worker" 3</dev/null >/dev/null 2>&1
[ $? -eq 1 ]
check $? "instar-worker ran without a monitor socket"

finish
