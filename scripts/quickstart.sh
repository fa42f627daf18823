#!/usr/bin/env bash
# quickstart.sh — the work behind README's two Quick start commands.
#
#   scripts/quickstart.sh demo   install Debian packages, build, run the scenario catalogue (narrated)
#   scripts/quickstart.sh test   install Debian packages, build (warnings are errors), run every test:
#                                the normal build's ctest, the unit tests under ASan+UBSan, and the
#                                libFuzzer targets for a bounded time
#   scripts/quickstart.sh build  build only (no install, no tests)
#
# Packages come from scripts/packages.d/*.txt (one per line, # comments). Needs root for apt-get and
# for FUSE/loop mounts; run it as root on a fresh Debian 12 machine (which may have no sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
jobs=$(nproc 2>/dev/null || echo 2)

install_packages() {
	mapfile -t pkgs < <(cat scripts/packages.d/*.txt | sed 's/#.*//' | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)
	missing=()
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		if [ "$(id -u)" -ne 0 ]; then
			echo "quickstart.sh: ${#missing[@]} Debian packages are missing (${missing[*]});" \
				"installing them needs root: run this as root, or with sudo" >&2
			exit 1
		fi
		echo "== installing ${#missing[@]} Debian packages: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
}

build() { # build DIR [cmake args...] — quietly: the compiler's output goes to DIR/build.log, shown on failure
	local dir=$1
	shift
	echo "== building $dir (log: $dir/build.log)"
	mkdir -p "$dir"
	if ! { cmake -S "$top" -B "$dir" -DFSYNCLAB_WERROR=ON "$@" && cmake --build "$dir" -j "$jobs"; } \
		>"$dir/build.log" 2>&1; then
		tail -40 "$dir/build.log" >&2
		echo "quickstart.sh: the build in $dir failed (whole log: $dir/build.log)" >&2
		exit 1
	fi
}

case "${1:-}" in
demo)
	install_packages
	build build
	shift
	exec build/harness/fsynclab run "$@"
	;;
test)
	install_packages
	status=0
	build build
	echo "== tests (normal build)"
	(cd build && ctest --output-on-failure -j "$jobs" -LE 'fuzz') || status=1
	echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	build build-asan -DFSYNCLAB_SANITIZE=ON
	(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j "$jobs" -L unit) || status=1
	echo "== fuzz targets (libFuzzer, bounded time)"
	build build-fuzz -DCMAKE_C_COMPILER=clang -DFSYNCLAB_FUZZ=ON
	# Each target runs for a fixed time (-max_total_time), so running them side by side shortens the
	# phase (3 x 30 s: ~95 s one after the other, ~62 s two at a time); each keeps its full time
	# bound (fewer executions while two share the CPUs).
	(cd build-fuzz && ctest --output-on-failure --no-tests=ignore -j "$jobs" -L fuzz) || status=1
	exit $status
	;;
build)
	build build
	;;
*)
	echo "usage: scripts/quickstart.sh demo|test|build" >&2
	exit 2
	;;
esac
