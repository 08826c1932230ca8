/* db_open: the store's name picks its driver (db/db.h). */
#include <ctype.h>
#include <string.h>

#include "../lib/err.h"
#include "../lib/log.h"
#include "driver.h"

/* A libpq key=value string starts with a keyword and '=' ("host=... dbname=..."). */
static int
is_pg_keywords(const char *spec)
{
	const char *p = spec;

	while (islower((unsigned char)*p) || *p == '_')
		p++;
	return p > spec && *p == '=';
}

int
db_open(const char *spec, struct db **out)
{
	*out = NULL;
	if (strncmp(spec, "postgresql://", 13) == 0 || strncmp(spec, "postgres://", 11) == 0 ||
	    is_pg_keywords(spec))
		return pg_db_open(spec, out);
	if (strncmp(spec, "sqlite:", 7) == 0)
		spec += 7;
	if (*spec == '\0') {
		log_error("store \"sqlite:\": no file named");
		return ERR_DB;
	}
	return sqlite_db_open(spec, out);
}
