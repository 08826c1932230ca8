#!/usr/bin/env bash
# End-to-end test of the admin API: a real snaptun-manager on a temporary state dir and a free
# loopback port, driven with curl. Health, authentication and scopes, admin tokens, pools,
# reservations, grants (seeded with the store's CLI, sqlite3 or psql, while the manager is
# stopped, as the allocator has no HTTP route yet), paging, the audit log, bad input, a kill -9 restart,
# --check, and HTTPS. Run from the repository root: BUILD=build bash tests/e2e/api_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

[ -x "$MANAGER" ] || e2e_bail "$MANAGER is not built (make all)"
command -v curl >/dev/null || e2e_bail "curl is missing (make deps)"

STATE=$E2E_TMP/state
POOLS_CREATED=0		# pools created with 201, to match against the audit log

# pool_count / event_count: how many there are now (one page of up to 1000).
pool_count() {
	api GET '/v1/pools?limit=1000'
	jlen .items
}

event_count() {
	api GET '/v1/events?limit=1000'
	jlen .items
}

# cli ARG...: run the manager once (CLI_TIMEOUT, 10 s at most); CLI_RC, output in cli.out
# (and cli.log).
cli() {
	timeout "${CLI_TIMEOUT:-10}" "$MANAGER" "$@" >"$E2E_TMP/cli.out" 2>&1
	CLI_RC=$?
	echo "$CLI_RC" >>"$E2E_TMP/cli.rc"
	cat "$E2E_TMP/cli.out" >>"$E2E_TMP/cli.log"
	# What verdict shows on failure.
	REQ="snaptun-manager $*"
	STATUS="exit $CLI_RC"
	BODY=$(head -c 1500 "$E2E_TMP/cli.out")
}

# create_pool JSON: POST /v1/pools; counts the successes.
create_pool() {
	api POST /v1/pools "$1"
	[ "$STATUS" = 201 ] && POOLS_CREATED=$((POOLS_CREATED + 1))
}

# ======================================================================= start and health

require "the manager starts and writes its URL to manager.url within 10 s" mgr_start "$STATE"
M1=$MGR_PID
check "manager.url is a loopback http URL" \
    grep -Eq '^http://127\.0\.0\.1:[0-9]+$' "$STATE/manager.url"

ADMIN=$(cat "$STATE/admin.token" 2>/dev/null)
cp "$STATE/admin.token" "$E2E_TMP/admin.token.first" 2>/dev/null
check "the bootstrap admin token is written to admin.token with mode 0600" \
    test "$(stat -c %a "$STATE/admin.token" 2>/dev/null)" = 600 -a -n "$ADMIN"
check "the bootstrap admin token is printed once on stdout" \
    grep -qF "$ADMIN" "$STATE.out"

api GET '/v1/health?live'
want_status 200
want_header Content-Type application/json
want .status ok
want_match .version '^[0-9]+\.[0-9]+\.[0-9]+'
want_match .uptime_seconds '^[0-9]+$'
verdict "GET /v1/health?live without a token -> 200 {status ok, version, uptime}"

# Readiness: the store takes writes, but no agent is connected to this manager.
api GET /v1/health
want_problem 503 agents
want .db ok
want .agents_connected 0
want_header Retry-After 1
verdict "GET /v1/health without an agent -> 503 problem naming agents (db ok, 0 connected)"
# That 503 is the answer wanted, not a fault for the check of 5xx answers at the end.
[ "$STATUS" = 503 ] && unset 'E2E_5XX[-1]'

api -t "sna_bogus" GET '/v1/health?live'
want_status 200
verdict "GET /v1/health ignores a bad token (public route)"

api HEAD '/v1/health?live'
want_status 200
want_header Content-Type application/json
verdict "HEAD /v1/health?live -> 200 application/json"

api POST /v1/health '{}'
want_problem 405 -
want_header Allow GET
verdict "POST /v1/health -> 405 with Allow: GET"

# ======================================================================= authentication

TOKEN=$ADMIN

api -t "" GET /v1/pools
want_problem 401 -
want_header WWW-Authenticate 'Bearer realm="snaptun"'
want .instance /v1/pools
verdict "no Authorization -> 401 problem+json with WWW-Authenticate"

api -t "sna_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" GET /v1/pools
want_problem 401 -
want_header WWW-Authenticate 'Bearer realm="snaptun"'
verdict "an unknown token -> 401"

api -t "" -H "Authorization: Basic $(printf 'admin:%s' "$ADMIN" | base64 -w0)" GET /v1/pools
want_problem 401 -
verdict "Basic authorization with the admin secret -> 401"

api -t "" -H "Authorization: Bearer" GET /v1/pools
want_problem 401 -
verdict "an empty bearer token -> 401"

api -t "" -H "Authorization: bearer $ADMIN" GET /v1/pools
want_status 200
verdict "the auth scheme is case-insensitive (bearer) -> 200"

api GET /v1/admin-tokens
want_status 200
want_len .items 1
want .items[0].name bootstrap
want .items[0].scope admin
want .items[0].created_by snaptun-manager
want_raw .items[0].expired false
want_raw .items[0].expires_at null
want_absent .items[0].token
want_raw .next null
verdict "the admin token works: GET /v1/admin-tokens lists the bootstrap token"
BOOT_ID=$(jget .items[0].id)

api POST /v1/admin-tokens '{"name":"reader","scope":"read"}'
want_status 201
want .name reader
want .scope read
want .created_by bootstrap
want_raw .expired false
want_match .token '^sna_[A-Za-z0-9_-]{20,}$'
want_match .id '^[0-9]+$'
want_header Location "/v1/admin-tokens/$(jget .id)"
verdict "POST /v1/admin-tokens scope read -> 201 with the secret and a Location"
READER=$(jget .token)
READER_ID=$(jget .id)

api POST /v1/admin-tokens '{"name":"provisioner","scope":"provision","ttl_seconds":86400}'
want_status 201
want .scope provision
want_match .expires_at '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$'
want_match .token '^sna_'
verdict "POST /v1/admin-tokens scope provision with ttl_seconds -> 201 with expires_at"
PROV=$(jget .token)

api POST /v1/admin-tokens '{"name":"reader","scope":"read"}'
want_problem 409 name
verdict "a second token named reader -> 409 field name"

api POST /v1/admin-tokens '{"name":"x","scope":"root"}'
want_problem 400 scope
verdict "scope root -> 400 field scope"

api POST /v1/admin-tokens '{"name":"x","scope":"read","ttl_seconds":-1}'
want_problem 400 ttl_seconds
verdict "ttl_seconds -1 -> 400 field ttl_seconds"

api POST /v1/admin-tokens '{"name":"","scope":"read"}'
want_problem 400 name
verdict "an empty token name -> 400 field name"

api -t "$READER" GET /v1/pools
want_status 200
verdict "a read token may GET /v1/pools"

for p in /v1/grants /v1/events; do
	api -t "$READER" GET "$p"
	want_status 200
	verdict "a read token may GET $p"
done

api -t "$READER" POST /v1/pools '{"name":"by-reader","isd_as":"1-ff00:0:110","prefix":"10.250.0.0/24"}'
want_problem 403 -
verdict "a read token may not POST /v1/pools -> 403"

api -t "$READER" GET /v1/admin-tokens
want_problem 403 -
verdict "a read token may not list admin tokens -> 403"

api -t "$READER" POST /v1/admin-tokens '{"name":"escalate","scope":"admin"}'
want_problem 403 -
verdict "a read token may not create admin tokens -> 403"

