# runner_lib.sh — shared by the runner's integration tests (sourced). Each test runs `fsynclab run`
# on fixtures in tests/integration/runner/ against real fsynclab mounts, with TMPDIR pointing at a
# private directory, so "nothing left behind" can be checked exactly: no mount under it in
# /proc/mounts, and no per-scenario directory left in it.
# Exit 77 = skipped (ctest SKIP_RETURN_CODE), always with the reason.
set -euo pipefail

: "${FSYNCLAB:?set by ctest: the fsynclab binary}"
: "${FSYNCLAB_SRC:?set by ctest: the source tree}"
FIX="$FSYNCLAB_SRC/tests/integration/runner"

skip() {
	echo "SKIP: $*"
	exit 77
}

[ "$(id -u)" -eq 0 ] || skip "needs root (FUSE mounts)"
[ -c /dev/fuse ] || skip "no /dev/fuse on this machine"

WORK=$(mktemp -d /tmp/fsynclab-it-runner.XXXXXX)
chmod 755 "$WORK" # commands run as another user (nobody) must reach the mount below it
export TMPDIR="$WORK/tmp"
mkdir -p "$TMPDIR"

# stale_mounts - how many mounts under our private TMPDIR are still listed.
stale_mounts() {
	awk -v p="$WORK/" 'index($2, p) == 1 { n++ } END { print n + 0 }' /proc/mounts
}

# assert_clean - no mount and no per-scenario directory left behind.
assert_clean() {
	local m
	m=$(stale_mounts)
	[ "$m" -eq 0 ] || fail "$m stale mount(s) left under $WORK: $(grep "$WORK" /proc/mounts)"
	if [ -n "$(ls -A "$TMPDIR")" ]; then
		fail "temporary directories left behind: $(ls -A "$TMPDIR")"
	fi
}

fail() {
	echo "FAIL: $*"
	exit 1
}

# Cleanup of this test's own leftovers, whatever happened (by path and PID, never by name).
PIDS=()
runner_lib_cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	{ grep -o " $WORK/[^ ]*" /proc/mounts 2>/dev/null || true; } | while read -r m; do umount -l "$m" || true; done
	if [ -n "${KEEP_WORK:-}" ]; then echo "kept $WORK (KEEP_WORK)"; else rm -rf "$WORK"; fi
}
trap runner_lib_cleanup EXIT

# json_get FILE PYTHON-EXPR - evaluate an expression over the JSON document `d`.
json_get() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
