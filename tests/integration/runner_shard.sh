#!/usr/bin/env bash
# runner_shard.sh — `fsynclab run --shard I/N`: the N shards of a selection are disjoint, together run
# every scenario exactly once, and each matches; bad spellings are refused with exit 2.
source "$(dirname "$0")/runner_lib.sh"

names() { json_get "$1" "' '.join(sorted(s['name'] for s in d['scenarios']))"; }

"$FSYNCLAB" run -q --json "$WORK/all.json" "$FIX/ok" >/dev/null || fail "the unsharded run did not match"
all=$(names "$WORK/all.json")
[ -n "$all" ] || fail "the unsharded run listed no scenario"

union=""
for i in 1 2 3; do
	"$FSYNCLAB" run -q --shard "$i/3" --json "$WORK/shard$i.json" "$FIX/ok" >/dev/null ||
		fail "shard $i/3 did not match"
	union="$union $(names "$WORK/shard$i.json")"
done
union=$(echo $union | tr ' ' '\n' | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//')
[ "$union" = "$all" ] || fail "shards ran '$union', the whole selection is '$all'"
echo "ok: 3 shards ran each of the $(echo "$all" | wc -w) scenarios exactly once"

for bad in 0/3 4/3 3 a/b 1/0; do
	set +e
	msg=$("$FSYNCLAB" run --shard "$bad" "$FIX/ok" 2>&1 >/dev/null)
	rc=$?
	set -e
	[ "$rc" -eq 2 ] || fail "--shard $bad exited $rc, expected 2"
	case "$msg" in *"'$bad'"*) ;; *) fail "--shard $bad: message does not name the value: $msg" ;; esac
done
echo "ok: bad --shard values refused with exit 2, naming the value"
assert_clean
