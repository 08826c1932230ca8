#!/usr/bin/env bash
# End-to-end test of /v1/keys: a real snaptun-manager on a temporary state dir and a free
# loopback port, driven with curl. The public JWK set (no token, no private material), the
# private halves sealed in the store (no key files; the store secret 0600), scopes, rotation, import of Ed25519 / P-256 / RSA public keys made by certtool,
# bad inputs naming their field, conflicts, delete, a kill -9 restart, and the audit events.
# (Retirement at verify_until, 24 h after a rotation, is in tests/unit/signkeys_test.c.)
# Run from the repository root: BUILD=build bash tests/e2e/keys_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

[ -x "$MANAGER" ] || e2e_bail "$MANAGER is not built (make all)"
command -v curl >/dev/null || e2e_bail "curl is missing (make deps)"
command -v certtool >/dev/null || e2e_bail "certtool is missing (make deps: gnutls-bin)"

STATE=$E2E_TMP/state
KID_RE='^k-[A-Za-z0-9_-]{12}$'
B64_32_RE='^[A-Za-z0-9_-]{43}$'
TIME_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
T_START=$(date +%s)

epoch() {
	date -u -d "$1" +%s 2>/dev/null
}

# no_private: the last response holds no private JWK member, no private key, no sealed half
# and not the store secret.
no_private() {
	local m
	for m in d p q dp dq qi k; do
		grep -q "\.$m	" "$E2E_TMP/flat" && fail "a key has the private member \"$m\""
	done
	case $BODY in *"PRIVATE KEY"* | *'"s1.'* | *"$(base64 -w0 "$STATE/store.secret")"*)
		fail "the response contains private key material" ;;
	esac
}

# sealed KID: the row of KID holds its private half sealed (and no PEM text).
sealed() {
	[ "$(store_sql "$STATE" "SELECT count(*) FROM signing_keys WHERE kid = '$1' AND
	    private_key_sealed LIKE 's1.%' AND private_key_sealed NOT LIKE '%PRIVATE%'")" = 1 ]
}

# kids [TEXT]: the kids of a GET /v1/keys answer (default: the last), space-separated.
kids() {
	jeach .keys kid "$@" | tr '\n' ' '
}

# state_of KID: the state of KID in the last GET /v1/keys ("" if absent).
state_of() {
	paste <(jeach .keys kid) <(jeach .keys state) | awk -v k="$1" '$1 == k { print $2 }'
}

# pubpem KEYFILE: the PUBLIC KEY PEM of a certtool private key.
pubpem() {
	certtool --load-privkey "$1" --pubkey-info 2>/dev/null |
	    sed -n '/-----BEGIN PUBLIC KEY-----/,/-----END PUBLIC KEY-----/p'
}

# json_text: stdin as the inside of a JSON string.
json_text() {
	awk 'BEGIN { ORS = "" }
	    { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); print $0 "\\n" }'
}

# import_body KID ALG PEMFILE
import_body() {
	printf '{"kid":"%s","alg":"%s","public_key_pem":"%s"}' "$1" "$2" "$(json_text <"$3")"
}

# count_events ACTION: how many audit events of ACTION (via the API).
count_events() {
	api GET "/v1/events?action=$1&limit=1000"
	jlen .items
}

# ======================================================================= keys made by certtool

for k in ed25519 ecdsa rsa; do
	bits=()
	[ $k = rsa ] && bits=(--bits 2048)
	certtool --generate-privkey --key-type $k ${bits[@]+"${bits[@]}"} \
	    --outfile "$E2E_TMP/$k.key" >/dev/null 2>&1
	pubpem "$E2E_TMP/$k.key" >"$E2E_TMP/$k.pub"
done
certtool --generate-privkey --key-type rsa --bits 1024 --outfile "$E2E_TMP/rsa1024.key" \
    >/dev/null 2>&1
pubpem "$E2E_TMP/rsa1024.key" >"$E2E_TMP/rsa1024.pub"
certtool --generate-privkey --key-type ecdsa --curve secp384r1 --outfile "$E2E_TMP/p384.key" \
    >/dev/null 2>&1
pubpem "$E2E_TMP/p384.key" >"$E2E_TMP/p384.pub"
for k in ed25519 ecdsa rsa rsa1024 p384; do
	grep -q 'BEGIN PUBLIC KEY' "$E2E_TMP/$k.pub" || fail "certtool made no $k public key"
