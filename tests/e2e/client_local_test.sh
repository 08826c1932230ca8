#!/usr/bin/env bash
# End-to-end test of how snaptun-client treats the local things it is given, without an agent
# (the client keeps reconnecting to a port nobody listens on, which is all these checks need):
#   - the --control path: only a stale socket is replaced; a live one or any other file is
#     refused and left as it was;
#   - one `up` per bundle: a second is refused while the first runs;
#   - a stop while a token refresh waits on a manager that never answers: the request is
#     cancelled, the client exits at once, not after the HTTP timeout;
#   - a manager URL with user:password@ is never logged with them;
#   - manager-less with an expired token: the log says so;
#   - a TUN device that cannot be made: the message says why (no /dev/net/tun);
#   - bundle and token files that are no regular files: a FIFO is refused at once instead of
#     blocking the start.
# Run from the repository root: BUILD=build bash tests/e2e/client_local_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash
[ -x "$CLIENT" ] || e2e_bail "$CLIENT is not built (make all)"
[ -x "$MKTOKEN" ] || e2e_bail "$MKTOKEN is not built (make all)"
command -v python3 >/dev/null || e2e_bail "python3 is missing (it makes the stale and live sockets)"

"$MKTOKEN" --new-key "$E2E_TMP/issuer.pem" >/dev/null || e2e_bail "mktoken makes a key"
"$MKTOKEN" --key "$E2E_TMP/issuer.pem" --pssid random --exp +600 >"$E2E_TMP/tok" ||
    e2e_bail "mktoken makes a token"
PIN=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=

# not CMD...: CMD fails.
not() {
	! "$@"
}

# up_local NAME CONTROL [ARG...]: a manager-less client (relay mode) against a closed port.
up_local() {
	local name=$1 ctl=$2
	shift 2
	"$CLIENT" up --server 127.0.0.1:9 --pin "$PIN" --token-file "$E2E_TMP/tok" \
	    --relay 127.0.0.1:0 --control "$ctl" "$@" >>"$E2E_TMP/$name.out" 2>>"$E2E_TMP/$name.err" &
	UP_PID[$name]=$!
	E2E_PIDS+=("$!")
}
ctl_answers() {
	"$CLIENT" status --control "$1" >/dev/null 2>&1
}

# ---------------------------------------------------------------- --control

echo "precious" >"$E2E_TMP/notes.txt"
up_local F "$E2E_TMP/notes.txt"
that "up with --control naming a regular file did not exit" wait_for 5 cl_exited F
that "it exited $UP_RC, not 1" test "${UP_RC:-0}" = 1
that "the regular file was replaced: $(ls -l "$E2E_TMP/notes.txt")" test -f "$E2E_TMP/notes.txt"
that "the regular file's content changed" grep -qx precious "$E2E_TMP/notes.txt"
that "no message naming the path: $(cat "$E2E_TMP/F.err")" \
    grep -q "$E2E_TMP/notes.txt exists and is not a socket" "$E2E_TMP/F.err"
verdict "--control naming a regular file: refused with a message naming it, the file untouched"

mkdir "$E2E_TMP/adir"
up_local D "$E2E_TMP/adir"
that "up with --control naming a directory did not exit 1" wait_for 5 cl_exited D
that "it exited $UP_RC, not 1" test "${UP_RC:-0}" = 1
that "the directory is gone" test -d "$E2E_TMP/adir"
verdict "--control naming a directory: refused, the directory left alone"

echo other >"$E2E_TMP/other.txt"
ln -s "$E2E_TMP/other.txt" "$E2E_TMP/link.sock"
up_local L "$E2E_TMP/link.sock"
that "up with --control naming a symlink did not exit 1" wait_for 5 cl_exited L
that "it exited $UP_RC, not 1" test "${UP_RC:-0}" = 1
that "the symlink was removed" test -L "$E2E_TMP/link.sock"
verdict "--control naming a symlink: refused, the link left alone"

