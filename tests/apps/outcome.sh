#!/usr/bin/env bash
# outcome.sh — the verdict step of an application scenario (scenarios/apps/*.yaml): compute what
# the program did from the files its workload and verify steps wrote, and compare it with the
# expected words. Exit 0 when every expected word holds, 1 when one does not, 2 on bad usage.
#
#   outcome.sh ACKED AFTER [BEFORE] -- WORD...
#     ACKED   a file of "ack KEY" / "fail KEY: ..." lines (every workload step appends to it)
#     AFTER   the verify output after the power cut ("present|missing|wrong KEY", summary line)
#     BEFORE  the verify output before it (optional; "data that later vanished")
#     WORD    key=value, one of lib.sh apps_outcome's words: acked failed acked_after_fail lost
#             false_failures vanished wrong corrupt
# Example: outcome.sh ../apps/acks ../apps/after -- lost=0 corrupt=no
set -u
. "$(dirname "$0")/lib.sh"
APPS_NAME=outcome
files=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	files+=("$1")
	shift
done
[ $# -gt 1 ] && [ "${#files[@]}" -ge 2 ] && [ "${#files[@]}" -le 3 ] || {
	echo "usage: outcome.sh ACKED AFTER [BEFORE] -- key=value..." >&2
	exit 2
}
shift
for f in "${files[@]}"; do
	[ -r "$f" ] || {
		echo "outcome.sh: cannot read '$f'" >&2
		exit 2
	}
done
for word in "$@"; do
	case "$word" in
	acked=* | failed=* | acked_after_fail=* | lost=* | false_failures=* | vanished=* | wrong=* | corrupt=*) ;;
	*)
		echo "outcome.sh: unknown word: '$word'" >&2
		exit 2
		;;
	esac
done
observed=$(apps_outcome "${files[0]}" "${files[0]}" "${files[2]:-/dev/null}" "${files[1]}")
apps_expect "$observed" "$*"
[ "$apps_checks_failed" -eq 0 ]
