# lib.sh — shell helpers shared by the real-application tests (sourced, never run).
#
# What it owns: the temporary directory of one test, the cleanup stack (every process and mount a
# test starts is pushed here and undone on EXIT, success or failure, by PID — never by name), the
# skip convention (exit 77 with the reason: ctest reports the test as skipped, never as passed),
# waiting with a timeout, running a command as another user, the fsynclab mount of a test, and
# the pass/fail tally of its checks.
#
# Environment: FSYNCLAB (the built binary), FSYNCLAB_SRC (source tree), FSYNCLAB_BUILD (build tree),
# set by ctest (tests/CMakeLists.txt); APPS_KEEP=1 keeps the temporary directory for a post-mortem;
# APPS_NAMESPACE=durable|posix mounts with that --namespace rule instead of the profile's (to see
# what a power cut's undone names change: the pinned outcomes are the profile's).

set -u

APPS_SKIP=77
apps_checks_passed=0
apps_checks_failed=0
apps_cleanups=()

# apps_log MSG... — one narrated line on stderr.
apps_log() {
	printf '[%s] %s\n' "${APPS_NAME:-apps}" "$*" >&2
}

# apps_skip REASON — report the test as skipped (exit 77) with REASON.
apps_skip() {
	echo "SKIP: ${APPS_NAME:-apps}: $*"
	exit "$APPS_SKIP"
}

# apps_die MSG — a setup step failed: the test fails (exit 1).
apps_die() {
	echo "ERROR: ${APPS_NAME:-apps}: $*" >&2
	exit 1
}

# apps_defer CMD... — push CMD (one string, eval'ed) on the cleanup stack.
apps_defer() {
	apps_cleanups+=("$*")
}

