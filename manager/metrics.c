#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "http.h"
#include "metrics.h"

const char *const metrics_enroll_fail_names[METRICS_ENROLL_N] = {
    "invalid_token", "token_gone", "conflict", "busy", "ack_gone", "error"};

struct metrics *
metrics_new(void)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	histogram_init(&m->revocation_latency, HISTOGRAM_SECONDS);
	if ((m->revoking = calloc(METRICS_REVOKING_MAX, sizeof(*m->revoking))) == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	free(m->routes);
	free(m->agents);
	free(m->revoking);
	free(m);
}

/* Grow *v (of *cap elements of size) to hold one more; -1 when out of memory. */
static int
grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 16;
	void *nv;

	if (n < *cap)
		return 0;
	if ((nv = realloc(*v, ncap * size)) == NULL)
		return -1;
	*v = nv;
	*cap = ncap;
	return 0;
}

static struct metrics_route *
route_of(struct metrics *m, const struct route *route)
{
	struct metrics_route *mr;

	/* A route table has some fifty entries, and a scrape asks for all of them: a scan of an
	 * array beats a hash here. Routes of two tables (the API's and --metrics-listen's) with
	 * the same method and pattern are one series: counted together. */
	for (size_t i = 0; i < m->nroutes; i++) {
		const struct route *have = m->routes[i].route;

		if (have == route ||
		    (have != NULL && route != NULL && strcmp(have->method, route->method) == 0 &&
			strcmp(have->pattern, route->pattern) == 0))
			return &m->routes[i];
	}
	if (grow((void **)&m->routes, &m->caproutes, m->nroutes, sizeof(*m->routes)) < 0)
		return NULL;
	mr = &m->routes[m->nroutes++];
	memset(mr, 0, sizeof(*mr));
	mr->route = route;
	histogram_init(&mr->latency, HISTOGRAM_SECONDS);
	return mr;
}

void
metrics_http(struct metrics *m, const struct route *route, unsigned status, double seconds)
{
	struct metrics_route *mr;
	size_t i;

	if (m == NULL || (mr = route_of(m, route)) == NULL)
		return;
	histogram_observe(&mr->latency, seconds);
	for (i = 0; i < mr->nstatus && mr->status[i].status != status; i++)
		;
	if (i == mr->nstatus) {
		if (i == METRICS_STATUSES_MAX) {
			mr->other_status++;
			return;
		}
		mr->status[i].status = status;
		mr->status[i].n = 0;
		mr->nstatus++;
	}
	mr->status[i].n++;
}

void
metrics_enrolled(struct metrics *m)
{
	if (m != NULL)
		m->enrollments++;
}

void
metrics_enroll_failed(struct metrics *m, enum metrics_enroll_fail why)
{
	if (m != NULL)
		m->enroll_failures[why]++;
}

/* Forget the revocations older than the TTL (their session never closed: it had ended, or the
 * agent that held it went away). */
static void
revoking_expire(struct metrics *m, uint64_t now_ns)
{
	size_t k = 0;

	for (size_t i = 0; i < m->nrevoking; i++)
		if (now_ns - m->revoking[i].at_ns < METRICS_REVOKING_TTL_NS)
			m->revoking[k++] = m->revoking[i];
	m->nrevoking = k;
}

void
metrics_revoked(struct metrics *m, const char *pssid, int live, uint64_t at_ns)
{
	if (m == NULL)
		return;
	m->revocations++;
	if (!live || strlen(pssid) >= sizeof(m->revoking[0].pssid))
		return;
	revoking_expire(m, at_ns);
	if (m->nrevoking == METRICS_REVOKING_MAX) {
		log_debug("metrics: %d revocations await their close; not timing another",
		    METRICS_REVOKING_MAX);
		return;
	}
	snprintf(m->revoking[m->nrevoking].pssid, sizeof(m->revoking[0].pssid), "%s", pssid);
	m->revoking[m->nrevoking++].at_ns = at_ns;
}

void
metrics_session_closed(struct metrics *m, const char *pssid, uint64_t now_ns)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nrevoking; i++) {
		if (strcmp(m->revoking[i].pssid, pssid) != 0)
			continue;
		histogram_observe(
		    &m->revocation_latency, (double)(now_ns - m->revoking[i].at_ns) / 1e9);
		m->revoking[i] = m->revoking[--m->nrevoking];
		return;
	}
}

void
metrics_chan_frame(struct metrics *m, enum metrics_dir dir)
{
	if (m != NULL)
		m->chan_frames[dir]++;
}

void
metrics_chan_error(struct metrics *m)
{
	if (m != NULL)
		m->chan_errors++;
}

static struct metrics_agent *
agent_of(struct metrics *m, uint64_t id, int *created)
{
	struct metrics_agent *a;

	*created = 0;
	for (size_t i = 0; i < m->nagents; i++)
		if (m->agents[i].id == id)
			return &m->agents[i];
	if (grow((void **)&m->agents, &m->capagents, m->nagents, sizeof(*m->agents)) < 0)
		return NULL;
	a = &m->agents[m->nagents++];
	memset(a, 0, sizeof(*a));
	a->id = id;
	*created = 1;
	return a;
}

void
metrics_agent_hello(struct metrics *m, uint64_t agent_id)
{
	int created;

	if (m != NULL && agent_of(m, agent_id, &created) != NULL && !created)
		m->chan_reconnects++;
}

/* Whether any count of now is below last's: counts only grow within one agent process. */
static int
went_back(const struct counters *now, const struct counters *last, const struct tunevents *ev,
    const struct tunevents *last_ev)
{
	int back = now->rx_packets < last->rx_packets || now->rx_bytes < last->rx_bytes ||
	    now->tx_packets < last->tx_packets || now->tx_bytes < last->tx_bytes ||
	    now->dropped_packets < last->dropped_packets || ev->handshakes < last_ev->handshakes;

	for (int i = 0; i < COUNTERS_DROP_N; i++)
		back |= now->drops[i] < last->drops[i];
	for (int i = 0; i < TUNEVENTS_CLOSES; i++)
		back |= ev->closes[i] < last_ev->closes[i] ||
		    ev->handshake_failures[i] < last_ev->handshake_failures[i];
	return back;
}

void
metrics_agent_stats(struct metrics *m, uint64_t agent_id, uint64_t uptime_ns,
    const struct counters *total, const struct tunevents *events)
{
	struct metrics_agent *a;
	struct tunevents ev;
	int created;

	if (m == NULL || (a = agent_of(m, agent_id, &created)) == NULL)
		return;
	/* An older agent reports no events: keep what it had (none). */
	ev = events != NULL ? *events : a->last_ev;
	if (!created &&
	    (uptime_ns < a->uptime_ns || went_back(total, &a->last, &ev, &a->last_ev))) {
		counters_add(&a->base, &a->last);
		tunevents_add(&a->base_ev, &a->last_ev);
		a->restarts++;
	}
	a->uptime_ns = uptime_ns;
	a->last = *total;
	a->last_ev = ev;
}
