#!/bin/sh
# fsynclab-entrypoint — the image's entry point: checks that this container can mount FUSE before
# handing its arguments to `fsynclab`, so a missing docker flag gives one clear sentence naming the
# flag instead of "fuse: device not found" or "fusermount3: mount failed: Operation not permitted".
#
# What it checks, only for the commands that mount (run, mount, bench fs; never for --help):
#   1. /dev/fuse exists and opens           else: "run with --device /dev/fuse --cap-add SYS_ADMIN"
#   2. a trial tmpfs mount succeeds          else: the same, or the AppArmor/SELinux hint when the
#                                            capability is there but a security profile denies mount
#   3. (run only) loop devices are usable    else: a note that the real-kernel scenarios need
#      and /proc/sys is writable             --privileged (the FUSE scenarios still run)
#   4. (reports under /out) /out is writable, and a note when it is not a mounted volume
# A failed check exits 2 without running anything. FSYNCLAB_SKIP_PREFLIGHT=1 skips the checks.
# `IMAGE preflight` runs checks 1-3 alone and prints "preflight: ok" (a way to test docker flags).
#
# When /out is a volume owned by a non-root user, the reports written during the run are handed to
# that user afterwards (so a workshop's ./out is not full of root-owned files); fsynclab then runs as
# a child with SIGINT/SIGTERM forwarded. Otherwise the script execs fsynclab. Exit status: fsynclab's.
set -u

FSYNCLAB=${FSYNCLAB:-/usr/local/bin/fsynclab}
SYS_ADMIN_BIT=21 # CAP_SYS_ADMIN, see capabilities(7)

say() { printf '%s\n' "$*" >&2; }

# refuse MESSAGE... — print the reason and the docker flags that fix it, then exit 2.
refuse() {
	say "fsynclab: $1"
	shift
	for line in "$@"; do say "  $line"; done
	say "  FUSE scenarios:        docker run --device /dev/fuse --cap-add SYS_ADMIN -v \"\$PWD/out:/out\" IMAGE"
	say "  real-kernel scenarios: docker run --privileged -v \"\$PWD/out:/out\" IMAGE   (loop devices)"
	exit 2
}

# has_cap_sys_admin — true when the effective capability set holds CAP_SYS_ADMIN.
has_cap_sys_admin() {
	capeff=$(awk '/^CapEff:/ {print $2}' /proc/self/status 2>/dev/null) || return 1
	[ -n "$capeff" ] || return 1
	[ $(((0x$capeff >> SYS_ADMIN_BIT) & 1)) -eq 1 ]
}

# can_mount — true when a throw-away tmpfs mount succeeds here (the same permission FUSE needs).
can_mount() {
	dir=$(mktemp -d /tmp/fsynclab-preflight.XXXXXX) || return 1
	if mount -t tmpfs -o size=4k fsynclab-preflight "$dir" 2>/dev/null; then
		umount "$dir" || say "fsynclab: warning: could not unmount the preflight mount $dir"
		rmdir "$dir"
		return 0
	fi
	rmdir "$dir"
	return 1
}

# check_fuse — steps 1 and 2 above.
check_fuse() {
	if [ ! -e /dev/fuse ]; then
		refuse "/dev/fuse is missing in this container, so nothing can be mounted (\"fuse: device not found\")." \
			"Pass the device and the mount capability:"
	fi
	if ! (: <>/dev/fuse) 2>/dev/null; then
		refuse "/dev/fuse is here but cannot be opened (the device cgroup denies it)." \
			"Pass it with --device /dev/fuse rather than a bind mount of /dev:"
	fi
	if [ "$(id -u)" -ne 0 ]; then
		refuse "running as uid $(id -u): fsynclab mounts as root inside the container; drop --user." \
			"Reports under a mounted /out are handed to the owner of /out afterwards."
	fi
	if ! can_mount; then
		if has_cap_sys_admin; then
			refuse "mounting is denied although CAP_SYS_ADMIN is granted: a security profile forbids mount(2)." \
				"On AppArmor hosts (Ubuntu) add --security-opt apparmor=unconfined;" \
				"on SELinux hosts add --security-opt label=disable. Otherwise:"
		fi
		refuse "this container may not mount filesystems: it lacks CAP_SYS_ADMIN (\"fusermount3: mount failed: Operation not permitted\")." \
			"Add the capability:"
	fi
}

