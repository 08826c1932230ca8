# Helpers shared by the end-to-end tests (source it; it is not a test itself, hence not *.sh,
# which tests/run.sh would run): TAP-style checks, managers on temporary state dirs, a curl
# wrapper that records every response, and a JSON reader that needs nothing beyond awk (no jq,
# no python3 on a fresh Debian).
#
#   . "$(dirname "$0")/lib.bash"
#   mgr_start "$E2E_TMP/state" || e2e_bail "the manager did not start"
#   TOKEN=$(cat "$E2E_TMP/state/admin.token")
#   api POST /v1/pools '{"name":"a","isd_as":"1-ff00:0:110","prefix":"10.0.0.0/24"}'
#   want_status 201; want .name a; verdict "a pool is created"
#   e2e_finish
#
# Everything is bounded in time: curl has --max-time, managers get 10 s to start and 5 s to stop.

BUILD=${BUILD:-build}
MANAGER=${MANAGER:-$BUILD/snaptun-manager}
E2E_PASSED=0
E2E_SKIPPED=0
E2E_FAILED=0
E2E_WHY=()		# reasons the check being built has failed so far
E2E_PIDS=()		# managers started and not yet stopped
E2E_5XX=()		# every request answered with a 5xx
E2E_BADBODY=()		# every response whose body is not JSON of a JSON content type
CURL_OPTS=()		# extra curl options for api (e.g. --cacert)
TOKEN=			# the bearer token api sends unless -t is given
URL=			# the base URL api talks to
REQ="" STATUS="" BODY=""	# the last request, its status and response body
E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/snaptun-e2e.XXXXXX") || exit 1
# E2E_STORE=postgresql runs every manager of the script on PostgreSQL (tests/run.sh does so for
# the tests that drive the API): one server for the script (pg.bash), a database per state dir.
E2E_STORE=${E2E_STORE:-sqlite}
. "$(dirname "${BASH_SOURCE[0]}")/pg.bash"
if [ "$E2E_STORE" = postgresql ] && ! pg_find_bin >/dev/null; then
	echo "ok - $(basename "$0") on PostgreSQL # SKIP PostgreSQL is not installed (make deps)"
	rm -rf "$E2E_TMP"
	exit 0
fi

