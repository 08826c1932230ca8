#!/usr/bin/env bash
# End-to-end test of enrollment and clients: a real snaptun-manager on a temporary state dir and a
# free loopback port, driven with curl. POST /v1/join (the bundle, its access token decoded and
# checked against GET /v1/keys, idempotence for the same caller, 409 for another address),
# POST /v1/join/ack, the refusals (401 unknown, 410 consumed / aborted / expired / used ack),
# POST /v1/token (rotation, theft detection by reuse), /v1/clients (list, filters, get, patch,
# revoke, minted tokens, scopes), the per-source rate limit (429 + Retry-After), bad input on
# the public endpoints, and no secret in the audit log or the join token list.
#
# Not covered here: the revert of an unacknowledged enrollment (the ack TTL is a fixed 30 s, too
# long to wait for in this test): tests/unit/enroll_test.c covers it with a clock of its own, and
# tests/e2e/enroll_crash_test.sh checks that in-flight tokens carry a deadline within 30 s.
# Run from the repository root: BUILD=build bash tests/e2e/enroll_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

[ -x "$MANAGER" ] || e2e_bail "$MANAGER is not built (make all)"
command -v curl >/dev/null || e2e_bail "curl is missing (make deps)"

STATE=$E2E_TMP/state
SECRETS=$E2E_TMP/secrets	# every secret handed out (snj_, snr_, ack_), one a line
: >"$SECRETS"
UUID4_RE='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
TIME_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
SECRET_LIKE='"(snj|snr|ack)_[A-Za-z0-9_-]{16,}'	# a secret as a JSON string (not ack_deadline)
JWS_RE='^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$'
FAST=(--enroll-rate 100000 --enroll-burst 100000)	# no rate limit but in the rate limit test
T_START=$(date +%s)

# epoch RFC3339: seconds since the epoch (empty if it does not parse).
epoch() {
	date -u -d "$1" +%s 2>/dev/null
}

# pub METHOD PATH BODY: a request to a public endpoint, without Authorization.
pub() {
	api -t "" "$@"
}

# keep: remember the secrets of the last response (for the no-secret checks at the end).
keep() {
	grep -oE "$SECRET_LIKE" <<<"$BODY" | tr -d '"' >>"$SECRETS"
}

