#!/bin/bash
# faults_read_blocks.sh — read rules count the blocks the application reads, not the kernel's
# requests. A buffered read that misses the cache goes out as one readahead request for many
# pages; when it fails, the kernel re-reads page by page only what the reader needs. So a rule on
# block 5 fires when block 5 is read (EIO, or a short read that stops before it), never because a
# readahead of blocks 0-31 happened to cover it, and `hits` counts the failures the application saw.
# Also: O_DIRECT requests are matched whole; corrupt damages only the chosen block of a readahead;
# mmap gets SIGBUS; a block dirty in the emulated cache is served from memory (no rule fires);
# other block sizes. Reads reach the daemon only when the kernel's cache of f was dropped (drop).
. "$(dirname "$0")/fusefs_lib.sh" "$@"

BS=4096

# drop — forget the kernel's cached pages of $F, so the next read goes to the daemon.
drop() {
	dd if="$F" iflag=nocache count=0 status=none
}

# rd OFF LEN — one buffered read(2) of LEN bytes at byte OFF of $F (a new process each time):
# prints the byte count it returned, or "EIO" when it failed.
rd() {
	if dd if="$F" of="$T/rd.out" bs="$2" count=1 skip="$1" iflag=skip_bytes status=none 2>"$T/rd.err"; then
		stat -c %s "$T/rd.out"
	elif grep -q "Input/output error" "$T/rd.err"; then
		echo EIO
	else
		cat "$T/rd.err" >&2
		return 1
	fi
}

# rule ARGS... — arm a read rule on f; sets ID.
rule() {
	ID=$("$FSYNCLAB" inject "$M" --op read --path f "$@")
}

# count ID KEY — the rule's "matches" or "hits" from `status --json`.
count() {
	"$FSYNCLAB" status "$M" --json |
		python3 -c 'import json, sys
st = json.load(sys.stdin)
print([r for r in st["rules"] if r["id"] == int(sys.argv[1])][0][sys.argv[2]])' "$1" "$2"
}

# outcomes OFF LEN N — N reads of LEN bytes at OFF, each after a drop (so that it reaches the
# disk), their results joined by spaces.
outcomes() {
	local out=() i
	for i in $(seq "$3"); do
		drop
		out+=("$(rd "$1" "$2")")
	done
	echo "${out[*]}"
}

# A file of 64 blocks, on the disk (fsync'ed, so nothing of it is in the emulated cache).
make_file() {
	"$FSIO" "open:1:$F:rwct" "write:1:0:$((64 * BS)):R" "fsync:1"
}

