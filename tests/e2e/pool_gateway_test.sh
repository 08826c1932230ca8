#!/usr/bin/env bash
# End-to-end test of a pool's gateway settings (api.md "Pools": gateway, routes,
# client_to_client): validation through the API (problem+json naming the field, the element of
# routes), the gateway's address kept out of size and free and never granted (a /29 exhausted
# through ALLOC_REQ from build/tools/chanpeer, a stand-in agent, and a request for the gateway's
# address itself), 409 when the gateway would land on a granted or reserved address, the
# settings in the snapshot's POOL and in the POOL_UPDATE a PATCH pushes, and the networks of
# join bundles and of POST /v1/token answers.
# Run from the repository root: BUILD=build bash tests/e2e/pool_gateway_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

PEER=$BUILD/tools/chanpeer
[ -x "$MANAGER" ] || e2e_bail "$MANAGER is not built (make all)"
[ -x "$PEER" ] || e2e_bail "$PEER is not built (make all)"
command -v curl >/dev/null || e2e_bail "curl is missing (make deps)"

STATE=$E2E_TMP/state
SOCK=$STATE/agent.sock
IA=1-ff00:0:110

# has FILE ERE: that FILE has a line matching ERE (into the verdict).
has() {
	grep -Eq -- "$2" "$1" || fail "no line /$2/ in $(basename "$1"): $(tr '\n' '|' <"$1" | head -c 600)"
}

mgr_start "$STATE" --enroll-rate 100000 --enroll-burst 100000 || e2e_bail "the manager did not start"
TOKEN=$(cat "$STATE/admin.token")

# ---- validation ----
# bad BODY FIELD DESC: POST /v1/pools with BODY is 400 naming FIELD.
bad() {
	api POST /v1/pools "$1"
	want_problem 400 "$2"
	verdict "POST /v1/pools: $3 -> 400 field $2"
}
bad "{\"name\":\"v\",\"isd_as\":\"$IA\",\"prefix\":\"10.1.0.0/24\",\"gateway\":\"10.1.1.1\"}" gateway \
    "a gateway outside the prefix"
bad "{\"name\":\"v\",\"isd_as\":\"$IA\",\"prefix\":\"10.1.0.0/24\",\"gateway\":\"10.1.0.255\"}" gateway \
    "the broadcast address as gateway"
bad "{\"name\":\"v\",\"isd_as\":\"$IA\",\"prefix\":\"10.1.0.0/24\",\"gateway\":\"2001:db8::1\"}" gateway \
    "a gateway of the other family"
bad "{\"name\":\"v\",\"isd_as\":\"$IA\",\"prefix\":\"10.1.0.0/24\",\"gateway\":\"nope\"}" gateway \
    "a gateway that is no address"
bad "{\"name\":\"v\",\"isd_as\":\"$IA\",\"prefix\":\"10.1.0.0/24\",\"gateway\":5}" gateway \
    "a gateway that is no string"
bad "{\"name\":\"v\",\"isd_as\":\"$IA\",\"prefix\":\"10.1.0.0/24\",\"routes\":[\"192.168.50.0/24\",\"10.9.0.0/16\",\"127.0.0.0/8\"]}" \
    'routes[2]' "a loopback route"
bad "{\"name\":\"v\",\"isd_as\":\"$IA\",\"prefix\":\"10.1.0.0/24\",\"routes\":[\"169.254.1.0/24\"]}" \
    'routes[0]' "a link-local route"
bad "{\"name\":\"v\",\"isd_as\":\"$IA\",\"prefix\":\"10.1.0.0/24\",\"routes\":[\"10.9.0.0/16\",\"224.0.0.0/8\"]}" \
    'routes[1]' "a multicast route"
bad "{\"name\":\"v\",\"isd_as\":\"$IA\",\"prefix\":\"10.1.0.0/24\",\"routes\":[\"10.9.0.1/16\"]}" \
    'routes[0]' "a route that is not canonical"
bad "{\"name\":\"v\",\"isd_as\":\"$IA\",\"prefix\":\"10.1.0.0/24\",\"routes\":[\"2001:db8::/32\"]}" \
    'routes[0]' "an IPv6 route in an IPv4 pool"
bad "{\"name\":\"v\",\"isd_as\":\"$IA\",\"prefix\":\"10.1.0.0/24\",\"routes\":[\"10.9.0.0/16\",\"10.9.0.0/16\"]}" \
    'routes[1]' "a duplicate route"
bad "{\"name\":\"v\",\"isd_as\":\"$IA\",\"prefix\":\"10.1.0.0/24\",\"routes\":[7]}" \
    'routes[0]' "a route that is no string"
