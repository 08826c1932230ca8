#!/usr/bin/env bash
# End-to-end test of /v1/join-tokens: a real snaptun-manager on a temporary state dir and a free
# loopback port, driven with curl. Creation and its defaults, validation, bulk provisioning,
# the secret shown once, scopes (admin, provision, read), abort, expiry (effective at once,
# written down by the 5 s sweep), filters and paging, and a kill -9 restart.
# Run from the repository root: BUILD=build bash tests/e2e/join_tokens_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

[ -x "$MANAGER" ] || e2e_bail "$MANAGER is not built (make all)"
command -v curl >/dev/null || e2e_bail "curl is missing (make deps)"

STATE=$E2E_TMP/state
SECRETS=$E2E_TMP/secrets	# every join token secret seen, one a line
: >"$SECRETS"
SECRET_RE='^snj_[A-Za-z0-9_-]{43}$'
T_START=$(date +%s)

# epoch RFC3339: seconds since the epoch (empty if it does not parse).
epoch() {
	date -u -d "$1" +%s 2>/dev/null
}

# since_start: seconds (with a fraction) since the first manager came up.
since_start() {
	awk -v a="$M1_UP" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
}

# ids: the ids of .items of the last response, space-separated.
ids() {
	jeach .items id | tr '\n' ' '
}

# list_all QUERY: page through GET /v1/join-tokens?QUERY with limit=LIMIT (default 1000),
# following next; ids go to $E2E_TMP/pages (one a line), PAGES counts the requests. 1 on a
# non-200 answer or more than 200 pages.
list_all() {
	local q=$1 next="" sep
	PAGES=0
	: >"$E2E_TMP/pages"
	sep=${q:+&}
	while :; do
		PAGES=$((PAGES + 1))
		[ "$PAGES" -le 200 ] || return 1
		api GET "/v1/join-tokens?$q${sep}limit=${LIMIT:-1000}${next:+&after=$next}"
		[ "$STATUS" = 200 ] || return 1
		jeach .items id >>"$E2E_TMP/pages"
		if [ "$(jraw .next)" = null ]; then
			return 0
		fi
		next=$(jget .next)
		[ -n "$next" ] || return 1
	done
}

# events_all: every audit event, paged, appended as raw bodies to $E2E_TMP/events (and the
# "action actor object" of each to $E2E_TMP/events.txt). 1 on a non-200 answer.
events_all() {
	local next="" i
	: >"$E2E_TMP/events"
	: >"$E2E_TMP/events.txt"
	for ((i = 0; i < 100; i++)); do
		api GET "/v1/events?limit=1000${next:+&after=$next}"
		[ "$STATUS" = 200 ] || return 1
		printf '%s\n' "$BODY" >>"$E2E_TMP/events"
		paste -d ' ' <(jeach .items action) <(jeach .items actor) <(jeach .items object) \
		    >>"$E2E_TMP/events.txt"
		[ "$(jraw .next)" = null ] && return 0
		next=$(jget .next)
	done
	return 1
}

# no_secret_in_body: the last response has no join token secret nor a token member.
no_secret_in_body() {
	case $BODY in *snj_*) fail "the response contains something secret-like (snj_)" ;; esac
	grep -q '\.token	' "$E2E_TMP/flat" && fail "an object has a token member"
	if [ -s "$SECRETS" ] && printf '%s' "$BODY" | grep -qFf "$SECRETS"; then
		fail "a secret handed out at creation appears in the response"
	fi
}

# ======================================================================= start

require "the manager starts and writes manager.url within 10 s" mgr_start "$STATE"
M1=$MGR_PID
M1_UP=$(date +%s.%N)	# the first sweep runs when the event loop starts, then every 5 s
ADMIN=$(cat "$STATE/admin.token" 2>/dev/null)
TOKEN=$ADMIN

# A token that expires in 1 s, first of all: it is checked below once it has expired, before
# the sweep 5 s after start has written it down.
api POST /v1/join-tokens '{"name":"short","ttl_seconds":1}'
want_status 201
want .state issued
want_raw .attempts 0
SHORT_ID=$(jget .id)
SHORT_EXP=$(epoch "$(jget .expires_at)")
that "expires_at is created_at + 1 s" \
    test -n "$SHORT_EXP" -a "$SHORT_EXP" = "$(($(epoch "$(jget .created_at)") + 1))"
