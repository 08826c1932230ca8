#!/usr/bin/env bash
# PostgreSQL restarted under load (tests/e2e/pg.bash starts the server): while clients create
# join tokens without pause, the server is restarted (every connection cut), then stopped for a
# while and started again. Every answer is a 201 or a clean 503 with Retry-After, never a 500
# or a hang; /v1/health reports the store down while it is down; the manager reconnects by
# itself; nothing is half-applied: every token answered 201 is in the store with its audit event
# (one transaction), and no token is there without its event. Run from the repository root:
# BUILD=build bash tests/e2e/pg_restart_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
E2E_STORE=postgresql
. tests/e2e/lib.bash

[ -x "$MANAGER" ] || e2e_bail "$MANAGER is not built (make all)"
STATE=$E2E_TMP/state
mgr_start "$STATE" || e2e_bail "the manager did not start"
PID=$MGR_PID
TOKEN=$(cat "$STATE/admin.token")
DB=$(cat "$STATE/.pgdb")

# load OUT N: N clients creating join tokens one after another until $E2E_TMP/stop exists; one
# line per answer: the status, the Retry-After header (or -), the token id (or -).
load() {
	local out=$1 n=$2 c
	for ((c = 0; c < n; c++)); do
		(
			while [ ! -e "$E2E_TMP/stop" ]; do
				curl -s --max-time 10 -D "$E2E_TMP/h.$c" -o "$E2E_TMP/b.$c" \
				    -w '%{http_code}\n' -H "Authorization: Bearer $TOKEN" \
				    -H 'Content-Type: application/json' -d '{"name":"load"}' \
				    "$URL/v1/join-tokens" >"$E2E_TMP/s.$c"
				printf '%s %s %s\n' "$(cat "$E2E_TMP/s.$c")" \
				    "$(sed -n 's/^Retry-After: *\([0-9]*\).*/\1/ip' "$E2E_TMP/h.$c" | head -n 1 | grep . || echo -)" \
				    "$(sed -n 's/^{"id":\([0-9]*\),.*/\1/p' "$E2E_TMP/b.$c" | grep . || echo -)"
			done >"$out.$c"
		) &
		LOADERS+=($!)
	done
}

LOADERS=()
load "$E2E_TMP/answers" 4
sleep 1
pg_restart
check "PostgreSQL restarted (fast: every connection cut) while 4 clients write" test $? = 0
sleep 1
pg_down
check "PostgreSQL stopped" test $? = 0
sleep 1
api -t "" GET /v1/health
want_status 503
want .db error
want .field db
verdict "while the store is down /v1/health answers 503 naming the store (db: error)"
api GET /v1/pools
want_status 503
want_header Retry-After 1
verdict "while the store is down a read is 503 with Retry-After"
sleep 2
pg_up
check "PostgreSQL started again" test $? = 0
sleep 2
touch "$E2E_TMP/stop"
wait "${LOADERS[@]}"
cat "$E2E_TMP/answers".* >"$E2E_TMP/all"

check "the manager is still running" kill -0 "$PID"
N201=$(grep -c '^201 ' "$E2E_TMP/all")
N503=$(grep -c '^503 1 ' "$E2E_TMP/all")
that "$(wc -l <"$E2E_TMP/all") answers: $(cut -d' ' -f1 "$E2E_TMP/all" | sort | uniq -c | tr '\n' ' ')" \
    test "$((N201 + N503))" = "$(wc -l <"$E2E_TMP/all")"
that "$N201 created" test "$N201" -gt 0
that "$N503 refused while the store was away" test "$N503" -gt 0
verdict "under load across a restart and an outage: every answer is 201 or 503 with Retry-After: 1"

api POST /v1/join-tokens '{"name":"after"}'
want_status 201
verdict "the manager reconnected by itself: a write succeeds after the store is back"
api -t "" GET /v1/health
want .db ok
verdict "/v1/health says the store is ok again"

grep '^201 ' "$E2E_TMP/all" | cut -d' ' -f3 | sort -n >"$E2E_TMP/created"
pg_sql "$DB" "SELECT id FROM join_tokens WHERE name = 'load' ORDER BY id" >"$E2E_TMP/stored"
MISSING=$(comm -23 "$E2E_TMP/created" "$E2E_TMP/stored" | tr '\n' ' ')
that "answered 201 but not stored: $MISSING" test -z "$MISSING"
verdict "every token answered 201 is in the store"
UNAUDITED=$(pg_sql "$DB" "SELECT count(*) FROM join_tokens j WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.action = 'join_token.create' AND e.object = 'join_token:' || j.id)")
ORPHANS=$(pg_sql "$DB" "SELECT count(*) FROM events e WHERE e.action = 'join_token.create' AND NOT EXISTS (SELECT 1 FROM join_tokens j WHERE e.object = 'join_token:' || j.id)")
that "tokens without their audit event: $UNAUDITED" test "$UNAUDITED" = 0
that "audit events without their token: $ORPHANS" test "$ORPHANS" = 0
verdict "nothing half-applied: each token and its audit event were stored together or not at all"
check "the manager logged the lost connection" grep -q 'connection to postgresql.* lost\|cannot connect to postgresql' "$STATE.err"
check "the manager logged the password nowhere (there is none here): no 'password' in its log" \
    test "$(grep -ci password "$STATE.err")" = 0

mgr_stop TERM "$PID"
that "exit status $MGR_RC" test "$MGR_RC" = 0
verdict "the manager stops cleanly"
no_sanitizer_reports
e2e_finish
