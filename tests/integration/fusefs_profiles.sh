#!/bin/bash
# fusefs_profiles.sh — issue items 3 and 4: what each profile does after a failed writeback or
# a failed journal commit.
. "$(dirname "$0")/fusefs_lib.sh" "$@"

fail_block0_once() {
	echo "sh:$FSYNCLAB inject $1 --op writeback --path data --block 0 --errno EIO --times 1 >/dev/null"
}

say "keep-dirty: the retried fsync writes the page; after reboot the new data is there"
fs_mount kd --profile keep-dirty --writeback-interval never
"$FSIO" "open:1:$M/data:rwc" "write:1:0:4096:A" "fsync:1" "$(fail_block0_once "$M")" \
	"write:1:0:4096:B" "fsync=EIO:1" "fsync:1" "read:1:0:4096:B" "sh:$FSYNCLAB reboot $M" "read:1:0:4096:B"

say "ext4-data: the error is reported by the next fsync, not this one"
fs_mount e4d --profile ext4-data --writeback-interval never
"$FSIO" "open:1:$M/data:rwc" "write:1:0:4096:A" "fsync:1" "$(fail_block0_once "$M")" \
	"write:1:0:4096:B" "fsync:1" "fsync=EIO:1" "fsync:1" "read:1:0:4096:B" \
	"sh:$FSYNCLAB reboot $M" "read:1:0:4096:A"

say "btrfs: after a failed writeback, reads already show the old data"
fs_mount btrfs --profile btrfs --writeback-interval never
"$FSIO" "open:1:$M/data:rwc" "write:1:0:4096:A" "fsync:1" "$(fail_block0_once "$M")" \
	"write:1:0:4096:B" "fsync=EIO:1" "read:1:0:4096:A" "fsync:1" "open:2:$M/data:r" "read:2:0:4096:A"

say "btrfs: a failed append does not persist the size; ext4 leaves a block of zeros"
"$FSIO" "open:1:$M/append:rwc" "write:1:0:4096:A" "fsync:1" \
	"sh:$FSYNCLAB inject $M --op writeback --path append --block 1 --errno EIO --times 1 >/dev/null" \
	"write:1:4096:4096:B" "fsync=EIO:1" "sh:$FSYNCLAB reboot $M" "size:1:4096"
fs_mount e4app --profile ext4-ordered --writeback-interval never
"$FSIO" "open:1:$M/append:rwc" "write:1:0:4096:A" "fsync:1" \
	"sh:$FSYNCLAB inject $M --op writeback --path append --block 1 --errno EIO --times 1 >/dev/null" \
	"write:1:4096:4096:B" "fsync=EIO:1" "read:1:4096:4096:B" "sh:$FSYNCLAB reboot $M" "size:1:8192" \
	"read:1:4096:4096:0"

say "xfs: a journal failure shuts the filesystem down (every operation EIO) until remount"
fs_mount xfs --profile xfs --writeback-interval never
"$FSIO" "open:1:$M/data:rwc" "write:1:0:4096:A" "fsync:1" \
	"sh:$FSYNCLAB inject $M --op journal --errno EIO --times 1 >/dev/null" \
	"write:1:0:4096:B" "fsync=EIO:1" "read=EIO:1:0:4096:A" "write=EIO:1:0:10:C" "fsync=EIO:1" \
	"open=EIO:2:$M/other:rwc" "close:1"
"$FSYNCLAB" status "$M" --json | grep -Ec '"state": ?"shutdown"' >/dev/null
if stat "$M/data" 2>/dev/null; then
	echo "FAIL: stat works after an xfs shutdown" >&2
	exit 1
fi
fs_umount "$M"
"$FSYNCLAB" mount --profile xfs "$B" "$M"
# The data was written in place before the commit failed: it is on disk.
"$FSIO" "open:1:$M/data:r" "read:1:0:4096:B"

say "ext4: a journal failure makes the filesystem read-only (EROFS on writes, reads work)"
fs_mount e4ro --profile ext4-ordered --writeback-interval never
"$FSIO" "open:1:$M/data:rwc" "write:1:0:4096:A" "fsync:1" \
	"sh:$FSYNCLAB inject $M --op journal --errno EIO --times 1 >/dev/null" \
	"write:1:0:4096:B" "fsync=EIO:1" "write=EROFS:1:0:4096:C" "read:1:0:4096:B" \
	"open=EROFS:2:$M/new:rwc" "open:3:$M/data:r" "read:3:0:4096:B" "fsync=EIO:1"
"$FSYNCLAB" status "$M" --json | grep -Ec '"state": ?"read-only"' >/dev/null
expect_eq "mkdir on a read-only fs" "$(mkdir "$M/d" 2>&1 | grep -c 'Read-only file system')" 1
say "a power cut brings it back (a remount); the data written before the failed commit is on disk"
"$FSYNCLAB" reboot "$M"
"$FSIO" "open:1:$M/data:rw" "read:1:0:4096:B" "write:1:0:4096:D" "fsync:1"
echo PASS