# E2E_LOG_DIR=DIR keeps what the processes of every test wrote (*.err, *.out, event streams) in
# DIR/<test>/, so that the logs of a whole run can be searched afterwards (for a secret, say).
e2e_cleanup() {
	local pid keep
	for pid in ${E2E_PIDS[@]+"${E2E_PIDS[@]}"}; do
		{ kill -9 "$pid"; wait "$pid"; } 2>/dev/null
	done
	if [ -n "${E2E_LOG_DIR-}" ]; then
		keep=$E2E_LOG_DIR/$(basename "$0" .sh)
		mkdir -p "$keep" &&
		    find "$E2E_TMP" -type f \( -name '*.err' -o -name '*.out' -o -name 'sse.*' \) \
			-exec cp --backup=numbered -t "$keep" {} +
	fi
	rm -rf "$E2E_TMP"
	pg_stop
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- TAP ----

ok() {
	E2E_PASSED=$((E2E_PASSED + 1))
	echo "ok - $*"
}

# skip DESC WHY: a check this run could not make, counted as skipped (tests/run.sh), never as
# passed. Say why, so that a machine that always skips it is noticed.
skip() {
	E2E_SKIPPED=$((E2E_SKIPPED + 1))
	echo "ok - $1 # SKIP $2"
}

# require DESC CMD...: a check the rest of the script depends on: ok, or not ok and stop.
require() {
	local desc=$1
	shift
	if "$@"; then
		ok "$desc"
	else
		e2e_bail "$desc"
	fi
}

not_ok() {
	E2E_FAILED=$((E2E_FAILED + 1))
	echo "not ok - $*"
}

# diag TEXT...: diagnostic lines, each prefixed with "# ".
diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

# check DESC COMMAND...: one check from a command's exit status.
check() {
	local desc=$1
	shift
	if "$@"; then
		ok "$desc"
	else
		not_ok "$desc"
	fi
}

# fail REASON: note why the check being built fails (see verdict).
fail() {
	E2E_WHY+=("$*")
}

# that REASON COMMAND...: fail with REASON unless COMMAND succeeds.
that() {
	local why=$1
	shift
	"$@" || fail "$why"
}

# verdict DESC: print the check built from the want_* / that / fail calls since the last
# verdict; on failure also the reasons and the last request and response.
verdict() {
	if [ ${#E2E_WHY[@]} -eq 0 ]; then
		ok "$1"
		return 0
	fi
	not_ok "$1"
	diag "${E2E_WHY[@]}"
	diag "last request: $REQ -> $STATUS" "response: ${BODY:0:1500}"
	E2E_WHY=()
	return 1
}

# e2e_bail REASON: stop here (a failure that makes the rest meaningless).
e2e_bail() {
	not_ok "$*"
	e2e_finish
}

e2e_finish() {
	echo "# $E2E_PASSED passed, $E2E_FAILED failed, $E2E_SKIPPED skipped"
	[ "$E2E_FAILED" -eq 0 ]
	exit
}

# ---- JSON ----

# Flatten one JSON text into "PATH<TAB>VALUE" lines, jq-style paths (.items[0].id), one per
# scalar or empty container, values as raw JSON tokens. Exits 1 on anything that is not JSON.
# shellcheck disable=SC2016 # awk, not shell
E2E_JSON_FLAT='
function fail(m) { printf "json: %s at offset %d\n", m, pos > "/dev/stderr"; exit 1 }
function ws(   ch) {
	while (pos <= n) {
		ch = substr(s, pos, 1)
		if (ch != " " && ch != "\t" && ch != "\n" && ch != "\r")
			break
		pos++
	}
}
function str(   start, ch) {
	if (substr(s, pos, 1) != "\"")
		fail("expected a string")
	start = pos++
	while (pos <= n) {
		ch = substr(s, pos, 1)
		if (ch == "\\")
			pos += 2
		else if (ch == "\"")
			return substr(s, start, ++pos - start)
		else
			pos++
	}
	fail("unterminated string")
}
function val(path, depth,   c, i, k, start) {
	if (depth > 200)
		fail("nested too deep")
	ws()
	c = substr(s, pos, 1)
	if (c == "{") {
		pos++
		ws()
		if (substr(s, pos, 1) == "}") {
			pos++
			print path "\t{}"
			return
		}
		for (;;) {
			ws()
			k = str()
			ws()
			if (substr(s, pos++, 1) != ":")
				fail("expected :")
			val(path "." substr(k, 2, length(k) - 2), depth + 1)
			ws()
			c = substr(s, pos++, 1)
			if (c == "}")
				return
			if (c != ",")
				fail("expected , or }")
		}
	}
	if (c == "[") {
		pos++
		ws()
		if (substr(s, pos, 1) == "]") {
			pos++
			print path "\t[]"
			return
		}
		for (i = 0; ; i++) {
			val(path "[" i "]", depth + 1)
			ws()
			c = substr(s, pos++, 1)
			if (c == "]")
				return
			if (c != ",")
				fail("expected , or ]")
		}
	}
	if (c == "\"") {
		print path "\t" str()
		return
	}
	start = pos
	while (pos <= n && index(",]} \t\r\n", substr(s, pos, 1)) == 0)
		pos++
	k = substr(s, start, pos - start)
	if (k !~ /^(true|false|null|-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?)$/)
		fail("bad value \"" k "\"")
	print path "\t" k
}
{ s = s (NR > 1 ? "\n" : "") $0 }
END {
	n = length(s)
	pos = 1
	val("", 0)
	ws()
	if (pos <= n)
		fail("trailing data")
}'

# The value at an exact path of a flattened text: strings unquoted and unescaped (\uXXXX
# is left as it is), other tokens as they are. Exits 1 if the path is absent.
# shellcheck disable=SC2016 # awk, not shell
E2E_JSON_GET='
function unquote(v,   out, i, c) {
	if (substr(v, 1, 1) != "\"" || raw)
		return v
	v = substr(v, 2, length(v) - 2)
	out = ""
	for (i = 1; i <= length(v); i++) {
		c = substr(v, i, 1)
		if (c == "\\") {
			c = substr(v, ++i, 1)
			if (c == "n") c = "\n"
			else if (c == "t") c = "\t"
			else if (c == "r") c = "\r"
			else if (c == "u") c = "\\u"
		}
		out = out c
	}
	return out
}
BEGIN { FS = "\t"; found = 0 }
$1 == p { print unquote(substr($0, length($1) + 2)); found = 1; exit }
END { exit !found }'

# For an array at path p: its length (len = 1), or field f of each element, one a line.
# shellcheck disable=SC2016 # awk, not shell
E2E_JSON_EACH='
BEGIN { FS = "\t"; pre = p "["; n = 0 }
substr($1, 1, length(pre)) == pre {
	rest = substr($1, length(pre) + 1)
	i = substr(rest, 1, index(rest, "]") - 1)
	rest = substr(rest, index(rest, "]") + 1)
	if (!(i in seen)) { seen[i] = 1; n++ }
	if (!len && rest == "." f) {
		v = substr($0, length($1) + 2)
		if (substr(v, 1, 1) == "\"")
			v = substr(v, 2, length(v) - 2)
		print v
	}
}
END { if (len) print n }'

# json_flat [TEXT]: flatten TEXT (default: the last response body) to stdout.
json_flat() {
	printf '%s' "${1-$BODY}" | awk "$E2E_JSON_FLAT"
}

# Each reader takes an optional JSON text; without one it reads the last response.
_flat() {
	if [ $# -gt 0 ]; then
		json_flat "$1"
	elif [ -f "$E2E_TMP/flat" ]; then
		cat "$E2E_TMP/flat"
	else
		json_flat "$BODY" 2>/dev/null
	fi
}

# jget PATH [TEXT]: a scalar, decoded ("jget .items[0].name"). Exit 1 if absent.
jget() {
	local p=$1
	shift
	_flat "$@" | awk -v p="$p" -v raw=0 "$E2E_JSON_GET"
}

# jraw PATH [TEXT]: the raw token (strings keep their quotes: tells "null" from null).
jraw() {
	local p=$1
	shift
	_flat "$@" | awk -v p="$p" -v raw=1 "$E2E_JSON_GET"
}

# jlen PATH [TEXT]: the length of the array at PATH (0 if empty or absent).
jlen() {
	local p=$1
	shift
	_flat "$@" | awk -v p="$p" -v len=1 "$E2E_JSON_EACH"
}

# jeach PATH FIELD [TEXT]: FIELD of each element of the array at PATH, one a line.
jeach() {
	local p=$1 f=$2
	shift 2
	_flat "$@" | awk -v p="$p" -v f="$f" -v len=0 "$E2E_JSON_EACH"
}

# ---- HTTP ----

# api [-t TOKEN] [-c CONTENT-TYPE] [-H HEADER]... METHOD PATH [BODY]
# One request to $URL$PATH. BODY is sent as is (@FILE sends a file), by default as
# application/json (-c "" sends no Content-Type of ours). Sets STATUS (000: no HTTP answer),
# BODY, REQ, and the headers for hdr; records 5xx answers and bodies that are not JSON.
api() {
	local token=$TOKEN ctype=application/json method path
	local args=(-sS --max-time 10 --connect-timeout 3 -o "$E2E_TMP/body" -D "$E2E_TMP/hdrs"
	    -w '%{http_code}')

	while [ $# -gt 0 ]; do
		case $1 in
		-t) token=$2; shift 2 ;;
		-c) ctype=$2; shift 2 ;;
		-H) args+=(-H "$2"); shift 2 ;;
		*) break ;;
		esac
	done
	method=$1
	path=$2
	REQ="$method $path"
	if [ "$method" = HEAD ]; then
		args+=(-I)
	else
		args+=(-X "$method")
	fi
	[ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
	if [ $# -ge 3 ]; then
		args+=(--data-binary "$3")
		[ -n "$ctype" ] && args+=(-H "Content-Type: $ctype")
	fi
	rm -f "$E2E_TMP/body" "$E2E_TMP/hdrs" "$E2E_TMP/flat"
	: >"$E2E_TMP/flat"
	STATUS=$(curl ${CURL_OPTS[@]+"${CURL_OPTS[@]}"} "${args[@]}" "$URL$path" \
	    2>"$E2E_TMP/curl.err")
	[ -n "$STATUS" ] || STATUS=000
	BODY=$(cat "$E2E_TMP/body" 2>/dev/null)
	# curl -I writes the head where the body would go, and never reads a body.
	[ "$method" = HEAD ] && BODY=
	if [ "$STATUS" = 000 ]; then
		REQ="$REQ (curl: $(head -c 200 "$E2E_TMP/curl.err"))"
	fi
	case $STATUS in 5*) E2E_5XX+=("$REQ -> $STATUS: ${BODY:0:300}") ;; esac
	if [ -n "$BODY" ]; then
		if ! json_flat >"$E2E_TMP/flat" 2>/dev/null; then
			E2E_BADBODY+=("$REQ -> $STATUS: body is not JSON: ${BODY:0:200}")
			: >"$E2E_TMP/flat"
		elif ! hdr Content-Type | grep -Eq '^application/(problem\+)?json'; then
			E2E_BADBODY+=("$REQ -> $STATUS: Content-Type \"$(hdr Content-Type)\"")
		fi
	fi
}

# hdr NAME: a header of the last response (the last one if repeated), without the CR.
hdr() {
	[ -f "$E2E_TMP/hdrs" ] || return 1
	awk -v n="$1" 'BEGIN { n = tolower(n) ":" }
	    tolower(substr($0, 1, length(n))) == n { v = substr($0, length(n) + 1); f = 1 }
	    END { if (!f) exit 1; sub(/^[ \t]+/, "", v); sub(/\r$/, "", v); print v }' \
	    "$E2E_TMP/hdrs"
}

# ---- assertions on the last response (collected by verdict) ----

want_status() {
	[ "$STATUS" = "$1" ] || fail "status $STATUS, expected $1"
}

# want PATH VALUE: a field equals VALUE (decoded).
want() {
	local v
	if ! v=$(jget "$1"); then
		fail "$1 is missing, expected \"$2\""
	elif [ "$v" != "$2" ]; then
		fail "$1 is \"$v\", expected \"$2\""
	fi
}

# want_raw PATH TOKEN: a field's raw JSON token (null, 3, "x").
want_raw() {
	local v
	if ! v=$(jraw "$1"); then
		fail "$1 is missing, expected $2"
	elif [ "$v" != "$2" ]; then
		fail "$1 is $v, expected $2"
	fi
}

# want_match PATH ERE: a field matches an extended regular expression.
want_match() {
	local v
	if ! v=$(jget "$1"); then
		fail "$1 is missing, expected to match /$2/"
	elif ! printf '%s' "$v" | grep -Eq -- "$2"; then
		fail "$1 is \"$v\", expected to match /$2/"
	fi
}

want_absent() {
	if jraw "$1" >/dev/null; then
		fail "$1 is present ($(jraw "$1")), expected absent"
	fi
}

want_len() {
	local n
	n=$(jlen "$1")
	[ "$n" = "$2" ] || fail "$1 has $n elements, expected $2"
}

# want_header NAME VALUE
want_header() {
	local v
	if ! v=$(hdr "$1"); then
		fail "no $1 header, expected \"$2\""
	elif [ "$v" != "$2" ]; then
		fail "$1: \"$v\", expected \"$2\""
	fi
}

# want_problem STATUS [FIELD]: an RFC 9457 problem: the status, its content type, type, title,
# status and detail; field equal to FIELD, or absent when FIELD is "-".
want_problem() {
	want_status "$1"
	want_header Content-Type application/problem+json
	want_match .type '^urn:snaptun:problem:[a-z-]+$'
	want_match .title '.'
	want_raw .status "$1"
	want_match .detail '.'
	case ${2-} in
	'') ;;
	-) want_absent .field ;;
	*) want .field "$2" ;;
	esac
}

