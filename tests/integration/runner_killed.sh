#!/usr/bin/env bash
# runner_killed.sh — a workload killed mid-run leaves nothing behind: (1) a crash step kills it in
# the middle of a background append, and recovery still finds every acknowledged record; (2) the
# test kills the workload process from outside (SIGKILL by PID); (3) Ctrl-C (SIGINT) interrupts
# `fsynclab run`: exit 130, the scenario reported as interrupted; (4) the worker process running
# the scenario is SIGKILLed and the parent cleans up after it. Every time: no stale mount in
# /proc/mounts, no temporary directory left.
source "$(dirname "$0")/runner_lib.sh"

out="$WORK/out.txt"
"$FSYNCLAB" run "$FIX/killed/wal-crash.yaml" >"$out" 2>&1 || { cat "$out"; fail "crash fixture"; }
cat "$out"
grep -q "crash: the workload process killed" "$out" || fail "the crash is not narrated"
assert_clean

# descendants PID - every process below PID (by parent PID, from /proc)
descendants() {
	local kids k
	kids=$(ps -o pid= --ppid "$1" 2>/dev/null || true)
	for k in $kids; do
		echo "$k"
		descendants "$k"
	done
}

# (2) kill the workload from outside while the scenario sleeps
"$FSYNCLAB" run -v "$FIX/killed/wal-long.yaml" >"$out" 2>&1 &
runpid=$!
PIDS+=("$runpid")
victim=""
for _ in $(seq 100); do
	sleep 0.1
	# the workload: a child of the worker (itself a child of `fsynclab run`) running the same binary
	for worker in $(ps -o pid= --ppid "$runpid"); do
		for p in $(ps -o pid= --ppid "$worker"); do
			if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q " run "; then
				victim=$p
			fi
		done
	done
	[ -n "$victim" ] && break
done
[ -n "$victim" ] || fail "could not find the workload process"
sleep 1 # let it acknowledge some records
kill -KILL "$victim"
set +e
wait "$runpid"
rc=$?
set -e
cat "$out" | tail -20
assert_clean
grep -q "recovery:" "$out" || fail "the run did not go on to recovery after the workload died"
grep -q "the workload process died (signal 9)" "$out" || fail "the outside kill is not narrated"
[ "$rc" -eq 0 ] || fail "a killed process loses nothing acknowledged: expected a match, got exit $rc"

# (3) Ctrl-C in the middle
"$FSYNCLAB" run "$FIX/killed/wal-long.yaml" >"$out" 2>&1 &
runpid=$!
PIDS+=("$runpid")
for _ in $(seq 100); do
	sleep 0.1
	[ "$(stale_mounts)" -gt 0 ] && break
done
[ "$(stale_mounts)" -gt 0 ] || fail "the scenario never mounted"
sleep 0.5
kill -INT "$runpid"
for p in $(descendants "$runpid"); do kill -INT "$p" 2>/dev/null || true; done # as a terminal would (process group)
set +e
wait "$runpid"
rc=$?
set -e
cat "$out"
[ "$rc" -eq 130 ] || fail "Ctrl-C must exit 130, got $rc"
grep -q "interrupted" "$out" || fail "the scenario is not reported as interrupted"
assert_clean

# (4) the worker itself killed (SIGKILL: no cleanup of its own): the parent cleans up after it
"$FSYNCLAB" run "$FIX/killed/wal-long.yaml" >"$out" 2>&1 &
runpid=$!
PIDS+=("$runpid")
for _ in $(seq 100); do
	sleep 0.1
	[ "$(stale_mounts)" -gt 0 ] && break
done
[ "$(stale_mounts)" -gt 0 ] || fail "the scenario never mounted"
sleep 0.5
worker=$(ps -o pid= --ppid "$runpid" | head -1 | tr -d ' ')
[ -n "$worker" ] || fail "no worker process"
kill -KILL "$worker"
set +e
wait "$runpid"
rc=$?
set -e
cat "$out"
[ "$rc" -eq 1 ] || fail "a dead worker must fail the run, got $rc"
grep -q "the worker running it died (signal 9); its mount and directory were cleaned up" "$out" ||
	fail "the dead worker is not reported, or its leftovers not cleaned"
for _ in $(seq 50); do # the orphaned workload sees its runner gone and exits
	[ -z "$(ls -A "$TMPDIR")" ] && break
	sleep 0.1
done
assert_clean
echo PASS
