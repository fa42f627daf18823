#!/usr/bin/env bash
# kernel_dm_scenario.sh — a `backend: dm` scenario through `fsynclab run` (label kernel). Where the
# kernel has device-mapper it must match; where /dev/mapper/control is missing it must be reported
# *skipped* with "device-mapper not available in this kernel" — never passed.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -e /dev/fuse ] || { echo "SKIP: no /dev/fuse"; exit 77; }
out=$(mktemp /tmp/fsynclab-dmscn.XXXXXX)
trap 'rm -f "$out"' EXIT
rc=0
"$FSYNCLAB" run "$FSYNCLAB_SRC/scenarios/kernel/dm/fsyncgate-dm-ext4.yaml" >"$out" 2>&1 || rc=$?
cat "$out"
if [ -e /dev/mapper/control ]; then
	grep -Eq '^kernel-dm-fsyncgate-ext4 +matched' "$out" || { echo "FAIL: expected matched (rc $rc)"; exit 1; }
else
	grep -Eq '^kernel-dm-fsyncgate-ext4 +skipped' "$out" || { echo "FAIL: expected skipped"; exit 1; }
	grep -q 'device-mapper not available in this kernel' "$out" || { echo "FAIL: the reason is missing"; exit 1; }
	grep -Eq '0 matched, 0 mismatched, 0 error, 1 skipped' "$out" || { echo "FAIL: summary"; exit 1; }
fi
echo "PASS"
