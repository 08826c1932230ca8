#!/usr/bin/env bash
# The manager's static serving of the dashboard (web/ at "/", --web-dir): media types, the
# security headers (Content-Security-Policy without inline script or style, nosniff, no
# framing), ETag revalidation, HEAD, 405 for other methods, and paths that must not reach any
# file: "..", encoded dots, hidden names, unknown types, symlinks out of the directory (to a
# secret and to the manager's state dir), the API's own 404s. --web-dir names the directory;
# a missing one stops the start; "" serves none.
# Run from the repository root: BUILD=build bash tests/e2e/web_static_test.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.bash

CSP="default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

# web METHOD PATH [CURL_ARG...]: a request sent as is (no path normalisation by curl); STATUS,
# the body in BODY and the head for hdr (lib.bash).
web() {
	local method=$1 path=$2
	shift 2
	REQ="$method $path"
	rm -f "$E2E_TMP/body" "$E2E_TMP/hdrs"
	if [ "$method" = HEAD ]; then
		set -- -I "$@"
	else
		set -- -X "$method" "$@"
	fi
	STATUS=$(curl -sS --max-time 10 --path-as-is -o "$E2E_TMP/body" -D "$E2E_TMP/hdrs" \
	    -w '%{http_code}' "$@" "$URL$path" 2>"$E2E_TMP/curl.err")
	BODY=$(cat "$E2E_TMP/body" 2>/dev/null)
	[ "$method" = HEAD ] && BODY=
}

# not_served PATH [WHY]: a 404 problem, not a file.
not_served() {
	web GET "$1"
	want_status 404
	want_header Content-Type application/problem+json
	that "the body is not the not-found problem: ${BODY:0:200}" grep -q 'urn:snaptun:problem:not-found' <<<"$BODY"
	verdict "GET $1 -> 404 problem${2:+ ($2)}"
}

mgr_start "$E2E_TMP/mgr" || e2e_bail "the manager starts"
TOKEN=$(cat "$E2E_TMP/mgr/admin.token")

# ---------------------------------------------------------------- the dashboard's files

web GET /
want_status 200
want_header Content-Type "text/html; charset=utf-8"
want_header Content-Security-Policy "$CSP"
want_header X-Content-Type-Options nosniff
want_header X-Frame-Options DENY
want_header Referrer-Policy no-referrer
want_header Cache-Control no-cache
that "the body is not web/index.html" cmp -s "$E2E_TMP/body" web/index.html
ETAG=$(hdr ETag)
that "no quoted ETag ($ETAG)" grep -Eq '^"[0-9a-f-]+"$' <<<"$ETAG"
verdict "GET / is web/index.html as text/html with the CSP, nosniff, DENY framing, no-cache and an ETag"

that "index.html holds an inline script" eval '! grep -Eiq "<script>|<script [^>]*>[^<]|<style|style=| on[a-z]+=" web/index.html'
verdict "index.html has no inline script, style or handler (the CSP would block them)"

web GET /index.html
want_status 200
that "GET /index.html has another ETag ($(hdr ETag))" test "$(hdr ETag)" = "$ETAG"
verdict "GET /index.html is the same file"

web GET / -H "If-None-Match: $ETAG"
want_status 304
that "a 304 has a body" test -z "$BODY"
want_header ETag "$ETAG"
verdict "GET / with If-None-Match of its ETag -> 304 without a body"
web GET / -H 'If-None-Match: "other"'
want_status 200
verdict "GET / with another If-None-Match -> 200"

web HEAD /js/app.js
want_status 200
want_header Content-Type "text/javascript; charset=utf-8"
want_header Content-Length "$(stat -c %s web/js/app.js)"
want_header Content-Security-Policy "$CSP"
verdict "HEAD /js/app.js -> 200, text/javascript, its length, the CSP"

web GET /app.css
want_status 200
want_header Content-Type "text/css; charset=utf-8"
verdict "GET /app.css -> text/css"
web GET /favicon.svg
want_status 200
want_header Content-Type image/svg+xml
verdict "GET /favicon.svg -> image/svg+xml"
web GET '/js/app.js?v=1'
want_status 200
verdict "a query string does not change the file"

web POST /
want_status 405
want_header Allow "GET, HEAD"
want_header Content-Type application/problem+json
verdict "POST / -> 405 problem, Allow: GET, HEAD"

# ---------------------------------------------------------------- what must not be served

not_served /../../etc/passwd '".." segments'
not_served /js/../index.html '".." anywhere'
not_served /%2e%2e/%2e%2e/etc/passwd 'encoded dots'
not_served /js/..%2fapp.js 'an encoded slash'
not_served /README.md 'web/README.md: not a dashboard type'
not_served /.gitignore 'a hidden name'
not_served /js 'a directory'
not_served /js/ 'a directory with a slash'
not_served //index.html 'an empty segment'
not_served /nope.js 'a missing file'
not_served /v1/nope 'the API keeps its own 404'
web GET "/v1/health?live"
want_status 200
want_header Content-Security-Policy "default-src 'none'; frame-ancestors 'none'"
want_header X-Content-Type-Options nosniff
verdict "API replies carry a CSP that loads nothing, and nosniff"

# A web directory of its own, holding symlinks: to a secret file outside it, to the manager's
# state dir (the admin token), to a directory outside, and one inside to its own index.
mgr_stop
W=$E2E_TMP/webdir
mkdir -p "$W/js" "$E2E_TMP/outside"
cp web/index.html "$W/index.html"
echo 'secret' >"$E2E_TMP/outside/secret.txt"
echo 'export {};' >"$E2E_TMP/outside/x.js"
ln -s "$E2E_TMP/outside/secret.txt" "$W/secret.txt"
ln -s "$E2E_TMP/mgr" "$W/state"
ln -s "$E2E_TMP/outside" "$W/js/out"
ln -s index.html "$W/alias.html"
# A copy of the admin token under a name of a served type: what a followed link would leak.
cp "$E2E_TMP/mgr/admin.token" "$E2E_TMP/mgr/token.txt"
mgr_start "$E2E_TMP/mgr" --web-dir "$W" || e2e_bail "the manager starts with --web-dir"
web GET /
want_status 200
that "not $W/index.html" cmp -s "$E2E_TMP/body" "$W/index.html"
verdict "--web-dir DIR serves DIR"
not_served /secret.txt 'a symlink to a file outside'
not_served /js/out/x.js 'a symlinked directory outside'
not_served /state/token.txt 'a symlink to the state dir'
not_served /alias.html 'no symlink is followed, not even one inside'

mgr_stop
mgr_start "$E2E_TMP/mgr" --web-dir "" || e2e_bail "the manager starts with --web-dir \"\""
not_served / '--web-dir "": no dashboard'
mgr_stop

"$MANAGER" --state-dir "$E2E_TMP/mgr" --listen 127.0.0.1:0 --web-dir "$E2E_TMP/nope" \
    >"$E2E_TMP/nodir.out" 2>"$E2E_TMP/nodir.err" &
pid=$!
E2E_PIDS+=("$pid")
wait_for 10 eval '! kill -0 $pid 2>/dev/null'
wait "$pid"
rc=$?
proc_forget "$pid"
that "exit status $rc" test "$rc" -ne 0
that "the message does not name the directory: $(cat "$E2E_TMP/nodir.err")" grep -q -- "--web-dir $E2E_TMP/nope" "$E2E_TMP/nodir.err"
verdict "a missing --web-dir stops the start, naming it"

no_sanitizer_reports
e2e_finish