jget .token >>"$SECRETS"
verdict "POST /v1/join-tokens ttl_seconds 1 -> 201 issued, expires_at = created_at + 1 s"

# ======================================================================= create

T0=$(date +%s)
api POST /v1/join-tokens '{}'
T1=$(date +%s)
want_status 201
want_match .id '^[1-9][0-9]*$'
ID1=$(jget .id)
want_header Location "/v1/join-tokens/$ID1"
want_match .token "$SECRET_RE"
want .state issued
want_raw .attempts 0
want_raw .labels '{}'
want_raw .pool null
want .name ''
want .created_by bootstrap
want_raw .in_flight_address null
want_raw .ack_deadline null
want_raw .consumed_address null
want_raw .consumed_at null
want_match .created_at '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
want_match .updated_at '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
EXP=$(epoch "$(jget .expires_at)")
that "expires_at $(jget .expires_at) is not within [now+3600] ($((T0 + 3600))..$((T1 + 3600)))" \
    test -n "$EXP" -a "${EXP:-0}" -ge $((T0 + 3600)) -a "${EXP:-0}" -le $((T1 + 3600))
verdict "POST /v1/join-tokens {} -> 201, Location, snj_ secret, issued, attempts 0, TTL 1 h, labels {}, pool null, created_by bootstrap"
SECRET1=$(jget .token)
printf '%s\n' "$SECRET1" >>"$SECRETS"

api POST /v1/pools '{"name":"jt-pool","isd_as":"1-ff00:0:110","prefix":"10.0.0.0/24"}'
want_status 201
verdict "a pool is created for join tokens to point at"
POOL=$(jget .id)

T0=$(date +%s)
api POST /v1/join-tokens "{\"name\":\"edge-17\",\"labels\":{\"site\":\"zrh\",\"rack\":\"r1\"},\"ttl_seconds\":600,\"pool\":$POOL}"
T1=$(date +%s)
want_status 201
ID2=$(jget .id)
want_header Location "/v1/join-tokens/$ID2"
want .name edge-17
want .labels.site zrh
want .labels.rack r1
want_raw .pool "$POOL"
want .state issued
want_match .token "$SECRET_RE"
EXP2=$(epoch "$(jget .expires_at)")
that "expires_at $(jget .expires_at) is not now+600" \
    test -n "$EXP2" -a "${EXP2:-0}" -ge $((T0 + 600)) -a "${EXP2:-0}" -le $((T1 + 600))
verdict "POST name, labels, ttl_seconds 600, pool -> 201 with them"
jget .token >>"$SECRETS"
EXP2_TEXT=$(jget .expires_at)

api GET "/v1/join-tokens/$ID2"
want_status 200
want_raw .id "$ID2"
want .name edge-17
want .labels.site zrh
want .labels.rack r1
want_raw .pool "$POOL"
want .state issued
want_raw .attempts 0
want .expires_at "$EXP2_TEXT"
want .created_by bootstrap
want_absent .token
no_secret_in_body
verdict "GET /v1/join-tokens/{id} returns what was stored, without the secret"

api POST /v1/join-tokens '{"ttl_seconds":2592000}'
want_status 201
jget .token >>"$SECRETS"
verdict "ttl_seconds 2592000 (30 days) -> 201"
ID_LONG=$(jget .id)

api POST /v1/join-tokens '{"count":1,"labels":{"kind":"one"}}'
want_status 201
want_len .items 1
want_match .items[0].token "$SECRET_RE"
want .items[0].labels.kind one
jeach .items token >>"$SECRETS"
verdict "count 1 -> 201 with items of 1 token"

LBL16=$(for i in $(seq 1 16); do printf '"k%d":"v",' "$i"; done)
LONGV=$(printf 'v%.0s' $(seq 1 63))
api POST /v1/join-tokens "{\"labels\":{${LBL16%,}}}"
want_status 201
want .labels.k16 v
jget .token >>"$SECRETS"
verdict "16 labels -> 201"

api POST /v1/join-tokens "{\"labels\":{\"a.b/c_d-9\":\"$LONGV\"},\"name\":\"$(printf 'n%.0s' $(seq 1 64))\"}"
want_status 201
want .labels.a.b/c_d-9 "$LONGV"
jget .token >>"$SECRETS"
verdict "a key of a-z 0-9 . _ / -, a 63-character value, a 64-character name -> 201"

