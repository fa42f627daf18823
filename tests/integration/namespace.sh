#!/bin/bash
# namespace.sh — namespace durability on a real mount (issue 8), for one profile (argument 2):
# a power cut (`fsynclab reboot`) undoes create, mkdir, mknod, symlink, link, unlink, rmdir,
# rename (also over an existing file) and truncate that nothing made durable, newest first; what
# commits them follows the profile (journal: any fsync, fdatasync, directory fsync, the control
# plane's sync, the periodic commit; btrfs: a file's fsync its own entries and size, a directory's
# fsync that directory); a `journal` fault leaves them pending and triggers the profile's reaction;
# data and names are separate; the undo directory is never visible. Every check looks through
# the mount right after the reboot, so a stale kernel dentry would fail it.
# Usage: namespace.sh FSIO PROFILE
. "$(dirname "$0")/fusefs_lib.sh" "$1"
P=${2:?profile}

fs_mount "$P" --profile "$P" --writeback-interval never
N=0

# fresh — a new durable directory $D for one case (its mkdir committed by an fsync of the root).
fresh() {
	N=$((N + 1))
	D=$M/c$N
	mkdir "$D"
	sync "$M"
}

# durable FILE TEXT — FILE holds TEXT, data and name durable (fsync the file, then its directory).
durable() {
	printf '%s' "$2" >"$1"
	sync "$1"
	sync "$(dirname "$1")"
}

power_cut() {
	"$FSYNCLAB" reboot "$M"
}

present() {
	[ -e "$1" ] || [ -L "$1" ] || {
		echo "FAIL ($P): $1 should exist after the power cut" >&2
		exit 1
	}
}

absent() {
	if [ -e "$1" ] || [ -L "$1" ]; then
		echo "FAIL ($P): $1 should be gone after the power cut" >&2
		exit 1
	fi
}

# ctl_sync — the control plane's sync (what `sync`/`syncfs` would do: they never reach a FUSE daemon).
ctl_sync() {
	python3 - "$RUNDIR" "$M" <<'EOF'
import glob, json, socket, sys
for path in glob.glob(sys.argv[1] + "/*.sock"):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        f = s.makefile()
        s.sendall(b'{"cmd":"ping"}\n')
        if json.loads(f.readline()).get("mountpoint") != sys.argv[2]:
            continue
        s.sendall(b'{"cmd":"sync"}\n')
        sys.exit(0 if json.loads(f.readline()).get("ok") else 1)
    except OSError:
        continue
sys.exit(1)
EOF
}

state() {
	"$FSYNCLAB" status "$M" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'
}

say "$P: the undo directory is invisible and cannot be made"
ls -a "$M" | grep -c fsynclab-undo >/dev/null && { echo "FAIL: readdir shows the undo directory" >&2; exit 1; }
absent "$M/.fsynclab-undo"
mkdir "$M/.fsynclab-undo" 2>/dev/null && { echo "FAIL: mkdir of the undo directory worked" >&2; exit 1; }
[ -d "$B/.fsynclab-undo" ] || { echo "FAIL: no undo directory in BACKING" >&2; exit 1; }

say "$P: close() is not durable — create, mkdir, mknod, symlink, link, write+close; power cut: all gone"
fresh
durable "$D/old" "old"
echo new >"$D/f"
mkdir "$D/dir"
mkfifo "$D/fifo"
ln -s f "$D/sym"
ln "$D/old" "$D/hard"
expect_eq "nlink before" "$(stat -c %h "$D/old")" 2
power_cut
for f in f dir fifo sym hard; do absent "$D/$f"; done
expect_eq "durable file untouched" "$(cat "$D/old")" old
expect_eq "nlink after" "$(stat -c %h "$D/old")" 1
expect_eq "backing" "$(ls -A "$D" | tr '\n' ' ')" "old "

say "$P: unlink and rmdir come back with their contents; nlink hides the kept name meanwhile"
fresh
durable "$D/keep" "precious"
mkdir "$D/sub"
sync "$D"
exec 7<"$D/keep"
rm "$D/keep"
rmdir "$D/sub"
absent "$D/keep"
expect_eq "nlink of the open unlinked file" "$(stat -L -c %h /proc/self/fd/7)" 0
exec 7<&-
power_cut
present "$D/keep"
present "$D/sub"
expect_eq "unlinked file's data" "$(cat "$D/keep")" precious