api -t "$READER" GET /v1/admin-tokens/self
want_status 200; want .name reader; want .scope read
verdict "GET /v1/admin-tokens/self tells a read token its own name and scope"
api -t "$PROV" GET /v1/admin-tokens/self
want_status 200; want .name provisioner; want .scope provision
verdict "GET /v1/admin-tokens/self answers a provision token too"
api GET /v1/admin-tokens/self
want_status 200; want .scope admin; want_absent .token
verdict "GET /v1/admin-tokens/self for the admin token: scope admin, never a secret"
api -t sna_nope GET /v1/admin-tokens/self
want_problem 401 -
verdict "GET /v1/admin-tokens/self with an unknown token -> 401"

api -t "$PROV" GET /v1/pools
want_status 200
verdict "a provision token may list pools (GET /v1/pools -> 200): it must find the pool id of its join tokens"

api -t "$PROV" POST /v1/pools '{"name":"by-provisioner","isd_as":"1-ff00:0:110","prefix":"10.251.0.0/24"}'
want_problem 403 -
verdict "a provision token may not POST /v1/pools -> 403"

api -t "$PROV" GET /v1/grants
want_problem 403 -
verdict "a provision token may not GET /v1/grants -> 403"

api -t "$PROV" GET /v1/events
want_problem 403 -
verdict "a provision token may not GET /v1/events -> 403"

api -t "$PROV" DELETE "/v1/admin-tokens/$BOOT_ID"
want_problem 403 -
verdict "a provision token may not delete admin tokens -> 403"

api GET /v1/admin-tokens
want_status 200
want_len .items 3
want .items[1].id "$READER_ID"
want .items[1].scope read
want .items[2].scope provision
for s in "$ADMIN" "$READER" "$PROV"; do
	case $BODY in *"$s"*) fail "a token secret appears in the list" ;; esac
done
case $BODY in *sna_*) fail "something secret-like (sna_) appears in the list" ;; esac
[ -z "$(jeach .items token)" ] || fail "an item has a token field"
[ -z "$(jeach .items hash)" ] || fail "an item has a hash field"
verdict "the admin token list shows the new tokens, never their secrets or hashes"

api DELETE "/v1/admin-tokens/$BOOT_ID"
want_problem 409 -
verdict "deleting the only admin-scope token -> 409"

api POST /v1/admin-tokens '{"name":"second-admin","scope":"admin"}'
want_status 201
verdict "a second admin token is created"
SECOND=$(jget .token)
SECOND_ID=$(jget .id)

api -t "$SECOND" GET /v1/admin-tokens
want_status 200
verdict "the second admin token works"

api DELETE "/v1/admin-tokens/$SECOND_ID"
want_status 204
that "a 204 has no body" test -z "$BODY"
verdict "DELETE /v1/admin-tokens/{id} -> 204"

api -t "$SECOND" GET /v1/pools
want_problem 401 -
verdict "a deleted token -> 401"

api DELETE "/v1/admin-tokens/$SECOND_ID"
want_problem 404 -
verdict "deleting it again -> 404"

api DELETE /v1/admin-tokens/abc
want_problem 404 -
verdict "DELETE /v1/admin-tokens/abc -> 404"

# An admin token that expires: checked near the end (it must not be live when the bootstrap
# token's deletion is refused above, and waiting for it here would waste time).
# 6 s: expiry is counted in whole seconds from the creation, and a loaded machine (sanitizers,
# PostgreSQL) can take a second or two between the creation and the first use.
api POST /v1/admin-tokens '{"name":"short","scope":"admin","ttl_seconds":6}'
SHORT_MADE=$(date +%s)
want_status 201
want_raw .expired false
verdict "an admin token with ttl_seconds 6 is created"
SHORT=$(jget .token)

api -t "$SHORT" GET /v1/pools
want_status 200
verdict "the short-lived token works at once"

# ======================================================================= pools

api GET /v1/pools
want_status 200
want_len .items 0
want_raw .next null
verdict "GET /v1/pools on a fresh store -> 200 {items: [], next: null}"

create_pool '{"name":"edge-v4","isd_as":"1-ff00:0:110","prefix":"10.0.0.0/24"}'
P_V4=$(jget .id)
want_status 201
want_match .id '^[1-9][0-9]*$'
want_header Location "/v1/pools/$P_V4"
want .name edge-v4
want .isd_as 1-ff00:0:110
want .prefix 10.0.0.0/24
want_raw .family 4
want_raw .hold_seconds 600
want .strategy sequential
want .mode ip
want_raw .size 254
want_raw .assigned 0
want_raw .on_hold 0
want_raw .reserved 0
want_raw .free 254
want_match .created_at '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$'
want_match .updated_at 'Z$'
verdict "POST /v1/pools 10.0.0.0/24 -> 201, Location, defaults (600 s, sequential, ip), size 254"

api -t "$PROV" GET "/v1/pools/$P_V4"
want_status 200
want .name edge-v4
api -t "$PROV" GET /v1/pools
want .items[0].id "$P_V4"
verdict "a provision token reads a pool (GET /v1/pools/$P_V4 -> 200) and finds it in the list"

api -t "$PROV" DELETE "/v1/pools/$P_V4"
want_problem 403 -
verdict "a provision token may not DELETE a pool -> 403"

create_pool '{"name":"edge-v6","isd_as":"1-ff00:0:110","prefix":"2001:db8:1::/64","strategy":"random","mode":"scion","hold_seconds":0}'
P_V6=$(jget .id)
want_status 201
want .prefix 2001:db8:1::/64
want_raw .family 6
want .strategy random
want .mode scion
want_raw .hold_seconds 0
want_match .size '^[0-9.eE+]+$'
want_raw .reserved 0
verdict "POST /v1/pools IPv6 /64 random scion hold 0 -> 201"

create_pool '{"name":"bgp-as","isd_as":"1-64512","prefix":"10.64.0.0/28"}'
P_BGP=$(jget .id)
want_status 201
want .isd_as 1-64512
want_raw .size 14
verdict "POST /v1/pools with isd_as 1-64512 (decimal AS) -> 201"

create_pool '{"name":"overlap","isd_as":"1-ff00:0:110","prefix":"10.0.0.128/25"}'
want_problem 409 prefix
want_match .detail 'edge-v4'
verdict "a prefix inside another pool of the same ISD-AS -> 409 field prefix naming it"

create_pool '{"name":"overlap","isd_as":"1-ff00:0:110","prefix":"10.0.0.0/8"}'
want_problem 409 prefix
verdict "a prefix containing another pool of the same ISD-AS -> 409 field prefix"

create_pool '{"name":"other-as","isd_as":"2-ff00:0:220","prefix":"10.0.0.0/24"}'
P_OTHER=$(jget .id)
want_status 201
want .isd_as 2-ff00:0:220
verdict "the same prefix in another ISD-AS -> 201"

api GET "/v1/pools/$P_OTHER"
want_status 200
want .prefix 10.0.0.0/24
want .isd_as 2-ff00:0:220
verdict "GET the other ISD-AS's pool -> 200"

create_pool '{"name":"edge-v4","isd_as":"1-ff00:0:110","prefix":"10.9.0.0/24"}'
want_problem 409 name
verdict "a duplicate pool name -> 409 field name"

create_pool '{"name":"hostbits","isd_as":"1-ff00:0:110","prefix":"10.0.0.1/24"}'
want_problem 400 prefix
want_match .detail 'host bits'
want_match .detail '10\.0\.0\.1/24'
verdict "non-canonical 10.0.0.1/24 -> 400 field prefix, detail quotes it and mentions host bits"

