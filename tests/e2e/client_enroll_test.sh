#!/usr/bin/env bash
# End-to-end test of the client's enrollment modules (agent/client/enroll.c, bundle.c,
# mgrhttp.c) against a real manager and agent, driven through tests/tools/enrolltool: join and
# ack into a 0600 bundle that lists the agent with its pin, the refusals with their messages
# (consumed token, unknown token, an enrolled bundle in the way, a certificate not vouched for),
# an unreachable manager as a transient failure, refresh rotation, the refresh crash window
# (a request id resent with the old token gets the same successor), a reused refresh token
# and a revoked client refused for good, HTTPS with --ca, and no secret in any message.
# Run from the repository root: BUILD=build bash tests/e2e/client_enroll_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

ENROLLTOOL=${ENROLLTOOL:-$BUILD/tools/enrolltool}
for b in "$MANAGER" "$AGENT" "$ENROLLTOOL"; do
	[ -x "$b" ] || e2e_bail "$b is not built (make all)"
done
command -v certtool >/dev/null || e2e_bail "certtool is missing (make deps: gnutls-bin)"
ENROLLTOOL_ABS=$(realpath "$ENROLLTOOL")

# et ARG...: run enrolltool; ET_RC its exit status, ET_OUT its stdout, ET_ERR its stderr.
et() {
	"$ENROLLTOOL" "$@" >"$E2E_TMP/et.out" 2>"$E2E_TMP/et.err"
	ET_RC=$?
	ET_OUT=$(cat "$E2E_TMP/et.out")
	ET_ERR=$(cat "$E2E_TMP/et.err")
	cat "$E2E_TMP/et.out" "$E2E_TMP/et.err" >>"$E2E_TMP/et.all"
}

# shown MEMBER: a member of `enrolltool show` of the last run.
shown() {
	sed -n "s/^$1 //p" <<<"$ET_OUT"
}

# member FILE NAME: a string member of a bundle file.
member() {
	sed -n "s/^ *\"$2\": \"\([^\"]*\)\".*/\1/p" "$1"
}

join_token() {
	api POST /v1/join-tokens "{\"name\":\"$1\"}"
	[ "$STATUS" = 201 ] || e2e_bail "POST /v1/join-tokens -> $STATUS: $BODY"
	jget .token
}

mgr_start "$E2E_TMP/mgr" --enroll-rate 100000 --enroll-burst 100000 || e2e_bail "the manager starts"
TOKEN=$(cat "$E2E_TMP/mgr/admin.token")
MGR_URL=$URL
agent_start "$E2E_TMP/agent" || e2e_bail "the agent starts"
wait_for 10 agent_connected || e2e_bail "the agent connects to the manager (GET /v1/agents: $BODY)"

# ---- join and ack ----
api POST /v1/pools '{"name":"edge","isd_as":"1-ff00:0:110","prefix":"10.77.0.0/24","gateway":"10.77.0.1","routes":["192.168.50.0/24"]}'
[ "$STATUS" = 201 ] || e2e_bail "POST /v1/pools -> $STATUS: $BODY"
JT=$(join_token laptop)
B=$E2E_TMP/laptop.json
et join --manager "$MGR_URL" --token "$JT" --name laptop-1 --bundle "$B"
that "exit status $ET_RC: $ET_ERR" test "$ET_RC" = 0
that "bundle mode $(stat -c %a "$B" 2>&1), not 600" test "$(stat -c %a "$B" 2>/dev/null)" = 600
that "the bundle still holds the ack token" test -z "$(member "$B" ack_token)"
that "no temporary file left" test ! -e "$B.tmp"
verdict "join: enrolled, the bundle written with mode 0600 and without ack members"

et show --bundle "$B"
P=$(shown pssid)
that "show failed ($ET_RC): $ET_ERR" test "$ET_RC" = 0
that "name $(shown name)" test "$(shown name)" = laptop-1
that "acked $(shown acked)" test "$(shown acked)" = yes
that "agents $(shown agents)" test "$(shown agents)" = 1
that "pin0 $(shown pin0), agent pin $AGENT_PIN" test "$(shown pin0)" = "$AGENT_PIN"
that "address0 $(shown address0), agent at $AGENT_ADDR" test "$(shown address0)" = "$AGENT_ADDR"
that "manager $(member "$B" manager)" test "$(member "$B" manager)" = "$MGR_URL"
verdict "the bundle lists the connected agent with its address and SPKI pin"

that "networks $(shown networks)" test "$(shown networks)" = 1
that "network0 $(shown network0)" \
    test "$(shown network0)" = "edge 1-ff00:0:110 10.77.0.0/24 10.77.0.1 192.168.50.0/24"