api POST /v1/join-tokens '{"pool":999999}'
want_problem 400 pool
verdict "pool of a non-existent pool -> 400 field pool"

api POST /v1/join-tokens '{"pool":0}'
want_problem 400 pool
verdict "pool 0 -> 400 field pool"

api POST /v1/join-tokens '{"pool":"1"}'
want_problem 400 pool
verdict "pool as a string -> 400 field pool"

for v in 0 -1 2592001; do
	api POST /v1/join-tokens "{\"ttl_seconds\":$v}"
	want_problem 400 ttl_seconds
	verdict "ttl_seconds $v -> 400 field ttl_seconds"
done

for v in 0 -5 1001; do
	api POST /v1/join-tokens "{\"count\":$v}"
	want_problem 400 count
	verdict "count $v -> 400 field count"
done

LBL17=$(for i in $(seq 1 17); do printf '"k%d":"v",' "$i"; done)
for bad in '{"Site":"zrh"}' '{"site":1}' '{"site":null}' '{"site":["a"]}' "{${LBL17%,}}" \
    "{\"site\":\"${LONGV}x\"}" '{"":"x"}' '{"a b":"x"}' "{\"${LONGV}k\":\"x\"}" '"site=zrh"' \
    '["site"]' 'null'; do
	api POST /v1/join-tokens "{\"labels\":$bad}"
	want_problem 400 labels
	verdict "labels ${bad:0:60} -> 400 field labels"
done

api POST /v1/join-tokens "{\"name\":\"$(printf 'n%.0s' $(seq 1 65))\"}"
want_problem 400 name
verdict "a 65-character name -> 400 field name"

api POST /v1/join-tokens '{"name":"tab\there"}'
want_problem 400 name
verdict "a name with a control character -> 400 field name"

api POST /v1/join-tokens '{"colour":"red"}'
want_problem 400 colour
verdict "an unknown field -> 400 naming it"

api POST /v1/join-tokens '{"token":"snj_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}'
want_problem 400 token
verdict "a caller-chosen token -> 400 field token"

api POST /v1/join-tokens '{'
want_problem 400
verdict "malformed JSON -> 400"

api POST /v1/join-tokens '[]'
want_problem 400
verdict "a body that is not an object -> 400"

api GET '/v1/join-tokens?limit=1000'
want_status 200
NTOK=$(jlen .items)
that "$NTOK tokens, expected 7 (refused requests created none)" test "$NTOK" = 7
verdict "the list holds the 7 tokens created, none from refused requests"

# ======================================================================= expiry, before the sweep

# expires_at <= now makes it expired; wait for the wall clock to pass it.
for ((i = 0; i < 60; i++)); do
	[ "$(date +%s)" -ge "$SHORT_EXP" ] && break
	sleep 0.1
done
api GET "/v1/join-tokens/$SHORT_ID"
want_status 200
want .state expired
verdict "the ttl 1 token is expired once its expires_at has passed (GET)"
ELAPSED=$(since_start)

api GET '/v1/join-tokens?state=expired'
want_status 200
that "ids [$(ids)], expected [$SHORT_ID ]" test "$(ids)" = "$SHORT_ID "
verdict "?state=expired lists it"

api GET "/v1/join-tokens?state=issued&limit=1000"
want_status 200
case " $(ids)" in *" $SHORT_ID "*) fail "the expired token is listed as issued" ;; esac
! jeach .items state | grep -qvx issued || fail "an item is not issued"
verdict "?state=issued does not list it"

api GET "/v1/events?action=join_token.expire&object=join_token:$SHORT_ID"
want_status 200
if awk -v e="$ELAPSED" 'BEGIN { exit !(e < 4.5) }'; then
	want_len .items 0
	verdict "it was reported expired before the sweep wrote it down (no join_token.expire yet, ${ELAPSED%.*} s after start)"
else
	skip "it was reported expired before the sweep wrote it down" "${ELAPSED} s after start: the sweep may have run"
fi

api DELETE "/v1/join-tokens/$SHORT_ID"
want_problem 409 -
want_match .detail 'expired'
verdict "DELETE of an expired token -> 409, detail says expired"

# ======================================================================= bulk

