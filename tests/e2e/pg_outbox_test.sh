#!/usr/bin/env bash
# The agents' outbox across managers (issue 13, "Several managers, one truth"): two managers on
# one PostgreSQL database, an agent attached to manager B (B's UNIX socket), tunnel clients on
# it; changes made through manager A reach B's agent: a client revoked through A has its tunnel
# closed with code 3 within the budget, and a pool created through A is known to B's agent (an
# address in it is granted); rows commit in the order of their ids (a transaction that holds
# the outbox lock makes A's row wait, and B's cursor skips neither); a row committed without
# an announcement reaches B's agent by B's poll. Then PostgreSQL is restarted (every connection cut, the LISTEN of
# each manager with it): B connects again and listens again by itself, and revocations through
# A still close tunnels on B's agent within the budget. Latencies are printed beside the
# same-manager one (revoked through B) measured here; tests/bench/bench_revoke_multi.sh measures
# them properly. Run from the repository root: BUILD=build bash tests/e2e/pg_outbox_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
E2E_STORE=postgresql
. tests/e2e/lib.bash

for b in "$MANAGER" "$AGENT" "$TUNCLIENT"; do
	[ -x "$b" ] || e2e_bail "$b is not built (make all)"
done
command -v certtool >/dev/null || e2e_bail "certtool is missing (make deps: gnutls-bin)"
BUDGET=3	# seconds from the API call to the close, at most (a loaded machine)
mgr_pair --enroll-rate 100000 --enroll-burst 100000 --log-level info ||
    e2e_bail "two managers on one database"

URL=$URL_A
api POST /v1/pools "{\"name\":\"t\",\"isd_as\":\"1-ff00:0:110\",\"prefix\":\"$POOL_PREFIX\",\"mode\":\"ip\"}"
[ "$STATUS" = 201 ] || e2e_bail "POST /v1/pools -> $STATUS: $BODY"
# agent_start attaches to the manager of the last mgr_start: B.
agent_start "$E2E_TMP/agent" || e2e_bail "the agent starts on manager B"
URL=$URL_B
wait_for 10 agent_connected || e2e_bail "the agent attaches to B (GET /v1/agents: $BODY)"
verdict "two managers on one database, an agent attached to B"

# closes NAME: the agent closed NAME's tunnel with code 3 ("revoked") within the budget.
closes() {
	want_event "$1" '^closed peer=1 app=1 code=3 idle=0 hs_failed=0 reason="revoked"$' "$BUDGET"
}

# revoke_through URL NAME: enroll a client through the API at URL, bring its tunnel up on B's
# agent, revoke it through URL again and wait for the close; DT is the milliseconds between
# the call and the close seen.
revoke_through() {
	local t0
	URL=$1
	enroll "$2" || { fail "a client enrolls through $1 ($STATUS: $BODY)"; return 1; }
	client_start "$2" --token "$ACCESS" --handshake
	want_event "$2" '^assigned ' || return 1
	t0=$(date +%s%N)
	api DELETE "/v1/clients/$PSSID"
	want_status 204 || return 1
	closes "$2" || return 1
	DT=$((($(date +%s%N) - t0) / 1000000))
	client_stop "$2"
}

revoke_through "$URL_B" same
verdict "same manager: a client revoked through B has its tunnel on B's agent closed with code 3 (${DT} ms)"
SAME=$DT
revoke_through "$URL_A" across
verdict "across managers: a client revoked through A has its tunnel on B's agent closed with code 3 (${DT} ms; through B: $SAME ms)"

# ---- a pool made through A reaches B's agent ----
URL=$URL_A
api POST /v1/pools '{"name":"second","isd_as":"2-ff00:0:220","prefix":"10.78.0.0/24","mode":"ip"}'
want_status 201
verdict "a second pool, of 2-ff00:0:220, through manager A"
enroll pooled || e2e_bail "a client enrolls"
# The agent refuses (400, then closes) an address of an ISD-AS it knows no pool of: a grant
# shows it learnt the pool from A's delta. A client that came too early is tried again anew.
pooled_assign() {
	client_start pooled --token "$ACCESS" --isd-as 2-ff00:0:220
	client_cmd pooled renew "assign 10.78.0.5"
	client_expect pooled '^response assign ' 5
	client_stop pooled
	[[ $CL_LINE == "response assign 200 "* ]]
}
that "B's agent never granted 10.78.0.5 of the pool made through A (last: $CL_LINE)" \
    wait_for "$BUDGET" pooled_assign
