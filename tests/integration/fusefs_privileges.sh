#!/bin/bash
# fusefs_privileges.sh — setuid/setgid/capability clearing through the mount is the native
# filesystem's, in both cache modes: a write, truncate or open(O_TRUNC) by a user without
# CAP_FSETID clears setuid (and setgid by the VFS rule), root's does not, chown always does, a
# write removes security.capability. fsynclab negotiates FUSE_HANDLE_KILLPRIV_V2 (fusefs/wire.c)
# and does this clearing itself; the payoff — no getxattr("security.capability") round trip
# before every write — is checked through the request counts in `status --json`.
. "$(dirname "$0")/fusefs_lib.sh" "$@"
command -v runuser >/dev/null || { echo "SKIP: runuser (util-linux) is missing"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "SKIP: no user 'nobody'"; exit 77; }
chmod 0711 "$T" # nobody must reach the files below it

# act DIR MODE ACTION — make DIR/f-MODE-ACTION owned by nobody with MODE, do ACTION, print the mode.
act() {
	local f=$1/f-$2-$3
	echo data >"$f"
	chown nobody "$f"
	chmod "$2" "$f"
	case $3 in
	write) runuser -u nobody -- sh -c "echo more >>'$f'" ;;
	trunc) runuser -u nobody -- truncate -s 2 "$f" ;;
	otrunc) runuser -u nobody -- sh -c "echo new >'$f'" ;;
	rootwrite) echo more >>"$f" ;;
	roottrunc) truncate -s 1 "$f" ;;
	chown) chown daemon "$f" ;;
	esac
	stat -c %a "$f"
}

# requests M OP — how many OP requests the kernel has sent the daemon serving M.
requests() {
	"$FSYNCLAB" status "$1" --json | python3 -c \
		'import json,sys; print(json.load(sys.stdin)["fuse"]["requests"].get(sys.argv[1], 0))' "$2"
}

NATIVE=$T/native
mkdir -p "$NATIVE"
chmod 0777 "$NATIVE"
CASES=("6775 write" "6775 trunc" "6775 otrunc" "6765 write" "2765 write" "2775 trunc" "6775 rootwrite"
	"6775 roottrunc" "6775 chown" "0775 write")

for cache in emulate none; do
	fs_mount "priv-$cache" --cache "$cache" --allow-other
	chmod 0777 "$M"
	for c in "${CASES[@]}"; do
		# shellcheck disable=SC2086 # two words on purpose
		set -- $c
		want=$(act "$NATIVE" "$1" "$2")
		say "--cache $cache: mode $1, $2 → $want as on the native filesystem"
		expect_eq "mode $1 after $2 (--cache $cache)" "$(act "$M" "$1" "$2")" "$want"
		# and the backing file agrees with what the kernel shows
		expect_eq "backing mode $1 after $2" "$(stat -c %a "$B/f-$1-$2")" "$want"
	done

	if command -v setcap >/dev/null; then
		for who in root nobody; do
			for d in "$NATIVE" "$M"; do
				f=$d/cap-$who
				echo data >"$f"
				chmod 0777 "$f"
				setcap cap_net_raw+ep "$f"
				[ -n "$(getcap "$f")" ] || { echo "FAIL: setcap did not set a capability on $f"; exit 1; }
				if [ "$who" = root ]; then echo more >>"$f"; else runuser -u nobody -- sh -c "echo more >>'$f'"; fi
			done
			say "--cache $cache: a write by $who removes security.capability as natively"
			expect_eq "capability after a write by $who" "$(getcap "$M/cap-$who" | wc -l)" \
				"$(getcap "$NATIVE/cap-$who" | wc -l)"
		done
	else
		echo "note: setcap (Debian package libcap2-bin) is missing: capability cases skipped"
	fi

	killpriv=$("$FSYNCLAB" status "$M" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["fuse"]["killpriv_v2"])')
	if [ "$killpriv" = True ]; then
		say "--cache $cache: 50 writes to a plain file cost no getxattr round trip"
		echo start >"$M/plain"
		before_x=$(requests "$M" getxattr)
		before_w=$(requests "$M" write)
		for _ in $(seq 50); do echo x >>"$M/plain"; done
		writes=$(($(requests "$M" write) - before_w))
		[ "$writes" -ge 50 ] || { echo "FAIL: only $writes write requests counted for 50 writes"; exit 1; }
		expect_eq "getxattr requests during 50 writes" "$(($(requests "$M" getxattr) - before_x))" 0
		say "--cache $cache: status shows the request counts for people too"
		"$FSYNCLAB" status "$M" | grep -A1 "^FUSE requests from the kernel (KILLPRIV_V2 on" | grep -Eq "write [0-9]+"
	else
		echo "note: this kernel did not offer FUSE_HANDLE_KILLPRIV_V2 (Linux < 5.11): round-trip check skipped"
	fi
	fs_umount "$M"
done
say "privileges: all cases as on the native filesystem"
