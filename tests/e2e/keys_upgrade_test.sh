#!/usr/bin/env bash
# The token signing keys' private halves in the store, sealed under the store secret, seen from
# outside: a state dir from before (the active key and a verifying one as key files of
# keys/, their rows naming them, no store secret) is upgraded by a start: the secret is made
# (0600, 32 bytes), both keys sealed into their rows, the files and keys/ gone; a token the
# file key signed before verifies against the key set served after, and the manager signs with
# that same key (its tokens verify with the file's public key); a rotation, a restart and the
# retirement (its sealed half erased) work. Refusals: a start with another secret, with none,
# with one others may read, each with a message naming what to copy where, and nothing changed
# by them. The secret, the private keys and the sealed halves appear in no log, no answer and
# not in /v1/health. Runs on SQLite, and on PostgreSQL from tests/run.sh (PG_TESTS).
# Run from the repository root: BUILD=build bash tests/e2e/keys_upgrade_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

[ -x "$MANAGER" ] || e2e_bail "$MANAGER is not built (make all)"
[ -x "$MKTOKEN" ] || e2e_bail "$MKTOKEN is not built (make all)"
command -v openssl >/dev/null || e2e_bail "openssl is missing (it verifies Ed25519 signatures here)"

S=$E2E_TMP/state
KID_RE='^k-[A-Za-z0-9_-]{12}$'

# jwk_pem X: the SubjectPublicKeyInfo PEM of the Ed25519 JWK x (RFC 8410: a fixed 12-byte
# prefix, then the 32 key bytes).
jwk_pem() {
	echo "-----BEGIN PUBLIC KEY-----"
	{ printf '\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00'; b64url_dec "$1"; } | base64 -w 64
	echo "-----END PUBLIC KEY-----"
}

# jwt_ok TOKEN PUBFILE: the token's EdDSA signature verifies with the public key PEM PUBFILE.
jwt_ok() {
	printf '%s' "${1%.*}" >"$E2E_TMP/jwt.in"
	b64url_dec "${1##*.}" >"$E2E_TMP/jwt.sig"
	openssl pkeyutl -verify -pubin -inkey "$2" -rawin -in "$E2E_TMP/jwt.in" \
	    -sigfile "$E2E_TMP/jwt.sig" >/dev/null 2>&1
}

# served_pem KID FILE: the public key of KID in GET /v1/keys, as PEM into FILE.
served_pem() {
	api -t "" GET /v1/keys
	jwk_pem "$(jq -r --arg k "$1" '.keys[] | select(.kid == $k) | .x' <<<"$BODY")" >"$2"
}

# start_fails WHAT [ARG...]: a manager on $S that must refuse to start; its new stderr lines
# into $E2E_TMP/refused.
start_fails() {
	local what=$1 n
	shift
	n=$(wc -l <"$S.err" 2>/dev/null || echo 0)
	if mgr_start "$S" "$@" >/dev/null 2>&1; then
		fail "the manager started $what"
		mgr_stop TERM
	fi
	tail -n +$((n + 1)) "$S.err" >"$E2E_TMP/refused"
}

# ======================================================================= a state dir of before

# The layout an older manager left: made here from a fresh store by putting the keys back into
# files (written by mktoken as the older manager wrote them: PKCS#8 PEM, 0600, in a 0700 dir).
require "the manager starts on a fresh state dir" mgr_start "$S"
TOKEN=$(cat "$S/admin.token")
mgr_stop TERM
K0=$(store_sql "$S" "SELECT kid FROM signing_keys WHERE state = 'active'")
that "the first key $K0" test -n "$K0"
mkdir -m 700 "$S/keys"
KV=k-verifyBEFORE
KR=k-retirBEFORE
PUB0=$("$MKTOKEN" --new-key "$S/keys/$K0.pem") && PUBV=$("$MKTOKEN" --new-key "$S/keys/$KV.pem") ||
    e2e_bail "mktoken --new-key"
printf '%s\n' "$PUB0" >"$E2E_TMP/k0.pub"
NOW=$(date +%s)
store_sql "$S" "UPDATE signing_keys SET public_key_pem = '$PUB0', private_key_sealed = NULL,
    private_key_file = 'keys/$K0.pem' WHERE kid = '$K0';
INSERT INTO signing_keys (kid, alg, public_key_pem, private_key_file, state, created_at,
    verify_until) VALUES ('$KV', 'EdDSA', '$PUBV', 'keys/$KV.pem', 'verify', $((NOW - 60)),
    $((NOW + 3600)));
