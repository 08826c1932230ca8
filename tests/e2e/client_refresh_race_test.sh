#!/usr/bin/env bash
# The tunnel comes up while a token refresh is in flight (relay mode, a real manager behind a
# proxy that holds each connection 2 s, and a real agent on loopback): the client's loop must
# not touch the bundle the refresh thread owns (its networks, its last address) meanwhile. The
# refresh succeeds, the bundle ends with the rotated refresh token and the tunnel's address.
# Built with SANITIZE=thread, any data race between the loop and the refresh thread is a report
# that fails the test:
#   make BUILD=build-tsan SANITIZE=thread build-tsan/snaptun-client
#   CLIENT=build-tsan/snaptun-client BUILD=build bash tests/e2e/client_refresh_race_test.sh
# Run from the repository root: BUILD=build bash tests/e2e/client_refresh_race_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash
[ -x "$CLIENT" ] || e2e_bail "$CLIENT is not built (make all)"
command -v python3 >/dev/null || e2e_bail "python3 is missing (the slow proxy)"

AGENT_LISTEN=127.0.0.1:0
tunnel_env
check "snaptun-client join writes the bundle" cl_join alice

# the manager behind a proxy that waits 2 s before it forwards a connection
MGR_HOSTPORT=${URL#http://}
MGR_HOSTPORT=${MGR_HOSTPORT%%/*}
python3 -c 'import socket, sys, threading, time
host, port = sys.argv[1].rsplit(":", 1)
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(8)
print(ls.getsockname()[1], flush=True)
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            b.sendall(d)
    except OSError: pass
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
def serve(c):
    time.sleep(2)
    u = socket.create_connection((host, int(port)))
    threading.Thread(target=pipe, args=(c, u), daemon=True).start()
    pipe(u, c)
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()' "$MGR_HOSTPORT" >"$E2E_TMP/proxy.port" 2>"$E2E_TMP/proxy.err" &
E2E_PIDS+=("$!")
require "the slow proxy listens" wait_line "$E2E_TMP/proxy.port" '^[0-9]+$' 5
PROXY=$(cat "$E2E_TMP/proxy.port")

# the manager through the proxy, and a token received long ago: the refresh is due at start
sed -e "s|\"manager\": *\"[^\"]*\"|\"manager\": \"http://127.0.0.1:$PROXY\"|" \
    -e "s|\"access_token_received_at\": *\"[^\"]*\"|\"access_token_received_at\": \"2000-01-01T00:00:00Z\"|" \
    "$E2E_TMP/alice.bundle" >"$E2E_TMP/slow.bundle"
chmod 600 "$E2E_TMP/slow.bundle"
require "the bundle goes through the proxy" grep -q "127.0.0.1:$PROXY" "$E2E_TMP/slow.bundle"
RT0=$(jget .refresh_token "$(cat "$E2E_TMP/slow.bundle")")

cl_up A --bundle "$E2E_TMP/slow.bundle"
that "no refresh started at once: $(tail -n 5 "$E2E_TMP/A.err")" \
    wait_line "$E2E_TMP/A.err" "refreshing the access token" 5
that "the tunnel did not come up: $ST" wait_for 10 cl_is_up A
ADDR=$(jget .address "$ST")
that "the refresh did not succeed: $(tail -n 5 "$E2E_TMP/A.err")" \
    wait_line "$E2E_TMP/A.err" "new access token, valid until" 15
UP_LINE=$(grep -n -m1 "tunnel up:" "$E2E_TMP/A.err" | cut -d: -f1)
NEW_LINE=$(grep -n -m1 "new access token" "$E2E_TMP/A.err" | cut -d: -f1)
that "the refresh ended before the tunnel came up (the proxy holds it 2 s): $(cat "$E2E_TMP/A.err")" \
    test "${UP_LINE:-9999}" -lt "${NEW_LINE:-0}"
BUNDLE=$(cat "$E2E_TMP/slow.bundle")
that "the bundle's refresh token did not rotate" test "$(jget .refresh_token "$BUNDLE")" != "$RT0"
that "the bundle's last address is $(jget .last_address "$BUNDLE"), not the tunnel's $ADDR" \
    grep -q ",$ADDR\"" <<<"$(grep -o '"last_address": *"[^"]*"' "$E2E_TMP/slow.bundle")"
that "the client is not up after the refresh: $ST" cl_is_up A
verdict "the tunnel comes up ($ADDR) during a refresh; the refresh completes; the bundle holds the new refresh token and the address"

"$CLIENT" down --control "$E2E_TMP/A.sock" >/dev/null 2>&1
check "the client stops on down" wait_for 10 cl_exited A
no_sanitizer_reports
e2e_finish
