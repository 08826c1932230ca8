#!/usr/bin/env bash
# End-to-end test of handshakes under pressure (agent/README.md, "Handshakes under pressure";
# issue 9): tests/tools/hsflood sends 600 QUIC Initials from ports that vanish at once, as spoofed
# sources would, well below --retry-rate. The agent sends Retry once half-open handshakes fill
# half of --max-handshakes instead of refusing: a real client still connects (through Retry),
# and the agent's RSS grows by at most that many half-open handshakes. The growth is printed.
# Run from the repository root: BUILD=build bash tests/e2e/handshake_flood_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash
T_START=$(date +%s)
HSFLOOD=${HSFLOOD:-$BUILD/tools/hsflood}
MAXHS=200
HALFOPEN_KIB=128	# agent/README.md: what one half-open handshake costs at most

[ -x "$HSFLOOD" ] || e2e_bail "$HSFLOOD is not built (make all)"
tunnel_env --max-handshakes "$MAXHS" --retry-rate 1000000 --handshake-timeout-ms 10000
enroll alice || e2e_bail "alice enrolls ($REQ -> $STATUS: $BODY)"

rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$AGENT_PID/status"
}

RSS0=$(rss_kib)
SENT=$("$HSFLOOD" --count 600 "$AGENT_ADDR")
sleep 0.5
RSS1=$(rss_kib)
diag "hsflood: $SENT; the agent's RSS $RSS0 KiB -> $RSS1 KiB ($((RSS1 - RSS0)) KiB;" \
    "$(((RSS1 - RSS0) * 2 / MAXHS)) KiB each if the $((MAXHS / 2)) half-open handshakes allowed are kept)"
check "hsflood sent 600 Initials ($SENT)" test "$SENT" = "sent 600"

client_start A --token "$ACCESS" --handshake
want_event A '^ready$'
want_event A '^assigned 10\.77\.0\.[0-9]+ '
verdict "during the flood a real client connects through Retry and gets its address (not refused)"

BOUND=$((MAXHS * HALFOPEN_KIB / 2 + 4096))
if ldd "$BUILD/snaptun-agent" | grep -q libasan; then
	skip "the flood's RSS growth within $BOUND KiB" \
	    "the agent is built with AddressSanitizer, whose redzones and quarantine count in the RSS"
else
	check "the flood grew the agent's RSS by $((RSS1 - RSS0)) KiB: at most $BOUND KiB" \
	    test $((RSS1 - RSS0)) -le "$BOUND"
fi
grep -q "refus" "$E2E_TMP/agent.err" && diag "agent log: $(grep -c refus "$E2E_TMP/agent.err") refusals"

no_sanitizer_reports
echo "# runtime $(($(date +%s) - T_START)) s"
e2e_finish
