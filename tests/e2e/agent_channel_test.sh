#!/usr/bin/env bash
# End-to-end test of the manager's side of the state channel: a real snaptun-manager and
# build/tools/chanpeer (a stand-in agent speaking the channel over the real socket with the real
# key). The key and socket files; HELLO, WELCOME and the snapshot's items; the drops (version
# mismatch -> REJECT, bad MAC, replayed seq, a first frame that is not HELLO); ALLOC_REQ ->
# ALLOC_RES (and "revoked"); HOLD_REQ; a second connection of an agent id replacing the first;
# /v1/agents and /v1/sessions from the agents' reports; DELETE /v1/sessions/{id} -> SESSION_KILL;
# deltas after commits (GRANT_RELEASE, KEY_ADD on rotation, POOL_UPDATE); the reconcile putting a
# grant whose session is gone on hold and keeping a live one; the join bundle's agents list;
# a snapshot of 20000 revocations (put in the store with its CLI) taken by a slow reader:
# the manager's queue stays bounded, a delta arrives among the items, lifting a revocation
# mid-way restarts the snapshot with a new generation, END counts the items of its generation.
#
# Not covered: the peer uid check (SO_PEERCRED) needs a second uid; the tests run as one user.
# Run from the repository root: BUILD=build bash tests/e2e/agent_channel_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

PEER=$BUILD/tools/chanpeer
[ -x "$MANAGER" ] || e2e_bail "$MANAGER is not built (make all)"
[ -x "$PEER" ] || e2e_bail "$PEER is not built (make all)"

STATE=$E2E_TMP/state
SOCK=$STATE/agent.sock
P1=11111111-1111-4111-8111-000000000001
P2=11111111-1111-4111-8111-000000000002
P3=11111111-1111-4111-8111-000000000003
P4=11111111-1111-4111-8111-000000000004
PX=outside-issuer:client-9	# a pssid of an outside issuer, never enrolled here
FAST=(--enroll-rate 100000 --enroll-burst 100000)



# has FILE ERE: that FILE has a line matching ERE (into the verdict).
has() {
	grep -Eq -- "$2" "$1" || fail "no line /$2/ in $(basename "$1"): $(tr '\n' '|' <"$1" | head -c 600)"
}

mgr_start "$STATE" "${FAST[@]}" || e2e_bail "the manager did not start"
TOKEN=$(cat "$STATE/admin.token")

# ---- files ----
that "channel.key is not 32 bytes" test "$(stat -c %s "$STATE/channel.key")" = 32
that "channel.key is not mode 600" test "$(stat -c %a "$STATE/channel.key")" = 600
that "agent.sock is not a socket" test -S "$SOCK"
that "agent.sock is not mode 600" test "$(stat -c %a "$SOCK")" = 600
verdict "channel.key (32 bytes, 0600) and agent.sock (0600) are in the state dir"

api POST /v1/pools '{"name":"a","isd_as":"1-ff00:0:110","prefix":"10.0.0.0/24"}'
want_status 201
POOL=$(jget .id)
api POST /v1/revocations "{\"pssid\":\"$PX\",\"reason\":\"stolen laptop\"}"
want_status 201
api GET /v1/keys
KID=$(jget .keys[0].kid)
verdict "a pool, a revocation and the key to see in the snapshot"

# ---- HELLO, WELCOME, snapshot ----
peer "$E2E_TMP/hello.out" --agent-id 1 --listen 127.0.0.1:4433 --until SNAPSHOT_END
O=$E2E_TMP/hello.out
that "chanpeer exited $RC" test "$RC" = 0
has "$O" '^WELCOME version=1 software="snaptun [0-9.]+"$'
has "$O" '^SNAPSHOT_BEGIN generation=[0-9]+$'
has "$O" "^KEY kid=$KID alg=EdDSA verify_until=0 pem=yes$"
has "$O" "^REVOKED pssid=$PX reason=\"stolen laptop\"$"
has "$O" "^POOL id=$POOL name=a isd_as=1-ff00:0:110 prefix=10.0.0.0/24 hold=600$"
has "$O" '^LIMITS heartbeat=5 stats=5$'
ITEMS=$(grep -cE '^(KEY|REVOKED|GRANT|POOL|LIMITS) ' "$O")
has "$O" "^SNAPSHOT_END generation=[0-9]+ items=$ITEMS$"
that "WELCOME is not the first frame" test "$(head -n 1 "$O" | cut -d' ' -f1)" = WELCOME
verdict "HELLO -> WELCOME (version 1), then the snapshot: keys, revocations, pools, limits, END with the item count"

