# Two network namespaces joined by a veth pair, for the tests and benchmarks that need real
# interfaces, TUN devices and routes without touching the machine's own network (source it after
# lib.bash or tests/bench/lib.bash; it is not a test itself, hence not *.sh):
#
#   . "$(dirname "$0")/netns.bash"
#   netns_pair || { skip "the data plane" "$NETNS_SKIP"; e2e_finish; }
#   in_ns A ping -c 1 "$NS_B4"
#   netns_bg B iperf3 -s -B "$NS_B4"	# stopped with the namespaces
#   AGENT=$(netns_wrap B "$AGENT")	# lib.bash's agent_start now starts it in B
#
# netns_pair makes namespaces A and B (NS_A, NS_B: "snt-<pid>-a", "-b", unique per shell), one
# veth end in each (both named $NS_DEV: the pair is created inside the namespaces, so nothing
# ever appears in the caller's namespace), addresses NS_A4/NS_B4 (10.99.N.1 and .2/24) and
# NS_A6/NS_B6 (fd99:N::1 and ::2/64, without duplicate address detection, so they are usable at
# once), loopback up, N = NETNS_N (default 1). NETNS_TMP is a private temporary dir (keys,
# configs, logs). Teardown (netns_teardown, also run on EXIT, INT, TERM and HUP before the trap
# the caller had) stops every process still inside either namespace, deletes the namespaces —
# the veth and any TUN device inside go with them — and removes NETNS_TMP and the paths in
# NETNS_RM.
#
# netns_third (after netns_pair) adds namespace C (NS_C, "snt-<pid>-c") for a second host on the
# far side of B, as a second tunnel client needs: a veth pair $NS_DEV_C between C and B, NS_C4
# and NS_BC4 (10.95.N.1 and .2/24), NS_C6 and NS_BC6 (fd95:N::1 and ::2/64) on it, and default
# routes in C via B's end. C reaches B's own addresses (NS_B4, a daemon listening on it) without
# B forwarding anything. Teardown takes it with the others.

NETNS_N=${NETNS_N:-1}
NS_A= NS_B= NS_DEV=veth0
NS_A4= NS_B4= NS_A6= NS_B6=
NS_C= NS_DEV_C=vethc
NS_C4= NS_BC4= NS_C6= NS_BC6=
NETNS_TMP=
NETNS_SKIP=	# why netns_pair could not run on this machine (it returned 1)
NETNS_ERR=	# what failed in netns_pair otherwise (it returned 2)
NETNS_PIDS=()	# started with netns_bg and not yet reaped
NETNS_RM=()	# paths outside NETNS_TMP that teardown removes (e.g. a daemon's socket)
NETNS_PREV_EXIT=	# the EXIT trap of the caller, run after teardown
# ip by its full path, found once: a wrapper of netns_wrap named ip (or anything else the caller
# puts first in PATH) must not stand in for it here, and a wrapper must not find itself.
NETNS_IP=

# netns_name A|B|C: the name of namespace A, B or C.
netns_name() {
	local ns
	case $1 in
	A) ns=$NS_A ;;
	B) ns=$NS_B ;;
	C) ns=$NS_C ;;
	*)
		echo "netns: unknown namespace \"$1\" (A, B or C)" >&2
		return 2
		;;
	esac
	[ -n "$ns" ] || { echo "netns: no namespace $1 (netns_pair, netns_third)" >&2; return 2; }
	echo "$ns"
}

# in_ns A|B|C CMD...: run CMD inside namespace A, B or C.
in_ns() {
	local ns
	ns=$(netns_name "$1") || return 2
	shift
	"$NETNS_IP" netns exec "$ns" "$@"
}

# netns_bg A|B|C CMD...: run CMD inside namespace A, B or C in the background; its pid in NETNS_BG_PID
# (a plain command, not a function, goes in the background, and ip netns exec execs CMD: so this
# is CMD's own pid, for kill and /proc). Teardown stops it if it still runs.
netns_bg() {
	local ns
	ns=$(netns_name "$1") || return 2
	shift
	"$NETNS_IP" netns exec "$ns" "$@" &
	NETNS_BG_PID=$!
	NETNS_PIDS+=("$NETNS_BG_PID")
}

