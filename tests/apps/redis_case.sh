#!/usr/bin/env bash
# redis_case.sh CASE — Redis (the Debian package's version) with appendonly yes under one injected
# fault on its append-only file, on a real fsynclab mount, compared with the outcome observed and
# pinned for the case.
#
# The story: mount (--allow-other: the server runs as the redis user), start redis-server (Unix
# socket only, AOF on the mount), SET BASE keys; arm the fault on the AOF; SET MORE keys (each
# reply recorded: OK is an acknowledgement), wait two seconds (everysec's background fsync runs),
# SET LATER keys (does Redis refuse writes after the failure?). Did the server exit? If it did,
# restart it on the cached state. Read every key back (what a client sees now), kill it (power
# cut: SIGKILL, then fsynclab reboot), start it again (AOF replay) and read again: were
# acknowledged writes lost? Outcome words: exited (the server was gone after the fault), restart
# (ok, or failed: Redis refused its AOF after the power cut), misconf (writes were refused with
# MISCONF), and lib.sh's apps_outcome words. APPS_EXPLORE=1 prints the outcome without comparing.
set -u
. "$(dirname "$0")/lib.sh"
REDIS=$(dirname "$0")/redis.sh

BASE=20
MORE=20
LATER=10
AOF='redis/appendonlydir/*.incr.aof'

case_def() {
	# Each case sets: policy (appendfsync), profile, fault (inject arguments), and may change
	# MORE and LATER, and its outcome is pinned in PINNED below.
	profile=ext4-ordered
	case "$1" in
	redis-always-fsync-eio)
		policy=always fault="--op fdatasync --path $AOF --errno EIO --times 1"
		;;
	redis-always-writeback-eio)
		policy=always fault="--op writeback --path $AOF --errno EIO --times 1"
		;;
	redis-always-fsync-enospc)
		policy=always fault="--op fdatasync --path $AOF --errno ENOSPC --times 1"
		;;
	redis-everysec-fsync-eio)
		policy=everysec fault="--op fdatasync --path $AOF --errno EIO --times 1"
		;;
	redis-everysec-writeback-eio)
		# One write after the fault and none after the failed fsync: a later write would append
		# to the failed page again and so repair it (when it lands depends on timing).
		policy=everysec fault="--op writeback --path $AOF --errno EIO --times 1" MORE=1 LATER=0
		;;
	*)
		echo "redis_case.sh: unknown case: '$1'" >&2
		exit 2
		;;
	esac
}

# Observed outcomes, pinned: what this program version did on this fsynclab (Debian 12 packages,
# fsynclab ext4-ordered/ext4-data/xfs/btrfs profiles), one line per CASE@PROFILE. A changed word is
# a changed behaviour: of the program (a fix or a regression) or of the filesystem model. Words
# that depend on timing are left out (Redis everysec: how many writes land before the background
# fsync fails, whether a write meets MISCONF). docs/apps.md explains each line.
PINNED='
redis-always-fsync-eio@ext4-ordered        fault_hits=1 exited=yes restart=ok acked=20 failed=30 acked_after_fail=0 lost=0 false_failures=1 vanished=0 wrong=0 corrupt=no misconf=no
redis-always-writeback-eio@ext4-ordered    fault_hits=1 exited=yes restart=failed acked=20 failed=30 acked_after_fail=0 lost=20 false_failures=0 vanished=21 wrong=0 corrupt=yes misconf=no
redis-always-fsync-enospc@ext4-ordered     fault_hits=1 exited=yes restart=ok acked=20 failed=30 acked_after_fail=0 lost=0 false_failures=1 vanished=0 wrong=0 corrupt=no misconf=no
redis-everysec-fsync-eio@ext4-ordered      fault_hits=1 exited=no restart=ok lost=0 corrupt=no
redis-everysec-writeback-eio@ext4-ordered  fault_hits=1 exited=no restart=failed misconf=no acked=21 failed=0 lost=21 corrupt=yes
redis-always-writeback-eio@ext4-data       fault_hits=1 exited=yes restart=ok acked=21 failed=29 acked_after_fail=0 lost=0 false_failures=1 vanished=0 wrong=0 corrupt=no misconf=no
'

