#!/usr/bin/env bash
# Agents on other hosts (proto/README.md §2.8, api.md "Remote agents", issue 13): the manager in
# network namespace A serves the state channel over TCP + TLS 1.3 (--agent-listen) beside its
# API; the agent and the tunnel clients run in namespace B, across the veth pair, with nothing
# but TCP between them and the manager.
#
# Checks: an agent token is shown once and listed; `snaptun-agent enroll` in B redeems it and
# writes a 0600 credentials file; the token is spent (a second enrollment and a reused or
# expired token are refused, naming the field); the enrolled agent attaches over TLS, is listed
# with its name and pin, and carries a tunnel between two clients; an agent given a wrong
# manager pin refuses the manager before HELLO; an agent whose certificate is not enrolled is
# dropped by the manager right after the handshake and never gets a SNAPSHOT; failover: the
# agent given two managers (the second knows it: see second_store below) reconnects to the
# second within seconds of a kill -9 of the first, and the tunnel forwards throughout; rename;
# revoke closes the channel at once, holds nothing twice, and the agent is refused from then on.
# Run from the repository root as root: BUILD=build bash tests/e2e/agent_remote_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash
. tests/e2e/netns.bash

for b in "$MANAGER" "$AGENT" "$TUNCLIENT"; do
	[ -x "$b" ] || e2e_bail "$b is not built (make all)"
done
command -v certtool >/dev/null || e2e_bail "certtool is missing (make deps: gnutls-bin)"
command -v sqlite3 >/dev/null || e2e_bail "sqlite3 is missing (make deps)"
netns_pair
case $? in
0) ;;
1)
	skip "a remote agent over TCP + TLS between two network namespaces" "$NETNS_SKIP"
	e2e_finish
	;;
*) e2e_bail "netns_pair: $NETNS_ERR" ;;
esac

# The managers run in A, the agents and clients in B; the test's own curl talks to A.
MANAGER=$(netns_wrap A "$MANAGER") && AGENT_B=$(netns_wrap B "$AGENT") &&
    TUNCLIENT=$(netns_wrap B "$TUNCLIENT") && CURL_A=$(netns_wrap A curl) ||
    e2e_bail "netns_wrap"
PATH=$(dirname "$CURL_A"):$PATH
AGENT=$AGENT_B
MGR_LISTEN=$NS_A4:0
AGENT_LISTEN=$NS_B4:0

# second_store DIR1 DIR2: give the second manager (state dir DIR2) the store of the first, so
# that it knows the enrolled agent. DIR2 starts as a copy of DIR1's files (the store secret,
# which opens the signing keys sealed in the store), less the first's URL and id (manager.id:
# each manager on a store is its own).
# On PostgreSQL both managers share one database (the copied DIR/.pgdb names it: tests/run.sh
# runs this script on PostgreSQL too); with SQLite two managers cannot share one file, so the
# second gets a copy of the database through SQLite's online backup.
second_store() {
	cp -a "$1" "$2" && rm -f "$2/snaptun.db"* "$2/manager.url" "$2/manager.id" || return 1
	[ "$E2E_STORE" = postgresql ] || sqlite3 "$1/snaptun.db" ".backup '$2/snaptun.db'"
}

# mgr1 (API and agent listener), a pool for the tunnels.
M1=$E2E_TMP/m1
mgr_start "$M1" --agent-listen "$NS_A4:0" --log-level info --enroll-rate 100000 \
    --enroll-burst 100000 || e2e_bail "the manager starts in A with --agent-listen"
M1_PID=$MGR_PID URL1=$URL
TOKEN=$(cat "$M1/admin.token")
LISTENER=$(sed -n 's/.*agents on other hosts attach on \([0-9.:]*\) (TLS 1.3), manager SPKI pin \(.*\)$/\1/p' "$M1.err")
MGR_PIN=$(sed -n 's/.*agents on other hosts attach on .* (TLS 1.3), manager SPKI pin \(.*\)$/\1/p' "$M1.err")
that "the manager does not log its agent listener and pin" test -n "$LISTENER" -a -n "$MGR_PIN"
that "the logged pin is not the pin of $M1/agent-tls.crt" \
    test "$MGR_PIN" = "$(cert_pin "$M1/agent-tls.crt")"
