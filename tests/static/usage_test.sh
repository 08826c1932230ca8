#!/usr/bin/env bash
# Every program's flags, checked on the built tree: each long option of its getopt_long table
# appears as --NAME in the synopsis that --help prints (the lines before the first empty one)
# and --help exits 0; --version prints "PROGRAM VERSION" and exits 0.
# Needs the programs of $BUILD (make all).
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
# shellcheck source=tests/static/lib.bash
. "$(dirname "$0")/lib.bash"


# long_options SOURCE: the names in the struct option table(s) of SOURCE, one a line.
long_options() {
	awk '/struct option/ { t = 1 } t && /\{NULL, 0, NULL, 0\}/ { t = 0 }
	    t { if (match($0, /^[ \t]*\{"[a-z0-9-]+",/)) {
		s = substr($0, RSTART, RLENGTH); sub(/^[ \t]*\{"/, "", s); sub(/",$/, "", s); print s } }' "$1"
}

# quietly CMD...: CMD succeeds, its output unseen.
quietly() {
	"$@" >/dev/null 2>&1
}

# synopsis_has_all BIN SOURCE: true when the synopsis of BIN --help names every long option of
# SOURCE; else the missing ones as diagnostics.
synopsis_has_all() {
	local syn missing="" o
	syn=$("$1" --help 2>/dev/null | sed '/^$/q') || return 1
	for o in $(long_options "$2"); do
		grep -q -- "--$o\\b" <<<"$syn" || missing="$missing --$o"
	done
	[ -z "$missing" ] && return 0
	echo "#   not in the synopsis:$missing"
	return 1
}

VERSION=$(sed -n 's/^#define SNAPTUN_VERSION "\(.*\)"$/\1/p' lib/version.h)
for pair in snaptun-manager:manager/main.c snaptun-agent:agent/main.c \
    snaptun-client:agent/client/main.c \
    tools/tunclient:tests/tools/tunclient.c tools/mktoken:tests/tools/mktoken.c \
    tools/chanpeer:tests/tools/chanpeer.c tools/hsflood:tests/tools/hsflood.c; do
	bin=$BUILD/${pair%%:*} src=${pair#*:} name=$(basename "${pair%%:*}")
	if [ ! -x "$bin" ]; then
		echo "not ok - $bin is not built (make all)"
		failed=$((failed + 1))
		continue
	fi
	n=$(long_options "$src" | wc -l)
	check "$name: its getopt table in $src has long options ($n)" test "$n" -gt 2
	check "$name --help exits 0" quietly "$bin" --help
	check "$name --help: the synopsis names all $n long options" synopsis_has_all "$bin" "$src"
	check "$name --version prints \"$name $VERSION\" and exits 0" \
	    test "$("$bin" --version 2>/dev/null)" = "$name $VERSION"
done
static_finish
