/* The PostgreSQL schema and its forward migrations (the twin of db/sqlite/schema.h). */
#ifndef DB_PG_SCHEMA_H
#define DB_PG_SCHEMA_H

#include <libpq-fe.h>

/* Apply every migration newer than the database's version, in one transaction under an
 * advisory lock, on the raw connection. A database newer than this program is refused. 0 or
 * ERR_DB (logged). */
int pg_schema_migrate(PGconn *c);

/* The same, up to version only (tests of a migration start from the version before it). */
int pg_schema_migrate_to(PGconn *c, int version);

/* 0 when the database is at this program's version, ERR_DB otherwise (logged). */
int pg_schema_check(PGconn *c);

/* The version this program writes (equal to the SQLite side's schema_version()). */
int pg_schema_version(void);

#endif