that "the listener's key is not 0600" test "$(stat -c %a "$M1/agent-tls.key")" = 600
verdict "the manager listens for agents over TLS on $LISTENER with a pin it logs"
api POST /v1/pools "{\"name\":\"t\",\"isd_as\":\"1-ff00:0:110\",\"prefix\":\"$POOL_PREFIX\",\"mode\":\"ip\"}"
[ "$STATUS" = 201 ] || e2e_bail "POST /v1/pools -> $STATUS: $BODY"

# ======================================================================= agent tokens

api POST /v1/agent-tokens '{"name":"edge-1","ttl_seconds":600}'
want_status 201
want .state issued
want_match .token '^sat_[A-Za-z0-9_-]{43}$'
SAT=$(jget .token) SAT_ID=$(jget .id)
api GET /v1/agent-tokens
want_status 200
want .items[0].name edge-1
that "the token's secret is listed" test "$(grep -c "$SAT" <<<"$BODY")" = 0
verdict "POST /v1/agent-tokens shows the token once; the list names it without its secret"

api POST /v1/agent-tokens '{"ttl_seconds":0}'
want_problem 400 ttl_seconds
api POST /v1/agent-tokens '{"name":""}'
want_problem 400 name
verdict "a bad ttl_seconds or name is 400 naming the field"

# ======================================================================= enrollment

CRED=$E2E_TMP/cred
in_ns B "$BUILD/snaptun-agent" enroll --manager "$URL1" --token "$SAT" --name edge-b \
    --out "$CRED" >"$E2E_TMP/enroll.out" 2>"$E2E_TMP/enroll.err"
RC=$?
that "enroll exited $RC: $(cat "$E2E_TMP/enroll.err")" test "$RC" = 0
that "no credentials.json" test -s "$CRED/credentials.json"
that "credentials.json is not 0600" test "$(stat -c %a "$CRED/credentials.json")" = 600
that "the credentials do not name the listener $LISTENER and its pin" \
    grep -qF "\"pin\": \"$MGR_PIN\"" "$CRED/credentials.json"
AGENT_ID=$(sed -n 's/^enrolled as agent \([0-9]*\) .*/\1/p' "$E2E_TMP/enroll.out")
that "enroll did not say the agent id" test -n "$AGENT_ID"
verdict "snaptun-agent enroll in B redeems the token and writes 0600 credentials (agent $AGENT_ID)"

in_ns B "$BUILD/snaptun-agent" enroll --manager "$URL1" --token "$SAT" --out "$E2E_TMP/cred2" \
    >/dev/null 2>"$E2E_TMP/enroll2.err"
RC=$?
that "a second enrollment with the token exited $RC" test "$RC" = 1
that "it does not say why: $(cat "$E2E_TMP/enroll2.err")" grep -q "used or expired" "$E2E_TMP/enroll2.err"
that "it left credentials" test ! -e "$E2E_TMP/cred2/credentials.json"
api -t "" POST /v1/agent-enroll "{\"token\":\"$SAT\",\"client_pin\":\"$MGR_PIN\"}"
want_problem 410 token
api -t "" POST /v1/agent-enroll "{\"token\":\"sat_nothing\",\"client_pin\":\"$MGR_PIN\"}"
want_problem 401 token
api -t "" POST /v1/agent-enroll "{\"token\":\"sat_nothing\",\"client_pin\":\"short\"}"
want_problem 400 client_pin
api POST /v1/agent-tokens '{"name":"soon","ttl_seconds":1}'
EXP=$(jget .token)
sleep 2
api -t "" POST /v1/agent-enroll "{\"token\":\"$EXP\",\"client_pin\":\"$MGR_PIN\"}"
want_problem 410 token
api GET /v1/agent-tokens
want .items[0].state used
want .items[0].agent_id "$AGENT_ID"
want .items[1].state expired
verdict "a used, unknown or expired agent token is refused naming the field; the token is used"

# ======================================================================= the agent over TLS

agent_start "$E2E_TMP/agent" --credentials "$CRED/credentials.json" ||
    e2e_bail "the enrolled agent starts in B"
wait_for 10 agent_connected || e2e_bail "the agent attaches over TLS (GET /v1/agents: $BODY)"
api GET "/v1/agents/$AGENT_ID"
want .connected true
want .enrolled.name edge-b
want .enrolled.revoked false
want .listen_address "$AGENT_ADDR"
verdict "the enrolled agent attaches from B over TCP + TLS and is listed with its name"

