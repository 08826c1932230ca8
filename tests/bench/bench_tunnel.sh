#!/usr/bin/env bash
# TCP throughput through tunnels between two network namespaces (issue 10), side by side in one
# run: iperf3 from namespace A to namespace B, 1 stream and 4 streams, through
#   veth          the bare veth pair (the ceiling every tunnel shares);
#   wireguard-go  Debian's userspace WireGuard, one process per namespace (-f: in the
#                 foreground, so that its pid is ours to watch and stop), keys made per run,
#                 UDP over the veth, its default MTU (1420);
#   openvpn       Debian's OpenVPN 2.6 peer to peer: UDP, no compression, AES-256-GCM, TLS with a
#                 self-signed certificate per side made per run and pinned by --peer-fingerprint,
#                 data channel offload off (a stock Debian kernel has no ovpn-dco: both
#                 references run in userspace, as snaptun does);
#   snaptun       a manager and an agent in gateway mode (--tun snaptun-gw, pool gateway address)
#                 in B; snaptun-client join + up (--tun snaptun0) in A; iperf3 to the pool's
#                 gateway address. Printed as not available, with the reason, when
#                 snaptun-client is not built or the agent has no gateway mode.
# All tunnels are up at once and the runs alternate between them, ROUNDS rounds; the median of
# each is printed in Gbit/s with the CPU seconds the tunnel's two processes used per gigabit
# received (over all its runs: less sensitive to other load on the machine than the throughput)
# and the peak RSS (VmHWM) of each tunnel process, then the ratios
# against the targets (snaptun >= 3x wireguard-go and >= 2.5x openvpn) and against the veth.
# A missed target is printed, not fatal; the status is non-zero only when the bench cannot be
# set up. A machine without namespaces or TUN devices prints why and skips. BENCH_QUICK=1: 2 s
# runs, one round. Everything (namespaces, links, processes, keys) goes away on exit.
# Run from the repository root: BUILD=build bash tests/bench/bench_tunnel.sh
set -u
BENCH=tunnel
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/../e2e/netns.bash"
if [ -n "$QUICK" ]; then
	SECS=2 OMIT=0 ROUNDS=1
else
	SECS=5 OMIT=1 ROUNDS=2
fi
POOL=10.96.1.0/24 GW=10.96.1.1

fail() {
	echo "bench_tunnel: $*" >&2
	exit 1
}

for c in iperf3 wireguard-go wg openvpn certtool curl; do
	command -v $c >/dev/null 2>&1 || fail "$c is not installed (make deps)"
done
netns_pair
case $? in
0) ;;
1)
	echo "bench_tunnel: SKIPPED: $NETNS_SKIP"
	exit 0
	;;
*) fail "$NETNS_ERR" ;;
esac
T=$NETNS_TMP

