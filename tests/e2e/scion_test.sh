#!/usr/bin/env bash
# End-to-end test of scion mode (issue 12): a real manager and an agent with a SCION underlay
# (a topology of two border routers, each a UDP socket of tests/tools/sciontool on loopback, and
# a dispatched port range), pools in scion mode made through the API, snaptun-client in relay
# mode carrying raw SCION packets built by sciontool, and an ip pool beside them:
#   - valid packets arrive byte-identical at the router owning their egress interface (the
#     golden packets of tests/data/scion/ too); one for the local ISD-AS at its host;
#   - every uplink rule's violation comes back through the tunnel as an SCMP Parameter Problem
#     of the right code and pointer, from the pool's gateway, checksum verified by sciontool;
#   - packets from the underlay reach the tunnel owning their destination (two tunnels), by UDP
#     port, SCMP echo identifier and an SCMP error's quote, byte-identical; one for no tunnel
#     counts no_tunnel, a malformed one malformed; the agent's metrics count the SCMP codes;
#   - ip-mode tunnels on the same agent go on as before, and never reach a scion tunnel;
#   - `up` with a TUN device on an address of a scion pool stops with a clear message.
# Run from the repository root: BUILD=build bash tests/e2e/scion_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash
SCIONTOOL=${SCIONTOOL:-$BUILD/tools/sciontool}
for b in "$CLIENT" "$SCIONTOOL"; do
	[ -x "$b" ] || e2e_bail "$b is not built (make all)"
done
command -v perl >/dev/null || e2e_bail "perl is missing (the ip-mode peers are perl one-liners)"
GOLDEN=tests/data/scion
IA=1-ff00:0:110 # the topology's, and the scion pool's
REMOTE=2-ff00:0:222

# ---------------------------------------------------------------- border routers, topology

# router NAME: a sciontool listener on 127.0.0.1 (a free port), its datagrams in
# $E2E_TMP/NAME/; sets PORT.
router() {
	mkdir -p "$E2E_TMP/$1"
	"$SCIONTOOL" listen 127.0.0.1:0 "$E2E_TMP/$1" >"$E2E_TMP/$1.out" 2>&1 &
	E2E_PIDS+=("$!")
	wait_line "$E2E_TMP/$1.out" '^port [0-9]+$' || e2e_bail "router $1 listens"
	PORT=$(sed -n 's/^port //p' "$E2E_TMP/$1.out")
}
router r1
P1=$PORT
router r2
P2=$PORT
cat >"$E2E_TMP/topology.json" <<EOF
{"isd_as": "$IA", "mtu": 1472,
 "border_routers": {
  "br1": {"internal_addr": "127.0.0.1:$P1", "interfaces": {"1": {"isd_as": "1-ff00:0:111"}}},
  "br2": {"internal_addr": "127.0.0.1:$P2", "interfaces": {"2": {}, "3": {}}}}}
EOF
# a dispatched range of 4 ports somewhere high (another test may hold one: a few tries)
for _ in 1 2 3 4 5; do
	LO=$((40000 + RANDOM % 20000))
	HI=$((LO + 3))
	busy=0
	for p in $(seq "$LO" "$HI"); do
		grep -qi ":$(printf '%04X' "$p") " /proc/net/udp && busy=1
	done
	[ $busy = 0 ] && break
done
tunnel_env --scion-topology "$E2E_TMP/topology.json" --scion-port 0 --scion-ports "$LO-$HI" \
    --metrics-listen 127.0.0.1:0
