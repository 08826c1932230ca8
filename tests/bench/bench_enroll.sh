#!/usr/bin/env bash
# Durable enrollments per second through the real snaptun-manager (POST /v1/join, then
# POST /v1/join/ack with the ack token of the answer: two committed transactions each), under a
# concurrent load from wrk (a Lua script alternates joins and acks on its connections), beside a
# reference measured in the same run on the same file system: single-row SQLite transactions
# (sqlite3 CLI, WAL, synchronous=FULL, BEGIN; INSERT; COMMIT; each). Target: enrollments/s >=
# 1.0x the reference transactions/s. A missed target is printed, not fatal: the status is
# non-zero only when something cannot be set up or crashes. BENCH_QUICK=1 scales it down.
# Run from the repository root: BUILD=build bash tests/bench/bench_enroll.sh
set -u
BENCH=enroll
. "$(dirname "$0")/lib.bash"
if [ -n "$QUICK" ]; then
	REF_ROWS=5000 DURATION=3 ROUNDS=1
else
	REF_ROWS=20000 DURATION=5 ROUNDS=2
fi
THREADS=2 CONNS=32 TARGET=1.0
MAX_TOKENS=150000	# join tokens created for the load at most (1000 per request)

fail() {
	echo "bench_enroll: $*" >&2
	exit 1
}

[ -x "$BUILD/snaptun-manager" ] || fail "$BUILD/snaptun-manager is missing (make all)"
for c in wrk sqlite3 curl; do
	command -v $c >/dev/null 2>&1 || fail "$c is not installed (make deps)"
done

now() {
	date +%s.%N
}

# ---- the reference: raw SQLite single-row transactions ----

# ref_rate: transactions/s of REF_ROWS single-row BEGIN/INSERT/COMMIT in WAL, synchronous=FULL,
# in a fresh database in $tmp (the file system of the manager's state dir).
ref_rate() {
	local db=$tmp/ref.db t0 t1
	rm -f "$db" "$db-wal" "$db-shm"
	awk -v n="$REF_ROWS" 'BEGIN {
		print "PRAGMA journal_mode=WAL;"
		print "PRAGMA synchronous=FULL;"
		print "CREATE TABLE t (id INTEGER PRIMARY KEY, hash TEXT NOT NULL, at INTEGER NOT NULL);"
		for (i = 0; i < n; i++)
			print "BEGIN; INSERT INTO t (hash, at) VALUES (hex(randomblob(32)), " i "); COMMIT;"
	}' >"$tmp/ref.sql"
	t0=$(now)
	sqlite3 "$db" <"$tmp/ref.sql" >/dev/null || return 1
	t1=$(now)
	[ "$(sqlite3 "$db" 'SELECT count(*) FROM t')" = "$REF_ROWS" ] || return 1
	awk -v n="$REF_ROWS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f\n", n / (b - a) }'
}

echo "== enrollment: durable join + ack per second vs raw SQLite (WAL, synchronous=FULL) transactions"
REF1=$(ref_rate) || fail "the sqlite3 reference failed"
echo "reference: $REF_ROWS single-row transactions: $REF1 tx/s"

# ---- the manager ----

bench_mgr_start "$tmp/mgr" "$tmp/mgr.log" --enroll-rate 1000000 --enroll-burst 100000 ||
	fail "snaptun-manager did not start (with --enroll-rate 1000000 --enroll-burst 100000)"
case $URL in http://127.0.0.1:*) ;; *) fail "unexpected URL $URL" ;; esac

# Enough join tokens for the target to be met in every round (each round has its own); more
# would only cost set-up time. If a round uses them all up, its rate is at least what it reached
# (reported as >=).
PER=$(awk -v r="$REF1" -v d="$DURATION" -v n="$ROUNDS" -v m="$MAX_TOKENS" -v t="$TARGET" \
	'BEGIN { x = int(r * t * d * 1.3) + 1000; x = x * n > m ? int(m / n) : x; printf "%d\n", int((x + 999) / 1000) * 1000 }')
NTOK=$((PER * ROUNDS))
: >"$tmp/tokens"
t0=$(now)
for ((i = 0; i < NTOK / 1000; i++)); do
	curl -s --max-time 30 -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
		-d '{"count":1000,"ttl_seconds":86400,"labels":{"bench":"enroll"}}' "$URL/v1/join-tokens" |
		grep -o '"token":"snj_[^"]*"' | cut -d '"' -f 4 >>"$tmp/tokens"
