#!/usr/bin/env bash
# End-to-end test of snaptun-client in relay mode (no namespaces, no privileges): a real manager
# and agent on loopback, two clients enrolled with `snaptun-client join`, each running `up
# --relay`; UDP packets sent to relay A come out of relay B through the agent (hub) and back;
# `status --json` shows the tunnel; `down` stops a client; an agent restart is survived with
# the same address; a revoked client stops with its message; manager-less mode with an outside
# issuer's token in a file.
# Run from the repository root: BUILD=build bash tests/e2e/client_relay_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash
[ -x "$CLIENT" ] || e2e_bail "$CLIENT is not built (make all)"
command -v perl >/dev/null || e2e_bail "perl is missing (the UDP peers are perl one-liners)"

AGENT_LISTEN=127.0.0.1:0
tunnel_env
AGENT_LISTEN=$AGENT_ADDR # a restart listens where the bundles say

# ---------------------------------------------------------------- join

check "snaptun-client join writes alice's bundle" cl_join alice
check "the bundle has mode 0600" test "$(stat -c %a "$E2E_TMP/alice.bundle")" = 600
check "snaptun-client join writes bob's bundle" cl_join bob

# ---------------------------------------------------------------- up, status

cl_up A --bundle "$E2E_TMP/alice.bundle"
cl_up B --bundle "$E2E_TMP/bob.bundle"
that "client A is not up within 10 s: $ST $(tail -n 5 "$E2E_TMP/A.err")" wait_for 10 cl_is_up A
ADDR_A=$(jget .address "$ST")
that "A's address $ADDR_A is not in $POOL_PREFIX" grep -q '^10\.77\.0\.' <<<"$ADDR_A"
that "A's status names no agent address" test -n "$(jget .agent.address "$ST")"
that "A's status has no session expiry" test "$(jget .session_valid_until "$ST")" -gt "$(date +%s)"
verdict "up --bundle --relay: status --json says up, with an address of the pool, the agent and the session expiry"
that "client B is not up within 10 s: $ST" wait_for 10 cl_is_up B
ADDR_B=$(jget .address "$ST")
that "A and B have the same address" test "$ADDR_A" != "$ADDR_B"
verdict "a second client is up with another address ($ADDR_B)"
"$CLIENT" status --control "$E2E_TMP/A.sock" >"$E2E_TMP/A.status" 2>&1
check "status (text) prints the state and the address" grep -q "^address: $ADDR_A\$" "$E2E_TMP/A.status"

# ---------------------------------------------------------------- packets

PA=$(cl_relay_port A) PB=$(cl_relay_port B)
that "no relay ports from the status ($PA, $PB)" test -n "$PA" -a -n "$PB"
# B's peer speaks first (so that relay B knows where to deliver), then waits for A's packet
# and answers it; A's peer sends and waits for the answer.
perl -e "$CL_PEER_PL" "send $PB $ADDR_B $ADDR_A hello-from-b" "recv 5" "send $PB $ADDR_B $ADDR_A reply-from-b" \
    >"$E2E_TMP/peerB.out" 2>&1 &
PEERB=$!
sleep 0.3
perl -e "$CL_PEER_PL" "send $PA $ADDR_A $ADDR_B hello-from-a" "recv 5" >"$E2E_TMP/peerA.out" 2>&1
wait $PEERB
that "B's peer did not get A's packet: $(cat "$E2E_TMP/peerB.out")" \
    grep -qx "got $ADDR_A $ADDR_B hello-from-a" "$E2E_TMP/peerB.out"
that "A's peer did not get B's answer: $(cat "$E2E_TMP/peerA.out")" \
    grep -qx "got $ADDR_B $ADDR_A reply-from-b" "$E2E_TMP/peerA.out"
verdict "a UDP packet into relay A comes out of relay B (through the agent), and B's answer back out of relay A"
cl_status A
that "A counts no packet sent: $ST" test "$(jget .counters.tx_packets "$ST")" -ge 1
that "A counts no packet received: $ST" test "$(jget .counters.rx_packets "$ST")" -ge 1
verdict "A's counters count the packets both ways"

# ---------------------------------------------------------------- agent restart

agent_stop TERM
agent_start "$E2E_TMP/agent" || e2e_bail "the agent restarts"
wait_for 10 agent_connected
sleep 1
that "A is not up again within 20 s: $ST" wait_for 20 cl_is_up A
that "A came back with $(jget .address "$ST") instead of $ADDR_A" test "$(jget .address "$ST")" = "$ADDR_A"
that "A counts no reconnect" test "$(jget .reconnects "$ST")" -ge 1
verdict "after an agent restart the client reconnects and gets its address back"
check "B is up again too" wait_for 20 cl_is_up B

# ---------------------------------------------------------------- down

check "down answers" eval '"$CLIENT" down --control "$E2E_TMP/A.sock" >/dev/null' 
that "A did not exit within 5 s" wait_for 5 cl_exited A
that "A exited with $UP_RC" test "$UP_RC" = 0
that "A's control socket is still there" test ! -e "$E2E_TMP/A.sock"
verdict "down: the client closes and exits 0"
check "status without a running client fails" eval '! "$CLIENT" status --control "$E2E_TMP/A.sock" 2>/dev/null' 

cl_up A2 --bundle "$E2E_TMP/alice.bundle"
that "A is not up after a restart of the client: $ST" wait_for 10 cl_is_up A2
that "the restarted client got $(jget .address "$ST"), not $ADDR_A" test "$(jget .address "$ST")" = "$ADDR_A"
verdict "a restarted client asks for the address it had (in the bundle) and gets it"
kill -TERM "${UP_PID[A2]}"
that "A2 did not exit on SIGTERM" wait_for 5 cl_exited A2
that "A2 exited with $UP_RC on SIGTERM" test "$UP_RC" = 0
verdict "SIGTERM: clean exit 0"

