# The worker runs confined: no capabilities, no_new_privs, a seccomp
# filter, no root uid, namespaces of its own where the kernel allows,
# the file size limit of its job, and no descriptors beyond its socket
# and the VM's.  Every kind of job is looked at, as it waits for images.
. "$(dirname "$0")/test-exec.sh"

PROBE="$INSTAR_BUILDDIR/sandbox-probe"

# Whether this kernel lets root (the tests' user when root) take these
# namespaces at all; where it does not, the worker falls back.
root_ns=false
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null 2>&1 &&
    unshare -i -m true 2>/dev/null; then
	root_ns=true
fi

for job in info check check-repair rebase commit; do
	out=$("$PROBE" "$job" 2>&1)
	check $? "sandbox-probe $job failed: $out"

	for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
		echo "$out" | grep -q "^$cap:[[:space:]]*0000000000000000$"
		check $? "$job: worker holds capabilities ($cap):" \
		    "$(echo "$out" | grep "^$cap")"
	done
	echo "$out" | grep -q "^NoNewPrivs:[[:space:]]*1$"
	check $? "$job: worker lacks no_new_privs"
	echo "$out" | grep -q "^Seccomp:[[:space:]]*2$"
	check $? "$job: worker has no seccomp filter"

	# Started by root, it is nobody, real, effective, saved and file
	# system ids alike, with no groups; otherwise who it was.
	if [ "$(id -u)" -eq 0 ]; then
		echo "$out" | grep -q "^Uid:[[:space:]]*65534[[:space:]]*65534[[:space:]]*65534[[:space:]]*65534$"
		check $? "$job: root's worker keeps a root uid:" \
		    "$(echo "$out" | grep '^Uid:')"
		echo "$out" | grep -q "^Gid:[[:space:]]*65534[[:space:]]*65534[[:space:]]*65534[[:space:]]*65534$"
		check $? "$job: root's worker keeps a root gid:" \
		    "$(echo "$out" | grep '^Gid:')"
		echo "$out" | grep -q "^Groups:[[:space:]]*$"
		check $? "$job: root's worker keeps groups:" \
		    "$(echo "$out" | grep '^Groups:')"
	else
		echo "$out" | grep -q "^Uid:[[:space:]]*$(id -u)[[:space:]]"
		check $? "$job: worker runs as another user:" \
		    "$(echo "$out" | grep '^Uid:')"
	fi
	if $root_ns; then
		for ns in ipc mnt; do
			echo "$out" | grep -q "^ns $ns new$"
			check $? "$job: worker shares the $ns namespace:" \
			    "$(echo "$out" | grep "^ns $ns ")"
		done
		echo "$out" | grep -q "^ns user shared$"
		check $? "$job: root's worker has a user namespace of its own"
	fi

	# A job that writes nothing cannot grow any file; one that writes
	# sets its limit per guest run, from the images it is given.
	case $job in
	info|check)
		echo "$out" | grep -q "^fsize 0 0$"
		check $? "$job: worker may grow files:" \
		    "$(echo "$out" | grep '^fsize')"
		;;
	*)
		echo "$out" | grep -q "^fsize " &&
		    ! echo "$out" | grep -q "^fsize 0 "
		check $? "$job: writing worker cannot write:" \
		    "$(echo "$out" | grep '^fsize')"
		;;
	esac

	# Only: /dev/null on 0 and 1, stderr, the socket, the VM and the
	# vCPU, which take the lowest numbers after the socket: the images
	# it receives then land above every descriptor it holds.
	extra=$(echo "$out" | grep '^fd ' | grep -v -e '^fd 0: /dev/null$' \
	    -e '^fd 1: /dev/null$' -e '^fd 2: ' -e '^fd 3: socket:' \
	    -e '^fd 4: anon_inode:kvm-vm$' -e '^fd 5: anon_inode:kvm-vcpu:0$')
	[ -z "$extra" ]
	check $? "$job: worker holds unexpected descriptors: $extra"
done

# The worker refuses to run when not started by the monitor.
"$INSTAR_BUILDDIR/instar-worker" 3</dev/null >/dev/null 2>&1
[ $? -eq 1 ]
check $? "instar-worker ran without a monitor socket"

finish
