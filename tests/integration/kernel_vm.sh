#!/usr/bin/env bash
# kernel_vm.sh — the device-mapper backend tested for real, in a VM (ctest label `vm`).
#
# This machine's kernel has no device-mapper, so the dm backend (dm-error, dm-flakey) is checked
# under Debian's stock kernel (linux-image-amd64) booted by qemu-system-x86_64 with TCG:
#   - the kernel package is fetched with `apt-get download` and unpacked with `dpkg -x` into a cache
#     directory, /var/cache/fsynclab-vm by default, so that a fresh clone (CI) does not download it
#     again (never installed on the host; runs take turns with a lock while unpacking);
#   - a small initramfs (busybox-static + the kernel modules the tests need, in dependency order
#     from `modprobe --show-depends`) mounts the host root read-only over virtio-9p, mounts
#     proc/sys/dev/tmpfs inside it, and chroots into it to run kernel_vm_guest.sh, which uses the
#     host's own dmsetup, mkfs.ext4 and xfs_io;
#   - results come back over the serial console as "FSYNCLAB-VM: ..." lines, parsed here.
# The qemu process is started by this script, recorded by PID and killed by PID on any exit.
#
# Usage: kernel_vm.sh [TEST_KERNEL_DM] — the path of the built test_kernel_dm, run in the guest too.
# Environment: FSYNCLAB_VM_CACHE (cache dir; default /var/cache/fsynclab-vm), FSYNCLAB_VM_TIMEOUT (seconds,
# default 420). Exit 0 = every case passed, 1 = a case failed or the VM did not finish, 77 = skipped
# (not root, or a tool missing: install scripts/packages.d/kernel.txt).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
guest_script=$here/kernel_vm_guest.sh
dm_test=${1:-none}
timeout_s=${FSYNCLAB_VM_TIMEOUT:-420}

skip() {
	echo "SKIP: $*"
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (loop devices and device-mapper inside the VM are fine, but 9p passthrough of / needs it)"
for tool in qemu-system-x86_64 busybox apt-get dpkg depmod modprobe gzip; do
	command -v "$tool" >/dev/null || skip "'$tool' not found (install scripts/packages.d/kernel.txt)"
done
for tool in dmsetup mkfs.ext4 xfs_io filefrag; do
	command -v "$tool" >/dev/null || skip "'$tool' not found: the guest runs the host's copy"
done
busybox_bin=$(command -v busybox)
{ ldd "$busybox_bin" 2>&1 || true; } | grep -q "not a dynamic" || skip "$busybox_bin is not static (install busybox-static)"

work=$(mktemp -d /tmp/fsynclab-vm.XXXXXX)
qemu_pid=
cleanup() {
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP

# --- the kernel: Debian's linux-image-amd64, downloaded once into a cache -----------------------
cache=${FSYNCLAB_VM_CACHE:-/var/cache/fsynclab-vm}
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9 # another run may be unpacking the same package: wait for it
image_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}') || true
if [ -z "$image_pkg" ]; then
	apt-get update -qq >/dev/null 2>&1 || true
	image_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}') || true
