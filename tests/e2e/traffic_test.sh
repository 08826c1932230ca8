#!/usr/bin/env bash
# Real traffic end to end (issue 10 "Tests"): snaptun-client with a TUN device in namespace A (and
# a second client host C), the manager and the agent in gateway mode in namespace B, the setup of
# tests/e2e/traffic.bash. Checks: the client's device (address, MTU = the datagram room, the
# pool's prefix and its `routes`); ping in both families to the gateway addresses and to the
# network behind the gateway (a `routes` entry, an address on B's loopback); TCP transfers both
# families verified by SHA-256 (tests/tools/tcpxfer); client to client through the agent (A <->
# C); a spoofed source dropped and counted (`spoofed` in GET /v1/sessions); an oversized packet
# from B answered with ICMP too big that B's ping reports, with the tunnel's MTU, in both
# families; from A the device MTU already refuses it.
# Needs root (namespaces, TUN). Run from the repository root: BUILD=build bash tests/e2e/traffic_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash
. tests/e2e/netns.bash
. tests/e2e/traffic.bash

traffic_env "real traffic through TUN devices" --third

traffic_join a4 A
traffic_join a6 A "$P6"
traffic_join c4 C

# ======================================================================= the client's device

traffic_up a4 A snaptun0
ADDR4=$ADDR MTU4=$MTU ROOM4=$(jget .mtu "$ST")
in_ns A ip route show >"$E2E_TMP/routes"
that "snaptun0 does not hold $ADDR4/32: $(in_ns A ip -o addr show dev snaptun0)" \
    eval 'in_ns A ip -o addr show dev snaptun0 | grep -qF "inet $ADDR4/32"'
that "snaptun0's MTU $MTU4 is not the datagram room $ROOM4 the client reports" test "$MTU4" = "$ROOM4"
that "the MTU $MTU4 is not a QUIC datagram room over a 1500-byte path (1100 ..< 1500)" \
    test "${MTU4:-0}" -ge 1100 -a "${MTU4:-0}" -lt 1500
that "snaptun0 has IPv6 addresses (a link-local one?): $(in_ns A ip -6 -o addr show dev snaptun0)" \
    test -z "$(in_ns A ip -6 -o addr show dev snaptun0)"
that "no route to the pool's prefix via snaptun0: $(cat "$E2E_TMP/routes")" \
    grep -q '^10\.66\.0\.0/24 dev snaptun0' "$E2E_TMP/routes"
that "no route to the pool's routes entry 192.0.2.0/24 via snaptun0: $(cat "$E2E_TMP/routes")" \
    grep -q '^192\.0\.2\.0/24 dev snaptun0' "$E2E_TMP/routes"
verdict "client a4 in A is up: $ADDR4/32 on snaptun0 (no IPv6 link-local address), MTU $MTU4 = the datagram room, routes to the pool 10.66.0.0/24 and its routes entry 192.0.2.0/24"

traffic_up a6 A snaptun1
ADDR6=$ADDR MTU6=$MTU
in_ns A ip -6 route show >"$E2E_TMP/routes6"
that "snaptun1 does not hold $ADDR6/128: $(in_ns A ip -o addr show dev snaptun1)" \
    eval 'in_ns A ip -o addr show dev snaptun1 | grep -qF "inet6 $ADDR6/128"'
that "snaptun1's MTU $MTU6 is below IPv6's 1280" test "${MTU6:-0}" -ge 1280
that "no route to fd66::/64 via snaptun1: $(cat "$E2E_TMP/routes6")" \
    grep -q '^fd66::/64 dev snaptun1' "$E2E_TMP/routes6"
that "no route to 2001:db8:66::/64 via snaptun1: $(cat "$E2E_TMP/routes6")" \
    grep -q '^2001:db8:66::/64 dev snaptun1' "$E2E_TMP/routes6"
verdict "client a6 in A (a join token of the IPv6 pool) is up: $ADDR6/128 on snaptun1 (MTU $MTU6), routes to fd66::/64 and 2001:db8:66::/64"

# ======================================================================= ping, both families

for dst in "$GW4" "$SVC4"; do
	ping_check "ping from A to $dst through the tunnel" A "$dst"