for bad in '10.0.0.0/33' '10.0.0/24' 'banana' '2001:db8::/63' ''; do
	create_pool "{\"name\":\"bad\",\"isd_as\":\"1-ff00:0:110\",\"prefix\":\"$bad\"}"
	want_problem 400 prefix
	verdict "prefix \"$bad\" -> 400 field prefix"
done

for bad in '1-' 'x-1' '0-1' '1-0' '1' '65536-1' '1-ff00:0:110:1' ''; do
	create_pool "{\"name\":\"bad\",\"isd_as\":\"$bad\",\"prefix\":\"10.99.0.0/24\"}"
	want_problem 400 isd_as
	verdict "isd_as \"$bad\" -> 400 field isd_as"
done

for bad in -1 2592001; do
	create_pool "{\"name\":\"bad\",\"isd_as\":\"1-ff00:0:110\",\"prefix\":\"10.99.0.0/24\",\"hold_seconds\":$bad}"
	want_problem 400 hold_seconds
	verdict "hold_seconds $bad -> 400 field hold_seconds"
done

create_pool '{"name":"bad","isd_as":"1-ff00:0:110","prefix":"10.99.0.0/24","strategy":"roundrobin"}'
want_problem 400 strategy
verdict "strategy roundrobin -> 400 field strategy"

create_pool '{"name":"bad","isd_as":"1-ff00:0:110","prefix":"10.99.0.0/24","mode":"tun"}'
want_problem 400 mode
verdict "mode tun -> 400 field mode"

create_pool '{"name":"","isd_as":"1-ff00:0:110","prefix":"10.99.0.0/24"}'
want_problem 400 name
verdict "an empty pool name -> 400 field name"

create_pool "{\"name\":\"$(printf 'n%.0s' {1..65})\",\"isd_as\":\"1-ff00:0:110\",\"prefix\":\"10.99.0.0/24\"}"
want_problem 400 name
verdict "a 65-character pool name -> 400 field name"

create_pool '{"name":"tab\there","isd_as":"1-ff00:0:110","prefix":"10.99.0.0/24"}'
want_problem 400 name
verdict "a pool name with a control character -> 400 field name"

create_pool '{"name":"evil\u202egnp.exe","isd_as":"1-ff00:0:110","prefix":"10.99.0.0/24"}'
want_problem 400 name
verdict "a pool name with U+202E (right-to-left override) -> 400 field name"

EMOJI64=$(printf '\xf0\x9f\x98\x80%.0s' {1..64})
api POST /v1/pools "{\"name\":\"$EMOJI64\",\"isd_as\":\"1-ff00:0:110\",\"prefix\":\"10.95.0.0/24\"}"
want_status 201
want .name "$EMOJI64"
EMOJI_POOL=$(jget .id)
[ "$STATUS" = 201 ] && POOLS_CREATED=$((POOLS_CREATED + 1))
verdict "a name of 64 emoji (256 bytes) is 64 characters -> 201, read back whole"
api DELETE "/v1/pools/$EMOJI_POOL"
want_status 204
verdict "and deleted again (the pool list below counts the others)"

create_pool '{"name":"noprefix","isd_as":"1-ff00:0:110"}'
want_problem 400 prefix
verdict "a missing prefix -> 400 field prefix"

for special in ::1/128 ff02::/64 ::ffff:10.0.0.0/120 fe80::/64 127.0.0.0/24 224.0.0.0/24; do
	create_pool "{\"name\":\"special\",\"isd_as\":\"1-ff00:0:110\",\"prefix\":\"$special\"}"
	want_problem 400 prefix
	want_match .detail 'overlaps the'
	verdict "a pool of special-use space ($special) -> 400 field prefix, naming the range"
done

api -c 'application/json; charset=utf-8' POST /v1/pools \
    '{"name":"charset","isd_as":"1-ff00:0:110","prefix":"10.98.0.0/24","hold_seconds":2592000}'
[ "$STATUS" = 201 ] && POOLS_CREATED=$((POOLS_CREATED + 1))
P_TMP=$(jget .id)
want_status 201
want_raw .hold_seconds 2592000
verdict "Content-Type application/json; charset=utf-8 and hold_seconds 2592000 (30 days) -> 201"

api GET "/v1/pools/$P_V4"
want_status 200
want_raw .id "$P_V4"
want .name edge-v4
want .prefix 10.0.0.0/24
want_raw .free 254
verdict "GET /v1/pools/{id} -> 200"

api GET /v1/pools
want_status 200
want_len .items 5
want_raw .next null
[ "$(jeach .items name | tr '\n' ' ')" = "edge-v4 edge-v6 bgp-as other-as charset " ] ||
    fail "names in order: $(jeach .items name | tr '\n' ' ')"
verdict "GET /v1/pools lists the 5 pools in id order (none from failed requests)"

sleep 1	# so that updated_at moves
api PATCH "/v1/pools/$P_V4" '{"name":"edge-v4-renamed","hold_seconds":120}'
want_status 200
want .name edge-v4-renamed
want_raw .hold_seconds 120
want .prefix 10.0.0.0/24
UPDATED=$(jget .updated_at)
that "updated_at moved" test "$UPDATED" != "$(jget .created_at)"
verdict "PATCH /v1/pools/{id} name and hold_seconds -> 200 with the new values"

api GET "/v1/pools/$P_V4"
want .name edge-v4-renamed
want_raw .hold_seconds 120
verdict "GET after PATCH shows the new name and hold_seconds"

api PATCH "/v1/pools/$P_V4" '{"hold_seconds":0}'
want_status 200
want_raw .hold_seconds 0
want .name edge-v4-renamed
verdict "PATCH hold_seconds 0 alone -> 200, name unchanged"

api PATCH "/v1/pools/$P_V4" '{"name":"edge-v4"}'
want_status 200
want .name edge-v4
want_raw .hold_seconds 0
verdict "PATCH name alone -> 200, hold_seconds unchanged"

api PATCH "/v1/pools/$P_V4" '{}'
want_problem 400
verdict "PATCH {} -> 400"

api PATCH "/v1/pools/$P_V4" '{"name":"edge-v6"}'
want_problem 409 name
verdict "PATCH to another pool's name -> 409 field name"

api PATCH "/v1/pools/$P_V4" '{"hold_seconds":2592001}'
want_problem 400 hold_seconds
verdict "PATCH hold_seconds 2592001 -> 400 field hold_seconds"

api PATCH "/v1/pools/$P_V4" '{"prefix":"10.1.0.0/24"}'
want_problem 400 prefix
verdict "PATCH prefix (not changeable) -> 400 naming the field"

api PATCH /v1/pools/999 '{"name":"ghost"}'
want_problem 404
verdict "PATCH an unknown pool -> 404"

for id in abc 0 -1 01 1x 99999999999999999999; do
	api GET "/v1/pools/$id"
	want_problem 404 -
	verdict "GET /v1/pools/$id -> 404"
done

api DELETE "/v1/pools/$P_TMP?force=maybe"
want_problem 400 force
verdict "DELETE ?force=maybe -> 400 field force"

api DELETE "/v1/pools/$P_TMP"
want_status 204
that "a 204 has no body" test -z "$BODY"
verdict "DELETE an empty pool -> 204"

api GET "/v1/pools/$P_TMP"
want_problem 404 -
verdict "GET a deleted pool -> 404"

