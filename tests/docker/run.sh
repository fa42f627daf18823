#!/usr/bin/env bash
# tests/docker/run.sh — builds docker/Dockerfile for real and runs the image, on a private Docker
# engine that this script starts and stops itself (no engine needs to be running on the machine).
#
#   1. installs docker.io and debootstrap if missing (exit 77 = skipped, with the reason, when they
#      cannot be installed, when not root, or when the machine has no /dev/fuse);
#   2. starts dockerd with its own --data-root, --exec-root and unix socket under a temp dir, with
#      --bridge=none --iptables=false --ip6tables=false so the machine's network is left untouched;
#   3. makes the base image locally (no registry is reachable): debootstrap --variant=minbase
#      bookworm from the machine's Debian mirror, `docker import`ed as fsynclab-base:bookworm; the
#      rootfs tarball is cached in $FSYNCLAB_DOCKER_CACHE (default /var/cache/fsynclab-docker);
#   4. docker build --network host --build-arg BASE=fsynclab-base:bookworm -f docker/Dockerfile;
#   5. runs the image: --help; the preflight refusing (exit 2, naming the missing docker flag) without
#      --device /dev/fuse, without --cap-add SYS_ADMIN; the preflight passing with them (and noting
#      that loop devices need --privileged) and with --privileged; no compiler in the image; then
#      the hand-over of reports to the owner of a mounted /out (with a stand-in writer until
#      `fsynclab run` exists).
# A trap removes the containers, stops dockerd and its containerd by PID, unmounts whatever they left
# under the temp dir (netns and overlay mounts), and removes it — on success and on failure.
#
# Env: FSYNCLAB_SRC (source tree; default: two levels up), FSYNCLAB_DOCKER_KEEP=1 keeps the temp dir
# (for debugging; dockerd is still stopped), FSYNCLAB_DOCKER_CACHE (rootfs cache dir).
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
[ -f "$src/docker/Dockerfile" ] || fail "no docker/Dockerfile under $src"

if ! command -v dockerd >/dev/null || ! [ -x /usr/bin/docker ] || ! command -v debootstrap >/dev/null; then
	phase "installing docker.io and debootstrap"
	export DEBIAN_FRONTEND=noninteractive
	apt_log=$(mktemp)
	if ! { apt-get -o DPkg::Lock::Timeout=600 update -qq &&
		apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends docker.io debootstrap; } >"$apt_log" 2>&1; then
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
tmp=$(mktemp -d /tmp/fsynclab-docker.XXXXXX)
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

cleanup() {
	local rc=$? pid m left
	trap - EXIT INT TERM
	if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
		mapfile -t ids < <(docker ps -aq 2>/dev/null || true)
		[ "${#ids[@]}" -eq 0 ] || docker rm -f "${ids[@]}" >/dev/null 2>&1 || true
	fi
	# containerd, started by dockerd, writes its PID here; read it before dockerd goes away.
	pid=$(cat "$tmp/exec/containerd/containerd.pid" 2>/dev/null || true)
	[ -z "$dockerd_pid" ] || stop_pid "$dockerd_pid" dockerd
	wait "$dockerd_pid" 2>/dev/null || true
	[ -z "$pid" ] || stop_pid "$pid" containerd
	for m in $(mounts_under "$tmp"); do
		umount "$m" 2>/dev/null || umount -l "$m" || echo "warning: cannot unmount $m" >&2
	done
	left=$(mounts_under "$tmp")
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

phase "starting dockerd under $tmp"
mkdir -p "$tmp/data" "$tmp/exec" "$tmp/client" "$tmp/out"
echo '{}' >"$tmp/daemon.json" # ignore the machine's /etc/docker/daemon.json
dockerd --config-file "$tmp/daemon.json" --data-root "$tmp/data" --exec-root "$tmp/exec" \
	-H "$DOCKER_HOST" --pidfile "$tmp/dockerd.pid" \
	--bridge=none --iptables=false --ip6tables=false --ip-masq=false >"$tmp/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 1 120); do
	docker version >/dev/null 2>&1 && break
	kill -0 "$dockerd_pid" 2>/dev/null || {
		tail -n 20 "$tmp/dockerd.log" >&2
		fail "dockerd exited at start (log above)"
	}
	sleep 0.5
done
docker version >/dev/null 2>&1 || {
	tail -n 20 "$tmp/dockerd.log" >&2
	fail "dockerd did not answer on $DOCKER_HOST within 60 s"
}

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
mkdir -p "$cache"
tarball="$cache/bookworm-minbase-$(printf '%s' "$mirror" | md5sum | cut -c1-12).tar"
(
	flock 9 # two test runs at once build the rootfs once
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
) 9>"$cache/lock"
phase "docker import fsynclab-base:bookworm"
docker import - fsynclab-base:bookworm <"$tarball" >/dev/null

# ---- 4. build --------------------------------------------------------------------------------------
phase "docker build -f docker/Dockerfile (log: build.log)"
if ! docker build --network host --build-arg BASE=fsynclab-base:bookworm \
	-f "$src/docker/Dockerfile" -t "$image" "$src" >"$tmp/build.log" 2>&1; then
	tail -n 40 "$tmp/build.log" >&2
	fail "docker build failed (last lines above)"
fi
docker image inspect -f 'image {{.Id}}: {{.Size}} bytes' "$image"

# ---- 5. run ----------------------------------------------------------------------------------------
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
# CAP_SYS_RESOURCE) runc cannot start such a container, so the loop check then gets the loop
# control device the way --privileged would give it, next to FUSE.
privileged=(--privileged)
rc=$(run_image "$tmp/privileged-probe.txt" --privileged --entrypoint true "$image")
if [ "$rc" != 0 ] && grep -qF "unable to apply caps" "$tmp/privileged-probe.txt"; then
	echo "note: --privileged cannot start a container on this machine (root lacks a capability):"
	echo "      checking the loop-device path with --device /dev/loop-control instead"
	privileged=(--device /dev/fuse --device /dev/loop-control --cap-add SYS_ADMIN)
fi
expect_run 0 "preflight: ok" preflight-privileged "${privileged[@]}" "$image" preflight
if grep -qF "no loop devices" "$tmp/preflight-privileged.txt"; then
	fail "preflight with ${privileged[*]} claims there are no loop devices"
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

phase "done"
echo "docker test: PASS"
