#!/usr/bin/env bash
# The two stores side by side, in the same run on the same machine: allocations/s (bench_store:
# alloc_acquire, 64 per commit) and durable enrollments/s (the real snaptun-manager, POST
# /v1/join then /v1/join/ack under wrk, tests/bench/enroll.lua) on SQLite (the reference: one
# manager, the embedded default) and on PostgreSQL with one manager and with two on one database
# (the two sums). PostgreSQL runs from tests/e2e/pg.bash with fsync on, as SQLite's
# synchronous=FULL: both make a commit durable. Reported, not judged: the point is the price of
# the shared store and what a second manager adds. Also the cost of writing an agent's live
# sessions with its report (bench_livesession: 1,000 and 5,000 sessions) beside the report
# alone, on both stores: why the table is written only where managers share a store. BENCH_QUICK=1 shortens the runs.
# Run from the repository root: BUILD=build bash tests/bench/bench_store.sh
set -u
BENCH=store
. "$(dirname "$0")/lib.bash"
if [ -n "$QUICK" ]; then
	SECS=3 TOKENS=3000
else
	SECS=8 TOKENS=12000
fi
THREADS=2 CONNS=32

fail() {
	echo "bench_store: $*" >&2
	exit 1
}
# pg.bash reports its failures with diag.
diag() {
	echo "bench_store: $*" >&2
}
. tests/e2e/pg.bash
trap 'pg_stop; bench_cleanup' EXIT

for f in "$BUILD/snaptun-manager" "$BUILD/bench/bench_store" "$BUILD/bench/bench_livesession"; do
	[ -x "$f" ] || fail "$f is missing (make bench builds it)"
done
command -v wrk >/dev/null || fail "wrk is not installed (make deps)"
pg_start fsync=on || fail "no PostgreSQL server (make deps installs it)"

# ---- allocations ----

# alloc_run LABEL STORE...: one bench_store process per STORE at once; prints the summed rate.
alloc_run() {
	local label=$1 i=0 pids=() total=0
	shift
	for s in "$@"; do
		"$BUILD/bench/bench_store" "$s" "$SECS" "$label" >"$tmp/alloc.$i" 2>&1 &
		pids+=($!)
		i=$((i + 1))
	done
	for p in "${pids[@]}"; do
		wait "$p" || { cat "$tmp"/alloc.* >&2; fail "bench_store failed ($label)"; }
	done
	awk '/^ALLOC / { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	    n += v["allocations"]; if (v["seconds"] > s) s = v["seconds"]; b += v["busy"] }
	    END { printf "%.0f %d\n", n / s, b }' "$tmp"/alloc.*
	rm -f "$tmp"/alloc.*
}

echo "== store: allocations/s (alloc_acquire, 64 per commit, ${SECS}s), one pool shared"
printf '%-30s %14s %8s %10s\n' store allocations/s vs-sqlite busy-retries
read -r A_SQ B_SQ <<<"$(alloc_run sqlite "sqlite:$tmp/alloc.db")"
printf '%-30s %14s %8s %10s\n' "SQLite, 1 process (reference)" "$A_SQ" 1.00x "$B_SQ"
DB1=$(pg_createdb) || fail "createdb"
read -r A_P1 B_P1 <<<"$(alloc_run pg1 "$(pg_uri "$DB1")")"
printf '%-30s %14s %8s %10s\n' "PostgreSQL, 1 process" "$A_P1" \
    "$(awk -v a="$A_P1" -v b="$A_SQ" 'BEGIN { printf "%.2fx", a / b }')" "$B_P1"
DB2=$(pg_createdb) || fail "createdb"
read -r A_P2 B_P2 <<<"$(alloc_run pg2 "$(pg_uri "$DB2")" "$(pg_uri "$DB2")")"
printf '%-30s %14s %8s %10s\n' "PostgreSQL, 2 processes" "$A_P2" \
    "$(awk -v a="$A_P2" -v b="$A_SQ" 'BEGIN { printf "%.2fx", a / b }')" "$B_P2"
dups=$(pg_sql "$DB2" "SELECT count(*) - count(DISTINCT address) FROM grants")
[ "$dups" = 0 ] || fail "PostgreSQL, 2 processes: $dups addresses handed out twice"

# ---- live sessions ----

# live_run LABEL STORE N: "ms of the report alone" "ms with N sessions" (medians of 30).
live_run() {
	"$BUILD/bench/bench_livesession" "$2" "$3" 30 "$1" 2>/dev/null >"$tmp/live" ||
		fail "bench_livesession failed ($1)"
	awk '/^LIVESESSION / { split($4, kv, "="); printf "%s ", kv[2] }' "$tmp/live"
}

