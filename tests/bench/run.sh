#!/bin/sh
# The benchmarks, each beside a reference measured in the same run (`make bench`):
#   1. bench_alloc: allocator throughput vs raw SQLite INSERTs (see tests/bench/bench_alloc.c);
#      then bench_jwt (token verification vs the bare Ed25519 check), bench_scion (the scion
#      mode's uplink check vs the ip mode's) and bench_datagram (QUIC datagram round trips);
#   2. HTTP: GET /v1/health?live (liveness) of the real snaptun-manager vs ref_mhd_health, a minimal
#      libmicrohttpd server driven the same way, with wrk, alternating ref/manager.
#   3. bench_enroll.sh: durable enrollments/s vs raw SQLite transactions; bench_store.sh:
#      allocations/s and enrollments/s on PostgreSQL (one manager and two) beside SQLite;
#   4. bench_agent.sh: tunnels/s, datagram round trips/s and revocation latency of the agent;
#      bench_revoke_multi.sh: revocation latency across two managers on PostgreSQL (API call on
#      A -> close on an agent of B) beside the same-manager one;
#   5. bench_tunnel.sh: TCP throughput between two network namespaces through snaptun vs
#      wireguard-go, openvpn and the bare veth (needs root: namespaces and TUN devices);
#   6. bench_client.sh: 1200-byte packets/s snaptun-client -> agent -> snaptun-client (relay
#      mode) vs raw UDP over loopback, and the same with SCION packets in scion mode beside the
#      ip mode's figure.
# A missed target is printed, not fatal: the status is non-zero only when something crashes or
# cannot be set up. BENCH_QUICK=1 scales everything down. Loopback only (5.: two network
# namespaces it creates); everything started here is stopped on exit.
set -u
BUILD=${BUILD:-build}
QUICK=${BENCH_QUICK:-}
[ "$QUICK" = 0 ] && QUICK=
if [ -n "$QUICK" ]; then
	ROUNDS=2 DURATION=3
else
	ROUNDS=3 DURATION=10
fi
THREADS=2 CONNS=50 TARGET_PCT=90

tmp=$(mktemp -d "${TMPDIR:-/tmp}/snaptun-bench.XXXXXX") || exit 1
mgr_pid= ref_pid= alloc_pid=

stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || return 0
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 20 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
cleanup() {
	stop_pid "$alloc_pid"
	stop_pid "$mgr_pid"
	stop_pid "$ref_pid"
	alloc_pid= mgr_pid= ref_pid=
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

fail() {
	echo "bench: $*" >&2
	exit 1
}

for f in "$BUILD/bench/bench_alloc" "$BUILD/bench/ref_mhd_health" "$BUILD/snaptun-manager"; do
	[ -x "$f" ] || fail "$f is missing (make bench builds it)"
done
command -v wrk >/dev/null 2>&1 || fail "wrk is not installed (make deps)"

# ---- 1. the allocator ----
echo "== bench_alloc"
mkdir -p "$tmp/alloc"
# In the background, so that a signal to this script is handled at once (wait is interruptible).
timeout 900 "$BUILD/bench/bench_alloc" "$tmp/alloc" &
alloc_pid=$!
wait $alloc_pid
rc=$?
alloc_pid=
[ $rc -eq 0 ] || fail "bench_alloc failed (status $rc)"
rm -rf "$tmp/alloc"
echo; timeout 300 "$BUILD/bench/bench_jwt" || fail "bench_jwt failed (status $?)"
# scion mode's uplink check beside ip mode's (ippkt_parse + the source compare), same packets' size
echo; timeout 120 "$BUILD/bench/bench_scion" || fail "bench_scion failed (status $?)"
# DATAGRAM round trips through agent/quic.h (the reference for the agent's data plane)
echo; timeout 120 "$BUILD/bench/bench_datagram" "${QUICK:+1}" ||
	fail "bench_datagram failed (status $?)"

# ---- 2. HTTP ----
echo
echo "== HTTP GET /v1/health: snaptun-manager vs ref_mhd_health"

# Wait until file $1 is non-empty while process $2 lives; its first line is the URL.
wait_url() {
	i=0
	while [ $i -lt 100 ]; do
		kill -0 "$2" 2>/dev/null || return 1
		if [ -s "$1" ]; then
			head -n 1 "$1"
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

mkdir -p -m 700 "$tmp/mgr"
"$BUILD/snaptun-manager" --state-dir "$tmp/mgr" --listen 127.0.0.1:0 --log-level error \
	>"$tmp/mgr.log" 2>&1 &
mgr_pid=$!
mgr_url=$(wait_url "$tmp/mgr/manager.url" "$mgr_pid") ||
	{ cat "$tmp/mgr.log" >&2; fail "snaptun-manager did not start"; }
"$BUILD/bench/ref_mhd_health" 0 >"$tmp/ref.url" 2>"$tmp/ref.log" &
ref_pid=$!
ref_url=$(wait_url "$tmp/ref.url" "$ref_pid") ||
	{ cat "$tmp/ref.log" >&2; fail "ref_mhd_health did not start"; }
case "$mgr_url$ref_url" in
http://127.0.0.1:*http://127.0.0.1:*) ;;
*) fail "unexpected URLs: manager $mgr_url, reference $ref_url" ;;
esac

# Both must answer 200 before their numbers mean anything.
if command -v curl >/dev/null 2>&1; then
	for u in "$mgr_url" "$ref_url"; do
		code=$(curl -s -o "$tmp/body" -w '%{http_code}' --max-time 5 "$u/v1/health?live")
		[ "$code" = 200 ] || fail "$u/v1/health?live answered ${code:-nothing}"
	done
	printf 'manager:   %s/v1/health?live -> %s\n' "$mgr_url" "$(cat "$tmp/body" 2>/dev/null)"
	curl -s --max-time 5 -o "$tmp/body" "$ref_url/v1/health?live"
	printf 'reference: %s/v1/health?live -> %s\n' "$ref_url" "$(cat "$tmp/body")"
fi

# run_wrk NAME URL PID DURATION: prints requests/s; the full output goes to $tmp/NAME.wrk.
run_wrk() {
	timeout $(($4 + 30)) wrk -t$THREADS -c$CONNS -d"$4"s --latency "$2/v1/health?live" \
		>"$tmp/$1.wrk" 2>&1 || { cat "$tmp/$1.wrk" >&2; fail "wrk against $1 failed"; }
	kill -0 "$3" 2>/dev/null || fail "the $1 server died under load"
	if grep -q 'Non-2xx' "$tmp/$1.wrk"; then
		cat "$tmp/$1.wrk" >&2
		fail "$1 answered errors under load"
	fi
	awk '/^Requests\/sec:/ { print $2; found = 1 } END { if (!found) exit 1 }' "$tmp/$1.wrk" ||
		{ cat "$tmp/$1.wrk" >&2; fail "no Requests/sec in the wrk output for $1"; }
}

# Latency percentiles (and socket errors, if any) of the last run of $1, for the table.
wrk_detail() {
	awk '/^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
	     /Socket errors/ { err = $0; sub(/^ +/, "", err) }
	     END { printf "%s / %s%s", p50, p99, (err != "" ? " (" err ")" : "") }' "$tmp/$1.wrk"
}

echo "wrk -t$THREADS -c$CONNS -d${DURATION}s, $ROUNDS rounds alternating reference/manager" \
	"(after a 1s warm-up of each); 2 cores shared by wrk and the server"
run_wrk ref "$ref_url" "$ref_pid" 1 >/dev/null
run_wrk manager "$mgr_url" "$mgr_pid" 1 >/dev/null
pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * b / a }'
}
row() {
	printf '%-7s %14s %12s %6s   %-22s %s\n' "$@"
}
row round "reference r/s" "manager r/s" ratio "reference p50 / p99" "manager p50 / p99"
ref_all= mgr_all=
r=1
while [ $r -le $ROUNDS ]; do
	a=$(run_wrk ref "$ref_url" "$ref_pid" "$DURATION") || exit 1
	ad=$(wrk_detail ref)
	b=$(run_wrk manager "$mgr_url" "$mgr_pid" "$DURATION") || exit 1
	bd=$(wrk_detail manager)
	row "$r" "$(printf %.0f "$a")" "$(printf %.0f "$b")" "$(pct "$a" "$b")" "$ad" "$bd"
	ref_all="$ref_all $a"
	mgr_all="$mgr_all $b"
	r=$((r + 1))
done

# median and best of a list of numbers
stats() {
	echo "$1" | tr ' ' '\n' | grep . | sort -g |
		awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
		      printf "%.0f %.0f\n", m, v[NR] }'
}
set -- $(stats "$ref_all") $(stats "$mgr_all")
ref_med=$1 ref_best=$2 mgr_med=$3 mgr_best=$4
row median "$ref_med" "$mgr_med" "$(pct "$ref_med" "$mgr_med")"
row best "$ref_best" "$mgr_best" "$(pct "$ref_best" "$mgr_best")"
awk -v rm="$ref_med" -v mm="$mgr_med" -v t="$TARGET_PCT" 'BEGIN { pm = 100 * mm / rm;
	printf "target: manager >= %d%% of the reference (medians): %.0f%%   %s\n", t, pm,
	    (pm >= t ? "met" : "MISSED") }'
[ -n "$QUICK" ] && echo "(BENCH_QUICK: ${DURATION}s runs; the numbers are rougher)"
cleanup; echo; BUILD=$BUILD bash tests/bench/bench_enroll.sh || fail "bench_enroll failed (status $?)"
echo; BUILD=$BUILD bash tests/bench/bench_store.sh || fail "bench_store failed (status $?)"
echo; BUILD=$BUILD bash tests/bench/bench_agent.sh || fail "bench_agent failed (status $?)"
echo; BUILD=$BUILD bash tests/bench/bench_revoke_multi.sh ||
	fail "bench_revoke_multi failed (status $?)"
echo; BUILD=$BUILD bash tests/bench/bench_tunnel.sh || fail "bench_tunnel failed (status $?)"
echo; BUILD=$BUILD bash tests/bench/bench_client.sh || fail "bench_client failed (status $?)"
exit 0
