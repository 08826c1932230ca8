#!/usr/bin/env bash
# Secrets are kept only where nobody else can write: a state dir (the manager's or the agent's)
# writable by group or others is refused at start with a message naming it and the chmod that
# fixes it, before anything is written into it; so is a directory holding a key file. 0700 and
# 0755 work.
# Run from the repository root: BUILD=build bash tests/e2e/statedir_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

# refused WHAT OUT DIR: the start failed and OUT names DIR, group and others, and the fix.
refused() {
	that "$1 started in a 0777 dir (exit status $2)" test "$2" -ne 0
	that "the message does not name $4 and the fix: $(cat "$3")" \
	    grep -qF "$4 is writable by group and others (mode 0777)" "$3"
	that "the message does not say how to fix it" grep -qF "(fix: chmod 700 $4)" "$3"
}

OPEN=$E2E_TMP/open
mkdir -m 777 "$OPEN"
chmod 777 "$OPEN"
timeout 10 "$MANAGER" --state-dir "$OPEN" --listen 127.0.0.1:0 >"$E2E_TMP/m.out" 2>&1
refused "the manager" $? "$E2E_TMP/m.out" "$OPEN"
that "a secret was written to the open dir: $(ls "$OPEN")" test -z "$(ls -A "$OPEN")"
verdict "the manager refuses a state dir writable by others, naming it and the fix"

timeout 10 "$MANAGER" --check --state-dir "$OPEN" >"$E2E_TMP/c.out" 2>&1
refused "manager --check" $? "$E2E_TMP/c.out" "$OPEN"
verdict "so does --check"

STATE=$E2E_TMP/state
mkdir -m 700 "$STATE"
require "the manager starts on a 0700 dir" mgr_start "$STATE"
TOKEN=$(cat "$STATE/admin.token")
api GET '/v1/health?live'
want_status 200
verdict "and serves"

ASTATE=$E2E_TMP/agent-open
mkdir -m 777 "$ASTATE"
chmod 777 "$ASTATE"
timeout 10 "$AGENT" --state-dir "$ASTATE" --listen 127.0.0.1:0 \
    --manager-socket "$STATE/agent.sock" >"$E2E_TMP/a.out" 2>&1
refused "the agent" $? "$E2E_TMP/a.out" "$ASTATE"
that "a secret was written to the open dir: $(ls "$ASTATE")" test -z "$(ls -A "$ASTATE")"
verdict "the agent refuses a state dir writable by others, naming it and the fix"

mkdir -m 755 "$E2E_TMP/agent"
require "the agent starts on a 0755 dir" agent_start "$E2E_TMP/agent"

# A key file read from a directory others may write.
KEYS=$E2E_TMP/keys
mkdir -m 700 "$KEYS"
cp "$STATE/channel.key" "$KEYS/channel.key"
chmod 777 "$KEYS"
timeout 10 "$AGENT" --state-dir "$E2E_TMP/agent2" --listen 127.0.0.1:0 \
    --manager-socket "$STATE/agent.sock" --channel-key "$KEYS/channel.key" >"$E2E_TMP/k.out" 2>&1
refused "the agent" $? "$E2E_TMP/k.out" "$KEYS"
verdict "the agent refuses a channel key in a directory writable by others"

# The key files' directory of an older version, read once to seal them into the store.
mgr_stop TERM
mkdir -m 777 "$STATE/keys"
chmod 777 "$STATE/keys"
timeout 10 "$MANAGER" --state-dir "$STATE" --listen 127.0.0.1:0 >"$E2E_TMP/s.out" 2>&1
refused "the manager" $? "$E2E_TMP/s.out" "$STATE/keys"
verdict "the manager refuses a signing keys' directory (of an older version) writable by others"
rmdir "$STATE/keys"
# The store secret in a directory others may write.
SEC=$E2E_TMP/secretdir
mkdir -m 700 "$SEC"
cp -p "$STATE/store.secret" "$SEC/store.secret"
chmod 777 "$SEC"
timeout 10 "$MANAGER" --state-dir "$STATE" --listen 127.0.0.1:0 \
    --store-secret "$SEC/store.secret" >"$E2E_TMP/t.out" 2>&1
refused "the manager" $? "$E2E_TMP/t.out" "$SEC"
verdict "the manager refuses a --store-secret in a directory writable by others"
chmod 700 "$SEC"
require "and starts again once it is fixed" mgr_start "$STATE" --store-secret "$SEC/store.secret"
e2e_finish
