#!/usr/bin/env bash
# End-to-end test of /v1/revocations with a stand-in agent (build/tools/chanpeer) on the state
# channel: POST (validation, 201 then 200 unchanged, Location, audit), GET list/one with paging
# and the pssid filter, REVOKE reaching a connected agent (with its latency), an enrolled client
# revoked through the client's own path (its record revoked too, lifting refused with 409),
# DELETE /v1/clients/{pssid} appearing here and as REVOKE, lifting an outside pssid (204, a fresh
# snapshot without it), scopes, and the list surviving a restart.
# Run from the repository root: BUILD=build bash tests/e2e/revocations_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

PEER=$BUILD/tools/chanpeer
[ -x "$MANAGER" ] || e2e_bail "$MANAGER is not built (make all)"
[ -x "$PEER" ] || e2e_bail "$PEER is not built (make all)"

STATE=$E2E_TMP/state
SOCK=$STATE/agent.sock
PX=outside-issuer:client-9
PY=22222222-2222-4222-8222-000000000001
TIME_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'

# enroll NAME: a client through a join token, acknowledged; sets CP to its pssid.
enroll() {
	api POST /v1/join-tokens "{\"name\":\"$1\"}"
	local jt
	jt=$(jget .token)
	api -t "" POST /v1/join "{\"token\":\"$jt\"}"
	CP=$(jget .pssid)
	api -t "" POST /v1/join/ack "{\"ack_token\":\"$(jget .ack_token)\"}"
}

mgr_start "$STATE" --enroll-rate 100000 --enroll-burst 100000 || e2e_bail "the manager did not start"
TOKEN=$(cat "$STATE/admin.token")
ADMIN=$TOKEN

# ---- validation ----
api POST /v1/revocations '{"pssid":"bad pssid"}'
want_problem 400 pssid
verdict "an invalid pssid -> 400 naming pssid"
api POST /v1/revocations '{"reason":"x"}'
want_problem 400 pssid
verdict "no pssid -> 400 naming pssid"
api POST /v1/revocations "{\"pssid\":\"$PX\",\"why\":\"x\"}"
want_problem 400 why
verdict "an unknown member -> 400 naming it"
api POST /v1/revocations "{\"pssid\":\"$PX\",\"reason\":\"$(printf 'r%.0s' {1..201})\"}"
want_problem 400 reason
verdict "a reason over 200 characters -> 400 naming reason"
api POST /v1/revocations "{\"pssid\":42}"
want_problem 400 pssid
verdict "a pssid that is not a string -> 400"

# ---- a connected agent sees revocations at once ----
O=$E2E_TMP/live.out
"$PEER" --socket "$SOCK" --agent-id 5 --timeout 30 >"$O" 2>&1 &
E2E_PIDS+=("$!")
wait_line "$O" '^SNAPSHOT_END' || fail "the peer got no snapshot: $(cat "$O")"
verdict "a stand-in agent is connected"

T0=$(date +%s%N)
api POST /v1/revocations "{\"pssid\":\"$PX\",\"reason\":\"stolen laptop\"}"
want_status 201
want .pssid "$PX"
want .reason "stolen laptop"
want_match .revoked_at "$TIME_RE"
want .revoked_by bootstrap
want_header Location "/v1/revocations/$PX"
wait_line "$O" "^REVOKE pssid=$PX reason=\"stolen laptop\"$" 2 || fail "no REVOKE at the agent"
T1=$(date +%s%N)
verdict "POST /v1/revocations -> 201 and REVOKE at the agent ($(((T1 - T0) / 1000000)) ms with curl)"
api POST /v1/revocations "{\"pssid\":\"$PX\",\"reason\":\"other\"}"
want_status 200
want .reason "stolen laptop"
verdict "revoking again -> 200, unchanged"
check "no second REVOKE for an unchanged revocation" test "$(grep -c "^REVOKE pssid=$PX" "$O")" = 1
api POST /v1/revocations "{\"pssid\":\"$PY\"}"
want_status 201
want .reason "revoked by administrator"
verdict "the reason defaults to \"revoked by administrator\""

