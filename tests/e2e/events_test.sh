#!/usr/bin/env bash
# End-to-end test of the audit log's reading and of the live event stream (api.md "Audit
# events"): a real manager and agent on loopback, tunnels from tests/tools/tunclient, curl for
# the API and curl -N for the stream. GET /v1/events newest first with cursor paging, since,
# action prefixes and object filters, bad parameters as problems naming them; the stream
# shows a pool.create and a session going up and down with the same JSON as the list; a
# subscriber that disconnects and resumes with Last-Event-ID (and ?last_event_id=) gets every
# event it missed, audit and session, and none twice; a position from another manager process
# gets an event gap; the subscriber cap answers 503 with Retry-After and frees a slot by the
# next heartbeat; a subscriber that does not read does not stall the API or the others.
# Run from the repository root: BUILD=build bash tests/e2e/events_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

declare -A SSE_PID=()

# stream_start NAME [CURL-ARG...]: read the stream in the background into $E2E_TMP/sse.NAME.
stream_start() {
	local name=$1
	shift
	curl -sN --max-time 120 -H "Authorization: Bearer $TOKEN" "$@" "$URL/v1/events/stream" \
	    >"$E2E_TMP/sse.$name" 2>"$E2E_TMP/sse.$name.err" &
	SSE_PID[$name]=$!
	E2E_PIDS+=("$!")
	wait_line "$E2E_TMP/sse.$name" '^: snaptun events' 5
}

stream_stop() {
	{ kill "${SSE_PID[$1]}"; wait "${SSE_PID[$1]}"; } 2>/dev/null
	proc_forget "${SSE_PID[$1]}"
}

# sse_last_id NAME: the last "id:" the stream NAME wrote.
sse_last_id() {
	grep '^id: ' "$E2E_TMP/sse.$1" | tail -n 1 | cut -c5-
}

# sse_count NAME ERE: how many data lines of stream NAME match ERE.
sse_count() {
	grep '^data: ' "$E2E_TMP/sse.$1" | grep -Ec -- "$2"
}

# sse_data NAME ERE: the first data line of stream NAME matching ERE, without "data: ".
sse_data() {
	grep '^data: ' "$E2E_TMP/sse.$1" | grep -E -- "$2" | head -n 1 | cut -c7-
}

pool() {
	api POST /v1/pools "{\"name\":\"$1\",\"isd_as\":\"1-ff00:0:110\",\"prefix\":\"$2\"}"
	[ "$STATUS" = 201 ]
}

tunnel_env

# ======================================================================= GET /v1/events

for i in 1 2 3 4 5; do
	pool "p$i" "10.60.$i.0/24" || e2e_bail "POST /v1/pools p$i -> $STATUS: $BODY"
	[ $i = 3 ] && P3=$(jget .id)
done
api GET '/v1/events?action=pool.create&limit=1000'
ASC_IDS=$(jeach .items .id | tr '\n' ' ')
api GET '/v1/events?action=pool.create&order=desc&limit=4'
want_status 200
want_len .items 4
D1=$(jeach .items .id | tr '\n' ' ')
that "the newest page is not the four last ids of the ascending list ($D1 vs $ASC_IDS)" \
    test "$D1" = "$(tr ' ' '\n' <<<"$ASC_IDS" | grep . | tail -n 4 | tac | tr '\n' ' ')"
NEXT=$(jget .next)
api GET "/v1/events?action=pool.create&order=desc&limit=4&after=$NEXT"
want_len .items 2
D2=$(jeach .items .id | tr '\n' ' ')
want_raw .next null
that "the desc pages do not walk the ascending list backwards ($D1|$D2 vs $ASC_IDS)" \
    test "$(tr ' ' '\n' <<<"$D1$D2" | grep . | tac | tr '\n' ' ')" = "$ASC_IDS"
verdict "order=desc: newest first, and its cursor pages on to older events to the end"

api GET '/v1/events?limit=1'
want_raw .items[0].id 1
verdict "the default order is still oldest first"

