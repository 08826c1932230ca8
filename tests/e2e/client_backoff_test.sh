#!/usr/bin/env bash
# snaptun-client's reconnect backoff (relay mode, a real manager and agent on loopback): a
# tunnel that drops soon after it came up does not start the backoff over, so a flapping
# tunnel (an agent that keeps failing, two clients fighting over one identity) backs off
# instead of reconnecting twice a second; a tunnel that stayed up 30 s does start over.
# Takes about 45 s (the 30 s of stability). Run from the repository root:
#   BUILD=build bash tests/e2e/client_backoff_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash
[ -x "$CLIENT" ] || e2e_bail "$CLIENT is not built (make all)"

AGENT_LISTEN=127.0.0.1:0
tunnel_env
AGENT_LISTEN=$AGENT_ADDR # a restart listens where the bundle says
check "snaptun-client join writes the bundle" cl_join alice

# reconnected N: the client is up again after at least N reconnects.
reconnected() {
	cl_is_up A && [ "$(jget .reconnects "$ST")" -ge "$1" ]
}

# drop: restart the agent (it closes the tunnel on SIGTERM), wait for the client to be up
# again; DELAY is the wait the client chose right after the drop (its first "reconnecting ...
# in D s" line since).
DROPS=0 DELAY=
drop() {
	local from
	from=$(wc -l <"$E2E_TMP/A.err")
	agent_stop TERM
	AGENT_LISTEN=$AGENT_ADDR agent_start "$E2E_TMP/agent" || e2e_bail "the agent restarts"
	DROPS=$((DROPS + 1))
	wait_for 60 reconnected "$DROPS" || e2e_bail "the client is not up again: $ST $(tail -n 5 "$E2E_TMP/A.err")"
	DROPS=$(jget .reconnects "$ST")
	DELAY=$(tail -n +"$((from + 1))" "$E2E_TMP/A.err" |
	    sed -n 's/.*reconnecting to .* in \([0-9.]*\) s$/\1/p' | head -n 1)
}

cl_up A --bundle "$E2E_TMP/alice.bundle"
require "the client is up: $ST" wait_for 10 cl_is_up A

drop
FIRST=$DELAY
drop
drop
that "no reconnect delay logged after the third drop: $(tail -n 20 "$E2E_TMP/A.err")" test -n "$DELAY"
that "after three drops in a row, each soon after the tunnel came up, the client waited only $DELAY s (the first drop: $FIRST s); the backoff started over at each connect" \
    awk -v d="${DELAY:-0}" 'BEGIN { exit !(d >= 1.0) }'
verdict "a tunnel that keeps dropping soon after it came up backs off (waits $FIRST s, then $DELAY s at the third drop)"

sleep 31
drop
that "after 31 s up, the drop was followed by a wait of $DELAY s, not the first step (<= 0.5 s)" \
    awk -v d="${DELAY:-9}" 'BEGIN { exit !(d <= 0.5) }'
verdict "a tunnel that stayed up 30 s starts the backoff over (waited $DELAY s)"

"$CLIENT" down --control "$E2E_TMP/A.sock" >/dev/null 2>&1
check "the client stops on down" wait_for 5 cl_exited A
no_sanitizer_reports
e2e_finish
