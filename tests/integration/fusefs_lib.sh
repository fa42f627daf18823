# fusefs_lib.sh — sourced by the fusefs integration tests: a temporary directory, mount and
# unmount helpers, and an EXIT trap that unmounts everything the test mounted (by mount point;
# a daemon that will not go is killed by the pid in its pid file, never by name).
# Usage: . fusefs_lib.sh "$@"   (arguments: path to fsio, path to passthrough_check)
set -euo pipefail

: "${FSYNCLAB:?FSYNCLAB must point at the fsynclab binary}"
FSIO=${1:?path to fsio}
PASSCHECK=${2:-}
if [ "$(id -u)" != 0 ] || [ ! -w /dev/fuse ]; then
	echo "SKIP: needs root and /dev/fuse"
	exit 77
fi
T=$(mktemp -d /tmp/fsynclab-it.XXXXXX)
TAG=$(basename "$T")
MOUNTS=()
RUNDIR=${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/fsynclab}
RUNDIR=${RUNDIR:-/tmp/fsynclab-$(id -u)}

# daemon_pid MNT — the pid of the daemon serving MNT (from its pid file), or nothing.
daemon_pid() {
	local f
	for f in "$RUNDIR/$(basename "$1")"-*.pid; do
		[ -e "$f" ] && cat "$f"
	done
	return 0
}

# pid_alive PID — true while PID runs (a zombie nobody reaps counts as gone).
pid_alive() {
	[ -r "/proc/$1/stat" ] || return 1
	case "$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)" in Z | X) return 1 ;; esac
	return 0
}

fusefs_cleanup() {
	local rc=$? m pid
	for m in "${MOUNTS[@]}"; do
		if awk -v m="$m" '$5 == m' /proc/self/mountinfo | grep -c fuse.fsynclab >/dev/null; then
			pid=$(daemon_pid "$m")
			if ! "$FSYNCLAB" umount "$m" 2>/dev/null; then
				umount -l "$m" 2>/dev/null || true
				[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
			fi
		fi
	done
	rm -rf "$T"
	if [ $rc -ne 0 ]; then
		echo "FAILED (exit $rc)"
		for f in "$RUNDIR/$TAG"-*.log; do [ -e "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done
	fi
	# Every mount is gone: what is left of ours in the runtime dir (the pid file and socket of a
	# daemon a test killed, logs) goes too.
	rm -f "$RUNDIR/$TAG"-*.log "$RUNDIR/$TAG"-*.pid "$RUNDIR/$TAG"-*.sock
	exit $rc
}
trap fusefs_cleanup EXIT
# Name the command that failed (set -e alone exits silently).
trap '[[ $- == *e* ]] && echo "FAILED: line $LINENO of $(basename "${BASH_SOURCE[0]}"): $BASH_COMMAND" >&2' ERR

# fs_mount NAME [mount options...] — mounts $T/NAME.b on $T/$TAG-NAME; sets B and M.
fs_mount() {
	local name=$1
	shift
	B=$T/$name.b
	M=$T/$TAG-$name
	mkdir -p "$B" "$M"
	MOUNTS+=("$M")
	"$FSYNCLAB" mount "$@" "$B" "$M"
}

fs_umount() {
	"$FSYNCLAB" umount "$1"
}

# say WHAT — one line of narration.
say() {
	echo "== $*"
}

# expect_eq WHAT GOT WANT
expect_eq() {
	if [ "$2" != "$3" ]; then
		echo "FAIL: $1: got '$2', expected '$3'" >&2
		exit 1
	fi
}