api GET /v1/agents
want_status 200
want .items[0].id 1
want .items[0].connected false
want .items[0].listen_address 127.0.0.1:4433
want .items[0].software_version "chanpeer 0.1.0"
want_match .items[0].spki_pin '^[A-Za-z0-9+/]{43}=$'
want_match .items[0].first_seen '^[0-9]{4}-'
want_match .items[0].last_hello '^[0-9]{4}-'
want .items[0].sessions 0
want_raw .next null
verdict "GET /v1/agents lists the agent (disconnected now) with its address and SPKI pin"
api GET /v1/agents/1
want_status 200
want .id 1
verdict "GET /v1/agents/1"
api GET /v1/agents/99
want_problem 404 -
verdict "GET /v1/agents/99 -> 404"

# ---- the drops ----
peer "$E2E_TMP/rej.out" --agent-id 1 --min 2 --max 3 --until WELCOME
that "chanpeer exited $RC, expected 3 (closed)" test "$RC" = 3
has "$E2E_TMP/rej.out" '^REJECT reason="no common channel version \(agent 2-3, manager 1-1\)"$'
has "$E2E_TMP/rej.out" '^CLOSED'
verdict "a version range without overlap -> REJECT naming both ranges, then the channel is closed"

peer "$E2E_TMP/mac.out" --agent-id 1 --bad-mac --until WELCOME
that "chanpeer exited $RC, expected 3 (closed)" test "$RC" = 3
that "a frame came back" grep -q "^CLOSED" <(head -n 1 "$E2E_TMP/mac.out")
verdict "HELLO with a bad MAC -> the channel is closed without an answer"

peer "$E2E_TMP/replay.out" --agent-id 1 --replay --until HEARTBEAT
that "chanpeer exited $RC, expected 3 (closed)" test "$RC" = 3
has "$E2E_TMP/replay.out" '^sent HEARTBEAT seq=1 \(replayed\)$'
has "$E2E_TMP/replay.out" '^CLOSED'
verdict "a replayed seq -> the channel is closed"

peer "$E2E_TMP/first.out" --agent-id 1 --first HEARTBEAT --until WELCOME
that "chanpeer exited $RC, expected 3 (closed)" test "$RC" = 3
that "a frame came back" grep -q "^CLOSED" <(head -n 1 "$E2E_TMP/first.out")
verdict "a first frame that is not HELLO -> the channel is closed"
check "the manager logs the drops" grep -q "closing its channel" "$STATE.err"

