#!/usr/bin/env bash
# The architecture, checked on the built tree (README "Layout"): the store owns all SQL, the
# agent links no store or manager code and the manager no QUIC or gateway code, and no two
# source files call into each other (a circle) or include each other's headers in a circle.
# Needs the programs and archives of $BUILD (make all).
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
# shellcheck source=tests/static/lib.bash
. "$(dirname "$0")/lib.bash"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/snaptun-layers.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT


# none_found FILE: true when FILE is empty; else its first lines as diagnostics.
none_found() {
	[ -s "$1" ] || return 0
	sed -n '1,15s/^/#   /p' "$1"
	return 1
}

for f in "$BUILD/snaptun-manager" "$BUILD/snaptun-agent" "$BUILD"/lib{lib,proto,db,quic,agent,manager}.a; do
	[ -e "$f" ] || { echo "not ok - $f is built (make all)"; exit 1; }
done

# ---- SQL lives in db/ only ----
grep -nE '#include <sqlite3\.h>|db/sqlite/|sqlite3_' manager/*.[ch] manager/*/*.[ch] \
    agent/*.[ch] agent/*/*.[ch] 2>/dev/null >"$tmp/sqlite"
check "no manager/ or agent/ file includes SQLite or the SQLite backend" none_found "$tmp/sqlite"
grep -nE '"[[:space:]]*(SELECT .*FROM|SELECT [a-z_(*]+|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM|(CREATE|DROP) (TABLE|INDEX|UNIQUE|TRIGGER)|ALTER TABLE|BEGIN IMMEDIATE|PRAGMA )' \
    manager/*.[ch] manager/*/*.[ch] agent/*.[ch] agent/*/*.[ch] 2>/dev/null >"$tmp/sql"
check "no manager/ or agent/ file holds SQL text" none_found "$tmp/sql"

# ---- each program links only its layers ----
# defined SYMBOL-FILE ARCHIVE...: the global symbols the archives define (text and data).
defined() {
	local out=$1
	shift
	nm -g --defined-only "$@" 2>/dev/null | awk 'NF == 3 && $2 ~ /^[TDBR]$/ { print $3 }' |
	    sort -u >"$out"
}
nm -g --defined-only "$BUILD/snaptun-agent" | awk 'NF == 3 { print $3 }' | sort -u >"$tmp/agent.syms"
nm -g --defined-only "$BUILD/snaptun-manager" | awk 'NF == 3 { print $3 }' | sort -u >"$tmp/manager.syms"
defined "$tmp/store.syms" "$BUILD/libdb.a" "$BUILD/libmanager.a"
defined "$tmp/gateway.syms" "$BUILD/libquic.a" "$BUILD/libagent.a"
comm -12 "$tmp/agent.syms" "$tmp/store.syms" >"$tmp/agent.bad"
check "snaptun-agent holds no store or manager symbol" none_found "$tmp/agent.bad"
comm -12 "$tmp/manager.syms" "$tmp/gateway.syms" >"$tmp/manager.bad"
check "snaptun-manager holds no QUIC transport or gateway symbol" none_found "$tmp/manager.bad"

# ---- no circles between files ----
# calls: for every object, an edge to each object that defines a symbol it uses; tsort names
# every edge of a circle it finds.
# Members of the (thin) archives keep their paths: "build/libdb.a:build/db/sqlite/pool.o: ...".
ARCHIVES=("$BUILD"/lib{lib,proto,db,quic,agent,manager}.a)
nm -A -g --defined-only "${ARCHIVES[@]}" | awk 'NF == 3 { split($1, p, ":"); print $3, p[2] }' |
    sort -k1,1 >"$tmp/defs"
nm -A -u "${ARCHIVES[@]}" | awk '{ split($1, p, ":"); print $NF, p[2] }' | sort -k1,1 >"$tmp/uses"
join "$tmp/uses" "$tmp/defs" | awk '$2 != $3 { print $2, $3 }' | sort -u |
    sed "s|$BUILD/||g" >"$tmp/calls"
{ tsort "$tmp/calls" >/dev/null; } 2>&1 | grep -v '^tsort: -: input contains a loop:' |
    sed 's/^tsort: //' >"$tmp/call.loops"
check "no circle of calls between source files" none_found "$tmp/call.loops"

# includes: an edge from each header to each project header it includes (relative paths
# resolved); a .c file cannot be part of a circle.
for h in $(git ls-files '*.h' 2>/dev/null || find . -name '*.h'); do
	d=$(dirname "$h")
	sed -n 's/^#include "\([^"]*\)".*/\1/p' "$h" | while read -r inc; do
		t=$(realpath -m --relative-to=. "$d/$inc")
		[ -e "$t" ] && echo "$h $t"
	done
done >"$tmp/includes"
{ tsort "$tmp/includes" >/dev/null; } 2>&1 | grep -v 'input contains a loop:' |
    sed 's/^tsort: //' >"$tmp/include.loops"
check "no circle of includes between headers" none_found "$tmp/include.loops"

static_finish
