#!/usr/bin/env bash
# catalogue.sh — README's main job: the core catalogue (scenarios/*.yaml) must match end to end on
# real mounts, and leave no mount behind. Exit 77 = skipped (no root or no /dev/fuse).
set -euo pipefail
: "${FSYNCLAB:?set by ctest}"
: "${FSYNCLAB_SRC:?set by ctest}"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (FUSE mounts)"; exit 77; }
[ -c /dev/fuse ] || { echo "SKIP: no /dev/fuse"; exit 77; }
work=$(mktemp -d /tmp/fsynclab-it-catalogue.XXXXXX)
trap '{ grep -o " $work/[^ ]*" /proc/mounts || true; } | while read -r m; do umount -l "$m" || true; done; rm -rf "$work"' EXIT
mkdir "$work/tmp"
status=0
TMPDIR="$work/tmp" "$FSYNCLAB" run -q -j 2 --junit "$work/junit.xml" "$FSYNCLAB_SRC/scenarios" || status=$?
cases=$(grep -c "<testcase" "$work/junit.xml" || true)
expected=$(ls "$FSYNCLAB_SRC"/scenarios/*.yaml | wc -l)
[ "$cases" -eq "$expected" ] || { echo "FAIL: $cases test cases in the JUnit report, $expected scenarios"; exit 1; }
[ "$status" -eq 0 ] || { echo "FAIL: the catalogue did not match (exit $status)"; exit 1; }
left=$(awk -v p="$work/" 'index($2, p) == 1' /proc/mounts | wc -l)
[ "$left" -eq 0 ] || { echo "FAIL: $left mount(s) left behind"; exit 1; }
echo "ok: all $expected core scenarios matched, nothing left mounted"
