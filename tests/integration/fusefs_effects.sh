#!/bin/bash
# fusefs_effects.sh — issue item 8: data effects are visible after reboot exactly as described:
# corrupt flips one byte per 512-byte sector (at writeback, or on read), torn persists a prefix of
# sectors, lost persists nothing, misdirected lands on the neighbouring block, delay adds latency.
. "$(dirname "$0")/fusefs_lib.sh" "$@"

fs_mount fx --writeback-interval never
F=$M/f
old_then_new() { # old_then_new EFFECT BLOCK: A on disk, B written over block BLOCK with EFFECT
	"$FSIO" "open:1:$F:rwct" "write:1:0:8192:A" "fsync:1" \
		"sh:$FSYNCLAB inject $M --op writeback --path f --block $2 --effect $1 --times 1 >/dev/null" \
		"write:1:$(($2 * 4096)):4096:B" "fsync:1" "read:1:$(($2 * 4096)):4096:B" \
		"sh:$FSYNCLAB reboot $M"
}

say "corrupt at writeback: memory fine until the reboot, then one byte per sector differs"
old_then_new corrupt 0
expect_eq "corrupted bytes in block 0" "$(head -c 4096 "$B/f" | tr -d B | wc -c)" 8
expect_eq "block 1 untouched" "$(tail -c 4096 "$B/f" | tr -d A | wc -c)" 0
if "$FSIO" "open:1:$F:r" "read:1:0:4096:B" 2>/dev/null; then
	echo "FAIL: the corruption is not visible after reboot" >&2
	exit 1
fi

say "torn: a prefix of 512-byte sectors persists, the rest keeps the old data"
old_then_new torn 1
new=$(tail -c 4096 "$B/f" | tr -cd B | wc -c)
expect_eq "torn prefix is whole sectors" $((new % 512)) 0
if [ "$new" -lt 512 ] || [ "$new" -gt 3584 ]; then
	echo "FAIL: torn persisted $new new bytes" >&2
	exit 1
fi
expect_eq "torn is a prefix" "$(tail -c 4096 "$B/f" | head -c "$new" | tr -d B | wc -c)" 0
"$FSIO" "open:1:$F:r" "read:1:4096:$new:B" "read:1:$((4096 + new)):$((4096 - new)):A"

say "lost: success reported, nothing persisted"
old_then_new lost 0
"$FSIO" "open:1:$F:r" "read:1:0:8192:A"

say "misdirected: the block lands on its neighbour"
old_then_new misdirected 1
"$FSIO" "open:1:$F:r" "read:1:0:4096:B" "read:1:4096:4096:A"

say "corrupt on read: the disk is fine, the read is not"
"$FSIO" "open:1:$F:rwct" "write:1:0:4096:A" "fsync:1"
"$FSYNCLAB" inject "$M" --op read --path f --effect corrupt --times 1 >/dev/null
if "$FSIO" "open:1:$F:rd" "read:1:0:4096:A" 2>/dev/null; then
	echo "FAIL: read corruption not seen" >&2
	exit 1
fi
"$FSIO" "open:1:$F:rd" "read:1:0:4096:A"

say "delay: writeback takes at least the delay"
"$FSYNCLAB" inject "$M" --op writeback --path f --effect delay:300ms --times 1 >/dev/null
start=$(date +%s%N)
"$FSIO" "open:1:$F:rw" "write:1:0:4096:D" "fsync:1"
took=$((($(date +%s%N) - start) / 1000000))
if [ "$took" -lt 300 ]; then
	echo "FAIL: fsync with a 300ms writeback delay took ${took}ms" >&2
	exit 1
fi

fs_mount fxnone --cache none
F=$M/f
say "--cache none: data effects apply to the write request itself"
"$FSIO" "open:1:$F:rwc" "write:1:0:4096:A" \
	"sh:$FSYNCLAB inject $M --op write --path f --effect lost --times 1 >/dev/null" \
	"write:1:0:4096:B" "fsync:1" "sh:$FSYNCLAB reboot $M" "read:1:0:4096:A" \
	"sh:$FSYNCLAB inject $M --op write --path f --effect torn --times 1 >/dev/null" \
	"write:1:0:4096:C" "sh:$FSYNCLAB reboot $M" "read:1:0:512:C" "read:1:3584:512:A"
echo PASS
