#!/bin/bash
# bench_fs.sh — `fsynclab bench fs` end to end, as a smoke run (never a timed assertion: the figures
# themselves are not checked, only that they are reported consistently):
#   - --json: every documented field is there with the right type, native always runs, each paired
#     ratio is the target's figure divided by its reference's figure of the same round, the
#     summaries are the median/min/max of those, and each goal's met is its median >= threshold;
#   - --targets rules brings emulate (the idle rules' reference); CPU s/GiB per round with seq;
#   - the text report: load average line, one row per target, the ratio to native it prints agrees
#     with the figures it prints;
#   - bad input (--rounds 0 / 99, --dir /nonexistent, unknown --jobs / --targets words): exit 2,
#     a message naming the word, nothing created, nothing mounted;
#   - SIGINT in the middle of a run: exit 130, no mount left, the scratch directory removed; and
#     with a fake fio that ignores SIGTERM, it and its child are SIGKILLed 3 s later.
# Needs root, /dev/fuse and fio (skips with 77 otherwise). About 30 s.
set -euo pipefail

: "${FSYNCLAB:?FSYNCLAB must point at the fsynclab binary}"
if [ "$(id -u)" != 0 ] || [ ! -w /dev/fuse ]; then
	echo "SKIP: needs root and /dev/fuse"
	exit 77
fi
if ! command -v fio >/dev/null || ! command -v python3 >/dev/null; then
	echo "SKIP: needs fio and python3"
	exit 77
fi

T=$(mktemp -d /tmp/fsynclab-bench-test.XXXXXX)
BENCH_PID=

# mounts_under DIR — the mount points below DIR, from our mount table.
mounts_under() {
	awk -v d="$1/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo
}

cleanup() {
	local rc=$? m
	if [ -n "$BENCH_PID" ] && kill -0 "$BENCH_PID" 2>/dev/null; then
		kill -TERM "$BENCH_PID" 2>/dev/null || true
		wait "$BENCH_PID" 2>/dev/null || true
	fi
	# The fake fio's child (last test), if the benchmark failed to kill it: by pid, if still a sleep.
	if [ -s "$T/fake/child" ] && [ "$(tr '\0' ' ' <"/proc/$(cat "$T/fake/child")/cmdline" 2>/dev/null)" = "sleep 60 " ]; then
		kill -KILL "$(cat "$T/fake/child")" 2>/dev/null || true
	fi
	for m in $(mounts_under "$T"); do
		"$FSYNCLAB" umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	rm -rf --one-file-system "$T"
	[ $rc -eq 0 ] || echo "FAILED (exit $rc)"
	exit $rc
}
trap cleanup EXIT
trap '[[ $- == *e* ]] && echo "FAILED: line $LINENO of $(basename "${BASH_SOURCE[0]}"): $BASH_COMMAND" >&2' ERR

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
say() {
	echo "== $*"
}

# nothing_left DIR WHAT — DIR is empty and nothing is mounted below it.
nothing_left() {
	[ -z "$(mounts_under "$1")" ] || fail "$2: left mounts behind: $(mounts_under "$1")"
	[ -z "$(ls -A "$1")" ] || fail "$2: left files behind in $1: $(ls -A "$1")"
}

say "bad input: exit 2, the offending word named, nothing created or mounted"
mkdir "$T/bad"
bad() {
	local word=$1 rc=0 err
	shift
	err=$("$FSYNCLAB" bench fs --dir "$T/bad" "$@" 2>&1 >/dev/null) || rc=$?
	[ $rc -eq 2 ] || fail "bench fs $*: exit $rc, expected 2 ($err)"
	grep -qF -- "$word" <<<"$err" || fail "bench fs $*: the message does not name '$word': $err"
	nothing_left "$T/bad" "bench fs $*"
}
bad "'0'" --rounds 0
bad "'99'" --rounds 99
bad "'apend'" --jobs append,apend
bad "'bogus'" --targets none,bogus
bad "empty word" --targets none,,pll
rc=0
err=$("$FSYNCLAB" bench fs --dir /nonexistent 2>&1 >/dev/null) || rc=$?
[ $rc -eq 2 ] || fail "--dir /nonexistent: exit $rc, expected 2"
grep -qF "'/nonexistent'" <<<"$err" || fail "--dir /nonexistent: message does not name it: $err"