done
for dst in "$GW6" "$SVC6"; do
	ping_check "ping -6 from A to $dst through the tunnel" A "$dst"
done
ping_check "ping from B (the network behind the gateway) to the client at $ADDR4" B "$ADDR4"
ping_check "ping -6 from B to the client at $ADDR6" B "$ADDR6"

# ======================================================================= TCP, checksummed

xfer_serve B "$SVC4"
in_ns A timeout 60 "$TCPXFER" send "$SVC4" "$XFER_PORT" 8000000 1 >"$E2E_TMP/xfer.snd" 2>&1
that "tcpxfer send failed: $(cat "$E2E_TMP/xfer.snd")" test $? = 0
that "the SHA-256 differ: sender $(cat "$E2E_TMP/xfer.snd"), server $(cat "$E2E_TMP/xfer.srv")" xfer_check
verdict "8 MB over TCP from A to $SVC4 (behind the gateway) arrive intact (SHA-256 of both ends equal)"

# IPv6 TCP segments fill the device's 1280 bytes; the datagram room starts below that until the
# path-MTU discovery of QUIC raises it (the client answers bigger packets with packet too big,
# which IPv6 cannot go under): wait for the room to reach 1280 first.
room6() {
	traffic_status a6 && [ "$(jget .mtu "$ST")" -ge 1280 ]
}
that "the IPv6 client's datagram room did not reach 1280 within 10 s: $ST" wait_for 10 room6
xfer_serve B "$SVC6"
in_ns A timeout 60 "$TCPXFER" send "$SVC6" "$XFER_PORT" 4000000 2 >"$E2E_TMP/xfer.snd" 2>&1
that "tcpxfer send failed: $(cat "$E2E_TMP/xfer.snd")" test $? = 0
that "the SHA-256 differ: sender $(cat "$E2E_TMP/xfer.snd"), server $(cat "$E2E_TMP/xfer.srv")" xfer_check
verdict "4 MB over TCP/IPv6 from A to $SVC6 arrive intact"

xfer_serve A "$ADDR4"
in_ns B timeout 60 "$TCPXFER" send "$ADDR4" "$XFER_PORT" 4000000 3 >"$E2E_TMP/xfer.snd" 2>&1
that "tcpxfer send failed: $(cat "$E2E_TMP/xfer.snd")" test $? = 0
that "the SHA-256 differ: sender $(cat "$E2E_TMP/xfer.snd"), server $(cat "$E2E_TMP/xfer.srv")" xfer_check
verdict "4 MB over TCP from B to the client at $ADDR4 (downlink) arrive intact"

# ======================================================================= client to client

traffic_up c4 C snaptun0
ADDRC=$ADDR
ping_check "ping from A ($ADDR4) to client c4 in namespace C ($ADDRC), through the agent" A "$ADDRC"
ping_check "ping from C to A's client address $ADDR4" C "$ADDR4"
xfer_serve C "$ADDRC"
in_ns A timeout 60 "$TCPXFER" send "$ADDRC" "$XFER_PORT" 2000000 4 >"$E2E_TMP/xfer.snd" 2>&1
that "tcpxfer send failed: $(cat "$E2E_TMP/xfer.snd")" test $? = 0
that "the SHA-256 differ: sender $(cat "$E2E_TMP/xfer.snd"), server $(cat "$E2E_TMP/xfer.srv")" xfer_check
verdict "2 MB over TCP from client A to client C arrive intact"

# ======================================================================= a spoofed source

PSSID4=$(bundle_pssid a4)
spoofed() {
	traffic_session "$PSSID4" && SPOOFED=$(jget .items[0].drops.spoofed) && [ -n "$SPOOFED" ]
}
that "no session of a4 ($PSSID4) in GET /v1/sessions: $BODY" spoofed
S0=${SPOOFED:-0}
# The device has no IPv6 link-local address, so the kernel's router solicitations never enter
# the tunnel: a well-behaved client shows no spoofed drops.
that "the agent counted $S0 spoofed packets from a4 before any was sent" test "$S0" = 0
# Another address on a4's device: the kernel sends from it through the tunnel, and the agent
# must drop what does not come from the tunnel's own address.
in_ns A ip addr add 10.66.0.200/32 dev snaptun0
in_ns A ping -c 3 -i 0.2 -W 1 -I 10.66.0.200 "$GW4" >"$E2E_TMP/spoof.ping" 2>&1
that "a ping from the foreign source 10.66.0.200 got an answer: $(cat "$E2E_TMP/spoof.ping")" \
    grep -q ' 0 received' "$E2E_TMP/spoof.ping"