# apps_cleanup — undo the cleanup stack, last pushed first. Installed as the EXIT trap.
apps_cleanup() {
	local rc=$? i
	trap - EXIT
	for ((i = ${#apps_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${apps_cleanups[i]}" || apps_log "cleanup step failed: ${apps_cleanups[i]}"
	done
	apps_cleanups=()
	exit "$rc"
}

# apps_init NAME — start a test: its temporary directory $APPS_TMP (traversable by the application
# users), the EXIT trap, and the required environment.
apps_init() {
	APPS_NAME=$1
	: "${FSYNCLAB_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
	: "${FSYNCLAB_BUILD:=$FSYNCLAB_SRC/build}"
	: "${FSYNCLAB:=$FSYNCLAB_BUILD/harness/fsynclab}"
	APPS_TMP=$(mktemp -d "/tmp/fsynclab-apps-$APPS_NAME.XXXXXX") || apps_die "mktemp failed"
	chmod 755 "$APPS_TMP"
	trap apps_cleanup EXIT
	trap 'exit 130' INT TERM
	if [ "${APPS_KEEP:-0}" = 1 ]; then
		apps_defer "apps_log 'kept $APPS_TMP'"
	else
		apps_defer "rm -rf '$APPS_TMP'"
	fi
}

# apps_need_cmd CMD PACKAGE — skip the test unless CMD is on PATH (or an executable path).
apps_need_cmd() {
	command -v "$1" >/dev/null 2>&1 || apps_skip "$1 not found (Debian package $2 not installed)"
}

# apps_need_user USER PACKAGE — skip the test unless the system user USER exists.
apps_need_user() {
	id -u "$1" >/dev/null 2>&1 || apps_skip "user $1 not found (Debian package $2 not installed)"
}

# apps_as USER CMD... — run CMD as USER (its primary group and supplementary groups), in the same
# process (exec, no intermediate parent: the PID of a backgrounded apps_as is the program's PID).
# As the same user, just runs CMD.
apps_as() {
	local user=$1
	shift
	if [ "$(id -un)" = "$user" ]; then
		"$@"
	else
		setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups --reset-env -- "$@"
	fi
}

# apps_wait_for TIMEOUT_S CMD... — run CMD every 0.1 s until it succeeds; fails after TIMEOUT_S.
apps_wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# apps_alive PID — whether process PID exists (and is not a zombie).
apps_alive() {
	local state
	state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case "$state" in Z*) return 1 ;; esac
}

# apps_stop_pid PID [SIGNAL] [TIMEOUT_S] — send SIGNAL (default TERM) to PID, wait up to TIMEOUT_S
# (default 20) for it to exit, then SIGKILL it. Always by PID. Returns 0 once it is gone.
apps_stop_pid() {
	local pid=$1 sig=${2:-TERM} timeout=${3:-20}
	apps_alive "$pid" || return 0
	kill -s "$sig" "$pid" 2>/dev/null || return 0
	if ! apps_wait_for "$timeout" eval "! apps_alive $pid"; then
		apps_log "pid $pid did not exit on SIG$sig within ${timeout}s: SIGKILL"
		kill -s KILL "$pid" 2>/dev/null || true
		apps_wait_for 5 eval "! apps_alive $pid" || return 1
	fi
	wait "$pid" 2>/dev/null || true
	return 0
}

# apps_check DESCRIPTION CMD... — one check: passes when CMD succeeds. Tallied for apps_finish.
apps_check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok   - $what"
		apps_checks_passed=$((apps_checks_passed + 1))
	else
		echo "FAIL - $what"
		apps_checks_failed=$((apps_checks_failed + 1))
	fi
}

# apps_finish — print the tally and exit 0 only if every check passed (and at least one ran).
apps_finish() {
	echo "${APPS_NAME}: ${apps_checks_passed} passed, ${apps_checks_failed} failed"
	[ "$apps_checks_failed" -eq 0 ] && [ "$apps_checks_passed" -gt 0 ]
	exit $?
}

# ---- the fsynclab mount of a test --------------------------------------------------------------

# fsl_mount [mount options...] — mount $APPS_TMP/backing at $APPS_TMP/mnt (MNT), with the profile's
# namespace rule (a power cut undoes unsynced creates, renames, unlinks) unless APPS_NAMESPACE says
# otherwise; the unmount is deferred. Skips the test when this build's fsynclab cannot mount (placeholder).
fsl_mount() {
	[ -x "$FSYNCLAB" ] || apps_die "fsynclab binary not found at $FSYNCLAB"
	BACKING=$APPS_TMP/backing
	MNT=$APPS_TMP/mnt
	mkdir -p "$BACKING" "$MNT" || apps_die "mkdir failed"
	chmod 755 "$BACKING" "$MNT"
	if ! "$FSYNCLAB" mount ${APPS_NAMESPACE:+--namespace "$APPS_NAMESPACE"} "$@" "$BACKING" "$MNT" >"$APPS_TMP/mount.log" 2>&1; then
		if grep -q "not implemented" "$APPS_TMP/mount.log"; then
			apps_skip "this build's 'fsynclab mount' is a placeholder"
		fi
		if grep -q -- "allow-other" "$APPS_TMP/mount.log"; then
			apps_skip "this build's 'fsynclab mount' has no --allow-other: $(head -n 1 "$APPS_TMP/mount.log")"
		fi
		cat "$APPS_TMP/mount.log" >&2
		apps_die "fsynclab mount $* failed"
	fi
	apps_defer "fsl_umount"
	apps_wait_for 10 mountpoint -q "$MNT" || apps_die "$MNT did not become a mount point"
}

# fsl_umount — unmount MNT (clean shutdown of the daemon), falling back to a lazy fusermount3 -u.
fsl_umount() {
	mountpoint -q "$MNT" || return 0
	"$FSYNCLAB" umount "$MNT" >/dev/null 2>&1 || fusermount3 -uz "$MNT" || umount -l "$MNT"
}

# fsl CMD ARGS... — run `fsynclab CMD MNT ARGS...` (inject, clear, reboot, status); fails the test
# when the command fails.
fsl() {
	local cmd=$1
	shift
	"$FSYNCLAB" "$cmd" "$MNT" "$@" || apps_die "fsynclab $cmd $MNT $* failed"
}

# ---- outcomes: what the application did, as key=value words --------------------------------

# apps_outcome ACKED_FILES FAILED_FILE BEFORE_FILE AFTER_FILE — print the outcome words computed from
# workload outputs ("ack KEY" / "fail KEY: ..." lines; ACKED_FILES is a space-separated list) and
# the verify outputs before the reboot (the program restarted on the cached state; may be /dev/null)
# and after it ("present|missing|wrong KEY" lines and the summary line):
#   acked=N          acknowledged writes in all workload phases
#   failed=N         writes the program reported as failed
#   acked_after_fail=N  acknowledgements after the first failure (did it keep accepting writes?)
#   lost=N           acknowledged, but not present (missing or wrong) after reboot and restart
#   false_failures=N reported failed, yet present after reboot
#   vanished=N       present when read before the reboot, gone after it (data that later vanished)
#   wrong=N          keys found with a wrong value after reboot
#   corrupt=yes|no   the program reported corruption after reboot
apps_outcome() {
	local acked_files=$1 failed_file=$2 before=$3 after=$4
	awk -v acked_files="$acked_files" -v failed_file="$failed_file" -v before="$before" -v after="$after" '
	BEGIN {
		n = split(acked_files, files, " ")
		for (i = 1; i <= n; i++) {
			while ((getline line < files[i]) > 0) {
				split(line, w, /[ :]/)
				if (w[1] == "ack") { acked[w[2]] = 1; nacked++; if (seen_fail) after_fail++ }
				if (w[1] == "fail") { seen_fail = 1 }
			}
			close(files[i])
		}
		while ((getline line < failed_file) > 0) {
			split(line, w, /[ :]/)
			if (w[1] == "fail") { failed[w[2]] = 1; nfailed++ }
		}
		while ((getline line < before) > 0) {
			split(line, w, " ")
			if (w[1] == "present") pre[w[2]] = 1
		}
		corrupt = "no"
		while ((getline line < after) > 0) {
			split(line, w, " ")
			if (w[1] == "present") post[w[2]] = 1
			if (w[1] == "wrong") nwrong++
			if (w[1] == "verify" && line ~ /corrupt=yes/) corrupt = "yes"
		}
		for (k in acked) if (!(k in post)) lost++
		for (k in failed) if (k in post) ff++
		for (k in pre) if (!(k in post)) vanished++
		printf "acked=%d failed=%d acked_after_fail=%d lost=%d false_failures=%d vanished=%d wrong=%d corrupt=%s\n",
			nacked, nfailed, after_fail, lost, ff, vanished, nwrong, corrupt
	}'
}

# apps_expect OBSERVED EXPECTED — one check per word of EXPECTED ("key=value ..."): the same key in
# OBSERVED (also "key=value ...") must have that value. Prints both lines for the record.
apps_expect() {
	local observed=$1 expected=$2 word key want got
	echo "observed: $observed"
	echo "expected: $expected"
	for word in $expected; do
		key=${word%%=*}
		want=${word#*=}
		got=$(printf '%s\n' $observed | sed -n "s/^$key=//p" | head -n 1)
		apps_check "$key=$want (observed ${got:-nothing})" [ "$got" = "$want" ]
	done
}

# fsl_hits — the firings of every rule armed on MNT so far (from `fsynclab status --json`).
fsl_hits() {
	"$FSYNCLAB" status "$MNT" --json | grep -o '"hits": *[0-9]*' | awk -F: '{s += $2} END {print s + 0}'
}