# a socket nobody listens on: what a killed client leaves behind
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' \
    "$E2E_TMP/stale.sock"
require "python3 leaves a stale socket" test -S "$E2E_TMP/stale.sock"
up_local S "$E2E_TMP/stale.sock"
that "the client on a stale socket does not answer status: $(cat "$E2E_TMP/S.err")" \
    wait_for 5 ctl_answers "$E2E_TMP/stale.sock"
verdict "a stale control socket (no listener) is replaced"

up_local S2 "$E2E_TMP/stale.sock"
that "a second client on a live socket did not exit" wait_for 5 cl_exited S2
that "it exited $UP_RC, not 1" test "${UP_RC:-0}" = 1
that "no message about the running client: $(cat "$E2E_TMP/S2.err")" \
    grep -q "a client is running already on the control socket $E2E_TMP/stale.sock" "$E2E_TMP/S2.err"
that "the first client lost its socket" ctl_answers "$E2E_TMP/stale.sock"
verdict "a live control socket is refused, and the client on it keeps answering"
"$CLIENT" down --control "$E2E_TMP/stale.sock" >/dev/null 2>&1
that "the first client did not stop on down" wait_for 5 cl_exited S
that "it exited $UP_RC after down, not 0" test "${UP_RC:-1}" = 0
that "the socket stayed after down" test ! -e "$E2E_TMP/stale.sock"
verdict "down stops it and removes its socket"

# ---------------------------------------------------------------- one `up` per bundle

# a bundle of its own making: the agent and the manager are closed ports, the token is good
# for long (no refresh is due while the test runs)
cat >"$E2E_TMP/b.bundle" <<JSON
{"pssid": "6f1c2a9e-4f7b-4d7e-9a53-2a2d0f3c8b11", "name": "local",
 "access_token": "$(cat "$E2E_TMP/tok")",
 "access_token_expires_at": "2099-01-01T00:00:00Z",
 "access_token_received_at": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "refresh_token": "snr_x",
 "agents": [{"id": 1, "address": "127.0.0.1:9", "spki_pin": "$PIN"}],
 "manager": "http://127.0.0.1:9"}
JSON
chmod 600 "$E2E_TMP/b.bundle"
cl_up B1 --bundle "$E2E_TMP/b.bundle"
require "a client on the bundle answers status: $(tail -n 3 "$E2E_TMP/B1.err")" \
    wait_for 5 ctl_answers "$E2E_TMP/B1.sock"
cl_up B2 --bundle "$E2E_TMP/b.bundle"
that "a second up on the same bundle did not exit" wait_for 5 cl_exited B2
that "it exited $UP_RC, not 1" test "${UP_RC:-0}" = 1
that "no message saying the bundle is in use: $(cat "$E2E_TMP/B2.err")" \
    grep -q "bundle $E2E_TMP/b.bundle is in use by another .snaptun-client up." "$E2E_TMP/B2.err"
that "the first client stopped answering" ctl_answers "$E2E_TMP/B1.sock"
verdict "a second up on a bundle in use is refused with a clear message; the first goes on"
"$CLIENT" down --control "$E2E_TMP/B1.sock" >/dev/null 2>&1
that "the first client did not stop on down" wait_for 5 cl_exited B1
cl_up B3 --bundle "$E2E_TMP/b.bundle"
that "after the first stopped, a new up on the bundle does not start: $(tail -n 3 "$E2E_TMP/B3.err")" \
    wait_for 5 ctl_answers "$E2E_TMP/B3.sock"
verdict "the bundle is free again once its client stopped"
{ kill -KILL "${UP_PID[B3]}"; wait "${UP_PID[B3]}"; } 2>/dev/null
rm -f "$E2E_TMP/B3.sock"
cl_up B4 --bundle "$E2E_TMP/b.bundle"
that "after a client was killed, a new up on the bundle does not start: $(tail -n 3 "$E2E_TMP/B4.err")" \
    wait_for 5 ctl_answers "$E2E_TMP/B4.sock"