# check_json FILE EXPECTED_TARGETS EXPECTED_JOBS ROUNDS — validate a --json report.
check_json() {
	python3 - "$@" <<'EOF'
import json, math, re, sys

path, targets, jobs, rounds = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(","), int(sys.argv[4])
doc = json.load(open(path))

def need(cond, what):
    if not cond:
        sys.exit("FAIL: %s: %s" % (path, what))

def num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)

def median(v):
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2

def close(a, b):
    return abs(a - b) <= 1e-4 * max(1.0, abs(a), abs(b))

need(doc.get("schema") == "fsynclab-bench-fs/1", "schema")
need(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc.get("date", "")), "date")
for k in ("kernel", "fio", "backing_fs"):
    need(isinstance(doc.get(k), str) and doc[k], k)
need(isinstance(doc.get("cpus"), int) and doc["cpus"] >= 1, "cpus")
for k in ("start", "end"):
    la = doc["loadavg"][k]
    need(isinstance(la, list) and len(la) == 3 and all(num(x) and x >= 0 for x in la), "loadavg." + k)
need(doc.get("rounds") == rounds, "rounds")
need(doc.get("quick") is True, "quick")
need(doc.get("jobs") == jobs, "jobs %r" % doc.get("jobs"))
need(sorted(doc["targets"]) == sorted(targets), "targets %r" % list(doc["targets"]))
need("native" in doc["targets"], "native always runs")
need(doc.get("rule_check_ns") is None or num(doc["rule_check_ns"]), "rule_check_ns")

T = doc["targets"]
for name, t in T.items():
    need(t["available"] is True and t["why"] is None, name + " available")
    need(isinstance(t["name"], str), name + ".name")
    need(sorted(t["jobs"]) == sorted(jobs), name + ".jobs keys")
    for job, line in t["jobs"].items():
        pr = line["per_round"]
        need(len(pr) == rounds and all(num(x) and x > 0 for x in pr), "%s.%s.per_round %r" % (name, job, pr))
        need(close(line["median"], median(pr)), "%s.%s.median" % (name, job))
        need(isinstance(line["unit"], str), "%s.%s.unit" % (name, job))
        refs = [k[3:] for k in line if k.startswith("vs_")]
        need(name == "native" or "native" in refs, "%s.%s has no vs_native" % (name, job))
        for ref in refs:
            r = line["vs_" + ref]
            want = [a / b for a, b in zip(pr, T[ref]["jobs"][job]["per_round"])]
            need(all(close(a, b) for a, b in zip(r["per_round"], want)),
                 "%s.%s.vs_%s.per_round %r, figures say %r" % (name, job, ref, r["per_round"], want))
            need(close(r["median"], median(want)) and close(r["min"], min(want)) and close(r["max"], max(want)),
                 "%s.%s.vs_%s summary" % (name, job, ref))
    cpu = t["cpu_s_per_gib"]
    if "seq" in jobs and name != "native":
        need(len(cpu["per_round"]) == rounds and all(num(x) and x >= 0 for x in cpu["per_round"]),
             name + ".cpu_s_per_gib.per_round")
        need(close(cpu["median"], median(cpu["per_round"])), name + ".cpu_s_per_gib.median")
        need("vs_native" not in cpu, name + ": CPU is not compared with native")
    else:
        need(cpu is None, name + ".cpu_s_per_gib should be null")