verdict "B's agent grants an address of the pool made through A"

# ---- rows commit in the order of their ids ----
# Another manager's transaction, played by psql: it takes the outbox lock (its key is
# AGENTDELTA_LOCK_KEY, db/agentdelta.h), writes the REVOKE row (kind 3) of client X, and
# commits only 1.5 s later. Meanwhile client Y is revoked through A. A's row must wait for the
# lock: had it taken the next id and committed first, B would read it, move its cursor past
# X's row, still uncommitted then, and never send it.
LOCK_KEY=8317692697417577844
URL=$URL_A
enroll late || e2e_bail "client X enrolls"
X=$PSSID
client_start late --token "$ACCESS" --handshake
want_event late '^assigned '
enroll early || e2e_bail "client Y enrolls"
Y=$PSSID
client_start early --token "$ACCESS" --handshake
want_event early '^assigned '
verdict "clients X and Y have tunnels on B's agent"
pg_sql "$DB" "BEGIN; SELECT pg_advisory_xact_lock($LOCK_KEY);
INSERT INTO agent_outbox (kind, object, reason) VALUES (3, '$X', 'revoked');
SELECT pg_sleep(1.5); COMMIT" >/dev/null 2>"$E2E_TMP/psql.err" &
PSQL=$!
lock_held() {
	[ "$(pg_sql "$DB" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" != 0 ]
}
wait_for 5 lock_held || e2e_bail "psql does not take the outbox lock: $(cat "$E2E_TMP/psql.err")"
api DELETE "/v1/clients/$Y"
want_status 204
verdict "Y revoked through A while another transaction holds the outbox lock"
wait "$PSQL"
PSQL_RC=$?
that "psql failed: $(cat "$E2E_TMP/psql.err")" test "$PSQL_RC" = 0
want_event early '^closed peer=1 app=1 code=3 ' "$BUDGET"
want_event late '^closed peer=1 app=1 code=3 ' "$BUDGET"
that "the outbox ids are not in commit order: $(pg_sql "$DB" "SELECT id, object FROM agent_outbox WHERE object IN ('$X', '$Y') ORDER BY id")" \
    test "$(pg_sql "$DB" "SELECT string_agg(object, ' ' ORDER BY id) FROM agent_outbox WHERE object IN ('$X', '$Y')")" = "$X $Y"
verdict "both tunnels close with code 3: A's row waited for the lock and took the later id"
client_stop early
client_stop late

# ---- an announcement lost: the poll ----
# A row committed with no NOTIFY (as if the announcement were lost with a connection) reaches
# B's agent by B's poll of the outbox, once a second.
URL=$URL_A
enroll quiet || e2e_bail "client Z enrolls"
Z=$PSSID
client_start quiet --token "$ACCESS" --handshake
want_event quiet '^assigned '
T0=$(date +%s%N)
pg_sql "$DB" "BEGIN; SELECT pg_advisory_xact_lock($LOCK_KEY);
INSERT INTO agent_outbox (kind, object, reason) VALUES (3, '$Z', 'revoked'); COMMIT" >/dev/null ||
    e2e_bail "psql writes a row"
want_event quiet '^closed peer=1 app=1 code=3 ' "$BUDGET"
verdict "a row committed without an announcement closes Z's tunnel on B's agent by the poll ($((($(date +%s%N) - T0) / 1000000)) ms)"
client_stop quiet

# ---- PostgreSQL restarted: every connection and its LISTEN gone ----
pg_restart || e2e_bail "PostgreSQL restarts"
check "manager B connects again and listens again by itself" \
    wait_line "$B.err" "connected to .* again, listening for announcements again" 10
check "manager A connects again" wait_line "$A.err" "connected to .* again" 10
LAT=()
for i in 1 2 3; do
	revoke_through "$URL_A" "after$i" || break
	LAT+=("$DT")
done
that "only ${#LAT[@]} of 3 revocations through A closed their tunnels on B's agent" test "${#LAT[@]}" = 3
verdict "after a restart of PostgreSQL, 3 clients revoked through A have their tunnels on B's agent closed with code 3 (${LAT[*]} ms)"

no_sanitizer_reports
e2e_finish