api DELETE "/v1/pools/$P_TMP"
want_problem 404
verdict "DELETE a deleted pool -> 404"

create_pool '{"name":"charset","isd_as":"1-ff00:0:110","prefix":"10.98.0.0/24"}'
want_status 201
that "a new id is used" test "$(jget .id)" != "$P_TMP"
verdict "a deleted pool's name and prefix are free again -> 201 with a new id"
P_TMP=$(jget .id)

# ======================================================================= reservations

R=/v1/pools/$P_V4/reservations

api GET "$R"
want_status 200
want_len .items 0
verdict "GET reservations of a new pool -> 200 []"

api POST "$R" '{"pssid":"client-1","address":"10.0.0.10"}'
want_status 201
want_header Location "$R/10.0.0.10"
want .pssid client-1
want .address 10.0.0.10
want_raw .pool_id "$P_V4"
want_match .id '^[0-9]+$'
verdict "POST reservation 10.0.0.10 -> 201 with a Location"

api GET "/v1/pools/$P_V4"
want_raw .reserved 1
want_raw .free 253
verdict "the pool counts the reservation (reserved 1, free 253)"

for bad in 10.0.1.10 10.0.0.0 10.0.0.255 2001:db8:1::10; do
	api POST "$R" "{\"pssid\":\"client-x\",\"address\":\"$bad\"}"
	want_problem 400 address
	verdict "reserving $bad (not an assignable address of the pool) -> 400 field address"
done

api POST "$R" '{"pssid":"client-x","address":"not-an-ip"}'
want_problem 400 address
verdict "reserving not-an-ip -> 400 field address"

api POST "$R" '{"pssid":"bad pssid!","address":"10.0.0.11"}'
want_problem 400 pssid
verdict "an invalid pssid -> 400 field pssid"

api POST "$R" '{"pssid":"client-2","address":"10.0.0.10"}'
want_problem 409 address
verdict "reserving the same address again -> 409 field address"

api POST "$R" '{"pssid":"client-1","address":"10.0.0.11"}'
want_problem 409 pssid
verdict "a second reservation for the same pssid in the pool -> 409 field pssid"

api POST /v1/pools/999/reservations '{"pssid":"client-1","address":"10.0.0.11"}'
want_problem 404
verdict "reserving in an unknown pool -> 404"

api POST "/v1/pools/$P_V6/reservations" '{"pssid":"client-6","address":"2001:db8:1::10"}'
want_status 201
want .address 2001:db8:1::10
verdict "reserving 2001:db8:1::10 in the IPv6 pool -> 201"

api POST "$R" '{"pssid":"client-keep","address":"10.0.0.20"}'
want_status 201
verdict "a second reservation (kept for the restart) -> 201"

api GET "$R"
want_status 200
want_len .items 2
[ "$(jeach .items address | tr '\n' ' ')" = "10.0.0.10 10.0.0.20 " ] ||
    fail "addresses: $(jeach .items address | tr '\n' ' ')"
[ "$(jeach .items pssid | tr '\n' ' ')" = "client-1 client-keep " ] ||
    fail "pssids: $(jeach .items pssid | tr '\n' ' ')"
verdict "GET reservations lists both"

api GET "$R?limit=1"
want_len .items 1
want_match .next '.'
verdict "reservations page with limit=1 and a next cursor"

api DELETE "$R/10.0.0.10"
want_status 204
verdict "DELETE reservation 10.0.0.10 -> 204"

api DELETE "$R/10.0.0.10"
want_problem 404
verdict "deleting it again -> 404"

api DELETE "$R/banana"
want_problem 404
verdict "DELETE a reservation of a non-address -> 404"

api GET "/v1/pools/$P_V4"
want_raw .reserved 1
want_raw .free 253
verdict "the pool counts follow (reserved 1, free 253)"

# ======================================================================= grants (empty)

api GET /v1/grants
want_status 200
want_len .items 0
want_raw .next null
verdict "GET /v1/grants -> 200 {items: [], next: null}"

for q in state=on_hold state=assigned "pool=$P_V4" pssid=client-1 "pool=$P_V4&pssid=x&state=assigned&limit=5"; do
	api GET "/v1/grants?$q"
	want_status 200
	want_len .items 0
	verdict "GET /v1/grants?$q -> 200 []"
done

for q in state=bogus:state pool=x:pool pool=0:pool pool=-3:pool 'pssid=a%20b:pssid' limit=0:limit; do
	api GET "/v1/grants?${q%:*}"
	want_problem 400 "${q##*:}"
	verdict "GET /v1/grants?${q%:*} -> 400 field ${q##*:}"
done

api GET /v1/grants/999
want_problem 404 -
verdict "GET /v1/grants/999 -> 404"

api DELETE /v1/grants/999
want_problem 404 -
verdict "DELETE /v1/grants/999 -> 404"

api GET /v1/grants/999/history
want_problem 404 -
verdict "GET /v1/grants/999/history -> 404"

# ======================================================================= paging

for i in 1 2 3 4 5; do
	create_pool "{\"name\":\"page-$i\",\"isd_as\":\"3-ff00:0:1\",\"prefix\":\"10.100.$i.0/24\"}"
	want_status 201
done
verdict "5 more pools are created for paging"

api GET '/v1/pools?limit=1000'
ALL_IDS=$(jeach .items id | tr '\n' ' ')
ALL_N=$(jlen .items)

api GET '/v1/pools?limit=2'
want_status 200
want_len .items 2
want_match .next '^[A-Za-z0-9_-]+$'
that "next is a string" test "$(jraw .next | cut -c1)" = '"'
verdict "GET /v1/pools?limit=2 -> 2 items and a next cursor"

seen=
pages=0
after=
while [ $pages -lt 50 ]; do
	api GET "/v1/pools?limit=2${after:+&after=$after}"
	[ "$STATUS" = 200 ] || { fail "page $pages: status $STATUS"; break; }
	n=$(jlen .items)
	[ "$n" -le 2 ] || fail "page $pages has $n items"
	seen="$seen$(jeach .items id | tr '\n' ' ')"
	pages=$((pages + 1))
	[ "$(jraw .next)" = null ] && break
	after=$(jget .next)
	[ "$n" = 2 ] || fail "page $pages has $n items but a next cursor"
done
that "the pages give every pool once, in order: got [$seen], all [$ALL_IDS]" \
    test "$seen" = "$ALL_IDS"
that "$ALL_N pools take $(((ALL_N + 2) / 2)) pages at most, not $pages" \
    test "$pages" -le $(((ALL_N + 2) / 2))
verdict "following next with ?after= until null visits all $ALL_N pools exactly once"

for q in limit=0:limit limit=1001:limit limit=abc:limit limit=:limit after=garbage:after \
    after=__________8:after 'after=AAAAAAAAAAAAAAA:after'; do
	api GET "/v1/pools?${q%:*}"
	want_problem 400 "${q##*:}"
	verdict "GET /v1/pools?${q%:*} -> 400 field ${q##*:}"
done

api GET '/v1/pools?limit=1000'
want_status 200
verdict "GET /v1/pools?limit=1000 -> 200"

# ======================================================================= events

api GET /v1/events
want_status 200
want .items[0].action admin_token.create
want .items[0].actor snaptun-manager
want_match .items[0].at '^[0-9]{4}-.*Z$'
verdict "GET /v1/events starts with the bootstrap token's creation by snaptun-manager"
for s in "$ADMIN" "$READER" "$PROV" "$SECOND"; do
	case $BODY in *"$s"*) fail "a token secret appears in the audit log" ;; esac
