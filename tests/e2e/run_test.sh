#!/usr/bin/env bash
# End-to-end test of `make run` (scripts/run.sh) on a temporary state directory and free ports:
# it prints a working admin token; a second start while it runs is refused and leaves the running
# instance's files alone; the agent dying ends the instance (the manager stopped, status 1);
# once the bootstrap token was deleted, a start does not show it as the admin token but says
# how to get one; SIGTERM stops it cleanly.
# Run from the repository root: BUILD=build bash tests/e2e/run_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash
T_START=$(date +%s)

for b in "$MANAGER" "$BUILD/snaptun-agent"; do
	[ -x "$b" ] || e2e_bail "$b is not built (make all)"
done
for c in flock curl certtool; do
	command -v "$c" >/dev/null || e2e_bail "$c is missing (make deps)"
done
V=$E2E_TMP/var

# run_start NAME: scripts/run.sh on $V in the background, output in $E2E_TMP/NAME.out/.err;
# sets RUN_PID. Its children are killed at exit should the test end early.
run_start() {
	VAR=$V LISTEN=127.0.0.1:0 AGENT_LISTEN=127.0.0.1:0 BUILD=$BUILD \
	    bash scripts/run.sh >"$E2E_TMP/$1.out" 2>"$E2E_TMP/$1.err" &
	RUN_PID=$!
	E2E_PIDS+=("$RUN_PID")
}

# run_children: the manager and the agent of $RUN_PID join E2E_PIDS (killed at exit).
run_children() {
	local p
	for p in $(pgrep -P "$RUN_PID"); do
		E2E_PIDS+=("$p")
	done
}

# gone PID...: none of the processes lives.
gone() {
	local p
	for p in "$@"; do
		kill -0 "$p" 2>/dev/null && return 1
	done
	return 0
}

# run_wait SECONDS: wait until $RUN_PID ends; sets RUN_RC (124 when it does not end in time).
run_wait() {
	if wait_for "$1" gone "$RUN_PID"; then
		wait "$RUN_PID"
		RUN_RC=$?
	else
		RUN_RC=124
	fi
}

# ======================================================================= a first start

run_start first
wait_line "$E2E_TMP/first.out" '^snaptun is running' 20 ||
    e2e_bail "make run starts (stderr: $(tail -3 "$E2E_TMP/first.err"))"
run_children
FIRST=$RUN_PID
URL=$(cat "$V/manager.url")
BOOT=$(cat "$V/admin.token")
that "the admin token $BOOT is not printed" grep -qF "admin token:  $BOOT" "$E2E_TMP/first.out"
TOKEN=$BOOT
api GET /v1/agents
want_status 200
verdict "make run prints the admin token of $V/admin.token, and it works"

# ======================================================================= a second start

run_start second
run_wait 10
that "the second make run exited $RUN_RC, expected 1" test "$RUN_RC" = 1
that "the second make run does not say that one runs: $(cat "$E2E_TMP/second.err")" \
    grep -q 'already runs' "$E2E_TMP/second.err"
verdict "a second make run on the same state directory is refused (status 1, says why)"
that "var/manager.url was deleted" test -s "$V/manager.url"
that "var/agent/agent.addr was deleted" test -s "$V/agent/agent.addr"
api -t "" GET '/v1/health?live'
want_status 200
verdict "the running instance keeps its manager.url and agent.addr, and goes on serving"

# ======================================================================= the agent dies

RUN_PID=$FIRST
AGENT=$(pgrep -P "$RUN_PID" -x snaptun-agent)
MGR=$(pgrep -P "$RUN_PID" -x snaptun-manager)
that "no agent or manager under make run" test -n "$AGENT" -a -n "$MGR"
verdict "make run runs a manager ($MGR) and an agent ($AGENT)"

api POST /v1/admin-tokens '{"name":"second-admin","scope":"admin"}'
want_status 201
NEWTOK=$(jget .token)
api GET /v1/admin-tokens
BOOT_ID=$(jget .items[0].id)
api DELETE "/v1/admin-tokens/$BOOT_ID"
want_status 204
verdict "the bootstrap token is deleted (another admin token made first)"

kill -9 "$AGENT"
run_wait 10
that "make run exited $RUN_RC after its agent died, expected 1" test "$RUN_RC" = 1
that "make run did not say the agent exited: $(cat "$E2E_TMP/first.err")" \
    grep -q 'the agent exited' "$E2E_TMP/first.err"
that "the manager $MGR still runs" wait_for 5 gone "$MGR"
verdict "the agent dying ends make run: says so, stops the manager, status 1"

# ======================================================================= a stale admin token

run_start third
wait_line "$E2E_TMP/third.out" '^snaptun is running' 20 ||
    e2e_bail "make run starts again (stderr: $(tail -3 "$E2E_TMP/third.err"))"
run_children
MGR=$(pgrep -P "$RUN_PID" -x snaptun-manager)
AGENT=$(pgrep -P "$RUN_PID" -x snaptun-agent)
that "the deleted bootstrap token is still printed" test -z "$(grep -F "$BOOT" "$E2E_TMP/third.out")"
that "no word on the token that no longer works" grep -q 'no longer works' "$E2E_TMP/third.out"
that "no hint how to get an admin token" grep -q 'POST /v1/admin-tokens' "$E2E_TMP/third.out"
verdict "after the bootstrap token was deleted, make run does not print it but says how to get one"
URL=$(cat "$V/manager.url")
TOKEN=$NEWTOK
api GET /v1/agents
want_status 200
verdict "the instance serves with the admin token made before"

kill -TERM "$RUN_PID"
run_wait 10
that "make run exited $RUN_RC on SIGTERM, expected 0" test "$RUN_RC" = 0
that "the manager $MGR or the agent $AGENT survived make run" \
    wait_for 5 gone "$MGR" "$AGENT"
verdict "SIGTERM stops make run cleanly (status 0), the manager and the agent with it"
echo "# runtime $(($(date +%s) - T_START)) s"
e2e_finish
