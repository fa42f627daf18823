#!/bin/bash
# fusefs_passthrough.sh — issue item 1: with no rules, a faithful passthrough, in both cache
# modes; after a clean umount the backing directory holds what was written.
. "$(dirname "$0")/fusefs_lib.sh" "$@"

for cache in emulate none; do
	say "passthrough checks, --cache $cache"
	fs_mount "pt-$cache" --cache "$cache"
	"$PASSCHECK" "$M" "$B"
	fs_umount "$M"
	expect_eq "content after umount ($cache)" "$(cat "$B/dir2/c")" beta
	expect_eq "append after umount ($cache)" "$(cat "$B/trunc")" abcdef
	expect_eq "hard link count ($cache)" "$(stat -c %h "$B/hard")" 2
done
echo PASS
