#!/usr/bin/env bash
# drivers_selftest.sh DRIVER [driver options] — the driver itself, on a plain directory (no mount,
# no fault): every put is acknowledged, verify finds exactly the acknowledged keys with their
# values, a fresh store reports every key missing, bad usage exits 2 naming the word, and verify
# reports corruption (exit 5) when the store's files are overwritten with garbage.
set -u
. "$(dirname "$0")/lib.sh"
drv=$1
shift
apps_init "selftest-$drv"
DRV=$FSYNCLAB_BUILD/tests/$drv
[ -x "$DRV" ] || apps_skip "$drv not built (its library was not found at configure time)"
D=$APPS_TMP/store

"$DRV" put "$D" 30 --value-size 300 "$@" >"$APPS_TMP/put.out"
apps_check "put exits 0" [ $? -eq 0 ]
apps_check "30 acknowledgements" [ "$(grep -c '^ack k0000' "$APPS_TMP/put.out")" -eq 30 ]
"$DRV" put "$D" 10 --start 30 --value-size 300 "$@" >>"$APPS_TMP/put.out"
"$DRV" verify "$D" 45 --value-size 300 "$@" >"$APPS_TMP/verify.out"
apps_check "verify exits 0" [ $? -eq 0 ]
apps_check "verify: 40 present, 5 missing, no corruption" \
	grep -qx 'verify present=40 missing=5 wrong=0 corrupt=no' "$APPS_TMP/verify.out"
apps_check "verify: k000039 present, k000040 missing" \
	sh -c "grep -qx 'present k000039' '$APPS_TMP/verify.out' && grep -qx 'missing k000040' '$APPS_TMP/verify.out'"
"$DRV" verify "$D" 5 --value-size 301 "$@" >"$APPS_TMP/wrong.out"
apps_check "verify with another value size: every key wrong" \
	grep -qx 'verify present=0 missing=0 wrong=5 corrupt=no' "$APPS_TMP/wrong.out"
"$DRV" bogus "$D" 1 2>"$APPS_TMP/usage.err"
apps_check "bad mode exits 2" [ $? -eq 2 ]
apps_check "bad mode is named" grep -q "'bogus'" "$APPS_TMP/usage.err"
"$DRV" put "$D" 1 --frobnicate 2>"$APPS_TMP/usage.err"
apps_check "unknown option exits 2" [ $? -eq 2 ]
apps_check "unknown option is named" grep -q "'--frobnicate'" "$APPS_TMP/usage.err"

# Overwrite every store file (but LevelDB's CURRENT/LOCK/LOG, SQLite's journal) past its first
# 100 bytes, from byte 100 on, with garbage.
for f in "$D"/*; do
	case "$(basename "$f")" in CURRENT | LOCK | LOG* | *.log | *-journal | lock.mdb) continue ;; esac
	size=$(stat -c %s "$f")
	[ "$size" -gt 100 ] || continue
	head -c $((size - 100)) /dev/urandom | dd of="$f" bs=1 seek=100 conv=notrunc status=none
done
"$DRV" verify "$D" 40 --value-size 300 "$@" >"$APPS_TMP/corrupt.out" 2>/dev/null
rc=$?
apps_check "verify of a garbage store exits 5 (corruption) [got $rc]" [ $rc -eq 5 ]
apps_check "verify of a garbage store says corrupt=yes" grep -q 'corrupt=yes' "$APPS_TMP/corrupt.out"
apps_finish
