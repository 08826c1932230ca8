/* The store of the audit log (db/audit.h) against a real SQLite file: append with and without
 * details, the filters by action and object (whole and prefix), since, paging both ways, a
 * callback that stops, the last id. */
#include <stdio.h>
#include <string.h>

#include "../../db/audit.h"
#include "../../db/db.h"
#include "../../lib/err.h"
#include "../../lib/log.h"
#include "check.h"

#define T0 1700000000

struct seen {
	int n, stop_at;
	int64_t ids[8], at[8];
	char actions[8][32], objects[8][32], actors[8][32], details[8][64];
};

static int
on_event(void *arg, const struct audit_event *e)
{
	struct seen *s = arg;

	s->ids[s->n] = e->id;
	s->at[s->n] = e->at;
	snprintf(s->actions[s->n], sizeof(s->actions[0]), "%s", e->action);
	snprintf(s->objects[s->n], sizeof(s->objects[0]), "%s", e->object);
	snprintf(s->actors[s->n], sizeof(s->actors[0]), "%s", e->actor);
	snprintf(s->details[s->n], sizeof(s->details[0]), "%s", e->details);
	s->n++;
	return s->n == s->stop_at;
}

static int
list(
    struct db *db, const char *action, const char *object, int64_t after, int limit, struct seen *s)
{
	struct audit_filter f = {.action = action, .object = object};

	memset(s, 0, sizeof(*s));
	return audit_list(db, &f, after, limit, on_event, s);
}

int
main(void)
{
	struct db *db;
	struct seen s;
	json_t *d = json_pack("{s:s, s:i}", "name", "p", "hold", 5);
	char path[512];

	log_set_level(LOG_ERROR);
	snprintf(path, sizeof(path), "%s/store_audit.db", check_tmpdir());
	if (db_open(path, &db) < 0) {
		printf("not ok - cannot open %s\n", path);
		return 1;
	}
	CHECK(audit_append(db, T0, "op", "pool.create", "pool:1", d) == 0 &&
		audit_append(db, T0 + 1, "op", "pool.update", "pool:1", NULL) == 0 &&
		audit_append(db, T0 + 2, "ci", "pool.create", "pool:2", NULL) == 0 &&
		audit_append(db, T0 + 3, "op", "grant.release", "grant:9", NULL) == 0,
	    "append four events");
	json_decref(d);

	CHECK(list(db, NULL, NULL, 0, 10, &s) == 4 && s.n == 4 && s.ids[0] < s.ids[1] &&
		s.ids[2] < s.ids[3] && s.at[0] == T0 && strcmp(s.actors[2], "ci") == 0 &&
		strcmp(s.actions[3], "grant.release") == 0 && strcmp(s.objects[3], "grant:9") == 0,
	    "every event by id, as appended");
	CHECK(strcmp(s.details[0], "{\"hold\":5,\"name\":\"p\"}") == 0,
	    "details are compact JSON with sorted keys (%s)", s.details[0]);
	CHECK(strcmp(s.details[1], "{}") == 0, "no details: {}");
	CHECK(list(db, NULL, NULL, s.ids[1], 1, &s) == 1 && strcmp(s.objects[0], "pool:2") == 0,
	    "paged: after the cursor, at most limit");
	CHECK(list(db, "pool.create", NULL, 0, 10, &s) == 2 &&
		strcmp(s.objects[0], "pool:1") == 0 && strcmp(s.objects[1], "pool:2") == 0,
	    "by action");
	CHECK(list(db, NULL, "pool:1", 0, 10, &s) == 2 &&
		strcmp(s.actions[0], "pool.create") == 0 &&
		strcmp(s.actions[1], "pool.update") == 0,
	    "by object");
	CHECK(list(db, "pool.create", "pool:2", 0, 10, &s) == 1 && strcmp(s.actors[0], "ci") == 0,
	    "by action and object");
	CHECK(list(db, "pool.delete", NULL, 0, 10, &s) == 0 && s.n == 0, "an action never seen");
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	{
		struct audit_filter f = {0};

		CHECK(audit_list(db, &f, 0, 10, on_event, &s) == 2 && s.n == 2,
		    "the callback stops the walk");
	}
	{
		struct audit_filter f = {0};
		int64_t last = -1;

		f.desc = 1;
		memset(&s, 0, sizeof(s));
		CHECK(audit_list(db, &f, 0, 3, on_event, &s) == 3 &&
			strcmp(s.actions[0], "grant.release") == 0 && s.ids[0] > s.ids[1] &&
			s.ids[1] > s.ids[2],
		    "desc: newest first");
		int64_t cursor = s.ids[2];
		memset(&s, 0, sizeof(s));
		CHECK(audit_list(db, &f, cursor, 3, on_event, &s) == 1 &&
			strcmp(s.actions[0], "pool.create") == 0 && s.ids[0] < cursor,
		    "desc: the next page is older than the cursor");
		CHECK(audit_last_id(db, &last) == 0 && last == cursor + 2, "the last id");

		f.desc = 0;
		f.action = "pool.";
		f.action_prefix = 1;
		memset(&s, 0, sizeof(s));
		CHECK(audit_list(db, &f, 0, 10, on_event, &s) == 3 &&
			strcmp(s.actions[2], "pool.create") == 0 && s.ids[1] < s.ids[2],
		    "action prefix: every pool.* event, by id");
		f.action = "pool.cre";
		f.action_prefix = 0;
		memset(&s, 0, sizeof(s));
		CHECK(
		    audit_list(db, &f, 0, 10, on_event, &s) == 0, "a whole action is not a prefix");
		f.action = NULL;
		f.object = "pool:";
		f.object_prefix = 1;
		f.desc = 1;
		memset(&s, 0, sizeof(s));
		CHECK(audit_list(db, &f, 0, 10, on_event, &s) == 3 &&
			strcmp(s.objects[0], "pool:2") == 0 && strcmp(s.objects[2], "pool:1") == 0,
		    "object prefix, newest first");
		f.object = NULL;
		f.since = T0 + 2;
		memset(&s, 0, sizeof(s));
		CHECK(audit_list(db, &f, 0, 10, on_event, &s) == 2 && s.at[0] == T0 + 3 &&
			s.at[1] == T0 + 2,
		    "since, newest first");
		f.desc = 0;
		f.action = "pool.";
		f.action_prefix = 1;
		memset(&s, 0, sizeof(s));
		CHECK(audit_list(db, &f, 0, 10, on_event, &s) == 1 &&
			strcmp(s.objects[0], "pool:2") == 0,
		    "since and an action prefix");
		f.action = "";
		CHECK(audit_list(db, &f, 0, 10, on_event, &s) == ERR_INVALID,
		    "an empty prefix is refused");
	}
	db_close(db);
	return check_done();
}
