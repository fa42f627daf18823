#!/usr/bin/env bash
# kernel_compare.sh — `fsynclab compare` end to end (label kernel): two kernel stories whose
# emulated twin observes the same (rows "yes"), one catalogue story with no kernel counterpart
# (keep-dirty: "n/a" with the reason), the JSON form, and bad usage. Needs root.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -e /dev/fuse ] || { echo "SKIP: no /dev/fuse"; exit 77; }
work=$(mktemp -d /tmp/fsynclab-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT
s=$FSYNCLAB_SRC/scenarios
status=0
# The runs' private directories (and so their loop devices' image paths) under $work: the
# leftover check below must see only this test's devices, not those of a test running alongside.
mkdir "$work/tmp"
TMPDIR=$work/tmp "$FSYNCLAB" compare --json "$work/table.json" "$s/kernel/fsyncgate-ext4.yaml" "$s/kernel/journal-xfs.yaml" \
	"$s/keep-dirty-retry.yaml" >"$work/out" 2>"$work/err" || status=$?
cat "$work/out"
[ $status = 0 ] || { echo "FAIL: compare exited $status"; cat "$work/err"; exit 1; }
grep -Eq '^kernel-fsyncgate-ext4 +ext4 +matched +matched +yes$' "$work/out" || { echo "FAIL: fsyncgate-ext4 row"; exit 1; }
grep -Eq '^kernel-journal-xfs +xfs +matched +matched +yes$' "$work/out" || { echo "FAIL: journal-xfs row"; exit 1; }
grep -Eq '^keep-dirty-retry +- +matched +n/a +-$' "$work/out" || { echo "FAIL: keep-dirty row"; exit 1; }
grep -q 'no kernel counterpart' "$work/out" || { echo "FAIL: the reason for n/a is missing"; exit 1; }
grep -q "fidelity: emulated profiles against the real kernel ($(uname -r))" "$work/out" || { echo "FAIL: no kernel version"; exit 1; }
python3 - "$work/table.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
rows = {r["scenario"]: r for r in doc["rows"]}
assert doc["kernel"], doc
assert rows["kernel-fsyncgate-ext4"]["match"] is True, rows["kernel-fsyncgate-ext4"]
assert rows["kernel-fsyncgate-ext4"]["kernel"]["checks"], "no checks recorded"
assert rows["keep-dirty-retry"]["match"] is None and rows["keep-dirty-retry"]["kernel"] is None
PY
rc=0
"$FSYNCLAB" compare --bogus >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] || { echo "FAIL: bad option exited $rc, expected 2"; exit 1; }
rc=0
"$FSYNCLAB" compare "$work/missing.yaml" >/dev/null 2>"$work/err" || rc=$?
[ $rc = 2 ] && grep -q missing.yaml "$work/err" || { echo "FAIL: a missing file must be named, exit 2 (got $rc)"; exit 1; }
if losetup -a | grep -qF "$work/"; then echo "FAIL: loop device left behind"; losetup -a | grep -F "$work/"; exit 1; fi
echo "PASS: fsynclab compare"
