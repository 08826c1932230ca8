#!/usr/bin/env bash
# The namespace pair of tests/e2e/netns.bash, which the data-plane tests and benchmarks stand on:
# both address families cross the veth both ways, a TUN device can be made inside, and nothing
# is left behind — not after an explicit teardown, not when the script exits, not when it is
# killed with SIGTERM (namespaces, links, processes inside, even daemons, temporary dirs) — and
# a machine without the tools gets a skip with the reason, not a failure.
set -u
. "$(dirname "$0")/lib.bash"
NETNS_LIB=$(cd "$(dirname "$0")" && pwd)/netns.bash
. "$NETNS_LIB"

quiet() {
	"$@" >/dev/null 2>&1
}

# What the machine's own namespace shows of namespace $1: its file, and links whose peer is in it.
traces() {
	[ -e "/run/netns/$1" ] && echo "/run/netns/$1 exists"
	ip netns list 2>/dev/null | grep -w -- "$1"
	ip -o link show 2>/dev/null | grep -w -- "link-netns $1"
	return 0
}

# The skip path: without ip (an empty PATH) the pair is refused with the reason, making nothing.
out=$(PATH=/nonexistent; . "$NETNS_LIB"; netns_pair; echo "$? $NETNS_SKIP")
check "without iproute2, netns_pair returns 1 and says why (\"$out\")" \
    test "$out" = "1 iproute2 (ip) is not installed"

netns_pair
rc=$?
if [ $rc = 1 ]; then
	skip "two namespaces joined by a veth pair" "$NETNS_SKIP"
	e2e_finish
fi
[ $rc = 0 ] || e2e_bail "netns_pair: $NETNS_ERR"
ok "netns_pair makes $NS_A and $NS_B"
A=$NS_A B=$NS_B TMPD=$NETNS_TMP

check "the namespaces are listed" eval 'ip netns list | grep -qw -- "$A" && ip netns list | grep -qw -- "$B"'
check "no end of the veth pair sits in the caller's namespace" \
    test -z "$(ip -o link show | grep -e "link-netns $A" -e "link-netns $B")"
check "loopback is up in A" eval 'in_ns A ip -o link show lo | grep -q "UP"'
for fam in 4 6; do
	eval "a=\$NS_A$fam b=\$NS_B$fam"
	check "IPv$fam: A ($a) pings B ($b) across the veth" quiet in_ns A ping -"$fam" -c 1 -W 2 "$b"
	check "IPv$fam: B ($b) pings A ($a) across the veth" quiet in_ns B ping -"$fam" -c 1 -W 2 "$a"
done
check "a TUN device can be made in B" eval 'in_ns B ip tuntap add dev snt-t0 mode tun &&
    in_ns B ip link set snt-t0 up && in_ns B ip -o link show snt-t0 >/dev/null'
check "the private temporary dir is mode 700" test "$(stat -c %a "$TMPD")" = 700

# The third namespace: beside B, reaching B's own addresses on the first pair through its default
# routes (no forwarding in B).
netns_third || e2e_bail "netns_third: $NETNS_ERR"
C=$NS_C
check "netns_third makes $C" eval 'ip netns list | grep -qw -- "$C"'
check "IPv4: C ($NS_C4) pings B's end of its link ($NS_BC4) and B's address on the pair ($NS_B4)" \
    eval 'quiet in_ns C ping -4 -c 1 -W 2 "$NS_BC4" && quiet in_ns C ping -4 -c 1 -W 2 "$NS_B4"'
check "IPv6: C ($NS_C6) pings B's end of its link ($NS_BC6) and B's address on the pair ($NS_B6)" \
    eval 'quiet in_ns C ping -6 -c 1 -W 2 "$NS_BC6" && quiet in_ns C ping -6 -c 1 -W 2 "$NS_B6"'
check "B forwards nothing (C does not reach A)" eval '! quiet in_ns C ping -4 -c 1 -W 1 "$NS_A4"'

# A wrapped command runs inside its namespace, under its own pid when started in the background.
w=$(netns_wrap B ip) && PATH=$NETNS_TMP/bin-B:$PATH
check "netns_wrap B ip: the wrapper ($w) runs ip inside B" eval \
    'ip -o -4 addr show dev "$NS_DEV" | grep -qw -- "$NS_B4/24"'