bad "{\"name\":\"v\",\"isd_as\":\"$IA\",\"prefix\":\"10.1.0.0/24\",\"routes\":\"10.9.0.0/16\"}" \
    routes "routes that are no array"
MANY=$(for i in $(seq 0 64); do printf '"10.%d.0.0/16",' $((100 + i)); done)
bad "{\"name\":\"v\",\"isd_as\":\"$IA\",\"prefix\":\"10.1.0.0/24\",\"routes\":[${MANY%,}]}" \
    routes "65 routes"
bad "{\"name\":\"v\",\"isd_as\":\"$IA\",\"prefix\":\"10.1.0.0/24\",\"client_to_client\":\"no\"}" \
    client_to_client "client_to_client that is no boolean"

api POST /v1/pools "{\"name\":\"plain\",\"isd_as\":\"$IA\",\"prefix\":\"10.2.0.0/24\"}"
want_status 201
want_raw .gateway null
want_len .routes 0
want_raw .client_to_client true
want_raw .size 254
verdict "a pool without the settings: gateway null, no routes, client_to_client true"
PLAIN=$(jget .id)

# ---- a /29 with a gateway: never granted ----
api POST /v1/pools "{\"name\":\"gw\",\"isd_as\":\"$IA\",\"prefix\":\"10.0.0.0/29\",\"gateway\":\"10.0.0.1\",\"routes\":[\"192.168.50.0/24\",\"0.0.0.0/0\"],\"client_to_client\":false}"
want_status 201
want .gateway 10.0.0.1
want .routes[0] 192.168.50.0/24
want .routes[1] 0.0.0.0/0
want_raw .client_to_client false
want_raw .size 5
want_raw .free 5
verdict "POST /v1/pools with gateway, routes and client_to_client: stored, the gateway out of size and free"
GW=$(jget .id)
api GET "/v1/pools/$GW"
want .gateway 10.0.0.1
want .routes[1] 0.0.0.0/0
verdict "GET /v1/pools/{id} shows the settings"

peer "$E2E_TMP/snap.out" --agent-id 1 --listen 127.0.0.1:4433 --until SNAPSHOT_END
that "chanpeer exited $RC" test "$RC" = 0
has "$E2E_TMP/snap.out" "^POOL id=$GW name=gw isd_as=$IA prefix=10\.0\.0\.0/29 hold=600 gateway=10\.0\.0\.1 routes=192\.168\.50\.0/24,0\.0\.0\.0/0 isolate_clients=1$"
has "$E2E_TMP/snap.out" "^POOL id=$PLAIN name=plain isd_as=$IA prefix=10\.2\.0\.0/24 hold=600$"
verdict "the snapshot's POOL carries gateway, routes and isolate_clients (= !client_to_client)"

ARGS=()
for i in 1 2 3 4 5 6; do ARGS+=(--alloc "11111111-1111-4111-8111-00000000000$i@$IA"); done
ARGS+=(--alloc "11111111-1111-4111-8111-000000000007@$IA/10.0.0.1")
# Pool "plain" would take over once gw is exhausted.
api DELETE "/v1/pools/$PLAIN"
want_status 204
verdict "the other pool goes (the /29 is the only one left)"
peer "$E2E_TMP/alloc.out" --agent-id 1 "${ARGS[@]}" --until ALLOC_RES:7
O=$E2E_TMP/alloc.out
that "chanpeer exited $RC" test "$RC" = 0
GOT=$(sed -n 's/^ALLOC_RES .* address=\(10\.0\.0\.[0-9]*\) .*error=0 .*/\1/p' "$O" | sort -t. -k4 -n | tr '\n' ' ')
that "granted: $GOT, expected 10.0.0.2 to .6" test "$GOT" = "10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 10.0.0.6 "
that "the sixth request did not fail as exhausted" test "$(grep -c 'error=-[0-9]* reason="no address available' "$O")" = 1
has "$O" 'ALLOC_RES corr=[0-9]+ grant=0 address=- .* reason="address 10\.0\.0\.1 is reserved for another client"$'
verdict "ALLOC_REQ until the /29 is exhausted: .2 to .6, never the gateway .1, and asking for it is refused"

api GET "/v1/pools/$GW"
want_raw .assigned 5
want_raw .free 0
verdict "the exhausted pool: 5 assigned, 0 free"

api POST "/v1/pools/$GW/reservations" '{"pssid":"r-1","address":"10.0.0.1"}'
want_problem 409 address
verdict "reserving the gateway's address -> 409 field address"

