#!/usr/bin/env bash
# End-to-end test of the agent's gateway mode (agent/README.md "Gateway mode", issue 10): a
# network namespace (B of tests/e2e/netns.bash) holds the agent with --tun and the test client
# (tests/tools/tunclient); the manager runs outside it (the state channel is a UNIX socket, which
# namespaces do not separate). The namespace's host side: an address on its loopback stands for
# "the network behind the gateway", reached through the TUN device.
#
# Checks: the TUN device is up with the agent's MTU, a pool's gateway address and another pool's
# route; a UDP packet from the tunnel reaches the namespace's stack, at the gateway address and
# behind it (their ICMP port unreachable comes back through the device into the tunnel); a UDP
# packet written in the namespace toward the client's address arrives as a datagram at the
# client; a spoofed source is dropped and counted; TTL 1 is answered with ICMP time exceeded from
# the gateway address; a packet over the tunnel's room gets ICMP fragmentation needed with that
# room, which the namespace's kernel takes as the path MTU; the counters by reason reach
# GET /v1/sessions and GET /v1/agents; client to client goes straight through, and with
# client_to_client false never arrives even when the host forwards it back; the device follows
# the pools (a deleted pool's route, a replaced gateway address) and goes with the agent; a device
# deleted under the agent makes it shut down.
# Run from the repository root as root: BUILD=build bash tests/e2e/gateway_tun_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash
. tests/e2e/netns.bash

HOSTADDR=192.0.2.1 # on the namespace's loopback: the network behind the gateway
TUN=sntgw0

[ -x "$BUILD/snaptun-agent" ] && [ -x "$BUILD/tools/tunclient" ] ||
    e2e_bail "the agent and tunclient are built (make all)"
# Namespace B of netns.bash holds the agent and the clients (A is not needed); a machine that
# cannot make namespaces or TUN devices skips with the reason.
netns_pair
case $? in
0) ;;
1)
	skip "gateway mode in a network namespace" "$NETNS_SKIP"
	e2e_finish
	;;
*) e2e_bail "netns_pair: $NETNS_ERR" ;;
esac
in_ns B ip addr add "$HOSTADDR/32" dev lo

# The agent and the clients run in B: wrappers that lib.bash starts as it would them.
AGENT=$(netns_wrap B "$BUILD/snaptun-agent") && TUNCLIENT=$(netns_wrap B "$BUILD/tools/tunclient") ||
    e2e_bail "netns_wrap"

# Two pools: 10.77.0.0/24 with the gateway address 10.77.0.1 (the device gets the address, the
# kernel the prefix's route), 10.78.0.0/24 of another ISD-AS without one (the device gets a route).
mgr_start "$E2E_TMP/mgr" --enroll-rate 100000 --enroll-burst 100000 || e2e_bail "the manager starts"
TOKEN=$(cat "$E2E_TMP/mgr/admin.token")
GW=10.77.0.1
api POST /v1/pools '{"name":"gw","isd_as":"1-ff00:0:110","prefix":"10.77.0.0/24","mode":"ip","gateway":"10.77.0.1"}'
[ "$STATUS" = 201 ] || e2e_bail "POST /v1/pools with a gateway -> $STATUS: $BODY"
POOL_ID=$(jget .id)
api POST /v1/pools '{"name":"nogw","isd_as":"1-ff00:0:111","prefix":"10.78.0.0/24","mode":"ip"}'
[ "$STATUS" = 201 ] || e2e_bail "POST /v1/pools -> $STATUS: $BODY"
POOL2_ID=$(jget .id)

agent_start "$E2E_TMP/agent" --tun "$TUN" --tun-mtu 1500 || e2e_bail "the agent starts with --tun"
wait_for 10 agent_connected || e2e_bail "the agent connects to the manager"

# ======================================================================= the device

dev_ready() {
	in_ns B ip -o link show "$TUN" 2>/dev/null | grep -q 'mtu 1500' &&
	    in_ns B ip -o addr show dev "$TUN" | grep -qF "inet $GW/24" &&
	    in_ns B ip route show dev "$TUN" | grep -q '^10\.78\.0\.0/24'
}
that "the device $TUN is not there with MTU 1500, $GW/24 and a route to 10.78.0.0/24: $(in_ns B ip addr show dev "$TUN" 2>&1; in_ns B ip route 2>&1)" \
    wait_for 10 dev_ready
that "the device $TUN is not up: $(in_ns B ip -o link show "$TUN" 2>&1)" \
    eval 'in_ns B ip -o link show "$TUN" | grep -q "[<,]UP[,>]"'
verdict "the agent's TUN device is up with MTU 1500, the gateway address $GW/24 and the route to the pool without a gateway"