api POST /v1/join-tokens '{"count":100,"labels":{"fleet":"f1"}}'
want_status 201
want_len .items 100
jeach .items token >"$E2E_TMP/bulk.secrets"
jeach .items id >"$E2E_TMP/bulk.ids"
cat "$E2E_TMP/bulk.secrets" >>"$SECRETS"
that "$(grep -cEv "$SECRET_RE" "$E2E_TMP/bulk.secrets") secrets do not match $SECRET_RE" \
    test "$(grep -cE "$SECRET_RE" "$E2E_TMP/bulk.secrets")" = 100
that "$(sort -u "$E2E_TMP/bulk.secrets" | wc -l) distinct secrets, expected 100" \
    test "$(sort -u "$E2E_TMP/bulk.secrets" | wc -l)" = 100
B_FIRST=$(head -n 1 "$E2E_TMP/bulk.ids")
that "ids are not $B_FIRST..$((B_FIRST + 99)): $(tr '\n' ' ' <"$E2E_TMP/bulk.ids" | head -c 300)" \
    test "$(tr '\n' ' ' <"$E2E_TMP/bulk.ids")" = "$(seq "$B_FIRST" $((B_FIRST + 99)) | tr '\n' ' ')"
that "not every item is issued" test "$(jeach .items state | sort -u)" = issued
that "not every item has labels.fleet f1" \
    test "$(awk -F '\t' '$1 ~ /\.labels\.fleet$/ && $2 == "\"f1\""' "$E2E_TMP/flat" | wc -l)" = 100
that "not every item is created by bootstrap" test "$(jeach .items created_by | sort -u)" = bootstrap
verdict "POST count 100 labels fleet=f1 -> 201, items of 100 issued tokens, distinct secrets, consecutive ids"
B_LAST=$(tail -n 1 "$E2E_TMP/bulk.ids")

api GET '/v1/join-tokens?label=fleet=f1&limit=1000'
want_status 200
want_len .items 100
that "the ids listed are not the bulk ones" test "$(ids)" = "$(tr '\n' ' ' <"$E2E_TMP/bulk.ids")"
no_secret_in_body
verdict "?label=fleet=f1&limit=1000 -> exactly the 100 bulk tokens, without secrets"

api GET '/v1/join-tokens?label=fleet%3Df1&limit=1000'
want_status 200
want_len .items 100
verdict "?label=fleet%3Df1 (encoded =) -> 100"

api GET '/v1/join-tokens?label=fleet&limit=1000'
want_status 200
want_len .items 100
verdict "?label=fleet (any value) -> 100"

api GET '/v1/join-tokens?label=fleet=other&limit=1000'
want_status 200
want_len .items 0
want_raw .next null
verdict "?label=fleet=other -> 0"

api GET '/v1/join-tokens?label=site=zrh'
want_status 200
that "ids [$(ids)], expected [$ID2 ]" test "$(ids)" = "$ID2 "
verdict "?label=site=zrh -> the one token with that label"

api GET '/v1/join-tokens?label=nosuchkey'
want_status 200
want_len .items 0
verdict "?label=nosuchkey -> 0"

api GET '/v1/join-tokens'
want_status 200
want_len .items 100
want_match .next .
verdict "GET /v1/join-tokens without limit -> the default page of 100 and a next cursor"

LIMIT=7 list_all 'label=fleet=f1'
rc=$?
that "paging failed (rc $rc) after $PAGES pages" test "$rc" = 0
that "$PAGES pages, expected 15" test "$PAGES" = 15
that "$(wc -l <"$E2E_TMP/pages") ids visited, expected 100" test "$(wc -l <"$E2E_TMP/pages")" = 100
that "the pages do not visit each bulk token once, in order" cmp -s "$E2E_TMP/pages" "$E2E_TMP/bulk.ids"
verdict "paging ?label=fleet=f1 with limit=7 and after visits each of the 100 once (15 pages)"

LIMIT=10 list_all 'label=fleet'
that "the pages do not visit each bulk token once" cmp -s "$E2E_TMP/pages" "$E2E_TMP/bulk.ids"
that "$PAGES pages, expected 10 or 11" test "$PAGES" -ge 10 -a "$PAGES" -le 11
verdict "paging ?label=fleet with limit=10 visits each of the 100 once"

LIMIT=9 list_all ''
that "$(sort -u "$E2E_TMP/pages" | wc -l) distinct of $(wc -l <"$E2E_TMP/pages") ids" \
    test "$(sort -u "$E2E_TMP/pages" | wc -l)" = "$(wc -l <"$E2E_TMP/pages")"
