#!/usr/bin/env bash
# pg_case.sh CASE — PostgreSQL (the Debian package's version) under one injected fault on a real
# fsynclab mount, compared with the outcome observed and pinned for the case.
#
# The story: mount (--allow-other: the server runs as the postgres user, files on the mount are its
# own), initdb into the mount, start (Unix socket only), create the table, commit BASE rows (one
# transaction each) and CHECKPOINT (the baseline is in the data files); commit MORE rows (durable in
# the WAL only); arm the fault; then the case's trigger (a CHECKPOINT, or more commits for a WAL
# fault). Did the server PANIC? Did it restart by itself (restart_after_crash) and accept new
# commits (LATER rows)? Then read everything back on the cached state, stop the server (immediate),
# power cut (fsynclab reboot), start again (crash recovery from the WAL) and verify: were
# acknowledged rows lost? Outcome words: trigger_rc, panic, reinitialized, later_ok, and lib.sh's
# apps_outcome words. APPS_EXPLORE=1 prints the outcome without comparing.
set -u
. "$(dirname "$0")/lib.sh"
PG=$(dirname "$0")/pg.sh

BASE=40
MORE=40
LATER=10

case_def() {
	# Each case sets: profile, fault (inject arguments; @REL@ is the table's data file and @WAL@
	# the WAL directory, both relative to the mount), trigger (checkpoint|insert), and its outcome is pinned in PINNED below.
	profile=ext4-ordered
	case "$1" in
	pg-checkpoint-writeback-eio)
		fault="--op writeback --path @REL@ --errno EIO --times 1" trigger=checkpoint
		;;
	pg-checkpoint-fsync-enospc)
		fault="--op fsync --path @REL@ --errno ENOSPC --times 1" trigger=checkpoint
		;;
	pg-wal-fsync-eio)
		fault="--op fdatasync --path @WAL@/0* --errno EIO --times 1" trigger=insert
		;;
	*)
		echo "pg_case.sh: unknown case: '$1'" >&2
		exit 2
		;;
	esac
}

# Observed outcomes, pinned: what this program version did on this fsynclab (Debian 12 packages,
# fsynclab ext4-ordered/ext4-data/xfs/btrfs profiles), one line per CASE@PROFILE. A changed word is
# a changed behaviour: of the program (a fix or a regression) or of the filesystem model. Words
# that depend on timing are left out (Redis everysec: how many writes land before the background
# fsync fails). docs/apps.md explains each line.
PINNED='
pg-checkpoint-writeback-eio@ext4-ordered  fault_hits=1 trigger_rc=2 panic=yes reinitialized=yes later_ok=yes stale_pid=yes acked=90 failed=0 acked_after_fail=0 lost=0 false_failures=0 vanished=0 wrong=0 corrupt=no
pg-checkpoint-writeback-eio@ext4-data     fault_hits=1 trigger_rc=0 panic=no reinitialized=no later_ok=yes stale_pid=yes acked=90 failed=0 acked_after_fail=0 lost=8 false_failures=0 vanished=8 wrong=0 corrupt=no
pg-checkpoint-writeback-eio@btrfs         fault_hits=1 trigger_rc=2 panic=yes reinitialized=yes later_ok=yes stale_pid=yes acked=90 failed=0 acked_after_fail=0 lost=0 false_failures=0 vanished=0 wrong=0 corrupt=no
pg-checkpoint-fsync-enospc@ext4-ordered   fault_hits=1 trigger_rc=2 panic=yes reinitialized=yes later_ok=yes stale_pid=yes acked=90 failed=0 acked_after_fail=0 lost=0 false_failures=0 vanished=0 wrong=0 corrupt=no
pg-wal-fsync-eio@ext4-ordered             fault_hits=1 trigger_rc=2 panic=yes reinitialized=yes later_ok=yes stale_pid=yes acked=90 failed=1 acked_after_fail=10 lost=0 false_failures=1 vanished=0 wrong=0 corrupt=no
'

[ $# -ge 1 ] && [ $# -le 2 ] || {
	echo "usage: pg_case.sh CASE [PROFILE]" >&2
	exit 2
}
case_def "$1"
profile=${2:-$profile}
apps_init "$1@$profile"
apps_need_user postgres postgresql
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || apps_skip "postgres not found (Debian package postgresql not installed)"
fsl_mount --profile "$profile" --allow-other
T=$APPS_TMP
mkdir -p "$T/sock" "$T/log" "$MNT/pg" || apps_die "mkdir failed"
chown postgres: "$T/sock" "$T/log" "$MNT/pg" || apps_die "chown to postgres failed"
DATA=$MNT/pg/data
LOG=$T/log/postgres.log