goals = doc["goals"]
need(isinstance(goals, list) and goals, "goals")
for g in goals:
    for k in ("target", "job", "against"):
        need(isinstance(g[k], str), "goal." + k)
    need(g["target"] in T and g["against"] in T, "goal on a target that did not run: %r" % g)
    need(g["job"] in jobs or (g["job"] == "cpu" and "seq" in jobs), "goal on a job that did not run: %r" % g)
    need(num(g["threshold"]) and num(g["median"]) and num(g["min"]) and num(g["max"]), "goal numbers %r" % g)
    need(isinstance(g["met"], bool) and g["met"] == (g["median"] >= g["threshold"]), "goal met %r" % g)
    need(g["why"] is None, "goal why %r" % g)
    line = T[g["target"]]["cpu_s_per_gib"] if g["job"] == "cpu" else T[g["target"]]["jobs"][g["job"]]
    pr = line["vs_" + g["against"]]
    need(close(g["median"], pr["median"]), "goal median %r is not the paired median %r" % (g["median"], pr["median"]))
    need(g["rounds_measured"] == len([x for x in pr["per_round"] if x is not None]), "goal rounds_measured %r" % g)
    need(g["rounds_met"] == len([x for x in pr["per_round"] if x is not None and x >= g["threshold"]]),
         "goal rounds_met %r against %r" % (g, pr["per_round"]))
print("ok: %s: %d targets, %d goals" % (path, len(T), len(goals)))
EOF
}

say "--json, one round of appends on native and --cache none"
mkdir "$T/a"
"$FSYNCLAB" bench fs --quick --rounds 1 --jobs append --targets none --json --dir "$T/a" >"$T/a.json"
check_json "$T/a.json" native,none append 1
python3 -c 'import json,sys; g=json.load(open(sys.argv[1]))["goals"]; sys.exit(not (len(g) == 1 and g[0]["target"] == "none" and g[0]["against"] == "native" and g[0]["threshold"] == 0.8))' "$T/a.json" ||
	fail "one goal expected (none append vs native >= 0.8)"
nothing_left "$T/a" "the --json run"

say "--json, two rounds of sequential writes: --targets rules brings emulate; CPU per round"
mkdir "$T/b"
"$FSYNCLAB" bench fs --quick --rounds 2 --jobs seq --targets rules --json --dir "$T/b" >"$T/b.json"
check_json "$T/b.json" native,emulate,rules seq 2
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); l=d["targets"]["rules"]["jobs"]["seq"]; g=[x for x in d["goals"] if x["target"] == "rules"]; sys.exit(not ("vs_emulate" in l and len(g) == 1 and g[0]["against"] == "emulate" and g[0]["threshold"] == 0.95 and d["rule_check_ns"] > 0))' "$T/b.json" ||
	fail "the idle rules' paired ratio (vs_emulate), its goal or rule_check_ns is missing"
nothing_left "$T/b" "the seq run"

say "text report: load average, one row per target, ratio consistent with the figures printed"
mkdir "$T/c"
"$FSYNCLAB" bench fs --quick --rounds 1 --jobs append --targets none --dir "$T/c" >"$T/c.txt"
grep -qE '^load average \(1 min\): [0-9.]+ at start, [0-9.]+ at end$' "$T/c.txt" || fail "no load average line"
grep -q 'bindfs' "$T/c.txt" && fail "bindfs appears though not selected"
native=$(awk -F'|' '$2 ~ /^ native / { print $3 }' "$T/c.txt" | awk '{ print $1 }')
read -r none ratio <<<"$(awk -F'|' '$2 ~ /fsynclab --cache none/ { print $3 }' "$T/c.txt" | awk '{ print $1, $2 }')"
[ -n "$native" ] && [ -n "$none" ] && [ -n "$ratio" ] || fail "no native / --cache none rows: $(cat "$T/c.txt")"
python3 -c 'import sys; n, f, r = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3].rstrip("x")); sys.exit(abs(f / n - r) > 0.006 + 0.6 / n + 0.6 * f / n / n)' \
	"$native" "$none" "$ratio" || fail "printed ratio $ratio is not $none / $native"
