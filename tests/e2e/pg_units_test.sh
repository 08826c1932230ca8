#!/usr/bin/env bash
# The store unit tests that can run on another store (those reading SNAPTUN_TEST_STORE, e.g.
# store_livesession_test) run here on PostgreSQL, each on a new database of one server: the
# same checks as on SQLite, through the PostgreSQL driver (pipelined batches, prepared
# statements, a conflict inside a transaction). Their TAP lines are this script's. Run from the
# repository root: BUILD=build bash tests/e2e/pg_units_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

pg_find_bin >/dev/null || {
	skip "store unit tests on PostgreSQL" "PostgreSQL is not installed (make deps)"
	e2e_finish
}
pg_start || e2e_bail "the PostgreSQL server did not start"
for src in $(grep -l SNAPTUN_TEST_STORE tests/unit/store_*_test.c); do
	t=$BUILD/tests/$(basename "$src" .c)
	[ -x "$t" ] || e2e_bail "$t is not built (make $t)"
	DB=$(pg_createdb) || e2e_bail "no database"
	# The unit test's own temp dir (it makes one even when the store is elsewhere).
	TMPDIR=$E2E_TMP SNAPTUN_TEST_STORE=$(pg_uri "$DB") "$t" >"$E2E_TMP/unit.out" 2>&1
	rc=$?
	sed "s/^\(not \)\{0,1\}ok - /&$(basename "$t") on PostgreSQL: /" "$E2E_TMP/unit.out"
	check "$(basename "$t") on PostgreSQL ends with status 0 (status $rc)" test "$rc" = 0
done
e2e_finish