api GET '/v1/events?action=pool.*&limit=1000'
want_status 200
N_POOL=$(jlen .items)
that "action=pool.* finds $N_POOL events, expected 6 (t and p1..p5)" test "$N_POOL" = 6
api GET '/v1/events?object_type=pool&limit=1000'
that "object_type=pool finds $(jlen .items) events, expected 6" test "$(jlen .items)" = 6
api GET "/v1/events?object_type=pool&object_id=$P3"
want_len .items 1
want .items[0].object "pool:$P3"
want .items[0].action pool.create
api GET "/v1/events?object=pool:$P3&action=pool.*"
want_len .items 1
verdict "filters: an action prefix (pool.*), object_type, object_type with object_id, object"

api GET '/v1/events?order=desc&limit=1'
AT_LAST=$(jget .items[0].at)
api GET "/v1/events?since=$AT_LAST&limit=1000"
want_status 200
that "since=$AT_LAST returned an event before it" test -z "$(jeach .items .at | awk -v t="$AT_LAST" '$0 < t')"
that "since=$AT_LAST missed the newest event" test "$(jlen .items)" -ge 1
api GET '/v1/events?since=2999-01-01T00:00:00Z'
want_len .items 0
api GET '/v1/events?since=2000-01-01T00:00:00%2B02:00&action=pool.*&order=desc&limit=1000'
want_len .items 6
api GET '/v1/events?since=2000-01-01T00:00:00+02:00&action=pool.*&limit=1000'
want_len .items 6
api GET "/v1/events?since=$(sed 's/Z$/+00:00/' <<<"$AT_LAST")&limit=1000"
that "since=$AT_LAST written with +00:00 unencoded found no event" test "$(jlen .items)" -ge 1
verdict "since: events at or after the time (an offset is understood, its + encoded or not), with filters and in desc"

bad() {
	api GET "/v1/events?$1"
	want_problem 400 "$2"
	verdict "bad $1: 400 naming $2"
}
bad 'order=newest' order
bad 'since=yesterday' since
bad 'since=2026-02-30T00:00:00Z' since
bad 'since=2026-11-22+13:31:56Z' since
bad 'action=Pool.create' action
bad 'action=pool*' action
bad 'action=*' action
bad 'action=.create' action
bad 'object_id=1' object_id
bad 'object=pool:1&object_type=pool' object_type
bad 'object_type=pool:1' object_type
bad 'after=nonsense&order=desc' after
bad 'last_event_id=1-2-3' last_event_id

# ======================================================================= the stream

api -t "" GET /v1/events/stream
want_status 401
verdict "the stream wants a token"

stream_start A || e2e_bail "the stream answers (curl: $(cat "$E2E_TMP/sse.A.err"))"
that "the stream is not text/event-stream" \
    test "$(curl -s -m 2 -o /dev/null -w '%{content_type}' -H "Authorization: Bearer $TOKEN" \
	"$URL/v1/events/stream")" = text/event-stream
pool live "10.61.0.0/24" || fail "POST /v1/pools live -> $STATUS"
LIVE_ID=$(jget .id)
that "the stream did not show pool.create of pool:$LIVE_ID within 5 s" \
    wait_line "$E2E_TMP/sse.A" "\"action\":\"pool.create\",\"object\":\"pool:$LIVE_ID\"" 5
SSE_ITEM=$(sse_data A "\"object\":\"pool:$LIVE_ID\"")
api GET "/v1/events?object=pool:$LIVE_ID"
LIST_ITEM=$(sed -n 's/^{"items":\[\(.*\)\],"next":.*$/\1/p' <<<"$BODY")
that "the stream's data ($SSE_ITEM) is not the list's item ($LIST_ITEM)" \
    test -n "$SSE_ITEM" -a "$SSE_ITEM" = "$LIST_ITEM"
that "the stream showed events from before it started" test "$(sse_count A '"pool:1"')" = 0
verdict "a stream shows a pool.create as it commits, the same JSON as GET /v1/events"