# ---- metrics ----

PROMTOOL=$(command -v promtool || true)

# promtool_ok FILE WHAT: promtool check metrics accepts FILE (a skip, saying why, without it).
promtool_ok() {
	if [ -z "$PROMTOOL" ]; then
		skip "promtool check metrics on $2" "promtool is missing (make deps: prometheus)"
		return
	fi
	that "promtool: $("$PROMTOOL" check metrics <"$1" 2>&1 | head -n 5)" \
	    sh -c "'$PROMTOOL' check metrics <'$1' >/dev/null 2>&1"
	verdict "promtool check metrics accepts $2"
}

# ---- the manager ----

MGR_LISTEN=${MGR_LISTEN:-127.0.0.1:0}	# mgr_start's --listen

# mgr_start DIR [ARG...]: start a manager on state dir DIR listening on $MGR_LISTEN (default a
# free loopback port) and wait (10 s at most) for DIR/manager.url. Sets MGR_PID, MGR_DIR and URL.
# Output: DIR.out, DIR.err.
mgr_start() {
	local dir=$1 i store=()
	shift
	rm -f "$dir/manager.url"
	# A test that names the store itself (--store) gets that one.
	if [ "$E2E_STORE" = postgresql ] && [[ " $* " != *" --store "* ]]; then
		pg_start || { diag "no PostgreSQL server"; return 1; }
		store=(--store "$(pg_store_for "$dir")") || { diag "no PostgreSQL database"; return 1; }
	fi
	"$MANAGER" --state-dir "$dir" --listen "$MGR_LISTEN" --log-level warn ${store[@]+"${store[@]}"} \
	    "$@" >>"$dir.out" 2>>"$dir.err" &
	MGR_PID=$!
	MGR_DIR=$dir
	E2E_PIDS+=("$MGR_PID")
	for ((i = 0; i < 200; i++)); do
		[ -s "$dir/manager.url" ] && break
		kill -0 "$MGR_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$dir/manager.url" ]; then
		diag "the manager on $dir did not start; its stderr:"
		diag "$(tail -n 30 "$dir.err")"
		return 1
	fi
	URL=$(head -n 1 "$dir/manager.url")
	return 0
}