# pg_start — start the server as a child of this shell (pg.sh server execs the postmaster, so $! is
# its PID), wait until it accepts connections (60 s); its PID goes to $pid and on the cleanup stack,
# so the EXIT trap stops it by PID whatever happens. A child, not a daemon (pg_ctl start): the
# apps_stop_pid that ends it also reaps it. A daemonized postmaster would be reparented to PID 1,
# which in a container may never reap it; the zombie's PID still answers kill(pid, 0), and the
# postmaster.pid that the power cut restores (its unlink at shutdown is never fsynced) would then
# name a "running" postmaster and make the restart fail — a test artifact: after a real power cut
# that PID does not exist, and PostgreSQL removes the stale lock file and starts.
pg_start() {
	"$PG" server "$DATA" "$T/sock" >>"$LOG" 2>&1 &
	pid=$!
	apps_defer "apps_stop_pid $pid QUIT 30"
	local deadline=$((SECONDS + 60))
	until "$PG" ready "$T/sock" >/dev/null 2>&1; do
		apps_alive "$pid" || return 1
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

apps_log "initdb on the mount"
"$PG" init "$DATA" || apps_die "initdb failed"
pg_start || apps_die "postgres did not start: $(tail -n 5 "$LOG")"
"$PG" create "$T/sock" || apps_die "create table failed"
"$PG" insert "$T/sock" 0 "$BASE" >"$T/put1.out" || apps_die "baseline inserts failed"
"$PG" checkpoint "$T/sock" || apps_die "baseline checkpoint failed"
"$PG" insert "$T/sock" "$BASE" "$MORE" >>"$T/put1.out" || apps_die "inserts failed"
rel=pg/data/$("$PG" relpath "$T/sock") || apps_die "relpath failed"
fault=${fault//@REL@/$rel}
fault=${fault//@WAL@/pg/data/pg_wal}
apps_log "fault: fsynclab inject $fault"
fsl inject $fault >/dev/null
: >"$T/put2.out"
if [ "$trigger" = checkpoint ]; then
	apps_log "trigger: CHECKPOINT"
	"$PG" checkpoint "$T/sock" 2>"$T/trigger.err"
	trigger_rc=$?
else
	apps_log "trigger: $LATER more commits"
	"$PG" insert "$T/sock" $((BASE + MORE)) "$LATER" >"$T/put2.out" 2>"$T/trigger.err"
	trigger_rc=$?
	n=$(grep -c '^ack' "$T/put2.out")
	[ "$trigger_rc" -eq 0 ] || echo "fail $(printf 'k%06d' $((BASE + MORE + n))): $(head -n 1 "$T/trigger.err")" >>"$T/put2.out"
fi
sed 's/^/    /' "$T/trigger.err" >&2
hits=$(fsl_hits)
fsl clear >/dev/null
grep -q 'PANIC:' "$LOG" && panic=yes || panic=no
# After a PANIC the postmaster reinitializes (restart_after_crash = on): wait for it to be ready.
later_ok=no
if apps_wait_for 30 "$PG" checkpoint "$T/sock" &&
	"$PG" insert "$T/sock" $((BASE + MORE + LATER)) "$LATER" >"$T/put3.out" 2>"$T/later.err"; then
	later_ok=yes
fi
grep -q 'reinitializing' "$LOG" && reinit=yes || reinit=no
total=$((BASE + MORE + 2 * LATER))
"$PG" verify "$T/sock" 0 "$total" >"$T/before.out" 2>&1 || apps_log "verify before reboot failed"
apps_log "stop (immediate), power cut, start: crash recovery"
apps_stop_pid "$pid" QUIT 30
fsl reboot >/dev/null
# The power cut undoes the unsynced unlink of postmaster.pid at the stop: a stale lock file naming a
# PID that no longer exists, which PostgreSQL removes at start (names undone at power cut).
[ -e "$DATA/postmaster.pid" ] && stale_pid=yes || stale_pid=no
pg_start || apps_die "postgres did not start after the reboot: $(tail -n 5 "$LOG")"
"$PG" verify "$T/sock" 0 "$total" >"$T/after.out" 2>&1 || apps_log "verify after reboot failed"
tail -n 1 "$T/after.out" | sed 's/^/    /' >&2
apps_stop_pid "$pid" INT 30

observed="fault_hits=$hits trigger_rc=$trigger_rc panic=$panic reinitialized=$reinit later_ok=$later_ok stale_pid=$stale_pid $(apps_outcome "$T/put1.out $T/put2.out $T/put3.out" "$T/put2.out" "$T/before.out" "$T/after.out")"
if [ "${APPS_EXPLORE:-0}" = 1 ]; then
	echo "observed: $observed"
	grep -E 'PANIC|ERROR|FATAL|WARNING|redo|reinit' "$LOG" | sed 's/^/    log: /'
	exit 0
fi
expect=$(printf '%s\n' "$PINNED" | awk -v k="$APPS_NAME" '$1 == k { $1 = ""; print substr($0, 2) }')
[ -n "$expect" ] || apps_die "no outcome pinned for $APPS_NAME (observed: $observed)"
apps_expect "$observed" "$expect"
apps_finish