for cache in emulate none; do
	fs_mount "rb-$cache" --cache "$cache" --writeback-interval never
	F=$M/f
	make_file

	say "[$cache] the kernel's readahead for a read of blocks 0-3 covers block 5 (the bug's setting)"
	# A rule that never fires still counts the blocks that reach the disk: block 5 is read.
	rule --block 5 --effect delay:1us --nth 1000000
	drop
	expect_eq "read of blocks 0-3" "$(rd 0 $((4 * BS)))" $((4 * BS))
	expect_eq "block 5 read from the disk by readahead" "$(count "$ID" matches)" 1
	"$FSYNCLAB" clear "$M"

	say "[$cache] --block 5 --times 1: blocks 0-3 read fine, block 5 fails once, then reads"
	rule --block 5 --errno EIO --times 1
	drop
	expect_eq "read of blocks 0-3" "$(rd 0 $((4 * BS)))" $((4 * BS))
	expect_eq "the readahead spent nothing" "$(count "$ID" matches) $(count "$ID" hits)" "0 0"
	expect_eq "read of block 5 (left behind by the readahead)" "$(rd $((5 * BS)) $BS)" EIO
	expect_eq "read of block 5 again" "$(rd $((5 * BS)) $BS)" $BS
	expect_eq "read of block 3" "$(rd $((3 * BS)) $BS)" $BS
	expect_eq "hits = failures seen" "$(count "$ID" hits)" 1
	"$FSYNCLAB" clear "$M"
	rule --block 5 --errno EIO --times 1
	drop
	expect_eq "after a drop, a read of block 3 alone" "$(rd $((3 * BS)) $BS)" $BS
	expect_eq "a read of block 5 alone (one-page readahead, then its retry)" "$(rd $((5 * BS)) $BS)" EIO
	expect_eq "and again" "$(rd $((5 * BS)) $BS)" $BS
	expect_eq "hits = failures seen" "$(count "$ID" hits)" 1
	"$FSYNCLAB" clear "$M"

	say "[$cache] a reboot drops the kernel's cache: pages left behind by a readahead are read afresh"
	rule --block 5 --errno EIO --times 1
	drop
	expect_eq "read of blocks 0-3" "$(rd 0 $((4 * BS)))" $((4 * BS))
	"$FSYNCLAB" reboot "$M"
	expect_eq "after the reboot, a read of block 5 alone" "$(rd $((5 * BS)) $BS)" EIO
	expect_eq "and again" "$(rd $((5 * BS)) $BS)" $BS
	expect_eq "hits = failures seen" "$(count "$ID" hits)" 1
	"$FSYNCLAB" clear "$M"

	say "[$cache] a 128 KiB read from block 0 stops short before block 5 (what read(2) does)"
	# Readahead fails; filemap_read re-reads pages 0-4 one by one, page 5 fails, and read(2)
	# returns the 5 blocks it copied: a short read, no errno. The next read starts at block 5.
	rule --block 5 --errno EIO --times 1
	drop
	expect_eq "dd bs=128k count=1" "$(rd 0 131072)" $((5 * BS))
	expect_eq "hits after the short read" "$(count "$ID" hits)" 1
	expect_eq "block 5 afterwards" "$(rd $((5 * BS)) $BS)" $BS
	expect_eq "all of it afterwards" "$(rd 0 131072)" 131072
	expect_eq "hits at the end" "$(count "$ID" hits)" 1
	"$FSYNCLAB" clear "$M"
	rule --block 5 --errno EIO
	drop
	expect_eq "a read starting at block 5, rule always on" "$(rd $((5 * BS)) 131072)" EIO
	expect_eq "the same read again" "$(rd $((5 * BS)) 131072)" EIO
	drop
	expect_eq "a read ending past it" "$(rd $((2 * BS)) $((8 * BS)))" $((3 * BS))
	expect_eq "hits = failures seen" "$(count "$ID" hits)" 3
	"$FSYNCLAB" clear "$M"

	say "[$cache] mmap: the fault's read fails with SIGBUS while the rule can fire"
	rule --block 5 --errno EIO
	drop
	rc=0
	python3 -c 'import mmap, os, sys
