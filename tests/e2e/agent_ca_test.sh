#!/usr/bin/env bash
# A remote agent that finds its manager by DNS name and trusts a CA instead of (or beside) a pin
# (on loopback; the name is localhost). The manager's agent listener has a certificate a test
# CA signed for "localhost". The agent attaches to localhost:PORT=PIN (a name, looked up off
# its loop) and to localhost:PORT with --manager-ca alone; it refuses, before HELLO, a manager
# whose certificate another CA signed, and one reached by an address the certificate does not
# name; an endpoint whose name does not resolve is skipped for the next one; without a pin and
# without --manager-ca it does not start. Run from the repository root:
# BUILD=build bash tests/e2e/agent_ca_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

for b in "$MANAGER" "$AGENT"; do
	[ -x "$b" ] || e2e_bail "$b is not built (make all)"
done
command -v certtool >/dev/null || e2e_bail "certtool is missing (make deps: gnutls-bin)"
getent hosts localhost >/dev/null || e2e_bail "localhost does not resolve on this machine"

# ca DIR CN: a CA (DIR/ca.key, DIR/ca.crt).
ca() {
	mkdir -p -m 700 "$1" &&
	    printf 'cn = %s\nca\ncert_signing_key\nexpiration_days = 2\n' "$2" >"$1/ca.tmpl" &&
	    certtool --generate-privkey --key-type ed25519 --outfile "$1/ca.key" 2>/dev/null &&
	    certtool --generate-self-signed --load-privkey "$1/ca.key" --template "$1/ca.tmpl" \
		--outfile "$1/ca.crt" 2>/dev/null
}

# leaf DIR NAME: a server certificate for DNS name NAME signed by DIR's CA (DIR/NAME.key/.crt).
leaf() {
	printf 'cn = %s\ndns_name = %s\ntls_www_server\nexpiration_days = 2\n' "$2" "$2" \
	    >"$1/$2.tmpl" &&
	    certtool --generate-privkey --key-type ed25519 --outfile "$1/$2.key" 2>/dev/null &&
	    certtool --generate-certificate --load-privkey "$1/$2.key" --load-ca-certificate \
		"$1/ca.crt" --load-ca-privkey "$1/ca.key" --template "$1/$2.tmpl" \
		--outfile "$1/$2.crt" 2>/dev/null
}

