#!/usr/bin/env bash
# Two managers on one PostgreSQL database share their background jobs and their agents: exactly
# one holds the jobs lease (/v1/health "jobs", the metric snaptun_manager_jobs_leader) and sweeps,
# so a lost agent's grant is put on hold once and its lapsed hold expired once, by that manager
# alone; an agent attached to the standby is not lost to the leader, which does not see it; the
# leader lists it as connected in /v1/agents and in a join bundle, and its session in
# /v1/sessions (the standby lists it once, from memory), and closes it (the kill goes out through
# the outbox to the standby, which sends it to the agent). The lease goes with the
# leader's connection: cut by the server, one manager holds it again within a round; after
# kill -9 of the leader, the standby takes over within a bound and sweeps in its turn.
# Run from the repository root: BUILD=build bash tests/e2e/pg_jobs_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
E2E_STORE=postgresql
. tests/e2e/lib.bash

PEER=$BUILD/tools/chanpeer
[ -x "$MANAGER" ] || e2e_bail "$MANAGER is not built (make all)"
[ -x "$PEER" ] || e2e_bail "$PEER is not built (make all)"
pg_start || e2e_bail "the PostgreSQL server did not start"
DB=$(pg_createdb) || e2e_bail "no database"
STORE=$(pg_uri "$DB")
ARGS=(--store "$STORE" --agent-lost-after 2 --log-level info --enroll-rate 1000 --enroll-burst 1000)
HOLD=3
TAKEOVER_MAX=12	# seconds: one round of jobs (5 s) and a reconnect, on a loaded machine
P7=77777777-7777-4777-8777-000000000007
P8=88888888-8888-4888-8888-000000000008
P9=99999999-9999-4999-8999-000000000009

A=$E2E_TMP/a
B=$E2E_TMP/b
mgr_start "$A" "${ARGS[@]}" || e2e_bail "manager A did not start"
PID_A=$MGR_PID URL_A=$URL
TOKEN=$(cat "$A/admin.token")
# The signing keys are sealed in the store under A's store secret: B gets a copy of it.
mkdir -p -m 700 "$B" && cp -p "$A/store.secret" "$B/store.secret"
mgr_start "$B" "${ARGS[@]}" || e2e_bail "manager B did not start"
PID_B=$MGR_PID URL_B=$URL

# role URL: what /v1/health of the manager at URL says of the jobs ("leader", "standby").
role() {
	curl -s --max-time 5 "$1/v1/health" | sed -n 's/.*"jobs": *"\([a-z]*\)".*/\1/p'
}

# shellcheck disable=SC2317 # called through wait_for
one_leader() {
	local a b
	a=$(role "$URL_A") b=$(role "$URL_B")
	[ "$a/$b" = leader/standby ] || [ "$a/$b" = standby/leader ]
}

# shellcheck disable=SC2317 # called through wait_for
one_holder() {
	[ "$(lease_holders)" = 1 ] && one_leader
}

# shellcheck disable=SC2317 # called through wait_for
is_leader() {
	[ "$(role "$1")" = leader ]
}

# lease_holders: the connections that hold the jobs lock (its key is "snapjobs" in ASCII).
lease_holders() {
	pg_sql "$DB" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND
	    ((classid::bigint << 32) | objid::bigint) = x'736e61706a6f6273'::bigint"
}

# shellcheck disable=SC2317 # called through wait_for
lists_session() {
	api GET "/v1/sessions?agent=$2"
	[ "$(jget .items[0].id)" = "$1" ]
}

# shellcheck disable=SC2317 # called through wait_for
expired() {
	[ "$(history_count "$1" expire sweeper)" -ge 1 ]
}

# shellcheck disable=SC2317 # called through wait_for
on_hold() {
	api GET "/v1/grants/$1"
	[ "$(jget .state)" = on_hold ]
}

