#!/usr/bin/env bash
# End-to-end test of the programs' log lines (README "Logs"): a manager with --log-format json
# --access-log and an agent with --log-format json, both at debug, through enrollment, a token
# refresh, admin tokens, a tunnel, bad credentials and a secret sent in a path by mistake.
# Every line of both is one JSON object with ts, level, program (and agent for the agent) and
# msg; the access log names method, route template, status, duration and source; no line of
# any process holds a secret (the tokens themselves, or anything that looks like one: snj_,
# snr_, sna_, eyJ). Then the text format: the program and the agent id on every line.
# Run from the repository root: BUILD=build bash tests/e2e/logs_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

TUNNEL_MGR_ARGS=(--log-format json --access-log --log-level debug)
AGENT_LOG_LEVEL=debug
tunnel_env --log-format json
MGR_LOG=$E2E_TMP/mgr.err
AGENT_LOG=$E2E_TMP/agent.err
SECRETS=("$TOKEN")

# ======================================================================= traffic for the logs
# 12 requests at least with tunnel_env's POST /v1/pools and GET /v1/agents.

api POST /v1/admin-tokens '{"name":"reader","scope":"read"}'
[ "$STATUS" = 201 ] || e2e_bail "POST /v1/admin-tokens -> $STATUS: $BODY"
SECRETS+=("$(jget .token)")
api POST /v1/join-tokens '{"name":"alice"}'
JT=$(jget .token)
SECRETS+=("$JT")
api -t "" POST /v1/join "{\"token\":\"$JT\",\"name\":\"alice\"}"
[ "$STATUS" = 201 ] || e2e_bail "POST /v1/join -> $STATUS: $BODY"
ACCESS=$(jget .access_token) REFRESH=$(jget .refresh_token) ACK=$(jget .ack_token)
SECRETS+=("$ACCESS" "$REFRESH" "$ACK")
api -t "" POST /v1/join/ack "{\"ack_token\":\"$ACK\"}"
api -t "" POST /v1/token "{\"refresh_token\":\"$REFRESH\"}"
[ "$STATUS" = 200 ] || e2e_bail "POST /v1/token -> $STATUS: $BODY"
ACCESS2=$(jget .access_token)
SECRETS+=("$ACCESS2" "$(jget .refresh_token)")
api -t "snj_not-a-real-token-but-looks-like-one" GET /v1/pools
api GET "/v1/join-tokens/$JT"		# a secret in the path, by mistake
api GET "/v1/events?object=$JT"		# and in a query
api GET /v1/pools/1
client_start A --token "$ACCESS2" --handshake
want_event A '^assigned ' || e2e_bail "the tunnel comes up: $(client_log A)"
# The client closes with a reason of bytes that are not UTF-8: the agent logs the reason.
client_cmd A $'close 0 bye\xff\xfe "quoted"'
client_expect A '^closed ' 5
client_stop A
# Request methods are the client's bytes too: not UTF-8, control characters past any line's
# length, one shaped like a token.
raw_request() {
	local hostport=${URL#http://} fd
	exec {fd}<>"/dev/tcp/${hostport%:*}/${hostport##*:}" || return 1
	printf '%s /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$1" >&"$fd"
	timeout 5 cat <&"$fd" >/dev/null
	exec {fd}>&-
}
raw_request $'G\xffT"\\'
raw_request "$(head -c 6000 /dev/zero | tr '\0' '\001')"
raw_request snj_MethodShapedLikeAToken
api -t "" POST /v1/token "{\"refresh_token\":\"$REFRESH\"}"	# used up: refused
client_start B --token "${ACCESS2}x" --handshake	# a bad token at the agent
client_expect B '^closed ' 5
client_stop B
mgr_stop
agent_stop

# ======================================================================= JSON lines

# utf8_ok FILE: FILE is UTF-8 throughout (JSON is UTF-8 or it is not JSON).
utf8_ok() {
	iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1
}

# json_line_ok PROGRAM: every line on stdin is a JSON object (lib.bash's parser takes it) that
# starts with ts, level, program PROGRAM (and agent for the agent) and msg.
json_lines_ok() {
	local line n=0 bad=0 head
	head='^\{"ts":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z","level":"(error|warn|info|debug)","program":"'$1'",'
	[ "$1" = snaptun-agent ] && head+='"agent":1,'
	head+='"msg":"'
	while IFS= read -r line; do
		n=$((n + 1))
		if ! grep -Eq -- "$head" <<<"$line" || ! BODY=$line json_flat >/dev/null 2>&1 ||
		    [ "${line: -1}" != "}" ]; then
			[ $bad -lt 3 ] && diag "not a log object: $line"
			bad=$((bad + 1))
		fi
	done
	diag "$n lines of $1, $bad bad"
	[ "$n" -gt 0 ] && [ $bad = 0 ]
}

check "every manager line is one JSON object: ts, level, program, msg, fields" \
    json_lines_ok snaptun-manager <"$MGR_LOG"
check "the manager's log is UTF-8 (methods of bytes that are not)" utf8_ok "$MGR_LOG"
check "the agent's log is UTF-8 (a close reason of bytes that are not)" utf8_ok "$AGENT_LOG"
check "the agent logs the client's close reason, its bytes that are not UTF-8 as U+FFFD" \
    grep -Fq 'closed by the client (application code 0: bye\ufffd\ufffd \"quoted\")' "$AGENT_LOG"
check "the access log names methods HTTP does not define \"other\" (3 of them)" \
    test "$(grep -c '"method":"other","route":"-","status":405' "$MGR_LOG")" = 3
check "every agent line is one JSON object: ts, level, program, agent, msg, fields" \
    json_lines_ok snaptun-agent <"$AGENT_LOG"

ACCESS_RE='"msg":"http request","method":"GET","route":"/v1/pools/\{id\}","status":200,"duration_us":[0-9]+,"source":"127\.0\.0\.1"\}$'
check "the access log has GET /v1/pools/{id} 200 with its duration and source" \
    grep -Eq "$ACCESS_RE" "$MGR_LOG"
check "the access log has the refused POST /v1/token (401) and the bad bearer (401)" \
    test "$(grep -Ec '"route":"/v1/token","status":401' "$MGR_LOG") $(grep -Ec '"method":"GET","route":"/v1/pools","status":401' "$MGR_LOG")" = "1 1"
check "the access log names the route template of a path that held a secret" \
    grep -Eq '"route":"/v1/join-tokens/\{id\}","status":404' "$MGR_LOG"
check "every API request made has its access line ($(grep -c '"msg":"http request"' "$MGR_LOG"))" \
    test "$(grep -c '"msg":"http request"' "$MGR_LOG")" -ge 12

# ======================================================================= secrets

# Logs go to stderr (*.err); the manager's stdout shows the bootstrap admin token once, by
# design, and the tunnel clients' *.out are their event lines.
LEAKS=$(cat "$E2E_TMP"/*.err 2>/dev/null | grep -Eo 'sn[jra]_[A-Za-z0-9_-]{4}|eyJ[A-Za-z0-9_-]{8}' | sort -u | head -n 5)
check "no log line holds something shaped like a token (${LEAKS:-none})" test -z "$LEAKS"
FOUND=0
for s in "${SECRETS[@]}"; do
	[ -n "$s" ] && grep -rqF -- "$s" "$E2E_TMP"/*.err && FOUND=$((FOUND + 1))
done
check "none of the ${#SECRETS[@]} secrets used (admin, join, access, refresh, ack) is in a log" \
    test $FOUND = 0

# ======================================================================= text lines

mgr_start "$E2E_TMP/text" --log-level info || e2e_bail "a manager with text logs starts"
agent_start "$E2E_TMP/agent2" --agent-id 7 || e2e_bail "an agent with text logs starts"
wait_line "$E2E_TMP/text.err" 'agent 7 connected' 10
mgr_stop
agent_stop
check "text: every manager line is TS LEVEL snaptun-manager: MSG" \
    test "$(grep -Evc '^[0-9T:.-]+Z (error|warn |info |debug) snaptun-manager: ' "$E2E_TMP/text.err")" = 0
check "text: every agent line is TS LEVEL snaptun-agent agent=7: MSG" \
    test "$(grep -Evc '^[0-9T:.-]+Z (error|warn |info |debug) snaptun-agent agent=7: ' "$E2E_TMP/agent2.err")" = 0
check "text: no access log without --access-log" \
    test "$(grep -c 'http request' "$E2E_TMP/text.err")" = 0

MANAGER_RC=0
"$MANAGER" --log-format yaml --help >/dev/null 2>"$E2E_TMP/bad.err" || MANAGER_RC=$?
check "--log-format yaml is refused, naming the flag" \
    grep -q -- '--log-format "yaml": expected text or json' "$E2E_TMP/bad.err"
no_sanitizer_reports
e2e_finish
