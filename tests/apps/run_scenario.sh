#!/usr/bin/env bash
# run_scenario.sh NAME NEED... — run scenarios/apps/NAME.yaml with `fsynclab run`, after checking
# what it needs; a missing application makes the test skipped (exit 77) with the reason, never
# passed. NEED: pg (the postgres user and PostgreSQL's binaries), redis (redis-server and its user),
# or a driver's name (lmdb_driver, leveldb_driver, sqlite_driver: built when its library was found).
# The scenario's commands find pg.sh, redis.sh, outcome.sh and the drivers through FSYNCLAB_SRC and
# FSYNCLAB_BUILD, which ctest sets; the scripts are staged in a directory every user can read.
# Exit status: fsynclab run's (0 matched, 1 mismatched).
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
# The servers run as postgres/redis and execute the helper scripts: stage a copy where those users
# can read it (a checkout under a 0700 home directory would be out of their reach).
apps_init "scenario-$name"
mkdir -p "$APPS_TMP/src/tests/apps" && cp "$FSYNCLAB_SRC"/tests/apps/*.sh "$APPS_TMP/src/tests/apps/" &&
	chmod -R a+rX "$APPS_TMP/src" || apps_die "cannot stage the helper scripts in $APPS_TMP"
scenario=$FSYNCLAB_SRC/scenarios/apps/$name.yaml
FSYNCLAB_SRC=$APPS_TMP/src "$FSYNCLAB" run "$scenario"
