#!/bin/bash
# fusefs_triggers.sh — issue item 7: ENOSPC on write and on fsync, EIO on reads of chosen blocks,
# and the triggers (--nth, --after, --times, --sequence, seeded --probability) on real calls.
. "$(dirname "$0")/fusefs_lib.sh" "$@"

for cache in emulate none; do
	fs_mount "t-$cache" --cache "$cache" --writeback-interval never
	F=$M/f
	inj() { "$FSYNCLAB" inject "$M" "$@" >/dev/null; }

	say "[$cache] ENOSPC on write (once), ENOSPC on fsync (once)"
	"$FSIO" "open:1:$F:rwc" "sh:$FSYNCLAB inject $M --op write --path f --errno ENOSPC --times 1 >/dev/null" \
		"write=ENOSPC:1:0:4096:A" "write:1:0:4096:A" \
		"sh:$FSYNCLAB inject $M --op fsync --path f --errno ENOSPC --times 1 >/dev/null" \
		"fsync=ENOSPC:1" "fsync:1"

	say "[$cache] EIO on reads of block 2 only"
	"$FSIO" "open:1:$F:rw" "write:1:0:16384:R" "fsync:1"
	inj --op read --path f --block 2 --errno EIO
	"$FSIO" "open:1:$F:rd" "read:1:0:4096:R" "read:1:4096:4096:R" "read=EIO:1:8192:4096:R" \
		"read:1:12288:4096:R"
	# A buffered read reaches the rules once the kernel's cache is gone (as after drop_caches).
	"$FSYNCLAB" reboot "$M"
	"$FSIO" "open:2:$F:r" "read=EIO:2:8192:4096:R" "read:2:0:4096:R"
	"$FSYNCLAB" clear "$M"

	say "[$cache] --nth 3, --after 2, --times 2, --sequence wxwX"
	"$FSIO" "open:1:$F:rw" "sh:$FSYNCLAB inject $M --op write --path f --errno EIO --nth 3 >/dev/null" \
		"pattern:1:5" >"$T/p"
	expect_eq "nth 3" "$(cat "$T/p")" "..x.."
	"$FSYNCLAB" clear "$M"
	"$FSIO" "open:1:$F:rw" "sh:$FSYNCLAB inject $M --op write --path f --errno EIO --after 2 >/dev/null" \
		"pattern:1:5" >"$T/p"
	expect_eq "after 2" "$(cat "$T/p")" "..xxx"
	"$FSYNCLAB" clear "$M"
	"$FSIO" "open:1:$F:rw" "sh:$FSYNCLAB inject $M --op write --path f --errno EIO --times 2 >/dev/null" \
		"pattern:1:5" >"$T/p"
	expect_eq "times 2" "$(cat "$T/p")" "xx..."
	"$FSYNCLAB" clear "$M"
	"$FSIO" "open:1:$F:rw" "sh:$FSYNCLAB inject $M --op write --path f --errno EIO --sequence wxwX >/dev/null" \
		"pattern:1:6" >"$T/p"
	expect_eq "sequence wxwX" "$(cat "$T/p")" ".x.xxx"
	"$FSYNCLAB" clear "$M"

	say "[$cache] probability: 0 never fires, 1 always, the same seed repeats, the rate is p"
	for p in 0 1; do
		"$FSIO" "open:1:$F:rw" \
			"sh:$FSYNCLAB inject $M --op write --path f --errno EIO --probability $p --seed 7 >/dev/null" \
			"pattern:1:50" >"$T/p"
		"$FSYNCLAB" clear "$M"
		want=$([ $p = 0 ] && printf '.%.0s' $(seq 50) || printf 'x%.0s' $(seq 50))
		expect_eq "probability $p" "$(cat "$T/p")" "$want"
	done
	for run in 1 2; do
		"$FSIO" "open:1:$F:rw" \
			"sh:$FSYNCLAB inject $M --op write --path f --errno EIO --probability 0.3 --seed 42 >/dev/null" \
			"pattern:1:400" >"$T/seeded$run"
		"$FSYNCLAB" clear "$M"
	done
	expect_eq "same seed, same failures" "$(cat "$T/seeded1")" "$(cat "$T/seeded2")"
	fails=$(tr -cd x <"$T/seeded1" | wc -c)
	if [ "$fails" -lt 80 ] || [ "$fails" -gt 160 ]; then
		echo "FAIL: probability 0.3 fired $fails times in 400 (expected about 120)" >&2
		exit 1
	fi
	"$FSIO" "open:1:$F:rw" \
		"sh:$FSYNCLAB inject $M --op write --path f --errno EIO --probability 0.3 --seed 43 >/dev/null" \
		"pattern:1:400" >"$T/seeded3"
	"$FSYNCLAB" clear "$M"
	if [ "$(cat "$T/seeded1")" = "$(cat "$T/seeded3")" ]; then
		echo "FAIL: seeds 42 and 43 gave the same failures" >&2
		exit 1
	fi
	say "[$cache] rules on other paths and on other ops do not touch f"
	inj --op write --path 'g*' --errno EIO
	inj --op unlink --path f --errno EIO
	"$FSIO" "open:1:$F:rw" "pattern:1:3" >"$T/p"
	expect_eq "other path" "$(cat "$T/p")" "..."
	if rm "$F" 2>/dev/null; then
		echo "FAIL: unlink rule did not fire" >&2
		exit 1
	fi
	"$FSYNCLAB" clear "$M"
	fs_umount "$M"
done
echo PASS
