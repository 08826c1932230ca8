/* The JSON of events (eventjson.h). */
#include <stdio.h>

#include "../db/audit.h"
#include "../lib/clock.h"
#include "api.h"
#include "eventjson.h"
#include "sessions.h"

json_t *
eventjson_audit(const struct audit_event *e)
{
	json_t *d = json_loads(e->details, 0, NULL);
	char when[32];

	clock_rfc3339(e->at, when, sizeof(when));
	/* The log holds JSON written by audit_append; anything else shows as {}. */
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:o}", "id", (json_int_t)e->id, "at", when,
	    "actor", e->actor, "action", e->action, "object", e->object, "details",
	    d != NULL ? d : json_object());
}

json_t *
eventjson_session(uint64_t seq, int64_t at, int up, const struct session *s)
{
	char when[32], actor[32], object[32];

	clock_rfc3339(at, when, sizeof(when));
	snprintf(actor, sizeof(actor), "agent:%llu", (unsigned long long)s->agent_id);
	snprintf(object, sizeof(object), "session:%llu", (unsigned long long)s->id);
	return json_pack("{s:o, s:s, s:s, s:s, s:s, s:{s:o, s:o, s:s, s:I, s:o}}", "seq",
	    api_count(seq), "at", when, "actor", actor, "action",
	    up ? "session.up" : "session.down", "object", object, "details", "session",
	    api_count(s->id), "agent", api_count(s->agent_id), "pssid", s->pssid, "grant_id",
	    (json_int_t)s->grant_id, "address",
	    s->address[0] != '\0' ? json_string(s->address) : json_null());
}
