#include <stdint.h>
#include <string.h>

#include "../db/audit.h"
#include "../db/db.h"
#include "../lib/clock.h"
#include "../lib/err.h"
#include "api.h"
#include "app.h"

int
api_begin(struct req *r)
{
	if (db_begin(r->app->db) < 0) {
		r->retry_after = 1;
		reply_problem(r, 503, NULL, "the store is busy; try again");
		return -1;
	}
	r->began = 1;
	return 0;
}

int
api_commit(struct req *r, const char *action, const char *object, json_t *details)
{
	int rv = action != NULL
	    ? audit_append(r->app->db, r->app->now(), r->actor, action, object, details)
	    : 0;

	if (rv == 0) {
		r->began = 0;
		rv = db_commit(r->app->db);
	}
	if (rv < 0) {
		api_fail(r, rv, NULL, NULL);
		return -1;
	}
	return 0;
}

void
api_fail(struct req *r, int err, const char *field, const char *why)
{
	unsigned status;

	/* Only what the handler began: the enclosing batch belongs to other requests too. */
	if (r->began) {
		r->began = 0;
		db_rollback(r->app->db);
	}
	switch (err) {
	case ERR_INVALID:
	case ERR_ADDR_NOT_IN_POOL: status = 400; break;
	case ERR_NOT_FOUND: status = 404; break;
	case ERR_CONFLICT:
	case ERR_ADDR_TAKEN:
	case ERR_POOL_EXHAUSTED:
	case ERR_NO_POOL:
	case ERR_STALE_SESSION: status = 409; break;
	case ERR_GONE: status = 410; break;
	case ERR_DENIED: status = 401; break;
	case ERR_BUSY:
	case ERR_LIMIT:
		status = 503;
		r->retry_after = 1;
		break;
	default: status = 500; break;
	}
	reply_problem(r, status, field, "%s", why != NULL && why[0] != '\0' ? why : err_str(err));
}

json_t *
api_time(int64_t unix_seconds)
{
	char buf[32];

	if (unix_seconds == 0)
		return json_null();
	clock_rfc3339(unix_seconds, buf, sizeof(buf));
	return json_string(buf);
}

json_t *
api_count(uint64_t n)
{
	return n <= INT64_MAX ? json_integer((json_int_t)n) : json_real((double)n);
}

void
api_reply_page(struct req *r, json_t *items, int n, int limit, int64_t last_id)
{
	reply_json(
	    r, 200, json_pack("{s:o, s:o}", "items", items, "next", page_next(n, limit, last_id)));
}

int
api_label_query(struct req *r, char *key, size_t keylen, const char **k, const char **v)
{
	const char *label = req_query(r, "label");
	size_t klen;

	*k = *v = NULL;
	if (label == NULL)
		return 0;
	klen = strcspn(label, "=");
	if (klen == 0 || klen >= keylen) {
		reply_problem(r, 400, "label", "label must be KEY or KEY=VALUE");
		return -1;
	}
	memcpy(key, label, klen);
	key[klen] = '\0';
	*k = key;
	*v = label[klen] == '=' ? label + klen + 1 : NULL;
	return 0;
}
