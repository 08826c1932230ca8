#!/usr/bin/env bash
# End-to-end test of the endpoint an agent advertises (agent/README.md "The advertised endpoint"):
# --advertise is what GET /v1/agents and join bundles list; an agent listening on a wildcard
# address without it derives its address (in a network namespace the test sets up with a known
# address and default route) and says so in its log, or, where it finds none (a namespace with
# only loopback), refuses to start naming --advertise; a wildcard --advertise is refused.
# Run from the repository root: BUILD=build bash tests/e2e/agent_advertise_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

tunnel_env --advertise gw.example.net:4433

# ======================================================================= --advertise

api GET /v1/agents
want_status 200
want .items[0].listen_address gw.example.net:4433
verdict "GET /v1/agents lists the --advertise endpoint, not the listener $AGENT_ADDR"
enroll alice || e2e_bail "alice enrolls ($REQ -> $STATUS: $BODY)"
that "the join bundle does not list gw.example.net:4433: $JOIN_BUNDLE" \
    test "$(jget .agents[0].address "$JOIN_BUNDLE")" = gw.example.net:4433
verdict "the join bundle lists the --advertise endpoint"
agent_stop

# A wildcard or malformed --advertise is refused at start, naming the flag.
for bad in 0.0.0.0:4433 '[::]:4433' gw.example.net 'gw.example.net:0' '2001:db8::1:4433'; do
	rc=0
	"$AGENT" --state-dir "$E2E_TMP/agent" --listen 127.0.0.1:0 \
	    --manager-socket "$MGR_DIR/agent.sock" --advertise "$bad" >/dev/null \
	    2>"$E2E_TMP/bad.err" || rc=$?
	that "--advertise $bad: exit status $rc, not 1" test "$rc" = 1
	that "--advertise $bad: the message does not name --advertise: $(cat "$E2E_TMP/bad.err")" \
	    grep -q -- '--advertise' "$E2E_TMP/bad.err"
done
verdict "a wildcard or malformed --advertise is refused at start"

# ======================================================================= derived

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
	skip "a wildcard listener's address is derived" "not root or no ip(8): no network namespace"
	skip "a wildcard listener without a routable address refuses to start" "no network namespace"
	no_sanitizer_reports
	mgr_stop
	e2e_finish
fi
NS=snt-adv-$$
if ! ip netns add "$NS" 2>"$E2E_TMP/netns.err"; then
	skip "a wildcard listener's address is derived" "ip netns add: $(head -n 1 "$E2E_TMP/netns.err")"
	no_sanitizer_reports
	mgr_stop
	e2e_finish
fi
trap 'e2e_cleanup; ip netns del "$NS" 2>/dev/null' EXIT
ip netns exec "$NS" ip link set lo up
printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NS" "$(realpath "$AGENT")" >"$E2E_TMP/agent-ns"
chmod +x "$E2E_TMP/agent-ns"

# Only loopback: no address to derive.
rc=0
"$E2E_TMP/agent-ns" --state-dir "$E2E_TMP/agent" --listen 0.0.0.0:0 \
    --manager-socket "$MGR_DIR/agent.sock" >/dev/null 2>"$E2E_TMP/noroute.err" || rc=$?
that "exit status $rc, not 1" test "$rc" = 1
that "the refusal does not name --advertise: $(cat "$E2E_TMP/noroute.err")" \
    grep -q -- 'set --advertise' "$E2E_TMP/noroute.err"
verdict "a wildcard listener with no routable address refuses to start, naming --advertise"

# 198.51.100.5/24 and a default route (both on loopback, which needs no kernel module): that is
# the address the kernel picks toward the internet.
if ip netns exec "$NS" ip addr add 198.51.100.5/24 dev lo 2>/dev/null &&
    ip netns exec "$NS" ip route add default dev lo 2>/dev/null; then
	AGENT=$E2E_TMP/agent-ns AGENT_LISTEN=0.0.0.0:0 agent_start "$E2E_TMP/agent" ||
	    e2e_bail "the agent starts on 0.0.0.0:0 in the namespace"
	PORT=${AGENT_ADDR##*:}
	that "the log does not say what it advertises: $(cat "$E2E_TMP/agent.err")" \
	    wait_line "$E2E_TMP/agent.err" "advertising 198\.51\.100\.5:$PORT \(derived; set --advertise to choose\)"
	advertised() {
		api GET /v1/agents
		[ "$(jget .items[0].listen_address)" = "198.51.100.5:$PORT" ]
	}
	that "GET /v1/agents does not list 198.51.100.5:$PORT: $BODY" wait_for 10 advertised
	verdict "a wildcard listener advertises the derived 198.51.100.5:$PORT and logs it"
	agent_stop
else
	skip "a wildcard listener's address is derived" "cannot add an address and a default route in the namespace"
fi
no_sanitizer_reports
mgr_stop
e2e_finish