# netns_wrap A|B|C CMD [NAME]: an executable $NETNS_TMP/bin-A|B|C/NAME (default: CMD's base name)
# that runs CMD inside the namespace with the arguments it is given, and print its path. It
# execs, so a wrapped program started in the background keeps its own pid. For the helpers of
# lib.bash, which run fixed paths: AGENT=$(netns_wrap B "$AGENT") puts agent_start's agent in B;
# PATH=$NETNS_TMP/bin-B:$PATH after netns_wrap B curl sends api's requests from inside B.
netns_wrap() {
	local ns path dir
	ns=$(netns_name "$1") || return 2
	path=$(command -v "$2") || { echo "netns_wrap: \"$2\" not found" >&2; return 1; }
	case $path in /*) ;; *) path=$PWD/$path ;; esac
	dir=$NETNS_TMP/bin-$1
	mkdir -p "$dir" || return 1
	printf '#!/bin/sh\nexec %s netns exec %s %s "$@"\n' "$NETNS_IP" "$ns" "$(printf '%q' "$path")" \
	    >"$dir/${3:-${2##*/}}" && chmod 755 "$dir/${3:-${2##*/}}" || return 1
	echo "$dir/${3:-${2##*/}}"
}

# netns_stop PID [SECONDS]: SIGTERM, SIGKILL after SECONDS (default 3), reap it if it is a child
# of this shell. Sets NETNS_RC to its exit status when it was reaped.
netns_stop() {
	local pid=$1 n=$((${2:-3} * 20)) i keep=()
	NETNS_RC=
	# stderr off throughout, or bash reports a job killed by a signal ("Killed").
	{
		kill -TERM "$pid"
		for ((i = 0; i < n; i++)); do
			kill -0 "$pid" || break
			sleep 0.05
		done
		kill -0 "$pid" && kill -KILL "$pid"
		wait "$pid"
		NETNS_RC=$?
	} 2>/dev/null
	for i in ${NETNS_PIDS[@]+"${NETNS_PIDS[@]}"}; do
		[ "$i" = "$pid" ] || keep+=("$i")
	done
	NETNS_PIDS=(${keep[@]+"${keep[@]}"})
}

# Every process inside namespace $1 (ip netns pids also finds the daemons that forked away).
netns_procs() {
	[ -e "/run/netns/$1" ] || return 0
	"$NETNS_IP" netns pids "$1" 2>/dev/null
}

# netns_teardown: stop what runs inside the namespaces, delete them, remove the temporary
# files. Idempotent; the exit trap runs it.
netns_teardown() {
	local ns pid i left
	for pid in ${NETNS_PIDS[@]+"${NETNS_PIDS[@]}"}; do
		kill -TERM "$pid" 2>/dev/null
	done
	for ns in $NS_A $NS_B $NS_C; do
		for pid in $(netns_procs "$ns"); do
			kill -TERM "$pid" 2>/dev/null
		done
	done
	# A namespace outlives its deletion while a process is inside: wait for all to go (3 s),
	# then kill what is left.
	for ((i = 0; i < 60; i++)); do
		left=
		for ns in $NS_A $NS_B $NS_C; do
			left=$left$(netns_procs "$ns")
		done
		[ -z "$left" ] && break
		sleep 0.05
	done
	for ns in $NS_A $NS_B $NS_C; do
		for pid in $(netns_procs "$ns"); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	for pid in ${NETNS_PIDS[@]+"${NETNS_PIDS[@]}"}; do
		{ kill -KILL "$pid"; wait "$pid"; } 2>/dev/null
	done
	NETNS_PIDS=()
	for ns in $NS_A $NS_B $NS_C; do
		[ -e "/run/netns/$ns" ] && "$NETNS_IP" netns del "$ns" 2>/dev/null
	done
	[ ${#NETNS_RM[@]} -gt 0 ] && rm -rf -- "${NETNS_RM[@]}"
	NETNS_RM=()
	[ -n "$NETNS_TMP" ] && rm -rf -- "$NETNS_TMP"
	NETNS_TMP= NS_A= NS_B= NS_C=
}

netns_on_exit() {
	netns_teardown
	eval "$NETNS_PREV_EXIT"
}

# Install the teardown before whatever EXIT trap the caller has now (lib.bash's removes its
# temporary dir), and make INT, TERM and HUP go through EXIT: bash's default for them would
# leave the namespaces behind.
netns_trap() {
	local prev
	prev=$(trap -p EXIT)
	if [ -n "$prev" ]; then
		eval "set -- $prev"	# trap -- 'CMD' EXIT
		case $3 in
		netns_on_exit) ;;
		*) NETNS_PREV_EXIT=$3 ;;
		esac
	fi
	trap netns_on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

# Why this machine cannot run the pair, before anything is created: nothing if it can.
netns_cannot() {
	NETNS_IP=$(command -v ip) || { echo "iproute2 (ip) is not installed"; return; }
	[ -c /dev/net/tun ] || { echo "/dev/net/tun is missing (no TUN support)"; return; }
	[ -d /proc/sys/net/ipv6 ] || echo "IPv6 is disabled in this kernel"
}

# netns_pair: create the pair (see the top of this file). 0 on success; 1 with the reason in
# NETNS_SKIP when this machine cannot (no ip, no namespaces, no veth, no TUN, no IPv6: the
# caller skips); 2 with the reason in NETNS_ERR when a step that should work failed. Whatever
# was made is torn down on failure.
netns_pair() {
	local out n=$NETNS_N
	NETNS_SKIP= NETNS_ERR=
	if [ -n "$NS_A" ]; then
		NETNS_ERR="netns_pair: this shell already has a pair ($NS_A, $NS_B)"
		return 2
	fi
	NETNS_SKIP=$(netns_cannot)
	[ -z "$NETNS_SKIP" ] || return 1
	NETNS_IP=$(command -v ip)
	netns_trap
	NETNS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/snaptun-netns.XXXXXX") || {
		NETNS_ERR="mktemp failed"
		return 2
	}
	chmod 700 "$NETNS_TMP"
	# $$ is the script's pid even in a subshell: unique among the scripts running at once.
	NS_A=snt-$$-a
	NS_B=snt-$$-b
	if ! out=$("$NETNS_IP" netns add "$NS_A" 2>&1); then
		NS_A= NS_B=
		NETNS_SKIP="cannot create a network namespace (ip netns add: $out)"
		netns_teardown
		return 1
	fi
	if ! out=$("$NETNS_IP" netns add "$NS_B" 2>&1); then
		NS_B=
		NETNS_ERR="ip netns add $NS_B: $out"
		netns_teardown
		return 2
	fi
	if ! out=$("$NETNS_IP" link add name "$NS_DEV" netns "$NS_A" type veth \
	    peer name "$NS_DEV" netns "$NS_B" 2>&1); then
		NETNS_SKIP="cannot create a veth pair between namespaces (ip link add: $out)"
		netns_teardown
		return 1
	fi
	# The probe: the namespaces are useless to the tests without TUN devices in them.
	if ! out=$(in_ns A "$NETNS_IP" tuntap add dev snt-probe mode tun 2>&1) ||
	    ! out=$(in_ns A "$NETNS_IP" link del snt-probe 2>&1); then
		NETNS_SKIP="cannot create a TUN device in a namespace (ip tuntap add: $out)"
		netns_teardown
		return 1
	fi
	NS_A4=10.99.$n.1 NS_B4=10.99.$n.2 NS_A6=fd99:$n::1 NS_B6=fd99:$n::2
	if ! out=$(netns_addr A "$NS_A4" "$NS_A6" 2>&1) ||
	    ! out=$(netns_addr B "$NS_B4" "$NS_B6" 2>&1); then
		NETNS_ERR="addressing the veth pair: $out"
		netns_teardown
		return 2
	fi
	return 0
}

# netns_addr A|B IPV4 IPV6: loopback and the veth end up, with both addresses.
netns_addr() {
	in_ns "$1" "$NETNS_IP" link set lo up && netns_link "$1" "$NS_DEV" "$2" "$3"
}

# netns_third: namespace C beside the pair (see the top of this file). 0 on success; 2 with the
# reason in NETNS_ERR (the pair could be made, so C can be too: no skip). Teardown removes it.
netns_third() {
	local out n=$NETNS_N
	NETNS_ERR=
	[ -n "$NS_B" ] || { NETNS_ERR="netns_third: no pair yet (netns_pair)"; return 2; }
	[ -z "$NS_C" ] || { NETNS_ERR="netns_third: this shell already has $NS_C"; return 2; }
	NS_C=snt-$$-c
	NS_C4=10.95.$n.1 NS_BC4=10.95.$n.2 NS_C6=fd95:$n::1 NS_BC6=fd95:$n::2
	if ! out=$("$NETNS_IP" netns add "$NS_C" 2>&1); then
		NS_C=
		NETNS_ERR="ip netns add snt-$$-c: $out"
		return 2
	fi
	if ! out=$("$NETNS_IP" link add name "$NS_DEV_C" netns "$NS_C" type veth \
	    peer name "$NS_DEV_C" netns "$NS_B" 2>&1) ||
	    ! out=$(in_ns C "$NETNS_IP" link set lo up 2>&1) ||
	    ! out=$(netns_link C "$NS_DEV_C" "$NS_C4" "$NS_C6" 2>&1) ||
	    ! out=$(netns_link B "$NS_DEV_C" "$NS_BC4" "$NS_BC6" 2>&1) ||
	    ! out=$(in_ns C "$NETNS_IP" route add default via "$NS_BC4" 2>&1) ||
	    ! out=$(in_ns C "$NETNS_IP" -6 route add default via "$NS_BC6" 2>&1); then
		NETNS_ERR="namespace C: $out"
		return 2
	fi
	return 0
}

# netns_link NS DEV IPV4 IPV6: DEV in NS up with both addresses (IPv6 without duplicate address
# detection).
netns_link() {
	in_ns "$1" "$NETNS_IP" addr add "$3/24" dev "$2" &&
	    in_ns "$1" "$NETNS_IP" -6 addr add "$4/64" dev "$2" nodad &&
	    in_ns "$1" "$NETNS_IP" link set "$2" up
}