done
certtool -k --infile "$E2E_TMP/ecdsa.key" 2>/dev/null | grep -q 'SECP256R1' ||
    fail "certtool's default ecdsa curve is not P-256 (SECP256R1)"
verdict "certtool makes Ed25519, P-256 (its default ecdsa curve), RSA 2048/1024, P-384 keys" ||
    e2e_bail "cannot make test keys"

# ======================================================================= first start

require "the manager starts and writes manager.url within 10 s" mgr_start "$STATE"
M1=$MGR_PID
ADMIN=$(cat "$STATE/admin.token" 2>/dev/null)
TOKEN=$ADMIN

api -t "" GET /v1/keys
want_status 200
want_header Content-Type application/json
want_len .keys 1
want .keys[0].kty OKP
want .keys[0].crv Ed25519
want_match .keys[0].x "$B64_32_RE"
want_match .keys[0].kid "$KID_RE"
want .keys[0].alg EdDSA
want .keys[0].use sig
want .keys[0].state active
want .keys[0].origin snaptun
want_match .keys[0].created_at "$TIME_RE"
want_raw .keys[0].verify_until null
want_absent .keys[0].d
no_private
verdict "GET /v1/keys without a token -> 200, one active OKP Ed25519 key of ours, no d"
K1=$(jget .keys[0].kid)
X1=$(jget .keys[0].x)

that "a keys dir: $(ls -A "$STATE/keys" 2>&1)" test ! -e "$STATE/keys"
that "store.secret $(stat -c '%a %s' "$STATE/store.secret" 2>&1)" \
    test "$(stat -c '%a %s' "$STATE/store.secret")" = "600 32"
that "the row of $K1 holds no sealed private half" sealed "$K1"
verdict "the private key is sealed in its row under DIR/store.secret (0600, 32 bytes), no key file"

api -t "not-a-token" GET /v1/keys
want_status 200
want .keys[0].kid "$K1"
verdict "GET /v1/keys ignores a bad Authorization header (public)"

# ======================================================================= scopes

api POST /v1/admin-tokens '{"name":"reader","scope":"read"}'
READER=$(jget .token)
api POST /v1/admin-tokens '{"name":"prov","scope":"provision"}'
PROV=$(jget .token)
[ -n "$READER" ] && [ -n "$PROV" ] || e2e_bail "read and provision tokens are created"

for who in READER PROV; do
	t=${!who}
	api -t "$t" GET /v1/keys
	want_status 200
	api -t "$t" POST /v1/keys/rotate
	want_problem 403
	api -t "$t" POST /v1/keys "$(import_body x EdDSA "$E2E_TMP/ed25519.pub")"
	want_problem 403
	api -t "$t" DELETE "/v1/keys/$K1"
	want_problem 403
	verdict "a $(tr 'A-Z' 'a-z' <<<"$who") token may GET /v1/keys but gets 403 on rotate, import, delete"
done
api -t "" POST /v1/keys/rotate
want_problem 401
api -t "" POST /v1/keys "$(import_body x EdDSA "$E2E_TMP/ed25519.pub")"
want_problem 401
api -t "" DELETE "/v1/keys/$K1"
want_problem 401
verdict "rotate, import, delete without a token -> 401"
api -t "" GET /v1/keys
want_len .keys 1
verdict "and none of them changed anything"

# ======================================================================= rotate

api POST /v1/keys/rotate '{}'
want_problem 400
verdict "POST /v1/keys/rotate with a body -> 400"

api POST /v1/keys/rotate
want_status 201
want .kty OKP
want .crv Ed25519
want_match .kid "$KID_RE"
want .alg EdDSA
want .use sig
want .state active
want .origin snaptun
want_raw .verify_until null
want_absent .d
no_private
K2=$(jget .kid)
that "the new kid is the old one" test "$K2" != "$K1"
that "the new x is the old one" test "$(jget .x)" != "$X1"
verdict "POST /v1/keys/rotate -> 201 with the new active key's JWK"
X2=$(jget .x)

