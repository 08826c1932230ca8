#!/usr/bin/env bash
# End-to-end test of the metrics and health (issue 11): a manager and an agent, each with
# --metrics-listen, two enrolled clients whose tunnels carry datagrams to each other. The manager's
# GET /metrics (scope read; 401 without a token, 403 for provision) and its unauthenticated
# listener serve the same families; promtool accepts both scrapes and the agent's; the numbers are
# the ones the test caused (enrollments, join tokens, pools, sessions, packets, handshakes and a
# refused one by its close code, HTTP requests by route template). A revocation is counted and timed in the latency histogram, and
# the close code 3 counted. The agent restarts: every counter of the manager's scrape is at least
# what it was before (monotonic), the restart is counted, and the new traffic adds on top.
# /v1/health: 200 with the agent connected, 503 naming agents while it is away, ?live 200.
# Run from the repository root: BUILD=build bash tests/e2e/metrics_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash


# metric FILE SERIES: the value of SERIES (name{labels} as rendered) in the scrape FILE.
metric() {
	awk -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }' "$1"
}

# scrape URL FILE [TOKEN]: GET URL into FILE; 0 on a 200 of the Prometheus text type.
scrape() {
	local code ctype args=(-sS --max-time 10 -o "$2" -w '%{http_code} %{content_type}')
	[ -n "${3-}" ] && args+=(-H "Authorization: Bearer $3")
	read -r code ctype < <(curl "${args[@]}" "$1" 2>/dev/null)
	[ "$code" = 200 ] && [ "$ctype" = "text/plain; version=0.0.4; charset=utf-8" ]
}

# unique FILE: no series appears twice (Prometheus refuses a scrape with duplicates).
unique() {
	grep -v '^#' "$1" | awk '{ print $1 }' | sort | uniq -d | head -n 3
}