verdict "the bundle lists the pool's network with its gateway and routes"

api GET "/v1/clients/$P"
want_status 200
want_raw .enrolled true
want .name laptop-1
verdict "the manager has the client enrolled under the bundle's pssid"

# ---- refusals ----
et join --manager "$MGR_URL" --token "$JT" --bundle "$E2E_TMP/again.json"
that "exit status $ET_RC, not 2 (refused)" test "$ET_RC" = 2
that "message: $ET_ERR" grep -q 'manager refused the join token (410): the join token is consumed' <<<"$ET_ERR"
that "a bundle was written" test ! -e "$E2E_TMP/again.json"
verdict "a consumed join token: refused (410) with the manager's reason, nothing written"

et join --manager "$MGR_URL" --token snj_nosuchtokennosuchtokennosuchtokennosuchtok --bundle "$E2E_TMP/unknown.json"
that "exit status $ET_RC, not 2" test "$ET_RC" = 2
that "message: $ET_ERR" grep -q 'manager refused the join token (401): the join token is not valid' <<<"$ET_ERR"
verdict "an unknown join token: refused (401)"

SUM=$(sha256sum <"$B")
JT2=$(join_token second)
et join --manager "$MGR_URL" --token "$JT2" --bundle "$B"
that "exit status $ET_RC, not 2" test "$ET_RC" = 2
that "message: $ET_ERR" grep -q 'holds an enrolled client already' <<<"$ET_ERR"
that "the bundle changed" test "$(sha256sum <"$B")" = "$SUM"
api GET "/v1/join-tokens?state=issued"
that "the second join token was used" grep -q '"second"' <<<"$BODY"
verdict "an enrolled bundle in the way is never replaced, and the join token stays unused"

printf '{"pssid":' >"$E2E_TMP/broken.json"
et join --manager "$MGR_URL" --token "$JT2" --bundle "$E2E_TMP/broken.json"
that "exit status $ET_RC, not 2" test "$ET_RC" = 2
that "message: $ET_ERR" grep -q 'is no bundle this client can read' <<<"$ET_ERR"
verdict "a file that is no bundle is not overwritten either"

chmod 644 "$B"
et show --bundle "$B"
that "exit status $ET_RC, not 1" test "$ET_RC" = 1
that "message: $ET_ERR" grep -q 'mode 644 lets group or others at its secrets; chmod 600' <<<"$ET_ERR"
chmod 600 "$B"
verdict "a bundle readable by others is refused, with the fix"

# ---- refresh ----
RT0=$(member "$B" refresh_token)
cp -p "$B" "$E2E_TMP/laptop.old"
et refresh --bundle "$B"
that "exit status $ET_RC: $ET_ERR" test "$ET_RC" = 0
RT1=$(member "$B" refresh_token)
that "the refresh token did not rotate" test -n "$RT1" -a "$RT1" != "$RT0"
that "a request id is still pending" test -z "$(member "$B" refresh_request_id)"
that "bundle mode $(stat -c %a "$B")" test "$(stat -c %a "$B")" = 600
verdict "refresh: the refresh token rotates, saved with mode 0600, no request pending"

# The crash window: the request id saved with the old token, the answer lost.
if grep -q request_id manager/api_enroll.c; then
	et refresh --bundle "$B" --lose-answer "$E2E_TMP/lost.json"
	that "first try: exit status $ET_RC: $ET_ERR" test "$ET_RC" = 0
	that "the crashed bundle has no pending request id" test -n "$(member "$B" refresh_request_id)"
	that "the crashed bundle lost the old token" test "$(member "$B" refresh_token)" = "$RT1"
	LOST=$(member "$E2E_TMP/lost.json" refresh_token)
	et refresh --bundle "$B"
	that "second try: exit status $ET_RC: $ET_ERR" test "$ET_RC" = 0
	that "the retry got another successor than the lost answer" \
	    test "$(member "$B" refresh_token)" = "$LOST"
	that "a request id is still pending" test -z "$(member "$B" refresh_request_id)"
	api GET "/v1/clients/$P"
	that "the client was revoked: $BODY" grep -q '"revoked_at": *null' <<<"$BODY"
	verdict "a refresh whose answer was lost is sent again with its request id: same successor, no theft alarm"
	et refresh --bundle "$B"
	that "after the retry: exit status $ET_RC: $ET_ERR" test "$ET_RC" = 0
	verdict "the successor got through the retry works"
else
	skip "a refresh whose answer was lost is sent again with its request id" \
	    "this manager does not know request_id yet (POST /v1/token)"
fi

