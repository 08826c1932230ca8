/* /v1/events */
#include "../db/db.h"
#include "api.h"
#include "app.h"
#include "audit.h"

void
api_events_list(struct req *r)
{
	struct audit_filter f = {req_query(r, "action"), req_query(r, "object")};
	json_t *items;
	int64_t after, last;
	int limit, rv;

	if (req_page(r, &limit, &after) < 0)
		return;
	if ((rv = audit_list(r->app->db, &f, after, limit, &items, &last)) < 0) {
		api_fail(r, rv, NULL, NULL);
		return;
	}
	api_reply_page(r, items, (int)json_array_size(items), limit, last);
}