# monotonic OLD NEW: every counter, histogram bucket, sum and count of OLD is in NEW and not
# below its value there.
monotonic() {
	awk '
	    NR == FNR { if ($1 ~ /(_total|_bucket|_sum|_count)(\{|$)/) old[$1] = $2; next }
	    { new[$1] = $2 }
	    END {
		for (k in old) {
			if (!(k in new)) { print "gone: " k; bad = 1 }
			else if (new[k] + 0 < old[k] + 0) { print "went back: " k " " old[k] " -> " new[k]; bad = 1 }
		}
		exit bad
	    }' "$1" "$2"
}

TUNNEL_MGR_ARGS=(--metrics-listen 127.0.0.1:0)
tunnel_env --metrics-listen 127.0.0.1:0
ADMIN=$TOKEN
MURL=$(cat "$E2E_TMP/mgr/metrics.url" 2>/dev/null)
AMURL=http://$(cat "$E2E_TMP/agent/metrics.addr" 2>/dev/null)/metrics
check "the manager writes its metrics URL to metrics.url" grep -Eq '^http://127\.0\.0\.1:[0-9]+/metrics$' <<<"$MURL"
check "the agent writes its metrics address to metrics.addr" grep -Eq '^http://127\.0\.0\.1:[0-9]+/metrics$' <<<"$AMURL"

# ======================================================================= health

api -t "" GET /v1/health
want_status 200
want .status ok
want .db ok
want .agents_connected 1
verdict "GET /v1/health with the store writable and the agent connected -> 200"
api -t "" GET '/v1/health?live'
want_status 200
verdict "GET /v1/health?live -> 200"
api -t "" GET '/v1/health?ready'
want_problem 400 ready
verdict "GET /v1/health?ready (not a parameter it takes) -> 400 naming it"

# ======================================================================= scopes

api -t "" GET /metrics
want_problem 401 -
verdict "GET /metrics without a token -> 401"
api POST /v1/admin-tokens '{"name":"scraper","scope":"read"}'
READ=$(jget .token)
api POST /v1/admin-tokens '{"name":"prov","scope":"provision"}'
PROV=$(jget .token)
api -t "$PROV" GET /metrics
want_problem 403 -
verdict "GET /metrics with a provision token -> 403"
api -t "$READ" POST /metrics ''
want_problem 405 -
verdict "POST /metrics -> 405"

# ======================================================================= traffic

enroll alice || e2e_bail "alice enrolls: $BODY"
PA=$PSSID TA=$ACCESS
enroll bob || e2e_bail "bob enrolls: $BODY"
TB=$ACCESS
api -t "" POST /v1/join '{"token":"snj_not-a-token"}'
client_start A --token "$TA" --handshake
client_start B --token "$TB" --handshake
want_event A '^assigned '
ADDR_A=$(awk '{ print $2 }' <<<"$CL_LINE")
want_event B '^assigned '
ADDR_B=$(awk '{ print $2 }' <<<"$CL_LINE")
verdict "two tunnels are up ($ADDR_A, $ADDR_B)"
client_cmd A "send $ADDR_B 50 200"
client_cmd B "send $ADDR_A 30 100"
want_event B "^datagram $ADDR_A $ADDR_B 228\$" 3
want_event A "^datagram $ADDR_B $ADDR_A 128\$" 3
verdict "the tunnels carry datagrams both ways"
client_start X --token "${TA}x" --handshake
want_event X '^closed peer=1 app=1 code=1 ' 5
client_stop X
verdict "a tunnel with a bad token is refused in its handshake (close code 1)"

# The agent reports every 5 s: wait until the manager shows the traffic.
M1=$E2E_TMP/m1.txt
traffic_seen() {
	scrape "$URL/metrics" "$M1" "$READ" &&
	    [ "$(metric "$M1" 'snaptun_tunnel_packets_total{direction="uplink"}')" -ge 80 ] &&
	    [ "$(metric "$M1" 'snaptun_handshake_failures_total{code="1"}')" = 1 ]
}
wait_for 12 traffic_seen
verdict "GET /metrics with a read token -> 200 text/plain 0.0.4, with the tunnels' packets and the refused one within 12 s"
promtool_ok "$M1" "the manager's scrape while tunnels carry traffic"

want_metric() { # FILE SERIES WANT
	local v
	v=$(metric "$1" "$2") || { fail "no series $2"; return; }
	[ "$v" = "$3" ] || fail "$2 = $v, expected $3"
}
want_metric_ge() { # FILE SERIES MIN
	local v
	v=$(metric "$1" "$2") || { fail "no series $2"; return; }
	awk -v v="$v" -v m="$3" 'BEGIN { exit !(v + 0 >= m + 0) }' || fail "$2 = $v, expected >= $3"
}
want_metric "$M1" 'snaptun_enrollments_total' 2
want_metric "$M1" 'snaptun_enrollment_failures_total{reason="invalid_token"}' 1
want_metric "$M1" 'snaptun_join_tokens{state="consumed"}' 2
want_metric "$M1" 'snaptun_join_tokens{state="issued"}' 0
want_metric "$M1" 'snaptun_clients' 2
verdict "enrollments (2), the failed join (invalid_token), join tokens by state, clients"
want_metric "$M1" 'snaptun_pool_size_addresses{pool="t"}' 254
want_metric "$M1" 'snaptun_pool_addresses{pool="t",state="assigned"}' 2
want_metric "$M1" 'snaptun_pool_addresses{pool="t",state="free"}' 252
want_metric "$M1" 'snaptun_agents_connected' 1
want_metric "$M1" 'snaptun_sessions{agent="1"}' 2
verdict "pool size and addresses by state, agents connected, sessions per agent"
want_metric_ge "$M1" 'snaptun_tunnel_packets_total{direction="uplink"}' 80
want_metric_ge "$M1" 'snaptun_tunnel_packets_total{direction="downlink"}' 80
want_metric_ge "$M1" 'snaptun_tunnel_bytes_total{direction="uplink"}' $((50 * 228 + 30 * 128))
want_metric "$M1" 'snaptun_tunnel_drops_total{reason="spoofed"}' 0
want_metric "$M1" 'snaptun_handshakes_total' 2
want_metric "$M1" 'snaptun_handshake_failures_total{code="1"}' 1
want_metric "$M1" 'snaptun_handshake_failures_total{code="2"}' 0
verdict "packets and bytes each way, drops by reason, handshakes, their failures by close code"
want_metric "$M1" 'snaptun_http_requests_total{route="/v1/pools",method="POST",status="201"}' 1
want_metric "$M1" 'snaptun_http_requests_total{route="/v1/join",method="POST",status="401"}' 1
want_metric_ge "$M1" 'snaptun_http_request_duration_seconds_count{route="/v1/join/ack",method="POST"}' 2
want_metric_ge "$M1" 'snaptun_state_channel_frames_total{direction="in"}' 3
want_metric_ge "$M1" 'snaptun_store_transaction_duration_seconds_count' 3
verdict "HTTP requests by route template, method and status, their latency, channel frames, store transactions"
that "no empty revocation latency histogram: $(grep revocation_latency "$M1" | head -3)" \
    grep -q 'snaptun_revocation_latency_seconds_bucket{le="+Inf"} 0' "$M1"
verdict "the revocation latency histogram is there, empty"

M1L=$E2E_TMP/m1l.txt
scrape "$MURL" "$M1L"
verdict "--metrics-listen serves GET /metrics without a token"
that "the listener's scrape lacks families of the API's: $(diff <(grep '^# TYPE' "$M1") <(grep '^# TYPE' "$M1L") | head -5)" \
    cmp -s <(grep '^# TYPE' "$M1") <(grep '^# TYPE' "$M1L")
verdict "the listener serves the same families as GET /metrics"
code=$(curl -s -o /dev/null -w '%{http_code}' "${MURL%/metrics}/v1/pools")
that "the metrics listener answered /v1/pools with $code" test "$code" = 404
verdict "the metrics listener serves nothing but /metrics (404)"

A1=$E2E_TMP/a1.txt
scrape "$AMURL" "$A1"
verdict "the agent's --metrics-listen serves GET /metrics"
promtool_ok "$A1" "the agent's scrape"
want_metric "$A1" 'snaptun_sessions{agent="1"}' 2
want_metric "$A1" 'snaptun_handshakes_total{agent="1"}' 2
want_metric "$A1" 'snaptun_handshake_failures_total{agent="1",code="1"}' 1
want_metric_ge "$A1" 'snaptun_tunnel_packets_total{agent="1",direction="uplink"}' 80
want_metric "$A1" 'snaptun_state_channel_up{agent="1"}' 1
verdict "the agent shows its sessions, handshakes and their failures by close code, packets and channel state"

# ======================================================================= revocation

api POST /v1/revocations "{\"pssid\":\"$PA\",\"reason\":\"metrics test\"}"
want_status 201
want_event A '^closed peer=1 app=1 code=3 ' 3
verdict "alice is revoked: her tunnel closes with code 3"
M2=$E2E_TMP/m2.txt
revocation_timed() {
	scrape "$URL/metrics" "$M2" "$READ" &&
	    [ "$(metric "$M2" 'snaptun_revocation_latency_seconds_count')" = 1 ]
}
wait_for 5 revocation_timed
want_metric "$M2" 'snaptun_revocations_total' 1
want_metric "$M2" 'snaptun_revocation_latency_seconds_bucket{le="+Inf"}' 1
want_metric "$M2" 'snaptun_revocation_latency_seconds_bucket{le="10"}' 1
verdict "the revocation is counted and its API-to-close latency is in the histogram (count 1, under 10 s)"
diag "revocation latency: $(metric "$M2" snaptun_revocation_latency_seconds_sum) s"
closes_seen() {
	scrape "$URL/metrics" "$M2" "$READ" &&
	    [ "$(metric "$M2" 'snaptun_session_closes_total{code="3"}')" = 1 ]
}
wait_for 8 closes_seen
verdict "the close is counted by its code (3) once the agent reports"

# ======================================================================= agent restart

M3=$E2E_TMP/m3.txt
scrape "$URL/metrics" "$M3" "$READ"
UP3=$(metric "$M3" 'snaptun_tunnel_packets_total{direction="uplink"}')
agent_stop
want_event B '^closed peer=1 app=1 code=0 ' 5
api -t "" GET /v1/health
want_problem 503 agents
want .agents_connected 0
verdict "with the agent stopped, GET /v1/health -> 503 naming agents"
scrape "$URL/metrics" "$E2E_TMP/m3b.txt" "$READ"
want_metric "$E2E_TMP/m3b.txt" 'snaptun_agents_connected' 0
want_metric "$E2E_TMP/m3b.txt" 'snaptun_agent_up{agent="1"}' 0
want_metric "$E2E_TMP/m3b.txt" 'snaptun_tunnel_packets_total{direction="uplink"}' "$UP3"
verdict "with the agent away, its counts stay (agents connected 0, agent_up 0)"

AGENT_LISTEN=$AGENT_ADDR agent_start "$E2E_TMP/agent" --metrics-listen 127.0.0.1:0 ||
    e2e_bail "the agent restarts"
wait_for 10 agent_connected || e2e_bail "the agent reconnects"
client_start B2 --token "$TB" --handshake
want_event B2 '^assigned '
client_cmd B2 "send 10.77.0.250 20 100"
M4=$E2E_TMP/m4.txt
new_traffic() {
	scrape "$URL/metrics" "$M4" "$READ" &&
	    [ "$(metric "$M4" 'snaptun_tunnel_packets_total{direction="uplink"}')" -ge $((UP3 + 20)) ]
}
wait_for 12 new_traffic
verdict "after the agent's restart its new packets add to the old ones (uplink $UP3 -> $(metric "$M4" 'snaptun_tunnel_packets_total{direction="uplink"}'))"
that "$(monotonic "$M3" "$M4")" monotonic "$M3" "$M4"
verdict "every counter, bucket, sum and count of the scrape before the restart is there after it, none lower"
that "series twice: $(unique "$M4")" test -z "$(unique "$M4")"
that "/metrics through both listeners is not one series: $(grep 'route="/metrics"' "$M4" | head -3)" \
    grep -Eq '^snaptun_http_requests_total\{route="/metrics",method="GET",status="200"\} ([5-9]|[1-9][0-9]+)$' "$M4"
verdict "no series twice: /metrics scraped through the API and the listener is one series"
want_metric "$M4" 'snaptun_agent_restarts_total' 1
want_metric_ge "$M4" 'snaptun_state_channel_reconnects_total' 1
want_metric "$M4" 'snaptun_handshakes_total' 3
want_metric_ge "$M4" 'snaptun_tunnel_drops_total{reason="no_route"}' 20
verdict "the restart is counted, handshakes add up (3), the new drops (no_route) too"
promtool_ok "$M4" "the manager's scrape after the agent's restart"
api -t "" GET /v1/health
want_status 200
verdict "the agent back: GET /v1/health -> 200"

client_stop B2
client_stop A
client_stop B
no_sanitizer_reports
e2e_finish
