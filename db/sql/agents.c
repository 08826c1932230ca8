#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/err.h"
#include "../agents.h"
#include "../stmt.h"

#define AGENTS_COLUMNS \
	"id, software_version, listen_address, spki_pin, channel_version, first_seen, " \
	"last_hello, last_heartbeat, sessions, last_stats, manager"

int
agents_hello(struct db *db, const struct agent_row *a, int64_t now)
{
	struct stmt *st = db_stmt(db,
	    "INSERT INTO agents (id, software_version, listen_address, spki_pin, "
	    "channel_version, first_seen, last_hello, last_heartbeat, manager) VALUES (:id, "
	    ":version, :listen, :pin, :chan, :now, :now, :now, :manager) ON CONFLICT (id) DO "
	    "UPDATE SET manager = excluded.manager, "
	    "software_version = excluded.software_version, listen_address = "
	    "excluded.listen_address, spki_pin = excluded.spki_pin, channel_version = "
	    "excluded.channel_version, last_hello = excluded.last_hello, last_heartbeat = "
	    "excluded.last_heartbeat");

	db_bind_int(st, ":id", a->id);
	db_bind_text(st, ":version", a->software_version);
	db_bind_text(st, ":listen", a->listen_address);
	db_bind_text(st, ":pin", a->spki_pin);
	db_bind_int(st, ":chan", a->channel_version);
	db_bind_int(st, ":now", now);
	db_bind_text(st, ":manager", a->manager[0] != '\0' ? a->manager : NULL);
	return db_run(st);
}

int
agents_report(struct db *db, int64_t id, const char *manager, int64_t last_heartbeat,
    int64_t sessions, const char *last_stats)
{
	struct stmt *st = db_stmt(db,
	    "UPDATE agents SET manager = :manager, last_heartbeat = :hb, sessions = :sessions, "
	    "last_stats = coalesce(:stats, last_stats) WHERE id = :id");

	db_bind_text(st, ":manager", manager);
	db_bind_int(st, ":hb", last_heartbeat);
	db_bind_int(st, ":sessions", sessions);
	db_bind_text(st, ":stats", last_stats);
	db_bind_int(st, ":id", id);
	return db_run_one(db, st);
}

int
agents_detach(struct db *db, int64_t id, const char *manager)
{
	/* Conditional: the agent may have failed over and said HELLO to another manager before
	 * this one noticed it was gone. */
	struct stmt *st =
	    db_stmt(db, "UPDATE agents SET manager = NULL WHERE id = :id AND manager = :manager");

	db_bind_int(st, ":id", id);
	db_bind_text(st, ":manager", manager);
	return db_run(st);
}

int
agents_attached_elsewhere(const struct agent_row *a, const char *self, int64_t now)
{
	return a->manager[0] != '\0' && strcmp(a->manager, self) != 0 &&
	    now - a->last_heartbeat <= AGENTS_FRESH_SECONDS;
}

static void
from_row(struct agent_row *a, struct stmt *st)
{
	memset(a, 0, sizeof(*a));
	a->id = db_col_int(st, 0);
	snprintf(a->software_version, sizeof(a->software_version), "%s", db_col_text(st, 1));
	snprintf(a->listen_address, sizeof(a->listen_address), "%s", db_col_text(st, 2));
	snprintf(a->spki_pin, sizeof(a->spki_pin), "%s", db_col_text(st, 3));
	a->channel_version = (int)db_col_int(st, 4);
	a->first_seen = db_col_int(st, 5);
	a->last_hello = db_col_int(st, 6);
	a->last_heartbeat = db_col_int(st, 7);
	a->sessions = db_col_int(st, 8);
	if (!db_col_is_null(st, 9))
		a->last_stats = strdup(db_col_text(st, 9));
	if (!db_col_is_null(st, 10))
		snprintf(a->manager, sizeof(a->manager), "%s", db_col_text(st, 10));
}

int
agents_get(struct db *db, int64_t id, struct agent_row *out)
{
	struct stmt *st = db_stmt(db, "SELECT " AGENTS_COLUMNS " FROM agents WHERE id = :id");
	int rv;

	db_bind_int(st, ":id", id);
	if ((rv = db_row(st)) <= 0)
		return rv == 0 ? ERR_NOT_FOUND : rv;
	from_row(out, st);
	db_reset(st);
	return 0;
}

int
agents_list(struct db *db, int64_t after, int limit, struct agent_row *out, int *n)
{
	struct stmt *st = db_stmt(
	    db, "SELECT " AGENTS_COLUMNS " FROM agents WHERE id > :after ORDER BY id LIMIT :limit");
	int rv;

	*n = 0;
	db_bind_int(st, ":after", after);
	db_bind_int(st, ":limit", limit);
	while ((rv = db_row(st)) == 1)
		from_row(&out[(*n)++], st);
	return rv;
}

void
agents_row_clear(struct agent_row *a)
{
	free(a->last_stats);
	a->last_stats = NULL;
}
