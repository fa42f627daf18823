#!/bin/bash
# fusefs_fsyncgate.sh — issue item 2: fsyncgate on ext4-ordered, with a power cut (`reboot`)
# revealing what the disk holds; and umount+mount as a clean reboot.
. "$(dirname "$0")/fusefs_lib.sh" "$@"

fs_mount ext4 --profile ext4-ordered --writeback-interval never
F=$M/data
say "write block 0, fsync OK; writeback EIO once; overwrite; fsync EIO; fsync 0; read new; reboot; read old"
"$FSIO" "open:1:$F:rwc" "write:1:0:4096:A" "fsync:1" \
	"sh:$FSYNCLAB inject $M --op writeback --path data --block 0 --errno EIO --times 1 >/dev/null" \
	"write:1:0:4096:B" "fsync=EIO:1" "fsync:1" "read:1:0:4096:B" \
	"sh:$FSYNCLAB reboot $M" "read:1:0:4096:A" "close:1"
say "a fresh open after the reboot reads the old data too"
"$FSIO" "open:1:$F:r" "read:1:0:4096:A"
say "status shows the recorded error"
"$FSYNCLAB" status "$M" --json | grep -Ec '"errno": ?"EIO"' >/dev/null

say "reboot drops unsynced writes; umount writes dirty pages back (a clean reboot)"
"$FSIO" "open:1:$M/clean:rwc" "sh:sync $M" "write:1:0:8192:C" "close:1" # sync DIR: the name is durable
"$FSYNCLAB" reboot "$M"
"$FSIO" "open:1:$M/clean:rw" "size:1:0" "write:1:0:8192:D" "close:1"
fs_umount "$M"
expect_eq "backing after clean umount" "$(tr -d D < "$B/clean" | wc -c)" 0
expect_eq "backing size" "$(stat -c %s "$B/clean")" 8192
"$FSYNCLAB" mount "$B" "$M"
"$FSIO" "open:1:$M/clean:r" "read:1:0:8192:D" "open:2:$F:r" "read:2:0:4096:A"
echo PASS