say "$P: rename over an existing file is undone: the old target and the source come back"
fresh
durable "$D/target" "old contents"
durable "$D/src" "new contents"
mv "$D/src" "$D/target"
expect_eq "before the cut" "$(cat "$D/target")" "new contents"
expect_eq "status lists the pending rename" \
	"$("$FSYNCLAB" status "$M" | grep -c -- "rename ${D#"$M"/}/src -> ${D#"$M"/}/target")" 1
power_cut
expect_eq "target" "$(cat "$D/target")" "old contents"
expect_eq "source" "$(cat "$D/src")" "new contents"

say "$P: a directory rename and the files created in it are undone together, newest first"
fresh
mkdir "$D/a"
sync "$D"
touch "$D/a/x"
mv "$D/a" "$D/b"
touch "$D/b/y"
power_cut
present "$D/a"
absent "$D/b"
absent "$D/a/x"
expect_eq "a is empty" "$(ls -A "$D/a")" ""

say "$P: truncate (shrink and grow) is undone to the durable size and bytes"
fresh
durable "$D/t" "0123456789"
durable "$D/g" "ab"
truncate -s 4 "$D/t"
truncate -s 100 "$D/g"
expect_eq "shrunk" "$(stat -c %s "$D/t")" 4
power_cut
expect_eq "size back" "$(stat -c %s "$D/t")" 10
expect_eq "bytes back" "$(cat "$D/t")" "0123456789"
expect_eq "grown size back" "$(stat -c %s "$D/g")" 2
: >"$D/t" # O_TRUNC on open
power_cut
expect_eq "O_TRUNC undone" "$(cat "$D/t")" "0123456789"

say "$P: a directory fsync commits its entries"
fresh
echo x >"$D/a"
sync "$D"
power_cut
present "$D/a"
expect_eq "its data was never fsynced" "$(stat -c %s "$D/a")" 0

say "$P: fsync of an unrelated file, then fdatasync: which earlier names commit"
fresh
durable "$D/other" "o"
echo x >"$D/early"
touch "$D/mine"
sync "$D/mine"
power_cut
present "$D/mine"
if [ "$P" = btrfs ]; then absent "$D/early"; else present "$D/early"; fi
mkdir "$D/e2"
echo y >>"$D/other"
sync -d "$D/other"
power_cut
if [ "$P" = btrfs ]; then absent "$D/e2"; else present "$D/e2"; fi

say "$P: btrfs commits per directory; journal profiles commit everything"
fresh
mkdir "$D/d1" "$D/d2"
sync "$D"
touch "$D/d1/x" "$D/d2/y"
sync "$D/d1"
power_cut
present "$D/d1/x"
if [ "$P" = btrfs ]; then absent "$D/d2/y"; else present "$D/d2/y"; fi

say "$P: fsync of a file in a new directory makes the directory durable too"
fresh
mkdir -p "$D/n1/n2"
echo z >"$D/n1/n2/f"
sync "$D/n1/n2/f"
power_cut
expect_eq "file and parents" "$(cat "$D/n1/n2/f")" z

say "$P: a truncate made durable by the file's own fsync"
fresh
durable "$D/t" "0123456789"
truncate -s 3 "$D/t"
sync "$D/t"
power_cut
expect_eq "size" "$(stat -c %s "$D/t")" 3

say "$P: the control plane's sync commits everything"
fresh
touch "$D/s1"
mkdir "$D/s2"
ctl_sync
power_cut
present "$D/s1"
present "$D/s2"

say "$P: data and names are separate — write temp, rename into place, fsync dir: the name survives, empty"
fresh
echo "version 2" >"$D/data.tmp"
mv "$D/data.tmp" "$D/data"
sync "$D"
power_cut
absent "$D/data.tmp"
expect_eq "the classic zero-length file" "$(stat -c %s "$D/data")" 0

say "$P: rename over an existing file: ext4 and btrfs write the data back first (auto_da_alloc), xfs does not"
fresh
durable "$D/data" "version 1"
echo "version 2" >"$D/data.tmp"
mv "$D/data.tmp" "$D/data"
sync "$D"
power_cut
case $P in
ext4-* | btrfs) expect_eq "replaced with its data" "$(cat "$D/data")" "version 2" ;;
*) expect_eq "replaced by an empty file" "$(stat -c %s "$D/data")" 0 ;;
esac

say "$P: a journal fault at the commit leaves the names pending and triggers the profile's reaction"
fresh
durable "$D/o" "o"
touch "$D/pending"
"$FSYNCLAB" inject "$M" --op journal --errno EIO --times 1 >/dev/null
if sync "$D/o" 2>/dev/null; then echo "FAIL: fsync should fail on the journal fault" >&2; exit 1; fi
case $P in
ext4-ordered | ext4-data | btrfs) want=read-only ;;
xfs) want=shutdown ;;
*) want=ok ;;
esac
expect_eq "state" "$(state)" "$want"
power_cut
expect_eq "state after the reboot" "$(state)" ok
absent "$D/pending"
present "$D/o"
"$FSYNCLAB" clear "$M" >/dev/null

say "$P: the periodic commit (the background interval) commits names older than it"
fs_umount "$M"
fs_mount "$P-periodic" --profile "$P" --writeback-interval 200ms
touch "$M/aged"
sleep 0.8
touch "$M/young"
power_cut
present "$M/aged"
absent "$M/young"
[ -z "$(ls -A "$B/.fsynclab-undo")" ] || { echo "FAIL: stash not emptied" >&2; exit 1; }
if [ "$P" = ext4-ordered ]; then
	say "--namespace posix: a file's fsync persists no name, a directory fsync does"
	fs_umount "$M"
	fs_mount posix --namespace posix --writeback-interval never
	echo a >"$M/a"
	sync "$M/a"
	power_cut
	absent "$M/a"
	echo b >"$M/b"
	sync "$M/b"
	sync "$M"
	power_cut
	expect_eq "b survives with its data" "$(cat "$M/b")" b

	say "--namespace durable: names are durable at once (the model before namespace durability)"
	fs_umount "$M"
	fs_mount durable --namespace durable --writeback-interval never
	touch "$M/kept"
	power_cut
	present "$M/kept"
	[ ! -e "$B/.fsynclab-undo" ] || { echo "FAIL: durable mode made an undo directory" >&2; exit 1; }

	say "a bad --namespace is refused, naming the word, and nothing is mounted"
	mkdir -p "$T/bad.b" "$T/bad"
	set +e
	out=$("$FSYNCLAB" mount --namespace bogus "$T/bad.b" "$T/bad" 2>&1)
	rc=$?
	set -e
	expect_eq "exit status" "$rc" 2
	case $out in *"'bogus'"*) ;; *) echo "FAIL: message does not name the word: $out" >&2; exit 1 ;; esac
	if awk -v m="$T/bad" '$5 == m' /proc/self/mountinfo | grep -c . >/dev/null; then
		echo "FAIL: mounted anyway" >&2
		exit 1
	fi
fi
echo PASS
