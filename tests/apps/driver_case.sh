#!/usr/bin/env bash
# driver_case.sh CASE — one embedded-store case (LMDB, LevelDB, SQLite through the C drivers) under
# one injected fault on a real fsynclab mount, compared with the outcome observed and pinned for it.
#
# The story of every case:
#   1. mount fsynclab with the case's profile; the driver commits BASE keys, one synchronous commit
#      each (all acknowledged: the baseline is durable);
#   2. arm the case's fault rule (it fires once: --times 1), and commit MORE keys with --continue
#      (the driver goes on after a failed commit: does the library refuse further work?);
#   3. restart the program on the cached state (the driver's verify mode): what does it read now?
#   4. power cut (fsynclab reboot), restart again and verify: which acknowledged writes were lost,
#      which failed writes are there anyway (false failures), what vanished, is there corruption?
# The outcome words (lib.sh apps_outcome, plus put_rc) are compared with the case's pinned ones:
# they are what this program version was observed to do, not what it should do.
#
# APPS_EXPLORE=1 runs the story and prints the outcome without comparing (to pin a new case).
set -u
. "$(dirname "$0")/lib.sh"

BASE=20
MORE=20
VALUE=1000

case_def() {
	# Each case sets: drv (driver binary name), dir (data directory on the mount), opts (driver
	# options), profile, fault (fsynclab inject arguments), (its outcome is pinned in PINNED below).
	opts="" profile=ext4-ordered
	case "$1" in
	lmdb-fsync-eio)
		drv=lmdb_driver dir=lmdb
		fault="--op fdatasync --path lmdb/data.mdb --errno EIO --times 1"
		;;
	lmdb-writeback-eio)
		drv=lmdb_driver dir=lmdb
		fault="--op writeback --path lmdb/data.mdb --errno EIO --times 1"
		;;
	lmdb-fsync-enospc)
		drv=lmdb_driver dir=lmdb
		fault="--op fdatasync --path lmdb/data.mdb --errno ENOSPC --times 1"
		;;
	leveldb-fsync-eio)
		drv=leveldb_driver dir=leveldb
		fault="--op fdatasync --path leveldb/*.log --errno EIO --times 1"
		;;
	leveldb-writeback-eio)
		drv=leveldb_driver dir=leveldb
		fault="--op writeback --path leveldb/*.log --errno EIO --times 1"
		;;
	leveldb-fsync-enospc)
		drv=leveldb_driver dir=leveldb
		fault="--op fdatasync --path leveldb/*.log --errno ENOSPC --times 1"
		;;
	sqlite-rollback-fsync-eio)
		drv=sqlite_driver dir=sqlite opts="--journal delete"
		fault="--op fdatasync --path sqlite/test.db-journal --errno EIO --times 1"
		;;
	sqlite-rollback-extra-fsync-eio)
		# The same fault with synchronous=EXTRA: SQLite fsyncs the directory after deleting the
		# journal, so the power cut cannot bring the journal of a committed transaction back.
		drv=sqlite_driver dir=sqlite opts="--journal delete --synchronous extra"
		fault="--op fdatasync --path sqlite/test.db-journal --errno EIO --times 1"
		;;
	sqlite-rollback-writeback-eio)
		drv=sqlite_driver dir=sqlite opts="--journal delete"
		fault="--op writeback --path sqlite/test.db --errno EIO --times 1"
		;;
	sqlite-rollback-fsync-enospc)
		drv=sqlite_driver dir=sqlite opts="--journal delete"
		fault="--op fdatasync --path sqlite/test.db --errno ENOSPC --times 1"
		;;
	sqlite-wal-fsync-eio)
		drv=sqlite_driver dir=sqlite opts="--journal wal"
		fault="--op fdatasync --path sqlite/test.db-wal --errno EIO --times 1"
		;;
	sqlite-wal-writeback-eio)
		drv=sqlite_driver dir=sqlite opts="--journal wal --checkpoint 8"
		fault="--op writeback --path sqlite/test.db --errno EIO --times 1"
		;;
	sqlite-wal-fsync-enospc)
		drv=sqlite_driver dir=sqlite opts="--journal wal"
		fault="--op fdatasync --path sqlite/test.db-wal --errno ENOSPC --times 1"
		;;
	*)
		echo "driver_case.sh: unknown case: '$1'" >&2
		exit 2
		;;
	esac
}