done
verdict "the audit log holds no token secrets"

api GET '/v1/events?action=pool.create&limit=1000'
want_status 200
n=$(jlen .items)
that "$n pool.create events for $POOLS_CREATED pools created" test "$n" = "$POOLS_CREATED"
! jeach .items action | grep -qvx pool.create || fail "other actions in the list"
! jeach .items actor | grep -qvx bootstrap || fail "an actor is not bootstrap"
verdict "?action=pool.create: one event per pool created (none for refused ones), actor bootstrap"

api GET "/v1/events?object=pool:$P_V4"
want_status 200
! jeach .items object | grep -qvx "pool:$P_V4" || fail "other objects in the list"
that "actions are pool.create then 3 pool.update: $(jeach .items action | tr '\n' ' ')" \
    test "$(jeach .items action | tr '\n' ' ')" = "pool.create pool.update pool.update pool.update "
want .items[0].details.prefix 10.0.0.0/24
want .items[1].details.name edge-v4-renamed
verdict "?object=pool:$P_V4 -> its create and updates, with details"

api GET "/v1/events?action=pool.create&object=pool:$P_V4"
want_len .items 1
verdict "?action= and ?object= together -> 1 event"

api GET "/v1/events?object=pool:$P_V4/reservation:10.0.0.10"
[ "$(jeach .items action | tr '\n' ' ')" = "reservation.create reservation.delete " ] ||
    fail "actions: $(jeach .items action | tr '\n' ' ')"
verdict "reservation create and delete are in the audit log"

api GET "/v1/events?action=admin_token.delete"
want_len .items 1
want .items[0].object "admin_token:$SECOND_ID"
want .items[0].details.name second-admin
want .items[0].actor bootstrap
verdict "the admin token deletion is in the audit log"

api GET '/v1/events?action=no.such.action'
want_status 200
want_len .items 0
verdict "?action=no.such.action -> 200 []"

api GET '/v1/events?limit=1'
want_len .items 1
want_match .next .
A1=$(jget .items[0].id)
api GET "/v1/events?limit=1&after=$(jget .next)"
want_len .items 1
that "the second page starts after the first" test "$(jget .items[0].id)" -gt "$A1"
verdict "events page with limit=1 and after="

api GET '/v1/events?actor=bootstrap'
want_problem 400 actor
verdict "GET /v1/events?actor= (not a filter) -> 400 field actor"

# ======================================================================= bad input

NPOOLS=$(pool_count)
NEVENTS=$(event_count)
api GET "/v1/pools/$P_V4"
V4_BEFORE=$BODY
GOOD='"name":"good","isd_as":"1-ff00:0:110","prefix":"10.97.0.0/24"'

api POST /v1/pools "{$GOOD"
want_problem 400 -
want_match .detail 'JSON'
verdict "malformed JSON -> 400 problem"

api POST /v1/pools "[{$GOOD}]"
want_problem 400 -
want_match .detail 'object'
verdict "a JSON array body -> 400 problem"

api POST /v1/pools '"just a string"'
want_problem 400 -
verdict "a JSON string body -> 400 problem"

api POST /v1/pools "{$GOOD,\"hold_seconds\":\"10\"}"
want_problem 400 hold_seconds
verdict "hold_seconds as a string -> 400 field hold_seconds"

api POST /v1/pools "{$GOOD,\"hold_seconds\":10.5}"
want_problem 400 hold_seconds
verdict "hold_seconds 10.5 -> 400 field hold_seconds"

api POST /v1/pools "{$GOOD,\"hold_seconds\":99999999999999999999999}"
want_problem 400
verdict "hold_seconds beyond 64 bits -> 400"

api POST /v1/pools '{"name":5,"isd_as":"1-ff00:0:110","prefix":"10.97.0.0/24"}'
want_problem 400 name
verdict "name as a number -> 400 field name"

api POST /v1/pools '{"name":null,"isd_as":"1-ff00:0:110","prefix":"10.97.0.0/24"}'
want_problem 400 name
verdict "name null -> 400 field name"

api POST /v1/pools "{$GOOD,\"colour\":\"red\"}"
want_problem 400 colour
want_match .detail colour
verdict "an unknown field -> 400 naming it (field and detail)"

api POST /v1/pools "{$GOOD,\"name\":\"dup\"}"
want_problem 400
want_match .detail 'duplicate'
verdict "duplicate keys -> 400"

printf '{"name":"bad\xff\xfe","isd_as":"1-ff00:0:110","prefix":"10.97.0.0/24"}' >"$E2E_TMP/utf8"
api POST /v1/pools "@$E2E_TMP/utf8"
want_problem 400
verdict "invalid UTF-8 in a string -> 400 (and the problem is valid JSON)"

api POST /v1/pools '{"name":"nul\u0000byte","isd_as":"1-ff00:0:110","prefix":"10.97.0.0/24"}'
want_problem 400
verdict "a \\u0000 in a string -> 400"

{ printf '{"name":'; printf '[%.0s' {1..5000}; printf ']%.0s' {1..5000}; printf '}'; } \
    >"$E2E_TMP/deep"
api POST /v1/pools "@$E2E_TMP/deep"
want_problem 400
verdict "arrays nested 5000 deep -> 400"

{ printf '{%s,"x":"' "$GOOD"; head -c 70000 /dev/zero | tr '\0' a; printf '"}'; } \
    >"$E2E_TMP/big"
api POST /v1/pools "@$E2E_TMP/big"
want_problem 413 -
verdict "a 70000-byte body (Content-Length) -> 413"

api -H 'Transfer-Encoding: chunked' POST /v1/pools "@$E2E_TMP/big"
want_problem 413 -
verdict "a 70000-byte chunked body (no Content-Length) -> 413"

{ printf '{%s,"x":"' "$GOOD"; head -c 65400 /dev/zero | tr '\0' a; printf '"}'; } \
    >"$E2E_TMP/justunder"
api POST /v1/pools "@$E2E_TMP/justunder"
want_problem 400 x
verdict "a body just under 64 KiB is read and parsed -> 400 unknown field x (not 413)"

api -c text/plain POST /v1/pools "{$GOOD}"
want_problem 415 -
verdict "Content-Type text/plain -> 415"

api -c "" POST /v1/pools "{$GOOD}"
want_problem 415 -
verdict "Content-Type application/x-www-form-urlencoded (curl's default) -> 415"

api -c application/jsonx POST /v1/pools "{$GOOD}"
want_problem 415 -
verdict "Content-Type application/jsonx -> 415"

api POST /v1/pools ''
want_problem 400 -
verdict "POST without a body -> 400"

api GET /v1/pools '{}'
want_problem 400 -
verdict "GET with a body -> 400"

api -t "$READER" POST /v1/pools "{$GOOD"
want_problem 403 -
verdict "a read token with a malformed body -> 403 (scope before body)"

api -t "" POST /v1/pools "{$GOOD}"
want_problem 401 -
verdict "no token with a good body -> 401"

api POST "/v1/pools?foo=1" "{$GOOD}"
want_problem 400 foo
verdict "POST /v1/pools?foo=1 with a good body -> 400 field foo"

api GET "/v1/pools?foo=1"
want_problem 400 foo
verdict "GET /v1/pools?foo=1 -> 400 field foo"

api GET "/v1/pools/$P_V4?limit=1"
want_problem 400 limit
verdict "GET /v1/pools/{id}?limit=1 (no paging there) -> 400 field limit"

