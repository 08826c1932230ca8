#!/usr/bin/env bash
# End-to-end test of restarts under live tunnels (issue 4): the manager stops while two tunnels
# run — datagrams keep flowing, renewals are checked against the cached keys, a new assignment
# is refused (503, then close code 1) — and comes back: the agent reconnects, reconciles, and
# GET /v1/sessions shows the tunnels again. Then the agent restarts on the same port: its
# clients see code 0, reconnect with the same tokens and get the same addresses; the pin is
# unchanged (the certificate is kept in the state dir).
# Run from the repository root: BUILD=build bash tests/e2e/tunnel_restart_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash
T_START=$(date +%s)

tunnel_env
issuer_new "$E2E_TMP/issuer.pem" snap || e2e_bail "the outside issuer key is imported"
tok() {
	"$MKTOKEN" --key "$E2E_TMP/issuer.pem" --pssid "${2:-$(uuid)}" --exp "${1:-+600}" --only-pssid-exp
}

enroll alice || e2e_bail "alice enrolls"
PA=$PSSID TA=$ACCESS
PB=$(uuid)
TB=$(tok +600 "$PB")
client_start A --token "$TA" --handshake
client_start B --token "$TB" --handshake
want_event A '^assigned '
ADDR_A=$(awk '{ print $2 }' <<<"$CL_LINE")
want_event B '^assigned '
ADDR_B=$(awk '{ print $2 }' <<<"$CL_LINE")
verdict "two tunnels are up ($ADDR_A, $ADDR_B)"

# ======================================================================= manager restart

mgr_stop
that "the manager exited with $MGR_RC" test "$MGR_RC" = 0
client_cmd A "send $ADDR_B 2 100"
want_event B "^datagram $ADDR_A $ADDR_B 128\$" 3
client_cmd B "send $ADDR_A 1 100"
want_event A "^datagram $ADDR_B $ADDR_A 128\$" 3
verdict "with the manager stopped, datagrams keep flowing both ways"

TB2=$("$MKTOKEN" --key "$E2E_TMP/issuer.pem" --pssid "$PB" --exp +900 --only-pssid-exp)
client_cmd B "renew $TB2"
want_event B '^response renew 200 '
verdict "with the manager stopped, a renewal is checked against the cached keys (200)"

client_start C --token "$(tok)" --handshake
want_event C '^response renew 200 '
want_event C '^response assign 503 '
want_event C '^closed peer=1 app=1 code=1 '
verdict "with the manager stopped, a new assignment is refused: 503, then close code 1"

mgr_start "$E2E_TMP/mgr" || e2e_bail "the manager restarts"
wait_for 15 agent_connected
verdict "the manager restarts and the agent reconnects within 15 s"
sessions_listed() {
	api GET /v1/sessions
	grep -qF "$PA" <<<"$BODY" && grep -qF "$PB" <<<"$BODY"
}
wait_for 5 sessions_listed
verdict "after the reconcile, GET /v1/sessions lists both live tunnels again"
api GET /v1/grants
that "alice's grant $ADDR_A is not live: ${BODY:0:400}" grep -qF "\"$ADDR_A\"" <<<"$BODY"
client_cmd A "send $ADDR_B 1 77"
want_event B "^datagram $ADDR_A $ADDR_B 105\$" 3
verdict "the tunnels still forward after the reconcile"
client_start D --token "$(tok)" --handshake
want_event D '^assigned '
verdict "new tunnels are granted again"

# ======================================================================= agent restart

PIN0=$AGENT_PIN
agent_stop
for c in A B D; do
	want_event "$c" '^closed peer=1 app=1 code=0 ' 5
done
verdict "the agent stops: its clients see close code 0"
AGENT_LISTEN=$AGENT_ADDR agent_start "$E2E_TMP/agent" || e2e_bail "the agent restarts on $AGENT_ADDR"
that "the agent's pin changed over the restart ($PIN0 -> $AGENT_PIN)" test "$PIN0" = "$AGENT_PIN"
wait_for 10 agent_connected
verdict "the agent restarts on the same address with the same pin and reconnects"
client_cmd A reconnect handshake
client_cmd B reconnect handshake
want_event A "^assigned $ADDR_A " 5
want_event B "^assigned $ADDR_B " 5
verdict "both clients reconnect with their tokens and get the same addresses"
client_cmd A "send $ADDR_B 1 90"
want_event B "^datagram $ADDR_A $ADDR_B 118\$" 3
verdict "and forward again"

for c in A B C D; do
	client_stop "$c"
done
agent_stop
mgr_stop
no_sanitizer_reports
echo "# runtime $(($(date +%s) - T_START)) s"
e2e_finish