# Observed outcomes, pinned: what this program version did on this fsynclab (Debian 12 packages,
# fsynclab ext4-ordered/ext4-data/xfs/btrfs profiles, with the profile's namespace rule: the power
# cut also undoes creates, renames and unlinks no fsync committed), one line per CASE@PROFILE. A changed word is
# a changed behaviour: of the program (a fix or a regression) or of the filesystem model. Words
# that depend on timing are left out (Redis everysec: how many writes land before the background
# fsync fails). docs/apps.md explains each line.
PINNED='
lmdb-fsync-eio@ext4-ordered                 fault_hits=1 put_rc=4 verify_rc=0 acked=39 failed=1 acked_after_fail=19 lost=0 false_failures=0 vanished=0 wrong=0 corrupt=no
lmdb-writeback-eio@ext4-ordered             fault_hits=1 put_rc=4 verify_rc=0 acked=20 failed=20 acked_after_fail=0 lost=0 false_failures=1 vanished=0 wrong=0 corrupt=no
lmdb-fsync-enospc@ext4-ordered              fault_hits=1 put_rc=4 verify_rc=0 acked=39 failed=1 acked_after_fail=19 lost=0 false_failures=0 vanished=0 wrong=0 corrupt=no
leveldb-fsync-eio@ext4-ordered              fault_hits=1 put_rc=4 verify_rc=0 acked=20 failed=20 acked_after_fail=0 lost=0 false_failures=1 vanished=0 wrong=0 corrupt=no
leveldb-writeback-eio@ext4-ordered          fault_hits=1 put_rc=4 verify_rc=0 acked=20 failed=20 acked_after_fail=0 lost=0 false_failures=0 vanished=1 wrong=0 corrupt=no
leveldb-fsync-enospc@ext4-ordered           fault_hits=1 put_rc=4 verify_rc=0 acked=20 failed=20 acked_after_fail=0 lost=0 false_failures=1 vanished=0 wrong=0 corrupt=no
sqlite-rollback-fsync-eio@ext4-ordered      fault_hits=1 put_rc=4 verify_rc=0 acked=39 failed=1 acked_after_fail=19 lost=1 false_failures=0 vanished=1 wrong=0 corrupt=no
sqlite-rollback-extra-fsync-eio@ext4-ordered fault_hits=1 put_rc=4 verify_rc=0 acked=39 failed=1 acked_after_fail=19 lost=0 false_failures=0 vanished=0 wrong=0 corrupt=no
sqlite-rollback-writeback-eio@ext4-ordered  fault_hits=1 put_rc=4 verify_rc=0 acked=39 failed=1 acked_after_fail=19 lost=1 false_failures=0 vanished=1 wrong=0 corrupt=no
sqlite-rollback-fsync-enospc@ext4-ordered   fault_hits=1 put_rc=4 verify_rc=0 acked=39 failed=1 acked_after_fail=19 lost=1 false_failures=0 vanished=1 wrong=0 corrupt=no
sqlite-wal-fsync-eio@ext4-ordered           fault_hits=1 put_rc=4 verify_rc=0 acked=39 failed=1 acked_after_fail=19 lost=0 false_failures=0 vanished=0 wrong=0 corrupt=no
sqlite-wal-writeback-eio@ext4-ordered       fault_hits=1 put_rc=0 verify_rc=0 acked=40 failed=0 acked_after_fail=0 lost=0 false_failures=0 vanished=0 wrong=0 corrupt=no
sqlite-wal-fsync-enospc@ext4-ordered        fault_hits=1 put_rc=4 verify_rc=0 acked=39 failed=1 acked_after_fail=19 lost=0 false_failures=0 vanished=0 wrong=0 corrupt=no
lmdb-writeback-eio@ext4-data                fault_hits=1 put_rc=4 verify_rc=0 acked=20 failed=20 acked_after_fail=0 lost=3 false_failures=1 vanished=3 wrong=0 corrupt=no
leveldb-writeback-eio@ext4-data             fault_hits=1 put_rc=4 verify_rc=0 acked=21 failed=19 acked_after_fail=0 lost=0 false_failures=1 vanished=0 wrong=0 corrupt=no
sqlite-rollback-writeback-eio@ext4-data     fault_hits=1 put_rc=4 verify_rc=0 acked=39 failed=1 acked_after_fail=18 lost=1 false_failures=0 vanished=1 wrong=0 corrupt=no
sqlite-wal-writeback-eio@ext4-data          fault_hits=1 put_rc=0 verify_rc=0 acked=40 failed=0 acked_after_fail=0 lost=0 false_failures=0 vanished=0 wrong=0 corrupt=no
lmdb-writeback-eio@xfs                      fault_hits=1 put_rc=4 verify_rc=0 acked=20 failed=20 acked_after_fail=0 lost=0 false_failures=1 vanished=0 wrong=0 corrupt=no
leveldb-writeback-eio@xfs                   fault_hits=1 put_rc=4 verify_rc=0 acked=20 failed=20 acked_after_fail=0 lost=0 false_failures=0 vanished=1 wrong=0 corrupt=no
sqlite-rollback-writeback-eio@xfs           fault_hits=1 put_rc=4 verify_rc=0 acked=39 failed=1 acked_after_fail=19 lost=1 false_failures=0 vanished=1 wrong=0 corrupt=no
sqlite-wal-writeback-eio@xfs                fault_hits=1 put_rc=0 verify_rc=0 acked=40 failed=0 acked_after_fail=0 lost=0 false_failures=0 vanished=0 wrong=0 corrupt=no
lmdb-writeback-eio@btrfs                    fault_hits=1 put_rc=4 verify_rc=0 acked=20 failed=20 acked_after_fail=0 lost=0 false_failures=1 vanished=0 wrong=0 corrupt=no
leveldb-writeback-eio@btrfs                 fault_hits=1 put_rc=4 verify_rc=0 acked=20 failed=20 acked_after_fail=0 lost=0 false_failures=0 vanished=0 wrong=0 corrupt=no
sqlite-rollback-writeback-eio@btrfs         fault_hits=1 put_rc=4 verify_rc=0 acked=39 failed=1 acked_after_fail=19 lost=1 false_failures=0 vanished=1 wrong=0 corrupt=no
sqlite-wal-writeback-eio@btrfs              fault_hits=1 put_rc=0 verify_rc=0 acked=40 failed=0 acked_after_fail=0 lost=0 false_failures=0 vanished=0 wrong=0 corrupt=no
'

