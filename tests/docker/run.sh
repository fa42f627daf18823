#!/usr/bin/env bash
# tests/docker/run.sh — builds docker/Dockerfile for real and runs the image, on a private Docker
# engine that this script starts and stops itself (no engine needs to be running on the machine).
#
#   1. installs docker.io and debootstrap if missing (exit 77 = skipped, with the reason, when they
#      cannot be installed, when not root, or when the machine has no /dev/fuse);
#   2. starts dockerd with its own --exec-root and unix socket under a temp dir, with --bridge=none
#      --iptables=false --ip6tables=false so the machine's network is left untouched; its --data-root
#      (images and the layer cache: the apt-get steps are not redone when only the sources changed)
#      is kept in $FSYNCLAB_DOCKER_CACHE (default /var/cache/fsynclab-docker), or made fresh under the
#      temp dir with FSYNCLAB_DOCKER_FRESH=1; runs on one machine take turns (a lock in that dir);
#   3. makes the base image locally (no registry is reachable): debootstrap --variant=minbase
#      bookworm from the machine's Debian mirror, `docker import`ed as fsynclab-base:bookworm; the
#      rootfs tarball is cached in the same dir;
#   4. docker build --network host --build-arg BASE=fsynclab-base:bookworm -f docker/Dockerfile;
#   5. runs the image: --help; the preflight refusing (exit 2, naming the missing docker flag) without
#      --device /dev/fuse, without --cap-add SYS_ADMIN; the preflight passing with them (and noting
#      that loop devices need --privileged) and with --privileged (or, where the engine cannot start
#      a privileged container, the same access given piece by piece); no compiler in the image; the
#      hand-over of reports to the owner of a mounted /out (a stand-in writer); the scenario
#      catalogue with the image's default command and reports on a mounted /out (JUnit, JSON, HTML
#      written, one test case per scenario, an exit status that agrees with them, the same verdicts
#      as `fsynclab run` on the host, a scenario that differs being run once more on both to tell a
#      run-to-run variation from a difference of the image); one scenario by its relative name; the
#      real-kernel scenarios (scenarios/kernel) privileged, checked the same way, and split with
#      --shard 1/2 and 2/2 into two containers (together the whole run, none twice).
# A trap removes the containers and the previous runs' images, stops dockerd and its containerd by
# PID, unmounts whatever they left under the temp dir and the data root (netns and overlay mounts),
# and removes the temp dir — on success and on failure.
#
# Env: FSYNCLAB_SRC (source tree; default: two levels up), FSYNCLAB_DOCKER_KEEP=1 keeps the temp dir
# (for debugging; dockerd is still stopped), FSYNCLAB_DOCKER_CACHE (cache dir), FSYNCLAB_DOCKER_FRESH=1
# (build with an empty data root: no layer cache).
set -euo pipefail