verdict "a killed client leaves no stale lock"
"$CLIENT" down --control "$E2E_TMP/B4.sock" >/dev/null 2>&1
wait_for 5 cl_exited B4

# ---------------------------------------------------------------- FIFOs

mkfifo -m 600 "$E2E_TMP/fifo.bundle" "$E2E_TMP/fifo.token"
cl_up FB --bundle "$E2E_TMP/fifo.bundle"
that "up with a FIFO as bundle did not exit within 5 s (blocked in open?)" wait_for 5 cl_exited FB
that "it exited $UP_RC, not 1" test "${UP_RC:-0}" = 1
that "no message naming the FIFO: $(cat "$E2E_TMP/FB.err")" \
    grep -q "bundle $E2E_TMP/fifo.bundle: not a regular file" "$E2E_TMP/FB.err"
verdict "a FIFO given as bundle is refused at once"
"$CLIENT" up --server 127.0.0.1:9 --pin "$PIN" --token-file "$E2E_TMP/fifo.token" \
    --relay 127.0.0.1:0 --control "$E2E_TMP/FT.sock" >"$E2E_TMP/FT.out" 2>"$E2E_TMP/FT.err" &
UP_PID[FT]=$!
E2E_PIDS+=("$!")
that "up with a FIFO as token file did not exit within 5 s (blocked in open?)" wait_for 5 cl_exited FT
that "it exited $UP_RC, not 1" test "${UP_RC:-0}" = 1
that "no message naming the FIFO: $(cat "$E2E_TMP/FT.err")" \
    grep -q "token file $E2E_TMP/fifo.token: not a regular file" "$E2E_TMP/FT.err"
verdict "a FIFO given as token file is refused at once"

# ---------------------------------------------------------------- credentials in the manager URL

sed -e "s|\"manager\": \"[^\"]*\"|\"manager\": \"http://user:s3cr3t@127.0.0.1:9\", \"refresh_request_id\": \"AAAAAAAAAAAAAAAAAAAAAA\"|" \
    "$E2E_TMP/b.bundle" >"$E2E_TMP/u.bundle"
chmod 600 "$E2E_TMP/u.bundle"
cl_up U --bundle "$E2E_TMP/u.bundle"
that "no failed refresh logged: $(tail -n 3 "$E2E_TMP/U.err")" \
    wait_line "$E2E_TMP/U.err" "token refresh failed" 10
"$CLIENT" down --control "$E2E_TMP/U.sock" >/dev/null 2>&1
wait_for 5 cl_exited U
that "the manager URL's password is in the log: $(grep s3cr3t "$E2E_TMP/U.err")" \
    not grep -q s3cr3t "$E2E_TMP/U.err"
that "the manager URL is not shown with its credentials masked: $(grep -i manager "$E2E_TMP/U.err")" \
    grep -q 'http://\*\*\*@127.0.0.1:9' "$E2E_TMP/U.err"
verdict "a manager URL with user:password@ is logged with the credentials masked"
"$CLIENT" join --manager "ftp://user:s3cr3t@127.0.0.1:9" --token snj_x --bundle "$E2E_TMP/j.bundle" \
    >"$E2E_TMP/J.out" 2>"$E2E_TMP/J.err"
that "join printed the password: $(cat "$E2E_TMP/J.err")" not grep -q s3cr3t "$E2E_TMP/J.err"
that "join did not quote the (masked) URL: $(cat "$E2E_TMP/J.err")" grep -q 'ftp://\*\*\*@127.0.0.1:9' "$E2E_TMP/J.err"
verdict "join's message about a bad --manager masks its credentials"

# ---------------------------------------------------------------- an expired token

"$MKTOKEN" --key "$E2E_TMP/issuer.pem" --pssid random --exp $(($(date +%s) - 120)) \
    >"$E2E_TMP/old.tok" || e2e_bail "mktoken makes an expired token"
