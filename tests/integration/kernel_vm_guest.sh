#!/bin/bash
# kernel_vm_guest.sh — runs INSIDE the VM started by kernel_vm.sh (chrooted into the host root,
# shared read-only over 9p; /tmp is the guest's tmpfs). It checks what the dm backend relies on:
#
#   dm_error_fails_fsync_of_chosen_block         an `error` target over the 8 sectors holding a
#       file's block: the fsync of a rewrite fails with EIO once, the retry returns 0 (fsyncgate),
#       the page cache keeps the new data until drop_caches; after it a read fails too (the error
#       target fails reads as well as writes); on the plain device the disk keeps the old data.
#   dm_error_spares_other_blocks_and_flushes     with the same table, another file's fsync succeeds,
#       and a cache flush of a device built like that table succeeds (dm does not send flushes to
#       the error target): dm-error is the precise tool.
#   dm_flakey_error_writes_fails_fsync_and_flushes  flakey `error_writes` fails the fsync, and also
#       a bare cache flush with nothing dirty: every fsync on that device fails, related or not.
#   dm_flakey_drop_writes_loses_acknowledged_data   flakey `drop_writes`: fsync returns 0, and
#       after a remount the file holds its old data.
#   dm_dust_not_available                        Debian's kernel package has no dm-dust
#       (CONFIG_DM_DUST unset, as kernel_vm.sh found) and `dmsetup create` of a dust target fails.
#   harness_dm_backend                           the harness's own dm code (test_kernel_dm, built on
#       the host and passed as fsynclab.dm_test=PATH) passes here, where dm exists.
#
# Each case prints "FSYNCLAB-VM: ok NAME" or "FSYNCLAB-VM: FAIL NAME: why" on the console.
set -u
export DM_DISABLE_UDEV=1
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
failures=0
say() { echo "FSYNCLAB-VM: $*"; }
ok() { say "ok $1"; }
fail() {
	say "FAIL $1: $2"
	failures=$((failures + 1))
}
dm() { dmsetup --noudevsync "$@"; }

