#!/usr/bin/env bash
# End-to-end test of snaptun-client with a TUN device: two network namespaces, each joined to
# this one by a veth pair, a client in each (`up --tun`, manager-less with outside issuer
# tokens) against an agent here; ping from one client's namespace to the other's address goes
# through the agent (hub). The device gets the address as a host address, the MTU of the
# datagram room and the --route routes (for one holding the agent's own address, a host route
# keeps the agent outside the tunnel); it is gone after `down`.
# Needs root (namespaces, TUN). Run from the repository root: BUILD=build bash tests/e2e/client_tun_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash
CLIENT=${CLIENT:-$BUILD/snaptun-client}
[ -x "$CLIENT" ] || e2e_bail "$CLIENT is not built (make all)"

NS_A=snaptun-ca-$$ NS_B=snaptun-cb-$$
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! ip netns add "$NS_A" 2>/dev/null; then
	skip "client TUN tests" "needs root and network namespaces (ip netns add failed)"
	e2e_finish
fi
ip netns add "$NS_B"
if [ ! -c /dev/net/tun ]; then
	ip netns del "$NS_A"; ip netns del "$NS_B"
	skip "client TUN tests" "no /dev/net/tun on this machine"
	e2e_finish
fi
cleanup_ns() {
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	ip link del "sta$$" 2>/dev/null
	ip link del "stb$$" 2>/dev/null
}
trap 'cleanup_ns; e2e_cleanup' EXIT

# veth pairs: 10.201.1.0/24 to A, 10.201.2.0/24 to B; the agent listens on 10.201.1.1, which B
# reaches through its default route (a local address here: no forwarding needed).
ip link add "sta$$" type veth peer name eth0 netns "$NS_A"
ip link add "stb$$" type veth peer name eth0 netns "$NS_B"
ip addr add 10.201.1.1/24 dev "sta$$"
ip addr add 10.201.2.1/24 dev "stb$$"
ip link set "sta$$" up
ip link set "stb$$" up
for ns in "$NS_A" "$NS_B"; do
	n=1
	[ "$ns" = "$NS_B" ] && n=2
	ip -n "$ns" addr add "10.201.$n.2/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" route add default via "10.201.$n.1"
done

AGENT_LISTEN=10.201.1.1:0
tunnel_env
issuer_new "$E2E_TMP/issuer.pem" outside-1 || e2e_bail "an outside issuer key is imported"

# not CMD...: CMD fails (its output unseen).
not() {
	! "$@" >/dev/null 2>&1
}

declare -A UP_PID=()
ST= UP_RC=

# up NAME NS ARG...: a manager-less client in namespace NS with a TUN device tun-NAME and a
# fresh outside token.
up() {
	local name=$1 ns=$2
	shift 2
	"$MKTOKEN" --key "$E2E_TMP/issuer.pem" --pssid "$(uuid)" --exp +600 --only-pssid-exp \
	    >"$E2E_TMP/$name.token"
	ip netns exec "$ns" "$CLIENT" up --server "$AGENT_ADDR" --pin "$AGENT_PIN" \
	    --token-file "$E2E_TMP/$name.token" --tun "tun-$name" \
	    --control "$E2E_TMP/$name.sock" "$@" >"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.err" &
	UP_PID[$name]=$!
	E2E_PIDS+=("$!")
}
status() {
	ST=$("$CLIENT" status --json --control "$E2E_TMP/$1.sock" 2>&1)
}
is_up() {
	status "$1" && [ "$(jget .state "$ST")" = up ]
}

up A "$NS_A" --route 10.77.0.0/24 --route 10.201.0.0/16
up B "$NS_B" --route 10.77.0.0/24
that "client A is not up: $ST $(tail -n 5 "$E2E_TMP/A.err")" wait_for 10 is_up A
ADDR_A=$(jget .address "$ST") MTU_A=$(jget .mtu "$ST")
that "client B is not up: $ST $(tail -n 5 "$E2E_TMP/B.err")" wait_for 10 is_up B
ADDR_B=$(jget .address "$ST")
verdict "two clients with TUN devices in two namespaces are up ($ADDR_A, $ADDR_B)"

ip -n "$NS_A" -o addr show dev tun-A >"$E2E_TMP/A.addr" 2>&1
that "tun-A does not hold $ADDR_A/32: $(cat "$E2E_TMP/A.addr")" grep -q "inet $ADDR_A/32" "$E2E_TMP/A.addr"
ip -n "$NS_A" link show dev tun-A >"$E2E_TMP/A.link" 2>&1
that "tun-A's MTU is not the datagram room $MTU_A: $(cat "$E2E_TMP/A.link")" grep -q "mtu $MTU_A " "$E2E_TMP/A.link"
ip -n "$NS_A" route show >"$E2E_TMP/A.routes"
that "no route 10.77.0.0/24 via tun-A: $(cat "$E2E_TMP/A.routes")" grep -q "^10.77.0.0/24 dev tun-A" "$E2E_TMP/A.routes"
that "no route 10.201.0.0/16 via tun-A: $(cat "$E2E_TMP/A.routes")" grep -q "^10.201.0.0/16 dev tun-A" "$E2E_TMP/A.routes"
that "the agent 10.201.1.1 has no host route via eth0: $(cat "$E2E_TMP/A.routes")" \
    grep -q "^10.201.1.1 dev eth0 proto static" "$E2E_TMP/A.routes"
verdict "tun-A: the address as /32, MTU = the datagram room, the --route routes, a host route keeping the agent (inside one of them) outside the tunnel"

ip netns exec "$NS_A" ping -c 3 -i 0.2 -W 2 "$ADDR_B" >"$E2E_TMP/ping" 2>&1
that "ping $ADDR_B from A's namespace failed: $(tail -n 3 "$E2E_TMP/ping")" grep -q " 0% packet loss" "$E2E_TMP/ping"
verdict "ping from client A's namespace to client B's address, through the agent (hub)"

ip netns exec "$NS_A" ping -c 1 -W 2 -M do -s 3000 "$ADDR_B" >"$E2E_TMP/ping2" 2>&1
that "a 3000-byte ping with DF was not refused locally: $(cat "$E2E_TMP/ping2")" \
    grep -Eq "too long|mtu|Message too long" "$E2E_TMP/ping2"
verdict "a packet over the device MTU is refused at the sender (DF set)"

"$CLIENT" down --control "$E2E_TMP/A.sock" >/dev/null
wait_for 5 not kill -0 "${UP_PID[A]}"
that "tun-A is still there after down" not ip -n "$NS_A" link show dev tun-A
that "a route via tun-A is still there after down" not grep -q tun-A <<<"$(ip -n "$NS_A" route show)"
that "the agent's host route is still there after down" not grep -q "^10.201.1.1 " <<<"$(ip -n "$NS_A" route show)"
verdict "down removes the device, its address and routes"
kill -TERM "${UP_PID[B]}" 2>/dev/null
wait "${UP_PID[B]}" 2>/dev/null
check "B exits 0 on SIGTERM" test $? = 0

no_sanitizer_reports
e2e_finish