# ---- PATCH ----
peer_bg "$E2E_TMP/watch.out" --agent-id 2 --listen 127.0.0.1:4434 --timeout 30
W=$E2E_TMP/watch.out
wait_line "$W" '^SNAPSHOT_END' 5 || fail "the watching peer got no snapshot"
api PATCH "/v1/pools/$GW" '{"gateway":"10.0.0.3"}'
want_problem 409 gateway
want_match .detail 'granted'
verdict "PATCH gateway onto an assigned address -> 409 field gateway"
api PATCH "/v1/pools/$GW" '{"gateway":"10.0.0.9"}'
want_problem 400 gateway
verdict "PATCH gateway outside the prefix -> 400 field gateway"
api PATCH "/v1/pools/$GW" '{"routes":["10.9.0.0/16","fe80::/64"]}'
want_problem 400 'routes[1]'
verdict "PATCH routes with a wrong element -> 400 naming it"
api PATCH "/v1/pools/$GW" '{}'
want_problem 400 -
verdict "PATCH with nothing to change -> 400"
api PATCH "/v1/pools/$GW" '{"routes":["192.168.60.0/24"],"client_to_client":true}'
want_status 200
want .routes[0] 192.168.60.0/24
want_len .routes 1
want_raw .client_to_client true
want .gateway 10.0.0.1
wait_line "$W" "^POOL_UPDATE id=$GW name=gw .* hold=600 gateway=10\.0\.0\.1 routes=192\.168\.60\.0/24 removed=0$" 3 ||
    fail "no POOL_UPDATE with the new routes and client_to_client"
verdict "PATCH routes and client_to_client -> 200 and a POOL_UPDATE carrying them"
api PATCH "/v1/pools/$GW" '{"gateway":null}'
want_status 200
want_raw .gateway null
want_raw .size 6
want_raw .free 1
wait_line "$W" "^POOL_UPDATE id=$GW name=gw .* hold=600 routes=192\.168\.60\.0/24 removed=0$" 3 ||
    fail "no POOL_UPDATE without the gateway"
verdict "PATCH gateway null removes it: its address counts as free again, POOL_UPDATE without it"
peer "$E2E_TMP/alloc2.out" --agent-id 1 --alloc "11111111-1111-4111-8111-000000000008@$IA" --until ALLOC_RES:1
has "$E2E_TMP/alloc2.out" '^ALLOC_RES .* address=10\.0\.0\.1 .*error=0 '
verdict "the former gateway's address is granted once it is none"
api PATCH "/v1/pools/$GW" '{"gateway":"10.0.0.1"}'
want_problem 409 gateway
verdict "PATCH gateway onto it now that it is granted -> 409"

# ---- networks in the join bundle and the token answer ----
api POST /v1/pools "{\"name\":\"v6\",\"isd_as\":\"$IA\",\"prefix\":\"2001:db8:7::/64\",\"gateway\":\"2001:db8:7::1\",\"routes\":[\"2001:db8:99::/48\"]}"
want_status 201
V6=$(jget .id)
api POST /v1/pools "{\"name\":\"sc\",\"isd_as\":\"$IA\",\"prefix\":\"10.5.0.0/24\",\"mode\":\"scion\"}"
want_status 201
verdict "an IPv6 pool with a gateway and a scion pool"

api POST /v1/join-tokens '{"name":"n1"}'
JT=$(jget .token)
api -t "" POST /v1/join "{\"token\":\"$JT\"}"
want_status 201
want_len .networks 2
want .networks[0].pool gw
want .networks[0].isd_as "$IA"
want_raw .networks[0].family 4
want .networks[0].prefix 10.0.0.0/29
want_raw .networks[0].gateway null
want .networks[0].routes[0] 192.168.60.0/24
want .networks[1].pool v6
want .networks[1].gateway 2001:db8:7::1
want .networks[1].routes[0] 2001:db8:99::/48
verdict "a join bundle without a bound pool lists every ip pool (not the scion one) as networks"
RT=$(jget .refresh_token)
api -t "" POST /v1/join/ack "{\"ack_token\":\"$(jget .ack_token)\"}"
want_status 204
api -t "" POST /v1/token "{\"refresh_token\":\"$RT\"}"
want_status 200
want_len .networks 2
want .networks[1].prefix 2001:db8:7::/64
verdict "the POST /v1/token answer carries the same networks"

api POST /v1/join-tokens "{\"name\":\"n2\",\"pool\":$V6}"
JT=$(jget .token)
api -t "" POST /v1/join "{\"token\":\"$JT\"}"
want_status 201
want_len .networks 1
want .networks[0].pool v6
want_raw .networks[0].family 6
verdict "a join token bound to a pool: its bundle lists that pool only"

no_sanitizer_reports
e2e_finish
