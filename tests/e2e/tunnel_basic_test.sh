#!/usr/bin/env bash
# End-to-end test of tunnels (proto/README.md §1, issue 4): a real snaptun-manager and snaptun-agent
# on temporary state dirs and loopback, driven by tests/tools/tunclient. GET /v1/agents shows the
# agent connected with its pin (and the join bundle lists it); enrolled clients handshake
# (renew_session, assign_addresses) and get addresses of the pool; datagrams flow both ways between
# two clients through the agent (hub), a spoofed source is dropped; assign_socketaddr and
# update_token; GET /v1/sessions lists the tunnels; renewal with a fresh token extends the session
# past the first token's exp; an outside issuer's token (only pssid and exp, no kid) gets a grant
# like an enrolled client's and keeps its address across connections.
# Run from the repository root: BUILD=build bash tests/e2e/tunnel_basic_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash
T_START=$(date +%s)

tunnel_env
check "a manager and an agent run, the agent listens on $AGENT_ADDR" agent_connected

# ======================================================================= the agent

api GET /v1/agents
want_status 200
that "GET /v1/agents does not name the agent's listen address $AGENT_ADDR" grep -qF "$AGENT_ADDR" <<<"$BODY"
that "GET /v1/agents does not carry the agent's SPKI pin $AGENT_PIN" grep -qF "$AGENT_PIN" <<<"$BODY"
verdict "GET /v1/agents: the agent is connected, with its listen address and SPKI pin"

# ======================================================================= handshake

enroll alice || e2e_bail "alice enrolls ($REQ -> $STATUS: $BODY)"
PA=$PSSID TA=$ACCESS
that "the join bundle does not list the agent's pin" grep -qF "$AGENT_PIN" <<<"$JOIN_BUNDLE"
verdict "the join bundle lists the connected agent with its pin"
enroll bob || e2e_bail "bob enrolls"
PB=$PSSID TB=$ACCESS

client_start A --token "$TA" --handshake
want_event A '^ready$'
want_event A '^response renew 200 valid_until=[0-9]+$'
want_event A '^assigned 10\.77\.0\.[0-9]+ 1-ff00:0:110$'
verdict "client A: QUIC handshake, renew_session 200, assign_addresses 200 from the pool"
ADDR_A=$(awk '{ print $2 }' <<<"$CL_LINE")

client_start B --token "$TB" --handshake
want_event B '^assigned 10\.77\.0\.[0-9]+ '
ADDR_B=$(awk '{ print $2 }' <<<"$CL_LINE")
that "A and B got the same address $ADDR_A" test "$ADDR_A" != "$ADDR_B"
verdict "client B gets another address ($ADDR_B; A has $ADDR_A)"

# ======================================================================= unacknowledged bundle

api POST /v1/join-tokens '{"name":"dave"}'
want_status 201
api -t "" POST /v1/join "{\"token\":\"$(jget .token)\",\"name\":\"dave\"}"
want_status 201
PD=$(jget .pssid) TD=$(jget .access_token) ACK_D=$(jget .ack_token)
verdict "dave joins: a bundle, not yet acknowledged"
client_start D --token "$TD" --handshake
want_event D '^response assign 400 .*enrollment not acknowledged'
want_event D '^closed '
that "dave's tunnel got an address before the ack" \
    test "$(grep -c '^assigned' "$E2E_TMP/cl.D.out")" = 0
verdict "a tunnel with the access token of an unacknowledged bundle gets no address and is closed"
client_stop D
api -t "" POST /v1/join/ack "{\"ack_token\":\"$ACK_D\"}"
want_status 204
client_start D2 --token "$TD" --handshake
want_event D2 '^assigned 10\.77\.0\.[0-9]+ '
verdict "once acknowledged, the same access token opens a tunnel"
client_stop D2

# ======================================================================= datagrams