enroll alice || e2e_bail "alice enrolls ($REQ -> $STATUS: $BODY)"
PA=$PSSID TA=$ACCESS
client_start A --token "$TA" --handshake
want_event A '^assigned 10\.77\.0\.[0-9]+ '
ADDR_A=$(awk '{ print $2 }' <<<"$CL_LINE")
that "no session.up of $PA on the stream within 5 s" \
    wait_line "$E2E_TMP/sse.A" "\"action\":\"session.up\".*\"pssid\":\"$PA\"" 5
UP=$(sse_data A '"session.up"')
api GET /v1/sessions
SID=$(jget .items[0].id)
that "session.up ($UP) does not name session $SID, the agent, the pssid and $ADDR_A" \
    grep -Eq "\"object\":\"session:$SID\".*\"session\":$SID.*\"agent\":[0-9]+.*\"pssid\":\"$PA\".*\"address\":\"$ADDR_A\"" <<<"$UP"
client_stop A
that "no session.down of session $SID within 5 s" \
    wait_line "$E2E_TMP/sse.A" "\"action\":\"session.down\",\"object\":\"session:$SID\"" 5
verdict "a tunnel's session.up (session, agent, pssid, address) and session.down on the stream"

# ======================================================================= resume

LAST=$(sse_last_id A)
stream_stop A
pool gone1 "10.62.0.0/24"
G1=$(jget .id)
client_start B --token "$TA" --handshake
want_event B '^assigned '
wait_for 5 test "$(api GET /v1/sessions; jlen .items)" = 1
client_stop B
wait_for 5 test "$(api GET /v1/sessions; jlen .items)" = 0
pool gone2 "10.63.0.0/24"
G2=$(jget .id)
stream_start R -H "Last-Event-ID: $LAST"
that "the resumed stream missed pool:$G2" \
    wait_line "$E2E_TMP/sse.R" "\"object\":\"pool:$G2\"" 5
that "the resumed stream missed pool:$G1" test "$(sse_count R "\"object\":\"pool:$G1\"")" = 1
that "the resumed stream missed the session.up while away" test "$(sse_count R '"session.up"')" = 1
that "the resumed stream missed the session.down while away" \
    test "$(sse_count R '"session.down"')" = 1
that "the resumed stream repeated an event from before $LAST" \
    test "$(sse_count R "\"object\":\"pool:$LIVE_ID\"") $(sse_count R "\"session:$SID\"")" = "0 0"
ORDER=$(grep '^data: ' "$E2E_TMP/sse.R" | grep -oE '"action":"[a-z._]+"' | tr '\n' ' ')
that "the resumed events are not in the order they happened: $ORDER" \
    grep -Eq 'pool.create.*session.up.*session.down.*pool.create' <<<"$ORDER"
that "the resumed stream has a gap event" test "$(grep -c '^event: gap' "$E2E_TMP/sse.R")" = 0
verdict "a subscriber that resumes with Last-Event-ID gets every audit and session event it missed, in order, none twice"

LAST=$(sse_last_id R)
stream_stop R
pool gone3 "10.64.0.0/24"
G3=$(jget .id)
stream_start Q "--get" --data-urlencode "last_event_id=$LAST"
that "?last_event_id= missed pool:$G3" wait_line "$E2E_TMP/sse.Q" "\"object\":\"pool:$G3\"" 5
that "?last_event_id= repeated pool:$G2" test "$(sse_count Q "\"object\":\"pool:$G2\"")" = 0
verdict "?last_event_id= resumes too (for clients that cannot set headers)"
stream_stop Q

