#!/usr/bin/env bash
# runner_wrong_expectation.sh — the harness can fail: a scenario whose expectation is deliberately
# wrong is reported as a mismatch (text, JSON, JUnit) and the exit status is non-zero; an invalid
# file is an error with its file:line:col and nothing is mounted for it.
source "$(dirname "$0")/runner_lib.sh"

out="$WORK/out.txt"
set +e
"$FSYNCLAB" run "$FIX/wrong/wal-os-cut-wrong.yaml" --json "$WORK/r.json" --junit "$WORK/r.xml" >"$out" 2>&1
rc=$?
set -e
cat "$out"
[ "$rc" -eq 1 ] || fail "a wrong expectation must exit 1, got $rc"
grep -q "MISMATCHED" "$out" || fail "no MISMATCHED in the narration"
grep -q "acked_lost: expected == 0, observed 10" "$out" || fail "the failed check is not named"
[ "$(json_get "$WORK/r.json" 'd["scenarios"][0]["verdict"]')" = mismatched ] || fail "JSON verdict"
python3 -c 'import sys,xml.etree.ElementTree as E; r=E.parse(sys.argv[1]).getroot(); assert r.get("failures")=="1"; assert r.find("./testsuite/testcase/failure") is not None' "$WORK/r.xml" ||
	fail "JUnit does not report the failure"
assert_clean

# an invalid scenario: error with position, exit non-zero, nothing mounted or created
set +e
"$FSYNCLAB" run "$FIX/invalid/unknown-key.yaml" >"$out" 2>&1
rc=$?
set -e
cat "$out"
[ "$rc" -ne 0 ] || fail "an invalid scenario must not pass"
grep -q "unknown-key.yaml:8:25: unknown key .colour." "$out" || fail "no file:line:col naming the offending key"
assert_clean

# a missing file: usage error 2
set +e
"$FSYNCLAB" run "$WORK/nope.yaml" >"$out" 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "a missing file must exit 2, got $rc"
grep -q "nope.yaml" "$out" || fail "the missing file is not named"
echo PASS
