#!/usr/bin/env bash
# The endhost's data plane (issue 10): 1200-byte packets per second client -> agent -> client,
# beside raw UDP over loopback measured in the same run; target >= 60% of the reference. And
# scion mode's (issue 12): the same with SCION packets between two clients of a scion pool
# (the agent has a SCION underlay; packets between two of its tunnels in the local ISD-AS go
# from one to the other at once, through the uplink checks), beside the ip mode's figure of the
# same rounds; target >= 90% of it.
# A manager, an agent, an outside issuer key (manager-less clients: --token-file), and two
# snaptun-client processes in relay mode, A and B; build/bench/bench_pps (tests/bench/
# bench_pps.c) sends IPv4/UDP packets from A's tunnel address to B's into relay A and counts
# what comes out of relay B (the agent is the hub between them). The reference is the same
# tool between two loopback UDP sockets (sendmmsg, recvmmsg), same packets, window and
# duration. Rounds alternate reference and snaptun; the target is judged on the medians.
# Beside each snaptun round: the share of a core each process used (/proc/PID/stat, getrusage);
# at the end, where packets were lost: the kernel's drops on each UDP socket of the agent and
# the clients (/proc/net/udp), the agent's session counters (GET /v1/sessions) and the
# clients' (status --json). BENCH_PPS_WINDOW sets the packets in flight (default 64: more
# overflows relay A's socket and the agent's send toward B on this path). Nothing is pinned:
# the three processes of the path and the tool share the machine's cores. A missed target is
# printed, not fatal; the status is non-zero only when something cannot be set up or crashes.
# BENCH_QUICK=1 scales it down.
# Run from the repository root: BUILD=build bash tests/bench/bench_client.sh
set -u
BENCH=client
. "$(dirname "$0")/lib.bash"
if [ -n "$QUICK" ]; then
	ROUNDS=1 SECS=2
else
	ROUNDS=3 SECS=5
fi
WINDOW=${BENCH_PPS_WINDOW:-64} TARGET_PCT=60

