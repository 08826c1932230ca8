#!/bin/sh
# Runs every unit test binary given as an argument, then every tests/e2e/*.sh, and counts
# their TAP lines ("ok - …" / "not ok - …"). A program that exits non-zero without printing a
# failure counts as one failure. Ends with the line "N passed, N failed".
set -u
BUILD=${BUILD:-build}
export BUILD
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_one() {
	name=$1
	shift
	printf '== %s\n' "$name"
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited with status $rc"
		f=1
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name ran no checks"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

for t in "$@"; do
	run_one "$(basename "$t")" "$t"
done
for t in tests/e2e/*.sh; do
	[ -e "$t" ] || continue
	run_one "$(basename "$t")" bash "$t"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