enroll alice || e2e_bail "alice enrolls"
TA=$ACCESS PA=$PSSID
enroll bob || e2e_bail "bob enrolls"
TB=$ACCESS
client_start A --token "$TA" --handshake
want_event A '^assigned 10\.77\.0\.[0-9]+ '
ADDR_A=$(awk '{ print $2 }' <<<"$CL_LINE")
client_start B --token "$TB" --handshake
want_event B '^assigned 10\.77\.0\.[0-9]+ '
ADDR_B=$(awk '{ print $2 }' <<<"$CL_LINE")
client_cmd A "send $ADDR_B 2 100"
want_event B "^datagram $ADDR_A $ADDR_B 128\$"
want_event B "^datagram $ADDR_A $ADDR_B 128\$"
verdict "a tunnel through the remote agent: addresses from the manager, A -> B forwarded"

# ======================================================================= refusals

# A wrong manager pin: the agent refuses the manager, which never hears a HELLO.
sed "s|\"pin\": \"$MGR_PIN\"|\"pin\": \"$(cert_pin "$E2E_TMP/agent/cert.pem")\"|" \
    "$CRED/credentials.json" >"$CRED/wrongpin.json"
chmod 600 "$CRED/wrongpin.json"
SAVE=("$AGENT_PID" "$AGENT_DIR" "$AGENT_ADDR" "$AGENT_PIN")
agent_start "$E2E_TMP/wrongpin" --credentials "$CRED/wrongpin.json" ||
    e2e_bail "an agent with a wrong manager pin starts"
WRONG_PID=$AGENT_PID
that "the agent did not refuse the manager's certificate" \
    wait_line "$E2E_TMP/wrongpin.err" "not the manager's pin [^ ]*: refused" 10
that "it took a snapshot" test "$(grep -c 'snapshot' "$E2E_TMP/wrongpin.err")" = 0
agent_stop TERM "$WRONG_PID"
verdict "an agent with a wrong manager pin refuses the manager before HELLO"

# A certificate that is not enrolled: the manager drops it after the handshake.
mkdir -m 700 "$E2E_TMP/stranger"
printf 'cn = stranger\nexpiration_days = 2\ntls_www_client\n' >"$E2E_TMP/stranger/tmpl"
certtool --generate-privkey --key-type ed25519 --outfile "$E2E_TMP/stranger/k.pem" 2>/dev/null &&
    certtool --generate-self-signed --load-privkey "$E2E_TMP/stranger/k.pem" \
	--template "$E2E_TMP/stranger/tmpl" --outfile "$E2E_TMP/stranger/c.pem" 2>/dev/null ||
    e2e_bail "certtool makes a stranger's certificate"
chmod 600 "$E2E_TMP/stranger/k.pem"
sed -e "s|\"cert\": \"client.crt\"|\"cert\": \"$E2E_TMP/stranger/c.pem\"|" \
    -e "s|\"key\": \"client.key\"|\"key\": \"$E2E_TMP/stranger/k.pem\"|" \
    "$CRED/credentials.json" >"$CRED/stranger.json"
chmod 600 "$CRED/stranger.json"
STRANGER_PIN=$(cert_pin "$E2E_TMP/stranger/c.pem")
agent_start "$E2E_TMP/strangeragent" --credentials "$CRED/stranger.json" --log-level debug ||
    e2e_bail "an agent with an unknown certificate starts"
STRANGER=$AGENT_PID
that "the manager did not refuse the unknown certificate" wait_for 10 grep -qF \
    "refused: its certificate (pin $STRANGER_PIN) is no enrolled agent's" "$M1.err"
that "the stranger was not dropped" \
    wait_line "$E2E_TMP/strangeragent.err" "state channel to $LISTENER dropped" 10
sleep 1
that "a SNAPSHOT reached the stranger" \
    test "$(grep -c -e 'snapshot' -e 'welcomed' "$E2E_TMP/strangeragent.err")" = 0
agent_stop TERM "$STRANGER"
api GET "/v1/agents/$AGENT_ID"
want .connected true
verdict "an unknown agent certificate is refused right after the handshake, before any state"
AGENT_PID=${SAVE[0]} AGENT_DIR=${SAVE[1]} AGENT_ADDR=${SAVE[2]} AGENT_PIN=${SAVE[3]}

# ======================================================================= failover

# The agent again, given a second manager after the credentials' first. The second starts only
# once the tunnels are up: with SQLite its store is a copy of the first's (second_store), and
# it must know their grants as they are.
PORT2=7443 # namespace A is the test's own: nothing else listens there
agent_stop TERM
client_stop A
client_stop B
agent_start "$E2E_TMP/agent" --credentials "$CRED/credentials.json" \
    --manager "$NS_A4:$PORT2=$MGR_PIN" || e2e_bail "the agent starts with two managers"
