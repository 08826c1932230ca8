#include <stdlib.h>
#include <string.h>

#include "../db/db.h"
#include "../db/sqlite/stmt.h"
#include "../lib/clock.h"
#include "../lib/err.h"
#include "audit.h"

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
audit_list(struct db *db, const struct audit_filter *f, int64_t after, int limit, json_t **items,
    int64_t *last_id)
{
	sqlite3_stmt *st;
	char when[32];
	json_t *a = json_array(), *d;
	int rv;

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
	*last_id = 0;
	while ((rv = db_row(st)) == 1) {
		*last_id = db_col_int(st, 0);
		clock_rfc3339(db_col_int(st, 1), when, sizeof(when));
		d = json_loads(db_col_text(st, 5), 0, NULL);
		json_array_append_new(a,
		    json_pack("{s:I, s:s, s:s, s:s, s:s, s:o}", "id", (json_int_t)*last_id, "at",
			when, "actor", db_col_text(st, 2), "action", db_col_text(st, 3), "object",
			db_col_text(st, 4), "details", d != NULL ? d : json_object()));
	}
	if (rv < 0) {
		json_decref(a);
		return rv;
	}
	*items = a;
	return 0;
}