# ======================================================================= uplink and downlink

enroll alice || e2e_bail "alice enrolls ($REQ -> $STATUS: $BODY)"
client_start A --token "$ACCESS" --handshake
want_event A '^assigned 10\.77\.0\.[0-9]+ 1-ff00:0:110$'
ADDR_A=$(awk '{ print $2 }' <<<"$CL_LINE")
verdict "client A in the namespace gets $ADDR_A"

client_cmd A "send $GW 1 20"
want_event A "^datagram $GW $ADDR_A [0-9]+ icmp 3 3\$" 5
verdict "a UDP packet from the tunnel to the gateway address $GW reaches the namespace's stack (its port unreachable comes back into the tunnel)"
client_cmd A "send $HOSTADDR 1 20"
want_event A "^datagram $HOSTADDR $ADDR_A [0-9]+ icmp 3 3\$" 5
verdict "a UDP packet from the tunnel to $HOSTADDR, behind the gateway, reaches it the same way"

in_ns B bash -c "echo gateway-down > /dev/udp/$ADDR_A/5000" 2>"$E2E_TMP/udp.err" ||
    fail "writing to /dev/udp/$ADDR_A/5000 in the namespace: $(cat "$E2E_TMP/udp.err")"
want_event A "^datagram [0-9.]+ $ADDR_A 41\$" 5
verdict "a UDP packet written in the namespace to $ADDR_A arrives as a datagram at the client"

client_cmd A "spoof 10.77.0.200 $HOSTADDR"
want_event A '^sent 1 ok=1 failed=0$'
verdict "client A sends a packet with a spoofed source"

client_cmd A "ttl 1" "send $HOSTADDR 1 20" "ttl 64"
want_event A "^datagram $GW $ADDR_A [0-9]+ icmp 11 0\$" 5
verdict "TTL 1 from the tunnel: ICMP time exceeded back from the pool's gateway address $GW"

# Oversize downlink: 1472 bytes of UDP payload make a 1500-byte packet, which the device's MTU
# takes but no QUIC datagram does (1200 bytes of UDP payload until path-MTU discovery, 1452 at
# most). The kernel sets DF (path-MTU discovery is on by default) and learns the room from the
# answer: `ip route get` shows it as the route's cached MTU. The kernel applies it through the
# sending socket, so the socket stays open a while.
big=$(head -c 1472 /dev/zero | tr '\0' x)
in_ns B bash -c "exec 3>/dev/udp/$ADDR_A/5000; printf %s '$big' >&3; sleep 3" 2>/dev/null &
SENDER=$!
pmtu() {
	PMTU=$(in_ns B ip route get "$ADDR_A" 2>/dev/null | sed -n 's/.* mtu \([0-9]*\).*/\1/p')
	[ -n "$PMTU" ]
}
that "the namespace learned no path MTU toward $ADDR_A: $(in_ns B ip route get "$ADDR_A" 2>&1)" wait_for 5 pmtu
that "the learned path MTU ${PMTU:-none} is not a tunnel's room (1100 ..< 1500)" \
    test "${PMTU:-0}" -ge 1100 -a "${PMTU:-0}" -lt 1500
verdict "a packet over the tunnel's room: ICMP fragmentation needed with MTU ${PMTU:-?}, learned by the sender's kernel"
wait "$SENDER" 2>/dev/null
client_cmd A stats
want_event A '^stats '
that "the oversize packet reached the client: $(grep -c ' 1500$' "$E2E_TMP/cl.A.out")" \
    test "$(grep -c "^datagram [0-9.]* $ADDR_A 1500\$" "$E2E_TMP/cl.A.out")" = 0
verdict "the oversize packet is not delivered"

# ======================================================================= counters

drops_reported() {
	api GET "/v1/sessions?agent=1"
	[ "$STATUS" = 200 ] || return 1
	[ "$(jget .items[0].drops.spoofed)" = 1 ] && [ "$(jget .items[0].drops.ttl_exceeded)" = 1 ] &&
	    [ "$(jget .items[0].drops.too_big)" = 1 ]
}
that "GET /v1/sessions shows no spoofed 1, ttl_exceeded 1, too_big 1 for A within 12 s" wait_for 12 drops_reported
that "dropped_datagrams is not the sum 3: $(jget .items[0].dropped_datagrams)" \
    test "$(jget .items[0].dropped_datagrams)" = 3
verdict "the session's drops by reason reach GET /v1/sessions (spoofed, ttl_exceeded, too_big)"
# The manager stores an agent's STATS at most every 5 s: the next ones bring the totals.
totals_reported() {
	api GET /v1/agents
	[ "$(jget .items[0].last_stats.total.drops.spoofed)" = 1 ] &&
	    [ "$(jget .items[0].last_stats.total.drops.too_big)" = 1 ]
}
that "GET /v1/agents last_stats.total.drops has no spoofed 1 and too_big 1 within 15 s" \
    wait_for 15 totals_reported
