#!/usr/bin/env bash
# Two managers on one PostgreSQL database (tests/e2e/pg.bash starts the server): 2 x 50 joins of
# one join token at once, half through each manager, give exactly one bundle and one client;
# two stand-in agents, one on each manager, allocating in one pool at once are never handed the
# same address; 24 agents enrolled at once through both managers get 24 different ids; a group
# commit on PostgreSQL keeps its good requests when one of them fails a
# statement (a unique violation; a failed statement there aborts the whole transaction). Run from the
# repository root: BUILD=build bash tests/e2e/pg_multi_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
E2E_STORE=postgresql
. tests/e2e/lib.bash

PEER=$BUILD/tools/chanpeer
[ -x "$MANAGER" ] || e2e_bail "$MANAGER is not built (make all)"
[ -x "$PEER" ] || e2e_bail "$PEER is not built (make all)"
FAST=(--enroll-rate 100000 --enroll-burst 100000 --agent-listen 127.0.0.1:0)
mgr_pair "${FAST[@]}" || e2e_bail "two managers on one database"
check "manager B made no bootstrap token of its own (the store has one)" test ! -e "$B/admin.token"

URL=$URL_B
api GET /v1/admin-tokens/self
want_status 200
want .name bootstrap
verdict "manager B takes manager A's admin token"

URL=$URL_A
api POST /v1/pools '{"name":"p","isd_as":"1-ff00:0:110","prefix":"10.9.0.0/24"}'
want_status 201
POOL=$(jget .id)
verdict "a pool through manager A"
URL=$URL_B
api GET "/v1/pools/$POOL"
want_status 200
want .name p
verdict "manager B sees it"

# ---- one join token, 100 joins at once ----
api POST /v1/join-tokens '{"name":"race"}'
want_status 201
JT=$(jget .token)
JT_ID=$(jget .id)
verdict "a join token through manager B"
mkdir -p "$E2E_TMP/joins"
# Each from an address of its own (all of 127/8 is loopback): a joiner that presents the token
# again from the same address is answered the same pssid again (api.md), another one is not.
CURLS=()	# a bare `wait` would wait for the managers too
for ((i = 0; i < 50; i++)); do
	for m in 1 2; do
		u=$URL_A
		[ "$m" = 2 ] && u=$URL_B
		curl -s --max-time 20 -o /dev/null -w '%{http_code}\n' --interface "127.0.$m.$((i + 1))" \
		    -H 'Content-Type: application/json' -d "{\"token\":\"$JT\"}" "$u/v1/join" \
		    >"$E2E_TMP/joins/$i-$m" &
		CURLS+=($!)
	done
done
wait "${CURLS[@]}"
cat "$E2E_TMP/joins"/* >"$E2E_TMP/codes"
N201=$(grep -c '^201$' "$E2E_TMP/codes")
NREFUSED=$(grep -c '^409$' "$E2E_TMP/codes")
that "$N201 bundles, expected exactly 1 (codes: $(sort "$E2E_TMP/codes" | uniq -c | tr '\n' ' '))" \
    test "$N201" = 1
that "$NREFUSED refused with 409 (in flight for another address)" test "$NREFUSED" = 99
verdict "2 x 50 joins of one token at once through two managers: one bundle, 99 refusals"
that "clients of the token: $(pg_sql "$DB" "SELECT count(*) FROM clients WHERE join_token_id = $JT_ID")" \
    test "$(pg_sql "$DB" "SELECT count(*) FROM clients WHERE join_token_id = $JT_ID")" = 1
that "token state: $(pg_sql "$DB" "SELECT state FROM join_tokens WHERE id = $JT_ID")" \
    test "$(pg_sql "$DB" "SELECT state FROM join_tokens WHERE id = $JT_ID")" = in_flight
verdict "the store holds one client for the token, which waits for its ack"

# ---- allocations at once through both managers ----
ARGS_A=() ARGS_B=()
for ((i = 0; i < 60; i++)); do
	ARGS_A+=(--alloc "$(uuid)")
	ARGS_B+=(--alloc "$(uuid)")
done
"$PEER" --socket "$A/agent.sock" --agent-id 1 --timeout 30 "${ARGS_A[@]}" --until ALLOC_RES:60 \
    >"$E2E_TMP/alloc-a.out" 2>&1 &
PA=$!
"$PEER" --socket "$B/agent.sock" --agent-id 2 --timeout 30 "${ARGS_B[@]}" --until ALLOC_RES:60 \
    >"$E2E_TMP/alloc-b.out" 2>&1 &
PB=$!
wait "$PA"
RA=$?
wait "$PB"
RB=$?
that "the agent on A exited $RA" test "$RA" = 0
that "the agent on B exited $RB" test "$RB" = 0
grep -h '^ALLOC_RES ' "$E2E_TMP/alloc-a.out" "$E2E_TMP/alloc-b.out" >"$E2E_TMP/res"
OKS=$(grep -c ' error=0' "$E2E_TMP/res")
that "$OKS of 120 allocations succeeded: $(grep -v ' error=0' "$E2E_TMP/res" | head -n 3)" \
    test "$OKS" = 120
sed -n 's/.* address=\([^ ]*\) .* error=0.*/\1/p' "$E2E_TMP/res" | sort >"$E2E_TMP/addrs"
DUPS=$(uniq -d "$E2E_TMP/addrs" | tr '\n' ' ')
that "addresses handed out twice: $DUPS" test -z "$DUPS"
that "$(wc -l <"$E2E_TMP/addrs") addresses" test "$(wc -l <"$E2E_TMP/addrs")" = 120
verdict "120 allocations at once through two managers: 120 different addresses"
that "grants in the store: $(pg_sql "$DB" "SELECT count(DISTINCT address) || '/' || count(*) FROM grants WHERE pool_id = $POOL")" \
    test "$(pg_sql "$DB" "SELECT count(DISTINCT address) || '/' || count(*) FROM grants WHERE pool_id = $POOL")" = 120/120