# ---------------------------------------------------------------- revocation

PSSID_B=$(jget .pssid "$(cat "$E2E_TMP/bob.bundle")")
api POST /v1/revocations "{\"pssid\":\"$PSSID_B\",\"reason\":\"test\"}"
want_status 201
verdict "bob is revoked"
that "B did not exit within 10 s of its revocation" wait_for 10 cl_exited B
that "B exited with $UP_RC" test "$UP_RC" = 1
that "B's message does not say it was revoked: $(tail -n 3 "$E2E_TMP/B.err")" \
    grep -q 'snaptun-client: .*revoked' "$E2E_TMP/B.err"
verdict "a revoked client stops (exit 1) with a message saying so, without retrying"

# ---------------------------------------------------------------- manager-less

issuer_new "$E2E_TMP/issuer.pem" outside-1 || e2e_bail "an outside issuer key is imported ($STATUS: $BODY)"
PX=$(uuid)
"$MKTOKEN" --key "$E2E_TMP/issuer.pem" --pssid "$PX" --exp +600 --only-pssid-exp >"$E2E_TMP/x.token"
cl_up X --server "$AGENT_ADDR" --pin "$AGENT_PIN" --token-file "$E2E_TMP/x.token"
that "the manager-less client is not up: $ST $(tail -n 5 "$E2E_TMP/X.err")" wait_for 10 cl_is_up X
EXP1=$(jget .session_valid_until "$ST")
verdict "manager-less: --server, --pin and --token-file with an outside issuer's token: up with an address"
"$MKTOKEN" --key "$E2E_TMP/issuer.pem" --pssid "$PX" --exp +900 --only-pssid-exp >"$E2E_TMP/x.token.new"
mv "$E2E_TMP/x.token.new" "$E2E_TMP/x.token"
# a stale token is re-read at once when the session expires; force the look now with a
# refused renewal? No: the client reads the file on its schedule (75 % of the lifetime), so
# check the pieces that do not wait: a wrong pin never comes up.
cl_up Y --server "$AGENT_ADDR" --pin "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" --token-file "$E2E_TMP/x.token"
sleep 2
cl_status Y
that "a client with a wrong pin reports $(jget .state "$ST")" test "$(jget .state "$ST")" != up
that "its last error does not name the handshake: $ST" grep -q 'handshake' <<<"$(jget .last_error "$ST")"
verdict "manager-less with a wrong pin: no tunnel, the status says why"
kill -TERM "${UP_PID[Y]}" "${UP_PID[X]}"
wait_for 5 cl_exited Y
check "the manager-less client exits 0 on SIGTERM" eval 'wait_for 5 cl_exited X && test "$UP_RC" = 0'

# ---------------------------------------------------------------- --ca

# mkca NAME: a CA (Ed25519) in $E2E_TMP/NAME.pem with its key NAME.key.
mkca() {
	certtool --generate-privkey --key-type=ed25519 --outfile "$E2E_TMP/$1.key" &&
	    printf 'cn = %s\nca\ncert_signing_key\nexpiration_days = 30\n' "$1" >"$E2E_TMP/$1.tmpl" &&
	    certtool --generate-self-signed --load-privkey "$E2E_TMP/$1.key" \
		--template "$E2E_TMP/$1.tmpl" --outfile "$E2E_TMP/$1.pem"
} >/dev/null 2>&1
mkca ca1 && mkca ca2 &&
    certtool --generate-privkey --key-type=ed25519 --outfile "$E2E_TMP/srv.key" >/dev/null 2>&1 &&
    printf 'cn = agent\nip_address = 127.0.0.1\ndns_name = localhost\ntls_www_server\nexpiration_days = 30\n' \
	>"$E2E_TMP/srv.tmpl" &&
    certtool --generate-certificate --load-privkey "$E2E_TMP/srv.key" --load-ca-certificate \
	"$E2E_TMP/ca1.pem" --load-ca-privkey "$E2E_TMP/ca1.key" --template "$E2E_TMP/srv.tmpl" \
	--outfile "$E2E_TMP/srv.pem" >/dev/null 2>&1 || e2e_bail "certtool makes a CA and a certificate"
agent_stop TERM
agent_start "$E2E_TMP/agent" --tls-cert "$E2E_TMP/srv.pem" --tls-key "$E2E_TMP/srv.key" ||
    e2e_bail "the agent restarts with a CA-signed certificate"
wait_for 10 agent_connected
PORT=${AGENT_ADDR##*:}
cl_up Z --server "localhost:$PORT" --ca "$E2E_TMP/ca1.pem" --token-file "$E2E_TMP/x.token"
cl_up V --server "127.0.0.1:$PORT" --ca "$E2E_TMP/ca2.pem" --token-file "$E2E_TMP/x.token"
that "a client with --ca and the agent's name is not up: $ST $(tail -n 5 "$E2E_TMP/Z.err")" wait_for 10 cl_is_up Z
verdict "--ca: the agent's certificate chain and name (localhost) verified against the CA: up"
sleep 1
cl_status V
that "a client trusting another CA reports $(jget .state "$ST")" test "$(jget .state "$ST")" != up
verdict "--ca with another CA: no tunnel"
kill -TERM "${UP_PID[Z]}" "${UP_PID[V]}"
wait_for 5 cl_exited Z
wait_for 5 cl_exited V
: "$EXP1"

no_sanitizer_reports
e2e_finish
