/* The route table of the admin API: {method, pattern, handler, scopes, body, query}. The
 * manager hands it to the HTTP frame at start (http_open), which knows no handler itself. */
#include <stddef.h>

#include "api.h"
#include "evstream.h"
#include "http.h"

#define BODY(spec) spec, sizeof(spec) / sizeof(spec[0])
#define NOBODY NULL, 0
#define PAGE "limit,after"

static const struct route routes[] = {
    {"GET", "/v1/health", api_health_get, 0, NOBODY, "live", 0, 0},
    {"GET", "/metrics", api_metrics_get, SCOPE_READERS, NOBODY, "", 0, 0},

    {"GET", "/v1/pools", api_pools_list, SCOPE_ALL, NOBODY, PAGE, 0, 0},
    {"POST", "/v1/pools", api_pools_create, SCOPE_ADMIN, BODY(api_pool_create_body), "", 0, 0},
    {"GET", "/v1/pools/{}", api_pools_get, SCOPE_ALL, NOBODY, "", 0, 0},
    {"PATCH", "/v1/pools/{}", api_pools_update, SCOPE_ADMIN, BODY(api_pool_update_body), "", 0, 0},
    {"DELETE", "/v1/pools/{}", api_pools_delete, SCOPE_ADMIN, NOBODY, "force", 0, 0},

    {"GET", "/v1/pools/{}/reservations", api_reservations_list, SCOPE_READERS, NOBODY, PAGE, 0, 0},
    {"POST", "/v1/pools/{}/reservations", api_reservations_create, SCOPE_ADMIN,
	BODY(api_reservation_body), "", 0, 0},
    {"DELETE", "/v1/pools/{}/reservations/{}", api_reservations_delete, SCOPE_ADMIN, NOBODY, "", 0,
	0},

    {"GET", "/v1/grants", api_grants_list, SCOPE_READERS, NOBODY, PAGE ",pool,pssid,state", 0, 0},
    {"GET", "/v1/grants/{}", api_grants_get, SCOPE_READERS, NOBODY, "", 0, 0},
    {"DELETE", "/v1/grants/{}", api_grants_delete, SCOPE_ADMIN, NOBODY, "", 0, 0},
    {"GET", "/v1/grants/{}/history", api_grants_history, SCOPE_READERS, NOBODY, PAGE, 0, 0},

    {"GET", "/v1/admin-tokens", api_admin_tokens_list, SCOPE_ADMIN, NOBODY, PAGE, 0, 0},
    {"GET", "/v1/admin-tokens/self", api_admin_tokens_self, SCOPE_ALL, NOBODY, "", 0, 0},
    {"POST", "/v1/admin-tokens", api_admin_tokens_create, SCOPE_ADMIN, BODY(api_admin_token_body),
	"", 0, 0},
    {"DELETE", "/v1/admin-tokens/{}", api_admin_tokens_delete, SCOPE_ADMIN, NOBODY, "", 0, 0},

    {"POST", "/v1/join-tokens", api_join_tokens_create, SCOPE_ADMIN | SCOPE_PROVISION,
	BODY(api_join_token_body), "", 0, 0},
    {"GET", "/v1/join-tokens", api_join_tokens_list, SCOPE_ALL, NOBODY, PAGE ",state,label", 0, 0},
    {"GET", "/v1/join-tokens/{}", api_join_tokens_get, SCOPE_ALL, NOBODY, "", 0, 0},
    {"DELETE", "/v1/join-tokens/{}", api_join_tokens_abort, SCOPE_ADMIN | SCOPE_PROVISION, NOBODY,
	"", 0, 0},

    {"POST", "/v1/join", api_join, 0, BODY(api_join_body), "", 1, 0},
    {"POST", "/v1/join/ack", api_join_ack, 0, BODY(api_join_ack_body), "", 1, 0},
    {"POST", "/v1/token", api_token, 0, BODY(api_token_body), "", 1, 0},

    {"GET", "/v1/clients", api_clients_list, SCOPE_READERS, NOBODY, PAGE ",label,revoked", 0, 0},
    {"GET", "/v1/clients/{}", api_clients_get, SCOPE_READERS, NOBODY, "", 0, 0},
    {"PATCH", "/v1/clients/{}", api_clients_update, SCOPE_ADMIN, BODY(api_client_update_body), "",
	0, 0},
    {"DELETE", "/v1/clients/{}", api_clients_revoke, SCOPE_ADMIN, NOBODY, "", 0, 0},
    {"POST", "/v1/clients/{}/tokens", api_clients_mint, SCOPE_ADMIN, BODY(api_client_token_body),
	"", 0, 0},

    {"GET", "/v1/keys", api_keys_list, 0, NOBODY, "", 0, 0},
    {"POST", "/v1/keys/rotate", api_keys_rotate, SCOPE_ADMIN, NOBODY, "", 0, 1},
    {"POST", "/v1/keys", api_keys_import, SCOPE_ADMIN, BODY(api_key_import_body), "", 0, 1},
    {"DELETE", "/v1/keys/{}", api_keys_delete, SCOPE_ADMIN, NOBODY, "", 0, 1},

    {"GET", "/v1/agents", api_agents_list, SCOPE_READERS, NOBODY, PAGE, 0, 0},
    {"GET", "/v1/agents/{}", api_agents_get, SCOPE_READERS, NOBODY, "", 0, 0},
    {"PATCH", "/v1/agents/{}", api_agents_update, SCOPE_ADMIN, BODY(api_agent_update_body), "", 0,
	0},
    {"POST", "/v1/agents/{}/revoke", api_agents_revoke, SCOPE_ADMIN, NOBODY, "", 0, 0},
    {"POST", "/v1/agent-tokens", api_agent_tokens_create, SCOPE_ADMIN, BODY(api_agent_token_body),
	"", 0, 0},
    {"GET", "/v1/agent-tokens", api_agent_tokens_list, SCOPE_ADMIN, NOBODY, PAGE, 0, 0},
    {"DELETE", "/v1/agent-tokens/{}", api_agent_tokens_delete, SCOPE_ADMIN, NOBODY, "", 0, 0},
    {"POST", "/v1/agent-enroll", api_agent_enroll, 0, BODY(api_agent_enroll_body), "", 1, 0},

    {"GET", "/v1/sessions", api_sessions_list, SCOPE_READERS, NOBODY, PAGE ",pssid,agent", 0, 0},
    {"GET", "/v1/sessions/{}", api_sessions_get, SCOPE_READERS, NOBODY, "", 0, 0},
    {"DELETE", "/v1/sessions/{}", api_sessions_delete, SCOPE_ADMIN, NOBODY, "", 0, 0},

    {"POST", "/v1/revocations", api_revocations_create, SCOPE_ADMIN, BODY(api_revocation_body), "",
	0, 0},
    {"GET", "/v1/revocations", api_revocations_list, SCOPE_READERS, NOBODY, PAGE ",pssid", 0, 0},
    {"GET", "/v1/revocations/{}", api_revocations_get, SCOPE_READERS, NOBODY, "", 0, 0},
    {"DELETE", "/v1/revocations/{}", api_revocations_delete, SCOPE_ADMIN, NOBODY, "", 0, 0},

    {"GET", "/v1/events/stream", evstream_subscribe, SCOPE_READERS, NOBODY, "last_event_id", 0, 0},
    {"GET", "/v1/events", api_events_list, SCOPE_READERS, NOBODY,
	PAGE ",action,object,object_type,object_id,since,order", 0, 0},
};

/* What --metrics-listen serves: the metrics alone, without authentication (for a scraper on a
 * loopback or management address). */
static const struct route metrics_routes[] = {
    {"GET", "/metrics", api_metrics_get, 0, NOBODY, "", 0, 0},
};

const struct route *
routes_table(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}

const struct route *
routes_metrics_table(size_t *n)
{
	*n = sizeof(metrics_routes) / sizeof(metrics_routes[0]);
	return metrics_routes;
}