URL=$URL_B
api GET "/v1/pools/$POOL"
want .assigned 120
verdict "the store holds 120 grants at 120 addresses, and the pool counts them"
# ---- agents enrolled at once through both managers ----
# Each enrollment draws the next agent id above every other: two managers drawing at once must
# draw one after the other (db_serialize), or both take the same id and one is refused.
URL=$URL_A
SATS=()
for ((i = 0; i < 24; i++)); do
	api POST /v1/agent-tokens "{\"name\":\"edge-$i\"}"
	[ "$(jget .token)" != "" ] || fail "agent token $i: $(cat "$E2E_TMP/body")"
	SATS+=("$(jget .token)")
done
mkdir -p "$E2E_TMP/enrolls"
CURLS=()
for ((i = 0; i < 24; i++)); do
	u=$URL_A
	[ $((i % 2)) = 1 ] && u=$URL_B
	pin=$(head -c 32 /dev/urandom | base64)
	curl -s --max-time 20 -o "$E2E_TMP/enrolls/$i.json" -w '%{http_code}\n' \
	    -H 'Content-Type: application/json' \
	    -d "{\"token\":\"${SATS[$i]}\",\"client_pin\":\"$pin\"}" "$u/v1/agent-enroll" \
	    >"$E2E_TMP/enrolls/$i.code" &
	CURLS+=($!)
done
wait "${CURLS[@]}"
that "enrollments: $(cat "$E2E_TMP"/enrolls/*.code | sort | uniq -c | tr '\n' ' ') $(cat "$E2E_TMP"/enrolls/*.json | grep -v agent_id | head -c 300)" \
    test "$(cat "$E2E_TMP"/enrolls/*.code | sort | uniq -c | tr -s ' ')" = " 24 201"
IDS=$(sed -n 's/.*"agent_id": *\([0-9]*\).*/\1/p' "$E2E_TMP"/enrolls/*.json | sort -u | wc -l)
that "distinct agent ids: $IDS" test "$IDS" = 24
that "credentials stored: $(pg_sql "$DB" "SELECT count(DISTINCT agent_id) FROM agent_creds")" \
    test "$(pg_sql "$DB" "SELECT count(DISTINCT agent_id) FROM agent_creds")" = 24
verdict "24 agents enrolled at once through two managers: 24 different ids"

# ---- a group commit with a refused request among good ones ----
# Admin tokens created at once share commits; creating one whose name is taken fails its INSERT
# (409). On PostgreSQL a failed statement aborts the whole transaction unless it ran in a
# savepoint: each request of the batch is one, so the good ones beside it are kept.
URL=$URL_A
api POST /v1/admin-tokens '{"name":"dup","scope":"read"}'
want_status 201
verdict "an admin token named dup"
CURLS=()
for ((i = 0; i < 8; i++)); do
	for n in "dup" "t$i"; do
		curl -s --max-time 20 -o /dev/null -w '%{http_code}\n' \
		    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
		    -d "{\"name\":\"$n\",\"scope\":\"read\"}" "$URL/v1/admin-tokens" \
		    >"$E2E_TMP/batch-$n-$i.code" &
		CURLS+=($!)
	done
done
wait "${CURLS[@]}"
that "the taken name: $(cat "$E2E_TMP"/batch-dup-*.code | sort | uniq -c | tr '\n' ' ')" \
    test "$(cat "$E2E_TMP"/batch-dup-*.code | sort -u)" = 409
that "the new names: $(cat "$E2E_TMP"/batch-t*.code | sort | uniq -c | tr '\n' ' ')" \
    test "$(cat "$E2E_TMP"/batch-t*.code | sort -u)" = 201
that "stored: $(pg_sql "$DB" "SELECT count(*) FROM admin_tokens WHERE name LIKE 't_'")" \
    test "$(pg_sql "$DB" "SELECT count(*) FROM admin_tokens WHERE name LIKE 't_'")" = 8
that "audited: $(pg_sql "$DB" "SELECT count(*) FROM events WHERE action = 'admin_token.create'")" \
    test "$(pg_sql "$DB" "SELECT count(*) FROM events WHERE action = 'admin_token.create'")" = 10
that "batches rolled back whole: $(grep -c 'failed half-way' "$A.err")" \
    test "$(grep -c 'failed half-way' "$A.err")" = 0
verdict "16 requests at once, 8 refused by a unique constraint: the 8 good ones are stored and audited"

mgr_stop TERM "$PID_A"
that "manager A exit status $MGR_RC" test "$MGR_RC" = 0
mgr_stop TERM "$PID_B"
that "manager B exit status $MGR_RC" test "$MGR_RC" = 0
verdict "both managers stop cleanly"
no_sanitizer_reports
e2e_finish
