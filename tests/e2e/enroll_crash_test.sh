#!/usr/bin/env bash
# Crash test of enrollment: four background loops of curl calls enroll (POST /v1/join, then
# POST /v1/join/ack) with a bulk of join tokens while the foreground kills the manager with
# kill -9 at random moments (every 0.2-0.8 s, 7 times) and restarts it on the same state dir
# (on a new free port: the loops read manager.url again and shrug off connection failures).
# Afterwards, with the manager killed and restarted once more:
#   (a) every acknowledged enrollment (an ack answered 204) survived: its join token is consumed
#       and its client exists, enrolled, with the pssid of the bundle; its refresh token works;
#   (b) no token was consumed twice: at most one join_token.consume event per token, as many as
#       consumed tokens, and as many consumed tokens as enrolled clients (one per token);
#   (c) no join token is in flight for ever: every in-flight token has an ack_deadline within
#       30 s of now, no consumed_at, and exactly one unacknowledged client (the ack TTL is a
#       fixed 30 s, too long to wait for the revert here: tests/unit/enroll_test.c covers it);
#   (d) a consumed token presented again after the restarts -> 410;
#   (e) every bundle handed out (a join answered 201) names a client that exists.
# Run from the repository root: BUILD=build bash tests/e2e/enroll_crash_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

[ -x "$MANAGER" ] || e2e_bail "$MANAGER is not built (make all)"
command -v curl >/dev/null || e2e_bail "curl is missing (make deps)"

STATE=$E2E_TMP/state
W=$E2E_TMP/work	# the loops' files: tokens.N (index secret), joins.N, acks.N, gone.N, odd.N
mkdir -p "$W"
STOP=$W/stop
N=${CRASH_TOKENS:-1000}	# the most one bulk call makes; enough that the loops do not run out before the last kill
KILLS=${CRASH_KILLS:-7}
WORKERS=4
FAST=(--enroll-rate 100000 --enroll-burst 100000)
T_START=$(date +%s)

epoch() {
	date -u -d "$1" +%s 2>/dev/null
}

start_manager() {
	if ! mgr_start "$STATE" "${FAST[@]}"; then
		if grep -q "unrecognized option '--enroll" "$STATE.err" 2>/dev/null; then
			e2e_bail "the manager accepts --enroll-rate/--enroll-burst: $(grep -m1 unrecognized "$STATE.err")"
		fi
		e2e_bail "the manager (re)starts on the same state dir"
	fi
}

# field NAME TEXT: a string member of a flat JSON object (good enough for our own bundles).
field() {
	sed -n 's/.*"'"$1"'":"\([^"]*\)".*/\1/p' <<<"$2"
}

# client_loop K: enroll with the tokens of $W/tokens.K, one after the other, until they run out
# or $STOP exists. A connection failure (the manager is down) retries the same step; an ack that
# is refused after a failure means the ack may have committed: join again (same caller: the same
# pssid and a fresh ack, or 410 when the token was consumed after all).
client_loop() {
	local k=$1 i sec url out code body ack pssid refresh step tries
	while read -r i sec; do
		[ -e "$STOP" ] && break
		step=join tries=0
		while [ $tries -lt 300 ]; do
			tries=$((tries + 1))
			url=$(head -n 1 "$STATE/manager.url" 2>/dev/null)
			case $url in http://*:[0-9]*) ;; *) sleep 0.05; continue ;; esac
			if [ $step = join ]; then
				out=$(curl -s --max-time 3 --connect-timeout 1 -w '\n%{http_code}' \
				    -H 'Content-Type: application/json' \
				    -d "{\"token\":\"$sec\",\"name\":\"c-$i\"}" "$url/v1/join" 2>/dev/null)
			else
				out=$(curl -s --max-time 3 --connect-timeout 1 -w '\n%{http_code}' \
				    -H 'Content-Type: application/json' \
				    -d "{\"ack_token\":\"$ack\"}" "$url/v1/join/ack" 2>/dev/null)
			fi
			code=${out##*$'\n'} body=${out%$'\n'*}
			case $step:$code in
			join:201)
				pssid=$(field pssid "$body") ack=$(field ack_token "$body")
				refresh=$(field refresh_token "$body")
				echo "$i $pssid $refresh" >>"$W/joins.$k"
				step=ack
				;;
			join:410)
				echo "$i" >>"$W/gone.$k"	# consumed by an ack whose answer was lost
				break
				;;
			ack:204)
				echo "$i $pssid $refresh" >>"$W/acks.$k"
				break
				;;
			ack:410) step="join" ;;
			*:000) sleep 0.03 ;;
			*)
				echo "$step $i $code ${body:0:200}" >>"$W/odd.$k"
				sleep 0.05
				;;
			esac
		done
	done <"$W/tokens.$k"
}

# ======================================================================= set-up