# check_loop — step 3: a note only, the FUSE scenarios do not need loop devices. The real-kernel
# scenarios also drop the kernel's caches at a power cut (/proc/sys is read-only in a container that
# is not privileged).
check_loop() {
	if [ ! -e /dev/loop-control ] || ! (: <>/dev/loop-control) 2>/dev/null; then
		say "fsynclab: note: no loop devices in this container: real-kernel scenarios (ext4/XFS/Btrfs on a"
		say "  loop device) cannot run; start the container with --privileged for those."
	elif ! [ -w /proc/sys/vm/drop_caches ]; then
		say "fsynclab: note: /proc/sys is read-only in this container: real-kernel scenarios cannot drop"
		say "  the kernel's caches at a power cut; start the container with --privileged for those."
	fi
}

# reports_under_out ARGS... — true when an argument names a file under /out.
reports_under_out() {
	for arg in "$@"; do
		case "$arg" in /out/* | --*=/out/*) return 0 ;; esac
	done
	return 1
}

# check_out — step 4.
check_out() {
	if ! [ -d /out ] || ! [ -w /out ] || ! touch /out/.fsynclab-write-test 2>/dev/null; then
		refuse "cannot write the reports: /out is not a writable directory." \
			"Mount a host directory on it, e.g. -v \"\$PWD/out:/out\", and check its permissions:"
	fi
	rm -f /out/.fsynclab-write-test
	if ! mountpoint -q /out; then
		say "fsynclab: note: /out is not a mounted volume, so the reports vanish with the container;"
		say "  add -v \"\$PWD/out:/out\" to keep them."
	fi
}

# is_help ARGS... — true when the user asked for help (no check needed for that).
is_help() {
	for arg in "$@"; do
		case "$arg" in -h | --help | help) return 0 ;; esac
	done
	return 1
}

if [ "$#" -eq 0 ]; then
	exec "$FSYNCLAB" --help
fi

if [ "$1" = preflight ]; then
	check_fuse
	check_loop
	echo "preflight: ok: /dev/fuse opens and this container may mount"
	exit 0
fi

if [ "${FSYNCLAB_SKIP_PREFLIGHT:-0}" != 1 ] && ! is_help "$@"; then
	case "$1" in
	run)
		check_fuse
		check_loop
		;;
	mount) check_fuse ;;
	bench) [ "${2:-}" = wal ] || check_fuse ;;
	esac
	if reports_under_out "$@"; then
		check_out
	fi
fi

# Hand the reports to the owner of a non-root /out volume after the run; otherwise just exec.
out_owner=""
if reports_under_out "$@" && mountpoint -q /out 2>/dev/null; then
	out_owner=$(stat -c %u:%g /out)
	[ "$out_owner" = 0:0 ] && out_owner=""
fi
if [ -z "$out_owner" ]; then
	exec "$FSYNCLAB" "$@"
fi

# Files newer than the marker were written by this run. The marker is dated one second back because
# file times tick coarsely (a file written in the same tick as the marker is not "newer").
marker=$(mktemp /tmp/fsynclab-run-start.XXXXXX) || exit 2
touch -d "@$(($(date +%s) - 1))" "$marker" || exit 2
exec 3<&0
"$FSYNCLAB" "$@" <&3 3<&- &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP
status=0
wait "$child" || status=$?
while kill -0 "$child" 2>/dev/null; do # wait was interrupted by a forwarded signal
	status=0
	wait "$child" || status=$?
done
if ! find /out -xdev -newer "$marker" -user 0 -exec chown "$out_owner" {} +; then
	say "fsynclab: warning: could not hand the reports in /out to $out_owner"
fi
rm -f "$marker"
exit "$status"
