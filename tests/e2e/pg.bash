# A PostgreSQL server for the tests (sourced by lib.bash; not a test itself): one server per test
# script, started on first use in a temp dir of its own, listening only on a UNIX socket in that
# dir, stopped and removed when the script exits (lib.bash's exit trap calls pg_stop), also when
# it fails. PostgreSQL refuses to run as root: as root the server runs as the postgres user
# (runuser) in a dir it owns; otherwise as the current user.
#
#   pg_start || skip "..."          # sets PG_DIR (data, log and socket), PG_BIN
#   db=$(pg_createdb)               # a fresh database, its name on stdout
#   pg_uri "$db"                    # the --store string for it
#   pg_sql "$db" "SELECT 1"         # psql, unaligned, no headers; stops at the first error
#   pg_restart                      # pg_ctl restart -m fast (connections are cut)
#
# Under E2E_STORE=postgresql, mgr_start gives each new state dir a fresh database (its name kept
# in DIR/.pgdb, so a restart on the same dir finds the same records) and store_sql reads it.

PG_DIR=
PG_BIN=
PG_RUN=()
PG_OPTS=		# the server's options (socket dir, settings), for every start

# pg_find_bin: the newest PostgreSQL server's bin dir (Debian keeps it off PATH).
pg_find_bin() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
	done
	command -v initdb >/dev/null && dirname "$(command -v initdb)" && return 0
	return 1
}

# pg_start [SETTING...]: initdb and start the server once per script (later calls return at
# once); each SETTING is a -c NAME=VALUE for the server. 1 with a diagnostic when it cannot.
pg_start() {
	[ -n "$PG_DIR" ] && return 0
	local settings=("-c" "listen_addresses=" "-c" "fsync=off" "-c" "max_connections=200") s
	for s in "$@"; do
		settings+=("-c" "$s")
	done
	PG_BIN=$(pg_find_bin) || { diag "PostgreSQL's initdb is not installed (make deps)"; return 1; }
	# Not under E2E_TMP: the server's user must be able to reach the dir, and a 0700 parent
	# owned by root would stop it.
	PG_DIR=$(mktemp -d /tmp/snaptun-pg.XXXXXX) || return 1
	PG_RUN=()
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$PG_DIR" || return 1
		PG_RUN=(runuser -u postgres --)
	fi
	if ! "${PG_RUN[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 \
	    --no-sync >"$PG_DIR/initdb.log" 2>&1; then
		diag "initdb failed: $(tail -n 5 "$PG_DIR/initdb.log")"
		return 1
	fi
	PG_OPTS="-k $PG_DIR $(printf '%q ' "${settings[@]}")"
	if ! "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
	    -o "$PG_OPTS" start >/dev/null 2>&1; then
		diag "the PostgreSQL server did not start: $(tail -n 5 "$PG_DIR/server.log")"
		return 1
	fi
	return 0
}

# pg_stop: stop the server (immediate: the test is over) and remove its dir.
pg_stop() {
	[ -n "$PG_DIR" ] || return 0
	"${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 10 stop \
	    >/dev/null 2>&1
	rm -rf "$PG_DIR"
	PG_DIR=
}

# pg_restart: a fast restart, as an operator's or a failover's: every connection is cut.
pg_restart() {
	"${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 restart \
	    >>"$PG_DIR/ctl.log" 2>&1
}

# pg_down / pg_up: stop the server for a while, then start it again.
pg_down() {
	"${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop \
	    >>"$PG_DIR/ctl.log" 2>&1
}
pg_up() {
	"${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
	    -o "$PG_OPTS" start >>"$PG_DIR/ctl.log" 2>&1
}

# pg_sql DB [SQL]: run SQL (or standard input) in database DB; rows unaligned, no headers.
pg_sql() {
	local db=$1
	shift
	psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_DIR" -U postgres -d "$db" ${1+-c "$1"}
}

# pg_createdb: a new, empty database; its name on stdout.
pg_createdb() {
	local db
	db=snaptun_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
	pg_sql postgres "CREATE DATABASE $db" >/dev/null || return 1
	echo "$db"
}

# pg_uri DB: the manager's --store for database DB on this server.
pg_uri() {
	echo "postgresql:///$1?host=$PG_DIR&user=postgres"
}

# pg_store_for DIR: the --store of the manager on state dir DIR: the database named in DIR/.pgdb,
# made (with the dir) on the first call for DIR.
pg_store_for() {
	local dir=$1 db
	if [ ! -s "$dir/.pgdb" ]; then
		pg_start || return 1
		db=$(pg_createdb) || return 1
		mkdir -p -m 700 "$dir" && echo "$db" >"$dir/.pgdb" || return 1
	fi
	pg_uri "$(cat "$dir/.pgdb")"
}
