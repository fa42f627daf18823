#!/usr/bin/env bash
# allow_other.sh — `fsynclab mount --allow-other` on a real mount: other users can use the mount,
# what they create (file, directory, symlink, fifo) is theirs on the backing directory, permissions
# are enforced (default_permissions), an existing file opened with O_CREAT keeps its owner, and
# without the option other users cannot enter the mount at all. Uses the system users nobody and
# daemon (present on every Debian system); needs root.
set -u
. "$(dirname "$0")/lib.sh"
apps_init allow-other
[ "$(id -u)" = 0 ] || apps_skip "needs root (the daemon chowns new files to their creator)"
apps_need_user nobody base-passwd
apps_need_user daemon base-passwd

# as USER CMD... — run CMD as USER with its own groups.
as() {
	local user=$1
	shift
	setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$@"
}

fsl_mount --allow-other
mkdir "$MNT/shared" "$MNT/private" && chmod 1777 "$MNT/shared" && chmod 700 "$MNT/private" || apps_die "setup failed"
echo root >"$MNT/shared/rootfile" && chmod 666 "$MNT/shared/rootfile" || apps_die "setup failed"

as nobody sh -c "echo hello >'$MNT/shared/f' && mkdir '$MNT/shared/d' && ln -s f '$MNT/shared/l' && mkfifo '$MNT/shared/p'"
apps_check "nobody creates a file, a directory, a symlink and a fifo" [ $? -eq 0 ]
for n in f d l p; do
	apps_check "backing $n is owned by nobody" [ "$(stat -c %U "$BACKING/shared/$n")" = nobody ]
	apps_check "mount shows $n owned by nobody" [ "$(stat -c %U "$MNT/shared/$n")" = nobody ]
done
apps_check "the file's group is nobody's" [ "$(stat -c %g "$BACKING/shared/f")" = "$(id -g nobody)" ]
apps_check "nobody reads its file back" [ "$(as nobody cat "$MNT/shared/f")" = hello ]
as daemon sh -c "echo no >>'$MNT/shared/f'" 2>/dev/null
apps_check "daemon cannot write nobody's 0644 file (EACCES)" [ $? -ne 0 ]
apps_check "daemon can read it" [ "$(as daemon cat "$MNT/shared/f")" = hello ]
as nobody sh -c "echo no >'$MNT/private/x'" 2>/dev/null
apps_check "nobody cannot create in root's 0700 directory" [ $? -ne 0 ]
apps_check "... and nothing was created" [ ! -e "$BACKING/private/x" ]
as nobody sh -c "echo more >>'$MNT/shared/rootfile'"
apps_check "nobody appends to root's 0666 file (O_CREAT on an existing file)" [ $? -eq 0 ]
apps_check "... which stays root's" [ "$(stat -c %U "$BACKING/shared/rootfile")" = root ]
echo mine >"$MNT/shared/root2"
apps_check "root's new file is root's" [ "$(stat -c %U "$BACKING/shared/root2")" = root ]
fsl_umount

# Without --allow-other, the kernel keeps every other user out of the mount.
"$FSYNCLAB" mount "$BACKING" "$MNT" >"$APPS_TMP/mount2.log" 2>&1 || apps_die "plain mount failed"
apps_check "without --allow-other, nobody cannot stat the mount" eval "! as nobody stat '$MNT/shared/f' >/dev/null 2>&1"
apps_check "without --allow-other, root still can" eval "stat '$MNT/shared/f' >/dev/null"
apps_finish