# wait_cmd SECONDS CMD...: run CMD every 0.1 s until it succeeds (0) or SECONDS pass (1).
wait_cmd() {
	local i n=$(($1 * 10))
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# last_lines N FILE...: the last N lines of the FILEs on one line, for a reason in the table.
last_lines() {
	local n=$1
	shift
	tail -q -n "$n" "$@" 2>/dev/null | tr -s '\n' ' ' | sed 's/ $//'
}

# Something listens on TCP port $1 in namespace B.
b_listens() {
	[ -n "$(in_ns B ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

# iperf_server ADDR PORT: an iperf3 server in B bound to ADDR (so that it only sees traffic that
# came through the tunnel owning ADDR), up within 5 s.
iperf_server() {
	netns_bg B iperf3 -s -B "$1" -p "$2" >>"$T/iperf3-server.log" 2>&1
	wait_cmd 5 b_listens "$2" || fail "the iperf3 server on $1:$2 did not start"
}

# start TUNNEL A|B CMD...: netns_bg, the pid also noted in ALL[TUNNEL] (stopped if the tunnel
# cannot be set up, so that a half-made one takes no CPU from the others).
start() {
	local t=$1
	shift
	netns_bg "$@"
	ALL[$t]="${ALL[$t]-} $NETNS_BG_PID"
}

TUNNELS=(veth)		# the ones that are up, in the order of the table
declare -A DST=([veth]=$NS_B4) PORT=([veth]=5201) PIDS=() ALL=() WHY=() RES=()
declare -A LABEL=([veth]="veth" [wg]="wireguard-go" [ovpn]="openvpn" [snaptun]="snaptun")
iperf_server "$NS_B4" 5201

# ---- wireguard-go ----
# Its UAPI socket lives in /var/run/wireguard/NAME.sock whatever the namespace: the names must be
# unique on the machine, and the sockets go if a process is killed before it removes its own.
wg_up() {
	local a=snw$$a b=snw$$b
	NETNS_RM+=("/var/run/wireguard/$a.sock" "/var/run/wireguard/$b.sock")
	(umask 077 && wg genkey >"$T/wg-a.key" && wg genkey >"$T/wg-b.key") || return 1
	start wg A wireguard-go -f "$a" >"$T/wg-a.log" 2>&1
	PIDS[wg]=$NETNS_BG_PID
	start wg B wireguard-go -f "$b" >"$T/wg-b.log" 2>&1
	PIDS[wg]="${PIDS[wg]} $NETNS_BG_PID"
	wait_cmd 5 test -S "/var/run/wireguard/$a.sock" -a -S "/var/run/wireguard/$b.sock" ||
		{ WHY[wg]="wireguard-go did not start: $(last_lines 3 "$T"/wg-*.log)"; return 1; }
	in_ns A wg set "$a" private-key "$T/wg-a.key" listen-port 51820 \
		peer "$(wg pubkey <"$T/wg-b.key")" allowed-ips 10.98.1.2/32 endpoint "$NS_B4:51820" &&
	    in_ns B wg set "$b" private-key "$T/wg-b.key" listen-port 51820 \
		peer "$(wg pubkey <"$T/wg-a.key")" allowed-ips 10.98.1.1/32 endpoint "$NS_A4:51820" &&
	    in_ns A ip addr add 10.98.1.1/24 dev "$a" && in_ns A ip link set "$a" up &&
	    in_ns B ip addr add 10.98.1.2/24 dev "$b" && in_ns B ip link set "$b" up ||
		{ WHY[wg]="configuring wireguard-go failed"; return 1; }
	DST[wg]=10.98.1.2 PORT[wg]=5202
}

# ---- openvpn ----
# cert NAME: a self-signed ECDSA certificate $T/NAME.crt with its key, and its SHA-256
# fingerprint in the colon-separated form --peer-fingerprint takes, in $T/NAME.fp.
cert() {
	(umask 077 && certtool --generate-privkey --key-type ecdsa --curve secp256r1 \
		--outfile "$T/$1.key") >/dev/null 2>&1 || return 1
	printf 'cn = "snaptun-bench-%s"\nexpiration_days = 1\nsigning_key\ntls_www_server\ntls_www_client\n' \
		"$1" >"$T/$1.tmpl"
	certtool --generate-self-signed --load-privkey "$T/$1.key" --template "$T/$1.tmpl" \
		--outfile "$T/$1.crt" >/dev/null 2>&1 || return 1
	certtool -i --infile "$T/$1.crt" --outder 2>/dev/null | sha256sum |
		awk '{ h = toupper($1); gsub(/../, "&:", h); print substr(h, 1, length(h) - 1) }' \
		>"$T/$1.fp"
	[ -s "$T/$1.fp" ]
}

ovpn_ready() {
	grep -qs "Initialization Sequence Completed" "$T/ovpn-a.log" &&
	    grep -qs "Initialization Sequence Completed" "$T/ovpn-b.log"
}

ovpn_up() {
	local common=(--dev-type tun --dev snvpn0 --proto udp --cipher AES-256-GCM
	    --data-ciphers AES-256-GCM --allow-compression no --disable-dco --dh none --verb 3)
	cert ovpn-a && cert ovpn-b || { WHY[ovpn]="certtool failed"; return 1; }
	start ovpn A openvpn "${common[@]}" --local "$NS_A4" --lport 1194 --remote "$NS_B4" 1194 \
	    --ifconfig 10.97.1.1 10.97.1.2 --tls-server --cert "$T/ovpn-a.crt" --key "$T/ovpn-a.key" \
	    --peer-fingerprint "$(cat "$T/ovpn-b.fp")" >"$T/ovpn-a.log" 2>&1
	PIDS[ovpn]=$NETNS_BG_PID
	start ovpn B openvpn "${common[@]}" --local "$NS_B4" --lport 1194 --remote "$NS_A4" 1194 \
	    --ifconfig 10.97.1.2 10.97.1.1 --tls-client --cert "$T/ovpn-b.crt" --key "$T/ovpn-b.key" \
	    --peer-fingerprint "$(cat "$T/ovpn-a.fp")" >"$T/ovpn-b.log" 2>&1
	PIDS[ovpn]="${PIDS[ovpn]} $NETNS_BG_PID"
	wait_cmd 15 ovpn_ready ||
		{ WHY[ovpn]="openvpn did not connect: $(grep -h -m 2 -i 'error\|fatal' "$T"/ovpn-*.log | tr -s '\n' ' ')"; return 1; }
	DST[ovpn]=10.97.1.2 PORT[ovpn]=5203
}

# ---- snaptun ----
# HTTP to the manager (in B, on the veth address: from inside B) with the admin token: STATUS,
# and the body in $T/body.
mgr_api() {
	: >"$T/body"
	STATUS=$(in_ns B curl -s --max-time 10 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $ADMIN" \
	    -H "Content-Type: application/json" -X "$1" ${3:+--data-binary "$3"} "$URL$2")
}

agent_connected() {
	mgr_api GET /v1/agents
	[ "$STATUS" = 200 ] && grep -Eq '"connected": ?true' "$T/body"
}

# snaptun0 in A has an IPv4 address (the client is up).
client_addr() {
	in_ns A ip -o -4 addr show dev snaptun0 2>/dev/null | awk '{ print $4; found = 1 } END { exit !found }'
}

snaptun_up() {
	local b jt pid
	for b in snaptun-manager snaptun-agent snaptun-client; do
		[ -x "$BUILD/$b" ] || { WHY[snaptun]="$BUILD/$b is not built"; return 1; }
	done
	mkdir -p -m 700 "$T/mgr" "$T/agent"
	start snaptun B "$BUILD/snaptun-manager" --state-dir "$T/mgr" --listen "$NS_B4:0" \
	    --log-level error >"$T/mgr.log" 2>&1
	wait_cmd 10 test -s "$T/mgr/manager.url" ||
		{ WHY[snaptun]="the manager did not start: $(last_lines 2 "$T/mgr.log")"; return 1; }
	URL=$(head -n 1 "$T/mgr/manager.url") ADMIN=$(cat "$T/mgr/admin.token")
	mgr_api POST /v1/pools "{\"name\":\"bench\",\"isd_as\":\"1-ff00:0:110\",\"prefix\":\"$POOL\",\"mode\":\"ip\",\"gateway\":\"$GW\"}"
	[ "$STATUS" = 201 ] ||
		{ WHY[snaptun]="the manager refuses a pool with a gateway ($STATUS: $(head -c 200 "$T/body"))"; return 1; }
	start snaptun B "$BUILD/snaptun-agent" --state-dir "$T/agent" --listen "$NS_B4:0" \
	    --manager-socket "$T/mgr/agent.sock" --tun snaptun-gw --log-level error \
	    >"$T/agent.log" 2>&1
	pid=$NETNS_BG_PID
	PIDS[snaptun]=$pid
	wait_cmd 10 test -s "$T/agent/agent.addr" || {
		if kill -0 "$pid" 2>/dev/null; then
			WHY[snaptun]="the agent did not start: $(last_lines 2 "$T/agent.log")"
		else
			WHY[snaptun]="the agent exited: $(head -n 1 "$T/agent.log")"
		fi
		return 1
	}
	wait_cmd 10 agent_connected || { WHY[snaptun]="the agent did not connect to the manager"; return 1; }
	mgr_api POST /v1/join-tokens '{"name":"bench"}'
	jt=$(sed -n 's/.*"token": *"\([^"]*\)".*/\1/p' "$T/body")
	[ "$STATUS" = 201 ] && [ -n "$jt" ] ||
		{ WHY[snaptun]="POST /v1/join-tokens answered $STATUS"; return 1; }
	in_ns A "$BUILD/snaptun-client" join --manager "$URL" --token "$jt" --name bench \
	    --bundle "$T/client.bundle" >"$T/join.log" 2>&1 ||
		{ WHY[snaptun]="snaptun-client join failed: $(last_lines 2 "$T/join.log")"; return 1; }
	start snaptun A "$BUILD/snaptun-client" up --bundle "$T/client.bundle" --tun snaptun0 \
	    --control "$T/client.sock" >"$T/client.log" 2>&1
	PIDS[snaptun]="${PIDS[snaptun]} $NETNS_BG_PID"
	wait_cmd 15 client_addr >/dev/null ||
		{ WHY[snaptun]="snaptun0 got no address: $(last_lines 2 "$T/client.log")"; return 1; }
	wait_cmd 5 in_ns A ping -c 1 -W 1 "$GW" >/dev/null 2>&1 ||
		{ WHY[snaptun]="no ping from $(client_addr) to the gateway $GW"; return 1; }
	DST[snaptun]=$GW PORT[snaptun]=5204
}

echo "== TCP throughput between two network namespaces (iperf3 A -> B, ${SECS}s runs)"
for t in wg ovpn snaptun; do
	if ! "${t}_up"; then
		for pid in ${ALL[$t]-}; do
			netns_stop "$pid"
		done
		continue
	fi
	if ! iperf_server "${DST[$t]}" "${PORT[$t]}"; then
		WHY[$t]="no iperf3 server on ${DST[$t]}"
		continue
	fi
	TUNNELS+=("$t")
done
[ -n "${WHY[wg]-}" ] && fail "wireguard-go: ${WHY[wg]}"
[ -n "${WHY[ovpn]-}" ] && fail "openvpn: ${WHY[ovpn]}"

# ticks TUNNEL: user + system clock ticks its processes (both ends) used so far.
ticks() {
	local pid t n=0
	for pid in ${PIDS[$1]-}; do
		t=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat" 2>/dev/null)
		n=$((n + ${t:-0}))
	done
	echo "$n"
}

# gbps TUNNEL STREAMS: one iperf3 run; prints the throughput the receiver saw, in Gbit/s, and
# appends "ticks gigabits" (the CPU its processes used over the run, the gigabits received in
# it: the omitted first second counted at the measured rate) to $T/cpu-TUNNEL.
gbps() {
	local out=$T/iperf3-$1-$2.json c0 c1 g
	c0=$(ticks "$1")
	in_ns A timeout $((SECS + OMIT + 30)) iperf3 -c "${DST[$1]}" -p "${PORT[$1]}" -t "$SECS" \
	    -O "$OMIT" -P "$2" -J >"$out" 2>&1 || {
		echo "bench_tunnel: iperf3 through ${LABEL[$1]} (-P $2) failed:" >&2
		grep '"error"' "$out" >&2
		return 1
	}
	c1=$(ticks "$1")
	# the veth has no processes of its own: no CPU figure
	[ -n "${PIDS[$1]-}" ] || c0=
	g=$(awk '/"sum_received"/ { s = 1 } s && /"bits_per_second"/ {
		gsub(/[^0-9.e+]/, "", $2); printf "%.3f\n", $2 / 1e9; exit }' "$out")
	[ -n "$c0" ] && echo "$((c1 - c0)) $(awk -v g="$g" -v t=$((SECS + OMIT)) 'BEGIN { print g * t }')" \
	    >>"$T/cpu-$1"
	echo "$g"
}

for ((r = 1; r <= ROUNDS; r++)); do
	for t in "${TUNNELS[@]}"; do
		for p in 1 4; do
			v=$(gbps "$t" $p) || v=0
			RES[$t.$p]="${RES[$t.$p]-} $v"
		done
	done
done

median() {
	echo "$1" | tr ' ' '\n' | grep . | sort -g |
	    awk '{ v[NR] = $1 } END { if (!NR) exit 1; m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
		printf "%.3f\n", m }'
}

# The peak RSS (VmHWM) of each process of tunnel $1 (its two ends), in MiB.
rss() {
	local pid kb out=
	for pid in ${PIDS[$1]-}; do
		kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
		[ -n "$kb" ] && out="$out${out:+ + }$(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }')"
	done
	echo "${out:--}"
}

# CPU seconds the processes of tunnel $1 (both ends) used per gigabit received, all its runs.
cpu_per_gbit() {
	[ -s "$T/cpu-$1" ] || { echo -; return; }
	awk -v hz="$(getconf CLK_TCK)" '{ t += $1; g += $2 }
	    END { if (g > 0) printf "%.2f\n", t / hz / g; else print "-" }' "$T/cpu-$1"
}

declare -A MED=()
printf '%-13s %10s %10s %9s   %s\n' tunnel "1 stream" "4 streams" "CPU s/Gb" \
    "peak RSS, MiB (processes, ends)"
for t in veth wg ovpn snaptun; do
	if [ -z "${RES[$t.1]-}" ]; then
		printf '%-13s not available (%s)\n' "${LABEL[$t]}:" "${WHY[$t]-not measured}"
		continue
	fi
	MED[$t.1]=$(median "${RES[$t.1]}") MED[$t.4]=$(median "${RES[$t.4]}")
	case $t in
	wg) who="wireguard-go A + B" ;;
	ovpn) who="openvpn A + B" ;;
	snaptun) who="agent B + client A" ;;
	*) who= ;;
	esac
	printf '%-13s %10s %10s %9s   %s\n' "${LABEL[$t]}" "${MED[$t.1]}" "${MED[$t.4]}" \
	    "$(cpu_per_gbit "$t")" "$(rss "$t")${who:+ ($who)}"
