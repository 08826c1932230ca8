#!/usr/bin/env bash
# An enrollment that is never acknowledged is worthless: with --ack-ttl 3 the ack lapses, the
# sweep (every 5 s) reverts the join token to issued with one more attempt, discards the client
# and revokes its pssid; the late ack consumes nothing, and the token can be used again. A token
# whose third join lapses too is aborted, and further joins are refused.
. "$(dirname "$0")/lib.bash"

STATE=$E2E_TMP/state
mkdir -p -m 700 "$STATE"
mgr_start "$STATE" --ack-ttl 3 --enroll-rate 1000 --enroll-burst 1000 ||
	e2e_bail "the manager did not start"
TOKEN=$(cat "$STATE/admin.token")

api POST /v1/join-tokens '{"name":"lapse"}'
want_status 201
verdict "a join token"
ID=$(jget .id)
SECRET=$(jget .token)

api -t "" POST /v1/join "{\"token\":\"$SECRET\"}"
want_status 201
verdict "join: 201 with a bundle"
PSSID=$(jget .pssid)
ACK=$(jget .ack_token)

# The sweep runs every 5 s: wait for the revert, bounded.
reverted=
for ((i = 0; i < 150; i++)); do
	api GET "/v1/join-tokens/$ID"
	if [ "$(jget .state)" = issued ]; then
		reverted=1
		break
	fi
	sleep 0.1
done
that "state $(jget .state)" test -n "$reverted"
want .attempts 1
want_raw .in_flight_address null
want_raw .ack_deadline null
verdict "the lapsed enrollment's token is issued again, attempt 1"

api GET "/v1/clients/$PSSID"
want_problem 404
verdict "its client is discarded"

api GET "/v1/events?action=client.discard&object=client:$PSSID"
want_len .items 1
want .items[0].actor sweeper
verdict "the discard is audited by the sweeper"

api GET "/v1/events?action=join_token.revert&object=join_token:$ID"
want_len .items 1
verdict "the revert is audited"

store_sql "$STATE" "SELECT reason FROM revocations WHERE pssid = '$PSSID'" >"$E2E_TMP/rev" 2>&1
that "revocations: $(cat "$E2E_TMP/rev")" grep -qx "enrollment not acknowledged" "$E2E_TMP/rev"
verdict "its pssid is on the revocation list"

api -t "" POST /v1/join/ack "{\"ack_token\":\"$ACK\"}"
want_problem 410 ack_token
verdict "the late ack is refused and consumes nothing"

api GET "/v1/join-tokens/$ID"
want .state issued
verdict "the token is still issued"

api -t "" POST /v1/join "{\"token\":\"$SECRET\"}"
want_status 201
that "the same pssid came back" test "$(jget .pssid)" != "$PSSID"
verdict "the token can be used again, for a new identity"
ACK=$(jget .ack_token)
api -t "" POST /v1/join/ack "{\"ack_token\":\"$ACK\"}"
want_status 204
verdict "and acknowledged in time"

api GET "/v1/join-tokens/$ID"
want .state consumed
want .attempts 1
verdict "consumed at the second attempt"

# A token survives 3 unacknowledged joins: each join past the last deadline reverts the lapsed
# one on the spot, and the third revert aborts the token.
api POST /v1/join-tokens '{"name":"leaky"}'
want_status 201
ID2=$(jget .id)
SECRET2=$(jget .token)
for i in 1 2 3; do
	api -t "" POST /v1/join "{\"token\":\"$SECRET2\"}"
	want_status 201
	sleep 3.2
done
verdict "three joins of one token, none acknowledged"
api -t "" POST /v1/join "{\"token\":\"$SECRET2\"}"
want_problem 410 token
want .detail "the join token is aborted: 3 joins were not acknowledged"
verdict "the fourth join is refused: the token is aborted after 3 unacknowledged joins"
api GET "/v1/join-tokens/$ID2"
want .state aborted
want .attempts 3
verdict "the token is aborted with 3 attempts"
api GET "/v1/events?action=join_token.abort&object=join_token:$ID2"
want_len .items 1
want .items[0].details.attempts 3
verdict "the abort is audited with its attempts"
api -t "" POST /v1/join "{\"token\":\"$SECRET2\"}"
want_problem 410 token
verdict "and stays refused"

# The revocations of discarded enrollments expire once no token of theirs can be valid: the
# access token's lifetime (1 h) plus 5 min after the discard. The expiry is moved to the past in
# the database (the manager's clock cannot be); the sweep then lifts them.
api GET "/v1/revocations/$PSSID"
want_status 200
EXP=$(date -u -d "$(jget .expires_at)" +%s 2>/dev/null || echo 0)
NOW=$(date +%s)
that "expires_at $(jget .expires_at) is not about an hour and 5 minutes on" \
    test "$EXP" -ge $((NOW + 3600)) -a "$EXP" -le $((NOW + 3900))
verdict "a discarded enrollment's revocation has an expiry (the access token's lifetime + 5 min)"
api GET /v1/revocations
want_len .items 4
verdict "four discarded enrollments, four revocations"
store_sql "$STATE" "UPDATE revocations SET expires_at = $(($(date +%s) - 1))" 2>&1
shrunk=
for ((i = 0; i < 150; i++)); do
	api GET /v1/revocations
	if [ "$(jq '.items | length' <<<"$BODY")" = 0 ]; then
		shrunk=1
		break
	fi
	sleep 0.1
done
that "revocations: $BODY" test -n "$shrunk"
verdict "past their expiry the sweep lifts them: the list is empty"
api GET "/v1/revocations/$PSSID"
want_problem 404
verdict "the discarded pssid is no longer revoked"
api GET "/v1/clients/$PSSID"
want_problem 404
verdict "and nothing came back: its client stays discarded"

mgr_stop TERM
that "exit status $MGR_RC" test "$MGR_RC" = 0
verdict "the manager exits 0 on SIGTERM"
that "${#E2E_5XX[@]} 5xx answers" test ${#E2E_5XX[@]} -eq 0
verdict "no request was answered with a 5xx"
if report=$(sanitizer_report "$STATE.err"); then
	fail "sanitizer report in the manager's stderr"
	diag "$report"
fi
verdict "no sanitizer reports in the manager's stderr"
e2e_finish
