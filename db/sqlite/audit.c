/* The SQLite store of the audit log (db/audit.h). */
#include <stdlib.h>
#include <string.h>

#include "../../lib/err.h"
#include "../audit.h"
#include "stmt.h"

int
audit_append(struct db *db, int64_t now, const char *actor, const char *action, const char *object,
    json_t *details)
{
	sqlite3_stmt *st = db_stmt(db,
	    "INSERT INTO events (at, actor, action, object, details) "
	    "VALUES (:at, :actor, :action, :object, :details)");
	char *text =
	    details != NULL ? json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
	int rv;

	if (text == NULL)
		return ERR_NOMEM;
	db_bind_int(st, ":at", now);
	db_bind_text(st, ":actor", actor);
	db_bind_text(st, ":action", action);
	db_bind_text(st, ":object", object);
	db_bind_text(st, ":details", text);
	rv = db_run(st);
	free(text);
	return rv;
}

int
audit_list(struct db *db, const struct audit_filter *f, int64_t after, int limit,
    int (*fn)(void *arg, const struct audit_event *e), void *arg)
{
	struct audit_event e;
	sqlite3_stmt *st;
	int rv, n = 0;

	/* One statement per driving index, so a filtered list never scans the whole log. */
	if (f->action != NULL) {
		st = db_stmt(db,
		    "SELECT id, at, actor, action, object, details FROM events WHERE "
		    "action = :action AND (:object IS NULL OR object = :object) AND id > :after "
		    "ORDER BY id LIMIT :limit");
		db_bind_text(st, ":action", f->action);
	} else if (f->object != NULL) {
		st = db_stmt(db,
		    "SELECT id, at, actor, action, object, details FROM events WHERE "
		    "object = :object AND id > :after ORDER BY id LIMIT :limit");
	} else {
		st = db_stmt(db,
		    "SELECT id, at, actor, action, object, details FROM events WHERE "
		    "id > :after ORDER BY id LIMIT :limit");
	}
	if (f->object != NULL)
		db_bind_text(st, ":object", f->object);
	db_bind_int(st, ":after", after);
	db_bind_int(st, ":limit", limit);
	while ((rv = db_row(st)) == 1) {
		n++;
		e.id = db_col_int(st, 0);
		e.at = db_col_int(st, 1);
		e.actor = db_col_text(st, 2);
		e.action = db_col_text(st, 3);
		e.object = db_col_text(st, 4);
		e.details = db_col_text(st, 5);
		if (fn(arg, &e) != 0) {
			db_reset(st);
			break;
		}
	}
	return rv < 0 ? rv : n;
}
