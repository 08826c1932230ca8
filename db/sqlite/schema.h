/* The schema and its forward migrations, versioned with PRAGMA user_version. */
#ifndef DB_SCHEMA_H
#define DB_SCHEMA_H

#include <sqlite3.h>

/* Apply every migration newer than the database's user_version, each in one transaction, on
 * the raw handle (before the statement cache is in use: the wrapper in db.c calls this, never
 * the other way round). A database newer than this program is refused. 0 or ERR_DB. */
int schema_migrate(sqlite3 *h);

/* The same, up to version only (tests of a migration start from the version before it). */
int schema_migrate_to(sqlite3 *h, int version);

/* The version this program writes. */
int schema_version(void);

#endif