SKIP=77
src=${FSYNCLAB_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
cache=${FSYNCLAB_DOCKER_CACHE:-/var/cache/fsynclab-docker}
image=fsynclab:test
start=$SECONDS

say() { printf '== %s\n' "$*"; }
skip() {
	echo "SKIPPED: $*"
	exit $SKIP
}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
phase_start=$SECONDS
phase() { # phase NAME — prints how long the previous phase took, then the new phase's name
	say "$1 (+$((SECONDS - phase_start)) s, total $((SECONDS - start)) s)"
	phase_start=$SECONDS
}

# ---- 1. prerequisites ------------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || skip "needs root (it starts its own dockerd and runs debootstrap)"
[ -c /dev/fuse ] || skip "this machine has no /dev/fuse to pass to the container"
# dockerd needs a cgroup filesystem; a chroot without /sys/fs/cgroup has none (dockerd would stop
# with "Devices cgroup isn't mounted"), and there is nothing this test could start instead.
grep -qE ' - cgroup2? ' /proc/self/mountinfo ||
	skip "no cgroup filesystem is mounted (a chroot without /sys/fs/cgroup?): dockerd cannot start here"
[ -f "$src/docker/Dockerfile" ] || fail "no docker/Dockerfile under $src"
# The host's fsynclab (the build under test) is the reference for the catalogue's verdicts.
fsynclab=${FSYNCLAB:-$src/build/harness/fsynclab}
[ -x "$fsynclab" ] || fail "no fsynclab binary at $fsynclab (set FSYNCLAB, or build into $src/build)"
command -v python3 >/dev/null || skip "python3 is needed to read the JUnit files"

if ! command -v dockerd >/dev/null || ! [ -x /usr/bin/docker ] || ! command -v debootstrap >/dev/null; then
	phase "installing docker.io and debootstrap"
	export DEBIAN_FRONTEND=noninteractive
	apt_log=$(mktemp)
	# On a machine with systemd, docker.io's postinst would start the system's dockerd (with its
	# bridge and iptables rules); policy-rc.d's 101 ("action forbidden") keeps it stopped.
	policy_rc=""
	if [ -d /run/systemd/system ] && [ ! -e /usr/sbin/policy-rc.d ]; then
		policy_rc=/usr/sbin/policy-rc.d
		trap 'rm -f "$policy_rc"' EXIT
		printf '#!/bin/sh\n# tests/docker/run.sh: no service starts while docker.io installs\nexit 101\n' >"$policy_rc"
		chmod 0755 "$policy_rc"
	fi
	apt_rc=0
	{ apt-get -o DPkg::Lock::Timeout=600 update -qq &&
		apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends docker.io debootstrap; } >"$apt_log" 2>&1 ||
		apt_rc=$?
	if [ -n "$policy_rc" ]; then
		rm -f "$policy_rc"
		trap - EXIT
	fi
	if [ "$apt_rc" -ne 0 ]; then
		reason=$(grep -E '^(E|W):' "$apt_log" | head -n 3 | tr '\n' ' ')
		rm -f "$apt_log"
		skip "cannot install docker.io and debootstrap with apt-get: ${reason:-see apt-get}"
	fi
	rm -f "$apt_log"
fi
command -v dockerd >/dev/null || skip "docker.io installed but dockerd is not on PATH"
# Debian's client, matching Debian's dockerd (another docker client on PATH may be newer than the
# engine and default to BuildKit); the classic builder needs no buildx plugin.
docker_bin=/usr/bin/docker
[ -x "$docker_bin" ] || docker_bin=$(command -v docker) || skip "docker.io installed but no docker client"

# ---- 2. a private dockerd ---------------------------------------------------------------------------
mkdir -p "$cache"
exec 8>"$cache/run.lock"
if ! flock -n 8; then
	say "another docker test is running on this machine; waiting for it (up to 15 min)"
	flock -w 900 8 || fail "another docker test held $cache/run.lock for 15 min"
fi
tmp=$(mktemp -d /tmp/fsynclab-docker.XXXXXX)
if [ "${FSYNCLAB_DOCKER_FRESH:-0}" = 1 ]; then
	data_root=$tmp/data
else
	data_root=$cache/data-root
fi
dockerd_pid=""
export DOCKER_HOST="unix://$tmp/docker.sock" DOCKER_CONFIG="$tmp/client" DOCKER_BUILDKIT=0
docker() { "$docker_bin" "$@"; }

# mounts_under DIR — the mount points below DIR, deepest first.
mounts_under() {
	findmnt -rn -o TARGET | awk -v p="$1/" 'index($0, p) == 1' | sort -r
}

# stop_pid PID WHAT — SIGTERM, up to 30 s, then SIGKILL.
stop_pid() {
	local pid=$1 what=$2
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 60); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.5
	done
	echo "warning: $what (pid $pid) ignored SIGTERM for 30 s; killing it" >&2
	kill -KILL "$pid" 2>/dev/null || true
}

