/* What the SQLite driver offers beyond db/driver.h, for the tests and benchmarks that look
 * under the store (tracing its statements). */
#ifndef DB_SQLITE_DRIVER_H
#define DB_SQLITE_DRIVER_H

#include <sqlite3.h>

struct db;

/* The SQLite handle under db, or NULL when db is not an SQLite store. */
sqlite3 *sqlite_db_handle(struct db *db);

#endif