fi
[ -n "$image_pkg" ] || skip "cannot resolve linux-image-amd64 (apt lists unavailable)"
root=$cache/$image_pkg
if [ ! -f "$root/.unpacked" ]; then
	rm -rf "$root" "$cache"/*.deb
	(cd "$cache" && apt-get download "$image_pkg" >/dev/null 2>&1) || {
		echo "FAIL: apt-get download $image_pkg"
		exit 1
	}
	dpkg -x "$cache"/"$image_pkg"_*.deb "$root"
	rm -f "$cache"/*.deb
	kver=$(ls "$root/lib/modules")
	depmod -b "$root" "$kver"
	touch "$root/.unpacked"
fi
flock -u 9
kver=$(ls "$root/lib/modules")
vmlinuz=$root/boot/vmlinuz-$kver
echo "== kernel $kver from $image_pkg"

# The package itself says whether dm-dust exists: it is not built (CONFIG_DM_DUST unset).
if grep -q '^CONFIG_DM_DUST=' "$root/boot/config-$kver"; then
	dust_in_package=yes
else
	dust_in_package=no
fi

# --- the initramfs: busybox, the modules, /init -------------------------------------------------
ird=$work/initramfs
mkdir -p "$ird"/{bin,dev,proc,sys,host,modules,payload}
cp "$busybox_bin" "$ird/bin/busybox"
# The guest's /tmp is a fresh tmpfs, and the source or build tree may live under the host's /tmp
# (CI clones there): carry the guest script and the test binary inside the initramfs instead.
cp "$guest_script" "$ird/payload/kernel_vm_guest.sh"
if [ "$dm_test" != none ]; then
	cp "$dm_test" "$ird/payload/dm_test"
fi
: >"$ird/modules.list"
for m in virtio_pci 9pnet_virtio 9p loop dm-mod dm-flakey ext4; do
	modprobe -d "$root" -S "$kver" --show-depends "$m" | awk '$1=="insmod"{print $2}' | while read -r ko; do
		base=$(basename "$ko")
		if ! grep -qx "$base" "$ird/modules.list"; then
			cp "$ko" "$ird/modules/$base"
			echo "$base" >>"$ird/modules.list"
		fi
	done
done
cat >"$ird/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules.list); do insmod /modules/$m || echo "insmod $m failed (a CPU-specific variant may not apply)"; done
script=
for w in $(cat /proc/cmdline); do case "$w" in fsynclab.script=*) script=${w#fsynclab.script=} ;; esac; done
if mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /host; then
	mount -t proc proc /host/proc
	mount -t sysfs sysfs /host/sys
	mount -t devtmpfs devtmpfs /host/dev
	mount -t tmpfs tmpfs /host/tmp
	mount -t tmpfs tmpfs /host/run
	mkdir -p /host/tmp/payload && cp /payload/* /host/tmp/payload/
	chroot /host /bin/bash "$script"
	echo "FSYNCLAB-VM: guest script exit $?"
else
	echo "FSYNCLAB-VM: cannot mount the host root over 9p"
fi
sync
reboot -f
EOF
chmod +x "$ird/init"
(cd "$ird" && find . | "$busybox_bin" cpio -o -H newc 2>/dev/null | gzip -1) >"$work/initramfs.gz"

guest_dm_test=none
[ "$dm_test" = none ] || guest_dm_test=/tmp/payload/dm_test

# --- boot ---------------------------------------------------------------------------------------
log=$work/console.log
start=$(date +%s)
qemu-system-x86_64 -accel tcg -m 768 -smp 1 -no-reboot -display none -monitor none \
	-serial "file:$log" -kernel "$vmlinuz" -initrd "$work/initramfs.gz" \
	-append "console=ttyS0 panic=-1 quiet loglevel=3 fsynclab.script=/tmp/payload/kernel_vm_guest.sh fsynclab.dust_in_package=$dust_in_package fsynclab.dm_test=$guest_dm_test" \
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" &
qemu_pid=$!
deadline=$((start + timeout_s))
while kill -0 "$qemu_pid" 2>/dev/null; do
	if [ "$(date +%s)" -ge "$deadline" ]; then
		echo "FAIL: the VM did not finish within ${timeout_s}s; console:"
		cat "$log"
		exit 1
	fi
	sleep 1
done
wait "$qemu_pid" || true
qemu_pid=
echo "== VM ran $(($(date +%s) - start))s"
grep -a 'FSYNCLAB-VM' "$log" || true

# --- verdict: every expected case reported ok, and the guest finished ---------------------------
status=0
for case in dm_error_fails_fsync_of_chosen_block dm_error_spares_other_blocks_and_flushes \
	dm_flakey_error_writes_fails_fsync_and_flushes dm_flakey_drop_writes_loses_acknowledged_data \
	dm_dust_not_available $([ "$dm_test" != none ] && echo harness_dm_backend); do
	if ! grep -aq "FSYNCLAB-VM: ok $case" "$log"; then
		echo "FAIL: case $case did not report ok"
		status=1
	fi
done
grep -aq 'FSYNCLAB-VM: guest script exit 0' "$log" || {
	echo "FAIL: the guest script did not finish cleanly; console:"
	cat "$log"
	status=1
}
[ $status = 0 ] && echo "PASS: device-mapper backend in the VM ($kver)"
exit $status
