#!/usr/bin/env bash
# pg.sh — PostgreSQL lifecycle and workload for the fsync-failure tests: a cluster whose data
# directory sits on an fsynclab mount, reachable only through a Unix socket in a private directory
# (listen_addresses = ''), run as the postgres user, always stopped by PID.
#
#   pg.sh init DATADIR                 initdb as postgres; the test settings appended to postgresql.conf
#   pg.sh server DATADIR SOCKDIR       exec postgres in the foreground (for a runner that owns the PID;
#                                      ready when its log says "ready to accept connections")
#   pg.sh start DATADIR SOCKDIR LOG    pg_ctl start -w -t 30; prints the postmaster PID
#   pg.sh stop DATADIR [MODE]          stop the postmaster by its PID: MODE smart|fast (default)|
#                                      immediate (SIGQUIT: a crash, recovery needed on restart)
#   pg.sh create SOCKDIR               CREATE TABLE kv(k text primary key, v text)
#   pg.sh insert SOCKDIR FROM COUNT    one INSERT per transaction; "ack KEY" per acknowledged commit;
#                                      exits non-zero (psql's status) at the first failed statement
#   pg.sh ready SOCKDIR                whether the server accepts connections (SELECT 1)
#   pg.sh checkpoint SOCKDIR           CHECKPOINT (exit status: psql's)
#   pg.sh relpath SOCKDIR              the table's data file, relative to DATADIR (base/DBOID/RELFILENODE)
#   pg.sh verify SOCKDIR FROM COUNT    "present|missing|wrong KEY" lines and a summary
#                                      "verify present=N missing=N wrong=N" (the drivers' format)
#
# Keys are "k" and six digits (as the C drivers'); a value is 'v' + key repeated to 400 bytes, so
# a few hundred rows span several 8 KiB heap pages. Runs as root (switching to postgres with setpriv)
# or as postgres. PGBIN overrides the PostgreSQL binary directory.
set -euo pipefail

PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PGUSER_OS=${PGUSER_OS:-postgres}

die() {
	echo "pg.sh: $*" >&2
	exit 2
}

[ -n "$PGBIN" ] && [ -x "$PGBIN/postgres" ] || die "PostgreSQL not found (install the Debian package postgresql)"

# as_pg CMD... — run CMD as the postgres OS user, replacing this process's image (no extra parent).
as_pg() {
	if [ "$(id -un)" = "$PGUSER_OS" ]; then
		exec "$@"
	fi
	exec setpriv --reuid="$PGUSER_OS" --regid="$(id -g "$PGUSER_OS")" --init-groups -- "$@"
}

# psql_run SOCKDIR ARGS... — psql over the Unix socket, no psqlrc, quiet, stop on error.
psql_run() {
	local sock
	sock=$(abs "$1")
	shift
	"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p 5432 -U postgres -d postgres "$@"
}

# abs DIR — DIR as an absolute path (psql and postgres -k take a socket directory only so).
abs() {
	(cd "$1" 2>/dev/null && pwd) || die "no such directory: '$1'"
}

key() { printf 'k%06d' "$1"; }

