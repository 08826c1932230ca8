#!/usr/bin/env bash
# The two schemas agree: after migrating, a PostgreSQL store and an SQLite store have the same
# tables with the same columns (db/pg/schema.c mirrors db/sqlite/schema.c migration for
# migration), and the same schema version. Also: a PostgreSQL database migrated by two managers
# starting at once ends up migrated once; the store's password is printed nowhere. Run from the
# repository root: BUILD=build bash tests/e2e/pg_schema_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
E2E_STORE=postgresql
. tests/e2e/lib.bash

[ -x "$MANAGER" ] || e2e_bail "$MANAGER is not built (make all)"
command -v sqlite3 >/dev/null || e2e_bail "sqlite3 CLI missing (make deps)"
pg_start || e2e_bail "the PostgreSQL server did not start"
DB=$(pg_createdb) || e2e_bail "no database"

mkdir -m 700 "$E2E_TMP/s" "$E2E_TMP/p1" "$E2E_TMP/p2"
"$MANAGER" --check --state-dir "$E2E_TMP/s" >"$E2E_TMP/s.out" 2>&1
check "an SQLite store is made and migrated (--check)" test $? = 0
# Two at once on an empty database: the migrations' advisory lock makes the second wait.
"$MANAGER" --check --state-dir "$E2E_TMP/p1" --store "$(pg_uri "$DB")" >"$E2E_TMP/p1.out" 2>&1 &
P1=$!
"$MANAGER" --check --state-dir "$E2E_TMP/p2" --store "$(pg_uri "$DB")" >"$E2E_TMP/p2.out" 2>&1
R2=$?
wait "$P1"
R1=$?
that "first: $R1 $(cat "$E2E_TMP/p1.out")" test "$R1" = 0
that "second: $R2 $(cat "$E2E_TMP/p2.out")" test "$R2" = 0
verdict "two managers migrating one empty PostgreSQL database at once both succeed"
that "versions rows: $(pg_sql "$DB" "SELECT count(*) FROM schema_version")" \
    test "$(pg_sql "$DB" "SELECT count(*) FROM schema_version")" = 1
that "migrated once: $(grep -h 'migrated' "$E2E_TMP"/p?.out | wc -l) logs of a migration" \
    test "$(grep -h 'schema migrated' "$E2E_TMP"/p?.out | wc -l)" = 1
verdict "the database is migrated once"

sqlite3 "$E2E_TMP/s/snaptun.db" "SELECT m.name || '.' || p.name FROM sqlite_master m,
    pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
    ORDER BY 1" >"$E2E_TMP/sqlite.cols"
pg_sql "$DB" "SELECT table_name || '.' || column_name FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name != 'schema_version' ORDER BY 1" \
    | LC_ALL=C sort >"$E2E_TMP/pg.cols"
LC_ALL=C sort -o "$E2E_TMP/sqlite.cols" "$E2E_TMP/sqlite.cols"
that "$(wc -l <"$E2E_TMP/sqlite.cols") SQLite columns" test "$(wc -l <"$E2E_TMP/sqlite.cols")" -gt 50
that "differences (< SQLite, > PostgreSQL): $(diff "$E2E_TMP/sqlite.cols" "$E2E_TMP/pg.cols" | grep '^[<>]' | tr '\n' ' ')" \
    diff -q "$E2E_TMP/sqlite.cols" "$E2E_TMP/pg.cols"
verdict "both stores have the same tables and columns after migrating"
sqlite3 "$E2E_TMP/s/snaptun.db" "SELECT name FROM sqlite_master WHERE type = 'index' AND
    name NOT LIKE 'sqlite_%' ORDER BY 1" >"$E2E_TMP/sqlite.idx"
pg_sql "$DB" "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE
    '%_pkey' AND indexname NOT LIKE '%_key' ORDER BY 1" >"$E2E_TMP/pg.idx"
that "named indexes differ: $(diff "$E2E_TMP/sqlite.idx" "$E2E_TMP/pg.idx" | grep '^[<>]' | tr '\n' ' ')" \
    diff -q "$E2E_TMP/sqlite.idx" "$E2E_TMP/pg.idx"
verdict "both stores have the same named indexes"
that "versions: $(sqlite3 "$E2E_TMP/s/snaptun.db" 'PRAGMA user_version') and $(pg_sql "$DB" 'SELECT version FROM schema_version')" \
    test "$(sqlite3 "$E2E_TMP/s/snaptun.db" 'PRAGMA user_version')" = "$(pg_sql "$DB" 'SELECT version FROM schema_version')"
verdict "both stores are at the same schema version"

# The store's password is never printed: not when it works, not when it fails.
mkdir -m 700 "$E2E_TMP/pw"
"$MANAGER" --check --state-dir "$E2E_TMP/pw" \
    --store "postgresql://postgres:Secret-pw-42@/$DB?host=$PG_DIR" >"$E2E_TMP/pw.out" 2>&1
that "--check with a password: $(cat "$E2E_TMP/pw.out")" test $? = 0
"$MANAGER" --check --state-dir "$E2E_TMP/pw" \
    --store "postgresql://postgres:Secret-pw-42@/nosuchdb?host=$PG_DIR" >>"$E2E_TMP/pw.out" 2>&1
that "--check of a missing database exits 1" test $? = 1
"$MANAGER" --check --state-dir "$E2E_TMP/pw" \
    --store "host=$PG_DIR dbname=nosuchdb password=Secret-pw-42" >>"$E2E_TMP/pw.out" 2>&1
that "--check of a missing database (key=value) exits 1" test $? = 1
that "the password in: $(grep Secret-pw-42 "$E2E_TMP/pw.out")" test "$(grep -c Secret-pw-42 "$E2E_TMP/pw.out")" = 0
that "the store is named: $(head -c 300 "$E2E_TMP/pw.out")" grep -q "postgresql://postgres@/.*$DB" "$E2E_TMP/pw.out"
verdict "the store's password is printed nowhere (a working store, a missing database, key=value)"
e2e_finish