that "$(wc -l <"$E2E_TMP/pages") ids, expected 107" test "$(wc -l <"$E2E_TMP/pages")" = 107
that "ids are not ascending" cmp -s "$E2E_TMP/pages" <(sort -n "$E2E_TMP/pages")
verdict "paging the whole list with limit=9 visits all 107 tokens once, in id order"

# ======================================================================= the secret is shown once

api GET '/v1/join-tokens?limit=1000'
want_status 200
want_len .items 107
no_secret_in_body
verdict "the list never contains a secret nor a token member"

for id in "$ID1" "$ID2" "$SHORT_ID" "$B_FIRST" "$B_LAST"; do
	api GET "/v1/join-tokens/$id"
	want_status 200
	want_absent .token
	no_secret_in_body
done
verdict "GET /v1/join-tokens/{id} never contains a secret nor a token member"

# ======================================================================= scopes

api POST /v1/admin-tokens '{"name":"prov","scope":"provision"}'
want_status 201
verdict "a provision admin token is created"
PROV=$(jget .token)

api POST /v1/admin-tokens '{"name":"reader","scope":"read"}'
want_status 201
verdict "a read admin token is created"
READER=$(jget .token)

api -t "$PROV" POST /v1/join-tokens '{"name":"by-prov","labels":{"who":"prov"}}'
want_status 201
want .created_by prov
want_match .token "$SECRET_RE"
verdict "a provision token may create a join token (created_by prov)"
PROV_ID=$(jget .id)
jget .token >>"$SECRETS"

api -t "$PROV" POST /v1/join-tokens '{"count":3,"labels":{"who":"prov-bulk"}}'
want_status 201
want_len .items 3
verdict "a provision token may bulk-create join tokens"
jeach .items token >>"$SECRETS"
PROV_BULK=$(jget .items[0].id)

api -t "$PROV" GET '/v1/join-tokens?label=who'
want_status 200
want_len .items 4
no_secret_in_body
verdict "a provision token may list join tokens"

api -t "$PROV" GET "/v1/join-tokens/$PROV_ID"
want_status 200
want .name by-prov
verdict "a provision token may get a join token"

api -t "$PROV" DELETE "/v1/join-tokens/$PROV_ID"
want_status 200
want .state aborted
want_raw .id "$PROV_ID"
verdict "a provision token may abort a join token -> 200 aborted"

api GET "/v1/events?action=join_token.abort&object=join_token:$PROV_ID"
want_status 200
want_len .items 1
want .items[0].actor prov
verdict "the abort is audited as join_token.abort by prov"

api -t "$PROV" GET /v1/pools
want_status 200
want .items[0].name jt-pool
api -t "$PROV" GET "/v1/pools/$POOL"
want_status 200
want_raw .id "$POOL"
verdict "a provision token may read pools (GET /v1/pools, /v1/pools/$POOL): the pool id for its tokens"

api -t "$PROV" GET /v1/grants
want_problem 403 -
verdict "a provision token may not GET /v1/grants -> 403"

api -t "$PROV" POST /v1/pools '{"name":"by-prov","isd_as":"1-ff00:0:110","prefix":"10.1.0.0/24"}'
want_problem 403 -
verdict "a provision token may not POST /v1/pools -> 403"

api -t "$READER" GET '/v1/join-tokens?label=who'
want_status 200
want_len .items 4
no_secret_in_body
verdict "a read token may list join tokens"

api -t "$READER" GET "/v1/join-tokens/$ID2"
want_status 200
want .name edge-17
no_secret_in_body
verdict "a read token may get a join token"

api -t "$READER" POST /v1/join-tokens '{}'
want_problem 403 -
verdict "a read token may not create a join token -> 403"

api -t "$READER" DELETE "/v1/join-tokens/$PROV_BULK"
want_problem 403 -
verdict "a read token may not abort a join token -> 403"

api GET "/v1/join-tokens/$PROV_BULK"
want .state issued
verdict "the token a read token tried to abort is still issued"

api -t "" GET /v1/join-tokens
want_problem 401 -
verdict "no Authorization on GET /v1/join-tokens -> 401"

api -t "" POST /v1/join-tokens '{}'
want_problem 401 -
verdict "no Authorization on POST /v1/join-tokens -> 401"

