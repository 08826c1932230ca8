#!/usr/bin/env bash
# The routes snaptun-client's TUN device gets, in the setup of tests/e2e/traffic.bash (client in
# namespace A, manager and gateway agent in B):
#   - a route the host has already (the same prefix via its own interface) is left alone: not
#     taken over, not removed at stop, and the log says so;
#   - a reconnect to the same address keeps the routes: none is deleted and added again (the
#     traffic meanwhile would find no route);
#   - many routes: none is dropped silently (66 go in); too many --route are refused, saying
#     how many were given;
#   - a full tunnel (--route 0.0.0.0/0): the agent keeps a host route along its way outside
#     the tunnel, the default route goes into it, traffic that only it carries flows (ping,
#     TCP checked by SHA-256), and both routes go at stop;
#   - IPv6 over a tunnel whose datagram room is under 1280 (a 1280-byte path): the device gets
#     no IPv6 address or route, and the log says why.
# Needs root (namespaces, TUN). Run from the repository root:
#   BUILD=build bash tests/e2e/client_routes_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash
. tests/e2e/netns.bash
. tests/e2e/traffic.bash

traffic_env "the client's routes"
traffic_join a4 A

# not_grep ARG...: grep -q finds nothing.
not_grep() {
	! grep -q "$@"
}

# down_wait NAME: `down` for client NAME and wait (10 s) for it to exit; NETNS_RC its status.
down_wait() {
	"$CLIENT" down --control "$E2E_TMP/$1.sock" >/dev/null 2>&1
	netns_stop "${UP_PID[$1]}" 10
}

# ======================================================================= a route the host has

in_ns A ip route add 203.0.113.0/24 dev "$NS_DEV" proto static ||
    e2e_bail "the host's own route 203.0.113.0/24 in A"
traffic_up a4 A snaptun0 --route 203.0.113.0/24 --route 198.18.0.0/24
in_ns A ip route show >"$E2E_TMP/routes"
that "the host's route 203.0.113.0/24 via $NS_DEV changed: $(cat "$E2E_TMP/routes")" \
    grep -q "^203\.0\.113\.0/24 dev $NS_DEV proto static" "$E2E_TMP/routes"
that "no log line saying the existing route is left alone: $(cat "$E2E_TMP/a4.err")" \
    grep -q "route 203.0.113.0/24 exists already: left alone" "$E2E_TMP/a4.err"
that "the log claims the existing route as the tunnel's: $(grep 203.0.113 "$E2E_TMP/a4.err")" \
    not_grep "route 203.0.113.0/24 via snaptun0" "$E2E_TMP/a4.err"
that "the new route 198.18.0.0/24 is not via snaptun0: $(cat "$E2E_TMP/routes")" \
    grep -q "^198\.18\.0\.0/24 dev snaptun0" "$E2E_TMP/routes"
verdict "a route the host has already is left alone (and logged so); the client's other route is added"
down_wait a4
in_ns A ip route show >"$E2E_TMP/routes"
that "the host's route 203.0.113.0/24 is gone after the client stopped: $(cat "$E2E_TMP/routes")" \
    grep -q "^203\.0\.113\.0/24 dev $NS_DEV" "$E2E_TMP/routes"
that "the client's route 198.18.0.0/24 stayed after stop: $(cat "$E2E_TMP/routes")" \
    not_grep "^198\.18\.0\.0/24" "$E2E_TMP/routes"
verdict "at stop the client removes its own routes only: the host's route stays"
in_ns A ip route del 203.0.113.0/24 dev "$NS_DEV"

# ======================================================================= a reconnect

# (the host's route is gone: the client's both routes are its own now)
traffic_up a4 A snaptun0 --route 198.18.0.0/24
ADDR0=$ADDR
in_ns A ip route show dev snaptun0 >"$E2E_TMP/routes.before"
netns_bg A ip monitor route >"$E2E_TMP/monitor" 2>&1
MON=$NETNS_BG_PID
sleep 0.3
agent_stop TERM
AGENT_LISTEN=$AGENT_ADDR agent_start "$E2E_TMP/agent" --tun "$GWDEV" || e2e_bail "the agent restarts"
reconnected() {
	traffic_is_up a4 && [ "$(jget .reconnects "$ST")" -ge 1 ]
}
that "the client did not reconnect within 30 s: $ST" wait_for 30 reconnected
that "the client came back with $(jget .address "$ST"), not $ADDR0" test "$(jget .address "$ST")" = "$ADDR0"
sleep 0.3
netns_stop "$MON" 1
in_ns A ip route show dev snaptun0 >"$E2E_TMP/routes.after"
that "routes were deleted during the reconnect: $(grep -i deleted "$E2E_TMP/monitor")" \
    not_grep -i "^deleted" "$E2E_TMP/monitor"
that "routes were added again during the reconnect: $(grep snaptun0 "$E2E_TMP/monitor")" \
    not_grep snaptun0 "$E2E_TMP/monitor"
that "the routes differ after the reconnect: before $(cat "$E2E_TMP/routes.before"), after $(cat "$E2E_TMP/routes.after")" \
    cmp -s "$E2E_TMP/routes.before" "$E2E_TMP/routes.after"
verdict "a reconnect to the same address keeps the device's routes: none deleted or added meanwhile"
ping_check "ping through the kept routes after the reconnect" A "$SVC4"
down_wait a4

# ======================================================================= many routes