api GET /v1/revocations
want_status 200
want_len .items 2
want .items[0].pssid "$PX"
want .items[1].pssid "$PY"
want_raw .next null
verdict "GET /v1/revocations lists them in order"
api GET "/v1/revocations?limit=1"
want_len .items 1
NEXT=$(jget .next)
api GET "/v1/revocations?limit=1&after=$NEXT"
want .items[0].pssid "$PY"
verdict "paging with limit and after"
api GET "/v1/revocations?pssid=$PY"
want_len .items 1
api GET "/v1/revocations?pssid=bad%20one"
want_problem 400 pssid
verdict "the pssid filter"
api GET "/v1/revocations/$PX"
want .reason "stolen laptop"
api GET /v1/revocations/nobody
want_problem 404 -
verdict "GET /v1/revocations/{pssid}: 200, or 404 when not revoked"
api GET "/v1/events?action=revocation.create"
want .items[0].object "revocation:$PX"
verdict "the revocation is audited"

# ---- enrolled clients ----
enroll c1
C1=$CP
api POST /v1/revocations "{\"pssid\":\"$C1\",\"reason\":\"left the company\"}"
want_status 201
wait_line "$O" "^REVOKE pssid=$C1 reason=\"left the company\"$" 2 || fail "no REVOKE for $C1"
api GET "/v1/clients/$C1"
want_match .revoked_at "$TIME_RE"
want .revoke_reason "left the company"
verdict "revoking an enrolled client's pssid revokes the client record too"
api DELETE "/v1/revocations/$C1"
want_problem 409 pssid
verdict "lifting an enrolled client's revocation -> 409 naming pssid"
enroll c2
C2=$CP
api DELETE "/v1/clients/$C2"
want_status 204
wait_line "$O" "^REVOKE pssid=$C2 reason=\"revoked by administrator\"$" 2 || fail "no REVOKE for $C2"
api GET "/v1/revocations/$C2"
want_status 200
verdict "DELETE /v1/clients/{pssid} adds a revocation and sends REVOKE"

# ---- lifting ----
N0=$(grep -c '^SNAPSHOT_END' "$O")
api DELETE "/v1/revocations/$PX"
want_status 204
api GET "/v1/revocations/$PX"
want_problem 404 -
wait_line "$O" "^SNAPSHOT_BEGIN generation=[0-9]+$" 2 &&
	for ((i = 0; i < 40; i++)); do [ "$(grep -c '^SNAPSHOT_END' "$O")" -gt "$N0" ] && break; sleep 0.05; done
that "no fresh snapshot after the lift" test "$(grep -c '^SNAPSHOT_END' "$O")" -gt "$N0"
LAST=$(awk '/^SNAPSHOT_BEGIN/ { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$O")
grep -q "^REVOKED pssid=$PY " <<<"$LAST" || fail "the fresh snapshot lacks $PY"
grep -q "^REVOKED pssid=$PX " <<<"$LAST" && fail "the fresh snapshot still has $PX"
verdict "DELETE /v1/revocations/{pssid} -> 204 and a fresh snapshot without it"
api DELETE "/v1/revocations/$PX"
want_problem 404 -
verdict "lifting again -> 404"

# ---- scopes ----
api POST /v1/admin-tokens '{"name":"reader","scope":"read"}'
TOKEN=$(jget .token)
api GET /v1/revocations
want_status 200
api POST /v1/revocations "{\"pssid\":\"$PX\"}"
want_problem 403 -
api DELETE "/v1/revocations/$PY"
want_problem 403 -
TOKEN=$ADMIN
verdict "a read token lists revocations but changes none"

# ---- restart ----
mgr_stop
mgr_start "$STATE" || e2e_bail "the manager did not restart"
api GET "/v1/revocations/$PY"
want_status 200
"$PEER" --socket "$SOCK" --agent-id 5 --timeout 5 --until SNAPSHOT_END >"$E2E_TMP/after.out" 2>&1
grep -q "^REVOKED pssid=$PY " "$E2E_TMP/after.out" || fail "no REVOKED $PY in the snapshot after a restart"
verdict "revocations survive a restart and are in the snapshot"
if r=$(sanitizer_report "$STATE.err"); then fail "sanitizer: $r"; fi
[ ${#E2E_5XX[@]} -eq 0 ] || fail "5xx answers: ${E2E_5XX[*]}"
[ ${#E2E_BADBODY[@]} -eq 0 ] || fail "bad bodies: ${E2E_BADBODY[*]}"
verdict "no 5xx, every body JSON, no sanitizer report"
e2e_finish