api -t "" GET /v1/keys
want_status 200
want_len .keys 2
that "kids $(kids), expected $K2 $K1" test "$(kids)" = "$K2 $K1 "
that "state of $K2: $(state_of "$K2")" test "$(state_of "$K2")" = active
that "state of $K1: $(state_of "$K1")" test "$(state_of "$K1")" = verify
want .keys[1].x "$X1"
want_match .keys[1].verify_until "$TIME_RE"
created=$(epoch "$(jget .keys[0].created_at)")
until=$(epoch "$(jget .keys[1].verify_until)")
that "verify_until $until is not the rotation time $created + 86400" \
    test -n "$created" -a -n "$until" -a "$until" = "$((created + 86400))"
no_private
verdict "after rotate: two keys, the new one active, the old one verify until now + 24 h"
that "the row of $K2 holds no sealed private half" sealed "$K2"
that "a keys dir: $(ls -A "$STATE/keys" 2>&1)" test ! -e "$STATE/keys"
verdict "the new private key is sealed in its row, no key file"

# ======================================================================= import

api POST /v1/keys "$(import_body snap-ed EdDSA "$E2E_TMP/ed25519.pub")"
want_status 201
want .kty OKP
want .crv Ed25519
want_match .x "$B64_32_RE"
want .kid snap-ed
want .alg EdDSA
want .use sig
want .state verify
want .origin imported
want_raw .verify_until null
verdict "import an Ed25519 PUBLIC KEY as EdDSA -> 201, kty OKP, imported"

api POST /v1/keys "$(import_body snap-ec ES256 "$E2E_TMP/ecdsa.pub")"
want_status 201
want .kty EC
want .crv P-256
want_match .x "$B64_32_RE"
want_match .y "$B64_32_RE"
want .kid snap-ec
want .alg ES256
want .origin imported
want_absent .d
verdict "import a P-256 PUBLIC KEY as ES256 -> 201, kty EC crv P-256 with x and y"

api POST /v1/keys "$(import_body 'issuer:2026/x' RS256 "$E2E_TMP/rsa.pub")"
want_problem 400 kid
verdict "a kid with / -> 400 field kid"

api POST /v1/keys "$(import_body 'snap.rsa:2026' RS256 "$E2E_TMP/rsa.pub")"
want_status 201
want .kty RSA
want_match .n '^[A-Za-z0-9_-]{342}$'
want .e AQAB
want .kid snap.rsa:2026
want .alg RS256
want_absent .d
want_absent .p
verdict "import an RSA-2048 PUBLIC KEY as RS256 -> 201, kty RSA with n (2048 bits) and e"

api -t "" GET /v1/keys
want_len .keys 5
no_private
verdict "GET /v1/keys lists the two keys of ours and the three imported"

# ---- bad input

api POST /v1/keys "$(import_body 'a b' EdDSA "$E2E_TMP/ed25519.pub")"
want_problem 400 kid
verdict "a kid with a space -> 400 field kid"
api POST /v1/keys "$(import_body '' EdDSA "$E2E_TMP/ed25519.pub")"
want_problem 400 kid
verdict "an empty kid -> 400 field kid"
api POST /v1/keys "$(import_body "$(printf 'k%.0s' {1..129})" EdDSA "$E2E_TMP/ed25519.pub")"
want_problem 400 kid
verdict "a kid of 129 characters -> 400 field kid"
api POST /v1/keys "$(import_body x HS256 "$E2E_TMP/ed25519.pub")"
want_problem 400 alg
want_match .detail 'HS256'
verdict "alg HS256 -> 400 field alg, quoting it"
api POST /v1/keys "$(import_body x none "$E2E_TMP/ed25519.pub")"
want_problem 400 alg
verdict "alg none -> 400 field alg"
api POST /v1/keys "$(import_body x ES256 "$E2E_TMP/ed25519.pub")"
want_problem 400 alg
want_match .detail 'Ed25519'
verdict "an Ed25519 key as ES256 -> 400 field alg, saying what the key is"
api POST /v1/keys "$(import_body x EdDSA "$E2E_TMP/rsa.pub")"
want_problem 400 alg
verdict "an RSA key as EdDSA -> 400 field alg"
api POST /v1/keys "$(import_body x RS256 "$E2E_TMP/ecdsa.pub")"
want_problem 400 alg
verdict "a P-256 key as RS256 -> 400 field alg"
api POST /v1/keys "$(import_body x RS256 "$E2E_TMP/rsa1024.pub")"
want_problem 400 public_key_pem
want_match .detail '1024'
verdict "an RSA key of 1024 bits -> 400 field public_key_pem"
api POST /v1/keys "$(import_body x ES256 "$E2E_TMP/p384.pub")"
want_problem 400 public_key_pem
verdict "a P-384 key as ES256 -> 400 field public_key_pem"
sed -n '/-----BEGIN PRIVATE KEY-----/,/-----END PRIVATE KEY-----/p' "$E2E_TMP/ed25519.key" \
    >"$E2E_TMP/ed25519.priv"
