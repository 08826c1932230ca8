#!/usr/bin/env bash
# The dashboard in a real browser: a manager and an agent (tunnel_env), then
# tests/browser/dashboard.mjs drives Debian's Chromium headless through Playwright (playwright-core
# from npm, `make deps`): log in by keyboard, create a pool and join tokens, start snaptun-client
# with the dashboard's token, see its session appear live, kill it and see it go, check that a
# read token gets disabled controls and a 403 past them, that a provision token sees its two
# pages only, that markup in names, labels and reasons shows as text, that a live list keeps the
# keyboard focus, and that no page logs a console error.
# Screenshots of every page go to $DASHBOARD_OUT (default $BUILD/tests/dashboard). First, with
# node alone, tests/browser/events_stream.mjs checks the dashboard's event-stream reader.
# Run from the repository root: BUILD=build bash tests/e2e/dashboard_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
OUT=${DASHBOARD_OUT:-$BUILD/tests/dashboard}

# tap_in CMD...: count the TAP lines CMD prints as checks of this script; a CMD that prints
# none is one failure.
tap_in() {
	local line n_before=$((E2E_PASSED + E2E_FAILED))
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "${line#ok - }" ;;
		"not ok - "*) not_ok "${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	done < <("$@" 2>&1)
	[ $((E2E_PASSED + E2E_FAILED)) -gt "$n_before" ] || not_ok "$* reported nothing"
}

why=
command -v node >/dev/null || why="node is missing (make deps: nodejs)"
if [ -z "$why" ]; then
	# The event-stream reader alone, against a stand-in server (no browser needed).
	tap_in timeout 60 node tests/browser/events_stream.mjs
fi
[ -x "$CHROMIUM" ] || why="$CHROMIUM is missing (make deps: chromium)"
[ -f node_modules/playwright-core/package.json ] || why="node_modules/playwright-core is missing (make deps runs npm ci)"
if [ -n "$why" ]; then
	echo "# SKIPPED: $why"
	skip "the dashboard in a browser" "$why"
	e2e_finish
fi
[ -x "$CLIENT" ] || e2e_bail "$CLIENT is not built (make all)"

tunnel_env
api POST /v1/admin-tokens '{"name":"dashboard-reader","scope":"read"}'
[ "$STATUS" = 201 ] || e2e_bail "a read token (POST /v1/admin-tokens -> $STATUS)"
READ=$(jget .token)
api POST /v1/admin-tokens '{"name":"dashboard-provisioner","scope":"provision"}'
[ "$STATUS" = 201 ] || e2e_bail "a provision token (POST /v1/admin-tokens -> $STATUS)"
PROVISION=$(jget .token)

rm -rf "$OUT" && mkdir -p "$OUT" || e2e_bail "cannot create $OUT"
tap_in env URL="$URL" ADMIN="$TOKEN" READ="$READ" PROVISION="$PROVISION" CLIENT="$CLIENT" \
    WORK="$E2E_TMP" OUT="$OUT" CHROMIUM="$CHROMIUM" timeout 240 node tests/browser/dashboard.mjs

shots=$(find "$OUT" -name '*.png' -size +1k | wc -l)
check "a screenshot of each page in $OUT ($shots)" test "$shots" -ge 12
no_sanitizer_reports
e2e_finish