done
[ "$(wc -l <"$tmp/tokens")" = "$NTOK" ] || fail "could not create $NTOK join tokens ($(wc -l <"$tmp/tokens"))"
echo "set-up: $NTOK join tokens ($PER a round) created in bulk in $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s"

# The load: tests/bench/enroll.lua (joins and acks on every connection).

# ---- the load ----

echo "wrk -t$THREADS -c$CONNS -d${DURATION}s, $ROUNDS round(s); 2 cores shared by wrk and the manager"
printf '%-6s %10s %10s %8s %14s %8s  %s\n' round joined acked errors enrollments/s ratio "p50 / p99 ms"
best=0 ran_out_any=0
for ((r = 1; r <= ROUNDS; r++)); do
	sed -n "$(((r - 1) * PER + 1)),$((r * PER))p" "$tmp/tokens" >"$tmp/tokens.$r"
	timeout $((DURATION + 60)) wrk -t$THREADS -c$CONNS -d"$DURATION"s --timeout 10s \
		-s tests/bench/enroll.lua "$URL" -- "$tmp/tokens.$r" "$THREADS" >"$tmp/wrk.out" 2>&1 ||
		{ cat "$tmp/wrk.out" >&2; fail "wrk failed"; }
	if ! kill -0 "$mgr_pid" 2>/dev/null; then
		tail -n 20 "$tmp/mgr.log" >&2
		grep '^ENROLL ' "$tmp/wrk.out" >&2
		fail "the manager died under load (round $r)"
	fi
	line=$(grep '^ENROLL ' "$tmp/wrk.out") || { cat "$tmp/wrk.out" >&2; fail "no ENROLL line from wrk"; }
	W_joined=0 W_acked=0 W_errors=0 W_ran_out=0 W_seconds=1 W_p50=0 W_p99=0
	eval "$(echo "${line#ENROLL }" | tr ' ' '\n' | sed 's/^/W_/')"
	rate=$(awk -v a="$W_acked" -v s="$W_seconds" 'BEGIN { printf "%.0f", a / s }')
	[ "$W_ran_out" -gt 0 ] && ran_out_any=1
	printf '%-6s %10s %10s %8s %14s %8s  %s\n' "$r" "$W_joined" "$W_acked" "$W_errors" \
		"$([ "$W_ran_out" -gt 0 ] && echo '>=')$rate" \
		"$(awk -v a="$rate" -v b="$REF1" 'BEGIN { printf "%.2fx", a / b }')" "$W_p50 / $W_p99"
	[ "$W_errors" -gt 0 ] && { grep '^status' "$tmp/wrk.out" | head -n 3 >&2; }
	[ "$rate" -gt "$best" ] && best=$rate
done

# The same reference again, after the load, on the same file system: the two runs bracket it.
REF2=$(ref_rate) || fail "the sqlite3 reference failed"
REF=$(awk -v a="$REF1" -v b="$REF2" 'BEGIN { printf "%.0f", (a + b) / 2 }')
echo "reference again: $REF2 tx/s; mean $REF tx/s"

# The acknowledged enrollments are really there (consumed tokens), not just answered.
consumed=$(curl -s --max-time 30 -H "Authorization: Bearer $ADMIN" \
	"$URL/v1/events?action=join_token.consume&limit=1" -o /dev/null -w '%{http_code}')
[ "$consumed" = 200 ] || fail "GET /v1/events after the load answered $consumed"

awk -v e="$best" -v r="$REF" -v t="$TARGET" -v ro="$ran_out_any" 'BEGIN {
	x = e / r
	printf "enrollments/s: %s%d   reference tx/s: %d   ratio: %.2fx   target: >= %.1fx   %s\n",
	    (ro ? ">=" : ""), e, r, x, t, (x >= t ? "met" : (ro ? "MISSED (the tokens ran out: raise MAX_TOKENS)" : "MISSED"))
}'
[ -n "$QUICK" ] && echo "(BENCH_QUICK: ${DURATION}s runs; the numbers are rougher)"
exit 0