[ $# -ge 1 ] && [ $# -le 2 ] || {
	echo "usage: redis_case.sh CASE [PROFILE]" >&2
	exit 2
}
case_def "$1"
profile=${2:-$profile}
apps_init "$1@$profile"
apps_need_cmd redis-server redis-server
apps_need_user redis redis-server
fsl_mount --profile "$profile" --allow-other
T=$APPS_TMP
mkdir -p "$T/sock" "$T/log" "$MNT/redis" || apps_die "mkdir failed"
chown redis: "$T/sock" "$T/log" "$MNT/redis" || apps_die "chown to redis failed"
"$REDIS" conf "$MNT/redis" "$T/sock" "$policy" >"$T/redis.conf" || apps_die "conf failed"
LOG=$T/log/redis.log

# redis_start — start the server; its PID goes to $pid and on the cleanup stack.
redis_start() {
	pid=$("$REDIS" start "$T/redis.conf" "$LOG.$1") || return 1
	apps_defer "apps_stop_pid $pid KILL 10"
}

redis_start 1 || apps_die "redis-server did not start: $(tail -n 5 "$LOG.1")"
"$REDIS" insert "$T/sock" 0 "$BASE" >"$T/put1.out" || apps_die "baseline SETs failed"
apps_log "fault: fsynclab inject $fault"
fsl inject $fault >/dev/null
"$REDIS" insert "$T/sock" "$BASE" "$MORE" continue >"$T/put2.out" 2>&1
sleep 2
[ "$LATER" -eq 0 ] || "$REDIS" insert "$T/sock" $((BASE + MORE)) "$LATER" continue >>"$T/put2.out" 2>&1
sleep 2
hits=$(fsl_hits)
fsl clear >/dev/null
grep -E '^fail' "$T/put2.out" | head -n 3 | sed 's/^/    /' >&2
grep -iE 'fsync|error|exiting' "$LOG.1" | head -n 3 | sed 's/^/    log: /' >&2
total=$((BASE + MORE + LATER))
if apps_alive "$pid"; then
	exited=no
else
	exited=yes
	apps_log "redis-server exited: restart on the cached state"
	redis_start 2 || apps_die "redis-server did not restart: $(tail -n 5 "$LOG.2")"
fi
"$REDIS" verify "$T/sock" 0 "$total" >"$T/before.out" 2>&1 || apps_log "verify before reboot failed"
apps_log "power cut: SIGKILL, fsynclab reboot, start (AOF replay)"
apps_stop_pid "$pid" KILL 10
fsl reboot >/dev/null
if redis_start 3; then
	"$REDIS" verify "$T/sock" 0 "$total" >"$T/after.out" 2>&1 || apps_log "verify after reboot failed"
	restart=ok
else
	restart=failed
	tail -n 3 "$LOG.3" | sed 's/^/    log: /' >&2
	# Redis refuses to load a damaged AOF: that is its corruption report.
	bad=$(grep -o 'Bad file format reading the append only file[^:]*' "$LOG.3" | head -n 1)
	if [ -n "$bad" ]; then
		echo "verify present=0 missing=$total wrong=0 corrupt=yes: $bad" >"$T/after.out"
	else
		: >"$T/after.out"
	fi
fi
tail -n 1 "$T/after.out" | sed 's/^/    /' >&2

grep -q MISCONF "$T/put2.out" && misconf=yes || misconf=no
observed="fault_hits=$hits exited=$exited restart=$restart misconf=$misconf $(apps_outcome "$T/put1.out $T/put2.out" "$T/put2.out" "$T/before.out" "$T/after.out")"
if [ "${APPS_EXPLORE:-0}" = 1 ]; then
	echo "observed: $observed"
	exit 0
fi
expect=$(printf '%s\n' "$PINNED" | awk -v k="$APPS_NAME" '$1 == k { $1 = ""; print substr($0, 2) }')
[ -n "$expect" ] || apps_die "no outcome pinned for $APPS_NAME (observed: $observed)"
apps_expect "$observed" "$expect"
apps_finish