CA=$E2E_TMP/ca OTHER=$E2E_TMP/other
ca "$CA" "snaptun test CA" && leaf "$CA" localhost || e2e_bail "certtool makes a CA and a certificate"
ca "$OTHER" "another CA" || e2e_bail "certtool makes a second CA"
chmod 600 "$CA"/*.key

M=$E2E_TMP/m
mgr_start "$M" --agent-listen 127.0.0.1:0 --agent-tls-cert "$CA/localhost.crt" \
    --agent-tls-key "$CA/localhost.key" --log-level info || e2e_bail "the manager starts"
TOKEN=$(cat "$M/admin.token")
LISTENER=$(sed -n 's/.*agents on other hosts attach on \([0-9.:]*\) (TLS 1.3).*/\1/p' "$M.err")
PORT=${LISTENER##*:}
MGR_PIN=$(cert_pin "$CA/localhost.crt")
that "no listener in the log" test -n "$PORT"
verdict "the manager's agent listener serves a certificate the test CA signed for localhost"

api POST /v1/agent-tokens '{"name":"edge"}'
SAT=$(jget .token)
CRED=$E2E_TMP/cred
"$AGENT" enroll --manager "$URL" --token "$SAT" --out "$CRED" >"$E2E_TMP/enroll.out" \
    2>"$E2E_TMP/enroll.err" || e2e_bail "enroll: $(cat "$E2E_TMP/enroll.err")"
AGENT_ID=$(sed -n 's/^enrolled as agent \([0-9]*\) .*/\1/p' "$E2E_TMP/enroll.out")
# creds_with JSON_MANAGERS NAME: the credentials with other managers, as NAME.json.
creds_with() {
	sed -e '/"managers"/,/\]/d' -e "s|^{|{\"managers\": $1,|" "$CRED/credentials.json" \
	    >"$CRED/$2.json" && chmod 600 "$CRED/$2.json"
}

# attaches: the manager lists the agent connected within 15 s.
attaches() {
	wait_for 15 agent_connected
}

# shellcheck disable=SC2317 # called through wait_for
gone() {
	! agent_connected
}

# ---- a name and a pin ----
creds_with "[{\"address\": \"localhost:$PORT\", \"pin\": \"$MGR_PIN\"}]" named
agent_start "$E2E_TMP/a1" --credentials "$CRED/named.json" || e2e_bail "the agent starts"
that "the agent does not attach to localhost:$PORT: $(tail -n 3 "$E2E_TMP/a1.err")" attaches
api GET "/v1/agents/$AGENT_ID"
want .connected true
verdict "an agent attaches to its manager by DNS name (localhost:$PORT) and pin"
agent_stop TERM
wait_for 10 gone || e2e_bail "the manager still lists the agent connected"

# ---- a name and the CA alone ----
creds_with "[{\"address\": \"localhost:$PORT\"}]" ca_only
agent_start "$E2E_TMP/a2" --credentials "$CRED/ca_only.json" --manager-ca "$CA/ca.crt" ||
    e2e_bail "the agent starts with --manager-ca"
that "the agent does not attach with the CA alone: $(tail -n 3 "$E2E_TMP/a2.err")" attaches
verdict "an agent attaches to a manager whose certificate the CA of --manager-ca signed for the name"
agent_stop TERM
wait_for 10 gone || e2e_bail "the manager still lists the agent connected"

# ---- refusals ----
creds_with "[{\"address\": \"localhost:$PORT\"}]" other_ca
agent_start "$E2E_TMP/a3" --credentials "$CRED/other_ca.json" --manager-ca "$OTHER/ca.crt" ||
    e2e_bail "the agent starts with another CA"
that "the agent did not refuse a certificate of another CA: $(tail -n 3 "$E2E_TMP/a3.err")" \
    wait_line "$E2E_TMP/a3.err" "localhost:$PORT: its certificate is not trusted for \"localhost\" \\(--manager-ca\\)" 10
that "it sent HELLO" test "$(grep -c 'HELLO sent\|snapshot' "$E2E_TMP/a3.err")" = 0
agent_stop TERM
verdict "a manager certificate another CA signed is refused before HELLO"

creds_with "[{\"address\": \"127.0.0.1:$PORT\"}]" by_address
agent_start "$E2E_TMP/a4" --credentials "$CRED/by_address.json" --manager-ca "$CA/ca.crt" ||
    e2e_bail "the agent starts with the manager's address"
that "the agent did not refuse a certificate not valid for 127.0.0.1: $(tail -n 3 "$E2E_TMP/a4.err")" \
    wait_line "$E2E_TMP/a4.err" "127.0.0.1:$PORT: its certificate is not trusted for \"127.0.0.1\"" 10
agent_stop TERM
verdict "a manager reached by an address its certificate does not name is refused"

# ---- a name that does not resolve, then one that does ----
creds_with "[{\"address\": \"no-such-manager.invalid:$PORT\", \"pin\": \"$MGR_PIN\"}, {\"address\": \"localhost:$PORT\", \"pin\": \"$MGR_PIN\"}]" two
agent_start "$E2E_TMP/a5" --credentials "$CRED/two.json" || e2e_bail "the agent starts"
that "the agent did not attach through the second endpoint: $(tail -n 3 "$E2E_TMP/a5.err")" attaches
that "it did not say why the first failed: $(grep -i resolve "$E2E_TMP/a5.err" | head -n 2)" \
    grep -q "no-such-manager.invalid:$PORT: cannot resolve \"no-such-manager.invalid\"" "$E2E_TMP/a5.err"
agent_stop TERM
that "agent exit status $AGENT_RC" test "$AGENT_RC" = 0
verdict "an endpoint whose name does not resolve is logged and skipped for the next one"

# ---- no pin and no CA ----
"$AGENT" --state-dir "$E2E_TMP/a6" --listen 127.0.0.1:0 --credentials "$CRED/ca_only.json" \
    >/dev/null 2>"$E2E_TMP/a6.err"
RC=$?
that "the agent exited $RC" test "$RC" = 1
that "it does not say why: $(cat "$E2E_TMP/a6.err")" \
    grep -q "no pin (HOST:PORT=PIN) and no --manager-ca" "$E2E_TMP/a6.err"
verdict "a manager endpoint with neither a pin nor --manager-ca is refused at start"

mgr_stop TERM
that "manager exit status $MGR_RC" test "$MGR_RC" = 0
verdict "the manager stops cleanly"
no_sanitizer_reports
e2e_finish
