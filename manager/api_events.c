/* /v1/events: the audit log, paged either way, filtered by action, object and time. */
#include <stdio.h>
#include <string.h>

#include "../db/audit.h"
#include "../db/db.h"
#include "../lib/clock.h"
#include "api.h"
#include "app.h"
#include "eventjson.h"

#define ACTION_MAX 64
#define OBJECT_TYPE_MAX 32
#define OBJECT_MAX 160

struct page {
	json_t *items;
	int64_t last_id;
};

static int
event_item(void *arg, const struct audit_event *e)
{
	struct page *pg = arg;

	pg->last_id = e->id;
	json_array_append_new(pg->items, eventjson_audit(e));
	return 0;
}

/* Every byte of s in the set chars, and 1..max of them. */
static int
made_of(const char *s, const char *chars, size_t max)
{
	size_t n = strlen(s);

	return n > 0 && n <= max && strspn(s, chars) == n;
}

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_"
#define VISIBLE_CHARS \
	"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`" \
	"abcdefghijklmnopqrstuvwxyz{|}~"

/* action: a whole action ("pool.create") or the actions under a prefix ("pool.*"). */
static int
parse_action(struct req *r, struct audit_filter *f, char *buf, size_t len)
{
	const char *a = req_query(r, "action"), *star;
	size_t n;

	if (a == NULL)
		return 0;
	n = strlen(a);
	star = strchr(a, '*');
	if (n >= len || !made_of(a, NAME_CHARS ".*", ACTION_MAX) || a[0] == '.' ||
	    (star != NULL && (star != a + n - 1 || n < 2 || a[n - 2] != '.'))) {
		reply_problem(r, 400, "action",
		    "action must be an action (\"pool.create\") or a prefix of actions ending in "
		    "\".*\" (\"pool.*\"), not \"%.64s\"",
		    a);
		return -1;
	}
	memcpy(buf, a, n + 1);
	if (buf[n - 1] == '*') {
		buf[n - 1] = '\0'; /* "pool.*" is every action from "pool." on */
		f->action_prefix = 1;
	}
	f->action = buf;
	return 0;
}

/* object ("pool:1"), or object_type ("pool") with or without object_id ("1"). */
static int
parse_object(struct req *r, struct audit_filter *f, char *buf, size_t len)
{
	const char *o = req_query(r, "object"), *type = req_query(r, "object_type"),
		   *id = req_query(r, "object_id");

	if (o != NULL && (type != NULL || id != NULL)) {
		reply_problem(r, 400, type != NULL ? "object_type" : "object_id",
		    "give either object or object_type (and object_id), not both");
		return -1;
	}
	if (o != NULL) {
		if (!made_of(o, VISIBLE_CHARS, OBJECT_MAX)) {
			reply_problem(r, 400, "object",
			    "object must be 1 to %d visible ASCII characters (\"pool:1\")",
			    OBJECT_MAX);
			return -1;
		}
		f->object = o;
		return 0;
	}
	if (id != NULL && type == NULL) {
		reply_problem(r, 400, "object_id", "object_id needs object_type (\"pool\")");
		return -1;
	}
	if (type == NULL)
		return 0;
	if (!made_of(type, NAME_CHARS, OBJECT_TYPE_MAX)) {
		reply_problem(r, 400, "object_type",
		    "object_type must be 1 to %d of a-z, 0-9 and _ (\"pool\", \"join_token\"), not "
		    "\"%.64s\"",
		    OBJECT_TYPE_MAX, type);
		return -1;
	}
	if (id != NULL && !made_of(id, VISIBLE_CHARS, OBJECT_MAX - OBJECT_TYPE_MAX - 1)) {
		reply_problem(r, 400, "object_id",
		    "object_id must be 1 to %d visible ASCII characters (\"1\", a pssid, a kid)",
		    OBJECT_MAX - OBJECT_TYPE_MAX - 1);
		return -1;
	}
	snprintf(buf, len, "%s:%s", type, id != NULL ? id : "");
	f->object = buf;
	f->object_prefix = id == NULL; /* "pool:" is every pool's object */
	return 0;
}

static int
parse_since_order(struct req *r, struct audit_filter *f)
{
	const char *since = req_query(r, "since"), *order = req_query(r, "order"), *sp;
	char plus[64];

	/* A "+" in a query string reads as a space (form encoding): "since=…T13:31:56+02:00"
	 * typed as it is arrives with a space where the offset's sign was, the one place a
	 * space can stand for it. */
	if (since != NULL && (sp = strrchr(since, ' ')) != NULL && strlen(since) < sizeof(plus)) {
		memcpy(plus, since, strlen(since) + 1);
		plus[sp - since] = '+';
		since = plus;
	}
	if (since != NULL && clock_rfc3339_parse(since, &f->since) < 0) {
		reply_problem(r, 400, "since",
		    "since must be an RFC 3339 time (\"2026-11-22T13:31:56Z\"), not "
		    "\"%.64s\"",
		    since);
		return -1;
	}
	if (order != NULL && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0) {
		reply_problem(
		    r, 400, "order", "order must be \"asc\" or \"desc\", not \"%.64s\"", order);
		return -1;
	}
	f->desc = order != NULL && strcmp(order, "desc") == 0;
	return 0;
}

void
api_events_list(struct req *r)
{
	struct audit_filter f = {0};
	struct page pg = {NULL, 0};
	char action[ACTION_MAX + 1], object[OBJECT_MAX + 1];
	int64_t after;
	int limit, rv;

	if (req_page(r, &limit, &after) < 0 || parse_action(r, &f, action, sizeof(action)) < 0 ||
	    parse_object(r, &f, object, sizeof(object)) < 0 || parse_since_order(r, &f) < 0)
		return;
	pg.items = json_array();
	if ((rv = audit_list(r->app->db, &f, after, limit, event_item, &pg)) < 0) {
		json_decref(pg.items);
		api_fail(r, rv, NULL, NULL);
		return;
	}
	api_reply_page(r, pg.items, rv, limit, pg.last_id);
}