INSERT INTO signing_keys (kid, alg, public_key_pem, private_key_file, state, created_at,
    retired_at) VALUES ('$KR', 'EdDSA', '$PUBV', 'keys/$KR.pem', 'retired', $((NOW - 90000)),
    $((NOW - 3600)));
DELETE FROM meta WHERE key = 'store_secret_id';" || e2e_bail "cannot turn the store back"
rm -f "$S/store.secret"
# A token the key of before signed (as the older manager would have).
TOK0=$("$MKTOKEN" --key "$S/keys/$K0.pem" --kid "$K0" --pssid random --exp +3600) ||
    e2e_bail "mktoken --key"
that "the token of before does not verify with its own key" jwt_ok "$TOK0" "$E2E_TMP/k0.pub"
that "files of before: $(ls "$S/keys" | tr '\n' ' ')" test "$(ls "$S/keys" | wc -l)" = 2
verdict "a state dir of before: $K0 active and $KV verifying in key files, $KR retired, no secret"

# ======================================================================= the upgrade

require "the manager starts on the state dir of before" mgr_start "$S" --log-level info
that "keys/ is still there: $(ls -A "$S/keys" 2>&1 | tr '\n' ' ')" test ! -e "$S/keys"
that "store.secret: $(stat -c '%a %s' "$S/store.secret" 2>&1)" \
    test "$(stat -c '%a %s' "$S/store.secret" 2>/dev/null)" = "600 32"
verdict "the start made the store secret (0600, 32 bytes) and removed keys/"
that "sealed rows: $(store_sql "$S" "SELECT kid FROM signing_keys WHERE private_key_sealed LIKE 's1.%' ORDER BY kid" | tr '\n' ' ')" \
    test "$(store_sql "$S" "SELECT count(*) FROM signing_keys WHERE private_key_sealed LIKE 's1.%' AND kid IN ('$K0', '$KV')")" = 2
that "a row still names a file" \
    test "$(store_sql "$S" "SELECT count(*) FROM signing_keys WHERE private_key_file IS NOT NULL")" = 0
that "the retired key's half: $(store_sql "$S" "SELECT private_key_sealed FROM signing_keys WHERE kid = '$KR'")" \
    test "$(store_sql "$S" "SELECT private_key_sealed FROM signing_keys WHERE kid = '$KR'")" = ""
that "a sealed row holds PEM text" \
    test "$(store_sql "$S" "SELECT count(*) FROM signing_keys WHERE private_key_sealed LIKE '%PRIVATE%'")" = 0
that "the store has no secret id" test -n "$(store_sql "$S" "SELECT value FROM meta WHERE key = 'store_secret_id'")"
that "the log does not say it: $(grep -i seal "$S.err" | head -n 3)" \
    grep -q 'sealed the private halves of 2 signing keys into the store' "$S.err"
verdict "both keys in use are sealed into their rows, the retired one erased, no row names a file"

served_pem "$K0" "$E2E_TMP/k0.served"
want .keys[0].kid "$K0"
want .keys[0].state active
that "the served key of $K0 is not the file's" cmp -s <(openssl pkey -pubin -in "$E2E_TMP/k0.pub" -outform DER) \
    <(openssl pkey -pubin -in "$E2E_TMP/k0.served" -outform DER)
that "the token of before fails against the served key set" jwt_ok "$TOK0" "$E2E_TMP/k0.served"
verdict "GET /v1/keys serves the key of before, and a token it signed before verifies with it"
enroll upgraded || e2e_bail "enroll after the upgrade: $STATUS $BODY"
that "kid of the new token: $(jwt_kid "$ACCESS")" test "$(jwt_kid "$ACCESS")" = "$K0"
that "the new token does not verify with the file's public key" jwt_ok "$ACCESS" "$E2E_TMP/k0.pub"
verdict "the manager signs with the key of before: its access token verifies with the file's public key"

# ======================================================================= rotation, restart

api POST /v1/keys/rotate
want_status 201
K1=$(jget .kid)
want_match .kid "$KID_RE"
that "the new key $K1 is not sealed" \
    test "$(store_sql "$S" "SELECT count(*) FROM signing_keys WHERE kid = '$K1' AND private_key_sealed LIKE 's1.%'")" = 1