# stop_dockerd — removes every container, stops dockerd and its containerd by PID, and unmounts what
# they leave under the temp dir and the data root.
stop_dockerd() {
	local pid m
	if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
		mapfile -t ids < <(docker ps -aq 2>/dev/null || true)
		[ "${#ids[@]}" -eq 0 ] || docker rm -f "${ids[@]}" >/dev/null 2>&1 || true
	fi
	# containerd, started by dockerd, writes its PID here; read it before dockerd goes away.
	pid=$(cat "$tmp/exec/containerd/containerd.pid" 2>/dev/null || true)
	if [ -n "$dockerd_pid" ]; then
		stop_pid "$dockerd_pid" dockerd
		wait "$dockerd_pid" 2>/dev/null || true
	fi
	dockerd_pid=""
	[ -z "$pid" ] || stop_pid "$pid" containerd
	for m in $(mounts_under "$tmp") $(mounts_under "$data_root"); do
		umount "$m" 2>/dev/null || umount -l "$m" || echo "warning: cannot unmount $m" >&2
	done
}

cleanup() {
	local rc=$? left
	trap - EXIT INT TERM
	if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
		# Keep the data root small: the images of earlier runs go, this run's (and the layers that
		# the next run will reuse) stay.
		docker image prune -f >/dev/null 2>&1 || echo "warning: docker image prune failed" >&2
	fi
	stop_dockerd
	left="$(mounts_under "$tmp") $(mounts_under "$data_root")"
	left=${left# }
	left=${left% }
	if [ -n "$left" ]; then
		echo "warning: mounts remain under $tmp, not removing it: $left" >&2
		[ "$rc" -ne 0 ] || rc=1
	elif [ "${FSYNCLAB_DOCKER_KEEP:-0}" = 1 ]; then
		echo "kept $tmp (FSYNCLAB_DOCKER_KEEP=1)"
	else
		rm -rf --one-file-system "$tmp"
	fi
	echo "docker test: $((SECONDS - start)) s in all"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_dockerd — starts dockerd and waits up to 60 s for its socket; false (log in dockerd.log) if
# it exits or does not answer.
start_dockerd() {
	mkdir -p "$data_root" "$tmp/exec"
	dockerd --config-file "$tmp/daemon.json" --data-root "$data_root" --exec-root "$tmp/exec" \
		-H "$DOCKER_HOST" --pidfile "$tmp/dockerd.pid" \
		--bridge=none --iptables=false --ip6tables=false --ip-masq=false >"$tmp/dockerd.log" 2>&1 &
	dockerd_pid=$!
	for _ in $(seq 1 120); do
		docker version >/dev/null 2>&1 && return 0
		kill -0 "$dockerd_pid" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}

phase "starting dockerd under $tmp, data root $data_root"
mkdir -p "$tmp/client" "$tmp/out"
echo '{}' >"$tmp/daemon.json" # ignore the machine's /etc/docker/daemon.json
if ! start_dockerd; then
	tail -n 20 "$tmp/dockerd.log" >&2
	[ "$data_root" != "$tmp/data" ] || fail "dockerd did not start (log above)"
	say "dockerd did not start on the cached data root (log above): starting again on an empty one"
	stop_dockerd
	[ -z "$(mounts_under "$data_root")" ] || fail "mounts remain under $data_root"
	rm -rf --one-file-system "$data_root"
	start_dockerd || {
		tail -n 20 "$tmp/dockerd.log" >&2
		fail "dockerd did not start (log above)"
	}
fi

# ---- 3. the base image, from debootstrap ---------------------------------------------------------
# debian_mirror — the machine's Debian mirror for bookworm (deb822 .sources first, then .list files).
debian_mirror() {
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		uri=$(awk 'BEGIN { RS = ""; FS = "\n" }
			/(^|\n)Suites:([^\n]* )?bookworm( |\n|$)/ && /(^|\n)Types:[^\n]*deb( |\n|$)/ {
				for (i = 1; i <= NF; i++) if ($i ~ /^URIs:/) { split($i, w, " "); print w[2]; exit } }' "$f")
		[ -z "$uri" ] || {
			echo "$uri"
			return
		}
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		uri=$(awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++; if ($2 ~ /^\[/) i++;
			if ($(i + 1) == "bookworm") { print $i; exit } }' "$f")
		[ -z "$uri" ] || {
			echo "$uri"
			return
		}
	done
	echo http://deb.debian.org/debian
}

mirror=$(debian_mirror)
tarball="$cache/bookworm-minbase-$(printf '%s' "$mirror" | md5sum | cut -c1-12).tar"
if [ ! -s "$tarball" ]; then
	phase "debootstrap --variant=minbase bookworm from $mirror (cached in $tarball)"
	debootstrap --variant=minbase bookworm "$tmp/rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1 || {
		tail -n 20 "$tmp/debootstrap.log" >&2
		fail "debootstrap failed (log above)"
	}
	rm -rf "$tmp/rootfs/var/cache/apt/archives/"*.deb "$tmp/rootfs/var/lib/apt/lists/"*
	tar -C "$tmp/rootfs" -cf "$tarball.tmp.$$" .
	mv "$tarball.tmp.$$" "$tarball"
	rm -rf --one-file-system "$tmp/rootfs"
fi
# The image is re-imported when the tarball is newer than it (a new debootstrap).
base_label="fsynclab.rootfs=$(stat -c %Y "$tarball")"
if [ "$(docker image inspect -f '{{index .Config.Labels "fsynclab.rootfs"}}' fsynclab-base:bookworm 2>/dev/null)" != "${base_label#*=}" ]; then
	phase "docker import fsynclab-base:bookworm"
	docker import -c "LABEL $base_label" - fsynclab-base:bookworm <"$tarball" >/dev/null
fi

# ---- 4. build --------------------------------------------------------------------------------------
phase "docker build -f docker/Dockerfile (log: build.log)"
# The builder stage is tagged too, so that pruning the previous run's images keeps the layers (the
# apt-get steps) that the next run reuses.
for target in builder runtime; do
	tag=$image
	[ "$target" = runtime ] || tag="fsynclab-builder:test"
	if ! docker build --network host --build-arg BASE=fsynclab-base:bookworm --target "$target" \
		-f "$src/docker/Dockerfile" -t "$tag" "$src" >>"$tmp/build.log" 2>&1; then
		tail -n 40 "$tmp/build.log" >&2
		fail "docker build --target $target failed (last lines above)"
	fi
done
echo "$(grep -c 'Using cache' "$tmp/build.log") build steps from the layer cache"
docker image inspect -f 'image {{.Id}}: {{.Size}} bytes' "$image"

# ---- 5. run ----------------------------------------------------------------------------------------
# caps_root_lacks — the capabilities missing from this shell's bounding set, by docker's names.
caps_root_lacks() {
	local names=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
		LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE
		SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME
		SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG
		WAKE_ALARM BLOCK_SUSPEND AUDIT_READ) bnd i
	bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
	for i in "${!names[@]}"; do
		(((0x$bnd >> i) & 1)) || echo "${names[$i]}"
	done
}

# run_image OUTFILE [docker run args...] — runs a container, stdout+stderr to OUTFILE; prints its status.
run_image() {
	local outfile=$1 rc=0
	shift
	docker run --rm --network none "$@" >"$outfile" 2>&1 || rc=$?
	echo "$rc"
}
# expect_run WANT_STATUS WANT_TEXT NAME [docker run args...] — checks the status, and that the output
# has WANT_TEXT unless it is empty.
expect_run() {
	local want=$1 text=$2 name=$3 rc
	shift 3
	rc=$(run_image "$tmp/$name.txt" "$@")
	if [ "$rc" != "$want" ] || { [ -n "$text" ] && ! grep -qF -- "$text" "$tmp/$name.txt"; }; then
		sed 's/^/  | /' "$tmp/$name.txt" >&2
		fail "$name: docker run $* exited $rc (want $want) and/or did not print '$text' (output above)"
	fi
	echo "ok: $name (exit $rc)"
}

phase "running the image"
expect_run 0 "usage: fsynclab" help "$image" --help
expect_run 2 "--device /dev/fuse --cap-add SYS_ADMIN" refuses-without-device "$image"
expect_run 2 "lacks CAP_SYS_ADMIN" refuses-without-cap-sys-admin --device /dev/fuse "$image"
expect_run 2 "/dev/fuse is missing" refuses-without-device-with-cap --cap-add SYS_ADMIN "$image" preflight
expect_run 0 "preflight: ok" preflight-fuse --device /dev/fuse --cap-add SYS_ADMIN "$image" preflight
grep -qF -- "--privileged" "$tmp/preflight-fuse.txt" ||
	fail "preflight without loop devices did not say that the real-kernel scenarios need --privileged"
# --privileged asks for every capability; where root itself lacks one (this project's VMs have no
# CAP_SYS_RESOURCE) runc cannot start such a container. What --privileged gives the scenarios is
# then given piece by piece: every capability root has, no seccomp/AppArmor filter, a writable
# /proc/sys (drop_caches), the loop devices, /dev/kmsg (filesystem state) and /dev/fuse.
privileged=(--privileged)
rc=$(run_image "$tmp/privileged-probe.txt" --privileged --entrypoint true "$image")
if [ "$rc" != 0 ] && grep -qF "unable to apply caps" "$tmp/privileged-probe.txt"; then
	privileged=(--cap-add ALL)
	for cap in $(caps_root_lacks); do privileged+=(--cap-drop "$cap"); done
	privileged+=(--security-opt seccomp=unconfined --security-opt apparmor=unconfined
		--security-opt systempaths=unconfined --device /dev/fuse --device /dev/kmsg)
	for dev in /dev/loop-control /dev/loop[0-9]*; do
		[ -b "$dev" ] || [ -c "$dev" ] && privileged+=(--device "$dev")
	done
	echo "note: --privileged cannot start a container on this machine (root lacks $(caps_root_lacks));"
	echo "      standing in for it: ${privileged[*]}"
fi
expect_run 0 "preflight: ok" preflight-privileged "${privileged[@]}" "$image" preflight
if grep -qF "note:" "$tmp/preflight-privileged.txt"; then
	sed 's/^/  | /' "$tmp/preflight-privileged.txt" >&2
	fail "preflight with ${privileged[*]} still notes something missing for the real-kernel scenarios"
fi
rc=$(run_image "$tmp/compilers.txt" --entrypoint sh "$image" -c 'command -v cc || command -v gcc || command -v clang')
[ "$rc" != 0 ] || fail "the runtime image has a compiler: $(cat "$tmp/compilers.txt")"
echo "ok: no compiler in the runtime image"

# The hand-over of reports to the owner of a non-root /out: a stand-in for fsynclab (touch) writes
# two "reports"; afterwards they must belong to the owner of the volume, and the status must pass.
mkdir -p "$tmp/out-owned"
chown 4242:4242 "$tmp/out-owned"
expect_run 0 "" reports-handed-to-owner -e FSYNCLAB=/usr/bin/touch -v "$tmp/out-owned:/out" "$image" \
	/out/report.json /out/junit.xml
for f in report.json junit.xml; do
	owner=$(stat -c %u:%g "$tmp/out-owned/$f" 2>/dev/null) || fail "the stand-in run wrote no /out/$f"
	[ "$owner" = 4242:4242 ] || fail "/out/$f belongs to $owner, not to the owner of /out (4242:4242)"
done
echo "ok: reports handed to the owner of /out"

# verdicts JUNIT — "file name verdict" per test case (file relative to the catalogue), sorted; fails
# on XML that does not parse.
verdicts() {
	python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
rows = []
for c in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    kind = "passed"
    for k in ("failure", "error", "skipped"):
        if c.find(k) is not None:
            kind = k
    f = c.get("file") or c.get("name")
    rows.append(f"{f.split('/scenarios/')[-1]} {c.get('name')} {kind}")
print("\n".join(sorted(rows)))
PY
}

# host_run NAME [fsynclab run args...] — the reference: fsynclab on the host, from the source
# catalogue (the same relative names as in the container); JUnit in $tmp/NAME-host.xml.
host_run() {
	local name=$1 rc=0
	shift
	(cd "$src/scenarios" && FSYNCLAB_SCENARIOS="$src/scenarios" "$fsynclab" run -q --junit "$tmp/$name-host.xml" "$@") \
		>"$tmp/$name-host.txt" 2>&1 || rc=$?
	if [ "$rc" -gt 1 ] || ! [ -s "$tmp/$name-host.xml" ]; then
		sed 's/^/  | /' "$tmp/$name-host.txt" >&2
		fail "$name: fsynclab run $* on the host exited $rc without a JUnit file (output above)"
	fi
}

# check_container_run NAME RC JUNIT WANT_CASES — the container's run of NAME exited RC and wrote
# JUNIT: it parses, has WANT_CASES test cases, and RC agrees with them (0 when all passed, else 1).
check_container_run() {
	local name=$1 rc=$2 junit=$3 want=$4 cases
	if ! [ -s "$junit" ]; then
		sed 's/^/  | /' "$tmp/$name.txt" >&2
		fail "$name: the container exited $rc and wrote no ${junit##*/} (output above)"
	fi
	verdicts "$junit" >"$tmp/$name.verdicts" || fail "$name: the container's ${junit##*/} does not parse"
	cases=$(grep -c . "$tmp/$name.verdicts" || true)
	if [ "$cases" -eq 0 ] || [ "$cases" -ne "$want" ]; then
		fail "$name: ${junit##*/} has $cases test cases for $want scenarios"
	fi
	if grep -qE ' (failure|error)$' "$tmp/$name.verdicts"; then
		[ "$rc" = 1 ] || fail "$name: the container exited $rc although some scenarios failed (want 1)"
	elif ! grep -q ' skipped$' "$tmp/$name.verdicts"; then
		[ "$rc" = 0 ] || fail "$name: the container exited $rc although every scenario passed (want 0)"
	fi
}

# same_verdicts NAME [docker run flags...] — the container's verdicts for NAME equal the host's. A
# scenario on which they differ is run once more on both; if they agree then, it is reported as a
# scenario whose verdict varies from run to run, not as a difference of the image.
same_verdicts() {
	local name=$1 rel a b
	shift
	verdicts "$tmp/$name-host.xml" >"$tmp/$name-host.verdicts" || fail "$name: the host's JUnit does not parse"
	mapfile -t differ < <(diff "$tmp/$name-host.verdicts" "$tmp/$name.verdicts" | awk '/^[<>]/ {print $2}' | sort -u)
	for rel in "${differ[@]}"; do
		diff "$tmp/$name-host.verdicts" "$tmp/$name.verdicts" | grep -F " $rel " >&2 || true
		echo "note: $name: $rel differs between host (<) and container (>); running it again on both"
		(cd "$src/scenarios" && "$fsynclab" run -q --junit "$tmp/rerun-host.xml" "$rel") >/dev/null 2>&1 || true
		rm -f "$tmp/out/rerun.xml"
		run_image "$tmp/rerun.txt" "$@" -v "$tmp/out:/out" "$image" run -q --junit /out/rerun.xml "$rel" >/dev/null
		a=$(verdicts "$tmp/rerun-host.xml" 2>/dev/null | awk '{print $3}')
		b=$(verdicts "$tmp/out/rerun.xml" 2>/dev/null | awk '{print $3}')
		if [ -z "$a" ] || [ "$a" != "$b" ]; then
			sed 's/^/  | /' "$tmp/rerun.txt" >&2
			fail "$name: $rel: '${a:-no verdict}' on the host, '${b:-no verdict}' in the container, twice (container output above)"
		fi
		echo "note: $name: $rel: '$a' on both the second time (its verdict varies from run to run)"
	done
	echo "ok: $name: $(grep -c . "$tmp/$name.verdicts") scenarios, the same verdicts in the container as on the host:"
	sed 's/^/    /' "$tmp/$name.verdicts"
}

fuse_flags=(--device /dev/fuse --cap-add SYS_ADMIN)

# The scenario catalogue, as a user runs it: the image's default command, reports on a mounted /out.
# Whether the catalogue passes is the scenarios' business; the image must give the host's verdicts.
phase "the scenario catalogue on the host (reference)"
host_run catalogue
phase "the scenario catalogue in the container (the image's default command)"
rc=$(run_image "$tmp/catalogue.txt" "${fuse_flags[@]}" -v "$tmp/out:/out" "$image")
tail -n 3 "$tmp/catalogue.txt"
for f in junit.xml report.json report.html; do
	[ -s "$tmp/out/$f" ] || fail "the catalogue run left no /out/$f"
done
python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$tmp/out/report.json" ||
	fail "/out/report.json is not JSON"
grep -qi '</html>' "$tmp/out/report.html" || fail "/out/report.html does not end its document"
check_container_run catalogue "$rc" "$tmp/out/junit.xml" "$(find "$src/scenarios" -maxdepth 1 -name '*.yaml' | wc -l)"
same_verdicts catalogue "${fuse_flags[@]}"

# One scenario named relative to the working directory (the installed catalogue), as docs/docker.md
# shows it.
one=$(find "$src/scenarios" -maxdepth 1 -name '*.yaml' | sort | head -n 1)
one=${one##*/}
rc=$(run_image "$tmp/one.txt" "${fuse_flags[@]}" -v "$tmp/out:/out" "$image" run "$one" --junit /out/one.xml)
check_container_run one "$rc" "$tmp/out/one.xml" 1
grep -qxF "$(cat "$tmp/one.verdicts")" "$tmp/catalogue.verdicts" ||
	fail "run $one in the container: '$(cat "$tmp/one.verdicts")', not as in the catalogue run"
echo "ok: run $one (a name relative to the working directory): $(cat "$tmp/one.verdicts")"

# The real-kernel scenarios (ext4/XFS/Btrfs on a loop device over a FUSE file), with --privileged or
# what stands in for it here.
if [ -d "$src/scenarios/kernel" ] && [ -e /dev/loop-control ]; then
	phase "the real-kernel scenarios on the host (reference)"
	host_run kernel kernel
	phase "the real-kernel scenarios in the container (${privileged[*]})"
	rc=$(run_image "$tmp/kernel.txt" "${privileged[@]}" -v "$tmp/out:/out" "$image" \
		run -q kernel --junit /out/kernel.xml)
	tail -n 1 "$tmp/kernel.txt"
	check_container_run kernel "$rc" "$tmp/out/kernel.xml" "$(find "$src/scenarios/kernel" -maxdepth 1 -name '*.yaml' | wc -l)"
	same_verdicts kernel "${privileged[@]}"

	# --shard I/N as docs/docker.md's CI matrix and Indexed Job use it: two containers, each with one
	# half; together exactly the scenarios of the whole run, none twice.
	phase "the real-kernel scenarios in two shards (--shard 1/2, 2/2)"
	: >"$tmp/shards.names"
	for i in 1 2; do
		rc=$(run_image "$tmp/shard$i.txt" "${privileged[@]}" -v "$tmp/out:/out" "$image" \
			run -q kernel --shard "$i/2" --junit "/out/shard$i.xml")
		if [ "$rc" -gt 1 ] || ! [ -s "$tmp/out/shard$i.xml" ]; then
			sed 's/^/  | /' "$tmp/shard$i.txt" >&2
			fail "run kernel --shard $i/2 exited $rc without a JUnit file (output above)"
		fi
		verdicts "$tmp/out/shard$i.xml" | awk '{print $1}' >"$tmp/shard$i.names"
		[ -s "$tmp/shard$i.names" ] || fail "shard $i/2 ran no scenario"
		cat "$tmp/shard$i.names" >>"$tmp/shards.names"
	done
	sort "$tmp/shards.names" >"$tmp/shards.sorted"
	awk '{print $1}' "$tmp/kernel.verdicts" | sort >"$tmp/kernel.names"
	if ! diff -u "$tmp/kernel.names" "$tmp/shards.sorted" >&2; then
		fail "shards 1/2 and 2/2 together are not the whole run (diff above: - whole, + shards)"
	fi
	echo "ok: --shard 1/2 ran $(grep -c . "$tmp/shard1.names"), 2/2 ran $(grep -c . "$tmp/shard2.names"): together the $(grep -c . "$tmp/kernel.names") scenarios, none twice"
else
	echo "note: no scenarios/kernel or no loop devices on this machine: the real-kernel scenarios are not run"
fi

phase "done"
echo "docker test: PASS"