# ---- requests ----
peer "$E2E_TMP/alloc.out" --agent-id 1 --alloc "$P1" --alloc "$PX" --alloc "$P2@2-ff00:0:1" --until ALLOC_RES:3
O=$E2E_TMP/alloc.out
that "chanpeer exited $RC" test "$RC" = 0
SEQ1=$(sed -n "s/^sent ALLOC_REQ seq=\([0-9]*\) pssid=$P1 .*/\1/p" "$O")
SEQX=$(sed -n "s/^sent ALLOC_REQ seq=\([0-9]*\) pssid=$PX .*/\1/p" "$O")
has "$O" "^ALLOC_RES corr=$SEQ1 grant=[0-9]+ address=10\.0\.0\.1 isd_as=1-ff00:0:110 prefix_length=32 error=0 "
has "$O" "^ALLOC_RES corr=$SEQX grant=0 address=- .* error=-13 reason=\"revoked\"$"
has "$O" '^ALLOC_RES corr=[0-9]+ grant=0 address=- .* error=-5 reason=".+"$'
verdict "ALLOC_REQ -> ALLOC_RES by correlation id: an address; a revoked pssid refused; no pool for an ISD-AS"
api GET "/v1/grants?pssid=$P1"
want .items[0].address 10.0.0.1
want .items[0].agent_id 1
want .items[0].state assigned
G1=$(jget .items[0].id) S1=$(jget .items[0].session_id)
verdict "the grant records the agent and the session"
peer "$E2E_TMP/hold.out" --agent-id 1 --hold "$G1:$S1" --timeout 1
api GET "/v1/grants/$G1"
want .state on_hold
verdict "HOLD_REQ puts the grant on hold"

# ---- a live agent: reports, sessions, kills, deltas ----
api POST /v1/join-tokens '{"name":"j"}'
JT=$(jget .token)
peer "$E2E_TMP/a2.out" --agent-id 2 --alloc "$P2" --until ALLOC_RES
S2=$(sed -n "s/^sent ALLOC_REQ seq=[0-9]* pssid=$P2 session=\([0-9]*\)$/\1/p" "$E2E_TMP/a2.out")
G2=$(sed -n 's/^ALLOC_RES .* grant=\([0-9]*\) address=\([0-9.]*\) .*/\1/p' "$E2E_TMP/a2.out")
A2=$(sed -n 's/^ALLOC_RES .* grant=[0-9]* address=\([0-9.]*\) .*/\1/p' "$E2E_TMP/a2.out")
that "no session or grant for $P2" test -n "$S2" -a -n "$G2" -a -n "$A2"
verdict "agent 2 gets an address for $P2"

O=$E2E_TMP/live.out
peer_bg "$O" --agent-id 2 --listen "[::1]:4444" --session "$S2:$P2:$G2:$A2" --reconcile --timeout 30
LIVE=$BG_PID
wait_line "$O" '^SNAPSHOT_END' || fail "no snapshot"
has "$O" "^GRANT id=$G2 pssid=$P2 address=$A2 session=$S2 state=assigned pool=$POOL$"
for ((i = 0; i < 40; i++)); do
	api GET /v1/sessions
	[ "$(jlen .items)" = 1 ] && break
	sleep 0.05
done
want_status 200
want .items[0].id "$S2"
want .items[0].pssid "$P2"
want .items[0].address "$A2"
want .items[0].isd_as 0-0
want .items[0].agent 2
want .items[0].remote 127.0.0.1:40000
want_match .items[0].started_at '^[0-9]{4}-'
want_match .items[0].expires_at '^[0-9]{4}-'
want .items[0].rx_bytes 0
want .items[0].tx_datagrams 0
verdict "a reconnecting agent gets its grants in the snapshot; its reported session is in GET /v1/sessions"
api GET "/v1/grants/$G2"
want .state assigned
verdict "the reconcile keeps the grant of a live session"
api GET "/v1/sessions?agent=2&pssid=$P2"
want_len .items 1
api GET "/v1/sessions?agent=3"
want_len .items 0
api GET "/v1/sessions?agent=x"
want_problem 400 agent
verdict "GET /v1/sessions filters by agent and pssid"
api GET "/v1/sessions/$S2"
want .pssid "$P2"
verdict "GET /v1/sessions/{id}"
api GET /v1/agents/2
want .connected true
want .sessions 1
want .listen_address "[::1]:4444"
verdict "GET /v1/agents/2: connected, one session"
peer "$E2E_TMP/hijack.out" --agent-id 4 --session "$S2:$P2:$G2:$A2" --until HEARTBEAT
that "chanpeer exited $RC, expected 3 (closed)" test "$RC" = 3
api GET "/v1/sessions/$S2"
want .agent 2
verdict "SESSION_UP of another agent's session id: that channel is closed, the session stays agent 2's"

