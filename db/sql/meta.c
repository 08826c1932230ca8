/* Key/value settings in the meta table (db/db.h). */
#include <stdio.h>

#include "../../lib/err.h"
#include "../stmt.h"

int
db_meta_get(struct db *db, const char *key, char *buf, size_t len)
{
	struct stmt *st = db_stmt(db, "SELECT value FROM meta WHERE key = :key");
	int rv;

	db_bind_text(st, ":key", key);
	if ((rv = db_row(st)) <= 0)
		return rv == 0 ? ERR_NOT_FOUND : rv;
	snprintf(buf, len, "%s", db_col_text(st, 0));
	db_reset(st);
	return 0;
}

int
db_meta_set(struct db *db, const char *key, const char *value)
{
	struct stmt *st = db_stmt(db,
	    "INSERT INTO meta (key, value) VALUES (:key, :value) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value");

	db_bind_text(st, ":key", key);
	db_bind_text(st, ":value", value);
	return db_run(st);
}
