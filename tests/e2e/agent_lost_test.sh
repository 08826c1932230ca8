#!/usr/bin/env bash
# Agents that never come back: with --agent-lost-after 2, the assigned grant of a stand-in agent
# (build/tools/chanpeer) that disconnects and stays away goes on hold for the pool's hold time
# from then (history: a hold by "agent:1 lost"; audit: agent.lost), then it is its pssid's until
# hold_until as any held grant; an agent that reconnects in time, and one that stays connected,
# keep theirs assigned. When the lost agent comes back still reporting the session, its
# reconcile ends that session (the grant is on hold), and the pssid gets its address back.
# Run from the repository root: BUILD=build bash tests/e2e/agent_lost_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

PEER=$BUILD/tools/chanpeer
[ -x "$MANAGER" ] || e2e_bail "$MANAGER is not built (make all)"
[ -x "$PEER" ] || e2e_bail "$PEER is not built (make all)"

STATE=$E2E_TMP/state
SOCK=$STATE/agent.sock
P1=22222222-2222-4222-8222-000000000001
P2=22222222-2222-4222-8222-000000000002
P3=22222222-2222-4222-8222-000000000003
HOLD=60



# shellcheck disable=SC2317 # called through wait_for
grant_state() {
	api GET "/v1/grants/$1"
	[ "$(jget .state)" = "$2" ]
}

epoch() {
	date -u -d "$1" +%s 2>/dev/null
}

mgr_start "$STATE" --agent-lost-after 2 --log-level info || e2e_bail "the manager did not start"
TOKEN=$(cat "$STATE/admin.token")
api POST /v1/pools "{\"name\":\"a\",\"isd_as\":\"1-ff00:0:110\",\"prefix\":\"10.7.0.0/24\",\"hold_seconds\":$HOLD}"
want_status 201
verdict "a pool with a hold time of $HOLD s"

require "agent 1 gets an address for $P1" peer_alloc 1 "$P1"
G1=$GRANT S1=$SESSION A1=$ADDR
require "agent 2 gets one for $P2" peer_alloc 2 "$P2"
G2=$GRANT S2=$SESSION A2=$ADDR
# Agent 3 stays connected throughout.
O3=$E2E_TMP/a3.out
peer_bg "$O3" --agent-id 3 --alloc "$P3" --timeout 60
wait_line "$O3" '^ALLOC_RES .* error=0 ' || fail "agent 3 got no address: $(tr '\n' '|' <"$O3")"
G3=$(sed -n 's/^ALLOC_RES .* grant=\([0-9]*\) .*/\1/p' "$O3")
verdict "agent 3 has a grant and stays connected"
# Agent 2 comes back at once and stays, still running its session.
O2=$E2E_TMP/a2.out
peer_bg "$O2" --agent-id 2 --session "$S2:$P2:$G2:$A2" --reconcile --timeout 60
wait_line "$O2" '^SNAPSHOT_END' || fail "agent 2 did not come back: $(tr '\n' '|' <"$O2")"
verdict "agent 2 reconnected in time"

# The sweep runs every 5 s: agent 1 is lost within 2 + 5 s.
that "the grant of agent 1 is still assigned after 15 s" wait_for 15 grant_state "$G1" on_hold
verdict "the grant of the agent that stayed away goes on hold"
HOLD_UNTIL=$(jget .hold_until)
api GET "/v1/grants/$G1/history"
want .items[1].action hold
want .items[1].actor "agent:1 lost"
AT=$(jget .items[1].at)
that "hold_until $HOLD_UNTIL is not the hold's time $AT + $HOLD s" \
    test "$(epoch "$HOLD_UNTIL")" = "$(($(epoch "$AT") + HOLD))"
that "the hold at $AT is not about now" test $(($(date +%s) - $(epoch "$AT"))) -le 15
verdict "held for the pool's hold time from then, in the grant's history by \"agent:1 lost\""
api GET "/v1/events?action=agent.lost"
want_len .items 1
want .items[0].object agent:1
want .items[0].actor snaptun-manager
want .items[0].details.held_grants 1
verdict "one agent.lost audit event for agent 1, counting the held grant"
check "the manager logs it" grep -q "agent 1 away since .*: 1 grants put on hold" "$STATE.err"

for g in "$G2" "$G3"; do
	api GET "/v1/grants/$g"
	want .state assigned
done
verdict "the agent that reconnected in time and the one that stayed keep their grants assigned"

# Agent 1 comes back, still reporting the session: the reconcile ends it (the grant is on hold),
# and the pssid gets its address back.
peer "$E2E_TMP/back.out" --agent-id 1 --session "$S1:$P1:$G1:$A1" --reconcile --until SESSION_KILL
has_kill=$(grep -c "^SESSION_KILL session=$S1 reason=\"address released\"$" "$E2E_TMP/back.out")
that "no SESSION_KILL of session $S1: $(tr '\n' '|' <"$E2E_TMP/back.out")" test "$has_kill" = 1
verdict "the lost agent, back, has its stale session ended by the reconcile"
require "agent 1 asks again for $P1" peer_alloc 1 "$P1"
that "the held address did not come back ($ADDR, grant $GRANT; was $A1, grant $G1)" \
    test "$ADDR" = "$A1" -a "$GRANT" = "$G1"
api GET "/v1/grants/$G1"
want .state assigned
verdict "the held address goes back to its pssid"

[ ${#E2E_5XX[@]} -eq 0 ] || fail "5xx answers: ${E2E_5XX[*]}"
[ ${#E2E_BADBODY[@]} -eq 0 ] || fail "bad bodies: ${E2E_BADBODY[*]}"
verdict "no 5xx, every body JSON"
e2e_finish
