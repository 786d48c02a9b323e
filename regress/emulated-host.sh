#!/bin/sh
# emulated-host.sh COMMAND [ARG...]
#
# Runs COMMAND, in the current directory, on an emulated AMD SVM host:
# qemu-system-x86_64 with TCG and "-cpu max,+svm" boots Debian's kernel,
# loads kvm and kvm-amd, and so has a real /dev/kvm backed by nested SVM.
# The emulated host sees this machine's root file system over 9p (read
# and written as it is), with its own /dev, /proc, /sys, /run and a
# tmpfs /tmp, so the same binaries, libraries and build tree are used.
# With EMULATED_HOST_DISK set, /tmp is ext4 on a sparse scratch disk of
# that size instead, for tests that need O_DIRECT (qemu-img -t none),
# which tmpfs refuses.  Exits
# with COMMAND's status, or 124 when the emulated host stopped (or was
# stopped by the timeout) before COMMAND ended.
#
# This is how instar is shown to run on ordinary (non-paravirtual) KVM,
# and how its KVM tests run on a host that has no /dev/kvm of its own.
# Everything comes from Debian packages: qemu-system-x86, linux-image-amd64,
# busybox-static.
#
# Environment: EMULATED_HOST_MEM (MiB, default 6144), EMULATED_HOST_DISK
# (a scratch disk's size for /tmp, e.g. 32G; unset: tmpfs), EMULATED_HOST_CPUS
# (default: nproc), EMULATED_HOST_TCG_THREADS (single, the default, or multi),
# EMULATED_HOST_KERNEL (default: the newest
# /boot/vmlinuz-*), EMULATED_HOST_TIMEOUT (seconds, default 5400),
# EMULATED_HOST_WATCH (seconds without any new process after which every
# task's state and kernel stack is printed, default 300), EMULATED_HOST_FROZEN
# (seconds without a heartbeat from the emulated host after which it is
# taken as frozen and stopped, status 124; default 300).
set -eu

die() {
	echo "emulated-host: $*" >&2
	exit 1
}

[ $# -gt 0 ] || die "usage: emulated-host.sh COMMAND [ARG...]"

kernel=${EMULATED_HOST_KERNEL:-$(ls /boot/vmlinuz-* 2>/dev/null |
    sort -V | tail -n 1)}
[ -n "$kernel" ] && [ -r "$kernel" ] ||
    die "no kernel in /boot (install linux-image-amd64)"
kver=${kernel#*/vmlinuz-}
moddir=/lib/modules/$kver
[ -d "$moddir" ] || die "no modules for $kver in $moddir"
qemu=$(command -v qemu-system-x86_64) ||
    die "qemu-system-x86_64 not found (install qemu-system-x86)"
busybox=$(command -v busybox) || die "busybox not found (install busybox-static)"
for tool in cpio gzip modprobe xz; do
	command -v $tool >/dev/null 2>&1 || die "$tool not found"
done

mem=${EMULATED_HOST_MEM:-6144}
disk=${EMULATED_HOST_DISK:-}
cpus=${EMULATED_HOST_CPUS:-$(nproc)}
limit=${EMULATED_HOST_TIMEOUT:-5400}
# One host thread for all vCPUs: with one thread per vCPU (MTTCG) the
# emulated machine froze, all of it, after some 40 to 50 KVM guest runs
# in a row (seen again and again with instar info in a loop); with one
# thread it ran 120 of them without a stall, each in half the time.
tcg_threads=${EMULATED_HOST_TCG_THREADS:-single}

# Not under /tmp: the emulated host mounts a tmpfs of its own there.
state=$(mktemp -d /var/tmp/emulated-host.XXXXXX)
trap 'rm -rf "$state"' EXIT
mkdir -p "$state/initrd/bin" "$state/initrd/mods" "$state/initrd/newroot"

# The modules that reach the 9p root, in the order modprobe loads them.
n=0
for m in virtio_pci 9pnet_virtio 9p; do
	modprobe --show-depends -S "$kver" "$m" | while read -r cmd path _; do
		[ "$cmd" = insmod ] || continue
		echo "$path"
	done
done | awk '!seen[$0]++' >"$state/modlist"
# busybox's insmod takes plain modules: newer Debian kernels ship them
# compressed with xz.
while read -r path; do
	n=$((n + 1))
	dest=$state/initrd/mods/$(printf '%02d' $n)-$(basename "${path%.xz}")
	case $path in
	*.ko.xz) xz -dc "$path" >"$dest" || die "cannot unpack $path" ;;
	*) cp "$path" "$dest" ;;
	esac
done <"$state/modlist"
cp "$busybox" "$state/initrd/bin/busybox"

# Stage 1, in the initramfs: mount this machine's root and enter it.
cat >"$state/initrd/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc 2>/dev/null || {
	/bin/busybox mkdir -p /proc && /bin/busybox mount -t proc proc /proc; }
for m in /mods/*.ko; do /bin/busybox insmod "$m" || echo "insmod $m failed"; done
/bin/busybox mount -t 9p -o trans=virtio,version=9p2000.L,msize=1048576,cache=mmap \
    hostroot /newroot || { echo "emulated-host: cannot mount the root"; \
    /bin/busybox poweroff -f; }
stage2=$(/bin/busybox sed -n 's/.*emulated_host.stage2=\([^ ]*\).*/\1/p' /proc/cmdline)
exec /bin/busybox chroot /newroot /bin/sh "$stage2"
EOF
chmod +x "$state/initrd/init"
mkdir -p "$state/initrd/proc"
(cd "$state/initrd" && find . | cpio -o -H newc --quiet | gzip -1) \
    >"$state/initrd.gz"

