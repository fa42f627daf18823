#!/bin/bash
# fusefs_unsynced.sh — issue item 6: a write without fsync is lost at a power cut, with fsync it
# survives, and background writeback (after the interval, or past the background threshold of
# dirty pages) makes it durable without fsync.
. "$(dirname "$0")/fusefs_lib.sh" "$@"

fs_mount never --writeback-interval never
say "write without fsync, reboot: gone; with fsync: kept"
"$FSIO" "open:1:$M/lost:rwc" "write:1:0:10000:L" "open:2:$M/kept:rwc" "write:2:0:10000:K" "fsync:2" \
	"sh:$FSYNCLAB reboot $M" "size:1:0" "read:2:0:10000:K"
"$FSIO" "open:1:$M/lost:r" "read:1:0:0:L" "size:1:0"
expect_eq "backing of the lost file" "$(stat -c %s "$B/lost")" 0

say "overwrite without fsync, reboot: the old data is back"
"$FSIO" "open:1:$M/kept:rw" "write:1:0:4096:N" "read:1:0:4096:N" "sh:$FSYNCLAB reboot $M" "read:1:0:10000:K"

say "background threshold: past 32 MiB of dirty pages a flusher writes back, no fsync, no interval"
dd if=/dev/zero of="$M/big" bs=1M count=48 status=none
for _ in $(seq 100); do
	[ "$(stat -c %s "$B/big")" -ge $((32 << 20)) ] && break
	sleep 0.1
done
[ "$(stat -c %s "$B/big")" -ge $((32 << 20)) ] || {
	echo "FAIL: 48 MiB written, $(stat -c %s "$B/big") bytes written back (expected >= 32 MiB)" >&2
	exit 1
}

fs_mount bg --writeback-interval 200ms
say "background writeback: dirty pages older than the interval reach the disk without fsync"
"$FSIO" "open:1:$M/bg:rwc" "write:1:0:10000:G" "sleep:900" "sh:$FSYNCLAB reboot $M" "read:1:0:10000:G"

fs_mount none --cache none
say "--cache none: every write goes straight through, nothing to lose"
"$FSIO" "open:1:$M/direct:rwc" "write:1:0:10000:D" "sh:$FSYNCLAB reboot $M" "read:1:0:10000:D"
echo PASS
