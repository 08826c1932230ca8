#!/usr/bin/env bash
# Traffic through real TUN devices survives the events of a gateway's life (issue 10 "Tests"),
# in the setup of tests/e2e/traffic.bash (client in namespace A, manager and gateway agent in B):
#   - the agent restarts (SIGTERM, then started again on the same address): the client
#     reconnects and gets the same address back, and a paced TCP transfer started before the
#     restart resumes (TCP retransmits over the gap) and completes with the right SHA-256;
#   - the agent crashes (SIGKILL) and comes back: the client notices (the agent's stateless reset
#     or the idle timeout), reconnects to the same address, and ping works again;
#   - the manager is down: the tunnel needs it only to enroll, refresh tokens and allocate new
#     addresses, so ping and a checksummed TCP transfer keep working while it is stopped, and the
#     agent reconnects to it once it is back.
# Needs root (namespaces, TUN). Run from the repository root:
#   BUILD=build bash tests/e2e/traffic_resilience_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash
. tests/e2e/netns.bash
. tests/e2e/traffic.bash

traffic_env "traffic across agent restarts and a manager outage"
traffic_join a4 A
traffic_up a4 A snaptun0
ADDR0=$ADDR
ping_check "client a4 in A is up at $ADDR0 and reaches $SVC4 behind the gateway" A "$SVC4"

# reconnected N: the client is up again after at least N reconnects.
reconnected() {
	traffic_is_up a4 && [ "$(jget .reconnects "$ST")" -ge "$1" ]
}

# ======================================================================= agent restart, TCP flow

# 6 MB at 1 MB/s: the restart falls in the middle of the transfer.
xfer_serve B "$SVC4"
netns_bg A timeout 90 "$TCPXFER" send "$SVC4" "$XFER_PORT" 6000000 7 1000000 \
    >"$E2E_TMP/xfer.snd" 2>&1
SND=$NETNS_BG_PID
sleep 1.5
agent_stop TERM
that "the agent did not exit 0 on SIGTERM (status $AGENT_RC)" test "$AGENT_RC" = 0
that "the sender finished before the restart; the transfer is too short to span it" kill -0 "$SND"
AGENT_LISTEN=$AGENT_ADDR agent_start "$E2E_TMP/agent" --tun "$GWDEV" ||
    e2e_bail "the agent restarts on $AGENT_ADDR"
that "the client did not reconnect within 20 s: $ST" wait_for 20 reconnected 1
that "the client came back with $(jget .address "$ST"), not $ADDR0" test "$(jget .address "$ST")" = "$ADDR0"
verdict "agent restarted (SIGTERM): the client reconnects and gets its address $ADDR0 back"

sender_done() {
	! kill -0 "$SND" 2>/dev/null
}
that "the transfer did not end within 60 s of the restart" wait_for 60 sender_done
netns_stop "$SND" 1
that "tcpxfer send failed (status ${NETNS_RC:-none}): $(cat "$E2E_TMP/xfer.snd")" test "${NETNS_RC:-1}" = 0
that "the SHA-256 differ: sender $(cat "$E2E_TMP/xfer.snd"), server $(cat "$E2E_TMP/xfer.srv")" xfer_check
verdict "a TCP transfer started before the restart resumes and completes with the right SHA-256"

# ======================================================================= agent crash

agent_stop KILL
AGENT_LISTEN=$AGENT_ADDR agent_start "$E2E_TMP/agent" --tun "$GWDEV" ||
    e2e_bail "the agent restarts on $AGENT_ADDR after SIGKILL"
# A crashed agent closed nothing: the client learns of it when its next packet meets the new
# agent (a stateless reset from the same reset secret); ping sends those packets.
in_ns A ping -c 3 -i 0.3 -W 1 "$SVC4" >/dev/null 2>&1
that "the client did not reconnect within 40 s of the crash: $ST" wait_for 40 reconnected 2
that "the client came back with $(jget .address "$ST"), not $ADDR0" test "$(jget .address "$ST")" = "$ADDR0"
verdict "agent killed (SIGKILL) and started again: the client reconnects to the same address $ADDR0"
ping_check "ping through the tunnel works again after the crash" A "$SVC4"

# ======================================================================= manager down

mgr_stop TERM
check "the manager is stopped (status $MGR_RC)" test "$MGR_RC" = 0
ping_check "manager down: ping from A to $GW4 still works" A "$GW4"
ping_check "manager down: ping from B's network ($SVC4) to the client still works" B "$ADDR0" -I "$SVC4"
xfer_serve B "$SVC4"
in_ns A timeout 60 "$TCPXFER" send "$SVC4" "$XFER_PORT" 4000000 8 >"$E2E_TMP/xfer.snd" 2>&1
that "tcpxfer send failed: $(cat "$E2E_TMP/xfer.snd")" test $? = 0
that "the SHA-256 differ: sender $(cat "$E2E_TMP/xfer.snd"), server $(cat "$E2E_TMP/xfer.srv")" xfer_check
that "the client is not up while the manager is down: $ST" traffic_is_up a4
verdict "manager down: 4 MB over TCP through the tunnel arrive intact, the client stays up"

mgr_start "$E2E_TMP/mgr" || e2e_bail "the manager starts again"
check "the manager is back and the agent reconnects to it" wait_for 20 agent_connected
ping_check "ping still works once the manager is back" A "$SVC4"

netns_stop "${UP_PID[a4]}" 5
check "the client exits 0 on SIGTERM (status ${NETNS_RC:-none})" test "${NETNS_RC:-1}" = 0
no_sanitizer_reports
e2e_finish