wait_for 10 agent_connected || e2e_bail "the agent attaches to the first manager"
client_start A --token "$TA" --handshake
want_event A '^assigned 10\.77\.0\.[0-9]+ '
ADDR_A=$(awk '{ print $2 }' <<<"$CL_LINE")
client_start B --token "$TB" --handshake
want_event B '^assigned 10\.77\.0\.[0-9]+ '
ADDR_B=$(awk '{ print $2 }' <<<"$CL_LINE")
verdict "two tunnels through the agent attached to the first manager"

M2=$E2E_TMP/m2
second_store "$M1" "$M2" || e2e_bail "the second manager's store"
mgr_start "$M2" --agent-listen "$NS_A4:$PORT2" --log-level info || e2e_bail "the second manager starts"
M2_PID=$MGR_PID URL2=$URL
LISTENER2=$NS_A4:$PORT2
L0=$(wc -l <"$E2E_TMP/agent.err")
mgr_stop KILL "$M1_PID"
T0=$(date +%s%N)
# shellcheck disable=SC2317 # called through wait_for
on_second() {
	api GET "/v1/agents/$AGENT_ID"
	[ "$(jget .connected)" = true ]
}
# The tunnel forwards while the agent changes managers: a packet every 100 ms for 3 s.
for ((i = 0; i < 30; i++)); do
	client_cmd A "send $ADDR_B 1 100" "sleep 100"
done
that "the agent did not attach to the second manager within 10 s of the kill" wait_for 10 on_second
T1=$(date +%s%N)
N=0
for ((i = 0; i < 30; i++)); do
	client_expect A '^sent 1 ok=1 failed=0$' 5 || break
	N=$((N + 1))
done
that "$N of 30 packets were sent" test "$N" = 30
N=0
for ((i = 0; i < 30; i++)); do
	client_expect B "^datagram $ADDR_A $ADDR_B 128\$" 5 || break
	N=$((N + 1))
done
that "$N of 30 packets sent during the failover arrived" test "$N" = 30
client_cmd B "send $ADDR_A 1 50"
want_event A "^datagram $ADDR_B $ADDR_A 78\$"
that "a tunnel was closed during the failover" \
    test "$(tail -n "+$((L0 + 1))" "$E2E_TMP/agent.err" | grep -c 'session end')" = 0
verdict "kill -9 of the first manager: the agent attaches to the second in $(((T1 - T0) / 1000000)) ms, the tunnel forwards throughout"

# A revocation through the manager the agent now hears still closes a tunnel at once.
api DELETE "/v1/clients/$PA"
that "DELETE /v1/clients/{pssid} on the second manager answered $STATUS" test "${STATUS:0:1}" = 2
want_event A '^closed peer=1 app=1 code=3 idle=0 hs_failed=0 reason="revoked"$'
verdict "after the failover, revoking a client through the second manager closes its tunnel (code 3)"

# ======================================================================= rename and revoke

api PATCH "/v1/agents/$AGENT_ID" '{"name":"edge-renamed"}'
want_status 200
want .enrolled.name edge-renamed
api PATCH "/v1/agents/$AGENT_ID" '{"name":"a\u0007b"}'
want_problem 400 name
api PATCH /v1/agents/1 '{"name":"local"}'
want_problem 404
verdict "PATCH /v1/agents/{id} renames an enrolled agent; a bad name or a local agent is refused"

T0=$(date +%s%N)
api POST "/v1/agents/$AGENT_ID/revoke"
want_status 200
want .enrolled.revoked true
want .connected false
that "the agent's channel did not drop within 2 s" \
    wait_line "$E2E_TMP/agent.err" "state channel to $LISTENER2 dropped" 2
T1=$(date +%s%N)
that "the manager did not refuse the revoked agent when it came back" \
    wait_line "$M2.err" "refused: agent $AGENT_ID is revoked" 15
sleep 1
api GET "/v1/agents/$AGENT_ID"
want .connected false
api GET "/v1/events?action=agent.revoke"
want .items[0].object "agent:$AGENT_ID"
verdict "revoke closes the agent's channel at once (seen by the agent within $(((T1 - T0) / 1000000)) ms) and refuses it afterwards (audit agent.revoke)"

client_stop A
client_stop B
agent_stop TERM
mgr_stop TERM "$M2_PID"
check "no sanitizer reports" no_sanitizer_reports
e2e_finish