# "/" is the dashboard (web_static_test.sh); a path that names no file of it is a 404 problem too.
for p in /v1/nope /v1/pools/1/nope /v1 /v2/pools /v1/pools/ "/v1/pools/$P_V4/reservations/10.0.0.20/x" /nope.html; do
	api GET "$p"
	want_problem 404 -
	verdict "GET $p -> 404"
done

api PUT /v1/pools "{$GOOD}"
want_problem 405 -
want_header Allow 'GET, POST'
want_match .detail PUT
verdict "PUT /v1/pools -> 405 with Allow: GET, POST"

api DELETE /v1/pools
want_problem 405 -
want_header Allow 'GET, POST'
verdict "DELETE /v1/pools -> 405 with Allow: GET, POST"

api POST "/v1/pools/$P_V4" "{$GOOD}"
want_problem 405 -
want_header Allow 'GET, PATCH, DELETE'
verdict "POST /v1/pools/{id} -> 405 with Allow: GET, PATCH, DELETE"

api PATCH /v1/grants '{}'
want_problem 405 -
want_header Allow GET
verdict "PATCH /v1/grants -> 405 with Allow: GET"

api PATCH "/v1/pools/$P_V4" '{"hold_seconds":-5}'
want_problem 400 hold_seconds
verdict "PATCH hold_seconds -5 -> 400 field hold_seconds"

api PATCH "/v1/pools/$P_V4" '{"name":""}'
want_problem 400 name
verdict "PATCH name \"\" -> 400 field name"

api DELETE "/v1/pools/$P_V4?force=yes"
want_problem 400 force
verdict "DELETE ?force=yes -> 400 field force"

n=$(pool_count)
that "pool count $n, was $NPOOLS" test "$n" = "$NPOOLS"
n=$(event_count)
that "event count $n, was $NEVENTS" test "$n" = "$NEVENTS"
api GET "/v1/pools/$P_V4"
that "pool $P_V4 changed: $BODY" test "$BODY" = "$V4_BEFORE"
verdict "none of the bad requests changed anything (pools, audit log, pool $P_V4)"

# ======================================================================= expiry

now=$(date +%s)
[ "$now" -ge $((SHORT_MADE + 6)) ] || sleep $((SHORT_MADE + 6 - now))
api -t "$SHORT" GET /v1/pools
want_problem 401 -
verdict "a token past its ttl_seconds -> 401"

api GET /v1/admin-tokens
want_status 200
[ "$(jeach .items name | tr '\n' ' ')" = "bootstrap reader provisioner short " ] ||
    fail "names: $(jeach .items name | tr '\n' ' ')"
want .items[3].name short
want_raw .items[3].expired true
want_raw .items[0].expired false
verdict "the token list marks it expired"

api DELETE "/v1/admin-tokens/$BOOT_ID"
want_problem 409 -
verdict "deleting the last admin token -> 409 even with an expired admin token around"

# ======================================================================= grants (seeded)

# The allocator is not reachable over HTTP yet, so grants are written into the store with its
# CLI (sqlite3 or psql) while the manager is stopped, the way the allocator would: the grant
# rows, the pool's counters and its sequential cursor, and the assign history.
mgr_stop TERM "$M1"
that "exit status $MGR_RC" test "$MGR_RC" = 0
verdict "the manager exits 0 on SIGTERM"

if [ "$E2E_STORE" = sqlite ] && ! command -v sqlite3 >/dev/null; then
	not_ok "sqlite3 CLI missing (make deps installs it): grant checks not run"
	SEEDED=0
else
	NOW=$(date +%s)
	v4_first=$(store_sql "$STATE" "SELECT first_index FROM pools WHERE id = $P_V4")
	res_idx=$(store_sql "$STATE" "SELECT addr_index FROM reservations WHERE address = '10.0.0.20'")
	bgp_first=$(store_sql "$STATE" "SELECT first_index FROM pools WHERE id = $P_BGP")
	# Index i of 10.0.0.0/24 is 10.0.0.i; check that before relying on it.
	if [ "$v4_first" = 1 ] && [ "$res_idx" = 20 ] && [ "$bgp_first" = 1 ]; then
		store_sql "$STATE" >"$E2E_TMP/seed.out" 2>&1 <<-EOF
		BEGIN;
		INSERT INTO grants (id, pool_id, addr_index, address, pssid, state, agent_id,
		    session_id, assigned_at, hold_until) VALUES
		    (101, $P_V4, 1, '10.0.0.1', 'seed-assigned', 'assigned', 1, 7, $NOW - 100, NULL),
		    (102, $P_V4, 2, '10.0.0.2', 'seed-held', 'on_hold', 1, 8, $NOW - 100, $NOW + 3600),
		    (103, $P_V4, 3, '10.0.0.3', 'seed-lapsed', 'on_hold', 1, 9, $NOW - 100, $NOW - 10),
		    (104, $P_BGP, 1, '10.64.0.1', 'seed-bgp', 'assigned', 2, 3, $NOW - 50, NULL);
		UPDATE pools SET n_assigned = n_assigned + 1, n_held = n_held + 2,
		    n_occupied = n_occupied + 3, next_index = 4 WHERE id = $P_V4;
		UPDATE pools SET n_assigned = n_assigned + 1, n_occupied = n_occupied + 1,
		    next_index = 2 WHERE id = $P_BGP;
		INSERT INTO grant_history (grant_id, pool_id, address, pssid, action, session_id,
		    agent_id, hold_until, actor, at) VALUES
		    (101, $P_V4, '10.0.0.1', 'seed-assigned', 'assign', 7, 1, NULL, 'agent:1', $NOW - 100),
		    (102, $P_V4, '10.0.0.2', 'seed-held', 'assign', 8, 1, NULL, 'agent:1', $NOW - 100),
		    (102, $P_V4, '10.0.0.2', 'seed-held', 'hold', 8, 1, $NOW + 3600, 'agent:1', $NOW - 90),
		    (103, $P_V4, '10.0.0.3', 'seed-lapsed', 'assign', 9, 1, NULL, 'agent:1', $NOW - 100),
		    (103, $P_V4, '10.0.0.3', 'seed-lapsed', 'hold', 9, 1, $NOW - 10, 'agent:1', $NOW - 90),
		    (104, $P_BGP, '10.64.0.1', 'seed-bgp', 'assign', 3, 2, NULL, 'agent:2', $NOW - 50);
		COMMIT;
		EOF
		rc=$?
		check "grants are seeded into the store with its CLI (3 in pool $P_V4, 1 in pool $P_BGP)" \
		    test "$rc" = 0 -a ! -s "$E2E_TMP/seed.out"
		SEEDED=0
		if [ "$rc" = 0 ]; then
			SEEDED=1
		else
			diag "$(cat "$E2E_TMP/seed.out")"
		fi
	else
		not_ok "the store maps 10.0.0.i to index i (first_index $v4_first, 10.0.0.20 at $res_idx, bgp first $bgp_first): grants not seeded"
		SEEDED=0
	fi
fi

mgr_start "$STATE" || e2e_bail "the manager restarts on the same state dir"
M2=$MGR_PID
check "the restarted manager made no new bootstrap token (admin.token unchanged)" \
    cmp -s "$STATE/admin.token" "$E2E_TMP/admin.token.first"

