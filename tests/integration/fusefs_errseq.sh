#!/bin/bash
# fusefs_errseq.sh — issue item 5: errseq error reporting as xfstests generic/441 and generic/487
# check it on real kernels, and the pre-4.13 behaviour with --legacy-errors.
. "$(dirname "$0")/fusefs_lib.sh" "$@"

fs_mount es --writeback-interval never
F=$M/data
say "generic/441: every fd open at the failure sees EIO once, then 0; a later opener sees nothing"
"$FSIO" "open:1:$F:rwc" "open:2:$F:rw" "open:3:$F:r" "write:1:0:8192:A" \
	"sh:$FSYNCLAB inject $M --op writeback --path data --errno EIO --times 1 >/dev/null" \
	"fsync=EIO:1" "fsync=EIO:2" "fsync=EIO:3" "fsync:1" "fsync:2" "fsync:3" \
	"open:4:$F:rw" "fsync:4"

fs_mount es487 --writeback-interval 100ms
F=$M/data
say "generic/487: the failure happens in background writeback; a file opened after it, before anyone"
say "saw it, also sees it; once seen, a newly opened file does not"
# The rule is armed before the write: the flusher may run as soon as 100 ms after it.
"$FSIO" "open:1:$F:rwc" "sh:$FSYNCLAB inject $M --op writeback --path data --errno EIO --times 1 >/dev/null" \
	"write:1:0:4096:A" "sleep:600" "sh:$FSYNCLAB status $M | grep -q 'data writeback EIO block 0'" \
	"open:2:$F:rw" "fsync=EIO:2" "fsync:2" "fsync=EIO:1" "fsync:1" "open:3:$F:rw" "fsync:3"

fs_mount legacy --legacy-errors --writeback-interval never
F=$M/data
say "--legacy-errors: the first fsync caller consumes the error, the others see 0"
"$FSIO" "open:1:$F:rwc" "open:2:$F:rw" "write:1:0:4096:A" \
	"sh:$FSYNCLAB inject $M --op writeback --path data --errno EIO --times 1 >/dev/null" \
	"fsync=EIO:2" "fsync:1" "fsync:2"
echo PASS