that "GET /v1/agents last_stats.total has no drops.no_route" \
    test -n "$(jget .items[0].last_stats.total.drops.no_route)"
verdict "the agent's totals by reason reach GET /v1/agents"

# ======================================================================= isolation

enroll bob || e2e_bail "bob enrolls ($REQ -> $STATUS: $BODY)"
PB=$PSSID
client_start B --token "$ACCESS" --handshake
want_event B '^assigned 10\.77\.0\.[0-9]+ 1-ff00:0:110$'
ADDR_B=$(awk '{ print $2 }' <<<"$CL_LINE")
client_cmd A "send $ADDR_B 1 30"
want_event B "^datagram $ADDR_A $ADDR_B 58\$" 5
verdict "client to client ($ADDR_A -> $ADDR_B) straight through the agent"
api PATCH "/v1/pools/$POOL_ID" '{"client_to_client":false}'
[ "$STATUS" = 200 ] || fail "PATCH /v1/pools/$POOL_ID client_to_client false -> $STATUS"
# The host forwards: what the agent gives it for B comes back to the device.
in_ns B sysctl -qw net.ipv4.ip_forward=1
sleep 0.5 # the POOL_UPDATE reaches the agent
client_cmd A "send $ADDR_B 3 31"
want_event A '^sent 3 ok=3 failed=0$'
sleep 1
that "B got A's packets of a pool with client_to_client false: $(grep -c " 59\$" "$E2E_TMP/cl.B.out")" \
    test "$(grep -c "^datagram $ADDR_A $ADDR_B 59\$" "$E2E_TMP/cl.B.out")" = 0
isolated_reported() {
	api GET "/v1/sessions?pssid=$PB"
	[ "$(jget .items[0].drops.isolated)" = 3 ]
}
that "GET /v1/sessions shows no 3 isolated drops for B within 12 s" wait_for 12 isolated_reported
verdict "client_to_client false: A's packets to B go to the host and, routed back, are dropped (isolated)"
in_ns B sysctl -qw net.ipv4.ip_forward=0
client_stop B

# ======================================================================= pool and agent gone

client_stop A
api DELETE "/v1/pools/$POOL2_ID?force=true"
[ "$STATUS" = 204 ] || [ "$STATUS" = 200 ] || fail "DELETE /v1/pools/$POOL2_ID -> $STATUS"
api PATCH "/v1/pools/$POOL_ID" '{"gateway":"10.77.0.254"}'
[ "$STATUS" = 200 ] || fail "PATCH /v1/pools/$POOL_ID gateway -> $STATUS"
dev_follows() {
	! in_ns B ip route show dev "$TUN" 2>/dev/null | grep -q '10\.78\.0\.' &&
	    ! in_ns B ip -o addr show dev "$TUN" | grep -qF "inet $GW/" &&
	    in_ns B ip -o addr show dev "$TUN" | grep -qF "inet 10.77.0.254/24"
}
that "the device does not follow (route to 10.78.0.0/24 gone, $GW replaced by 10.77.0.254): $(in_ns B ip addr show dev "$TUN"; in_ns B ip route show dev "$TUN")" \
    wait_for 10 dev_follows
verdict "the device follows the pools: a deleted pool's route and a replaced gateway address leave it"
agent_stop
check "the agent exits 0 on SIGTERM" test "$AGENT_RC" = 0
check "the TUN device goes with the agent" eval '! in_ns B ip link show "$TUN" >/dev/null 2>&1'

# A device deleted under the agent: it shuts down (as on SIGTERM) instead of spinning.
agent_start "$E2E_TMP/agent" --tun "$TUN" || e2e_bail "the agent starts again"
wait_for 10 eval 'in_ns B ip link show "$TUN" >/dev/null 2>&1' || fail "no device $TUN"
in_ns B ip link del "$TUN"
agent_gone() {
	! kill -0 "$AGENT_PID" 2>/dev/null
}
that "the agent still runs 10 s after its device was deleted" wait_for 10 agent_gone
agent_stop KILL
that "exit status $AGENT_RC, not 0" test "$AGENT_RC" = 0
that "the log does not say why: $(tail -n 3 "$E2E_TMP/agent.err")" \
    grep -q 'TUN device: read: .*shutting down' "$E2E_TMP/agent.err"
verdict "a TUN device deleted under the agent makes it shut down, saying why"
no_sanitizer_reports
mgr_stop
e2e_finish
