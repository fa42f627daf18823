#!/bin/bash
# fusefs_cleanup.sh — issue item 9: a busy umount fails clearly and leaves the mount up; a killed
# daemon leaves no hung mount behind the next `fsynclab mount`; a live mount is not mounted over;
# bad input is refused naming the offending word.
. "$(dirname "$0")/fusefs_lib.sh" "$@"

mounted() { awk -v m="$1" '$5 == m' /proc/self/mountinfo | grep -c fuse.fsynclab >/dev/null; }

fs_mount busy --writeback-interval never
say "umount of a busy mount fails with a clear message, exit 1, and the mount stays"
exec 3<>"$M/held"
set +e
msg=$("$FSYNCLAB" umount "$M" 2>&1)
rc=$?
set -e
exec 3>&-
expect_eq "busy umount exit status" "$rc" 1
case "$msg" in *busy*) ;; *)
	echo "FAIL: busy umount said: $msg" >&2
	exit 1
	;;
esac
mounted "$M" || { echo "FAIL: the busy mount went away" >&2; exit 1; }
echo "x" >"$M/still-works"
fs_umount "$M"
mounted "$M" && { echo "FAIL: still mounted after umount" >&2; exit 1; }
expect_eq "written back at umount" "$(cat "$B/still-works")" x

say "mounting over a live fsynclab mount is refused"
"$FSYNCLAB" mount "$B" "$M"
set +e
msg=$("$FSYNCLAB" mount "$B" "$M" 2>&1)
rc=$?
set -e
expect_eq "second mount exit status" "$rc" 1
case "$msg" in *"already an fsynclab mount"*) ;; *)
	echo "FAIL: second mount said: $msg" >&2
	exit 1
	;;
esac

say "a killed daemon: the mount is dead (ENOTCONN); the next mount detaches it and works"
pid=$(daemon_pid "$M")
[ -n "$pid" ] || { echo "FAIL: no pid file for $M" >&2; exit 1; }
echo "unsynced" >"$M/after-kill"
kill -9 "$pid"
for _ in $(seq 100); do pid_alive "$pid" || break; sleep 0.02; done
# The kernel may answer from cached attributes for a moment; then ENOTCONN (or ECONNABORTED).
for _ in $(seq 100); do stat "$M" >/dev/null 2>"$T/err" || break; sleep 0.02; done
if stat "$M" >/dev/null 2>&1; then
	echo "FAIL: stat on the dead mount still succeeds" >&2
	exit 1
fi
grep -Eq "not connected|connection abort" "$T/err" || { cat "$T/err"; exit 1; }
"$FSYNCLAB" mount "$B" "$M" 2>"$T/err"
grep -q "detached a dead mount" "$T/err"
mounted "$M"
expect_eq "mount table entries for $M" "$(awk -v m="$M" '$5 == m' /proc/self/mountinfo | wc -l)" 1
expect_eq "the killed daemon's unsynced write" "$(stat -c %s "$M/after-kill")" 0
echo ok >"$M/alive"
fs_umount "$M"

say "bad input: a clear error naming the word, nothing mounted"
for args in "--profile ext5" "--cache maybe" "--block-size 1000" "--writeback-interval 5" "--backing-sync perhaps" \
	"--bogus"; do
	set +e
	# shellcheck disable=SC2086
	msg=$("$FSYNCLAB" mount $args "$B" "$M" 2>&1)
	rc=$?
	set -e
	word=${args#* }
	expect_eq "exit status for '$args'" "$rc" 2
	case "$msg" in *"$word"*) ;; *)
		echo "FAIL: '$args' said: $msg" >&2
		exit 1
		;;
	esac
	mounted "$M" && { echo "FAIL: '$args' mounted something" >&2; exit 1; }
done
set +e
"$FSYNCLAB" mount "$T/no-such-dir" "$M" 2>"$T/err"
rc=$?
"$FSYNCLAB" umount "$T" 2>>"$T/err"
rc2=$?
set -e
expect_eq "missing backing" "$rc" 1
expect_eq "umount of a non-mount" "$rc2" 1
grep -q "no-such-dir" "$T/err"
grep -q "not an fsynclab mount" "$T/err"
echo PASS