client_cmd A "send $ADDR_B 3 100"
want_event A '^sent 3 ok=3 failed=0$'
for i in 1 2 3; do
	want_event B "^datagram $ADDR_A $ADDR_B 128\$" 3 || break
done
verdict "3 packets A -> B arrive at B through the agent, unchanged (hub forwarding)"

client_cmd B "send $ADDR_A 2 1000"
for i in 1 2; do
	want_event A "^datagram $ADDR_B $ADDR_A 1028\$" 3 || break
done
verdict "2 packets B -> A of 1028 bytes arrive at A"

client_cmd A "spoof 10.77.0.250 $ADDR_B" "send $ADDR_B 1 40"
want_event A '^sent 1 ok=1 failed=0$'
want_event B "^datagram $ADDR_A $ADDR_B 68\$" 3
that "a packet with a spoofed source reached B" \
    test "$(grep -c '^datagram 10\.77\.0\.250 ' "$E2E_TMP/cl.B.out")" = 0
verdict "a packet from A with a source other than its address is dropped (the next one arrives)"

client_cmd A "send 10.77.0.251 1 40" "sleep 200" "send $ADDR_B 1 41"
want_event B "^datagram $ADDR_A $ADDR_B 69\$" 3
verdict "a packet to an address no tunnel owns is dropped, the tunnel goes on"

# ======================================================================= more requests

client_cmd A socketaddr
want_event A '^sockaddr 127\.0\.0\.1 [0-9]+$'
verdict "assign_socketaddr answers the client's address as the agent sees it"

client_cmd A update
want_event A '^response update 200 valid_until=[0-9]+$'
verdict "update_token is an alias of renew_session"

client_cmd A assign
want_event A "^assigned $ADDR_A "
verdict "assign_addresses again on an established tunnel answers the same address"

api GET /v1/sessions
want_status 200
that "GET /v1/sessions does not list alice ($PA)" grep -qF "$PA" <<<"$BODY"
that "GET /v1/sessions does not list bob ($PB)" grep -qF "$PB" <<<"$BODY"
that "GET /v1/sessions does not show $ADDR_A" grep -qF "\"$ADDR_A\"" <<<"$BODY"
verdict "GET /v1/sessions lists both tunnels with their addresses"

# ======================================================================= renewal

enroll carol || e2e_bail "carol enrolls"
PC=$PSSID
# 8 s: long enough for the handshake and the renewal below on a loaded, sanitized run.
api POST "/v1/clients/$PC/tokens" '{"ttl_seconds":8}'
want_status 201
verdict "an 8 s access token is minted for carol"
SHORT=$(jget .access_token)
SHORT_EXP=$(date +%s)
api POST "/v1/clients/$PC/tokens" '{"ttl_seconds":600}'
LONG=$(jget .access_token)
client_start C --token "$SHORT" --handshake
want_event C '^assigned '
verdict "carol's tunnel comes up with a token valid for 8 s"
client_cmd C "sleep 1000" "renew $LONG"
want_event C '^response renew 200 valid_until=[0-9]+$' 4
V=$(sed -n 's/.*valid_until=\([0-9]*\)$/\1/p' <<<"$CL_LINE")
that "valid_until $V is not the new token's exp (about now + 600)" test "${V:-0}" -ge $((SHORT_EXP + 590))
verdict "renew_session with a fresh token before exp extends the session"
WAIT=$((SHORT_EXP + 10 - $(date +%s)))
[ "$WAIT" -le 0 ] || sleep "$WAIT"
client_cmd C stats
want_event C '^stats '
that "carol's tunnel closed after the first token's exp: $(grep '^closed' "$E2E_TMP/cl.C.out")" \
    test "$(grep -c '^closed' "$E2E_TMP/cl.C.out")" = 0
client_cmd C "send $ADDR_A 1 50"
want_event A "datagram [0-9.]+ $ADDR_A 78\$" 3
verdict "carol's tunnel is still up 2 s after the first token's exp and forwards"

