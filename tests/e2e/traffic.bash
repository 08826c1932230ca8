# What the traffic tests share (source it after lib.bash; not a test itself, hence not *.sh):
# real traffic through real TUN devices at both ends, in the namespaces of netns.bash.
#
#   B  the manager (API on $NS_B4), the agent in gateway mode (--tun snaptun-gw, listening on
#      $NS_B4), and the services: the pools' gateway addresses on snaptun-gw, and SVC4 / SVC6 on
#      B's loopback, the network "behind the gateway" that the pools' `routes` name.
#   A  clients: `snaptun-client join` (a bundle), then `up --bundle F --tun DEV`.
#   C  (traffic_env --third) a second client host for client-to-client traffic.
#
# Pools (one ISD-AS): P4 10.66.0.0/24, gateway GW4 10.66.0.1, routes [192.0.2.0/24]; P6
# fd66::/64, gateway GW6 fd66::1, routes [2001:db8:66::/64]. A client enrolled without a pool
# gets IPv4 (the allocator's default); traffic_join NAME NS P6 binds a client to the IPv6 pool.

CLIENT=${CLIENT:-$BUILD/snaptun-client}
TCPXFER=${TCPXFER:-$BUILD/tools/tcpxfer}
GWDEV=snaptun-gw
GW4=10.66.0.1 GW6=fd66::1 SVC4=192.0.2.1 SVC6=2001:db8:66::1
P4= P6=	# the pools' ids
declare -A UP_PID=()
ST=	# the last traffic_status answer (JSON)

# traffic_env WHAT [--third]: the namespaces, the manager and the gateway agent in B, the pools.
# Skips the whole test (WHAT names it) where the machine cannot make namespaces or TUN devices;
# bails out when a step that should work fails.
traffic_env() {
	local what=$1 b rc
	for b in "$MANAGER" "$AGENT" "$CLIENT" "$TCPXFER"; do
		[ -x "$b" ] || e2e_bail "$b is not built (make all)"
	done
	command -v curl >/dev/null || e2e_bail "curl is missing (make deps)"
	netns_pair
	rc=$?
	if [ $rc = 1 ]; then
		skip "$what" "$NETNS_SKIP"
		e2e_finish
	fi
	[ $rc = 0 ] || e2e_bail "netns_pair: $NETNS_ERR"
	if [ "${2-}" = --third ]; then
		netns_third || e2e_bail "netns_third: $NETNS_ERR"
	fi
	in_ns B ip addr add "$SVC4/32" dev lo && in_ns B ip addr add "$SVC6/128" dev lo ||
	    e2e_bail "the service addresses on B's loopback"
	# lib.bash's helpers start these by fixed paths: wrapped, they run in B; api's curl too
	# (the API listens on B's veth address).
	MANAGER=$(netns_wrap B "$MANAGER") && AGENT=$(netns_wrap B "$AGENT") &&
	    netns_wrap B curl >/dev/null || e2e_bail "netns_wrap"
	PATH=$NETNS_TMP/bin-B:$PATH
	MGR_LISTEN=$NS_B4:0
	mgr_start "$E2E_TMP/mgr" --enroll-rate 100000 --enroll-burst 100000 ||
	    e2e_bail "the manager starts in B"
	TOKEN=$(cat "$E2E_TMP/mgr/admin.token")
	api POST /v1/pools "{\"name\":\"p4\",\"isd_as\":\"1-ff00:0:110\",\"prefix\":\"10.66.0.0/24\",\"mode\":\"ip\",\"gateway\":\"$GW4\",\"routes\":[\"192.0.2.0/24\"]}"
	[ "$STATUS" = 201 ] || e2e_bail "POST /v1/pools (IPv4) -> $STATUS: $BODY"
	P4=$(jget .id)
	api POST /v1/pools "{\"name\":\"p6\",\"isd_as\":\"1-ff00:0:110\",\"prefix\":\"fd66::/64\",\"mode\":\"ip\",\"gateway\":\"$GW6\",\"routes\":[\"2001:db8:66::/64\"]}"
	[ "$STATUS" = 201 ] || e2e_bail "POST /v1/pools (IPv6) -> $STATUS: $BODY"
	P6=$(jget .id)
	AGENT_LISTEN=$NS_B4:0
	agent_start "$E2E_TMP/agent" --tun "$GWDEV" || e2e_bail "the agent starts in B with --tun"
	wait_for 10 agent_connected || e2e_bail "the agent connects to the manager: $BODY"
	wait_for 10 gw_ready || e2e_bail "$GWDEV holds $GW4 and $GW6: $(in_ns B ip addr show dev "$GWDEV" 2>&1)"
}

# The agent's device holds both gateway addresses.
gw_ready() {
	local a
	a=$(in_ns B ip -o addr show dev "$GWDEV" 2>/dev/null)
	grep -qF "inet $GW4/24" <<<"$a" && grep -qF "inet6 $GW6/64" <<<"$a"
}