if [ "$SEEDED" = 1 ]; then
	api GET /v1/grants
	want_status 200
	[ "$(jeach .items id | tr '\n' ' ')" = "101 102 104 " ] ||
	    fail "ids: $(jeach .items id | tr '\n' ' ')"
	want_raw .next null
	verdict "GET /v1/grants lists the live grants (the lapsed hold is not one)"

	api GET /v1/grants/101
	want_status 200
	want_raw .id 101
	want_raw .pool_id "$P_V4"
	want .address 10.0.0.1
	want .pssid seed-assigned
	want .state assigned
	want_raw .agent_id 1
	want_raw .session_id 7
	want_match .assigned_at 'Z$'
	want_raw .hold_until null
	verdict "GET /v1/grants/{id} of an assigned grant -> 200 with its fields"

	api GET /v1/grants/102
	want_status 200
	want .state on_hold
	want_match .hold_until '^[0-9]{4}-.*Z$'
	verdict "GET /v1/grants/{id} of a held grant -> 200 state on_hold with hold_until"

	api GET /v1/grants/103
	want_problem 404 -
	verdict "GET /v1/grants/{id} of a lapsed hold -> 404"

	api GET /v1/grants/103/history
	want_status 200
	that "actions: $(jeach .items action | tr '\n' ' ')" \
	    test "$(jeach .items action | tr '\n' ' ')" = "assign hold expire "
	want .items[2].actor sweeper
	verdict "the sweeper expired the lapsed hold at start: its history ends with expire by sweeper"

	for q in "state=on_hold:102 " "state=assigned:101 104 " "pool=$P_V4:101 102 " \
	    "pool=$P_BGP:104 " "pssid=seed-held:102 " "pssid=seed-held&pool=$P_BGP:" \
	    "pssid=seed-lapsed:" "pool=$P_V4&state=assigned:101 "; do
		api GET "/v1/grants?${q%%:*}"
		want_status 200
		[ "$(jeach .items id | tr '\n' ' ')" = "${q#*:}" ] ||
		    fail "ids [$(jeach .items id | tr '\n' ' ')], expected [${q#*:}]"
		ids=${q#*:}
		verdict "GET /v1/grants?${q%%:*} -> [${ids% }]"
	done

	api GET '/v1/grants?limit=2'
	want_len .items 2
	want_match .next .
	api GET "/v1/grants?limit=2&after=$(jget .next)"
	[ "$(jeach .items id | tr '\n' ' ')" = "104 " ] || fail "ids: $(jeach .items id | tr '\n' ' ')"
	want_raw .next null
	verdict "grants page with limit=2 and after="

	api GET "/v1/pools/$P_V4"
	want_raw .assigned 1
	want_raw .on_hold 1
	want_raw .reserved 1
	want_raw .free 251
	verdict "pool counts with seeded grants: assigned 1, on_hold 1, reserved 1, free 251"

	api POST "$R" '{"pssid":"someone-else","address":"10.0.0.2"}'
	want_problem 409 address
	verdict "reserving an address held for another pssid -> 409 field address"

	api -t "$READER" DELETE /v1/grants/101
	want_problem 403 -
	verdict "a read token may not release a grant -> 403"

	api DELETE /v1/grants/101
	want_status 204
	verdict "DELETE /v1/grants/{id} -> 204"

	api GET /v1/grants/101
	want_problem 404 -
	verdict "the released grant is gone -> 404"

	api DELETE /v1/grants/101
	want_problem 404 -
	verdict "releasing it again -> 404"

	api GET /v1/grants/101/history
	want_status 200
	that "actions: $(jeach .items action | tr '\n' ' ')" \
	    test "$(jeach .items action | tr '\n' ' ')" = "assign release "
	want .items[1].actor bootstrap
	want .items[1].address 10.0.0.1
	want .items[1].pssid seed-assigned
	verdict "its history ends with a release by the admin token (bootstrap)"

	api GET "/v1/pools/$P_V4"
	want_raw .assigned 0
	want_raw .on_hold 1
	want_raw .free 252
	verdict "the pool counts follow the release (assigned 0, free 252)"

	api GET '/v1/events?action=grant.release'
	want_len .items 1
	want .items[0].object grant:101
	want .items[0].details.address 10.0.0.1
	verdict "the release is in the audit log"

	api DELETE "/v1/pools/$P_BGP"
	want_problem 409 -
	want_match .detail 'live grant'
	verdict "DELETE a pool with a live grant -> 409"

	api GET "/v1/pools/$P_BGP"
	want_status 200
	want_raw .assigned 1
	verdict "the pool is still there after the refused delete"

	api DELETE "/v1/pools/$P_BGP?force=true"
	want_status 204
	verdict "DELETE ?force=true a pool with a live grant -> 204"

	api GET /v1/grants/104
	want_problem 404 -
	verdict "its grant is gone"

	api GET /v1/grants/104/history
	that "actions: $(jeach .items action | tr '\n' ' ')" \
	    test "$(jeach .items action | tr '\n' ' ')" = "assign release "
	want .items[1].actor bootstrap
	verdict "its history ends with a release by bootstrap"

	api GET "/v1/events?object=pool:$P_BGP&action=pool.delete"
	want_len .items 1
	want_raw .items[0].details.released_grants 1
	verdict "the forced pool delete is in the audit log with released_grants 1"

	api GET /v1/grants
	[ "$(jeach .items id | tr '\n' ' ')" = "102 " ] || fail "ids: $(jeach .items id | tr '\n' ' ')"
	verdict "GET /v1/grants -> only the held grant is left"
fi

# ======================================================================= restart after kill -9

api GET '/v1/pools?limit=1000'
POOLS_BEFORE=$BODY
api GET "$R"
RES_BEFORE=$BODY
api GET '/v1/events?limit=1000'
EVENTS_BEFORE=$BODY
api GET /v1/grants
GRANTS_BEFORE=$BODY
api GET /v1/admin-tokens
TOKENS_BEFORE=$(jeach .items id; jeach .items name; jeach .items scope)
that "state was captured" test -n "$POOLS_BEFORE" -a -n "$EVENTS_BEFORE" -a -n "$TOKENS_BEFORE"
verdict "the state before the crash is captured"

mgr_stop KILL "$M2"
that "exit status $MGR_RC" test "$MGR_RC" = 137
verdict "kill -9 the manager"

require "the manager restarts on the same state dir after kill -9" mgr_start "$STATE"
M3=$MGR_PID

check "no new bootstrap token after the restart (admin.token unchanged)" \
    cmp -s "$STATE/admin.token" "$E2E_TMP/admin.token.first"
that "stdout mentions a bootstrap token $(grep -c 'bootstrap admin token' "$STATE.out") times" \
    test "$(grep -c 'bootstrap admin token' "$STATE.out")" = 1
verdict "the bootstrap token was announced on the first start only"

api GET '/v1/pools?limit=1000'
want_status 200
that "pools differ: $BODY" test "$BODY" = "$POOLS_BEFORE"
verdict "the old admin token works and the pools are intact"

api GET "$R"
that "reservations differ: $BODY" test "$BODY" = "$RES_BEFORE"
verdict "the reservations are intact"

api GET '/v1/events?limit=1000'
that "events differ" test "$BODY" = "$EVENTS_BEFORE"
verdict "the audit log is intact"

api GET /v1/grants
that "grants differ: $BODY" test "$BODY" = "$GRANTS_BEFORE"
verdict "the grants are intact"

api GET /v1/admin-tokens
that "tokens differ" test "$(jeach .items id; jeach .items name; jeach .items scope)" = "$TOKENS_BEFORE"
verdict "the admin tokens are intact"

api -t "$READER" GET /v1/pools
want_status 200
verdict "the read token still works"

api -t "$SECOND" GET /v1/pools
want_problem 401 -
verdict "the deleted token is still refused"

api PATCH "/v1/pools/$P_V4" '{"name":"after-crash"}'
want_status 200
want .name after-crash
verdict "the store takes writes after the crash"

mgr_stop TERM "$M3"
that "exit status $MGR_RC" test "$MGR_RC" = 0
verdict "the manager exits 0 on SIGTERM after the restart"

# ======================================================================= command line

cli --check --state-dir "$STATE" --log-level warn
that "exit status $CLI_RC" test "$CLI_RC" = 0
that "no \"configuration ok\" in: $(head -c 300 "$E2E_TMP/cli.out")" \
    grep -q 'configuration ok' "$E2E_TMP/cli.out"
verdict "--check on the state dir exits 0 and prints configuration ok"
check "--check leaves admin.token alone" cmp -s "$STATE/admin.token" "$E2E_TMP/admin.token.first"

cli --state-dir "$E2E_TMP/never" --listen 127.0.0.1:0 extra
that "exit status $CLI_RC" test "$CLI_RC" != 0 -a "$CLI_RC" != 124
that "no mention of the argument in: $(head -c 300 "$E2E_TMP/cli.out")" \
    grep -q 'unexpected argument "extra"' "$E2E_TMP/cli.out"
that "a state dir was created" test ! -e "$E2E_TMP/never"
verdict "an unexpected argument exits non-zero before touching anything"

for args in "--log-level loud" "--tls-cert cert.pem" "--no-such-flag" "--listen"; do
	# shellcheck disable=SC2086 # the words are the point
	(cd "$E2E_TMP" && cli --state-dir never $args)
	CLI_RC=$(tail -n 1 "$E2E_TMP/cli.rc")
	that "exit status $CLI_RC" test "$CLI_RC" != 0 -a "$CLI_RC" != 124
	that "a state dir was created" test ! -e "$E2E_TMP/never"
	verdict "snaptun-manager $args exits non-zero before touching anything"
done

# A manager that wrongly starts would serve until killed: 3 s is plenty to fail.
CLI_TIMEOUT=3 cli --state-dir "$E2E_TMP/port" --listen 127.0.0.1:99999
that "exit status $CLI_RC (124: still serving after 3 s, on $(cat "$E2E_TMP/port/manager.url" 2>/dev/null))" \
    test "$CLI_RC" != 0 -a "$CLI_RC" != 124
verdict "--listen 127.0.0.1:99999 (port out of range) exits non-zero"

cli --help
that "exit status $CLI_RC" test "$CLI_RC" = 0
that "no usage" grep -q '^usage: snaptun-manager' "$E2E_TMP/cli.out"
verdict "--help exits 0 with the usage"

# ======================================================================= HTTPS

TLS=$E2E_TMP/tls
mkdir -p -m 700 "$TLS"
if ! command -v certtool >/dev/null; then
	not_ok "certtool missing (gnutls-bin; make deps installs it): HTTPS not tested"
else
	cat >"$TLS/template" <<-'EOF'
	cn = "localhost"
	dns_name = "localhost"
	ip_address = "127.0.0.1"
	expiration_days = 2
	ca
	cert_signing_key
	signing_key
	encryption_key
	tls_www_server
	EOF
	if timeout 20 certtool --generate-privkey --key-type ecdsa --outfile "$TLS/key.pem" \
	    >"$TLS/certtool.out" 2>&1 &&
	    timeout 20 certtool --generate-self-signed --load-privkey "$TLS/key.pem" \
	    --template "$TLS/template" --outfile "$TLS/cert.pem" >>"$TLS/certtool.out" 2>&1; then
		ok "certtool makes a self-signed certificate for 127.0.0.1"

		cli --check --state-dir "$TLS/state" --tls-cert "$TLS/cert.pem" --tls-key "$TLS/key.pem"
		that "exit status $CLI_RC" test "$CLI_RC" = 0
		that "no configuration ok" grep -q 'configuration ok' "$E2E_TMP/cli.out"
		verdict "--check with --tls-cert/--tls-key exits 0"

		printf 'not a key\n' >"$TLS/bad.pem"
		cli --check --state-dir "$TLS/state" --tls-cert "$TLS/cert.pem" --tls-key "$TLS/bad.pem"
		that "exit status $CLI_RC" test "$CLI_RC" != 0 -a "$CLI_RC" != 124
		verdict "--check with a key that is not a key exits non-zero"

		if mgr_start "$TLS/state" --tls-cert "$TLS/cert.pem" --tls-key "$TLS/key.pem"; then
			M4=$MGR_PID
			check "an HTTPS manager writes an https URL" \
			    grep -Eq '^https://127\.0\.0\.1:[0-9]+$' "$TLS/state/manager.url"
			CURL_OPTS=(--cacert "$TLS/cert.pem")
			TOKEN=$(cat "$TLS/state/admin.token" 2>/dev/null)
			api GET '/v1/health?live'
			want_status 200
			want .status ok
			verdict "GET /v1/health?live over HTTPS (certificate verified) -> 200"

			api GET /v1/pools
			want_status 200
			want_len .items 0
			verdict "GET /v1/pools over HTTPS with its own bootstrap token -> 200 []"

			api POST /v1/pools '{"name":"tls","isd_as":"1-ff00:0:110","prefix":"10.0.0.0/24"}'
			want_status 201
			verdict "POST /v1/pools over HTTPS -> 201"

			CURL_OPTS=()
			api GET '/v1/health?live'
			that "status $STATUS" test "$STATUS" = 000
			that "curl: $(cat "$E2E_TMP/curl.err")" grep -qi certificate "$E2E_TMP/curl.err"
			verdict "HTTPS without trusting the certificate fails verification"

			TLS_URL=$URL
			URL=http://${TLS_URL#https://}
			api GET '/v1/health?live'
			that "status $STATUS" test "$STATUS" != 200
			verdict "plain HTTP to the HTTPS port gets no 200"
			URL=$TLS_URL

			mgr_stop TERM "$M4"
			that "exit status $MGR_RC" test "$MGR_RC" = 0
			verdict "the HTTPS manager exits 0 on SIGTERM"
		else
			not_ok "an HTTPS manager starts with --tls-cert/--tls-key"
		fi
	else
		not_ok "certtool makes a self-signed certificate"
		diag "$(cat "$TLS/certtool.out")"
	fi
fi

# ======================================================================= across the run

that "${#E2E_5XX[@]} 5xx answers" test ${#E2E_5XX[@]} -eq 0
verdict "no request was answered with a 5xx"
[ ${#E2E_5XX[@]} -eq 0 ] || diag ${E2E_5XX[@]+"${E2E_5XX[@]}"}

that "${#E2E_BADBODY[@]} bad bodies" test ${#E2E_BADBODY[@]} -eq 0
verdict "every response body was JSON with a JSON content type"
[ ${#E2E_BADBODY[@]} -eq 0 ] || diag ${E2E_BADBODY[@]+"${E2E_BADBODY[@]}"}

for f in "$STATE.err" "$TLS/state.err" "$E2E_TMP/cli.log"; do
	if report=$(sanitizer_report "$f"); then
		fail "sanitizer report in $(basename "$f")"
		diag "$report"
	fi
done
verdict "no sanitizer reports in the managers' stderr"
if [ -s "$STATE.err" ]; then
	diag "manager stderr:" "$(head -n 40 "$STATE.err")"
fi

e2e_finish