# ======================================================================= abort

api DELETE "/v1/join-tokens/$ID1"
want_status 200
want_raw .id "$ID1"
want .state aborted
want .created_by bootstrap
want_absent .token
verdict "DELETE /v1/join-tokens/{id} -> 200 with state aborted"

api GET "/v1/join-tokens/$ID1"
want_status 200
want .state aborted
verdict "GET after the abort -> aborted"

api GET "/v1/events?object=join_token:$ID1"
want_status 200
that "actions [$(jeach .items action | tr '\n' ' ')], expected [join_token.create join_token.abort ]" \
    test "$(jeach .items action | tr '\n' ' ')" = "join_token.create join_token.abort "
want .items[1].actor bootstrap
verdict "the token's events: join_token.create, then join_token.abort by bootstrap"

api DELETE "/v1/join-tokens/$ID1"
want_problem 409 -
want_match .detail 'aborted'
verdict "a second DELETE -> 409 whose detail says aborted"

api GET "/v1/events?action=join_token.abort&object=join_token:$ID1"
want_len .items 1
verdict "the refused second abort is not audited"

api DELETE /v1/join-tokens/999999
want_problem 404 -
verdict "DELETE an unknown join token -> 404"

for id in abc 0 -1 01 1x 99999999999999999999; do
	api GET "/v1/join-tokens/$id"
	want_problem 404 -
	verdict "GET /v1/join-tokens/$id -> 404"
done

api GET /v1/join-tokens/999999
want_problem 404 -
verdict "GET an unknown join token -> 404"

api DELETE /v1/join-tokens/abc
want_problem 404 -
verdict "DELETE /v1/join-tokens/abc -> 404"

api PATCH "/v1/join-tokens/$ID2" '{"name":"x"}'
want_problem 405 -
verdict "PATCH /v1/join-tokens/{id} -> 405"

# ======================================================================= filters

api GET '/v1/join-tokens?state=aborted&limit=1000'
want_status 200
that "ids [$(ids)], expected [$ID1 $PROV_ID ]" test "$(ids)" = "$ID1 $PROV_ID "
! jeach .items state | grep -qvx aborted || fail "an item is not aborted"
verdict "?state=aborted -> the 2 aborted tokens"

api GET '/v1/join-tokens?state=issued&limit=1000'
want_status 200
want_len .items 108
! jeach .items state | grep -qvx issued || fail "an item is not issued"
case " $(ids)" in *" $ID1 "* | *" $SHORT_ID "* | *" $PROV_ID "*) fail "an aborted or expired token is listed" ;; esac
verdict "?state=issued -> the 108 issued tokens only"

api GET '/v1/join-tokens?state=issued&label=fleet=f1&limit=1000'
want_status 200
want_len .items 100
verdict "?state=issued&label=fleet=f1 -> 100"

api GET '/v1/join-tokens?state=expired&label=fleet'
want_status 200
want_len .items 0
verdict "?state=expired&label=fleet -> 0"

for q in state=bogus state= state=ISSUED; do
	api GET "/v1/join-tokens?$q"
	want_problem 400 state
	verdict "?$q -> 400 field state"
done

for q in label= 'label==x' "label=$(printf 'k%.0s' $(seq 1 64))"; do
	api GET "/v1/join-tokens?$q"
	want_problem 400 label
	verdict "?${q:0:40} -> 400 field label"
done

for q in limit=0 limit=1001 limit=x after=bogus; do
	api GET "/v1/join-tokens?$q"
	want_problem 400 "${q%%=*}"
	verdict "?$q -> 400 field ${q%%=*}"
done

api GET '/v1/join-tokens?pool=1'
want_problem 400 pool
verdict "?pool= (not a filter) -> 400 field pool"

# ======================================================================= the sweep

GOT=""
for ((i = 0; i < 80; i++)); do
	api GET "/v1/events?action=join_token.expire&object=join_token:$SHORT_ID"
	if [ "$STATUS" = 200 ] && [ "$(jlen .items)" -ge 1 ]; then
		GOT=1
		break
	fi
	sleep 0.1
done
that "no join_token.expire event for join_token:$SHORT_ID $(since_start) s after start" \
    test -n "$GOT"
