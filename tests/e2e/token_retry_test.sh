#!/usr/bin/env bash
# End-to-end test of retried refresh-token exchanges (api.md "POST /v1/token", request_id): the
# same exchange presented again with its request_id answers the same new refresh token (also
# after a kill -9 of the manager between the exchange and the retry) and is audited as
# client.token_retry; another request_id, a retry after the new refresh token was used, and a
# reuse without request_id are theft (401, client revoked); a malformed request_id is 400.
# Run from the repository root: BUILD=build bash tests/e2e/token_retry_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

[ -x "$MANAGER" ] || e2e_bail "$MANAGER is not built (make all)"
command -v curl >/dev/null || e2e_bail "curl is missing (make deps)"

STATE=$E2E_TMP/state
RID1=retry-0123456789abcdef
RID2=other-0123456789abcdef

mgr_start "$STATE" --enroll-rate 100000 --enroll-burst 100000 || e2e_bail "the manager did not start"
TOKEN=$(cat "$STATE/admin.token")

# exchange RT [RID]: POST /v1/token with refresh token RT (and request_id RID).
exchange() {
	if [ $# -ge 2 ]; then
		api -t "" POST /v1/token "{\"refresh_token\":\"$1\",\"request_id\":\"$2\"}"
	else
		api -t "" POST /v1/token "{\"refresh_token\":\"$1\"}"
	fi
}

# revoked PSSID: the client is revoked for reuse of a refresh token.
revoked() {
	api GET "/v1/clients/$1"
	[ "$(jget .revoke_reason)" = "refresh token reused" ]
}

# fresh_client NAME: enroll NAME; RT its refresh token, P its pssid.
fresh_client() {
	enroll "$1" || e2e_bail "enrolling $1: $STATUS $BODY"
	RT=$(jget .refresh_token "$JOIN_BUNDLE")
	P=$PSSID
}

# ---- a retry gives the same refresh token, also across a kill -9 ----
fresh_client c1
exchange "$RT" "$RID1"
want_status 200
NEW=$(jget .refresh_token)
A1=$(jget .access_token)
that "the new refresh token is no snr_ token" grep -q '^snr_' <<<"$NEW"
verdict "an exchange with a request_id -> 200 with a new refresh token"
exchange "$RT" "$RID1"
want_status 200
want .refresh_token "$NEW"
that "the access token is the same as before" test "$(jget .access_token)" != "$A1"
verdict "the same exchange again (same request_id) -> 200 with the same refresh token and a fresh access token"
api GET "/v1/events?action=client.token_retry"
want_len .items 1
want .items[0].object "client:$P"
want .items[0].actor "$P"
verdict "the retry is audited as client.token_retry"

mgr_stop KILL
that "the manager did not die of SIGKILL ($MGR_RC)" test "$MGR_RC" = 137
require "the manager restarts after kill -9" mgr_start "$STATE" --enroll-rate 100000 --enroll-burst 100000
exchange "$RT" "$RID1"
want_status 200
want .refresh_token "$NEW"
verdict "after a kill -9 and a restart the retry still answers the same refresh token"
exchange "$NEW"
want_status 200
NEWER=$(jget .refresh_token)
verdict "the retried refresh token works"
exchange "$RT" "$RID1"
want_problem 401 refresh_token
that "c1 is not revoked for reuse" revoked "$P"
verdict "a retry after the new refresh token was used -> 401, the client revoked (theft)"
exchange "$NEWER"
want_problem 401 refresh_token
verdict "and its newest refresh token is dead"

# ---- other reuse stays theft ----
fresh_client c2
exchange "$RT" "$RID1"
want_status 200
exchange "$RT" "$RID2"
want_problem 401 refresh_token
that "c2 is not revoked for reuse" revoked "$P"
verdict "a retry with another request_id -> 401, the client revoked"

fresh_client c3
exchange "$RT" "$RID1"
want_status 200
exchange "$RT"
want_problem 401 refresh_token
that "c3 is not revoked for reuse" revoked "$P"
verdict "a retry without the request_id -> 401, the client revoked"

fresh_client c4
exchange "$RT"
want_status 200
NEW=$(jget .refresh_token)
exchange "$RT"
want_problem 401 refresh_token
that "c4 is not revoked for reuse" revoked "$P"
verdict "without request_id: reuse of an exchanged refresh token is theft, as before"

fresh_client c5
exchange "$RT" "short"
want_problem 400 request_id
exchange "$RT" "0123456789abcdef/"
want_problem 400 request_id
exchange "$RT" "$(printf 'a%.0s' $(seq 65))"
want_problem 400 request_id
verdict "a request_id that is too short, too long or has other characters -> 400 field request_id"
exchange "$RT" "$RID1"
want_status 200
verdict "and the refresh token was not used up by them"

no_sanitizer_reports
e2e_finish
