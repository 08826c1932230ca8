#!/usr/bin/env bash
# The agent's benchmarks (issue 4), each beside a reference measured in the same run: a manager
# and an agent on a temporary state dir and loopback, an outside issuer key imported, a /16 ip
# pool; then build/bench/bench_tunnels (tests/bench/bench_tunnels.c):
#   1. rate:   new tunnels/s (handshake + token check + grant), many in flight, vs bare QUIC
#              handshakes/s against an agent/quic.h server; target >= 2000/s on one agent core;
#   2. rtt:    datagram round trips/s A -> agent -> B echo -> agent -> A vs the same through a
#              bare agent/quic.h relay; target >= 90%;
#   3. revoke: revocation latency, POST /v1/revocations -> the client sees close code 3;
#              p50/p99, target p99 <= 50 ms;
#   0. idle:   (first, on the fresh agent) RSS growth per idle tunnel at 1,000 and 10,000
#              tunnels held open vs bare QUIC connections held open on the agent/quic.h server;
#              target <= 32 KiB per tunnel at 10,000;
# and tests/bench/bench_datagram (the QUIC engineer's bare datagram stream) when it is built.
# The agent (and the reference server) run on CPU 0, the clients on CPU 1 (taskset), when the
# machine has 2 cores or more. A missed target is printed, not fatal: the status is non-zero
# only when something cannot be set up or crashes. BENCH_QUICK=1 scales it down.
# BENCH_AGENT_MODES="idle rate" runs only those parts (default: all of idle rate rtt revoke).
# Run from the repository root: BUILD=build bash tests/bench/bench_agent.sh
set -u
BENCH=agent
. "$(dirname "$0")/lib.bash"
if [ -n "$QUICK" ]; then
	TOTAL=1000 SECS=2 COUNT=50 SIZES=1000,3000
else
	TOTAL=3000 SECS=5 COUNT=200 SIZES=1000,10000
fi
CONC=64 WINDOW=32
MODES=" ${BENCH_AGENT_MODES:-idle rate rtt revoke} "

fail() {
	echo "bench_agent: $*" >&2
	[ -f "$tmp/agent.err" ] && tail -n 20 "$tmp/agent.err" >&2
	exit 1
}

for f in snaptun-manager snaptun-agent tools/mktoken bench/bench_tunnels; do
	if [ ! -x "$BUILD/$f" ]; then
		echo "bench_agent: SKIPPED: $BUILD/$f is not built (the agent is not on this branch yet?)"
		exit 0
	fi
done
for c in curl certtool; do
	command -v $c >/dev/null 2>&1 || fail "$c is not installed (make deps)"
done
PIN_AGENT=() PIN_CLIENT=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
	PIN_AGENT=(taskset -c 0) PIN_CLIENT=(taskset -c 1)
	export BENCH_REF_CPU=0
fi

# ---- set up: manager, pool, issuer key, agent ----
bench_mgr_start "$tmp/mgr" "$tmp/mgr.log" || fail "the manager did not start"
bench_issuer_pool "$URL" "$ADMIN" || fail "the pool and the issuer key"

# Room for 10,000 idle tunnels; a tunnel handshake limit that a loaded 2-core machine (the
# manager's grants) does not run out of while thousands are set up.
BENCH_AGENT_WRAP=(${PIN_AGENT[@]+"${PIN_AGENT[@]}"})
bench_agent_start "$tmp/agent" "$tmp/mgr/agent.sock" "$tmp/agent.err" --max-conns 20000 \
	--handshake-timeout-ms 10000 || fail "the agent did not start"
# The agent is usable once the manager lists it as connected.
bench_agent_wait "$URL" "$ADMIN"

B=("${PIN_CLIENT[@]}" "$BUILD/bench/bench_tunnels")
ARGS=(--server "$AGENT_ADDR" --pin "$PIN" --key "$tmp/issuer.pem")
run() {
	timeout 300 "$@" || fail "$* failed (status $?)"
	kill -0 "$agent_pid" 2>/dev/null || fail "the agent died"
}

if [[ $MODES == *" idle "* ]]; then
	echo "== memory per idle tunnel (agent RSS growth / tunnels held open)"
	run "${B[@]}" idle "${ARGS[@]}" --sizes "$SIZES" --conc "$CONC" --agent-pid "$agent_pid"
	echo
fi
if [[ $MODES == *" rate "* ]]; then
	echo "== new tunnels per second (agent on one core; clients on the other)"
	run "${B[@]}" rate "${ARGS[@]}" --total "$TOTAL" --conc "$CONC" --agent-pid "$agent_pid"
	echo
fi
if [[ $MODES == *" rtt "* ]]; then
	echo "== datagram round trips per second through the agent"
	run "${B[@]}" rtt "${ARGS[@]}" --seconds "$SECS" --window "$WINDOW"
	if [ -x "$BUILD/bench/bench_datagram" ]; then
		echo "(for comparison, the bare datagram stream of tests/bench/bench_datagram.c:)"
		timeout 300 "$BUILD/bench/bench_datagram" || echo "bench_datagram failed (status $?)"
	fi
	echo
fi
if [[ $MODES == *" revoke "* ]]; then
	echo "== revocation latency"
	run "${B[@]}" revoke "${ARGS[@]}" --url "$URL" --admin-token "$ADMIN" --count "$COUNT"
fi
[ -n "$QUICK" ] && echo "(BENCH_QUICK: smaller runs; the numbers are rougher)"
exit 0
