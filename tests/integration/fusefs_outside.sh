#!/bin/bash
# fusefs_outside.sh — outside checks of issue item 1 and of robustness: fio --verify=crc32c reports
# no mismatch in both cache modes (and with O_DIRECT); stress-ng file-system stressors run clean;
# with rules armed at random, stress-ng keeps the daemon up and it still unmounts cleanly.
. "$(dirname "$0")/fusefs_lib.sh" "$@"
for tool in fio stress-ng; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (Debian package $tool)"; exit 77; }
done

for cache in emulate none; do
	fs_mount "fio-$cache" --cache "$cache" --writeback-interval 500ms
	for direct in 0 1; do
		say "fio --verify=crc32c, --cache $cache, direct=$direct"
		nice fio --name=verify --directory="$M" --size=8M --bs=4k --rw=randwrite --ioengine=psync \
			--numjobs=2 --fsync=32 --direct=$direct --verify=crc32c --verify_fatal=1 --do_verify=1 \
			--group_reporting >"$T/fio.out" 2>&1 || { cat "$T/fio.out"; exit 1; }
		grep -q "err= 0" "$T/fio.out" || { cat "$T/fio.out"; exit 1; }
		if grep -qi "verify.*bad\|crc32c.*mismatch" "$T/fio.out"; then
			cat "$T/fio.out"
			exit 1
		fi
		rm -f "$M"/verify.*
	done
	fs_umount "$M"
done

STRESSORS=(--hdd 1 --hdd-bytes 4M --dir 1 --rename 1 --link 1 --symlink 1 --fallocate 1 --fallocate-bytes 4M
	--dentry 1 --xattr 1 --flock 1 --lockf 1 --seek 1 --seek-size 4M --iomix 1 --iomix-bytes 4M
	--sync-file 1 --sync-file-bytes 4M --mmap 1 --mmap-bytes 4M --mmap-file)

fs_mount sng --writeback-interval 200ms
say "stress-ng file-system stressors run clean"
mkdir "$M/clean"
nice stress-ng --temp-path "$M/clean" "${STRESSORS[@]}" --timeout 3s >"$T/sng.out" 2>&1 || {
	tail -30 "$T/sng.out"
	exit 1
}
grep -q "successful run completed" "$T/sng.out" || { tail -30 "$T/sng.out"; exit 1; }

say "stress-ng with rules firing at random: the daemon stays up and unmounts cleanly"
for op in write read fsync fdatasync writeback open create rename unlink truncate fallocate mkdir; do
	"$FSYNCLAB" inject "$M" --op "$op" --errno EIO --probability 0.05 --seed 1 >/dev/null
done
"$FSYNCLAB" inject "$M" --op writeback --effect corrupt --probability 0.05 --seed 2 >/dev/null
"$FSYNCLAB" inject "$M" --op read --effect corrupt --probability 0.05 --seed 3 >/dev/null
mkdir -p "$M/faulty" || true
pid=$(daemon_pid "$M")
nice stress-ng --temp-path "$M/faulty" "${STRESSORS[@]}" --timeout 3s >"$T/sng2.out" 2>&1 || true
pid_alive "$pid"
"$FSYNCLAB" status "$M" --json | grep -c '"hits"' >/dev/null
"$FSYNCLAB" clear "$M"

say "power cuts every 100 ms under stress-ng: no deadlock with the kernel's cache invalidation"
mkdir -p "$M/cuts"
nice stress-ng --temp-path "$M/cuts" --hdd 2 --hdd-bytes 4M --mmap 1 --mmap-bytes 4M --mmap-file --iomix 1 \
	--iomix-bytes 4M --seek 1 --seek-size 4M --timeout 3s >"$T/sng3.out" 2>&1 &
sng=$!
for _ in $(seq 25); do
	timeout 10 "$FSYNCLAB" reboot "$M" >/dev/null
	sleep 0.1
done
wait "$sng" || true # data vanishes under its feet: its own checks may fail, the daemon must not
pid_alive "$pid"
timeout 10 "$FSYNCLAB" status "$M" >/dev/null
"$FSYNCLAB" reboot "$M"
rm -rf "$M/faulty" "$M/clean" "$M/cuts"
fs_umount "$M"
if pid_alive "$pid"; then
	echo "FAIL: daemon $pid still running after umount" >&2
	exit 1
fi
echo PASS
