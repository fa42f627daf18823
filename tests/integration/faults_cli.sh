#!/bin/bash
# faults_cli.sh — the fault-control commands against a real mount: `inject` prints just the new id
# once the rule is armed and refuses bad input (exit 2, the offending word named, nothing armed);
# `status` shows rules with counts, dirty/failed pages, errors and the state, and `--json` the same
# as JSON; `clear` by id and all; `reboot` returns once the power cut is done; a relative MNT from
# another directory finds the same daemon; without a daemon every command says so and exits 1.
. "$(dirname "$0")/fusefs_lib.sh" "$@"

fs_mount cli --writeback-interval never
F=$M/data.log

# expect_fail WANT_RC WORD CMD... — CMD must exit WANT_RC and name WORD on stderr.
expect_fail() {
	local want=$1 word=$2 rc=0
	shift 2
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	expect_eq "exit of: $*" "$rc" "$want"
	if ! grep -qF -- "$word" "$T/err"; then
		echo "FAIL: '$*' did not name '$word': $(cat "$T/err")" >&2
		exit 1
	fi
	expect_eq "stdout of: $*" "$(cat "$T/out")" ""
}

say "inject prints just the id, and the rule is armed when it returns"
"$FSIO" "open:1:$F:rwc" "write:1:0:8192:A" "fsync:1"
id=$("$FSYNCLAB" inject "$M" --op writeback --path data.log --block 0 --errno EIO --times 1)
expect_eq "first id" "$id" "1"
"$FSIO" "open:1:$F:rw" "write:1:0:4096:B" "fsync=EIO:1" "fsync:1" "write:1:8192:1:C"

say "bad input: exit 2, the offending word named, nothing armed"
expect_fail 2 "wrte" "$FSYNCLAB" inject "$M" --op wrte --errno EIO
expect_fail 2 "EBOGUS" "$FSYNCLAB" inject "$M" --op write --errno EBOGUS
expect_fail 2 "5-2" "$FSYNCLAB" inject "$M" --op write --blocks 5-2 --errno EIO
expect_fail 2 "--blok" "$FSYNCLAB" inject "$M" --op write --blok 1 --errno EIO
expect_fail 2 "wXw" "$FSYNCLAB" inject "$M" --op write --errno EIO --sequence wXw
expect_fail 2 "torn" "$FSYNCLAB" inject "$M" --op open --effect torn
expect_fail 2 "missing MNT" "$FSYNCLAB" inject --op write --errno EIO
expect_fail 2 "seven" "$FSYNCLAB" clear "$M" seven

say "status: rules with counts, dirty and failed pages, errors, state"
"$FSYNCLAB" status "$M" >"$T/status"
for want in "profile      ext4-ordered" "state        ok" "rules (1):" \
	"#1   writeback data.log block 0 -> EIO [times 1]  matches 1  hits 1" "data.log  size 8193" \
	"dirty pages (1): 2" "failed pages (1): 0" "data.log writeback EIO block 0"; do
	if ! grep -qF -- "$want" "$T/status"; then
		echo "FAIL: status lacks '$want':" >&2
		cat "$T/status" >&2
		exit 1
	fi
done
"$FSYNCLAB" status "$M" --json >"$T/status.json"
for want in '"rules": [' '"hits": 1' '"failed_pages": [' '"state": "ok"'; do
	grep -qF -- "$want" "$T/status.json" || {
		echo "FAIL: status --json lacks '$want'" >&2
		exit 1
	}
done

say "a relative MNT from another directory reaches the same daemon"
id2=$(cd "$T" && "$FSYNCLAB" inject "./$(basename "$M")/" --op fsync --path data.log --errno EIO --nth 2)
expect_eq "second id" "$id2" "2"
"$FSIO" "open:1:$F:rw" "fsync:1" "fsync=EIO:1" "fsync:1"

say "clear by id, unknown id, all"
"$FSYNCLAB" clear "$M" 2
expect_fail 1 "no rule 2" "$FSYNCLAB" clear "$M" 2
"$FSYNCLAB" inject "$M" --op fsync --errno EIO >/dev/null
"$FSYNCLAB" clear "$M"
"$FSYNCLAB" status "$M" | grep -qF "rules (0):" || {
	echo "FAIL: rules remain after clear" >&2
	exit 1
}
"$FSIO" "open:1:$F:rw" "fsync:1"

say "reboot returns once the power cut is done: the next read shows the disk"
"$FSIO" "open:1:$F:rw" "write:1:4096:4096:D" "read:1:4096:1:D"
"$FSYNCLAB" reboot "$M"
"$FSIO" "open:1:$F:r" "read:1:4096:1:A"

say "without a daemon every command says so and exits 1"
fs_umount "$M"
for cmd in "status $M" "clear $M" "reboot $M" "inject $M --op write --errno EIO"; do
	# shellcheck disable=SC2086
	expect_fail 1 "no fsynclab daemon for $M" "$FSYNCLAB" $cmd
done
echo "faults_cli: all checks passed"