# mgr_pair [ARG...]: two managers on one new PostgreSQL database, A on $E2E_TMP/a and B on
# $E2E_TMP/b, each started with ARGs; B gets a copy of A's store secret (DIR/store.secret: the
# signing keys are sealed in the store under it), as an operator gives it to a second manager.
# Sets DB, STORE, A, B, PID_A, PID_B, URL_A, URL_B and TOKEN (A's bootstrap admin token, which
# works on B too). 1 with a diagnostic on failure.
mgr_pair() {
	pg_start || { diag "the PostgreSQL server did not start"; return 1; }
	DB=$(pg_createdb) || { diag "no database"; return 1; }
	STORE=$(pg_uri "$DB")
	A=$E2E_TMP/a B=$E2E_TMP/b
	mgr_start "$A" --store "$STORE" "$@" || { diag "manager A did not start"; return 1; }
	PID_A=$MGR_PID URL_A=$URL
	TOKEN=$(cat "$A/admin.token")
	mkdir -p -m 700 "$B" && cp -p "$A/store.secret" "$B/store.secret" || return 1
	mgr_start "$B" --store "$STORE" "$@" || { diag "manager B did not start"; return 1; }
	PID_B=$MGR_PID URL_B=$URL
}

# store_sql DIR [SQL]: run SQL (or standard input) on the store of the manager on state dir DIR,
# SQLite's file or its PostgreSQL database; rows come out as "a|b" lines either way.
store_sql() {
	local dir=$1
	shift
	if [ "$E2E_STORE" = postgresql ]; then
		pg_sql "$(cat "$dir/.pgdb")" "$@"
	else
		sqlite3 -bail -cmd ".timeout 5000" "$dir/snaptun.db" "$@"
	fi
}

# mgr_stop [SIGNAL [PID]]: stop a manager (default the last one, with TERM), 5 s at most before
# SIGKILL. Sets MGR_RC to its exit status (128+n: killed by signal n).
mgr_stop() {
	proc_stop manager "${1:-TERM}" "${2:-$MGR_PID}"
	# shellcheck disable=SC2034 # for the caller
	MGR_RC=$PROC_RC
}

# proc_stop WHAT SIGNAL PID: send SIGNAL to PID (a child of this shell), SIGKILL it if it is
# still there 5 s later, reap it and drop it from E2E_PIDS. Sets PROC_RC to its exit status
# (128+n: killed by signal n); WHAT ("manager", "agent") names it in the diagnostic.
proc_stop() {
	local what=$1 sig=$2 pid=$3 i
	# stderr off throughout, or bash reports a job killed by a signal ("Killed").
	{
		kill -s "$sig" "$pid"
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" || break
			sleep 0.05
		done
		if kill -0 "$pid"; then
			diag "$what $pid ignored SIG$sig for 5 s; killing it"
			kill -9 "$pid"
		fi
		wait "$pid"
		PROC_RC=$?
	} 2>/dev/null
	proc_forget "$pid"
}

# proc_forget PID: drop PID (reaped) from E2E_PIDS, the processes the exit trap kills.
proc_forget() {
	local i keep=()
	for i in ${E2E_PIDS[@]+"${E2E_PIDS[@]}"}; do
		[ "$i" = "$1" ] || keep+=("$i")
	done
	E2E_PIDS=(${keep[@]+"${keep[@]}"})
}

