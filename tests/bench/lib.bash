# What the bash benchmark scripts share (source it, with BENCH set to the script's short name;
# not a benchmark itself, hence not *.sh): BUILD, QUICK (BENCH_QUICK, where 0 is off), a
# temporary dir $tmp, and an exit trap that stops every process in BENCH_PIDS (the last started
# first) and removes $tmp.

BUILD=${BUILD:-build}
QUICK=${BENCH_QUICK:-}
[ "$QUICK" = 0 ] && QUICK=
tmp=$(mktemp -d "${TMPDIR:-/tmp}/snaptun-bench-$BENCH.XXXXXX") || exit 1
BENCH_PIDS=()	# started in the background and not yet stopped

# bench_stop PID: SIGTERM, then SIGKILL if it is still there 5 s later; reap it.
bench_stop() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

bench_cleanup() {
	local i
	for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
		bench_stop "${BENCH_PIDS[i]}"
	done
	BENCH_PIDS=()
	rm -rf "$tmp"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# bench_wait_file FILE PID LOG: wait (10 s at most) until the process PID, just started, wrote
# FILE (its address); 1, with the end of its LOG on stderr, if it did not (or died).
bench_wait_file() {
	for _ in $(seq 100); do
		[ -s "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	[ -s "$1" ] && return 0
	tail -n 20 "$3" >&2
	return 1
}

# bench_issuer_pool URL ADMIN: a /16 ip pool "bench" of 1-ff00:0:110 and an outside issuer key
# "bench-issuer" (its private half in $tmp/issuer.pem, for bench_tunnels --key) through the
# manager at URL. 1, with the manager's answer on stderr, when it refuses either.
bench_issuer_pool() {
	local h=(-H "Authorization: Bearer $2" -H "Content-Type: application/json") code pem
	code=$(curl -s -o "$tmp/body" -w '%{http_code}' "${h[@]}" \
		-d '{"name":"bench","isd_as":"1-ff00:0:110","prefix":"10.128.0.0/16","mode":"ip"}' \
		"$1/v1/pools")
	[ "$code" = 201 ] || { echo "POST /v1/pools answered $code: $(cat "$tmp/body")" >&2; return 1; }
	pem=$("$BUILD/tools/mktoken" --new-key "$tmp/issuer.pem" | awk '{ printf "%s\\n", $0 }')
	code=$(curl -s -o "$tmp/body" -w '%{http_code}' "${h[@]}" \
		-d "{\"kid\":\"bench-issuer\",\"alg\":\"EdDSA\",\"public_key_pem\":\"$pem\"}" \
		"$1/v1/keys")
	[ "$code" = 201 ] || { echo "POST /v1/keys answered $code: $(cat "$tmp/body")" >&2; return 1; }
}

# bench_mgr_start DIR LOG [ARG...]: start snaptun-manager on state dir DIR on a free loopback port
# (--log-level error, then ARGs), its output into LOG, and wait (10 s at most) for
# DIR/manager.url. Sets mgr_pid, URL and ADMIN (the bootstrap admin token, empty when the store
# had one already); 1, with the end of
# LOG on stderr, if it did not start.
bench_mgr_start() {
	local dir=$1 log=$2
	shift 2
	mkdir -p -m 700 "$dir"
	"$BUILD/snaptun-manager" --state-dir "$dir" --listen 127.0.0.1:0 --log-level error "$@" \
		>"$log" 2>&1 &
	mgr_pid=$!
	BENCH_PIDS+=("$mgr_pid")
	bench_wait_file "$dir/manager.url" "$mgr_pid" "$log" || return 1
	URL=$(head -n 1 "$dir/manager.url")
	# None from a manager that joined a store which had its bootstrap token already.
	ADMIN=$(cat "$dir/admin.token" 2>/dev/null)
	return 0
}

# bench_agent_start DIR SOCKET LOG [ARG...]: start snaptun-agent on state dir DIR on a free
# loopback port, attached to the manager socket SOCKET (--log-level error, then ARGs; prefixed
# by the command in BENCH_AGENT_WRAP, e.g. taskset), its output into LOG, and wait (10 s at
# most) for DIR/agent.addr. Sets agent_pid, AGENT_ADDR and PIN (base64 SPKI of its
# certificate); 1, with the end of LOG on stderr, if it did not start.
BENCH_AGENT_WRAP=()
bench_agent_start() {
	local dir=$1 sock=$2 log=$3 cert= f
	shift 3
	mkdir -p -m 700 "$dir"
	${BENCH_AGENT_WRAP[@]+"${BENCH_AGENT_WRAP[@]}"} "$BUILD/snaptun-agent" --state-dir "$dir" \
		--listen 127.0.0.1:0 --manager-socket "$sock" --log-level error "$@" >"$log" 2>&1 &
	agent_pid=$!
	BENCH_PIDS+=("$agent_pid")
	bench_wait_file "$dir/agent.addr" "$agent_pid" "$log" || return 1
	AGENT_ADDR=$(head -n 1 "$dir/agent.addr")
	for f in "$dir"/*.crt "$dir"/*cert*.pem; do
		[ -f "$f" ] && { cert=$f; break; }
	done
	[ -n "$cert" ] || { echo "no certificate in $dir: $(ls "$dir")" >&2; return 1; }
	PIN=$(certtool -i --infile "$cert" | sed -n 's/^[[:space:]]*pin-sha256:\(.*\)$/\1/p' |
		head -n 1)
	[ -n "$PIN" ] || { echo "no pin from $cert" >&2; return 1; }
}

# bench_agent_wait URL ADMIN: wait (10 s at most) until the manager at URL lists an agent as
# connected.
bench_agent_wait() {
	for _ in $(seq 100); do
		curl -s -H "Authorization: Bearer $2" "$1/v1/agents" | grep -q '"connected":true' &&
			return 0
		sleep 0.1
	done
	return 1
}

