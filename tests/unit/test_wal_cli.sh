#!/usr/bin/env bash
# test_wal_cli.sh — the built `fsynclab` binary end to end: `bench wal` writes a log and prints the
# JSON contract, `wal dump` reads the same log back, and bad values are refused naming the word.
# Needs $FSYNCLAB (set by fsynclab_script_test). Leaves nothing behind.
set -euo pipefail
: "${FSYNCLAB:?set FSYNCLAB to the fsynclab binary}"
work=$(mktemp -d "${TMPDIR:-/tmp}/fsynclab-wal-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for policy in os batch:2ms always; do
	n=300
	out=$("$FSYNCLAB" bench wal --dir "$work/$policy" --policy "$policy" --records $n --size 64 --writers 3 --json)
	for key in policy writers records seconds records_per_sec mb_per_sec fsyncs p50_us p99_us; do
		grep -q "\"$key\":" <<<"$out" || fail "bench wal --json lacks \"$key\": $out"
	done
	grep -q "\"policy\":\"$policy\"" <<<"$out" || fail "policy not echoed: $out"
	grep -q '"records":300,' <<<"$out" || fail "records not 300: $out"
	grep -q '"writers":3,' <<<"$out" || fail "writers not 3: $out"
	dump=$("$FSYNCLAB" wal dump "$work/$policy" --json) || fail "wal dump of a clean bench log failed"
	got=$(grep -o '"checksum_ok":true' <<<"$dump" | wc -l)
	[ "$got" -eq $n ] || fail "wal dump lists $got good records, expected $n"
	grep -q '"verdict":"clean","at_lsn":null}' <<<"$dump" || fail "verdict not clean: ${dump: -80}"
	"$FSYNCLAB" wal dump "$work/$policy" | grep -q "verdict: clean ($n records, LSN 1..$n)" ||
		fail "text dump verdict"
done

# The raw baseline and the scan run and print figures.
"$FSYNCLAB" bench wal --dir "$work/raw" --policy os --records 1000 --raw | grep -q "records 1000 " ||
	fail "bench wal --raw"
"$FSYNCLAB" bench wal --policy os --records 5000 --scan | grep -q "recovery scan: " || fail "bench wal --scan"

# Bad values: exit 2, the offending word named.
for args in "--policy sometimes" "--records ten" "--io mmapp" "--writers 0" "--frobnicate"; do
	set +e
	err=$("$FSYNCLAB" bench wal $args 2>&1 >/dev/null)
	rc=$?
	set -e
	[ $rc -eq 2 ] || fail "bench wal $args: exit $rc, expected 2"
	word=${args##* }
	[ "$args" = "--writers 0" ] && word=--writers
	grep -q -- "$word" <<<"$err" || fail "bench wal $args: message does not name '$word': $err"
done
echo "ok: bench wal and wal dump end to end"
