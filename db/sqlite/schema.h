/* The schema and its forward migrations, versioned with PRAGMA user_version. */
#ifndef DB_SCHEMA_H
#define DB_SCHEMA_H

struct db;

/* Apply every migration newer than the database's user_version, each in one transaction.
 * A database newer than this program is refused. 0 or ERR_DB. */
int schema_migrate(struct db *db);

/* The version this program writes. */
int schema_version(void);

#endif