api POST /v1/keys "$(import_body x EdDSA "$E2E_TMP/ed25519.priv")"
want_problem 400 public_key_pem
verdict "a PRIVATE key -> 400 field public_key_pem"
api POST /v1/keys '{"kid":"x","alg":"EdDSA","public_key_pem":"hello"}'
want_problem 400 public_key_pem
verdict "a PEM that is not one -> 400 field public_key_pem"
api POST /v1/keys '{"kid":"x","alg":"EdDSA"}'
want_problem 400 public_key_pem
verdict "no public_key_pem -> 400 field public_key_pem"
api POST /v1/keys '{"kid":"x","public_key_pem":"x"}'
want_problem 400 alg
verdict "no alg -> 400 field alg"
api POST /v1/keys '{"kid":7,"alg":"EdDSA","public_key_pem":"x"}'
want_problem 400 kid
verdict "a kid that is not a string -> 400 field kid"
api POST /v1/keys "$(import_body x EdDSA "$E2E_TMP/ed25519.pub" | sed 's/}$/,"use":"sig"}/')"
want_problem 400 use
verdict "an unknown member -> 400 naming it"
# pinned KID MEMBERS: import_body with MEMBERS (",\"iss\":…") added.
pinned() {
	local b
	b=$(import_body "$1" EdDSA "$E2E_TMP/ed25519.pub")
	printf '%s%s}' "${b%\}}" "$2"
}
api POST /v1/keys "$(pinned x ',"iss":""')"
want_problem 400 iss
verdict "an empty iss pin -> 400 field iss"
api POST /v1/keys "$(pinned x ',"iss":"https://idp.example","aud":"a b"')"
want_problem 400 aud
verdict "an aud pin with a space -> 400 field aud"
api POST /v1/keys "$(pinned x ",\"aud\":\"$(printf 'a%.0s' {1..256})\"")"
want_problem 400 aud
verdict "an aud pin of 256 characters -> 400 field aud"
api POST /v1/keys "$(pinned x ',"iss":"café"')"
want_problem 400 iss
verdict "an iss pin that is not ASCII -> 400 field iss"
api POST /v1/keys "$(pinned x ',"iss":7')"
want_problem 400 iss
verdict "an iss pin that is not a string -> 400 field iss"

# ---- conflicts

api POST /v1/keys "$(import_body snap-ed EdDSA "$E2E_TMP/ed25519.pub")"
want_problem 409 kid
verdict "a duplicate kid -> 409 field kid"
api POST /v1/keys "$(import_body "$K1" EdDSA "$E2E_TMP/ed25519.pub")"
want_problem 409 kid
verdict "the kid of one of our keys -> 409 field kid"
api DELETE "/v1/keys/$K2"
want_problem 409
want_match .detail 'rotate'
verdict "DELETE the active key -> 409 (rotate first)"
api DELETE /v1/keys/no-such-key
want_problem 404
verdict "DELETE an unknown kid -> 404"

api -t "" GET /v1/keys
want_len .keys 5
verdict "refused requests changed nothing"

# ======================================================================= delete

api DELETE /v1/keys/snap-ed
want_status 204
that "a 204 has a body" test -z "$BODY"
verdict "DELETE an imported key -> 204"
api -t "" GET /v1/keys
want_len .keys 4
that "snap-ed is still listed" test -z "$(state_of snap-ed)"
verdict "and it is gone from GET /v1/keys"
api DELETE /v1/keys/snap-ed
want_problem 404
verdict "DELETE it again -> 404"

