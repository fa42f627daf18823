#!/usr/bin/env bash
# servers_selftest.sh pg|redis — the server lifecycle scripts themselves, on a plain directory (no
# mount, no fault): the server starts as its own user within the timeout, listens on a Unix socket
# only (no TCP port), acknowledges every write, survives a crash (immediate stop / SIGKILL) with
# every acknowledged write, and is gone (by PID) after the stop — nothing left behind.
set -u
. "$(dirname "$0")/lib.sh"
what=$1
apps_init "selftest-$what"
HERE=$(cd "$(dirname "$0")" && pwd)
T=$APPS_TMP

# tcp_listeners PID — the TCP ports PID listens on (none expected).
tcp_listeners() {
	ss -Hltnp 2>/dev/null | grep "pid=$1," || true
}

case "$what" in
pg)
	apps_need_user postgres postgresql
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || apps_skip "postgres not found (Debian package postgresql not installed)"
	mkdir -p "$T/data" "$T/sock" && chown postgres: "$T/data" "$T/sock" || apps_die "setup failed"
	"$HERE/pg.sh" init "$T/data/pg" || apps_die "initdb failed"
	pid=$("$HERE/pg.sh" start "$T/data/pg" "$T/sock" "$T/sock/pg.log") || apps_die "start failed"
	apps_defer "apps_stop_pid $pid QUIT 30"
	apps_check "postmaster runs as postgres" [ "$(ps -o user= -p "$pid")" = postgres ]
	apps_check "Unix socket in the private directory" [ -S "$T/sock/.s.PGSQL.5432" ]
	apps_check "no TCP listener" [ -z "$(tcp_listeners "$pid")" ]
	"$HERE/pg.sh" create "$T/sock" && "$HERE/pg.sh" insert "$T/sock" 0 50 >"$T/acks"
	apps_check "50 commits acknowledged" [ "$(grep -c '^ack' "$T/acks")" -eq 50 ]
	apps_check "CHECKPOINT succeeds" "$HERE/pg.sh" checkpoint "$T/sock"
	"$HERE/pg.sh" insert "$T/sock" 50 10 >>"$T/acks"
	"$HERE/pg.sh" stop "$T/data/pg" immediate
	apps_check "immediate stop: the postmaster is gone" eval "! apps_alive $pid"
	pid=$("$HERE/pg.sh" start "$T/data/pg" "$T/sock" "$T/sock/pg.log") || apps_die "restart failed"
	apps_defer "apps_stop_pid $pid QUIT 30"
	"$HERE/pg.sh" verify "$T/sock" 0 62 >"$T/verify"
	apps_check "crash recovery: 60 present, 2 never written" grep -qx 'verify present=60 missing=2 wrong=0' "$T/verify"
	apps_check "crash recovery ran (redo in the log)" grep -q 'redo' "$T/sock/pg.log"
	"$HERE/pg.sh" stop "$T/data/pg" fast
	apps_check "fast stop: the postmaster is gone" eval "! apps_alive $pid"
	apps_check "fast stop: the socket is gone" [ ! -e "$T/sock/.s.PGSQL.5432" ]
	;;
redis)
	apps_need_cmd redis-server redis-server
	apps_need_user redis redis-server
	mkdir -p "$T/data" "$T/sock" && chown redis: "$T/data" "$T/sock" || apps_die "setup failed"
	"$HERE/redis.sh" conf "$T/data" "$T/sock" always >"$T/redis.conf"
	pid=$("$HERE/redis.sh" start "$T/redis.conf" "$T/redis.log") || apps_die "start failed"
	apps_defer "apps_stop_pid $pid KILL 10"
	apps_check "redis-server runs as redis" [ "$(ps -o user= -p "$pid")" = redis ]
	apps_check "Unix socket in the private directory" [ -S "$T/sock/redis.sock" ]
	apps_check "no TCP listener" [ -z "$(tcp_listeners "$pid")" ]
	"$HERE/redis.sh" insert "$T/sock" 0 40 >"$T/acks"
	apps_check "40 SETs acknowledged" [ "$(grep -c '^ack' "$T/acks")" -eq 40 ]
	"$HERE/redis.sh" stop "$pid" kill
	apps_check "SIGKILL: the server is gone" eval "! apps_alive $pid"
	pid=$("$HERE/redis.sh" start "$T/redis.conf" "$T/redis.log") || apps_die "restart failed"
	apps_defer "apps_stop_pid $pid KILL 10"
	"$HERE/redis.sh" verify "$T/sock" 0 42 >"$T/verify"
	apps_check "AOF replay: 40 present, 2 never written" grep -qx 'verify present=40 missing=2 wrong=0' "$T/verify"
	"$HERE/redis.sh" stop "$pid" term
	apps_check "SIGTERM: the server is gone" eval "! apps_alive $pid"
	apps_check "SIGTERM: the socket is gone" [ ! -e "$T/sock/redis.sock" ]
	;;
*)
	apps_die "unknown server: '$what' (pg|redis)"
	;;
esac
apps_finish
