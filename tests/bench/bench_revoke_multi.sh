#!/usr/bin/env bash
# Revocation latency across managers (issue 13): two managers on one PostgreSQL database
# (tests/e2e/pg.bash, fsync on), an agent attached to manager B, bench_tunnels revoke
# (POST /v1/revocations -> the client sees close code 3, tests/bench/bench_tunnels.c) with the
# API calls made on B (the reference: the change and the agent on one manager, sent right
# after the commit) and then on A (the row reaches B by its NOTIFY, or its 1 s poll). The
# target is the same-manager one of bench_agent.sh: p99 <= 50 ms. A missed target is printed,
# not fatal. BENCH_QUICK=1 revokes fewer tunnels.
# Run from the repository root: BUILD=build bash tests/bench/bench_revoke_multi.sh
set -u
BENCH=revoke_multi
. "$(dirname "$0")/lib.bash"
COUNT=200
[ -n "$QUICK" ] && COUNT=50

fail() {
	echo "bench_revoke_multi: $*" >&2
	exit 1
}
# pg.bash reports its failures with diag.
diag() {
	echo "bench_revoke_multi: $*" >&2
}
. tests/e2e/pg.bash
trap 'bench_cleanup; pg_stop' EXIT

for f in snaptun-manager snaptun-agent tools/mktoken bench/bench_tunnels; do
	[ -x "$BUILD/$f" ] || fail "$BUILD/$f is missing (make bench builds it)"
done
for c in curl certtool; do
	command -v $c >/dev/null 2>&1 || fail "$c is not installed (make deps)"
done
pg_start fsync=on || fail "no PostgreSQL server (make deps installs it)"
DB=$(pg_createdb) || fail "no database"
STORE=$(pg_uri "$DB")

bench_mgr_start "$tmp/a" "$tmp/a.log" --store "$STORE" || fail "manager A did not start"
URL_A=$URL ADMIN_A=$ADMIN
# B opens A's keys with a copy of its store secret, and takes the admin token from the store.
mkdir -p -m 700 "$tmp/b" && cp -p "$tmp/a/store.secret" "$tmp/b/store.secret"
bench_mgr_start "$tmp/b" "$tmp/b.log" --store "$STORE" || fail "manager B did not start"
URL_B=$URL
bench_issuer_pool "$URL_A" "$ADMIN_A" || fail "the pool and the issuer key"
bench_agent_start "$tmp/agent" "$tmp/b/agent.sock" "$tmp/agent.log" ||
	fail "the agent did not start"
bench_agent_wait "$URL_B" "$ADMIN_A" || fail "the agent did not attach to manager B"

ARGS=(--server "$AGENT_ADDR" --pin "$PIN" --key "$tmp/issuer.pem" --admin-token "$ADMIN_A"
	--count "$COUNT")
echo "== revocation latency on PostgreSQL, the agent attached to manager B"
echo "-- API call on B (same manager: the reference)"
timeout 300 "$BUILD/bench/bench_tunnels" revoke "${ARGS[@]}" --url "$URL_B" ||
	fail "bench_tunnels revoke through B failed (status $?)"
echo "-- API call on A (across managers)"
timeout 300 "$BUILD/bench/bench_tunnels" revoke "${ARGS[@]}" --url "$URL_A" ||
	fail "bench_tunnels revoke through A failed (status $?)"
[ -n "$QUICK" ] && echo "(BENCH_QUICK: fewer tunnels; the numbers are rougher)"
exit 0
