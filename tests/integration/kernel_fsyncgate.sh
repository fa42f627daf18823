#!/usr/bin/env bash
# kernel_fsyncgate.sh TEST_BINARY [CONFIG...] — mount fsynclab with --cache none on a temporary
# backing directory, run test_kernel_fsyncgate against it (real ext4/XFS/Btrfs on a loop device
# whose image lives on the mount), and clean up by path and PID on any exit: inner mounts and loop
# devices are the test binary's own business (it tears them down itself), the FUSE mount is ours.
# Afterwards nothing of ours may be left in /proc/mounts or attached to a loop device.
set -euo pipefail
test_bin=$1
shift
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -e /dev/fuse ] || { echo "SKIP: no /dev/fuse"; exit 77; }
for tool in mkfs.ext4 mkfs.xfs mkfs.btrfs; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool missing (scripts/packages.d/kernel.txt)"; exit 77; }
done
work=$(mktemp -d /tmp/fsynclab-kernel.XXXXXX)
mkdir "$work/backing" "$work/mnt"
mounted=0
cleanup() {
	if [ $mounted = 1 ]; then
		"$FSYNCLAB" umount "$work/mnt" || umount -l "$work/mnt" || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
if ! out=$("$FSYNCLAB" mount --cache none "$work/backing" "$work/mnt" 2>&1); then
	if [[ "$out" == *"not implemented in this build"* ]]; then
		echo "SKIP: $out"
		exit 77
	fi
	echo "FAIL: fsynclab mount --cache none: $out"
	exit 1
fi
mounted=1
status=0
"$test_bin" "$work/mnt" "$@" || status=$?
"$FSYNCLAB" umount "$work/mnt" || status=1
mounted=0
if grep -q "$work" /proc/mounts; then
	echo "FAIL: mounts left behind:"
	grep "$work" /proc/mounts
	status=1
fi
if losetup -a | grep -q "$work"; then
	echo "FAIL: loop devices left behind:"
	losetup -a | grep "$work"
	status=1
fi
exit $status
