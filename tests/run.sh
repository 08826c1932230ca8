#!/bin/sh
# Runs every unit test binary given as an argument, then every tests/static/*.sh (checks of the
# built tree) and tests/e2e/*.sh, then once more the e2e tests that drive the admin API
# (PG_TESTS) with every manager on PostgreSQL (E2E_STORE=postgresql, tests/e2e/pg.bash), and
# counts
# their TAP lines ("ok - …" / "not ok - …"; an "ok" line with a "# SKIP reason" directive is
# counted as skipped, not passed). A program that exits non-zero without printing a failure
# counts as one failure, one that makes no check at all too; a unit test that passes but leaves
# files in its temp dir ($TMPDIR) counts as one more. Lists the skipped checks, then
# ends with the line "N passed, N failed".
set -u
BUILD=${BUILD:-build}
export BUILD
passed=0
failed=0
kept=
skipped=0
log=$(mktemp)
skips=$(mktemp)
# The unit tests' temp dir: a test that passes must leave nothing in it.
utmp=$(mktemp -d)
trap 'rm -f "$log" "$skips"; rmdir "$utmp" 2>/dev/null' EXIT

run_one() {
	name=$1
	shift
	printf '== %s\n' "$name"
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	sk=$(grep -c '^ok .*# SKIP' "$log")
	grep '^ok .*# SKIP' "$log" | sed "s|^ok - |  $name: |" >>"$skips"
	p=$((p - sk))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited with status $rc"
		f=1
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$sk" -eq 0 ]; then
		echo "not ok - $name ran no checks"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + sk))
}

for t in "$@"; do
	run_one "$(basename "$t")" env TMPDIR="$utmp" "$t"
	left=$(ls -A "$utmp")
	[ -n "$left" ] || continue
	if [ "$rc" -eq 0 ]; then
		echo "not ok - $(basename "$t") left $(echo $left) in its temp dir"
		failed=$((failed + 1))
		rm -rf "${utmp:?}"/*
	else
		kept="$kept $left"
		mkdir -p "$utmp.kept" && mv "$utmp"/* "$utmp.kept/"
	fi
done
[ -z "$kept" ] || echo "# the files of failed unit tests are kept in $utmp.kept"
for t in tests/static/*.sh tests/e2e/*.sh; do
	[ -e "$t" ] || continue
	run_one "$(basename "$t")" bash "$t"
done
# One PostgreSQL server per script, a database per manager: these add a few minutes in all.
PG_TESTS="api join_tokens enroll enroll_crash enroll_revert keys revocations events http_edges
http_limits logs metrics token_retry agent_channel agent_lost pool_gateway client_enroll agent_remote
keys_upgrade"
for t in $PG_TESTS; do
	[ -e "tests/e2e/${t}_test.sh" ] || continue
	run_one "${t}_test.sh on postgresql" env E2E_STORE=postgresql bash "tests/e2e/${t}_test.sh"
done
if [ "$skipped" -gt 0 ]; then
	echo "$skipped skipped (not counted as passed):"
	cat "$skips"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