echo "== store: an agent's report transaction, alone (reference) and with its live sessions"
printf '%-30s %10s %12s %14s
' store sessions report-ms with-sessions-ms
for n in 1000 5000; do
	read -r R_SQ L_SQ <<<"$(live_run sqlite "sqlite:$tmp/live$n.db" "$n")"
	printf '%-30s %10s %12s %14s
' SQLite "$n" "$R_SQ" "$L_SQ"
	DBL=$(pg_createdb) || fail "createdb"
	read -r R_PG L_PG <<<"$(live_run pg "$(pg_uri "$DBL")" "$n")"
	printf '%-30s %10s %12s %14s
' PostgreSQL "$n" "$R_PG" "$L_PG"
done

# ---- enrollments ----

# tokens URL N FILE: N join tokens made through the manager at URL, one a line into FILE.
tokens() {
	local i
	: >"$3"
	for ((i = 0; i < $2; i += 500)); do
		curl -s --max-time 60 -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
		    -d "{\"count\":$(($2 - i < 500 ? $2 - i : 500)),\"ttl_seconds\":86400}" "$1/v1/join-tokens" |
		    grep -o '"token":"snj_[^"]*"' | cut -d '"' -f 4 >>"$3"
	done
	[ "$(wc -l <"$3")" = "$2" ] || fail "could not create $2 join tokens at $1"
}

# enroll_run URL...: wrk on each manager at once (its own tokens, CONNS / n connections each);
# prints acknowledged enrollments/s summed, and the errors.
enroll_run() {
	local n=$# i=0 pids=() u
	for u in "$@"; do
		tokens "$u" $((TOKENS / n)) "$tmp/tok.$i"
		i=$((i + 1))
	done
	i=0
	for u in "$@"; do
		timeout $((SECS + 60)) wrk -t$THREADS -c$((CONNS / n)) -d"$SECS"s --timeout 10s \
		    -s tests/bench/enroll.lua "$u" -- "$tmp/tok.$i" "$THREADS" >"$tmp/wrk.$i" 2>&1 &
		pids+=($!)
		i=$((i + 1))
	done
	for p in "${pids[@]}"; do
		wait "$p" || { cat "$tmp"/wrk.* >&2; fail "wrk failed"; }
	done
	awk '/^ENROLL / { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	    a += v["acked"]; if (v["seconds"] > s) s = v["seconds"]; e += v["errors"]; r += v["ran_out"] }
	    END { printf "%s%.0f %d\n", (r ? ">=" : ""), a / s, e }' "$tmp"/wrk.*
	rm -f "$tmp"/wrk.* "$tmp"/tok.*
}

FAST=(--enroll-rate 1000000 --enroll-burst 100000)
echo "== store: durable enrollments/s (join + ack through snaptun-manager, wrk -c$CONNS, ${SECS}s)"
printf '%-30s %14s %8s %10s\n' store enrollments/s vs-sqlite errors
bench_mgr_start "$tmp/sq" "$tmp/sq.log" "${FAST[@]}" || fail "the SQLite manager did not start"
read -r E_SQ X_SQ <<<"$(enroll_run "$URL")"
printf '%-30s %14s %8s %10s\n' "SQLite, 1 manager (reference)" "$E_SQ" 1.00x "$X_SQ"
bench_stop "$mgr_pid"

DB3=$(pg_createdb) || fail "createdb"
bench_mgr_start "$tmp/p1" "$tmp/p1.log" --store "$(pg_uri "$DB3")" "${FAST[@]}" ||
	fail "the PostgreSQL manager did not start"
U1=$URL
read -r E_P1 X_P1 <<<"$(enroll_run "$U1")"
printf '%-30s %14s %8s %10s\n' "PostgreSQL, 1 manager" "$E_P1" \
    "$(awk -v a="${E_P1#>=}" -v b="${E_SQ#>=}" 'BEGIN { printf "%.2fx", a / b }')" "$X_P1"
mkdir -p -m 700 "$tmp/p2" && cp -p "$tmp/p1/store.secret" "$tmp/p2/store.secret"
A1=$ADMIN
bench_mgr_start "$tmp/p2" "$tmp/p2.log" --store "$(pg_uri "$DB3")" "${FAST[@]}" ||
	fail "the second PostgreSQL manager did not start"
ADMIN=$A1
read -r E_P2 X_P2 <<<"$(enroll_run "$U1" "$URL")"
printf '%-30s %14s %8s %10s\n' "PostgreSQL, 2 managers" "$E_P2" \
    "$(awk -v a="${E_P2#>=}" -v b="${E_SQ#>=}" 'BEGIN { printf "%.2fx", a / b }')" "$X_P2"
echo "(2 cores shared by wrk, the managers and PostgreSQL; >= : the tokens ran out first)"
exit 0