drive=
if [ -n "$disk" ]; then
	truncate -s "$disk" "$state/scratch.img"
	drive="-drive file=$state/scratch.img,format=raw,if=virtio,cache=unsafe"
fi

# Stage 2, on the shared root: a host with KVM, then the command.
: >"$state/rc"
{
	echo '#!/bin/sh'
	echo 'mount -t proc proc /proc; mount -t sysfs sysfs /sys'
	echo 'mount -t devtmpfs devtmpfs /dev; mkdir -p /dev/pts /dev/shm'
	echo 'mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /dev/shm'
	# What udev would make: bash's <(...) and qemu-iotests need /dev/fd.
	echo 'ln -sf /proc/self/fd /dev/fd; ln -sf /proc/self/fd/0 /dev/stdin'
	echo 'ln -sf /proc/self/fd/1 /dev/stdout; ln -sf /proc/self/fd/2 /dev/stderr'
	echo 'mount -t tmpfs tmpfs /run'
	if [ -n "$disk" ]; then
		echo "modprobe -S $kver virtio_blk"
		echo 'mkfs.ext4 -q -F -E lazy_itable_init=1,lazy_journal_init=1 /dev/vda &&'
		echo '    mount -o noinit_itable /dev/vda /tmp && chmod 1777 /tmp ||'
		echo '    { echo "emulated-host: no scratch disk for /tmp"; exit 1; }'
	else
		echo 'mount -t tmpfs -o size=90% tmpfs /tmp'
	fi
	echo "modprobe -S $kver kvm_amd || echo 'emulated-host: kvm_amd did not load'"
	echo 'ip link set lo up 2>/dev/null'
	# A stall watchdog: when no process at all was created for a whole
	# period (tests fork all the time), print what every task is doing,
	# so that a run which stops making progress says where it stopped.
	printf 'watch_period=%s\n' "${EMULATED_HOST_WATCH:-300}"
	cat <<'WATCH'
(
	trap - INT
	while :; do
		sleep "$watch_period" & s=$!
		wait $s
		read -r last </proc/sys/kernel/ns_last_pid
		[ "$last" = "$s" ] || continue
		up=$(cut -d' ' -f1 /proc/uptime)
		echo "emulated-host: no new process for ${watch_period}s at ${up}s; tasks:"
		for d in /proc/[0-9]*; do
			[ "${d#/proc/}" = "$$" ] && continue
			read -r stat <"$d/stat" 2>/dev/null || continue
			cmd=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)
			[ -n "$cmd" ] || continue
			echo "  $stat" | cut -d' ' -f1-5 | tr '\n' ' '
			echo "wchan=$(cat "$d/wchan" 2>/dev/null) $cmd" | cut -c1-200
			sed 's/^/      /' "$d/stack" 2>/dev/null | head -n 12
		done
	done
) &
WATCH
	# A heartbeat on the shared root: the machine outside stops an
	# emulated host that no longer beats (a frozen machine cannot print
	# its own stacks), instead of waiting for the whole time limit.
	printf 'beat=%s\n' "'$state/beat'"
	cat <<'BEAT'
( trap - INT; while :; do cut -d' ' -f1 /proc/uptime >"$beat"; sleep 20; done ) &
echo "emulated-host: up after $(cut -d' ' -f1 /proc/uptime)s" >&2
BEAT
	printf 'cd %s\n' "$(pwd | sed "s/'/'\\\\''/g; s/^/'/; s/\$/'/")"
	printf 'export PATH=%s\n' "'$PATH'"
	printf 'export HOME=/root TERM=dumb\n'
	for a in "$@"; do
		printf "'%s' " "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")"
	done
	echo '</dev/null'
	echo "echo \$? >'$state/rc'"
	# init must outlive the power-off request, or the kernel panics.
	echo 'sync; echo o >/proc/sysrq-trigger; sleep 60'
} >"$state/stage2"
chmod +x "$state/stage2"

# Boot counts as a beat: the first one comes when stage 2 starts.
frozen=${EMULATED_HOST_FROZEN:-300}
: >"$state/beat"
timeout "$limit" "$qemu" -accel tcg,thread="$tcg_threads" -cpu max,+svm \
    -smp "$cpus" -m "$mem" -nographic -no-reboot -nodefaults \
    -serial stdio -kernel "$kernel" -initrd "$state/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1 emulated_host.stage2=$state/stage2" \
    $drive \
    -virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,multidevs=remap,id=hostroot \
    </dev/null &
qemu_pid=$!
while kill -0 $qemu_pid 2>/dev/null; do
	sleep 10
	now=$(date +%s)
	last=$(stat -c %Y "$state/beat")
	if [ $((now - last)) -gt "$frozen" ]; then
		echo "emulated-host: no heartbeat for $((now - last))s" \
		    "(last: $(cat "$state/beat" 2>/dev/null || echo none)s" \
		    "after boot); stopping the frozen host" >&2
		kill $qemu_pid 2>/dev/null
		break
	fi
done
wait $qemu_pid 2>/dev/null || true
rc=$(cat "$state/rc" 2>/dev/null)
if [ -z "$rc" ]; then
	echo "emulated-host: the emulated host stopped before the command ended" >&2
	exit 124
fi
exit "$rc"