value_sql() { printf "repeat('v' || '%s', 57)" "$1"; } # 7 * 57 + 1 = 400 bytes

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
init)
	[ $# -eq 1 ] || die "usage: pg.sh init DATADIR"
	datadir=$1
	(as_pg "$PGBIN/initdb" -D "$datadir" -U postgres -A trust -E UTF8 --locale=C --no-instructions) >/dev/null ||
		die "initdb $datadir failed"
	cat >>"$datadir/postgresql.conf" <<'CONF'
# fsynclab apps tests: Unix socket only, durable commits, checkpoints only when the test asks.
listen_addresses = ''
port = 5432
fsync = on
synchronous_commit = on
full_page_writes = on
data_sync_retry = off
wal_sync_method = fdatasync
autovacuum = off
checkpoint_timeout = 1h
max_wal_size = 1GB
shared_buffers = 16MB
max_connections = 10
logging_collector = off
log_checkpoints = on
CONF
	;;
server)
	[ $# -eq 2 ] || die "usage: pg.sh server DATADIR SOCKDIR"
	sock=$(abs "$2")
	as_pg "$PGBIN/postgres" -D "$1" -k "$sock"
	;;
start)
	[ $# -eq 3 ] || die "usage: pg.sh start DATADIR SOCKDIR LOG"
	datadir=$1 sock=$(abs "$2") log=$3
	(as_pg "$PGBIN/pg_ctl" start -w -t 30 -s -D "$datadir" -l "$log" -o "-k $sock") || {
		pid=$(head -n 1 "$datadir/postmaster.pid" 2>/dev/null || true)
		[ -n "$pid" ] && kill -s QUIT "$pid" 2>/dev/null
		die "postgres did not start within 30 s (log: $log)"
	}
	head -n 1 "$datadir/postmaster.pid"
	;;
stop)
	[ $# -ge 1 ] || die "usage: pg.sh stop DATADIR [smart|fast|immediate]"
	datadir=$1 mode=${2:-fast}
	case "$mode" in smart) sig=TERM ;; fast) sig=INT ;; immediate) sig=QUIT ;; *) die "unknown stop mode: '$mode'" ;; esac
	pid=$(head -n 1 "$datadir/postmaster.pid" 2>/dev/null || true)
	[ -n "$pid" ] || exit 0
	kill -s "$sig" "$pid" 2>/dev/null || exit 0
	for _ in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || exit 0
		sleep 0.1
	done
	echo "pg.sh: postmaster $pid still running after 30 s: SIGKILL" >&2
	kill -s KILL "$pid" 2>/dev/null || true
	;;
create)
	[ $# -eq 1 ] || die "usage: pg.sh create SOCKDIR"
	psql_run "$1" -c "CREATE TABLE IF NOT EXISTS kv(k text PRIMARY KEY, v text)"
	;;
insert)
	[ $# -eq 3 ] || die "usage: pg.sh insert SOCKDIR FROM COUNT"
	sock=$1 from=$2 count=$3
	for ((n = from; n < from + count; n++)); do
		k=$(key "$n")
		printf "INSERT INTO kv VALUES ('%s', %s);\n\\\\echo ack %s\n" "$k" "$(value_sql "$k")" "$k"
	done | psql_run "$sock" -f -
	;;
ready)
	[ $# -eq 1 ] || die "usage: pg.sh ready SOCKDIR"
	psql_run "$1" -At -c "SELECT 1" >/dev/null
	;;
checkpoint)
	[ $# -eq 1 ] || die "usage: pg.sh checkpoint SOCKDIR"
	psql_run "$1" -c CHECKPOINT
	;;
relpath)
	[ $# -eq 1 ] || die "usage: pg.sh relpath SOCKDIR"
	psql_run "$1" -At -c "SELECT pg_relation_filepath('kv')"
	;;
verify)
	[ $# -eq 3 ] || die "usage: pg.sh verify SOCKDIR FROM COUNT"
	sock=$1 from=$2 count=$3
	psql_run "$sock" -At -F ' ' -c "SELECT k, v = repeat('v' || k, 57) FROM kv ORDER BY k" >"${TMPDIR:-/tmp}/pg-verify.$$" ||
		{ rm -f "${TMPDIR:-/tmp}/pg-verify.$$"; die "verify query failed"; }
	declare -A got
	while read -r k ok; do got[$k]=$ok; done <"${TMPDIR:-/tmp}/pg-verify.$$"
	rm -f "${TMPDIR:-/tmp}/pg-verify.$$"
	present=0 missing=0 wrong=0
	for ((n = from; n < from + count; n++)); do
		k=$(key "$n")
		case "${got[$k]:-}" in
		t) echo "present $k"; present=$((present + 1)) ;;
		f) echo "wrong $k"; wrong=$((wrong + 1)) ;;
		*) echo "missing $k"; missing=$((missing + 1)) ;;
		esac
	done
	echo "verify present=$present missing=$missing wrong=$wrong"
	;;
*)
	die "unknown command: '${cmd}' (init|server|start|stop|create|ready|insert|checkpoint|relpath|verify)"
	;;
esac