# sanitizer_report FILE: print any ASan/LSan/UBSan report in FILE; exit 0 if there is one.
sanitizer_report() {
	local re='ERROR: [A-Za-z]+Sanitizer|runtime error:|SUMMARY: [A-Za-z]+Sanitizer'
	grep -Eq "$re" "$1" 2>/dev/null || return 1
	grep -E -A 40 "$re" "$1" | head -n 80
}

# ---- the agent ----

AGENT=${AGENT:-$BUILD/snaptun-agent}
TUNCLIENT=${TUNCLIENT:-$BUILD/tools/tunclient}
MKTOKEN=${MKTOKEN:-$BUILD/tools/mktoken}
AGENT_LISTEN=${AGENT_LISTEN:-127.0.0.1:0}	# agent_start's --listen (a restart reuses AGENT_ADDR)
AGENT_PID= AGENT_DIR= AGENT_ADDR= AGENT_PIN=

# cert_pin CERT.pem: the base64 SHA-256 of the certificate's SubjectPublicKeyInfo (certtool).
cert_pin() {
	certtool -i --infile "$1" 2>/dev/null | sed -n 's/^[[:space:]]*pin-sha256:\(.*\)$/\1/p' |
	    head -n 1
}

# agent_cert DIR: the certificate file the agent generated in its state dir.
agent_cert() {
	local f
	for f in "$1"/*.crt "$1"/*cert*.pem "$1"/tls/*.crt "$1"/tls/*cert*.pem; do
		[ -f "$f" ] && { echo "$f"; return 0; }
	done
	return 1
}

# agent_start DIR [ARG...]: start an agent on state dir DIR listening on $AGENT_LISTEN (default
# 127.0.0.1:0), connected to the manager of the last mgr_start ($MGR_DIR/agent.sock), and wait
# (10 s at most) for DIR/agent.addr. Sets AGENT_PID, AGENT_DIR, AGENT_ADDR (HOST:PORT) and
# AGENT_PIN (from its certificate). Output goes to DIR.out, DIR.err.
agent_start() {
	local dir=$1 i cert
	shift
	mkdir -p -m 700 "$dir"
	rm -f "$dir/agent.addr"
	"$AGENT" --state-dir "$dir" --listen "$AGENT_LISTEN" --manager-socket "$MGR_DIR/agent.sock" \
	    --log-level "${AGENT_LOG_LEVEL:-info}" "$@" >>"$dir.out" 2>>"$dir.err" &
	AGENT_PID=$!
	AGENT_DIR=$dir
	E2E_PIDS+=("$AGENT_PID")
	for ((i = 0; i < 200; i++)); do
		[ -s "$dir/agent.addr" ] && break
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$dir/agent.addr" ]; then
		diag "the agent on $dir did not start; its stderr:"
		diag "$(tail -n 30 "$dir.err")"
		return 1
	fi
	AGENT_ADDR=$(head -n 1 "$dir/agent.addr")
	if ! cert=$(agent_cert "$dir") || ! AGENT_PIN=$(cert_pin "$cert") || [ -z "$AGENT_PIN" ]; then
		diag "no certificate (or no pin from it) in $dir: $(ls "$dir")"
		return 1
	fi
	return 0
}

# agent_stop [SIGNAL [PID]]: stop an agent (default the last one, with TERM), 5 s at most
# before SIGKILL. Sets AGENT_RC to its exit status (128+n: killed by signal n).
agent_stop() {
	proc_stop agent "${1:-TERM}" "${2:-$AGENT_PID}"
	# shellcheck disable=SC2034 # for the caller
	AGENT_RC=$PROC_RC
}

# wait_line FILE ERE [SECONDS]: wait until FILE has a line matching ERE (default 5 s): 0, or 1
# when SECONDS (whole) pass.
wait_line() {
	local i n=$((${3:-5} * 20))
	for ((i = 0; i < n; i++)); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# wait_for SECONDS COMMAND...: run COMMAND every 50 ms until it succeeds (0) or SECONDS pass (1).
wait_for() {
	local end
	end=$(($(date +%s%N) + $(awk -v s="$1" 'BEGIN { printf "%.0f", s * 1e9 }')))
	shift
	while ! "$@"; do
		[ "$(date +%s%N)" -ge "$end" ] && return 1
		sleep 0.05
	done
}

# ---- test clients (tests/tools/tunclient: commands in, events out) ----

declare -A CL_FD=() CL_PID=() CL_POS=()
CL_LINE=	# the line the last client_expect matched

# client_start NAME [ARG...]: start a tunclient named NAME against $AGENT_ADDR with $AGENT_PIN
# (ARGs come after and may override them: --server, --pin, --token, --handshake, …). Its
# commands go through a fifo (client_cmd), its events to $E2E_TMP/cl.NAME.out (client_expect),
# its stderr to $E2E_TMP/cl.NAME.err.
client_start() {
	local name=$1 fifo=$E2E_TMP/cl.$1.in fd
	shift
	rm -f "$fifo" "$E2E_TMP/cl.$name.out"
	mkfifo "$fifo" || return 1
	"$TUNCLIENT" --server "$AGENT_ADDR" --pin "$AGENT_PIN" "$@" <"$fifo" \
	    >"$E2E_TMP/cl.$name.out" 2>"$E2E_TMP/cl.$name.err" &
	CL_PID[$name]=$!
	E2E_PIDS+=("$!")
	exec {fd}>"$fifo"
	CL_FD[$name]=$fd
	CL_POS[$name]=0
}

# client_cmd NAME LINE...: send command lines to client NAME.
client_cmd() {
	local name=$1
	shift
	[ -n "${CL_FD[$name]-}" ] || { diag "client $name is not running"; return 1; }
	printf '%s\n' "$@" >&"${CL_FD[$name]}" 2>/dev/null
}

# client_expect NAME ERE [SECONDS]: wait (default 5 s) for an event line of client NAME that
# matches ERE, after the line the previous client_expect of NAME matched. 0 with the line in
# CL_LINE; 1 after SECONDS (client_log shows what came instead).
client_expect() {
	local name=$1 re=$2 secs=${3:-5} out=$E2E_TMP/cl.$1.out end n
	end=$(($(date +%s%N) + $(awk -v s="$secs" 'BEGIN { printf "%.0f", s * 1e9 }')))
	CL_LINE=
	while :; do
		n=$(RE=$re awk -v from="${CL_POS[$name]:-0}" \
		    'NR > from && $0 ~ ENVIRON["RE"] { print NR "\t" $0; exit }' "$out" 2>/dev/null)
		if [ -n "$n" ]; then
			CL_POS[$name]=${n%%$'\t'*}
			CL_LINE=${n#*$'\t'}
			return 0
		fi
		[ "$(date +%s%N)" -ge "$end" ] && return 1
		sleep 0.02
	done
}

# client_log NAME: the events of client NAME so far (for a diagnostic).
client_log() {
	tail -n 20 "$E2E_TMP/cl.$1.out" 2>/dev/null
	sed 's/^/stderr: /' "$E2E_TMP/cl.$1.err" 2>/dev/null | tail -n 10
}

# want_event NAME ERE [SECONDS]: client_expect, failing the check being built with the
# client's recent events when it times out.
want_event() {
	client_expect "$@" && return 0
	fail "client $1: no event matching /$2/ within ${3:-5} s; its last events:" \
	    "$(client_log "$1")"
	return 1
}

# client_stop NAME: quit client NAME (close code 0); SIGTERM after 1 s (a command still blocks),
# SIGKILL after 2 s. Sets CL_RC.
client_stop() {
	local name=$1 pid=${CL_PID[$1]-} fd=${CL_FD[$1]-} i
	[ -n "$pid" ] || return 0
	client_cmd "$name" quit
	{
		[ -n "$fd" ] && exec {fd}>&-
		for ((i = 0; i < 40; i++)); do
			kill -0 "$pid" || break
			[ $i = 20 ] && kill -TERM "$pid" # blocked on a request: close now
			sleep 0.05
		done
		kill -0 "$pid" && kill -9 "$pid"
		wait "$pid"
		CL_RC=$?
	} 2>/dev/null
	unset "CL_FD[$name]" "CL_PID[$name]"
	proc_forget "$pid"
}

# ---- clients and tokens ----

# enroll NAME: enroll a client through the API (a join token, POST /v1/join, /v1/join/ack).
# Sets PSSID and ACCESS (its access token); 1 on failure (the last response tells why).
enroll() {
	local jt
	api POST /v1/join-tokens "{\"name\":\"$1\"}"
	[ "$STATUS" = 201 ] || return 1
	jt=$(jget .token)
	api -t "" POST /v1/join "{\"token\":\"$jt\",\"name\":\"$1\"}"
	[ "$STATUS" = 201 ] || return 1
	PSSID=$(jget .pssid) ACCESS=$(jget .access_token)
	JOIN_BUNDLE=$BODY
	api -t "" POST /v1/join/ack "{\"ack_token\":\"$(jget .ack_token)\"}"
	[ "$STATUS" = 204 ]
}

# b64url_dec TEXT: the bytes of a base64url text without padding (a JWT's parts); nothing for
# a text that is not one.
b64url_dec() {
	local s=${1//-/+}
	s=${s//_//}
	while ((${#s} % 4)); do s+="="; done
	printf '%s' "$s" | base64 -d 2>/dev/null
}

# jwt_kid TOKEN: the kid of the token's header.
jwt_kid() {
	b64url_dec "${1%%.*}" | jq -r .kid
}

# issuer_new FILE KID: a new outside issuer key in FILE, imported into the manager as KID.
issuer_new() {
	local pem
	pem=$("$MKTOKEN" --new-key "$1" | awk '{ printf "%s\\n", $0 }') || return 1
	api POST /v1/keys "{\"kid\":\"$2\",\"alg\":\"EdDSA\",\"public_key_pem\":\"$pem\"}"
	[ "$STATUS" = 201 ]
}

# uuid: a random UUID v4.
uuid() {
	cat /proc/sys/kernel/random/uuid
}

# ---- a manager and an agent for the tunnel tests ----

POOL_PREFIX=10.77.0.0/24

# agent_connected: GET /v1/agents lists an agent that is connected.
agent_connected() {
	api GET /v1/agents
	[ "$STATUS" = 200 ] && grep -Eq '"connected": ?true' <<<"$BODY"
}

TUNNEL_MGR_ARGS=()	# more options for tunnel_env's manager (e.g. --access-token-ttl 10)

# tunnel_env [AGENT_ARG...]: a manager on $E2E_TMP/mgr (no enrollment rate limit, then
# TUNNEL_MGR_ARGS) with an ip pool $POOL_PREFIX of 1-ff00:0:110, TOKEN its admin token, and an
# agent on $E2E_TMP/agent connected to it (10 s at most). Bails out on failure.
tunnel_env() {
	local b
	for b in "$MANAGER" "$AGENT" "$TUNCLIENT" "$MKTOKEN"; do
		[ -x "$b" ] || e2e_bail "$b is not built (make all)"
	done
	command -v certtool >/dev/null || e2e_bail "certtool is missing (make deps: gnutls-bin)"
	mgr_start "$E2E_TMP/mgr" --enroll-rate 100000 --enroll-burst 100000 \
	    ${TUNNEL_MGR_ARGS[@]+"${TUNNEL_MGR_ARGS[@]}"} || e2e_bail "the manager starts"
	TOKEN=$(cat "$E2E_TMP/mgr/admin.token")
	api POST /v1/pools "{\"name\":\"t\",\"isd_as\":\"1-ff00:0:110\",\"prefix\":\"$POOL_PREFIX\",\"mode\":\"ip\"}"
	[ "$STATUS" = 201 ] || e2e_bail "POST /v1/pools -> $STATUS: $BODY"
	agent_start "$E2E_TMP/agent" "$@" || e2e_bail "the agent starts"
	wait_for 10 agent_connected || e2e_bail "the agent connects to the manager (GET /v1/agents: $BODY)"
}

# no_sanitizer_reports: one check that no process of the test left an ASan/UBSan report.
no_sanitizer_reports() {
	local f bad=0
	for f in "$E2E_TMP"/*.err; do
		[ -f "$f" ] || continue
		if sanitizer_report "$f" >/dev/null; then
			diag "sanitizer report in $(basename "$f"):" "$(sanitizer_report "$f")"
			bad=1
		fi
	done
	check "no sanitizer reports from the manager, the agent or the clients" test $bad = 0
}

# peer OUT ARGS...: run the stand-in agent tests/tools/chanpeer ($PEER) on the manager's socket
# $SOCK in the foreground, its output into OUT; sets RC.
peer() {
	local out=$1
	shift
	"$PEER" --socket "$SOCK" --timeout 5 "$@" >"$out" 2>&1
	RC=$?
}

# peer_alloc AGENT PSSID: an address for PSSID through stand-in agent AGENT on $SOCK, which then
# disconnects; sets GRANT, SESSION and ADDR; 0 when it got one.
peer_alloc() {
	local out=$E2E_TMP/alloc-$1-$2.out
	peer "$out" --agent-id "$1" --alloc "$2" --until ALLOC_RES
	SESSION=$(sed -n "s/^sent ALLOC_REQ seq=[0-9]* pssid=$2 session=\([0-9]*\)$/\1/p" "$out")
	GRANT=$(sed -n 's/^ALLOC_RES .* grant=\([0-9]*\) address=.* error=0 .*/\1/p' "$out")
	ADDR=$(sed -n 's/^ALLOC_RES .* grant=[0-9]* address=\([0-9.]*\) .* error=0 .*/\1/p' "$out")
	[ "$RC" = 0 ] && [ -n "$SESSION" ] && [ -n "$GRANT" ] && [ -n "$ADDR" ]
}