more_spoofed() {
	spoofed && [ "$SPOOFED" -ge $((S0 + 3)) ]
}
that "the agent's spoofed count for a4 did not rise by 3 from $S0 within 15 s (now ${SPOOFED:-none})" \
    wait_for 15 more_spoofed
in_ns A ip addr del 10.66.0.200/32 dev snaptun0
verdict "3 pings from a foreign source on the client's device: no answer, and the agent counts them spoofed (${SPOOFED:-?}; none before)"
ping_check "after that the client's own address still reaches the gateway" A "$GW4"

# ======================================================================= too big

# From B: B's side of the tunnel is the agent's device (MTU 1500); 1500-byte packets with DF
# toward the client do not fit the tunnel, and the agent answers with ICMP fragmentation needed
# carrying the room, which ping reports ("Frag needed ... mtu = N", then "message too long,
# mtu=N" once the kernel learned it).
mtu_seen() {
	sed -n 's/.*mtu *= *\([0-9]*\).*/\1/p' "$1" | head -n 1
}
in_ns B ping -c 3 -i 0.3 -W 1 -M do -s 1472 "$ADDR4" >"$E2E_TMP/big4" 2>&1
M=$(mtu_seen "$E2E_TMP/big4")
that "B's ping with DF and 1500 bytes reports no MTU: $(cat "$E2E_TMP/big4")" test -n "$M"
that "the reported MTU ${M:-none} is not a tunnel's room (1100 ..< 1500)" \
    test "${M:-0}" -ge 1100 -a "${M:-0}" -lt 1500
verdict "a 1500-byte IPv4 packet from B toward the client: ICMP fragmentation needed, B's ping sees mtu ${M:-?}"
in_ns B ping -6 -c 3 -i 0.3 -W 1 -M do -s 1452 "$ADDR6" >"$E2E_TMP/big6" 2>&1
M6=$(mtu_seen "$E2E_TMP/big6")
that "B's ping -6 with 1500 bytes reports no MTU: $(cat "$E2E_TMP/big6")" test -n "$M6"
that "the reported MTU ${M6:-none} is not between 1280 and 1500" \
    test "${M6:-0}" -ge 1280 -a "${M6:-0}" -lt 1500
verdict "a 1500-byte IPv6 packet from B toward the client: ICMPv6 packet too big, B's ping sees mtu ${M6:-?}"
in_ns B ping -c 2 -i 0.3 -W 2 -M do -s $((M - 28)) "$ADDR4" >"$E2E_TMP/fit4" 2>&1
check "a packet of exactly the reported MTU ${M:-?} does reach the client: $(tail -n 2 "$E2E_TMP/fit4" | tr '\n' ' ')" \
    grep -q ' 0% packet loss' "$E2E_TMP/fit4"

# From A: the client's device MTU is the room, so the kernel refuses at the sender.
traffic_status a4
in_ns A ping -c 1 -W 1 -M do -s 1472 "$GW4" >"$E2E_TMP/big4a" 2>&1
MA=$(mtu_seen "$E2E_TMP/big4a")
that "A's ping with DF and 1500 bytes was not refused with the device MTU $(jget .mtu "$ST"): $(cat "$E2E_TMP/big4a")" \
    test "${MA:-none}" = "$(jget .mtu "$ST")"
verdict "from A, a 1500-byte packet with DF is refused by A's own kernel with mtu ${MA:-?} (the device MTU = the datagram room)"

# ======================================================================= the end

for n in a4 a6 c4; do
	netns_stop "${UP_PID[$n]}" 5
	check "client $n exits 0 on SIGTERM (status ${NETNS_RC:-none})" test "${NETNS_RC:-1}" = 0
done
check "snaptun0 and snaptun1 are gone from A with their clients" \
    eval '! in_ns A ip link show dev snaptun0 2>/dev/null && ! in_ns A ip link show dev snaptun1 2>/dev/null'
no_sanitizer_reports
e2e_finish