done
echo "(Gbit/s received, median of $ROUNDS round(s); each round alternates the tunnels; CPU s/Gb:" \
    "user + system seconds of the tunnel's two processes per gigabit received, over all its" \
    "runs (less sensitive to the machine's load than the throughput); load" \
    "average $(cut -d ' ' -f 1-3 /proc/loadavg) on $(nproc) cores at the end)"

# ratio TUNNEL REF STREAMS: TUNNEL's median over REF's, "-" when one is missing or zero.
ratio() {
	awk -v a="${MED[$1.$3]-}" -v b="${MED[$2.$3]-}" \
	    'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}
for t in wg ovpn snaptun; do
	[ -n "${MED[$t.1]-}" ] || continue
	printf '%s / veth: %s (1 stream), %s (4 streams)\n' "${LABEL[$t]}" \
	    "$(ratio "$t" veth 1)" "$(ratio "$t" veth 4)"
done
for ref in "wg 3" "ovpn 2.5"; do
	set -- $ref
	if [ -z "${MED[snaptun.1]-}" ]; then
		echo "target: snaptun >= $2x ${LABEL[$1]}: not measured (snaptun not available)"
		continue
	fi
	for p in 1 4; do
		x=$(ratio snaptun "$1" $p)
		awk -v x="$x" -v t="$2" -v n="${LABEL[$1]}" -v p="$p" 'BEGIN {
			printf "target: snaptun >= %sx %s (%s stream%s): %sx   %s\n", t, n, p,
			    (p > 1 ? "s" : ""), x, (x != "-" && x + 0 >= t + 0 ? "met" : "MISSED") }'
	done
done
[ -n "$QUICK" ] && echo "(BENCH_QUICK: ${SECS}s runs, one round; the numbers are rougher)"
exit 0
