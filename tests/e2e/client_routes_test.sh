#!/usr/bin/env bash
# The routes snaptun-client's TUN device gets, in the setup of tests/e2e/traffic.bash (client in
# namespace A, manager and gateway agent in B):
#   - a route the host has already (the same prefix via its own interface) is left alone: not
#     taken over, not removed at stop, and the log says so;
# Needs root (namespaces, TUN). Run from the repository root:
#   BUILD=build bash tests/e2e/client_routes_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash
. tests/e2e/netns.bash
. tests/e2e/traffic.bash

traffic_env "the client's routes"
traffic_join a4 A

# not_grep ARG...: grep -q finds nothing.
not_grep() {
	! grep -q "$@"
}

# down_wait NAME: `down` for client NAME and wait (10 s) for it to exit; NETNS_RC its status.
down_wait() {
	"$CLIENT" down --control "$E2E_TMP/$1.sock" >/dev/null 2>&1
	netns_stop "${UP_PID[$1]}" 10
}

# ======================================================================= a route the host has

in_ns A ip route add 203.0.113.0/24 dev "$NS_DEV" proto static ||
    e2e_bail "the host's own route 203.0.113.0/24 in A"
traffic_up a4 A snaptun0 --route 203.0.113.0/24 --route 198.18.0.0/24
in_ns A ip route show >"$E2E_TMP/routes"
that "the host's route 203.0.113.0/24 via $NS_DEV changed: $(cat "$E2E_TMP/routes")" \
    grep -q "^203\.0\.113\.0/24 dev $NS_DEV proto static" "$E2E_TMP/routes"
that "no log line saying the existing route is left alone: $(cat "$E2E_TMP/a4.err")" \
    grep -q "route 203.0.113.0/24 exists already: left alone" "$E2E_TMP/a4.err"
that "the log claims the existing route as the tunnel's: $(grep 203.0.113 "$E2E_TMP/a4.err")" \
    not_grep "route 203.0.113.0/24 via snaptun0" "$E2E_TMP/a4.err"
that "the new route 198.18.0.0/24 is not via snaptun0: $(cat "$E2E_TMP/routes")" \
    grep -q "^198\.18\.0\.0/24 dev snaptun0" "$E2E_TMP/routes"
verdict "a route the host has already is left alone (and logged so); the client's other route is added"
down_wait a4
in_ns A ip route show >"$E2E_TMP/routes"
that "the host's route 203.0.113.0/24 is gone after the client stopped: $(cat "$E2E_TMP/routes")" \
    grep -q "^203\.0\.113\.0/24 dev $NS_DEV" "$E2E_TMP/routes"
that "the client's route 198.18.0.0/24 stayed after stop: $(cat "$E2E_TMP/routes")" \
    not_grep "^198\.18\.0\.0/24" "$E2E_TMP/routes"
verdict "at stop the client removes its own routes only: the host's route stays"
in_ns A ip route del 203.0.113.0/24 dev "$NS_DEV"

no_sanitizer_reports
e2e_finish