# traffic_join NAME NS [POOL_ID]: enroll client NAME from namespace NS with snaptun-client join
# (a join token bound to POOL_ID when given); its bundle is $E2E_TMP/NAME.bundle.
traffic_join() {
	local jt
	api POST /v1/join-tokens "{\"name\":\"$1\"${3:+,\"pool\":$3}}"
	[ "$STATUS" = 201 ] || e2e_bail "POST /v1/join-tokens for $1 -> $STATUS: $BODY"
	jt=$(jget .token)
	in_ns "$2" timeout 20 "$CLIENT" join --manager "$URL" --token "$jt" --name "$1" \
	    --bundle "$E2E_TMP/$1.bundle" >"$E2E_TMP/$1.join.out" 2>"$E2E_TMP/$1.join.err" ||
	    e2e_bail "snaptun-client join for $1: $(tail -n 3 "$E2E_TMP/$1.join.err")"
}

# traffic_up NAME NS DEV [ARG...]: `snaptun-client up` for NAME's bundle in namespace NS with TUN
# device DEV, its control socket $E2E_TMP/NAME.sock, output NAME.out / NAME.err; waits (15 s)
# for it to be up, then ADDR (its address) and MTU (its device's MTU).
traffic_up() {
	local name=$1 ns=$2 dev=$3
	shift 3
	netns_bg "$ns" "$CLIENT" up --bundle "$E2E_TMP/$name.bundle" --tun "$dev" \
	    --control "$E2E_TMP/$name.sock" "$@" >>"$E2E_TMP/$name.out" 2>>"$E2E_TMP/$name.err"
	UP_PID[$name]=$NETNS_BG_PID
	wait_for 15 traffic_is_up "$name" ||
	    e2e_bail "client $name is not up: $ST $(tail -n 5 "$E2E_TMP/$name.err")"
	ADDR=$(jget .address "$ST")
	MTU=$(in_ns "$ns" ip -o link show dev "$dev" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p')
}

# traffic_status NAME: the running client's status in ST (JSON).
traffic_status() {
	ST=$("$CLIENT" status --json --control "$E2E_TMP/$1.sock" 2>&1)
}

# traffic_is_up NAME: the client says it is up.
traffic_is_up() {
	traffic_status "$1" && [ "$(jget .state "$ST")" = up ]
}

# pings NS ADDR [ARG...]: NS reaches ADDR with ping (3 echoes within 10 s, 0.2 s apart; one
# lost is tolerated: the first IPv6 packet after an address appears may be dropped by the
# kernel). Its output in $E2E_TMP/ping.
pings() {
	local ns=$1 dst=$2
	shift 2
	in_ns "$ns" ping -c 3 -i 0.2 -W 2 -w 10 "$@" "$dst" >"$E2E_TMP/ping" 2>&1
	grep -Eq ' (0|33)(\.[0-9]+)?% packet loss' "$E2E_TMP/ping"
}

# ping_check DESC NS ADDR [ARG...]: one check of pings, ping's summary shown when it fails.
ping_check() {
	local desc=$1
	shift
	pings "$@" && { ok "$desc"; return 0; }
	not_ok "$desc"
	diag "$(tail -n 3 "$E2E_TMP/ping")"
	return 1
}

# xfer_serve NS ADDR: a tcpxfer server in NS on ADDR (any free port); XFER_PORT, XFER_SRV (its
# pid), its output in $E2E_TMP/xfer.srv.
xfer_serve() {
	rm -f "$E2E_TMP/xfer.srv"
	netns_bg "$1" timeout 120 "$TCPXFER" serve "$2" 0 >"$E2E_TMP/xfer.srv" 2>&1
	XFER_SRV=$NETNS_BG_PID
	wait_line "$E2E_TMP/xfer.srv" '^listening [0-9]+$' 5 || e2e_bail "tcpxfer serve on $2: $(cat "$E2E_TMP/xfer.srv")"
	XFER_PORT=$(awk '/^listening/ { print $2 }' "$E2E_TMP/xfer.srv")
}

# xfer_check: the server's "received N HASH" equals the sender's "sent N HASH" in
# $E2E_TMP/xfer.snd (both present); the server is reaped (5 s at most).
xfer_check() {
	local r s
	wait_line "$E2E_TMP/xfer.srv" '^received ' 5
	netns_stop "$XFER_SRV" 1
	r=$(sed -n 's/^received //p' "$E2E_TMP/xfer.srv")
	s=$(sed -n 's/^sent //p' "$E2E_TMP/xfer.snd")
	[ -n "$s" ] && [ "$r" = "$s" ]
}

# traffic_session PSSID: the agent's session of PSSID from GET /v1/sessions into BODY (1 if none).
traffic_session() {
	api GET "/v1/sessions?pssid=$1"
	[ "$STATUS" = 200 ] && [ "$(jlen .items)" -ge 1 ]
}

# bundle_pssid NAME: the pssid in NAME's bundle.
bundle_pssid() {
	jget .pssid "$(cat "$E2E_TMP/$1.bundle")"
}