PATH=${PATH#"$NETNS_TMP/bin-B:"}
w=$(netns_wrap B sleep snooze)
"$w" 300 &
wpid=$!
wait_for 5 eval '[ "$(cat /proc/$wpid/comm 2>/dev/null)" = sleep ]'
check "a wrapped program keeps its own pid ($wpid is $(cat /proc/$wpid/comm 2>/dev/null))" \
    eval '[ "$(cat /proc/$wpid/comm 2>/dev/null)" = sleep ] &&
    ip netns pids "$B" | grep -qx -- "$wpid"'

# Teardown stops a process started with netns_bg and one that left this shell (a daemon).
netns_bg A sleep 300
bg=$NETNS_BG_PID
wait_for 5 eval '[ "$(cat /proc/$bg/comm 2>/dev/null)" = sleep ]'
check "netns_bg gives the command's own pid ($bg is $(cat /proc/$bg/comm 2>/dev/null))" \
    test "$(cat /proc/$bg/comm 2>/dev/null)" = sleep
# shellcheck disable=SC2016 # the daemon's own $$
in_ns B setsid sh -c 'echo $$ >"$1"; exec sleep 301' daemon "$E2E_TMP/daemon.pid" \
    </dev/null >/dev/null 2>&1 &
wait_for 5 test -s "$E2E_TMP/daemon.pid"
daemon=$(cat "$E2E_TMP/daemon.pid" 2>/dev/null)
check "the processes inside are found (netns_bg $bg, daemon ${daemon:-none})" \
    eval '[ -n "$daemon" ] && ip netns pids "$B" | grep -qx -- "$daemon"'
touch "$E2E_TMP/rm-me"
NETNS_RM+=("$E2E_TMP/rm-me")
netns_teardown
check "teardown deletes the three namespaces and the veth pairs" \
    test -z "$(traces "$A")$(traces "$B")$(traces "$C")"
check "teardown stops the processes inside" eval '! kill -0 "$bg" 2>/dev/null &&
    ! kill -0 "$daemon" 2>/dev/null && ! kill -0 "$wpid" 2>/dev/null'
check "teardown removes the temporary dir and the NETNS_RM paths" \
    test ! -e "$TMPD" -a ! -e "$E2E_TMP/rm-me"
netns_teardown
check "a second teardown is harmless" test -z "$NS_A$NS_B$NS_C"

# A script that sources the library and ends, on its own or by a signal, leaves nothing either,
# and its own EXIT trap (set before netns_pair) still runs.
child() {
	# shellcheck disable=SC2016 # expanded by the child
	bash -c '
		. "$1"
		trap "rm -f $2/own-trap" EXIT
		touch "$2/own-trap"
		netns_pair || { echo "netns_pair: $NETNS_SKIP$NETNS_ERR" >&2; exit 1; }
		netns_bg A sleep 300
		echo "$NS_A $NS_B $NETNS_BG_PID $NETNS_TMP" >"$2/names"
		[ "$3" = exit ] && exit 0
		wait' child "$NETNS_LIB" "$E2E_TMP" "$1" 2>"$E2E_TMP/child.err" &
	CHILD=$!
}
for how in exit TERM; do
	rm -f "$E2E_TMP/names"
	child $how
	wait_for 10 test -s "$E2E_TMP/names"
	if [ $how = TERM ]; then
		kill -TERM $CHILD
	fi
	wait_for 10 eval '! kill -0 $CHILD 2>/dev/null'
	{ kill -KILL $CHILD; wait $CHILD; } 2>/dev/null
	read -r ca cb cpid ctmp <"$E2E_TMP/names" 2>/dev/null
	if [ -z "${ctmp:-}" ]; then
		not_ok "a script that ends by $how: it did not make its pair: $(cat "$E2E_TMP/child.err")"
		continue
	fi
	left=$(traces "$ca")$(traces "$cb")
	kill -0 "$cpid" 2>/dev/null && left="$left process $cpid still runs"
	[ -e "$ctmp" ] && left="$left $ctmp still exists"
	[ -e "$E2E_TMP/own-trap" ] && left="$left its own EXIT trap did not run"
	check "a script that ends by $how leaves nothing behind${left:+ (left: $left)}" test -z "$left"
done
e2e_finish