# history_count GRANT ACTION ACTOR: how many entries of GRANT's history are ACTION by ACTOR.
history_count() {
	api GET "/v1/grants/$1/history"
	paste <(jeach .items action) <(jeach .items actor) | grep -c "^$2	$3\$"
}

that "no manager alone holds the jobs lease (A: $(role "$URL_A"), B: $(role "$URL_B"))" \
    wait_for 12 one_leader
if [ "$(role "$URL_A")" = leader ]; then
	L=$A URL_L=$URL_A PID_L=$PID_A S=$B URL_S=$URL_B PID_S=$PID_B
else
	L=$B URL_L=$URL_B PID_L=$PID_B S=$A URL_S=$URL_A PID_S=$PID_A
fi
that "lock holders in the database: $(lease_holders)" test "$(lease_holders)" = 1
verdict "two managers on one database: one runs the jobs ($(basename "$L")), the other stands by"
for m in "$URL_L:1" "$URL_S:0"; do
	URL=${m%:*}
	api GET /metrics
	want_status 200
	that "$URL: $(grep jobs_leader "$E2E_TMP/body" | grep -v '^#')" \
	    grep -q "^snaptun_manager_jobs_leader ${m##*:}\$" "$E2E_TMP/body"
done
verdict "the metric snaptun_manager_jobs_leader is 1 on the leader, 0 on the standby"

URL=$URL_L
api POST /v1/pools "{\"name\":\"p\",\"isd_as\":\"1-ff00:0:110\",\"prefix\":\"10.8.0.0/24\",\"hold_seconds\":$HOLD}"
want_status 201
verdict "a pool with a hold time of $HOLD s"

SOCK=$S/agent.sock	# the stand-in agents attach to the standby
HOME7=$S	# agent 7's manager
# Agent 7 stays on the standby with its grant and a session on it; agent 8 gets one there and
# goes away.
require "agent 7 gets an address for $P7 through the standby" peer_alloc 7 "$P7"
G7=$GRANT S7=$SESSION
O7=$E2E_TMP/a7.out
peer_bg "$O7" --agent-id 7 --session "$S7:$P7:$G7:$ADDR" --reconcile \
    --listen 192.0.2.7:4433 --timeout 120
wait_line "$O7" '^SNAPSHOT_END' || fail "agent 7 did not come back: $(tr '\n' '|' <"$O7")"
require "agent 8 gets an address for $P8 through the standby" peer_alloc 8 "$P8"
G8=$GRANT
verdict "agent 7 stays attached to the standby, agent 8 left it"

that "the lapsed hold of agent 8's grant was not expired within 30 s" wait_for 30 expired "$G8"
that "holds by \"agent:8 lost\": $(history_count "$G8" hold 'agent:8 lost')" \
    test "$(history_count "$G8" hold 'agent:8 lost')" = 1
that "expiries by the sweeper: $(history_count "$G8" expire sweeper)" \
    test "$(history_count "$G8" expire sweeper)" = 1
api GET "/v1/events?action=agent.lost"
want_len .items 1
want .items[0].object agent:8
verdict "the lost agent's grant is held once and its lapsed hold expired once"
that "the leader does not log the hold" grep -q "agent 8 away since .*: 1 grants put on hold" "$L.err"
that "the leader does not log the expiry" grep -q "expired 1 lapsed holds" "$L.err"
that "the standby logs a job: $(grep -E 'away since|lapsed holds' "$S.err" | head -n 2)" \
    test "$(grep -cE 'away since|lapsed holds' "$S.err")" = 0
verdict "only the leader ran the jobs"