# peer_bg OUT ARGS...: the same in the background; sets BG_PID (stopped at the end).
peer_bg() {
	local out=$1
	shift
	"$PEER" --socket "$SOCK" "$@" >"$out" 2>&1 &
	BG_PID=$!
	E2E_PIDS+=("$BG_PID")
}

# ---- snaptun-client in relay mode ($CLIENT) ----

CLIENT=${CLIENT:-$BUILD/snaptun-client}
declare -A UP_PID=()
ST= UP_RC=

# cl_join NAME: a join token and `snaptun-client join` into $E2E_TMP/NAME.bundle.
cl_join() {
	api POST /v1/join-tokens "{\"name\":\"$1\"}"
	[ "$STATUS" = 201 ] || return 1
	"$CLIENT" join --manager "$URL" --token "$(jget .token)" --name "$1" \
	    --bundle "$E2E_TMP/$1.bundle" >"$E2E_TMP/$1.join" 2>&1
}

# cl_up NAME ARG...: `snaptun-client up ARG... --relay 127.0.0.1:0 --control $E2E_TMP/NAME.sock`
# in the background, stderr appended to $E2E_TMP/NAME.err.
cl_up() {
	local name=$1
	shift
	"$CLIENT" up "$@" --relay 127.0.0.1:0 --control "$E2E_TMP/$name.sock" --log-level debug \
	    >>"$E2E_TMP/$name.out" 2>>"$E2E_TMP/$name.err" &
	UP_PID[$name]=$!
	E2E_PIDS+=("$!")
}