INSTANCE=${LAST##*-}
AUDIT=${LAST%%-*}
stream_start O -H "Last-Event-ID: $AUDIT-3-$((INSTANCE == 1 ? 2 : 1))"
that "no gap event for a position of another process" \
    wait_line "$E2E_TMP/sse.O" '^event: gap' 5
that "the audit events after $AUDIT were not sent after the gap" \
    wait_line "$E2E_TMP/sse.O" "\"object\":\"pool:$G3\"" 5
verdict "a position from another manager process: event gap, then the audit events after it"
stream_stop O

api -H "Last-Event-ID: 1-99999-$INSTANCE" GET /v1/events/stream
want_problem 400 Last-Event-ID
verdict "Last-Event-ID naming a session event this process never wrote: 400 naming it"
api -H "Last-Event-ID: 9223372036854775807-0-$INSTANCE" GET /v1/events/stream
want_problem 400 Last-Event-ID
api GET "/v1/events/stream?last_event_id=$((AUDIT + 1000))-0-$INSTANCE"
want_problem 400 last_event_id
verdict "a position past the audit log's newest event (a stream that would stay silent): 400 naming it"
api -H "Last-Event-ID: x" GET /v1/events/stream
want_problem 400 Last-Event-ID
verdict "a Last-Event-ID that is not a position: 400 naming it"

# ======================================================================= cap, heartbeat, slow reader

mgr_start "$E2E_TMP/cap" --max-event-streams 2 || e2e_bail "a second manager starts"
TOKEN=$(cat "$E2E_TMP/cap/admin.token")
stream_start C1 && stream_start C2
api GET /v1/events/stream
want_problem 503 -
want_header Retry-After 5
verdict "past --max-event-streams: 503 problem with Retry-After"

stream_stop C1
stream_start C3
that "the slot of a subscriber that went away is not free at once" \
    test "$(head -n 1 "$E2E_TMP/sse.C3")" = ": snaptun events"
verdict "a subscriber that leaves frees its slot for the next at once"
stream_stop C3

T0=$(date +%s)
that "no heartbeat comment on the open stream within 20 s" \
    wait_line "$E2E_TMP/sse.C2" '^: heartbeat$' 20
verdict "an idle stream gets a heartbeat comment ($(($(date +%s) - T0)) s after the last check)"

# A reader that never reads: its socket fills, the manager writes no more to it.
RSS0=$(awk '/^VmRSS/ { print $2 }' "/proc/$MGR_PID/status")
curl -sN --max-time 60 -H "Authorization: Bearer $TOKEN" "$URL/v1/events/stream" | sleep 60 &
SLOW_PID=$!
E2E_PIDS+=("$SLOW_PID")
LABELS=$(for i in $(seq 1 16); do printf '"label%02d":"%s",' "$i" "$(head -c 40 /dev/zero | tr '\0' x)"; done)
LABELS="{${LABELS%,}}"
WORST=0
for i in 1 2 3 4 5 6; do
	api POST /v1/join-tokens "{\"count\":1000,\"labels\":$LABELS}"
	[ "$STATUS" = 201 ] || fail "POST /v1/join-tokens count 1000 -> $STATUS"
	MS=$(curl -s -o /dev/null -m 5 -w '%{time_total}' "$URL/v1/health" | awk '{ printf "%d", $1 * 1000 }')
	[ "${MS:-9999}" -gt "$WORST" ] && WORST=${MS:-9999}
done
that "GET /v1/health took $WORST ms at worst while a subscriber did not read" test "$WORST" -lt 1000
pool after-slow "10.65.0.0/24"
AFTER=$(jget .id)
that "a subscriber that reads did not get pool:$AFTER within 5 s (the slow one holds it up?)" \
    wait_line "$E2E_TMP/sse.C2" "\"object\":\"pool:$AFTER\"" 5
verdict "a subscriber that does not read (6000 events behind) stalls neither the API ($WORST ms at worst) nor the others"
that "a stream carried something shaped like a token" \
    test -z "$(cat "$E2E_TMP"/sse.* | grep -Eo 'sn[jra]_[A-Za-z0-9_-]{4}|eyJ[A-Za-z0-9_-]{8}' | head -n 3)"
verdict "no secret in any stream (6000 join tokens' events among them)"
RSS=$(awk '/^VmRSS/ { print $2 }' "/proc/$MGR_PID/status")
diag "manager RSS: $RSS0 kB before the stalled subscriber and the 6000 events, $RSS kB after"
{ kill "$SLOW_PID"; } 2>/dev/null
stream_stop C2

mgr_stop
check "the manager with streams open stops cleanly (exit $MGR_RC)" test "$MGR_RC" = 0
no_sanitizer_reports
e2e_finish