client_cmd C "renew garbage.token.x"
want_event C '^response renew 401 '
client_cmd C "sleep 300" stats
want_event C '^stats '
that "a refused renewal closed the tunnel" test "$(grep -c '^closed' "$E2E_TMP/cl.C.out")" = 0
verdict "a refused renewal after the handshake answers 401 and does not close the tunnel"

# ======================================================================= outside issuer

issuer_new "$E2E_TMP/issuer.pem" snap-issuer-1
verdict "an outside issuer's Ed25519 key is imported (POST /v1/keys)"
PX=$(uuid)
TX=$("$MKTOKEN" --key "$E2E_TMP/issuer.pem" --pssid "$PX" --exp +600 --only-pssid-exp)
client_start X --token "$TX" --handshake
want_event X '^response renew 200 '
want_event X '^assigned 10\.77\.0\.[0-9]+ '
ADDR_X=$(awk '{ print $2 }' <<<"$CL_LINE")
verdict "a token of the outside issuer (pssid and exp only, no kid) gets a grant ($ADDR_X)"
api GET /v1/sessions
that "GET /v1/sessions does not list the outside pssid $PX" grep -qF "$PX" <<<"$BODY"
verdict "GET /v1/sessions lists the outside issuer's pssid"
client_cmd X "send $ADDR_A 1 60"
want_event A "^datagram $ADDR_X $ADDR_A 88\$" 3
verdict "the outside client's packets reach A"

client_stop X
that "tunclient X did not exit 0 ($CL_RC)" test "$CL_RC" = 0
TX2=$("$MKTOKEN" --key "$E2E_TMP/issuer.pem" --kid snap-issuer-1 --pssid "$PX" --exp +600)
client_start X2 --token "$TX2" --handshake
want_event X2 "^assigned $ADDR_X "
verdict "the same outside pssid (token with kid) reconnects and gets its held address back"

TBAD=$("$MKTOKEN" --key "$E2E_TMP/issuer.pem" --pssid "$(uuid)" --exp -10 --only-pssid-exp)
client_start Y --token "$TBAD" --handshake
want_event Y '^response renew 401 '
want_event Y '^closed peer=1 app=1 code=1 '
verdict "an expired token is refused (401) in the handshake and the connection closed (code 1)"

# ======================================================================= a token's pool

api POST /v1/pools '{"name":"t2","isd_as":"1-ff00:0:110","prefix":"10.78.0.0/24","mode":"ip"}'
want_status 201
P2=$(jget .id)
verdict "a second pool (id $P2) of the same ISD-AS and family, after the first one"
api POST /v1/join-tokens "{\"name\":\"p2\",\"pool\":$P2}"
want_status 201
JT2=$(jget .token)
api -t "" POST /v1/join "{\"token\":\"$JT2\",\"name\":\"p2\"}"
want_status 201
TP2=$(jget .access_token)
api -t "" POST /v1/join/ack "{\"ack_token\":\"$(jget .ack_token)\"}"
want_status 204
verdict "a client enrolls with a join token for pool $P2"
client_start P2 --token "$TP2" --handshake
want_event P2 '^assigned 10\.78\.0\.[0-9]+ 1-ff00:0:110$'
verdict "the client of a token for pool $P2 gets an address of that pool, though pool 1 matches too"
client_cmd P2 "assign 1-ff00:0:110,10.77.0.200"
want_event P2 '^response assign 400 '
verdict "the client of a token for pool $P2 cannot ask for an address of another pool"
client_stop P2

# ======================================================================= end

for c in A B C X2; do
	client_stop "$c"
done
agent_stop
that "the agent exited with $AGENT_RC on SIGTERM" test "$AGENT_RC" = 0
verdict "the agent stops cleanly on SIGTERM"
no_sanitizer_reports
echo "# runtime $(($(date +%s) - T_START)) s"
e2e_finish