start_manager
check "the manager runs ($URL)" kill -0 "$MGR_PID"
TOKEN=$(cat "$STATE/admin.token" 2>/dev/null)

api POST /v1/join-tokens "{\"count\":$N,\"labels\":{\"crash\":\"1\"}}"
want_status 201
want_len .items "$N"
verdict "$N join tokens are created in one call"
paste -d ' ' <(jeach .items id) <(jeach .items token) >"$W/all"
[ "$(wc -l <"$W/all")" = "$N" ] || e2e_bail "$N ids and secrets were read"
# index = token id; worker k takes every WORKERS-th token
for ((k = 1; k <= WORKERS; k++)); do
	awk -v w=$WORKERS -v k=$k 'NR % w == k % w' "$W/all" >"$W/tokens.$k"
	touch "$W/joins.$k" "$W/acks.$k" "$W/gone.$k" "$W/odd.$k"
done

# ======================================================================= enroll and crash

LOOPS=()
for ((k = 1; k <= WORKERS; k++)); do
	client_loop $k &
	LOOPS+=($!)
done

KILLED=0
for ((k = 1; k <= KILLS; k++)); do
	sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.2 + 0.6 * r / 32767 }')"
	mgr_stop KILL "$MGR_PID"
	[ "$MGR_RC" = 137 ] && KILLED=$((KILLED + 1))
	start_manager
done
that "$KILLED of $KILLS kills ended the manager with SIGKILL (137)" test "$KILLED" = "$KILLS"
verdict "the manager was killed with kill -9 $KILLS times during enrollment and restarted each time"

sleep 0.3
touch "$STOP"
for p in "${LOOPS[@]}"; do
	wait "$p"
done
for f in joins acks gone odd; do
	cat "$W/$f".* >"$W/$f"
done
NJ=$(wc -l <"$W/joins") NA=$(wc -l <"$W/acks") NG=$(wc -l <"$W/gone")
diag "$NJ joins answered 201, $NA acks answered 204, $NG tokens found consumed on a retried join"
that "only $NA acknowledged enrollments" test "$NA" -ge 10
that "the loops ran out of tokens before the kills were over" test "$(($(wc -l <"$W/acks") + NG))" -lt "$N"
verdict "the enrollment loops acknowledged enrollments throughout the kills ($NA)"

if [ -s "$W/odd" ]; then
	fail "answers other than 201/204/410/connection failures: $(head -n 5 "$W/odd")"
fi
verdict "the public endpoints answered only 201, 204 or 410 (or nothing while down)"

mgr_stop KILL "$MGR_PID"
start_manager
check "a last kill -9 and restart before the checks ($URL)" kill -0 "$MGR_PID"

# ======================================================================= the proof

api GET '/v1/join-tokens?label=crash=1&limit=1000'
want_status 200
want_len .items "$N"
verdict "GET /v1/join-tokens lists the $N tokens"
paste -d ' ' <(jeach .items id) <(jeach .items state) <(jeach .items consumed_at) \
    <(jeach .items ack_deadline) >"$W/tokstate"	# id state consumed_at ack_deadline

api GET '/v1/clients?limit=1000'
want_status 200
verdict "GET /v1/clients"
paste -d ' ' <(jeach .items pssid) <(jeach .items join_token) <(jeach .items enrolled) \
    <(jeach .items revoked_at) >"$W/clients"	# pssid join_token enrolled revoked_at
that "more than 1000 clients" test "$(jraw .next)" = null

# (a)
bad=0
while read -r i pssid refresh; do
	st=$(awk -v i="$i" '$1 == i { print $2 }' "$W/tokstate")
	cl=$(awk -v p="$pssid" '$1 == p { print $2, $3 }' "$W/clients")
	if [ "$st" != consumed ] || [ "$cl" != "$i true" ]; then
		bad=$((bad + 1))
		[ $bad -le 5 ] && fail "ack 204 for token $i (pssid $pssid): token \"$st\", client \"$cl\" (expected consumed, \"$i true\")"
	fi
done <"$W/acks"
that "$bad of $NA acknowledged enrollments lost" test "$bad" = 0
verdict "(a) every acknowledged enrollment survived: token consumed, client enrolled with its pssid"

bad=0
while read -r i pssid refresh; do
	code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' -H 'Content-Type: application/json' \
	    -d "{\"refresh_token\":\"$refresh\"}" "$URL/v1/token")
	if [ "$code" != 200 ]; then
		bad=$((bad + 1))
		[ $bad -le 5 ] && fail "token $i, pssid $pssid: POST /v1/token with its refresh token -> $code, expected 200"
	fi
done < <(head -n 40 "$W/acks")
verdict "(a) the refresh tokens of acknowledged enrollments work (first $(head -n 40 "$W/acks" | wc -l))"

