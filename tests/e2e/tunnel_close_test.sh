#!/usr/bin/env bash
# End-to-end test of every way the agent closes a tunnel (issue 4; the close codes and reasons
# of proto/README.md §1.4): code 1 for a wrong first or second request, a bad method or path, a
# request of 4096 bytes, a refused token (expired, malformed, exp = 2^63-1, a lifetime over 30
# days, a pssid that is not a UUID); 3 for a request without "Authorization: Bearer" and for
# revocation (DELETE /v1/clients/{pssid} of an enrolled client, POST /v1/revocations of an outside
# issuer's pssid); 5 for a stream that ends inside the header block; 2 when the handshake does not
# come within 3 s; 4 at the session's expiry (a 3 s token); 5 for DELETE /v1/sessions/{id} and for
# a second connection with the same pssid (superseded); 0 when the agent shuts down. Every client
# is a tests/tools/tunclient.
# Run from the repository root: BUILD=build bash tests/e2e/tunnel_close_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash
T_START=$(date +%s)
R=renew_session
P=/connectrpc.v1.snaptun

tunnel_env
issuer_new "$E2E_TMP/issuer.pem" snap || e2e_bail "the outside issuer key is imported"

# tok [EXP [PSSID]]: an outside-issuer token for PSSID (default a new one), valid for 600 s or
# until EXP (mktoken --exp).
tok() {
	"$MKTOKEN" --key "$E2E_TMP/issuer.pem" --pssid "${2:-$(uuid)}" --exp "${1:-+600}" --only-pssid-exp
}

# closes NAME CODE REASON-ERE [SECONDS]: the client's connection is closed by the agent with an
# application close of CODE, the reason matching REASON-ERE.
closes() {
	want_event "$1" "^closed peer=1 app=1 code=$2 idle=0 hs_failed=0 reason=\"$3\"\$" "${4:-5}"
}

# ======================================================================= code 1

client_start a1 --token "$(tok)"
want_event a1 '^ready$'
client_cmd a1 assign
closes a1 1 'expected session renewal request'
verdict "code 1: assign_addresses as the first request (\"expected session renewal request\")"

client_start a2 --token "$(tok)"
client_cmd a2 renew renew
want_event a2 '^response renew 200 '
closes a2 1 'expected address assignment request'
verdict "code 1: renew_session twice (\"expected address assignment request\")"

client_start a3 --token "$(tok)"
client_cmd a3 "raw GET $P/$R"
want_event a3 '^response raw 400 '
closes a3 1 '.*'
verdict "code 1: a GET request is answered 400, then closed"

client_start a4 --token "$(tok)"
client_cmd a4 "raw POST $P/nope"
want_event a4 '^response raw 400 '
closes a4 1 '.*'
verdict "code 1: an unknown path is answered 400, then closed"

client_start a5 --token "$(tok)"
client_cmd a5 "raw POST $P/$R?x=1"
want_event a5 '^response raw 400 '
closes a5 1 '.*'
verdict "code 1: a path with a query is an unknown path"

client_start a6 --token "$(tok)"
client_cmd a6 "sized 4096"
want_event a6 '^response sized 400 '
closes a6 1 '.*'
verdict "code 1: a request of 4096 bytes is too big: 400, then closed"

client_start a7 --token "$(tok)"
client_cmd a7 "sized 4095" "assign"
want_event a7 '^response sized 200 '
want_event a7 '^assigned '
verdict "a renewal request of exactly 4095 bytes is accepted and the handshake completes"

client_start a9 --token "$(tok -10)"
client_cmd a9 renew
want_event a9 '^response renew 401 '
closes a9 1 '.*'
verdict "code 1: an expired token is answered 401 in the handshake, then closed"

client_start a10 --token "$(tok)"
client_cmd a10 "renew $(tok | cut -c1-60)x.y.z"
want_event a10 '^response renew 401 '
closes a10 1 '.*'
verdict "code 1: a malformed token is answered 401 in the handshake, then closed"

# Time claims out of bounds (proto/README.md §1.5): the imported issuer's signature is good.
client_start a12 --token "$(tok)"
client_cmd a12 "renew $(tok 9223372036854775807)"
want_event a12 '^response renew 401 '
closes a12 1 '.*'
verdict "code 1: a token with exp = 2^63-1 is answered 401 in the handshake, then closed"

client_start a13 --token "$(tok +2592060)"
client_cmd a13 renew
want_event a13 '^response renew 401 '
closes a13 1 '.*'
verdict "code 1: a token valid for 30 days and a minute (over the lifetime maximum) is answered 401"

client_start a14 --token "$(tok +2591940)"
client_cmd a14 renew
want_event a14 '^response renew 200 '
verdict "a token valid for 30 days less a minute is accepted"

client_start a15 --token "$(tok)"
client_cmd a15 "renew $(tok +600 outside-issuer:client-9)"
want_event a15 '^response renew 401 '
closes a15 1 '.*'
verdict "code 1: a token whose pssid is not a UUID (outside-issuer:client-9) is answered 401"

