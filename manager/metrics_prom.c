#include <stdio.h>
#include <string.h>

#include "../db/jointoken.h"
#include "../lib/prom.h"
#include "http.h"
#include "metrics.h"
#include "metrics_prom.h"
#include "metrics_snap.h"

#define L(...) \
	(struct prom_label[]){__VA_ARGS__}, \
	    sizeof((struct prom_label[]){__VA_ARGS__}) / sizeof(struct prom_label)

static void
pools(struct prom *p, const struct metrics_snap *s)
{
	prom_family(p, "snaptun_pool_size_addresses",
	    "Addresses a pool may grant (its usable addresses but the gateway's).", PROM_GAUGE);
	for (size_t i = 0; i < s->npools; i++)
		prom_u64(p, "snaptun_pool_size_addresses", L({"pool", s->pools[i].name}),
		    s->pools[i].c.size);
	prom_family(p, "snaptun_pool_addresses",
	    "Addresses of a pool by state: assigned to a session, on hold for their last client, "
	    "reserved, free.",
	    PROM_GAUGE);
	for (size_t i = 0; i < s->npools; i++) {
		const struct pool_counts *c = &s->pools[i].c;
		const char *name = s->pools[i].name;

		prom_u64(p, "snaptun_pool_addresses", L({"pool", name}, {"state", "assigned"}),
		    c->assigned);
		prom_u64(p, "snaptun_pool_addresses", L({"pool", name}, {"state", "on_hold"}),
		    c->on_hold);
		prom_u64(p, "snaptun_pool_addresses", L({"pool", name}, {"state", "reserved"}),
		    c->reserved);
		prom_u64(
		    p, "snaptun_pool_addresses", L({"pool", name}, {"state", "free"}), c->free);
	}
}

static void
enrollment(struct prom *p, const struct metrics_snap *s)
{
	prom_family(p, "snaptun_join_tokens",
	    "Join tokens by state (an issued token past its expiry counts as expired).",
	    PROM_GAUGE);
	for (int i = 0; i < 5; i++)
		prom_u64(p, "snaptun_join_tokens",
		    L({"state", jointoken_state_str((enum jointoken_state)i)}),
		    (uint64_t)s->tokens[i]);
	prom_family(p, "snaptun_clients", "Enrolled clients that are not revoked.", PROM_GAUGE);
	prom_u64(p, "snaptun_clients", NULL, 0, (uint64_t)s->clients);
	prom_family(p, "snaptun_clients_revoked", "Revoked clients.", PROM_GAUGE);
	prom_u64(p, "snaptun_clients_revoked", NULL, 0, (uint64_t)s->clients_revoked);
	if (s->live == NULL)
		return;
	prom_family(p, "snaptun_enrollments_total",
	    "Enrollments completed (POST /v1/join/ack accepted).", PROM_COUNTER);
	prom_u64(p, "snaptun_enrollments_total", NULL, 0, s->live->enrollments);
	prom_family(p, "snaptun_enrollment_failures_total",
	    "Refused POST /v1/join and /v1/join/ack requests, by reason.", PROM_COUNTER);
	for (int i = 0; i < METRICS_ENROLL_N; i++)
		prom_u64(p, "snaptun_enrollment_failures_total",
		    L({"reason", metrics_enroll_fail_names[i]}), s->live->enroll_failures[i]);
}

static void
agents(struct prom *p, const struct metrics_snap *s)
{
	char id[24];

	prom_family(
	    p, "snaptun_agents_connected", "Agents with an open state channel.", PROM_GAUGE);
	prom_u64(p, "snaptun_agents_connected", NULL, 0, s->agents_connected);
	prom_family(p, "snaptun_agent_up",
	    "1 while the agent's state channel is open, 0 after it was lost.", PROM_GAUGE);
	for (size_t i = 0; i < s->nagents; i++) {
		snprintf(id, sizeof(id), "%llu", (unsigned long long)s->agents[i].id);
		prom_u64(p, "snaptun_agent_up", L({"agent", id}), (uint64_t)s->agents[i].connected);
	}
	prom_family(p, "snaptun_sessions", "Live tunnel sessions, by the agent that holds them.",
	    PROM_GAUGE);
	for (size_t i = 0; i < s->nagents; i++) {
		snprintf(id, sizeof(id), "%llu", (unsigned long long)s->agents[i].id);
		prom_u64(p, "snaptun_sessions", L({"agent", id}), s->agents[i].sessions);
	}
}