URL=$URL_L
api GET "/v1/grants/$G7"
want .state assigned
verdict "the grant of agent 7, attached to the standby, stays assigned (the leader does not see the agent)"
api GET /v1/agents/7
want_status 200
want .connected true
want .listen_address 192.0.2.7:4433
api GET /v1/agents/8
want .connected false
verdict "/v1/agents on the leader: agent 7 of the standby is connected, agent 8 is not"
api POST /v1/join-tokens '{"name":"j"}'
want_status 201
JT=$(jget .token)
api -t "" POST /v1/join "{\"token\":\"$JT\"}"
want_status 201
want .agents[0].id 7
want .agents[0].address 192.0.2.7:4433
want_len .agents 1
verdict "a join bundle from the leader lists the standby's agent"
that "the leader does not list session $S7 of agent 7 within 10 s" wait_for 10 lists_session "$S7" 7
want .items[0].pssid "$P7"
want .items[0].agent 7
want .items[0].rx_datagrams 0
api GET "/v1/sessions/$S7"
want_status 200
want .grant_id "$G7"
verdict "/v1/sessions on the leader lists the session of the standby's agent and shows it"
URL=$URL_S
api GET "/v1/sessions?agent=7"
want .items[0].id "$S7"
want_len .items 1
verdict "the standby lists it once, from its own registry"
URL=$URL_L
api DELETE "/v1/sessions/$S7"
want_status 202
want .id "$S7"
want .agent 7
wait_line "$O7" "^SESSION_KILL session=$S7 reason=\"closed by administrator\"\$" 10 ||
	fail "no SESSION_KILL for session $S7 at agent 7: $(tr '\n' '|' <"$O7")"
api GET "/v1/events?action=session.kill"
want_len .items 1
want .items[0].object "session:$S7"
verdict "DELETE /v1/sessions/{id} on the leader closes the session of the standby's agent (202, SESSION_KILL through the outbox, one session.kill event)"
api DELETE /v1/sessions/999999
want_status 404
verdict "an unknown session is 404 on a shared store too"

# The server cuts the leader's connection: the lease goes with it, and one manager holds it
# again within a round (the health of each says what it found at its last round: the lock and
# both answers must agree).
pg_sql "$DB" "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND
    granted AND ((classid::bigint << 32) | objid::bigint) = x'736e61706a6f6273'::bigint" >/dev/null
that "no manager holds the lease again within $TAKEOVER_MAX s (A: $(role "$URL_A"), B: $(role "$URL_B"))" \
    wait_for "$TAKEOVER_MAX" one_holder
verdict "the lease lost with a connection cut by the server is held again by one manager"
if [ "$(role "$URL_A")" = leader ]; then
	L=$A URL_L=$URL_A PID_L=$PID_A S=$B URL_S=$URL_B PID_S=$PID_B
else
	L=$B URL_L=$URL_B PID_L=$PID_B S=$A URL_S=$URL_A PID_S=$PID_A
fi
SOCK=$S/agent.sock

# kill -9 of the leader: the standby takes over.
T0=$(date +%s%N)
mgr_stop KILL "$PID_L"
that "the standby did not take over within $TAKEOVER_MAX s: $(role "$URL_S")" \
    wait_for "$TAKEOVER_MAX" is_leader "$URL_S"
MS=$((($(date +%s%N) - T0) / 1000000))
diag "the standby took the lease over $MS ms after kill -9 of the leader"
verdict "kill -9 of the leader: the standby holds the lease within $TAKEOVER_MAX s"
URL=$URL_S
require "agent 9 gets an address for $P9 through the new leader" peer_alloc 9 "$P9"
that "the grant of agent 9 is not on hold within 15 s" wait_for 15 on_hold "$GRANT"
check "the new leader logs it" grep -q "agent 9 away since .*: 1 grants put on hold" "$S.err"
# Unless agent 7's manager was the one killed (the lease may have moved to it above).
if [ "$HOME7" = "$S" ]; then
	api GET "/v1/grants/$G7"
	want .state assigned
fi
verdict "the new leader sweeps: a lost agent's grant goes on hold, an attached one's stays"

mgr_stop TERM "$PID_S"
that "the last manager's exit status $MGR_RC" test "$MGR_RC" = 0
no_sanitizer_reports
e2e_finish