api DELETE "/v1/keys/$K1"
want_status 204
verdict "DELETE our previous key (verify) -> 204"
api -t "" GET /v1/keys
want .keys[0].kid "$K2"
that "kids $(kids), expected $K2, snap-ec and snap.rsa:2026" \
    test "$(jeach .keys kid | sort | tr '\n' ' ')" = "$K2 snap-ec snap.rsa:2026 "
that "$K1's sealed half: $(store_sql "$STATE" "SELECT private_key_sealed FROM signing_keys WHERE kid = '$K1'" | cut -c 1-12)" \
    test "$(store_sql "$STATE" "SELECT state || '|' || private_key_sealed FROM signing_keys WHERE kid = '$K1'")" = "retired|"
verdict "it is retired: gone from GET /v1/keys, its sealed private half erased"
api DELETE "/v1/keys/$K1"
want_problem 404
verdict "DELETE a retired key -> 404"
api POST /v1/keys "$(import_body "$K1" EdDSA "$E2E_TMP/ed25519.pub")"
want_problem 409 kid
verdict "the kid of a retired key is never reused -> 409"

# ======================================================================= restart

api -t "" GET /v1/keys
BEFORE=$BODY
mgr_stop KILL "$M1"
mgr_start "$STATE" || e2e_bail "the manager restarts after kill -9"
M2=$MGR_PID
api -t "" GET /v1/keys
want_status 200
that "kids after the restart: $(kids); before: $(kids "$BEFORE")" test "$(kids)" = "$(kids "$BEFORE")"
want .keys[0].kid "$K2"
want .keys[0].x "$X2"
want .keys[0].state active
verdict "after kill -9 and a restart: the same kids, the same active key"
that "the row of $K2 holds no sealed private half" sealed "$K2"
that "a keys dir: $(ls -A "$STATE/keys" 2>&1)" test ! -e "$STATE/keys"
verdict "the active key is opened from its sealed row: no key file"

# ======================================================================= audit

api GET '/v1/events?action=key.create&limit=1000'
want_len .items 1
want .items[0].object "key:$K1"
want .items[0].actor snaptun-manager
verdict "one key.create event, by snaptun-manager, for the first key (none on restart)"
api GET '/v1/events?action=key.rotate&limit=1000'
want_len .items 1
want .items[0].object "key:$K2"
want .items[0].actor bootstrap
want .items[0].details.previous "$K1"
verdict "one key.rotate event for $K2 by bootstrap, naming the previous key"
api GET '/v1/events?action=key.import&limit=1000'
want_len .items 3
that "objects $(jeach .items object | tr '\n' ' ')" \
    test "$(jeach .items object | tr '\n' ' ')" = "key:snap-ed key:snap-ec key:snap.rsa:2026 "
want .items[2].details.alg RS256
verdict "three key.import events, one per accepted import"
api GET '/v1/events?action=key.delete&limit=1000'
want_len .items 2
want .items[0].object key:snap-ed
want .items[0].details.result deleted
want .items[1].object "key:$K1"
want .items[1].details.result retired
verdict "two key.delete events: the imported key deleted, ours retired"
api GET "/v1/events?object=key:$K1&limit=1000"
that "events of key:$K1: $(jeach .items action | tr '\n' ' ')" \
    test "$(jeach .items action | tr '\n' ' ')" = "key.create key.delete "
verdict "GET /v1/events?object=key:<kid> gives a key's history"

# ======================================================================= the rotation rate

# At most 16 of our earlier keys verify at once: a rotation beyond is 429 until the oldest ends.
N=0
for _ in $(seq 1 20); do
	api POST /v1/keys/rotate
	[ "$STATUS" = 201 ] || break
	N=$((N + 1))
done
want_problem 429
RA=$(hdr Retry-After || echo 0)
that "Retry-After \"$RA\", expected the seconds until the oldest verify key ends" \
    test "$RA" -gt 80000 -a "$RA" -le 86401
api GET /v1/keys
NV=$(jq '[.keys[] | select(.origin == "snaptun" and .state == "verify")] | length' <<<"$BODY")
that "$NV of our keys in verify after $N rotations, expected 16" test "$NV" = 16
verdict "rotations stop at 16 earlier keys verifying: 429 problem+json with Retry-After"

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
diag "runtime $(($(date +%s) - T_START)) s"

e2e_finish