client_start a16 --token "$(tok)"
client_cmd a16 "renew $(tok +600 "$(uuid | tr a-f A-F)")"
want_event a16 '^response renew 401 '
closes a16 1 '.*'
verdict "code 1: a token whose pssid is an upper-case UUID is answered 401"

# An issuer key pinned to an iss and an aud: its tokens must carry them.
PINPEM=$("$MKTOKEN" --new-key "$E2E_TMP/pinned.pem" | awk '{ printf "%s\\n", $0 }')
api POST /v1/keys "{\"kid\":\"pinned\",\"alg\":\"EdDSA\",\"public_key_pem\":\"$PINPEM\",\"iss\":\"https://idp.example\",\"aud\":\"snaptun\"}"
want_status 201
want .iss https://idp.example
want .aud snaptun
api -t "" GET /v1/keys
want .keys[1].kid pinned
want .keys[1].iss https://idp.example
want .keys[1].aud snaptun
want .keys[2].kid snap
want_absent .keys[2].iss
want_absent .keys[2].aud
verdict "POST /v1/keys with iss and aud pins -> 201, both shown, and by GET /v1/keys (none on the unpinned key)"
# ptok [MKTOKEN ARG...]: a token of the pinned key, valid for 600 s.
ptok() {
	"$MKTOKEN" --key "$E2E_TMP/pinned.pem" --pssid "$(uuid)" --exp +600 --only-pssid-exp "$@"
}
client_start p1 --token "$(ptok --iss https://idp.example --aud snaptun)" --handshake
want_event p1 '^assigned ' 5
verdict "a token of the pinned key with the pinned iss and aud is accepted"
client_start p2 --token "$(ptok --iss https://idp.example --aud other --aud snaptun)" --handshake
want_event p2 '^assigned '
verdict "  and one whose aud is an array holding the pinned aud"
client_start p3 --token "$(ptok --iss https://other.example --aud snaptun)" --handshake
want_event p3 '^response renew 401 '
that "the agent says why" wait_for 5 grep -q "token refused: issuer not the one the key is pinned to" "$AGENT_DIR.err"
verdict "a token of the pinned key with another iss is answered 401 (issuer not the pinned one)"
client_start p4 --token "$(ptok --aud snaptun)" --handshake
want_event p4 '^response renew 401 '
verdict "  and one without iss"
client_start p5 --token "$(ptok --iss https://idp.example --aud other)" --handshake
want_event p5 '^response renew 401 '
that "the agent says why" wait_for 5 grep -q "token refused: audience not the one the key is pinned to" "$AGENT_DIR.err"
verdict "  and one with another aud (audience not the pinned one)"
client_start p6 --token "$(tok)" --handshake
want_event p6 '^assigned '
verdict "the unpinned issuer key's tokens need no iss or aud, as before"
for c in p1 p2 p6; do client_stop "$c"; done

client_start a11 --token "$(tok)"
client_cmd a11 renew "assign 2-99,10.77.0.9"
want_event a11 '^response assign 400 '
closes a11 1 '.*'
verdict "code 1: an assignment the agent cannot grant (no pool of 2-99) is answered 400, then closed"

# ======================================================================= codes 3 and 5 in the request

client_start b1 --token "$(tok)"
client_cmd b1 "rawbytes $(printf 'POST %s/%s HTTP/1.1\r\ncontent-length: 0\r\n\r\n' "$P" "$R" | od -An -tx1 | tr -d ' \n')"
want_event b1 '^response rawbytes 401 '
closes b1 3 '.*'
verdict "code 3: a request without Authorization: Bearer is answered 401, then closed"

client_start b2 --token "$(tok)"
client_cmd b2 "rawbytes $(printf 'POST %s/%s HTTP/1.1\r\nAutho' "$P" "$R" | od -An -tx1 | tr -d ' \n')"
closes b2 5 '.*'
verdict "code 5: a stream that ends inside the header block (closed prematurely)"

# ======================================================================= code 2

client_start c1 --token "$(tok)"
want_event c1 '^ready$'
T0=$(date +%s%N)
closes c1 2 'timeout establishing snaptun' 6
DT=$((($(date +%s%N) - T0) / 1000000))
that "closed after $DT ms, expected about 3000" test "$DT" -ge 2500 -a "$DT" -le 4500
verdict "code 2: no request within 3 s (\"timeout establishing snaptun\", after ${DT} ms)"

client_start c2 --token "$(tok)"
client_cmd c2 renew
want_event c2 '^response renew 200 '
closes c2 2 'timeout establishing snaptun' 6
verdict "code 2: a renewal but no assignment within 3 s"

# ======================================================================= code 4