grep -qE '^  (met|NOT MET) +fsynclab --cache none +append vs native .*\(goal >= 0\.80x, reached in [01] of 1 rounds\)$' "$T/c.txt" ||
	fail "no goal line: $(grep -A3 '^goals' "$T/c.txt")"
nothing_left "$T/c" "the text run"

say "SIGINT in the middle of a run: exit 130, no mount left, scratch directory removed"
mkdir "$T/sig"
# A background job of a non-interactive shell ignores SIGINT: give the benchmark the default back.
python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
	"$FSYNCLAB" bench fs --quick --rounds 3 --targets none,emulate --dir "$T/sig" >"$T/sig.out" 2>"$T/sig.err" &
BENCH_PID=$!
for _ in $(seq 200); do
	[ "$(mounts_under "$T/sig" | wc -l)" -ge 2 ] && break
	kill -0 "$BENCH_PID" 2>/dev/null || fail "the benchmark ended before mounting: $(cat "$T/sig.err")"
	sleep 0.1
done
[ "$(mounts_under "$T/sig" | wc -l)" -ge 2 ] || fail "the benchmark did not mount within 20 s"
sleep 1
kill -INT "$BENCH_PID"
rc=0
wait "$BENCH_PID" || rc=$?
BENCH_PID=
[ $rc -eq 130 ] || fail "interrupted run: exit $rc, expected 130: $(cat "$T/sig.err")"
grep -q "interrupted by signal 2" "$T/sig.err" || fail "no interruption message: $(cat "$T/sig.err")"
nothing_left "$T/sig" "the interrupted run"

say "SIGINT while fio ignores SIGTERM: fio and its child are killed 3 s later, nothing left"
mkdir "$T/fake" "$T/stuck"
cat >"$T/fake/fio" <<'EOF2'
#!/bin/bash
# A fio that will not stop on SIGTERM and has a child, as fio's job processes are.
if [ "${1:-}" = --version ]; then echo fio-fake; exit 0; fi
trap '' TERM
sleep 60 &
echo $! >"$FAKE_FIO_CHILD"
wait $!
EOF2
chmod +x "$T/fake/fio"
export FAKE_FIO_CHILD=$T/fake/child
PATH=$T/fake:$PATH python3 -c 'import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])' \
	"$FSYNCLAB" bench fs --quick --rounds 1 --targets native --dir "$T/stuck" >/dev/null 2>"$T/stuck.err" &
BENCH_PID=$!
for _ in $(seq 200); do
	[ -s "$FAKE_FIO_CHILD" ] && break
	sleep 0.1
done
[ -s "$FAKE_FIO_CHILD" ] || fail "the fake fio never started: $(cat "$T/stuck.err")"
kill -INT "$BENCH_PID"
rc=0
wait "$BENCH_PID" || rc=$?
BENCH_PID=
[ $rc -eq 130 ] || fail "run with a stuck fio: exit $rc, expected 130: $(cat "$T/stuck.err")"
grep -q "did not stop on SIGTERM; killing it" "$T/stuck.err" || fail "no escalation message: $(cat "$T/stuck.err")"
child=$(cat "$FAKE_FIO_CHILD")
# Gone, or a zombie its new parent has yet to reap.
for _ in $(seq 20); do
	state=$(sed 's/.*) //' "/proc/$child/stat" 2>/dev/null | cut -c1) || state=
	case "$state" in "" | Z | X) break ;; esac
	sleep 0.1
done
case "$state" in "" | Z | X) ;; *)
	ps -o pid,ppid,stat,cmd -p "$child" >&2 || true
	kill -KILL "$child"
	fail "fio's child $child was left running (state $state)"
	;;
esac
nothing_left "$T/stuck" "the run with a stuck fio"

echo "ok: bench fs --json, text, bad input, SIGINT, stuck fio"
