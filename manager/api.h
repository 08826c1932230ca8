/* Admin API handlers (api_<resource>_<verb>), their body tables, and the helpers they share:
 * one transaction per change with its audit event, and enum err → HTTP status. */
#ifndef MANAGER_API_H
#define MANAGER_API_H

#include <jansson.h>

#include "body.h"
#include "http.h"

struct agentlink;
struct db;

extern const struct body_field api_pool_create_body[9];
extern const struct body_field api_pool_update_body[5];
extern const struct body_field api_reservation_body[2];
extern const struct body_field api_admin_token_body[3];
extern const struct body_field api_join_token_body[5];
extern const struct body_field api_key_import_body[5];

void api_health_get(struct req *r);
void api_metrics_get(struct req *r);

void api_pools_list(struct req *r);
void api_pools_create(struct req *r);
void api_pools_get(struct req *r);
void api_pools_update(struct req *r);
void api_pools_delete(struct req *r);

/* The networks a client may get an address in, as join bundles and token answers list them
 * (api.md "Enrollment"): pool pool_id when it is not 0 (the client's join token binds it),
 * else every pool in mode ip. Each is {"pool","isd_as","family","prefix","gateway","routes"}:
 * what the client routes into its tunnel once it has an address in that prefix. A new array,
 * or NULL when the store fails. */
json_t *api_pools_networks(struct db *db, int64_t pool_id);
void api_reservations_list(struct req *r);
void api_reservations_create(struct req *r);
void api_reservations_delete(struct req *r);

void api_grants_list(struct req *r);
void api_grants_get(struct req *r);
void api_grants_delete(struct req *r);
void api_grants_history(struct req *r);

void api_admin_tokens_list(struct req *r);
void api_admin_tokens_create(struct req *r);
void api_admin_tokens_delete(struct req *r);
void api_admin_tokens_self(struct req *r);

void api_join_tokens_create(struct req *r);
void api_join_tokens_list(struct req *r);
void api_join_tokens_get(struct req *r);
void api_join_tokens_abort(struct req *r);

extern const struct body_field api_join_body[2];
extern const struct body_field api_join_ack_body[1];
extern const struct body_field api_token_body[2];
extern const struct body_field api_client_update_body[2];
extern const struct body_field api_client_token_body[1];

void api_join(struct req *r);
void api_join_ack(struct req *r);
void api_token(struct req *r);

void api_clients_list(struct req *r);
void api_clients_get(struct req *r);
void api_clients_update(struct req *r);
void api_clients_revoke(struct req *r);
void api_clients_mint(struct req *r);

void api_keys_list(struct req *r);
void api_keys_rotate(struct req *r);
void api_keys_import(struct req *r);
void api_keys_delete(struct req *r);

void api_events_list(struct req *r);

extern const struct body_field api_revocation_body[2];

extern const struct body_field api_agent_update_body[1];
extern const struct body_field api_agent_token_body[2];
extern const struct body_field api_agent_enroll_body[3];

void api_agents_list(struct req *r);
void api_agents_get(struct req *r);
void api_agents_update(struct req *r);
void api_agents_revoke(struct req *r);

void api_agent_tokens_create(struct req *r);
void api_agent_tokens_list(struct req *r);
void api_agent_tokens_delete(struct req *r);
void api_agent_enroll(struct req *r);

/* The connected agents for a join bundle: [{"id", "address", "spki_pin"}] (new reference):
 * those attached to this manager (none when app->link is NULL), then those attached to the
 * other managers on the store (db/agents.h). */
json_t *api_agents_bundle(struct app *app);

void api_sessions_list(struct req *r);
void api_sessions_get(struct req *r);
void api_sessions_delete(struct req *r);

void api_revocations_create(struct req *r);
void api_revocations_list(struct req *r);
void api_revocations_get(struct req *r);
void api_revocations_delete(struct req *r);

/* (api_revocations.c) pssid was revoked by r: count it, and time it until its live session, if it has
 * one, is reported closed (metrics.h). */
void api_revoked(struct req *r, const char *pssid);

/* Open the transaction of a change. 0, or -1 with a 503 in the reply. */
int api_begin(struct req *r);

/* Append the audit event (details borrowed; none when action is NULL: the change audited
 * itself) and commit. 0, or -1 with the reply set to the failure (rolled back). */
int api_commit(struct req *r, const char *action, const char *object, json_t *details);

/* Roll back and answer an enum err with its status; why (may be NULL or "") is the detail. */
void api_fail(struct req *r, int err, const char *field, const char *why);

/* Time as RFC 3339 text, or null for 0. */
json_t *api_time(int64_t unix_seconds);

/* An unsigned count as a JSON number (beyond 2^63 as a real: a /64 has 2^64 - 1 addresses). */
json_t *api_count(uint64_t n);

/* The ?label= filter of a list: KEY (any value) or KEY=VALUE; the key is copied into key
 * (keylen bytes). *k and *v are NULL without a filter. 0, or -1 with a 400 in the reply. */
int api_label_query(struct req *r, char *key, size_t keylen, const char **k, const char **v);

/* A list reply: {"items": items, "next": next}. */
void api_reply_page(struct req *r, json_t *items, int n, int limit, int64_t last_id);

/* A paged collection (api_page.c): what a GET of it fetches from the store and how it renders
 * each record. */
struct api_list {
	size_t size; /* of one record */
	size_t id_at; /* offsetof its int64_t id: the page's cursor */
	/* Up to limit records with ids above after into v (limit records), their number into *n;
	 * arg is the handler's (its filter). 0 or err. */
	int (*fetch)(struct req *r, const void *arg, int64_t after, int limit, void *v, int *n);
	/* One record as JSON, or NULL when out of memory. */
	json_t *(*render)(struct req *r, const void *rec);
	void (*clear)(void *rec); /* frees what a record holds (NULL: nothing) */
	const char *not_found; /* the detail of a fetch's ERR_NOT_FOUND (its parent is gone) */
};

/* Answer r with the page its query asks for (req_page: limit and after; a bad one is answered
 * 400 there): 200 {"items", "next"}, or the failure. */
void api_list_page(struct req *r, const struct api_list *l, const void *arg);

#endif
