/* The labels filter (a JSON object of strings in a TEXT column), the one piece of SQL that
 * differs between the dialects: SQLite walks the object with json_each, PostgreSQL with
 * jsonb_each_text. A record module keeps one statement per dialect built from these and picks
 * it with db_dialect(). Binds :key (NULL: no filter) and :value (NULL: any value). */
#ifndef DB_SQL_LABELS_H
#define DB_SQL_LABELS_H

#define LABELS_MATCH_SQLITE(col) \
	"(:key IS NULL OR EXISTS (SELECT 1 FROM json_each(" col ") WHERE json_each.key = :key " \
	"AND (:value IS NULL OR json_each.value = :value)))"
#define LABELS_MATCH_PG(col) \
	"(:key IS NULL OR EXISTS (SELECT 1 FROM jsonb_each_text(CAST(" col " AS jsonb)) AS l " \
	"WHERE l.key = :key AND (:value IS NULL OR l.value = :value)))"

#endif
