/* /v1/events */
#include "../db/audit.h"
#include "../db/db.h"
#include "../lib/clock.h"
#include "api.h"
#include "app.h"

struct page {
	json_t *items;
	int64_t last_id;
};

static int
event_json(void *arg, const struct audit_event *e)
{
	struct page *pg = arg;
	json_t *d = json_loads(e->details, 0, NULL);
	char when[32];

	pg->last_id = e->id;
	clock_rfc3339(e->at, when, sizeof(when));
	json_array_append_new(pg->items,
	    json_pack("{s:I, s:s, s:s, s:s, s:s, s:o}", "id", (json_int_t)e->id, "at", when,
		"actor", e->actor, "action", e->action, "object", e->object, "details",
		d != NULL ? d : json_object()));
	return 0;
}

void
api_events_list(struct req *r)
{
	struct audit_filter f = {req_query(r, "action"), req_query(r, "object")};
	struct page pg = {NULL, 0};
	int64_t after;
	int limit, rv;

	if (req_page(r, &limit, &after) < 0)
		return;
	pg.items = json_array();
	if ((rv = audit_list(r->app->db, &f, after, limit, event_json, &pg)) < 0) {
		json_decref(pg.items);
		api_fail(r, rv, NULL, NULL);
		return;
	}
	api_reply_page(r, pg.items, rv, limit, pg.last_id);
}
