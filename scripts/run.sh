#!/usr/bin/env bash
# make run: the manager and the agent on one state directory, in the foreground until Ctrl-C
# or until either of them dies (then the other is stopped too and the exit status is 1).
# Only one instance runs per state directory: a second start says so and touches nothing.
# Environment: BUILD (build), VAR (var), LISTEN (127.0.0.1:8080), AGENT_LISTEN (127.0.0.1:4433).
set -u
BUILD=${BUILD:-build}
VAR=${VAR:-var}
LISTEN=${LISTEN:-127.0.0.1:8080}
AGENT_LISTEN=${AGENT_LISTEN:-127.0.0.1:4433}

say() {
	echo "make run: $*" >&2
}

mkdir -p -m 700 "$VAR" || exit 1
# The lock is held by this script and, through the inherited descriptor, by the manager and the
# agent: while any of them lives, the instance's files stay.
exec 9>>"$VAR/run.lock"
if ! flock -n 9; then
	say "snaptun already runs on $VAR ($(cat "$VAR/manager.url" 2>/dev/null || echo "starting")); stop it first (Ctrl-C where it runs)"
	exit 1
fi
rm -f "$VAR/manager.url" "$VAR/agent/agent.addr"

mgr='' agent=''
stop() {
	kill $agent $mgr 2>/dev/null
	wait
}
trap 'stop; exit 0' INT TERM

"$BUILD/snaptun-manager" --state-dir "$VAR" --listen "$LISTEN" &
mgr=$!
for _ in $(seq 100); do
	[ -s "$VAR/manager.url" ] && break
	kill -0 $mgr 2>/dev/null || { say "the manager did not start"; exit 1; }
	sleep 0.1
done
[ -s "$VAR/manager.url" ] || { say "the manager did not say its URL within 10 s"; stop; exit 1; }
"$BUILD/snaptun-agent" --state-dir "$VAR/agent" --manager-socket "$VAR/agent.sock" \
    --listen "$AGENT_LISTEN" &
agent=$!
for _ in $(seq 100); do
	[ -s "$VAR/agent/agent.addr" ] && break
	kill -0 $agent 2>/dev/null || { say "the agent did not start"; stop; exit 1; }
	sleep 0.1
done
[ -s "$VAR/agent/agent.addr" ] || { say "the agent did not listen within 10 s"; stop; exit 1; }

url=$(cat "$VAR/manager.url")
pin=$(certtool -i --infile "$VAR/agent/cert.pem" |
    sed -n 's/^[[:space:]]*pin-sha256:\(.*\)$/\1/p' | head -n 1)
# The token file holds the bootstrap token; once an operator deleted it (or it expired), it is
# no admin token any more and must not be shown as one.
token=$(cat "$VAR/admin.token" 2>/dev/null)
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
    "$url/v1/admin-tokens?limit=1" 2>/dev/null)
echo
echo "snaptun is running (Ctrl-C stops it)"
echo "  dashboard:    $url/   (log in with the admin token below)"
echo "  admin API:    $url/v1/   (reference: api.md)"
echo "  health:       $url/v1/health   (ready: store writable, an agent connected; ?live: up)"
echo "  metrics:      $url/metrics   (Prometheus text; a read or admin token)"
if [ "$code" = 200 ]; then
	echo "  admin token:  $token   (in $VAR/admin.token)"
	echo "  try:          curl -H \"Authorization: Bearer \$(cat $VAR/admin.token)\" $url/v1/agents"
else
	echo "  admin token:  none: the bootstrap token in $VAR/admin.token no longer works (HTTP ${code:-?};"
	echo "                deleted or expired). Use an admin token made with POST /v1/admin-tokens"
	echo "                (api.md, \"Admin tokens\"); without one, only an empty state directory"
	echo "                makes a new bootstrap token (rm -rf $VAR loses everything)."
fi
echo "  tunnels:      quic://$(cat "$VAR/agent/agent.addr")  (ALPN snaptun, SPKI pin $pin)"
echo "  state:        $VAR (SQLite: $VAR/snaptun.db; the agent's identity: $VAR/agent)"
echo

# Whichever ends first ends the instance.
wait -n $mgr $agent
rc=$?
if ! kill -0 $mgr 2>/dev/null; then
	say "the manager exited (status $rc); stopping the agent"
else
	say "the agent exited (status $rc); stopping the manager"
fi
stop
exit 1
