/* The requests of a loop turn. See agentjobs.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../db/agents.h"
#include "../db/client.h"
#include "../db/db.h"
#include "../lib/addr.h"
#include "../lib/err.h"
#include "../lib/log.h"
#include "../lib/pssid.h"
#include "agentconn.h"
#include "agentjobs.h"
#include "alloc.h"
#include "app.h"
#include "../db/grant.h"
#include "../db/pool.h"
#include "../db/revocation.h"
#include "sessions.h"
#include "statepush.h"

/* A request of this turn. */
struct agentjob {
	struct agentjob *next;
	struct agentconn *c;
	enum chan_msg type;
	uint64_t seq;
	ProtobufCMessage *msg;
	/* the reconcile's sessions to end once it committed: {session id, 1 if superseded} */
	uint64_t (*kills)[2];
	size_t nkills;
	/* ALLOC_REQ's outcome */
	int err;
	char why[200];
	struct grant g;
	struct pool p;
};

void
agentjobs_add(struct agentconn *c, const struct chan_frame *f, ProtobufCMessage *msg)
{
	struct agentlink *l = c->link;
	struct agentjob *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		protobuf_c_message_free_unpacked(msg, NULL);
		agentconn_drop(c, "out of memory for its request");
		return;
	}
	j->c = c;
	j->type = f->type;
	j->seq = f->seq;
	j->msg = msg;
	*l->jobs_tail = j;
	l->jobs_tail = &j->next;
}

static void
actor_name(const struct agentjob *j, char *actor, size_t len)
{
	snprintf(actor, len, "agent:%llu", (unsigned long long)j->c->agent_id);
}

static void
alloc_one(struct agentjob *j, struct db *db, int64_t now)
{
	const State__AllocReq *m = (const State__AllocReq *)j->msg;
	struct alloc_req r = {0};
	struct client cl;
	struct addr a = {0};
	char actor[40];
	int rv;

	/* What only the wire can get wrong is checked here; the request itself by the allocator. */
	j->err = ERR_INVALID;
	if (m->requested_address.len != 0 && m->requested_address.len != 4 &&
	    m->requested_address.len != 16) {
		snprintf(j->why, sizeof(j->why), "requested address of %zu bytes",
		    m->requested_address.len);
		return;
	}
	if (m->family > 6) {
		snprintf(j->why, sizeof(j->why), "family %u is not 4 or 6", m->family);
		return;
	}
	if (m->requested_address.len > 0) {
		a.family = m->requested_address.len == 4 ? 4 : 6;
		memcpy(a.b, m->requested_address.data, m->requested_address.len);
		r.addr = &a;
	}
	actor_name(j, actor, sizeof(actor));
	r.pssid = m->pssid;
	r.isd_as = m->isd_as;
	r.family = (int)(m->family != 0 ? m->family : (uint32_t)a.family);
	r.session_id = (int64_t)m->session_id;
	r.agent_id = (int64_t)j->c->agent_id;
	r.actor = actor;
	r.modes = m->modes; /* bits of modes this manager does not know match no pool */
	if (alloc_req_check(&r, j->why, sizeof(j->why)) < 0)
		return;
	if ((rv = revocation_has(db, m->pssid)) != 0) {
		j->err = rv == 1 ? ERR_DENIED : rv;
		snprintf(j->why, sizeof(j->why), "%s", rv == 1 ? "revoked" : err_str(rv));
		return;
	}
	/* A client enrolled with a join token for a pool gets its addresses from that pool
	 * alone; a pssid of an outside issuer has no client row and may use any pool. */
	if ((rv = client_get(db, m->pssid, &cl)) == 0) {
		/* A bundle is worthless until its ack commits the enrollment: its access token
		 * verifies, but no tunnel gets an address (the handshake closes). */
		if (!cl.enrolled) {
			j->err = ERR_DENIED;
			snprintf(j->why, sizeof(j->why), "enrollment not acknowledged");
			return;
		}
		r.pool_id = cl.pool_id;
	} else if (rv != ERR_NOT_FOUND) {
		j->err = rv;
		snprintf(j->why, sizeof(j->why), "%s", err_str(rv));
		return;
	}
	j->why[0] = '\0';
	if ((j->err = alloc_acquire(db, &r, now, &j->g, j->why, sizeof(j->why))) < 0)
		return;
	if ((j->err = pool_get(db, j->g.pool_id, &j->p)) < 0)
		snprintf(j->why, sizeof(j->why), "%s", err_str(j->err));
}

