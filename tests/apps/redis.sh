#!/usr/bin/env bash
# redis.sh — Redis lifecycle and workload for the fsync-failure tests: a redis-server with a
# generated configuration (no TCP port, a Unix socket in a private directory, the append-only file
# in a directory on an fsynclab mount, no RDB snapshots), run as the redis user, stopped by PID.
#
#   redis.sh conf DATADIR SOCKDIR always|everysec > CONF   write the configuration
#   redis.sh server CONF                exec redis-server in the foreground (for a runner that owns the
#                                       PID; ready when its log says "Ready to accept connections")
#   redis.sh start CONF LOG             start in the background, wait (30 s) until it answers PING;
#                                       prints its PID
#   redis.sh stop PID [term|kill]       SIGTERM (Redis fsyncs the AOF and exits) or SIGKILL, by PID
#   redis.sh insert SOCKDIR FROM COUNT [continue]
#                                       one SET per key; "ack KEY" per OK reply; at the first other
#                                       reply prints "fail KEY: REPLY" and exits 4 (with continue: goes
#                                       on with the next key, and exits 4 at the end)
#   redis.sh verify SOCKDIR FROM COUNT  "present|missing|wrong KEY" lines and a summary
#                                       "verify present=N missing=N wrong=N"
#
# Keys are "k" and six digits; a value is 'v' + key repeated to 400 bytes. Runs as root (switching
# to redis with setpriv) or as redis. REDIS_SERVER / REDIS_CLI override the binaries.
set -euo pipefail

REDIS_SERVER=${REDIS_SERVER:-$(command -v redis-server || true)}
REDIS_CLI=${REDIS_CLI:-$(command -v redis-cli || true)}
REDIS_USER=${REDIS_USER:-redis}

die() {
	echo "redis.sh: $*" >&2
	exit 2
}

[ -n "$REDIS_SERVER" ] && [ -n "$REDIS_CLI" ] || die "redis-server/redis-cli not found (install the Debian package redis-server)"

key() { printf 'k%06d' "$1"; }

value() {
	local v="" i
	for ((i = 0; i < 57; i++)); do v+="v$1"; done
	printf '%s' "$v"
}

cli() {
	local sock=$1
	shift
	"$REDIS_CLI" -s "$sock/redis.sock" "$@"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
conf)
	[ $# -eq 3 ] || die "usage: redis.sh conf DATADIR SOCKDIR always|everysec"
	case "$3" in always | everysec) ;; *) die "unknown appendfsync policy: '$3'" ;; esac
	data=$(cd "$1" && pwd) && sock=$(cd "$2" && pwd) || die "no such directory: '$1' or '$2'"
	cat <<CONF
# fsynclab apps tests: Unix socket only, append-only file on the mount, no snapshots.
port 0
bind 127.0.0.1
unixsocket $sock/redis.sock
unixsocketperm 770
daemonize no
logfile ""
dir $data
save ""
appendonly yes
appendfsync $3
appenddirname appendonlydir
no-appendfsync-on-rewrite no
auto-aof-rewrite-percentage 0
CONF
	;;
server)
	[ $# -eq 1 ] || die "usage: redis.sh server CONF"
	if [ "$(id -un)" = "$REDIS_USER" ]; then
		exec "$REDIS_SERVER" "$1"
	fi
	exec setpriv --reuid="$REDIS_USER" --regid="$(id -g "$REDIS_USER")" --init-groups -- "$REDIS_SERVER" "$1"
	;;
start)
	[ $# -eq 2 ] || die "usage: redis.sh start CONF LOG"
	conf=$1 log=$2
	sock=$(sed -n 's/^unixsocket \(.*\)\/redis.sock$/\1/p' "$conf")
	"$0" server "$conf" >"$log" 2>&1 </dev/null &
	pid=$!
	for _ in $(seq 300); do
		if [ "$(cli "$sock" PING 2>/dev/null)" = PONG ]; then
			echo "$pid"
			exit 0
		fi
		kill -0 "$pid" 2>/dev/null || die "redis-server exited during start-up (log: $log)"
		sleep 0.1
	done
	kill -s KILL "$pid" 2>/dev/null || true
	die "redis-server did not answer PING within 30 s (log: $log)"
	;;
stop)
	[ $# -ge 1 ] || die "usage: redis.sh stop PID [term|kill]"
	pid=$1
	case "${2:-term}" in term) sig=TERM ;; kill) sig=KILL ;; *) die "unknown stop mode: '$2'" ;; esac
	kill -s "$sig" "$pid" 2>/dev/null || exit 0
	for _ in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || exit 0
		sleep 0.1
	done
	echo "redis.sh: redis-server $pid still running after 30 s: SIGKILL" >&2
	kill -s KILL "$pid" 2>/dev/null || true
	;;
insert)
	[ $# -eq 3 ] || [ $# -eq 4 ] && [ "${4:-continue}" = continue ] ||
		die "usage: redis.sh insert SOCKDIR FROM COUNT [continue]"
	sock=$1 from=$2 count=$3 status=0
	for ((n = from; n < from + count; n++)); do
		k=$(key "$n")
		reply=$(cli "$sock" SET "$k" "$(value "$k")" 2>&1) || true
		if [ "$reply" = OK ]; then
			echo "ack $k"
		else
			echo "fail $k: ${reply//$'\n'/ }"
			status=4
			[ $# -eq 4 ] || exit 4
		fi
	done
	exit $status
	;;
verify)
	[ $# -eq 3 ] || die "usage: redis.sh verify SOCKDIR FROM COUNT"
	sock=$1 from=$2 count=$3
	present=0 missing=0 wrong=0
	for ((n = from; n < from + count; n++)); do
		k=$(key "$n")
		got=$(cli "$sock" --no-raw EXISTS "$k") || die "EXISTS $k failed: $got"
		if [ "$got" = "(integer) 0" ]; then
			echo "missing $k"
			missing=$((missing + 1))
		elif [ "$(cli "$sock" GET "$k")" = "$(value "$k")" ]; then
			echo "present $k"
			present=$((present + 1))
		else
			echo "wrong $k"
			wrong=$((wrong + 1))
		fi
	done
	echo "verify present=$present missing=$missing wrong=$wrong"
	;;
*)
	die "unknown command: '${cmd}' (conf|server|start|stop|insert|verify)"
	;;
esac