# cl_status NAME: `status --json` of client NAME into ST (0 when it answered).
cl_status() {
	ST=$("$CLIENT" status --json --control "$E2E_TMP/$1.sock" 2>&1)
}

# cl_is_up NAME: client NAME reports state up with an address.
cl_is_up() {
	cl_status "$1" && [ "$(jget .state "$ST")" = up ] && [ -n "$(jget .address "$ST")" ]
}

# cl_relay_port NAME: the UDP port of client NAME's relay (from its status).
cl_relay_port() {
	cl_status "$1" && jget .device "$ST" | sed -n 's/^relay 127\.0\.0\.1:\([0-9]*\)$/\1/p'
}

# cl_exited NAME: client NAME has exited; its status in UP_RC.
cl_exited() {
	kill -0 "${UP_PID[$1]}" 2>/dev/null && return 1
	wait "${UP_PID[$1]}" 2>/dev/null
	UP_RC=$?
	proc_forget "${UP_PID[$1]}"
	return 0
}

# UDP peers of the relays (perl, bound to 127.0.0.1). CL_PEER_PL runs its commands in order
# and prints what it received:  send PORT SRC DST TEXT  (an IPv4/UDP packet SRC:4000 ->
# DST:5000 with payload TEXT, sent to 127.0.0.1:PORT) and  recv SECONDS  ("got SRC DST TEXT",
# or "timeout").
CL_IP_PL='
use strict; use IO::Socket::INET; use Socket; use Time::HiRes qw(time);
$| = 1;
sub csum { my $sum = 0; $sum += $_ for unpack("n*", $_[0] . (length($_[0]) % 2 ? "\0" : ""));
	$sum = ($sum & 0xffff) + ($sum >> 16) while $sum >> 16; return ~$sum & 0xffff; }