# The token's exp lies between its minting + 3 s and the assignment + 3 s (a loaded machine
# may take seconds between the two).
MINTED=$(date +%s)
client_start d1 --token "$(tok +3)" --handshake
want_event d1 '^assigned '
ASSIGNED=$(date +%s)
closes d1 4 'session expired' 6
NOW=$(date +%s)
that "closed at $NOW, the token's exp is in [$((MINTED + 3)), $((ASSIGNED + 3))]" \
    test "$NOW" -ge $((MINTED + 3)) -a "$NOW" -le $((ASSIGNED + 5))
verdict "code 4: the session of a 3 s token expires (\"session expired\")"

# ======================================================================= revocation

enroll rev || e2e_bail "a client enrolls"
PR=$PSSID
client_start e1 --token "$ACCESS" --handshake
want_event e1 '^assigned '
verdict "an enrolled client's tunnel is up"
T0=$(date +%s%N)
api DELETE "/v1/clients/$PR"
want_status 204
closes e1 3 'revoked'
DT=$((($(date +%s%N) - T0) / 1000000))
verdict "code 3: DELETE /v1/clients/{pssid} closes the live tunnel (\"revoked\", ${DT} ms after the call)"
client_start e2 --token "$ACCESS" --handshake
want_event e2 '^response renew 401 '
closes e2 1 '.*'
verdict "the revoked client's token is refused afterwards (401)"

PX=$(uuid)
TR=$(tok +600 "$PX")
client_start e3 --token "$TR" --handshake
want_event e3 '^assigned '
api POST /v1/revocations "{\"pssid\":\"$PX\",\"reason\":\"test\"}"
that "POST /v1/revocations answered $STATUS" test "${STATUS:0:1}" = 2
closes e3 3 'revoked'
verdict "code 3: POST /v1/revocations of an outside issuer's pssid closes its tunnel"
api GET /v1/revocations
want_status 200
that "GET /v1/revocations does not list $PX" grep -qF "$PX" <<<"$BODY"
that "GET /v1/revocations does not list the revoked client $PR" grep -qF "$PR" <<<"$BODY"
verdict "GET /v1/revocations lists both pssids"
# The agent ends a revoked tunnel without a HOLD_REQ: the revocation itself frees the address.
api GET "/v1/grants?pssid=$PX"
want_status 200
want_len .items 0
verdict "the revoked outside pssid's address is released, not left assigned"
client_start e4 --token "$TR" --handshake
want_event e4 '^response renew 401 '
verdict "a revoked outside pssid is refused"
api DELETE "/v1/revocations/$PX"
that "DELETE /v1/revocations/{pssid} answered $STATUS" test "${STATUS:0:1}" = 2
client_start e5 --token "$TR" --handshake
want_event e5 '^assigned ' 5
verdict "after DELETE /v1/revocations/{pssid} the pssid is accepted again"

# ======================================================================= code 5

PF=$(uuid)
client_start f1 --token "$(tok +600 "$PF")" --handshake
want_event f1 '^assigned '
api GET /v1/sessions
want_status 200
SID=$(json_flat | awk -F'\t' -v p="\"$PF\"" '
    $1 ~ /\.pssid$/ && $2 == p { k = $1; sub(/\.pssid$/, "", k); want = k }
    { v[$1] = $2 } END { print v[want ".id"] }' | tr -d '"')
that "no session id for $PF in GET /v1/sessions" test -n "$SID"
verdict "GET /v1/sessions lists the tunnel with its id ($SID)"
api DELETE "/v1/sessions/$SID"
that "DELETE /v1/sessions/$SID answered $STATUS" test "${STATUS:0:1}" = 2
closes f1 5 'closed by administrator'
verdict "code 5: DELETE /v1/sessions/{id} closes the tunnel (\"closed by administrator\")"

TS=$(tok)
client_start g1 --token "$TS" --handshake
want_event g1 '^assigned '
ADDR_G=$(awk '{ print $2 }' <<<"$CL_LINE")
client_start g2 --token "$TS" --handshake
want_event g2 "^assigned $ADDR_G "
closes g1 5 'superseded'
verdict "code 5: a second connection with the same pssid supersedes the first (same address)"

# ======================================================================= code 0

client_start h1 --token "$(tok)" --handshake
want_event h1 '^assigned '
client_start h2 --token "$(tok)" --handshake
want_event h2 '^assigned '
agent_stop
closes h1 0 'shutting down'
closes h2 0 'shutting down'
that "the agent exited with $AGENT_RC" test "$AGENT_RC" = 0
verdict "code 0: SIGTERM closes every tunnel (\"shutting down\") and the agent exits 0"

# The agent's last frames are its HOLD_REQs: the manager applies them although the channel
# closes right behind them.
api GET "/v1/grants?state=assigned"
want_status 200
want_len .items 0
verdict "after the agent's shutdown no grant is left assigned: every one is on hold"

no_sanitizer_reports
echo "# runtime $(($(date +%s) - T_START)) s"
e2e_finish
