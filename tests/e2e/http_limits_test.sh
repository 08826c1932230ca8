#!/usr/bin/env bash
# End-to-end test of the manager's HTTP connection limits: slow clients (tests/tools/slowclient,
# loopback only, bounded in count and time) cannot hold connections past the head and body
# deadlines, one address gets no more than its share, and when the other connections are all
# taken the reserve still answers /v1/health and the admin API (not the public enrollment).
# 127.0.0.2-5 are other sources on the loopback interface (all of 127/8 is local on Linux).
# Run from the repository root: BUILD=build bash tests/e2e/http_limits_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

SLOW=${SLOW:-$BUILD/tools/slowclient}
[ -x "$MANAGER" ] || e2e_bail "$MANAGER is not built (make all)"
[ -x "$SLOW" ] || e2e_bail "$SLOW is not built (make all)"
command -v curl >/dev/null || e2e_bail "curl is missing (make deps)"

# wait_ready FILE: until slowclient has connected (5 s at most).
wait_ready() {
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q '^ready' "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# closed_within FILE LO HI: how many connections the server closed between LO and HI s.
closed_within() {
	awk -v lo="$2" -v hi="$3" '$1 == "closed" && $2 >= lo && $2 <= hi { n++ }
	    END { print n + 0 }' "$1"
}

mgr_start "$E2E_TMP/state" --http-head-timeout 3 --http-body-timeout 5 \
    --http-max-per-source 8 --http-max-conns 16 --http-reserve 4 ||
	e2e_bail "the manager did not start"
TOKEN=$(cat "$E2E_TMP/state/admin.token")
PORT=${URL##*:}

# A head sent one byte every 0.3 s never goes idle, and never ends.
"$SLOW" --conns 1 --interval 300 --seconds 10 127.0.0.1 "$PORT" >"$E2E_TMP/trickle"
check "a head trickled a byte every 0.3 s is cut at the 3 s head deadline" \
    [ "$(closed_within "$E2E_TMP/trickle" 2.5 5)" = 1 ]
diag "trickled head: $(tail -n 1 "$E2E_TMP/trickle")"

# A complete head, then a body that trickles and never reaches its Content-Length.
"$SLOW" --conns 1 --interval 300 --seconds 10 --head '"name":"x"' --first \
    "$(printf 'POST /v1/join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{')" \
    127.0.0.1 "$PORT" >"$E2E_TMP/body"
check "a body trickled a byte every 0.3 s is cut at the 5 s body deadline" \
    [ "$(closed_within "$E2E_TMP/body" 4.5 7)" = 1 ]

# Ten from 127.0.0.2 (two over its share) and eight from 127.0.0.3 fill the 16 connections.
"$SLOW" --from 127.0.0.2 --conns 10 --seconds 6 127.0.0.1 "$PORT" >"$E2E_TMP/s2" &
S2=$!
"$SLOW" --from 127.0.0.3 --conns 8 --seconds 6 127.0.0.1 "$PORT" >"$E2E_TMP/s3" &
S3=$!
wait_ready "$E2E_TMP/s2" && wait_ready "$E2E_TMP/s3" || e2e_bail "slowclient did not connect"
sleep 0.5
CURL_OPTS=(--interface 127.0.0.4)
api -t "" GET '/v1/health?live'
want_status 200
verdict "with every connection taken, /v1/health from another address is served (reserve)"
api GET /v1/pools
want_status 200
verdict "so is the admin API"
api -t "" POST /v1/join '{"token":"snj_x","name":"x"}'
want_problem 503 -
verdict "not the public enrollment: POST /v1/join in the reserve -> 503"
CURL_OPTS=()
wait "$S2" "$S3"
check "the two connections from 127.0.0.2 over its share of 8 are closed at once" \
    [ "$(closed_within "$E2E_TMP/s2" 0 1)" = 2 ]
check "the other 16 are cut at the head deadline" \
    [ "$(($(closed_within "$E2E_TMP/s2" 2.5 5) + $(closed_within "$E2E_TMP/s3" 2.5 5)))" = 16 ]
api GET '/v1/health?live'
want_status 200
verdict "afterwards 127.0.0.1 is served as before"

mgr_stop
e2e_finish