# check_access TOKEN NAME PSSID TTL T0 T1: the checks of an access token (into the verdict).
check_access() {
	local tok=$1 name=$2 pssid=$3 ttl=$4 t0=$5 t1=$6 head payload iat exp
	printf '%s' "$tok" | grep -Eq "$JWS_RE" || { fail "access token \"${tok:0:60}\" is not a compact JWS"; return; }
	head=$(b64url_dec "${tok%%.*}")
	payload=${tok#*.}
	payload=$(b64url_dec "${payload%%.*}")
	if ! json_flat "$head" >/dev/null 2>&1; then
		fail "the JWS header is not JSON: $head"
		return
	fi
	if ! json_flat "$payload" >/dev/null 2>&1; then
		fail "the JWS payload is not JSON: $payload"
		return
	fi
	[ "$(jget .alg "$head")" = EdDSA ] || fail "header alg \"$(jget .alg "$head")\", expected EdDSA"
	[ "$(jget .kid "$head")" = "$KID" ] || fail "header kid \"$(jget .kid "$head")\", expected the active key $KID"
	[ "$(jget .pssid "$payload")" = "$pssid" ] || fail "claim pssid \"$(jget .pssid "$payload")\", expected $pssid"
	[ "$(jget .sub "$payload")" = "$name" ] || fail "claim sub \"$(jget .sub "$payload")\", expected $name"
	[ "$(jget .iss "$payload")" = snaptun-manager ] || fail "claim iss \"$(jget .iss "$payload")\""
	[ "$(jget .aud "$payload")" = snaptun ] || fail "claim aud \"$(jget .aud "$payload")\""
	jget .jti "$payload" | grep -Eq '^[A-Za-z0-9_-]{16,}$' || fail "claim jti \"$(jget .jti "$payload")\" is missing or short"
	iat=$(jget .iat "$payload") exp=$(jget .exp "$payload")
	{ [[ $iat =~ ^[0-9]+$ ]] && [ "$iat" -ge "$t0" ] && [ "$iat" -le "$t1" ]; } ||
	    fail "claim iat \"$iat\" not within [$t0, $t1]"
	{ [[ $exp =~ ^[0-9]+$ ]] && [ "$exp" -ge $((t0 + ttl)) ] && [ "$exp" -le $((t1 + ttl)) ]; } ||
	    fail "claim exp \"$exp\" not within [$((t0 + ttl)), $((t1 + ttl))] (now + $ttl)"
	JWT_EXP=$exp
}

# start_manager DIR ARGS...: mgr_start, bailing with a precise report when the manager refuses
# the rate limit flags.
start_manager() {
	local dir=$1
	if ! mgr_start "$@"; then
		if grep -q "unrecognized option '--enroll" "$dir.err" 2>/dev/null; then
			e2e_bail "the manager accepts --enroll-rate/--enroll-burst: $(grep -m1 unrecognized "$dir.err")"
		fi
		e2e_bail "the manager starts on $dir"
	fi
}

# ======================================================================= start

start_manager "$STATE" "${FAST[@]}"
M1=$MGR_PID
check "the manager runs with --enroll-rate 100000 --enroll-burst 100000 ($URL)" kill -0 "$M1"
ADMIN=$(cat "$STATE/admin.token" 2>/dev/null)
TOKEN=$ADMIN

api POST /v1/join-tokens '{"name":"short","ttl_seconds":1}'
want_status 201
verdict "a join token that expires in 1 s is created (checked much later)"
SHORT_SECRET=$(jget .token) SHORT_EXP=$(epoch "$(jget .expires_at)")
keep

api GET /v1/keys
want_status 200
want .keys[0].state active
KID=$(jget .keys[0].kid)
that "no active kid" test -n "$KID"
verdict "GET /v1/keys names the active key ($KID)"

api POST /v1/join-tokens '{"count":100,"labels":{"fleet":"f1","site":"zrh"},"name":"edge"}'
want_status 201
want_len .items 100
verdict "POST /v1/join-tokens {count:100} -> 201 with 100 tokens"
keep
mapfile -t SEC < <(jeach .items token)
mapfile -t TID < <(jeach .items id)
[ ${#SEC[@]} -eq 100 ] && [ ${#TID[@]} -eq 100 ] || e2e_bail "100 secrets and ids were read (${#SEC[@]}, ${#TID[@]})"

# ======================================================================= join

T0=$(date +%s)
pub POST /v1/join "{\"token\":\"${SEC[0]}\",\"name\":\"host-0\"}"
T1=$(date +%s)
want_status 201
want_match .pssid "$UUID4_RE"
want .name host-0
want_match .access_token "$JWS_RE"
want_match .access_token_expires_at "$TIME_RE"
want_match .refresh_token '^snr_[A-Za-z0-9_-]{20,}$'
want_raw .agents '[]'
want_match .ack_token '^ack_[A-Za-z0-9_-]{22}$'
want_match .ack_deadline "$TIME_RE"
D=$(epoch "$(jget .ack_deadline)")
that "ack_deadline $(jget .ack_deadline) is not now + 30 s" test -n "$D" -a "${D:-0}" -ge $((T0 + 30)) -a "${D:-0}" -le $((T1 + 30))
E=$(epoch "$(jget .access_token_expires_at)")
that "access_token_expires_at $(jget .access_token_expires_at) is not now + 3600 s" \
    test -n "$E" -a "${E:-0}" -ge $((T0 + 3600)) -a "${E:-0}" -le $((T1 + 3600))
verdict "POST /v1/join {token,name} -> 201 bundle: UUID v4 pssid, name, JWS, snr_ refresh, agents [], ack_ token, ack_deadline = now + 30 s"
keep
P0=$(jget .pssid) ACK0=$(jget .ack_token) R0=$(jget .refresh_token) A0=$(jget .access_token)

check_access "$A0" host-0 "$P0" 3600 "$T0" "$T1"
that "exp claim $JWT_EXP differs from access_token_expires_at $E" test "${JWT_EXP:-x}" = "$E"
verdict "the access token: alg EdDSA, the active kid; claims pssid, sub = name, iss, aud, jti, iat = now, exp = now + 3600"

api GET "/v1/join-tokens/${TID[0]}"
want_status 200
want .state in_flight
want .in_flight_address 127.0.0.1
want_match .ack_deadline "$TIME_RE"
want_raw .consumed_at null
verdict "the join token is in_flight for 127.0.0.1 with an ack_deadline"

api GET "/v1/clients/$P0"
want_status 200
want .pssid "$P0"
want .name host-0
want_raw .enrolled false
want_raw .join_token "${TID[0]}"
want .labels.fleet f1
want .labels.site zrh
want_raw .revoked_at null
verdict "the client exists unacknowledged (enrolled false) with its token's labels"

pub POST /v1/token "{\"refresh_token\":\"$R0\"}"
want_problem 401 refresh_token
verdict "refresh before the ack -> 401"

pub POST /v1/join "{\"token\":\"${SEC[0]}\",\"name\":\"host-0\"}"
want_status 201
want .pssid "$P0"
want .name host-0
want_match .ack_token '^ack_'
that "the ack token did not change" test "$(jget .ack_token)" != "$ACK0"
that "the refresh token did not change" test "$(jget .refresh_token)" != "$R0"
verdict "the same caller joins again -> 201, same pssid, fresh ack and refresh tokens"
keep
ACK1=$(jget .ack_token) R1=$(jget .refresh_token)

CURL_OPTS=(--interface 127.0.0.2)
pub POST /v1/join "{\"token\":\"${SEC[0]}\"}"
CURL_OPTS=()
if [ "$STATUS" = 000 ]; then
	skip "joining from 127.0.0.2" "cannot bind a second loopback address here"
else
	want_problem 409 token
	verdict "the in-flight token presented from another address (127.0.0.2) -> 409"
fi

pub POST /v1/join/ack "{\"ack_token\":\"$ACK0\"}"
want_problem 410 ack_token
verdict "the superseded ack token -> 410"

api GET "/v1/join-tokens/${TID[0]}"
want .state in_flight
verdict "the token is still in flight after the refused ack"

pub POST /v1/join/ack "{\"ack_token\":\"$ACK1\"}"
want_status 204
that "a 204 with a body: ${BODY:0:80}" test -z "$BODY"
verdict "POST /v1/join/ack with the current ack -> 204"

api GET "/v1/join-tokens/${TID[0]}"
want .state consumed
want .consumed_address 127.0.0.1
want_match .consumed_at "$TIME_RE"
want_raw .ack_deadline null
verdict "the join token is consumed (consumed_address 127.0.0.1, consumed_at)"

api GET "/v1/clients/$P0"
want_raw .enrolled true
verdict "the client is enrolled"

pub POST /v1/join/ack "{\"ack_token\":\"$ACK1\"}"
want_problem 410 ack_token
verdict "the same ack again -> 410"

pub POST /v1/join "{\"token\":\"${SEC[0]}\"}"
want_problem 410 token
want_match .detail consumed
verdict "joining with the consumed token -> 410, detail says consumed"

pub POST /v1/join '{"token":"snj_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}'
want_problem 401 token
verdict "an unknown join token -> 401 field token"

api DELETE "/v1/join-tokens/${TID[1]}"
want_status 200
pub POST /v1/join "{\"token\":\"${SEC[1]}\"}"
want_problem 410 token
want_match .detail aborted
verdict "an aborted join token -> 410, detail says aborted"

for ((i = 0; i < 40 && $(date +%s) <= ${SHORT_EXP:-0}; i++)); do
	sleep 0.1	# until the 1 s token has expired (the test may get here sooner)
done
pub POST /v1/join "{\"token\":\"$SHORT_SECRET\"}"
want_problem 410 token
want_match .detail expired
verdict "an expired join token -> 410, detail says expired"

# ======================================================================= refresh

T0=$(date +%s)
pub POST /v1/token "{\"refresh_token\":\"$R1\"}"
T1=$(date +%s)
want_status 200
want_match .refresh_token '^snr_'
want_match .access_token "$JWS_RE"
want_match .access_token_expires_at "$TIME_RE"
that "the refresh token did not rotate" test "$(jget .refresh_token)" != "$R1"
keep
R2=$(jget .refresh_token)
check_access "$(jget .access_token)" host-0 "$P0" 3600 "$T0" "$T1"
that "the access token did not change" test "$(jget .access_token)" != "$A0"
verdict "refresh after the ack -> 200 with a new access token (checked) and a new refresh token"

pub POST /v1/token "{\"refresh_token\":\"$R2\"}"
want_status 200
keep
R3=$(jget .refresh_token)
verdict "the new refresh token works once -> 200"

pub POST /v1/token "{\"refresh_token\":\"$R0\"}"
want_problem 401 refresh_token
verdict "the refresh token of the superseded join answer -> 401"

api GET "/v1/clients/$P0"
want_raw .revoked_at null
verdict "a refresh token that was replaced before use does not count as theft"

pub POST /v1/token "{\"refresh_token\":\"$R1\"}"
want_problem 401 refresh_token
verdict "an already exchanged refresh token presented again -> 401"

api GET "/v1/clients/$P0"
want_status 200
want_match .revoked_at "$TIME_RE"
want .revoke_reason "refresh token reused"
verdict "the reuse revoked the client (revoke_reason \"refresh token reused\")"

pub POST /v1/token "{\"refresh_token\":\"$R3\"}"
want_problem 401 refresh_token
verdict "the client's newest refresh token -> 401 too"

api GET "/v1/events?action=client.revoke&object=client:$P0"
want_len .items 1
want .items[0].actor theft-detection
verdict "the theft is audited: client.revoke by theft-detection"

# ======================================================================= more clients

# enroll I NAME: join (+ ack) with token I; sets P, R (pssid, refresh token).
enroll() {
	local body="{\"token\":\"${SEC[$1]}\"${2:+,\"name\":\"$2\"}}"
	pub POST /v1/join "$body"
	[ "$STATUS" = 201 ] || { fail "join with token $1: $STATUS ${BODY:0:200}"; return 1; }
	keep
	P=$(jget .pssid) R=$(jget .refresh_token)
	pub POST /v1/join/ack "{\"ack_token\":\"$(jget .ack_token)\"}"
	[ "$STATUS" = 204 ] || { fail "ack for token $1: $STATUS ${BODY:0:200}"; return 1; }
}

P=
for i in 2 3 4 5 6; do
	enroll $i "host-$i" || break
	PS[$i]=$P RS[$i]=$R
done
verdict "five more tokens of the bulk enroll (join + ack)"

api POST /v1/join-tokens '{"labels":{"fleet":"f2"}}'
keep
OTHER_SECRET=$(jget .token)
pub POST /v1/join "{\"token\":\"$OTHER_SECRET\"}"
want_status 201
want .name unnamed
keep
P_UNACK=$(jget .pssid)
verdict "a join without a name (token without one) -> name \"unnamed\"; left unacknowledged"

api GET '/v1/clients?limit=1000'
want_status 200
want_len .items 7
want_raw .next null
verdict "GET /v1/clients lists the 7 clients"

api GET '/v1/clients?label=fleet=f1'
want_len .items 6
! jeach .items pssid | grep -qx "$P_UNACK" || fail "the fleet=f2 client is listed"
verdict "?label=fleet=f1 -> the 6 clients of the bulk tokens"

api GET '/v1/clients?label=fleet=f2'
want_len .items 1
want .items[0].pssid "$P_UNACK"
want_raw .items[0].enrolled false
verdict "?label=fleet=f2 -> the unacknowledged client"

api GET '/v1/clients?label=site'
want_len .items 6
verdict "?label=site (key only) -> 6"

api GET '/v1/clients?revoked=true'
want_len .items 1
want .items[0].pssid "$P0"
verdict "?revoked=true -> the client revoked for theft"

api GET '/v1/clients?revoked=false'
want_len .items 6
verdict "?revoked=false -> the other 6"

api GET '/v1/clients?limit=2'
want_len .items 2
NEXT=$(jget .next)
that "no next cursor" test -n "$NEXT"
api GET "/v1/clients?limit=1000&after=$NEXT"
want_len .items 5
verdict "paging: limit=2 then after=next -> 2 + 5"

for q in revoked=yes revoked= revoked=TRUE label= 'label==x' limit=0 after=x bogus=1; do
	k=${q%%=*}
	api GET "/v1/clients?$q"
	want_problem 400 "$k"
	verdict "GET /v1/clients?$q -> 400 field $k"
done

api GET /v1/clients/00000000-0000-4000-8000-000000000000
want_problem 404 -
verdict "GET an unknown client -> 404"

api GET /v1/clients/not-a-uuid
want_problem 404 -
verdict "GET /v1/clients/not-a-uuid -> 404"

P2=${PS[2]}
api PATCH "/v1/clients/$P2" '{"name":"renamed","labels":{"role":"db"}}'
want_status 200
want .name renamed
want .labels.role db
want_absent .labels.fleet
verdict "PATCH name and labels -> 200 with the new values"

api GET "/v1/clients/$P2"
want .name renamed
want .labels.role db
verdict "GET shows the patch"

api GET "/v1/events?action=client.update&object=client:$P2"
want_len .items 1
want .items[0].actor bootstrap
want .items[0].details.name renamed
verdict "the patch is audited: client.update by bootstrap with the request"

for b in '{}' '{"name":""}' '{"name":5}' '{"labels":{"A":"x"}}' '{"labels":"x"}' '{"bogus":1}'; do
	api PATCH "/v1/clients/$P2" "$b"
	want_status 400
	verdict "PATCH $b -> 400"
done

api PATCH /v1/clients/00000000-0000-4000-8000-000000000000 '{"name":"x"}'
want_problem 404 -
verdict "PATCH an unknown client -> 404"

# ---- admin tokens of the other scopes ----
api POST /v1/admin-tokens '{"name":"reader","scope":"read"}'
READER=$(jget .token)
api POST /v1/admin-tokens '{"name":"prov","scope":"provision"}'
PROV=$(jget .token)
that "no read or provision token" test -n "$READER" -a -n "$PROV"
verdict "a read and a provision admin token are created"

api -t "$READER" GET /v1/clients
want_status 200
want_len .items 7
api -t "$READER" GET "/v1/clients/$P2"
want_status 200
verdict "a read token may list and get clients"

P3=${PS[3]}
api -t "$READER" PATCH "/v1/clients/$P3" '{"name":"x"}'
want_problem 403 -
verdict "a read token may not PATCH a client -> 403"
api -t "$READER" DELETE "/v1/clients/$P3"
want_problem 403 -
verdict "a read token may not revoke a client -> 403"
api -t "$READER" POST "/v1/clients/$P3/tokens" '{"ttl_seconds":600}'
want_problem 403 -
verdict "a read token may not mint a client token -> 403"

for m in GET:/v1/clients "GET:/v1/clients/$P3" "DELETE:/v1/clients/$P3"; do
	api -t "$PROV" "${m%%:*}" "${m#*:}"
	want_problem 403 -
	verdict "a provision token: ${m%%:*} ${m#*:} -> 403"
done
api -t "$PROV" POST "/v1/clients/$P3/tokens" '{"ttl_seconds":600}'
want_problem 403 -
verdict "a provision token may not mint a client token -> 403"

api -t "" GET /v1/clients
want_problem 401 -
verdict "GET /v1/clients without Authorization -> 401"

# ---- minted tokens ----
T0=$(date +%s)
api POST "/v1/clients/$P3/tokens" '{"ttl_seconds":600}'
T1=$(date +%s)
want_status 201
want_match .access_token "$JWS_RE"
E=$(epoch "$(jget .access_token_expires_at)")
check_access "$(jget .access_token)" host-3 "$P3" 600 "$T0" "$T1"
that "access_token_expires_at is not the exp claim" test "${JWT_EXP:-x}" = "${E:-y}"
verdict "POST /v1/clients/{pssid}/tokens {ttl_seconds:600} -> 201, exp = now + 600"

api GET "/v1/events?action=client.token&object=client:$P3"
want_len .items 1
want_raw .items[0].details.ttl_seconds 600
case $BODY in *eyJ*) fail "the token is in the audit log" ;; esac
verdict "the mint is audited: client.token with ttl_seconds, not the token"

for t in 0 86401 -1; do
	api POST "/v1/clients/$P3/tokens" "{\"ttl_seconds\":$t}"
	want_problem 400 ttl_seconds
	verdict "mint with ttl_seconds $t -> 400 field ttl_seconds"
done
api POST "/v1/clients/$P3/tokens" '{"ttl_seconds":"600"}'
want_problem 400 ttl_seconds
verdict "mint with ttl_seconds \"600\" (a string) -> 400"

# A join of its own, just now: an unacknowledged enrollment is reverted after 30 s, which a
# loaded machine can take to get from the join above to here.
api POST /v1/join-tokens '{}'
keep
pub POST /v1/join "{\"token\":\"$(jget .token)\"}"
want_status 201
keep
api POST "/v1/clients/$(jget .pssid)/tokens" '{"ttl_seconds":600}'
want_problem 409 -
verdict "mint for an unacknowledged client -> 409"

api POST "/v1/clients/$P0/tokens" '{"ttl_seconds":600}'
want_problem 409 -
want_match .detail revoked
verdict "mint for the client revoked for theft -> 409"

# ---- revoke ----
P4=${PS[4]} R4=${RS[4]}
api DELETE "/v1/clients/$P4"
want_status 204
verdict "DELETE /v1/clients/{pssid} -> 204"

api GET "/v1/clients/$P4"
want_status 200
want_match .revoked_at "$TIME_RE"
want .revoke_reason "revoked by administrator"
verdict "the client shows revoked (revoked_at, revoke_reason)"

pub POST /v1/token "{\"refresh_token\":\"$R4\"}"
want_problem 401 refresh_token
verdict "refresh of a revoked client -> 401"

api POST "/v1/clients/$P4/tokens" '{"ttl_seconds":600}'
want_problem 409 -
verdict "mint for a revoked client -> 409"

api DELETE "/v1/clients/$P4"
want_status 204
api GET "/v1/events?action=client.revoke&object=client:$P4"
want_len .items 1
want .items[0].actor bootstrap
verdict "revoking again -> 204 and nothing more is audited (one client.revoke by bootstrap)"

api DELETE /v1/clients/00000000-0000-4000-8000-000000000000
want_problem 404 -
verdict "DELETE an unknown client -> 404"

api GET '/v1/clients?revoked=true'
want_len .items 2
verdict "?revoked=true -> 2 now"

R5=${RS[5]}
pub POST /v1/token "{\"refresh_token\":\"$R5\"}"
want_status 200
keep
verdict "another client refreshes normally -> 200"

# ======================================================================= bad input

for ep in /v1/join:token /v1/join/ack:ack_token /v1/token:refresh_token; do
	path=${ep%%:*} f=${ep#*:}
	pub POST "$path" '{}'
	want_problem 400 "$f"
	verdict "POST $path {} -> 400 field $f"
	pub POST "$path" "{\"$f\":5}"
	want_problem 400 "$f"
	verdict "POST $path {$f:5} -> 400 field $f"
	pub POST "$path" "{\"$f\":[\"x\"]}"
	want_problem 400 "$f"
	verdict "POST $path {$f:[…]} -> 400 field $f"
	pub POST "$path" "{\"$f\":\"x\",\"bogus\":1}"
	want_problem 400 bogus
	verdict "POST $path with an unknown member -> 400 field bogus"
	pub POST "$path" 'not json'
	want_status 400
	want_header Content-Type application/problem+json
	verdict "POST $path with a body that is not JSON -> 400"
	pub POST "$path" '[1]'
	want_status 400
	verdict "POST $path with a JSON array -> 400"
	pub -c text/plain POST "$path" "{\"$f\":\"x\"}"
	want_problem 415 -
	verdict "POST $path as text/plain -> 415"
	pub POST "$path" "{\"$f\":\"\"}"
	case $STATUS in 400 | 401 | 410) ;; *) fail "status $STATUS" ;; esac
	verdict "POST $path with an empty string -> 400, 401 or 410, not a 5xx"
done

pub POST /v1/join "{\"token\":\"${SEC[7]}\",\"name\":\"\"}"
want_problem 400 name
pub POST /v1/join "{\"token\":\"${SEC[7]}\",\"name\":\"$(printf 'n%.0s' $(seq 1 65))\"}"
want_problem 400 name
verdict "POST /v1/join with an empty or 65-character name -> 400 field name"

api GET "/v1/join-tokens/${TID[7]}"
want .state issued
verdict "the token of the refused joins is still issued"

# ======================================================================= no secrets

api GET '/v1/join-tokens?limit=1000'
want_status 200
grep -qE "$SECRET_LIKE" <<<"$BODY" && fail "something secret-like (snj_, snr_, ack_) in the list"
grep -q '\.token	' "$E2E_TMP/flat" && fail "an item has a token member"
printf '%s' "$BODY" | grep -qFf "$SECRETS" && fail "a secret handed out appears in the list"
verdict "GET /v1/join-tokens never contains a secret"

: >"$E2E_TMP/events"
next=""
for ((i = 0; i < 50; i++)); do
	api GET "/v1/events?limit=1000${next:+&after=$next}"
	[ "$STATUS" = 200 ] || { fail "events: $STATUS"; break; }
	printf '%s\n' "$BODY" >>"$E2E_TMP/events"
	[ "$(jraw .next)" = null ] && break
	next=$(jget .next)
done
grep -qE "$SECRET_LIKE" "$E2E_TMP/events" && fail "something secret-like (snj_, snr_, ack_) in the events"
grep -qFf "$SECRETS" "$E2E_TMP/events" && fail "a secret handed out is in the audit log"
that "only $(wc -l <"$SECRETS") secrets collected" test "$(wc -l <"$SECRETS")" -ge 120
verdict "the audit log never contains a secret ($(wc -l <"$SECRETS") checked)"

api GET "/v1/events?object=join_token:${TID[0]}&limit=1000"
that "actions [$(jeach .items action | tr '\n' ' ')], expected [join_token.create join_token.join join_token.join join_token.consume ]" \
    test "$(jeach .items action | tr '\n' ' ')" = "join_token.create join_token.join join_token.join join_token.consume "
want .items[1].actor 127.0.0.1
want .items[3].actor "$P0"
verdict "the token's events: create, join (by 127.0.0.1) twice, consume (by the pssid)"

api GET '/v1/events?action=join_token.consume&limit=1000'
want_len .items 6
verdict "six join_token.consume events (the six acknowledged enrollments)"

mgr_stop TERM "$M1"
that "exit status $MGR_RC" test "$MGR_RC" = 0
verdict "the manager exits 0 on SIGTERM"

# ======================================================================= rate limit

RL=$E2E_TMP/rl
# One request per 10 s: the checks below must come in before a token is earned back, also on a
# loaded machine (at one per 2 s, a CI machine running other work earned one back mid-check).
start_manager "$RL" --enroll-rate 0.1 --enroll-burst 3
M2=$MGR_PID
TOKEN=$(cat "$RL/admin.token" 2>/dev/null)
for i in 1 2 3; do
	pub POST /v1/join '{"token":"snj_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}'
	want_problem 401 token
done
verdict "--enroll-rate 0.1 --enroll-burst 3: three quick joins with a bad token -> 401"

pub POST /v1/join '{"token":"snj_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}'
want_problem 429 -
RA=$(hdr Retry-After)
[[ $RA =~ ^[0-9]+$ ]] && [ "$RA" -ge 1 ] || fail "Retry-After \"$RA\", expected an integer >= 1"
verdict "the fourth -> 429 problem+json with Retry-After >= 1 ($RA)"

pub POST /v1/token '{"refresh_token":"snr_x"}'
want_problem 429 -
pub POST /v1/join/ack '{"ack_token":"ack_x"}'
want_problem 429 -
verdict "the limit covers /v1/token and /v1/join/ack of the same source too"

api GET /v1/clients
want_status 200
verdict "the admin API is not rate limited"

CURL_OPTS=(--interface 127.0.0.2)
pub POST /v1/join '{"token":"snj_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}'
CURL_OPTS=()
if [ "$STATUS" = 000 ]; then
	skip "another source" "cannot bind 127.0.0.2 here"
else
	want_problem 401 token
	verdict "another source address (127.0.0.2) has its own allowance -> 401, not 429"
fi

sleep "${RA:-1}"
pub POST /v1/join '{"token":"snj_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}'
want_problem 401 token
verdict "after Retry-After seconds the source may try again -> 401"

mgr_stop TERM "$M2"

# ======================================================================= across the run

that "${#E2E_5XX[@]} 5xx answers" test ${#E2E_5XX[@]} -eq 0
verdict "no request was answered with a 5xx"
[ ${#E2E_5XX[@]} -eq 0 ] || diag ${E2E_5XX[@]+"${E2E_5XX[@]}"}

that "${#E2E_BADBODY[@]} bad bodies" test ${#E2E_BADBODY[@]} -eq 0
verdict "every response body was JSON with a JSON content type"
[ ${#E2E_BADBODY[@]} -eq 0 ] || diag ${E2E_BADBODY[@]+"${E2E_BADBODY[@]}"}

for f in "$STATE.err" "$RL.err"; do
	if report=$(sanitizer_report "$f"); then
		fail "sanitizer report in $f"
		diag "$report"
	fi
done
verdict "no sanitizer reports in the managers' stderr"
diag "runtime $(($(date +%s) - T_START)) s"

e2e_finish