dust_in_package=unknown
dm_test=none
for w in $(cat /proc/cmdline); do
	case "$w" in
	fsynclab.dust_in_package=*) dust_in_package=${w#fsynclab.dust_in_package=} ;;
	fsynclab.dm_test=*) dm_test=${w#fsynclab.dm_test=} ;;
	esac
done
say "kernel $(uname -r)"

# Two loop devices over tmpfs files: one carries an ext4, the other stays raw for flush checks.
truncate -s 64M /tmp/disk.img /tmp/raw.img || exit 1
loop=$(losetup -f --show /tmp/disk.img) || exit 1
raw=$(losetup -f --show /tmp/raw.img) || exit 1
mkfs.ext4 -q -F -b 4096 "$loop" >/dev/null || exit 1
size=$(blockdev --getsz "$loop")
mnt=/tmp/mnt
mkdir -p $mnt

# first_byte FILE — the first byte of FILE as read now (page cache or disk).
first_byte() { head -c1 "$1"; }
# rewrite FILE CHAR — overwrite FILE's first 4 KiB with CHAR and fsync; prints xfs_io's output.
rewrite() { xfs_io -f -c "pwrite -q -S $(printf '0x%02x' "'$2") 0 4096" -c fsync "$1" 2>&1; }
# sector_of FILE — the first 512-byte sector of FILE's block 0 on the device (FIEMAP).
sector_of() { xfs_io -c "fiemap" "$1" | awk '$1 == "0:" { split($3, r, "[.][.]"); print r[1]; exit }'; }

# A fresh filesystem state: A.dat full of 'A', B.dat full of 'B', both durable.
mount "$loop" $mnt || exit 1
rewrite $mnt/A.dat A >/dev/null
rewrite $mnt/B.dat B >/dev/null
sync
secA=$(sector_of $mnt/A.dat)
secB=$(sector_of $mnt/B.dat)
umount $mnt
say "A.dat at sector $secA, B.dat at sector $secB, device $size sectors"

# --- dm-error over A.dat's block -------------------------------------------------------------------
end=$((secA + 8))
dm create fsl-err --table "0 $secA linear $loop 0
$secA 8 error
$end $((size - end)) linear $loop $end" || fail dm_error_fails_fsync_of_chosen_block "dmsetup create"
mount /dev/mapper/fsl-err $mnt || fail dm_error_fails_fsync_of_chosen_block "mount"
out1=$(rewrite $mnt/A.dat N)
out2=$(xfs_io -c fsync $mnt/A.dat 2>&1)
cached=$(first_byte $mnt/A.dat)
echo 3 >/proc/sys/vm/drop_caches
dropped=$(first_byte $mnt/A.dat 2>&1)
outB=$(rewrite $mnt/B.dat b)
umount $mnt
dm remove fsl-err
mount "$loop" $mnt
after=$(first_byte $mnt/A.dat)
afterB=$(first_byte $mnt/B.dat)
umount $mnt
say "dm-error: first fsync '$out1', retry '$out2', cached '$cached', after drop_caches '$dropped', after remount '$after'"
if [[ "$out1" == *"Input/output error"* && -z "$out2" && "$cached" == N && "$dropped" == *"Input/output error"* && "$after" == A ]]; then
	ok dm_error_fails_fsync_of_chosen_block
else
	fail dm_error_fails_fsync_of_chosen_block "expected EIO, then 0, N cached, EIO reading after drop_caches, A after remount"
fi
# The same table shape on the raw device: a bare flush (nothing dirty) is not failed.
rsize=$(blockdev --getsz "$raw")
dm create fsl-rawerr --table "0 $secA linear $raw 0
$secA 8 error
$end $((rsize - end)) linear $raw $end"
outF=$(xfs_io -c fsync /dev/mapper/fsl-rawerr 2>&1)
dm remove fsl-rawerr
say "dm-error: other file's fsync '$outB' (reads back '$afterB'), bare flush '$outF'"
if [[ -z "$outB" && "$afterB" == b && -z "$outF" ]]; then
	ok dm_error_spares_other_blocks_and_flushes
else
	fail dm_error_spares_other_blocks_and_flushes "expected B's fsync and the bare flush to succeed"
fi

# --- dm-flakey: mount over a linear table, then switch the table under the mounted fs ------------
# switch_table NAME TABLE — suspend (which syncs the fs), load TABLE, resume.
# switch_table NAME TABLE [--nolockfs] — suspend (which syncs the fs unless --nolockfs), load
# TABLE, resume.
switch_table() { dm suspend ${3:-} "$1" && dm reload "$1" --table "$2" && dm resume "$1"; }
dm create fsl-flakey --table "0 $size linear $loop 0"
mount /dev/mapper/fsl-flakey $mnt
switch_table fsl-flakey "0 $size flakey $loop 0 0 3600 1 error_writes"
out1=$(rewrite $mnt/A.dat E)
switch_table fsl-flakey "0 $size linear $loop 0" --nolockfs
umount $mnt
dm remove fsl-flakey
dm create fsl-rawflakey --table "0 $rsize flakey $raw 0 0 3600 1 error_writes"
outF=$(xfs_io -c fsync /dev/mapper/fsl-rawflakey 2>&1)
dm remove fsl-rawflakey
say "dm-flakey error_writes: fsync '$out1', bare flush '$outF'"
if [[ "$out1" == *"Input/output error"* && "$outF" == *"Input/output error"* ]]; then
	ok dm_flakey_error_writes_fails_fsync_and_flushes
else
	fail dm_flakey_error_writes_fails_fsync_and_flushes "expected EIO from the fsync and from the bare flush"
fi

# drop_writes on a fresh filesystem (error_writes may have aborted the journal of the last one).
mkfs.ext4 -q -F -b 4096 "$loop" >/dev/null
mount "$loop" $mnt
rewrite $mnt/A.dat A >/dev/null
sync
umount $mnt
dm create fsl-flakey --table "0 $size linear $loop 0"
mount /dev/mapper/fsl-flakey $mnt
switch_table fsl-flakey "0 $size flakey $loop 0 0 3600 1 drop_writes"
out1=$(rewrite $mnt/A.dat D)
cached=$(first_byte $mnt/A.dat)
switch_table fsl-flakey "0 $size linear $loop 0" --nolockfs
umount $mnt
dm remove fsl-flakey
mount "$loop" $mnt
after=$(first_byte $mnt/A.dat)
umount $mnt
say "dm-flakey drop_writes: fsync '$out1', cached '$cached', after remount '$after'"
if [[ -z "$out1" && "$cached" == D && "$after" == A ]]; then
	ok dm_flakey_drop_writes_loses_acknowledged_data
else
	fail dm_flakey_drop_writes_loses_acknowledged_data "expected fsync 0, D cached, A after remount"
fi

# --- dm-dust ------------------------------------------------------------------------------------
if dm create fsl-dust --table "0 $rsize dust $raw 0 512" 2>/dev/null; then
	dm remove fsl-dust
	fail dm_dust_not_available "a dust target could be created"
elif [ "$dust_in_package" = no ]; then
	ok dm_dust_not_available
else
	fail dm_dust_not_available "dust target refused, but the package's config says '$dust_in_package'"
fi

# --- the harness's dm backend ------------------------------------------------------------------
if [ "$dm_test" != none ]; then
	mkdir -p /tmp/harness-dm
	"$dm_test" /tmp/harness-dm
	rc=$?
	if [ $rc = 0 ]; then ok harness_dm_backend; else fail harness_dm_backend "$dm_test exited $rc"; fi
fi

left=$(dmsetup ls 2>&1)
[[ "$left" == "No devices found" ]] || { say "device-mapper devices left: $left"; failures=$((failures + 1)); }
losetup -d "$raw" "$loop" || failures=$((failures + 1))
exit $((failures > 0))