AGENT_LISTEN=$AGENT_ADDR # a restart listens where the bundles say
SCION=$(cat "$E2E_TMP/agent/scion.addr")
SPORT=${SCION##*:}
MURL=http://$(cat "$E2E_TMP/agent/metrics.addr")/metrics
check "the agent binds its SCION underlay ($SCION) and says so" \
    grep -q "scion mode: underlay 127.0.0.1:$SPORT (dispatched ports $LO-$HI), topology" \
    "$E2E_TMP/agent.err"

# ---------------------------------------------------------------- scion pools, clients

api POST /v1/pools "{\"name\":\"sci\",\"isd_as\":\"$IA\",\"prefix\":\"10.88.0.0/24\",\"mode\":\"scion\",\"gateway\":\"10.88.0.254\"}"
want_status 201
SCI=$(jget .id)
verdict "a pool in scion mode is created through the API"
api POST /v1/pools "{\"name\":\"gold\",\"isd_as\":\"$REMOTE\",\"prefix\":\"10.0.0.0/24\",\"mode\":\"scion\"}"
want_status 201
GOLD=$(jget .id)
verdict "a second scion pool, of another ISD-AS and without a gateway (the golden packets' source)"

# cl_join_pool NAME POOL: a join token bound to POOL and `snaptun-client join`.
cl_join_pool() {
	api POST /v1/join-tokens "{\"name\":\"$1\",\"pool\":$2}"
	[ "$STATUS" = 201 ] || return 1
	"$CLIENT" join --manager "$URL" --token "$(jget .token)" --name "$1" \
	    --bundle "$E2E_TMP/$1.bundle" >"$E2E_TMP/$1.join" 2>&1
}
for n in alice bob; do
	check "$n joins with a token of the scion pool" cl_join_pool "$n" "$SCI"
done
check "gus joins with a token of the gold pool" cl_join_pool gus "$GOLD"
check "carol (ip pool) joins" cl_join carol
check "dave (ip pool) joins" cl_join dave
cl_up A --bundle "$E2E_TMP/alice.bundle"
cl_up B --bundle "$E2E_TMP/bob.bundle"
cl_up G --bundle "$E2E_TMP/gus.bundle" --request-addr "$REMOTE,10.0.0.100"
cl_up C --bundle "$E2E_TMP/carol.bundle"
cl_up D --bundle "$E2E_TMP/dave.bundle"
for n in A B G C D; do
	that "client $n is not up within 10 s: $ST $(tail -n 3 "$E2E_TMP/$n.err")" wait_for 10 cl_is_up $n
done
cl_status A
A=$(jget .address "$ST") RA=$(cl_relay_port A)
cl_status B
B=$(jget .address "$ST") RB=$(cl_relay_port B)
cl_status G
G=$(jget .address "$ST") RG=$(cl_relay_port G)
cl_status C
C=$(jget .address "$ST") RC=$(cl_relay_port C)
cl_status D
D=$(jget .address "$ST") RD=$(cl_relay_port D)
that "A, B are not in 10.88.0.0/24: $A $B" grep -q '^10\.88\.0\.[0-9]* 10\.88\.0\.[0-9]*$' <<<"$A $B"
that "G is not 10.0.0.100: $G" test "$G" = 10.0.0.100
that "C, D are not in the ip pool: $C $D" grep -q '^10\.77\.0\.[0-9]* 10\.77\.0\.[0-9]*$' <<<"$C $D"
verdict "five relay clients up: A, B ($A, $B) and G ($G) in scion pools, C, D ($C, $D) in the ip pool"

# ---------------------------------------------------------------- helpers

PK=$E2E_TMP/pk
mkdir -p "$PK"
printf x >"$PK/primer.bin" # one byte: a relay's peer makes itself known (dropped, unanswered)
# build NAME OPTION...: sciontool build into $PK/NAME.bin.
build() {
	local name=$1
	shift
	"$SCIONTOOL" build "$@" "$PK/$name.bin" || e2e_bail "sciontool build $name $*"
}
# up_to NAME RELAYPORT SECONDS FILE...: the files into a relay from a fresh peer socket (the
# relay's client sends what its tunnel brings there from then on); whatever comes back within
# SECONDS into $PK/NAME/ (1.bin, ...), the peer's lines in $PK/NAME.out.
up_to() {
	local name=$1 relay=$2 secs=$3
	shift 3
	mkdir -p "$PK/$name"
	"$SCIONTOOL" peer "127.0.0.1:$relay" "$PK/$name" "$secs" "$@" >"$PK/$name.out" 2>&1
}
# at ROUTER N: the router's Nth datagram (appears within 5 s).
arrived() {
	wait_for 5 test -s "$E2E_TMP/$1/$2.bin"
}
# metric NAME{LABELS}: the agent's value (empty when absent).
metric() {
	curl -s --max-time 5 "$MURL" | awk -v k="$1" '$1 == k { print $2 }'
}

# ---------------------------------------------------------------- uplink: valid packets

build v1 --src "$IA,$A" --dst "$REMOTE,192.0.2.7" --egress 1 --payload 300
build v2 --src "$IA,$A" --dst "$REMOTE,192.0.2.7" --egress 2 --cons-dir 1 --segs 2,3 --payload 1000
build v3 --src "$IA,$A" --dst "$REMOTE,192.0.2.7" --egress 3 --segs 1,2 --curr 1,2 --scmp 128,0,7,1
up_to p-v1 "$RA" 0 "$PK/v1.bin"
that "no datagram at br1" arrived r1 1
that "br1's datagram differs from the packet sent" cmp -s "$E2E_TMP/r1/1.bin" "$PK/v1.bin"
verdict "a valid packet (egress interface 1, C unset) arrives byte-identical at br1"
up_to p-v23 "$RA" 0 "$PK/v2.bin" "$PK/v3.bin"
that "no datagrams at br2" arrived r2 2
that "br2's first datagram differs" cmp -s "$E2E_TMP/r2/1.bin" "$PK/v2.bin"
that "br2's second datagram differs" cmp -s "$E2E_TMP/r2/2.bin" "$PK/v3.bin"
that "br1 got more than the one" test ! -e "$E2E_TMP/r1/2.bin"
verdict "egress 2 (C set, ConsEgress) and 3 (second segment, an SCMP echo): byte-identical at br2"
up_to p-golden "$RG" 0 "$GOLDEN/scion-udp.bin" "$GOLDEN/scion-scmp-dest-unreachable.bin"
that "no golden datagrams at br1" arrived r1 3
that "br1 has another scion-udp.bin" cmp -s "$E2E_TMP/r1/2.bin" "$GOLDEN/scion-udp.bin"
that "br1 has another scion-scmp-dest-unreachable.bin" \
    cmp -s "$E2E_TMP/r1/3.bin" "$GOLDEN/scion-scmp-dest-unreachable.bin"
verdict "the golden packets from 2-ff00:0:222,10.0.0.100 (UDP; an SCMP error) arrive byte-identical at br1 (interface 1)"

# the local ISD-AS: straight to the host, at its UDP port in the dispatched range, else at the
# end-host port; a host a tunnel of this agent owns: into that tunnel
mkdir -p "$E2E_TMP/h1" "$E2E_TMP/h2"
"$SCIONTOOL" listen "127.0.0.2:$LO" "$E2E_TMP/h1" >"$E2E_TMP/h1.out" 2>&1 &
E2E_PIDS+=("$!")
"$SCIONTOOL" listen "127.0.0.2:$SPORT" "$E2E_TMP/h2" >"$E2E_TMP/h2.out" 2>&1 &
E2E_PIDS+=("$!")
wait_line "$E2E_TMP/h1.out" '^port' && wait_line "$E2E_TMP/h2.out" '^port' ||
    e2e_bail "hosts listen on 127.0.0.2:$LO and :$SPORT"
build l1 --src "$IA,$A" --dst "$IA,127.0.0.2" --egress 0 --udp "31000,$LO"
build l2 --src "$IA,$A" --dst "$IA,127.0.0.2" --egress 0 --udp 31000,443
up_to p-local "$RA" 0 "$PK/l1.bin" "$PK/l2.bin"
that "no datagram at 127.0.0.2:$LO" arrived h1 1
that "the host's datagram differs" cmp -s "$E2E_TMP/h1/1.bin" "$PK/l1.bin"
that "no datagram at 127.0.0.2:$SPORT" arrived h2 1
that "the host's datagram at the end-host port differs" cmp -s "$E2E_TMP/h2/1.bin" "$PK/l2.bin"
verdict "the local ISD-AS: to the host, at its UDP port $LO (dispatched range) or at the end-host port $SPORT"
build hp --src "$IA,$A" --dst "$IA,$B" --egress 0 --udp 31000,40001
up_to p-hairpin-b "$RB" 3 "$PK/primer.bin" &
PEERB=$!
sleep 0.5
up_to p-hairpin-a "$RA" 0 "$PK/hp.bin"
wait $PEERB
that "B got nothing: $(cat "$PK/p-hairpin-b.out")" test -s "$PK/p-hairpin-b/1.bin"
that "B's packet differs from A's" cmp -s "$PK/p-hairpin-b/1.bin" "$PK/hp.bin"
verdict "the local ISD-AS, a host a tunnel of this agent owns (B): into B, byte-identical"

# ---------------------------------------------------------------- uplink: the rules' answers

PATH_AT=$((28 + 4 + 4)) # IPv4 hosts: the path starts at byte 36
# problem NAME CODE POINTER BUILD_OPTION...: the packet up from A; its answer is an SCMP
# Parameter Problem CODE/POINTER from the pool's gateway to A, with a right checksum (checked by
# sciontool's own routine), quoting the packet.
problem() {
	local name=$1 code=$2 ptr=$3 want back quote
	shift 3
	build "$name" "$@"
	up_to "p-$name" "$RA" 3 "$PK/$name.bin"
	back=$PK/p-$name/1.bin
	want="src $IA,10.88.0.254 dst $IA,$A path 0 scmp 4 $code 0 $ptr csum ok quote"
	if [ ! -s "$back" ]; then
		fail "$name: no answer within 3 s ($(cat "$PK/p-$name.out"))"
	else
		SHOW=$("$SCIONTOOL" show "$back")
		that "$name: the answer is \"$SHOW\", not \"$want ...\"" grep -q "^$want " <<<"$SHOW"
		quote=${SHOW##* }
		that "$name: the answer does not quote the packet" \
		    cmp -s <(tail -c "$quote" "$back" | head -c 64) <(head -c 64 "$PK/$name.bin")
	fi
	verdict "$name: SCMP Parameter Problem code $code, pointer $ptr, checksum right"
}
OK=(--src "$IA,$A" --dst "$REMOTE,192.0.2.7" --egress 1)
problem version 16 0 "${OK[@]}" --version 1
problem addr-hdr 32 12 --src "$IA,$A" --dst "$REMOTE,2001:db8::7" --egress 1 --byte 5=11
problem spoofed-host 33 32 --src "$IA,10.88.0.77" --dst "$REMOTE,192.0.2.7" --egress 1
problem spoofed-ia 33 20 --src "$REMOTE,$A" --dst "$REMOTE,192.0.2.7" --egress 1
problem seg-hole 48 $PATH_AT "${OK[@]}" --segs 0,2
problem too-many-hops 48 $PATH_AT "${OK[@]}" --segs 63,2
problem curr-hf 48 $PATH_AT "${OK[@]}" --curr 0,2
problem empty-path 20 8 "${OK[@]}" --path none
problem left-over 48 $PATH_AT "${OK[@]}" --hdr-words 1
problem size 19 $PATH_AT "${OK[@]}" --len 200
up_to p-golden-empty "$RG" 3 "$GOLDEN/empty-udp.bin"
SHOW=$("$SCIONTOOL" show "$PK/p-golden-empty/1.bin" 2>/dev/null)
that "the golden empty-udp.bin's answer is \"$SHOW\" (want code 33 pointer 20: its source ISD-AS is checked first)" \
    grep -q "^src $REMOTE,127.0.0.1 dst $REMOTE,10.0.0.100 path 0 scmp 4 33 0 20 csum ok" <<<"$SHOW"
verdict "golden empty-udp.bin (source 1-ff00:0:111, not G's ISD-AS): code 33, pointer 20, from the agent's underlay address (the pool has no gateway)"
build scmp-err --src "$IA,10.88.0.77" --dst "$REMOTE,192.0.2.7" --egress 1 --scmp 1,0,0,0
up_to p-scmp-err "$RA" 2 "$PK/scmp-err.bin"
check "a spoofed SCMP error is dropped without an answer" test ! -e "$PK/p-scmp-err/1.bin"
want_codes() {
	[ "$(metric "snaptun_agent_scion_problems_total{agent=\"1\",code=\"16\"}")" = 2 ] &&
	    [ "$(metric "snaptun_agent_scion_problems_total{agent=\"1\",code=\"19\"}")" = 1 ] &&
	    [ "$(metric "snaptun_agent_scion_problems_total{agent=\"1\",code=\"20\"}")" = 1 ] &&
	    [ "$(metric "snaptun_agent_scion_problems_total{agent=\"1\",code=\"32\"}")" = 1 ] &&
	    [ "$(metric "snaptun_agent_scion_problems_total{agent=\"1\",code=\"33\"}")" = 4 ] &&
	    [ "$(metric "snaptun_agent_scion_problems_total{agent=\"1\",code=\"48\"}")" = 4 ]
}
that "the agent's metrics count other codes: $(curl -s "$MURL" | grep scion_problems)" want_codes
verdict "the agent's metrics count the SCMP Parameter Problems by code (16:2, with a relay peer's one-byte greeting; 19:1 20:1 32:1 33:4 48:4)"

curl -s --max-time 5 "$MURL" >"$E2E_TMP/metrics.txt"
promtool_ok "$E2E_TMP/metrics.txt" "the agent's metrics with the scion families"

# ---------------------------------------------------------------- downlink

# down NAME RELAY_OF_TUNNEL BUILD_OPTION...: the packet sent to the agent's end-host port from
# br1's place, expected byte-identical out of that tunnel's relay.
down() {
	local name=$1 relay=$2 peer
	shift 2
	build "$name" "$@"
	up_to "p-$name" "$relay" 3 "$PK/primer.bin" &
	peer=$!
	sleep 0.5
	"$SCIONTOOL" send "127.0.0.1:$SPORT" "$PK/$name.bin"
	wait $peer
	that "$name: nothing came out of the relay ($(cat "$PK/p-$name.out"))" test -s "$PK/p-$name/1.bin"
	that "$name: what came out differs" cmp -s "$PK/p-$name/1.bin" "$PK/$name.bin"
	that "$name: more than one came out" test ! -e "$PK/p-$name/2.bin"
	verdict "downlink $name: out of the right tunnel's relay, byte-identical"
}
FROM=(--src "$REMOTE,192.0.2.7" --egress 1)
down udp-to-a "$RA" "${FROM[@]}" --dst "$IA,$A" --udp 443,31000
down udp-to-b "$RB" "${FROM[@]}" --dst "$IA,$B" --udp 443,31001
down echo-to-b "$RB" "${FROM[@]}" --dst "$IA,$B" --scmp 129,0,4242,1
build quoted --src "$IA,$A" --dst "$REMOTE,192.0.2.7" --egress 1 --udp 31000,443
down error-to-a "$RA" "${FROM[@]}" --dst "$IA,$A" --scmp 1,3,0,0 --quote "$PK/quoted.bin"
mt0=$(metric 'snaptun_tunnel_drops_total{agent="1",reason="no_tunnel"}')
mm0=$(metric 'snaptun_tunnel_drops_total{agent="1",reason="malformed"}')
build nobody "${FROM[@]}" --dst "$IA,10.88.0.99"
build other-ia "${FROM[@]}" --dst "$REMOTE,$A"
build tcp "${FROM[@]}" --dst "$IA,$A" --byte 4=6
"$SCIONTOOL" send "127.0.0.1:$SPORT" "$PK/nobody.bin" "$PK/other-ia.bin" "$PK/tcp.bin" "$PK/primer.bin"
"$SCIONTOOL" send "127.0.0.1:$LO" "$PK/nobody.bin"
drops_counted() {
	[ "$(metric 'snaptun_tunnel_drops_total{agent="1",reason="no_tunnel"}')" = $((mt0 + 3)) ] &&
	    [ "$(metric 'snaptun_tunnel_drops_total{agent="1",reason="malformed"}')" = $((mm0 + 2)) ]
}
that "no_tunnel $(metric 'snaptun_tunnel_drops_total{agent="1",reason="no_tunnel"}') (was $mt0), malformed $(metric 'snaptun_tunnel_drops_total{agent="1",reason="malformed"}') (was $mm0)" \
    wait_for 5 drops_counted
verdict "from the underlay: a host no tunnel owns, A's host in another ISD-AS and one on a dispatched port count no_tunnel (3); TCP and a cut datagram malformed (2)"
in_stats() {
	api GET /v1/agents
	[ "$(jget .items[0].last_stats.total.drops.no_tunnel)" -ge 3 ] 2>/dev/null
}
check "no_tunnel reaches the manager in STATS (GET /v1/agents last_stats)" wait_for 12 in_stats

# ---------------------------------------------------------------- the ip mode beside it

perl -e "$CL_PEER_PL" "send $RD $D $C hello-from-d" "recv 5" >"$E2E_TMP/peerD.out" 2>&1 &
PEERD=$!
sleep 0.3
perl -e "$CL_PEER_PL" "send $RC $C $D hello-from-c" "send $RC $C $A to-a-scion" >"$E2E_TMP/peerC.out" 2>&1
wait $PEERD
that "D's peer did not get C's packet: $(cat "$E2E_TMP/peerD.out")" \
    grep -qx "got $C $D hello-from-c" "$E2E_TMP/peerD.out"
verdict "ip mode beside it: C's IP packet reaches D through the hub"
nr() {
	[ "$(metric 'snaptun_tunnel_drops_total{agent="1",reason="no_route"}')" -ge 1 ]
}
check "an IP packet from C to A's address never reaches the scion tunnel: no_route" wait_for 5 nr

# ---------------------------------------------------------------- one router for all

agent_stop TERM
agent_start "$E2E_TMP/agent" --scion-router "127.0.0.1:$P1" --scion-port 0 ||
    e2e_bail "the agent restarts with --scion-router"
wait_for 10 agent_connected
that "A is not up again within 20 s: $ST" wait_for 20 cl_is_up A
that "A came back with $(jget .address "$ST"), not $A" test "$(jget .address "$ST")" = "$A"
n1=$(ls "$E2E_TMP/r1" | wc -l) n2=$(ls "$E2E_TMP/r2" | wc -l)
up_to p-single "$RA" 0 "$PK/v2.bin"
that "no datagram at br1 ($E2E_TMP/r1/$((n1 + 1)).bin)" arrived r1 $((n1 + 1))
that "br1's datagram differs from the packet sent" cmp -s "$E2E_TMP/r1/$((n1 + 1)).bin" "$PK/v2.bin"
that "br2 got it" test "$(ls "$E2E_TMP/r2" | wc -l)" = "$n2"
verdict "--scion-router: the packet for interface 2 arrives byte-identical at that one router"

# ---------------------------------------------------------------- TUN on a scion address

if [ "$(id -u)" = 0 ] && [ -c /dev/net/tun ]; then
	check "tess joins with a token of the scion pool" cl_join_pool tess "$SCI"
	check "tess's bundle says the pool is in scion mode" \
	    grep -q '"mode": *"scion"' "$E2E_TMP/tess.bundle"
	"$CLIENT" up --bundle "$E2E_TMP/tess.bundle" --tun snsc$$ --control "$E2E_TMP/T.sock" \
	    >"$E2E_TMP/T.out" 2>"$E2E_TMP/T.err" &
	TPID=$!
	E2E_PIDS+=("$TPID")
	that "up --tun on a scion address did not exit within 15 s" wait_for 15 eval '! kill -0 $TPID 2>/dev/null'
	wait $TPID
	rc=$?
	proc_forget "$TPID"
	that "up --tun exited $rc, not 1" test "$rc" = 1
	that "its message does not say why: $(tail -n 3 "$E2E_TMP/T.err")" \
	    grep -q 'scion mode.*--relay' "$E2E_TMP/T.err"
	that "the TUN device is left behind" test ! -e "/sys/class/net/snsc$$"
	verdict "up --tun on an address of a scion pool: exit 1, saying to use --relay"
else
	skip "up --tun on a scion address" "needs root and /dev/net/tun"
fi

no_sanitizer_reports
e2e_finish