that "a key file came back: $(ls -A "$S" | tr '\n' ' ')" test ! -e "$S/keys"
enroll rotated || e2e_bail "enroll after the rotation: $STATUS $BODY"
served_pem "$K1" "$E2E_TMP/k1.served"
that "kid $(jwt_kid "$ACCESS"), expected $K1" test "$(jwt_kid "$ACCESS")" = "$K1"
that "a token of $K1 does not verify with its served key" jwt_ok "$ACCESS" "$E2E_TMP/k1.served"
verdict "a rotation seals the new key in its row (no file) and the manager signs with it"
TOK1=$ACCESS
api DELETE "/v1/keys/$KV"
want_status 204
that "the deleted key's half: $(store_sql "$S" "SELECT private_key_sealed FROM signing_keys WHERE kid = '$KV'")" \
    test "$(store_sql "$S" "SELECT private_key_sealed || '|' || state FROM signing_keys WHERE kid = '$KV'")" = "|retired"
verdict "DELETE of our verifying key retires it and erases its sealed half"

mgr_stop TERM
require "the manager restarts" mgr_start "$S"
api -t "" GET /v1/keys
want .keys[0].kid "$K1"
that "kids: $(jeach .keys kid | tr '\n' ' ')" test "$(jeach .keys kid | tr '\n' ' ')" = "$K1 $K0 "
enroll restarted || e2e_bail "enroll after the restart"
that "kid $(jwt_kid "$ACCESS") after the restart" test "$(jwt_kid "$ACCESS")" = "$K1"
that "its token does not verify" jwt_ok "$ACCESS" "$E2E_TMP/k1.served"
verdict "after a restart: the same keys, signing with $K1 opened from the store"
mgr_stop TERM

# ======================================================================= refusals

ROWS=$(store_sql "$S" "SELECT count(*) FROM signing_keys")
cp -p "$S/store.secret" "$E2E_TMP/good.secret"
head -c 32 /dev/urandom >"$E2E_TMP/other.secret" && chmod 600 "$E2E_TMP/other.secret"
start_fails "with another secret" --store-secret "$E2E_TMP/other.secret"
that "message: $(cat "$E2E_TMP/refused")" \
    grep -q "the store's signing keys are sealed with another secret than $E2E_TMP/other.secret.*copy the store secret of a manager of this store.* to $E2E_TMP/other.secret" "$E2E_TMP/refused"
verdict "another --store-secret: no start, and the message says what to copy where"

rm "$S/store.secret"
start_fails "without its secret"
that "message: $(cat "$E2E_TMP/refused")" \
    grep -q "sealed with a store secret and $S/store.secret does not exist: copy the store secret" "$E2E_TMP/refused"
that "a secret was made: $(ls -l "$S/store.secret" 2>&1)" test ! -e "$S/store.secret"
verdict "a missing secret: no start, none made, and the message says what to copy where"

cp "$E2E_TMP/good.secret" "$S/store.secret" && chmod 644 "$S/store.secret"
start_fails "with a secret others may read"
that "message: $(cat "$E2E_TMP/refused")" grep -q "store.secret has mode 0644" "$E2E_TMP/refused"
verdict "a secret others may read (0644): no start"
that "rows: $(store_sql "$S" "SELECT count(*) FROM signing_keys"), before $ROWS" \
    test "$(store_sql "$S" "SELECT count(*) FROM signing_keys")" = "$ROWS"
verdict "the refused starts changed no key (no silent new key)"

# A second manager's state dir given a copy of the secret with --store-secret (SQLite: a copy of
# the store too; PostgreSQL: the same database) signs with the same key.
chmod 600 "$S/store.secret"
require "the manager starts with its secret back" mgr_start "$S"
api GET /v1/health
that "/v1/health shows the secret or a sealed half" \
    test -z "$(grep -F -e "$(base64 -w0 "$S/store.secret")" -e 's1.' <<<"$BODY")"
verdict "/v1/health shows neither the secret nor a sealed half"
mgr_stop TERM

# ======================================================================= nothing leaks

SECRET_B64=$(base64 -w0 "$S/store.secret")
SECRET_HEX=$(od -An -tx1 "$S/store.secret" | tr -d ' \n')
SEALED=$(store_sql "$S" "SELECT private_key_sealed FROM signing_keys WHERE kid = '$K1'")
leaks=$(grep -l -F -e "$SECRET_B64" -e "$SECRET_HEX" -e "${SEALED:3:40}" -e 'PRIVATE KEY' \
    "$S.err" "$S.out" "$E2E_TMP"/*.refused 2>/dev/null)
that "the secret, a sealed half or a private key in: $leaks" test -z "$leaks"
verdict "no log holds the store secret, a sealed half or a private key"
[ -n "$TOK1" ] || fail "no token of $K1"

if report=$(sanitizer_report "$S.err"); then
	fail "sanitizer report in the manager's stderr"
	diag "$report"
fi
verdict "no sanitizer reports in the manager's stderr"
e2e_finish
