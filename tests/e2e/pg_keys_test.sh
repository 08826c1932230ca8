#!/usr/bin/env bash
# The token signing keys across managers (issue 13, "Several managers, one truth"): two
# managers on one PostgreSQL database, B given only a copy of A's store secret (no key files),
# an agent attached to B. A rotation through A makes B sign with the new key (B takes the
# change up from the outbox), and B's agent accepts the tunnel of a client whose token B
# signed with it; the old key, deleted (retired) through B, leaves A's key set too, and B's
# agent then refuses a token signed with it (close code 1). A third manager started without
# the secret, or with another one, refuses to start with a message that says what to copy
# where, and changes nothing. Run from the repository root: BUILD=build bash
# tests/e2e/pg_keys_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
E2E_STORE=postgresql
. tests/e2e/lib.bash

for b in "$MANAGER" "$AGENT" "$TUNCLIENT"; do
	[ -x "$b" ] || e2e_bail "$b is not built (make all)"
done
BUDGET=5	# seconds for a change through A to show on B (the outbox reads at least every 1 s)

# kids_at URL: the kids of GET /v1/keys at URL, space-separated.
kids_at() {
	URL=$1 api -t "" GET /v1/keys
	jeach .keys kid | tr '\n' ' '
}

mgr_pair --enroll-rate 100000 --enroll-burst 100000 --log-level info ||
    e2e_bail "two managers on one database"
that "B has a keys dir" test ! -e "$B/keys"
that "B's secret is not A's" cmp -s "$A/store.secret" "$B/store.secret"
verdict "two managers on one database, B given a copy of A's store secret and no key file"
URL=$URL_A
api POST /v1/pools "{\"name\":\"t\",\"isd_as\":\"1-ff00:0:110\",\"prefix\":\"$POOL_PREFIX\",\"mode\":\"ip\"}"
[ "$STATUS" = 201 ] || e2e_bail "POST /v1/pools -> $STATUS: $BODY"
agent_start "$E2E_TMP/agent" || e2e_bail "the agent starts on manager B"
URL=$URL_B
wait_for 10 agent_connected || e2e_bail "the agent attaches to B (GET /v1/agents: $BODY)"
api -t "" GET /v1/keys
K0=$(jget .keys[0].kid)
URL=$URL_B
enroll before || e2e_bail "a client enrolls through B"
TOK0=$ACCESS
that "kid of B's token $(jwt_kid "$TOK0"), expected $K0" test "$(jwt_kid "$TOK0")" = "$K0"
verdict "B signs with the store's first key $K0"

# ---- rotate through A ----
URL=$URL_A
T_ROTATE=$(date +%s%N)
api POST /v1/keys/rotate
want_status 201
K1=$(jget .kid)
verdict "a rotation through A: $K1 is active"
b_signs_new() {
	URL=$URL_B
	enroll "after$RANDOM" || return 1
	[ "$(jwt_kid "$ACCESS")" = "$K1" ]
}
that "B still signs with $(jwt_kid "$ACCESS") $BUDGET s after the rotation through A" \
    wait_for "$BUDGET" b_signs_new
DT=$((($(date +%s%N) - T_ROTATE) / 1000000))
verdict "B signs with A's new key $K1 (taken up from the outbox; first seen $DT ms after the rotation)"
check "B says so in its log" grep -q "signing with the key $K1, made active by another manager" "$B.err"
TOK1=$ACCESS
client_start new --token "$TOK1" --handshake
want_event new '^assigned ' 10
verdict "B's agent accepts the tunnel of a token B signed with $K1"
client_stop new

# ---- delete (retire) the old key through B ----
URL=$URL_B
api DELETE "/v1/keys/$K0"
want_status 204
verdict "DELETE /v1/keys/$K0 through B -> 204"
a_dropped_old() {
	[ "$(kids_at "$URL_A")" = "$K1 " ]
}
that "A's key set is still $(kids_at "$URL_A") $BUDGET s after the delete through B" \
    wait_for "$BUDGET" a_dropped_old
that "the retired key's sealed half: $(pg_sql "$DB" "SELECT state || '|' || private_key_sealed FROM signing_keys WHERE kid = '$K0'" | cut -c 1-20)" \
    test "$(pg_sql "$DB" "SELECT state || '|' || private_key_sealed FROM signing_keys WHERE kid = '$K0'")" = "retired|"
verdict "A's key set drops $K0 too; its row is retired, its sealed half erased"
client_start old --token "$TOK0" --handshake
want_event old '^closed peer=1 app=1 code=1 ' 10
verdict "B's agent refuses the tunnel of a token signed with the retired key (code 1)"
URL=$URL_A
enroll through_a || e2e_bail "a client enrolls through A"
that "kid of A's token $(jwt_kid "$ACCESS"), expected $K1" test "$(jwt_kid "$ACCESS")" = "$K1"
client_start a --token "$ACCESS" --handshake
want_event a '^assigned ' 10
verdict "A signs with $K1 as well, and B's agent accepts its token"
client_stop a

# ---- a third manager without the secret, or with another ----
ROWS=$(pg_sql "$DB" "SELECT count(*) FROM signing_keys")
C=$E2E_TMP/c
mkdir -m 700 "$C"
if mgr_start "$C" --store "$STORE" >/dev/null 2>&1; then
	fail "a manager without the store secret started"
	mgr_stop TERM
fi
that "C's message: $(tail -n 2 "$C.err")" \
    grep -q "the store's signing keys are sealed with a store secret and $C/store.secret does not exist: copy the store secret of a manager of this store" "$C.err"
that "C made a secret" test ! -e "$C/store.secret"
verdict "a manager without the store secret refuses to start and says what to copy where"
head -c 32 /dev/urandom >"$C/store.secret" && chmod 600 "$C/store.secret"
if mgr_start "$C" --store "$STORE" >/dev/null 2>&1; then
	fail "a manager with another store secret started"
	mgr_stop TERM
fi
that "C's message: $(tail -n 1 "$C.err")" \
    grep -q "the store's signing keys are sealed with another secret than $C/store.secret" "$C.err"
that "rows $(pg_sql "$DB" "SELECT count(*) FROM signing_keys"), before $ROWS" \
    test "$(pg_sql "$DB" "SELECT count(*) FROM signing_keys")" = "$ROWS"
verdict "a manager with another store secret refuses to start; no key was made"

agent_stop
mgr_stop TERM "$PID_A"
that "manager A exit status $MGR_RC" test "$MGR_RC" = 0
mgr_stop TERM "$PID_B"
that "manager B exit status $MGR_RC" test "$MGR_RC" = 0
verdict "both managers stop cleanly"
leaks=$(grep -l -F -e "$(base64 -w0 "$A/store.secret")" -e 'PRIVATE KEY' "$A.err" "$B.err" "$C.err")
that "the store secret or a private key in $leaks" test -z "$leaks"
verdict "no log holds the store secret or a private key"
no_sanitizer_reports
e2e_finish
