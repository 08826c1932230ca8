#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "../proto/counters_pb.h"
#include "../proto/tunevents_pb.h"
#include "report.h"

/* The bytes of a (the message only points at them). */
static void
bytes_of(const struct addr *a, ProtobufCBinaryData *b)
{
	b->data = (uint8_t *)(uintptr_t)a->b;
	b->len = a->family == 4 ? 4 : 16;
}

int
report_session_up(struct link *l, const struct report_session *s)
{
	State__SessionUp m;

	state__session_up__init(&m);
	m.session_id = s->session_id;
	m.pssid = (char *)(uintptr_t)s->pssid;
	if (s->has_grant) {
		m.grant_id = s->grant_id;
		bytes_of(&s->addr, &m.address);
		m.isd_as = s->isd_as;
	}
	m.remote = (char *)(uintptr_t)s->remote;
	m.started_at = s->started_at;
	m.expires_at = s->expires_at;
	return link_send(l, CHAN_SESSION_UP, &m.base);
}

void
report_session_down(struct link *l, uint64_t session_id, uint64_t grant_id, const char *reason,
    const struct counters *c, uint64_t duration_ns)
{
	State__SessionDown m;
	State__Counters cm;

	state__session_down__init(&m);
	m.session_id = session_id;
	m.grant_id = grant_id;
	m.reason = (char *)(uintptr_t)reason;
	counters_pb_from(&cm, c);
	m.counters = &cm;
	m.duration_ns = duration_ns;
	link_send(l, CHAN_SESSION_DOWN, &m.base);
}

void
report_hold(struct link *l, uint64_t grant_id, uint64_t session_id)
{
	State__HoldReq m;

	state__hold_req__init(&m);
	m.grant_id = grant_id;
	m.session_id = session_id;
	link_send(l, CHAN_HOLD_REQ, &m.base);
}

void
report_stats(struct link *l, uint64_t uptime_ns, const struct report_stats_entry *s, size_t n,
    const struct counters *total, const struct tunevents *events, int reconcile)
{
	State__SessionStats *ss = NULL, **ssp = NULL;
	State__Counters *cs = NULL, tm;
	State__TunnelEvents em;
	uint64_t closes[TUNEVENTS_CLOSES], failures[TUNEVENTS_CLOSES];
	State__Stats m;

	if (!link_up(l))
		return;
	if (n > 0 &&
	    ((ss = calloc(n, sizeof(*ss))) == NULL || (ssp = calloc(n, sizeof(*ssp))) == NULL ||
		(cs = calloc(n, sizeof(*cs))) == NULL)) {
		log_error("stats: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		state__session_stats__init(&ss[i]);
		ss[i].session_id = s[i].session_id;
		counters_pb_from(&cs[i], &s[i].c);
		ss[i].counters = &cs[i];
		ss[i].expires_at = s[i].expires_at;
		ssp[i] = &ss[i];
	}
	state__stats__init(&m);
	m.uptime_ns = uptime_ns;
	m.active_sessions = (uint32_t)n;
	counters_pb_from(&tm, total);
	m.total = &tm;
	tunevents_pb_from(&em, events, closes, failures);
	m.events = &em;
	if (reconcile) {
		/* One frame: the manager holds every grant of a session it does not list. Past
		 * 1 MiB (some 12k sessions) the counters go (the next periodic STATS brings them);
		 * past that (some 50k) the reconcile is skipped: grants that lost their session
		 * while the channel was down then stay assigned, where a partial list would put
		 * live sessions' grants on hold. */
		m.n_sessions = n;
		m.sessions = ssp;
		m.reconcile = 1;
		if (protobuf_c_message_get_packed_size(&m.base) > CHAN_PAYLOAD_MAX)
			for (size_t i = 0; i < n; i++)
				ss[i].counters = NULL;
		if (protobuf_c_message_get_packed_size(&m.base) <= CHAN_PAYLOAD_MAX) {
			link_send(l, CHAN_STATS, &m.base);
			goto out;
		}
		log_error("stats: %zu sessions are too many for one reconciling STATS: not "
			  "reconciled",
		    n);
		for (size_t i = 0; i < n; i++)
			ss[i].counters = &cs[i];
		m.reconcile = 0;
	}
	/* Each frame has the totals and a slice of the sessions (the manager updates what a
	 * frame lists). */
	for (size_t off = 0; off == 0 || off < n; off += REPORT_STATS_CHUNK) {
		m.n_sessions = n - off < REPORT_STATS_CHUNK ? n - off : REPORT_STATS_CHUNK;
		m.sessions = ssp != NULL ? ssp + off : NULL;
		if (link_send(l, CHAN_STATS, &m.base) < 0)
			break;
	}
out:
	free(ss);
	free(ssp);
	free(cs);
}

int64_t
report_alloc(struct link *l, const struct report_alloc *req, link_alloc_cb cb, void *arg)
{
	State__AllocReq m;

	state__alloc_req__init(&m);
	m.pssid = (char *)(uintptr_t)req->pssid;
	m.session_id = req->session_id;
	m.isd_as = req->isd_as;
	m.family = (uint32_t)req->family;
	m.modes = req->modes;
	if (req->want != NULL)
		bytes_of(req->want, &m.requested_address);
	return link_alloc(l, &m, cb, arg);
}