fail() {
	echo "bench_client: $*" >&2
	local f
	for f in "$tmp"/*.err; do
		[ -s "$f" ] && { echo "-- $f" >&2; tail -n 10 "$f" >&2; }
	done
	exit 1
}

for f in snaptun-manager snaptun-agent snaptun-client tools/mktoken bench/bench_pps; do
	if [ ! -x "$BUILD/$f" ]; then
		echo "bench_client: SKIPPED: $BUILD/$f is not built"
		exit 0
	fi
done
for c in curl certtool; do
	command -v $c >/dev/null 2>&1 || fail "$c is not installed (make deps)"
done

# ---- set up: manager, pool, issuer key, agent ----
bench_mgr_start "$tmp/mgr" "$tmp/mgr.err" || fail "the manager did not start"
H=(-H "Authorization: Bearer $ADMIN" -H "Content-Type: application/json")
code=$(curl -s --max-time 10 -o "$tmp/body" -w '%{http_code}' "${H[@]}" \
	-d '{"name":"bench","isd_as":"1-ff00:0:110","prefix":"10.129.0.0/24","mode":"ip"}' \
	"$URL/v1/pools")
[ "$code" = 201 ] || fail "POST /v1/pools answered $code: $(cat "$tmp/body")"
code=$(curl -s --max-time 10 -o "$tmp/body" -w '%{http_code}' "${H[@]}" \
	-d '{"name":"bench-scion","isd_as":"1-ff00:0:110","prefix":"10.130.0.0/24","mode":"scion"}' \
	"$URL/v1/pools")
[ "$code" = 201 ] || fail "POST /v1/pools (scion) answered $code: $(cat "$tmp/body")"
PEM=$("$BUILD/tools/mktoken" --new-key "$tmp/issuer.pem" | awk '{ printf "%s\\n", $0 }')
code=$(curl -s --max-time 10 -o "$tmp/body" -w '%{http_code}' "${H[@]}" \
	-d "{\"kid\":\"bench-issuer\",\"alg\":\"EdDSA\",\"public_key_pem\":\"$PEM\"}" "$URL/v1/keys")
[ "$code" = 201 ] || fail "POST /v1/keys answered $code: $(cat "$tmp/body")"

mkdir -p -m 700 "$tmp/agent"
# a SCION underlay whose border router is never sent to: the scion clients' packets stay in the
# local ISD-AS, between two tunnels of this agent
"$BUILD/snaptun-agent" --state-dir "$tmp/agent" --listen 127.0.0.1:0 \
	--manager-socket "$tmp/mgr/agent.sock" --scion-router 127.0.0.1:9 --scion-port 0 \
	--log-level error >"$tmp/agent.out" 2>"$tmp/agent.err" &
agent_pid=$!
BENCH_PIDS+=("$agent_pid")
for _ in $(seq 100); do
	[ -s "$tmp/agent/agent.addr" ] && break
	kill -0 "$agent_pid" 2>/dev/null || break
	sleep 0.1
done
[ -s "$tmp/agent/agent.addr" ] || fail "the agent did not start"
AGENT_ADDR=$(head -n 1 "$tmp/agent/agent.addr")
cert=
for f in "$tmp"/agent/*.crt "$tmp"/agent/*cert*.pem; do
	[ -f "$f" ] && { cert=$f; break; }
done
[ -n "$cert" ] || fail "no certificate in the agent's state dir: $(ls "$tmp/agent")"
PIN=$(certtool -i --infile "$cert" | sed -n 's/^[[:space:]]*pin-sha256:\(.*\)$/\1/p' | head -n 1)
[ -n "$PIN" ] || fail "no pin from $cert"
for _ in $(seq 100); do
	curl -s --max-time 5 "${H[@]}" "$URL/v1/agents" | grep -q '"connected":true' && break
	sleep 0.1
done

# ---- two clients in relay mode ----
declare -A CPID=()
# client NAME [ARG...]: a token for a new pssid in $tmp/NAME.token and `snaptun-client up` with
# it (and ARGs).
client() {
	local name=$1
	shift
	"$BUILD/tools/mktoken" --key "$tmp/issuer.pem" --kid bench-issuer --pssid random \
		--exp +3600 --only-pssid-exp >"$tmp/$name.token" || fail "mktoken failed"
	"$BUILD/snaptun-client" up --server "$AGENT_ADDR" --pin "$PIN" --token-file "$tmp/$name.token" \
		--relay 127.0.0.1:0 --control "$tmp/$name.sock" --log-level error "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" &
	CPID[$name]=$!
	BENCH_PIDS+=("$!")
}
# status NAME: `status --json` of client NAME (compact JSON) into ST.
status() {
	ST=$("$BUILD/snaptun-client" status --json --control "$tmp/$1.sock" 2>/dev/null)
}
# field NAME: a string or number member of ST, the first of that name (jansson keeps the
# order: the client's "address" comes before the agent's).
field() {
	grep -o "\"$1\":\"\\{0,1\\}[^\",}]*" <<<"$ST" | head -n 1 | sed "s/^\"$1\":\"\\{0,1\\}//"
}
# wait_up NAME: client NAME is up (10 s at most); sets ADDR and PORT (its relay's).
wait_up() {
	for _ in $(seq 100); do
		kill -0 "${CPID[$1]}" 2>/dev/null || fail "client $1 exited"
		if status "$1" && [ "$(field state)" = up ]; then
			ADDR=$(field address)
			PORT=$(field device | sed -n 's/^relay 127\.0\.0\.1:\([0-9]*\)$/\1/p')
			[ -n "$ADDR" ] && [ -n "$PORT" ] && return 0
		fi
		sleep 0.1
	done
	fail "client $1 is not up within 10 s: $ST"
}
client A
client B
client SA --request-addr 1-ff00:0:110,10.130.0.1
client SB --request-addr 1-ff00:0:110,10.130.0.2
wait_up A
ADDR_A=$ADDR PORT_A=$PORT MTU_A=$(field mtu)
wait_up B
ADDR_B=$ADDR PORT_B=$PORT
wait_up SA
ADDR_SA=$ADDR PORT_SA=$PORT
wait_up SB
ADDR_SB=$ADDR PORT_SB=$PORT
[ "${MTU_A:-0}" -ge 1200 ] || fail "client A's room is $MTU_A bytes: a 1200-byte packet does not fit"

# cpu PID: user + system clock ticks of PID so far.
cpu() {
	awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
# run MODE ARG...: one bench_pps run; its result line into R (pps=... sent=... ...). In the
# background, so that a signal to this script is handled at once (wait is interruptible) and
# the exit trap stops it.
run() {
	local rc
	timeout $((SECS + 30)) "$BUILD/bench/bench_pps" "$@" --seconds "$SECS" --window "$WINDOW" \
		>"$tmp/pps.out" 2>"$tmp/pps.err" &
	BENCH_PIDS+=("$!")
	wait "$!"
	rc=$?
	unset 'BENCH_PIDS[-1]'
	[ $rc = 0 ] || fail "bench_pps $1 failed (status $rc): $(cat "$tmp/pps.err")"
	R=$(cat "$tmp/pps.out")
	kill -0 "$agent_pid" 2>/dev/null || fail "the agent died"
}
# val KEY: a value of R.
val() {
	tr ' ' '\n' <<<"$R" | sed -n "s/^$1=//p"
}
pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * b / a }'
}

echo "== 1200-byte packets per second: client A -> agent -> client B (relay mode) vs raw UDP"
echo "A $ADDR_A (relay :$PORT_A), B $ADDR_B (relay :$PORT_B), agent $AGENT_ADDR; room $MTU_A bytes;"
echo "scion mode: SA $ADDR_SA (relay :$PORT_SA) -> agent -> SB $ADDR_SB (relay :$PORT_SB), SCION/UDP"
echo "$WINDOW packets in flight, ${SECS}s each, $ROUNDS round(s) alternating raw/snaptun/scion," \
	"$(nproc) cores shared by all"
printf '%-6s %11s %9s %11s %9s %6s %11s %9s %9s   %s\n' round "raw pkt/s" "raw loss" "snaptun/s" \
	loss ratio "scion/s" loss "scion/ip" "CPU during the snaptun run: agent / A / B / bench_pps"
RELAY=(relay --to "$PORT_A" --from "$PORT_B" --src "$ADDR_A" --dst "$ADDR_B")
SCION=(relay --to "$PORT_SA" --from "$PORT_SB" --src "$ADDR_SA" --dst "$ADDR_SB" --scion 1-ff00:0:110)
hz=$(getconf CLK_TCK)
raw_all='' st_all='' sc_all='' sent_all=0 recv_all=0
for r in $(seq "$ROUNDS"); do
	run raw
	raw=$(val pps) raw_loss=$(val loss_pct)
	c0=("$(cpu "$agent_pid")" "$(cpu "${CPID[A]}")" "$(cpu "${CPID[B]}")")
	t0=$(date +%s%N)
	run "${RELAY[@]}"
	t1=$(date +%s%N)
	c1=("$(cpu "$agent_pid")" "$(cpu "${CPID[A]}")" "$(cpu "${CPID[B]}")")
	st=$(val pps) st_loss=$(val loss_pct) stalls=$(val stalls) bad=$(val bad)
	sent_all=$((sent_all + $(val sent))) recv_all=$((recv_all + $(val received)))
	# the share of one core each used over the whole bench_pps run (probe, warm-up, drain)
	shares=$(awk -v hz="$hz" -v s="$(((t1 - t0) / 1000))" -v a=$((c1[0] - c0[0])) \
		-v b=$((c1[1] - c0[1])) -v c=$((c1[2] - c0[2])) -v p="$(val cpu_s)" 'BEGIN {
		s /= 1e6; printf "%.0f%% / %.0f%% / %.0f%% / %.0f%%", 100 * a / hz / s,
		    100 * b / hz / s, 100 * c / hz / s, 100 * p / s }')
	badness=$([ "$stalls$bad" = 00 ] || echo " ($stalls stalls, $bad bad)")
	run "${SCION[@]}"
	sc=$(val pps) sc_loss=$(val loss_pct)
	[ "$(val stalls)$(val bad)" = 00 ] ||
		badness="$badness (scion: $(val stalls) stalls, $(val bad) bad)"
	printf '%-6s %11.0f %8s%% %11.0f %8s%% %6s %11.0f %8s%% %9s   %s%s\n' "$r" "$raw" \
		"$raw_loss" "$st" "$st_loss" "$(pct "$raw" "$st")" "$sc" "$sc_loss" \
		"$(pct "$st" "$sc")" "$shares" "$badness"
	raw_all="$raw_all $raw" st_all="$st_all $st" sc_all="$sc_all $sc"
done
med() {
	tr ' ' '\n' <<<"$1" | grep . | sort -g |
		awk '{ v[NR] = $1 } END { printf "%.0f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
rm_=$(med "$raw_all") sm=$(med "$st_all") scm=$(med "$sc_all")
printf '%-6s %11s %9s %11s %9s %6s %11s %9s %9s\n' median "$rm_" "" "$sm" "" "$(pct "$rm_" "$sm")" \
	"$scm" "" "$(pct "$sm" "$scm")"
# udp_drops PID: "PORT drops" for each UDP socket of PID (/proc/net/udp's drops column: the
# datagrams the kernel dropped because the socket's receive buffer was full).
udp_drops() {
	local inodes
	inodes=$(find "/proc/$1/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null |
		sed 's/^socket:\[\([0-9]*\)\]$/\1/' | tr '\n' ' ')
	awk -v want=" $inodes" '
	function hex(s,  i, n) {
		n = 0
		for (i = 1; i <= length(s); i++)
			n = n * 16 + index("0123456789ABCDEF", toupper(substr(s, i, 1))) - 1
		return n
	}
	NR > 1 && index(want, " " $10 " ") { split($2, a, ":"); printf ":%d drops %d, ", hex(a[2]), $13 }' \
		/proc/net/udp 2>/dev/null | sed 's/, $//'
}
# where the snaptun runs lost packets: relay A's socket (full), the tunnel, relay B's socket
echo "bench_pps: $sent_all sent into relay A, $recv_all received from relay B (all snaptun runs)"
echo "UDP sockets (kernel drops, receive buffer full): agent $(udp_drops "$agent_pid");" \
	"client A $(udp_drops "${CPID[A]}"); client B $(udp_drops "${CPID[B]}")"
# sum NAME: the sum of the members NAME in S (the sessions).
sum() {
	grep -o "\"$1\":[0-9]*" <<<"$S" | awk -F: '{ n += $2 } END { print n + 0 }'
}
# the agent's counters of the two sessions, from its STATS reports (every 5 s) to the manager:
# wait (12 s at most) until they count everything client A sent
status A
a_tx=$(field tx_packets)
for _ in $(seq 24); do
	S=$(curl -s --max-time 5 "${H[@]}" "$URL/v1/sessions" | tr -d ' \n')
	[ "$(sum rx_datagrams)" -ge "$a_tx" ] && break
	sleep 0.5
done
echo "agent (all four sessions): rx $(sum rx_datagrams), tx $(sum tx_datagrams), dropped" \
	"$(sum dropped_datagrams) datagrams"
for n in A B; do
	status "$n"
	echo "client $n: tx $(field tx_packets), rx $(field rx_packets); drops: too_big" \
		"$(field drop_too_big), blocked $(field drop_blocked), down $(field drop_down)," \
		"local $(field drop_local)"
done
awk -v r="$rm_" -v s="$sm" -v t="$TARGET_PCT" 'BEGIN { p = 100 * s / r;
	printf "target: snaptun >= %d%% of raw UDP over loopback (medians): %.0f%%   %s\n", t, p,
	    (p >= t ? "met" : "MISSED") }'
awk -v i="$sm" -v s="$scm" 'BEGIN { p = 100 * s / i;
	printf "target: scion mode >= 90%% of ip mode, client to client (medians): %.0f%%   %s\n", p,
	    (p >= 90 ? "met" : "MISSED") }'
[ -n "$QUICK" ] && echo "(BENCH_QUICK: ${SECS}s runs; the numbers are rougher)"
exit 0
