/* The store of the audit log (db/audit.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/err.h"
#include "../audit.h"
#include "../stmt.h"

/* The longest action or object a filter takes, and then some: the API bounds them first. */
#define TEXT_RANGE_MAX 256

int
audit_append(struct db *db, int64_t now, const char *actor, const char *action, const char *object,
    json_t *details)
{
	struct stmt *st = db_stmt(db,
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

/* A filter on a text column is the range [lo, hi): a whole value v is [v, v "\x01") (no
 * stored text holds a NUL), a prefix p is [p, p with its last byte one higher). -1 for a prefix
 * that has no such bound (empty, or ending in byte 0xff). */
static int
text_range(const char *v, int prefix, char *hi, size_t hilen)
{
	size_t n = strlen(v);

	if (n + 2 > hilen || (prefix && (n == 0 || (unsigned char)v[n - 1] == 0xff)))
		return -1;
	memcpy(hi, v, n + 1);
	if (prefix) {
		hi[n - 1] = (char)((unsigned char)hi[n - 1] + 1);
	} else {
		hi[n] = '\x01';
		hi[n + 1] = '\0';
	}
	return 0;
}

/* One statement per driving index and order (the statement cache keys them by address), so
 * a filtered list walks only the rows its index range holds; the other filters are checked
 * on those rows. */
#define EV_SELECT "SELECT id, at, actor, action, object, details FROM events WHERE "
#define EV_FILTERS \
	" AND (:alo IS NULL OR (action >= :alo AND action < :ahi))" \
	" AND (:olo IS NULL OR (object >= :olo AND object < :ohi)) AND at >= :since"
#define EV_ASC " AND id > :after ORDER BY id LIMIT :limit"
#define EV_DESC " AND id < :after ORDER BY id DESC LIMIT :limit"
#define EV_PAIR(driver) \
	{ \
		EV_SELECT driver EV_FILTERS EV_ASC, EV_SELECT driver EV_FILTERS EV_DESC \
	}

enum ev_driver { EV_ALL, EV_ACTION_EQ, EV_ACTION_RANGE, EV_OBJECT_EQ, EV_OBJECT_RANGE, EV_SINCE };

static const char *const ev_sql[][2] = {
    [EV_ALL] = EV_PAIR("1 = 1"),
    [EV_ACTION_EQ] = EV_PAIR("action = :alo"),
    [EV_ACTION_RANGE] = EV_PAIR("action >= :alo AND action < :ahi"),
    [EV_OBJECT_EQ] = EV_PAIR("object = :olo"),
    [EV_OBJECT_RANGE] = EV_PAIR("object >= :olo AND object < :ohi"),
    [EV_SINCE] = EV_PAIR("at >= :since"),
};

int
audit_list(struct db *db, const struct audit_filter *f, int64_t after, int limit,
    int (*fn)(void *arg, const struct audit_event *e), void *arg)
{
	char ahi[TEXT_RANGE_MAX], ohi[TEXT_RANGE_MAX];
	enum ev_driver driver = EV_ALL;
	struct audit_event e;
	struct stmt *st;
	int rv, n = 0;

	if ((f->action != NULL && text_range(f->action, f->action_prefix, ahi, sizeof(ahi)) < 0) ||
	    (f->object != NULL && text_range(f->object, f->object_prefix, ohi, sizeof(ohi)) < 0))
		return ERR_INVALID;
	if (f->action != NULL)
		driver = f->action_prefix ? EV_ACTION_RANGE : EV_ACTION_EQ;
	else if (f->object != NULL)
		driver = f->object_prefix ? EV_OBJECT_RANGE : EV_OBJECT_EQ;
	else if (f->since != 0)
		driver = EV_SINCE;
	st = db_stmt(db, ev_sql[driver][f->desc ? 1 : 0]);
	if (f->action != NULL) {
		db_bind_text(st, ":alo", f->action);
		db_bind_text(st, ":ahi", ahi);
	}
	if (f->object != NULL) {
		db_bind_text(st, ":olo", f->object);
		db_bind_text(st, ":ohi", ohi);
	}
	db_bind_int(st, ":since", f->since);
	db_bind_int(st, ":after", f->desc && after == 0 ? INT64_MAX : after);
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

static void
read_id(void *out, struct stmt *st)
{
	*(int64_t *)out = db_col_int(st, 0);
}

int
audit_last_id(struct db *db, int64_t *id)
{
	*id = 0;
	return db_row_one(db_stmt(db, "SELECT coalesce(max(id), 0) FROM events"), read_id, id);
}
