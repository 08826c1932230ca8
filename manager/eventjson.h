/* The JSON of one event as the API shows it, in GET /v1/events and in the event stream alike:
 * an audit event from the log, or a session going up or down as an agent reported it. */
#ifndef MANAGER_EVENTJSON_H
#define MANAGER_EVENTJSON_H

#include <jansson.h>
#include <stdint.h>

struct audit_event;
struct session;

/* {"id","at","actor","action","object","details"}. A new object, or NULL when out of memory. */
json_t *eventjson_audit(const struct audit_event *e);

/* The same shape for a session event: action "session.up" or "session.down" (up says which),
 * actor "agent:<agent>", object "session:<id>", details {"session","agent","pssid",
 * "grant_id","address"}, and "seq" (its number in the stream) where an audit event has "id". A new
 * object, or NULL when out of memory. */
json_t *eventjson_session(uint64_t seq, int64_t at, int up, const struct session *s);

#endif