api POST /v1/join "{\"token\":\"$JT\"}"
want_status 201
want_len .agents 1
want .agents[0].id 2
want .agents[0].address "[::1]:4444"
want_match .agents[0].spki_pin '^[A-Za-z0-9+/]{43}=$'
verdict "the join bundle lists the connected agent with its address and pin"

api DELETE "/v1/sessions/$S2"
want_status 202
want .id "$S2"
wait_line "$O" "^SESSION_KILL session=$S2 reason=\"closed by administrator\"$" 2 ||
	fail "no SESSION_KILL: $(tr '\n' '|' <"$O")"
verdict "DELETE /v1/sessions/{id} -> 202 and SESSION_KILL to the agent that holds it"
api GET "/v1/events?action=session.kill"
want .items[0].object "session:$S2"
verdict "the kill is audited"
api DELETE /v1/sessions/12345
want_problem 404 -
verdict "DELETE of an unknown session -> 404"
T=$(cat "$STATE/admin.token")
api POST /v1/admin-tokens '{"name":"reader","scope":"read"}'
READER=$(jget .token)
TOKEN=$READER
api DELETE "/v1/sessions/$S2"
want_problem 403 -
api GET /v1/sessions
want_status 200
TOKEN=$T
verdict "a read token lists sessions but may not kill one"

api DELETE "/v1/grants/$G2"
want_status 204
wait_line "$O" "^GRANT_RELEASE grant=$G2 reason=\"address released\"$" 2 || fail "no GRANT_RELEASE"
verdict "DELETE /v1/grants/{id} -> GRANT_RELEASE to the agent"
api POST /v1/keys/rotate
want_status 201
NEW=$(jget .kid)
wait_line "$O" "^KEY_ADD kid=$NEW alg=EdDSA verify_until=0$" 2 || fail "no KEY_ADD of $NEW"
wait_line "$O" "^KEY_ADD kid=$KID alg=EdDSA verify_until=[1-9]" 2 || fail "no KEY_ADD of the old key with verify_until"
verdict "a key rotation -> KEY_ADD of the new key and of the old one with its verify_until"
api PATCH "/v1/pools/$POOL" '{"hold_seconds":30}'
want_status 200
wait_line "$O" "^POOL_UPDATE id=$POOL name=a .* hold=30 removed=0$" 2 || fail "no POOL_UPDATE"
verdict "a pool change -> POOL_UPDATE"

# A second connection of agent 2 replaces the first.
peer "$E2E_TMP/again.out" --agent-id 2 --until SNAPSHOT_END
wait_line "$O" '^CLOSED' 2 || fail "the first connection of agent 2 is still open"
verdict "a new connection of an agent id replaces the old one"
check "the replacement is logged" grep -q "agent 2 connected again" "$STATE.err"
api GET /v1/sessions
want_len .items 0
verdict "the sessions of a disconnected agent are forgotten"

# ---- reconcile: a grant whose session is gone goes on hold ----
peer "$E2E_TMP/a3.out" --agent-id 3 --alloc "$P3" --alloc "$P4" --until ALLOC_RES:2
S4=$(sed -n "s/^sent ALLOC_REQ seq=[0-9]* pssid=$P4 session=\([0-9]*\)$/\1/p" "$E2E_TMP/a3.out")
api GET "/v1/grants?pssid=$P4"
G4=$(jget .items[0].id)
api GET "/v1/grants?pssid=$P3"
want .items[0].state assigned
G3=$(jget .items[0].id)
peer "$E2E_TMP/rec.out" --agent-id 3 --session "$S4:$P4:$G4" --reconcile --timeout 1
api GET "/v1/grants/$G3"
want .state on_hold
api GET "/v1/grants/$G4"
want .state assigned
verdict "reconcile: the grant without a live session goes on hold, the listed one stays assigned"
api GET /v1/agents/3
want_match .last_stats.at '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$'
want .last_stats.total.rx_datagrams 7
want .last_stats.total.tx_datagrams 5
want .last_stats.total.dropped_datagrams 2
want .last_stats.total.rx_bytes 700
verdict "GET /v1/agents/3: last_stats.at in RFC 3339, its totals named as a session's counters"
api GET "/v1/grants/$G3/history"
that "the hold is not recorded as the agent's" grep -q '"actor":"agent:3"' <<<"$BODY"
verdict "the hold is in the grant's history by agent:3"
that "the reconcile ended a session whose grant is in order" test -z "$(grep '^SESSION_KILL' "$E2E_TMP/rec.out")"
api DELETE "/v1/grants/$G4"
want_status 204
peer "$E2E_TMP/rec2.out" --agent-id 3 --session "$S4:$P4:$G4" --reconcile --until SESSION_KILL
has "$E2E_TMP/rec2.out" "^SESSION_KILL session=$S4 reason=\"address released\"$"
verdict "a grant released while its agent was away: the reconcile ends the session still using it"