"$CLIENT" up --server 127.0.0.1:9 --pin "$PIN" --token-file "$E2E_TMP/old.tok" \
    --relay 127.0.0.1:0 --control "$E2E_TMP/X.sock" >"$E2E_TMP/X.out" 2>"$E2E_TMP/X.err" &
UP_PID[X]=$!
E2E_PIDS+=("$!")
that "no warning that the token expired: $(cat "$E2E_TMP/X.err")" \
    wait_line "$E2E_TMP/X.err" "the token in $E2E_TMP/old.tok expired at .* \(1[0-9][0-9] s ago\)" 5
"$CLIENT" down --control "$E2E_TMP/X.sock" >/dev/null 2>&1
wait_for 5 cl_exited X
verdict "manager-less with an expired token: the log says it expired, when and how long ago"

# ---------------------------------------------------------------- TUN device errors

if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	# a mount namespace of its own where /dev/net is empty: no /dev/net/tun
	unshare -m sh -c 'mount -t tmpfs none /dev/net && exec "$@"' sh \
	    "$CLIENT" up --server 127.0.0.1:9 --pin "$PIN" --token-file "$E2E_TMP/tok" \
	    --tun snt-notun --control "$E2E_TMP/NT.sock" >"$E2E_TMP/NT.out" 2>"$E2E_TMP/NT.err"
	RC=$?
	that "up without /dev/net/tun exited $RC, not 1" test "$RC" = 1
	that "no hint about the missing /dev/net/tun: $(cat "$E2E_TMP/NT.err")" \
	    grep -q "no /dev/net/tun: load the tun module" "$E2E_TMP/NT.err"
	that "it blames privileges instead: $(cat "$E2E_TMP/NT.err")" not grep -q CAP_NET_ADMIN "$E2E_TMP/NT.err"
	verdict "no /dev/net/tun: the error says so (not that privileges are missing)"
else
	skip "no /dev/net/tun: the error says so" "needs root and unshare -m"
fi

# ---------------------------------------------------------------- stop during a refresh

# a manager that takes the connection and never answers: the refresh hangs until its timeout
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True); time.sleep(60)' >"$E2E_TMP/mute.port" &
E2E_PIDS+=("$!")
require "a mute manager listens" wait_line "$E2E_TMP/mute.port" '^[0-9]+$' 5
MUTE=$(cat "$E2E_TMP/mute.port")
# a pending request id: the client settles it at once at start
sed -e "s|\"manager\": \"[^\"]*\"|\"manager\": \"http://127.0.0.1:$MUTE\", \"refresh_request_id\": \"AAAAAAAAAAAAAAAAAAAAAA\"|" \
    "$E2E_TMP/b.bundle" >"$E2E_TMP/m.bundle"
chmod 600 "$E2E_TMP/m.bundle"
cl_up M --bundle "$E2E_TMP/m.bundle"
require "the client starts a refresh at the mute manager: $(tail -n 3 "$E2E_TMP/M.err")" \
    wait_line "$E2E_TMP/M.err" "refreshing the access token at http://127.0.0.1:$MUTE" 5
sleep 0.5
T0=$(date +%s%N)
kill -TERM "${UP_PID[M]}"
wait_for 20 cl_exited M
MS=$((($(date +%s%N) - T0) / 1000000))
that "the client exited $UP_RC on SIGTERM, not 0" test "${UP_RC:-1}" = 0
that "stopping took $MS ms with a refresh in flight (the HTTP timeout is 15 s)" test "$MS" -lt 1000
that "the pending request id was lost: $(grep -o '"refresh_request_id"[^,]*' "$E2E_TMP/m.bundle")" \
    grep -q '"refresh_request_id": *"AAAAAAAAAAAAAAAAAAAAAA"' "$E2E_TMP/m.bundle"
verdict "SIGTERM while a refresh waits on a mute manager: the client exits in $MS ms, the pending request id kept"

no_sanitizer_reports
e2e_finish