static void
tunnels(struct prom *p, const struct metrics_snap *s)
{
	const struct counters *c = &s->traffic;

	prom_family(p, "snaptun_tunnel_packets_total",
	    "Packets carried by the tunnels of every agent: uplink from the clients, downlink to "
	    "them.",
	    PROM_COUNTER);
	prom_u64(p, "snaptun_tunnel_packets_total", L({"direction", "uplink"}), c->rx_packets);
	prom_u64(p, "snaptun_tunnel_packets_total", L({"direction", "downlink"}), c->tx_packets);
	prom_family(p, "snaptun_tunnel_bytes_total", "Bytes of the packets the tunnels carried.",
	    PROM_COUNTER);
	prom_u64(p, "snaptun_tunnel_bytes_total", L({"direction", "uplink"}), c->rx_bytes);
	prom_u64(p, "snaptun_tunnel_bytes_total", L({"direction", "downlink"}), c->tx_bytes);
	prom_family(p, "snaptun_tunnel_drops_total", "Packets the agents dropped, by reason.",
	    PROM_COUNTER);
	for (int i = 0; i < COUNTERS_DROP_N; i++)
		prom_u64(p, "snaptun_tunnel_drops_total", L({"reason", counters_drop_names[i]}),
		    c->drops[i]);
	prom_family(p, "snaptun_handshakes_total",
	    "Tunnels that completed the snaptun handshake (session renewed, address assigned).",
	    PROM_COUNTER);
	prom_u64(p, "snaptun_handshakes_total", NULL, 0, s->events.handshakes);
	prom_family(p, "snaptun_handshake_failures_total",
	    "Tunnel connections that ended before completing the handshake, by QUIC application "
	    "close code (other: the TLS handshake failed, idle timeout, transport error).",
	    PROM_COUNTER);
	for (int i = 0; i < TUNEVENTS_CLOSES; i++)
		prom_u64(p, "snaptun_handshake_failures_total",
		    L({"code", tunevents_close_names[i]}), s->events.handshake_failures[i]);
	prom_family(p, "snaptun_session_closes_total",
	    "Established sessions closed, by QUIC application close code (other: idle timeout, "
	    "transport error).",
	    PROM_COUNTER);
	for (int i = 0; i < TUNEVENTS_CLOSES; i++)
		prom_u64(p, "snaptun_session_closes_total", L({"code", tunevents_close_names[i]}),
		    s->events.closes[i]);
	prom_family(p, "snaptun_agent_restarts_total",
	    "New agent processes seen for an agent id that had reported before (their counts "
	    "were carried over).",
	    PROM_COUNTER);
	prom_u64(p, "snaptun_agent_restarts_total", NULL, 0, s->agent_restarts);
}