# ---- HTTPS ----
TLS=$E2E_TMP/tls
mkdir -p -m 700 "$TLS"
cat >"$TLS/template" <<-'EOF'
	cn = "localhost"
	ip_address = "127.0.0.1"
	expiration_days = 2
	ca
	cert_signing_key
	signing_key
	tls_www_server
EOF
if timeout 20 certtool --generate-privkey --key-type ecdsa --outfile "$TLS/key.pem" >"$TLS/out" 2>&1 &&
    timeout 20 certtool --generate-self-signed --load-privkey "$TLS/key.pem" \
	--template "$TLS/template" --outfile "$TLS/cert.pem" >>"$TLS/out" 2>&1 &&
    mgr_start "$TLS/state" --tls-cert "$TLS/cert.pem" --tls-key "$TLS/key.pem" \
	--enroll-rate 100000 --enroll-burst 100000; then
	HTTPS_URL=$URL
	CURL_OPTS=(--cacert "$TLS/cert.pem")
	TOKEN=$(cat "$TLS/state/admin.token")
	JT3=$(join_token tls)
	et join --manager "$HTTPS_URL" --token "$JT3" --bundle "$E2E_TMP/tls-noca.json"
	that "exit status $ET_RC, not 2 (refused)" test "$ET_RC" = 2
	that "message: $ET_ERR" grep -Eiq 'certificate|issuer' <<<"$ET_ERR"
	that "a bundle was written" test ! -e "$E2E_TMP/tls-noca.json"
	verdict "https without --ca: the self-signed manager is refused, nothing written"
	(cd "$TLS" && "$ENROLLTOOL_ABS" join --manager "$HTTPS_URL" --token "$JT3" --ca cert.pem \
	    --bundle "$E2E_TMP/tls.json" >"$E2E_TMP/et.out" 2>"$E2E_TMP/et.err")
	ET_RC=$?
	cat "$E2E_TMP/et.err" >>"$E2E_TMP/et.all"
	that "exit status $ET_RC: $(cat "$E2E_TMP/et.err")" test "$ET_RC" = 0
	that "ca $(member "$E2E_TMP/tls.json" ca), not absolute" test "$(member "$E2E_TMP/tls.json" ca)" = "$TLS/cert.pem"
	et refresh --bundle "$E2E_TMP/tls.json"
	that "refresh over https: exit status $ET_RC: $ET_ERR" test "$ET_RC" = 0
	verdict "https with --ca (relative): enrolled, the CA kept as an absolute path, refresh works"
	mgr_stop
	CURL_OPTS=()
	TOKEN=$(cat "$E2E_TMP/mgr/admin.token")
	URL=$MGR_URL
else
	not_ok "an HTTPS manager starts with a self-signed certificate: $(tail -n 5 "$TLS/out" "$TLS/state.err" 2>/dev/null)"
fi

# ---- transient and fatal refresh failures ----
DEAD_URL=$(sed 's/:[0-9]*$/:1/' <<<"$MGR_URL")
sed "s|\"manager\": \"[^\"]*\"|\"manager\": \"$DEAD_URL\"|" "$B" >"$E2E_TMP/dead.json"
chmod 600 "$E2E_TMP/dead.json"
et refresh --bundle "$E2E_TMP/dead.json"
that "exit status $ET_RC, not 3 (transient)" test "$ET_RC" = 3
that "message: $ET_ERR" grep -q 'unreachable' <<<"$ET_ERR"
that "no request id pending in the bundle" test -n "$(member "$E2E_TMP/dead.json" refresh_request_id)"
verdict "an unreachable manager: transient, the request id kept for the retry"

# A copy of a superseded refresh token (the bundle from before the first refresh).
et refresh --bundle "$E2E_TMP/laptop.old"
that "exit status $ET_RC, not 2 (refused)" test "$ET_RC" = 2
that "message: $ET_ERR" grep -q 'manager refused the refresh token (401).*revoked' <<<"$ET_ERR"
api GET "/v1/clients/$P"
that "the client is not revoked: $BODY" grep -q '"revoke_reason": *"refresh token reused"' <<<"$BODY"
et refresh --bundle "$B"
that "the newest token after theft: exit status $ET_RC, not 2" test "$ET_RC" = 2
verdict "a reused refresh token is refused for good and revokes the client, whose newest token dies too"

# ---- secrets ----
leaks=
for s in "$JT" "$JT2" "$RT0" "$RT1"; do
	[ -n "$s" ] && grep -qF -- "$s" "$E2E_TMP/et.all" && leaks="$leaks ${s:0:8}…"
done
that "secrets in enrolltool's messages:$leaks" test -z "$leaks"
verdict "no token appears in any message or output"

e2e_finish