want_len .items 1
want .items[0].actor sweeper
want .items[0].object "join_token:$SHORT_ID"
verdict "the sweep writes the expiry down: one join_token.expire by sweeper (within ~7 s of start)"

api GET "/v1/join-tokens/$SHORT_ID"
want .state expired
verdict "the swept token is still expired"

api GET '/v1/events?action=join_token.expire&limit=1000'
want_len .items 1
verdict "the sweep expired nothing else"

# ======================================================================= the audit log

events_all
rc=$?
that "events paging failed" test "$rc" = 0
case $(cat "$E2E_TMP/events") in *snj_*) fail "something secret-like (snj_) in the events" ;; esac
if grep -qFf "$SECRETS" "$E2E_TMP/events"; then
	fail "a secret is in the audit log"
fi
that "$(wc -l <"$SECRETS") secrets collected, expected 111" test "$(wc -l <"$SECRETS")" = 111
verdict "the audit log never contains a join token secret"

n=$(grep -c '^join_token\.create ' "$E2E_TMP/events.txt")
that "$n join_token.create events, expected 111" test "$n" = 111
n=$(grep -c '^join_token\.create prov ' "$E2E_TMP/events.txt")
that "$n join_token.create events by prov, expected 4" test "$n" = 4
verdict "one join_token.create per token created (111), by its creator"

# ======================================================================= restart after kill -9

api POST /v1/join-tokens '{"name":"last","labels":{"batch":"late"},"ttl_seconds":86400,"pool":'"$POOL"'}'
want_status 201
LAST_ID=$(jget .id)
jget .token >>"$SECRETS"
api DELETE "/v1/join-tokens/$PROV_BULK"
want_status 200
want .state aborted
verdict "a token is created and another aborted just before the crash"

api GET '/v1/join-tokens?limit=1000'
want_status 200
want_len .items 112
LIST_BEFORE=$BODY
FIELDS_BEFORE=$(jeach .items id; jeach .items state; jeach .items attempts; jeach .items expires_at
    jeach .items name; jeach .items pool; jeach .items created_by; jeach .items created_at)
LABELS_BEFORE=$(grep -F '.labels' "$E2E_TMP/flat")
api GET '/v1/events?limit=1000'
EVENTS_BEFORE=$BODY
that "state was captured" test -n "$LIST_BEFORE" -a -n "$FIELDS_BEFORE" -a -n "$LABELS_BEFORE"
verdict "the join tokens before the crash are captured (112)"

mgr_stop KILL "$M1"
that "exit status $MGR_RC" test "$MGR_RC" = 137
verdict "kill -9 the manager"

require "the manager restarts on the same state dir after kill -9" mgr_start "$STATE"
M2=$MGR_PID

api GET '/v1/join-tokens?limit=1000'
want_status 200
want_len .items 112
FIELDS_AFTER=$(jeach .items id; jeach .items state; jeach .items attempts; jeach .items expires_at
    jeach .items name; jeach .items pool; jeach .items created_by; jeach .items created_at)
LABELS_AFTER=$(grep -F '.labels' "$E2E_TMP/flat")
that "ids, states, attempts, expiry, names, pools or creators differ" \
    test "$FIELDS_AFTER" = "$FIELDS_BEFORE"
that "labels differ" test "$LABELS_AFTER" = "$LABELS_BEFORE"
that "the list differs: $(diff <(json_flat "$LIST_BEFORE") "$E2E_TMP/flat" | head -n 6 | tr '\n' ' ')" \
    test "$BODY" = "$LIST_BEFORE"
no_secret_in_body
verdict "all 112 join tokens are intact: states, labels, attempts, expiry"

api GET "/v1/join-tokens/$ID1"
want .state aborted
verdict "an aborted token stays aborted after the restart"

api GET "/v1/join-tokens/$PROV_BULK"
want .state aborted
verdict "the token aborted just before kill -9 stays aborted"

api GET "/v1/join-tokens/$LAST_ID"
want_status 200
want .state issued
want .name last
want .labels.batch late
want_raw .pool "$POOL"
verdict "the token created just before kill -9 is there, issued, with its labels and pool"

api GET "/v1/join-tokens/$SHORT_ID"
want .state expired
verdict "the expired token stays expired"

api GET "/v1/join-tokens/$ID_LONG"
want .state issued
e=$(epoch "$(jget .expires_at)") c=$(epoch "$(jget .created_at)")
that "expires_at $(jget .expires_at) is not 30 days after created_at" \
    test "$((${e:-0} - ${c:-0}))" = 2592000