sub sock { IO::Socket::INET->new(Proto => "udp", LocalAddr => "127.0.0.1") or die "socket: $!" }
sub ippkt { my ($src, $dst, $text) = @_;
	my $udp = pack("nnnn", 4000, 5000, 8 + length($text), 0) . $text;
	my $ip = pack("CCnnnCCna4a4", 0x45, 0, 20 + length($udp), 0, 0x4000, 64, 17, 0,
	    inet_aton($src), inet_aton($dst));
	substr($ip, 10, 2) = pack("n", csum($ip));
	return $ip . $udp; }
sub to { pack_sockaddr_in($_[0], inet_aton("127.0.0.1")) }
'
CL_PEER_PL=$CL_IP_PL'
my $s = sock();
for my $cmd (@ARGV) {
	my @a = split / /, $cmd, 5;
	if ($a[0] eq "send") {
		$s->send(ippkt(@a[2..4]), 0, to($a[1])) or die "send: $!";
	} elsif ($a[0] eq "recv") {
		my $buf; my $rin = ""; vec($rin, fileno($s), 1) = 1;
		if (select(my $r = $rin, undef, undef, $a[1]) > 0 && $s->recv($buf, 65535)) {
			my ($src, $dst) = (inet_ntoa(substr($buf, 12, 4)), inet_ntoa(substr($buf, 16, 4)));
			print "got $src $dst ", substr($buf, 28), "\n";
		} else { print "timeout\n"; }
	}
}'

# CL_STREAM_PL PA PB ADDR_A ADDR_B SECONDS [STOPFILE]: one packet a second from relay A's
# port PA to ADDR_B for SECONDS (or until STOPFILE exists), received on a socket that first
# announced itself to relay B (port PB); prints "sent N got M" and, each on a line, the
# numbers lost ("lost I") or late by more than a second ("late I SECONDS").
CL_STREAM_PL=$CL_IP_PL'
my ($pa, $pb, $ia, $ib, $secs, $stop) = @ARGV;
my ($sa, $sb) = (sock(), sock());
$sb->send(ippkt($ib, $ia, "hello"), 0, to($pb)) or die "send: $!";
my (%sent, %got, @late);
my ($n, $end, $next) = (0, time + $secs, time);
my $rin = ""; vec($rin, fileno($sb), 1) = 1;
while (1) {
	my $now = time;
	last if $now >= $end + 1.5 || (defined $stop && -e $stop && $now >= $next + 1.5);
	if ($now >= $next && $now < $end && !(defined $stop && -e $stop)) {
		$sa->send(ippkt($ia, $ib, "seq $n"), 0, to($pa)) or die "send: $!";
		$sent{$n++} = $now; $next += 1;
	}
	my $wait = $next - time; $wait = 0.05 if $wait < 0.05;
	if (select(my $r = $rin, undef, undef, $wait) > 0) {
		my $buf; $sb->recv($buf, 65535);
		if (substr($buf, 28) =~ /^seq (\d+)$/ && exists $sent{$1}) {
			$got{$1} = 1;
			my $d = time - $sent{$1}; push @late, sprintf("late %d %.2f", $1, $d) if $d > 1;
		}
	}
}
print "sent $n got ", scalar(keys %got), "\n";
print "lost $_\n" for grep { !$got{$_} } sort { $a <=> $b } keys %sent;
print "$_\n" for @late;
'

# cl_stream_start NAME PA PB ADDR_A ADDR_B SECONDS [STOPFILE]: CL_STREAM_PL in the background,
# its output in $E2E_TMP/NAME.stream; cl_stream_wait NAME waits for it (STREAM: its first line).
declare -A STREAM_PID=()
STREAM=
cl_stream_start() {
	local name=$1
	shift
	perl -e "$CL_STREAM_PL" "$@" >"$E2E_TMP/$name.stream" 2>&1 &
	STREAM_PID[$name]=$!
	E2E_PIDS+=("$!")
}
cl_stream_wait() {
	wait "${STREAM_PID[$1]}" 2>/dev/null
	proc_forget "${STREAM_PID[$1]}"
	STREAM=$(head -n 1 "$E2E_TMP/$1.stream")
}

# cl_stream_whole NAME: every packet of stream NAME arrived ("sent N got N", N > 0).
cl_stream_whole() {
	local n
	n=$(sed -n 's/^sent \([0-9]*\) got \1$/\1/p' <<<"$STREAM")
	[ -n "$n" ] && [ "$n" -gt 0 ]
}
