#!/usr/bin/env bash
# run_scenario.sh NAME NEED... — run scenarios/apps/NAME.yaml with `fsynclab run`, after checking
# what it needs; a missing application makes the test skipped (exit 77) with the reason, never
# passed. NEED: pg (the postgres user and PostgreSQL's binaries), redis (redis-server and its user),
# or a driver's name (lmdb_driver, leveldb_driver, sqlite_driver: built when its library was found).
# The scenario's commands find pg.sh, redis.sh, outcome.sh and the drivers through FSYNCLAB_SRC and
# FSYNCLAB_BUILD, which ctest sets. Exit status: fsynclab run's (0 matched, 1 mismatched).
set -u
. "$(dirname "$0")/lib.sh"
name=$1
shift
APPS_NAME=scenario-$name
: "${FSYNCLAB_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${FSYNCLAB_BUILD:=$FSYNCLAB_SRC/build}"
: "${FSYNCLAB:=$FSYNCLAB_BUILD/harness/fsynclab}"
export FSYNCLAB_SRC FSYNCLAB_BUILD
[ "$(id -u)" = 0 ] || apps_skip "needs root (FUSE mount, commands run as postgres/redis)"
for need in "$@"; do
	case "$need" in
	pg)
		apps_need_user postgres postgresql
		ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || apps_skip "postgres not found (Debian package postgresql not installed)"
		;;
	redis)
		apps_need_cmd redis-server redis-server
		apps_need_user redis redis-server
		;;
	*_driver)
		[ -x "$FSYNCLAB_BUILD/tests/$need" ] || apps_skip "$need not built (its library was not found at configure time)"
		;;
	*)
		apps_die "unknown need: '$need'"
		;;
	esac
done
exec "$FSYNCLAB" run "$FSYNCLAB_SRC/scenarios/apps/$name.yaml"