# the pool's two (its prefix and its routes entry) and 64 --route: 66, none dropped
ARGS=()
for i in $(seq 0 63); do
	ARGS+=(--route "10.100.$i.0/24")
done
traffic_up a4 A snaptun0 "${ARGS[@]}"
N=$(in_ns A ip route show dev snaptun0 | grep -c '/24')
that "snaptun0 has $N routes, not the 66 asked for: $(in_ns A ip route show dev snaptun0 | tail -n 3)" test "$N" = 66
that "the last --route is missing" eval 'in_ns A ip route show dev snaptun0 | grep -q "^10\.100\.63\.0/24"'
verdict "the pool's 2 routes and 64 --route: all 66 on the device, none dropped"
down_wait a4
ARGS+=(--route 10.101.0.0/24)
in_ns A "$CLIENT" up --bundle "$E2E_TMP/a4.bundle" --tun snaptun0 --control "$E2E_TMP/a4.sock" \
    "${ARGS[@]}" >"$E2E_TMP/many.out" 2>"$E2E_TMP/many.err"
RC=$?
that "65 --route: exit $RC, not 1" test "$RC" = 1
that "65 --route: no message naming the count: $(cat "$E2E_TMP/many.err")" \
    grep -q -- "--route given 65 times, at most 64" "$E2E_TMP/many.err"
verdict "65 --route are refused with a message naming the count"

# ======================================================================= a full tunnel

# an address in B that only a default route reaches (A has none of its own)
in_ns B ip addr add 198.51.100.1/32 dev lo || e2e_bail "198.51.100.1 on B's loopback"
traffic_up a4 A snaptun0 --route 0.0.0.0/0
in_ns A ip route show >"$E2E_TMP/routes"
that "no default route via snaptun0: $(cat "$E2E_TMP/routes")" \
    grep -q "^default dev snaptun0" "$E2E_TMP/routes"
that "no host route to the agent $NS_B4 via $NS_DEV: $(cat "$E2E_TMP/routes")" \
    grep -q "^$NS_B4 dev $NS_DEV proto static" "$E2E_TMP/routes"
that "the agent $NS_B4 is not reached via $NS_DEV: $(in_ns A ip route get "$NS_B4")" \
    eval 'in_ns A ip route get "$NS_B4" | grep -q " dev $NS_DEV "'
verdict "--route 0.0.0.0/0: the default route goes into the tunnel, the agent keeps a host route via $NS_DEV"
ping_check "full tunnel: ping from A to 198.51.100.1 (reached only by the default route)" A 198.51.100.1
xfer_serve B 198.51.100.1
in_ns A timeout 60 "$TCPXFER" send 198.51.100.1 "$XFER_PORT" 2000000 3 >"$E2E_TMP/xfer.snd" 2>&1
that "tcpxfer send failed: $(cat "$E2E_TMP/xfer.snd")" test $? = 0
that "the SHA-256 differ: sender $(cat "$E2E_TMP/xfer.snd"), server $(cat "$E2E_TMP/xfer.srv")" xfer_check
traffic_status a4
that "the tunnel dropped meanwhile: $ST" test "$(jget .state "$ST")" = up -a "$(jget .reconnects "$ST")" = 0
verdict "full tunnel: 2 MB over TCP to 198.51.100.1 arrive intact, the tunnel stays up"
down_wait a4
in_ns A ip route show >"$E2E_TMP/routes"
that "the default route stayed after stop: $(cat "$E2E_TMP/routes")" not_grep "^default" "$E2E_TMP/routes"
that "the agent's host route stayed after stop: $(cat "$E2E_TMP/routes")" \
    not_grep "^$NS_B4 " "$E2E_TMP/routes"
verdict "at stop the default route and the agent's host route go"

# ======================================================================= IPv6 over a small room

# a path MTU of 1280 between A and B: the tunnel's datagrams carry less than IPv6's 1280
traffic_join a6 A "$P6"
in_ns A ip link set dev "$NS_DEV" mtu 1280 && in_ns B ip link set dev "$NS_DEV" mtu 1280 ||
    e2e_bail "MTU 1280 on the veth pair"
traffic_up a6 A snaptun1
ROOM=$(jget .mtu "$ST")
that "the room $ROOM is not under 1280 over a 1280-byte path" test "${ROOM:-9999}" -lt 1280
that "snaptun1 holds an IPv6 address over a room of $ROOM: $(in_ns A ip -6 -o addr show dev snaptun1)" \
    test -z "$(in_ns A ip -6 -o addr show dev snaptun1 2>/dev/null)"
that "an IPv6 route via snaptun1 over a room of $ROOM: $(in_ns A ip -6 route show dev snaptun1 2>&1)" \
    test -z "$(in_ns A ip -6 route show dev snaptun1 2>/dev/null)"
that "no log line saying why IPv6 is not configured: $(tail -n 5 "$E2E_TMP/a6.err")" \
    grep -q "snaptun1: the tunnel carries packets of up to $ROOM bytes, under IPv6's minimum MTU of 1280: the IPv6 address .* is not configured" "$E2E_TMP/a6.err"
verdict "IPv6 over a room of $ROOM (< 1280): not configured on the device, with a log line saying why"
down_wait a6
in_ns A ip link set dev "$NS_DEV" mtu 1500
in_ns B ip link set dev "$NS_DEV" mtu 1500

no_sanitizer_reports
e2e_finish