static void
channel(struct prom *p, const struct metrics *m)
{
	prom_family(p, "snaptun_revocations_total",
	    "Revocations through the API (POST /v1/revocations, DELETE /v1/clients/{id}).",
	    PROM_COUNTER);
	prom_u64(p, "snaptun_revocations_total", NULL, 0, m->revocations);
	prom_family(p, "snaptun_revocation_latency_seconds",
	    "From a revocation's API request to the agent's report that the revoked session "
	    "closed.",
	    PROM_HISTOGRAM);
	prom_histogram(p, "snaptun_revocation_latency_seconds", NULL, 0, &m->revocation_latency);
	prom_family(p, "snaptun_state_channel_frames_total",
	    "State-channel frames: in from the agents, out to them.", PROM_COUNTER);
	prom_u64(p, "snaptun_state_channel_frames_total", L({"direction", "in"}),
	    m->chan_frames[METRICS_IN]);
	prom_u64(p, "snaptun_state_channel_frames_total", L({"direction", "out"}),
	    m->chan_frames[METRICS_OUT]);
	prom_family(p, "snaptun_state_channel_errors_total",
	    "State channels dropped for a fault (protocol error, undecodable frame, silence, "
	    "overflow).",
	    PROM_COUNTER);
	prom_u64(p, "snaptun_state_channel_errors_total", NULL, 0, m->chan_errors);
	prom_family(p, "snaptun_state_channel_reconnects_total",
	    "HELLOs welcomed from an agent id that had connected before.", PROM_COUNTER);
	prom_u64(p, "snaptun_state_channel_reconnects_total", NULL, 0, m->chan_reconnects);
}

static void
http(struct prom *p, const struct metrics *m)
{
	char route[ROUTE_TEMPLATE_MAX], status[8];

	prom_family(p, "snaptun_http_requests_total",
	    "HTTP requests by route template, method and status (0: the connection closed "
	    "before an answer).",
	    PROM_COUNTER);
	for (size_t i = 0; i < m->nroutes; i++) {
		const struct metrics_route *r = &m->routes[i];
		const char *method = r->route != NULL ? r->route->method : "any";

		router_template(r->route, "unmatched", route, sizeof(route));
		for (size_t k = 0; k < r->nstatus; k++) {
			snprintf(status, sizeof(status), "%u", r->status[k].status);
			prom_u64(p, "snaptun_http_requests_total",
			    L({"route", route}, {"method", method}, {"status", status}),
			    r->status[k].n);
		}
		if (r->other_status > 0)
			prom_u64(p, "snaptun_http_requests_total",
			    L({"route", route}, {"method", method}, {"status", "other"}),
			    r->other_status);
	}
	prom_family(p, "snaptun_http_request_duration_seconds",
	    "From a request's head to the end of its reply, by route template and method.",
	    PROM_HISTOGRAM);
	for (size_t i = 0; i < m->nroutes; i++) {
		const struct metrics_route *r = &m->routes[i];

		router_template(r->route, "unmatched", route, sizeof(route));
		prom_histogram(p, "snaptun_http_request_duration_seconds",
		    L({"route", route}, {"method", r->route != NULL ? r->route->method : "any"}),
		    &r->latency);
	}
}

char *
metrics_prom(const struct metrics_snap *s, size_t *len)
{
	struct prom p;

	prom_init(&p);
	prom_family(&p, "snaptun_manager_start_time_seconds",
	    "When the manager started, Unix seconds.", PROM_GAUGE);
	prom_u64(&p, "snaptun_manager_start_time_seconds", NULL, 0, (uint64_t)s->started_at);
	prom_family(&p, "snaptun_manager_jobs_leader",
	    "1 while this manager holds the store's jobs lease and runs the background jobs, 0 "
	    "while it stands by for another manager.",
	    PROM_GAUGE);
	prom_u64(&p, "snaptun_manager_jobs_leader", NULL, 0, (uint64_t)s->jobs_leader);
	pools(&p, s);
	enrollment(&p, s);
	agents(&p, s);
	tunnels(&p, s);
	if (s->live != NULL) {
		channel(&p, s->live);
		http(&p, s->live);
	}
	prom_family(&p, "snaptun_store_transaction_duration_seconds",
	    "Store write transactions, from BEGIN to the end of COMMIT or ROLLBACK (a group "
	    "commit is one).",
	    PROM_HISTOGRAM);
	prom_histogram(&p, "snaptun_store_transaction_duration_seconds", NULL, 0, &s->store_tx);
	return prom_finish(&p, len);
}