# ---- a client moving to another agent keeps its address; the old agent's session ends ----
P5=11111111-1111-4111-8111-000000000005
O7=$E2E_TMP/a7.out
peer_bg "$O7" --agent-id 7 --alloc "$P5" --timeout 30
A7=$BG_PID
wait_line "$O7" '^ALLOC_RES .* error=0 ' || fail "agent 7 got no address: $(tr '\n' '|' <"$O7")"
S7=$(sed -n "s/^sent ALLOC_REQ seq=[0-9]* pssid=$P5 session=\([0-9]*\)$/\1/p" "$O7")
G7=$(sed -n 's/^ALLOC_RES .* grant=\([0-9]*\) .*/\1/p' "$O7")
peer "$E2E_TMP/a8.out" --agent-id 8 --alloc "$P5" --until ALLOC_RES
has "$E2E_TMP/a8.out" "^ALLOC_RES corr=[0-9]+ grant=$G7 .* error=0 "
wait_line "$O7" "^SESSION_KILL session=$S7 reason=\"superseded\"$" 2 ||
	fail "agent 7 was not told its session $S7 is superseded: $(tr '\n' '|' <"$O7")"
that "agent 8 got a kill" test -z "$(grep '^SESSION_KILL' "$E2E_TMP/a8.out")"
api GET "/v1/grants/$G7"
want .agent_id 8
want .state assigned
verdict "the grant moves to agent 8's new session; agent 7 gets SESSION_KILL (superseded) for the old one"
kill "$A7" 2>/dev/null
wait "$A7" 2>/dev/null

mgr_stop
that "the manager exited with $MGR_RC" test "$MGR_RC" = 0
that "agent.sock is left behind" test ! -e "$SOCK"
if r=$(sanitizer_report "$STATE.err"); then fail "sanitizer: $r"; fi
verdict "the manager stops cleanly and removes its socket"

mgr_start "$STATE" || e2e_bail "the manager did not restart"
that "channel.key changed" test "$(stat -c %s "$STATE/channel.key")" = 32
peer "$E2E_TMP/restart.out" --agent-id 1 --until SNAPSHOT_END
that "chanpeer exited $RC" test "$RC" = 0
verdict "after a restart the same key is used (the peer is served)"

# ---- a large snapshot, streamed to a slow agent ----
mgr_stop
if [ "$E2E_STORE" = sqlite ] && ! command -v sqlite3 >/dev/null; then
	not_ok "sqlite3 CLI missing (make deps installs it): the large snapshot is not tested"