# (b)
: >"$W/consume"
next=""
for ((p = 0; p < 20; p++)); do
	api GET "/v1/events?action=join_token.consume&limit=1000${next:+&after=$next}"
	[ "$STATUS" = 200 ] || { fail "GET /v1/events -> $STATUS"; break; }
	jeach .items object >>"$W/consume"
	[ "$(jraw .next)" = null ] && break
	next=$(jget .next)
done
DUP=$(sort "$W/consume" | uniq -d | head -n 5 | tr '\n' ' ')
that "tokens consumed twice: $DUP" test -z "$DUP"
NCONS=$(awk '$2 == "consumed"' "$W/tokstate" | wc -l)
NENR=$(awk '$3 == "true"' "$W/clients" | wc -l)
NENR_TOK=$(awk '$3 == "true" { print $2 }' "$W/clients" | sort -u | wc -l)
that "$(wc -l <"$W/consume") join_token.consume events, $NCONS consumed tokens" \
    test "$(wc -l <"$W/consume")" = "$NCONS"
that "$NCONS consumed tokens, $NENR enrolled clients" test "$NCONS" = "$NENR"
that "$NENR enrolled clients on $NENR_TOK distinct tokens" test "$NENR" = "$NENR_TOK"
that "$NCONS consumed tokens, fewer than the $NA acks seen" test "$NCONS" -ge "$NA"
that "$NCONS consumed tokens, more than the $NA acks + $NG found consumed" test "$NCONS" -le $((NA + NG + 2))
verdict "(b) no token consumed twice: $NCONS consumed = $(wc -l <"$W/consume") consume events = $NENR enrolled clients, one per token"

# (c)
NOW=$(date +%s)
NIF=0 bad=0
while read -r id st cat dl; do
	[ "$st" = in_flight ] || continue
	NIF=$((NIF + 1))
	d=$(epoch "$dl")
	n=$(awk -v i="$id" '$2 == i && $3 == "false"' "$W/clients" | wc -l)
	if [ -z "$d" ] || [ "$d" -gt $((NOW + 31)) ] || [ "$d" -lt $((NOW - 12)) ] || [ "$cat" != null ] ||
	    [ "$n" != 1 ]; then
		bad=$((bad + 1))
		[ $bad -le 5 ] && fail "in-flight token $id: ack_deadline $dl (now $NOW), consumed_at $cat, $n unacknowledged clients"
	fi
done <"$W/tokstate"
NUNACK=$(awk '$3 == "false"' "$W/clients" | wc -l)
that "$NUNACK unacknowledged clients, $NIF in-flight tokens" test "$NUNACK" = "$NIF"
verdict "(c) the $NIF in-flight tokens have an ack_deadline within 30 s of now, are not consumed, and one unacknowledged client each"

others=$(awk '$2 != "consumed" && $2 != "in_flight" && $2 != "issued" { print $1 ": " $2 }' "$W/tokstate" | head -n 3)
that "tokens in other states: $others" test -z "$others"
verdict "every token is issued, in flight or consumed"

# (d)
bad=0
while read -r i pssid refresh; do
	sec=$(awk -v i="$i" '$1 == i { print $2 }' "$W/all")
	api -t "" POST /v1/join "{\"token\":\"$sec\"}"
	if [ "$STATUS" != 410 ] || ! jget .detail | grep -q consumed; then
		bad=$((bad + 1))
		fail "token $i again -> $STATUS ${BODY:0:120}"
	fi
done < <(head -n 3 "$W/acks"; tail -n 3 "$W/acks")
that "$bad refused wrongly" test "$bad" = 0
verdict "(d) consumed tokens presented again after the restarts -> 410 (consumed)"

# (e)
bad=0
while read -r i pssid refresh; do
	grep -q "^$pssid $i " "$W/clients" && continue
	bad=$((bad + 1))
	[ $bad -le 5 ] && fail "join 201 for token $i gave pssid $pssid: no such client of token $i"
done <"$W/joins"
verdict "(e) every bundle handed out names an existing client of its token ($NJ)"

api POST /v1/join-tokens '{}'
want_status 201
verdict "the store still takes changes"

mgr_stop TERM
that "exit status $MGR_RC" test "$MGR_RC" = 0
verdict "the manager exits 0 on SIGTERM"

that "${#E2E_5XX[@]} 5xx answers" test ${#E2E_5XX[@]} -eq 0
verdict "no request of the checks was answered with a 5xx"
[ ${#E2E_5XX[@]} -eq 0 ] || diag ${E2E_5XX[@]+"${E2E_5XX[@]}"}

if report=$(sanitizer_report "$STATE.err"); then
	fail "sanitizer report in the manager's stderr"
	diag "$report"
fi
verdict "no sanitizer reports in the manager's stderr"
diag "runtime $(($(date +%s) - T_START)) s"

e2e_finish