verdict "the 30-day token is intact: issued, expires_at = created_at + 30 days"

api GET '/v1/join-tokens?label=fleet=f1&state=issued&limit=1000'
want_len .items 100
verdict "?label=fleet=f1&state=issued -> still 100"

api GET '/v1/events?limit=1000'
that "events differ" test "$BODY" = "$EVENTS_BEFORE"
verdict "the audit log is intact"

api DELETE "/v1/join-tokens/$B_FIRST"
want_status 200
want .state aborted
verdict "the store takes aborts after the crash"

api DELETE "/v1/join-tokens/$PROV_BULK"
want_problem 409 -
want_match .detail aborted
verdict "aborting a token aborted before the crash -> 409"

api -t "$PROV" POST /v1/join-tokens '{}'
want_status 201
want .created_by prov
jget .token >>"$SECRETS"
verdict "the provision token still works and creates after the crash"

api POST /v1/join-tokens '{"labels":{"eq":"a=b","city":"zürich","q":"x\"y\\z"}}'
want_status 201
want .labels.eq a=b
want .labels.city zürich
want .labels.q 'x"y\z'
verdict "label values with =, non-ASCII and JSON escapes are stored as given"
UTF_ID=$(jget .id)
jget .token >>"$SECRETS"

for q in 'label=eq=a=b' 'label=eq%3Da%3Db' 'label=city=z%C3%BCrich' 'label=q=x%22y%5Cz'; do
	api GET "/v1/join-tokens?$q"
	want_status 200
	that "ids [$(ids)], expected [$UTF_ID ]" test "$(ids)" = "$UTF_ID "
	verdict "?$q finds it"
done

api POST /v1/join-tokens '{"count":1000,"labels":{"fleet":"f2"},"ttl_seconds":60}'
want_status 201
want_len .items 1000
jeach .items token >"$E2E_TMP/bulk2.secrets"
that "$(sort -u "$E2E_TMP/bulk2.secrets" | grep -cE "$SECRET_RE") distinct well-formed secrets, expected 1000" \
    test "$(sort -u "$E2E_TMP/bulk2.secrets" | grep -cE "$SECRET_RE")" = 1000
that "some secret of the first bulk is reused" \
    test -z "$(sort "$E2E_TMP/bulk.secrets" "$E2E_TMP/bulk2.secrets" | uniq -d)"
verdict "count 1000 (the maximum) -> 201 with 1000 distinct secrets"

LIMIT=1000 list_all 'label=fleet=f2'
that "$(wc -l <"$E2E_TMP/pages") listed, expected 1000" test "$(wc -l <"$E2E_TMP/pages")" = 1000
that "$(sort -u "$E2E_TMP/pages" | wc -l) distinct" test "$(sort -u "$E2E_TMP/pages" | wc -l)" = 1000
verdict "?label=fleet=f2 pages through exactly the 1000"

api GET '/v1/join-tokens?label=fleet=f1&limit=1000'
want_len .items 100
verdict "?label=fleet=f1 still lists exactly 100"

mgr_stop TERM "$M2"
that "exit status $MGR_RC" test "$MGR_RC" = 0
verdict "the manager exits 0 on SIGTERM"

# ======================================================================= across the run

that "${#E2E_5XX[@]} 5xx answers" test ${#E2E_5XX[@]} -eq 0
verdict "no request was answered with a 5xx"
[ ${#E2E_5XX[@]} -eq 0 ] || diag ${E2E_5XX[@]+"${E2E_5XX[@]}"}

that "${#E2E_BADBODY[@]} bad bodies" test ${#E2E_BADBODY[@]} -eq 0
verdict "every response body was JSON with a JSON content type"
[ ${#E2E_BADBODY[@]} -eq 0 ] || diag ${E2E_BADBODY[@]+"${E2E_BADBODY[@]}"}

if report=$(sanitizer_report "$STATE.err"); then
	fail "sanitizer report in the manager's stderr"
	diag "$report"
fi
verdict "no sanitizer reports in the manager's stderr"
if [ -s "$STATE.err" ]; then
	diag "manager stderr:" "$(head -n 40 "$STATE.err")"
fi
diag "runtime $(($(date +%s) - T_START)) s"

e2e_finish