static void
hold_one(struct agentjob *j, struct db *db, int64_t now)
{
	const State__HoldReq *m = (const State__HoldReq *)j->msg;
	char actor[40];
	int rv;

	actor_name(j, actor, sizeof(actor));
	if (m->grant_id > INT64_MAX || m->session_id > INT64_MAX)
		return;
	if ((rv = alloc_hold(db, (int64_t)m->grant_id, (int64_t)m->session_id, actor, now, NULL)) <
	    0)
		log_debug("%s: HOLD_REQ of grant %llu (session %llu): %s", j->c->name,
		    (unsigned long long)m->grant_id, (unsigned long long)m->session_id,
		    err_str(rv));
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Which of the listed sessions lost their grant while the channel was down (or its delta was
 * lost in a manager restart): released, or handed to a newer session. Those end (j->kills);
 * the agent would route an address the store may give to someone else. */
static void
reconcile_grants(struct agentjob *j, struct db *db, const uint64_t *ids, size_t n)
{
	struct sessions *reg = j->c->link->sessions;
	struct session *s;
	int rv;

	if ((j->kills = calloc(n + 1, sizeof(*j->kills))) == NULL) {
		log_warn("%s: out of memory checking its sessions' grants", j->c->name);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if ((s = sessions_get(reg, ids[i])) == NULL || s->agent_id != j->c->agent_id ||
		    s->grant_id == 0 || s->grant_id > INT64_MAX)
			continue;
		rv = alloc_session_owns(
		    db, (int64_t)s->grant_id, (int64_t)j->c->agent_id, (int64_t)s->id);
		if (rv < 0) {
			log_warn("%s: reconcile: %s", j->c->name, err_str(rv));
			return;
		}
		if (rv == ALLOC_OWNED)
			continue;
		j->kills[j->nkills][0] = s->id;
		j->kills[j->nkills++][1] = rv == ALLOC_MOVED; /* superseded */
	}
}

/* The first STATS after WELCOME lists every live session: whatever grant of this agent has no
 * session in it lost its session while the channel was down; put it on hold. */
static void
reconcile_one(struct agentjob *j, struct db *db, int64_t now)
{
	const State__Stats *m = (const State__Stats *)j->msg;
	struct agentlink *l = j->c->link;
	struct grant_ids assigned = {0};
	uint64_t *keep, sid;
	size_t nheld = 0;
	char actor[40];
	int rv;

	if ((keep = calloc(m->n_sessions + 1, sizeof(*keep))) == NULL) {
		log_warn("%s: out of memory reconciling its grants", j->c->name);
		return;
	}
	for (size_t i = 0; i < m->n_sessions; i++)
		keep[i] = m->sessions[i]->session_id;
	qsort(keep, m->n_sessions, sizeof(*keep), cmp_u64);
	sessions_reconcile(l->sessions, j->c->agent_id, keep, m->n_sessions);
	j->c->nsessions = sessions_count(l->sessions, j->c->agent_id);
	reconcile_grants(j, db, keep, m->n_sessions);
	if ((rv = grant_list_assigned(db, (int64_t)j->c->agent_id, grant_ids_collect, &assigned)) <
	    0)
		log_warn("%s: reconcile: %s", j->c->name, err_str(rv));
	actor_name(j, actor, sizeof(actor));
	for (size_t i = 0; i < assigned.n; i++) {
		sid = (uint64_t)assigned.v[i][1];
		if (bsearch(&sid, keep, m->n_sessions, sizeof(*keep), cmp_u64) != NULL)
			continue;
		if ((rv = alloc_hold(db, assigned.v[i][0], assigned.v[i][1], actor, now, NULL)) ==
		    0)
			nheld++;
		else
			log_warn("%s: reconcile: holding grant %lld: %s", j->c->name,
			    (long long)assigned.v[i][0], err_str(rv));
	}
	log_info("agent %llu reported %zu live sessions; %zu grants without a session put on hold, "
		 "%zu sessions without their grant to end",
	    (unsigned long long)j->c->agent_id, m->n_sessions, nheld, j->nkills);
	free(keep);
	free(assigned.v);
}

static void
alloc_reply(struct agentjob *j)
{
	State__AllocRes res;
	struct addr a;

	state__alloc_res__init(&res);
	if (j->err == 0 && addr_parse(j->g.address, &a) == 0) {
		res.grant_id = (uint64_t)j->g.id;
		res.address.data = a.b;
		res.address.len = a.family == 4 ? 4 : 16;
		res.isd_as = j->p.isd_as;
		res.prefix_length = a.family == 4 ? 32 : 128;
	} else {
		res.error_code = j->err < 0 ? j->err : ERR_DB;
		if (j->why[0] == '\0')
			snprintf(j->why, sizeof(j->why), "%s", err_str(res.error_code));
		res.reason = j->why;
	}
	agentconn_send(j->c, CHAN_ALLOC_RES, j->seq, &res.base);
}

static void
reconcile_kills(struct agentjob *j)
{
	const char *reason;

	for (size_t i = 0; i < j->nkills; i++) {
		reason = j->kills[i][1] ? "superseded" : "address released";
		log_info("%s: session %llu lost its grant while the channel was down: %s",
		    j->c->name, (unsigned long long)j->kills[i][0], reason);
		if (statepush_session_kill(j->c, j->kills[i][0], reason) < 0)
			return;
	}
}

static void
job_free(struct agentjob *j)
{
	protobuf_c_message_free_unpacked(j->msg, NULL);
	free(j->kills);
	free(j);
}

void
agentjobs_run(struct agentlink *l)
{
	struct db *db = l->app->db;
	int64_t now = l->app->now();
	struct agentjob *j, *next;
	int rv;

	if (l->jobs == NULL)
		return;
	if ((rv = db_begin(db)) == 0) {
		for (j = l->jobs; j != NULL; j = j->next) {
			/* A dropped agent gets no answer (it asks again) and reconciles again on
			 * its next connection; its holds need no answer and stand: an agent
			 * shutting down sends them last, just before it closes. */
			if (j->c->dead && j->type != CHAN_HOLD_REQ)
				continue;
			switch (j->type) {
			case CHAN_ALLOC_REQ: alloc_one(j, db, now); break;
			case CHAN_HOLD_REQ: hold_one(j, db, now); break;
			case CHAN_STATS: reconcile_one(j, db, now); break;
			default: break;
			}
		}
		rv = db_commit(db);
	}
	for (j = l->jobs; j != NULL; j = next) {
		next = j->next;
		if (j->type == CHAN_ALLOC_REQ && !j->c->dead) {
			if (rv < 0) {
				/* Nothing of the batch was stored. */
				j->err = rv == ERR_BUSY ? ERR_BUSY : ERR_DB;
				snprintf(
				    j->why, sizeof(j->why), "the store failed; nothing granted");
			}
			alloc_reply(j);
		}
		if (j->type == CHAN_STATS && !j->c->dead && rv == 0)
			reconcile_kills(j);
		job_free(j);
	}
	l->jobs = NULL;
	l->jobs_tail = &l->jobs;
}

void
agentjobs_free(struct agentlink *l)
{
	struct agentjob *j, *next;

	for (j = l->jobs; j != NULL; j = next) {
		next = j->next;
		job_free(j);
	}
	l->jobs = NULL;
	l->jobs_tail = &l->jobs;
}
