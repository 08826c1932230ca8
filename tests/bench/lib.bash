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
	for _ in $(seq 100); do
		[ -s "$dir/manager.url" ] && break
		kill -0 "$mgr_pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -s "$dir/manager.url" ]; then
		tail -n 5 "$log" >&2
		return 1
	fi
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
	for _ in $(seq 100); do
		[ -s "$dir/agent.addr" ] && break
		kill -0 "$agent_pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -s "$dir/agent.addr" ]; then
		tail -n 20 "$log" >&2
		return 1
	fi
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