else
	# The same rows in either dialect: numbers from a recursive query, 5 digits with zeros.
	store_sql "$STATE" >"$E2E_TMP/bulk.out" 2>&1 <<-'EOF'
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
		INSERT INTO revocations (pssid, reason, created_at, created_by)
		SELECT 'bulk-' || substr(CAST(100000 + i AS TEXT), 2), 'revoked in bulk by the channel test',
		    1800000000, 'test' FROM n;
	EOF
	check "20000 revocations are put in the store with its CLI" \
		test "$(store_sql "$STATE" 'SELECT count(*) FROM revocations')" -gt 20000
	mgr_start "$STATE" --log-level info || e2e_bail "the manager did not restart"
	O=$E2E_TMP/bulk-peer.out
	# 8 KiB every 10 ms: about 3.3 s for the 2.7 MB of this snapshot, the room for the two API
	# calls below to land while it streams (16 KiB, 1.6 s, was once not enough for them on
	# PostgreSQL under sanitizers on a loaded machine: the snapshot ended before the DELETE).
	peer_bg "$O" --agent-id 5 --count-items --slow-read 8192 --until SNAPSHOT_END --timeout 30
	BULK=$BG_PID
	wait_line "$O" '^SNAPSHOT_BEGIN' || fail "no SNAPSHOT_BEGIN"
	api POST /v1/revocations '{"pssid":"mid-snapshot","reason":"meanwhile"}'
	want_status 201
	api DELETE /v1/revocations/bulk-00007
	want_status 204
	wait "$BULK"
	RC=$?
	that "chanpeer exited $RC" test "$RC" = 0
	has "$O" '^REVOKE pssid=mid-snapshot reason="meanwhile"$'
	that "the REVOKE came after the END" test "$(grep -m1 -nE '^(REVOKE|SNAPSHOT_END) ' "$O" | cut -d' ' -f1)" = "$(grep -m1 -n '^REVOKE ' "$O" | cut -d' ' -f1)"
	verdict "a revocation made while a snapshot streams arrives as REVOKE among its items"
	that "not two BEGINs before the END" test "$(grep -c '^SNAPSHOT_BEGIN' "$O")" = 2
	that "an END of the abandoned generation" test "$(grep -c '^SNAPSHOT_END' "$O")" = 1
	G2=$(sed -n '2s/^SNAPSHOT_BEGIN generation=\([0-9]*\)$/\1/p' <(grep '^SNAPSHOT_BEGIN' "$O"))
	REV=$(store_sql "$STATE" 'SELECT count(*) FROM revocations')
	has "$O" "^SNAPSHOT_END generation=$G2 items=([0-9]+) received=\\1 revoked=$REV$"
	verdict "lifting a revocation mid-way restarts the snapshot (new generation); its END counts what arrived ($REV revocations)"
	PEAK=$(sed -n 's/.*agent 5: snapshot [0-9]* queued: .* at most \([0-9]*\) bytes queued$/\1/p' "$STATE.err" | sort -n | tail -n 1)
	that "no snapshot of agent 5 is logged" test -n "$PEAK"
	that "the manager queued $PEAK bytes for the slow agent" test "${PEAK:-999999999}" -le $((256 * 1024 + 4096))
	check "the restart is logged" grep -q "agent 5: snapshot [0-9]* restarted after [0-9]* items" "$STATE.err"
	verdict "the manager's queue for a slow agent stays under 256 KiB and a frame (at most $PEAK bytes)"
fi
printf 'short' >"$E2E_TMP/badkey"
mgr_stop
if r=$(sanitizer_report "$STATE.err"); then fail "sanitizer: $r"; fi
cp "$E2E_TMP/badkey" "$STATE/channel.key"
"$MANAGER" --state-dir "$STATE" --listen 127.0.0.1:0 >"$E2E_TMP/bad.out" 2>&1
that "a 5-byte key file did not stop the manager" test $? -ne 0
that "the message does not name the size" grep -q "has 5 bytes, expected 32" "$E2E_TMP/bad.out"
verdict "a channel key of the wrong size is refused at start, with the reason"

[ ${#E2E_5XX[@]} -eq 0 ] || fail "5xx answers: ${E2E_5XX[*]}"
[ ${#E2E_BADBODY[@]} -eq 0 ] || fail "bad bodies: ${E2E_BADBODY[*]}"
verdict "no 5xx, every body JSON"
e2e_finish