m = mmap.mmap(os.open(sys.argv[1], os.O_RDONLY), 0, prot=mmap.PROT_READ)
print(m[5 * 4096])' "$F" >/dev/null 2>&1 || rc=$?
	expect_eq "mmap read of block 5: killed by SIGBUS" "$rc" $((128 + 7))
	"$FSYNCLAB" clear "$M"

	say "[$cache] --nth 2 and --sequence count reads of the block (readahead-sized reads 4-6)"
	rule --block 5 --errno EIO --nth 2
	expect_eq "nth 2" "$(outcomes $((4 * BS)) $((3 * BS)) 4)" "12288 4096 12288 12288"
	expect_eq "nth 2 hits" "$(count "$ID" hits)" 1
	"$FSYNCLAB" clear "$M"
	rule --block 5 --errno EIO --sequence xwxW
	expect_eq "sequence xwxW" "$(outcomes $((4 * BS)) $((3 * BS)) 5)" "4096 12288 4096 12288 12288"
	expect_eq "sequence hits" "$(count "$ID" hits)" 2
	"$FSYNCLAB" clear "$M"

	say "[$cache] --probability with a seed: the same blocks fail in two runs"
	for seed in 42 42 43; do
		rule --blocks 0-63 --errno EIO --probability 0.3 --seed "$seed"
		got=()
		for g in $(seq 0 15); do
			drop
			got+=("$(rd $((g * 4 * BS)) $((4 * BS)))")
		done
		echo "${got[*]}" >"$T/prob.$seed.$ID"
		fails=$(tr ' ' '\n' <"$T/prob.$seed.$ID" | grep -cv "^$((4 * BS))\$" || true)
		expect_eq "seed $seed: hits = short or failed reads" "$(count "$ID" hits)" "$fails"
		"$FSYNCLAB" clear "$M"
	done
	runs=("$T"/prob.42.*)
	expect_eq "same seed, same failures" "$(cat "${runs[0]}")" "$(cat "${runs[1]}")"
	if [ "$(cat "${runs[0]}")" = "$(cat "$T"/prob.43.*)" ]; then
		echo "FAIL: seeds 42 and 43 failed the same reads: $(cat "${runs[0]}")" >&2
		exit 1
	fi
	if ! grep -qv "^$((4 * BS))\$" <(tr ' ' '\n' <"${runs[0]}"); then
		echo "FAIL: probability 0.3 over 64 blocks failed nothing" >&2
		exit 1
	fi

	say "[$cache] O_DIRECT: a 64 KiB read spanning block 5 is one request, matched and failed whole"
	rule --block 5 --errno EIO
	"$FSIO" "open:1:$F:rd" "read=EIO:1:0:65536:R" "read=EIO:1:0:65536:R" "read:1:$((6 * BS)):65536:R"
	expect_eq "O_DIRECT matches, hits" "$(count "$ID" matches) $(count "$ID" hits)" "2 2"
	"$FSYNCLAB" clear "$M"
	rule --block 5 --errno EIO --times 1
	"$FSIO" "open:1:$F:rd" "read=EIO:1:0:65536:R" "read:1:0:65536:R"
	expect_eq "O_DIRECT --times 1 hits" "$(count "$ID" hits)" 1
	"$FSYNCLAB" clear "$M"

	say "[$cache] a rule on the whole file fails the first read the application makes, once"
	rule --errno EIO --times 1
	drop
	if cat "$F" >/dev/null 2>"$T/cat.err"; then
		echo "FAIL: cat of a file with a read rule on it succeeded" >&2
		exit 1
	fi
	drop
	cat "$F" >/dev/null
	expect_eq "whole-file hits" "$(count "$ID" hits)" 1
	"$FSYNCLAB" clear "$M"

	say "[$cache] corrupt on a readahead damages block 5 only, once"
	rule --block 5 --effect corrupt --times 1
	drop
	dd if="$F" of="$T/got" bs=128k count=2 status=none
	cmp -l "$T/got" "$B/f" >"$T/diff" || true
	expect_eq "damaged bytes lie in block 5" \
		"$(awk -v lo=$((5 * BS + 1)) -v hi=$((6 * BS)) '$1 < lo || $1 > hi' "$T/diff" | wc -l)" 0
	expect_eq "block 5 damaged (one byte per 512-byte sector)" "$(wc -l <"$T/diff")" $((BS / 512))
	expect_eq "corrupt hits" "$(count "$ID" hits)" 1
	drop
	cmp "$F" "$B/f"
	"$FSYNCLAB" clear "$M"
done

say "[emulate] a block dirty in the emulated cache is read from memory: no read rule sees it"
fs_mount rb-dirty --writeback-interval never
F=$M/f
make_file
"$FSIO" "open:1:$F:rw" "write:1:$((5 * BS)):$BS:D"
rule --block 5 --errno EIO
drop
expect_eq "read of dirty block 5" "$(rd $((5 * BS)) $BS)" $BS
"$FSIO" "open:1:$F:r" "read:1:$((5 * BS)):$BS:D"
drop
expect_eq "read of blocks 0-7 (5 dirty)" "$(rd 0 $((8 * BS)))" $((8 * BS))
expect_eq "dirty block: no match" "$(count "$ID" matches)" 0
"$FSIO" "open:1:$F:rw" "fsync:1"
drop
expect_eq "block 5 on the disk now" "$(rd $((5 * BS)) $BS)" EIO
"$FSYNCLAB" clear "$M"

for bsize in 512 16384; do
	say "--block-size $bsize: a rule on the block holding byte 22528 fails the page that holds it, once"
	fs_mount "rb-bs$bsize" --block-size "$bsize" --writeback-interval never
	F=$M/f
	make_file
	rule --block $((22528 / bsize)) --errno EIO --times 1
	drop
	expect_eq "read of blocks 0-3" "$(rd 0 $((4 * BS)))" $((4 * BS))
	expect_eq "read of page 5" "$(rd $((5 * BS)) $BS)" EIO
	expect_eq "read of page 5 again" "$(rd $((5 * BS)) $BS)" $BS
	expect_eq "hits" "$(count "$ID" hits)" 1
	"$FSYNCLAB" clear "$M"
done
say "PASS"
