#!/usr/bin/env bash
# End-to-end test of the edges of the manager's HTTP: what libmicrohttpd would answer in HTML
# (414, 431) comes back as problem+json, a chunked body over the limit is answered 413, two
# Content-Length headers, an encoded NUL in the target and a NUL in a bearer value are
# refused, query ids and limits take digits only, and a duplicate JSON member is named in
# field.
# Run from the repository root: BUILD=build bash tests/e2e/http_edges_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

[ -x "$MANAGER" ] || e2e_bail "$MANAGER is not built (make all)"
command -v curl >/dev/null || e2e_bail "curl is missing (make deps)"

# raw TEXT: send TEXT (printf escapes: \r, \n, \0) on a new connection and read the answer to
# the end, as api() would have left it (STATUS, BODY, the head in $E2E_TMP/hdrs).
raw() {
	local fd port=${URL##*:}
	REQ="raw: $(printf '%s' "$1" | head -n 1 | tr -d '\r')"
	exec {fd}<>"/dev/tcp/127.0.0.1/$port" || { STATUS=000; return; }
	printf "$1" >&"$fd"
	timeout 5 cat <&"$fd" >"$E2E_TMP/raw"
	exec {fd}<&-
	sed -n '1,/^\r$/p' "$E2E_TMP/raw" >"$E2E_TMP/hdrs"
	BODY=$(sed '1,/^\r$/d' "$E2E_TMP/raw")
	STATUS=$(head -n 1 "$E2E_TMP/raw" | awk '{ print $2 }')
	[ -n "$STATUS" ] || STATUS=000
	json_flat >"$E2E_TMP/flat" 2>/dev/null || : >"$E2E_TMP/flat"
}

mgr_start "$E2E_TMP/state" || e2e_bail "the manager did not start"
TOKEN=$(cat "$E2E_TMP/state/admin.token")
api POST /v1/pools '{"name":"a","isd_as":"1-ff00:0:110","prefix":"10.0.0.0/24"}'
require "a pool to look up" [ "$STATUS" = 201 ]

long=$(head -c 20000 /dev/zero | tr '\0' a)
api GET "/v1/pools/$long"
want_problem 414 -
verdict "a 20000-byte request target -> 414 problem+json"
api -H "X-Big: $long" GET /v1/health
want_problem 431 -
verdict "20000 bytes of header fields -> 431 problem+json"

head -c 2000000 /dev/zero | tr '\0' a >"$E2E_TMP/big"
api -H "Transfer-Encoding: chunked" POST /v1/pools "@$E2E_TMP/big"
want_problem 413 -
verdict "a chunked body of 2 MB -> 413 problem+json (read to its end, then answered)"

raw "POST /v1/pools HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $TOKEN\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
want_problem 400 -
want_match .detail 'Content-Length'
verdict "two Content-Length headers -> 400"

api GET /v1/pools/1
want_status 200
verdict "GET /v1/pools/1 -> 200"
api GET /v1/pools/1%00x
want_problem 400 -
want_match .detail 'NUL'
verdict "GET /v1/pools/1%00x -> 400, not pool 1"
api GET "/v1/grants?pool=1%00"
want_problem 400 -
verdict "an encoded NUL in a query value -> 400"

raw "GET /v1/pools HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $TOKEN\0junk\r\nConnection: close\r\n\r\n"
want_problem 401 -
verdict "a bearer value with a NUL in it -> 401, not the token before the NUL"
raw "GET /v1/pools HTTP/1.1\nHost: x\nAuthorization: Bearer $TOKEN\0j\nConnection: close\n\n"
want_problem 401 -
verdict "the same with bare LF line ends -> 401"
raw "GET /v1/pools HTTP/1.1\nHost: x\nAuthorization: Bearer $TOKEN\nConnection: close\n\n"
want_status 200
verdict "the token alone with bare LF line ends -> 200"

api GET "/v1/grants?pool=99999999999999999999"
want_problem 400 pool
verdict "pool=99999999999999999999 -> 400 naming pool (no silent overflow)"
api GET "/v1/grants?pool=%201"
want_problem 400 pool
verdict "pool= 1 -> 400 naming pool"
api GET "/v1/sessions?agent=99999999999999999999"
want_problem 400 agent
verdict "agent=99999999999999999999 -> 400 naming agent"
api GET "/v1/pools?limit=%205"
want_problem 400 limit
verdict "limit= 5 -> 400 naming limit"
api GET "/v1/pools?limit=5%20"
want_problem 400 limit
verdict "limit=5%20 -> 400 naming limit, like limit= 5"
api GET "/v1/pools?limit=5"
want_status 200
verdict "limit=5 -> 200"

api POST /v1/pools '{"name":"b","name":"c","isd_as":"1-ff00:0:110","prefix":"10.0.1.0/24"}'
want_problem 400 name
want_match .detail 'duplicate'
verdict "a duplicate JSON member -> 400 naming the member in field"

mgr_stop
e2e_finish