[ $# -ge 1 ] && [ $# -le 2 ] || {
	echo "usage: driver_case.sh CASE [PROFILE]" >&2
	exit 2
}
case_def "$1"
profile=${2:-$profile}
apps_init "$1@$profile"
DRV=$FSYNCLAB_BUILD/tests/$drv
[ -x "$DRV" ] || apps_skip "$drv not built (its library was not found at configure time)"
fsl_mount --profile "$profile"
T=$APPS_TMP

apps_log "baseline: $BASE synchronous commits"
"$DRV" put "$MNT/$dir" "$BASE" --value-size "$VALUE" $opts >"$T/put1.out" 2>"$T/put1.err" ||
	apps_die "baseline workload failed: $(cat "$T/put1.err")"
apps_log "fault: fsynclab inject $fault"
fsl inject $fault >/dev/null
apps_log "workload under the fault: $MORE commits (--continue)"
"$DRV" put "$MNT/$dir" "$MORE" --start "$BASE" --value-size "$VALUE" --continue $opts >"$T/put2.out" 2>"$T/put2.err"
put_rc=$?
sed 's/^/    /' "$T/put2.err" >&2
hits=$(fsl_hits)
fsl clear >/dev/null
apps_log "restart on the cached state (no reboot yet)"
"$DRV" verify "$MNT/$dir" $((BASE + MORE)) --value-size "$VALUE" $opts >"$T/before.out" 2>"$T/before.err"
apps_log "power cut: fsynclab reboot; restart and verify"
fsl reboot >/dev/null
"$DRV" verify "$MNT/$dir" $((BASE + MORE)) --value-size "$VALUE" $opts >"$T/after.out" 2>"$T/after.err"
verify_rc=$?
tail -n 1 "$T/after.out" | sed 's/^/    /' >&2

observed="fault_hits=$hits put_rc=$put_rc verify_rc=$verify_rc $(apps_outcome "$T/put1.out $T/put2.out" "$T/put2.out" "$T/before.out" "$T/after.out")"
if [ "${APPS_EXPLORE:-0}" = 1 ]; then
	echo "observed: $observed"
	exit 0
fi
expect=$(printf '%s\n' "$PINNED" | awk -v k="$APPS_NAME" '$1 == k { $1 = ""; print substr($0, 2) }')
[ -n "$expect" ] || apps_die "no outcome pinned for $APPS_NAME (observed: $observed)"
apps_expect "$observed" "$expect"
apps_finish
