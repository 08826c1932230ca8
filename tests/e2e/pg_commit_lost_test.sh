#!/usr/bin/env bash
# A COMMIT whose outcome the manager cannot see (tests/e2e/pg.bash starts the server; the
# manager reaches it through tests/tools/pgcut, which cuts the connection exactly around a
# COMMIT). The answer lost after the server committed: the manager asks the server, on a new
# connection, what became of the transaction and answers the request as done (201), the record
# stored once with its audit event; a single-use join token redeemed this way gives its bundle
# and is spent once. The COMMIT lost before the server saw it: nothing was kept, the request
# answers 503 with Retry-After, and the same request again is stored. Run from the repository
# root: BUILD=build bash tests/e2e/pg_commit_lost_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
E2E_STORE=postgresql
. tests/e2e/lib.bash

CUT=$BUILD/tools/pgcut
[ -x "$MANAGER" ] || e2e_bail "$MANAGER is not built (make all)"
[ -x "$CUT" ] || e2e_bail "$CUT is not built (make all)"
pg_start || e2e_bail "the PostgreSQL server did not start"
DB=$(pg_createdb) || e2e_bail "no database"
SOCKDIR=$E2E_TMP/relay ARM=$E2E_TMP/arm
mkdir -p "$SOCKDIR" "$ARM"
"$CUT" --listen "$SOCKDIR/.s.PGSQL.5432" --to "$PG_DIR/.s.PGSQL.5432" --arm-dir "$ARM" \
    >"$E2E_TMP/cut.out" 2>"$E2E_TMP/cut.err" &
E2E_PIDS+=("$!")
wait_for 5 test -S "$SOCKDIR/.s.PGSQL.5432" || e2e_bail "pgcut did not listen: $(cat "$E2E_TMP/cut.err")"
STATE=$E2E_TMP/state
mgr_start "$STATE" --store "postgresql:///$DB?host=$SOCKDIR&user=postgres" --log-level info ||
	e2e_bail "the manager did not start through the relay"
TOKEN=$(cat "$STATE/admin.token")

# arm TRIGGER MARK: cut the connection at the COMMIT of the transaction that sends MARK.
arm() {
	printf '%s\n' "$2" >"$ARM/$1.tmp" && mv "$ARM/$1.tmp" "$ARM/$1"
}

# ---- the answer to COMMIT lost: the transaction committed ----
arm answer kept-3f9a
api POST /v1/admin-tokens '{"name":"kept-3f9a","scope":"read"}'
want_status 201
that "the relay did not cut: $(cat "$E2E_TMP/cut.out")" grep -qx "cut answer" "$E2E_TMP/cut.out"
that "the manager did not log the outcome: $(grep -i commit "$STATE.err" | tail -n 3)" \
    grep -q "the answer to COMMIT of transaction [0-9]* was lost with the connection; it committed" "$STATE.err"
verdict "the answer to COMMIT is lost after the server committed: the manager finds out and answers 201"
that "stored: $(pg_sql "$DB" "SELECT count(*) FROM admin_tokens WHERE name = 'kept-3f9a'")" \
    test "$(pg_sql "$DB" "SELECT count(*) FROM admin_tokens WHERE name = 'kept-3f9a'")" = 1
that "audited: $(pg_sql "$DB" "SELECT count(*) FROM events WHERE action = 'admin_token.create' AND details LIKE '%kept-3f9a%'")" \
    test "$(pg_sql "$DB" "SELECT count(*) FROM events WHERE action = 'admin_token.create' AND details LIKE '%kept-3f9a%'")" = 1
api GET /v1/admin-tokens
want_status 200
that "the manager does not list it: $(cat "$E2E_TMP/body" | head -c 300)" grep -q kept-3f9a "$E2E_TMP/body"
verdict "the token is stored once with its audit event, and the manager goes on over a new connection"

# ---- a single-use join token redeemed while the answer is lost ----
api POST /v1/join-tokens '{"name":"once"}'
want_status 201
JT=$(jget .token) JT_ID=$(jget .id)
arm answer "$(printf '%s' "$JT" | sha256sum | cut -c1-64)"
api -t "" POST /v1/join "{\"token\":\"$JT\"}"
want_status 201
want_match .pssid '^[0-9a-f-]{36}$'
that "the relay did not cut: $(cat "$E2E_TMP/cut.out")" test "$(grep -cx "cut answer" "$E2E_TMP/cut.out")" = 2
that "clients of the token: $(pg_sql "$DB" "SELECT count(*) FROM clients WHERE join_token_id = $JT_ID")" \
    test "$(pg_sql "$DB" "SELECT count(*) FROM clients WHERE join_token_id = $JT_ID")" = 1
verdict "a join whose COMMIT answer was lost gives its bundle (201), and the token made one client"

# ---- the COMMIT itself lost: nothing kept ----
arm request dropped-7c1e
api POST /v1/admin-tokens '{"name":"dropped-7c1e","scope":"read"}'
want_problem 503
that "no Retry-After header" hdr Retry-After >/dev/null
that "the relay did not cut: $(cat "$E2E_TMP/cut.out")" grep -qx "cut request" "$E2E_TMP/cut.out"
that "the manager did not log the outcome: $(grep -i transaction "$STATE.err" | tail -n 3)" \
    grep -q "transaction [0-9]* ended with the connection (aborted): nothing of it was kept" "$STATE.err"
that "stored: $(pg_sql "$DB" "SELECT count(*) FROM admin_tokens WHERE name = 'dropped-7c1e'")" \
    test "$(pg_sql "$DB" "SELECT count(*) FROM admin_tokens WHERE name = 'dropped-7c1e'")" = 0
that "audited: $(pg_sql "$DB" "SELECT count(*) FROM events WHERE details LIKE '%dropped-7c1e%'")" \
    test "$(pg_sql "$DB" "SELECT count(*) FROM events WHERE details LIKE '%dropped-7c1e%'")" = 0
verdict "the COMMIT lost before the server saw it: 503 with Retry-After, nothing stored, nothing audited"
api POST /v1/admin-tokens '{"name":"dropped-7c1e","scope":"read"}'
want_status 201
verdict "the same request again is stored"

mgr_stop TERM
that "manager exit status $MGR_RC" test "$MGR_RC" = 0
verdict "the manager stops cleanly"
no_sanitizer_reports
e2e_finish
